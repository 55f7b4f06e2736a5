package api

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/duewise/duewise/datasets"
	"github.com/duewise/duewise/datasets/synth"
	"github.com/duewise/duewise/features"
	"github.com/duewise/duewise/model"
	"github.com/duewise/duewise/model/registry"
	"github.com/duewise/duewise/serving/auth"
	"github.com/duewise/duewise/serving/policy"
	"github.com/duewise/duewise/training"
	"github.com/duewise/duewise/warehouse"
	"github.com/duewise/duewise/warehouse/warehousetest"
)

// fixture is a real server over a real warehouse with two tenants, each
// with a generated world, refreshed online features and trained models.
type fixture struct {
	e                    warehouse.Engine
	srv                  *Server
	url                  string
	tenantA, tenantB     string
	keyA, keyAdmin, keyB string
	keyEvents            string
	customerA, customerB string
	worldA               string
	reg                  *registry.Registry
	versions             map[model.Kind]string
	asOf                 time.Time
	v                    *validator
}

func migrations() []warehouse.Migration {
	var ms []warehouse.Migration
	for _, m := range [][]warehouse.Migration{datasets.Migrations(), features.Migrations(), registry.Migrations(), auth.Migrations(), AuditMigrations()} {
		ms = append(ms, m...)
	}
	return ms
}

func setup(t *testing.T, e warehouse.Engine, cfg Config) *fixture {
	t.Helper()
	ctx := context.Background()
	if _, err := warehouse.Migrate(ctx, e, migrations()); err != nil {
		t.Fatal(err)
	}
	f := &fixture{e: e, tenantA: warehousetest.Tenant(t), versions: map[model.Kind]string{}, v: newValidator(t)}
	f.tenantB = f.tenantA + "_b"
	ld, err := datasets.NewLoader(e, datasets.DefaultLoaderConfig())
	if err != nil {
		t.Fatal(err)
	}
	regDir := t.TempDir()
	f.reg = registry.New(regDir, e)
	for i, tenant := range []string{f.tenantA, f.tenantB} {
		sc := synth.DefaultConfig()
		sc.Customers, sc.Months, sc.Seed, sc.Tenant, sc.Out = 400, 18, int64(11+i), tenant, t.TempDir()
		if _, err := synth.Generate(ctx, sc); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			f.worldA = sc.Out
		}
		if _, err := ld.LoadPaths(ctx, []string{sc.Out}); err != nil {
			t.Fatal(err)
		}
		eod, err := features.EndOfData(ctx, e, tenant)
		if err != nil {
			t.Fatal(err)
		}
		f.asOf = eod
		if _, err := features.Refresh(ctx, e, features.RefreshOptions{AsOf: eod, Tenant: tenant}); err != nil {
			t.Fatal(err)
		}
		for _, kind := range []model.Kind{model.Behaviour, model.Onboarding, model.Invoice} {
			level := map[model.Kind]string{model.Behaviour: features.LevelCustomer, model.Onboarding: features.LevelOnboarding, model.Invoice: features.LevelInvoice}[kind]
			from := eod.AddDate(0, -12, 0)
			if kind == model.Onboarding {
				from = eod.AddDate(0, -18, 0)
			}
			rr, err := features.Snapshot(ctx, e, features.SnapshotOptions{Tenant: tenant, From: from, To: eod.AddDate(0, -2, 0), Every: "1mo", Level: level})
			if err != nil {
				t.Fatal(err)
			}
			d, err := training.Load(rr)
			rr.Release()
			if err != nil {
				t.Fatal(err)
			}
			res, err := training.Train(ctx, d, training.Options{Kind: kind, Hidden: []int{8}, Epochs: 2, BatchSize: 64, Seed: 1, Tenant: tenant})
			if err != nil {
				t.Fatalf("train %s: %v", kind, err)
			}
			path := filepath.Join(t.TempDir(), "m.model")
			if err := model.Write(path, res.Artifact); err != nil {
				t.Fatal(err)
			}
			en, err := f.reg.Add(ctx, tenant, path)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.reg.Promote(ctx, tenant, en.Version); err != nil {
				t.Fatal(err)
			}
			if i == 0 {
				f.versions[kind] = en.Version
			}
		}
	}
	st := auth.NewStore(e)
	mk := func(tenant, scopes string) string {
		sc, _ := auth.ParseScopes(scopes)
		tok, _, err := st.Create(ctx, tenant, "test", sc)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	f.keyA, f.keyAdmin, f.keyEvents, f.keyB = mk(f.tenantA, "score"), mk(f.tenantA, "score,events,admin"), mk(f.tenantA, "events"), mk(f.tenantB, "score")
	pol, err := policy.Default()
	if err != nil {
		t.Fatal(err)
	}
	cfg.Engine, cfg.Registry, cfg.Policy = e, f.reg, pol
	if f.srv, err = New(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(f.srv.Handler())
	t.Cleanup(ts.Close)
	f.url = ts.URL
	tb := f.srv.online.Current()
	tb.Customers(f.tenantA, func(_, c string) bool { f.customerA = c; return false })
	tb.Customers(f.tenantB, func(_, c string) bool { f.customerB = c; return false })
	if f.customerA == "" || f.customerB == "" {
		t.Fatal("no customers in the online features")
	}
	return f
}

// do sends a request and returns status, headers and body.
func (f *fixture) do(t *testing.T, method, path, key string, body any) (int, http.Header, []byte) {
	t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	case []byte:
		r = bytes.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		r = bytes.NewReader(j)
	}
	req, _ := http.NewRequest(method, f.url+path, r)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

// valid checks a JSON answer against the OpenAPI document.
func (f *fixture) valid(t *testing.T, route, method string, status int, body []byte) map[string]any {
	t.Helper()
	var x any
	if err := json.Unmarshal(body, &x); err != nil {
		t.Fatalf("%s %s: not JSON: %v: %s", method, route, err, body)
	}
	s, err := f.v.response(route, method, status, "application/json")
	if err != nil {
		t.Fatal(err)
	}
	if err := f.v.check(s, x, "$"); err != nil {
		t.Fatalf("%s %s %d does not match the OpenAPI document: %v\n%s", method, route, status, err, body)
	}
	m, _ := x.(map[string]any)
	return m
}

func TestAPI(t *testing.T) {
	warehousetest.Each(t, func(t *testing.T, e warehouse.Engine) {
		f := setup(t, e, Config{RatePerSecond: 10000, Burst: 10000})
		defer f.srv.Close(context.Background())
		t.Run("customer risk", func(t *testing.T) {
			code, _, b := f.do(t, "GET", "/v1/customers/"+f.customerA+"/risk", f.keyA, nil)
			if code != 200 {
				t.Fatalf("%d %s", code, b)
			}
			m := f.valid(t, "/v1/customers/{id}/risk", "GET", 200, b)
			if m["customer_id"] != f.customerA || m["model"].(map[string]any)["version"] != f.versions[model.Behaviour] {
				t.Fatalf("answer %s", b)
			}
			p := m["probabilities"].(map[string]any)
			if !(p["30d"].(float64) <= p["90d"].(float64) && p["90d"].(float64) <= p["365d"].(float64)) {
				t.Fatalf("probabilities not monotone: %v", p)
			}
			if len(m["reasons"].([]any)) == 0 {
				t.Fatalf("no reasons: %s", b)
			}
			_, _, nl := f.do(t, "GET", "/v1/customers/"+f.customerA+"/risk?lang=nl", f.keyA, nil)
			mn := f.valid(t, "/v1/customers/{id}/risk", "GET", 200, nl)
			if mn["reasons"].([]any)[0].(map[string]any)["text"] == m["reasons"].([]any)[0].(map[string]any)["text"] {
				t.Errorf("lang=nl gave the English text")
			}
			if code, _, b := f.do(t, "GET", "/v1/customers/"+f.customerA+"/risk?lang=fr", f.keyA, nil); code != 400 {
				t.Errorf("lang=fr: %d %s", code, b)
			}
		})
		t.Run("auth and tenant isolation", func(t *testing.T) {
			routes := []struct {
				method, path, scopeKey string
				body                   any
			}{
				{"GET", "/v1/customers/" + f.customerA + "/risk", "score", nil},
				{"POST", "/v1/risk", "score", map[string]any{"signals": map[string]any{"tenure_days": 100}}},
				{"POST", "/v1/risk/batch", "score", map[string]any{"customer_ids": []string{f.customerA}}},
				{"POST", "/v1/onboarding/risk", "score", map[string]any{"customer_type": "consumer", "channel": "online", "payment_method": "card", "monthly_amount": 50}},
				{"POST", "/v1/invoices/risk", "score", map[string]any{"customer_id": f.customerA, "amount": 80, "terms_days": 14}},
				{"POST", "/v1/events", "events", map[string]any{"customer_events": []any{}}},
				{"GET", "/v1/models", "admin", nil},
				{"POST", "/v1/models/" + f.versions[model.Behaviour] + "/activate", "admin", nil},
			}
			for _, r := range routes {
				if code, h, b := f.do(t, r.method, r.path, "", r.body); code != 401 || h.Get("WWW-Authenticate") == "" {
					t.Errorf("%s %s without key: %d %s", r.method, r.path, code, b)
				}
				if code, _, b := f.do(t, r.method, r.path, "dwk_000000000000_"+strings.Repeat("x", 43), r.body); code != 401 {
					t.Errorf("%s %s with a wrong key: %d %s", r.method, r.path, code, b)
				} else {
					f.valid(t, map[bool]string{true: "/v1/customers/{id}/risk", false: r.path}[strings.HasPrefix(r.path, "/v1/customers/")], r.method, 401, b)
				}
				wrong := f.keyEvents
				if r.scopeKey == "events" {
					wrong = f.keyA
				}
				if code, _, b := f.do(t, r.method, r.path, wrong, r.body); code != 403 {
					t.Errorf("%s %s with the wrong scope: %d %s", r.method, r.path, code, b)
				}
			}
			// Tenant B's key never sees tenant A's customers, and vice versa.
			if code, _, b := f.do(t, "GET", "/v1/customers/"+f.customerA+"/risk", f.keyB, nil); code != 404 {
				t.Errorf("tenant B reads tenant A's customer: %d %s", code, b)
			}
			if code, _, b := f.do(t, "GET", "/v1/customers/"+f.customerB+"/risk", f.keyA, nil); code != 404 {
				t.Errorf("tenant A reads tenant B's customer: %d %s", code, b)
			}
			code, _, b := f.do(t, "POST", "/v1/risk/batch", f.keyB, map[string]any{"customer_ids": []string{f.customerA}})
			if code != 200 || !strings.Contains(string(b), "not found") {
				t.Errorf("tenant B batch over tenant A's id: %d %s", code, b)
			}
			if code, _, b := f.do(t, "POST", "/v1/invoices/risk", f.keyB, map[string]any{"customer_id": f.customerA, "amount": 10, "terms_days": 14}); code != 404 {
				t.Errorf("tenant B invoice risk of tenant A's customer: %d %s", code, b)
			}
			code, _, b = f.do(t, "POST", "/v1/events", f.keyAdmin, map[string]any{"customer_events": []any{map[string]any{"tenant": f.tenantB, "event_id": "x"}}})
			if code != 403 {
				t.Errorf("tenant A writes a tenant B row: %d %s", code, b)
			}
			code, _, b = f.do(t, "GET", "/v1/models", f.keyAdmin, nil)
			if code != 200 || strings.Contains(string(b), f.tenantB+`"`) {
				t.Errorf("models of another tenant listed: %d %s", code, b)
			}
		})
		t.Run("strict JSON", func(t *testing.T) {
			cases := []struct{ body, field string }{
				{`{"signals": {"tenure_days": 1}, "colour": 1}`, "colour"},
				{`{"signals": {"tenure_days": "long"}}`, "signals.tenure_days"},
				{`{"signals": {"no_such_signal": 1}}`, "signals.no_such_signal"},
				{`{"as_of": 20250101, "signals": {}}`, "as_of"},
				{`{"signals": `, ""},
			}
			for _, c := range cases {
				code, _, b := f.do(t, "POST", "/v1/risk", f.keyA, c.body)
				if code != 400 {
					t.Errorf("%s: %d %s", c.body, code, b)
					continue
				}
				m := f.valid(t, "/v1/risk", "POST", 400, b)
				if m["field"] != nil && m["field"] != c.field || (c.field != "" && m["field"] != c.field) {
					t.Errorf("%s: field %v, want %q (%s)", c.body, m["field"], c.field, b)
				}
			}
			big := `{"signals": {"tenure_days": 1}, "customer_id": "` + strings.Repeat("x", 9<<20) + `"}`
			if code, _, b := f.do(t, "POST", "/v1/risk", f.keyA, big); code != 413 {
				t.Errorf("9 MiB body: %d %.200s", code, b)
			}
		})
		t.Run("inline history equals the pipelines", func(t *testing.T) {
			h := historyOf(t, f.worldA, f.customerA)
			code, _, b := f.do(t, "POST", "/v1/risk", f.keyA, map[string]any{"as_of": f.asOf.Format(time.DateOnly), "history": h})
			if code != 200 {
				t.Fatalf("%d %s", code, b)
			}
			inl := f.valid(t, "/v1/risk", "POST", 200, b)
			_, _, b2 := f.do(t, "GET", "/v1/customers/"+f.customerA+"/risk", f.keyA, nil)
			onl := f.valid(t, "/v1/customers/{id}/risk", "GET", 200, b2)
			for _, h := range []string{"30d", "90d", "365d"} {
				a, o := inl["probabilities"].(map[string]any)[h].(float64), onl["probabilities"].(map[string]any)[h].(float64)
				if math.Abs(a-o) > 1e-4 {
					t.Errorf("%s: inline history %v, online features %v", h, a, o)
				}
			}
			if inl["status"] != onl["status"] {
				t.Errorf("status inline %v online %v", inl["status"], onl["status"])
			}
		})
		t.Run("batch", func(t *testing.T) {
			ids := []string{f.customerA, "nobody", f.customerA}
			code, h, b := f.do(t, "POST", "/v1/risk/batch", f.keyA, map[string]any{"customer_ids": ids})
			if code != 200 || h.Get("Content-Type") != "application/x-ndjson" {
				t.Fatalf("%d %s %s", code, h.Get("Content-Type"), b)
			}
			sc := bufio.NewScanner(bytes.NewReader(b))
			sc.Buffer(nil, 1<<20)
			i := 0
			for sc.Scan() {
				var m map[string]any
				if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
					t.Fatal(err)
				}
				if m["index"] != float64(i) {
					t.Fatalf("line %d has index %v", i, m["index"])
				}
				if (i == 1) != (m["error"] != nil) {
					t.Fatalf("line %d: %s", i, sc.Bytes())
				}
				i++
			}
			if i != 3 {
				t.Fatalf("%d lines, want 3", i)
			}
			recs := []any{map[string]any{"signals": map[string]any{"tenure_days": 10}}, map[string]any{"signals": map[string]any{"bogus": 1}}}
			_, _, b = f.do(t, "POST", "/v1/risk/batch", f.keyA, map[string]any{"records": recs})
			lines := strings.Split(strings.TrimSpace(string(b)), "\n")
			if len(lines) != 2 || !strings.Contains(lines[1], `"field":"records[1].signals.bogus"`) {
				t.Fatalf("inline batch: %s", b)
			}
			if code, _, b := f.do(t, "POST", "/v1/risk/batch", f.keyA, map[string]any{"customer_ids": make([]string, maxBatch+1)}); code != 413 {
				t.Errorf("oversize batch: %d %.200s", code, b)
			}
		})
		t.Run("onboarding and invoice", func(t *testing.T) {
			code, _, b := f.do(t, "POST", "/v1/onboarding/risk", f.keyA, map[string]any{"customer_type": "consumer", "segment": "energy", "channel": "online", "payment_method": "bank_transfer", "country": "NL", "monthly_amount": 85})
			if code != 200 {
				t.Fatalf("%d %s", code, b)
			}
			m := f.valid(t, "/v1/onboarding/risk", "POST", 200, b)
			if m["model"].(map[string]any)["kind"] != "onboarding" {
				t.Fatalf("%s", b)
			}
			if code, _, b := f.do(t, "POST", "/v1/onboarding/risk", f.keyA, map[string]any{"customer_type": "alien", "channel": "online", "payment_method": "card", "monthly_amount": 1}); code != 400 || !strings.Contains(string(b), `"field":"customer_type"`) {
				t.Errorf("bad customer_type: %d %s", code, b)
			}
			code, _, b = f.do(t, "POST", "/v1/invoices/risk", f.keyA, map[string]any{"customer_id": f.customerA, "amount": 120.5, "terms_days": 14})
			if code != 200 {
				t.Fatalf("%d %s", code, b)
			}
			m = f.valid(t, "/v1/invoices/risk", "POST", 200, b)
			if m["model"].(map[string]any)["kind"] != "invoice" {
				t.Fatalf("%s", b)
			}
		})
		t.Run("events", func(t *testing.T) {
			rows := []any{
				map[string]any{"event_id": "ev-1", "customer_id": f.customerA, "occurred_at": "2026-01-02T10:00:00Z", "kind": "contact", "detail": "called"},
				map[string]any{"event_id": "ev-2", "customer_id": f.customerA, "occurred_at": "yesterday", "kind": "contact"},
			}
			count := func() int64 {
				rr, err := e.Query(context.Background(), "SELECT toInt64(count()) FROM customer_events FINAL WHERE tenant = {t:String} AND event_id LIKE 'ev-%'", warehouse.Params{"t": f.tenantA})
				if err != nil {
					t.Fatal(err)
				}
				defer rr.Release()
				rr.Next()
				return rr.Record().Column(0).(interface{ Value(int) int64 }).Value(0)
			}
			for range 2 { // idempotent
				code, _, b := f.do(t, "POST", "/v1/events", f.keyEvents, map[string]any{"customer_events": rows})
				if code != 207 {
					t.Fatalf("%d %s", code, b)
				}
				m := f.valid(t, "/v1/events", "POST", 207, b)
				res := m["results"].(map[string]any)["customer_events"].([]any)
				if res[0].(map[string]any)["accepted"] != true || res[1].(map[string]any)["accepted"] != false ||
					!strings.Contains(res[1].(map[string]any)["reason"].(string), "customer_events[1].occurred_at") {
					t.Fatalf("results %s", b)
				}
				if n := count(); n != 1 {
					t.Fatalf("%d rows stored, want 1", n)
				}
			}
			if code, _, b := f.do(t, "POST", "/v1/events", f.keyEvents, map[string]any{"bananas": []any{}}); code != 400 {
				t.Errorf("unknown table: %d %s", code, b)
			}
		})
		t.Run("models and hot switch", func(t *testing.T) {
			code, _, b := f.do(t, "GET", "/v1/models", f.keyAdmin, nil)
			if code != 200 {
				t.Fatalf("%d %s", code, b)
			}
			f.valid(t, "/v1/models", "GET", 200, b)
			// A corrupt model file is refused; the current model keeps serving.
			cur := f.versions[model.Behaviour]
			a, err := model.Read(filepath.Join(f.reg.Dir(), cur+".model"))
			if err != nil {
				t.Fatal(err)
			}
			a.Version, a.CreatedAt = "", a.CreatedAt.Add(time.Minute)
			a.Layers[0].B[0] += 0.5
			p := filepath.Join(f.reg.Dir(), "next.model")
			if err := model.Write(p, a); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(p, filepath.Join(f.reg.Dir(), a.Version+".model")); err != nil {
				t.Fatal(err)
			}
			good := a.Version
			a.Version = ""
			a.CreatedAt = a.CreatedAt.Add(time.Minute)
			bad, _ := model.Marshal(a)
			bad[len(bad)-10] ^= 1
			os.WriteFile(filepath.Join(f.reg.Dir(), a.Version+".model"), bad, 0o644)
			code, _, b = f.do(t, "POST", "/v1/models/"+a.Version+"/activate", f.keyAdmin, nil)
			if code != 422 && code != 503 {
				t.Fatalf("corrupt model activated: %d %s", code, b)
			}
			_, _, b = f.do(t, "GET", "/v1/customers/"+f.customerA+"/risk", f.keyA, nil)
			if !strings.Contains(string(b), cur) {
				t.Fatalf("current model no longer serving: %s", b)
			}
			code, _, b = f.do(t, "POST", "/v1/models/"+good+"/activate", f.keyAdmin, nil)
			if code != 200 {
				t.Fatalf("activate: %d %s", code, b)
			}
			_, _, b = f.do(t, "GET", "/v1/customers/"+f.customerA+"/risk", f.keyA, nil)
			if !strings.Contains(string(b), good) {
				t.Fatalf("new model not serving: %s", b)
			}
			if code, _, b := f.do(t, "POST", "/v1/models/nope/activate", f.keyAdmin, nil); code != 404 {
				t.Errorf("unknown version: %d %s", code, b)
			}
		})
		t.Run("health, readiness, metrics, openapi", func(t *testing.T) {
			if code, _, b := f.do(t, "GET", "/healthz", "", nil); code != 200 {
				t.Fatalf("%d %s", code, b)
			}
			code, _, b := f.do(t, "GET", "/readyz", "", nil)
			if code != 200 {
				t.Fatalf("readyz %d %s", code, b)
			}
			f.valid(t, "/readyz", "GET", 200, b)
			_, _, b = f.do(t, "GET", "/metrics", "", nil)
			for _, m := range []string{"duewise_http_requests_total", "duewise_http_request_duration_seconds_bucket", "duewise_scores_total", "duewise_active_model", "duewise_online_features_age_seconds", "duewise_events_rejected_total"} {
				if !bytes.Contains(b, []byte(m)) {
					t.Errorf("metric %s missing", m)
				}
			}
			_, _, b = f.do(t, "GET", "/openapi.json", "", nil)
			if !bytes.Equal(b, openAPI) {
				t.Error("openapi.json differs from the embedded document")
			}
		})
	})
}

func TestRateLimit(t *testing.T) {
	f := setup(t, warehousetest.Embedded(t), Config{RatePerSecond: 1, Burst: 2})
	defer f.srv.Close(context.Background())
	var last int
	var h http.Header
	for range 4 {
		last, h, _ = f.do(t, "GET", "/v1/customers/"+f.customerA+"/risk", f.keyA, nil)
	}
	if last != 429 || h.Get("Retry-After") == "" {
		t.Fatalf("after 4 requests at burst 2: %d, Retry-After %q", last, h.Get("Retry-After"))
	}
	// Another key has its own bucket.
	if code, _, _ := f.do(t, "GET", "/v1/customers/"+f.customerB+"/risk", f.keyB, nil); code != 200 {
		t.Fatalf("other key: %d", code)
	}
}

// historyOf reads one customer's rows from a generated world's CSV files.
func historyOf(t *testing.T, dir, customer string) map[string]any {
	t.Helper()
	h := map[string]any{}
	for _, tbl := range []string{"customers", "invoices", "payments", "direct_debits", "reminders", "arrangements", "disputes", "customer_events"} {
		b, err := os.ReadFile(filepath.Join(dir, tbl+".csv"))
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		head := strings.Split(lines[0], ",")
		var rows []any
		for _, l := range lines[1:] {
			cells := splitCSV(l)
			m := map[string]any{}
			for i, c := range head {
				switch {
				case cells[i] == "" && (c == "credit_limit" || strings.HasSuffix(c, "_at")):
					m[c] = nil
				case c == "installments":
					var n json.Number = json.Number(cells[i])
					m[c] = n
				default:
					m[c] = cells[i]
				}
			}
			if m["customer_id"] == customer {
				rows = append(rows, m)
			}
		}
		if tbl == "customers" {
			h["customer"] = rows[0]
		} else {
			h[tbl] = rows
		}
	}
	return h
}

// splitCSV splits one CSV line with optional double quotes.
func splitCSV(l string) []string {
	var out []string
	var cur strings.Builder
	q := false
	for i := 0; i < len(l); i++ {
		switch c := l[i]; {
		case c == '"' && q && i+1 < len(l) && l[i+1] == '"':
			cur.WriteByte('"')
			i++
		case c == '"':
			q = !q
		case c == ',' && !q:
			out = append(out, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(c)
		}
	}
	return append(out, cur.String())
}

var _ = fmt.Sprint
