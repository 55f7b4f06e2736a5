package simulation

import (
	"context"
	"os"
	"strconv"
	"testing"
)

// BenchmarkSimulate runs `duewise simulate` in process: none, standard and
// default on one world of $DUEWISE_SIM_CUSTOMERS customers (default
// 100,000) over 24 months, with the model's training and the bootstrap.
// The speed target (docs/benchmarks.md) is 100,000 x 24 months x 3
// policies in under 3 minutes.
func BenchmarkSimulate(b *testing.B) {
	cfg := DefaultConfig()
	cfg.Customers = 100_000
	if v, err := strconv.Atoi(os.Getenv("DUEWISE_SIM_CUSTOMERS")); err == nil && v > 0 {
		cfg.Customers = v
	}
	for b.Loop() {
		if _, err := Run(context.Background(), cfg); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(cfg.Customers)*float64(cfg.Months)*3*float64(b.N)/b.Elapsed().Seconds(), "customer-months/s")
}
