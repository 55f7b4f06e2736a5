// Package ordered runs work items on a pool of goroutines and hands their
// results on in the order of the items, with a bounded number of results
// waiting: the engine behind batch scoring, `duewise score --all` and file
// ingestion, which all read items in order, work on them in parallel and
// must write the results in the order they were read.
//
//	err := ordered.Run(ctx, ordered.Config{Workers: 4}, ordered.Chunks(n, 64),
//		func(w int, r ordered.Range) []byte { return score(r.Lo, r.Hi) },
//		func(b []byte) error { _, err := out.Write(b); return err })
package ordered

import (
	"context"
	"errors"
	"io"
	"runtime"
	"sync"
)

// Config sizes a Run; a plain value. The zero value means one worker per
// CPU and a window of four results per worker.
type Config struct {
	// Workers is the number of goroutines calling work; 0 = GOMAXPROCS.
	Workers int
	// Window is the number of items read ahead of emit (being worked on
	// or done and waiting); it bounds memory. 0 = 4 per worker.
	Window int
}

// Run calls next for items until it returns io.EOF, calls work on each item
// on one of cfg.Workers goroutines (w is the worker's number, 0 to
// Workers-1, for state a worker reuses), and emit with each result on the
// calling goroutine, in the order next returned the items. It stops at the
// first error of next or emit, or when ctx ends, and returns that error;
// it returns only when no goroutine of it runs any more. next runs on a
// goroutine of its own; work is not called for the items read after Run
// stopped.
func Run[In, Out any](ctx context.Context, cfg Config, next func() (In, error), work func(w int, in In) Out, emit func(Out) error) error {
	workers := cfg.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	window := cfg.Window
	if window <= 0 {
		window = 4 * workers
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	type job struct {
		in  In
		out chan Out
	}
	jobs := make(chan job)
	order := make(chan chan Out, window)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // the reader
		defer wg.Done()
		defer close(jobs)
		defer close(order)
		for ctx.Err() == nil {
			in, err := next()
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil {
				cancel(err)
				return
			}
			j := job{in: in, out: make(chan Out, 1)}
			select { // a place in the window first, so that memory is bounded
			case order <- j.out:
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
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				var out Out
				if ctx.Err() == nil {
					out = work(w, j.in)
				}
				j.out <- out
			}
		}()
	}
	defer wg.Wait()
	for out := range order {
		var v Out
		select {
		case v = <-out:
		case <-ctx.Done():
			return context.Cause(ctx)
		}
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		if err := emit(v); err != nil {
			cancel(err)
			return err
		}
	}
	return context.Cause(ctx)
}

// Range is the half-open range of indexes [Lo, Hi).
type Range struct{ Lo, Hi int }

// Chunks returns a next function for Run that yields [0, n) in ranges of
// size items (the last may be shorter). Not safe for concurrent use (Run
// calls next from one goroutine).
func Chunks(n, size int) func() (Range, error) {
	size = max(1, size)
	lo := 0
	return func() (Range, error) {
		if lo >= n {
			return Range{}, io.EOF
		}
		r := Range{lo, min(lo+size, n)}
		lo = r.Hi
		return r, nil
	}
}
