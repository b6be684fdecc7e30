package route

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/shopspring/decimal"

	"github.com/interlock-mes/interlock/event"
	"github.com/interlock-mes/interlock/gate"
	"github.com/interlock-mes/interlock/internal/canonjson"
	"github.com/interlock-mes/interlock/internal/quantity"
	"github.com/interlock-mes/interlock/mes"
	"github.com/interlock-mes/interlock/mes/lifecycle"
	"github.com/interlock-mes/interlock/mes/weigh"
)

// Codes of a route step's own gates.
const (
	// CodeNotBound: the batch's records bind no route version.
	CodeNotBound gate.Code = "route.not-bound"
	// CodeOtherVersion: the batch is bound to another route version
	// (or the same version with another digest) than the step's.
	CodeOtherVersion gate.Code = "route.other-version"
	// CodeWrongInstrument: a device reading came from an instrument other
	// than the scale the step is bound to; the same code as the gate's.
	CodeWrongInstrument = gate.CodeWrongInstrument
	// CodeInstrumentClass: the bound scale is not of the class the
	// weighing names.
	CodeInstrumentClass gate.Code = "equipment.wrong-class"
	// CodeValueUnreadable: a recorded value is too large or too precise to
	// compare with its limits.
	CodeValueUnreadable gate.Code = "value.unreadable"
	// CodeConsumedNotScanned: the completion consumes a lot of a material
	// the step scans (or weighs from a named lot) other than that lot.
	CodeConsumedNotScanned gate.Code = "route.consumed-not-scanned"
	// CodeConsumedUnplanned: the completion consumes a lot of a material
	// the step's requirements do not name.
	CodeConsumedUnplanned gate.Code = "route.consumed-unplanned"
	// CodeConsumedQuantity: the quantity of a weighed material the
	// completion consumes is not the weight it accepted (or not in its
	// unit).
	CodeConsumedQuantity gate.Code = "route.consumed-quantity"
)

// StepConfig says how the attempts of a route step name what its
// requirements check. The zero value (or nil) uses the defaults.
type StepConfig struct {
	// ScaleRef is the reference (Request.Refs) naming the scale every Weigh
	// of the step is weighed on. Default weigh.DefaultScaleRef.
	ScaleRef string
	// LotRef is the reference naming the lot a Weigh of a material weighs
	// when the step scans no lot of that material. Default weigh.DefaultLotRef.
	LotRef string
	// InstrumentClasses lists, for each instrument class, the instruments of
	// that class. The equipment facts do not know classes, so a Weigh that
	// names a class not listed here is an error rather than a check
	// silently left out.
	InstrumentClasses map[string][]string
	// Options add to every transition of the step model, as StepLifecycle's
	// options do: a role or training gate, a site-wide check.
	Options []mes.Option
	// SkipRoles are the roles that may skip a step: the one who skips must
	// hold one, and so must the second person who signs the approval.
	// Default DefaultSkipRoles.
	SkipRoles []string
}

// routeStepModelPrefix starts the name of every route step model; the
// product and the step's id follow, and the model's version is the
// route's.
const routeStepModelPrefix = "route-step/"

// StepModelName returns the name of the model that runs step stepID of
// product's routes: "route-step/<product>/<stepID>". Every step has its
// own model name, so a mes.Registry holds each step of a route, and a
// request that names one step's model runs that step's rules alone.
func StepModelName(product, stepID string) string {
	return routeStepModelPrefix + product + "/" + stepID
}

// StepModel returns the model that runs step stepID of route version v on a
// batch bound to that version. It has the shape of StepLifecycle (pending,
// start, in progress, block and unblock, complete, skip with an approval
// signature) and is named StepModelName(product, stepID) at the route's
// version, so the step's records say which step and version they ran and
// folding them with another version's model is an error. It runs step
// stepID only (mes.Builder.Steps): a request for another step is refused.
//
// Every transition is guarded by the route binding: the batch's records
// must bind exactly this version and digest (Registry.Bind, recorded on the
// batch's start), or the attempt is denied with CodeNotBound or
// CodeOtherVersion. A running batch therefore keeps the version it
// started with, whatever is approved later.
//
// The step's requirements become the enforcement of its transitions:
//
//   - ScanLot: the completion needs evidence Name from a scanner (or typed
//     in, with AllowTyped), naming a lot that is usable (released, not
//     expired, not held) and of Material.
//   - Weigh: start and completion need the scale named by StepConfig.ScaleRef
//     ready (available, calibrated, clean) and, with an InstrumentClass, of
//     that class; the completion needs evidence Name from a device (or
//     typed in, unless RequireDevice), a device reading stable and taken on
//     that scale, within Target−Below..Target+Above in Unit and at or above
//     the scale's minimum weight in Unit (gate.MinimumWeight: a scale whose
//     calibration recorded no minimum weight fails closed). A tare given
//     as evidence weigh.Tare(Name) (with its gross, weigh.Gross(Name), as
//     weigh.RouteEvidence gives them) makes Name the net: the three must
//     be one device weighing with Name exactly gross − tare
//     (gate.GrossMinusTare), and the tare stable. With a Material of which
//     the step scans no lot, the lot named by StepConfig.LotRef must be
//     usable and of that material.
//   - RecordValue: the completion needs evidence Name carrying a value (or,
//     without Min and Max, a text in Identity); with Min or Max, a number in
//     Unit within them, limits included.
//   - What the completion consumes (mes.Request.Consume): every lot usable
//     (gate.ConsumedLotsUsable); a lot of a material the step scans the lot
//     scanned, of a material it weighs without a scan the lot named by
//     StepConfig.LotRef (CodeConsumedNotScanned); no lot of a material the
//     requirements do not name (CodeConsumedUnplanned); and, when a weighed
//     material is consumed, exactly the weight accepted, in its unit
//     (CodeConsumedQuantity). A completion that consumes nothing passes:
//     the consumption may be recorded by a later step of one's own.
//   - SecondPersonVerification: the step gains a verification (complete →
//     verified) that needs a signature of that Meaning by a holder of one of
//     Roles who did not take part in the step. Without one, the step is
//     final once complete.
//
// A missing piece of evidence is reported once, by the evidence
// requirement, and cannot be overridden; the gates that read it judge only
// evidence that is there.
//
// StepModel returns an error matching ErrUnknownStep when the route has no
// such step, a *NotApprovedError when the version was never approved
// (a retired version that was approved still runs the batches bound to
// it), and an error naming the problem for a Weigh whose InstrumentClass
// StepConfig does not list, a Weigh whose tare or gross name another
// requirement of the step uses, or requirements it cannot enforce.
func StepModel(v *Version, stepID string, cfg *StepConfig) (*mes.Model, error) {
	if v == nil || v.Route == nil {
		return nil, errors.New("route: StepModel: no route version")
	}
	r := v.Route
	if v.Approved.Position == 0 {
		return nil, &NotApprovedError{Product: r.Product, Version: r.Version, Status: v.Status}
	}
	var step *Step
	for _, s := range r.Steps() {
		if s.ID == stepID {
			step = s
			break
		}
	}
	if step == nil {
		return nil, fmt.Errorf("route: StepModel: route %s v%d: step %q: %w", r.Product, r.Version, stepID, ErrUnknownStep)
	}
	c := StepConfig{ScaleRef: weigh.DefaultScaleRef, LotRef: weigh.DefaultLotRef}
	if cfg != nil {
		c.InstrumentClasses, c.Options, c.SkipRoles = cfg.InstrumentClasses, cfg.Options, cfg.SkipRoles
		if cfg.ScaleRef != "" {
			c.ScaleRef = cfg.ScaleRef
		}
		if cfg.LotRef != "" {
			c.LotRef = cfg.LotRef
		}
	}
	e, err := enforcementOf(step, &c)
	if err != nil {
		return nil, fmt.Errorf("route: StepModel: route %s v%d step %s: %w", r.Product, r.Version, stepID, err)
	}
	bound, err := boundTo(Stream(r.Product, r.Version), v.Digest)
	if err != nil {
		return nil, err
	}
	order, err := inOrder(r, stepID, bound)
	if err != nil {
		return nil, err
	}
	if len(c.SkipRoles) == 0 {
		c.SkipRoles = DefaultSkipRoles
	}
	skipRole, err := gate.RequireRole(c.SkipRoles...)
	if err != nil {
		return nil, fmt.Errorf("route: StepModel: StepConfig.SkipRoles: %w", err)
	}
	with := func(extra ...mes.Option) []mes.Option {
		return append(append([]mes.Option{mes.WithGates(bound)}, c.Options...), extra...)
	}
	states, final := []mes.State{lifecycle.StepPending, lifecycle.StepInProgress, lifecycle.StepBlocked, lifecycle.StepComplete}, []mes.State{lifecycle.StepComplete, lifecycle.StepSkipped}
	if len(e.signatures) > 0 {
		// Only a step that asks for a second person has a verification;
		// without one it is final once complete.
		states, final = append(states, lifecycle.StepVerified), []mes.State{lifecycle.StepVerified, lifecycle.StepSkipped}
	}
	b := mes.NewModel(StepModelName(r.Product, stepID), r.Version).Steps(stepID).
		States(append(states, lifecycle.StepSkipped)...).
		Initial(lifecycle.StepPending).
		Final(final...).
		Permit(lifecycle.StepPending, mes.CmdStart, lifecycle.StepInProgress, with(mes.Recording("step.started"), mes.WithGates(order), mes.WithGates(e.start...))...).
		Permit(lifecycle.StepPending, mes.CmdSkip, lifecycle.StepSkipped, with(mes.Recording("step.skipped"), mes.WithGates(order, skipRole),
			mes.WithSignatures(mes.SignatureRequirement{Meaning: "approved", Count: 1, Roles: c.SkipRoles, NotPerformer: true, NotActor: true}))...).
		Permit(lifecycle.StepInProgress, mes.CmdBlock, lifecycle.StepBlocked, with(mes.Recording("step.blocked"))...).
		Permit(lifecycle.StepBlocked, mes.CmdUnblock, lifecycle.StepInProgress, with(mes.Recording("step.unblocked"))...).
		Permit(lifecycle.StepInProgress, mes.CmdComplete, lifecycle.StepComplete, with(mes.Recording("step.completed"),
			mes.WithEvidence(e.evidence...), mes.WithGates(e.complete...))...)
	if len(e.signatures) > 0 {
		b.Permit(lifecycle.StepComplete, mes.CmdVerify, lifecycle.StepVerified, with(mes.Recording("step.verified"), mes.WithSignatures(e.signatures...))...)
	}
	m, err := b.Build()
	if err != nil {
		return nil, fmt.Errorf("route: StepModel: route %s v%d step %s: %w", r.Product, r.Version, stepID, err)
	}
	return m, nil
}

// StepModels returns the model of every step of route version v, in the
// route's order, as StepModel builds each with cfg: what a service
// registers (mes.NewRegistry) to run the route's steps by name. It returns
// the first error StepModel returns.
func StepModels(v *Version, cfg *StepConfig) ([]*mes.Model, error) {
	if v == nil || v.Route == nil {
		return nil, errors.New("route: StepModels: no route version")
	}
	steps := v.Route.Steps()
	out := make([]*mes.Model, 0, len(steps))
	for _, s := range steps {
		m, err := StepModel(v, s.ID, cfg)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

// StepModelFor returns the model of step stepID of the route version the
// batch is bound to, read and verified from the batch's records as
// VerifyBinding does: a batch keeps running the version it started with.
// It returns VerifyBinding's errors, and StepModel's.
func (rs *Registry) StepModelFor(ctx context.Context, batch, stepID string, cfg *StepConfig) (*mes.Model, *Version, error) {
	recs, err := rs.engine.Records(ctx, batch)
	if err != nil {
		return nil, nil, fmt.Errorf("route: load %s: %w", batch, err)
	}
	v, err := rs.VerifyBinding(ctx, recs)
	if err != nil {
		return nil, nil, err
	}
	m, err := StepModel(v, stepID, cfg)
	if err != nil {
		return nil, nil, err
	}
	return m, v, nil
}

// BindOnStart returns an option for BatchLifecycle (or a batch model
// of one's own) that guards the start transitions alone with
// RequireApproved(Ref). A batch binds its route when it starts;
// its later transitions do not read the route, so retiring the version
// does not stop the batches already running it.
func BindOnStart() (mes.Option, error) {
	g, err := RequireApproved(Ref)
	if err != nil {
		return nil, err
	}
	return func(t *mes.Transition) {
		if t.Command == mes.CmdStart {
			t.Gates = append(t.Gates, g)
		}
	}, nil
}

// Values returns the values a completion of step s records, by requirement
// name, as Route.Next reads them: a scanned lot's identity, a weight's
// value, a recorded value's number or, for a text, its Identity. Evidence
// the step does not ask for is left out, and so is a requirement without
// its evidence (Next then reports the value missing if a branch needs it).
func (s *Step) Values(evidence []gate.Evidence) map[string]string {
	out := map[string]string{}
	for _, req := range s.Requirements {
		name := valueName(req)
		if name == "" {
			continue
		}
		for _, e := range evidence {
			if e.Name != name {
				continue
			}
			switch {
			case req.Kind() == KindScanLot:
				out[name] = e.Identity
			case e.HasValue:
				out[name] = e.Value.String()
			default:
				out[name] = e.Identity
			}
			break
		}
	}
	return out
}

// enforcement is what a step's requirements demand of its transitions.
type enforcement struct {
	start, complete []gate.Gate
	evidence        []mes.EvidenceRequirement
	signatures      []mes.SignatureRequirement
}

func enforcementOf(step *Step, c *StepConfig) (*enforcement, error) {
	e := &enforcement{}
	scanned := map[string]bool{} // materials the step scans a lot of
	values := map[string]bool{}  // names of the step's evidence
	for _, req := range step.Requirements {
		if s, ok := req.(ScanLot); ok {
			scanned[s.Material] = true
		}
		if n := valueName(req); n != "" {
			values[n] = true
		}
	}
	var errs []error
	add := func(to *[]gate.Gate, g gate.Gate, err error) {
		if err != nil {
			errs = append(errs, err)
			return
		}
		*to = append(*to, g)
	}
	scaleReady := false
	for _, req := range step.Requirements {
		switch req := req.(type) {
		case ScanLot:
			sources := []gate.Source{gate.SourceScanner}
			if req.AllowTyped {
				sources = append(sources, gate.SourceManual)
			}
			e.evidence = append(e.evidence, mes.EvidenceRequirement{Name: req.Name, Sources: sources})
			g, err := gate.LotUsable(gate.FromEvidence(req.Name), req.Material)
			add(&e.complete, gate.IfEvidence(req.Name, g), err)
		case Weigh:
			sources := []gate.Source{gate.SourceDevice, gate.SourceManual}
			if req.RequireDevice {
				sources = sources[:1]
			}
			e.evidence = append(e.evidence, mes.EvidenceRequirement{Name: req.Name, Sources: sources})
			if !scaleReady {
				scaleReady = true
				g, err := gate.EquipmentReady(gate.FromRef(c.ScaleRef))
				add(&e.start, g, err)
				add(&e.complete, g, err)
			}
			if req.InstrumentClass != "" {
				ids, ok := c.InstrumentClasses[req.InstrumentClass]
				if !ok {
					errs = append(errs, fmt.Errorf("weighing %s needs an instrument of class %q, which StepConfig.InstrumentClasses does not list",
						req.Name, req.InstrumentClass))
				} else {
					g, err := instrumentOfClass(c.ScaleRef, req.InstrumentClass, ids)
					add(&e.start, g, err)
					add(&e.complete, g, err)
				}
			}
			g, err := gate.WithinTolerance(req.Name, req.Tolerance())
			add(&e.complete, gate.IfEvidence(req.Name, g), err)
			g, err = deviceReading(req.Name, c.ScaleRef)
			add(&e.complete, gate.IfEvidence(req.Name, g), err)
			g, err = gate.MinimumWeight(req.Name, gate.FromRef(c.ScaleRef))
			add(&e.complete, gate.IfEvidence(req.Name, unlessOtherDevice(req.Name, c.ScaleRef, g)), err)
			// A tare (or a gross) given with the weight makes the weight a
			// net, which must be exactly gross − tare of one weighing.
			tare, gross := weigh.Tare(req.Name), weigh.Gross(req.Name)
			for _, n := range []string{tare, gross} {
				if values[n] {
					errs = append(errs, fmt.Errorf("weighing %s names its tare or gross %q, which another requirement of the step uses", req.Name, n))
				}
			}
			g, err = gate.GrossMinusTare(gross, tare, req.Name)
			add(&e.complete, gate.IfEvidence(req.Name, gate.IfAnyEvidence([]string{tare, gross}, g)), err)
			g, err = gate.RequireStable(tare)
			add(&e.complete, gate.IfEvidence(tare, g), err)
			if req.Material != "" && !scanned[req.Material] {
				g, err := gate.LotUsable(gate.FromRef(c.LotRef), req.Material)
				add(&e.start, g, err)
				add(&e.complete, g, err)
			}
		case RecordValue:
			e.evidence = append(e.evidence, mes.EvidenceRequirement{Name: req.Name})
			g, err := recordedValue(req)
			add(&e.complete, gate.IfEvidence(req.Name, g), err)
		case SecondPersonVerification:
			i := slices.IndexFunc(e.signatures, func(s mes.SignatureRequirement) bool { return s.Meaning == req.Meaning })
			switch {
			case i < 0:
				e.signatures = append(e.signatures, mes.SignatureRequirement{Meaning: req.Meaning, Count: 1,
					Roles: slices.Clone(req.Roles), NotPerformer: true})
			case slices.Equal(e.signatures[i].Roles, req.Roles):
				// Two verifications of one meaning: two different people.
				e.signatures[i].Count++
				e.signatures[i].DistinctSigners = true
			default:
				errs = append(errs, fmt.Errorf("two verifications meaning %q name different roles (%v, %v); a signature cannot say which it answers",
					req.Meaning, e.signatures[i].Roles, req.Roles))
			}
		default:
			errs = append(errs, fmt.Errorf("requirement %T cannot be enforced", req))
		}
	}
	// What the completion consumes is the route's to say too: only
	// usable lots, only of the materials the step names, the lot it
	// scanned, and as much of a weighed material as it weighed.
	g, err := gate.ConsumedLotsUsable()
	add(&e.complete, g, err)
	g, err = consumedAsRequired(step, c.LotRef)
	add(&e.complete, g, err)
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return e, nil
}

// consumedAsRequired is the gate on what a step's completion consumes
// (gate.Attempt.Consume): a lot of a material the step scans must be the
// lot scanned, a lot of a material it weighs without a scan the lot
// named by lotRef, and no lot of a material its requirements do not name
// may be consumed; the quantity of a weighed material consumed, when the
// completion consumes any, must be the weight accepted, in its unit.
// Lots it cannot read are LotUsable's to report.
func consumedAsRequired(step *Step, lotRef string) (gate.Gate, error) {
	scans := map[string]string{}   // material → the evidence naming its scanned lot
	weighs := map[string][]Weigh{} // material → its weighings
	for _, req := range step.Requirements {
		switch req := req.(type) {
		case ScanLot:
			scans[req.Material] = req.Name
		case Weigh:
			if req.Material != "" {
				weighs[req.Material] = append(weighs[req.Material], req)
			}
		}
	}
	return gate.Named("route-consumption", gate.Func(func(ctx context.Context, a *gate.Attempt, f gate.Facts) (gate.Verdict, error) {
		if a == nil {
			return gate.Verdict{}, gate.ErrNilAttempt
		}
		if len(a.Consume) == 0 {
			return gate.Pass(), nil
		}
		if f == nil {
			return gate.Verdict{}, gate.ErrNilFacts
		}
		var out []gate.Reason
		fail := func(code gate.Code, format string, args ...any) {
			out = append(out, gate.Reason{Code: code, Message: fmt.Sprintf(format, args...)})
		}
		consumed := map[string][]gate.Consumption{} // by material
		for _, c := range a.Consume {
			if c.Lot == "" {
				continue
			}
			l, err := f.Lot(ctx, c.Lot)
			if errors.Is(err, gate.ErrUnknown) {
				continue
			}
			if err != nil {
				return gate.Verdict{}, fmt.Errorf("lot %s: %w", c.Lot, err)
			}
			m := l.Material
			consumed[m] = append(consumed[m], c)
			if name, ok := scans[m]; ok {
				if e, r := one(a, name); r == nil && e.Identity != c.Lot {
					fail(CodeConsumedNotScanned, "lot %s of %s is consumed, but step %s scanned lot %s", c.Lot, m, step.ID, e.Identity)
				}
				continue
			}
			if _, ok := weighs[m]; ok {
				if ref := a.Refs[lotRef]; ref != c.Lot {
					fail(CodeConsumedNotScanned, "lot %s of %s is consumed, but step %s weighs lot %q (reference %s)", c.Lot, m, step.ID, ref, lotRef)
				}
				continue
			}
			fail(CodeConsumedUnplanned, "lot %s is of %s, which step %s does not use; the route does not let it consume it", c.Lot, orNone(m), step.ID)
		}
		for _, m := range sortedKeys(weighs) {
			cs := consumed[m]
			if len(cs) == 0 {
				continue
			}
			unit := weighs[m][0].Unit
			want, total := decimal.Zero, decimal.Zero
			for _, w := range weighs[m] {
				if e, r := one(a, w.Name); r == nil && e.HasValue {
					want = want.Add(e.Value)
				}
			}
			units := true
			for _, c := range cs {
				if c.Unit != unit {
					units = false
					fail(CodeConsumedQuantity, "lot %s is consumed in %s; step %s weighs %s in %s", c.Lot, orNone(c.Unit), step.ID, m, unit)
					continue
				}
				total = total.Add(c.Quantity)
			}
			if units && !total.Equal(want) {
				fail(CodeConsumedQuantity, "%s %s of %s is consumed, but step %s weighed %s %s", total, unit, m, step.ID, want, unit)
			}
		}
		return gate.Verdict{Reasons: out}, nil
	}))
}

func orNone(s string) string {
	if s == "" {
		return "no recorded material"
	}
	return s
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// unlessOtherDevice checks g unless evidence name is a device reading
// taken on an instrument other than the scale named by scaleRef: that is
// deviceReading's to deny, and no minimum weight of the scale applies to it.
func unlessOtherDevice(name, scaleRef string, g gate.Gate) gate.Gate {
	if g == nil {
		return nil
	}
	guarded := gate.Func(func(ctx context.Context, a *gate.Attempt, f gate.Facts) (gate.Verdict, error) {
		if a == nil {
			return gate.Verdict{}, gate.ErrNilAttempt
		}
		if e, r := one(a, name); r == nil && e.Source == gate.SourceDevice && e.Instrument != "" && e.Instrument != a.Refs[scaleRef] {
			return gate.Pass(), nil
		}
		return g.Check(ctx, a, f)
	})
	return gate.NamedAs(g, guarded)
}

// one returns the one piece of evidence named name, or the reason there is
// not exactly one.
func one(a *gate.Attempt, name string) (gate.Evidence, *gate.Reason) {
	var found gate.Evidence
	n := 0
	for _, e := range a.Evidence {
		if e.Name == name {
			found, n = e, n+1
		}
	}
	switch n {
	case 0:
		return found, &gate.Reason{Code: gate.CodeEvidenceMissing, Message: fmt.Sprintf("the attempt carries no evidence %s", name)}
	case 1:
		return found, nil
	}
	return found, &gate.Reason{Code: gate.CodeEvidenceDuplicate,
		Message: fmt.Sprintf("the attempt carries %d pieces of evidence %s where one is expected", n, name)}
}

// deviceReading passes a weight typed in (whether that is allowed is the
// evidence requirement's to say) and a device reading that is stable and
// was taken on the scale named by scaleRef.
func deviceReading(name, scaleRef string) (gate.Gate, error) {
	return gate.Named("device-reading", gate.Func(func(_ context.Context, a *gate.Attempt, _ gate.Facts) (gate.Verdict, error) {
		if a == nil {
			return gate.Verdict{}, gate.ErrNilAttempt
		}
		e, r := one(a, name)
		if r != nil {
			return gate.Fail(*r), nil
		}
		if e.Source != gate.SourceDevice {
			return gate.Pass(), nil
		}
		var rs []gate.Reason
		if !e.Stable {
			rs = append(rs, gate.Reason{Code: gate.CodeUnstable, Message: fmt.Sprintf("evidence %s from instrument %s was not stable", name, e.Instrument)})
		}
		switch scale := a.Refs[scaleRef]; {
		case scale == "":
			rs = append(rs, gate.Reason{Code: gate.CodeRefMissing, Message: fmt.Sprintf("the attempt has no reference %q naming the scale", scaleRef)})
		case e.Instrument != scale:
			rs = append(rs, gate.Reason{Code: CodeWrongInstrument,
				Message: fmt.Sprintf("evidence %s came from instrument %q, not from scale %s the step weighs on", name, e.Instrument, scale)})
		}
		return gate.Verdict{Reasons: rs}, nil
	}))
}

// instrumentOfClass passes when the scale named by scaleRef is one of ids,
// the instruments of class.
func instrumentOfClass(scaleRef, class string, ids []string) (gate.Gate, error) {
	ids = slices.Clone(ids)
	return gate.Named("instrument-class", gate.Func(func(_ context.Context, a *gate.Attempt, _ gate.Facts) (gate.Verdict, error) {
		if a == nil {
			return gate.Verdict{}, gate.ErrNilAttempt
		}
		scale := a.Refs[scaleRef]
		switch {
		case scale == "":
			return gate.Fail(gate.Reason{Code: gate.CodeRefMissing, Message: fmt.Sprintf("the attempt has no reference %q naming the scale", scaleRef)}), nil
		case !slices.Contains(ids, scale):
			return gate.Fail(gate.Reason{Code: CodeInstrumentClass, Message: fmt.Sprintf("scale %s is not of class %s", scale, class)}), nil
		}
		return gate.Pass(), nil
	}))
}

// recordedValue checks a recorded value: present, and with limits a number
// in the requirement's unit within them.
func recordedValue(req RecordValue) (gate.Gate, error) {
	return gate.Named("recorded-value", gate.Func(func(_ context.Context, a *gate.Attempt, _ gate.Facts) (gate.Verdict, error) {
		if a == nil {
			return gate.Verdict{}, gate.ErrNilAttempt
		}
		e, r := one(a, req.Name)
		if r != nil {
			return gate.Fail(*r), nil
		}
		fail := func(code gate.Code, format string, args ...any) (gate.Verdict, error) {
			return gate.Fail(gate.Reason{Code: code, Message: fmt.Sprintf(format, args...)}), nil
		}
		if req.Min == nil && req.Max == nil {
			switch {
			case !e.HasValue && e.Identity == "":
				return fail(gate.CodeValueMissing, "evidence %s carries neither a value nor a text", req.Name)
			case e.HasValue && e.Unit != req.Unit:
				return fail(gate.CodeUnitMismatch, "%s %s %s is not in %s", req.Name, e.Value, unitOrNone(e.Unit), unitOrNone(req.Unit))
			}
			return gate.Pass(), nil
		}
		switch {
		case !e.HasValue:
			return fail(gate.CodeValueMissing, "evidence %s carries no number to compare with its limits", req.Name)
		case e.Unit != req.Unit:
			return fail(gate.CodeUnitMismatch, "%s %s %s is not in %s, the unit of its limits", req.Name, e.Value, unitOrNone(e.Unit), unitOrNone(req.Unit))
		case !quantity.InBounds(e.Value):
			return fail(CodeValueUnreadable, "%s has %d as its exponent, beyond what a quantity may have", req.Name, e.Value.Exponent())
		case req.Min != nil && e.Value.LessThan(*req.Min):
			return fail(gate.CodeBelowLowerLimit, "%s %s %s is below the lower limit %s", req.Name, e.Value, req.Unit, req.Min)
		case req.Max != nil && e.Value.GreaterThan(*req.Max):
			return fail(gate.CodeAboveUpperLimit, "%s %s %s is above the upper limit %s", req.Name, e.Value, req.Unit, req.Max)
		}
		return gate.Pass(), nil
	}))
}

func unitOrNone(u string) string {
	if u == "" {
		return "(no unit)"
	}
	return u
}

// boundTo returns the gate that passes when the subject's records bind the
// route version stream with digest: the first allowed transition that
// records a route reference names them.
func boundTo(stream, digest string) (gate.Gate, error) {
	prefix, ok := canonMember(nil, Ref, "route/")
	if !ok {
		return nil, errors.New("route: route binding needle does not encode")
	}
	prefix = prefix[:len(prefix)-1] // open the string: any route stream
	return gate.Named("route-binding", gate.Func(func(ctx context.Context, a *gate.Attempt, f gate.Facts) (gate.Verdict, error) {
		if a == nil {
			return gate.Verdict{}, gate.ErrNilAttempt
		}
		rr, ok := f.(mes.RecordReader)
		if !ok {
			return gate.Verdict{}, fmt.Errorf("the facts (%T) do not give the subject's records; run route steps through the engine", f)
		}
		recs, err := rr.Records(ctx, a.Subject)
		if err != nil {
			return gate.Verdict{}, err
		}
		for i := range recs {
			rec := &recs[i]
			if rec.Type == event.Denied || !bytes.Contains(rec.Payload, prefix) {
				continue
			}
			var p struct {
				Refs map[string]string `json:"refs"`
			}
			if err := json.Unmarshal(rec.Payload, &p); err != nil {
				return gate.Verdict{}, fmt.Errorf("%s v%d: %w", rec.Stream, rec.Version, err)
			}
			s := p.Refs[Ref]
			if s == "" {
				continue
			}
			if s != stream || p.Refs[RefDigest] != digest {
				return gate.Fail(gate.Reason{Code: CodeOtherVersion,
					Message: fmt.Sprintf("%s is bound to %s (digest %.12s…) at v%d; this step belongs to %s (digest %.12s…)",
						a.Subject, s, p.Refs[RefDigest], rec.Version, stream, digest)}), nil
			}
			return gate.Pass(), nil
		}
		return gate.Fail(gate.Reason{Code: CodeNotBound,
			Message: fmt.Sprintf("%s is bound to no route version; this step belongs to %s", a.Subject, stream)}), nil
	}))
}

// canonMember returns the canonical JSON text of the member key: value, as
// it appears in a stored (canonical) payload, appended to dst. A value
// that is not valid UTF-8 cannot appear in one: ok is false.
func canonMember(dst []byte, key, value string) (out []byte, ok bool) {
	dst = append(dst, '"')
	dst = append(dst, key...)
	dst = append(dst, '"', ':')
	out, err := canonjson.AppendString(dst, value)
	return out, err == nil
}
