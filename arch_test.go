package interlock_test

import (
	"encoding/json"
	"os/exec"
	"path"
	"strings"
	"testing"
)

const module = "github.com/interlock-mes/interlock"

// arrows are the package map's one-way arrows (docs/architecture.md): the
// packages of this module each package may import, as path patterns
// relative to the module ("" is the root package, a trailing "/..." a
// subtree). A package takes the rule of its longest matching key.
var arrows = map[string][]string{
	"":                      nil,
	"internal/...":          {"internal/..."},
	"audit":                 {"", "internal/..."},
	"gate":                  {"", "internal/..."},
	"signature":             {"", "internal/..."},
	"event":                 {"", "audit", "gate", "signature", "internal/..."},
	"storage/...":           {"", "audit", "storage/...", "internal/..."},
	"device/...":            {"", "device/...", "internal/..."},
	"mes":                   {"", "audit", "event", "gate", "signature", "storage", "internal/..."},
	"mes/...":               {"", "audit", "event", "gate", "signature", "storage", "mes", "mes/...", "device/...", "internal/..."},
	"mes/mestest":           {"", "audit", "event", "gate", "signature", "storage/...", "mes", "mes/...", "internal/..."},
	"genealogy/...":         {"", "audit", "event", "gate", "storage/...", "genealogy/...", "internal/..."},
	"review/...":            {"", "audit", "event", "gate", "signature", "storage", "mes", "mes/...", "review/...", "internal/..."},
	"edge/...":              {"", "audit", "event", "gate", "device/...", "mes", "mes/...", "internal/..."},
	"httpapi":               {"", "audit", "event", "gate", "signature", "storage", "mes", "genealogy", "review", "internal/..."},
	"cmd/...":               {"", "audit", "event", "storage/...", "genealogy/..."},
	"outbox/...":            {"", "audit", "storage", "outbox/...", "internal/..."},
	"examples/...":          {"", "audit", "event", "gate", "signature", "storage/...", "mes", "mes/...", "device/...", "genealogy/...", "review/...", "httpapi", "examples/internal/..."},
	"examples/internal/...": {"", "audit", "storage/..."},
	"validation/...":        {"", "audit", "event", "gate", "signature", "storage/...", "mes", "mes/...", "review/...", "validation/...", "internal/..."},
}

func matches(pattern, rel string) bool {
	if sub, ok := strings.CutSuffix(pattern, "/..."); ok {
		return rel == sub || strings.HasPrefix(rel, sub+"/")
	}
	return rel == pattern
}

// rule returns the allowed imports of the package rel.
func rule(rel string) (key string, allowed []string, ok bool) {
	best := -1
	for k, v := range arrows {
		if matches(k, rel) && len(k) > best {
			key, allowed, ok, best = k, v, true, len(k)
		}
	}
	return key, allowed, ok
}

// TestArrowsPointOneWay lists every package of the module with its
// imports and fails on an import the package map does not allow, and on a
// package the map does not place.
func TestArrowsPointOneWay(t *testing.T) {
	out, err := exec.Command("go", "list", "-json=ImportPath,Imports", "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	n := 0
	for dec.More() {
		var p struct {
			ImportPath string
			Imports    []string
		}
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		n++
		rel := strings.TrimPrefix(strings.TrimPrefix(p.ImportPath, module), "/")
		key, allowed, ok := rule(rel)
		if !ok {
			t.Errorf("package %q has no place in the package map", rel)
			continue
		}
		for _, imp := range p.Imports {
			if imp != module && !strings.HasPrefix(imp, module+"/") {
				continue
			}
			irel := strings.TrimPrefix(strings.TrimPrefix(imp, module), "/")
			okImp := false
			for _, a := range allowed {
				if matches(a, irel) {
					okImp = true
					break
				}
			}
			if !okImp {
				t.Errorf("%s imports %s, which the map (rule %q) does not allow", path.Join("interlock", rel), path.Join("interlock", irel), key)
			}
		}
	}
	if n < 20 {
		t.Errorf("go list found %d packages; want the whole module", n)
	}
}

// TestEngineLinksNoDriver: a service that imports the engine, or the core
// device types, links no serial or Modbus driver, and no OpenTelemetry
// SDK (the engine uses the API only; the service picks its SDK); only the
// protocol packages that need a driver do.
func TestEngineLinksNoDriver(t *testing.T) {
	drivers := []string{"go.bug.st/serial", "github.com/goburrow/serial", "github.com/simonvetter/modbus", "go.opentelemetry.io/otel/sdk"}
	deps := func(pkg string) []string {
		out, err := exec.Command("go", "list", "-deps", pkg).Output()
		if err != nil {
			t.Fatalf("go list -deps %s: %v", pkg, err)
		}
		return strings.Fields(string(out))
	}
	for _, pkg := range []string{"./mes", "./mes/weigh", "./mes/packml", "./device", "./device/gs1", "./device/packml", "./event"} {
		for _, d := range deps(pkg) {
			for _, drv := range drivers {
				if d == drv || strings.HasPrefix(d, drv+"/") {
					t.Errorf("%s links %s", pkg, d)
				}
			}
		}
	}
	// The check can fail: the scale package does link a serial driver.
	found := false
	for _, d := range deps("./device/scale") {
		found = found || strings.HasPrefix(d, "go.bug.st/serial")
	}
	if !found {
		t.Error("device/scale does not link go.bug.st/serial; the check above proves nothing")
	}
}
