package training

import (
	"context"
	"fmt"
	"math"
	"math/rand"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/duewise/duewise/features"
)

// wide builds n synthetic rows with 50 numeric inputs (a third NULL-able)
// and 2 categorical ones, at 12 monthly dates, with a known hazard.
func wide(n int, seed int64) *Dataset {
	rng := rand.New(rand.NewSource(seed))
	const nums = 50
	d := &Dataset{Num: make([][]float64, nums), Cat: make([][]string, 2), CatNames: []string{"segment", "channel"}}
	for j := range nums {
		d.NumNames = append(d.NumNames, fmt.Sprintf("x%d", j))
		d.Num[j] = make([]float64, n)
	}
	for i := range n {
		lo := -4.0
		for j := range nums {
			v := rng.ExpFloat64()
			if j%3 == 0 && rng.Intn(4) == 0 {
				v = math.NaN()
			} else if j < 5 {
				lo += 0.4 * v
			}
			d.Num[j][i] = v
		}
		seg := []string{"energy", "telecom", "insurance", "publishing"}[rng.Intn(4)]
		d.Cat[0] = append(d.Cat[0], seg)
		d.Cat[1] = append(d.Cat[1], []string{"online", "offline"}[rng.Intn(2)])
		h := 1 / (1 + math.Exp(-lo)) / 30
		dur := int32(math.Min(400, rng.ExpFloat64()/h))
		ev := uint8(1)
		if c := int32(60 + rng.Intn(400)); dur > c {
			dur, ev = c, 0
		}
		d.Tenant = append(d.Tenant, "t")
		d.CustomerID = append(d.CustomerID, strconv.Itoa(i))
		d.AsOf = append(d.AsOf, int32(20000+30*(i%12)))
		d.Duration = append(d.Duration, dur)
		d.Event = append(d.Event, ev)
		d.Segment = append(d.Segment, seg)
	}
	return d
}

// BenchmarkTrain trains with the default options on DUEWISE_BENCH_ROWS
// synthetic rows (default 100,000), or on the snapshot file
// DUEWISE_BENCH_SNAPSHOTS (its first DUEWISE_BENCH_ROWS rows when both
// are set). DUEWISE_BENCH_EPOCHS overrides the maximum epochs. The target
// is 1,000,000 rows to a finished model in under 5 minutes on 2 cores
// (docs/benchmarks.md). It reports the epochs run, seconds per epoch, the
// validation AUC at 90 days, the Go runtime's memory and the process's
// peak resident set size.
func BenchmarkTrain(b *testing.B) {
	n := 100_000
	if s := os.Getenv("DUEWISE_BENCH_ROWS"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	var d *Dataset
	if path := os.Getenv("DUEWISE_BENCH_SNAPSHOTS"); path != "" {
		rr, err := features.ReadFile(path)
		if err != nil {
			b.Fatal(err)
		}
		if d, err = Load(rr); err != nil {
			b.Fatal(err)
		}
		rr.Release()
		if os.Getenv("DUEWISE_BENCH_ROWS") != "" && n < d.Len() {
			d = d.Subset(indexes(n))
		}
	} else {
		d = wide(n, 1)
	}
	epochs, patience := 0, 0
	if s := os.Getenv("DUEWISE_BENCH_EPOCHS"); s != "" {
		epochs, _ = strconv.Atoi(s)
		patience = epochs // run them all
	}
	b.ResetTimer()
	for range b.N {
		var ms runtime.MemStats
		r, err := Train(context.Background(), d, Options{Seed: 1, Epochs: epochs, Patience: patience})
		if err != nil {
			b.Fatal(err)
		}
		runtime.ReadMemStats(&ms)
		b.ReportMetric(float64(d.Len()), "rows")
		b.ReportMetric(float64(len(r.Epochs)), "epochs")
		b.ReportMetric(r.Report.Model.AUC["90d"], "auc90")
		b.ReportMetric(float64(ms.Sys)/(1<<20), "MiB-sys")
		if rss := peakRSS(); rss > 0 {
			b.ReportMetric(rss, "MiB-peak-rss")
		}
		var sum float64
		for _, e := range r.Epochs {
			sum += e.Elapsed.Seconds()
		}
		b.ReportMetric(sum/float64(len(r.Epochs)), "s/epoch")
	}
}

// peakRSS returns the process's peak resident set size in MiB (VmHWM of
// /proc/self/status), or 0 where that is not available.
func peakRSS() float64 {
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")))
			if err == nil {
				return float64(kb) / 1024
			}
		}
	}
	return 0
}
