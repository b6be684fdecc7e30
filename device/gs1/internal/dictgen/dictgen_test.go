package dictgen

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseLine(t *testing.T) {
	t.Parallel()
	src := "# Release: 2026-01-27\n" +
		"3100-3101  *?  N6  req=01,02 ex=310n  # NET WEIGHT (kg)\n" +
		"250  ?  X..30  req=01,8006 req=21  # SECONDARY SERIAL\n" +
		"414  *?  N13,csum,gcppos1  dlpkey=254|7040  # LOC No.\n" +
		"8112  ?  X..70,couponposoffer\n" +
		"7007  ?  N6,yymmdd [N6],yymmdd  req=01,02  # HARVEST DATE\n"
	got, err := Parse([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	weight := Entry{Title: "NET WEIGHT (kg)", Predefined: true, DLAttr: true,
		Parts: []Part{{Charset: 'N', Min: 6, Max: 6}}, Req: [][][]string{{{"01"}, {"02"}}}, Ex: []string{"310n"}}
	w0, w1 := weight, weight
	w0.AI, w1.AI = "3100", "3101"
	want := []Entry{
		w0, w1,
		{AI: "250", Title: "SECONDARY SERIAL", DLAttr: true, Parts: []Part{{Charset: 'X', Min: 1, Max: 30}},
			Req: [][][]string{{{"01"}, {"8006"}}, {{"21"}}}},
		{AI: "414", Title: "LOC No.", Predefined: true, DLAttr: true,
			Parts: []Part{{Charset: 'N', Min: 13, Max: 13, Linters: []string{"csum", "gcppos1"}}},
			DLKey: true, DLQuals: [][]string{{"254"}, {"7040"}}},
		{AI: "8112", DLAttr: true, Parts: []Part{{Charset: 'X', Min: 1, Max: 70, Linters: []string{"couponposoffer"}}}},
		{AI: "7007", Title: "HARVEST DATE", DLAttr: true,
			Parts: []Part{{Charset: 'N', Min: 6, Max: 6, Linters: []string{"yymmdd"}}, {Charset: 'N', Min: 6, Max: 6, Optional: true, Linters: []string{"yymmdd"}}},
			Req:   [][][]string{{{"01"}, {"02"}}}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if r := Release([]byte(src)); r != "2026-01-27" {
		t.Errorf("Release = %q", r)
	}
}

func TestDictionaryParseRejectsUnknownConstructs(t *testing.T) {
	t.Parallel()
	for _, line := range []string{
		"01  *?  N14,csum  frob=1  # GTIN",
		"01  #?  N14  # GTIN",
		"0x  *  N14  # GTIN",
		"01  *  Q14  # GTIN",
		"01  *  N..4 N2  # variable before the last",
		"01  *  [N2] N2  # mandatory after optional",
		"01  *  N2 req=01+x  # bad pattern",
		"3109-3100  N6  # backwards range",
		"01  N2  # defined\n01  N2  # twice",
	} {
		if _, err := Parse([]byte(line + "\n")); err == nil {
			t.Errorf("Parse(%q) succeeded", line)
		}
	}
}

func TestGenerateNeedsARelease(t *testing.T) {
	t.Parallel()
	if _, err := Generate([]byte("01  *?  N14,csum  # GTIN\n")); err == nil {
		t.Error("Generate without a release line succeeded")
	}
}
