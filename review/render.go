package review

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"time"
)

// WriteJSON writes rep as indented JSON, members in a fixed order and maps
// by key, so that the same report always gives the same bytes.
func WriteJSON(w io.Writer, rep *Report) error {
	if rep == nil {
		return fmt.Errorf("review: WriteJSON: report is nil")
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(rep); err != nil {
		return fmt.Errorf("review: encode report: %w", err)
	}
	if _, err := w.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("review: write report: %w", err)
	}
	return nil
}

//go:embed report.html.tmpl
var reportTemplate string

// page is parsed once; html/template escapes every value for its context.
var page = template.Must(template.New("report").Funcs(template.FuncMap{
	"time":      formatTime,
	"kindTitle": kindTitle,
	"short":     func(s fmt.Stringer) string { return short(s.String()) },
	"inc":       func(i int) int { return i + 1 },
	"step": func(s string) string {
		if s == "" {
			return "(batch)"
		}
		return s
	},
}).Parse(reportTemplate))

// WriteHTML writes rep as one self-contained HTML page: inline CSS, no
// scripts and nothing loaded from elsewhere, laid out to be read on screen
// and printed. The exceptions section (id "exceptions") holds one article
// per entry (class "entry", with data-kind, data-stream, data-version and
// data-hash of its main record) and, for a clean batch, a paragraph with
// id "no-exceptions".
func WriteHTML(w io.Writer, rep *Report) error {
	if rep == nil {
		return fmt.Errorf("review: WriteHTML: report is nil")
	}
	v := view{Report: rep, Unchecked: rep.Integrity.Signatures[StatusNotChecked]}
	for _, k := range kinds {
		v.Counts = append(v.Counts, kindCount{Kind: k, N: rep.Summary.ByKind[k]})
	}
	var buf bytes.Buffer
	if err := page.Execute(&buf, v); err != nil {
		return fmt.Errorf("review: render report: %w", err)
	}
	if _, err := w.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("review: write report: %w", err)
	}
	return nil
}

// view is what the page template reads: the report and the count of
// every kind, zeros included, in the order of Kinds.
type view struct {
	*Report
	Counts    []kindCount
	Unchecked int // signatures not checked
}

type kindCount struct {
	Kind Kind
	N    int
}

// displayTime is how the page shows times: UTC, to the microsecond the
// record keeps.
const displayTime = "2006-01-02 15:04:05.000000 UTC"

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(displayTime)
}

var kindTitles = map[Kind]string{
	KindOutOfLimit:   "Out-of-limit value",
	KindOverride:     "Override",
	KindManualEntry:  "Manual entry",
	KindSubstitution: "Substitution",
	KindRework:       "Rework",
	KindDeviation:    "Deviation",
	KindCorrection:   "Correction",
	KindDenied:       "Denied attempt",
	KindUnrecognised: "Unrecognised record",
}

func kindTitle(k Kind) string {
	if t, ok := kindTitles[k]; ok {
		return t
	}
	return string(k)
}

// short abbreviates a hash for a table cell; the full hash is in its title.
func short(h string) string {
	if len(h) > 16 {
		return h[:16] + "…"
	}
	return h
}
