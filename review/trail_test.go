package review

import (
	"bytes"
	"cmp"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"

	"github.com/interlock-mes/interlock/audit"
	"github.com/interlock-mes/interlock/storage"
	"github.com/interlock-mes/interlock/storage/memory"
)

// naive is the reference query: every record of the store, filtered one by
// one by the plain reading of the Query's documentation.
func naive(s Reader, q Query) ([]int64, error) {
	out := []int64{}
	var after int64
	for {
		recs, err := s.ReadAll(context.Background(), after, 500)
		if err != nil {
			return nil, err
		}
		for _, r := range recs {
			if q.Through > 0 && r.Position > q.Through {
				return out, nil
			}
			ok := (len(q.Actors) == 0 || slices.Contains(q.Actors, r.Actor)) &&
				(len(q.Types) == 0 || slices.Contains(q.Types, r.Type)) &&
				(q.Since.IsZero() || !r.Time.Before(q.Since)) &&
				(q.Until.IsZero() || r.Time.Before(q.Until))
			if len(q.Subjects) > 0 {
				in := false
				for _, sub := range q.Subjects {
					if strings.HasSuffix(sub, "*") {
						in = in || strings.HasPrefix(r.Stream, strings.TrimSuffix(sub, "*"))
					} else {
						in = in || sub == r.Stream
					}
				}
				ok = ok && in
			}
			if ok {
				out = append(out, r.Position)
			}
		}
		if len(recs) < 500 {
			return out, nil
		}
		after = recs[len(recs)-1].Position
	}
}

// snapshot serves records read earlier, in global order.
type snapshot struct{ recs []audit.Record }

func (s snapshot) Load(context.Context, string, int64) ([]audit.Record, error) {
	return nil, errors.New("snapshot serves ReadAll only")
}

func (s snapshot) ReadAll(_ context.Context, after int64, limit int) ([]audit.Record, error) {
	i, _ := slices.BinarySearchFunc(s.recs, after+1, func(r audit.Record, p int64) int { return cmp.Compare(r.Position, p) })
	return s.recs[i:min(len(s.recs), i+limit)], nil
}

func positions(recs []audit.Record) []int64 {
	out := []int64{}
	for _, r := range recs {
		out = append(out, r.Position)
	}
	return out
}

// TestFind: each condition of a query, alone and together, selects what
// the reference selects, on both stores; the returned query is bounded.
func TestFind(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, s storage.Store, c *clock) {
		ctx := context.Background()
		p := newPlant(t, s, c)
		p.exceptional("B-EXC")
		all, err := Find(ctx, s, Query{})
		if err != nil {
			t.Fatal(err)
		}
		last := all.Records[len(all.Records)-1].Position
		if all.Query.Through != last {
			t.Errorf("Through = %d; want the last position read, %d", all.Query.Through, last)
		}
		mid := all.Records[len(all.Records)/2]
		queries := map[string]Query{
			"actor":            {Actors: []string{"sv-1"}},
			"actors":           {Actors: []string{"qa-3", "op-9"}},
			"type":             {Types: []string{"attempt.denied"}},
			"subject":          {Subjects: []string{"B-EXC"}},
			"subject prefix":   {Subjects: []string{"exception/*"}},
			"subjects":         {Subjects: []string{"person/*", "lot/L8"}},
			"since":            {Since: mid.Time},
			"until":            {Until: mid.Time},
			"range":            {Since: start.Add(20 * time.Second), Until: start.Add(30 * time.Second)},
			"through":          {Through: mid.Position},
			"everything":       {},
			"all together":     {Actors: []string{"qa-3"}, Types: []string{"signature.applied"}, Subjects: []string{"exception/*"}, Since: start.Add(10 * time.Second)},
			"nothing selected": {Actors: []string{"nobody"}},
		}
		for name, q := range queries {
			got, err := Find(ctx, s, q)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			want, err := naive(snapshot{all.Records}, q)
			if err != nil {
				t.Fatal(err)
			}
			if diff := gocmp.Diff(want, positions(got.Records)); diff != "" {
				t.Errorf("%s (-reference +Find):\n%s", name, diff)
			}
			if name != "nothing selected" && len(want) == 0 {
				t.Errorf("%s selects nothing; the test's batch should give it records", name)
			}
			if q.Through == 0 && got.Query.Through != last {
				t.Errorf("%s: Through = %d; want %d", name, got.Query.Through, last)
			}
		}
		// Records appended later do not change a bounded query.
		p.routine("B-LATER")
		again, err := Find(ctx, s, all.Query)
		if err != nil || len(again.Records) != len(all.Records) {
			t.Errorf("the bounded query after more appends: %d records, %v; want %d", len(again.Records), err, len(all.Records))
		}
	})
}

// TestQueryValidate: every problem of a query is reported, each naming its
// field, and nothing is read.
func TestQueryValidate(t *testing.T) {
	t.Parallel()
	q := Query{Actors: []string{""}, Subjects: []string{"ok", "ba*d"}, Types: []string{""},
		Since: start, Until: start.Add(-time.Second), Through: -1}
	_, err := Find(context.Background(), failing{err: errors.New("must not be read")}, q)
	if !errors.Is(err, ErrInvalidQuery) {
		t.Fatalf("Find = %v; want ErrInvalidQuery", err)
	}
	var fields []string
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		var qe *QueryError
		if !errors.As(e, &qe) {
			t.Fatalf("%v is not a *QueryError", e)
		}
		fields = append(fields, qe.Field)
	}
	if diff := gocmp.Diff([]string{"actors[0]", "types[0]", "subjects[1]", "until", "through"}, fields); diff != "" {
		t.Errorf("fields (-want +got):\n%s", diff)
	}
	if err := (&Query{Subjects: []string{"exception/*"}, Since: start, Until: start.Add(time.Hour)}).Validate(); err != nil {
		t.Errorf("a valid query: %v", err)
	}
}

// TestCSV: the export is RFC 4180 with CRLF line ends, a header of
// CSVColumns and one row per record holding exactly what the record holds;
// its time column sorts as text in time order.
func TestCSV(t *testing.T) {
	t.Parallel()
	c := newClock()
	s := memory.New(&memory.Config{Clock: c.next})
	p := newPlant(t, s, c)
	p.exceptional("B-EXC")
	trail, err := Find(context.Background(), s, Query{Subjects: []string{"B-EXC"}})
	if err != nil {
		t.Fatal(err)
	}
	data, digest, err := trail.CSV()
	if err != nil {
		t.Fatal(err)
	}
	if len(digest) != 64 {
		t.Errorf("digest %q", digest)
	}
	if bytes.Count(data, []byte("\r\n")) != len(trail.Records)+1 || bytes.Count(data, []byte("\n")) != len(trail.Records)+1 {
		t.Errorf("want %d lines, each ended by CRLF", len(trail.Records)+1)
	}
	rows := readCSV(t, data)
	if diff := gocmp.Diff(CSVColumns(), rows[0]); diff != "" {
		t.Errorf("header (-want +got):\n%s", diff)
	}
	checkRows(t, trail.Records, rows[1:])
	golden(t, "trail.csv", data, true)
}

func readCSV(t *testing.T, data []byte) [][]string {
	t.Helper()
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = len(csvColumns)
	rows, err := r.ReadAll()
	if err != nil {
		t.Fatalf("read back: %v", err)
	}
	return rows
}

// checkRows checks each row against its record, and that the time column
// sorts as the times do.
func checkRows(t fataler, recs []audit.Record, rows [][]string) {
	t.Helper()
	if len(rows) != len(recs) {
		t.Fatalf("%d rows for %d records", len(rows), len(recs))
	}
	for i, r := range recs {
		links := ""
		if len(r.Links) > 0 {
			b, _ := json.Marshal(r.Links)
			links = string(b)
		}
		want := []string{strconv.FormatInt(r.Position, 10), r.Time.UTC().Format(CSVTime), r.Stream, strconv.FormatInt(r.Version, 10),
			r.Type, r.Actor, string(r.Payload), string(r.Evidence), links, r.PrevHash.String(), r.Hash.String()}
		if diff := gocmp.Diff(want, rows[i]); diff != "" {
			t.Fatalf("row %d (-record +csv):\n%s", i, diff)
		}
		parsed, err := time.Parse(CSVTime, rows[i][1])
		if err != nil || !parsed.Equal(r.Time) {
			t.Fatalf("row %d time %q reads back as %v, %v; want %v", i, rows[i][1], parsed, err, r.Time)
		}
		for j := range i {
			if textOrder, timeOrder := strings.Compare(rows[j][1], rows[i][1]), recs[j].Time.Compare(recs[i].Time); textOrder != timeOrder {
				t.Fatalf("rows %d and %d: times compare %d as text and %d as times", j, i, textOrder, timeOrder)
			}
		}
	}
}

// fataler is what checkRows needs of *testing.T and *rapid.T.
type fataler interface {
	Helper()
	Fatalf(format string, args ...any)
}

// idChars are characters a store accepts in ids, with the ones CSV must
// quote well represented.
var idChars = rapid.SampledFrom([]rune(`abcXYZ09 ,;"'=+-@/\.:éß中😀` + "\u00a0\u2028"))

func idGen() *rapid.Generator[string] {
	return rapid.StringOfN(idChars, 1, 12, -1)
}

// TestCSVProperty: any records a store can hold come back from the CSV
// exactly, and the time column sorts as the times do.
func TestCSVProperty(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(0, 12).Draw(t, "n")
		recs := make([]audit.Record, n)
		at := time.Date(rapid.IntRange(1, 9000).Draw(t, "year"), 1, 1, 0, 0, 0, 0, time.UTC)
		for i := range recs {
			at = at.Add(time.Duration(rapid.Int64Range(0, int64(400*24*time.Hour)).Draw(t, "step"))).Truncate(time.Microsecond)
			payload, _ := json.Marshal(map[string]string{"text": rapid.String().Draw(t, "payload")})
			recs[i] = audit.Record{Stream: idGen().Draw(t, "stream"), Version: int64(i + 1), Position: int64(i + 1),
				Type: idGen().Draw(t, "type"), Actor: idGen().Draw(t, "actor"), Time: at, Payload: payload, Evidence: json.RawMessage("null")}
			if rapid.Bool().Draw(t, "links") {
				recs[i].Links = []audit.Link{{From: idGen().Draw(t, "from"), To: idGen().Draw(t, "to"), Kind: "consumed"}}
			}
			recs[i].Hash[0] = byte(i)
		}
		var buf bytes.Buffer
		if err := WriteCSV(&buf, recs); err != nil {
			t.Fatal(err)
		}
		r := csv.NewReader(&buf)
		r.FieldsPerRecord = len(csvColumns)
		rows, err := r.ReadAll()
		if err != nil {
			t.Fatalf("read back: %v", err)
		}
		checkRows(t, recs, rows[1:])
	})
}

// TestFindProperty: for random trails and random queries, Find selects
// what the reference selects.
func TestFindProperty(t *testing.T) {
	t.Parallel()
	actors := []string{"op-7", "qa-3", "sv-1"}
	streams := []string{"B-1", "B-2", "exception/X-1", "lot/L7"}
	types := []string{"step.started", "attempt.denied", "signature.applied"}
	rapid.Check(t, func(rt *rapid.T) {
		c := newClock()
		s := memory.New(&memory.Config{Clock: c.next})
		n := rapid.IntRange(1, 40).Draw(rt, "records")
		versions := map[string]int64{}
		for i := range n {
			stream := rapid.SampledFrom(streams).Draw(rt, "stream")
			if _, err := s.Append(context.Background(), storage.AppendRequest{Streams: []storage.StreamAppend{{
				Stream: stream, ExpectedVersion: versions[stream],
				Events: []storage.Event{{Type: rapid.SampledFrom(types).Draw(rt, "type"), Actor: rapid.SampledFrom(actors).Draw(rt, "actor"),
					Payload: json.RawMessage(fmt.Sprintf(`{"n":%d}`, i))}},
			}}}); err != nil {
				rt.Fatal(err)
			}
			versions[stream]++
		}
		q := Query{
			Actors:   rapid.SliceOfNDistinct(rapid.SampledFrom(actors), 0, 2, rapid.ID).Draw(rt, "actors"),
			Types:    rapid.SliceOfNDistinct(rapid.SampledFrom(types), 0, 2, rapid.ID).Draw(rt, "types"),
			Subjects: rapid.SliceOfNDistinct(rapid.SampledFrom(append(streams, "exception/*", "B-*")), 0, 2, rapid.ID).Draw(rt, "subjects"),
			Through:  rapid.Int64Range(0, int64(n)).Draw(rt, "through"),
		}
		if rapid.Bool().Draw(rt, "since") {
			q.Since = start.Add(time.Duration(rapid.IntRange(0, n+1).Draw(rt, "sinceAt")) * time.Second)
		}
		if rapid.Bool().Draw(rt, "until") {
			q.Until = start.Add(time.Duration(rapid.IntRange(0, n+1).Draw(rt, "untilAt")) * time.Second)
		}
		got, err := Find(context.Background(), s, q)
		if !q.Since.IsZero() && !q.Until.IsZero() && !q.Since.Before(q.Until) {
			if !errors.Is(err, ErrInvalidQuery) {
				rt.Fatalf("an empty range: %v; want ErrInvalidQuery", err)
			}
			return
		}
		if err != nil {
			rt.Fatal(err)
		}
		want, err := naive(s, q)
		if err != nil {
			rt.Fatal(err)
		}
		if diff := gocmp.Diff(want, positions(got.Records)); diff != "" {
			rt.Fatalf("query %+v (-reference +Find):\n%s", q, diff)
		}
	})
}
