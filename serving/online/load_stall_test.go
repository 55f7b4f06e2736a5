package online

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestLoadBenchStoreDoesNotStall loads the histories of the store in
// DUEWISE_BENCH_STORE (1,000,000 customers, scripts/bench-store.sh) and
// fails as soon as the process stops working before the load ends: chDB
// 26.5 stalled in Load's multi-stream reads of that store (every thread
// waiting on a condition variable, for good) until Load read with one
// thread (loadSettings). A stalled chDB call cannot be interrupted, so
// the watchdog ends the test binary with a panic. Without loadSettings it
// failed 40 s into the load (2026-12-07, the cores busy with other
// sessions' work, load average 8-11); whether it stalls as surely on an
// idle machine was not measured, so run it while the cores are busy.
func TestLoadBenchStoreDoesNotStall(t *testing.T) {
	e := openBenchStore(t)
	done := make(chan struct{})
	defer close(done)
	go stallWatchdog(done, 10*time.Second)
	start := time.Now()
	st, err := NewHistories().Load(context.Background(), e)
	if err != nil {
		t.Fatal(err)
	}
	if st.Customers == 0 || st.Rows == 0 {
		t.Fatalf("loaded %d customers, %d rows", st.Customers, st.Rows)
	}
	t.Logf("loaded %d customers, %d rows in %.1f s", st.Customers, st.Rows, time.Since(start).Seconds())
}

// stallWatchdog panics when, over each of three ten-second looks in a
// row, the threads of the process together ran or waited for a core for
// less than half of the look: a stalled query, not a slow one. A slow
// one has a thread running or waiting in the run queue all along however
// busy the machine (run plus wait at least the look); a stalled one
// sleeps, and only housekeeping threads wake (seen: 2 s of run plus
// wait in 10 s, most of it waiting for a core while the machine was busy).
func stallWatchdog(done <-chan struct{}, look time.Duration) {
	last, idle := threadTimes(), 0
	for {
		select {
		case <-done:
			return
		case <-time.After(look):
		}
		now := threadTimes()
		var sum time.Duration
		for tid, t := range now {
			sum += t - last[tid] // a new thread counts from 0
		}
		last = now
		if sum >= look/2 {
			idle = 0
			continue
		}
		if idle++; idle == 3 {
			panic(fmt.Sprintf("histories load stalled: the threads of the process ran or waited for a core less than half of each of the last three %s (%s in the last)", look, sum.Round(time.Millisecond)))
		}
	}
}

// threadTimes returns, per live thread of the process, the time it ran
// plus the time it waited in the run queue (/proc/self/task/*/schedstat).
func threadTimes() map[string]time.Duration {
	out := map[string]time.Duration{}
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return out
	}
	for _, task := range tasks {
		b, err := os.ReadFile("/proc/self/task/" + task.Name() + "/schedstat")
		if err != nil {
			continue // the thread ended
		}
		if f := strings.Fields(string(b)); len(f) >= 2 {
			run, _ := strconv.ParseInt(f[0], 10, 64)
			wait, _ := strconv.ParseInt(f[1], 10, 64)
			out[task.Name()] = time.Duration(run + wait)
		}
	}
	return out
}
