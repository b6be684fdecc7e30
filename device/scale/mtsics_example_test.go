package scale_test

import (
	"errors"
	"fmt"

	"github.com/interlock-mes/interlock/device/scale"
)

func ExampleParseMTSICS() {
	r, err := scale.ParseMTSICS([]byte("S S     100.00 g\r\n"))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(r.Command, r.Status, r.Value, r.Unit)

	r, err = scale.ParseMTSICS([]byte("S +\r\n"))
	fmt.Println(r.Command, errors.Is(err, scale.ErrOverload))

	_, err = scale.ParseMTSICS([]byte("S S 1e3 g"))
	fmt.Println(err)
	// Output:
	// S S 100 g
	// S true
	// mt-sics reply "S S 1e3 g": malformed line: value "1e3"
}
