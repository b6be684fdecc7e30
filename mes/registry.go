package mes

import (
	"fmt"
	"slices"
	"strings"

	"github.com/interlock-mes/interlock"
)

// Registry holds the models a service runs, each by name and version, so
// that a service is configured with one registry instead of a model per
// role, and a subject recorded under an older version of a model can
// still be read with the version it ran. A Registry is immutable once
// built and safe for concurrent use.
type Registry struct {
	byKey  map[registryKey]*Model
	latest map[string]*Model
	all    []*Model
}

type registryKey struct {
	name    string
	version int
}

// NewRegistry returns a registry of models. It returns an error matching
// interlock.ErrInvalid, naming every problem, when a model is nil or two
// share a name and version.
func NewRegistry(models ...*Model) (*Registry, error) {
	r := &Registry{byKey: map[registryKey]*Model{}, latest: map[string]*Model{}}
	var problems []string
	for i, m := range models {
		if m == nil {
			problems = append(problems, fmt.Sprintf("model %d is nil", i))
			continue
		}
		k := registryKey{m.Name(), m.Version()}
		if _, dup := r.byKey[k]; dup {
			problems = append(problems, fmt.Sprintf("%s v%d is registered twice", k.name, k.version))
			continue
		}
		r.byKey[k] = m
		r.all = append(r.all, m)
		if l, ok := r.latest[k.name]; !ok || l.Version() < k.version {
			r.latest[k.name] = m
		}
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("mes: NewRegistry: %s: %w", strings.Join(problems, "; "), interlock.ErrInvalid)
	}
	slices.SortFunc(r.all, func(a, b *Model) int {
		if c := strings.Compare(a.Name(), b.Name()); c != 0 {
			return c
		}
		return a.Version() - b.Version()
	})
	return r, nil
}

// Model returns the model name at version, and whether the registry holds
// it.
func (r *Registry) Model(name string, version int) (*Model, bool) {
	m, ok := r.byKey[registryKey{name, version}]
	return m, ok
}

// Latest returns the highest version of the model name, and whether the
// registry holds any.
func (r *Registry) Latest(name string) (*Model, bool) {
	m, ok := r.latest[name]
	return m, ok
}

// Models returns every model of the registry, by name and then version.
func (r *Registry) Models() []*Model { return slices.Clone(r.all) }
