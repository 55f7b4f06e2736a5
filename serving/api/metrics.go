package api

import (
	"time"

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
		requests: f.NewCounterVec(prometheus.CounterOpts{Name: "duewise_http_requests_total", Help: "HTTP requests by route, method and status."}, []string{"route", "method", "status"}),
		latency: f.NewHistogramVec(prometheus.HistogramOpts{Name: "duewise_http_request_duration_seconds", Help: "HTTP request latency by route, method and status.",
			Buckets: []float64{.0005, .001, .002, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 10}}, []string{"route", "method", "status"}),
		scores:   f.NewCounterVec(prometheus.CounterOpts{Name: "duewise_scores_total", Help: "Scores served by model kind, version and band."}, []string{"kind", "version", "band"}),
		active:   f.NewGaugeVec(prometheus.GaugeOpts{Name: "duewise_active_model", Help: "1 for each active model (tenant, kind, version)."}, []string{"tenant", "kind", "version"}),
		rejected: f.NewCounter(prometheus.CounterOpts{Name: "duewise_events_rejected_total", Help: "Event rows rejected by POST /v1/events."}),
		audited:  f.NewCounterVec(prometheus.CounterOpts{Name: "duewise_audit_records_total", Help: "Audit records by outcome (written, dropped, failed)."}, []string{"outcome"}),
	}
	f.NewGaugeFunc(prometheus.GaugeOpts{Name: "duewise_online_features_age_seconds", Help: "Age of the online features: now minus their newest as_of date."}, func() float64 {
		if t := s.online.Current(); t != nil && !t.MaxAsOf.IsZero() {
			return time.Since(t.MaxAsOf).Seconds()
		}
		return -1
	})
	f.NewGaugeFunc(prometheus.GaugeOpts{Name: "duewise_online_features_customers", Help: "Customers in the online features."}, func() float64 {
		if t := s.online.Current(); t != nil {
			return float64(t.Len())
		}
		return 0
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
