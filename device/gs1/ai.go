package gs1

// aiFormat is how the data of an application identifier is written.
type aiFormat int

const (
	aiNumeric  aiFormat = iota // digits only
	aiCSET82                   // GS1 AI encodable character set 82
	aiDate                     // YYMMDD, DD may be 00 (end of month)
	aiDateTime                 // YYMMDDHHMM
	aiDecimal                  // six digits; the AI's last digit is the number of decimals
)

// aiDef is one row of the GS1 General Specifications application identifier
// table, restricted to the identifiers this package understands.
type aiDef struct {
	ai    string
	title string // the GS1 data title, used in error messages
	// length is the exact data length, or 0 when the data is variable with a
	// maximum of max.
	length int
	max    int
	format aiFormat
	// check says the last digit is a GS1 mod-10 check digit over the data.
	check bool
	// unit applies to measures (aiDecimal).
	unit string
}

// predefinedLength is GS1 General Specifications figure 7.8.5-2: element
// strings whose AI starts with these two digits have a predefined total length
// (AI plus data) and need no FNC1 after them. Every other element string is
// terminated by FNC1 unless it ends the symbol, even if its data happen to be
// of fixed length (7003, 402, ...): the rule is keyed on the first two digits
// so that a reader needs no table newer than the one it shipped with.
var predefinedLength = map[string]int{
	"00": 20, "01": 16, "02": 16, "03": 16, "04": 18,
	"11": 8, "12": 8, "13": 8, "14": 8, "15": 8, "16": 8, "17": 8, "18": 8, "19": 8,
	"20": 4,
	"31": 10, "32": 10, "33": 10, "34": 10, "35": 10, "36": 10,
	"41": 16,
}

// needsSeparator reports whether an element string with this AI must be
// followed by FNC1 when another element string follows it.
func (d aiDef) needsSeparator() bool {
	_, ok := predefinedLength[d.ai[:2]]
	return !ok
}

var aiTable = buildAITable()

func buildAITable() map[string]aiDef {
	defs := []aiDef{
		{ai: "00", title: "SSCC", length: 18, format: aiNumeric, check: true},
		{ai: "01", title: "GTIN", length: 14, format: aiNumeric, check: true},
		{ai: "02", title: "CONTENT", length: 14, format: aiNumeric, check: true},
		{ai: "10", title: "BATCH/LOT", max: 20, format: aiCSET82},
		{ai: "11", title: "PROD DATE", length: 6, format: aiDate},
		{ai: "12", title: "DUE DATE", length: 6, format: aiDate},
		{ai: "13", title: "PACK DATE", length: 6, format: aiDate},
		{ai: "15", title: "BEST BEFORE or BEST BY", length: 6, format: aiDate},
		{ai: "16", title: "SELL BY", length: 6, format: aiDate},
		{ai: "17", title: "USE BY or EXPIRY", length: 6, format: aiDate},
		{ai: "20", title: "VARIANT", length: 2, format: aiNumeric},
		{ai: "21", title: "SERIAL", max: 20, format: aiCSET82},
		{ai: "22", title: "CPV", max: 20, format: aiCSET82},
		{ai: "240", title: "ADDITIONAL ID", max: 30, format: aiCSET82},
		{ai: "241", title: "CUST. PART No.", max: 30, format: aiCSET82},
		{ai: "250", title: "SECONDARY SERIAL", max: 30, format: aiCSET82},
		{ai: "254", title: "GLN EXTENSION COMPONENT", max: 20, format: aiCSET82},
		{ai: "30", title: "VAR. COUNT", max: 8, format: aiNumeric},
		{ai: "37", title: "COUNT", max: 8, format: aiNumeric},
		{ai: "400", title: "ORDER NUMBER", max: 30, format: aiCSET82},
		{ai: "401", title: "GINC", max: 30, format: aiCSET82},
		{ai: "402", title: "GSIN", length: 17, format: aiNumeric, check: true},
		{ai: "410", title: "SHIP TO LOC", length: 13, format: aiNumeric, check: true},
		{ai: "411", title: "BILL TO", length: 13, format: aiNumeric, check: true},
		{ai: "412", title: "PURCHASE FROM", length: 13, format: aiNumeric, check: true},
		{ai: "413", title: "SHIP FOR LOC", length: 13, format: aiNumeric, check: true},
		{ai: "414", title: "LOC No.", length: 13, format: aiNumeric, check: true},
		{ai: "415", title: "PAY TO", length: 13, format: aiNumeric, check: true},
		{ai: "416", title: "PROD/SERV LOC", length: 13, format: aiNumeric, check: true},
		{ai: "417", title: "PARTY", length: 13, format: aiNumeric, check: true},
		{ai: "420", title: "SHIP TO POST", max: 20, format: aiCSET82},
		{ai: "421", title: "SHIP TO POST", max: 12, format: aiCSET82},
		{ai: "422", title: "ORIGIN", length: 3, format: aiNumeric},
		{ai: "423", title: "COUNTRY - INITIAL PROCESS.", max: 15, format: aiNumeric},
		{ai: "424", title: "COUNTRY - PROCESS.", length: 3, format: aiNumeric},
		{ai: "425", title: "COUNTRY - DISASSEMBLY", max: 15, format: aiNumeric},
		{ai: "426", title: "COUNTRY - FULL PROCESS", length: 3, format: aiNumeric},
		{ai: "427", title: "ORIGIN SUBDIVISION", max: 3, format: aiCSET82},
		{ai: "7001", title: "NSN", length: 13, format: aiNumeric},
		{ai: "7002", title: "MEAT CUT", max: 30, format: aiCSET82},
		{ai: "7003", title: "EXPIRY TIME", length: 10, format: aiDateTime},
		{ai: "8004", title: "GIAI", max: 30, format: aiCSET82},
		{ai: "8005", title: "PRICE PER UNIT", length: 6, format: aiNumeric},
		{ai: "8017", title: "GSRN - PROVIDER", length: 18, format: aiNumeric, check: true},
		{ai: "8018", title: "GSRN - RECIPIENT", length: 18, format: aiNumeric, check: true},
		{ai: "8020", title: "REF No.", max: 25, format: aiCSET82},
		{ai: "90", title: "INTERNAL", max: 30, format: aiCSET82},
	}
	// 91 to 99: company internal information.
	for n := '1'; n <= '9'; n++ {
		defs = append(defs, aiDef{ai: "9" + string(n), title: "INTERNAL", max: 90, format: aiCSET82})
	}
	for n := '0'; n <= '5'; n++ {
		defs = append(defs,
			aiDef{ai: "310" + string(n), title: "NET WEIGHT (kg)", length: 6, format: aiDecimal, unit: "kg"},
			aiDef{ai: "320" + string(n), title: "NET WEIGHT (lb)", length: 6, format: aiDecimal, unit: "lb"},
			aiDef{ai: "330" + string(n), title: "GROSS WEIGHT (kg)", length: 6, format: aiDecimal, unit: "kg"},
		)
	}
	m := make(map[string]aiDef, len(defs))
	for _, d := range defs {
		m[d.ai] = d
	}
	return m
}

// lookupAI finds the application identifier at the start of s. GS1 AIs are
// prefix-free, so at most one of the 2-, 3- and 4-digit prefixes matches.
func lookupAI(s string) (aiDef, bool) {
	for n := 2; n <= 4 && n <= len(s); n++ {
		if d, ok := aiTable[s[:n]]; ok {
			return d, true
		}
	}
	return aiDef{}, false
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
