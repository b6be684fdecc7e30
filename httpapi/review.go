package httpapi

import (
	"bytes"
	"net/http"

	"github.com/interlock-mes/interlock/mes"
	"github.com/interlock-mes/interlock/review"
	"github.com/interlock-mes/interlock/signature"
	"github.com/interlock-mes/interlock/storage"
)

// review sends the batch record reviewed by exception, as review.WriteJSON
// writes it: the same records always give the same bytes.
func (h *Handler) review(w http.ResponseWriter, r *http.Request, _ string) *problem {
	rep, err := review.Build(r.Context(), h.store, r.PathValue("batch"), h.cfg.Review)
	if err != nil {
		return h.answer(r, err)
	}
	var buf bytes.Buffer
	if err := review.WriteJSON(&buf, rep); err != nil {
		return h.internal(r, err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	w.Write(buf.Bytes())
	return nil
}

// auditReviewBody asks to sign off a review of part of the audit trail.
type auditReviewBody struct {
	Query   review.Query `json:"query"`
	Comment string       `json:"comment"`
	Sign    reviewSign   `json:"sign"`
}

// reviewSign is the reviewer's re-authentication; the meaning is always
// "reviewed".
type reviewSign struct {
	User    string `json:"user"`
	Secret  string `json:"secret"`
	Session string `json:"session"`
	Reason  string `json:"reason"`
}

// signedReviewBody is a recorded audit review.
type signedReviewBody struct {
	Review  string       `json:"review"`
	Query   review.Query `json:"query"`
	Records int          `json:"records"`
	Digest  string       `json:"csv_sha256"`
	Outcome *outcomeBody `json:"outcome"`
}

// auditReview signs off a review of the audit trail through the engine
// (review.SignAuditReview), with the audit review model of Config.Models.
func (h *Handler) auditReview(w http.ResponseWriter, r *http.Request, actor string) *problem {
	key, p := idempotencyKey(r)
	if p != nil {
		return p
	}
	m, found := h.cfg.Models.Latest(review.AuditModelName)
	if !found {
		return newProblem(http.StatusNotFound, TypeNotFound,
			"this service records no audit reviews: Config.Models has no "+review.AuditModelName+" model")
	}
	var b auditReviewBody
	if p := h.decode(w, r, &b); p != nil {
		return p
	}
	if p := queryProblem(b.Query.Validate(), true); p != nil {
		p.Field = "query." + p.Field
		return p
	}
	if len(review.AuditStream(key)) > storage.MaxIDBytes {
		return invalid(headerKey, "the Idempotency-Key is too long to name a review's stream")
	}
	// An empty trail has nothing to review; the review package says so
	// with an error that is not the client's to tell from a failure.
	if recs, err := h.store.ReadAll(r.Context(), 0, 1); err != nil {
		return h.answer(r, err)
	} else if len(recs) == 0 {
		return newProblem(http.StatusNotFound, TypeNotFound, "the audit trail is empty; there is nothing to review")
	}
	s := b.Sign
	sr, err := review.SignAuditReview(r.Context(), h.engine, h.store, review.AuditReview{ID: key, Model: m, Actor: actor,
		Query: b.Query, Comment: b.Comment, Sign: mes.Sign{Reason: s.Reason, Challenge: signature.Challenge{
			UserID: s.User, Secret: signature.NewSecret(s.Secret), Session: signature.SessionID(s.Session)}}})
	if err != nil {
		p := h.answer(r, err)
		if p.Type == TypeDenied && sr != nil && sr.Outcome != nil {
			p.Records = records(sr.Outcome.Records)
		}
		return p
	}
	return ok(w, &signedReviewBody{Review: review.AuditStream(key), Query: sr.Trail.Query, Records: len(sr.Trail.Records),
		Digest: sr.Digest, Outcome: outcome(sr.Outcome)})
}
