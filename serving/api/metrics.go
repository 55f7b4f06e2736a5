package api

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// metricSet are the HTTP layer's Prometheus metrics (the scoring core and
// the audit trail register their own on the same registry).
type metricSet struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	rejected prometheus.Counter
}

func newMetrics(reg prometheus.Registerer, s *Server) *metricSet {
	f := promauto.With(reg)
	m := &metricSet{
		requests: f.NewCounterVec(prometheus.CounterOpts{Name: "duewise_http_requests_total",
			Help: "HTTP requests by route (template), method and status."}, []string{"route", "method", "status"}),
		latency: f.NewHistogramVec(prometheus.HistogramOpts{Name: "duewise_http_request_duration_seconds",
			Help:    "HTTP request latency by route (template), method and status.",
			Buckets: []float64{.0005, .001, .002, .003, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 10}}, []string{"route", "method", "status"}),
		rejected: f.NewCounter(prometheus.CounterOpts{Name: "duewise_events_rejected_total",
			Help: "Rows rejected by POST /v1/events."}),
	}
	f.NewGaugeFunc(prometheus.GaugeOpts{Name: "duewise_api_keys",
		Help: "Active API keys in memory."}, func() float64 { return float64(s.keys.Len()) })
	return m
}
