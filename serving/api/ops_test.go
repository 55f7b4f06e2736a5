package api

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/duewise/duewise/datasets"
	"github.com/duewise/duewise/datasets/synth"
	"github.com/duewise/duewise/features"
	"github.com/duewise/duewise/model"
	"github.com/duewise/duewise/model/registry"
	"github.com/duewise/duewise/serving/auth"
	"github.com/duewise/duewise/warehouse"
	"github.com/duewise/duewise/warehouse/chserver"
	"github.com/duewise/duewise/warehouse/warehousetest"
)

// routeCase is one request to every authenticated route.
type routeCase struct {
	method, route, path string
	body                any
}

func (f *fixture) everyRoute() []routeCase {
	c := f.customersA[0]
	return []routeCase{
		{"GET", rCustomer, "/v1/customers/" + c + "/risk", nil},
		{"POST", rRisk, "/v1/risk", map[string]any{"signals": map[string]any{"tenure_days": 100}}},
		{"POST", rBatch, "/v1/risk/batch", map[string]any{"customer_ids": []string{c}}},
		{"POST", rOnboarding, "/v1/onboarding/risk", onboardingBody()},
		{"POST", rInvoice, "/v1/invoices/risk", map[string]any{"customer_id": c, "amount": 80, "terms_days": 14}},
		{"POST", rEvents, "/v1/events", map[string]any{"customer_events": []any{}}},
		{"GET", rChanges, "/v1/changes", nil},
		{"GET", rModels, "/v1/models", nil},
		{"POST", rActivate, "/v1/models/" + f.versions[model.Behaviour] + "/activate", nil},
		{"GET", rReport, "/v1/models/" + f.versions[model.Behaviour] + "/report", nil},
		{"GET", rForecast, "/v1/forecast/cash?weeks=1&origins=0", nil},
	}
}

// TestOperations checks limits, errors, logs, shutdown and outages of a
// real server on both backends.
func TestOperations(t *testing.T) {
	warehousetest.Each(t, func(t *testing.T, e warehouse.Engine) {
		f := setup(t, e)

		t.Run("routes and scopes are documented", func(t *testing.T) {
			srv := f.newServer(t, opts{Registry: f.reg})
			served := map[string]bool{}
			for _, r := range srv.engine.Routes() {
				path := r.Path
				for _, p := range []string{"id", "version"} {
					path = strings.Replace(path, ":"+p, "{"+p+"}", 1)
				}
				served[r.Method+" "+path] = true
				if _, err := f.v.operation(path, r.Method); err != nil {
					t.Errorf("served but not documented: %v", err)
				}
			}
			for path, item := range f.v.doc["paths"].(map[string]any) {
				for m := range item.(map[string]any) {
					if !served[strings.ToUpper(m)+" "+path] {
						t.Errorf("documented but not served: %s %s", m, path)
					}
				}
			}
			for _, rt := range apiRoutes {
				op, err := f.v.operation(strings.ReplaceAll(strings.ReplaceAll(rt.path, ":id", "{id}"), ":version", "{version}"), rt.method)
				if err != nil {
					t.Fatal(err)
				}
				if op["x-duewise-scope"] != rt.scope || !strings.Contains(op["description"].(string), "Scope: "+rt.scope) {
					t.Errorf("%s %s: documented scope %v, served %s", rt.method, rt.path, op["x-duewise-scope"], rt.scope)
				}
			}
		})

		t.Run("rate limit per key", func(t *testing.T) {
			sv := f.start(t, opts{Config: Config{RatePerSecond: 0.5, Burst: 2}})
			for range 2 {
				sv.call(t, "GET", rModels, "/v1/models", f.keyAdmin, nil)
			}
			for _, rc := range f.everyRoute() {
				r := sv.call(t, rc.method, rc.route, rc.path, f.keyAdmin, rc.body)
				if r.code != 429 {
					t.Errorf("%s %s: %s", rc.method, rc.path, r)
				}
				if s, err := strconv.Atoi(r.h.Get("Retry-After")); err != nil || s < 1 || s > 2 {
					t.Errorf("Retry-After %q", r.h.Get("Retry-After"))
				}
			}
			if r := sv.call(t, "GET", rCustomer, "/v1/customers/"+f.customerB+"/risk", f.keyB, nil); r.code != 200 {
				t.Fatalf("another key: %s", r)
			}
		})

		t.Run("body limits", func(t *testing.T) {
			sv := f.start(t, opts{Config: Config{MaxBody: 4 << 10, MaxBatchBody: 16 << 10}})
			pad := func(n int) string { return strings.Repeat(" ", n) }
			for _, rc := range f.everyRoute() {
				if rc.body == nil {
					continue
				}
				b, _ := json.Marshal(rc.body)
				n := 5 << 10
				if rc.route == rBatch || rc.route == rEvents {
					n = 20 << 10
					// Within the batch limit but over the single one: fine.
					if r := sv.call(t, rc.method, rc.route, rc.path, f.keyAdmin, string(b)+pad(8<<10)); r.code >= 400 {
						t.Errorf("%s with 8 KiB: %s", rc.path, r)
					}
				}
				r := sv.call(t, rc.method, rc.route, rc.path, f.keyAdmin, string(b)+pad(n))
				if r.code != 413 {
					t.Errorf("%s with %d bytes: %s", rc.path, n, r)
				}
				// Without Content-Length (chunked) too.
				req, _ := http.NewRequest(rc.method, sv.url+rc.path, io.MultiReader(bytes.NewReader(b), strings.NewReader(pad(n))))
				req.Header.Set("Authorization", "Bearer "+f.keyAdmin)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != 413 || req.ContentLength > 0 {
					t.Errorf("%s chunked %d bytes: %d", rc.path, n, resp.StatusCode)
				}
			}
		})

		t.Run("panics become 500 with a request id, logs hold no personal data", func(t *testing.T) {
			var logs syncBuffer
			srv := f.newServer(t, opts{Config: Config{RatePerSecond: 1000, Log: slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}})
			// A route that panics, behind the same middleware as the API.
			srv.engine.GET("/v1/boom", srv.authenticate, func(c *gin.Context) { panic("boom") })
			sv := f.run(t, srv)
			r := sv.callH(t, "GET", "", "/v1/boom", f.keyA, nil, http.Header{"X-Request-Id": {"boom-1"}})
			if r.code != 500 {
				t.Fatalf("panic: %s", r)
			}
			var body apiError
			if err := json.Unmarshal(r.body, &body); err != nil || body.RequestID != "boom-1" || !strings.Contains(body.Error, "boom-1") {
				t.Errorf("500 body %s", r.body)
			}
			if err := f.v.check(f.v.resolve("#/components/schemas/Error"), mustJSON(r.body), "$"); err != nil {
				t.Errorf("500 body does not follow the document: %v", err)
			}
			// Requests with personal data in them, good and bad.
			secret := []string{"9999ZZ", "8123.45", "98765.43", "heart surgery", "NL91ABNA0417164300"}
			ob := onboardingBody()
			ob["postcode_area"], ob["monthly_amount"] = secret[0], 8123.45
			sv.call(t, "POST", rOnboarding, "/v1/onboarding/risk", f.keyA, ob)
			sv.call(t, "POST", rRisk, "/v1/risk", f.keyA, map[string]any{"signals": map[string]any{"open_overdue_amount": 98765.43}})
			sv.call(t, "POST", rRisk, "/v1/risk", f.keyA, map[string]any{"signals": map[string]any{"open_overdue_amount": "98765.43"}})
			sv.call(t, "POST", rEvents, "/v1/events", f.keyEvents, map[string]any{"customer_events": []any{
				map[string]any{"event_id": "log-1", "customer_id": f.customersA[0], "occurred_at": "2026-01-02T10:00:00Z", "kind": "contact", "detail": "heart surgery"},
				map[string]any{"event_id": "log-2", "customer_id": f.customersA[0], "occurred_at": "NL91ABNA0417164300", "kind": "contact"}}})
			sv.call(t, "GET", rCustomer, "/v1/customers/"+f.customersA[0]+"/risk", "nonsense", nil)
			out := logs.String()
			for _, s := range secret {
				if strings.Contains(out, s) {
					t.Errorf("the log holds %q:\n%s", s, out)
				}
			}
			var sawPanic, sawRequest bool
			sc := bufio.NewScanner(strings.NewReader(out))
			sc.Buffer(nil, 1<<20)
			for sc.Scan() {
				var line map[string]any
				if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
					t.Fatalf("log line not JSON: %s", sc.Bytes())
				}
				sawPanic = sawPanic || (line["msg"] == "panic" && line["request_id"] == "boom-1" && line["stack"] != nil)
				sawRequest = sawRequest || (line["msg"] == "request" && line["route"] == rOnboardingGin && line["status"] == 200.0)
			}
			if !sawPanic || !sawRequest {
				t.Errorf("panic logged %v, request logged %v:\n%s", sawPanic, sawRequest, out)
			}
		})

		t.Run("graceful shutdown drains in-flight requests", func(t *testing.T) {
			sv := f.start(t, opts{})
			body := []byte(`{"customer_id": "drain-1", "signals": {"tenure_days": 400, "late_share_365d": 0.2}}`)
			conn, err := net.Dial("tcp", strings.TrimPrefix(sv.url, "http://"))
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			fmt.Fprintf(conn, "POST /v1/risk HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", f.keyA, len(body))
			conn.Write(body[:10])
			time.Sleep(50 * time.Millisecond) // the server is reading the body
			stopped := make(chan error, 1)
			go func() { stopped <- sv.stop() }()
			time.Sleep(200 * time.Millisecond)
			select {
			case err := <-stopped:
				t.Fatalf("server stopped with a request in flight: %v", err)
			default:
			}
			if c, err := net.DialTimeout("tcp", strings.TrimPrefix(sv.url, "http://"), time.Second); err == nil {
				c.Close()
				t.Error("new connections still accepted while draining")
			}
			conn.Write(body[10:])
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != 200 || !bytes.Contains(b, []byte(`"customer_id":"drain-1"`)) {
				t.Fatalf("in-flight request: %d %s", resp.StatusCode, b)
			}
			if err := <-stopped; err != nil {
				t.Fatalf("shutdown: %v", err)
			}
		})

		t.Run("events reach scores and the change feed, across a restart", func(t *testing.T) {
			testEventsReachScores(t, f)
		})

		t.Run("warehouse unreachable: inline works, lookups 503, readyz says why", func(t *testing.T) {
			var e2 warehouse.Engine
			if e.Backend() == "chdb" {
				e2 = warehousetest.Embedded(t)
			} else {
				var err error
				if e2, err = chserver.Open(context.Background(), chserver.Config{DSN: os.Getenv(warehousetest.ServerEnv)}); err != nil {
					t.Fatal(err)
				}
			}
			sv := f.start(t, opts{Engine: e2, Ping: 50 * time.Millisecond})
			if r := sv.call(t, "GET", rCustomer, "/v1/customers/"+f.customersA[0]+"/risk", f.keyAdmin, nil); r.code != 200 {
				t.Fatal(r)
			}
			e2.Close() // the server has loaded its data; now the warehouse goes away
			checkOutage(t, sv, f.keyAdmin, f.customersA[0], f.versions[model.Behaviour])
		})

		if e.Backend() == "server" {
			t.Run("ClickHouse server stopped and restarted", func(t *testing.T) { serverOutage(t, f) })
		}
	})
}

// rOnboardingGin is the onboarding route as gin names it in logs.
const rOnboardingGin = "/v1/onboarding/risk"

// checkOutage checks a server whose warehouse became unreachable.
func checkOutage(t *testing.T, sv *served, key, customer, version string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	var r reply
	for {
		r = sv.call(t, "GET", "/readyz", "/readyz", "", nil)
		if r.code == 503 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if r.code != 503 || !strings.Contains(fmt.Sprint(r.m["reasons"]), "warehouse unreachable") || !strings.HasPrefix(r.m["warehouse"].(string), "unreachable since") {
		t.Fatalf("readyz with the warehouse down: %s", r)
	}
	for _, rc := range []routeCase{
		{"GET", rCustomer, "/v1/customers/" + customer + "/risk", nil},
		{"POST", rBatch, "/v1/risk/batch", map[string]any{"customer_ids": []string{customer}}},
		{"POST", rInvoice, "/v1/invoices/risk", map[string]any{"customer_id": customer, "amount": 80, "terms_days": 14}},
	} {
		r := sv.call(t, rc.method, rc.route, rc.path, key, rc.body)
		if r.code != 503 || !strings.Contains(r.m["error"].(string), "unreachable") || !strings.Contains(r.m["error"].(string), "inline scoring") {
			t.Errorf("%s with the warehouse down: %s", rc.path, r)
		}
	}
	for _, rc := range []routeCase{
		{"POST", rEvents, "/v1/events", map[string]any{"customer_events": []any{map[string]any{"event_id": "o-1", "customer_id": customer, "occurred_at": "2026-01-02T10:00:00Z", "kind": "contact"}}}},
		{"GET", rModels, "/v1/models", nil},
		{"POST", rActivate, "/v1/models/" + version + "/activate", nil},
		{"GET", rReport, "/v1/models/" + version + "/report", nil},
		{"GET", rForecast, "/v1/forecast/cash?weeks=1&origins=0", nil},
		{"GET", rChanges, "/v1/changes", nil},
	} {
		if r := sv.call(t, rc.method, rc.route, rc.path, key, rc.body); r.code != 503 {
			t.Errorf("%s with the warehouse down: %s", rc.path, r)
		}
	}
	for _, rc := range []routeCase{
		{"POST", rRisk, "/v1/risk", map[string]any{"customer_id": "in-1", "signals": map[string]any{"tenure_days": 100}}},
		{"POST", rBatch, "/v1/risk/batch", map[string]any{"records": []any{map[string]any{"signals": map[string]any{"tenure_days": 100}}}}},
		{"POST", rOnboarding, "/v1/onboarding/risk", onboardingBody()},
	} {
		if r := sv.call(t, rc.method, rc.route, rc.path, key, rc.body); r.code != 200 || len(r.lines) > 0 && r.lines[0]["error"] != nil {
			t.Errorf("inline %s with the warehouse down: %s", rc.path, r)
		}
	}
	m := sv.call(t, "GET", "/metrics", "/metrics", "", nil)
	if !strings.Contains(string(m.body), "duewise_warehouse_up 0") {
		t.Error("duewise_warehouse_up is not 0")
	}
	if sv.srv.trail.Pending() == 0 {
		t.Error("the scores made during the outage have no pending audit records")
	}
}

// serverOutage stops a dedicated ClickHouse server under a running duewise
// server, checks the outage, restarts it and checks the recovery: lookups
// answer again and the audit records of the outage are written.
func serverOutage(t *testing.T, f *fixture) {
	ch := warehousetest.StartClickHouse(t)
	ctx := context.Background()
	e, err := chserver.Open(ctx, chserver.Config{DSN: ch.DSN()})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if _, err := warehouse.Migrate(ctx, e, migrations()); err != nil {
		t.Fatal(err)
	}
	tenant := f.tenantA
	sc := synth.DefaultConfig()
	sc.Customers, sc.Months, sc.Seed, sc.Tenant, sc.Out = 120, 12, 5, tenant, t.TempDir()
	if _, err := synth.Generate(ctx, sc); err != nil {
		t.Fatal(err)
	}
	ld, _ := datasets.NewLoader(e, datasets.DefaultLoaderConfig())
	if _, err := ld.LoadPaths(ctx, []string{sc.Out}); err != nil {
		t.Fatal(err)
	}
	eod, _ := features.EndOfData(ctx, e, tenant)
	if _, err := features.Refresh(ctx, e, features.RefreshOptions{AsOf: eod, Tenant: tenant}); err != nil {
		t.Fatal(err)
	}
	reg := registry.New(f.reg.Dir(), e)
	for _, v := range f.versions {
		if err := reg.Sync(ctx, tenant); err != nil {
			t.Fatal(err)
		}
		if _, err := reg.Promote(ctx, tenant, v); err != nil {
			t.Fatal(err)
		}
	}
	key, _, err := auth.NewStore(e).Create(ctx, tenant, "outage", auth.AllScopes)
	if err != nil {
		t.Fatal(err)
	}
	sv := f.start(t, opts{Engine: e, Registry: reg, Ping: 100 * time.Millisecond})
	customer := "C00000007"
	if r := sv.call(t, "GET", rCustomer, "/v1/customers/"+customer+"/risk", key, nil); r.code != 200 {
		t.Fatal(r)
	}
	ch.Stop(t)
	checkOutage(t, sv, key, customer, f.versions[model.Behaviour])
	pending := sv.srv.trail.Pending()
	ch.Run(t)
	deadline := time.Now().Add(20 * time.Second)
	for {
		r := sv.call(t, "GET", "/readyz", "/readyz", "", nil)
		if r.code == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not ready after the restart: %s", r)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if r := sv.call(t, "GET", rCustomer, "/v1/customers/"+customer+"/risk", key, nil); r.code != 200 {
		t.Fatalf("after the restart: %s", r)
	}
	for time.Now().Before(deadline) && sv.srv.trail.Pending() > 0 {
		time.Sleep(100 * time.Millisecond)
	}
	if n := count(t, e, "SELECT toInt64(count()) FROM score_audit WHERE tenant = {t:String} AND customer_id = 'in-1'", warehouse.Params{"t": tenant}); n != 1 || pending == 0 {
		t.Errorf("audit of the outage: %d rows for in-1 (pending was %d)", n, pending)
	}
}

// syncBuffer is a bytes.Buffer safe for concurrent writers (a log).
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func mustJSON(b []byte) any {
	var x any
	json.Unmarshal(b, &x)
	return x
}
