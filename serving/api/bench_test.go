package api

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/duewise/duewise/datasets"
	"github.com/duewise/duewise/model/registry"
	"github.com/duewise/duewise/serving/audit"
	"github.com/duewise/duewise/serving/auth"
	"github.com/duewise/duewise/serving/changes"
	"github.com/duewise/duewise/serving/policy"
	"github.com/duewise/duewise/serving/scoring"
	"github.com/duewise/duewise/warehouse"
	"github.com/duewise/duewise/warehouse/connect"
)

// The benchmarks below run a real server on a prepared embedded store
// (features refreshed, models promoted; see docs/benchmarks.md, section
// API) with their own HTTP load generator, in this process:
//
//	DUEWISE_BENCH_STORE   the store (required; the benchmarks skip without it)
//	DUEWISE_BENCH_MODELS  its model registry folder
//	DUEWISE_BENCH_TENANT  the tenant (default demo)
//	DUEWISE_BENCH_RATE    requests per second of the load test (default 2000)
//	DUEWISE_BENCH_SECONDS its duration (default 30)
//
// Run them one at a time (the store allows one process):
//
//	go test ./serving/api -run '^$' -bench BenchmarkCustomerRiskLoad -benchtime 1x
//	go test ./serving/api -run '^$' -bench BenchmarkBatchInline -benchtime 20x

// benchServer opens the bench store and serves it on a random port.
func benchServer(b *testing.B) (*Server, string, string, func()) {
	b.Helper()
	dir := os.Getenv("DUEWISE_BENCH_STORE")
	if dir == "" {
		b.Skip("DUEWISE_BENCH_STORE is not set (docs/benchmarks.md, section API)")
	}
	tenant := envDefault("DUEWISE_BENCH_TENANT", "demo")
	procs := runtime.GOMAXPROCS(0)
	if os.Getenv("GOMAXPROCS") == "" { // serve's processors (Procs), unless the environment sets them
		runtime.GOMAXPROCS(Procs(runtime.NumCPU()))
	}
	ctx := context.Background()
	e, err := connect.Open(ctx, connect.Config{Store: dir})
	if err != nil {
		b.Fatal(err)
	}
	// As serve does: a store made by an earlier build gets this build's
	// tables and columns (else, e.g., every audit insert fails and is retried).
	if _, err := warehouse.Migrate(ctx, e, migrations()); err != nil {
		b.Fatal(err)
	}
	b.Log(auditRows(ctx, e))
	pol, err := policy.Default()
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	reg := prometheus.NewRegistry()
	feed, err := changes.Open(changes.Config{Warehouse: e})
	if err != nil {
		b.Fatal(err)
	}
	core, err := scoring.New(ctx, scoring.Config{Engine: e, Registry: registry.New(os.Getenv("DUEWISE_BENCH_MODELS"), e), Policy: pol,
		Metrics: reg, Reload: time.Hour, Ping: time.Minute, Changes: feed, Histories: os.Getenv("DUEWISE_BENCH_HISTORIES") == "1",
		Shadow: benchShadow(), DriftWarn: scoring.DefaultDriftWarn})
	if err != nil {
		b.Fatal(err)
	}
	if r := core.Readiness(); !r.Ready {
		b.Fatalf("the bench store is not ready for %s: %v", tenant, r.Reasons)
	}
	trail, err := audit.Open(audit.Config{Warehouse: e, Dir: b.TempDir(), Metrics: reg})
	if err != nil {
		b.Fatal(err)
	}
	lc := datasets.DefaultLoaderConfig()
	lc.Touched, lc.Inserted = core.Touch, core.Inserted
	ld, err := datasets.NewLoader(e, lc)
	if err != nil {
		b.Fatal(err)
	}
	srv, err := New(ctx, Config{Scoring: core, Audit: trail, Keys: auth.NewStore(e), Loader: ld, Changes: feed, Metrics: reg, RatePerSecond: 1e9, Burst: 1e9})
	if err != nil {
		b.Fatal(err)
	}
	t := srv.core.Readiness().Features
	b.Logf("loaded %d customers in %.1fs; %s", t.Customers, time.Since(start).Seconds(), memUse())
	if os.Getenv("DUEWISE_BENCH_HISTORIES") == "1" { // as serve --histories-in-memory does, in the background
		start = time.Now()
		core.LoadHistories(ctx)
		b.Logf("loaded the raw histories in %.1fs; %s", time.Since(start).Seconds(), memUse())
	}
	key, _, err := auth.NewStore(e).Create(ctx, tenant, "bench", []string{auth.ScopeScore, auth.ScopeEvents})
	if err != nil {
		b.Fatal(err)
	}
	srv.Reload(ctx)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { srv.Run(rctx, ln, nil); close(done) }()
	b.Logf("GOMAXPROCS %d, %d batch workers", runtime.GOMAXPROCS(0), srv.cfg.Workers)
	return srv, "http://" + ln.Addr().String(), key, func() { cancel(); <-done; e.Close(); runtime.GOMAXPROCS(procs) }
}

func envDefault(k, d string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return d
}

// memUse describes the process's memory: resident set (now and peak) and
// the Go heap.
func memUse() string {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	rss, hwm := "?", "?"
	if b, err := os.ReadFile("/proc/self/status"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			f := strings.Fields(l)
			if len(f) >= 2 && f[0] == "VmRSS:" {
				rss = f[1] + " kB"
			}
			if len(f) >= 2 && f[0] == "VmHWM:" {
				hwm = f[1] + " kB"
			}
		}
	}
	return fmt.Sprintf("RSS %s (peak %s), Go heap in use %d MB", rss, hwm, ms.HeapInuse>>20)
}

func benchClient() *http.Client {
	return &http.Client{Transport: &http.Transport{MaxIdleConns: 1024, MaxIdleConnsPerHost: 1024, DisableCompression: true}}
}

// BenchmarkCustomerRiskLoad sends GET /v1/customers/{id}/risk for random
// customers at a fixed rate (open loop: each request is timed from when
// it was due, so a slow server cannot hide its queueing) and reports the
// latency percentiles, errors and memory.
func BenchmarkCustomerRiskLoad(b *testing.B) {
	srv, url, key, stop := benchServer(b)
	defer stop()
	rate, _ := strconv.Atoi(envDefault("DUEWISE_BENCH_RATE", "2000"))
	secs, _ := strconv.Atoi(envDefault("DUEWISE_BENCH_SECONDS", "30"))
	g := &getLoad{url: url, key: key, ids: srv.core.Customers(envDefault("DUEWISE_BENCH_TENANT", "demo")), client: benchClient()}
	g.warmUp()
	for b.Loop() {
		var cpu0, cpu1 syscallTimes
		cpu0.read()
		r := g.run(rate, secs)
		cpu1.read()
		r.report(b)
		b.ReportMetric((cpu1.total()-cpu0.total())/r.elapsed.Seconds(), "cpu-cores")
		b.Logf("%s; process CPU %.2f cores; %s", r, (cpu1.total()-cpu0.total())/r.elapsed.Seconds(), memUse())
	}
}

// getLoad sends GET /v1/customers/{id}/risk for random ids at a rate.
type getLoad struct {
	url, key string
	ids      []string
	client   *http.Client
}

func (g *getLoad) get(id string) (string, error) {
	req, _ := http.NewRequest("GET", g.url+"/v1/customers/"+id+"/risk", nil)
	req.Header.Set("Authorization", "Bearer "+g.key)
	resp, err := g.client.Do(req)
	if err != nil {
		return "", err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		return "", fmt.Errorf("status %d", resp.StatusCode)
	}
	return string(body), err
}

// warmUp warms up connections and caches.
func (g *getLoad) warmUp() {
	for i := range 2000 {
		g.get(g.ids[i%len(g.ids)])
	}
}

// loadResult are the latencies of one run of a getLoad.
type loadResult struct {
	lat      []time.Duration // sorted
	errs     int64
	firstErr any
	rate     int
	elapsed  time.Duration
}

// run sends rate requests per second for secs seconds, open loop: each
// request is timed from when it was due, so a slow server cannot hide
// its queueing.
func (g *getLoad) run(rate, secs int) loadResult {
	n := rate * secs
	lat := make([]time.Duration, n)
	var errs atomic.Int64
	var firstErr atomic.Value
	rng := rand.New(rand.NewPCG(1, 2))
	var wg sync.WaitGroup
	interval := time.Second / time.Duration(rate)
	start := time.Now()
	for i := range n {
		due := start.Add(time.Duration(i) * interval)
		if d := time.Until(due); d > 0 {
			time.Sleep(d)
		}
		id := g.ids[rng.IntN(len(g.ids))]
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := g.get(id); err != nil {
				errs.Add(1)
				firstErr.CompareAndSwap(nil, err.Error())
			}
			lat[i] = time.Since(due)
		}()
	}
	wg.Wait()
	slices.Sort(lat)
	return loadResult{lat: lat, errs: errs.Load(), firstErr: firstErr.Load(), rate: rate, elapsed: time.Since(start)}
}

func (r loadResult) pct(p float64) float64 {
	return float64(r.lat[int(p*float64(len(r.lat)-1))].Microseconds()) / 1000
}

func (r loadResult) report(b *testing.B) {
	b.ReportMetric(float64(len(r.lat))/r.elapsed.Seconds(), "req/s")
	b.ReportMetric(r.pct(0.5), "p50-ms")
	b.ReportMetric(r.pct(0.99), "p99-ms")
	b.ReportMetric(r.pct(0.999), "p99.9-ms")
	b.ReportMetric(r.pct(1), "max-ms")
	b.ReportMetric(float64(r.errs), "errors")
}

func (r loadResult) String() string {
	return fmt.Sprintf("%d requests in %.1fs at %d/s: p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, p99.9 %.2f ms, max %.2f ms, %d errors %v",
		len(r.lat), r.elapsed.Seconds(), r.rate, r.pct(0.5), r.pct(0.9), r.pct(0.99), r.pct(0.999), r.pct(1), r.errs, r.firstErr)
}

// syscallTimes is the process's CPU time.
type syscallTimes struct{ user, sys float64 }

func (t *syscallTimes) read() {
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return
	}
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:]))
	u, _ := strconv.ParseFloat(f[11], 64)
	s, _ := strconv.ParseFloat(f[12], 64)
	t.user, t.sys = u/100, s/100
}

func (t syscallTimes) total() float64 { return t.user + t.sys }

// BenchmarkBatchInline posts 10,000 inline signal records (the signals of
// real customers of the store) to POST /v1/risk/batch and reads the whole
// NDJSON answer.
func BenchmarkBatchInline(b *testing.B) {
	srv, url, key, stop := benchServer(b)
	defer stop()
	var recs []map[string]any
	srv.core.EachSignals(envDefault("DUEWISE_BENCH_TENANT", "demo"), func(id string, asOf time.Time, sig map[string]any) bool {
		recs = append(recs, map[string]any{"customer_id": id, "as_of": asOf.Format(time.DateOnly), "signals": sig})
		return len(recs) < maxBatch
	})
	body, err := json.Marshal(map[string]any{"records": recs})
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("body of %d records: %.1f MB", len(recs), float64(len(body))/1e6)
	client := benchClient()
	post := func() {
		req, _ := http.NewRequest("POST", url+"/v1/risk/batch", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(nil, 1<<20)
		lines := 0
		for sc.Scan() {
			if bytes.Contains(sc.Bytes(), []byte(`"error"`)) {
				b.Fatalf("error line: %s", sc.Bytes())
			}
			lines++
		}
		if resp.StatusCode != 200 || lines != len(recs) {
			b.Fatalf("status %d, %d lines", resp.StatusCode, lines)
		}
	}
	post() // warm up
	if path := os.Getenv("DUEWISE_BENCH_CPUPROFILE"); path != "" {
		// A profile of the posts alone, without loading the store.
		f, err := os.Create(path)
		if err != nil {
			b.Fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		defer pprof.StopCPUProfile()
	}
	var times []time.Duration
	var cpu0, cpu1 syscallTimes
	cpu0.read()
	for b.Loop() {
		st := time.Now()
		post()
		times = append(times, time.Since(st))
		if os.Getenv("DUEWISE_BENCH_TRACE") != "" {
			fmt.Fprintf(os.Stderr, "post %d: %v\n", len(times), times[len(times)-1])
		}
	}
	cpu1.read()
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	p90 := times[len(times)*9/10]
	// CPU per post: the whole process (server, load generator, the
	// embedded warehouse's inserts and merges of the audit rows) over the
	// posts; steadier than the latency on a machine shared with other work.
	cpuMS := (cpu1.total() - cpu0.total()) * 1000 / float64(len(times))
	b.ReportMetric(float64(times[len(times)/2].Microseconds())/1000, "median-ms")
	b.ReportMetric(float64(p90.Microseconds())/1000, "p90-ms")
	b.ReportMetric(float64(times[len(times)-1].Microseconds())/1000, "max-ms")
	b.ReportMetric(cpuMS, "cpu-ms/post")
	b.Logf("10,000 records: median %v, p90 %v, max %v over %d posts; CPU %.0f ms a post; %s", times[len(times)/2], p90, times[len(times)-1], len(times), cpuMS, memUse())
}

// auditRows says how many rows the store's audit table holds: every score
// adds one, and the embedded warehouse merges them in this process, so the
// figures of docs/benchmarks.md say which they started from.
func auditRows(ctx context.Context, e warehouse.Engine) string {
	rr, err := e.Query(ctx, "SELECT count() FROM "+audit.Table, nil)
	if err != nil {
		return fmt.Sprintf("audit rows: %v", err)
	}
	defer rr.Release()
	var n uint64
	if err := warehouse.Scan(rr, func() error { return nil }, &n); err != nil {
		return fmt.Sprintf("audit rows: %v", err)
	}
	return fmt.Sprintf("the audit table held %d rows at the start", n)
}

// benchShadow is the shadow model of DUEWISE_BENCH_SHADOW (a behaviour
// version in the bench registry), as serve --shadow behaviour=VERSION.
func benchShadow() map[string]string {
	if v := os.Getenv("DUEWISE_BENCH_SHADOW"); v != "" {
		return map[string]string{"behaviour": v}
	}
	return nil
}
