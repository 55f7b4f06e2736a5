package api

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/duewise/duewise/datasets"
	"github.com/duewise/duewise/datasets/synth"
	"github.com/duewise/duewise/features"
	"github.com/duewise/duewise/model"
	"github.com/duewise/duewise/model/registry"
	"github.com/duewise/duewise/serving/audit"
	"github.com/duewise/duewise/serving/auth"
	"github.com/duewise/duewise/serving/changes"
	"github.com/duewise/duewise/serving/policy"
	"github.com/duewise/duewise/serving/scoring"
	"github.com/duewise/duewise/training"
	"github.com/duewise/duewise/warehouse"
	"github.com/duewise/duewise/warehouse/warehousetest"
)

// TestMain runs the tests and then, when every test ran, checks that
// they received every response the OpenAPI document names.
func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 && flag.Lookup("test.run").Value.String() == "" && os.Getenv(warehousetest.ServerEnv) != "" {
		var v validator
		if err := json.Unmarshal(openAPI, &v.doc); err != nil {
			panic(err)
		}
		if miss := missingCoverage(&v); len(miss) > 0 {
			fmt.Fprintf(os.Stderr, "FAIL: responses documented in openapi.json that no test received:\n  %s\n", strings.Join(miss, "\n  "))
			code = 1
		}
	}
	os.Exit(code)
}

// fixture is a warehouse with two tenants, each with a generated world,
// refreshed online features, trained and promoted models and API keys.
type fixture struct {
	e                    warehouse.Engine
	tenantA, tenantB     string
	tenantC              string // a tenant with keys but no models
	keyA, keyAdmin, keyB string
	keyEvents, keyBAdmin string
	keyC                 string
	customersA           []string
	customerB            string
	worldA               string
	reg                  *registry.Registry
	versions             map[model.Kind]string // tenant A's
	versionsB            map[model.Kind]string
	asOf                 time.Time
	pol                  *policy.Policy
	v                    *validator
}

func migrations() []warehouse.Migration {
	var ms []warehouse.Migration
	for _, m := range [][]warehouse.Migration{datasets.Migrations(), features.Migrations(), registry.Migrations(), auth.Migrations(), audit.Migrations(), changes.Migrations()} {
		ms = append(ms, m...)
	}
	return ms
}

func setup(t *testing.T, e warehouse.Engine) *fixture {
	t.Helper()
	ctx := context.Background()
	if _, err := warehouse.Migrate(ctx, e, migrations()); err != nil {
		t.Fatal(err)
	}
	f := &fixture{e: e, tenantA: warehousetest.Tenant(t), versions: map[model.Kind]string{}, versionsB: map[model.Kind]string{}, v: newValidator(t)}
	f.tenantB, f.tenantC = f.tenantA+"_b", f.tenantA+"_c"
	ld, err := datasets.NewLoader(e, datasets.DefaultLoaderConfig())
	if err != nil {
		t.Fatal(err)
	}
	f.reg = registry.New(t.TempDir(), e)
	for i, tenant := range []string{f.tenantA, f.tenantB} {
		sc := synth.DefaultConfig()
		sc.Customers, sc.Months, sc.Seed, sc.Tenant, sc.Out = 400, 18, int64(11+i), tenant, t.TempDir()
		if _, err := synth.Generate(ctx, sc); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			f.worldA = sc.Out
		} else {
			renameCustomers(t, sc.Out, "C", "B")
		}
		if _, err := ld.LoadPaths(ctx, []string{sc.Out}); err != nil {
			t.Fatal(err)
		}
		eod, err := features.EndOfData(ctx, e, tenant)
		if err != nil {
			t.Fatal(err)
		}
		f.asOf = eod
		if _, err := features.Refresh(ctx, e, features.RefreshOptions{AsOf: eod, Tenant: tenant, Now: eod}); err != nil {
			t.Fatal(err)
		}
		for _, kind := range []model.Kind{model.Behaviour, model.Onboarding, model.Invoice} {
			a := train(t, e, tenant, kind, eod, int64(1+i))
			path := filepath.Join(t.TempDir(), "m.model")
			if err := model.Write(path, a); err != nil {
				t.Fatal(err)
			}
			en, err := f.reg.Add(ctx, tenant, path)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.reg.Promote(ctx, tenant, en.Version); err != nil {
				t.Fatal(err)
			}
			map[int]map[model.Kind]string{0: f.versions, 1: f.versionsB}[i][kind] = en.Version
		}
	}
	st := auth.NewStore(e)
	mk := func(tenant, scopes string) string {
		sc, err := auth.ParseScopes(scopes)
		if err != nil {
			t.Fatal(err)
		}
		tok, _, err := st.Create(ctx, tenant, "test", sc)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	f.keyA, f.keyAdmin, f.keyEvents = mk(f.tenantA, "score"), mk(f.tenantA, "score,events,admin"), mk(f.tenantA, "events")
	f.keyB, f.keyBAdmin, f.keyC = mk(f.tenantB, "score"), mk(f.tenantB, "score,events,admin"), mk(f.tenantC, "score,events,admin")
	if f.pol, err = policy.Default(); err != nil {
		t.Fatal(err)
	}
	rr, err := e.Query(ctx, `SELECT tenant, customer_id FROM features_latest FINAL WHERE tenant IN ({a:String}, {b:String}) ORDER BY tenant, customer_id`,
		warehouse.Params{"a": f.tenantA, "b": f.tenantB})
	if err != nil {
		t.Fatal(err)
	}
	for rr.Next() {
		rec := rr.Record()
		for i := range int(rec.NumRows()) {
			tn, c := cellString(rec.Column(0), i), cellString(rec.Column(1), i)
			if tn == f.tenantA {
				f.customersA = append(f.customersA, c)
			} else if f.customerB == "" {
				f.customerB = c
			}
		}
	}
	rr.Release()
	if len(f.customersA) < 100 || f.customerB == "" {
		t.Fatalf("online features: %d customers of A, B's %q", len(f.customersA), f.customerB)
	}
	return f
}

// snapshotRows computes the labelled snapshot rows of opt.
func snapshotRows(t *testing.T, e warehouse.Engine, opt features.SnapshotOptions) *training.Dataset {
	t.Helper()
	rr, err := features.Snapshot(context.Background(), e, opt)
	if err != nil {
		t.Fatal(err)
	}
	defer rr.Release()
	d, err := training.Load(rr)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// train trains a small model of kind for tenant on the warehouse.
func train(t *testing.T, e warehouse.Engine, tenant string, kind model.Kind, eod time.Time, seed int64) *model.Artifact {
	t.Helper()
	level := map[model.Kind]string{model.Behaviour: features.LevelCustomer, model.Onboarding: features.LevelOnboarding, model.Invoice: features.LevelInvoice}[kind]
	from := eod.AddDate(0, -12, 0)
	if kind == model.Onboarding {
		from = eod.AddDate(0, -18, 0)
	}
	d := snapshotRows(t, e, features.SnapshotOptions{Tenant: tenant, From: from, To: eod.AddDate(0, -2, 0), Every: "1mo", Level: level})
	res, err := training.Train(context.Background(), d, training.Options{Kind: kind, Hidden: []int{8}, Epochs: 2, BatchSize: 64, Seed: seed, Tenant: tenant})
	if err != nil {
		t.Fatalf("train %s: %v", kind, err)
	}
	return res.Artifact
}

// served is a Server running on a random port.
type served struct {
	srv  *Server
	url  string
	f    *fixture
	stop func() error
}

// opts are the options of a test server: the API's Config and what the
// scoring core and the audit trail take.
type opts struct {
	Config
	Engine           warehouse.Engine
	Registry         *registry.Registry
	Ping, StaleGrace time.Duration
	// Spool is the audit spool folder (default a new temporary one).
	Spool string
	// Clock is the scoring core's clock (default time.Now): the moment
	// of the live refresh of the customers that events touch.
	Clock func() time.Time
	// Histories keeps the raw histories in memory (scoring.Config).
	Histories bool
	// Shadow are the shadow models (scoring.Config).
	Shadow map[string]string
}

// newServer builds a server over the fixture's warehouse (or o.Engine)
// with o: scoring core, audit trail and HTTP layer, as duewise serve does.
func (f *fixture) newServer(t *testing.T, o opts) *Server {
	t.Helper()
	if o.Engine == nil {
		o.Engine = f.e
	}
	if o.Registry == nil {
		o.Registry = registry.New(f.reg.Dir(), o.Engine)
	}
	if o.Spool == "" {
		o.Spool = t.TempDir()
	}
	reg := prometheus.NewRegistry()
	feed, err := changes.Open(changes.Config{Warehouse: o.Engine, Now: o.Clock})
	if err != nil {
		t.Fatal(err)
	}
	core, err := scoring.New(context.Background(), scoring.Config{Engine: o.Engine, Registry: o.Registry, Policy: f.pol,
		Metrics: reg, Log: o.Log, Ping: o.Ping, StaleGrace: o.StaleGrace, Now: o.Clock, Changes: feed, Histories: o.Histories, Shadow: o.Shadow,
		DriftWarn: scoring.DefaultDriftWarn})
	if err != nil {
		t.Fatal(err)
	}
	trail, err := audit.Open(audit.Config{Warehouse: o.Engine, Dir: o.Spool, Metrics: reg, Log: o.Log})
	if err != nil {
		t.Fatal(err)
	}
	lc := datasets.DefaultLoaderConfig()
	lc.Touched, lc.Inserted = core.Touch, core.Inserted
	ld, err := datasets.NewLoader(o.Engine, lc)
	if err != nil {
		t.Fatal(err)
	}
	cfg := o.Config
	cfg.Scoring, cfg.Audit, cfg.Keys, cfg.Loader, cfg.Changes, cfg.Metrics = core, trail, auth.NewStore(o.Engine), ld, feed, reg
	srv, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return srv
}

// start runs a server over the fixture's warehouse (or o.Engine) with o
// on 127.0.0.1:0, stopped at the end of the test.
func (f *fixture) start(t *testing.T, o opts) *served {
	t.Helper()
	if o.RatePerSecond == 0 {
		o.RatePerSecond, o.Burst = 100000, 100000
	}
	if o.AuthFailures == 0 { // the tests send many bad keys on purpose
		o.AuthFailures, o.AuthFailureBurst = 100000, 100000
	}
	return f.run(t, f.newServer(t, o))
}

// run serves srv on a random port until the test ends.
func (f *fixture) run(t *testing.T, srv *Server) *served {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx, ln, nil) }()
	var once bool
	var res error
	stop := func() error {
		if !once {
			once = true
			cancel()
			res = <-done
		}
		return res
	}
	t.Cleanup(func() { stop() })
	return &served{srv: srv, url: "http://" + ln.Addr().String(), f: f, stop: stop}
}

// reply is one HTTP answer.
type reply struct {
	code  int
	h     http.Header
	body  []byte
	m     map[string]any   // the JSON object (JSON answers)
	lines []map[string]any // the NDJSON lines
}

func (r reply) String() string { return fmt.Sprintf("%d %.600s", r.code, r.body) }

// call sends a request to path (route is its OpenAPI path template) and
// checks the answer against the OpenAPI document.
func (sv *served) call(t *testing.T, method, route, path, key string, body any) reply {
	t.Helper()
	return sv.callH(t, method, route, path, key, body, nil)
}

func (sv *served) callH(t *testing.T, method, route, path, key string, body any, hdr http.Header) reply {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, sv.url+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, vs := range hdr {
		req.Header[k] = vs
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	r := reply{code: resp.StatusCode, h: resp.Header, body: b}
	if route != "" {
		sv.f.validate(t, route, method, &r)
	}
	return r
}

// validate checks an answer against the document and records coverage.
func (f *fixture) validate(t *testing.T, route, method string, r *reply) {
	t.Helper()
	resp, explicit, err := f.v.response(route, method, r.code)
	if err != nil {
		t.Fatalf("%v: %s", err, r)
	}
	if explicit {
		recordCoverage(route, method, r.code)
	}
	if route == "/metrics" {
		return
	}
	if r.h.Get("X-Request-ID") == "" && strings.HasPrefix(route, "/v1/") {
		t.Errorf("%s %s: no X-Request-ID header", method, route)
	}
	for h := range asMap(resp["headers"]) {
		if r.h.Get(h) == "" {
			t.Errorf("%s %s %d: header %s documented but missing", method, route, r.code, h)
		}
	}
	ct, _, _ := strings.Cut(r.h.Get("Content-Type"), ";")
	s, err := f.v.media(resp, ct)
	if err != nil {
		t.Fatalf("%s %s %d: %v (%s)", method, route, r.code, err, r)
	}
	if ct == "text/html" {
		if !bytes.HasPrefix(r.body, []byte("<!DOCTYPE html>")) {
			t.Fatalf("%s %s %d: text/html that is no HTML page: %.200s", method, route, r.code, r.body)
		}
		return
	}
	if ct == "text/csv" {
		if _, err := csv.NewReader(bytes.NewReader(r.body)).ReadAll(); err != nil {
			t.Fatalf("%s %s %d: text/csv that is no CSV: %v: %.200s", method, route, r.code, err, r.body)
		}
		return
	}
	if ct == "application/x-ndjson" {
		sc := bufio.NewScanner(bytes.NewReader(r.body))
		sc.Buffer(nil, 1<<24)
		for sc.Scan() {
			var x any
			if err := json.Unmarshal(sc.Bytes(), &x); err != nil {
				t.Fatalf("%s %s: line not JSON: %v", method, route, err)
			}
			if err := f.v.check(s, x, "$"); err != nil {
				t.Fatalf("%s %s %d: line does not match the OpenAPI document: %v\n%s", method, route, r.code, err, sc.Bytes())
			}
			r.lines = append(r.lines, x.(map[string]any))
		}
		return
	}
	var x any
	if err := json.Unmarshal(r.body, &x); err != nil {
		t.Fatalf("%s %s: answer not JSON: %v: %s", method, route, err, r)
	}
	if err := f.v.check(s, x, "$"); err != nil {
		t.Fatalf("%s %s %d does not match the OpenAPI document: %v\n%s", method, route, r.code, err, r)
	}
	r.m, _ = x.(map[string]any)
}

// validRequest checks that a request body follows the document.
func (f *fixture) validRequest(t *testing.T, route, method string, body any) {
	t.Helper()
	s, err := f.v.requestSchema(route, method)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(body)
	var x any
	json.Unmarshal(b, &x)
	if err := f.v.check(s, x, "$"); err != nil {
		t.Fatalf("request to %s %s does not follow the OpenAPI document: %v", method, route, err)
	}
}

// renameCustomers rewrites a generated world's customer ids from prefix
// from to prefix to, so that two tenants' worlds share no customer id.
func renameCustomers(t *testing.T, dir, from, to string) {
	t.Helper()
	for _, tbl := range datasets.Tables {
		path := filepath.Join(dir, tbl.Name+".csv")
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		recs, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		col := slices.Index(recs[0], "customer_id")
		for _, r := range recs[1:] {
			r[col] = to + strings.TrimPrefix(r[col], from)
		}
		var out bytes.Buffer
		w := csv.NewWriter(&out)
		w.WriteAll(recs)
		if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// historyOf reads one customer's rows from a generated world's CSV files
// as the JSON of a history (the data-contract shape).
func historyOf(t *testing.T, dir, customer string) map[string]any {
	t.Helper()
	h := map[string]any{}
	for _, tbl := range datasets.Tables {
		f, err := os.Open(filepath.Join(dir, tbl.Name+".csv"))
		if err != nil {
			t.Fatal(err)
		}
		recs, err := csv.NewReader(f).ReadAll()
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		head := recs[0]
		rows := []any{}
		for _, cells := range recs[1:] {
			m := map[string]any{}
			for i, c := range head {
				col, _ := tbl.Column(c)
				switch {
				case cells[i] == "" && !col.Required:
					if col.Kind == datasets.String || col.Kind == datasets.Enum {
						m[c] = ""
					} else {
						m[c] = nil
					}
				case col.Kind == datasets.Int:
					m[c] = json.Number(cells[i])
				default:
					m[c] = cells[i]
				}
			}
			if m["customer_id"] == customer {
				rows = append(rows, m)
			}
		}
		if tbl.Name == "customers" {
			if len(rows) != 1 {
				t.Fatalf("customer %s: %d rows", customer, len(rows))
			}
			h["customer"] = rows[0]
		} else {
			h[tbl.Name] = rows
		}
	}
	return h
}
