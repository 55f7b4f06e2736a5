package scoring

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/duewise/duewise/features"
	"github.com/duewise/duewise/model"
	"github.com/duewise/duewise/serving/online"
)

// DefaultDriftWarn is the default Config.DriftWarn: a population stability
// index above 0.25 is the usual sign that a population shifted enough to
// retrain (below 0.1 stable, in between a shift to watch).
const DefaultDriftWarn = 0.25

// DriftSample is the most customers of a tenant the drift is measured on,
// evenly spread over its online features: 50,000 give every bin of a
// decile histogram 5,000 rows, and keep a measurement under a second of
// CPU (scoring the sample dominates).
const DriftSample = 50_000

// Drift is the population stability index (PSI) of what one served model
// sees now against the rows it was trained on (its training profile,
// model.Profile): per input found in the online features, and of its
// 90-day risk. A plain value.
type Drift struct {
	Tenant  string `json:"tenant"`
	Kind    string `json:"kind"`
	Version string `json:"version"`
	// Rows is the number of customers measured.
	Rows int `json:"rows"`
	// Inputs maps each input of the model to its PSI (not the calendar
	// month, which differs whenever the dates differ).
	Inputs map[string]float64 `json:"inputs"`
	// Score is the PSI of the 90-day risk (behaviour models).
	Score float64 `json:"score"`
}

// driftMetrics are the drift gauges.
type driftMetrics struct {
	input *prometheus.GaugeVec
	score *prometheus.GaugeVec
}

func newDriftMetrics(reg prometheus.Registerer) *driftMetrics {
	f := promauto.With(reg)
	return &driftMetrics{
		input: f.NewGaugeVec(prometheus.GaugeOpts{Name: "duewise_drift_psi",
			Help: "Population stability index of each input of the served behaviour model over the online features against the model's training rows, by tenant, model version and input (measured after every load of the features or switch of model; > 0.25: retrain)."},
			[]string{"tenant", "version", "input"}),
		score: f.NewGaugeVec(prometheus.GaugeOpts{Name: "duewise_score_drift_psi",
			Help: "Population stability index of the served behaviour model's 90-day risk over the online features against its training rows, by tenant and model version."},
			[]string{"tenant", "version"}),
	}
}

// driftSoon measures the drift in the background when Config.DriftWarn is
// set: one measurement at a time, and one more after it when asked for
// while it runs.
func (s *Core) driftSoon() {
	if s.cfg.DriftWarn <= 0 {
		return
	}
	if !s.driftBusy.CompareAndSwap(false, true) {
		s.driftAgain.Store(true)
		return
	}
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		for {
			s.driftAgain.Store(false)
			s.measureDrift()
			s.driftBusy.Store(false)
			if !s.driftAgain.Load() || !s.driftBusy.CompareAndSwap(false, true) {
				return
			}
		}
	}()
}

// sameBehaviour reports whether a and b serve the same behaviour model
// versions to the same tenants.
func sameBehaviour(a, b modelSet) bool {
	versions := func(m modelSet) map[string]string {
		out := map[string]string{}
		for tn, ks := range m {
			if l := ks[string(model.Behaviour)]; l != nil {
				out[tn] = l.entry.Version
			}
		}
		return out
	}
	return maps.Equal(versions(a), versions(b))
}

// measureDrift measures the drift of every tenant's served behaviour model
// over the online features in use, sets the gauges and keeps the result
// for Readiness. Models without a training profile (trained before
// duewise kept one) are skipped.
func (s *Core) measureDrift() {
	m := s.tmap.Load()
	if m == nil {
		return
	}
	var out []Drift
	for tenant, ks := range s.models.all() {
		l := ks[string(model.Behaviour)]
		if l == nil {
			continue
		}
		if d, ok := s.driftOf(m, tenant, l); ok {
			out = append(out, d)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Tenant < out[j].Tenant })
	s.dmet.input.Reset()
	s.dmet.score.Reset()
	for _, d := range out {
		for in, psi := range d.Inputs {
			s.dmet.input.WithLabelValues(d.Tenant, d.Version, in).Set(psi)
		}
		s.dmet.score.WithLabelValues(d.Tenant, d.Version).Set(d.Score)
	}
	s.drift.Store(&out)
}

// driftOf measures l's drift over tenant's customers of m.
func (s *Core) driftOf(m *tableMap, tenant string, l *loaded) (Drift, bool) {
	prof, ok := model.ProfileOf(l.a)
	if !ok {
		return Drift{}, false
	}
	n := m.t.Customers(tenant)
	if n == 0 {
		return Drift{}, false
	}
	step := (n + DriftSample - 1) / DriftSample
	counts := make([][]float64, len(prof.Inputs))
	for i := range prof.Inputs {
		counts[i] = make([]float64, prof.Inputs[i].Bins())
	}
	score := make([]float64, prof.Score.Bins())
	buf := s.cat.NewValues()
	num, cat := make([]float64, len(l.a.Features)), make([]string, len(l.a.Features))
	var p model.Prediction
	i, rows := 0, 0
	m.t.Each(tenant, func(_, _ string, r online.Row) bool {
		i++
		if (i-1)%step != 0 {
			return true
		}
		rows++
		buf = s.cat.Reset(buf)
		m.fromRow(r, &buf)
		l.inputs(&buf, num, cat)
		for j, f := range l.a.Features {
			h := &prof.Inputs[j]
			if f.Type == model.Categorical {
				counts[j][h.BinCategory(cat[j])]++
			} else {
				counts[j][h.Bin(num[j])]++
			}
		}
		l.scorer.Predict(num, cat, &p)
		score[prof.Score.Bin(p.Risk90)]++
		return true
	})
	d := Drift{Tenant: tenant, Kind: string(model.Behaviour), Version: l.entry.Version, Rows: rows, Inputs: make(map[string]float64, len(counts))}
	for j, h := range prof.Inputs {
		if sig, ok := features.Lookup(h.Name); ok && sig.Unit == features.UnitMonth {
			continue // the calendar: one month now, every month in training
		}
		d.Inputs[h.Name] = h.PSI(counts[j])
	}
	d.Score = prof.Score.PSI(score)
	return d, true
}

// driftWarnings are the drifts above the warning threshold, for Readiness.
func (s *Core) driftWarnings() []string {
	p := s.drift.Load()
	if p == nil {
		return nil
	}
	var out []string
	for _, d := range *p {
		var over []string
		for _, in := range slices.Sorted(maps.Keys(d.Inputs)) {
			if psi := d.Inputs[in]; psi > s.cfg.DriftWarn {
				over = append(over, fmt.Sprintf("%s %.2f", in, psi))
			}
		}
		if d.Score > s.cfg.DriftWarn {
			over = append([]string{fmt.Sprintf("the 90-day risk %.2f", d.Score)}, over...)
		}
		if len(over) > 0 {
			out = append(out, fmt.Sprintf("tenant %s: the served population drifted from the training rows of %s (PSI above %.2g: %s): compare the model on recent rows (duewise report) and retrain",
				d.Tenant, d.Version, s.cfg.DriftWarn, strings.Join(over, ", ")))
		}
	}
	return out
}
