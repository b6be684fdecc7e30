package httpapi

import (
	"fmt"
	"mime"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/interlock-mes/interlock/genealogy"
	"github.com/interlock-mes/interlock/storage"
)

// formats are the media types of the formats a route can send.
var formats = map[string]string{
	"json":    "application/json",
	"csv":     "text/csv",
	"fsma204": "text/csv",
	"dot":     "text/vnd.graphviz",
	"epcis":   "application/ld+json",
}

// negotiate picks the format of a response among allowed (the first is
// the default): the query's format when given, which must be one of them,
// else the first media type of the Accept header that one of them has.
func negotiate(r *http.Request, allowed []string) (string, *problem) {
	if f := r.URL.Query().Get("format"); f != "" {
		if !slices.Contains(allowed, f) {
			return "", invalid("format", "format must be one of %s, not %q", strings.Join(allowed, ", "), f)
		}
		return f, nil
	}
	for _, a := range strings.Split(r.Header.Get("Accept"), ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(a))
		if err != nil || params["q"] == "0" {
			continue
		}
		for _, f := range allowed {
			if formats[f] == mt {
				return f, nil
			}
		}
	}
	return allowed[0], nil
}

// ctes are the critical tracking events of format fsma204.
var ctes = []genealogy.CTE{genealogy.CTEReceiving, genealogy.CTETransformation, genealogy.CTEShipping, genealogy.CTEFirstLandBasedReceiving}

// export sends a trace as CSV, Graphviz DOT, EPCIS or one FSMA 204
// critical tracking event's sortable spreadsheet (format=fsma204&cte=).
func (h *Handler) export(w http.ResponseWriter, r *http.Request, _ string) *problem {
	format, p := negotiate(r, []string{"csv", "dot", "epcis", "fsma204"})
	if p != nil {
		return p
	}
	q := r.URL.Query()
	cte := genealogy.CTE(q.Get("cte"))
	if format == "fsma204" {
		if !slices.Contains(ctes, cte) {
			return invalid("cte", "format fsma204 needs cte: receiving, transformation, shipping or first_land_based_receiving, not %q", cte)
		}
	} else if cte != "" {
		return invalid("cte", "cte goes with format fsma204 only")
	}
	dir := storage.Forward
	switch d := q.Get("direction"); d {
	case "", "forward":
	case "backward":
		dir = storage.Backward
	default:
		return invalid("direction", "direction must be forward or backward, not %q", d)
	}
	t, _, p := h.trace(r, dir)
	if p != nil {
		return p
	}
	var (
		data []byte
		err  error
	)
	switch format {
	case "csv":
		data, err = h.exporter.CSV(t)
		if err == nil {
			download(w, "text/csv; charset=utf-8", "trace.csv", data)
		}
	case "dot":
		download(w, "text/vnd.graphviz; charset=utf-8", "trace.dot", h.exporter.DOT(t))
	case "epcis":
		data, err = h.exporter.EPCIS(t)
		if err == nil {
			download(w, "application/ld+json", "epcis.jsonld", data)
		}
	case "fsma204":
		data, err = h.exporter.FSMA204(t, cte)
		if err == nil {
			download(w, "text/csv; charset=utf-8", "fsma204-"+string(cte)+".csv", data)
		}
	}
	if err != nil {
		// The request is checked above: what is left is the service's
		// configuration (Config.Export) or the record.
		return h.internal(r, err)
	}
	return nil
}

// dateText is a full date, which a range bound may be instead of a time.
var dateText = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}$`)

// parseBound reads a bound of a time range: an RFC 3339 time, or a date,
// which means its midnight in UTC.
func parseBound(field, s string) (time.Time, *problem) {
	if dateText.MatchString(s) {
		if t, err := time.Parse(time.DateOnly, s); err == nil {
			return t, nil
		}
	}
	if t, p := parseTime(field, s); p == nil {
		return t, nil
	}
	return time.Time{}, invalid(field, "%s must be a date (2026-11-25) or an RFC 3339 time (2026-11-25T09:00:00Z), not %q", field, s)
}

// parseRange reads the range [from, to) of the query parameters from and
// to, both required, from before to.
func parseRange(from, to string) (time.Time, time.Time, *problem) {
	if from == "" {
		return time.Time{}, time.Time{}, invalid("from", "from is required: the start of the range, a date or an RFC 3339 time")
	}
	if to == "" {
		return time.Time{}, time.Time{}, invalid("to", "to is required: the end of the range (not in it), a date or an RFC 3339 time")
	}
	f, p := parseBound("from", from)
	if p != nil {
		return time.Time{}, time.Time{}, p
	}
	t, p := parseBound("to", to)
	if p != nil {
		return time.Time{}, time.Time{}, p
	}
	if !f.Before(t) {
		return time.Time{}, time.Time{}, invalid("to", "to (%s) must be after from (%s)", to, from)
	}
	return f, t, nil
}

// epcisRange sends every event of the lot graph whose record time is in
// [from, to) as one EPCIS 2.0 document.
func (h *Handler) epcisRange(w http.ResponseWriter, r *http.Request, _ string) *problem {
	q := r.URL.Query()
	from, to, p := parseRange(q.Get("from"), q.Get("to"))
	if p != nil {
		return p
	}
	if h.cfg.Graph == nil {
		return newProblem(http.StatusNotFound, TypeNotFound, "this service keeps no lot graph")
	}
	if err := h.cfg.Graph.Update(r.Context()); err != nil {
		return h.internal(r, err)
	}
	doc, err := h.exporter.EPCISRange(from, to)
	if err != nil {
		return h.internal(r, err)
	}
	name := fmt.Sprintf("epcis-%s-%s.jsonld", from.UTC().Format("20060102T150405Z"), to.UTC().Format("20060102T150405Z"))
	download(w, "application/ld+json", name, doc)
	return nil
}
