package main

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/interlock-mes/interlock/gate"
)

// TestScanLot: the lot comes from scanner SCN-1, whose GS1 label the
// server reads and parses; the completion records the scanner's read,
// never a lot the form names, and a quarantined lot's label is refused
// by the route's lot check.
func TestScanLot(t *testing.T) {
	t.Parallel()
	op, p, a := startWeighing(t)
	settle(a, "12.50")
	complete := func(want int, f url.Values) string {
		t.Helper()
		f.Set("csrf", op.csrf)
		status, body := op.post(tareStep, f)
		if status != want {
			t.Fatalf("complete %v: %d, want %d\n%s", f, status, want, body)
		}
		return body
	}
	body := complete(http.StatusConflict, url.Values{"action": {"complete-scale"}, "lot_source": {"scanner"}, "lot": {"L7"}})
	mustContain(t, body, "has read no label yet")

	scan := func(lot string) string {
		t.Helper()
		op.get(tareStep)
		return postForm(t, op, "/scanner/simulator", http.StatusOK, url.Values{"lot": {lot}, "back": {tareStep}})
	}
	body = scan("L8")
	mustContain(t, body, `id="scanned">L8<`, "GTIN 09506000134369")
	// The form's lot field says L7; the scanner read L8, and L8 is what
	// is judged.
	body = complete(http.StatusUnprocessableEntity, url.Values{"action": {"complete-scale"}, "lot_source": {"scanner"}, "lot": {"L7"}})
	mustContain(t, body, string(gate.CodeLotNotReleased))

	// A read from long ago is not taken: it was scanned for something else.
	scan("L7")
	a.scanner.mu.Lock()
	a.scanner.last.At = time.Now().Add(-scanMaxAge - time.Minute)
	a.scanner.mu.Unlock()
	body = complete(http.StatusConflict, url.Values{"action": {"complete-scale"}, "lot_source": {"scanner"}})
	mustContain(t, body, "old: scan the lot")

	scan("L7")
	complete(http.StatusOK, url.Values{"action": {"complete-scale"}, "lot_source": {"scanner"}})
	if rd := a.scanner.lastRead(); rd != nil {
		t.Errorf("the completion took the read, yet the scanner still offers it: %+v", rd)
	}
	recs := batchRecords(t, p, "batch/B-2026-001")
	last := recs[len(recs)-1]
	var ev []gate.Evidence
	if err := json.Unmarshal(last.Evidence, &ev); err != nil || last.Type != "step.completed" {
		t.Fatalf("the last record is %s: %v", last.Type, err)
	}
	found := false
	for _, e := range ev {
		if e.Name == "lot-scan" {
			found = true
			if e.Identity != "L7" || e.Source != gate.SourceScanner || e.Instrument != scannerID || e.Raw != "]d20109506000134369"+"10L7" || e.At.IsZero() {
				t.Errorf("lot-scan %+v, want L7 from scanner %s, with the label as sent and when", e, scannerID)
			}
		}
	}
	if !found {
		t.Errorf("the completion has no lot scan: %s", last.Evidence)
	}
	if status, _ := op.post("/scanner/simulator", url.Values{"csrf": {op.csrf}, "lot": {"NOPE"}}); status != http.StatusBadRequest {
		t.Errorf("the label of a lot not on the record: %d, want 400", status)
	}
}

// TestScannerReadsLabels: what the simulator writes goes through the
// GS1 scanner and parser; a line that is not a lot label is kept as a
// read with its reason, and the step refuses to take a lot from it.
func TestScannerReadsLabels(t *testing.T) {
	t.Parallel()
	l, err := newLiveScanner()
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	label, err := lotLabel("API-100", "L7")
	if err != nil {
		t.Fatal(err)
	}
	if label != "]d2"+"0109506000134369"+"10L7" {
		t.Errorf("label %q", label)
	}
	rd, err := l.scan(t.Context(), label)
	if err != nil || rd.Lot != "L7" || rd.GTIN != "09506000134369" || rd.Err != "" {
		t.Fatalf("scan: %+v, %v", rd, err)
	}
	rd, err = l.scan(t.Context(), "]d2"+"0109506000134360"+"10L7") // wrong check digit
	if err != nil || rd.Err == "" || rd.Lot != "" {
		t.Fatalf("a label with a wrong check digit: %+v, %v", rd, err)
	}
	rd, err = l.scan(t.Context(), "]d2"+"0109506000134369")
	if err != nil || rd.Err == "" {
		t.Fatalf("a label without a lot: %+v, %v", rd, err)
	}
	if _, err := lotLabel("NOPE", "L7"); err == nil {
		t.Error("a label for a material without a GTIN")
	}
}
