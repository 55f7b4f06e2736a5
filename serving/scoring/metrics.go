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
}

func newMetrics(reg prometheus.Registerer, s *Core) *metricSet {
	f := promauto.With(reg)
	m := &metricSet{s: s,
		scores: f.NewCounterVec(prometheus.CounterOpts{Name: "duewise_scores_total",
			Help: "Scores served by model kind, model version and risk band."}, []string{"kind", "version", "band"}),
		active: f.NewGaugeVec(prometheus.GaugeOpts{Name: "duewise_active_model",
			Help: "1 for each model being served, by tenant, kind and version."}, []string{"tenant", "kind", "version"}),
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
