package weigh

import (
	"errors"
	"fmt"
	"time"

	"github.com/interlock-mes/interlock/mes/lifecycle"

	"github.com/interlock-mes/interlock"
	"github.com/interlock-mes/interlock/mes"

	"github.com/interlock-mes/interlock/device"
	"github.com/interlock-mes/interlock/gate"
)

// The names of a weighing's evidence, as Evidence gives them and
// Step's gates read them.
const (
	EvidenceTare  = "tare"
	EvidenceGross = "gross"
	EvidenceNet   = "net"
)

// The references a weighing reads unless its Spec (or a route step's
// StepConfig) names others.
const (
	DefaultScaleRef = "scale" // the reference naming the scale a weighing is weighed on
	DefaultLotRef   = "lot"   // the reference naming the lot a weighing of a material weighs
)

// DefaultLotScan is the evidence name of a weigh step's lot scan unless
// Spec.LotScan names another.
const DefaultLotScan = "lot-scan"

// ErrMixed is matched (errors.Is) by the error Evidence
// returns for readings that cannot be one weighing.
var ErrMixed = fmt.Errorf("readings are not one weighing: %w", interlock.ErrInvalid)

// Evidence turns one weighing on a tared scale into a step's
// evidence: the tare (the reading a tare command returns, such as
// scale.Scale.Tare) and the net weight then read on the pan (such as
// scale.Scale.StableWeight), as evidence EvidenceTare and EvidenceNet, and
// the gross weight they imply, tare + net, as EvidenceGross. Each carries
// its reading's instrument, unit and source; the gross is stable only when
// both readings were. Completing a Step with them puts the tare on the
// record, beside the weight it was taken against.
//
// The net is the scale's own reading, not a difference computed here, so
// the value the tolerance and minimum-weight gates judge is the one the
// instrument displayed. Unstable readings and readings that are not from a
// device are passed on as they are, for the gates to deny and record.
//
// It returns an error matching ErrMixed, and nothing else, when the
// two readings name different instruments, units or sources: no gross can be
// derived from them.
func Evidence(tare, net device.Reading) ([]gate.Evidence, error) {
	var errs []error
	if tare.Instrument != net.Instrument {
		errs = append(errs, fmt.Errorf("tare from instrument %q, net from %q: %w", tare.Instrument, net.Instrument, ErrMixed))
	}
	if tare.Unit != net.Unit {
		errs = append(errs, fmt.Errorf("tare in %q, net in %q: %w", tare.Unit, net.Unit, ErrMixed))
	}
	if tare.Source != net.Source {
		errs = append(errs, fmt.Errorf("tare from source %q, net from %q: %w", tare.Source, net.Source, ErrMixed))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("weigh: Evidence: %w", err)
	}
	ev := func(name string, r device.Reading) gate.Evidence {
		return gate.Evidence{Name: name, HasValue: true, Value: r.Value, Unit: r.Unit,
			Source: gate.Source(r.Source), Instrument: r.Instrument, Stable: r.Stable, Raw: r.RawText(), At: r.Time}
	}
	// The gross is derived, not read: it has no frame of its own.
	gross := ev(EvidenceGross, net)
	gross.Value, gross.Stable, gross.Raw, gross.At = tare.Value.Add(net.Value), tare.Stable && net.Stable, "", time.Time{}
	return []gate.Evidence{ev(EvidenceTare, tare), gross, ev(EvidenceNet, net)}, nil
}

// Tare returns the name of the tare of the route weighing whose net
// weight is evidence name (Weigh.Name), such as "net-weight.tare".
func Tare(name string) string { return name + "." + EvidenceTare }

// Gross returns the name of the gross weight of the route weighing
// whose net weight is evidence name, such as "net-weight.gross".
func Gross(name string) string { return name + "." + EvidenceGross }

// RouteEvidence is Evidence for a route step's Weigh named
// name: the net as evidence name, the tare as Tare(name) and the gross
// as Gross(name), so that a step with several weighings can carry the
// tare of each. It returns Evidence's errors, and an error when
// name is empty.
func RouteEvidence(name string, tare, net device.Reading) ([]gate.Evidence, error) {
	if name == "" {
		return nil, errors.New("weigh: RouteEvidence: name is empty")
	}
	ev, err := Evidence(tare, net)
	if err != nil {
		return nil, err
	}
	for i := range ev {
		switch ev[i].Name {
		case EvidenceTare:
			ev[i].Name = Tare(name)
		case EvidenceGross:
			ev[i].Name = Gross(name)
		case EvidenceNet:
			ev[i].Name = name
		}
	}
	return ev, nil
}

// Spec describes a weigh step: a quantity of one material dispensed
// from a lot on a scale.
type Spec struct {
	// Name and Version identify the step's model on the record, such as
	// "weigh-API-100" at 1. Required.
	Name    string
	Version int
	// Material is the material of the lot weighed from. Required.
	Material string
	// Tolerance is the target and the limits of the net weight.
	Tolerance gate.Tolerance
	// Role is the role the operator must hold, and Skill the training that
	// must be current, to start the step. Required.
	Role, Skill string
	// ScaleRef and LotRef are the references (Request.Refs) naming the
	// scale and the lot. Default DefaultScaleRef and DefaultLotRef.
	ScaleRef, LotRef string
	// LotScan is the evidence name of the lot's scan at the start. Default
	// DefaultLotScan.
	LotScan string
	// Options add to every transition, as StepLifecycle's do: a site-wide
	// gate, an override policy.
	Options []mes.Option
}

// Step returns the model of a weigh step. It runs pending → in
// progress (start) → complete, and may be blocked and unblocked while in
// progress, recording step.started, step.completed, step.blocked and
// step.unblocked as StepLifecycle does.
//
// Start needs the operator to hold Role and current training in Skill, the
// scale named by ScaleRef ready (available, calibration valid and not
// overdue, clean), the lot named by LotRef usable and of Material, and a
// scan of that lot (evidence LotScan, from a scanner). The engine then binds
// the step to the operator, the scale and the lot.
//
// Completion needs the evidence of Evidence: EvidenceTare,
// EvidenceGross and EvidenceNet, read from the scale as one weighing
// (gate.GrossMinusTare), the tare and the net stable, the net within
// Tolerance and at or above the scale's minimum weight (gate.MinimumWeight:
// a scale with none set fails closed), and the scale still ready and the
// lot still usable. A missing piece of evidence is reported once, by the
// evidence requirement. Give the lot's consumption in Request.Consume: it
// is appended with the completion, and the tare is on the completion's
// record as evidence.
//
// It returns an error naming every problem of spec: an empty Material,
// Role or Skill, an invalid Tolerance, references that coincide, and a
// model Build refuses (no Name, a Version below 1).
func Step(spec Spec) (*mes.Model, error) {
	if spec.ScaleRef == "" {
		spec.ScaleRef = DefaultScaleRef
	}
	if spec.LotRef == "" {
		spec.LotRef = DefaultLotRef
	}
	if spec.LotScan == "" {
		spec.LotScan = DefaultLotScan
	}
	var errs []error
	var start, complete []gate.Gate
	add := func(to *[]gate.Gate, g gate.Gate, err error) {
		if err != nil {
			errs = append(errs, err)
			return
		}
		*to = append(*to, g)
	}
	if spec.Material == "" {
		errs = append(errs, errors.New("spec: Material is empty"))
	}
	if spec.Role == "" {
		errs = append(errs, errors.New("spec: Role is empty"))
	}
	if spec.Skill == "" {
		errs = append(errs, errors.New("spec: Skill is empty"))
	}
	if spec.ScaleRef == spec.LotRef {
		errs = append(errs, fmt.Errorf("ScaleRef and LotRef are both %q", spec.ScaleRef))
	}
	for _, n := range []string{EvidenceTare, EvidenceGross, EvidenceNet} {
		if spec.LotScan == n {
			errs = append(errs, fmt.Errorf("LotScan %q is the name of the weighing's evidence", n))
		}
	}
	scaleReady, err := gate.EquipmentReady(gate.FromRef(spec.ScaleRef))
	add(&start, scaleReady, err)
	add(&complete, scaleReady, err)
	if spec.Material != "" {
		lotUsable, err := gate.LotUsable(gate.FromRef(spec.LotRef), spec.Material)
		add(&start, lotUsable, err)
		add(&complete, lotUsable, err)
	}
	if spec.Role != "" {
		g, err := gate.RequireRole(spec.Role)
		add(&start, g, err)
	}
	if spec.Skill != "" {
		g, err := gate.TrainingCurrent(spec.Skill)
		add(&start, g, err)
	}
	g, err := gate.EvidencePresent(spec.LotScan, gate.FromRef(spec.LotRef))
	add(&start, gate.IfEvidence(spec.LotScan, g), err)

	g, err = gate.GrossMinusTare(EvidenceGross, EvidenceTare, EvidenceNet)
	add(&complete, gate.IfEvidence(EvidenceGross, gate.IfEvidence(EvidenceTare, gate.IfEvidence(EvidenceNet, g))), err)
	g, err = gate.RequireStable(EvidenceTare)
	add(&complete, gate.IfEvidence(EvidenceTare, g), err)
	g, err = gate.RequireStable(EvidenceNet)
	add(&complete, gate.IfEvidence(EvidenceNet, g), err)
	g, err = gate.WithinTolerance(EvidenceNet, spec.Tolerance)
	add(&complete, gate.IfEvidence(EvidenceNet, g), err)
	g, err = gate.MinimumWeight(EvidenceNet, gate.FromRef(spec.ScaleRef))
	add(&complete, gate.IfEvidence(EvidenceNet, g), err)

	with := mes.Prepend(spec.Options)
	m, berr := mes.NewModel(spec.Name, spec.Version).
		States(lifecycle.StepPending, lifecycle.StepInProgress, lifecycle.StepBlocked, lifecycle.StepComplete).
		Initial(lifecycle.StepPending).
		Final(lifecycle.StepComplete).
		Permit(lifecycle.StepPending, mes.CmdStart, lifecycle.StepInProgress, with(mes.Recording("step.started"),
			mes.WithEvidence(mes.EvidenceRequirement{Name: spec.LotScan, Sources: []gate.Source{gate.SourceScanner}}),
			mes.WithGates(start...))...).
		Permit(lifecycle.StepInProgress, mes.CmdBlock, lifecycle.StepBlocked, with(mes.Recording("step.blocked"))...).
		Permit(lifecycle.StepBlocked, mes.CmdUnblock, lifecycle.StepInProgress, with(mes.Recording("step.unblocked"))...).
		Permit(lifecycle.StepInProgress, mes.CmdComplete, lifecycle.StepComplete, with(mes.Recording("step.completed"),
			mes.WithEvidence(mes.EvidenceRequirement{Name: EvidenceTare}, mes.EvidenceRequirement{Name: EvidenceGross},
				mes.EvidenceRequirement{Name: EvidenceNet}),
			mes.WithGates(complete...))...).
		Build()
	if berr != nil {
		errs = append(errs, berr)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("mes: Step: %w", err)
	}
	return m, nil
}
