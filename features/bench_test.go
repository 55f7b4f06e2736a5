package features

import (
	"context"
	"os"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/duewise/duewise/datasets"
	"github.com/duewise/duewise/warehouse"
	"github.com/duewise/duewise/warehouse/warehousetest"
)

// benchEngine opens the embedded store and loads the world of
// DUEWISE_BENCH_WORLD (a folder written by duewise generate, tenant demo)
// unless DUEWISE_BENCH_LOADED=1 says the store (DUEWISE_TEST_STORE) has it.
func benchEngine(b *testing.B) warehouse.Engine {
	dir := os.Getenv("DUEWISE_BENCH_WORLD")
	if dir == "" {
		b.Skip("set DUEWISE_BENCH_WORLD to a folder written by duewise generate")
	}
	e := warehousetest.Embedded(b)
	ctx := context.Background()
	if _, err := warehouse.Migrate(ctx, e, append(datasets.Migrations(), Migrations()...)); err != nil {
		b.Fatal(err)
	}
	if os.Getenv("DUEWISE_BENCH_LOADED") != "1" {
		l, err := datasets.NewLoader(e, datasets.DefaultLoaderConfig())
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		sum, err := l.LoadPaths(ctx, []string{dir})
		if err != nil {
			b.Fatal(err)
		}
		b.Logf("loaded %d rows in %s", sum.Total.Loaded, time.Since(start).Round(time.Millisecond))
	}
	return e
}

// peakHeap samples the Go heap every 50 ms until stop is closed (chDB's
// memory is outside the Go heap: see the peak RSS from /usr/bin/time).
func peakHeap(stop chan struct{}) *atomic.Uint64 {
	var peak atomic.Uint64
	go func() {
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	return &peak
}

// BenchmarkRefresh refreshes features_latest for every customer of the
// world at its end (2026-11-01 for a default world).
func BenchmarkRefresh(b *testing.B) {
	e := benchEngine(b)
	ctx := context.Background()
	stop := make(chan struct{})
	peak := peakHeap(stop)
	b.ResetTimer()
	var st RefreshStats
	for i := 0; i < b.N; i++ {
		var err error
		if st, err = Refresh(ctx, e, RefreshOptions{AsOf: D("2026-11-01").Time, Tenant: "demo"}); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	close(stop)
	b.ReportMetric(float64(st.Customers), "customers")
	b.ReportMetric(float64(peak.Load())/(1<<20), "go_heap_MB")
}

// BenchmarkSnapshot writes a behaviour snapshot with 12 monthly dates
// (2025-11-01 .. 2026-10-01) to a Parquet file.
func BenchmarkSnapshot(b *testing.B) {
	e := benchEngine(b)
	ctx := context.Background()
	out := b.TempDir() + "/snap.parquet"
	stop := make(chan struct{})
	peak := peakHeap(stop)
	b.ResetTimer()
	var rows int64
	for i := 0; i < b.N; i++ {
		rr, err := Snapshot(ctx, e, SnapshotOptions{Tenant: "demo", From: D("2025-11-01").Time, To: D("2026-10-01").Time, Every: "1mo"})
		if err != nil {
			b.Fatal(err)
		}
		rows, err = WriteFile(ctx, out, rr)
		rr.Release()
		if err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	close(stop)
	b.ReportMetric(float64(rows), "rows")
	b.ReportMetric(float64(peak.Load())/(1<<20), "go_heap_MB")
}
