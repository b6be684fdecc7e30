package mes_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/event"
	"github.com/interlock-mes/interlock/mes"
	"github.com/interlock-mes/interlock/mes/lifecycle"
	"github.com/interlock-mes/interlock/mes/mestest"
	"github.com/interlock-mes/interlock/storage"
)

// forge appends a transition record of the batch model straight to the
// store, around the engine, as an integrator calling Store.Append or an
// attacker with the application's database rights could.
func forge(t *testing.T, s storage.Store, stream, typ string, cmd mes.Command, from, to mes.State, actor string) audit.Record {
	t.Helper()
	recs, err := s.Load(context.Background(), stream, 1)
	if err != nil {
		t.Fatal(err)
	}
	payload, err := json.Marshal(event.Transition{CommandID: "forged-" + string(cmd), Model: "batch", ModelVersion: 1,
		Command: cmd, From: from, To: to})
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.Append(context.Background(), storage.AppendRequest{Streams: []storage.StreamAppend{{Stream: stream,
		ExpectedVersion: int64(len(recs)), Events: []storage.Event{{Type: typ, Actor: actor, Payload: payload}}}}})
	if err != nil {
		t.Fatal(err)
	}
	return res.Records[0]
}

// TestForgedTransitionIsRefused: a transition appended around the engine
// moves nothing. With attestation the engine refuses to fold it (the
// subject needs attention) and verification names it; without, a move the
// model does not allow is refused all the same.
func TestForgedTransitionIsRefused(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := mestest.NewClock(mestest.Now)
	mestest.Stores(t, clock, func(t *testing.T, s storage.Store) {
		env := mestest.NewOn(t, s, clock, nil).Plant()
		batch := mestest.Must[*mes.Model](t)(lifecycle.Batch())
		exec := func(id, actor string, cmd mes.Command) error {
			_, err := env.Engine.Execute(ctx, mes.Request{ID: id, Model: batch, Subject: "batch-F1", Command: cmd, Actor: actor})
			return err
		}
		if err := exec("f1-release", "sv-1", mes.CmdRelease); err != nil {
			t.Fatal(err)
		}
		// A legal move by the model, but not through the gates: no
		// attestation.
		forged := forge(t, s, "batch-F1", "batch.started", mes.CmdStart, lifecycle.BatchReady, lifecycle.BatchInProgress, "op-7")
		err := exec("f1-complete", "op-7", mes.CmdComplete)
		var ue *mes.UnprovenError
		if !errors.As(err, &ue) || !errors.Is(err, mes.ErrUnproven) || ue.Stream != "batch-F1" || ue.Version != forged.Version {
			t.Fatalf("complete after the forged start: %v; want an *UnprovenError at batch-F1 v%d", err, forged.Version)
		}
		if _, err := mes.FoldAttested(batch, "", mustLoad(t, s, "batch-F1"), env.Attestation); !errors.As(err, &ue) {
			t.Errorf("FoldAttested: %v, want an *UnprovenError", err)
		}
		rep, err := storage.VerifyWith(ctx, s, storage.VerifyConfig{Attestation: env.Attestation})
		var be *audit.BreakError
		if !errors.As(err, &be) || be.Kind != audit.BreakUnattested || be.Stream != "batch-F1" || be.Version != forged.Version {
			t.Fatalf("VerifyWith: %v; want batch-F1 v%d unattested", err, forged.Version)
		}
		if rep.Unattested != 1 {
			t.Errorf("report counts %d unattested records, want 1 (every engine record is attested)", rep.Unattested)
		}

		// No attestation keys: a forged move the model does not allow is
		// refused by the fold alone.
		other := "batch-F2"
		if _, err := env.Engine.Execute(ctx, mes.Request{ID: "f2-release", Model: batch, Subject: other, Command: mes.CmdRelease, Actor: "sv-1"}); err != nil {
			t.Fatal(err)
		}
		skipped := forge(t, s, other, "batch.verified", mes.CmdVerify, lifecycle.BatchReady, lifecycle.BatchVerified, "qa-3")
		if _, err := mes.Fold(batch, "", mustLoad(t, s, other)); !errors.As(err, &ue) || ue.Version != skipped.Version {
			t.Errorf("Fold over a move from ready to verified: %v; want an *UnprovenError at v%d", err, skipped.Version)
		}
	})
}

func mustLoad(t *testing.T, s storage.Store, stream string) []audit.Record {
	t.Helper()
	recs, err := s.Load(context.Background(), stream, 1)
	if err != nil {
		t.Fatal(err)
	}
	return recs
}
