package api

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// metricSet are the server's Prometheus metrics.
type metricSet struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	scores   *prometheus.CounterVec
	active   *prometheus.GaugeVec
	rejected prometheus.Counter
	audited  *prometheus.CounterVec
	s        *Server
}

func newMetrics(reg *prometheus.Registry, s *Server) *metricSet {
	f := promauto.With(reg)
	m := &metricSet{s: s,
		requests: f.NewCounterVec(prometheus.CounterOpts{Name: "duewise_http_requests_total",
			Help: "HTTP requests by route (template), method and status."}, []string{"route", "method", "status"}),
		latency: f.NewHistogramVec(prometheus.HistogramOpts{Name: "duewise_http_request_duration_seconds",
			Help:    "HTTP request latency by route (template), method and status.",
			Buckets: []float64{.0005, .001, .002, .003, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 10}}, []string{"route", "method", "status"}),
		scores: f.NewCounterVec(prometheus.CounterOpts{Name: "duewise_scores_total",
			Help: "Scores served by model kind, model version and risk band."}, []string{"kind", "version", "band"}),
		active: f.NewGaugeVec(prometheus.GaugeOpts{Name: "duewise_active_model",
			Help: "1 for each model being served, by tenant, kind and version."}, []string{"tenant", "kind", "version"}),
		rejected: f.NewCounter(prometheus.CounterOpts{Name: "duewise_events_rejected_total",
			Help: "Rows rejected by POST /v1/events."}),
		audited: f.NewCounterVec(prometheus.CounterOpts{Name: "duewise_audit_records_total",
			Help: "Audit records by outcome: written; retried (kept while the warehouse was unreachable); dropped (buffer full)."}, []string{"outcome"}),
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
	f.NewGaugeFunc(prometheus.GaugeOpts{Name: "duewise_audit_pending",
		Help: "Audit records waiting to be written."}, func() float64 { return float64(s.audit.pending()) })
	f.NewGaugeFunc(prometheus.GaugeOpts{Name: "duewise_api_keys",
		Help: "Active API keys in memory."}, func() float64 { return float64(s.keys.Len()) })
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
