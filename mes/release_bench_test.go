package mes_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/interlock-mes/interlock/mes/lifecycle"

	"github.com/interlock-mes/interlock/mes/exception"

	"github.com/interlock-mes/interlock/mes"
	"github.com/interlock-mes/interlock/mes/release"

	"github.com/interlock-mes/interlock/storage/memory"
)

// BenchmarkReadiness judges the release readiness of a completed batch of
// 50 steps, each started, completed and verified with a signature (about
// 200 records), with every signature checked under the system key.
func BenchmarkReadiness(b *testing.B) {
	ctx := context.Background()
	v := newExcEnv(b, memory.New(&memory.Config{Clock: func() time.Time { return now }}))
	step := must[*mes.Model](b)(lifecycle.Step())
	v.startBatch(b, "batch-B42")
	var steps []release.RequiredStep
	for i := range 50 {
		id := fmt.Sprintf("S%02d", i)
		steps = append(steps, release.RequiredStep{ID: id, Verify: true})
		for _, c := range []mes.Command{mes.CmdStart, mes.CmdComplete} {
			v.exec(b, mes.Request{ID: id + string(c), Model: step, Subject: "batch-B42", Step: id, Command: c, Actor: "op-7"})
		}
		v.exec(b, mes.Request{ID: id + "verify", Model: step, Subject: "batch-B42", Step: id, Command: mes.CmdVerify, Actor: "qa-3",
			Signatures: []mes.Sign{{Meaning: "verified", Challenge: full("qa-3")}}})
	}
	v.exec(b, mes.Request{ID: "complete", Model: v.batch, Subject: "batch-B42", Command: mes.CmdComplete, Actor: "op-7"})
	cfg := &release.Config{Steps: steps, Key: v.pub}
	b.ReportAllocs()
	for b.Loop() {
		got, err := release.Readiness(ctx, v.s, "batch-B42", cfg)
		if err != nil || !got.Ready {
			b.Fatalf("readiness %+v, %v", got, err)
		}
	}
}

// BenchmarkExceptionOpenToClose opens a deviation on a batch (exception
// stream and marker in one append), dispositions it and approves it with a
// signature (the approval, its signature and the closing marker in one
// append). The signer's password hash uses the tests' cheap parameters.
func BenchmarkExceptionOpenToClose(b *testing.B) {
	ctx := context.Background()
	v := newExcEnv(b, memory.New(&memory.Config{Clock: func() time.Time { return now }}))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		id := fmt.Sprint("DEV-", i)
		if _, err := v.x.Open(ctx, exception.By{CommandID: "open-" + id, Actor: "op-7"}, exception.Deviation{ID: id, Summary: "s", Subject: fmt.Sprint("batch-", i)}); err != nil {
			b.Fatal(err)
		}
		if _, err := v.x.Disposition(ctx, exception.By{CommandID: "disp-" + id, Actor: "qa-4"}, id, exception.Disposition{Decision: exception.DispositionUseAsIs, Rationale: "r"}); err != nil {
			b.Fatal(err)
		}
		if _, err := v.x.Approve(ctx, exception.By{CommandID: "appr-" + id, Actor: "qa-3"}, id, mes.Sign{Challenge: full("qa-3")}); err != nil {
			b.Fatal(err)
		}
	}
}
