package review

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/event"
	"github.com/interlock-mes/interlock/mes"
)

// The audit review model: each review is a stream of its own
// (AuditStream), moved from pending to reviewed by one signed transition
// whose data records the query and the digest of the exported CSV.
const (
	AuditModelName              = "audit-review"
	AuditModelVersion           = 1
	AuditPending      mes.State = "pending"
	AuditReviewed     mes.State = "reviewed"
	// CmdReview is the command that records a review.
	CmdReview mes.Command = "review"
	// MeaningReviewed is the meaning of the reviewer's signature.
	MeaningReviewed mes.Meaning = "reviewed"
)

// AuditStream is the stream of the audit review id.
func AuditStream(id string) string { return "audit-review/" + id }

// AuditModel returns the audit review model: pending --review-->
// reviewed, recording event.AuditReviewed and requiring one signature
// meaning "reviewed" by a person holding one of roles (any person when
// roles is empty). It returns an error for an empty role.
func AuditModel(roles ...string) (*mes.Model, error) {
	if slices.Contains(roles, "") {
		return nil, errors.New("review: AuditModel: a role is empty")
	}
	return mes.NewModel(AuditModelName, AuditModelVersion).
		States(AuditPending, AuditReviewed).
		Initial(AuditPending).Final(AuditReviewed).
		Permit(AuditPending, CmdReview, AuditReviewed, mes.Recording(event.AuditReviewed),
			mes.WithSignatures(mes.SignatureRequirement{Meaning: MeaningReviewed, Count: 1, Roles: slices.Clone(roles)})).
		Build()
}

// AuditReview asks to record a signed review of part of the audit trail.
type AuditReview struct {
	// ID names the review: it is the command's ID and the review's stream
	// is AuditStream(ID). Submitted again, it has one effect. Required.
	ID    string
	Model *mes.Model // from AuditModel; required
	Actor string     // the reviewer; required
	// Query selects what was reviewed. Leave Through 0 to review the trail
	// as it stands; the recorded query has it set.
	Query Query
	// Comment is recorded with the review; optional.
	Comment string
	// Sign is the reviewer's e-signature; its Meaning is set to
	// MeaningReviewed.
	Sign mes.Sign
}

// reviewData is the data of the review's record.
type reviewData struct {
	Query     Query  `json:"query"`
	Records   int    `json:"records"`
	CSVSHA256 string `json:"csv_sha256"`
	Comment   string `json:"comment,omitempty"`
}

// SignedReview is a recorded audit review: the trail it covers, the CSV
// export whose digest the record holds, and the engine's outcome.
type SignedReview struct {
	Trail   *Trail
	CSV     []byte
	Digest  string // lower-case hex SHA-256 of CSV
	Outcome *mes.Outcome
}

// SignAuditReview runs r.Query on src, exports the trail as CSV and
// records the review through e.Execute: the model's review transition on
// AuditStream(r.ID), whose data is {"query", "records", "csv_sha256",
// "comment"}, signed by the reviewer with the meaning "reviewed". The
// engine re-authenticates the signer and records the signature after the
// review, bound to its exact payload.
//
// A review submitted again with the same ID returns the recorded review,
// its trail read again with the recorded query. A review the engine denies
// (no or a failed signature, a signer without a role of the model) returns
// the SignedReview with the Outcome and the *mes.DeniedError (errors.Is
// mes.ErrDenied); the denied attempt is on the record. A malformed request
// or query returns an error and records nothing.
func SignAuditReview(ctx context.Context, e *mes.Engine, src Reader, r AuditReview) (*SignedReview, error) {
	switch {
	case e == nil:
		return nil, errors.New("review: SignAuditReview: engine is nil")
	case src == nil:
		return nil, errors.New("review: SignAuditReview: reader is nil")
	case r.ID == "":
		return nil, errors.New("review: SignAuditReview: the review has no ID")
	case r.Model == nil:
		return nil, errors.New("review: SignAuditReview: no model (use AuditModel)")
	case r.Model.Name() != AuditModelName:
		return nil, fmt.Errorf("review: SignAuditReview: model %q is not the audit review model %q", r.Model.Name(), AuditModelName)
	case r.Actor == "":
		return nil, errors.New("review: SignAuditReview: the review has no actor")
	}
	trail, err := Find(ctx, src, r.Query)
	if err != nil {
		return nil, err
	}
	if trail.Query.Through == 0 {
		return nil, errors.New("review: SignAuditReview: the audit trail is empty; there is nothing to review")
	}
	data, digest, err := trail.CSV()
	if err != nil {
		return nil, err
	}
	payload, err := json.Marshal(reviewData{Query: trail.Query, Records: len(trail.Records), CSVSHA256: digest, Comment: r.Comment})
	if err != nil {
		return nil, fmt.Errorf("review: encode review: %w", err)
	}
	// A retry resubmits the data first recorded, which the trail, grown
	// since, would no longer give; the replay is checked below.
	if recs, err := e.Records(ctx, AuditStream(r.ID)); err != nil {
		return nil, fmt.Errorf("review: read review %s: %w", r.ID, err)
	} else if t := mes.RecordedTransition(recs, r.ID); t != nil {
		payload = t.Data
	}
	sign := r.Sign
	sign.Meaning = MeaningReviewed
	out, err := e.Execute(ctx, mes.Request{ID: r.ID, Model: r.Model, Subject: AuditStream(r.ID), Command: CmdReview,
		Actor: r.Actor, Data: payload, Signatures: []mes.Sign{sign}})
	if err != nil {
		if out == nil {
			return nil, fmt.Errorf("review: record review %s: %w", r.ID, err)
		}
		return &SignedReview{Trail: trail, CSV: data, Digest: digest, Outcome: out}, err
	}
	if out.Replayed && len(out.Records) > 0 {
		// The recorded review stands; read its trail as it recorded it.
		t, err := CheckAuditReview(ctx, src, out.Records[0])
		if err != nil {
			return nil, err
		}
		again, d, err := t.CSV()
		if err != nil {
			return nil, err
		}
		return &SignedReview{Trail: t, CSV: again, Digest: d, Outcome: out}, nil
	}
	return &SignedReview{Trail: trail, CSV: data, Digest: digest, Outcome: out}, nil
}

// ErrDigestMismatch is matched (errors.Is) by every *DigestMismatchError.
var ErrDigestMismatch = errors.New("review: the trail no longer matches its review")

// DigestMismatchError says that a review's query, run again, exports a
// CSV whose digest differs from the one the review recorded: records it
// covered were changed, removed or added.
type DigestMismatchError struct {
	Review   EventRef // the review's record
	Recorded string   // the digest the review holds
	Found    string   // the digest of the trail now
	Records  int      // how many records the review covered, and Now how many the query selects now
	Now      int
}

func (e *DigestMismatchError) Error() string {
	return fmt.Sprintf("review: %s v%d recorded csv sha256 %s over %d records; the trail now gives %s over %d",
		e.Review.Stream, e.Review.Version, e.Recorded, e.Records, e.Found, e.Now)
}

// Unwrap makes errors.Is(err, ErrDigestMismatch) true.
func (e *DigestMismatchError) Unwrap() error { return ErrDigestMismatch }

// CheckAuditReview runs the query a review record holds again and checks
// the digest of the CSV it exports against the recorded one. It returns the
// trail, and a *DigestMismatchError when they differ, or an error when rec
// is not an audit review record.
func CheckAuditReview(ctx context.Context, src Reader, rec audit.Record) (*Trail, error) {
	var p struct {
		Model string     `json:"model"`
		Data  reviewData `json:"data"`
	}
	if rec.Type != event.AuditReviewed {
		return nil, fmt.Errorf("review: %s v%d is a %s record, not %s", rec.Stream, rec.Version, rec.Type, event.AuditReviewed)
	}
	if err := json.Unmarshal(rec.Payload, &p); err != nil || p.Model != AuditModelName || p.Data.CSVSHA256 == "" {
		return nil, fmt.Errorf("review: %s v%d is not a review recorded by model %q", rec.Stream, rec.Version, AuditModelName)
	}
	if p.Data.Query.Through == 0 {
		return nil, fmt.Errorf("review: %s v%d records a query without a bound (through)", rec.Stream, rec.Version)
	}
	t, err := Find(ctx, src, p.Data.Query)
	if err != nil {
		return nil, err
	}
	_, digest, err := t.CSV()
	if err != nil {
		return nil, err
	}
	if digest != p.Data.CSVSHA256 {
		return t, &DigestMismatchError{Review: refOf(&rec), Recorded: p.Data.CSVSHA256, Found: digest, Records: p.Data.Records, Now: len(t.Records)}
	}
	return t, nil
}
