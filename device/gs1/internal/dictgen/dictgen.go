// Package dictgen turns the GS1 Barcode Syntax Dictionary into the Go table
// of application identifiers that package gs1 compiles in. It lives apart
// from the command that writes the file so that a test of package gs1 can
// regenerate the table in memory and compare it with the committed one.
package dictgen

import (
	"bufio"
	"bytes"
	"fmt"
	"go/format"
	"regexp"
	"strconv"
	"strings"
)

// Entry is one application identifier of the dictionary, with a range such
// as 3100-3105 expanded into its members.
type Entry struct {
	AI         string
	Title      string
	Predefined bool // flag "*": predefined length, no FNC1 after it
	DLAttr     bool // flag "?": allowed as a Digital Link data attribute
	Parts      []Part
	Req        [][][]string // each req= attribute: alternatives, each a group of AIs or patterns
	Ex         []string     // union of the ex= attributes: AIs or patterns
	DLKey      bool         // attribute dlpkey
	DLQuals    [][]string   // dlpkey=...: alternative ordered qualifier sequences
}

// Part is one component of an AI's data.
type Part struct {
	Charset  byte // 'N', 'X', 'Y' or 'Z'
	Min, Max int
	Optional bool
	Linters  []string
}

// Release returns the value of the "# Release:" line of the dictionary.
func Release(src []byte) string {
	for _, line := range strings.Split(string(src), "\n") {
		if r, ok := strings.CutPrefix(line, "# Release:"); ok {
			return strings.TrimSpace(r)
		}
	}
	return ""
}

var (
	partRE  = regexp.MustCompile(`^(\[)?([NXYZ])(\d+|\.\.\d+)(\])?((?:,[a-z0-9]+)*)$`)
	aiRE    = regexp.MustCompile(`^(\d{2,4})(?:-(\d{2,4}))?$`)
	patRE   = regexp.MustCompile(`^\d{2,4}$|^\d{2,3}n{1,2}$`)
	flagSet = "*!?\"$%&'()+,-./:;<=>@[\\]^_`{|}~"
)

// Parse reads the dictionary. It refuses anything it does not understand,
// so that a new release with a new construct is noticed at generation.
func Parse(src []byte) ([]Entry, error) {
	var out []Entry
	sc := bufio.NewScanner(bytes.NewReader(src))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || strings.TrimSpace(line) == "" {
			continue
		}
		es, err := parseLine(line)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		out = append(out, es...)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, e := range out {
		if seen[e.AI] {
			return nil, fmt.Errorf("AI %s defined twice", e.AI)
		}
		seen[e.AI] = true
	}
	return out, nil
}

func parseLine(line string) ([]Entry, error) {
	body, title, _ := strings.Cut(line, "#")
	fields := strings.Fields(body)
	if len(fields) < 2 {
		return nil, fmt.Errorf("too few fields in %q", line)
	}
	m := aiRE.FindStringSubmatch(fields[0])
	if m == nil {
		return nil, fmt.Errorf("bad AI or range %q", fields[0])
	}
	var e Entry
	e.Title = strings.TrimSpace(title)
	rest := fields[1:]
	if strings.Trim(rest[0], flagSet) == "" {
		for _, f := range rest[0] {
			switch f {
			case '*':
				e.Predefined = true
			case '?':
				e.DLAttr = true
			default:
				return nil, fmt.Errorf("unknown flag %q", f)
			}
		}
		rest = rest[1:]
	}
	for len(rest) > 0 {
		pm := partRE.FindStringSubmatch(rest[0])
		if pm == nil {
			break
		}
		p := Part{Charset: pm[2][0], Optional: pm[1] == "["}
		if (pm[1] == "[") != (pm[4] == "]") {
			return nil, fmt.Errorf("unbalanced brackets in %q", rest[0])
		}
		if l, ok := strings.CutPrefix(pm[3], ".."); ok {
			p.Min, p.Max = 1, atoi(l)
		} else {
			p.Min, p.Max = atoi(pm[3]), atoi(pm[3])
		}
		if pm[5] != "" {
			p.Linters = strings.Split(pm[5][1:], ",")
		}
		e.Parts = append(e.Parts, p)
		rest = rest[1:]
	}
	if len(e.Parts) == 0 {
		return nil, fmt.Errorf("no data specification in %q", line)
	}
	for i, p := range e.Parts {
		if p.Min != p.Max && i != len(e.Parts)-1 {
			return nil, fmt.Errorf("variable-length component before the last in %q", line)
		}
		if i > 0 && e.Parts[i-1].Optional && !p.Optional {
			return nil, fmt.Errorf("mandatory component after an optional one in %q", line)
		}
	}
	for _, a := range rest {
		k, v, hasV := strings.Cut(a, "=")
		switch {
		case k == "req" && hasV:
			var alts [][]string
			for _, alt := range strings.Split(v, ",") {
				group := strings.Split(alt, "+")
				if err := checkPatterns(group); err != nil {
					return nil, err
				}
				alts = append(alts, group)
			}
			e.Req = append(e.Req, alts)
		case k == "ex" && hasV:
			pats := strings.Split(v, ",")
			if err := checkPatterns(pats); err != nil {
				return nil, err
			}
			e.Ex = append(e.Ex, pats...)
		case k == "dlpkey":
			e.DLKey = true
			if hasV {
				for _, seq := range strings.Split(v, "|") {
					q := strings.Split(seq, ",")
					if err := checkPatterns(q); err != nil {
						return nil, err
					}
					e.DLQuals = append(e.DLQuals, q)
				}
			}
		default:
			return nil, fmt.Errorf("unknown attribute %q", a)
		}
	}
	first, last := m[1], m[2]
	if last == "" {
		e.AI = first
		return []Entry{e}, nil
	}
	if len(first) != len(last) || atoi(first) > atoi(last) {
		return nil, fmt.Errorf("range %s-%s", first, last)
	}
	var out []Entry
	for n, end := atoi(first), atoi(last); n <= end; n++ {
		c := e
		c.AI = fmt.Sprintf("%0*d", len(first), n)
		out = append(out, c)
	}
	return out, nil
}

func checkPatterns(ps []string) error {
	for _, p := range ps {
		if !patRE.MatchString(p) {
			return fmt.Errorf("bad AI or pattern %q", p)
		}
	}
	return nil
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s) // the regular expressions admit digits only
	return n
}

// Generate returns the Go source of the table for package gs1: a
// dictionary variable holding one aiDef per application identifier.
func Generate(src []byte) ([]byte, error) {
	entries, err := Parse(src)
	if err != nil {
		return nil, err
	}
	release := Release(src)
	if release == "" {
		return nil, fmt.Errorf("no release line")
	}
	var b bytes.Buffer
	b.WriteString("// Code generated by go run ./internal/gen; DO NOT EDIT.\n\n")
	fmt.Fprintf(&b, "package gs1\n\n")
	fmt.Fprintf(&b, "// dictionaryRelease is the release of gs1-syntax-dictionary.txt this table was generated from.\n")
	fmt.Fprintf(&b, "const dictionaryRelease = %q\n\n", release)
	fmt.Fprintf(&b, "// dictionary holds every application identifier of the GS1 Barcode Syntax Dictionary.\n")
	fmt.Fprintf(&b, "var dictionary = [...]aiDef{\n")
	for _, e := range entries {
		fmt.Fprintf(&b, "{ai: %q, title: %q", e.AI, e.Title)
		if e.Predefined {
			b.WriteString(", predefined: true")
		}
		if e.DLAttr {
			b.WriteString(", dlAttr: true")
		}
		b.WriteString(", parts: []part{")
		for i, p := range e.Parts {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "{cs: cs%c, min: %d, max: %d", p.Charset, p.Min, p.Max)
			if p.Optional {
				b.WriteString(", optional: true")
			}
			if len(p.Linters) > 0 {
				fmt.Fprintf(&b, ", linters: %s", strs(p.Linters))
			}
			b.WriteString("}")
		}
		b.WriteString("}")
		if len(e.Req) > 0 {
			b.WriteString(", req: [][][]string{")
			for i, alts := range e.Req {
				if i > 0 {
					b.WriteString(", ")
				}
				b.WriteString("{")
				for j, g := range alts {
					if j > 0 {
						b.WriteString(", ")
					}
					b.WriteString(strs(g)[len("[]string"):])
				}
				b.WriteString("}")
			}
			b.WriteString("}")
		}
		if len(e.Ex) > 0 {
			fmt.Fprintf(&b, ", ex: %s", strs(e.Ex))
		}
		if e.DLKey {
			b.WriteString(", dlKey: true")
		}
		if len(e.DLQuals) > 0 {
			b.WriteString(", dlQualifiers: [][]string{")
			for i, q := range e.DLQuals {
				if i > 0 {
					b.WriteString(", ")
				}
				b.WriteString(strs(q)[len("[]string"):])
			}
			b.WriteString("}")
		}
		b.WriteString("},\n")
	}
	b.WriteString("}\n")
	return format.Source(b.Bytes())
}

func strs(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = strconv.Quote(s)
	}
	return "[]string{" + strings.Join(q, ", ") + "}"
}
