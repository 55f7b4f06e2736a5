package api

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"runtime/trace"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// BenchmarkEventsToScores is issue #15's target: a CRM posts event rows
// to POST /v1/events at DUEWISE_BENCH_EVENTS rows per second (default
// 1,000: every 100 ms a post of 50 customers, a failed direct debit and a
// contact event each) while GET /v1/customers/{id}/risk runs at
// DUEWISE_BENCH_RATE (2,000) per second, for DUEWISE_BENCH_SECONDS (60).
// One customer of each post had no failed debit in the last 30 days (a
// probe): its answer is polled every 100 ms until it carries the
// direct_debit_follow_up action, and the time from the post to that
// answer is the event's delay to the score. Reports the delay's
// percentiles and the GET latencies under this load. The server runs with
// serve's GOMAXPROCS (Procs) unless the environment sets one (benchServer).
func BenchmarkEventsToScores(b *testing.B) {
	srv, url, key, stop := benchServer(b)
	defer stop()
	tenant := envDefault("DUEWISE_BENCH_TENANT", "demo")
	rate, _ := strconv.Atoi(envDefault("DUEWISE_BENCH_RATE", "2000"))
	secs, _ := strconv.Atoi(envDefault("DUEWISE_BENCH_SECONDS", "60"))
	evRate, _ := strconv.Atoi(envDefault("DUEWISE_BENCH_EVENTS", "1000"))
	client := benchClient()
	g := &getLoad{url: url, key: key, ids: srv.core.Customers(tenant), client: client}
	g.warmUp()
	// Probes: customers whose answer has no follow-up of a failed debit.
	var probes []string
	srv.core.EachSignals(tenant, func(id string, _ time.Time, sig map[string]any) bool {
		if d, ok := sig["days_since_last_dd_failure"].(float64); !ok || d > 60 {
			probes = append(probes, id)
		}
		return len(probes) < 20_000
	})
	rng := rand.New(rand.NewPCG(3, 4))
	rng.Shuffle(len(probes), func(i, j int) { probes[i], probes[j] = probes[j], probes[i] })
	const perPost = 50 // customers per post, two rows each
	posts := secs * evRate / (2 * perPost)
	interval := time.Duration(secs) * time.Second / time.Duration(posts)
	for b.Loop() {
		var (
			mu      sync.Mutex
			delays  []time.Duration
			missed  int
			postLat []time.Duration
			wg      sync.WaitGroup
		)
		var cpu0, cpu1 syscallTimes
		cpu0.read()
		win := startWindow(b)
		stopNice := reniceThreads(b, os.Getenv("DUEWISE_BENCH_NICE"))
		loadDone := make(chan loadResult)
		go func() { loadDone <- g.run(rate, secs) }()
		start := time.Now()
		for p := range posts {
			due := start.Add(time.Duration(p) * interval)
			time.Sleep(time.Until(due))
			probe := probes[p%len(probes)]
			body := eventsBody(rng, g.ids, probe, p, perPost)
			wg.Add(1)
			go func() {
				defer wg.Done()
				t0 := time.Now()
				if err := postEvents(client, url, key, body); err != nil {
					b.Errorf("post %d: %v", p, err)
					return
				}
				mu.Lock()
				postLat = append(postLat, time.Since(t0))
				mu.Unlock()
				for deadline := t0.Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
					if ans, err := g.get(probe); err == nil && strings.Contains(ans, `"direct_debit_follow_up"`) {
						mu.Lock()
						delays = append(delays, time.Since(t0))
						mu.Unlock()
						return
					}
				}
				mu.Lock()
				missed++
				mu.Unlock()
			}()
		}
		res := <-loadDone
		wg.Wait()
		cpu1.read()
		rt := win.stop(b)
		stopNice()
		slices.Sort(delays)
		slices.Sort(postLat)
		q := func(d []time.Duration, p float64) float64 {
			if len(d) == 0 {
				return -1
			}
			return d[int(p*float64(len(d)-1))].Seconds()
		}
		res.report(b)
		b.ReportMetric(q(delays, 0.5), "event-p50-s")
		b.ReportMetric(q(delays, 0.99), "event-p99-s")
		b.ReportMetric(q(delays, 1), "event-max-s")
		b.ReportMetric(float64(missed), "events-missed")
		b.Logf("%d event rows in %d posts (%d/s): post p50 %.3f s, p99 %.3f s; event to answer (%d probes, %d not seen within 30 s): p50 %.2f s, p90 %.2f s, p99 %.2f s, max %.2f s",
			posts*2*perPost, posts, evRate, q(postLat, 0.5), q(postLat, 0.99), len(delays), missed, q(delays, 0.5), q(delays, 0.9), q(delays, 0.99), q(delays, 1))
		b.Logf("GET under the event load: %s; process CPU %.2f cores; %s", res, (cpu1.total()-cpu0.total())/res.elapsed.Seconds(), memUse())
		b.Logf("runtime in the window (GOMAXPROCS %d): %s", runtime.GOMAXPROCS(0), rt)
		b.Logf("refresh metrics: %s", refreshMetrics(client, url))
	}
}

// eventsBody is one post: for perPost customers (the probe first, the
// others at random) a failed direct debit and a contact event each.
func eventsBody(rng *rand.Rand, ids []string, probe string, post, perPost int) []byte {
	reasons := []string{"AM04", "MS03", "AC04", "MD06"}
	now := time.Now().UTC().Add(-time.Minute).Format(time.RFC3339)
	var dds, evs []map[string]any
	for i := range perPost {
		c := probe
		if i > 0 {
			c = ids[rng.IntN(len(ids))]
		}
		id := fmt.Sprintf("BENCH-%d-%d-%d", time.Now().UnixNano(), post, i)
		dds = append(dds, map[string]any{"attempt_id": id, "invoice_id": "BENCH-INV-" + c, "customer_id": c, "attempted_at": now,
			"status": "failed", "reason": reasons[rng.IntN(len(reasons))]})
		evs = append(evs, map[string]any{"event_id": id, "customer_id": c, "occurred_at": now, "kind": "contact", "detail": "called about the debit"})
	}
	b, _ := json.Marshal(map[string]any{"direct_debits": dds, "customer_events": evs})
	return b
}

func postEvents(client *http.Client, url, key string, body []byte) error {
	req, _ := http.NewRequest("POST", url+"/v1/events", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		var msg bytes.Buffer
		msg.ReadFrom(resp.Body)
		return fmt.Errorf("status %d: %.300s", resp.StatusCode, msg.String())
	}
	return nil
}

// window records what the Go runtime did during the measured window of
// BenchmarkEventsToScores (after the histories are loaded): a CPU profile
// to DUEWISE_BENCH_CPUPROFILE and an execution trace to
// DUEWISE_BENCH_TRACE when they are set, and always the collector's and
// the scheduler's figures (runtime/metrics) over the window.
type window struct {
	prof, trace *os.File
	m0          []metrics.Sample
	threads0    map[string]float64
}

// windowMetrics are the runtime/metrics the window reports.
var windowMetrics = []string{
	"/gc/cycles/total:gc-cycles",
	"/sched/pauses/total/gc:seconds",
	"/sched/latencies:seconds",
	"/cpu/classes/gc/mark/assist:cpu-seconds",
	"/cpu/classes/gc/mark/dedicated:cpu-seconds",
	"/cpu/classes/gc/mark/idle:cpu-seconds",
	"/cpu/classes/gc/pause:cpu-seconds",
	"/cpu/classes/user:cpu-seconds",
	"/gc/heap/allocs:bytes",
	"/memory/classes/heap/objects:bytes",
}

func readWindowMetrics() []metrics.Sample {
	s := make([]metrics.Sample, len(windowMetrics))
	for i, n := range windowMetrics {
		s[i].Name = n
	}
	metrics.Read(s)
	return s
}

func startWindow(b *testing.B) *window {
	w := &window{}
	if p := os.Getenv("DUEWISE_BENCH_CPUPROFILE"); p != "" {
		f, err := os.Create(p)
		if err != nil {
			b.Fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			b.Fatal(err)
		}
		w.prof = f
	}
	if p := os.Getenv("DUEWISE_BENCH_TRACE"); p != "" {
		f, err := os.Create(p)
		if err != nil {
			b.Fatal(err)
		}
		if err := trace.Start(f); err != nil {
			b.Fatal(err)
		}
		w.trace = f
	}
	w.m0, w.threads0 = readWindowMetrics(), threadCPU()
	return w
}

// stop ends the profiles and describes the window's collections, pauses,
// scheduling delays and allocation.
func (w *window) stop(b *testing.B) string {
	m1, threads1 := readWindowMetrics(), threadCPU()
	if w.prof != nil {
		pprof.StopCPUProfile()
		w.prof.Close()
	}
	if w.trace != nil {
		trace.Stop()
		w.trace.Close()
	}
	var out []string
	for i, s := range m1 {
		switch s.Value.Kind() {
		case metrics.KindUint64:
			out = append(out, fmt.Sprintf("%s %d", s.Name, s.Value.Uint64()-w.m0[i].Value.Uint64()))
		case metrics.KindFloat64:
			out = append(out, fmt.Sprintf("%s %.2f", s.Name, s.Value.Float64()-w.m0[i].Value.Float64()))
		case metrics.KindFloat64Histogram:
			h0, h1 := w.m0[i].Value.Float64Histogram(), s.Value.Float64Histogram()
			out = append(out, fmt.Sprintf("%s %s", s.Name, histDelta(h0, h1)))
		}
	}
	type named struct {
		name string
		sec  float64
	}
	var th []named
	for n, c := range threads1 {
		if d := c - w.threads0[n]; d >= 0.5 {
			th = append(th, named{n, d})
		}
	}
	slices.SortFunc(th, func(a, b named) int { return cmp.Compare(b.sec, a.sec) })
	for _, t := range th {
		out = append(out, fmt.Sprintf("threads %q %.1f s", t.name, t.sec))
	}
	return strings.Join(out, "; ")
}

// threadCPU returns the CPU seconds of the process's threads by name
// (digits dropped: ClickHouse numbers its pool threads), threads that
// ended since the last call not counted.
func threadCPU() map[string]float64 {
	out := map[string]float64{}
	dirs, _ := os.ReadDir("/proc/self/task")
	for _, d := range dirs {
		b, err := os.ReadFile("/proc/self/task/" + d.Name() + "/stat")
		if err != nil {
			continue
		}
		i, j := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
		if i < 0 || j < i {
			continue
		}
		name := strings.TrimRight(string(b[i+1:j]), "0123456789")
		f := strings.Fields(string(b[j+2:]))
		u, _ := strconv.ParseFloat(f[11], 64)
		s, _ := strconv.ParseFloat(f[12], 64)
		out[name] += (u + s) / 100
	}
	return out
}

// histDelta describes the observations of h1 that h0 lacks: their count,
// p50, p99, p99.9 and max (upper bucket bounds).
func histDelta(h0, h1 *metrics.Float64Histogram) string {
	d := make([]uint64, len(h1.Counts))
	var n uint64
	for i := range d {
		d[i] = h1.Counts[i] - h0.Counts[i]
		n += d[i]
	}
	if n == 0 {
		return "n=0"
	}
	at := func(p float64) float64 {
		k := uint64(math.Ceil(p * float64(n)))
		var c uint64
		for i, x := range d {
			if c += x; c >= k && x > 0 {
				return h1.Buckets[i+1]
			}
		}
		return math.Inf(1)
	}
	return fmt.Sprintf("n=%d p50<=%s p99<=%s p99.9<=%s max<=%s", n, dur(at(0.5)), dur(at(0.99)), dur(at(0.999)), dur(at(1)))
}

func dur(s float64) string {
	if math.IsInf(s, 1) {
		return "inf"
	}
	return time.Duration(s * 1e9).String()
}

// refreshMetrics returns the server's refresh metrics (batches, their
// duration, customers refreshed) from GET /metrics.
func refreshMetrics(client *http.Client, url string) string {
	resp, err := client.Get(url + "/metrics")
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	var out []string
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		l := sc.Text()
		for _, p := range []string{"duewise_refresh_batch_duration_seconds_sum", "duewise_refresh_batch_duration_seconds_count", "duewise_refresh_customers_total", "duewise_refresh_customers_by_path_total"} {
			if strings.HasPrefix(l, p) {
				out = append(out, l)
			}
		}
		if strings.HasPrefix(l, "duewise_http_request_duration_seconds_bucket") && strings.Contains(l, `method="GET"`) && strings.Contains(l, "/risk") {
			_, le, _ := strings.Cut(l, `le="`)
			out = append(out, "GET handler le "+strings.Replace(le, `"}`, ":", 1))
		}
	}
	return strings.Join(out, "; ")
}

// reniceThreads sets, every 100 ms until stop is called, the nice value
// of the process's threads by name: spec is "NAME=NICE,..." (names as
// threadCPU gives them, e.g. MergeMutate=19 for ClickHouse's background
// merges). An experiment: what the GET latencies owe to the embedded
// warehouse's own threads.
func reniceThreads(b *testing.B, spec string) (stop func()) {
	if spec == "" {
		return func() {}
	}
	nice := map[string]int{}
	for _, kv := range strings.Split(spec, ",") {
		k, v, _ := strings.Cut(kv, "=")
		n, err := strconv.Atoi(v)
		if err != nil {
			b.Fatalf("DUEWISE_BENCH_NICE: %q: %v", kv, err)
		}
		nice[k] = n
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		set := map[int]bool{}
		for {
			dirs, _ := os.ReadDir("/proc/self/task")
			for _, d := range dirs {
				tid, _ := strconv.Atoi(d.Name())
				if set[tid] {
					continue
				}
				c, err := os.ReadFile("/proc/self/task/" + d.Name() + "/comm")
				if err != nil {
					continue
				}
				if n, ok := nice[strings.TrimRight(strings.TrimSpace(string(c)), "0123456789")]; ok {
					if err := syscall.Setpriority(syscall.PRIO_PROCESS, tid, n); err == nil {
						set[tid] = true
					}
				}
			}
			select {
			case <-done:
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}
