package metrics

import (
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strings"
)

// Scores are one scorer's metrics on a set of rows.
type Scores struct {
	Name string `json:"name"`
	// AUC and Brier per horizon ("30d" ... "365d"); NaN-free: a metric
	// that cannot be computed is left out.
	AUC             map[string]float64 `json:"auc"`
	Brier           map[string]float64 `json:"brier,omitempty"`
	HarrellC        float64            `json:"harrell_c,omitempty"`
	UnoC            float64            `json:"uno_c,omitempty"`
	IntegratedBrier float64            `json:"integrated_brier,omitempty"`
	Calibration90   []Bin              `json:"calibration_90d,omitempty"`
	ECE90           float64            `json:"ece_90d,omitempty"`
}

// Segment is the 90-day picture of one segment.
type Segment struct {
	Segment       string  `json:"segment"`
	Rows          int     `json:"rows"`
	AUC90         float64 `json:"auc_90d,omitempty"`
	MeanRisk90    float64 `json:"mean_risk_90d"`
	Observed90    float64 `json:"observed_90d"` // Kaplan-Meier
	BaselineAUC90 float64 `json:"baseline_auc_90d,omitempty"`
}

// Report is what `duewise evaluate` prints and saves.
type Report struct {
	Rows     int       `json:"rows"`
	Events   int       `json:"events"`
	Model    Scores    `json:"model"`
	Others   []Scores  `json:"others,omitempty"` // baselines, the truth...
	Segments []Segment `json:"segments,omitempty"`
	// Monotonicity is the audit of every input with a declared direction.
	Monotonicity []MonotoneCheck `json:"monotonicity,omitempty"`
}

// Evaluate computes the full set of metrics of r.
func Evaluate(name string, r *Rows) Scores {
	s := Scores{Name: name, AUC: map[string]float64{}, Brier: map[string]float64{}}
	g := censoringKM(r.Duration, r.Event)
	bs := make([]float64, len(Horizons))
	for h, d := range Horizons {
		key := fmt.Sprintf("%dd", d)
		put(s.AUC, key, AUC(r.Risk[h], r.Duration, r.Event, float64(d)))
		bs[h] = brier(r.Risk[h], r.Duration, r.Event, float64(d), g)
		put(s.Brier, key, bs[h])
	}
	last := len(Horizons) - 1
	s.HarrellC = finite(HarrellC(r.Risk[last], r.Duration, r.Event, float64(Horizons[last])))
	s.UnoC = finite(UnoC(r.Risk[last], r.Duration, r.Event, float64(Horizons[last])))
	s.IntegratedBrier = finite(integrate(bs))
	s.Calibration90, s.ECE90 = Calibration(r.Risk[2], r.Duration, r.Event, 90)
	return s
}

// EvaluateAt computes only the AUCs of a scorer that predicts at some
// horizons (a baseline): risk maps a horizon index to scores, or nil.
func EvaluateAt(name string, r *Rows, risk [][]float64) Scores {
	s := Scores{Name: name, AUC: map[string]float64{}, Brier: map[string]float64{}}
	g := censoringKM(r.Duration, r.Event)
	for h, d := range Horizons {
		if h >= len(risk) || risk[h] == nil {
			continue
		}
		key := fmt.Sprintf("%dd", d)
		put(s.AUC, key, AUC(risk[h], r.Duration, r.Event, float64(d)))
		put(s.Brier, key, brier(risk[h], r.Duration, r.Event, float64(d), g))
	}
	return s
}

// BySegment computes the 90-day picture per segment; baseline (optional)
// are another scorer's 90-day risks.
func BySegment(r *Rows, baseline []float64) []Segment {
	groups := map[string][]int{}
	for i, s := range r.Segment {
		groups[s] = append(groups[s], i)
	}
	names := make([]string, 0, len(groups))
	for n := range groups {
		names = append(names, n)
	}
	sort.Strings(names)
	var out []Segment
	for _, n := range names {
		idx := groups[n]
		ds, es, ps, bs := make([]float64, len(idx)), make([]bool, len(idx)), make([]float64, len(idx)), make([]float64, len(idx))
		var sum float64
		for k, i := range idx {
			ds[k], es[k], ps[k] = r.Duration[i], r.Event[i], r.Risk[2][i]
			if baseline != nil {
				bs[k] = baseline[i]
			}
			sum += ps[k]
		}
		seg := Segment{Segment: n, Rows: len(idx), AUC90: finite(AUC(ps, ds, es, 90)),
			MeanRisk90: sum / float64(len(idx)), Observed90: KaplanMeier(ds, es, 90)}
		if baseline != nil {
			seg.BaselineAUC90 = finite(AUC(bs, ds, es, 90))
		}
		out = append(out, seg)
	}
	return out
}

func put(m map[string]float64, k string, v float64) {
	if !math.IsNaN(v) && !math.IsInf(v, 0) {
		m[k] = v
	}
}

func finite(v float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	return v
}

// WriteText writes the report as readable tables.
func (rep *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "rows %d, events %d\n\n", rep.Rows, rep.Events)
	all := append([]Scores{rep.Model}, rep.Others...)
	// AUCs at other points than the horizons (e.g. "late" of invoice
	// models) get columns of their own, before the horizons.
	var extra []string
	for _, s := range all {
		for k := range s.AUC {
			if !isHorizon(k) && !slices.Contains(extra, k) {
				extra = append(extra, k)
			}
		}
	}
	sort.Strings(extra)
	nw := 28
	for _, s := range all {
		nw = max(nw, len(s.Name))
	}
	fmt.Fprintf(&b, "%-*s", nw, "AUC (censoring handled)")
	for _, k := range extra {
		fmt.Fprintf(&b, " %7s", k)
	}
	for _, h := range Horizons {
		fmt.Fprintf(&b, " %7s", fmt.Sprintf("%dd", h))
	}
	fmt.Fprintf(&b, " %9s %7s %9s\n", "Harrell C", "Uno C", "int.Brier")
	for _, s := range all {
		fmt.Fprintf(&b, "%-*s", nw, s.Name)
		for _, k := range extra {
			fmt.Fprintf(&b, " %7s", num(s.AUC, k))
		}
		for _, h := range Horizons {
			fmt.Fprintf(&b, " %7s", num(s.AUC, fmt.Sprintf("%dd", h)))
		}
		fmt.Fprintf(&b, " %9s %7s %9s\n", opt(s.HarrellC), opt(s.UnoC), opt(s.IntegratedBrier))
	}
	fmt.Fprintf(&b, "\n%-*s", nw, "Brier score")
	for _, h := range Horizons {
		fmt.Fprintf(&b, " %7s", fmt.Sprintf("%dd", h))
	}
	b.WriteString("\n")
	for _, s := range all {
		fmt.Fprintf(&b, "%-*s", nw, s.Name)
		for _, h := range Horizons {
			fmt.Fprintf(&b, " %7s", num(s.Brier, fmt.Sprintf("%dd", h)))
		}
		b.WriteString("\n")
	}
	if len(rep.Model.Calibration90) > 0 {
		fmt.Fprintf(&b, "\ncalibration at 90 days (%s), ECE %.4f\n%6s %8s %10s %9s\n", rep.Model.Name, rep.Model.ECE90, "decile", "rows", "predicted", "observed")
		for i, bin := range rep.Model.Calibration90 {
			fmt.Fprintf(&b, "%6d %8d %10.4f %9.4f\n", i+1, bin.N, bin.Predicted, bin.Observed)
		}
	}
	if len(rep.Segments) > 0 {
		fmt.Fprintf(&b, "\n%-20s %8s %8s %12s %12s %13s\n", "segment", "rows", "AUC 90d", "mean risk", "observed", "baseline AUC")
		for _, s := range rep.Segments {
			fmt.Fprintf(&b, "%-20s %8d %8s %12.4f %12.4f %13s\n", s.Segment, s.Rows, opt(s.AUC90), s.MeanRisk90, s.Observed90, opt(s.BaselineAUC90))
		}
	}
	writeMonotone(&b, rep.Monotonicity)
	_, err := io.WriteString(w, b.String())
	return err
}

// isHorizon reports whether k names one of the Horizons ("30d"...).
func isHorizon(k string) bool {
	for _, h := range Horizons {
		if k == fmt.Sprintf("%dd", h) {
			return true
		}
	}
	return false
}

func num(m map[string]float64, k string) string {
	v, ok := m[k]
	if !ok {
		return "-"
	}
	return fmt.Sprintf("%.4f", v)
}

func opt(v float64) string {
	if v == 0 {
		return "-"
	}
	return fmt.Sprintf("%.4f", v)
}
