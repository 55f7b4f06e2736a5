package synth

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"time"

	"github.com/duewise/duewise/datasets/rowfile"
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

type job struct {
	first, n int
	done     chan *rowfile.Batch
}

func run(ctx context.Context, cfg Config, w *rowfile.Writer, log *slog.Logger) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	workers := cfg.Workers
	if workers == 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	cal := newCalendar(cfg)
	jobs := make(chan job)
	order := make(chan job, 2*workers) // bounds batches in flight
	free := make(chan *rowfile.Batch, 3*workers)

	go func() {
		defer close(jobs)
		defer close(order)
		for first := 0; first < cfg.Customers; first += chunkSize {
			j := job{first: first, n: min(chunkSize, cfg.Customers-first), done: make(chan *rowfile.Batch, 1)}
			select {
			case order <- j:
			case <-ctx.Done():
				return
			}
			select {
			case jobs <- j:
			case <-ctx.Done():
				return
			}
		}
	}()
	for range workers {
		go func() {
			s := newSim(cal)
			for j := range jobs {
				var b *rowfile.Batch
				select {
				case b = <-free:
					b.Reset()
				default:
					b = &rowfile.Batch{}
				}
				for i := j.first; i < j.first+j.n; i++ {
					s.customer(i, b)
				}
				j.done <- b
			}
		}()
	}
	lastLog := time.Now()
	for j := range order {
		var b *rowfile.Batch
		select {
		case b = <-j.done:
		case <-ctx.Done():
			return fmt.Errorf("generate: %w", ctx.Err())
		}
		if err := w.Write(b); err != nil {
			return fmt.Errorf("generate: %w", err)
		}
		select {
		case free <- b:
		default:
		}
		if time.Since(lastLog) > 5*time.Second {
			lastLog = time.Now()
			log.Info("generating", "customers", j.first+j.n, "of", cfg.Customers)
		}
	}
	return ctx.Err()
}
