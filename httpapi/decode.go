package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"
)

// decode reads r's body, which must be one JSON value of application/json
// no larger than the configured limit, into v, refusing members v does not
// have and anything after the value.
func (h *Handler) decode(w http.ResponseWriter, r *http.Request, v any) *problem {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		p := newProblem(http.StatusUnsupportedMediaType, TypeMediaType,
			fmt.Sprintf("the body must be application/json, not %q", r.Header.Get("Content-Type")))
		p.Field = "Content-Type"
		p.accept = "application/json"
		return p
	}
	body := http.MaxBytesReader(w, r.Body, h.cfg.MaxBodyBytes)
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return h.decodeError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		if err != nil {
			if p := h.tooLarge(err); p != nil {
				return p
			}
		}
		return invalid("", "the body holds more than one JSON value")
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
		tim *time.ParseError
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
	case errors.As(err, &tim):
		return invalid("", "a time is not RFC 3339: %q", tim.Value)
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
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, false, invalid("at", "at must be an RFC 3339 time, such as 2026-11-25T09:00:00Z: %q", s)
	}
	return t, true, nil
}
