package api

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/duewise/duewise/datasets"
	"github.com/duewise/duewise/model/registry"
	"github.com/duewise/duewise/serving/audit"
	"github.com/duewise/duewise/serving/auth"
	"github.com/duewise/duewise/serving/policy"
	"github.com/duewise/duewise/serving/scoring"
	"github.com/duewise/duewise/warehouse"
	"github.com/duewise/duewise/warehouse/warehousetest"
)

// The fuzz targets post each input as the body of one JSON endpoint to a
// real server on the test ClickHouse server (its handler called in the
// process, no network), whose tenant has no model: every decoder runs on
// the body, and a body that decodes is answered 503 "no model", the
// documented 503 (events are stored). They check that no input panics,
// none is answered a 5xx other than 503, and none allocates more than
// fuzzAllocBound. `make test` runs each for a few seconds
// (scripts/fuzz.sh); the seeds are in testdata/fuzz.

// fuzzAllocBound is the most a request of n bytes may allocate: the body
// is read into one buffer and decoded without building a tree of it.
func fuzzAllocBound(n int) uint64 { return 64*uint64(n) + 16<<20 }

// fuzzTarget is a server and a key of every scope for the fuzz targets.
type fuzzTarget struct {
	srv *Server
	key string
}

func newFuzzTarget(f *testing.F) *fuzzTarget {
	e := warehousetest.Server(f)
	ctx := context.Background()
	if _, err := warehouse.Migrate(ctx, e, migrations()); err != nil {
		f.Fatal(err)
	}
	pol, err := policy.Default()
	if err != nil {
		f.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	core, err := scoring.New(ctx, scoring.Config{Engine: e, Registry: registry.New(f.TempDir(), e), Policy: pol, Metrics: reg, Reload: time.Hour, Ping: time.Hour})
	if err != nil {
		f.Fatal(err)
	}
	trail, err := audit.Open(audit.Config{Warehouse: e, Dir: f.TempDir(), Metrics: reg})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { trail.Close(context.Background()) })
	ld, err := datasets.NewLoader(e, datasets.DefaultLoaderConfig())
	if err != nil {
		f.Fatal(err)
	}
	srv, err := New(ctx, Config{Scoring: core, Audit: trail, Keys: auth.NewStore(e), Loader: ld, Metrics: reg,
		RatePerSecond: 1e9, Burst: 1e9, AuthFailures: 1e9, AuthFailureBurst: 1e9})
	if err != nil {
		f.Fatal(err)
	}
	key, _, err := auth.NewStore(e).Create(ctx, warehousetest.Tenant(f), "fuzz", []string{auth.ScopeScore, auth.ScopeEvents, auth.ScopeAdmin})
	if err != nil {
		f.Fatal(err)
	}
	srv.Reload(ctx)
	return &fuzzTarget{srv: srv, key: key}
}

// post sends body to path and checks the answer's status and the
// request's allocations.
func (ft *fuzzTarget) post(t *testing.T, path string, body []byte) {
	req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+ft.key)
	req.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	ft.srv.Handler().ServeHTTP(w, req)
	runtime.ReadMemStats(&after)
	if w.Code >= 500 && w.Code != http.StatusServiceUnavailable || w.Code < 200 {
		t.Fatalf("POST %s with %d bytes: %d %.300s", path, len(body), w.Code, w.Body.Bytes())
	}
	if a := after.TotalAlloc - before.TotalAlloc; a > fuzzAllocBound(len(body)) {
		t.Fatalf("POST %s with %d bytes allocated %d bytes (bound %d)", path, len(body), a, fuzzAllocBound(len(body)))
	}
}

func fuzzEndpoint(f *testing.F, path string, seeds ...string) {
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	ft := newFuzzTarget(f)
	f.Fuzz(func(t *testing.T, body []byte) { ft.post(t, path, body) })
}

func FuzzInlineRisk(f *testing.F) {
	fuzzEndpoint(f, "/v1/risk", `{"signals":{"tenure_days":100,"late_share_365d":0.2}}`,
		`{"customer_id":"c/1","signals":{"postcode_area":"1011"},"history":{"customer":{"customer_id":"c"},"invoices":[{"invoice_id":"i","amount":"1.50"}]}}`,
		`{"signals":{"tenure_days":1e300}}`, `[[[[[[[[`, `{"signals":{"a":1,"a":2}}`)
}

func FuzzBatchRisk(f *testing.F) {
	fuzzEndpoint(f, "/v1/risk/batch", `{"customer_ids":["a","b"]}`,
		`{"records":[{"signals":{"tenure_days":10}},{"customer_id":"x","signals":{"late_share_365d":"high"}}]}`,
		`{"records":[{"history":{"invoices":[[[[]]]]}}]}`, `{"customer_ids":[],"records":[]}`)
}

func FuzzOnboardingRisk(f *testing.F) {
	fuzzEndpoint(f, "/v1/onboarding/risk", `{"prospect_id":"P-1","customer_type":"consumer","segment":"energy","channel":"online","payment_method":"bank_transfer","country":"NL","postcode_area":"9999","monthly_amount":85}`,
		`{"prospect_id":"P","monthly_amount":1e308}`, `{"prospect_id":"P","prospect_id":"Q"}`)
}

func FuzzInvoiceRisk(f *testing.F) {
	fuzzEndpoint(f, "/v1/invoices/risk", `{"customer_id":"c1","amount":80,"terms_days":14}`,
		`{"customer_id":"c1","amount":-1,"terms_days":14}`, `{"customer_id":"c1","amount":80.123}`)
}

func FuzzEvents(f *testing.F) {
	fuzzEndpoint(f, "/v1/events", `{"customer_events":[{"event_id":"e1","customer_id":"c1","occurred_at":"2026-01-02T10:00:00Z","kind":"contact"}]}`,
		`{"payments":[{"payment_id":"p1","customer_id":"c1","amount":"12.50","paid_at":"2026-01-02T10:00:00Z"}],"payments":[]}`,
		"{\"customer_events\":[{\"event_id\":\"\xff\",\"customer_id\":\"c\"}]}", `{"nope":[]}`)
}
