package scoring

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/duewise/duewise/features"
	"github.com/duewise/duewise/serving/online"
)

// The refresh of touched customers computes their online features in Go
// from every customer's raw history held in memory (online.Histories,
// with Config.Histories): reading one customer's rows from the eight raw
// tables costs ClickHouse 2-4 ms of CPU (docs/warehouse.md), computing
// them in Go needs no query. The histories load in the background after the
// online table, and again after each full refresh; until they are loaded
// (or after rows could not be applied to them), batches take the SQL
// path (features.RefreshCustomers).

// historyMetrics describe the histories in memory and the paths batches
// took.
type historyMetrics struct {
	byPath *prometheus.CounterVec
	loads  prometheus.Histogram
}

func newHistoryMetrics(reg prometheus.Registerer, h *online.Histories) *historyMetrics {
	f := promauto.With(reg)
	m := &historyMetrics{
		byPath: f.NewCounterVec(prometheus.CounterOpts{Name: "duewise_refresh_customers_by_path_total",
			Help: "Touched customers refreshed, by path: memory (from the raw histories in memory) or warehouse (the SQL refresh, before the histories are loaded)."}, []string{"path"}),
		loads: f.NewHistogram(prometheus.HistogramOpts{Name: "duewise_histories_load_duration_seconds",
			Help: "Time to load every customer's raw history into memory.", Buckets: prometheus.ExponentialBuckets(1, 2, 10)}),
	}
	if h != nil {
		f.NewGaugeFunc(prometheus.GaugeOpts{Name: "duewise_histories_bytes",
			Help: "Bytes of the raw histories loaded into memory (rows, ids, offsets; 0 before the load)."},
			func() float64 { return float64(h.Stats().Bytes) })
		f.NewGaugeFunc(prometheus.GaugeOpts{Name: "duewise_histories_overlaid_customers",
			Help: "Customers with raw rows stored since the histories were loaded."},
			func() float64 { return float64(h.Stats().Overlaid) })
	}
	return m
}

// Inserted applies rows just stored in a contract table to the histories
// in memory (datasets.LoaderConfig.Inserted: POST /v1/events, an ingest
// through the server). It never blocks for long; a record it cannot read
// is logged, and batches take the SQL path until the next load.
func (s *Core) Inserted(table string, rec arrow.Record) {
	if s.hist == nil {
		return
	}
	if err := s.hist.Apply(table, rec); err != nil {
		s.met.refreshErrors.Inc()
		s.log.Error("raw rows not applied to the histories in memory; refreshing from the warehouse until they are loaded again", "table", table, "err", err)
	}
}

// LoadHistories loads every customer's raw history into memory (with
// Config.Histories; nothing otherwise). Requests and refreshes go on
// meanwhile. A failure is logged and counted.
func (s *Core) LoadHistories(ctx context.Context) {
	if s.hist == nil {
		return
	}
	start := time.Now()
	st, err := s.hist.Load(ctx, s.cfg.Engine)
	if err != nil {
		s.met.refreshErrors.Inc()
		s.log.Error("raw histories not loaded into memory; refreshing touched customers from the warehouse", "err", err)
		return
	}
	s.hmet.loads.Observe(time.Since(start).Seconds())
	s.log.Info("raw histories loaded into memory", "customers", st.Customers, "rows", st.Rows, "mib", st.Bytes>>20,
		"orphan_rows", st.Orphans, "seconds", time.Since(start).Seconds())
}

// loadHistoriesInBackground runs LoadHistories beside the other work.
func (s *Core) loadHistoriesInBackground(ctx context.Context) {
	if s.hist == nil {
		return
	}
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		s.LoadHistories(ctx)
	}()
}

// computeBatch computes the online features of b's customers live at now
// and writes them into features_latest: in Go from the histories in
// memory when they are loaded, else in the warehouse. It returns the
// records written (the caller releases them).
func (s *Core) computeBatch(ctx context.Context, b batch, now time.Time) ([]arrow.Record, error) {
	if s.hist != nil && s.hist.Loaded() {
		rec, err := s.computeInMemory(ctx, b, now)
		if !errors.Is(err, online.ErrHistoriesNotLoaded) {
			if err == nil {
				s.hmet.byPath.WithLabelValues("memory").Add(float64(len(b.ids)))
			}
			return rec, err
		}
	}
	var recs []arrow.Record
	_, err := features.RefreshCustomers(ctx, s.cfg.Engine, features.RefreshOptions{Tenant: b.tenant, Live: true, Now: now, Threshold: s.cfg.Threshold},
		b.ids, func(rec arrow.Record) error { rec.Retain(); recs = append(recs, rec); return nil })
	if err != nil {
		for _, r := range recs {
			r.Release()
		}
		return nil, err
	}
	s.hmet.byPath.WithLabelValues("warehouse").Add(float64(len(b.ids)))
	return recs, nil
}

// computeInMemory computes b's customers with features.ComputeLive over
// their histories in memory and writes them into features_latest in one
// insert. Unknown customers, and customers created after now, have no
// row (as in the SQL).
func (s *Core) computeInMemory(ctx context.Context, b batch, now time.Time) ([]arrow.Record, error) {
	ids := slices.Compact(slices.Sorted(slices.Values(b.ids)))
	rows := make([]features.Row, 0, len(ids))
	for _, id := range ids {
		h, ok, err := s.hist.History(b.tenant, id)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		r, err := features.ComputeLive(h, now, s.cfg.Threshold)
		if errors.Is(err, features.ErrNotCreated) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("compute customer %s: %w", id, err)
		}
		rows = append(rows, r)
	}
	if len(rows) == 0 {
		return nil, nil
	}
	rec, err := features.WriteLatest(ctx, s.cfg.Engine, rows, now)
	if err != nil {
		return nil, err
	}
	return []arrow.Record{rec}, nil
}
