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

// Generate simulates cfg.Customers customers over cfg.Months months under
// cfg.Policy and writes one file per contract table plus truth.csv (or
// truth.parquet) into cfg.Out. Customers are simulated in parallel chunks
// and written in customer order, so the output depends only on the config,
// never on cfg.Workers or GOMAXPROCS. Generate is safe for concurrent use
// with different output folders.
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
	lastLog := time.Now()
	err = Simulate(ctx, cfg, func(c *Chunk) error {
		if err := w.Write(c.Rows); err != nil {
			return err
		}
		if time.Since(lastLog) > 5*time.Second {
			lastLog = time.Now()
			log.Info("generating", "customers", c.First+len(c.Ledgers), "of", cfg.Customers)
		}
		return nil
	})
	if cerr := w.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("generate: %w", cerr)
	}
	st := Stats{Customers: cfg.Customers, Rows: w.Rows(), Files: w.Paths(), Elapsed: time.Since(began)}
	if err != nil {
		return st, err
	}
	log.Info("generated synthetic world", "customers", cfg.Customers, "months", cfg.Months, "seed", cfg.Seed, "policy", cfg.policy().Name(), "out", cfg.Out, "elapsed", st.Elapsed.Round(time.Millisecond))
	return st, nil
}

// Chunk is the simulation of consecutive customers: their rows and their
// ledgers, customer First first.
type Chunk struct {
	First   int
	Rows    *rowfile.Batch
	Ledgers []Ledger
}

// Simulate simulates the world of cfg (Out and Format are not used) and
// calls emit with every chunk of customers, in customer order, on the
// calling goroutine. The chunk is reused once emit returns. Like Generate,
// the chunks depend only on the config.
func Simulate(ctx context.Context, cfg Config, emit func(*Chunk) error) error {
	if err := cfg.validateWorld(); err != nil {
		return fmt.Errorf("synth config: %w", err)
	}
	workers := cfg.Workers
	if workers == 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	cal := newCalendar(cfg)
	sims := make([]*sim, workers) // one per worker: its scratch state
	for i := range sims {
		sims[i] = newSim(cal)
	}
	free := make(chan *Chunk, 3*workers)
	err := ordered.Run(ctx, ordered.Config{Workers: workers, Window: 2 * workers}, ordered.Chunks(cfg.Customers, chunkSize),
		func(wk int, r ordered.Range) *Chunk {
			var c *Chunk
			select {
			case c = <-free:
				c.Rows.Reset()
				c.Ledgers = c.Ledgers[:0]
			default:
				c = &Chunk{Rows: &rowfile.Batch{}}
			}
			c.First = r.Lo
			for i := r.Lo; i < r.Hi; i++ {
				c.Ledgers = append(c.Ledgers, sims[wk].customer(i, c.Rows))
			}
			return c
		},
		func(c *Chunk) error {
			if err := emit(c); err != nil {
				return err
			}
			select {
			case free <- c:
			default:
			}
			return nil
		})
	if err != nil {
		return fmt.Errorf("simulate: %w", err)
	}
	return nil
}
