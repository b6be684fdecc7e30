package mes_test

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/interlock-mes/interlock/mes/lifecycle"

	"github.com/interlock-mes/interlock/mes"

	"github.com/interlock-mes/interlock/gate"
	"github.com/interlock-mes/interlock/storage/postgres"
	"github.com/interlock-mes/interlock/storage/postgres/pgtest"
)

// stepsPerBatch is how many steps a benchmark batch runs before the next
// batch takes its place: a batch record of 100 transitions, about what a
// real batch record holds, so that the benchmark measures steps and not the
// loading of an ever longer stream.
const stepsPerBatch = 50

// BenchmarkStepsPostgres8 completes steps on Postgres with 8 batches
// running at once (4 goroutines per CPU on 2 CPUs), each goroutine running
// its own batches. A step is two commands through the engine: a start gated
// on the operator's role and training, the scale being ready and a released
// lot of the right material scanned; and a completion with a stable device
// weight within tolerance on the calibrated scale. Every commit waits for
// its WAL flush (pgtest.DurablePool), as storage/postgres's
// BenchmarkAppendParallel does, to which it compares: steps/s against
// appends/s.
func BenchmarkStepsPostgres8(b *testing.B) {
	pool, schema := pgtest.DurablePool(b)
	if pool.Config().MaxConns < 8 {
		b.Fatalf("pool has %d connections, want at least 8", pool.Config().MaxConns)
	}
	clock := func() time.Time { return now }
	s, err := postgres.New(pool, &postgres.Config{Schema: schema, Clock: clock})
	if err != nil {
		b.Fatal(err)
	}
	e, _, _ := newEngineOn(b, s)
	m := benchStepModel(b)
	start := func(batch, step string) mes.Request {
		return mes.Request{ID: batch + "/" + step + "/start", Model: m, Subject: batch, Step: step, Command: mes.CmdStart, Actor: "op-7",
			Refs: map[string]string{"lot": "L7", "scale": "SC-01"}, Evidence: []gate.Evidence{scan("L7")}}
	}
	complete := func(tb testing.TB, batch, step string) mes.Request {
		return mes.Request{ID: batch + "/" + step + "/complete", Model: m, Subject: batch, Step: step, Command: mes.CmdComplete, Actor: "op-7",
			Refs: map[string]string{"lot": "L7", "scale": "SC-01"}, Evidence: []gate.Evidence{weight(tb, "12.50", gate.SourceDevice, true)}}
	}
	var writers atomic.Int64
	b.SetParallelism(4)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		w := writers.Add(1)
		for i := 0; pb.Next(); i++ {
			batch := fmt.Sprintf("batch-%d-%d", w, i/stepsPerBatch)
			step := fmt.Sprintf("S%d", i%stepsPerBatch)
			if _, err := e.Execute(b.Context(), start(batch, step)); err != nil {
				b.Error(err)
				return
			}
			out, err := e.Execute(b.Context(), complete(b, batch, step))
			if err != nil || out.To != lifecycle.StepComplete {
				b.Errorf("complete %s %s: %v", batch, step, err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "steps/s")
}

// benchStepModel is a dispensing step gated as a site would gate it.
func benchStepModel(tb testing.TB) *mes.Model {
	g := must[gate.Gate](tb)
	tol := gate.Tolerance{Target: decimalOf(tb, "12.50"), Below: decimalOf(tb, "0.05"), Above: decimalOf(tb, "0.05"), Unit: "kg", Bounds: gate.Inclusive}
	return must[*mes.Model](tb)(mes.NewModel("bench-step", 1).
		States(lifecycle.StepPending, lifecycle.StepInProgress, lifecycle.StepComplete).Initial(lifecycle.StepPending).Final(lifecycle.StepComplete).
		Permit(lifecycle.StepPending, mes.CmdStart, lifecycle.StepInProgress, mes.Recording("step.started"),
			mes.WithEvidence(mes.EvidenceRequirement{Name: "lot-scan", Sources: []gate.Source{gate.SourceScanner}}),
			mes.WithGates(
				g(gate.RequireRole("operator")),
				g(gate.TrainingCurrent("dispensing")),
				g(gate.EquipmentReady(gate.FromRef("scale"))),
				g(gate.LotUsable(gate.FromRef("lot"), "API-100")),
				g(gate.EvidencePresent("lot-scan", gate.FromRef("lot"))),
			)).
		Permit(lifecycle.StepInProgress, mes.CmdComplete, lifecycle.StepComplete, mes.Recording("step.completed"),
			mes.WithEvidence(mes.EvidenceRequirement{Name: "net-weight", Sources: []gate.Source{gate.SourceDevice}}),
			mes.WithGates(
				g(gate.RequireRole("operator")),
				g(gate.WithinTolerance("net-weight", tol)),
				g(gate.RequireStable("net-weight")),
				g(gate.EquipmentReady(gate.FromRef("scale"))),
			)).
		Build())
}
