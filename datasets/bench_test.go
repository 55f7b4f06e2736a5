package datasets

import (
	"context"
	"log/slog"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/apache/arrow/go/v15/arrow/memory"
)

// benchWorld returns the folder of a generated world (env
// DUEWISE_BENCH_WORLD, written by duewise generate) or skips.
func benchWorld(b *testing.B) string {
	dir := os.Getenv("DUEWISE_BENCH_WORLD")
	if dir == "" {
		b.Skip("set DUEWISE_BENCH_WORLD to a folder written by duewise generate")
	}
	return dir
}

// BenchmarkReadValidate measures reading, parsing and validating a world's
// files into Arrow records, without a warehouse.
func BenchmarkReadValidate(b *testing.B) {
	dir := benchWorld(b)
	l := &Loader{cfg: DefaultLoaderConfig(), log: slog.New(slog.DiscardHandler), mem: memory.DefaultAllocator, st: &loaderState{}}
	l.cfg.Workers = 2
	jobs, err := l.plan([]string{dir})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	var rows int64
	var peak uint64
	start := time.Now()
	for i := 0; i < b.N; i++ {
		for _, j := range jobs {
			src, err := l.open(context.Background(), j)
			if err != nil {
				b.Fatal(err)
			}
			err = l.pipeline(context.Background(), src, func(bt *batch) error {
				rows += int64(bt.read)
				var ms runtime.MemStats // sample the heap once per batch
				runtime.ReadMemStats(&ms)
				peak = max(peak, ms.HeapInuse)
				if len(bt.rejects) > 0 {
					b.Fatalf("%s: %s", j.path, bt.rejects[0].message(j.path))
				}
				if bt.rec != nil {
					bt.rec.Release()
				}
				return nil
			})
			src.close()
			if err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(rows)/time.Since(start).Seconds(), "rows/s")
	b.ReportMetric(float64(peak)/(1<<20), "MiB_heap_peak")
}
