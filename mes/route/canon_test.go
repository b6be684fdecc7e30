package route

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/shopspring/decimal"

	"github.com/interlock-mes/interlock/gate"
	"github.com/interlock-mes/interlock/internal/canonjson"
)

// routeCmp compares routes by their decimals' values.
var routeCmp = cmp.Comparer(func(a, b decimal.Decimal) bool { return a.Equal(b) })

// TestRouteCanonicalGolden pins the canonical content and digest of the
// fixture: a change here changes the digest of every route ever approved,
// so it needs a new Format. Run with -update to rewrite the files.
func TestRouteCanonicalGolden(t *testing.T) {
	t.Parallel()
	r := routeFixture()
	c, err := r.Canonical()
	if err != nil {
		t.Fatal(err)
	}
	d, err := r.Digest()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]byte{
		"route_canonical.golden.json": append(c, '\n'),
		"route_digest.golden":         []byte(d + "\n"),
	}
	for name, content := range got {
		path := filepath.Join("testdata", name)
		if *update {
			if err := os.WriteFile(path, content, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run with -update to create it)", err)
		}
		if diff := cmp.Diff(string(want), string(content)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", name, diff)
		}
	}
	if !canonjson.IsCanonical(c) {
		t.Error("Canonical() is not canonical JSON")
	}
}

// TestRouteDigestStable checks that the digest depends on the route's
// meaning only: the same route built again, with quantities written with
// other trailing zeros, or with nil instead of empty slices, digests alike.
func TestRouteDigestStable(t *testing.T) {
	t.Parallel()
	want, err := routeFixture().Digest()
	if err != nil {
		t.Fatal(err)
	}
	same := []struct {
		name   string
		change func(r *Route)
	}{
		{"rebuilt", func(*Route) {}},
		{"trailing zeros", func(r *Route) {
			w := r.Operations[0].Steps[1].Requirements[0].(Weigh)
			w.Target, w.Below = routeDec("12.5000"), routeDec("0.050")
			r.Operations[0].Steps[1].Requirements[0] = w
		}},
		{"empty instead of nil", func(r *Route) {
			r.Operations[1].Steps[1].Requirements, r.Operations[1].Steps[1].Branches = []Requirement{}, []Branch{}
		}},
	}
	for _, tt := range same {
		r := routeFixture()
		tt.change(r)
		if got, err := r.Digest(); err != nil || got != want {
			t.Errorf("%s: digest %s, %v; want %s", tt.name, got, err, want)
		}
	}
}

// TestRouteDigestSensitive changes every field of the fixture, one at a
// time, and expects a new digest each time, different from all others.
func TestRouteDigestSensitive(t *testing.T) {
	t.Parallel()
	step := func(r *Route, op, st int) *Step { return &r.Operations[op].Steps[st] }
	weigh := func(f func(w *Weigh)) func(r *Route) {
		return func(r *Route) {
			w := r.Operations[0].Steps[1].Requirements[0].(Weigh)
			f(&w)
			r.Operations[0].Steps[1].Requirements[0] = w
		}
	}
	changes := map[string]func(r *Route){
		"product":            func(r *Route) { r.Product = "P-101" },
		"version":            func(r *Route) { r.Version = 2 },
		"operation id":       func(r *Route) { r.Operations[1].ID = "OP21" },
		"operation name":     func(r *Route) { r.Operations[1].Name = "Mixing" },
		"no operation name":  func(r *Route) { r.Operations[1].Name = "" },
		"operation boundary": func(r *Route) { moveStep(r) },
		"step id":            func(r *Route) { step(r, 1, 1).ID = "S41" },
		"instructions":       func(r *Route) { step(r, 0, 0).Instructions += " " },
		"step order": func(r *Route) {
			s := r.Operations[1].Steps
			s[0], s[1] = s[1], s[0]
			step(r, 0, 1).Branches[1].GoTo = "S40"
		},
		"lot name":     func(r *Route) { step(r, 0, 0).Requirements[0] = ScanLot{Name: "lot", Material: "API-100"} },
		"lot material": func(r *Route) { step(r, 0, 0).Requirements[0] = ScanLot{Name: "api-lot", Material: "API-101"} },
		"lot typed": func(r *Route) {
			step(r, 0, 0).Requirements[0] = ScanLot{Name: "api-lot", Material: "API-100", AllowTyped: true}
		},
		"weigh target":     weigh(func(w *Weigh) { w.Target = routeDec("12.51") }),
		"weigh below":      weigh(func(w *Weigh) { w.Below = routeDec("0.04") }),
		"weigh above":      weigh(func(w *Weigh) { w.Above = routeDec("0.06") }),
		"weigh unit":       weigh(func(w *Weigh) { w.Unit = "g" }),
		"weigh bounds":     weigh(func(w *Weigh) { w.Bounds = gate.Exclusive }),
		"weigh material":   weigh(func(w *Weigh) { w.Material = "" }),
		"weigh instrument": weigh(func(w *Weigh) { w.InstrumentClass = "" }),
		"weigh device":     weigh(func(w *Weigh) { w.RequireDevice = false }),
		"weigh name": func(r *Route) {
			weigh(func(w *Weigh) { w.Name = "gross" })(r)
			step(r, 0, 1).Branches[0].When.Value = "gross"
		},
		"value unit": func(r *Route) {
			step(r, 1, 0).Requirements[0] = RecordValue{Name: "ph", Unit: "pH", Min: routeDecPtr("0"), Max: routeDecPtr("14")}
		},
		"value min": func(r *Route) {
			step(r, 1, 0).Requirements[0] = RecordValue{Name: "ph", Min: routeDecPtr("1"), Max: routeDecPtr("14")}
		},
		"value no max":    func(r *Route) { step(r, 1, 0).Requirements[0] = RecordValue{Name: "ph", Min: routeDecPtr("0")} },
		"value no limits": func(r *Route) { step(r, 1, 0).Requirements[0] = RecordValue{Name: "ph"} },
		"verify meaning": func(r *Route) {
			step(r, 0, 1).Requirements[1] = SecondPersonVerification{Meaning: "reviewed", Roles: []string{"qa", "supervisor"}}
		},
		"verify roles": func(r *Route) {
			step(r, 0, 1).Requirements[1] = SecondPersonVerification{Meaning: "verified", Roles: []string{"qa"}}
		},
		"requirement order": func(r *Route) {
			q := step(r, 0, 1).Requirements
			q[0], q[1] = q[1], q[0]
		},
		"requirement removed": func(r *Route) { step(r, 0, 1).Requirements = step(r, 0, 1).Requirements[:1] },
		"branch target":       func(r *Route) { step(r, 0, 2).Branches[0].GoTo = "S10" },
		"branch exception":    func(r *Route) { step(r, 1, 0).Branches[0].OpenException = "investigation" },
		"branch equals":       func(r *Route) { step(r, 1, 0).Branches[0].When.Equals = "hazy" },
		"branch min":          func(r *Route) { step(r, 1, 0).Branches[1].When.Outside.Min = routeDec("6.4") },
		"branch max":          func(r *Route) { step(r, 1, 0).Branches[1].When.Outside.Max = routeDec("7.6") },
		"branch order": func(r *Route) {
			b := step(r, 1, 0).Branches
			b[0], b[1] = b[1], b[0]
		},
		"branch condition added": func(r *Route) {
			step(r, 0, 1).Branches[1].When = &Condition{Value: "net-weight", Equals: "12.5"}
		},
		"branch value": func(r *Route) {
			step(r, 1, 0).Branches[0].When = &Condition{Value: "ph", Equals: "cloudy"}
		},
	}
	base, err := routeFixture().Digest()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]string{base: "the fixture"}
	for name, change := range changes {
		r := routeFixture()
		change(r)
		d, err := r.Digest()
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if other, dup := seen[d]; dup {
			t.Errorf("%s: digest %s equals that of %s", name, d, other)
		}
		seen[d] = name
	}
}

// moveStep moves the fixture's S30 from OP20 to the end of OP10: the same
// steps in the same order, grouped differently.
func moveStep(r *Route) {
	r.Operations[0].Steps = append(r.Operations[0].Steps, r.Operations[1].Steps[0])
	r.Operations[1].Steps = r.Operations[1].Steps[1:]
}

func TestParseRouteRoundTrip(t *testing.T) {
	t.Parallel()
	want := routeFixture()
	want.Operations[0].Steps[0].Requirements[0] = ScanLot{Name: "api-lot", Material: "API-100", AllowTyped: true}
	c, err := want.Canonical()
	if err != nil {
		t.Fatal(err)
	}
	got, err := Parse(c)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got, routeCmp); diff != "" {
		t.Errorf("Parse(Canonical()) (-want +got):\n%s", diff)
	}
}

func TestParseRouteRejects(t *testing.T) {
	t.Parallel()
	c, err := routeFixture().Canonical()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name         string
		in           []byte
		notCanonical bool // the error must match ErrNotCanonical
	}{
		{"not JSON", []byte("{"), false},
		{"wrong format", bytes.Replace(c, []byte(Format), []byte("interlock.route/0"), 1), false},
		{"unknown field", bytes.Replace(c, []byte(`{"format"`), []byte(`{"extra":1,"format"`), 1), false},
		{"unknown kind", bytes.Replace(c, []byte(`"kind":"scan-lot"`), []byte(`"kind":"scan-box"`), 1), false},
		{"bad decimal", bytes.Replace(c, []byte(`"target":"12.5"`), []byte(`"target":"twelve"`), 1), false},
		{"huge exponent", bytes.Replace(c, []byte(`"max":"14"`), []byte(`"max":"1e999999999"`), 1), false},
		{"decimal not shortest", bytes.Replace(c, []byte(`"target":"12.5"`), []byte(`"target":"12.50"`), 1), true},
		{"field of another kind", bytes.Replace(c, []byte(`"kind":"scan-lot"`), []byte(`"kind":"scan-lot","meaning":"x"`), 1), true},
		{"typing allowed on a weighing", bytes.Replace(c, []byte(`"kind":"weigh"`), []byte(`"allow_typed":true,"kind":"weigh"`), 1), true},
		{"white space", append([]byte(" "), c...), true},
		{"trailing value", append(bytes.Clone(c), []byte(" {}")...), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse(tt.in)
			if err == nil {
				t.Fatal("Parse accepted it")
			}
			if got := errors.Is(err, ErrNotCanonical); got != tt.notCanonical {
				t.Errorf("error %v: matches ErrNotCanonical = %v, want %v", err, got, tt.notCanonical)
			}
		})
	}
}

// FuzzParseRoute checks that Parse never panics, and that whatever it
// accepts is canonical, encodes back to the same bytes and digests stably.
func FuzzParseRoute(f *testing.F) {
	c, err := routeFixture().Canonical()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(c)
	f.Add([]byte(`{"format":"interlock.route/1","operations":[],"product":"","version":0}`))
	f.Add([]byte(`{"format":"interlock.route/1","operations":[{"id":"a","steps":[{"id":"s","instructions":"i","requirements":[{"kind":"record-value","min":"1e3","name":"v"}]}]}],"product":"p","version":1}`))
	// The first run of this target hung on an exponent like this one, which
	// made comparing quantities allocate without bound.
	f.Add([]byte(`{"format":"interlock.route/1","operations":[{"id":"a","steps":[{"id":"s","instructions":"i","requirements":[{"kind":"record-value","max":"1","min":"1e999999999","name":"v"}]}]}],"product":"p","version":1}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		r, err := Parse(in)
		if err != nil {
			return
		}
		if !canonjson.IsCanonical(in) {
			t.Fatalf("accepted content that is not canonical JSON: %q", in)
		}
		again, err := r.encode()
		if err != nil {
			t.Fatalf("encode an accepted route: %v", err)
		}
		if !bytes.Equal(again, in) {
			t.Fatalf("accepted %q, encodes back to %q", in, again)
		}
		if r.Validate() == nil {
			if d, err := r.Digest(); err != nil || d != Digest(in) {
				t.Fatalf("digest %s, %v; want %s", d, err, Digest(in))
			}
		}
	})
}

var update = flag.Bool("update", false, "rewrite golden files in testdata")
