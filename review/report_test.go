package review

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/event"
	"github.com/interlock-mes/interlock/mes"
	"github.com/interlock-mes/interlock/storage"
	"github.com/interlock-mes/interlock/storage/memory"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// golden compares got with testdata/name, or rewrites the file with -update
// (from the memory store's run only, so that the Postgres run checks it).
func golden(t *testing.T, name string, got []byte, write bool) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update && write {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run the test with -update to write it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s differs from the golden file (-want +got):\n%s", name, diff)
	}
}

func render(t *testing.T, rep *Report) (jsonText, html []byte) {
	t.Helper()
	var j, h bytes.Buffer
	if err := WriteJSON(&j, rep); err != nil {
		t.Fatal(err)
	}
	if err := WriteHTML(&h, rep); err != nil {
		t.Fatal(err)
	}
	return j.Bytes(), h.Bytes()
}

// TestCleanBatch: a batch that ran as its models enforce has an empty
// exceptions section, its routine steps summarised, its signature shown and
// its chain verified.
func TestCleanBatch(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, s storage.Store, c *clock) {
		p := newPlant(t, s, c)
		p.routine("B-CLEAN")
		rep, err := Build(context.Background(), ordinalsOf(t, s), "B-CLEAN", &Options{SealKey: p.pub})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Exceptions == nil || len(rep.Exceptions) != 0 {
			t.Fatalf("exceptions %+v; want an empty, non-nil list", rep.Exceptions)
		}
		wantSummary := Summary{Records: 6, Transitions: 5, Routine: 5, Signatures: 1, ByKind: map[Kind]int{}}
		if diff := cmp.Diff(wantSummary, rep.Summary); diff != "" {
			t.Errorf("summary (-want +got):\n%s", diff)
		}
		type line struct {
			Step, Model, State string
			Commands, Actors   []string
			Signatures         int
		}
		var got []line
		for _, r := range rep.Routine {
			got = append(got, line{r.Step, r.Model, r.State, r.Commands, r.Actors, r.Signatures})
		}
		want := []line{
			{"", "batch v1", "in-progress", []string{"release → ready", "start → in-progress"}, []string{"op-7", "sv-1"}, 0},
			{"S10", "weigh-step v1", "verified", []string{"start → in-progress", "complete → complete", "verify → verified"}, []string{"op-7", "qa-3"}, 1},
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("routine (-want +got):\n%s", diff)
		}
		if len(rep.Signatures) != 1 || rep.Signatures[0].Status != StatusValid || rep.Signatures[0].PrintedName != "Quentin QA" ||
			rep.Signatures[0].Meaning != "verified" || rep.Signatures[0].Signs.Type != "step.verified" {
			t.Errorf("signatures %+v; want QA's valid verification of the step", rep.Signatures)
		}
		if !rep.Integrity.OK || len(rep.Integrity.Chains) != 1 || !rep.Integrity.Chains[0].OK {
			t.Errorf("integrity %+v; want the batch's chain verified", rep.Integrity)
		}
		j, h := render(t, rep)
		if !bytes.Contains(j, []byte(`"exceptions": []`)) {
			t.Error(`JSON has no "exceptions": []`)
		}
		if !bytes.Contains(h, []byte(`id="no-exceptions"`)) || bytes.Contains(h, []byte(`class="entry`)) {
			t.Error("HTML must say there are no exceptions and hold no entry")
		}
		golden(t, "clean.json", j, isMemory(s))
		golden(t, "clean.html", h, isMemory(s))
	})
}

func isMemory(s storage.Store) bool {
	_, ok := s.(*memory.Store)
	return ok
}

// TestExceptions: a batch with one of each kind of exception lists each
// exactly once, of its kind, linked to the records that prove it, with its
// signatures, dispositions and corrections in full.
func TestExceptions(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, s storage.Store, c *clock) {
		ctx := context.Background()
		p := newPlant(t, s, c)
		inj := p.exceptional("B-EXC")
		rep, err := Build(ctx, ordinalsOf(t, s), "B-EXC", &Options{SealKey: p.pub})
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Exceptions) != len(inj) {
			for _, e := range rep.Exceptions {
				t.Logf("%s %s", e.Kind, e.Summary)
			}
			t.Fatalf("%d entries; want one per injected exception, %d", len(rep.Exceptions), len(inj))
		}
		for i, in := range inj {
			var holders []int
			for j, e := range rep.Exceptions {
				if holds(e, &in.record) {
					holders = append(holders, j)
				}
			}
			if len(holders) != 1 {
				t.Errorf("injected %s (%s v%d) is in %d entries; want exactly one", in.kind, in.record.Stream, in.record.Version, len(holders))
				continue
			}
			e := rep.Exceptions[holders[0]]
			if e.Kind != in.kind || !cmp.Equal(e.Also, in.also) {
				t.Errorf("injected #%d is listed as %s, also %v; want %s, also %v", i, e.Kind, e.Also, in.kind, in.also)
			}
			if holders[0] != i {
				t.Errorf("injected #%d (%s) is entry %d; entries must follow the record", i, in.kind, holders[0])
			}
		}
		// No record is in two entries, and each reference carries the
		// record's own hash.
		seen := map[string]bool{}
		for _, e := range rep.Exceptions {
			for _, ev := range e.Events {
				k := fmt.Sprintf("%s@%d", ev.Stream, ev.Version)
				if seen[k] {
					t.Errorf("%s v%d is in two entries", ev.Stream, ev.Version)
				}
				seen[k] = true
				recs, err := s.Load(ctx, ev.Stream, ev.Version)
				if err != nil || len(recs) == 0 || recs[0].Hash != ev.Hash || recs[0].Type != ev.Type {
					t.Errorf("%s v%d: the reference does not match the stored record", ev.Stream, ev.Version)
				}
			}
		}
		byKind := map[Kind]int{}
		for _, in := range inj {
			byKind[in.kind]++
		}
		if diff := cmp.Diff(byKind, rep.Summary.ByKind); diff != "" {
			t.Errorf("summary by kind (-want +got):\n%s", diff)
		}
		// Open: the S20 override's deviation, the rework and the
		// unreviewed correction.
		if rep.Summary.Open != 3 || rep.Summary.Denied != 2 {
			t.Errorf("summary %+v; want 3 entries open (the S20 deviation, the rework and the unreviewed correction) and 2 denied attempts", rep.Summary)
		}
		checkDetails(t, rep)
		if !rep.Integrity.OK || len(rep.Integrity.Chains) != 7 {
			t.Errorf("integrity %+v; want the batch and six exception streams verified", rep.Integrity)
		}
		for _, sg := range rep.Signatures {
			if sg.Status != StatusValid {
				t.Errorf("signature %+v is not valid", sg)
			}
		}
		j, h := render(t, rep)
		golden(t, "exceptions.json", j, isMemory(s))
		golden(t, "exceptions.html", h, isMemory(s))
	})
}

func holds(e Entry, r *audit.Record) bool {
	return slices.ContainsFunc(e.Events, func(ev EventRef) bool { return ev.Stream == r.Stream && ev.Version == r.Version })
}

// checkDetails checks what each kind of entry must show in full.
func checkDetails(t *testing.T, rep *Report) {
	t.Helper()
	find := func(k Kind, n int) Entry {
		for _, e := range rep.Exceptions {
			if e.Kind == k {
				if n == 0 {
					return e
				}
				n--
			}
		}
		t.Fatalf("no %s entry", k)
		return Entry{}
	}
	ool := find(KindOutOfLimit, 0)
	if ool.OverrideReason == "" || !hasLimitCode(ool.Reasons) || len(ool.Evidence) != 1 || ool.Evidence[0].Value != "12.58" ||
		ool.Exception == nil || !ool.Exception.Closed || ool.Exception.Disposition.Decision != "use-as-is" || ool.Open {
		t.Errorf("out-of-limit entry %+v; want the overridden limit failure, the value, and its closed deviation", ool)
	}
	var meanings []string
	for _, s := range ool.Signatures {
		meanings = append(meanings, s.Meaning+" by "+s.PrintedName)
	}
	if diff := cmp.Diff([]string{"override by Sam Supervisor", "approved by Quentin QA"}, meanings); diff != "" {
		t.Errorf("out-of-limit entry signatures (-want +got):\n%s", diff)
	}
	ov := find(KindOverride, 0)
	if ov.Exception == nil || ov.Exception.Closed || !ov.Open || ov.Reasons[0].Code != "lot.on-hold" {
		t.Errorf("override entry %+v; want the lot hold overridden and its deviation open", ov)
	}
	man := find(KindManualEntry, 0)
	if len(man.Evidence) != 1 || man.Evidence[0].Source != "manual" || man.Evidence[0].Value != "40" || man.Open {
		t.Errorf("manual entry %+v", man)
	}
	c1, c2 := find(KindCorrection, 0), find(KindCorrection, 1)
	want1 := &Correction{Corrects: man.Record, Name: "label-count", Source: "evidence", Original: "40 pcs", Old: "40 pcs", New: "42 pcs",
		Reason: "two labels were miscounted"}
	got1 := *c1.Correction
	got1.Review = nil
	if diff := cmp.Diff(want1, &got1); diff != "" || c1.Correction.Review == nil || c1.Open {
		t.Errorf("first correction (-want +got):\n%s\nreview %v, open %v; want it reviewed", diff, c1.Correction.Review, c1.Open)
	}
	if c := c2.Correction; c.Original != "40 pcs" || c.Old != "42 pcs" || c.New != "41 pcs" || c.Supersedes != c1.Record.Version || c.Review != nil || !c2.Open {
		t.Errorf("second correction %+v; want 42 → 41 pcs, superseding the first, not reviewed", c)
	}
	sub := find(KindSubstitution, 0)
	if x := sub.Exception; x.Disposition == nil || x.Disposition.Substitute != "L7" || !x.Closed || len(x.History) != 4 {
		t.Errorf("substitution %+v; want substitute L7, approved and closed, four records", x)
	}
	rw := find(KindRework, 0)
	if x := rw.Exception; x.Disposition == nil || x.Disposition.Decision != "rework" || x.Closed || !rw.Open {
		t.Errorf("rework %+v; want it dispositioned and still open", x)
	}
	oot := find(KindDeviation, 0)
	if x := oot.Exception; x.ID != "oot-B-EXC-S40-complete" || x.Cause == nil || x.Cause.Type != event.Denied || !hasLimitCode(oot.Reasons) ||
		x.Source != "rule" || x.Consequence != "block" || !x.Closed || oot.Open {
		t.Errorf("rule's deviation %+v; want the denied weighing folded in as its cause, blocking, closed", oot)
	}
	var types []string
	for _, ev := range oot.Events {
		if ev.Stream == "B-EXC" {
			types = append(types, ev.Type)
		}
	}
	if diff := cmp.Diff([]string{event.Denied, event.ExceptionOpened, "step.blocked", event.ExceptionClosed, "step.unblocked"}, types); diff != "" {
		t.Errorf("the rule's deviation's records on the batch (-want +got):\n%s", diff)
	}
}

// TestBuildErrors: a batch without records is an error, not an empty
// report; a store that fails is reported.
func TestBuildErrors(t *testing.T) {
	t.Parallel()
	s := memory.New(nil)
	if _, err := Build(context.Background(), s, "B-NONE", nil); !errors.Is(err, ErrNoRecords) {
		t.Errorf("Build of an empty batch: %v; want ErrNoRecords", err)
	}
	boom := errors.New("disk on fire")
	if _, err := Build(context.Background(), failing{err: boom}, "B-1", nil); !errors.Is(err, boom) {
		t.Errorf("Build on a failing store: %v; want its error", err)
	}
	if _, err := Build(context.Background(), nil, "B-1", nil); err == nil {
		t.Error("Build with no reader: no error")
	}
}

type failing struct{ err error }

func (f failing) Load(context.Context, string, int64) ([]audit.Record, error) { return nil, f.err }
func (f failing) ReadAll(context.Context, int64, int) ([]audit.Record, error) { return nil, f.err }

// tampered serves a store's records with one changed, or one stream
// deleted, as an attacker with database access could leave them.
type tampered struct {
	storage.Store
	stream  string
	version int64 // 0: the stream is gone
}

func (t tampered) Load(ctx context.Context, stream string, from int64) ([]audit.Record, error) {
	recs, err := t.Store.Load(ctx, stream, from)
	if err != nil || stream != t.stream {
		return recs, err
	}
	if t.version == 0 {
		return nil, nil
	}
	for i := range recs {
		if recs[i].Version == t.version {
			recs[i].Payload = bytes.Replace(bytes.Clone(recs[i].Payload), []byte("12.58"), []byte("12.50"), 1)
			recs[i].Evidence = bytes.Replace(bytes.Clone(recs[i].Evidence), []byte("12.58"), []byte("12.50"), 1)
		}
	}
	return recs, nil
}

// TestIntegrityFailures: an edited record and a deleted exception stream
// show as broken chains, the verdict fails, and the page says so.
func TestIntegrityFailures(t *testing.T) {
	t.Parallel()
	c := newClock()
	s := memory.New(&memory.Config{Clock: c.next})
	p := newPlant(t, s, c)
	inj := p.exceptional("B-EXC")
	ool := inj[1].record
	ctx := context.Background()

	rep, err := Build(ctx, tampered{Store: s, stream: "B-EXC", version: ool.Version}, "B-EXC", &Options{SealKey: p.pub})
	if err != nil {
		t.Fatal(err)
	}
	want := &Break{Version: ool.Version, Kind: string(audit.BreakContentChanged)}
	got := rep.Integrity.Chains[0].Break
	if rep.Integrity.OK || got == nil || got.Version != want.Version || got.Kind != want.Kind {
		t.Errorf("edited record: integrity %+v; want the batch's chain broken at v%d (%s)", rep.Integrity, want.Version, want.Kind)
	}
	invalid := 0
	for _, sg := range rep.Signatures {
		if sg.Status == StatusInvalid && sg.Signs.Version == ool.Version {
			invalid++
		}
	}
	if invalid != 1 {
		t.Errorf("%d invalid signatures of the edited record; want the override's", invalid)
	}
	_, h := render(t, rep)
	if !bytes.Contains(h, []byte(`class="verdict bad"`)) {
		t.Error("the page does not show the failed verification")
	}

	gone := event.ExceptionStream("DEV-2")
	rep, err = Build(ctx, tampered{Store: s, stream: gone}, "B-EXC", nil)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(rep.Integrity.Chains, func(c Chain) bool { return c.Stream == gone })
	if rep.Integrity.OK || i < 0 || rep.Integrity.Chains[i].OK || rep.Integrity.Chains[i].Break.Kind != "stream-missing" {
		t.Errorf("deleted exception stream: integrity %+v; want %s reported missing", rep.Integrity, gone)
	}
	e := rep.Exceptions[slices.IndexFunc(rep.Exceptions, func(e Entry) bool { return e.Exception != nil && e.Exception.ID == "DEV-2" })]
	if !strings.Contains(e.Problem, "no records") {
		t.Errorf("DEV-2 entry problem %q; want it to say its stream has no records", e.Problem)
	}
	if rep.Integrity.Signatures[StatusNotChecked] == 0 {
		t.Errorf("without a seal key, signatures are %v; want them not checked", rep.Integrity.Signatures)
	}
}

// TestJSONRoundTrip: the JSON is the report, whole.
func TestJSONRoundTrip(t *testing.T) {
	t.Parallel()
	c := newClock()
	s := memory.New(&memory.Config{Clock: c.next})
	p := newPlant(t, s, c)
	p.exceptional("B-EXC")
	rep, err := Build(context.Background(), s, "B-EXC", &Options{SealKey: p.pub})
	if err != nil {
		t.Fatal(err)
	}
	j, _ := render(t, rep)
	var back Report
	if err := json.Unmarshal(j, &back); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(rep, &back); diff != "" {
		t.Errorf("JSON round trip (-built +decoded):\n%s", diff)
	}
}

// TestSignaturesUnderTheKeyInForce: with the trail's signing keys, each
// signature is checked under the key in force when it was made. The
// plant's key verifies its signatures while it is in force; recorded as
// retired before they were made (a newer key in force), it does not.
func TestSignaturesUnderTheKeyInForce(t *testing.T) {
	t.Parallel()
	c := newClock()
	s := memory.New(&memory.Config{Clock: c.next})
	p := newPlant(t, s, c)
	p.exceptional("B-EXC")
	other := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{9}, ed25519.SeedSize)).Public().(ed25519.PublicKey)
	long := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	statuses := func(keys []mes.SigningKey) map[SignatureStatus]int {
		t.Helper()
		rep, err := Build(context.Background(), s, "B-EXC", &Options{SigningKeys: keys})
		if err != nil {
			t.Fatal(err)
		}
		n := map[SignatureStatus]int{}
		for _, sig := range rep.Signatures {
			n[sig.Status]++
		}
		return n
	}
	inForce := statuses([]mes.SigningKey{{KeyID: audit.KeyID(p.pub), Public: p.pub, Since: long}})
	if inForce[StatusValid] == 0 || inForce[StatusInvalid] != 0 || inForce[StatusNotChecked] != 0 {
		t.Errorf("with the plant's key in force: %v; want every signature valid", inForce)
	}
	retired := statuses([]mes.SigningKey{{KeyID: audit.KeyID(p.pub), Public: p.pub, Since: long},
		{KeyID: audit.KeyID(other), Public: other, Since: long.Add(time.Hour)}})
	if retired[StatusInvalid] != inForce[StatusValid] || retired[StatusValid] != 0 {
		t.Errorf("with the plant's key retired before the signatures: %v; want all %d invalid", retired, inForce[StatusValid])
	}
	if _, err := Build(context.Background(), s, "B-EXC", &Options{SealKey: p.pub, SigningKeys: []mes.SigningKey{{Public: p.pub}}}); err == nil {
		t.Error("both SealKey and SigningKeys: accepted")
	}
}

// TestEvidenceKeepsTheFrame: a reading's frame and time, as the record
// holds them, reach the report; an older record's evidence without them
// reads as before.
func TestEvidenceKeepsTheFrame(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	got := evidenceOf(&audit.Record{Evidence: []byte(`[{"At":"2026-11-25T09:00:00Z","HasValue":true,"Identity":"","Instrument":"SC-01",` +
		`"Name":"net-weight","Raw":"S S     12.500 kg","Source":"device","Stable":true,"Unit":"kg","Value":"12.5"},` +
		`{"HasValue":false,"Identity":"L7","Instrument":"","Name":"lot-scan","Source":"manual","Stable":false,"Unit":"","Value":"0"}]`)})
	want := []Evidence{
		{Name: "net-weight", Value: "12.5", Unit: "kg", Source: "device", Instrument: "SC-01", Stable: true, Raw: "S S     12.500 kg", At: at},
		{Name: "lot-scan", Identity: "L7", Source: "manual"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("evidence (-want +got):\n%s", diff)
	}
}
