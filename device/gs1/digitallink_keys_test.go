package gs1

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Every primary key of the GS1 Digital Link standard, with its qualifiers
// in their order, parses to the elements of the path.
func TestDigitalLinkPrimaryKeys(t *testing.T) {
	t.Parallel()
	p := newTestGS1Parser(t, gs1Now)
	tests := []struct {
		path string
		want []Element
	}{
		{"00/376130321109103420", []Element{{"00", "376130321109103420"}}},
		{"01/09506000134352/22/V1/10/B1/21/S1", []Element{{"01", "09506000134352"}, {"22", "V1"}, {"10", "B1"}, {"21", "S1"}}},
		{"01/09506000134352/235/TPX-1", []Element{{"01", "09506000134352"}, {"235", "TPX-1"}}},
		{"253/9501101020917DOC-1", []Element{{"253", "9501101020917DOC-1"}}},
		{"255/9501101020917123", []Element{{"255", "9501101020917123"}}},
		{"401/GINC-1", []Element{{"401", "GINC-1"}}},
		{"402/95011010209171236", []Element{{"402", "95011010209171236"}}},
		{"414/9501101020917/254/DOCK-3", []Element{{"414", "9501101020917"}, {"254", "DOCK-3"}}},
		{"414/9501101020917/7040/1ABC", []Element{{"414", "9501101020917"}, {"7040", "1ABC"}}},
		{"415/5412345678908/8020/INV-1", []Element{{"415", "5412345678908"}, {"8020", "INV-1"}}},
		{"417/9501101020917/7040/1ABC", []Element{{"417", "9501101020917"}, {"7040", "1ABC"}}},
		{"8003/09501101020917ASSET", []Element{{"8003", "09501101020917ASSET"}}},
		{"8004/ASSET-9/7040/1ABC", []Element{{"8004", "ASSET-9"}, {"7040", "1ABC"}}},
		// 22 may follow 8006 in the path, but the dictionary has (22) need (01).
		{"8006/095060001343520102/10/B1/21/S1", []Element{{"8006", "095060001343520102"}, {"10", "B1"}, {"21", "S1"}}},
		{"8010/95011010A/8011/12", []Element{{"8010", "95011010A"}, {"8011", "12"}}},
		{"8013/1987654Ad4X4bL5ttr2310c2K", []Element{{"8013", "1987654Ad4X4bL5ttr2310c2K"}}},
		{"8017/950110102091712344/8019/12", []Element{{"8017", "950110102091712344"}, {"8019", "12"}}},
		{"8018/950110102091712344/8019/12", []Element{{"8018", "950110102091712344"}, {"8019", "12"}}},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			t.Parallel()
			got, err := p.ParseDigitalLink("https://id.example.com/" + tt.path)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got.Elements); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestDigitalLinkKeyErrors(t *testing.T) {
	t.Parallel()
	p := newTestGS1Parser(t, gs1Now)
	tests := []struct {
		name, path string
		want       error
		wantAI     string
	}{
		{"alternative qualifier sequences mixed", "01/09506000134352/22/V1/235/TPX", ErrInvalidDigitalLink, ""},
		{"GLN extension and UIC mixed", "414/9501101020917/254/D/7040/1ABC", ErrInvalidDigitalLink, ""},
		{"qualifier of a key that takes none", "8013/1987654Ad4X4bL5ttr2310c2K/21/S", ErrInvalidDigitalLink, ""},
		{"serial as query attribute", "01/09506000134352?21=S1", ErrInvalidDigitalLink, "21"},
		{"key qualifier as query attribute", "414/9501101020917?254=D", ErrInvalidDigitalLink, "254"},
		{"key as query attribute", "01/09506000134352?8006=095060001343520102", ErrInvalidDigitalLink, "8006"},
		{"ITIP piece over total", "8006/095060001343520302", ErrInvalidValue, "8006"},
		{"GSRN bad check digit", "8017/950110102091712345", ErrCheckDigit, "8017"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := p.ParseDigitalLink("https://id.example.com/" + tt.path)
			var ge *Error
			if !errors.Is(err, tt.want) || !errors.As(err, &ge) {
				t.Fatalf("error %v, want %v", err, tt.want)
			}
			if ge.AI != tt.wantAI {
				t.Errorf("Error.AI = %q, want %q (%v)", ge.AI, tt.wantAI, err)
			}
		})
	}
}
