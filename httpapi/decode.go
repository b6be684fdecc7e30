package httpapi

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"regexp"
	"strings"
	"time"
)

// decode reads r's body, which must be one JSON value of application/json
// no larger than the configured limit, into v, refusing members v does not
// have, members named in another case or twice, and anything after the
// value.
func (h *Handler) decode(w http.ResponseWriter, r *http.Request, v any) *problem {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		p := newProblem(http.StatusUnsupportedMediaType, TypeMediaType,
			fmt.Sprintf("the body must be application/json, not %q", r.Header.Get("Content-Type")))
		p.Field = "Content-Type"
		p.accept = "application/json"
		return p
	}
	if lw, ok := w.(*logWriter); ok {
		// MaxBytesReader closes the connection after a body too large
		// through the server's own writer, which the log's wrapper hides.
		w = lw.ResponseWriter
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.cfg.MaxBodyBytes))
	if err != nil {
		if p := h.tooLarge(err); p != nil {
			return p
		}
		return invalid("", "the body cannot be read: %v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if strings.HasPrefix(err.Error(), "json: unknown field ") {
			// encoding/json names the member but not where it is:
			// members names its path ("sign.meaning").
			if p := members(json.NewDecoder(bytes.NewReader(body)), reflect.TypeOf(v), ""); p != nil {
				return p
			}
		}
		return h.decodeError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return invalid("", "the body holds more than one JSON value")
	}
	// encoding/json matches member names without regard to case and keeps
	// the last of two members of one name: a body that reads one way here
	// and another way to a proxy or a log reader is refused instead.
	return members(json.NewDecoder(bytes.NewReader(body)), reflect.TypeOf(v), "")
}

// members reads one JSON value from dec, which decoded into a value of
// typ, and returns a problem naming the first object member that is not
// exactly the name of one of typ's members, or that appears twice.
func members(dec *json.Decoder, typ reflect.Type, path string) *problem {
	for typ.Kind() == reflect.Pointer {
		typ = typ.Elem()
	}
	tok, err := dec.Token()
	if err != nil {
		return invalid(path, "the body cannot be read: %v", err)
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return nil // a scalar, or null
	}
	if d == '[' {
		elem := reflect.TypeFor[any]()
		if typ.Kind() == reflect.Slice && typ != reflect.TypeFor[json.RawMessage]() {
			elem = typ.Elem()
		}
		for i := 0; dec.More(); i++ {
			if p := members(dec, elem, fmt.Sprintf("%s[%d]", path, i)); p != nil {
				return p
			}
		}
		_, err := dec.Token()
		return readErr(path, err)
	}
	fields := map[string]reflect.Type{}
	free := true // any name is a member: a map, json.RawMessage or any
	switch {
	case typ.Kind() == reflect.Struct && typ != reflect.TypeFor[time.Time]():
		free = false
		for i := range typ.NumField() {
			f := typ.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name != "-" && f.IsExported() {
				fields[cmp.Or(name, f.Name)] = f.Type
			}
		}
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return readErr(path, err)
		}
		name, _ := tok.(string)
		at := name
		if path != "" {
			at = path + "." + name
		}
		if seen[name] {
			return invalid(at, "the member %q appears twice", name)
		}
		seen[name] = true
		next := reflect.TypeFor[any]()
		switch {
		case typ.Kind() == reflect.Map:
			next = typ.Elem()
		case !free:
			t, ok := fields[name]
			if !ok {
				return invalid(at, "the body has no member %q (names are matched exactly)", name)
			}
			next = t
		}
		if p := members(dec, next, at); p != nil {
			return p
		}
	}
	_, err = dec.Token()
	return readErr(path, err)
}

func readErr(path string, err error) *problem {
	if err != nil {
		return invalid(path, "the body cannot be read: %v", err)
	}
	return nil
}

func (h *Handler) tooLarge(err error) *problem {
	var mb *http.MaxBytesError
	if errors.As(err, &mb) {
		return newProblem(http.StatusRequestEntityTooLarge, TypeTooLarge, fmt.Sprintf("the body is over %d bytes", mb.Limit))
	}
	return nil
}

// decodeError says what is wrong with a body, and where.
func (h *Handler) decodeError(err error) *problem {
	if p := h.tooLarge(err); p != nil {
		return p
	}
	var (
		syn *json.SyntaxError
		typ *json.UnmarshalTypeError
	)
	switch {
	case errors.Is(err, io.EOF):
		return invalid("", "the body is empty; it must be a JSON object")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return invalid("", "the body ends in the middle of a JSON value")
	case errors.As(err, &syn):
		return invalid("", "the body is not JSON: %v (at byte %d)", syn, syn.Offset)
	case errors.As(err, &typ):
		if typ.Field == "" {
			return invalid("", "the body must be a JSON object, not %s", typ.Value)
		}
		return invalid(typ.Field, "%s must not be %s", typ.Field, typ.Value)
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		name = strings.Trim(name, `"`)
		return invalid(name, "the body has no member %q", name)
	}
	return invalid("", "the body cannot be read: %v", err)
}

// instant reads the optional query parameter at, an RFC 3339 time.
func instant(r *http.Request) (time.Time, bool, *problem) {
	s := r.URL.Query().Get("at")
	if s == "" {
		return time.Time{}, false, nil
	}
	t, p := parseTime("at", s)
	return t, p == nil, p
}

// timeText is the syntax of an RFC 3339 date-time, which time.Parse
// alone does not hold a text to (it takes a one-digit hour).
var timeText = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})$`)

// parseTime reads s, the RFC 3339 time of field.
func parseTime(field, s string) (time.Time, *problem) {
	if timeText.MatchString(s) {
		if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, invalid(field, "%s must be an RFC 3339 time, such as 2026-11-25T09:00:00Z, not %q", field, s)
}
