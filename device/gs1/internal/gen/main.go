// Command gen writes the application identifier table of package gs1 from
// the GS1 Barcode Syntax Dictionary. Run it with go generate in device/gs1.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/interlock-mes/interlock/device/gs1/internal/dictgen"
)

func main() {
	in := flag.String("in", "gs1-syntax-dictionary.txt", "the dictionary to read")
	out := flag.String("out", "ai_table.go", "the Go file to write")
	flag.Parse()
	if err := run(*in, *out); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(in, out string) error {
	src, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	code, err := dictgen.Generate(src)
	if err != nil {
		return fmt.Errorf("%s: %w", in, err)
	}
	return os.WriteFile(out, code, 0o644)
}
