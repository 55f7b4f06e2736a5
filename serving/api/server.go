package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/duewise/duewise/datasets"
	"github.com/duewise/duewise/model/registry"
	"github.com/duewise/duewise/serving/auth"
	"github.com/duewise/duewise/serving/online"
	"github.com/duewise/duewise/serving/policy"
	"github.com/duewise/duewise/warehouse"
)

// Config configures a Server. Engine, Registry and Policy are required;
// the zero value of every other field takes its DefaultConfig value.
type Config struct {
	Engine   warehouse.Engine
	Registry *registry.Registry
	Policy   *policy.Policy
	// Metrics is the Prometheus registry; nil makes a new one.
	Metrics *prometheus.Registry
	Log     *slog.Logger
	// RatePerSecond and Burst limit each API key (token bucket).
	RatePerSecond float64
	Burst         int
	// MaxBody is the largest body of a single request in bytes; MaxBatchBody
	// that of POST /v1/risk/batch and POST /v1/events.
	MaxBody      int64
	MaxBatchBody int64
	// Reload is how often the online features (when they changed) and the
	// active models are reloaded in the background; KeyReload how often
	// the API keys are.
	Reload    time.Duration
	KeyReload time.Duration
	// Ping is how often the warehouse is checked.
	Ping time.Duration
	// StaleGrace is how long customer lookups keep being answered from the
	// features in memory after the warehouse became unreachable; 0 answers
	// 503 as soon as it is (inline scoring always works).
	StaleGrace time.Duration
	// Threshold is the behind threshold in days (for inline histories).
	Threshold int
	// RequestTimeout bounds a request's work; ShutdownTimeout how long
	// in-flight requests may take to finish at shutdown.
	RequestTimeout  time.Duration
	ShutdownTimeout time.Duration
	// Workers score batches in parallel; 0 = GOMAXPROCS.
	Workers int
	// Now is the clock (tests); default time.Now.
	Now func() time.Time
}

// DefaultConfig returns the defaults of every optional field.
func DefaultConfig() Config {
	return Config{RatePerSecond: 200, Burst: 400, MaxBody: 1 << 20, MaxBatchBody: 64 << 20,
		Reload: time.Minute, KeyReload: 10 * time.Second, Ping: 5 * time.Second, Threshold: 30,
		RequestTimeout: 30 * time.Second, ShutdownTimeout: 30 * time.Second, Workers: runtime.GOMAXPROCS(0), Now: time.Now}
}

// Validate checks the configuration.
func (c Config) Validate() error {
	switch {
	case c.Engine == nil || c.Registry == nil || c.Policy == nil:
		return errors.New("api: Engine, Registry and Policy are required")
	case c.RatePerSecond < 0 || c.Burst < 0:
		return errors.New("api: rate and burst must not be negative")
	case c.MaxBody < 0 || c.MaxBatchBody < 0:
		return errors.New("api: body limits must not be negative")
	case c.Threshold < 0 || c.Workers < 0 || c.StaleGrace < 0:
		return errors.New("api: threshold, workers and stale grace must not be negative")
	}
	return nil
}

func (c *Config) defaults() {
	d := DefaultConfig()
	if c.Metrics == nil {
		c.Metrics = prometheus.NewRegistry()
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	if c.RatePerSecond == 0 {
		c.RatePerSecond, c.Burst = d.RatePerSecond, max(c.Burst, d.Burst)
	}
	if c.Burst == 0 {
		c.Burst = max(1, int(2*c.RatePerSecond))
	}
	orDefault(&c.Reload, d.Reload)
	orDefault(&c.KeyReload, d.KeyReload)
	orDefault(&c.Ping, d.Ping)
	orDefault(&c.RequestTimeout, d.RequestTimeout)
	orDefault(&c.ShutdownTimeout, d.ShutdownTimeout)
	orDefault(&c.MaxBody, d.MaxBody)
	orDefault(&c.MaxBatchBody, d.MaxBatchBody)
	orDefault(&c.Threshold, d.Threshold)
	orDefault(&c.Workers, d.Workers)
	if c.Now == nil {
		c.Now = d.Now
	}
}

// Server is the API. Safe for concurrent use.
type Server struct {
	cfg    Config
	log    *slog.Logger
	cat    *catalog
	keys   *auth.Keyring
	store  *auth.Store
	limit  *auth.Limiter
	online online.Store
	tmap   atomic.Pointer[tableMap]
	models models
	met    *metricSet
	audit  *auditor
	loader *datasets.Loader
	engine *gin.Engine

	mu       sync.Mutex // serialises reloads and activations
	down     atomic.Pointer[outage]
	modelErr atomic.Pointer[error]
	started  atomic.Bool

	// lineBufs recycles the NDJSON buffers of batch chunks ([]byte).
	lineBufs sync.Pool
}

// outage records since when the warehouse is unreachable and why.
type outage struct {
	err   error
	since time.Time
}

// New builds a Server and loads the keys, the online features and the
// active models once. A warehouse failure here is not fatal: the server
// starts not ready (see /readyz) and keeps retrying in the background.
func New(ctx context.Context, cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.defaults()
	ld, err := datasets.NewLoader(cfg.Engine, datasets.DefaultLoaderConfig())
	if err != nil {
		return nil, fmt.Errorf("api: %w", err)
	}
	s := &Server{cfg: cfg, log: cfg.Log, cat: newCatalog(), keys: auth.NewKeyring(), store: auth.NewStore(cfg.Engine),
		limit: auth.NewLimiter(cfg.RatePerSecond, cfg.Burst, cfg.Now), loader: ld}
	s.met = newMetrics(cfg.Metrics, s)
	s.audit = newAuditor(cfg.Engine, cfg.Log, s.met)
	s.ping(ctx)
	s.Reload(ctx)
	s.engine = s.routes()
	return s, nil
}

// Handler returns the HTTP handler (for tests and embedding; Run serves
// it with timeouts, background reloads and the audit writer).
func (s *Server) Handler() http.Handler { return s.engine }

// Reload reloads the API keys, the online features (when they changed in
// the warehouse) and the active models, without blocking requests: a
// failure keeps what was loaded and is reported by /readyz. Safe to call
// at any time.
func (s *Server) Reload(ctx context.Context) {
	s.reloadKeys(ctx)
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.online.Current()
	v, err := online.Probe(ctx, s.cfg.Engine)
	if err == nil && (t == nil || v != t.Version) {
		var nt *online.Table
		start := time.Now()
		if nt, err = online.Load(ctx, s.cfg.Engine, ""); err == nil {
			t = nt
			s.online.Set(t)
			s.tmap.Store(s.cat.mapTable(t))
			s.log.Info("online features loaded", "customers", t.Len(), "as_of", t.MaxAsOf.Format(time.DateOnly), "seconds", time.Since(start).Seconds())
		}
	}
	if err != nil {
		s.online.Fail(err)
		s.log.Warn("online features not reloaded", "err", err)
	} else {
		s.online.Set(t)
	}
	set, errs := s.loadActive(ctx, t)
	if set != nil {
		s.models.cur.Store(&set)
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

func (s *Server) reloadKeys(ctx context.Context) {
	ks, err := s.store.List(ctx, "")
	if err != nil {
		s.log.Warn("API keys not reloaded", "err", err)
		return
	}
	s.keys.Replace(ks)
}

// ping checks the warehouse and records an outage.
func (s *Server) ping(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	rr, err := s.cfg.Engine.Query(ctx, "SELECT 1 AS ok", nil)
	if err == nil {
		for rr.Next() {
		}
		err = rr.Err()
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

// Run serves on ln until ctx ends, reloading in the background, then
// drains in-flight requests (up to ShutdownTimeout) and flushes the audit
// trail. ready, when set, is called once the server accepts requests.
func (s *Server) Run(ctx context.Context, ln net.Listener, ready func(net.Addr)) error {
	if !s.started.CompareAndSwap(false, true) {
		return errors.New("api: server already running")
	}
	srv := &http.Server{Handler: s.engine, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 2 * time.Minute,
		WriteTimeout: s.cfg.RequestTimeout + time.Minute, IdleTimeout: 2 * time.Minute,
		ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)}
	bg, stop := context.WithCancel(context.WithoutCancel(ctx))
	defer stop()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); s.audit.run(bg) }()
	every := func(d time.Duration, fn func(context.Context)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := time.NewTicker(d)
			defer t.Stop()
			for {
				select {
				case <-bg.Done():
					return
				case <-t.C:
					fn(bg)
				}
			}
		}()
	}
	every(s.cfg.Ping, s.ping)
	every(s.cfg.KeyReload, s.reloadKeys)
	every(s.cfg.Reload, s.Reload)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	if ready != nil {
		ready(ln.Addr())
	}
	var err error
	select {
	case err = <-errc:
		err = fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
		s.log.Info("shutting down: draining in-flight requests", "timeout", s.cfg.ShutdownTimeout.String())
		sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
		if e := srv.Shutdown(sctx); e != nil {
			err = fmt.Errorf("shutdown: %w", e)
		}
		cancel()
	}
	stop()
	wg.Wait()
	return err
}

// apiError is the body of every error answer.
type apiError struct {
	Error     string `json:"error"`
	Field     string `json:"field,omitempty"`
	RequestID string `json:"request_id"`
}

// fail answers an error: the status, a message and, for bad input, the
// JSON field path.
func fail(c *gin.Context, status int, field, format string, args ...any) {
	c.AbortWithStatusJSON(status, apiError{Error: fmt.Sprintf(format, args...), Field: field, RequestID: c.GetString(ctxRequestID)})
}

// Keys of values the middleware stores on the gin context.
const (
	ctxRequestID = "request_id"
	ctxKey       = "key"
	ctxTenant    = "tenant"
	ctxKeyID     = "key_id"
)

func (s *Server) routes() *gin.Engine {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.HandleMethodNotAllowed = true
	r.Use(s.requestID, s.recover, s.observe)
	r.GET("/healthz", func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok"}) })
	r.GET("/readyz", s.readyz)
	r.GET("/metrics", gin.WrapH(promhttp.HandlerFor(s.cfg.Metrics, promhttp.HandlerOpts{})))
	r.GET("/openapi.json", func(c *gin.Context) { c.Data(http.StatusOK, "application/json", openAPI) })
	v1 := r.Group("/v1", s.authenticate, s.rateLimit, s.timeout)
	for _, rt := range apiRoutes {
		v1.Handle(rt.method, strings.TrimPrefix(rt.path, "/v1"), s.need(rt.scope), rt.handler(s))
	}
	r.NoRoute(func(c *gin.Context) {
		fail(c, http.StatusNotFound, "", "no route %s %s (see /openapi.json)", c.Request.Method, c.Request.URL.Path)
	})
	r.NoMethod(func(c *gin.Context) {
		fail(c, http.StatusMethodNotAllowed, "", "method %s not allowed on %s", c.Request.Method, c.Request.URL.Path)
	})
	return r
}

// apiRoutes are the authenticated routes with the scope each needs.
var apiRoutes = []struct {
	method, path, scope string
	handler             func(s *Server) gin.HandlerFunc
}{
	{http.MethodGet, "/v1/customers/:id/risk", auth.ScopeScore, func(s *Server) gin.HandlerFunc { return s.customerRisk }},
	{http.MethodPost, "/v1/risk", auth.ScopeScore, func(s *Server) gin.HandlerFunc { return s.inlineRisk }},
	{http.MethodPost, "/v1/risk/batch", auth.ScopeScore, func(s *Server) gin.HandlerFunc { return s.batchRisk }},
	{http.MethodPost, "/v1/onboarding/risk", auth.ScopeScore, func(s *Server) gin.HandlerFunc { return s.onboardingRisk }},
	{http.MethodPost, "/v1/invoices/risk", auth.ScopeScore, func(s *Server) gin.HandlerFunc { return s.invoiceRisk }},
	{http.MethodPost, "/v1/events", auth.ScopeEvents, func(s *Server) gin.HandlerFunc { return s.events }},
	{http.MethodGet, "/v1/models", auth.ScopeAdmin, func(s *Server) gin.HandlerFunc { return s.listModels }},
	{http.MethodPost, "/v1/models/:version/activate", auth.ScopeAdmin, func(s *Server) gin.HandlerFunc { return s.activate }},
}

// requestID takes the caller's X-Request-ID when it is a plain token, or
// makes one, and returns it in the X-Request-ID header.
func (s *Server) requestID(c *gin.Context) {
	id := c.GetHeader("X-Request-ID")
	if !plainToken(id) {
		var b [8]byte
		rand.Read(b[:])
		id = hex.EncodeToString(b[:])
	}
	c.Set(ctxRequestID, id)
	c.Header("X-Request-ID", id)
	c.Next()
}

func plainToken(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r == '-' || r == '_' || r == '.' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return true
}

// recover turns a panic into a 500 answer with the request id, and logs
// it with the stack (which holds no request data).
func (s *Server) recover(c *gin.Context) {
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.log.Error("panic", "request_id", c.GetString(ctxRequestID), "route", c.FullPath(), "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			if c.Writer.Written() {
				return
			}
			fail(c, http.StatusInternalServerError, "", "internal error; quote request id %s when you report it", c.GetString(ctxRequestID))
		}
	}()
	c.Next()
}

// observe records request metrics and logs: route templates and ids only,
// never request bodies or customer data.
func (s *Server) observe(c *gin.Context) {
	start := time.Now()
	c.Next()
	route := c.FullPath()
	if route == "" {
		route = "unmatched"
	}
	status := c.Writer.Status()
	st := strconv.Itoa(status)
	s.met.requests.WithLabelValues(route, c.Request.Method, st).Inc()
	s.met.latency.WithLabelValues(route, c.Request.Method, st).Observe(time.Since(start).Seconds())
	lvl := slog.LevelDebug
	if status >= 500 {
		lvl = slog.LevelWarn
	}
	if s.log.Enabled(c, lvl) {
		s.log.Log(c, lvl, "request", "request_id", c.GetString(ctxRequestID), "method", c.Request.Method, "route", route,
			"status", status, "key_id", c.GetString(ctxKeyID), "tenant", c.GetString(ctxTenant), "ms", float64(time.Since(start).Microseconds())/1000)
	}
}

func (s *Server) authenticate(c *gin.Context) {
	h := c.GetHeader("Authorization")
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		c.Header("WWW-Authenticate", `Bearer realm="duewise"`)
		fail(c, http.StatusUnauthorized, "", "missing API key: send Authorization: Bearer <key>")
		return
	}
	k, err := s.keys.Authenticate(strings.TrimSpace(token))
	if err != nil {
		c.Header("WWW-Authenticate", `Bearer realm="duewise", error="invalid_token"`)
		fail(c, http.StatusUnauthorized, "", "invalid or revoked API key")
		return
	}
	c.Set(ctxKey, k)
	c.Set(ctxKeyID, k.ID)
	c.Set(ctxTenant, k.Tenant)
	c.Next()
}

func (s *Server) need(scope string) gin.HandlerFunc {
	return func(c *gin.Context) {
		k := c.MustGet(ctxKey).(auth.Key)
		if !k.Has(scope) {
			fail(c, http.StatusForbidden, "", "this API key lacks the %q scope (it has %s)", scope, strings.Join(k.Scopes, ", "))
			return
		}
		c.Next()
	}
}

func (s *Server) rateLimit(c *gin.Context) {
	ok, wait := s.limit.Allow(c.GetString(ctxKeyID))
	if !ok {
		c.Header("Retry-After", strconv.Itoa(max(1, int(wait.Seconds()+0.999))))
		fail(c, http.StatusTooManyRequests, "", "rate limit of this API key (%g requests/s, bursts of %d) exceeded; retry after %s",
			s.cfg.RatePerSecond, s.cfg.Burst, wait.Round(time.Millisecond))
		return
	}
	c.Next()
}

func (s *Server) timeout(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), s.cfg.RequestTimeout)
	defer cancel()
	c.Request = c.Request.WithContext(ctx)
	c.Next()
}

// customers returns the online features for a customer lookup, or answers
// 503 itself: before they are loaded, or while the warehouse is
// unreachable (beyond StaleGrace).
func (s *Server) customers(c *gin.Context) (*online.Table, *tableMap, bool) {
	t, m := s.online.Current(), s.tmap.Load()
	if t == nil || m == nil || m.t != t {
		msg := "the online features are not loaded yet"
		if err := s.online.Err(); err != nil {
			msg += ": " + err.Error()
		}
		fail(c, http.StatusServiceUnavailable, "", "%s; inline scoring (POST /v1/risk) works", msg)
		return nil, nil, false
	}
	if o := s.down.Load(); o != nil && s.cfg.Now().Sub(o.since) >= s.cfg.StaleGrace {
		fail(c, http.StatusServiceUnavailable, "", "the warehouse (ClickHouse) is unreachable since %s (%v): customer lookups are not answered from features that may be stale; inline scoring (POST /v1/risk, onboarding, batch records) works",
			o.since.UTC().Format(time.RFC3339), o.err)
		return nil, nil, false
	}
	return t, m, true
}

// readiness is the body of /readyz.
type readiness struct {
	Ready     bool     `json:"ready"`
	Reasons   []string `json:"reasons"`
	Warehouse string   `json:"warehouse"`
	Features  *struct {
		AsOf      string `json:"as_of"`
		LoadedAt  string `json:"loaded_at"`
		Customers int    `json:"customers"`
	} `json:"features"`
	Models int `json:"models"`
}

// readyz answers 200 when a model and the online features are loaded and
// the warehouse is reachable, else 503 with the reasons.
func (s *Server) readyz(c *gin.Context) {
	r := readiness{Reasons: []string{}, Warehouse: "ok"}
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
	if o := s.down.Load(); o != nil {
		r.Warehouse = "unreachable since " + o.since.UTC().Format(time.RFC3339) + ": " + o.err.Error()
		r.Reasons = append(r.Reasons, "warehouse unreachable since "+o.since.UTC().Format(time.RFC3339)+" ("+o.err.Error()+"): customer lookups answer 503, inline scoring works")
	}
	wDown := s.down.Load() != nil && s.cfg.Now().Sub(s.down.Load().since) >= s.cfg.StaleGrace
	r.Ready = t != nil && r.Models > 0 && !wDown
	code := http.StatusOK
	if !r.Ready {
		code = http.StatusServiceUnavailable
	}
	c.JSON(code, r)
}

// orDefault sets *p to v when it is the zero value.
func orDefault[T comparable](p *T, v T) {
	var zero T
	if *p == zero {
		*p = v
	}
}
