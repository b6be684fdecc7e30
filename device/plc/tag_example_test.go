package plc_test

import (
	"fmt"
	"strings"

	"github.com/interlock-mes/interlock/device/plc"
)

// A tag map comes from JSON; a tag then decodes the words a PLC returned.
func ExampleLoadTagMap() {
	const doc = `{"tags": [
		{"name": "oven-temp", "area": "input-register", "address": 20,
		 "type": "int32", "word_order": "low-word-first", "scale": "0.1", "unit": "°C",
		 "role": "parameter"},
		{"name": "fill-weight", "area": "holding-register", "address": 30,
		 "type": "float32", "word_order": "high-word-first", "unit": "kg"}
	]}`
	m, err := plc.LoadTagMap(strings.NewReader(doc))
	if err != nil {
		fmt.Println(err)
		return
	}

	temp, _ := m.Tag("oven-temp")
	v, err := plc.DecodeTag(temp, []uint16{0xF8F2, 0xFFFF}) // -1806, low word first
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(temp.Name, v, temp.Unit)

	weight, _ := m.Tag("fill-weight")
	v, err = plc.DecodeTag(weight, []uint16{0x4148, 0x0000}) // 12.5 as IEEE 754
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(weight.Name, v, weight.Unit)

	_, err = plc.LoadTagMap(strings.NewReader(`{"tags": [
		{"name": "bad", "area": "coil", "address": -1, "type": "float32"}
	]}`))
	fmt.Println(err)
	// Output:
	// oven-temp -180.6 °C
	// fill-weight 12.5 kg
	// tag map: 3 problems; tag 0 "bad": type: data type does not fit the area: float32 on coil; a bit area holds only bool; tag 0 "bad": word_order: word order does not fit the data type: required for float32: high-word-first or low-word-first; tag 0 "bad": address: address out of range: -1 is negative
}
