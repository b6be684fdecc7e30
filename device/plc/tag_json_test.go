package plc

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestLoadTagMap(t *testing.T) {
	t.Parallel()
	const doc = `{"tags": [
		{"name": "running", "area": "coil", "address": 0, "type": "bool", "role": "running"},
		{"name": "state", "area": "holding-register", "address": 100, "type": "uint16", "role": "packml-state"},
		{"name": "good", "area": "input-register", "address": 7, "type": "uint32", "word_order": "low-word-first", "role": "good-count"},
		{"name": "temp", "area": "input-register", "address": 9, "type": "float32", "word_order": "high-word-first", "scale": "0.1", "unit": "°C", "role": "parameter"},
		{"name": "speed", "area": "holding-register", "address": 12, "type": "int16", "scale": 2.5, "unit": "m/min"}
	]}`
	m, err := LoadTagMap(strings.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	want := []Tag{
		{Name: "running", Area: AreaCoil, Address: 0, Type: TypeBool, Role: RoleRunning},
		{Name: "state", Area: AreaHoldingRegister, Address: 100, Type: TypeUint16, Role: RolePackMLState},
		{Name: "good", Area: AreaInputRegister, Address: 7, Type: TypeUint32, WordOrder: LowWordFirst, Role: RoleGoodCount},
		{Name: "temp", Area: AreaInputRegister, Address: 9, Type: TypeFloat32, WordOrder: HighWordFirst, Scale: scaleOf("0.1"), Unit: "°C", Role: RoleParameter},
		{Name: "speed", Area: AreaHoldingRegister, Address: 12, Type: TypeInt16, Scale: scaleOf("2.5"), Unit: "m/min"},
	}
	if diff := cmp.Diff(want, m.Tags()); diff != "" {
		t.Errorf("tags (-want +got):\n%s", diff)
	}
}

func TestLoadTagMapEntryProblems(t *testing.T) {
	t.Parallel()
	const ok = `"name": "t", "area": "holding-register", "address": 1, "type": "int16"`
	tests := []struct {
		name  string
		entry string
		want  []problemSummary
	}{
		{name: "UnknownField", entry: `{` + ok + `, "wordorder": "high-word-first"}`,
			want: []problemSummary{{0, "t", "wordorder", "unknown-field"}}},
		{name: "FieldNamesAreExact", entry: `{` + ok + `, "Unit": "kg"}`,
			want: []problemSummary{{0, "t", "Unit", "unknown-field"}}},
		{name: "MissingRequired", entry: `{"unit": "kg"}`,
			want: []problemSummary{{0, "", "name", "field"}, {0, "", "area", "field"}, {0, "", "address", "field"}, {0, "", "type", "field"}}},
		{name: "NotAnObject", entry: `[1, 2]`,
			want: []problemSummary{{0, "", "entry", "field"}}},
		{name: "NullEntry", entry: `null`,
			want: []problemSummary{{0, "", "entry", "field"}}},
		{name: "NameNotString", entry: `{"name": 5, "area": "coil", "address": 1, "type": "bool"}`,
			want: []problemSummary{{0, "", "name", "field"}}},
		{name: "NullUnit", entry: `{` + ok + `, "unit": null}`,
			want: []problemSummary{{0, "t", "unit", "field"}}},
		{name: "AddressAsString", entry: `{"name": "t", "area": "coil", "address": "1", "type": "bool"}`,
			want: []problemSummary{{0, "t", "address", "address"}}},
		{name: "AddressFraction", entry: `{"name": "t", "area": "coil", "address": 1.5, "type": "bool"}`,
			want: []problemSummary{{0, "t", "address", "address"}}},
		{name: "AddressExponent", entry: `{"name": "t", "area": "coil", "address": 1e3, "type": "bool"}`,
			want: []problemSummary{{0, "t", "address", "address"}}},
		{name: "AddressOverflowsInt", entry: `{"name": "t", "area": "coil", "address": 99999999999999999999999, "type": "bool"}`,
			want: []problemSummary{{0, "t", "address", "address"}}},
		{name: "AddressNegative", entry: `{"name": "t", "area": "coil", "address": -3, "type": "bool"}`,
			want: []problemSummary{{0, "t", "address", "address"}}},
		{name: "AddressNull", entry: `{"name": "t", "area": "coil", "address": null, "type": "bool"}`,
			want: []problemSummary{{0, "t", "address", "address"}}},
		{name: "ScaleNull", entry: `{` + ok + `, "scale": null}`,
			want: []problemSummary{{0, "t", "scale", "scale"}}},
		{name: "ScaleNotDecimal", entry: `{` + ok + `, "scale": "ten"}`,
			want: []problemSummary{{0, "t", "scale", "scale"}}},
		{name: "ScaleBoolean", entry: `{` + ok + `, "scale": true}`,
			want: []problemSummary{{0, "t", "scale", "scale"}}},
		{name: "ScaleZero", entry: `{` + ok + `, "scale": 0}`,
			want: []problemSummary{{0, "t", "scale", "scale"}}},
		{name: "AreaNotString", entry: `{"name": "t", "area": 3, "address": 1, "type": "int16"}`,
			want: []problemSummary{{0, "t", "area", "field"}}},
		{name: "UnknownAreaAndType", entry: `{"name": "t", "area": "memory", "address": 1, "type": "int64"}`,
			want: []problemSummary{{0, "t", "area", "area"}, {0, "t", "type", "type"}}},
		{name: "WordOrderOn16Bit", entry: `{` + ok + `, "word_order": "low-word-first"}`,
			want: []problemSummary{{0, "t", "word_order", "word-order"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := LoadTagMap(strings.NewReader(`{"tags": [` + tt.entry + `]}`))
			if diff := cmp.Diff(tt.want, summariseTagProblems(t, err)); diff != "" {
				t.Errorf("problems (-want +got):\n%s\nerror: %v", diff, err)
			}
		})
	}
}

func TestLoadTagMapCollectsAcrossEntries(t *testing.T) {
	t.Parallel()
	const doc = `{"tags": [
		{"name": "a", "area": "coil", "address": 0, "type": "bool"},
		{"name": "a", "area": "coil", "address": 1, "type": "int16"},
		{"name": "b", "area": "holding-register", "address": 0, "type": "int32", "colour": "red"}
	]}`
	_, err := LoadTagMap(strings.NewReader(doc))
	want := []problemSummary{
		{1, "a", "type", "type-area"},
		{1, "a", "name", "name"},
		{2, "b", "colour", "unknown-field"},
		{2, "b", "word_order", "word-order"},
	}
	if diff := cmp.Diff(want, summariseTagProblems(t, err)); diff != "" {
		t.Errorf("problems (-want +got):\n%s\nerror: %v", diff, err)
	}
}

func TestLoadTagMapDocumentErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		doc     string
		wantIs  error // nil when only the message matters
		wantMsg string
	}{
		{name: "Syntax", doc: `{"tags": [`, wantMsg: "load tag map: unexpected EOF"},
		{name: "Empty", doc: ``, wantMsg: "load tag map: EOF"},
		{name: "Null", doc: `null`, wantMsg: "load tag map: document is null"},
		{name: "Array", doc: `[]`, wantMsg: "load tag map: json: cannot unmarshal array into Go value of type map[string]json.RawMessage"},
		{name: "NoTags", doc: `{}`, wantMsg: `load tag map: no "tags" array`},
		{name: "TagsNotArray", doc: `{"tags": {}}`, wantMsg: `load tag map: "tags" is not an array`},
		{name: "TagsNull", doc: `{"tags": null}`, wantMsg: `load tag map: "tags" is not an array`},
		{name: "UnknownTopLevel", doc: `{"tags": [], "version": 2}`, wantIs: ErrTagUnknownField, wantMsg: `load tag map: unknown field "version" at the top level`},
		{name: "TrailingData", doc: `{"tags": []} {"tags": []}`, wantMsg: "load tag map: data after the JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m, err := LoadTagMap(strings.NewReader(tt.doc))
			if err == nil {
				t.Fatalf("loaded %d tags, want an error", m.Len())
			}
			if err.Error() != tt.wantMsg {
				t.Errorf("error = %q, want %q", err, tt.wantMsg)
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("errors.Is(%v, %v) = false", err, tt.wantIs)
			}
		})
	}
}

func TestLoadTagMapEmpty(t *testing.T) {
	t.Parallel()
	m, err := LoadTagMap(strings.NewReader(`{"tags": []}`))
	if err != nil {
		t.Fatal(err)
	}
	if m.Len() != 0 {
		t.Errorf("Len() = %d, want 0", m.Len())
	}
}

// encodeTagMap writes tags in the JSON form LoadTagMap reads, for the
// round trip in FuzzLoadTagMap.
func encodeTagMap(tags []Tag) ([]byte, error) {
	entries := make([]map[string]any, len(tags))
	for i, t := range tags {
		e := map[string]any{"name": t.Name, "area": t.Area, "address": t.Address, "type": t.Type}
		if t.WordOrder != "" {
			e["word_order"] = t.WordOrder
		}
		if t.Scale != nil {
			e["scale"] = t.Scale.String()
		}
		if t.Unit != "" {
			e["unit"] = t.Unit
		}
		if t.Role != "" {
			e["role"] = t.Role
		}
		entries[i] = e
	}
	return json.Marshal(map[string]any{"tags": entries})
}

func FuzzLoadTagMap(f *testing.F) {
	f.Add(`{"tags": [{"name": "a", "area": "coil", "address": 0, "type": "bool", "role": "running"}]}`)
	f.Add(`{"tags": [{"name": "t", "area": "input-register", "address": 65534, "type": "float32", "word_order": "low-word-first", "scale": "1e-3", "unit": "°C"}]}`)
	f.Add(`{"tags": [{"name": "a", "area": "coil", "address": 1.5, "type": "int16", "x": 1}, {"name": "a"}, null, 7]}`)
	f.Add(`{"tags": [{"name": "s", "area": "holding-register", "address": 9, "type": "uint16", "scale": 0.5, "role": "packml-state"}]}`)
	f.Add(`{"tags": [], "version": 1}`)
	f.Fuzz(func(t *testing.T, doc string) {
		m, err := LoadTagMap(strings.NewReader(doc))
		if err != nil {
			var tme *TagMapError
			if errors.As(err, &tme) && len(tme.Problems) == 0 {
				t.Fatalf("TagMapError without problems: %v", err)
			}
			return
		}
		tags := m.Tags()
		if _, err := NewTagMap(tags); err != nil {
			t.Fatalf("loaded tags fail NewTagMap: %v", err)
		}
		for _, tag := range tags {
			raw := make([]uint16, tag.Type.Width())
			if _, err := DecodeTag(tag, raw); err != nil {
				t.Fatalf("loaded tag %+v cannot decode zeros: %v", tag, err)
			}
		}
		enc, err := encodeTagMap(tags)
		if err != nil {
			t.Fatal(err)
		}
		again, err := LoadTagMap(bytes.NewReader(enc))
		if err != nil {
			t.Fatalf("reloading %s: %v", enc, err)
		}
		if diff := cmp.Diff(tags, again.Tags()); diff != "" {
			t.Fatalf("round trip (-first +second):\n%s", diff)
		}
	})
}
