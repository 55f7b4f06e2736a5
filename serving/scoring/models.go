package scoring

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/duewise/duewise/datasets"
	"github.com/duewise/duewise/model"
	"github.com/duewise/duewise/model/registry"
	"github.com/duewise/duewise/serving/online"
)

// loaded is one active model in memory. Immutable.
type loaded struct {
	entry  registry.Entry
	a      *model.Artifact
	scorer *model.Scorer
	// in maps each model feature to its catalog position (numeric or
	// categorical by the feature's type).
	in []int
	// bands counts scores per band ("A".."E").
	bands [5]prometheus.Counter
	// shadow is the challenger that also scores every answer of this
	// model without answering (Config.Shadow); nil without one.
	shadow *loaded
	// attrs are the features that are tenant attributes (an onboarding
	// model's; model.Feature.Attribute) by name, and declared the
	// declarations the model was trained with (the ones it does not use
	// included), for checking a request's attributes.
	attrs    map[string]*model.Feature
	declared []datasets.Attribute
}

// inputs fills the model's inputs from v.
func (l *loaded) inputs(v *Values, num []float64, cat []string) {
	for i := range l.a.Features {
		f := &l.a.Features[i]
		if f.Attribute != nil {
			if f.Type == model.Categorical {
				cat[i] = f.CategoryOf(v.AttrCat[f.Name])
			} else if x, ok := v.AttrNum[f.Name]; ok {
				num[i] = x
			} else {
				num[i] = math.NaN()
			}
			continue
		}
		if f.Type == model.Categorical {
			cat[i] = v.Cat[l.in[i]]
		} else {
			num[i] = v.Num[l.in[i]]
		}
	}
}

func (l *loaded) scored(band string) {
	if len(band) == 1 && band[0] >= 'A' && band[0] <= 'E' {
		l.bands[band[0]-'A'].Inc()
	}
}

// modelSet maps tenant -> kind -> active model. Immutable; swapped whole.
type modelSet map[string]map[string]*loaded

// models holds the active models and swaps them atomically: a request
// keeps the model it started with, so a switch never drops a request.
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

// errMismatch marks a model whose features the server cannot supply.
var errMismatch = errors.New("model does not match the features")

// load reads and verifies an entry's artifact (checksum, structure) and
// checks that the server can supply every input it needs: each feature
// must be a known signal of the right type and, for behaviour and invoice
// models, a column of the online features (invoice_amount and
// invoice_terms_days come with the request).
func (s *Core) load(e registry.Entry, t *online.Table) (*loaded, error) {
	a, err := s.cfg.Registry.Load(e)
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", e.Version, err)
	}
	if string(a.Kind) != e.Kind {
		return nil, fmt.Errorf("model %s: %w: the file is a %s model, registered as %s", e.Version, errMismatch, a.Kind, e.Kind)
	}
	l := &loaded{entry: e, a: a, in: make([]int, len(a.Features))}
	var have map[string]bool
	if t != nil && a.Kind != model.Onboarding {
		have = map[string]bool{sigInvoiceAmount: true, sigInvoiceTerms: true}
		for _, n := range t.NumNames {
			have[n] = true
		}
		for _, n := range t.CatNames {
			have[n] = true
		}
	}
	if l.declared, err = declaredAttributes(a); err != nil {
		return nil, fmt.Errorf("model %s: %w: %w", e.Version, errMismatch, err)
	}
	for i, f := range a.Features {
		if f.Attribute != nil {
			if a.Kind != model.Onboarding {
				return nil, fmt.Errorf("model %s: %w: feature %q is a tenant attribute: only onboarding models take attributes", e.Version, errMismatch, f.Name)
			}
			if l.attrs == nil {
				l.attrs = map[string]*model.Feature{}
			}
			l.attrs[f.Name], l.in[i] = &a.Features[i], -1
			continue
		}
		idx, ok := s.cat.numIdx[f.Name]
		want := "numeric"
		if f.Type == model.Categorical {
			idx, ok = s.cat.catIdx[f.Name]
			want = "categorical"
		}
		if !ok {
			return nil, fmt.Errorf("model %s: %w: feature %q is not a %s signal of this server (docs/features.md)", e.Version, errMismatch, f.Name, want)
		}
		if have != nil && !have[f.Name] {
			return nil, fmt.Errorf("model %s: %w: feature %q is not a column of the online features (features_latest)", e.Version, errMismatch, f.Name)
		}
		l.in[i] = idx
	}
	if l.scorer, err = model.NewScorer(a); err != nil {
		return nil, fmt.Errorf("model %s: %w", e.Version, err)
	}
	for b := range l.bands {
		l.bands[b] = s.met.scores.WithLabelValues(string(a.Kind), e.Version, string(rune('A'+b)))
	}
	return l, nil
}

// loadWithShadow loads e and, when Config.Shadow names a challenger of its
// kind that e's tenant has registered, that challenger as its shadow. A
// challenger that does not load is logged; e serves without it.
func (s *Core) loadWithShadow(ctx context.Context, e registry.Entry, t *online.Table) (*loaded, error) {
	l, err := s.load(e, t)
	if err != nil {
		return nil, err
	}
	v := s.cfg.Shadow[e.Kind]
	if v == "" || v == e.Version {
		return l, nil
	}
	se, err := s.cfg.Registry.Get(ctx, e.Tenant, v)
	if errors.Is(err, registry.ErrNotFound) { // a file not registered yet
		if err = s.cfg.Registry.Sync(ctx, e.Tenant); err == nil {
			se, err = s.cfg.Registry.Get(ctx, e.Tenant, v)
		}
	}
	if err == nil {
		l.shadow, err = s.load(se, t)
	}
	switch {
	case errors.Is(err, registry.ErrNotFound):
		s.log.Debug("no shadow model for this tenant", "tenant", e.Tenant, "kind", e.Kind, "shadow", v)
	case err != nil:
		s.log.Warn("shadow model not loaded: the answers are not scored by it", "tenant", e.Tenant, "kind", e.Kind, "shadow", v, "err", err)
	}
	return l, nil
}

// loadActive returns every tenant's active models, reusing the loaded ones
// whose version did not change. A model that fails to load is reported
// and the tenant keeps the one it had.
func (s *Core) loadActive(ctx context.Context, t *online.Table) (modelSet, []error) {
	tenants, err := s.cfg.Registry.Tenants(ctx)
	if err != nil {
		return nil, []error{err}
	}
	cur := s.models.all()
	set := modelSet{}
	var errs []error
	for _, tn := range tenants {
		es, err := s.cfg.Registry.Active(ctx, tn)
		if err != nil {
			errs = append(errs, err)
			if cur[tn] != nil {
				set[tn] = cur[tn]
			}
			continue
		}
		set[tn] = map[string]*loaded{}
		for _, e := range es {
			if old := cur[tn][e.Kind]; old != nil && old.entry.Version == e.Version {
				set[tn][e.Kind] = old
				continue
			}
			l, err := s.loadWithShadow(ctx, e, t)
			if err != nil {
				errs = append(errs, fmt.Errorf("tenant %s: %w", tn, err))
				if old := cur[tn][e.Kind]; old != nil {
					set[tn][e.Kind] = old
				}
				continue
			}
			set[tn][e.Kind] = l
		}
	}
	return set, errs
}
