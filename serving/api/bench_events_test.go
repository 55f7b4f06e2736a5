package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
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
// percentiles and the GET latencies under this load.
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
