package route

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/interlock-mes/interlock"

	"github.com/interlock-mes/interlock/mes"

	"github.com/shopspring/decimal"

	"github.com/interlock-mes/interlock/gate"
	"github.com/interlock-mes/interlock/internal/canonjson"
	"github.com/interlock-mes/interlock/internal/quantity"
)

// Format names the layout of a route's canonical content. It is part
// of the content, so a future layout can never produce the digest of an
// older one.
const Format = "interlock.route/1"

// The canonical content of a route is the canonical JSON (internal/canonjson:
// sorted keys, no white space, shortest escapes) of this layout:
//
//	{"format":"interlock.route/1","product":P,"version":N,"operations":[
//	  {"id","name","steps":[{"id","instructions",
//	    "requirements":[{"kind", ...fields of the kind}],   (omitted when empty)
//	    "branches":[{"when":{"value","equals"|"outside":{"min","max"}},
//	                 "goto"|"open_exception"}]}]}],        (omitted when empty)
//	 "yield":{"expected","unit","min","max"}}                (omitted when none)
//
// Decimals are strings in their shortest exact form ("12.50" is "12.5"), so
// the content never passes through float64 and equal quantities encode
// alike. Empty optional fields are omitted. The wire types below are the
// definition: changing a tag changes every digest, and needs a new
// Format.
type routeWire struct {
	Format     string          `json:"format"`
	Product    string          `json:"product"`
	Version    int             `json:"version"`
	Operations []operationWire `json:"operations"`
	Yield      *yieldWire      `json:"yield,omitempty"`
}

type yieldWire struct {
	Expected string `json:"expected"`
	Unit     string `json:"unit"`
	Min      string `json:"min"`
	Max      string `json:"max"`
}

type operationWire struct {
	ID    string     `json:"id"`
	Name  string     `json:"name,omitempty"`
	Steps []stepWire `json:"steps"`
}

type stepWire struct {
	ID           string            `json:"id"`
	Instructions string            `json:"instructions"`
	Requirements []requirementWire `json:"requirements,omitempty"`
	Branches     []branchWire      `json:"branches,omitempty"`
}

type requirementWire struct {
	Kind            RequirementKind `json:"kind"`
	Name            string          `json:"name,omitempty"`
	Material        string          `json:"material,omitempty"`
	Target          string          `json:"target,omitempty"`
	Below           string          `json:"below,omitempty"`
	Above           string          `json:"above,omitempty"`
	Unit            string          `json:"unit,omitempty"`
	Bounds          gate.Bounds     `json:"bounds,omitempty"`
	InstrumentClass string          `json:"instrument_class,omitempty"`
	RequireDevice   bool            `json:"require_device,omitempty"`
	AllowTyped      bool            `json:"allow_typed,omitempty"`
	Min             *string         `json:"min,omitempty"`
	Max             *string         `json:"max,omitempty"`
	Meaning         mes.Meaning     `json:"meaning,omitempty"`
	Roles           []string        `json:"roles,omitempty"`
}

type branchWire struct {
	When          *conditionWire `json:"when,omitempty"`
	GoTo          string         `json:"goto,omitempty"`
	OpenException string         `json:"open_exception,omitempty"`
}

type conditionWire struct {
	Value   string     `json:"value"`
	Equals  string     `json:"equals,omitempty"`
	Outside *rangeWire `json:"outside,omitempty"`
}

type rangeWire struct {
	Min string `json:"min"`
	Max string `json:"max"`
}

// Canonical returns the route's canonical content, the bytes its digest is
// taken over. It returns a *Error when the route is not valid.
func (r *Route) Canonical() ([]byte, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	return r.encode()
}

// Digest returns "sha256:" and the lower-case hex SHA-256 of the route's
// canonical content. Any change to the route's meaning changes it; writing
// the same quantity differently ("12.50" or "12.5") does not. It returns a
// *Error when the route is not valid.
func (r *Route) Digest() (string, error) {
	c, err := r.Canonical()
	if err != nil {
		return "", err
	}
	return Digest(c), nil
}

// Digest returns the digest a route version is bound by: "sha256:"
// followed by the hex SHA-256 of its canonical content, so anyone can
// re-verify the content a batch executed.
func Digest(canonical []byte) string {
	sum := sha256.Sum256(canonical)
	return "sha256:" + hex.EncodeToString(sum[:])
}

func (r *Route) encode() ([]byte, error) {
	w := routeWire{Format: Format, Product: r.Product, Version: r.Version, Operations: make([]operationWire, len(r.Operations))}
	if y := r.Yield; y != nil {
		w.Yield = &yieldWire{Expected: y.Expected.String(), Unit: y.Unit, Min: y.Range.Min.String(), Max: y.Range.Max.String()}
	}
	for i, op := range r.Operations {
		ow := operationWire{ID: op.ID, Name: op.Name, Steps: make([]stepWire, len(op.Steps))}
		for j, s := range op.Steps {
			sw := stepWire{ID: s.ID, Instructions: s.Instructions}
			for _, req := range s.Requirements {
				sw.Requirements = append(sw.Requirements, encodeRequirement(req))
			}
			for _, b := range s.Branches {
				bw := branchWire{GoTo: b.GoTo, OpenException: b.OpenException}
				if b.When != nil {
					bw.When = &conditionWire{Value: b.When.Value, Equals: b.When.Equals}
					if o := b.When.Outside; o != nil {
						bw.When.Outside = &rangeWire{Min: o.Min.String(), Max: o.Max.String()}
					}
				}
				sw.Branches = append(sw.Branches, bw)
			}
			ow.Steps[j] = sw
		}
		w.Operations[i] = ow
	}
	raw, err := json.Marshal(w)
	if err != nil {
		return nil, fmt.Errorf("encode route: %w", err)
	}
	c, err := canonjson.Canonicalize(raw)
	if err != nil {
		return nil, fmt.Errorf("canonicalize route: %w", err)
	}
	return c, nil
}

func encodeRequirement(req Requirement) requirementWire {
	switch req := req.(type) {
	case ScanLot:
		return requirementWire{Kind: KindScanLot, Name: req.Name, Material: req.Material, AllowTyped: req.AllowTyped}
	case Weigh:
		return requirementWire{Kind: KindWeigh, Name: req.Name, Material: req.Material,
			Target: req.Target.String(), Below: req.Below.String(), Above: req.Above.String(),
			Unit: req.Unit, Bounds: req.Bounds, InstrumentClass: req.InstrumentClass, RequireDevice: req.RequireDevice}
	case RecordValue:
		return requirementWire{Kind: KindRecordValue, Name: req.Name, Unit: req.Unit, Min: decimalString(req.Min), Max: decimalString(req.Max)}
	case SecondPersonVerification:
		return requirementWire{Kind: KindSecondPerson, Meaning: req.Meaning, Roles: req.Roles}
	}
	// Validate refuses anything else; a sealed interface leaves only nil.
	return requirementWire{}
}

func decimalString(d *decimal.Decimal) *string {
	if d == nil {
		return nil
	}
	s := d.String()
	return &s
}

// ErrNotCanonical is matched (errors.Is) by Parse's error for content
// that decodes but is not exactly the canonical content of what it decodes
// to (an unknown field, a field of another kind, a decimal not in shortest
// form, white space): such content has no single digest.
var ErrNotCanonical = fmt.Errorf("not canonical route content: %w", interlock.ErrInvalid)

// Parse decodes canonical route content, as Canonical writes it. It
// does not validate the route. It returns an error for which
// errors.Is(err, ErrNotCanonical) is true when the content decodes but is
// not its own canonical form, and another error when it does not decode.
func Parse(canonical []byte) (*Route, error) {
	dec := json.NewDecoder(bytes.NewReader(canonical))
	dec.DisallowUnknownFields()
	var w routeWire
	if err := dec.Decode(&w); err != nil {
		return nil, fmt.Errorf("parse route: %w", err)
	}
	if dec.More() {
		return nil, fmt.Errorf("parse route: %w: data after the route", ErrNotCanonical)
	}
	if w.Format != Format {
		return nil, fmt.Errorf("parse route: format %q, want %q", w.Format, Format)
	}
	r := &Route{Product: w.Product, Version: w.Version}
	if y := w.Yield; y != nil {
		exp, err1 := parseQuantity(y.Expected)
		lo, err2 := parseQuantity(y.Min)
		hi, err3 := parseQuantity(y.Max)
		if err := errors.Join(err1, err2, err3); err != nil {
			return nil, fmt.Errorf("parse route: yield: %w", err)
		}
		r.Yield = &Yield{Expected: exp, Unit: y.Unit, Range: Range{Min: lo, Max: hi}}
	}
	for i, ow := range w.Operations {
		op := Operation{ID: ow.ID, Name: ow.Name}
		for j, sw := range ow.Steps {
			s := Step{ID: sw.ID, Instructions: sw.Instructions}
			for k, rw := range sw.Requirements {
				req, err := decodeRequirement(rw)
				if err != nil {
					return nil, fmt.Errorf("parse route: operations[%d].steps[%d].requirements[%d]: %w", i, j, k, err)
				}
				s.Requirements = append(s.Requirements, req)
			}
			for k, bw := range sw.Branches {
				b := Branch{GoTo: bw.GoTo, OpenException: bw.OpenException}
				if bw.When != nil {
					b.When = &Condition{Value: bw.When.Value, Equals: bw.When.Equals}
					if o := bw.When.Outside; o != nil {
						lo, err1 := parseQuantity(o.Min)
						hi, err2 := parseQuantity(o.Max)
						if err := errors.Join(err1, err2); err != nil {
							return nil, fmt.Errorf("parse route: operations[%d].steps[%d].branches[%d]: %w", i, j, k, err)
						}
						b.When.Outside = &Range{Min: lo, Max: hi}
					}
				}
				s.Branches = append(s.Branches, b)
			}
			op.Steps = append(op.Steps, s)
		}
		r.Operations = append(r.Operations, op)
	}
	again, err := r.encode()
	if err != nil {
		return nil, fmt.Errorf("parse route: %w", err)
	}
	if !bytes.Equal(again, canonical) {
		return nil, fmt.Errorf("parse route: %w", ErrNotCanonical)
	}
	return r, nil
}

// parseQuantity parses a decimal within the bounds of package quantity.
func parseQuantity(s string) (decimal.Decimal, error) { return quantity.Parse(s) }

func decodeRequirement(w requirementWire) (Requirement, error) {
	num := func(field, s string) (decimal.Decimal, error) {
		d, err := parseQuantity(s)
		if err != nil {
			return decimal.Decimal{}, fmt.Errorf("%s %q: %w", field, s, err)
		}
		return d, nil
	}
	opt := func(field string, s *string) (*decimal.Decimal, error) {
		if s == nil {
			return nil, nil
		}
		d, err := num(field, *s)
		return &d, err
	}
	switch w.Kind {
	case KindScanLot:
		return ScanLot{Name: w.Name, Material: w.Material, AllowTyped: w.AllowTyped}, nil
	case KindWeigh:
		t, err1 := num("target", w.Target)
		lo, err2 := num("below", w.Below)
		hi, err3 := num("above", w.Above)
		if err := errors.Join(err1, err2, err3); err != nil {
			return nil, err
		}
		return Weigh{Name: w.Name, Material: w.Material, Target: t, Below: lo, Above: hi, Unit: w.Unit,
			Bounds: w.Bounds, InstrumentClass: w.InstrumentClass, RequireDevice: w.RequireDevice}, nil
	case KindRecordValue:
		lo, err1 := opt("min", w.Min)
		hi, err2 := opt("max", w.Max)
		if err := errors.Join(err1, err2); err != nil {
			return nil, err
		}
		return RecordValue{Name: w.Name, Unit: w.Unit, Min: lo, Max: hi}, nil
	case KindSecondPerson:
		return SecondPersonVerification{Meaning: w.Meaning, Roles: w.Roles}, nil
	}
	return nil, fmt.Errorf("unknown requirement kind %q", w.Kind)
}
