package device_test

import (
	"errors"
	"fmt"

	"github.com/interlock-mes/interlock/device"
)

func ExampleParseMTSICS() {
	r, err := device.ParseMTSICS([]byte("S S     100.00 g\r\n"))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(r.Command, r.Status, r.Value, r.Unit)

	r, err = device.ParseMTSICS([]byte("S +\r\n"))
	fmt.Println(r.Command, errors.Is(err, device.ErrOverload))

	_, err = device.ParseMTSICS([]byte("S S 1e3 g"))
	fmt.Println(err)
	// Output:
	// S S 100 g
	// S true
	// mt-sics reply "S S 1e3 g": malformed line: value "1e3"
}
