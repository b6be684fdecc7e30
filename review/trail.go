package review

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/interlock-mes/interlock"

	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/storage"
)

// Query selects records of the audit trail. Every condition that is set
// must hold; an empty list or a zero time sets none, so the zero Query
// selects every record.
type Query struct {
	// Actors: the record's actor is one of them (the user who acted,
	// signed or failed to authenticate).
	Actors []string `json:"actors,omitempty"`
	// Subjects: the record's stream is one of them, such as "batch-B42";
	// an entry ending in "*" matches every stream that starts with what
	// precedes it, such as "exception/*" or "auth/*".
	Subjects []string `json:"subjects,omitempty"`
	// Types: the record's type is one of them, such as "attempt.denied".
	Types []string `json:"types,omitempty"`
	// Since and Until bound the record's system time: Since <= time <
	// Until.
	Since time.Time `json:"since,omitzero"`
	Until time.Time `json:"until,omitzero"`
	// Through is the highest global position the query reads; 0 reads to
	// the end. Find fills it in, so that the query it returns selects the
	// same records however many are appended later.
	Through int64 `json:"through,omitempty"`
}

// ErrInvalidQuery is matched (errors.Is) by every *QueryError.
var ErrInvalidQuery = interlock.NewInvalid("review: invalid query")

// QueryError names the part of a Query that is wrong.
type QueryError struct {
	Field   string // such as "subjects[1]"
	Problem string
}

func (e *QueryError) Error() string {
	return fmt.Sprintf("review: invalid query %s: %s", e.Field, e.Problem)
}

// Unwrap makes errors.Is(err, ErrInvalidQuery) true.
func (e *QueryError) Unwrap() error { return ErrInvalidQuery }

// Validate returns every problem of q, each a *QueryError: an empty
// actor, subject or type, a "*" anywhere but at the end of a subject,
// Since not before Until, or a negative Through.
func (q *Query) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, &QueryError{Field: field, Problem: fmt.Sprintf(format, args...)})
	}
	for _, l := range []struct {
		name string
		vals []string
	}{{"actors", q.Actors}, {"subjects", q.Subjects}, {"types", q.Types}} {
		for i, v := range l.vals {
			if v == "" {
				bad(fmt.Sprintf("%s[%d]", l.name, i), "is empty")
			}
		}
	}
	for i, s := range q.Subjects {
		if j := strings.IndexByte(s, '*'); j >= 0 && j != len(s)-1 {
			bad(fmt.Sprintf("subjects[%d]", i), "%q has a * before its end; only a trailing * (a prefix) is understood", s)
		}
	}
	if !q.Since.IsZero() && !q.Until.IsZero() && !q.Since.Before(q.Until) {
		bad("until", "%s is not after since %s", q.Until.UTC().Format(time.RFC3339Nano), q.Since.UTC().Format(time.RFC3339Nano))
	}
	if q.Through < 0 {
		bad("through", "%d is negative", q.Through)
	}
	return errors.Join(errs...)
}

// matches reports whether r is selected; Through is checked by the scan.
func (q *Query) matches(r *audit.Record) bool {
	if len(q.Actors) > 0 && !slices.Contains(q.Actors, r.Actor) {
		return false
	}
	if len(q.Types) > 0 && !slices.Contains(q.Types, r.Type) {
		return false
	}
	if len(q.Subjects) > 0 && !slices.ContainsFunc(q.Subjects, func(s string) bool {
		if p, ok := strings.CutSuffix(s, "*"); ok {
			return strings.HasPrefix(r.Stream, p)
		}
		return s == r.Stream
	}) {
		return false
	}
	if !q.Since.IsZero() && r.Time.Before(q.Since) {
		return false
	}
	if !q.Until.IsZero() && !r.Time.Before(q.Until) {
		return false
	}
	return true
}

// Trail is the outcome of a query: the query as run, with Through set to
// the highest position read, and the records it selected in global order.
type Trail struct {
	Query   Query
	Records []audit.Record
}

// scanPage is how many records Find reads per ReadAll call.
const scanPage = 1000

// errStop ends a scan early.
var errStop = errors.New("stop")

// Find reads the audit trail in global order and returns the records q
// selects. It reads the store with storage.Scanner when the store has it,
// and with ReadAll otherwise. The returned Trail's Query has Through set:
// q's own, or the highest position there was when it read, so that running
// it again selects exactly the same records.
//
// It returns an error matching ErrInvalidQuery for an invalid query, and
// the store's error, wrapped, when the trail cannot be read.
func Find(ctx context.Context, src Reader, q Query) (*Trail, error) {
	if src == nil {
		return nil, errors.New("review: Find: reader is nil")
	}
	if err := q.Validate(); err != nil {
		return nil, err
	}
	t := &Trail{Query: q}
	var last int64
	visit := func(r *audit.Record) error {
		if q.Through > 0 && r.Position > q.Through {
			return errStop
		}
		last = r.Position
		if q.matches(r) {
			t.Records = append(t.Records, cloneRecord(r))
		}
		return nil
	}
	var err error
	if sc, ok := src.(storage.Scanner); ok {
		err = sc.Scan(ctx, 0, visit)
	} else {
		err = readPages(ctx, src, visit)
	}
	if err != nil && !errors.Is(err, errStop) {
		return nil, fmt.Errorf("review: read the audit trail: %w", err)
	}
	if t.Query.Through == 0 {
		t.Query.Through = last
	}
	return t, nil
}

func readPages(ctx context.Context, src Reader, visit func(*audit.Record) error) error {
	var after int64
	for {
		recs, err := src.ReadAll(ctx, after, scanPage)
		if err != nil {
			return err
		}
		for i := range recs {
			if err := visit(&recs[i]); err != nil {
				return err
			}
		}
		if len(recs) < scanPage {
			return nil
		}
		after = recs[len(recs)-1].Position
	}
}

// cloneRecord copies r so that nothing of it is shared with the store.
func cloneRecord(r *audit.Record) audit.Record {
	c := *r
	c.Payload = bytes.Clone(r.Payload)
	c.Evidence = bytes.Clone(r.Evidence)
	c.Links = slices.Clone(r.Links)
	return c
}

// csvColumns are the columns of WriteCSV, in order.
var csvColumns = []string{"position", "time", "stream", "version", "type", "actor",
	"payload", "evidence", "links", "prev_hash", "hash"}

// CSVColumns returns the columns of WriteCSV, in order. The order is part
// of the format: a column is only ever added at the end.
func CSVColumns() []string { return slices.Clone(csvColumns) }

// CSVTime is the layout of the time column: UTC with six fractional
// digits, so that times sort as text in the order they happened.
const CSVTime = "2006-01-02T15:04:05.000000Z"

// WriteCSV writes recs as CSV (RFC 4180: CRLF line ends, fields quoted
// where they hold a comma, quote or line end), with a header row of
// CSVColumns. Payload and evidence are the canonical JSON the record
// holds, links a JSON array ("" when there are none), hashes lower-case
// hex. Values are written as the record holds them, never altered; a
// spreadsheet that evaluates cells starting with "=" should import the
// file as text.
func WriteCSV(w io.Writer, recs []audit.Record) error {
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	if err := cw.Write(csvColumns); err != nil {
		return fmt.Errorf("review: write csv: %w", err)
	}
	row := make([]string, len(csvColumns))
	for i := range recs {
		r := &recs[i]
		links := ""
		if len(r.Links) > 0 {
			b, err := json.Marshal(r.Links)
			if err != nil {
				return fmt.Errorf("review: csv: %s v%d links: %w", r.Stream, r.Version, err)
			}
			links = string(b)
		}
		row[0] = strconv.FormatInt(r.Position, 10)
		row[1] = r.Time.UTC().Format(CSVTime)
		row[2] = r.Stream
		row[3] = strconv.FormatInt(r.Version, 10)
		row[4] = r.Type
		row[5] = r.Actor
		row[6] = string(r.Payload)
		row[7] = string(r.Evidence)
		row[8] = links
		row[9] = r.PrevHash.String()
		row[10] = r.Hash.String()
		if err := cw.Write(row); err != nil {
			return fmt.Errorf("review: write csv: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("review: write csv: %w", err)
	}
	return nil
}

// CSV returns the trail's records as WriteCSV writes them, and the
// lower-case hex SHA-256 of those bytes.
func (t *Trail) CSV() (data []byte, digest string, err error) {
	var buf bytes.Buffer
	if err := WriteCSV(&buf, t.Records); err != nil {
		return nil, "", err
	}
	sum := sha256.Sum256(buf.Bytes())
	return buf.Bytes(), hex.EncodeToString(sum[:]), nil
}
