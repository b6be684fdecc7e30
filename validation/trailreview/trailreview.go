// Package trailreview makes the review of the audit trail periodic, as EU
// GMP Annex 11 §9 asks: the trail is cut into consecutive periods of a
// fixed length from a start, each period is reviewed once, signed off
// through the engine (review.SignAuditReview, meaning "reviewed"), and
// Status says which periods are reviewed, which are due, and which were
// reviewed but whose records have changed since.
//
// A period's review has an ID derived from the period and the reviewer
// (ReviewID), so a review submitted twice is recorded once, and a review
// the engine denied (a reviewer without the role) does not stand in the
// way of another person's. Periods are half-open, [Since, Until), so
// consecutive reviews cover the trail without a gap or an overlap.
package trailreview

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/event"
	"github.com/interlock-mes/interlock/mes"
	"github.com/interlock-mes/interlock/review"
)

// Schedule is the review period: Every long, from Start on.
type Schedule struct {
	Start time.Time
	Every time.Duration
	// Subjects and Types narrow what each review covers, as in
	// review.Query; empty covers the whole trail.
	Subjects, Types []string
}

func (s Schedule) validate() error {
	switch {
	case s.Start.IsZero():
		return errors.New("trailreview: Schedule.Start is zero")
	case s.Every <= 0:
		return fmt.Errorf("trailreview: Schedule.Every: %v is not positive", s.Every)
	}
	return nil
}

// Period is one review period, [Since, Until).
type Period struct {
	Since, Until time.Time
}

// ID is the period's review ID: its bounds in UTC.
func (p Period) ID() string {
	const f = "20060102T150405Z"
	return "trail-" + p.Since.UTC().Format(f) + "-" + p.Until.UTC().Format(f)
}

// Periods returns the periods of s that have ended by now, oldest first.
// It returns an error for a Schedule that is not valid.
func Periods(s Schedule, now time.Time) ([]Period, error) {
	if err := s.validate(); err != nil {
		return nil, err
	}
	var out []Period
	for since := s.Start; !since.Add(s.Every).After(now); since = since.Add(s.Every) {
		out = append(out, Period{Since: since, Until: since.Add(s.Every)})
	}
	return out, nil
}

// ReviewID is the ID of actor's review of p; its stream is
// review.AuditStream(ReviewID(p, actor)).
func ReviewID(p Period, actor string) string { return p.ID() + "-by-" + actor }

// Review records the signed review of period p through e: the records of
// p that s selects, exported as CSV and signed by actor with sign (its
// Meaning is set to "reviewed"). model comes from review.AuditModel. It
// returns what review.SignAuditReview returns; a denied review is on the
// record and is an error matching mes.ErrDenied.
func Review(ctx context.Context, e *mes.Engine, src review.Reader, model *mes.Model, s Schedule, p Period, actor string, sign mes.Sign, comment string) (*review.SignedReview, error) {
	if err := s.validate(); err != nil {
		return nil, err
	}
	return review.SignAuditReview(ctx, e, src, review.AuditReview{
		ID: ReviewID(p, actor), Model: model, Actor: actor, Comment: comment, Sign: sign,
		Query: review.Query{Since: p.Since, Until: p.Until, Subjects: s.Subjects, Types: s.Types},
	})
}

// State is where a period's review stands.
type State string

// The states of a period's review.
const (
	Reviewed State = "reviewed" // signed off, and its records are as reviewed
	Due      State = "due"      // ended, not reviewed
	Changed  State = "changed"  // signed off, but its records changed since
)

// LateRecordsError says that records dated into a reviewed period were
// written after its review: back-dated, since the engine stamps its own
// time.
type LateRecordsError struct {
	Period Period
	Review string // the review's stream
	Late   int    // records the review did not see
}

// Error names the period, the review and how many records came late.
func (e *LateRecordsError) Error() string {
	return fmt.Sprintf("trailreview: %d record(s) dated into %s were written after its review %s", e.Late, e.Period.ID(), e.Review)
}

// PeriodStatus is one period and its review.
type PeriodStatus struct {
	Period
	State    State
	Reviewer string    // who signed the review, when reviewed
	At       time.Time // when the review was recorded
	Err      error     // for Changed: a *review.DigestMismatchError or *LateRecordsError
}

// Status returns every period of s that ended by now, with its review's
// state: it reads the whole trail once for review records. A period
// whose review, read again, exports another CSV than the one signed, or
// that holds records written after its review, is Changed, even when
// another review of it stands. It returns an error for
// a Schedule that is not valid or a read that fails.
func Status(ctx context.Context, src review.Reader, s Schedule, now time.Time) ([]PeriodStatus, error) {
	ps, err := Periods(s, now)
	if err != nil {
		return nil, err
	}
	reviews := map[string][]audit.Record{} // by period ID
	const page = 1000
	for after := int64(0); ; {
		recs, err := src.ReadAll(ctx, after, page)
		if err != nil {
			return nil, fmt.Errorf("trailreview: read the trail: %w", err)
		}
		for _, r := range recs {
			if r.Type != event.AuditReviewed {
				continue
			}
			id, ok := strings.CutPrefix(r.Stream, review.AuditStream(""))
			if pid, _, found := strings.Cut(id, "-by-"); ok && found {
				reviews[pid] = append(reviews[pid], r)
			}
		}
		if len(recs) < page {
			break
		}
		after = recs[len(recs)-1].Position
	}
	out := make([]PeriodStatus, 0, len(ps))
	for _, p := range ps {
		st := PeriodStatus{Period: p, State: Due}
		for _, r := range reviews[p.ID()] {
			if st.State == Changed {
				break
			}
			st.State, st.Reviewer, st.At = Reviewed, r.Actor, r.Time
			reviewed, err := review.CheckAuditReview(ctx, src, r)
			if err != nil {
				st.State, st.Err = Changed, err
				continue
			}
			// The review's query stops at the position the trail had
			// reached; a record dated into the period but written after
			// the review lies beyond it, so the period is read again to
			// its end.
			all, err := review.Find(ctx, src, review.Query{Since: p.Since, Until: p.Until, Subjects: s.Subjects, Types: s.Types})
			if err != nil {
				return nil, fmt.Errorf("trailreview: %s: %w", p.ID(), err)
			}
			if late := len(all.Records) - len(reviewed.Records); late > 0 {
				st.State, st.Err = Changed, &LateRecordsError{Period: p, Review: r.Stream, Late: late}
			}
		}
		out = append(out, st)
	}
	return out, nil
}
