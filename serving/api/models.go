package api

import (
	"context"
	"fmt"
	"math"
	"sync/atomic"

	"github.com/duewise/duewise/model"
	"github.com/duewise/duewise/model/registry"
	"github.com/duewise/duewise/serving/online"
)

// loaded is one active model in memory. Immutable.
type loaded struct {
	entry  registry.Entry
	a      *model.Artifact
	scorer *model.Scorer
}

// modelSet maps tenant -> kind -> active model. Immutable; swapped whole.
type modelSet map[string]map[string]*loaded

// models holds the active models and swaps them atomically: a request
// keeps the model it started with.
type models struct {
	cur atomic.Pointer[modelSet]
}

func (m *models) get(tenant, kind string) *loaded {
	s := m.cur.Load()
	if s == nil {
		return nil
	}
	return (*s)[tenant][kind]
}

func (m *models) all() modelSet {
	if s := m.cur.Load(); s != nil {
		return *s
	}
	return modelSet{}
}

// with returns a copy of the set with l as tenant's model of its kind.
func (m *models) with(tenant string, l *loaded) modelSet {
	next := modelSet{}
	for t, ks := range m.all() {
		next[t] = map[string]*loaded{}
		for k, v := range ks {
			next[t][k] = v
		}
	}
	if next[tenant] == nil {
		next[tenant] = map[string]*loaded{}
	}
	next[tenant][string(l.a.Kind)] = l
	return next
}

// load reads and verifies an entry's artifact and checks that every
// input it needs exists in the online table (invoice inputs and
// onboarding models are exempt where the request supplies them).
func load(reg *registry.Registry, e registry.Entry, t *online.Table) (*loaded, error) {
	a, err := reg.Load(e)
	if err != nil {
		return nil, err
	}
	if t != nil && a.Kind == model.Behaviour {
		have := map[string]bool{}
		for _, n := range t.NumNames {
			have[n] = true
		}
		for _, n := range t.CatNames {
			have[n] = true
		}
		for _, f := range a.Features {
			if !have[f.Name] {
				return nil, fmt.Errorf("model %s: feature %q is not in features_latest", e.Version, f.Name)
			}
		}
	}
	sc, err := model.NewScorer(a)
	if err != nil {
		return nil, err
	}
	return &loaded{entry: e, a: a, scorer: sc}, nil
}

// loadActive loads every tenant's active models from the registry.
func loadActive(ctx context.Context, reg *registry.Registry, tenants []string, t *online.Table) (modelSet, []error) {
	set := modelSet{}
	var errs []error
	for _, tn := range tenants {
		es, err := reg.Active(ctx, tn)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, e := range es {
			l, err := load(reg, e, t)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if set[tn] == nil {
				set[tn] = map[string]*loaded{}
			}
			set[tn][e.Kind] = l
		}
	}
	return set, errs
}

// inputs fills num and cat (by the model's features) from a lookup of
// values by name; missing numeric values are NULL.
func inputs(a *model.Artifact, num []float64, cat []string, numOf func(string) (float64, bool), catOf func(string) (string, bool)) {
	for i, f := range a.Features {
		if f.Type == model.Categorical {
			cat[i], _ = catOf(f.Name)
			continue
		}
		v, ok := numOf(f.Name)
		if !ok {
			v = math.NaN()
		}
		num[i] = v
	}
}
