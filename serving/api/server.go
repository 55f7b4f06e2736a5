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
	"github.com/duewise/duewise/serving/audit"
	"github.com/duewise/duewise/serving/auth"
	"github.com/duewise/duewise/serving/changes"
	"github.com/duewise/duewise/serving/scoring"
)

// Config configures a Server. Scoring, Audit, Keys and Loader are
// required; the zero value of every other field takes its DefaultConfig
// value.
type Config struct {
	// Scoring answers the risk questions; the Server runs its background
	// reloads while it serves.
	Scoring *scoring.Core
	// Audit records every score before it is answered; the Server runs its
	// writer while it serves and closes it at shutdown.
	Audit *audit.Trail
	// Keys are the API keys, reloaded every KeyReload.
	Keys *auth.Store
	// Loader stores the rows of POST /v1/events.
	Loader *datasets.Loader
	// Changes is the change feed of GET /v1/changes (the scoring core
	// writes it); nil answers that route 503. The Server drops its days
	// past the retention while it serves.
	Changes *changes.Log
	// Metrics is the Prometheus registry served at /metrics; nil makes a
	// new one.
	Metrics *prometheus.Registry
	Log     *slog.Logger
	// RatePerSecond and Burst limit each API key (token bucket).
	RatePerSecond float64
	Burst         int
	// AuthFailures and AuthFailureBurst limit failed authentications per
	// client address: past them the address is answered 429 until its
	// bucket refills, whatever key it sends.
	AuthFailures     float64
	AuthFailureBurst int
	// MaxBody is the largest body of a single request in bytes; MaxBatchBody
	// that of POST /v1/risk/batch and POST /v1/events.
	MaxBody      int64
	MaxBatchBody int64
	// KeyReload is how often the API keys are reloaded.
	KeyReload time.Duration
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
	return Config{RatePerSecond: 200, Burst: 400, AuthFailures: 1, AuthFailureBurst: 20, MaxBody: 1 << 20, MaxBatchBody: 64 << 20,
		KeyReload: 10 * time.Second, RequestTimeout: 30 * time.Second, ShutdownTimeout: 30 * time.Second, Workers: runtime.GOMAXPROCS(0), Now: time.Now}
}

// Validate checks the configuration.
func (c Config) Validate() error {
	switch {
	case c.Scoring == nil || c.Audit == nil || c.Keys == nil || c.Loader == nil:
		return errors.New("api: Scoring, Audit, Keys and Loader are required")
	case c.RatePerSecond < 0 || c.Burst < 0 || c.AuthFailures < 0 || c.AuthFailureBurst < 0:
		return errors.New("api: rates and bursts must not be negative")
	case c.MaxBody < 0 || c.MaxBatchBody < 0:
		return errors.New("api: body limits must not be negative")
	case c.Workers < 0:
		return errors.New("api: workers must not be negative")
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
	orDefault(&c.AuthFailures, d.AuthFailures)
	orDefault(&c.AuthFailureBurst, d.AuthFailureBurst)
	orDefault(&c.KeyReload, d.KeyReload)
	orDefault(&c.RequestTimeout, d.RequestTimeout)
	orDefault(&c.ShutdownTimeout, d.ShutdownTimeout)
	orDefault(&c.MaxBody, d.MaxBody)
	orDefault(&c.MaxBatchBody, d.MaxBatchBody)
	orDefault(&c.Workers, d.Workers)
	if c.Now == nil {
		c.Now = d.Now
	}
}

// Server is the HTTP API: routes, strict JSON, keys and limits, the
// mapping of errors to statuses; the scoring core answers and the audit
// trail records. Safe for concurrent use.
type Server struct {
	cfg      Config
	log      *slog.Logger
	core     *scoring.Core
	trail    *audit.Trail
	keys     *auth.Keyring
	limit    *auth.Limiter
	authFail *auth.Limiter
	met      *metricSet
	engine   *gin.Engine
	started  atomic.Bool

	// lineBufs recycles the NDJSON buffers of batch chunks ([]byte).
	lineBufs sync.Pool
}

// New builds a Server and loads the API keys once (a failure is logged
// and retried in the background).
func New(ctx context.Context, cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.defaults()
	s := &Server{cfg: cfg, log: cfg.Log, core: cfg.Scoring, trail: cfg.Audit, keys: auth.NewKeyring(),
		limit: auth.NewLimiter(cfg.RatePerSecond, cfg.Burst, cfg.Now), authFail: auth.NewLimiter(cfg.AuthFailures, cfg.AuthFailureBurst, cfg.Now)}
	s.met = newMetrics(cfg.Metrics, s)
	s.reloadKeys(ctx)
	s.engine = s.routes()
	return s, nil
}

// Handler returns the HTTP handler (for tests and embedding; Run serves
// it with timeouts, the background reloads and the audit writer).
func (s *Server) Handler() http.Handler { return s.engine }

// Reload reloads the API keys and the scoring core's features and models.
// Safe to call at any time.
func (s *Server) Reload(ctx context.Context) {
	s.reloadKeys(ctx)
	s.core.Reload(ctx)
}

func (s *Server) reloadKeys(ctx context.Context) {
	ks, err := s.cfg.Keys.List(ctx, "")
	if err != nil {
		s.log.Warn("API keys not reloaded", "err", err)
		return
	}
	s.keys.Replace(ks)
}

// Run serves on ln until ctx ends, with the scoring core's reloads, the
// key reloads and the audit writer in the background, then drains
// in-flight requests (up to ShutdownTimeout) and closes the audit trail
// (writing what it can; the rest stays spooled). ready, when set, is
// called once the server accepts requests.
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
	for _, fn := range []func(context.Context){s.core.Run, s.trail.Run, s.keyLoop, s.purgeLoop} {
		wg.Add(1)
		go func() { defer wg.Done(); fn(bg) }()
	}
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
	fctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if e := s.trail.Close(fctx); e != nil {
		s.log.Warn("audit records left in the spool for the next start", "pending", s.trail.Pending(), "err", e)
	}
	return err
}

// purgeLoop drops the change feed's days past its retention, hourly.
func (s *Server) purgeLoop(ctx context.Context) {
	if s.cfg.Changes == nil {
		return
	}
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		if err := s.cfg.Changes.Purge(ctx); err != nil {
			s.log.Warn("old changes not dropped", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (s *Server) keyLoop(ctx context.Context) {
	t := time.NewTicker(s.cfg.KeyReload)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.reloadKeys(ctx)
		}
	}
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
	// Route on the escaped path, so that an id holding "/" (%2F) is one
	// path segment, and unescape the parameters.
	r.UseRawPath, r.UnescapePathValues = true, true
	r.Use(s.requestID, s.recover, s.observe)
	r.GET("/healthz", func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok"}) })
	r.GET("/readyz", s.readyz)
	r.GET("/metrics", gin.WrapH(promhttp.HandlerFor(s.cfg.Metrics, promhttp.HandlerOpts{})))
	r.GET("/openapi.json", func(c *gin.Context) { c.Data(http.StatusOK, "application/json", openAPI) })
	v1 := r.Group("/v1", s.authenticate, s.rateLimit, s.timeout)
	for _, rt := range apiRoutes {
		v1.Handle(rt.method, strings.TrimPrefix(rt.path, "/v1"), s.need(rt.scope), s.handle(rt.handler(s)))
	}
	r.NoRoute(func(c *gin.Context) {
		s.fail(c, httpError(http.StatusNotFound, "no route %s %s (see /openapi.json)", c.Request.Method, c.Request.URL.Path))
	})
	r.NoMethod(func(c *gin.Context) {
		s.fail(c, httpError(http.StatusMethodNotAllowed, "method %s not allowed on %s", c.Request.Method, c.Request.URL.Path))
	})
	return r
}

// apiRoutes are the authenticated routes with the scope each needs.
var apiRoutes = []struct {
	method, path, scope string
	handler             func(s *Server) handler
}{
	{http.MethodGet, "/v1/customers/:id/risk", auth.ScopeScore, func(s *Server) handler { return s.customerRisk }},
	{http.MethodPost, "/v1/risk", auth.ScopeScore, func(s *Server) handler { return s.inlineRisk }},
	{http.MethodPost, "/v1/risk/batch", auth.ScopeScore, func(s *Server) handler { return s.batchRisk }},
	{http.MethodPost, "/v1/onboarding/risk", auth.ScopeScore, func(s *Server) handler { return s.onboardingRisk }},
	{http.MethodPost, "/v1/invoices/risk", auth.ScopeScore, func(s *Server) handler { return s.invoiceRisk }},
	{http.MethodPost, "/v1/events", auth.ScopeEvents, func(s *Server) handler { return s.events }},
	{http.MethodGet, "/v1/changes", auth.ScopeScore, func(s *Server) handler { return s.changesSince }},
	{http.MethodGet, "/v1/models", auth.ScopeAdmin, func(s *Server) handler { return s.listModels }},
	{http.MethodPost, "/v1/models/:version/activate", auth.ScopeAdmin, func(s *Server) handler { return s.activate }},
	{http.MethodGet, "/v1/models/:version/report", auth.ScopeAdmin, func(s *Server) handler { return s.modelReport }},
	{http.MethodGet, "/v1/forecast/cash", auth.ScopeAdmin, func(s *Server) handler { return s.cashForecast }},
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
			s.fail(c, httpError(http.StatusInternalServerError, "internal error; quote request id %s when you report it", c.GetString(ctxRequestID)))
		}
	}()
	c.Next()
}

// observe records request metrics and logs: route templates and ids only,
// never request bodies or customer data.
func (s *Server) observe(c *gin.Context) {
	start := time.Now()
	c.Next()
	route := routeTemplate(c.FullPath())
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

// routeTemplate writes a gin route (/v1/customers/:id/risk) as the
// OpenAPI document names it (/v1/customers/{id}/risk), for metrics and
// logs.
func routeTemplate(route string) string {
	if !strings.Contains(route, ":") {
		return route
	}
	parts := strings.Split(route, "/")
	for i, p := range parts {
		if strings.HasPrefix(p, ":") {
			parts[i] = "{" + p[1:] + "}"
		}
	}
	return strings.Join(parts, "/")
}

// authenticate checks the API key. Failed authentications are limited per
// client address (the connection's, not a header a client can set): past
// the limit the address is answered 429 whatever key it sends, so that
// keys cannot be guessed at the speed of the server.
func (s *Server) authenticate(c *gin.Context) {
	addr := c.RemoteIP()
	if blocked, wait := s.authFail.Blocked(addr); blocked {
		c.Header("Retry-After", strconv.Itoa(max(1, int(wait.Seconds()+0.999))))
		s.fail(c, httpError(http.StatusTooManyRequests, "too many failed authentications from %s (%g per second, bursts of %d); retry after %s",
			addr, s.cfg.AuthFailures, s.cfg.AuthFailureBurst, wait.Round(time.Millisecond)))
		return
	}
	h := c.GetHeader("Authorization")
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		s.authFail.Allow(addr)
		c.Header("WWW-Authenticate", `Bearer realm="duewise"`)
		s.fail(c, httpError(http.StatusUnauthorized, "missing API key: send Authorization: Bearer <key>"))
		return
	}
	k, err := s.keys.Authenticate(strings.TrimSpace(token))
	if err != nil {
		s.authFail.Allow(addr)
		c.Header("WWW-Authenticate", `Bearer realm="duewise", error="invalid_token"`)
		s.fail(c, httpError(http.StatusUnauthorized, "invalid or revoked API key"))
		return
	}
	c.Set(ctxKey, k)
	c.Set(ctxKeyID, k.ID)
	c.Set(ctxTenant, k.Tenant)
	c.Next()
}

func (s *Server) need(scope string) gin.HandlerFunc {
	return func(c *gin.Context) {
		k, ok := c.MustGet(ctxKey).(auth.Key)
		if !ok || !k.Has(scope) {
			s.fail(c, httpError(http.StatusForbidden, "this API key lacks the %q scope (it has %s)", scope, strings.Join(k.Scopes, ", ")))
			return
		}
		c.Next()
	}
}

func (s *Server) rateLimit(c *gin.Context) {
	ok, wait := s.limit.Allow(c.GetString(ctxKeyID))
	if !ok {
		c.Header("Retry-After", strconv.Itoa(max(1, int(wait.Seconds()+0.999))))
		s.fail(c, httpError(http.StatusTooManyRequests, "rate limit of this API key (%g requests/s, bursts of %d) exceeded; retry after %s",
			s.cfg.RatePerSecond, s.cfg.Burst, wait.Round(time.Millisecond)))
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

// orDefault sets *p to v when it is the zero value.
func orDefault[T comparable](p *T, v T) {
	var zero T
	if *p == zero {
		*p = v
	}
}

// Core returns the scoring core the server answers with.
func (s *Server) Core() *scoring.Core { return s.core }
