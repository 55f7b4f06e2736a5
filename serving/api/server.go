// Package api is duewise's REST API (gin): risk scores with reasons and
// recommended actions per customer, for inline records, prospects,
// invoices and batches; CRM events; model management; health, metrics
// and the OpenAPI document. The hot path reads the online feature table
// and the models from memory; no ClickHouse query runs per request.
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

// Config configures a Server. Engine, Registry and Policy are required.
type Config struct {
	Engine   warehouse.Engine
	Registry *registry.Registry
	Policy   *policy.Policy
	// Registry of Prometheus metrics; nil makes a new one.
	Metrics *prometheus.Registry
	Log     *slog.Logger
	// RatePerSecond and Burst limit each API key (token bucket);
	// defaults 200/s and 400.
	RatePerSecond float64
	Burst         int
	// MaxBody is the largest request body in bytes; default 8 MiB.
	MaxBody int64
	// Reload is how often the online features, keys and active models are
	// reloaded in the background; default 1 minute.
	Reload time.Duration
	// Threshold is the behind threshold in days (for inline history);
	// default 30.
	Threshold int
	// RequestTimeout bounds a request's work; default 30 s.
	RequestTimeout time.Duration
	// Now is the clock (tests); default time.Now.
	Now func() time.Time
}

// Server is the API. Safe for concurrent use.
type Server struct {
	cfg    Config
	log    *slog.Logger
	keys   *auth.Keyring
	store  *auth.Store
	limit  *auth.Limiter
	online online.Store
	models models
	met    *metricSet
	audit  *auditor
	loader *datasets.Loader
	engine *gin.Engine

	mu         sync.Mutex // serialises reloads and activations
	tenants    []string
	warehouseE atomic.Pointer[error]
}

// New builds a Server and loads keys, features and models once; a
// warehouse failure here is not fatal (the server starts not ready and
// retries in the background).
func New(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.Engine == nil || cfg.Registry == nil || cfg.Policy == nil {
		return nil, errors.New("api: Engine, Registry and Policy are required")
	}
	if cfg.Metrics == nil {
		cfg.Metrics = prometheus.NewRegistry()
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.RatePerSecond == 0 {
		cfg.RatePerSecond = 200
	}
	if cfg.Burst == 0 {
		cfg.Burst = 400
	}
	if cfg.MaxBody == 0 {
		cfg.MaxBody = 8 << 20
	}
	if cfg.Reload == 0 {
		cfg.Reload = time.Minute
	}
	if cfg.Threshold == 0 {
		cfg.Threshold = 30
	}
	if cfg.RequestTimeout == 0 {
		cfg.RequestTimeout = 30 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	ld, err := datasets.NewLoader(cfg.Engine, datasets.DefaultLoaderConfig())
	if err != nil {
		return nil, fmt.Errorf("api: %w", err)
	}
	s := &Server{cfg: cfg, log: cfg.Log, keys: auth.NewKeyring(), store: auth.NewStore(cfg.Engine),
		limit: auth.NewLimiter(cfg.RatePerSecond, cfg.Burst, cfg.Now), loader: ld}
	s.met = newMetrics(cfg.Metrics, s)
	s.audit = newAuditor(cfg.Engine, cfg.Log, s.met)
	s.reload(ctx)
	s.engine = s.routes()
	return s, nil
}

// Handler returns the HTTP handler.
func (s *Server) Handler() http.Handler { return s.engine }

// reload refreshes keys, the online features and the active models. A
// failure keeps what was loaded before and is reported by /readyz.
func (s *Server) reload(ctx context.Context) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	if ks, err := s.store.List(ctx, ""); err != nil {
		errs = append(errs, err)
	} else {
		s.keys.Replace(ks)
	}
	t, err := online.Load(ctx, s.cfg.Engine, "")
	if err != nil {
		s.online.Fail(err)
		errs = append(errs, err)
	} else {
		s.online.Set(t)
	}
	tenants, err := s.cfg.Registry.Tenants(ctx)
	if err != nil {
		errs = append(errs, err)
	} else {
		s.tenants = tenants
		set, lerrs := loadActive(ctx, s.cfg.Registry, tenants, s.online.Current())
		for _, e := range lerrs {
			s.log.Error("model not loaded", "err", e)
		}
		// Keep a model that failed to load now but loaded before.
		for tn, ks := range s.models.all() {
			for k, l := range ks {
				if set[tn][k] == nil && len(lerrs) > 0 {
					if set[tn] == nil {
						set[tn] = map[string]*loaded{}
					}
					set[tn][k] = l
				}
			}
		}
		s.models.cur.Store(&set)
	}
	if len(errs) > 0 {
		err := errors.Join(errs...)
		s.warehouseE.Store(&err)
		s.log.Warn("reload incomplete", "err", err)
	} else {
		s.warehouseE.Store(nil)
	}
	s.met.refresh()
}

// Run serves on addr until ctx ends, reloading in the background, then
// drains in-flight requests (up to 30 s) and flushes the audit log.
func (s *Server) Run(ctx context.Context, addr string, ready func(net.Addr)) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	srv := &http.Server{Handler: s.engine, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute, WriteTimeout: 2 * time.Minute, IdleTimeout: 2 * time.Minute}
	go s.audit.run(ctx)
	go func() {
		t := time.NewTicker(s.cfg.Reload)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				s.reload(ctx)
			}
		}
	}()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	if ready != nil {
		ready(ln.Addr())
	}
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = srv.Shutdown(sctx)
	s.audit.close(sctx)
	if err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

// Close flushes the audit log (for servers used through Handler only).
func (s *Server) Close(ctx context.Context) { s.audit.close(ctx) }

// apiError is the body of every error answer.
type apiError struct {
	Error     string `json:"error"`
	Field     string `json:"field,omitempty"`
	RequestID string `json:"request_id"`
}

func fail(c *gin.Context, status int, field, format string, args ...any) {
	c.AbortWithStatusJSON(status, apiError{Error: fmt.Sprintf(format, args...), Field: field, RequestID: c.GetString("request_id")})
}

func (s *Server) routes() *gin.Engine {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.Use(s.requestID, s.recover, s.observe)
	r.GET("/healthz", func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok"}) })
	r.GET("/readyz", s.readyz)
	r.GET("/metrics", gin.WrapH(promhttp.HandlerFor(s.cfg.Metrics, promhttp.HandlerOpts{})))
	r.GET("/openapi.json", func(c *gin.Context) { c.Data(http.StatusOK, "application/json", openAPI) })
	v1 := r.Group("/v1", s.authenticate, s.rateLimit, s.bodyLimit, s.timeout)
	v1.GET("/customers/:id/risk", s.need(auth.ScopeScore), s.customerRisk)
	v1.POST("/risk", s.need(auth.ScopeScore), s.inlineRisk)
	v1.POST("/risk/batch", s.need(auth.ScopeScore), s.batchRisk)
	v1.POST("/onboarding/risk", s.need(auth.ScopeScore), s.onboardingRisk)
	v1.POST("/invoices/risk", s.need(auth.ScopeScore), s.invoiceRisk)
	v1.POST("/events", s.need(auth.ScopeEvents), s.events)
	v1.GET("/models", s.need(auth.ScopeAdmin), s.listModels)
	v1.POST("/models/:version/activate", s.need(auth.ScopeAdmin), s.activate)
	r.NoRoute(func(c *gin.Context) {
		fail(c, http.StatusNotFound, "", "no route %s %s", c.Request.Method, c.Request.URL.Path)
	})
	return r
}

func (s *Server) requestID(c *gin.Context) {
	id := c.GetHeader("X-Request-ID")
	if id == "" || len(id) > 64 {
		var b [8]byte
		rand.Read(b[:])
		id = hex.EncodeToString(b[:])
	}
	c.Set("request_id", id)
	c.Header("X-Request-ID", id)
	c.Next()
}

func (s *Server) recover(c *gin.Context) {
	defer func() {
		if v := recover(); v != nil {
			s.log.Error("panic", "request_id", c.GetString("request_id"), "route", c.FullPath(), "panic", fmt.Sprint(v))
			fail(c, http.StatusInternalServerError, "", "internal error; quote request id %s", c.GetString("request_id"))
		}
	}()
	c.Next()
}

// observe records request metrics and logs (ids only, no personal data).
func (s *Server) observe(c *gin.Context) {
	start := time.Now()
	c.Next()
	route := c.FullPath()
	if route == "" {
		route = "unmatched"
	}
	st := strconv.Itoa(c.Writer.Status())
	s.met.requests.WithLabelValues(route, c.Request.Method, st).Inc()
	s.met.latency.WithLabelValues(route, c.Request.Method, st).Observe(time.Since(start).Seconds())
	if c.Writer.Status() >= 500 {
		s.log.Warn("request", "request_id", c.GetString("request_id"), "route", route, "status", c.Writer.Status(), "key", c.GetString("key_id"))
	} else {
		s.log.Debug("request", "request_id", c.GetString("request_id"), "route", route, "status", c.Writer.Status(), "key", c.GetString("key_id"), "ms", time.Since(start).Milliseconds())
	}
}

func (s *Server) authenticate(c *gin.Context) {
	h := c.GetHeader("Authorization")
	token, ok := strings.CutPrefix(h, "Bearer ")
	if !ok {
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
	c.Set("key", k)
	c.Set("key_id", k.ID)
	c.Set("tenant", k.Tenant)
	c.Next()
}

func (s *Server) need(scope string) gin.HandlerFunc {
	return func(c *gin.Context) {
		k := c.MustGet("key").(auth.Key)
		if !k.Has(scope) {
			fail(c, http.StatusForbidden, "", "this API key lacks the %q scope", scope)
			return
		}
		c.Next()
	}
}

func (s *Server) rateLimit(c *gin.Context) {
	ok, wait := s.limit.Allow(c.GetString("key_id"))
	if !ok {
		c.Header("Retry-After", strconv.Itoa(max(1, int(wait.Seconds()+0.999))))
		fail(c, http.StatusTooManyRequests, "", "rate limit of this API key exceeded; retry after %s", wait.Round(time.Millisecond))
		return
	}
	c.Next()
}

func (s *Server) bodyLimit(c *gin.Context) {
	if c.Request.ContentLength > s.cfg.MaxBody {
		fail(c, http.StatusRequestEntityTooLarge, "", "request body of %d bytes exceeds the limit of %d bytes", c.Request.ContentLength, s.cfg.MaxBody)
		return
	}
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, s.cfg.MaxBody)
	c.Next()
}

func (s *Server) timeout(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), s.cfg.RequestTimeout)
	defer cancel()
	c.Request = c.Request.WithContext(ctx)
	c.Next()
}

func (s *Server) readyz(c *gin.Context) {
	var why []string
	if s.online.Current() == nil {
		why = append(why, "online features not loaded")
	}
	if len(s.models.all()) == 0 {
		why = append(why, "no active model")
	}
	if p := s.warehouseE.Load(); p != nil {
		why = append(why, "warehouse: "+(*p).Error())
	}
	body := gin.H{"ready": len(why) == 0 || (s.online.Current() != nil && len(s.models.all()) > 0), "reasons": why}
	if t := s.online.Current(); t != nil {
		body["features_as_of"] = t.MaxAsOf.Format(time.DateOnly)
		body["customers"] = t.Len()
	}
	if body["ready"] == true {
		c.JSON(http.StatusOK, body)
		return
	}
	c.JSON(http.StatusServiceUnavailable, body)
}
