package mes

import (
	"context"
	"errors"
	"testing"

	"github.com/interlock-mes/interlock/gate"
	"github.com/interlock-mes/interlock/storage"
)

// TestStaleCacheNeverDecides: two engines share a store. Engine a caches
// the facts its gates read; engine b then revokes op-7's role and holds the
// lot. a's next command must see both: its first attempt, decided on the
// cached facts, conflicts on their versions and the retry reads them again.
func TestStaleCacheNeverDecides(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, s storage.Store) {
		ctx := context.Background()
		a, _, _ := newEngineOn(t, s)
		b := must[*Engine](t)(New(s, &Config{Clock: a.clock}))
		fb := newFacts(t, b)
		fb.n = 1000 // command ids apart from the plant's
		m := dispenseModel(t)
		if _, err := a.Execute(ctx, startReq(m, "first", "op-7")); err != nil {
			t.Fatalf("first start: %v", err)
		}
		fb.run("person", PersonStream("op-7"), CmdRevokeRole, map[string]string{"role": "operator"})
		fb.run("lot", LotStream("L7"), CmdHold, map[string]string{"reason": "complaint"})
		req := startReq(m, "second", "op-7")
		req.Subject = "batch-B43"
		_, err := a.Execute(ctx, req)
		var de *DeniedError
		if !errors.As(err, &de) || !hasCode(de.Reasons, gate.CodeRoleMissing) || !hasCode(de.Reasons, gate.CodeLotOnHold) {
			t.Fatalf("start after the role was revoked and the lot held: %v; want both reasons", err)
		}
		// And the other way round: b grants the role back and releases the
		// hold; a, which cached the revoked role, allows the start.
		fb.run("person", PersonStream("op-7"), CmdGrantRole, map[string]string{"role": "operator"})
		fb.run("lot", LotStream("L7"), CmdReleaseHold, nil)
		req.ID = "third"
		if _, err := a.Execute(ctx, req); err != nil {
			t.Fatalf("start after the role was granted again: %v", err)
		}
	})
}
