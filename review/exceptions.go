package review

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/interlock-mes/interlock/mes/exception"

	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/event"
	"github.com/interlock-mes/interlock/gate"
	"github.com/interlock-mes/interlock/mes"
	"github.com/interlock-mes/interlock/signature"
)

// problemNoRecordsFmt says that an exception's stream is gone.
const problemNoRecordsFmt = "the batch names exception %s, and its stream %s has no records"

// readExceptions reads the stream of every exception the batch names,
// verifies its chain and signatures, and completes the entries.
func (b *builder) readExceptions(ctx context.Context, src Reader) error {
	var unproven []*Entry
	for _, id := range b.exceptionOrder {
		e := b.exceptions[id]
		stream := event.ExceptionStream(id)
		recs, err := src.Load(ctx, stream, 1)
		if err != nil {
			return fmt.Errorf("review: load %s: %w", stream, err)
		}
		chain := chainOf(stream, recs)
		if len(recs) == 0 {
			// The batch says the exception exists; a stream without
			// records means it was deleted or never written.
			chain.OK = false
			chain.Break = &Break{Version: 1, Kind: "stream-missing", Want: "the exception's records", Got: "no records"}
		}
		b.chains = append(b.chains, chain)
		b.sigs = append(b.sigs, signaturesOf(recs, &b.opts)...)
		// The exception's own records must be the engine's too: a closing
		// planted around it would otherwise let the batch go.
		if bad := b.unattestedRecords(recs); bad != "" {
			unproven = append(unproven, e)
			e.Also = append(e.Also, KindUnattested)
			e.Problem = strings.TrimPrefix(e.Problem+"; "+bad, "; ")
		}
		if e.Exception == nil {
			e.Exception = &Exception{ID: id, Kind: exception.KindDeviation, State: string(exception.StateOpen)}
		}
		x := e.Exception
		if len(recs) == 0 {
			e.Problem = fmt.Sprintf(problemNoRecordsFmt, id, stream)
		} else if p := b.readException(x, recs); p != "" {
			e.Problem = p
		}
		for i := range recs {
			e.Events = append(e.Events, refOf(&recs[i]))
		}
		x.Closed = x.State == string(exception.StateClosed) || b.closedByMarker[id]
	}
	b.finish()
	for _, e := range unproven {
		e.Open = true // needs investigation before release, closed or not
	}
	return nil
}

// unattestedRecords checks the attestation of recs when the report has
// attestation keys, counting each record without a valid one, and says
// which they are ("" when all are attested or nothing is checked).
func (b *builder) unattestedRecords(recs []audit.Record) string {
	if b.opts.Attestation == nil {
		return ""
	}
	var bad []string
	for i := range recs {
		if err := b.opts.Attestation.Check(&recs[i]); err != nil {
			b.unattestedN++
			bad = append(bad, fmt.Sprintf("%s v%d carries no valid engine attestation (%v)", recs[i].Stream, recs[i].Version, err))
		}
	}
	return strings.Join(bad, "; ")
}

// readException folds the records of an exception's stream into x and
// returns what could not be read ("" when everything could).
func (b *builder) readException(x *Exception, recs []audit.Record) string {
	var problems []string
	for i := range recs {
		r := &recs[i]
		d := decode(r)
		ev := ExceptionEvent{Event: refOf(r), From: string(d.p.From), To: string(d.p.To)}
		if d.err != nil {
			problems = append(problems, fmt.Sprintf("v%d: %v", r.Version, d.err))
			x.History = append(x.History, ev)
			continue
		}
		data := func(v any) {
			if len(d.p.Data) == 0 {
				return
			}
			if err := json.Unmarshal(d.p.Data, v); err != nil {
				problems = append(problems, fmt.Sprintf("v%d (%s) data: %v", r.Version, r.Type, err))
			}
		}
		switch r.Type {
		case event.Denied:
			ev.To = ""
			ev.Note = "denied: " + reasonCodes(reasonsOf(d.p.Reasons))
		case event.SignatureApplied:
			ev.Note = "signature"
		case event.ExceptionOpened:
			var o event.ExceptionContext
			data(&o)
			if o.ID != "" && o.ID != x.ID {
				problems = append(problems, fmt.Sprintf("v%d opens exception %q, not %q", r.Version, o.ID, x.ID))
			}
			x.Kind, x.Summary, x.Source, x.Consequence, x.Step = o.Kind, o.Summary, o.Source, o.Consequence, o.Step
			if o.Cause != nil {
				x.Cause = b.causeRef(o.Cause.Stream, o.Cause.Version)
			}
			ev.Note = "opened: " + o.Summary
		case event.ExceptionDispositioned:
			var dp Disposition
			data(&dp)
			dp.By = r.Actor
			x.Disposition = &dp
			x.addCAPA(dp.CAPA)
			ev.Note = dp.Decision + ": " + dp.Rationale
			if dp.Substitute != "" {
				ev.Note += " (substitute " + dp.Substitute + ")"
			}
		case event.ExceptionRejected:
			var rj struct {
				Reason string `json:"reason"`
			}
			data(&rj)
			x.Disposition = nil
			x.Rejected++
			ev.Note = "disposition rejected: " + rj.Reason
		case event.ExceptionApproved:
			ev.Note = "disposition approved"
		case event.ExceptionCAPA:
			var c struct {
				CAPA string `json:"capa"`
			}
			data(&c)
			x.addCAPA(c.CAPA)
			ev.Note = "CAPA " + c.CAPA
		}
		if r.Type != event.Denied && r.Type != event.SignatureApplied && d.p.To != "" {
			x.State = string(d.p.To)
		}
		x.History = append(x.History, ev)
	}
	return strings.Join(problems, "; ")
}

func (x *Exception) addCAPA(ref string) {
	if ref != "" && !slices.Contains(x.CAPA, ref) {
		x.CAPA = append(x.CAPA, ref)
	}
}

// causeRef names the record an exception names as its cause.
func (b *builder) causeRef(stream string, version int64) *EventRef {
	if stream == b.batch && version >= 1 && version <= int64(len(b.recs)) && b.recs[version-1].Version == version {
		ref := refOf(&b.recs[version-1])
		return &ref
	}
	return &EventRef{Stream: stream, Version: version}
}

func reasonCodes(rs []Reason) string {
	codes := make([]string, len(rs))
	for i, r := range rs {
		codes[i] = r.Code
	}
	return strings.Join(codes, ", ")
}

// signaturesOf reads every signature of one stream's records, verified
// under the options' keys when they give any.
func signaturesOf(recs []audit.Record, o *Options) []Signature {
	var checks map[int64]error
	var verified []mes.SignatureCheck
	switch {
	case o.SigningKeys != nil:
		verified = mes.VerifySignaturesWith(recs, o.SigningKeys)
	case o.SealKey != nil:
		verified = mes.VerifySignatures(recs, o.SealKey)
	}
	if verified != nil || o.SigningKeys != nil || o.SealKey != nil {
		checks = map[int64]error{}
		for _, c := range verified {
			checks[c.Record.Version] = c.Err
		}
	}
	var out []Signature
	for i := range recs {
		r := &recs[i]
		if r.Type != event.SignatureApplied {
			continue
		}
		s := Signature{Record: refOf(r), Status: StatusNotChecked}
		invalid := func(format string, args ...any) {
			s.Status, s.Problem = StatusInvalid, fmt.Sprintf(format, args...)
		}
		var p struct {
			Signs     int64           `json:"signs"`
			Signature json.RawMessage `json:"signature"`
		}
		if err := json.Unmarshal(r.Payload, &p); err != nil {
			invalid("payload: %v", err)
			out = append(out, s)
			continue
		}
		if j := indexOfVersion(recs, p.Signs); j >= 0 && p.Signs != r.Version {
			s.Signs = refOf(&recs[j])
		} else {
			s.Signs = EventRef{Stream: r.Stream, Version: p.Signs}
			invalid("signs version %d, which is not in the stream", p.Signs)
		}
		sig, err := signature.Decode(p.Signature)
		if err != nil {
			invalid("%v", err)
			out = append(out, s)
			continue
		}
		m := sig.Manifestation
		s.SignerID, s.PrintedName, s.Time, s.Meaning, s.Reason = m.SignerID, m.PrintedName, m.Time, string(m.Meaning), m.Reason
		if s.Status == StatusInvalid || checks == nil {
			out = append(out, s)
			continue
		}
		if err, ok := checks[r.Version]; !ok {
			invalid("not verified")
		} else if err != nil {
			invalid("%v", err)
		} else {
			s.Status = StatusValid
		}
		out = append(out, s)
	}
	return out
}

// indexOfVersion returns the index of version v in recs, or -1. Records
// loaded from version 1 hold v at v-1 unless some are missing.
func indexOfVersion(recs []audit.Record, v int64) int {
	if v >= 1 && v <= int64(len(recs)) && recs[v-1].Version == v {
		return int(v - 1)
	}
	return slices.IndexFunc(recs, func(r audit.Record) bool { return r.Version == v })
}

// report assembles the Report.
func (b *builder) report() *Report {
	rep := &Report{
		Batch:      b.batch,
		AsOf:       refOf(&b.recs[len(b.recs)-1]),
		State:      b.state,
		Models:     b.models,
		Routine:    make([]RoutineStep, 0, len(b.routine)),
		Exceptions: make([]Entry, 0, len(b.entries)),
		Signatures: b.sigs,
		Integrity:  Integrity{OK: true, Chains: b.chains, Signatures: map[SignatureStatus]int{}},
	}
	if rep.Models == nil {
		rep.Models = []string{}
	}
	if rep.Signatures == nil {
		rep.Signatures = []Signature{}
	}
	for _, s := range b.routine {
		for a := range b.actors[s] {
			s.Actors = append(s.Actors, a)
		}
		slices.Sort(s.Actors)
		rep.Routine = append(rep.Routine, *s)
	}
	sum := Summary{Records: len(b.recs), Transitions: b.transitions, Routine: b.routineN,
		Signatures: len(rep.Signatures), ByKind: map[Kind]int{}}
	for _, e := range b.entries {
		rep.Exceptions = append(rep.Exceptions, *e)
		sum.ByKind[e.Kind]++
		if e.Open {
			sum.Open++
		}
	}
	sum.Exceptions = len(rep.Exceptions)
	for i := range b.recs {
		if b.recs[i].Type == event.Denied {
			sum.Denied++
		}
	}
	rep.Summary = sum
	for _, c := range b.chains {
		rep.Integrity.OK = rep.Integrity.OK && c.OK
	}
	if b.unattestedN > 0 {
		rep.Integrity.Unattested, rep.Integrity.OK = b.unattestedN, false
	}
	for _, s := range rep.Signatures {
		rep.Integrity.Signatures[s.Status]++
		if s.Status == StatusInvalid {
			rep.Integrity.OK = false
		}
	}
	return rep
}

// summaryOf says in one sentence what an entry is.
func summaryOf(e *Entry) string {
	who, what := e.Record.Actor, e.Command
	if e.Step != "" {
		what += " of step " + e.Step
	}
	var s string
	switch {
	case e.Kind == KindDenied:
		s = fmt.Sprintf("%s's %s was denied: %s", who, what, reasonCodes(e.Reasons))
	case e.Kind == KindCorrection && e.Correction != nil:
		c := e.Correction
		s = fmt.Sprintf("%s corrected %s of v%d from %s to %s: %s", who, c.Name, c.Corrects.Version, c.Old, c.New, c.Reason)
		if c.Review == nil {
			s += "; not reviewed"
		}
	case e.OverrideReason != "" && e.Kind == KindOutOfLimit:
		s = fmt.Sprintf("%s's %s recorded %s outside its limits (%s), accepted by override: %s",
			who, what, valuesText(e.Evidence, false), reasonCodes(e.Reasons), e.OverrideReason)
	case e.OverrideReason != "":
		s = fmt.Sprintf("%s's %s proceeded past %s by override: %s", who, what, reasonCodes(e.Reasons), e.OverrideReason)
	case e.Kind == KindManualEntry:
		s = fmt.Sprintf("%s's %s recorded %s entered by hand", who, what, valuesText(e.Evidence, true))
	case e.Exception != nil:
		x := e.Exception
		s = fmt.Sprintf("%s %s opened by %s: %s", x.Kind, x.ID, who, x.Summary)
	default:
		s = fmt.Sprintf("%s record v%d by %s", e.Record.Type, e.Record.Version, who)
	}
	if x := e.Exception; x != nil {
		if x.Disposition != nil {
			s += "; disposition " + x.Disposition.Decision
		}
		if x.Closed {
			s += "; closed"
		} else {
			s += "; still open"
		}
	}
	return s
}

// valuesText lists the measured values of evs (only the manual ones when
// manual is set), such as "net-weight 12.70 kg".
func valuesText(evs []Evidence, manual bool) string {
	var parts []string
	for _, e := range evs {
		if manual && e.Source != string(gate.SourceManual) {
			continue
		}
		switch {
		case e.Value != "":
			parts = append(parts, e.Name+" "+e.Value+" "+e.Unit)
		case manual:
			parts = append(parts, e.Name+" "+e.Identity)
		}
	}
	if len(parts) == 0 {
		return "values"
	}
	return strings.Join(parts, ", ")
}
