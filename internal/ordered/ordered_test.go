package ordered

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

func TestRunKeepsOrder(t *testing.T) {
	for _, tc := range []struct {
		name             string
		n, size, workers int
	}{{"empty", 0, 8, 2}, {"one", 1, 8, 2}, {"chunks", 1000, 7, 3}, {"one worker", 100, 1, 1}, {"default workers", 500, 10, 0}} {
		t.Run(tc.name, func(t *testing.T) {
			var got []int
			err := Run(context.Background(), Config{Workers: tc.workers}, Chunks(tc.n, tc.size), func(_ int, r Range) []int {
				time.Sleep(time.Duration(rand.IntN(200)) * time.Microsecond) // finish out of order
				var out []int
				for i := r.Lo; i < r.Hi; i++ {
					out = append(out, i)
				}
				return out
			}, func(v []int) error { got = append(got, v...); return nil })
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != tc.n {
				t.Fatalf("%d results, want %d", len(got), tc.n)
			}
			for i, v := range got {
				if v != i {
					t.Fatalf("result %d is %d", i, v)
				}
			}
		})
	}
}

// TestRunWindow checks that no more than Window items are read ahead of
// emit.
func TestRunWindow(t *testing.T) {
	var read, emitted, worst atomic.Int64
	next := Chunks(200, 1)
	err := Run(context.Background(), Config{Workers: 4, Window: 5}, func() (Range, error) {
		r, err := next()
		if err == nil {
			if ahead := read.Add(1) - emitted.Load(); ahead > worst.Load() {
				worst.Store(ahead)
			}
		}
		return r, err
	}, func(_ int, r Range) int { return r.Lo }, func(int) error {
		time.Sleep(50 * time.Microsecond)
		emitted.Add(1)
		return nil
	})
	if err != nil || emitted.Load() != 200 {
		t.Fatalf("err %v, emitted %d", err, emitted.Load())
	}
	// The window, plus the item being emitted and the one the reader holds.
	if w := worst.Load(); w > 7 {
		t.Errorf("%d items read ahead of emit, window 5", w)
	}
}

// TestRunStops checks that every kind of stop returns its error and leaves
// no goroutine behind.
func TestRunStops(t *testing.T) {
	before := runtime.NumGoroutine()
	boom := errors.New("boom")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, tc := range []struct {
		name string
		ctx  context.Context
		next func() (Range, error)
		emit func(int) error
		want error
	}{
		{"emit fails", context.Background(), Chunks(1000, 1), func(v int) error {
			if v == 10 {
				return boom
			}
			return nil
		}, boom},
		{"next fails", context.Background(), func() func() (Range, error) {
			n := 0
			return func() (Range, error) {
				if n++; n > 20 {
					return Range{}, boom
				}
				return Range{n, n + 1}, nil
			}
		}(), func(int) error { return nil }, boom},
		{"cancelled", ctx, Chunks(1000, 1), func(int) error { return nil }, context.Canceled},
		{"endless reader, emit fails", context.Background(), func() (Range, error) { return Range{}, nil }, func(int) error { return io.ErrShortWrite }, io.ErrShortWrite},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Run(tc.ctx, Config{Workers: 3}, tc.next, func(_ int, r Range) int { return r.Lo }, tc.emit)
			if !errors.Is(err, tc.want) {
				t.Errorf("got %v, want %v", err, tc.want)
			}
		})
	}
	time.Sleep(10 * time.Millisecond)
	if after := runtime.NumGoroutine(); after > before {
		t.Errorf("%d goroutines before, %d after", before, after)
	}
}
