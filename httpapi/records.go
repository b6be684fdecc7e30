package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/review"
	"github.com/interlock-mes/interlock/storage"
)

// DefaultPageSize is how many records a page of the audit trail holds
// when the query names no limit; MaxPageSize is the most it may name.
const (
	DefaultPageSize = 100
	MaxPageSize     = 1000
)

// auditRecord is one record of the audit trail as it stands: everything
// its hash covers, and the hashes that chain it.
type auditRecord struct {
	Stream   string          `json:"stream"`
	Version  int64           `json:"version"`
	Position int64           `json:"position"`
	Type     string          `json:"type"`
	Actor    string          `json:"actor"`
	Time     time.Time       `json:"time"`
	Payload  json.RawMessage `json:"payload"`
	Evidence json.RawMessage `json:"evidence"`
	Links    []audit.Link    `json:"links"`
	PrevHash audit.Hash      `json:"prev_hash"`
	Hash     audit.Hash      `json:"hash"`
}

func auditRecords(rs []audit.Record) []auditRecord {
	out := make([]auditRecord, len(rs))
	for i, r := range rs {
		out[i] = auditRecord{Stream: r.Stream, Version: r.Version, Position: r.Position, Type: r.Type, Actor: r.Actor,
			Time: r.Time, Payload: rawOrNull(r.Payload), Evidence: rawOrNull(r.Evidence), Links: nonNil(r.Links),
			PrevHash: r.PrevHash, Hash: r.Hash}
	}
	return out
}

func rawOrNull(b json.RawMessage) json.RawMessage {
	if len(b) == 0 {
		return json.RawMessage("null")
	}
	return b
}

// intParam reads the optional integer query parameter name, from min to
// max, def when absent.
func intParam(q url.Values, name string, min, max, def int64) (int64, *problem) {
	s := q.Get(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < min || n > max {
		return 0, invalid(name, "%s must be an integer from %d to %d, not %q", name, min, max, s)
	}
	return n, nil
}

// page reads the paging parameters of a records route: from (or after)
// and limit.
func page(q url.Values, start string, min int64) (int64, int, *problem) {
	from, p := intParam(q, start, min, 1<<62, min)
	if p != nil {
		return 0, 0, p
	}
	limit, p := intParam(q, "limit", 1, MaxPageSize, DefaultPageSize)
	if p != nil {
		return 0, 0, p
	}
	return from, int(limit), nil
}

// subjectRecordsBody is a page of a stream's records.
type subjectRecordsBody struct {
	Subject string        `json:"subject"`
	Records []auditRecord `json:"records"`
	// Next is the version the next page starts from; absent on the last.
	Next int64 `json:"next,omitempty"`
}

// subjectRecords sends a page of a subject's records, from a version on.
func (h *Handler) subjectRecords(w http.ResponseWriter, r *http.Request, _ string) *problem {
	from, limit, p := page(r.URL.Query(), "from", 1)
	if p != nil {
		return p
	}
	subject := r.PathValue("subject")
	// One more than the page, to know whether another follows; the rest
	// of the stream is not read.
	recs, err := storage.LoadPage(r.Context(), h.store, subject, from, limit+1)
	if err != nil {
		return h.answer(r, err)
	}
	if len(recs) == 0 && from == 1 {
		p := newProblem(http.StatusNotFound, TypeNotFound, fmt.Sprintf("no record names %q", subject))
		p.Field = "subject"
		return p
	}
	out := &subjectRecordsBody{Subject: subject}
	if len(recs) > limit {
		recs = recs[:limit]
		out.Next = recs[limit-1].Version + 1
	}
	out.Records = auditRecords(recs)
	return ok(w, out)
}

// recordsBody is a page of the whole record in global order.
type recordsBody struct {
	Records []auditRecord `json:"records"`
	// Next is the position to ask after for the next page; absent on the
	// last.
	Next int64 `json:"next,omitempty"`
}

// records sends a page of the whole record: the records with a position
// after after and, when through is given, not above through.
func (h *Handler) records(w http.ResponseWriter, r *http.Request, _ string) *problem {
	q := r.URL.Query()
	after, limit, p := page(q, "after", 0)
	if p != nil {
		return p
	}
	through, p := intParam(q, "through", 1, 1<<62, 0)
	if p != nil {
		return p
	}
	if through != 0 && through <= after {
		return invalid("through", "through (%d) must be above after (%d)", through, after)
	}
	// One more than the page says whether there is another.
	recs, err := h.store.ReadAll(r.Context(), after, limit+1)
	if err != nil {
		return h.answer(r, err)
	}
	out := &recordsBody{}
	for i, rec := range recs {
		if through != 0 && rec.Position > through {
			recs = recs[:i]
			break
		}
	}
	if len(recs) > limit {
		recs = recs[:limit]
		out.Next = recs[limit-1].Position
	}
	out.Records = auditRecords(recs)
	return ok(w, out)
}

// trailQuery is a review.Query as the query of GET /audit/trail gives it.
func trailQuery(q url.Values) (review.Query, *problem) {
	rq := review.Query{Actors: q["actor"], Subjects: q["subject"], Types: q["type"]}
	var p *problem
	if s := q.Get("since"); s != "" {
		if rq.Since, p = parseTime("since", s); p != nil {
			return rq, p
		}
	}
	if s := q.Get("until"); s != "" {
		if rq.Until, p = parseTime("until", s); p != nil {
			return rq, p
		}
	}
	if rq.Through, p = intParam(q, "through", 1, 1<<62, 0); p != nil {
		return rq, p
	}
	if p := queryProblem(rq.Validate(), false); p != nil {
		return rq, p
	}
	return rq, nil
}

// queryProblem names the first part of a query that err finds wrong, as
// the query string names it (inBody false: "subject", once per value) or
// as a body's AuditQuery does (inBody true: "subjects[1]").
func queryProblem(err error, inBody bool) *problem {
	var qe *review.QueryError
	if !errors.As(err, &qe) {
		return nil
	}
	field := qe.Field
	if !inBody {
		for _, f := range []string{"actors", "subjects", "types"} {
			if field == f || strings.HasPrefix(field, f+"[") {
				field = strings.TrimSuffix(f, "s")
			}
		}
	}
	return invalid(field, "%s", qe.Problem)
}

// trailBody is an audit trail query's answer.
type trailBody struct {
	Query   review.Query  `json:"query"`
	Records []auditRecord `json:"records"`
}

// auditTrail runs review.Find and sends the trail as JSON, or as the CSV
// review.WriteCSV writes (format=csv, or Accept: text/csv).
func (h *Handler) auditTrail(w http.ResponseWriter, r *http.Request, _ string) *problem {
	format, p := negotiate(r, []string{"json", "csv"})
	if p != nil {
		return p
	}
	rq, p := trailQuery(r.URL.Query())
	if p != nil {
		return p
	}
	t, err := review.Find(r.Context(), h.store, rq)
	if err != nil {
		if p := queryProblem(err, false); p != nil {
			return p
		}
		return h.answer(r, err)
	}
	if format == "csv" {
		data, _, err := t.CSV()
		if err != nil {
			return h.internal(r, err)
		}
		download(w, "text/csv; charset=utf-8", "audit-trail.csv", data)
		return nil
	}
	return ok(w, &trailBody{Query: t.Query, Records: auditRecords(t.Records)})
}

// download sends data as a file to save.
func download(w http.ResponseWriter, contentType, name string, data []byte) {
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	w.Write(data)
}
