package scoring

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// metricSet are the scoring core's Prometheus metrics.
type metricSet struct {
	scores *prometheus.CounterVec
	active *prometheus.GaugeVec
	s      *Core

	pending            prometheus.Gauge
	refreshed          prometheus.Counter
	refreshErrors      prometheus.Counter
	changes            prometheus.Counter
	refreshSeconds     prometheus.Histogram
	fullRefreshSeconds prometheus.Histogram
	eventToScore       prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer, s *Core) *metricSet {
	f := promauto.With(reg)
	m := &metricSet{s: s,
		scores: f.NewCounterVec(prometheus.CounterOpts{Name: "duewise_scores_total",
			Help: "Scores served by model kind, model version and risk band."}, []string{"kind", "version", "band"}),
		active: f.NewGaugeVec(prometheus.GaugeOpts{Name: "duewise_active_model",
			Help: "1 for each model being served, by tenant, kind and version."}, []string{"tenant", "kind", "version"}),
		pending: f.NewGauge(prometheus.GaugeOpts{Name: "duewise_refresh_pending_customers",
			Help: "Customers whose raw data changed and whose online features wait for their refresh."}),
		refreshed: f.NewCounter(prometheus.CounterOpts{Name: "duewise_refresh_customers_total",
			Help: "Customers whose online features were refreshed after their raw data changed."}),
		refreshErrors: f.NewCounter(prometheus.CounterOpts{Name: "duewise_refresh_errors_total",
			Help: "Failed refreshes of online features (touched customers, full refreshes, change-feed writes); each is tried again."}),
		changes: f.NewCounter(prometheus.CounterOpts{Name: "duewise_changes_total",
			Help: "Changes of band, status or actions written to the change feed."}),
		refreshSeconds: f.NewHistogram(prometheus.HistogramOpts{Name: "duewise_refresh_batch_duration_seconds",
			Help: "Time to refresh one batch of touched customers: compute, write, announce, swap.", Buckets: prometheus.ExponentialBuckets(0.01, 2, 14)}),
		fullRefreshSeconds: f.NewHistogram(prometheus.HistogramOpts{Name: "duewise_refresh_full_duration_seconds",
			Help: "Time to recompute every customer's online features.", Buckets: prometheus.ExponentialBuckets(1, 2, 12)}),
		eventToScore: f.NewHistogram(prometheus.HistogramOpts{Name: "duewise_event_to_score_seconds",
			Help: "From the moment a customer's raw data changed (Touch) to the moment its refreshed features serve answers.", Buckets: prometheus.ExponentialBuckets(0.05, 2, 12)}),
	}
	f.NewGaugeFunc(prometheus.GaugeOpts{Name: "duewise_online_features_age_seconds",
		Help: "Age of the online features: now minus the start of their newest as_of day (-1 when not loaded)."}, func() float64 {
		if t := s.online.Current(); t != nil && !t.MaxAsOf.IsZero() {
			return s.cfg.Now().Sub(t.MaxAsOf).Seconds()
		}
		return -1
	})
	f.NewGaugeFunc(prometheus.GaugeOpts{Name: "duewise_online_features_loaded_timestamp_seconds",
		Help: "When the online features in memory were loaded (Unix time; 0 when not loaded)."}, func() float64 {
		if t := s.online.Current(); t != nil {
			return float64(t.LoadedAt.UnixNano()) / 1e9
		}
		return 0
	})
	f.NewGaugeFunc(prometheus.GaugeOpts{Name: "duewise_online_features_customers",
		Help: "Customers in the online features in memory."}, func() float64 {
		if t := s.online.Current(); t != nil {
			return float64(t.Len())
		}
		return 0
	})
	f.NewGaugeFunc(prometheus.GaugeOpts{Name: "duewise_warehouse_up",
		Help: "1 when the warehouse (ClickHouse) answered the last check, else 0."}, func() float64 {
		if s.down.Load() != nil {
			return 0
		}
		return 1
	})
	return m
}

// refresh sets the active-model gauge from the loaded models.
func (m *metricSet) refresh() {
	m.active.Reset()
	for tn, ks := range m.s.models.all() {
		for k, l := range ks {
			m.active.WithLabelValues(tn, k, l.entry.Version).Set(1)
		}
	}
}
