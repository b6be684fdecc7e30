package mes_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/interlock-mes/interlock"
	"github.com/interlock-mes/interlock/mes"
)

func TestRegistry(t *testing.T) {
	t.Parallel()
	build := func(name string, version int) *mes.Model {
		return must[*mes.Model](t)(mes.NewModel(name, version).States("a", "b").Initial("a").Final("b").Permit("a", "go", "b").Build())
	}
	b1, b2, o1 := build("batch", 1), build("batch", 2), build("order", 1)
	r, err := mes.NewRegistry(b2, o1, b1)
	if err != nil {
		t.Fatal(err)
	}
	if m, ok := r.Model("batch", 1); !ok || m != b1 {
		t.Errorf("Model(batch, 1) = %v, %v; want b1", m, ok)
	}
	if m, ok := r.Latest("batch"); !ok || m != b2 {
		t.Errorf("Latest(batch) = %v, %v; want b2", m, ok)
	}
	if _, ok := r.Model("batch", 3); ok {
		t.Error("Model(batch, 3) found a model that was never registered")
	}
	var names []string
	for _, m := range r.Models() {
		names = append(names, m.Name()+"/"+string(rune('0'+m.Version())))
	}
	if got := strings.Join(names, " "); got != "batch/1 batch/2 order/1" {
		t.Errorf("Models() = %s; want batch/1 batch/2 order/1", got)
	}
	_, err = mes.NewRegistry(b1, nil, build("batch", 1))
	if !errors.Is(err, interlock.ErrInvalid) || !strings.Contains(err.Error(), "model 1 is nil") || !strings.Contains(err.Error(), "batch v1 is registered twice") {
		t.Errorf("NewRegistry with a nil and a duplicate: %v; want both named, matching ErrInvalid", err)
	}
}
