package gs1

// gs1-syntax-dictionary.txt is the GS1 Barcode Syntax Dictionary, release
// 2026-01-27, from https://github.com/gs1/gs1-syntax-dictionary (Apache-2.0).
// To move to a new release, replace the file and run go generate; a test
// fails while ai_table.go and the dictionary disagree.
//go:generate go run ./internal/gen -in gs1-syntax-dictionary.txt -out ai_table.go

// charset is the character set of one component of an AI's data.
type charset uint8

const (
	csN charset = iota // digits
	csX                // GS1 AI encodable character set 82
	csY                // GS1 AI encodable character set 39
	csZ                // GS1 AI encodable character set 64 (base64url)
)

// part is one component of an AI's data, as the GS1 Barcode Syntax
// Dictionary decomposes it: a charset, a length and the named checks
// ("linters") that apply to the component alone.
type part struct {
	cs       charset
	min, max int
	optional bool
	linters  []string
}

// aiDef is one entry of the GS1 Barcode Syntax Dictionary: an application
// identifier, its data components and its rules. The table is generated
// into ai_table.go.
type aiDef struct {
	ai    string
	title string // the GS1 data title, used in error messages
	// predefined says the element string has a predefined length and needs
	// no FNC1 after it (flag "*").
	predefined bool
	// dlAttr says the AI may be a Digital Link query attribute (flag "?").
	dlAttr bool
	parts  []part
	// req lists mandatory associations: each rule must be met by one of its
	// alternatives, an alternative by all of its AIs or patterns ("31nn").
	req [][][]string
	// ex lists the AIs and patterns this AI may not appear with.
	ex []string
	// dlKey marks a Digital Link primary key; dlQualifiers holds its
	// alternative ordered sequences of key qualifiers.
	dlKey        bool
	dlQualifiers [][]string
}

// fixedLength returns the data length of an AI whose components are all of
// fixed length and mandatory, or 0.
func (d *aiDef) fixedLength() int {
	n := 0
	for _, p := range d.parts {
		if p.optional || p.min != p.max {
			return 0
		}
		n += p.max
	}
	return n
}

// maxLength returns the longest data the AI admits.
func (d *aiDef) maxLength() int {
	n := 0
	for _, p := range d.parts {
		n += p.max
	}
	return n
}

// needsSeparator reports whether an element string with this AI must be
// followed by FNC1 when another element string follows it. Only the AIs of
// GS1 General Specifications figure 7.8.5-2 (flag "*" of the dictionary) are
// exempt; other fixed-length AIs such as 402 and 7003 still need FNC1.
func (d *aiDef) needsSeparator() bool { return !d.predefined }

// name is how error messages name the AI: its data title, or the AI for
// the few entries without one.
func (d *aiDef) name() string {
	if d.title == "" {
		return "AI " + d.ai
	}
	return d.title
}

var aiTable = buildAITable()

func buildAITable() map[string]*aiDef {
	m := make(map[string]*aiDef, len(dictionary))
	for i := range dictionary {
		m[dictionary[i].ai] = &dictionary[i]
	}
	return m
}

// lookupAI finds the application identifier at the start of s. GS1 AIs are
// prefix-free, so at most one of the 2-, 3- and 4-digit prefixes matches.
func lookupAI(s string) (*aiDef, bool) {
	for n := 2; n <= 4 && n <= len(s); n++ {
		if d, ok := aiTable[s[:n]]; ok {
			return d, true
		}
	}
	return nil, false
}

// matchAI reports whether ai matches pattern, an AI or an AI with trailing
// "n" standing for any digit ("310n", "31nn").
func matchAI(pattern, ai string) bool {
	if len(pattern) != len(ai) {
		return false
	}
	for i := 0; i < len(ai); i++ {
		if pattern[i] != ai[i] && !(pattern[i] == 'n' && ai[i] >= '0' && ai[i] <= '9') {
			return false
		}
	}
	return true
}

// isCSET82 reports whether c is in GS1 AI encodable character set 82.
func isCSET82(c byte) bool {
	switch {
	case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		return true
	}
	switch c {
	case '!', '"', '%', '&', '\'', '(', ')', '*', '+', ',', '-', '.', '/', ':', ';', '<', '=', '>', '?', '_':
		return true
	}
	return false
}

// isCSET39 reports whether c is in GS1 AI encodable character set 39.
func isCSET39(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '#' || c == '-' || c == '/'
}

// isCSET64 reports whether c is in GS1 AI encodable character set 64, the
// base64url alphabet; its padding '=' is checked apart.
func isCSET64(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_'
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
