package online

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/duewise/duewise/warehouse/connect"
)

// TestLoadBenchStoreDoesNotStall loads the histories of the store in
// DUEWISE_BENCH_STORE (1,000,000 customers, scripts/bench-store.sh) and
// fails as soon as the process stops working before the load ends: chDB
// 26.5 stalled in Load's multi-stream reads of that store (every thread
// waiting on a condition variable, for good) until Load read with one
// thread (loadSettings). A stalled chDB call cannot be interrupted, so
// the watchdog ends the test binary with a panic. Without loadSettings it
// failed in every run made while the two cores were busy; on an idle
// machine a stall is rarer, so run it with the cores loaded (another
// build or benchmark) to give it its teeth.
func TestLoadBenchStoreDoesNotStall(t *testing.T) {
	dir := os.Getenv("DUEWISE_BENCH_STORE")
	if dir == "" {
		t.Skip("DUEWISE_BENCH_STORE is not set (docs/benchmarks.md, section Events to scores)")
	}
	ctx := context.Background()
	e, err := connect.Open(ctx, connect.Config{Store: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	done := make(chan struct{})
	defer close(done)
	go stallWatchdog(done, 30*time.Second)
	start := time.Now()
	st, err := NewHistories().Load(ctx, e)
	if err != nil {
		t.Fatal(err)
	}
	if st.Customers == 0 || st.Rows == 0 {
		t.Fatalf("loaded %d customers, %d rows", st.Customers, st.Rows)
	}
	t.Logf("loaded %d customers, %d rows in %.1f s", st.Customers, st.Rows, time.Since(start).Seconds())
}

// stallWatchdog panics when the threads of the process spent less than
// 1% of window running or waiting for a core over a whole window: a
// stalled query, not a slow one (a slow one waits in the run queue).
func stallWatchdog(done <-chan struct{}, window time.Duration) {
	last := threadsBusy()
	for {
		select {
		case <-done:
			return
		case <-time.After(window):
		}
		now := threadsBusy()
		if d := now - last; d >= 0 && d < window/100 {
			select {
			case <-done:
				return
			default:
			}
			panic(fmt.Sprintf("histories load stalled: the threads of the process ran or waited for a core %s in %s", d, window))
		}
		last = now
	}
}

// threadsBusy is the CPU time of the process (/proc/self/stat, ended
// threads included) plus the time its live threads waited in the run
// queue (/proc/self/task/*/schedstat).
func threadsBusy() time.Duration {
	var sum time.Duration
	if b, err := os.ReadFile("/proc/self/stat"); err == nil {
		// Fields after the command's closing parenthesis; utime and stime
		// are the 12th and 13th of them, in clock ticks (100 per second).
		f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
		if len(f) > 12 {
			u, _ := strconv.ParseInt(f[11], 10, 64)
			s, _ := strconv.ParseInt(f[12], 10, 64)
			sum += time.Duration(u+s) * 10 * time.Millisecond
		}
	}
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return sum
	}
	for _, task := range tasks {
		b, err := os.ReadFile("/proc/self/task/" + task.Name() + "/schedstat")
		if err != nil {
			continue // the thread ended
		}
		f := strings.Fields(string(b))
		if len(f) < 2 {
			continue
		}
		wait, _ := strconv.ParseInt(f[1], 10, 64)
		sum += time.Duration(wait)
	}
	return sum
}
