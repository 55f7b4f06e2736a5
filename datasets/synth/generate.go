package synth

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"time"

	"github.com/duewise/duewise/datasets/rowfile"
	"github.com/duewise/duewise/internal/ordered"
)

// chunkSize is the number of customers one goroutine simulates at a time.
const chunkSize = 500

// Generate simulates cfg.Customers customers over cfg.Months months and
// writes one file per contract table plus truth.csv (or truth.parquet) into
// cfg.Out. Customers are simulated in parallel chunks and written in
// customer order, so the output depends only on the config, never on
// cfg.Workers or GOMAXPROCS. Generate is safe for concurrent use with
// different output folders.
func Generate(ctx context.Context, cfg Config) (Stats, error) {
	if err := cfg.Validate(); err != nil {
		return Stats{}, fmt.Errorf("synth config: %w", err)
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	began := time.Now()
	w, err := rowfile.Create(rowfile.Options{Dir: cfg.Out, Format: rowfile.Format(cfg.Format), Tenant: cfg.Tenant, Extra: []string{rowfile.TruthTable}})
	if err != nil {
		return Stats{}, fmt.Errorf("generate: %w", err)
	}
	err = run(ctx, cfg, w, log)
	if cerr := w.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("generate: %w", cerr)
	}
	st := Stats{Customers: cfg.Customers, Rows: w.Rows(), Files: w.Paths(), Elapsed: time.Since(began)}
	if err != nil {
		return st, err
	}
	log.Info("generated synthetic world", "customers", cfg.Customers, "months", cfg.Months, "seed", cfg.Seed, "out", cfg.Out, "elapsed", st.Elapsed.Round(time.Millisecond))
	return st, nil
}

// chunk is one chunk's simulated rows and the customers done with it.
type chunk struct {
	b    *rowfile.Batch
	done int
}

func run(ctx context.Context, cfg Config, w *rowfile.Writer, log *slog.Logger) error {
	workers := cfg.Workers
	if workers == 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	cal := newCalendar(cfg)
	sims := make([]*sim, workers) // one per worker: its scratch state
	for i := range sims {
		sims[i] = newSim(cal)
	}
	free := make(chan *rowfile.Batch, 3*workers)
	lastLog := time.Now()
	err := ordered.Run(ctx, ordered.Config{Workers: workers, Window: 2 * workers}, ordered.Chunks(cfg.Customers, chunkSize),
		func(wk int, r ordered.Range) chunk {
			var b *rowfile.Batch
			select {
			case b = <-free:
				b.Reset()
			default:
				b = &rowfile.Batch{}
			}
			for i := r.Lo; i < r.Hi; i++ {
				sims[wk].customer(i, b)
			}
			return chunk{b, r.Hi}
		},
		func(c chunk) error {
			if err := w.Write(c.b); err != nil {
				return err
			}
			select {
			case free <- c.b:
			default:
			}
			if time.Since(lastLog) > 5*time.Second {
				lastLog = time.Now()
				log.Info("generating", "customers", c.done, "of", cfg.Customers)
			}
			return nil
		})
	if err != nil {
		return fmt.Errorf("generate: %w", err)
	}
	return nil
}
