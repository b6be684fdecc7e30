package plc

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"

	"github.com/shopspring/decimal"
)

// jsonTagFields are the keys a tag entry may have; anything else is an error,
// because a misspelt "word_ordr" silently ignored would mean wrong numbers.
var jsonTagFields = []string{"name", "area", "address", "type", "word_order", "scale", "unit", "role"}

// jsonRequired are the keys without which a tag cannot be read at all.
var jsonRequired = []string{"name", "area", "address", "type"}

// LoadTagMap reads a tag map written as JSON:
//
//	{"tags": [
//	  {"name": "line-speed", "area": "holding-register", "address": 10,
//	   "type": "float32", "word_order": "high-word-first",
//	   "scale": "0.1", "unit": "m/min", "role": "parameter"}
//	]}
//
// name, area, address and type are required. word_order is required for the
// 32-bit types and forbidden for the others. scale is a JSON number or a
// string holding a decimal; only when the key is absent is the scale 1.
// unit and role are optional. Unknown keys, at the top or in an entry, are
// errors.
//
// When entries are wrong the error is a *TagMapError listing every problem
// with the entry's index and name. When the document itself is not a JSON
// object with a "tags" array, the error says so and no entry is checked.
func LoadTagMap(r io.Reader) (*TagMap, error) {
	dec := json.NewDecoder(r)
	var doc map[string]json.RawMessage
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("load tag map: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("load tag map: data after the JSON object")
	}
	if doc == nil {
		return nil, fmt.Errorf("load tag map: document is null")
	}
	for _, k := range sortedJSONKeys(doc) {
		if k != "tags" {
			return nil, fmt.Errorf("load tag map: %w %q at the top level", ErrTagUnknownField, k)
		}
	}
	raw, ok := doc["tags"]
	if !ok {
		return nil, fmt.Errorf("load tag map: no \"tags\" array")
	}
	var entries []json.RawMessage
	if err := json.Unmarshal(raw, &entries); err != nil || entries == nil {
		return nil, fmt.Errorf("load tag map: \"tags\" is not an array")
	}
	tags := make([]Tag, len(entries))
	pre := make(map[int][]TagProblem)
	for i, e := range entries {
		t, ps := decodeJSONTag(i, e)
		tags[i] = t
		if len(ps) > 0 {
			pre[i] = ps
		}
	}
	return newTagMap(tags, pre)
}

// decodeJSONTag reads entry i and returns what it could decode along with
// the problems of decoding; checks on the decoded tag come later.
func decodeJSONTag(i int, raw json.RawMessage) (Tag, []TagProblem) {
	var t Tag
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil || obj == nil {
		return t, []TagProblem{newTagProblem(i, "", "entry", ErrTagField, "not a JSON object")}
	}
	var ps []TagProblem
	// The name comes first so that every other problem can carry it.
	if v, ok := obj["name"]; ok {
		if err := jsonString(v, &t.Name); err != nil {
			ps = append(ps, newTagProblem(i, "", "name", ErrTagField, "%v", err))
		}
	}
	add := func(field string, sentinel error, format string, args ...any) {
		ps = append(ps, newTagProblem(i, t.Name, field, sentinel, format, args...))
	}
	for _, k := range sortedJSONKeys(obj) {
		if !slices.Contains(jsonTagFields, k) {
			add(k, ErrTagUnknownField, "not one of %v", jsonTagFields)
		}
	}
	for _, k := range jsonRequired {
		if _, ok := obj[k]; !ok {
			add(k, ErrTagField, "missing")
		}
	}
	strs := []struct {
		key string
		dst *string
	}{
		{"area", (*string)(&t.Area)},
		{"type", (*string)(&t.Type)},
		{"word_order", (*string)(&t.WordOrder)},
		{"unit", &t.Unit},
		{"role", (*string)(&t.Role)},
	}
	for _, s := range strs {
		if v, ok := obj[s.key]; ok {
			if err := jsonString(v, s.dst); err != nil {
				add(s.key, ErrTagField, "%v", err)
			}
		}
	}
	if v, ok := obj["address"]; ok {
		addr, err := jsonAddress(v)
		if err != nil {
			add("address", ErrTagAddress, "%v", err)
		}
		t.Address = addr
	}
	if v, ok := obj["scale"]; ok {
		s, err := jsonScale(v)
		if err != nil {
			add("scale", ErrTagScale, "%v", err)
		} else {
			t.Scale = &s
		}
	}
	return t, ps
}

func jsonString(v json.RawMessage, dst *string) error {
	if jsonIsNull(v) {
		return errors.New("null; omit the key instead")
	}
	if err := json.Unmarshal(v, dst); err != nil {
		return fmt.Errorf("%s is not a string", v)
	}
	return nil
}

func jsonAddress(v json.RawMessage) (int, error) {
	if jsonIsNull(v) {
		return 0, errors.New("null; want an integer from 0 to 65535")
	}
	var n json.Number
	if err := json.Unmarshal(v, &n); err != nil || bytes.HasPrefix(bytes.TrimSpace(v), []byte(`"`)) {
		return 0, fmt.Errorf("%s is not a number", v)
	}
	a, err := strconv.ParseInt(n.String(), 10, strconv.IntSize)
	if err != nil {
		if errors.Is(err, strconv.ErrRange) {
			return 0, fmt.Errorf("%s overflows", n)
		}
		return 0, fmt.Errorf("%s is not an integer", n)
	}
	return int(a), nil
}

func jsonScale(v json.RawMessage) (decimal.Decimal, error) {
	if jsonIsNull(v) {
		return decimal.Decimal{}, errors.New("null; omit the key for a scale of 1")
	}
	var d decimal.Decimal
	if err := d.UnmarshalJSON(v); err != nil {
		return decimal.Decimal{}, fmt.Errorf("%s is not a decimal", v)
	}
	return d, nil
}

func jsonIsNull(v json.RawMessage) bool { return bytes.Equal(bytes.TrimSpace(v), []byte("null")) }

func sortedJSONKeys(m map[string]json.RawMessage) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
