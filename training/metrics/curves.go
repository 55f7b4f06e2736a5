package metrics

import (
	"math"
	"sort"
)

// z95 is the standard normal quantile of 97.5%: 95% intervals.
const z95 = 1.959963984540054

// Point is one point of a ROC curve: the false and true positive rates
// at one threshold. A plain value.
type Point struct {
	FPR float64 `json:"fpr"`
	TPR float64 `json:"tpr"`
}

// ROC is the ROC curve of scores at horizon h with the cases and controls
// of AUC (rows censored at or before h are neither), from (0, 0) to
// (1, 1), one point per distinct score, thinned to at most about maxPoints
// points (a point is kept when it moved at least 1/maxPoints from the last
// kept one; the ends are always kept). Nil when there are no cases or no
// controls.
func ROC(score, duration []float64, event []bool, h float64, maxPoints int) []Point {
	type sv struct {
		s   float64
		pos bool
	}
	cases, controls := atHorizon(duration, event, h)
	if len(cases) == 0 || len(controls) == 0 {
		return nil
	}
	np, nn := float64(len(cases)), float64(len(controls))
	all := make([]sv, 0, len(cases)+len(controls))
	for _, i := range cases {
		all = append(all, sv{score[i], true})
	}
	for _, i := range controls {
		all = append(all, sv{score[i], false})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].s > all[j].s })
	step := 1 / float64(max(maxPoints, 2))
	out := []Point{{0, 0}}
	var tp, fp float64
	for i := 0; i < len(all); {
		j := i
		for j < len(all) && all[j].s == all[i].s {
			if all[j].pos {
				tp++
			} else {
				fp++
			}
			j++
		}
		i = j
		p := Point{FPR: fp / nn, TPR: tp / np}
		last := out[len(out)-1]
		if i == len(all) || p.FPR-last.FPR >= step || p.TPR-last.TPR >= step {
			out = append(out, p)
		}
	}
	return out
}

// KMPoint is the Kaplan-Meier survival at one time with its 95% interval
// (Greenwood's variance on the log(-log S) scale, which keeps the interval
// inside [0, 1]) and the rows still at risk then. A plain value.
type KMPoint struct {
	T        float64 `json:"t"`
	Survival float64 `json:"survival"`
	Lo       float64 `json:"lo"`
	Hi       float64 `json:"hi"`
	AtRisk   int     `json:"at_risk"`
}

// KaplanMeierCurve returns the Kaplan-Meier survival of the rows at each
// time of at (increasing), with its 95% interval.
func KaplanMeierCurve(duration []float64, event []bool, at []float64) []KMPoint {
	steps := kmSteps(duration, event)
	out := make([]KMPoint, len(at))
	for k, t := range at {
		pt := KMPoint{T: t, Survival: 1, Lo: 1, Hi: 1, AtRisk: len(duration)}
		// The last step at or before t.
		if i := sort.Search(len(steps), func(i int) bool { return steps[i].t > t }); i > 0 {
			st := steps[i-1]
			pt.Survival, pt.Lo, pt.Hi, pt.AtRisk = st.s, st.s, st.s, st.atRisk
			if s := st.s; s > 0 && s < 1 {
				// log(-log S) +- z se, se = sqrt(green) / |log S|; S^exp(x)
				// decreases in x, so the upper bound of the log-log scale is
				// the lower bound of S.
				se := math.Sqrt(st.green) / math.Abs(math.Log(s))
				pt.Lo, pt.Hi = math.Pow(s, math.Exp(z95*se)), math.Pow(s, math.Exp(-z95*se))
			}
		}
		out[k] = pt
	}
	return out
}

// BinCI is a calibration bin with the 95% interval of its observed rate.
type BinCI struct {
	Bin
	Lo float64 `json:"lo"`
	Hi float64 `json:"hi"`
}

// CalibrationCI is Calibration with the 95% interval of each bin's
// Kaplan-Meier rate of an event within h (the same bins, the same
// numbers).
func CalibrationCI(p, duration []float64, event []bool, h float64) []BinCI {
	var out []BinCI
	for _, rows := range calibrationBins(p) {
		ds, es := make([]float64, len(rows)), make([]bool, len(rows))
		var sum float64
		for k, i := range rows {
			sum += p[i]
			ds[k], es[k] = duration[i], event[i]
		}
		km := KaplanMeierCurve(ds, es, []float64{h})[0]
		out = append(out, BinCI{Bin: Bin{N: len(rows), Predicted: sum / float64(len(rows)), Observed: KaplanMeier(ds, es, h)},
			Lo: 1 - km.Hi, Hi: 1 - km.Lo})
	}
	return out
}

// calibrationBins sorts the rows by p and cuts them into ten bins of
// (nearly) equal size; empty bins are left out.
func calibrationBins(p []float64) [][]int {
	idx := make([]int, len(p))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return p[idx[a]] < p[idx[b]] })
	n := len(idx)
	var out [][]int
	for b := range 10 {
		lo, hi := b*n/10, (b+1)*n/10
		if hi > lo {
			out = append(out, idx[lo:hi])
		}
	}
	return out
}
