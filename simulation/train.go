package simulation

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"time"

	rf "github.com/duewise/duewise/datasets/rowfile"
	"github.com/duewise/duewise/datasets/synth"
	"github.com/duewise/duewise/features"
	"github.com/duewise/duewise/model"
	"github.com/duewise/duewise/training"
)

// Training dates of the in-simulation model, in months after the start
// of the world: monthly from trainHistory (every row has half a year of
// history), or a year before the horizon when the warm-up is longer, to
// trainGap months before the horizon, so that every row has its full
// 90-day follow-up by the day before the horizon starts, when the labels
// are taken (the protocol of the synthetic quality benchmark).
const (
	trainHistory = 6
	trainGap     = 4
	trainSpan    = 12
	// MinWarmUp is the fewest months before the horizon a policy with
	// models needs: one training date.
	MinWarmUp = trainHistory + trainGap
)

// trained is the model of one run and how it was made.
type trained struct {
	artifact *model.Artifact
	rows     int
	auc90    float64
	elapsed  time.Duration
}

// trainModel trains the behaviour model a creditor who adopts duewise at
// the horizon start has: from the first sample customers of the world
// (all of its customers when there are fewer), simulated under the
// standard policy (the only one before the horizon), as known the moment
// the horizon starts: snapshots at the monthly training dates with the
// labels known the day before. Nothing at or after the horizon start
// reaches it (TestTrainingSeesOnlyThePast).
func trainModel(ctx context.Context, world synth.Config, sample int, log *slog.Logger) (*trained, error) {
	began := time.Now()
	d, err := trainingSet(ctx, world, sample)
	if err != nil {
		return nil, err
	}
	res, err := training.Train(ctx, d, training.Options{Kind: model.Behaviour, Seed: world.Seed, Tenant: world.Tenant, Log: log})
	if err != nil {
		return nil, fmt.Errorf("train the in-simulation model: %w", err)
	}
	t := &trained{artifact: res.Artifact, rows: d.Len(), auc90: math.NaN(), elapsed: time.Since(began)}
	if res.Report != nil {
		if v, ok := res.Report.Model.AUC["90d"]; ok {
			t.auc90 = v
		}
	}
	return t, nil
}

// trainingSet builds the snapshot rows of trainModel in memory.
func trainingSet(ctx context.Context, world synth.Config, sample int) (*training.Dataset, error) {
	horizon := world.PolicyFrom
	warm := months(world.Start, horizon)
	if warm < MinWarmUp {
		return nil, fmt.Errorf("train the in-simulation model: %d months before the horizon, want at least %d", warm, MinWarmUp)
	}
	dates := trainingDates(world.Start, warm)
	w := world
	w.Customers, w.Policy = min(sample, world.Customers), synth.Standard
	known := rf.DateOf(horizon).At(0, 0, 0) - 1 // the last second before the horizon
	eod := horizon.AddDate(0, 0, -1)
	d := newDataset()
	err := synth.Simulate(ctx, w, func(c *synth.Chunk) error {
		for _, h := range histories(c.Rows) {
			addRows(d, convert(world.Tenant, ptr(h.At(known))), dates, eod)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("train the in-simulation model: %w", err)
	}
	if d.Len() == 0 {
		return nil, errors.New("train the in-simulation model: no training rows")
	}
	d.Segment = d.Cat[indexOf(d.CatNames, "segment")]
	return d, nil
}

// snapshot returns h's training row at T with its label, as the SQL
// snapshot has it (docs/features.md); ok is false when there is none.
func snapshot(h *features.History, T, eod time.Time) (row features.Row, dur int32, ev uint8, ok bool) {
	if dur, ev, ok = label(h, T, eod, features.DefaultThreshold); !ok {
		return row, 0, 0, false
	}
	row, err := features.Compute(h, T, features.DefaultThreshold)
	if err != nil || row.Status != "ok" || row.Departed {
		return row, 0, 0, false
	}
	return row, dur, ev, true
}

// addRow adds h's snapshot row at T with its label, when it has one.
func addRow(d *training.Dataset, h *features.History, T, eod time.Time) {
	row, dur, ev, ok := snapshot(h, T, eod)
	if !ok {
		return
	}
	d.Tenant = append(d.Tenant, row.Tenant)
	d.CustomerID = append(d.CustomerID, row.CustomerID)
	d.AsOf = append(d.AsOf, dayNum(T))
	d.Duration = append(d.Duration, dur)
	d.Event = append(d.Event, ev)
	for j, v := range row.Values {
		d.Num[j] = append(d.Num[j], v)
	}
	for j, v := range row.Categorical {
		d.Cat[j] = append(d.Cat[j], v)
	}
}

// addRows adds h's rows at dates.
func addRows(d *training.Dataset, h *features.History, dates []time.Time, eod time.Time) {
	for _, T := range dates {
		addRow(d, h, T, eod)
	}
}

// newDataset returns an empty dataset of the customer signals.
func newDataset() *training.Dataset {
	d := &training.Dataset{NumNames: features.NumericNames(), CatNames: features.CategoricalNames()}
	d.Num = make([][]float64, len(d.NumNames))
	d.Cat = make([][]string, len(d.CatNames))
	return d
}

// histories splits a chunk's rows by customer (rows of one customer are
// contiguous and in customer order).
func histories(b *rf.Batch) []synth.History {
	out := make([]synth.History, len(b.Customers))
	pos := make(map[string]int, len(b.Customers))
	for i := range b.Customers {
		out[i].Customer = &b.Customers[i]
		pos[b.Customers[i].ID] = i
	}
	split := func(n int, id func(int) string, add func(h *synth.History, lo, hi int)) {
		for lo := 0; lo < n; {
			hi := lo
			for hi < n && id(hi) == id(lo) {
				hi++
			}
			add(&out[pos[id(lo)]], lo, hi)
			lo = hi
		}
	}
	split(len(b.Invoices), func(i int) string { return b.Invoices[i].CustomerID }, func(h *synth.History, lo, hi int) { h.Invoices = b.Invoices[lo:hi] })
	split(len(b.Payments), func(i int) string { return b.Payments[i].CustomerID }, func(h *synth.History, lo, hi int) { h.Payments = b.Payments[lo:hi] })
	split(len(b.DirectDebits), func(i int) string { return b.DirectDebits[i].CustomerID }, func(h *synth.History, lo, hi int) { h.DirectDebits = b.DirectDebits[lo:hi] })
	split(len(b.Reminders), func(i int) string { return b.Reminders[i].CustomerID }, func(h *synth.History, lo, hi int) { h.Reminders = b.Reminders[lo:hi] })
	split(len(b.Arrangements), func(i int) string { return b.Arrangements[i].CustomerID }, func(h *synth.History, lo, hi int) { h.Arrangements = b.Arrangements[lo:hi] })
	split(len(b.Disputes), func(i int) string { return b.Disputes[i].CustomerID }, func(h *synth.History, lo, hi int) { h.Disputes = b.Disputes[lo:hi] })
	split(len(b.CustomerEvents), func(i int) string { return b.CustomerEvents[i].CustomerID }, func(h *synth.History, lo, hi int) { h.Events = b.CustomerEvents[lo:hi] })
	return out
}

func ptr[T any](v T) *T { return &v }

func indexOf(names []string, name string) int {
	for i, n := range names {
		if n == name {
			return i
		}
	}
	return -1
}

// months counts the whole months from a to b (both first days of months).
func months(a, b time.Time) int {
	return (b.Year()-a.Year())*12 + int(b.Month()) - int(a.Month())
}

// trainingDates are the monthly snapshot dates of a warm-up of warm months
// from start.
func trainingDates(start time.Time, warm int) []time.Time {
	var dates []time.Time
	for m := max(trainHistory, warm-trainGap-trainSpan+1); m <= warm-trainGap; m++ {
		dates = append(dates, start.AddDate(0, m, 0))
	}
	return dates
}
