package metrics

import (
	"math"
	"slices"
	"sort"
)

// Difference is a metric of two scorers on the same rows, A - B, with the
// 95% interval of the difference. A plain value; NaN-free when Valid.
type Difference struct {
	A    float64 `json:"a"`
	B    float64 `json:"b"`
	Diff float64 `json:"diff"`
	SE   float64 `json:"se"`
	Lo   float64 `json:"lo"`
	Hi   float64 `json:"hi"`
	// Valid is false when the metric cannot be computed (no cases or no
	// controls at the horizon); the numbers are then 0.
	Valid bool `json:"valid"`
}

// Significant reports whether the 95% interval excludes 0.
func (d Difference) Significant() bool { return d.Valid && (d.Lo > 0 || d.Hi < 0) }

func newDifference(a, b, se float64) Difference {
	if math.IsNaN(a) || math.IsNaN(b) || math.IsNaN(se) {
		return Difference{}
	}
	d := a - b
	return Difference{A: a, B: b, Diff: d, SE: se, Lo: d - z95*se, Hi: d + z95*se, Valid: true}
}

// CompareAUC compares the AUCs at horizon h of two scorers of the same
// rows (cases and controls as AUC) by DeLong's method for correlated
// ROC curves (DeLong, DeLong and Clarke-Pearson 1988): the variance of
// the difference from the structural components of both AUCs over the
// cases and over the controls, in O(n log n).
func CompareAUC(a, b, duration []float64, event []bool, h float64) Difference {
	cases, controls := atHorizon(duration, event, h)
	m, n := len(cases), len(controls)
	if m == 0 || n == 0 {
		return Difference{}
	}
	v10a, v01a := components(a, cases, controls)
	v10b, v01b := components(b, cases, controls)
	aucA, aucB := mean(v10a), mean(v10b)
	varDiff := (cov(v10a, v10a) + cov(v10b, v10b) - 2*cov(v10a, v10b)) / float64(m)
	varDiff += (cov(v01a, v01a) + cov(v01b, v01b) - 2*cov(v01a, v01b)) / float64(n)
	return newDifference(aucA, aucB, math.Sqrt(max(varDiff, 0)))
}

// components returns DeLong's structural components of the AUC of s:
// v10[i], the share of controls case i outranks (ties half), and v01[j],
// the share of cases that outrank control j.
func components(s []float64, cases, controls []int) (v10, v01 []float64) {
	x, y := values(s, cases), values(s, controls)
	sx, sy := slices.Clone(x), slices.Clone(y)
	slices.Sort(sx)
	slices.Sort(sy)
	v10, v01 = make([]float64, len(x)), make([]float64, len(y))
	for i, v := range x {
		below := sort.SearchFloat64s(sy, v)
		equal := sort.Search(len(sy), func(k int) bool { return sy[k] > v }) - below
		v10[i] = (float64(below) + 0.5*float64(equal)) / float64(len(sy))
	}
	for j, v := range y {
		atMost := sort.Search(len(sx), func(k int) bool { return sx[k] > v })
		equal := atMost - sort.SearchFloat64s(sx, v)
		v01[j] = (float64(len(sx)-atMost) + 0.5*float64(equal)) / float64(len(sx))
	}
	return v10, v01
}

func values(s []float64, rows []int) []float64 {
	out := make([]float64, len(rows))
	for k, i := range rows {
		out[k] = s[i]
	}
	return out
}

func mean(xs []float64) float64 {
	var s float64
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

// cov is the sample covariance of x and y (0 for fewer than two values).
func cov(x, y []float64) float64 {
	if len(x) < 2 {
		return 0
	}
	mx, my := mean(x), mean(y)
	var s float64
	for i := range x {
		s += (x[i] - mx) * (y[i] - my)
	}
	return s / float64(len(x)-1)
}

// CompareBrier compares the IPCW Brier scores at horizon h of two
// scorers' probabilities pa and pb on the same rows. The Brier score is a
// mean of per-row terms with weights from the censoring distribution
// (Brier), so the difference is the mean of the per-row differences,
// whose standard error is their standard deviation over sqrt(rows) (the
// weights are taken as known).
func CompareBrier(pa, pb, duration []float64, event []bool, h float64) Difference {
	g := censoringKM(duration, event)
	ta, okA := brierTerms(pa, duration, event, h, g)
	tb, okB := brierTerms(pb, duration, event, h, g)
	if !okA || !okB {
		return Difference{}
	}
	d := make([]float64, len(ta))
	for i := range d {
		d[i] = ta[i] - tb[i]
	}
	return newDifference(mean(ta), mean(tb), math.Sqrt(cov(d, d)/float64(len(d))))
}

// brierTerms returns each row's term of the IPCW Brier score (their mean
// is brier's value), and false when no row is followed beyond h.
func brierTerms(p, duration []float64, event []bool, h float64, g km) ([]float64, bool) {
	out := make([]float64, len(p))
	controls := false
	gh := g.at(h, false)
	for i, d := range duration {
		switch {
		case event[i] && d <= h:
			if w := g.at(d, true); w > 0 {
				out[i] = (1 - p[i]) * (1 - p[i]) / w
			}
		case d > h:
			out[i] = p[i] * p[i] / gh
			controls = true
		}
	}
	return out, controls && len(p) > 0
}
