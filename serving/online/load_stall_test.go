package online

import (
	"context"
	"fmt"
	"os"
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

// stallWatchdog panics when, in nine of ten once-a-second looks over the
// last window, no thread of the process but the looking one was running
// or waiting for a core: a stalled query, not a slow one (the threads of
// a slow one wait in the run queue, state R, however busy the machine;
// the runtime's own threads wake now and then, hence nine of ten).
func stallWatchdog(done <-chan struct{}, window time.Duration) {
	busy := make([]bool, int(window/time.Second))
	for i := range busy {
		busy[i] = true
	}
	for i := 0; ; i = (i + 1) % len(busy) {
		select {
		case <-done:
			return
		case <-time.After(time.Second):
		}
		busy[i] = runnableThreads() > 1
		n := 0
		for _, b := range busy {
			if b {
				n++
			}
		}
		if n*10 < len(busy) {
			panic(fmt.Sprintf("histories load stalled: no thread of the process ran or waited for a core in %d of the last %d seconds", len(busy)-n, len(busy)))
		}
	}
}

// runnableThreads counts the threads of the process in state R (running
// or runnable), the calling one included.
func runnableThreads() int {
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return 2 // cannot tell: never call it a stall
	}
	n := 0
	for _, task := range tasks {
		b, err := os.ReadFile("/proc/self/task/" + task.Name() + "/stat")
		if err != nil {
			continue // the thread ended
		}
		// The state is the first field after the command's ')'.
		if f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:])); len(f) > 0 && f[0] == "R" {
			n++
		}
	}
	return n
}
