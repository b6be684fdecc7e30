package plc

import (
	"errors"
	"fmt"
	"strings"

	"github.com/interlock-mes/interlock"

	"github.com/shopspring/decimal"
)

// Area is one of the four Modbus data areas a tag lives in.
type Area string

// The Modbus data areas.
const (
	AreaCoil            Area = "coil"             // read/write bits
	AreaDiscreteInput   Area = "discrete-input"   // read-only bits
	AreaHoldingRegister Area = "holding-register" // read/write 16-bit words
	AreaInputRegister   Area = "input-register"   // read-only 16-bit words
)

// bitArea reports whether a holds bits rather than 16-bit registers.
func (a Area) bitArea() bool { return a == AreaCoil || a == AreaDiscreteInput }

func (a Area) known() bool {
	switch a {
	case AreaCoil, AreaDiscreteInput, AreaHoldingRegister, AreaInputRegister:
		return true
	}
	return false
}

// DataType is how the raw bits or words of a tag are read as a number.
type DataType string

// The data types a tag can have. Bool lives in the bit areas; the others live
// in the register areas.
const (
	TypeBool    DataType = "bool"
	TypeInt16   DataType = "int16"
	TypeUint16  DataType = "uint16"
	TypeInt32   DataType = "int32"   // two registers
	TypeUint32  DataType = "uint32"  // two registers
	TypeFloat32 DataType = "float32" // two registers, IEEE 754 single precision
)

func (t DataType) known() bool {
	switch t {
	case TypeBool, TypeInt16, TypeUint16, TypeInt32, TypeUint32, TypeFloat32:
		return true
	}
	return false
}

// Width returns how many bits (for TypeBool) or registers the type spans,
// or 0 for an unknown type.
func (t DataType) Width() int {
	switch t {
	case TypeBool, TypeInt16, TypeUint16:
		return 1
	case TypeInt32, TypeUint32, TypeFloat32:
		return 2
	}
	return 0
}

func (t DataType) integer() bool {
	switch t {
	case TypeInt16, TypeUint16, TypeInt32, TypeUint32:
		return true
	}
	return false
}

// WordOrder says which register of a 32-bit value holds its high half.
// Devices disagree, so it is never guessed: 32-bit tags must state it and
// 16-bit tags must leave it empty.
type WordOrder string

// The word orders of 32-bit values. Within a register the bytes are always
// big-endian, as the Modbus specification requires.
const (
	HighWordFirst WordOrder = "high-word-first" // the lower address holds the high 16 bits
	LowWordFirst  WordOrder = "low-word-first"  // the lower address holds the low 16 bits
)

// Role says what a tag means to the equipment event model. A tag without a
// role is part of the map but is not polled.
type Role string

// The roles. Running, fault code, good count, reject count and PackML state
// may each be held by at most one tag; any number of tags may be parameters.
const (
	RoleNone        Role = ""
	RoleRunning     Role = "running"      // non-zero means the equipment runs; bool or integer
	RoleFaultCode   Role = "fault-code"   // non-zero is the active fault; bool (code 1) or integer, unscaled
	RoleGoodCount   Role = "good-count"   // cumulative good parts; integer
	RoleRejectCount Role = "reject-count" // cumulative rejected parts; integer
	RolePackMLState Role = "packml-state" // PackML state number; integer, unscaled
	RoleParameter   Role = "parameter"    // a set point or recipe value whose changes are recorded
)

func (r Role) known() bool {
	switch r {
	case RoleNone, RoleRunning, RoleFaultCode, RoleGoodCount, RoleRejectCount, RolePackMLState, RoleParameter:
		return true
	}
	return false
}

// singular reports whether at most one tag of a map may hold the role.
func (r Role) singular() bool { return r != RoleNone && r != RoleParameter }

// maxScaleExponent bounds the decimal exponent of a scale; no real scale
// comes near it.
const maxScaleExponent = 64

// maxModbusAddress is the highest 0-based address in any Modbus area.
const maxModbusAddress = 0xFFFF

// Tag names one value in a PLC: where it lives, how to read it and what it
// means.
type Tag struct {
	Name    string
	Area    Area
	Address int // 0-based: holding register 0 is what manuals often call 40001
	Type    DataType
	// WordOrder is required for 32-bit types and must be empty otherwise.
	WordOrder WordOrder
	// Scale multiplies the raw value. Nil means 1; that is the only default,
	// and it applies only when the field is absent: a present scale of 0 is
	// an error, never read as "unset". A negative scale is allowed (a
	// transducer mounted the other way round); its decimal exponent must lie
	// within ±64.
	Scale *decimal.Decimal
	Unit  string // such as "kg", "rpm"; empty for counts and states
	Role  Role
}

// Sentinel errors for the problems a tag can have. Each TagProblem wraps one
// of them, so errors.Is works on a whole TagMapError.
var (
	ErrTagName         = errors.New("missing or duplicate name")
	ErrTagArea         = errors.New("unknown area")
	ErrTagType         = errors.New("unknown data type")
	ErrTagTypeArea     = errors.New("data type does not fit the area")
	ErrTagWordOrder    = errors.New("word order does not fit the data type")
	ErrTagAddress      = errors.New("address out of range")
	ErrTagScale        = errors.New("bad scale")
	ErrTagRole         = errors.New("bad role")
	ErrTagField        = errors.New("bad field")
	ErrTagUnknownField = errors.New("unknown field")
)

// TagProblem is one thing wrong with one entry of a tag map.
type TagProblem struct {
	Index int    // position of the entry in the map, from 0
	Name  string // the entry's name, possibly empty
	Field string // the field at fault, such as "address"
	Err   error  // wraps one of the ErrTag… sentinels
}

func (p TagProblem) Error() string {
	return fmt.Sprintf("tag %d %q: %s: %v", p.Index, p.Name, p.Field, p.Err)
}

// Unwrap returns the cause, one of the ErrTag… sentinels or an error that
// wraps one.
func (p TagProblem) Unwrap() error { return p.Err }

// TagMapError lists every problem found in a tag map, not only the first, so
// that one round of fixes suffices. Use errors.As to read the problems and
// errors.Is to test for a sentinel such as ErrTagAddress.
type TagMapError struct {
	Problems []TagProblem
}

func (e *TagMapError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "tag map: %d problem", len(e.Problems))
	if len(e.Problems) != 1 {
		b.WriteString("s")
	}
	for _, p := range e.Problems {
		b.WriteString("; ")
		b.WriteString(p.Error())
	}
	return b.String()
}

// Unwrap returns each problem, for errors.Is and errors.As.
func (e *TagMapError) Unwrap() []error {
	errs := make([]error, len(e.Problems), len(e.Problems)+1)
	for i, p := range e.Problems {
		errs[i] = p
	}
	errs = append(errs, interlock.ErrInvalid)
	return errs
}

// problem builds a TagProblem whose Err wraps sentinel with a reason.
func newTagProblem(i int, name, field string, sentinel error, format string, args ...any) TagProblem {
	return TagProblem{Index: i, Name: name, Field: field, Err: fmt.Errorf("%w: %s", sentinel, fmt.Sprintf(format, args...))}
}

// check returns the problems of one tag on its own, as entry i of a map.
func (t Tag) check(i int) []TagProblem {
	var ps []TagProblem
	add := func(field string, sentinel error, format string, args ...any) {
		ps = append(ps, newTagProblem(i, t.Name, field, sentinel, format, args...))
	}
	if t.Name == "" {
		add("name", ErrTagName, "empty")
	}
	areaOK, typeOK := t.Area.known(), t.Type.known()
	if !areaOK {
		add("area", ErrTagArea, "%q; want coil, discrete-input, holding-register or input-register", t.Area)
	}
	if !typeOK {
		add("type", ErrTagType, "%q; want bool, int16, uint16, int32, uint32 or float32", t.Type)
	}
	if areaOK && typeOK {
		switch {
		case t.Area.bitArea() && t.Type != TypeBool:
			add("type", ErrTagTypeArea, "%s on %s; a bit area holds only bool", t.Type, t.Area)
		case !t.Area.bitArea() && t.Type == TypeBool:
			add("type", ErrTagTypeArea, "bool on %s; a register area holds numbers", t.Area)
		}
	}
	if typeOK {
		switch {
		case t.Type.Width() == 2 && t.WordOrder != HighWordFirst && t.WordOrder != LowWordFirst:
			if t.WordOrder == "" {
				add("word_order", ErrTagWordOrder, "required for %s: high-word-first or low-word-first", t.Type)
			} else {
				add("word_order", ErrTagWordOrder, "%q; want high-word-first or low-word-first", t.WordOrder)
			}
		case t.Type.Width() == 1 && t.WordOrder != "":
			add("word_order", ErrTagWordOrder, "%q on 16-bit or bit type %s", t.WordOrder, t.Type)
		}
	}
	switch {
	case t.Address < 0:
		add("address", ErrTagAddress, "%d is negative", t.Address)
	case t.Address > maxModbusAddress:
		add("address", ErrTagAddress, "%d is above %d", t.Address, maxModbusAddress)
	case typeOK && t.Address+t.Type.Width()-1 > maxModbusAddress:
		add("address", ErrTagAddress, "%s at %d runs past %d", t.Type, t.Address, maxModbusAddress)
	}
	if t.Scale != nil {
		switch {
		case t.Type == TypeBool:
			add("scale", ErrTagScale, "a bool cannot be scaled")
		case t.Scale.IsZero():
			add("scale", ErrTagScale, "zero would erase every value")
		case t.Scale.Exponent() < -maxScaleExponent || t.Scale.Exponent() > maxScaleExponent:
			// Bounded so that decoding can never overflow the decimal exponent.
			add("scale", ErrTagScale, "exponent %d is beyond ±%d", t.Scale.Exponent(), maxScaleExponent)
		}
	}
	if !t.Role.known() {
		add("role", ErrTagRole, "%q; want running, fault-code, good-count, reject-count, packml-state or parameter", t.Role)
	} else if typeOK {
		if reason := t.roleMisfit(); reason != "" {
			add("role", ErrTagRole, "%s", reason)
		}
	}
	return ps
}

// roleMisfit says why t's type or scale does not fit its role, or "".
func (t Tag) roleMisfit() string {
	unscaled := t.Scale == nil || t.Scale.Equal(decimal.NewFromInt(1))
	switch t.Role {
	case RoleRunning:
		if t.Type != TypeBool && !t.Type.integer() {
			return fmt.Sprintf("running needs bool or an integer type, not %s", t.Type)
		}
	case RoleFaultCode:
		if t.Type != TypeBool && !t.Type.integer() {
			return fmt.Sprintf("fault-code needs bool or an integer type, not %s", t.Type)
		}
		if !unscaled {
			return "fault-code is a code and cannot be scaled"
		}
	case RolePackMLState:
		if !t.Type.integer() {
			return fmt.Sprintf("packml-state needs an integer type, not %s", t.Type)
		}
		if !unscaled {
			return "packml-state is a state number and cannot be scaled"
		}
	case RoleGoodCount, RoleRejectCount:
		if !t.Type.integer() {
			return fmt.Sprintf("%s needs an integer type, not %s", t.Role, t.Type)
		}
	}
	return ""
}

// TagMap is a validated set of tags with unique names. Build one with
// NewTagMap or LoadTagMap; the zero value is an empty map.
type TagMap struct {
	tags   []Tag
	byName map[string]int
}

// NewTagMap validates tags and returns them as a map. When any tag is wrong
// the error is a *TagMapError listing every problem with the entry's index
// and name; no map is returned then.
func NewTagMap(tags []Tag) (*TagMap, error) {
	return newTagMap(tags, nil)
}

// newTagMap validates tags as NewTagMap does. pre holds problems already
// found for entry i while decoding it; check problems on the same fields are
// left out, because they would only repeat the cause in other words.
func newTagMap(tags []Tag, pre map[int][]TagProblem) (*TagMap, error) {
	var ps []TagProblem
	seen := make(map[string]int, len(tags))
	roles := make(map[Role]int)
	for i, t := range tags {
		ps = append(ps, pre[i]...)
		bad := make(map[string]bool, len(pre[i]))
		for _, p := range pre[i] {
			bad[p.Field] = true
		}
		for _, p := range t.check(i) {
			// An entry that is not even an object has nothing more to say.
			if !bad[p.Field] && !bad["entry"] {
				ps = append(ps, p)
			}
		}
		if t.Name != "" {
			if first, dup := seen[t.Name]; dup {
				ps = append(ps, newTagProblem(i, t.Name, "name", ErrTagName, "duplicate of tag %d", first))
			} else {
				seen[t.Name] = i
			}
		}
		if t.Role.singular() && !bad["role"] {
			if first, dup := roles[t.Role]; dup {
				ps = append(ps, newTagProblem(i, t.Name, "role", ErrTagRole, "%s is already held by tag %d %q", t.Role, first, tags[first].Name))
			} else {
				roles[t.Role] = i
			}
		}
	}
	if len(ps) > 0 {
		return nil, &TagMapError{Problems: ps}
	}
	m := &TagMap{tags: make([]Tag, len(tags)), byName: seen}
	for i, t := range tags {
		m.tags[i] = t.clone()
	}
	return m, nil
}

// Tags returns a copy of the tags in map order.
func (m *TagMap) Tags() []Tag {
	if m == nil {
		return nil
	}
	out := make([]Tag, len(m.tags))
	for i, t := range m.tags {
		out[i] = t.clone()
	}
	return out
}

// Tag returns the tag called name.
func (m *TagMap) Tag(name string) (Tag, bool) {
	if m == nil {
		return Tag{}, false
	}
	i, ok := m.byName[name]
	if !ok {
		return Tag{}, false
	}
	return m.tags[i].clone(), true
}

// clone returns t with its own copy of the scale, so that a caller cannot
// change a map through a returned tag.
func (t Tag) clone() Tag {
	if t.Scale != nil {
		s := *t.Scale
		t.Scale = &s
	}
	return t
}

// Len returns the number of tags.
func (m *TagMap) Len() int {
	if m == nil {
		return 0
	}
	return len(m.tags)
}
