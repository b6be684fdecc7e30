package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"unicode"

	"github.com/interlock-mes/interlock"
	"github.com/interlock-mes/interlock/gate"
	"github.com/interlock-mes/interlock/mes"
	"github.com/interlock-mes/interlock/review"
	"github.com/interlock-mes/interlock/storage"
)

// The problem types (Problem.Type). Each names one way a request can
// fail, with its status in the package documentation; a client compares
// them as strings.
const (
	TypeInvalid         = "tag:interlock-mes.github.io,2026:problem:invalid"
	TypeUnauthenticated = "tag:interlock-mes.github.io,2026:problem:unauthenticated"
	TypeForbidden       = "tag:interlock-mes.github.io,2026:problem:forbidden"
	TypeNotFound        = "tag:interlock-mes.github.io,2026:problem:not-found"
	TypeMethod          = "tag:interlock-mes.github.io,2026:problem:method-not-allowed"
	TypeConflict        = "tag:interlock-mes.github.io,2026:problem:conflict"
	TypeCommandReused   = "tag:interlock-mes.github.io,2026:problem:command-reused"
	TypeModelVersion    = "tag:interlock-mes.github.io,2026:problem:model-version"
	TypeUnproven        = "tag:interlock-mes.github.io,2026:problem:unproven"
	TypeTooLarge        = "tag:interlock-mes.github.io,2026:problem:too-large"
	TypeMediaType       = "tag:interlock-mes.github.io,2026:problem:media-type"
	TypeDenied          = "tag:interlock-mes.github.io,2026:problem:denied"
	TypeInternal        = "tag:interlock-mes.github.io,2026:problem:internal"
	TypeOutcomeUnknown  = "tag:interlock-mes.github.io,2026:problem:outcome-unknown"
	TypeUnavailable     = "tag:interlock-mes.github.io,2026:problem:unavailable"
)

// Problem is the body of every error response, an RFC 9457 problem
// detail served as application/problem+json. Type, Title and Status are
// always set; the members after Detail are set where they apply.
type Problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail,omitempty"`
	// Field names the part of the request at fault: a member of the body
	// ("evidence[1].value"), a query parameter ("at"), a path parameter
	// ("subject") or a header ("Idempotency-Key").
	Field string `json:"field,omitempty"`
	// Subject, Command and State say what a denied command asked, and of
	// which subject in which state.
	Subject string `json:"subject,omitempty"`
	Command string `json:"command,omitempty"`
	State   string `json:"state,omitempty"`
	// Reasons are every gate that failed, for a denied command.
	Reasons []Reason `json:"reasons,omitempty"`
	// Records are the records that hold a denial: the denied attempt is
	// on the record, and this is where.
	Records []Record `json:"records,omitempty"`
}

// Reason is one failed gate of a denied command (gate.Reason).
type Reason struct {
	Gate    string `json:"gate"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

func reasons(rs []gate.Reason) []Reason {
	out := make([]Reason, len(rs))
	for i, r := range rs {
		out[i] = Reason{Gate: r.Gate, Code: string(r.Code), Message: r.Message}
	}
	return out
}

// problem is a Problem and the headers that go with it.
type problem struct {
	Problem
	retryAfter bool
	allow      string
	accept     string
}

func newProblem(status int, typ, detail string) *problem {
	return &problem{Problem: Problem{Type: typ, Title: titles[typ], Status: status, Detail: detail}}
}

func invalid(field, format string, args ...any) *problem {
	p := newProblem(http.StatusBadRequest, TypeInvalid, fmt.Sprintf(format, args...))
	p.Field = field
	return p
}

var titles = map[string]string{
	TypeInvalid:         "Invalid request",
	TypeUnauthenticated: "Not authenticated",
	TypeForbidden:       "Not authorised",
	TypeNotFound:        "Not found",
	TypeMethod:          "Method not allowed",
	TypeConflict:        "Conflict with concurrent changes",
	TypeCommandReused:   "Idempotency key used for another command",
	TypeModelVersion:    "Subject runs another version of the model",
	TypeUnproven:        "Subject's record does not prove its state",
	TypeTooLarge:        "Body too large",
	TypeMediaType:       "Unsupported media type",
	TypeDenied:          "Command denied",
	TypeInternal:        "Internal error",
	TypeOutcomeUnknown:  "Outcome unknown; retry with the same Idempotency-Key",
	TypeUnavailable:     "Service unavailable",
}

// fromError maps an error of the engine, a store or a reader to the
// problem a client sees. internal is true for a failure nothing in the
// request can fix; its text is logged, not shown.
func fromError(err error) (p *problem, internal bool) {
	var (
		denied  *mes.DeniedError
		reused  *mes.CommandReusedError
		version *mes.ModelVersionError
		unprov  *mes.UnprovenError
		reqErr  *mes.RequestError
		valErr  *storage.ValidationError
	)
	switch {
	case errors.As(err, &denied):
		p = newProblem(http.StatusUnprocessableEntity, TypeDenied, denied.Error())
		p.Subject, p.Command, p.State = denied.Subject, string(denied.Command), string(denied.State)
		p.Reasons = reasons(denied.Reasons)
	case errors.As(err, &reused):
		p = newProblem(http.StatusConflict, TypeCommandReused, reused.Error())
		p.Field = headerKey
	case errors.Is(err, storage.ErrIdempotencyKeyReused):
		// The engine finds a reused id among the subject's own records;
		// the store finds one used on another subject.
		p = newProblem(http.StatusConflict, TypeCommandReused, "the Idempotency-Key was used for a command on another subject")
		p.Field = headerKey
	case errors.As(err, &version):
		p = newProblem(http.StatusConflict, TypeModelVersion, version.Error())
		p.Field = "version"
	case errors.As(err, &unprov):
		p = newProblem(http.StatusConflict, TypeUnproven, unprov.Error())
	case errors.Is(err, storage.ErrOutcomeUnknown):
		p = newProblem(http.StatusServiceUnavailable, TypeOutcomeUnknown,
			"the command may or may not have been recorded; send the same request with the same Idempotency-Key")
		p.retryAfter = true
	case errors.Is(err, storage.ErrConflict):
		p = newProblem(http.StatusConflict, TypeConflict, "the facts the gates read kept changing; send the command again")
	case errors.Is(err, storage.ErrClockBehind):
		p = newProblem(http.StatusServiceUnavailable, TypeUnavailable, "the store's clock is behind the record; nothing was recorded")
		p.retryAfter = true
	case errors.As(err, &reqErr):
		p = invalid(jsonField(reqErr.Field), "%s", reqErr.Reason)
	case errors.As(err, &valErr):
		// The store names the part of its own append at fault, which is
		// not a part of the request the client sent.
		p = invalid("", "%s", valErr.Error())
	case errors.Is(err, mes.ErrNoRecordsYet), errors.Is(err, review.ErrNoRecords), errors.Is(err, storage.ErrNotFound):
		p = newProblem(http.StatusNotFound, TypeNotFound, err.Error())
	case errors.Is(err, interlock.ErrInvalid):
		p = invalid("", "%s", err.Error())
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		p = newProblem(http.StatusServiceUnavailable, TypeUnavailable, "the request ended before it was answered")
		p.retryAfter = true
	default:
		return newProblem(http.StatusInternalServerError, TypeInternal, "the service failed; the failure is logged"), true
	}
	return p, false
}

// jsonField turns the engine's name of a request field ("Consume[0].Quantity",
// "ID") into the body's ("consume[0].quantity") or the header's.
func jsonField(f string) string {
	if f == "ID" {
		return headerKey
	}
	var b strings.Builder
	for i, r := range f {
		if unicode.IsUpper(r) {
			prev := rune(0)
			if i > 0 {
				prev = rune(f[i-1])
			}
			if i > 0 && unicode.IsLower(prev) {
				b.WriteByte('_')
			}
			b.WriteRune(unicode.ToLower(r))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// writeProblem sends p.
func writeProblem(w http.ResponseWriter, p *problem, retryAfter int) {
	h := w.Header()
	if p.retryAfter {
		h.Set("Retry-After", strconv.Itoa(retryAfter))
	}
	if p.allow != "" {
		h.Set("Allow", p.allow)
	}
	if p.accept != "" {
		h.Set("Accept", p.accept)
	}
	writeJSON(w, p.Status, "application/problem+json", &p.Problem)
}

// writeJSON sends v as the body of a response with status.
func writeJSON(w http.ResponseWriter, status int, contentType string, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		// Every body is one of this package's types, which always encode.
		status, b = http.StatusInternalServerError, []byte(`{"type":"`+TypeInternal+`","title":"Internal error","status":500}`)
		contentType = "application/problem+json"
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}
