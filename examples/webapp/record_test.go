package main

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/shopspring/decimal"

	"github.com/interlock-mes/interlock/review"
)

// TestBatchRecord: QA's review page reads the batch record from the
// records and the bound route: the accepted weight against its target
// with its tare, the lots consumed and produced, the material balance
// and the yield, the people by printed name, the refused attempts apart
// from the exceptions, and the signatures with their manifestation.
func TestBatchRecord(t *testing.T) {
	t.Parallel()
	srv, p, a := newTestApp(t)
	ctx := t.Context()
	// qa-3 verified B-2026-000's weighing, so his release is refused.
	qa3 := signIn(t, srv, "qa-3")
	qa3.get("/batches/B-2026-000/review")
	if status, _ := qa3.post("/batches/B-2026-000/release", url.Values{"csrf": {qa3.csrf}, "password": {demoPassword}}); status != http.StatusUnprocessableEntity {
		t.Fatalf("qa-3's release: %d, want 422", status)
	}
	rep, err := review.Build(ctx, p.store, "batch/B-2026-000", reviewOptions(p))
	if err != nil {
		t.Fatal(err)
	}
	rec, err := a.batchRecordOf(ctx, "batch/B-2026-000", rep)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Route != "TAB-500 v1" {
		t.Errorf("route %q", rec.Route)
	}
	if len(rec.Weighings) != 1 {
		t.Fatalf("weighings %+v, want one", rec.Weighings)
	}
	w := rec.Weighings[0]
	dec := decimal.RequireFromString
	want := review.Weighing{Step: weighStepID, Name: "net-weight", Lot: "L7", LotSource: "scanner", LotInstrument: "SCN-1", Material: "API-100",
		Net: dec("12.49"), Unit: "kg", Target: dec("12.5"), Low: dec("12.45"), High: dec("12.55"), Within: true,
		Evidence: review.Evidence{Name: "net-weight", Value: "12.49", Unit: "kg", Source: "device", Instrument: "SC-01", Stable: true},
		Record:   w.Record}
	if diff := cmp.Diff(want, w, equalDecimals); diff != "" || w.Record.Actor != "op-7" || w.Record.Type != "step.completed" {
		t.Errorf("weighing by %s (-want +got):\n%s", w.Record.Actor, diff)
	}
	if diff := cmp.Diff([]review.Flow{{Lot: "L7", Material: "API-100", Quantity: dec("12.49"), Unit: "kg"}}, rec.Consumed, equalDecimals); diff != "" {
		t.Errorf("consumed (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]review.Flow{{Lot: "FG-0", Material: "TAB-500", Quantity: dec("1000"), Unit: "ea"}}, rec.Produced, equalDecimals); diff != "" {
		t.Errorf("produced (-want +got):\n%s", diff)
	}
	if rec.Balance == nil || !rec.Balance.Balanced() || len(rec.Balance.Materials) != 1 || rec.Balance.Yield == nil ||
		!rec.Balance.Yield.Percent.Equal(decimal.NewFromInt(100)) || !rec.Balance.Yield.Within {
		t.Errorf("balance %+v (%s), want API-100 balanced and a yield of 100 %% within range", rec.Balance, rec.NoBalance)
	}
	names := map[string]string{}
	for _, pr := range rec.People {
		names[pr.ID] = pr.Name
	}
	if names["op-7"] != "Olga Operator" || names["qa-3"] != "Quentin QA" || names["sv-1"] != "Sam Supervisor" {
		t.Errorf("people %+v", rec.People)
	}
	if len(rec.Refused) != 1 || rec.Refused[0].Record.Actor != "qa-3" {
		t.Errorf("refused %+v, want qa-3's release", rec.Refused)
	}
	for _, e := range rec.Exceptions {
		if e.Kind == review.KindDenied {
			t.Errorf("a refused attempt among the exceptions: %+v", e)
		}
	}
	if len(rec.Signatures) != 1 || rec.Signatures[0].PrintedName != "Quentin QA" || rec.Signatures[0].Meaning != "verified" {
		t.Errorf("signatures %+v", rec.Signatures)
	}
	_, body := qa3.get("/batches/B-2026-000/review")
	mustContain(t, body, `id="weighings"`, "12.49 kg", "12.45 to 12.55 kg", "L7 (scanned on SCN-1)", "FG-0",
		"Yield <strong>100.00 %", "Olga Operator", "Refused attempts (1)", "Signed by <strong>Quentin QA</strong>")

	// A weighing with its tare: B-2026-001 weighed from the scale on a
	// tared container, the lot typed.
	op := signIn(t, srv, "op-7")
	const step = "/batches/B-2026-001/steps/S10-weigh-api"
	op.get(step)
	postForm(t, op, step, http.StatusOK, url.Values{"action": {"start"}})
	settle(a, "0.80")
	op.get(step)
	postForm(t, op, step, http.StatusOK, url.Values{"action": {"tare"}})
	settle(a, "13.30")
	op.get(step)
	postForm(t, op, step, http.StatusOK, url.Values{"action": {"complete-scale"}, "lot_source": {"typed"}, "lot": {"L7"}})
	rep, err = review.Build(ctx, p.store, "batch/B-2026-001", reviewOptions(p))
	if err != nil {
		t.Fatal(err)
	}
	if rec, err = a.batchRecordOf(ctx, "batch/B-2026-001", rep); err != nil {
		t.Fatal(err)
	}
	if len(rec.Weighings) != 1 {
		t.Fatalf("weighings of B-2026-001: %+v", rec.Weighings)
	}
	if w := rec.Weighings[0]; w.Tare == nil || !w.Tare.Equal(dec("0.8")) || w.Gross == nil || !w.Gross.Equal(dec("13.3")) || !w.Net.Equal(dec("12.5")) ||
		w.LotSource != "manual" || w.Evidence.Raw != "S S      12.50 kg" || w.Evidence.At.IsZero() {
		t.Errorf("the tared weighing: %+v", w)
	}
	if rec.Balance == nil || rec.Balance.Yield != nil || !rec.Balance.Balanced() {
		t.Errorf("balance before the batch made its lot: %+v (%s)", rec.Balance, rec.NoBalance)
	}
}

var equalDecimals = cmp.Comparer(func(a, b decimal.Decimal) bool { return a.Equal(b) })
