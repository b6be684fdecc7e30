package plc

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/shopspring/decimal"
)

// problemSummary is a TagProblem with its cause reduced to the sentinel it
// wraps, so tables can say which problem without repeating messages.
type problemSummary struct {
	Index    int
	Name     string
	Field    string
	Sentinel string
}

var tagSentinels = map[string]error{
	"name":          ErrTagName,
	"area":          ErrTagArea,
	"type":          ErrTagType,
	"type-area":     ErrTagTypeArea,
	"word-order":    ErrTagWordOrder,
	"address":       ErrTagAddress,
	"scale":         ErrTagScale,
	"role":          ErrTagRole,
	"field":         ErrTagField,
	"unknown-field": ErrTagUnknownField,
}

// summarise returns the problems of err, which must be a *TagMapError.
func summariseTagProblems(t *testing.T, err error) []problemSummary {
	t.Helper()
	if err == nil {
		return nil
	}
	var tme *TagMapError
	if !errors.As(err, &tme) {
		t.Fatalf("error %v (%T) is not a *TagMapError", err, err)
	}
	var out []problemSummary
	for _, p := range tme.Problems {
		s := problemSummary{Index: p.Index, Name: p.Name, Field: p.Field}
		for name, sentinel := range tagSentinels {
			if errors.Is(p, sentinel) {
				s.Sentinel = name
			}
		}
		if s.Sentinel == "" {
			t.Errorf("problem %v wraps no sentinel", p)
		}
		out = append(out, s)
	}
	return out
}

func scaleOf(s string) *decimal.Decimal {
	d := decimal.RequireFromString(s)
	return &d
}

func TestNewTagMapValidation(t *testing.T) {
	t.Parallel()
	good := Tag{Name: "speed", Area: AreaHoldingRegister, Address: 10, Type: TypeUint16, Unit: "rpm"}
	with := func(f func(*Tag)) Tag {
		t := good
		f(&t)
		return t
	}
	tests := []struct {
		name string
		tags []Tag
		want []problemSummary
	}{
		{name: "Valid", tags: []Tag{good}},
		{name: "Empty", tags: nil},
		{name: "EveryTypeInItsArea", tags: []Tag{
			{Name: "a", Area: AreaCoil, Type: TypeBool},
			{Name: "b", Area: AreaDiscreteInput, Type: TypeBool, Address: 65535},
			{Name: "c", Area: AreaInputRegister, Type: TypeInt16},
			{Name: "d", Area: AreaHoldingRegister, Type: TypeInt32, WordOrder: HighWordFirst, Address: 65534},
			{Name: "e", Area: AreaHoldingRegister, Type: TypeUint32, WordOrder: LowWordFirst},
			{Name: "f", Area: AreaInputRegister, Type: TypeFloat32, WordOrder: HighWordFirst, Scale: scaleOf("-0.001")},
		}},
		{name: "MissingName", tags: []Tag{with(func(t *Tag) { t.Name = "" })},
			want: []problemSummary{{0, "", "name", "name"}}},
		{name: "DuplicateName", tags: []Tag{good, with(func(t *Tag) { t.Address = 11 }), good},
			want: []problemSummary{{1, "speed", "name", "name"}, {2, "speed", "name", "name"}}},
		{name: "UnknownArea", tags: []Tag{with(func(t *Tag) { t.Area = "register" })},
			want: []problemSummary{{0, "speed", "area", "area"}}},
		{name: "UnknownType", tags: []Tag{with(func(t *Tag) { t.Type = "float64" })},
			want: []problemSummary{{0, "speed", "type", "type"}}},
		{name: "BoolOnRegister", tags: []Tag{with(func(t *Tag) { t.Type = TypeBool })},
			want: []problemSummary{{0, "speed", "type", "type-area"}}},
		{name: "NumberOnCoil", tags: []Tag{with(func(t *Tag) { t.Area = AreaCoil })},
			want: []problemSummary{{0, "speed", "type", "type-area"}}},
		{name: "NumberOnDiscreteInput", tags: []Tag{with(func(t *Tag) { t.Area = AreaDiscreteInput; t.Type = TypeFloat32; t.WordOrder = HighWordFirst })},
			want: []problemSummary{{0, "speed", "type", "type-area"}}},
		{name: "WordOrderOn16Bit", tags: []Tag{with(func(t *Tag) { t.WordOrder = HighWordFirst })},
			want: []problemSummary{{0, "speed", "word_order", "word-order"}}},
		{name: "WordOrderOnBool", tags: []Tag{{Name: "b", Area: AreaCoil, Type: TypeBool, WordOrder: LowWordFirst}},
			want: []problemSummary{{0, "b", "word_order", "word-order"}}},
		{name: "WordOrderMissingOn32Bit", tags: []Tag{with(func(t *Tag) { t.Type = TypeInt32 })},
			want: []problemSummary{{0, "speed", "word_order", "word-order"}}},
		{name: "WordOrderUnknown", tags: []Tag{with(func(t *Tag) { t.Type = TypeUint32; t.WordOrder = "big-endian" })},
			want: []problemSummary{{0, "speed", "word_order", "word-order"}}},
		{name: "NegativeAddress", tags: []Tag{with(func(t *Tag) { t.Address = -1 })},
			want: []problemSummary{{0, "speed", "address", "address"}}},
		{name: "AddressAbove65535", tags: []Tag{with(func(t *Tag) { t.Address = 65536 })},
			want: []problemSummary{{0, "speed", "address", "address"}}},
		{name: "32BitRunsPastEnd", tags: []Tag{with(func(t *Tag) { t.Address = 65535; t.Type = TypeFloat32; t.WordOrder = LowWordFirst })},
			want: []problemSummary{{0, "speed", "address", "address"}}},
		{name: "ZeroScale", tags: []Tag{with(func(t *Tag) { t.Scale = scaleOf("0") })},
			want: []problemSummary{{0, "speed", "scale", "scale"}}},
		{name: "ScaleOnBool", tags: []Tag{{Name: "b", Area: AreaCoil, Type: TypeBool, Scale: scaleOf("2")}},
			want: []problemSummary{{0, "b", "scale", "scale"}}},
		{name: "HugeScaleExponent", tags: []Tag{with(func(t *Tag) { t.Scale = scaleOf("1e65") })},
			want: []problemSummary{{0, "speed", "scale", "scale"}}},
		{name: "UnknownRole", tags: []Tag{with(func(t *Tag) { t.Role = "speed" })},
			want: []problemSummary{{0, "speed", "role", "role"}}},
		{name: "FloatRunning", tags: []Tag{with(func(t *Tag) { t.Type = TypeFloat32; t.WordOrder = HighWordFirst; t.Role = RoleRunning })},
			want: []problemSummary{{0, "speed", "role", "role"}}},
		{name: "ScaledPackMLState", tags: []Tag{with(func(t *Tag) { t.Role = RolePackMLState; t.Scale = scaleOf("10") })},
			want: []problemSummary{{0, "speed", "role", "role"}}},
		{name: "UnitScalePackMLState", tags: []Tag{with(func(t *Tag) { t.Role = RolePackMLState; t.Scale = scaleOf("1.0") })}},
		{name: "BoolPackMLState", tags: []Tag{{Name: "s", Area: AreaCoil, Type: TypeBool, Role: RolePackMLState}},
			want: []problemSummary{{0, "s", "role", "role"}}},
		{name: "BoolFaultCode", tags: []Tag{{Name: "f", Area: AreaCoil, Type: TypeBool, Role: RoleFaultCode}}},
		{name: "ScaledFaultCode", tags: []Tag{with(func(t *Tag) { t.Role = RoleFaultCode; t.Scale = scaleOf("2") })},
			want: []problemSummary{{0, "speed", "role", "role"}}},
		{name: "FloatCount", tags: []Tag{with(func(t *Tag) { t.Type = TypeFloat32; t.WordOrder = HighWordFirst; t.Role = RoleGoodCount })},
			want: []problemSummary{{0, "speed", "role", "role"}}},
		{name: "TwoRunningTags", tags: []Tag{
			with(func(t *Tag) { t.Role = RoleRunning }),
			with(func(t *Tag) { t.Name = "run2"; t.Role = RoleRunning }),
		}, want: []problemSummary{{1, "run2", "role", "role"}}},
		{name: "ManyParameters", tags: []Tag{
			with(func(t *Tag) { t.Role = RoleParameter }),
			with(func(t *Tag) { t.Name = "temp"; t.Role = RoleParameter }),
		}},
		{name: "EveryProblemListed", tags: []Tag{
			good,
			{Name: "speed", Area: "x", Address: -5, Type: "y", Scale: scaleOf("0"), Role: "z"},
			{Name: "ok", Area: AreaCoil, Type: TypeBool},
			{Area: AreaCoil, Type: TypeUint32, Address: 70000},
		}, want: []problemSummary{
			{1, "speed", "area", "area"},
			{1, "speed", "type", "type"},
			{1, "speed", "address", "address"},
			{1, "speed", "scale", "scale"},
			{1, "speed", "role", "role"},
			{1, "speed", "name", "name"},
			{3, "", "name", "name"},
			{3, "", "type", "type-area"},
			{3, "", "word_order", "word-order"},
			{3, "", "address", "address"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m, err := NewTagMap(tt.tags)
			if diff := cmp.Diff(tt.want, summariseTagProblems(t, err)); diff != "" {
				t.Errorf("problems (-want +got):\n%s\nerror: %v", diff, err)
			}
			if err == nil && m.Len() != len(tt.tags) {
				t.Errorf("Len() = %d, want %d", m.Len(), len(tt.tags))
			}
			if err != nil && m != nil {
				t.Errorf("got a map along with error %v", err)
			}
		})
	}
}

func TestTagMapErrorMessageNamesEachEntry(t *testing.T) {
	t.Parallel()
	_, err := NewTagMap([]Tag{
		{Name: "a", Area: AreaCoil, Type: TypeInt16},
		{Name: "b", Area: AreaHoldingRegister, Type: TypeUint16, Address: -1},
	})
	want := `tag map: 2 problems; tag 0 "a": type: data type does not fit the area: int16 on coil; a bit area holds only bool; ` +
		`tag 1 "b": address: address out of range: -1 is negative`
	if err == nil || err.Error() != want {
		t.Errorf("error = %v\nwant    %s", err, want)
	}
	if !errors.Is(err, ErrTagAddress) || !errors.Is(err, ErrTagTypeArea) || errors.Is(err, ErrTagScale) {
		t.Errorf("errors.Is does not see exactly the problems' sentinels in %v", err)
	}
}

func TestTagMapIsolatedFromCaller(t *testing.T) {
	t.Parallel()
	tags := []Tag{{Name: "t", Area: AreaHoldingRegister, Type: TypeInt16, Scale: scaleOf("0.5")}}
	m, err := NewTagMap(tags)
	if err != nil {
		t.Fatal(err)
	}
	*tags[0].Scale = decimal.NewFromInt(7)
	tags[0].Name = "changed"
	got, ok := m.Tag("t")
	if !ok {
		t.Fatal(`Tag("t") not found`)
	}
	*got.Scale = decimal.NewFromInt(9)
	again, _ := m.Tag("t")
	if !again.Scale.Equal(decimal.RequireFromString("0.5")) {
		t.Errorf("scale = %s after callers changed their copies, want 0.5", again.Scale)
	}
	if _, ok := m.Tag("changed"); ok {
		t.Error("renaming the caller's slice renamed the map's tag")
	}
}
