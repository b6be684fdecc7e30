package mes_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/interlock-mes/interlock/mes"
	"github.com/interlock-mes/interlock/mes/correction"

	"github.com/shopspring/decimal"
	"pgregory.net/rapid"

	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/event"
	"github.com/interlock-mes/interlock/gate"
	"github.com/interlock-mes/interlock/storage/memory"
)

// TestCorrectionsAgainstModel records values, corrects them (through the
// original or through a correction of it, with and without a reason, to the
// same or another value) and reviews corrections, by random people. After
// every command a plain model agrees with the engine on the decision, and
// the invariants hold: originals never change, each value's current value
// is its latest correction, each correction's old value is the value it
// replaced, and exactly the unreviewed corrections are listed as such.
func TestCorrectionsAgainstModel(t *testing.T) {
	t.Parallel()
	logModel := must[*mes.Model](t)(mes.NewModel("log", 1).States("open").Initial("open").
		Permit("open", "record", "open", mes.Recording("value.recorded")).Build())
	cm := must[*correction.Model](t)(correction.NewModel(correction.Policy{
		Roles: []string{"operator", "qa"}, ReviewerRoles: []string{"qa"}}))
	const subject = "batch-R1"
	rapid.Check(t, func(rt *rapid.T) {
		ctx := context.Background()
		sg := newSigning(t, memory.New(&memory.Config{Clock: func() time.Time { return now }}), "op-7", "qa-3")
		type key struct {
			version int64
			name    string
		}
		type corr struct {
			version  int64
			actor    string
			old, new correction.RecordedValue
			reviewed bool
		}
		type value struct {
			original, current correction.RecordedValue
			corrections       []*corr
		}
		values := map[key]*value{}
		var keys []key
		originals := map[int64]audit.Record{}
		n := 0
		id := func() string { n++; return "cmd-" + strconv.Itoa(n) }
		weightOf := func(rt *rapid.T) correction.RecordedValue {
			return correction.Measured(decimal.New(int64(rapid.IntRange(1, 3).Draw(rt, "decigrams")), -1), "kg")
		}
		countOf := func(rt *rapid.T) correction.RecordedValue {
			return correction.JSONValue(json.RawMessage(strconv.Itoa(rapid.IntRange(1, 3).Draw(rt, "count"))))
		}
		rt.Repeat(map[string]func(*rapid.T){
			"record": func(rt *rapid.T) {
				w, c := weightOf(rt), countOf(rt)
				out, err := sg.e.Execute(ctx, mes.Request{ID: id(), Model: logModel, Subject: subject, Command: "record", Actor: "op-7",
					Evidence: []gate.Evidence{{Name: "w", HasValue: true, Value: w.Quantity, Unit: "kg", Source: gate.SourceDevice, Instrument: "SC-01"}},
					Data:     json.RawMessage(`{"c":` + string(c.JSON) + `}`)})
				if err != nil {
					rt.Fatalf("record: %v", err)
				}
				r := out.Records[0]
				originals[r.Version] = r
				for _, kv := range []struct {
					name string
					v    correction.RecordedValue
				}{{"w", w}, {"c", c}} {
					k := key{r.Version, kv.name}
					values[k] = &value{original: kv.v, current: kv.v}
					keys = append(keys, k)
				}
			},
			"correct": func(rt *rapid.T) {
				if len(keys) == 0 {
					rt.Skip("nothing recorded yet")
				}
				k := rapid.SampledFrom(keys).Draw(rt, "value")
				v := values[k]
				via := k.version
				if len(v.corrections) > 0 && rapid.Bool().Draw(rt, "through a correction") {
					via = rapid.SampledFrom(v.corrections).Draw(rt, "correction").version
				}
				nv := weightOf(rt)
				if k.name == "c" {
					nv = countOf(rt)
				}
				actor := rapid.SampledFrom([]string{"op-7", "qa-3"}).Draw(rt, "corrector")
				reason := rapid.SampledFrom([]string{"", "misread"}).Draw(rt, "reason")
				out, err := correction.Correct(ctx, sg.e, correction.Correction{ID: id(), Model: cm, Subject: subject, Corrects: via, Name: k.name,
					New: nv, Reason: reason, Actor: actor})
				want := reason != "" && !nv.Equal(v.current)
				if got := err == nil; got != want || (err != nil && !errors.Is(err, mes.ErrDenied)) {
					rt.Fatalf("correct %v of v%d via v%d from %s to %s, reason %q: %v; want allowed=%v", k.name, k.version, via, v.current, nv, reason, err, want)
				}
				if want {
					v.corrections = append(v.corrections, &corr{version: out.Records[0].Version, actor: actor, old: v.current, new: nv})
					v.current = nv
				}
			},
			"review": func(rt *rapid.T) {
				var open []*corr
				for _, k := range keys {
					for _, c := range values[k].corrections {
						if !c.reviewed {
							open = append(open, c)
						}
					}
				}
				if len(open) == 0 {
					rt.Skip("no unreviewed correction")
				}
				c := rapid.SampledFrom(open).Draw(rt, "correction")
				reviewer := rapid.SampledFrom([]string{"op-7", "qa-3"}).Draw(rt, "reviewer")
				_, err := correction.ReviewCorrection(ctx, sg.e, correction.Review{ID: id(), Model: cm, Subject: subject, Reviews: c.version,
					Actor: reviewer, Signatures: []mes.Sign{{Meaning: "reviewed", Challenge: full(reviewer)}}})
				want := reviewer == "qa-3" && c.actor != "qa-3"
				if got := err == nil; got != want || (err != nil && !errors.Is(err, mes.ErrDenied)) {
					rt.Fatalf("review of v%d (by %s) by %s: %v; want allowed=%v", c.version, c.actor, reviewer, err, want)
				}
				c.reviewed = want
			},
			"": func(rt *rapid.T) {
				recs, err := sg.s.Load(ctx, subject, 1)
				if err != nil {
					rt.Fatal(err)
				}
				for v, r := range originals {
					got := recs[v-1]
					if !bytes.Equal(got.Payload, r.Payload) || !bytes.Equal(got.Evidence, r.Evidence) || got.Hash != r.Hash {
						rt.Fatalf("original v%d changed", v)
					}
				}
				current, err := correction.CurrentValues(recs)
				if err != nil {
					rt.Fatal(err)
				}
				if len(current) != len(keys) {
					rt.Fatalf("CurrentValues lists %d values; %d were recorded", len(current), len(keys))
				}
				var unreviewed []int64
				for _, cv := range current {
					m := values[key{cv.Record, cv.Name}]
					if m == nil || !cv.Original.Equal(m.original) || !cv.Current.Equal(m.current) || len(cv.Corrections) != len(m.corrections) {
						rt.Fatalf("value %s of v%d: %+v; want original %s, current %s, %d corrections", cv.Name, cv.Record, cv, m.original, m.current, len(m.corrections))
					}
					prev := cv.Original
					for i, c := range cv.Corrections {
						mc := m.corrections[i]
						if c.Version != mc.version || !c.Old.Equal(prev) || !c.New.Equal(mc.new) || c.Corrects != cv.Record || c.Reviewed() != mc.reviewed {
							rt.Fatalf("correction %d of %s v%d: %+v; want v%d from %s to %s, reviewed %v", i, cv.Name, cv.Record, c, mc.version, prev, mc.new, mc.reviewed)
						}
						prev = c.New
						if !mc.reviewed {
							unreviewed = append(unreviewed, mc.version)
						}
					}
				}
				u, err := correction.Unreviewed(recs)
				if err != nil {
					rt.Fatal(err)
				}
				var got []int64
				for _, c := range u {
					got = append(got, c.Version)
				}
				slices.Sort(unreviewed)
				if !slices.Equal(got, unreviewed) {
					rt.Fatalf("UnreviewedCorrections = %v; want %v", got, unreviewed)
				}
			},
		})
	})
}

// FuzzCorrectedValues feeds the projections records whose payloads and
// evidence are arbitrary: they must return values or an error, never
// panic, and what they return must be consistent.
func FuzzCorrectedValues(f *testing.F) {
	f.Add([]byte(`{"command":"complete","command_id":"c","data":{"containers":3},"from":"in-progress","model":"dispense","model_version":1,"to":"complete"}`),
		[]byte(`[{"HasValue":true,"Identity":"","Instrument":"SC-01","Name":"net-weight","Source":"device","Stable":true,"Unit":"kg","Value":"12.61"}]`),
		[]byte(`{"corrects":1,"name":"net-weight","new":{"unit":"kg","value":"12.51"},"old":{"unit":"kg","value":"12.61"},"reason":"r","source":"evidence"}`))
	f.Add([]byte(`{"command":"x","command_id":"c","data":{"a":[1,{"b":null}]},"from":"a","model":"m","model_version":1,"to":"b"}`),
		[]byte(`null`), []byte(`{"corrects":1,"name":"a","new":"z","old":[1,{"b":null}],"source":"data"}`))
	f.Add([]byte(`{}`), []byte(`[{"Name":"w","HasValue":true,"Value":"1e400","Unit":""}]`), []byte(`{"corrects":0,"source":"nowhere"}`))
	f.Fuzz(func(t *testing.T, payload, evidence, data []byte) {
		corr, err := json.Marshal(map[string]any{"command": "correct", "command_id": "k", "model": correction.ModelName,
			"model_version": 1, "step": correction.Step("k"), "from": "new", "to": "corrected", "data": json.RawMessage(data)})
		if err != nil {
			corr = data
		}
		recs := []audit.Record{
			{Stream: "s", Version: 1, Type: "t.done", Actor: "a", Payload: payload, Evidence: evidence},
			{Stream: "s", Version: 2, Type: event.ValueCorrected, Actor: "b", Payload: corr},
		}
		values, err := correction.CurrentValues(recs)
		if err != nil {
			return
		}
		for _, v := range values {
			want := v.Original
			if len(v.Corrections) > 0 {
				want = v.Corrections[len(v.Corrections)-1].New
			}
			if !v.Current.Equal(want) || v.Record != 1 {
				t.Fatalf("value %+v: current is not its latest correction", v)
			}
		}
		all, err := correction.List(recs)
		if err != nil {
			t.Fatalf("CorrectionsOf failed where CurrentValues did not: %v", err)
		}
		if u, err := correction.Unreviewed(recs); err != nil || len(u) != len(all) {
			t.Fatalf("UnreviewedCorrections = %v, %v; want all %d corrections (none is reviewed)", u, err, len(all))
		}
	})
}
