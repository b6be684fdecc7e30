package review

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/interlock-mes/interlock/mes/exception"

	"github.com/interlock-mes/interlock/mes/correction"

	"github.com/shopspring/decimal"

	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/event"
	"github.com/interlock-mes/interlock/gate"
)

// builder turns the records of one batch into a Report.
type builder struct {
	batch       string
	opts        Options
	recs        []audit.Record
	unattestedN int // records without a valid attestation (Options.Attestation)
	dec         []decoded

	entries []*Entry
	// exceptions are the entries that hold an exception, by its id, in
	// the order the batch names them.
	exceptions     map[string]*Entry
	exceptionOrder []string
	closedByMarker map[string]bool
	corrections    map[int64]*Entry // by the version of the correction record

	routine     []*RoutineStep
	routineStep map[string]*RoutineStep
	actors      map[*RoutineStep]map[string]bool

	state       string
	models      []string
	transitions int
	routineN    int

	chains []Chain
	sigs   []Signature
}

func newBuilder(batch string, recs []audit.Record, o Options) *builder {
	b := &builder{batch: batch, opts: o, recs: recs,
		exceptions: map[string]*Entry{}, closedByMarker: map[string]bool{}, corrections: map[int64]*Entry{},
		routineStep: map[string]*RoutineStep{}, actors: map[*RoutineStep]map[string]bool{}}
	b.dec = make([]decoded, len(recs))
	for i := range recs {
		b.dec[i] = decode(&recs[i])
	}
	b.chains = append(b.chains, chainOf(batch, recs))
	b.sigs = append(b.sigs, signaturesOf(recs, &o)...)
	return b
}

// chainOf recomputes the hash chain of one stream's records.
func chainOf(stream string, recs []audit.Record) Chain {
	c := Chain{Stream: stream, Records: len(recs), OK: true}
	if len(recs) > 0 {
		c.Head = recs[len(recs)-1].Hash
	}
	if err := audit.VerifyStream(recs); err != nil {
		c.OK = false
		var be *audit.BreakError
		if errors.As(err, &be) {
			c.Break = &Break{Version: be.Version, Kind: string(be.Kind), Want: be.Want, Got: be.Got}
		} else {
			c.Break = &Break{Kind: "unverifiable", Got: err.Error()}
		}
	}
	return c
}

// group is the records one command left on the batch: its transition or
// denied attempt, the signatures given with it and the exception markers
// it wrote. They share the command's id.
type group struct {
	trans, sigs, opened, closed []int // indexes into recs
}

// groups splits the batch's records by command id, in the order each
// command first appears. Records that cannot be read become unrecognised
// entries at once.
func (b *builder) groups() []*group {
	var out []*group
	byID := map[string]*group{}
	for i := range b.recs {
		d := &b.dec[i]
		if d.err != nil {
			b.unrecognised(i, d.err.Error())
			continue
		}
		g := byID[d.p.CommandID]
		if g == nil || d.p.CommandID == "" {
			g = &group{}
			out = append(out, g)
			if d.p.CommandID != "" {
				byID[d.p.CommandID] = g
			}
		}
		switch t := b.recs[i].Type; {
		case t == event.SignatureApplied:
			g.sigs = append(g.sigs, i)
		case t == event.ExceptionOpened:
			g.opened = append(g.opened, i)
		case t == event.ExceptionClosed:
			g.closed = append(g.closed, i)
		case d.p.Model != "" && d.p.Command != "":
			g.trans = append(g.trans, i)
		default:
			b.unrecognised(i, fmt.Sprintf("a %s record that is neither a transition, a signature nor an exception marker", t))
		}
	}
	return out
}

func (b *builder) unrecognised(i int, problem string) {
	r := &b.recs[i]
	b.entries = append(b.entries, &Entry{Kind: KindUnrecognised, Record: refOf(r), Problem: problem,
		Summary: fmt.Sprintf("%s record v%d by %s could not be read", r.Type, r.Version, r.Actor),
		Events:  []EventRef{refOf(r)}})
}

// classify sorts every command of the batch into an exception entry or the
// routine summary.
func (b *builder) classify() {
	for _, g := range b.groups() {
		b.classifyGroup(g)
	}
}

func (b *builder) classifyGroup(g *group) {
	var home *Entry
	if len(g.trans) > 0 {
		d := &b.dec[g.trans[0]]
		r := d.rec
		if r.Type != event.Denied {
			b.transitions++
			if d.p.Step == "" && d.p.Model != correction.ModelName && d.p.To != "" {
				b.state = string(d.p.To)
			}
			if m := modelOf(&d.p); m != "" && !slices.Contains(b.models, m) {
				b.models = append(b.models, m)
			}
		}
		switch {
		case r.Type == event.Denied:
			home = b.transitionEntry(KindDenied, d)
			home.Reasons = reasonsOf(d.p.Reasons)
			if hasLimitCode(reasonsOf(d.p.Reasons)) {
				home.Also = append(home.Also, KindOutOfLimit)
			}
		case d.p.Model == correction.ModelName && r.Type == event.ValueCorrected:
			home = b.correction(d)
		case d.p.Model == correction.ModelName && r.Type == event.CorrectionReviewed:
			home = b.correctionReview(d)
		case d.p.Override != nil:
			home = b.transitionEntry(KindOverride, d)
			home.Reasons, home.OverrideReason = reasonsOf(d.p.Override.Overridden), d.p.Override.Reason
			if hasLimitCode(home.Reasons) {
				home.Kind, home.Also = KindOutOfLimit, []Kind{KindOverride}
			}
			if hasManual(home.Evidence) {
				home.Also = append(home.Also, KindManualEntry)
			}
			if id := d.p.Override.Exception; b.exceptions[id] != nil {
				home.Problem = fmt.Sprintf("the override names exception %q, which an earlier record of the batch opened", id)
			} else {
				b.holdException(id, home)
			}
		case len(g.opened) > 0:
			// The command opened an exception; its transition (a block,
			// say) is part of it.
		case hasManual(evidenceOf(r)):
			home = b.transitionEntry(KindManualEntry, d)
		}
	}
	for _, i := range g.opened {
		id, kind, summary := markerData(&b.dec[i])
		if x := b.exceptions[id]; x != nil && id != "" {
			x.Events = append(x.Events, refOf(&b.recs[i]))
			continue
		}
		e := &Entry{Kind: KindDeviation, Record: refOf(&b.recs[i]),
			Exception: &Exception{ID: id, Kind: kind, Summary: summary, State: string(exception.StateOpen)},
			Events:    []EventRef{refOf(&b.recs[i])}}
		if id == "" {
			e.Problem = "the exception marker names no exception id"
		}
		b.entries = append(b.entries, e)
		b.holdException(id, e)
		if home == nil {
			home = e
		}
	}
	for _, i := range g.closed {
		id, _, _ := markerData(&b.dec[i])
		if x := b.exceptions[id]; x != nil && id != "" {
			x.Events = append(x.Events, refOf(&b.recs[i]))
			b.closedByMarker[id] = true
			continue
		}
		b.unrecognised(i, fmt.Sprintf("the marker closes exception %q, which the batch never opened", id))
	}
	if bad := b.unattested(g); bad != "" {
		switch {
		case home == nil && len(g.trans) > 0:
			home = b.transitionEntry(KindUnattested, &b.dec[g.trans[0]])
		case home == nil:
			i := slices.Concat(g.sigs, g.opened, g.closed)[0]
			home = &Entry{Kind: KindUnattested, Record: refOf(&b.recs[i]), Events: []EventRef{refOf(&b.recs[i])}}
			b.entries = append(b.entries, home)
		default:
			home.Also = append([]Kind{home.Kind}, home.Also...)
			home.Kind = KindUnattested
		}
		home.Open = true
		if home.Problem != "" {
			home.Problem += "; "
		}
		home.Problem += bad
	}
	switch {
	case home != nil:
		for _, i := range slices.Concat(g.trans, g.sigs) {
			if !containsRef(home.Events, &b.recs[i]) {
				home.Events = append(home.Events, refOf(&b.recs[i]))
			}
		}
	case len(g.trans) > 0:
		if x := b.exceptions[consequenceOf(&b.dec[g.trans[0]])]; x != nil {
			// A block, hold or resume an exception caused is part of it.
			for _, i := range slices.Concat(g.trans, g.sigs) {
				x.Events = append(x.Events, refOf(&b.recs[i]))
			}
			return
		}
		b.routineOf(&b.dec[g.trans[0]], len(g.sigs))
	}
}

// unattested checks the attestation of every record of g when the report
// checks them, and says which fail and why; "" when none does.
func (b *builder) unattested(g *group) string {
	if b.opts.Attestation == nil {
		return ""
	}
	var bad []string
	for _, i := range slices.Concat(g.trans, g.sigs, g.opened, g.closed) {
		r := &b.recs[i]
		if err := b.opts.Attestation.Check(r); err != nil {
			b.unattestedN++
			bad = append(bad, fmt.Sprintf("%s v%d carries no valid engine attestation (%v)", r.Stream, r.Version, err))
		}
	}
	return strings.Join(bad, "; ")
}

// consequenceOf returns the exception an allowed transition names in its
// data ("exception"), as the consequences of exceptions and the resumption
// after one do; "" when it names none.
func consequenceOf(d *decoded) string {
	if d.rec.Type == event.Denied || len(d.p.Data) == 0 {
		return ""
	}
	var x struct {
		Exception string `json:"exception"`
	}
	if err := json.Unmarshal(d.p.Data, &x); err != nil {
		return ""
	}
	return x.Exception
}

// holdException makes e the entry of exception id.
func (b *builder) holdException(id string, e *Entry) {
	if id == "" {
		return
	}
	if _, ok := b.exceptions[id]; !ok {
		b.exceptionOrder = append(b.exceptionOrder, id)
	}
	b.exceptions[id] = e
}

func containsRef(refs []EventRef, r *audit.Record) bool {
	return slices.ContainsFunc(refs, func(e EventRef) bool { return e.Stream == r.Stream && e.Version == r.Version })
}

// transitionEntry starts an entry for a transition or denied attempt.
func (b *builder) transitionEntry(k Kind, d *decoded) *Entry {
	e := &Entry{Kind: k, Record: refOf(d.rec), Step: d.p.Step, Model: modelOf(&d.p), Command: string(d.p.Command),
		From: string(d.p.From), To: string(d.p.To), Evidence: evidenceOf(d.rec), Events: []EventRef{refOf(d.rec)}}
	b.entries = append(b.entries, e)
	return e
}

// routineOf counts a routine transition in its step's line.
func (b *builder) routineOf(d *decoded, sigs int) {
	b.routineN++
	s := b.routineStep[d.p.Step]
	if s == nil {
		s = &RoutineStep{Step: d.p.Step, Model: modelOf(&d.p), First: d.rec.Time}
		b.routineStep[d.p.Step] = s
		b.routine = append(b.routine, s)
		b.actors[s] = map[string]bool{}
	}
	s.Transitions++
	s.Commands = append(s.Commands, string(d.p.Command)+" → "+string(d.p.To))
	s.State, s.Last = string(d.p.To), d.rec.Time
	s.Signatures += sigs
	b.actors[s][d.rec.Actor] = true
}

// markerData reads the "data" of an exception marker.
func markerData(d *decoded) (id, kind, summary string) {
	var m event.ExceptionContext
	if len(d.p.Data) > 0 {
		_ = json.Unmarshal(d.p.Data, &m) // a marker without readable data names no id, which the caller reports
	}
	return m.ID, m.Kind, m.Summary
}

// rawEvidence is gate.Evidence as the engine records it.
type rawEvidence struct {
	Name       string
	Identity   string
	HasValue   bool
	Value      decimal.Decimal
	Unit       string
	Source     string
	Instrument string
	Stable     bool
	Raw        string
	At         time.Time
}

// evidenceOf reads the evidence a record carries; evidence that cannot be
// read is shown as one item saying so, never dropped.
func evidenceOf(r *audit.Record) []Evidence {
	if len(r.Evidence) == 0 || string(r.Evidence) == "null" {
		return nil
	}
	var raw []rawEvidence
	if err := json.Unmarshal(r.Evidence, &raw); err != nil {
		return []Evidence{{Name: "(unreadable evidence)", Identity: string(r.Evidence), Source: "unknown"}}
	}
	var out []Evidence
	for _, e := range raw {
		ev := Evidence{Name: e.Name, Identity: e.Identity, Source: e.Source, Instrument: e.Instrument, Stable: e.Stable, Raw: e.Raw, At: e.At}
		if e.HasValue {
			ev.Value, ev.Unit = e.Value.String(), e.Unit
		}
		out = append(out, ev)
	}
	return out
}

// reasonsOrNil keeps an empty list of reasons nil, as its JSON (omitted)
// reads back.
func hasManual(evs []Evidence) bool {
	return slices.ContainsFunc(evs, func(e Evidence) bool { return e.Source == string(gate.SourceManual) })
}

func hasLimitCode(rs []Reason) bool {
	return slices.ContainsFunc(rs, func(r Reason) bool {
		return r.Code == string(gate.CodeBelowLowerLimit) || r.Code == string(gate.CodeAboveUpperLimit)
	})
}

// correction starts the entry of a correction.
func (b *builder) correction(d *decoded) *Entry {
	e := b.transitionEntry(KindCorrection, d)
	e.Open = true // until its review is found
	b.corrections[d.rec.Version] = e
	var cd correction.Data
	if err := json.Unmarshal(d.p.Data, &cd); err != nil {
		e.Problem = fmt.Sprintf("the correction's data cannot be read: %v", err)
		return e
	}
	c := &Correction{Name: cd.Name, Source: string(cd.Source), Reason: cd.Reason, Supersedes: cd.Supersedes,
		Old: valueText(string(cd.Source), cd.Old), New: valueText(string(cd.Source), cd.New)}
	e.Correction = c
	if cd.Corrects < 1 || cd.Corrects >= d.rec.Version {
		e.Problem = fmt.Sprintf("the correction names v%d, which is no earlier record", cd.Corrects)
		return e
	}
	orig := &b.recs[cd.Corrects-1]
	c.Corrects = refOf(orig)
	if v, ok := originalValue(orig, cd.Name, string(cd.Source)); ok {
		c.Original = v
	} else {
		e.Problem = fmt.Sprintf("v%d holds no %s value %q", cd.Corrects, cd.Source, cd.Name)
	}
	return e
}

// correctionReview adds a review to the entry of the correction it
// reviews.
func (b *builder) correctionReview(d *decoded) *Entry {
	var rd correction.ReviewData
	_ = json.Unmarshal(d.p.Data, &rd) // an unreadable review names no correction, reported below
	e := b.corrections[rd.Reviews]
	if e == nil {
		e = b.transitionEntry(KindUnrecognised, d)
		e.Problem = fmt.Sprintf("a review of v%d, which is no correction of the batch", rd.Reviews)
		e.Summary = fmt.Sprintf("%s record v%d by %s could not be read", d.rec.Type, d.rec.Version, d.rec.Actor)
		return e
	}
	if e.Correction != nil && e.Correction.Review == nil {
		ref := refOf(d.rec)
		e.Correction.Review = &ref
	}
	e.Open = false
	return e
}

// valueText shows a corrected value as a person reads it.
func valueText(source string, raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	if source == string(correction.SourceEvidence) {
		var m struct {
			Unit  string          `json:"unit"`
			Value decimal.Decimal `json:"value"`
		}
		if err := json.Unmarshal(raw, &m); err == nil {
			return m.Value.String() + " " + m.Unit
		}
	}
	return string(raw)
}

// originalValue reads value name of source from the record that first
// recorded it.
func originalValue(r *audit.Record, name, source string) (string, bool) {
	switch source {
	case string(correction.SourceEvidence):
		for _, e := range evidenceOf(r) {
			if e.Name == name && e.Value != "" {
				return e.Value + " " + e.Unit, true
			}
		}
	case string(correction.SourceData):
		var p struct {
			Data map[string]json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(r.Payload, &p); err == nil {
			if v, ok := p.Data[name]; ok {
				return string(v), true
			}
		}
	}
	return "", false
}

// finish completes the entries once exceptions are read: causes folded
// into their exceptions, signatures attached, kinds and summaries set, in
// record order.
func (b *builder) finish() {
	b.foldCauses()
	type key struct {
		stream  string
		version int64
	}
	holder := map[key]*Entry{}
	for _, e := range b.entries {
		slices.SortFunc(e.Events, b.compareRefs)
		e.Events = slices.CompactFunc(e.Events, func(a, c EventRef) bool { return a.Stream == c.Stream && a.Version == c.Version })
		for _, ev := range e.Events {
			holder[key{ev.Stream, ev.Version}] = e
		}
	}
	for _, s := range b.sigs {
		if e := holder[key{s.Record.Stream, s.Record.Version}]; e != nil {
			e.Signatures = append(e.Signatures, s)
		}
	}
	for _, e := range b.entries {
		if e.Exception != nil {
			if e.Kind == KindDeviation {
				e.Kind = exceptionKind(e.Exception)
			}
			e.Open = e.Open || !e.Exception.Closed
		}
		e.Also = compactKinds(e.Kind, e.Also)
		if e.Summary == "" {
			e.Summary = summaryOf(e)
		}
	}
	slices.SortStableFunc(b.entries, func(x, y *Entry) int { return b.compareRefs(x.Events[0], y.Events[0]) })
}

// compareRefs orders the batch's records first, then other streams by name,
// each by version.
func (b *builder) compareRefs(x, y EventRef) int {
	return cmp.Or(
		cmp.Compare(boolInt(x.Stream != b.batch), boolInt(y.Stream != b.batch)),
		strings.Compare(x.Stream, y.Stream),
		cmp.Compare(x.Version, y.Version),
	)
}

func boolInt(v bool) int {
	if v {
		return 1
	}
	return 0
}

// foldCauses moves an entry that caused an exception (a denied attempt
// that a rule turned into a deviation, say) into that exception's entry, so
// that it is listed once, with its consequence.
func (b *builder) foldCauses() {
	for _, id := range b.exceptionOrder {
		x := b.exceptions[id]
		c := x.Exception.Cause
		if c == nil || c.Stream != b.batch {
			continue
		}
		i := slices.IndexFunc(b.entries, func(e *Entry) bool {
			return e != x && e.Exception == nil && e.Kind != KindUnrecognised && e.Record.Stream == c.Stream && e.Record.Version == c.Version
		})
		if i < 0 {
			continue
		}
		cause := b.entries[i]
		x.Also = append(append(x.Also, cause.Kind), cause.Also...)
		x.Events = append(x.Events, cause.Events...)
		x.Open = x.Open || cause.Open
		if x.Step == "" {
			x.Step = cause.Step
		}
		if len(x.Reasons) == 0 {
			x.Reasons = cause.Reasons
		}
		if len(x.Evidence) == 0 {
			x.Evidence = cause.Evidence
		}
		if x.Correction == nil {
			x.Correction = cause.Correction
		}
		b.entries = slices.Delete(b.entries, i, i+1)
	}
}

// exceptionKind is the kind an exception's entry has: its disposition or
// its own kind say substitution, rework or an out-of-limit value;
// everything else is a deviation.
func exceptionKind(x *Exception) Kind {
	decision := ""
	if x.Disposition != nil {
		decision = x.Disposition.Decision
	}
	switch {
	case decision == string(exception.DispositionSubstitute) || x.Kind == "substitution":
		return KindSubstitution
	case decision == string(exception.DispositionRework) || x.Kind == "rework":
		return KindRework
	case x.Kind == string(KindOutOfLimit):
		return KindOutOfLimit
	}
	return KindDeviation
}

// compactKinds sorts also in the order of Kinds, without k or repeats.
func compactKinds(k Kind, also []Kind) []Kind {
	var out []Kind
	for _, c := range kinds {
		if c != k && slices.Contains(also, c) {
			out = append(out, c)
		}
	}
	return out
}

// reasonsOf turns the gate reasons a record holds into the report's.
func reasonsOf(rs []gate.Reason) []Reason {
	if len(rs) == 0 {
		return nil
	}
	out := make([]Reason, len(rs))
	for i, r := range rs {
		out[i] = Reason{Gate: r.Gate, Code: string(r.Code), Message: r.Message}
	}
	return out
}
