package online

import (
	"context"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/duewise/duewise/features"
	"github.com/duewise/duewise/warehouse"
	"github.com/duewise/duewise/warehouse/connect"
)

// BenchmarkHistoriesLoad loads the raw histories of the store in
// DUEWISE_BENCH_STORE (scripts/bench-store.sh: 1,000,000 customers over
// 24 months) and reports their size, the Go heap after the load and the
// cost of one customer's History and ComputeLive.
func BenchmarkHistoriesLoad(b *testing.B) {
	ctx := context.Background()
	e := openBenchStore(b)
	for b.Loop() {
		hs := NewHistories()
		start := time.Now()
		st, err := hs.Load(ctx, e)
		if err != nil {
			b.Fatal(err)
		}
		load := time.Since(start)
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		b.Logf("loaded %d customers, %d rows (%d orphan rows) in %.1f s: %d MiB of rows, ids and offsets; Go heap %d MiB after a GC",
			st.Customers, st.Rows, st.Orphans, load.Seconds(), st.Bytes>>20, ms.HeapAlloc>>20)
		b.ReportMetric(load.Seconds(), "load-s")
		b.ReportMetric(float64(st.Bytes)/float64(st.Customers), "bytes/customer")
		benchCompute(b, hs)
	}
}

// openBenchStore opens the store in DUEWISE_BENCH_STORE for the rest of
// tb, or skips tb when it is not set.
func openBenchStore(tb testing.TB) warehouse.Engine {
	dir := os.Getenv("DUEWISE_BENCH_STORE")
	if dir == "" {
		tb.Skip("DUEWISE_BENCH_STORE is not set (docs/benchmarks.md, section Events to scores)")
	}
	e, err := connect.Open(context.Background(), connect.Config{Store: dir})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { e.Close() })
	return e
}

// benchCompute times History and features.ComputeLive over 10,000 of
// hs's customers.
func benchCompute(b *testing.B, hs *Histories) {
	base := hs.base
	n := min(10_000, len(base.cust))
	step := max(1, len(base.cust)/n)
	now := time.Now()
	start := time.Now()
	rows := 0
	for i := 0; i < n; i++ {
		c := i * step
		tenant := base.tenants[0]
		for j := range base.tenants {
			if uint32(c) >= base.tenantFirst[j] {
				tenant = base.tenants[j]
			}
		}
		h, ok, err := hs.History(tenant, base.id(c))
		if err != nil || !ok {
			b.Fatalf("history %s: %v %v", base.id(c), ok, err)
		}
		rows += len(h.Invoices) + len(h.Payments) + len(h.DirectDebits) + len(h.Reminders) + len(h.Events)
		if _, err := features.ComputeLive(h, now, 30); err != nil {
			b.Fatal(err)
		}
	}
	per := time.Since(start) / time.Duration(n)
	b.Logf("History and ComputeLive: %s per customer (%d rows on average)", per, rows/n)
	b.ReportMetric(float64(per.Microseconds()), "µs/customer")
}
