package correction

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/interlock-mes/interlock/mes"

	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/event"
	"github.com/interlock-mes/interlock/gate"
	"github.com/interlock-mes/interlock/internal/canonjson"
)

// Entry is one correction as the record shows it, with what
// review by exception needs: the original value, the value before and
// after, who corrected, approved and reviewed it, and why.
type Entry struct {
	Version   int64 // of the event.ValueCorrected record
	CommandID string
	Step      string // Step(CommandID)
	Actor     string // the corrector
	Time      time.Time
	// Corrects is the version of the record that first recorded the value,
	// and Supersedes that of the correction this one replaced (0 for the
	// first correction of the value).
	Corrects   int64
	Supersedes int64
	Name       string
	Source     ValueSource
	Original   RecordedValue // as the original record holds it
	Old, New   RecordedValue
	Reason     string
	Approvers  []string // signers of the approvals ("approved"), in record order
	// Review is the version of the correction's review record; 0 while it
	// is not reviewed. Reviewers are the signers of that review.
	Review    int64
	Reviewers []string
}

// Reviewed reports whether the correction has been reviewed.
func (c *Entry) Reviewed() bool { return c.Review != 0 }

// CurrentValue is one value recorded by a transition of a subject, with its
// corrections applied: the latest correction wins, and the original and
// every correction stay listed.
type CurrentValue struct {
	Record   int64  // the version of the record that recorded it
	Type     string // that record's type
	Actor    string // who recorded it
	Step     string // the step it was recorded in; empty for the subject's own model
	Source   ValueSource
	Name     string
	Original RecordedValue
	Current  RecordedValue
	// Corrections lists the value's corrections, oldest first.
	Corrections []Entry
}

// List returns every correction of the subject whose records, from
// version 1, are recs, oldest first. It returns an error when a correction
// or its original cannot be decoded.
func List(recs []audit.Record) ([]Entry, error) {
	var out []Entry
	index := map[int64]int{} // version of a correction → its place in out
	for i := range recs {
		r := &recs[i]
		switch r.Type {
		case event.ValueCorrected:
			var p event.Transition
			var d Data
			if err := decodeCorrection(r, &p, &d); err != nil {
				return nil, err
			}
			if p.Model != ModelName {
				continue
			}
			c, err := correctionEntry(recs, r, &p, &d)
			if err != nil {
				return nil, err
			}
			index[r.Version] = len(out)
			out = append(out, c)
		case event.CorrectionReviewed:
			var p event.Transition
			if err := json.Unmarshal(r.Payload, &p); err != nil {
				return nil, fmt.Errorf("correction: %s v%d: %w", r.Stream, r.Version, err)
			}
			var d ReviewData
			if err := json.Unmarshal(p.Data, &d); err != nil || p.Model != ModelName {
				return nil, fmt.Errorf("correction: %s v%d: not a review of a correction: %s", r.Stream, r.Version, r.Payload)
			}
			j, ok := index[d.Reviews]
			if !ok {
				return nil, fmt.Errorf("correction: %s v%d reviews v%d, which is no earlier correction", r.Stream, r.Version, d.Reviews)
			}
			if out[j].Review == 0 {
				out[j].Review = r.Version
			}
		case event.SignatureApplied:
			var s event.Signature
			if err := json.Unmarshal(r.Payload, &s); err != nil {
				return nil, fmt.Errorf("correction: %s v%d: %w", r.Stream, r.Version, err)
			}
			if s.Signature == nil {
				return nil, fmt.Errorf("correction: %s v%d: a signature record without a signature", r.Stream, r.Version)
			}
			who, meaning := s.Signature.Manifestation.SignerID, mes.Meaning(s.Signature.Manifestation.Meaning)
			if j, ok := index[s.Signs]; ok && meaning == correctionMeaningApproval {
				out[j].Approvers = append(out[j].Approvers, who)
			}
			for j := range out {
				if out[j].Review == s.Signs && meaning == correctionMeaningReview {
					out[j].Reviewers = append(out[j].Reviewers, who)
				}
			}
		}
	}
	return out, nil
}

// correctionEntry reads the correction recorded at r.
func correctionEntry(recs []audit.Record, r *audit.Record, p *event.Transition, d *Data) (Entry, error) {
	c := Entry{Version: r.Version, CommandID: p.CommandID, Step: p.Step, Actor: r.Actor, Time: r.Time,
		Corrects: d.Corrects, Supersedes: d.Supersedes, Name: d.Name, Source: d.Source, Reason: d.Reason}
	where := func(what string, err error) error {
		return fmt.Errorf("correction: %s v%d: %s: %w", r.Stream, r.Version, what, err)
	}
	if d.Corrects < 1 || d.Corrects >= r.Version {
		return c, where("corrects", fmt.Errorf("version %d is not an earlier record", d.Corrects))
	}
	var err error
	if c.Old, err = decodeValue(d.Source, d.Old); err != nil {
		return c, where("old value", err)
	}
	if c.New, err = decodeValue(d.Source, d.New); err != nil {
		return c, where("new value", err)
	}
	orig, ok, err := valueIn(&recs[d.Corrects-1], d.Name, d.Source)
	if err != nil {
		return c, err
	}
	if !ok {
		return c, where("original", fmt.Errorf("v%d holds no %s value %q", d.Corrects, d.Source, d.Name))
	}
	c.Original = orig
	return c, nil
}

// Unreviewed returns the corrections of the subject whose
// records are recs that have no review yet, oldest first: each blocks
// release until it is reviewed.
func Unreviewed(recs []audit.Record) ([]Entry, error) {
	all, err := List(recs)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(all, func(c Entry) bool { return c.Reviewed() }), nil
}

// CurrentValues returns every value the subject's allowed transitions
// recorded — measured evidence and top-level data members, in record
// order, evidence in the order given and data members by name — with its
// corrections applied. recs are the subject's records from version 1.
func CurrentValues(recs []audit.Record) ([]CurrentValue, error) {
	corrections, err := List(recs)
	if err != nil {
		return nil, err
	}
	var out []CurrentValue
	for i := range recs {
		r := &recs[i]
		if !correctable(recs, r) {
			continue
		}
		var p event.Transition
		if err := json.Unmarshal(r.Payload, &p); err != nil {
			return nil, fmt.Errorf("correction: %s v%d: %w", r.Stream, r.Version, err)
		}
		add := func(source ValueSource, name string, v RecordedValue) {
			cv := CurrentValue{Record: r.Version, Type: r.Type, Actor: r.Actor, Step: p.Step,
				Source: source, Name: name, Original: v, Current: v}
			for _, c := range corrections {
				if c.Corrects == r.Version && c.Name == name && c.Source == source {
					cv.Corrections = append(cv.Corrections, c)
					cv.Current = c.New
				}
			}
			out = append(out, cv)
		}
		if len(r.Evidence) > 0 {
			var evs []gate.Evidence
			if err := json.Unmarshal(r.Evidence, &evs); err != nil {
				return nil, fmt.Errorf("correction: %s v%d: evidence: %w", r.Stream, r.Version, err)
			}
			for _, ev := range evs {
				if ev.HasValue {
					add(SourceEvidence, ev.Name, Measured(ev.Value, ev.Unit))
				}
			}
		}
		if len(p.Data) > 0 {
			var members map[string]json.RawMessage
			if err := json.Unmarshal(p.Data, &members); err != nil {
				return nil, fmt.Errorf("correction: %s v%d: data: %w", r.Stream, r.Version, err)
			}
			names := make([]string, 0, len(members))
			for k := range members {
				names = append(names, k)
			}
			slices.Sort(names)
			for _, k := range names {
				v, err := canonjson.Canonicalize(members[k])
				if err != nil {
					return nil, fmt.Errorf("correction: %s v%d: data %q: %w", r.Stream, r.Version, k, err)
				}
				add(SourceData, k, JSONValue(v))
			}
		}
	}
	return out, nil
}
