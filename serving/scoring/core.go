package scoring

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/duewise/duewise/model"
	"github.com/duewise/duewise/model/registry"
	"github.com/duewise/duewise/serving/online"
	"github.com/duewise/duewise/serving/policy"
	"github.com/duewise/duewise/warehouse"
)

// Config configures a Core. Engine, Registry and Policy are required; the
// zero value of every other field takes its DefaultConfig value.
type Config struct {
	Engine   warehouse.Engine
	Registry *registry.Registry
	Policy   *policy.Policy
	// Metrics receives the core's metrics; nil registers none.
	Metrics prometheus.Registerer
	Log     *slog.Logger
	// Reload is how often the online features (when they changed) and the
	// active models are reloaded by Run; Ping how often the warehouse is
	// checked.
	Reload time.Duration
	Ping   time.Duration
	// StaleGrace is how long customer lookups keep being answered from the
	// features in memory after the warehouse became unreachable; 0 answers
	// ErrUnavailable as soon as it is (inline scoring always works).
	StaleGrace time.Duration
	// Threshold is the behind threshold in days (for inline histories).
	Threshold int
	// Workers score All in parallel; 0 = GOMAXPROCS.
	Workers int
	// Now is the clock (tests); default time.Now.
	Now func() time.Time
	// Changes receives the changes of answers (the change feed); nil
	// keeps none.
	Changes ChangeLog
	// RefreshEvery is how often Run recomputes every customer's online
	// features (a full live refresh); 0 never (the default of a Core used
	// by a command: serve sets it).
	RefreshEvery time.Duration
	// RefreshBatch is the most touched customers refreshed at once.
	RefreshBatch int
	// FullRefreshAbove is how many touched customers waiting make Run do
	// a full refresh instead (a large file ingested through the server).
	FullRefreshAbove int
	// Shadow maps a model kind to a challenger version: every answer of
	// that kind is also scored by the challenger (for each tenant that has
	// it registered), not returned, and recorded in the audit
	// (shadow_version, shadow_risk_90d) to compare the two on the same
	// requests (serve --shadow KIND=VERSION).
	Shadow map[string]string
	// DriftWarn, when above 0, makes the core measure the drift of every
	// tenant's served behaviour model (Drift: the population stability
	// index of its inputs and of its 90-day risk over the online features
	// against its training rows) after every load of the features or
	// switch of model, as the gauges duewise_drift_psi and
	// duewise_score_drift_psi, and warn in Readiness above it; 0 measures
	// none (commands that score once). serve sets DefaultDriftWarn.
	DriftWarn float64
	// Histories keeps every customer's raw history in memory
	// (online.Histories: about 1.8 GB for 1,000,000 customers over 24
	// months, computed from the row sizes), loaded by Run in the
	// background and kept current by Inserted, so that the refresh of
	// touched customers computes in Go instead of reading their rows from
	// the warehouse (serve --histories-in-memory).
	Histories bool
}

// DefaultConfig returns the defaults of every optional field.
func DefaultConfig() Config {
	return Config{Reload: time.Minute, Ping: 5 * time.Second, Threshold: 30, Workers: runtime.GOMAXPROCS(0), Now: time.Now,
		RefreshBatch: 5000, FullRefreshAbove: 100_000}
}

// Validate checks the configuration.
func (c Config) Validate() error {
	switch {
	case c.Engine == nil || c.Registry == nil || c.Policy == nil:
		return errors.New("scoring: Engine, Registry and Policy are required")
	case c.Threshold < 0 || c.Workers < 0 || c.StaleGrace < 0 || c.Reload < 0 || c.Ping < 0 || c.RefreshEvery < 0 || c.RefreshBatch < 0 || c.FullRefreshAbove < 0:
		return errors.New("scoring: threshold, workers, stale grace, intervals and refresh sizes must not be negative")
	}
	return nil
}

func (c *Config) defaults() {
	d := DefaultConfig()
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	if c.Metrics == nil {
		c.Metrics = prometheus.NewRegistry()
	}
	orDefault(&c.Reload, d.Reload)
	orDefault(&c.Ping, d.Ping)
	orDefault(&c.Threshold, d.Threshold)
	orDefault(&c.Workers, d.Workers)
	orDefault(&c.RefreshBatch, d.RefreshBatch)
	orDefault(&c.FullRefreshAbove, d.FullRefreshAbove)
	if c.Now == nil {
		c.Now = d.Now
	}
}

// Core is the scoring core: the catalog of signals, the online features in
// memory, the active models of every tenant and kind, and the policy; it
// answers risk questions with reasons and actions. The API, `duewise score
// --all` and the policy simulator call it in-process. Safe for concurrent
// use: reloads and model switches swap immutable snapshots, so a request
// keeps the model and features it started with.
type Core struct {
	cfg    Config
	log    *slog.Logger
	cat    *Catalog
	online online.Store
	tmap   atomic.Pointer[tableMap]
	models models
	met    *metricSet

	mu       sync.Mutex // serialises reloads and activations
	down     atomic.Pointer[outage]
	modelErr atomic.Pointer[error]

	dmet       *driftMetrics
	drift      atomic.Pointer[[]Drift] // the last measurement
	driftBusy  atomic.Bool             // a measurement runs
	driftAgain atomic.Bool             // and another is asked for

	pend  *pending
	hist  *online.Histories // nil without Config.Histories
	hmet  *historyMetrics
	rmu   sync.Mutex // the refreshes of touched customers and full loads take turns
	annMu sync.Mutex // one announceAll at a time
	bg    sync.WaitGroup
	bgCtx context.Context
}

// outage records since when the warehouse is unreachable and why.
type outage struct {
	err   error
	since time.Time
}

// New builds a Core and loads the online features and the active models
// once. A warehouse failure here is not fatal: the core starts not ready
// (see Readiness) and Run keeps retrying.
func New(ctx context.Context, cfg Config) (*Core, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.defaults()
	s := &Core{cfg: cfg, log: cfg.Log, cat: NewCatalog(), pend: newPending(), bgCtx: context.WithoutCancel(ctx)}
	s.met = newMetrics(cfg.Metrics, s)
	s.dmet = newDriftMetrics(cfg.Metrics)
	if cfg.Histories {
		s.hist = online.NewHistories()
	}
	s.hmet = newHistoryMetrics(cfg.Metrics, s.hist)
	s.Ping(ctx)
	s.Reload(ctx)
	return s, nil
}

// Catalog returns the catalog of signals.
func (s *Core) Catalog() *Catalog { return s.cat }

// Threshold returns the behind threshold in days.
func (s *Core) Threshold() int { return s.cfg.Threshold }

// Run reloads in the background (every Reload), checks the warehouse
// (every Ping), refreshes the customers that Touch queued and, with
// RefreshEvery, every customer, until ctx ends.
func (s *Core) Run(ctx context.Context) {
	var wg sync.WaitGroup
	every := func(d time.Duration, fn func(context.Context)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := time.NewTicker(d)
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
					fn(ctx)
				}
			}
		}()
	}
	every(s.cfg.Ping, s.Ping)
	every(s.cfg.Reload, s.Reload)
	if s.hist != nil && !s.hist.Loaded() {
		s.loadHistoriesInBackground(ctx)
	}
	wg.Add(1)
	go func() { defer wg.Done(); s.refreshLoop(ctx) }()
	if s.cfg.RefreshEvery > 0 {
		wg.Add(1)
		go func() { defer wg.Done(); s.fullRefreshLoop(ctx) }()
	}
	wg.Wait()
	s.bg.Wait()
}

// Reload reloads the online features (when they changed in the warehouse)
// and the active models, without blocking requests: a failure keeps what
// was loaded and is reported by Readiness. Safe to call at any time.
func (s *Core) Reload(ctx context.Context) {
	s.mu.Lock()
	defer s.mu.Unlock()
	mb := s.models.all()
	before, after := s.reloadFeatures(ctx)
	defer func() {
		if before != after || !sameBehaviour(mb, s.models.all()) {
			s.driftSoon()
		}
	}()
	var t *online.Table
	if after != nil {
		t = after.t
	}
	set, errs := s.loadActive(ctx, t)
	if set != nil {
		s.models.cur.Store(&set)
	}
	if ma := s.models.all(); before != nil && after != nil {
		// Announce what the new table or a switched model changed (not
		// at the first load: a start changes no answer).
		var tenants []string
		for tn, ks := range ma {
			if l := ks[string(model.Behaviour)]; l != nil && (before != after || mb[tn][string(model.Behaviour)] != l) {
				tenants = append(tenants, tn)
			}
		}
		s.announceAll(before, after, mb, ma, tenants)
	}
	if len(errs) > 0 {
		err := errors.Join(errs...)
		s.modelErr.Store(&err)
		s.log.Error("models not loaded", "err", err)
	} else {
		s.modelErr.Store(nil)
	}
	s.met.refresh()
}

// reloadFeatures loads features_latest when a full refresh changed it
// and returns the features in use (nil before the first load), and
// before, the features it replaced (after itself when it loaded none; nil
// at the first load). The refreshes of touched customers wait meanwhile,
// so that the loaded table holds every delta written before it was read.
func (s *Core) reloadFeatures(ctx context.Context) (before, after *tableMap) {
	m := s.tmap.Load()
	v, err := online.Probe(ctx, s.cfg.Engine)
	if err == nil && (m == nil || v != m.t.Version) {
		s.rmu.Lock()
		start := time.Now()
		var nt *online.Table
		if nt, err = online.Load(ctx, s.cfg.Engine, ""); err == nil {
			before, m = s.tmap.Load(), s.cat.mapTable(nt)
			s.setTable(m)
			s.log.Info("online features loaded", "customers", nt.Len(), "as_of", nt.MaxAsOf.Format(time.DateOnly), "seconds", time.Since(start).Seconds())
		}
		s.rmu.Unlock()
		if err == nil {
			return before, m
		}
	}
	if err != nil {
		s.online.Fail(err)
		s.log.Warn("online features not reloaded", "err", err)
		m = s.tmap.Load()
	} else if m != nil {
		s.online.Set(m.t)
	}
	return m, m
}

// Ping checks the warehouse and records an outage.
func (s *Core) Ping(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	rr, err := s.cfg.Engine.Query(ctx, "SELECT 1 AS ok", nil)
	if err == nil {
		err = warehouse.Scan(rr, func() error { return nil }, nil)
		rr.Release()
	}
	if err != nil {
		if cur := s.down.Load(); cur != nil {
			s.down.Store(&outage{err: err, since: cur.since})
		} else {
			s.down.Store(&outage{err: err, since: s.cfg.Now()})
			s.log.Error("warehouse unreachable", "err", err)
		}
		return
	}
	if s.down.Swap(nil) != nil {
		s.log.Info("warehouse reachable again")
	}
}

// table returns the online features for customer lookups, or an
// ErrUnavailable error: before they are loaded, or while the warehouse is
// unreachable (beyond StaleGrace).
func (s *Core) table() (*online.Table, *tableMap, error) {
	m := s.tmap.Load()
	if m == nil {
		msg := "the online features are not loaded yet"
		if err := s.online.Err(); err != nil {
			msg += ": " + err.Error()
		}
		return nil, nil, unavailable("%s; inline scoring (POST /v1/risk) works", msg)
	}
	if o := s.down.Load(); o != nil && s.cfg.Now().Sub(o.since) >= s.cfg.StaleGrace {
		return nil, nil, unavailable("the warehouse (ClickHouse) is unreachable since %s (%v): customer lookups are not answered from features that may be stale; inline scoring (POST /v1/risk, onboarding, batch records) works",
			o.since.UTC().Format(time.RFC3339), o.err)
	}
	return m.t, m, nil
}

// Readiness says whether the core can answer: a model and the online
// features loaded, the warehouse reachable. A plain value.
type Readiness struct {
	Ready     bool     `json:"ready"`
	Reasons   []string `json:"reasons"`
	Warehouse string   `json:"warehouse"`
	Features  *struct {
		AsOf      string `json:"as_of"`
		LoadedAt  string `json:"loaded_at"`
		Customers int    `json:"customers"`
	} `json:"features"`
	Models int `json:"models"`
	// Warnings are what degrades the answers without making the core
	// unready: drift of a served model above Config.DriftWarn.
	Warnings []string `json:"warnings,omitempty"`
}

// Readiness returns the core's readiness with the reasons it is not ready.
func (s *Core) Readiness() Readiness {
	r := Readiness{Reasons: []string{}, Warehouse: "ok"}
	t := s.online.Current()
	if t == nil {
		msg := "online features not loaded"
		if err := s.online.Err(); err != nil {
			msg += ": " + err.Error()
		}
		r.Reasons = append(r.Reasons, msg+" (run duewise features refresh)")
	} else {
		r.Features = &struct {
			AsOf      string `json:"as_of"`
			LoadedAt  string `json:"loaded_at"`
			Customers int    `json:"customers"`
		}{t.MaxAsOf.Format(time.DateOnly), t.LoadedAt.Format(time.RFC3339), t.Len()}
		if err := s.online.Err(); err != nil {
			r.Reasons = append(r.Reasons, "online features not reloaded, serving those loaded at "+t.LoadedAt.Format(time.RFC3339)+": "+err.Error())
		}
	}
	for _, ks := range s.models.all() {
		r.Models += len(ks)
	}
	if r.Models == 0 {
		r.Reasons = append(r.Reasons, "no active model (duewise models promote VERSION)")
	}
	if p := s.modelErr.Load(); p != nil {
		r.Reasons = append(r.Reasons, "models not loaded: "+(*p).Error())
	}
	o := s.down.Load()
	if o != nil {
		since := o.since.UTC().Format(time.RFC3339)
		r.Warehouse = "unreachable since " + since + ": " + o.err.Error()
		r.Reasons = append(r.Reasons, "warehouse unreachable since "+since+" ("+o.err.Error()+"): customer lookups answer 503, inline scoring works")
	}
	r.Warnings = s.driftWarnings()
	wDown := o != nil && s.cfg.Now().Sub(o.since) >= s.cfg.StaleGrace
	r.Ready = t != nil && r.Models > 0 && !wDown
	return r
}

func (s *Core) today() time.Time { return s.cfg.Now().UTC().Truncate(24 * time.Hour) }

// orDefault sets *p to v when it is the zero value.
func orDefault[T comparable](p *T, v T) {
	var zero T
	if *p == zero {
		*p = v
	}
}

// Models are a tenant's registered models and what the core serves. A
// plain value.
type Models struct {
	Models []registry.Entry `json:"models"`
	// Serving maps each kind to the version being served.
	Serving map[string]string `json:"serving"`
}

// Models lists tenant's registered models.
func (s *Core) Models(ctx context.Context, tenant string) (Models, error) {
	if err := s.cfg.Registry.Sync(ctx, tenant); err != nil {
		return Models{}, unavailable("list models: %v", err)
	}
	es, err := s.cfg.Registry.List(ctx, tenant)
	if err != nil {
		return Models{}, unavailable("list models: %v", err)
	}
	if es == nil {
		es = []registry.Entry{}
	}
	out := Models{Models: es, Serving: map[string]string{}}
	for k, l := range s.models.all()[tenant] {
		out.Serving[k] = l.entry.Version
	}
	return out, nil
}

// entry finds tenant's registered version, given by the request field
// field, for the operation op: an unknown version is ErrNotFound, a model
// file that does not load ErrRefused (with refusal before its reason).
func (s *Core) entry(ctx context.Context, tenant, field, version, op, refusal string) (registry.Entry, error) {
	if err := s.cfg.Registry.Sync(ctx, tenant); err != nil {
		return registry.Entry{}, unavailable("%s: %v", op, err)
	}
	e, err := s.cfg.Registry.Get(ctx, tenant, version)
	if errors.Is(err, registry.ErrNotFound) {
		if rerr := unloadable(s.cfg.Registry.Dir(), version); rerr != nil {
			return registry.Entry{}, refused(field, "%s: %v", refusal, rerr)
		}
		return registry.Entry{}, notFound(field, "model %s is not registered for this tenant", version)
	} else if err != nil {
		return registry.Entry{}, unavailable("%s: %v", op, err)
	}
	return e, nil
}

// Activation is the outcome of Activate. A plain value.
type Activation struct {
	Activated string `json:"activated"`
	Kind      string `json:"kind"`
	Previous  string `json:"previous,omitempty"`
}

// Activate makes version tenant's active model of its kind, in the
// registry and in memory at once. A model that does not load is refused
// (ErrRefused) and the current one keeps serving; an unknown version is
// ErrNotFound.
func (s *Core) Activate(ctx context.Context, tenant, version string) (Activation, error) {
	e, err := s.entry(ctx, tenant, "version", version, "activate", "refused, the current model keeps serving")
	if err != nil {
		return Activation{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	l, err := s.loadWithShadow(ctx, e, s.online.Current())
	if err != nil {
		return Activation{}, refused("version", "refused, the current model keeps serving: %v", err)
	}
	if _, err := s.cfg.Registry.Promote(ctx, tenant, version); err != nil {
		return Activation{}, unavailable("activate: %v", err)
	}
	out := Activation{Activated: version, Kind: e.Kind}
	if old := s.models.get(tenant, e.Kind); old != nil {
		out.Previous = old.entry.Version
	}
	l.entry.Active = true
	mb := s.models.all()
	next := s.models.with(tenant, l)
	s.models.cur.Store(&next)
	if m := s.tmap.Load(); e.Kind == string(model.Behaviour) {
		s.announceAll(m, m, mb, next, []string{tenant})
	}
	s.met.refresh()
	if e.Kind == string(model.Behaviour) {
		s.driftSoon()
	}
	s.log.Info("model activated", "tenant", tenant, "kind", e.Kind, "version", version, "previous", out.Previous)
	return out, nil
}

// unloadable returns why the model file of version in dir does not load,
// for a version the registry skipped; nil when there is no such file.
func unloadable(dir, version string) error {
	if version == "" || strings.ContainsAny(version, `/\`) || strings.HasPrefix(version, ".") {
		return nil
	}
	path := filepath.Join(dir, version+".model")
	if _, err := os.Stat(path); err != nil {
		return nil
	}
	_, err := model.Read(path)
	return err
}
