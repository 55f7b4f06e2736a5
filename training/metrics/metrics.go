// Package metrics measures survival predictions with censoring handled:
// time-dependent AUC at fixed horizons, Harrell's and Uno's concordance,
// the integrated Brier score and calibration per decile. A customer
// censored before a horizon is neither a case nor a control there.
package metrics

import (
	"math"
	"slices"
	"sort"
)

// Horizons are the days at which metrics are reported.
var Horizons = []int{30, 60, 90, 180, 365}

// Rows are labelled predictions: Risk[h][i] is row i's predicted
// probability of the event within Horizons[h] days; Duration and Event
// are its label (event = 1: the event happened after Duration days; 0:
// censored after Duration days). A plain value.
type Rows struct {
	Duration []float64
	Event    []bool
	Risk     [][]float64 // [len(Horizons)][rows]
	Segment  []string    // optional
}

// Len returns the number of rows.
func (r *Rows) Len() int { return len(r.Duration) }

// AUC is the cumulative/dynamic AUC of scores at horizon h: cases are the
// rows with an event at or before h, controls the rows still event-free
// after h; rows censored at or before h are excluded. Ties count half.
// It returns NaN when there are no cases or no controls.
func AUC(score, duration []float64, event []bool, h float64) float64 {
	cases, controls := atHorizon(duration, event, h)
	return mannWhitney(values(score, cases), values(score, controls))
}

// atHorizon splits the rows at horizon h into the cases (an event at or
// before h) and the controls (event-free after h); a row censored at or
// before h is neither.
func atHorizon(duration []float64, event []bool, h float64) (cases, controls []int) {
	for i, d := range duration {
		switch {
		case event[i] && d <= h:
			cases = append(cases, i)
		case d > h:
			controls = append(controls, i)
		}
	}
	return cases, controls
}

// mannWhitney is P(pos > neg) + P(pos = neg)/2.
func mannWhitney(pos, neg []float64) float64 {
	if len(pos) == 0 || len(neg) == 0 {
		return math.NaN()
	}
	type sv struct {
		s   float64
		pos bool
	}
	all := make([]sv, 0, len(pos)+len(neg))
	for _, s := range pos {
		all = append(all, sv{s, true})
	}
	for _, s := range neg {
		all = append(all, sv{s, false})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].s < all[j].s })
	var rankSum float64
	for i := 0; i < len(all); {
		j := i
		for j < len(all) && all[j].s == all[i].s {
			j++
		}
		mid := float64(i+j+1) / 2 // average 1-based rank
		for t := i; t < j; t++ {
			if all[t].pos {
				rankSum += mid
			}
		}
		i = j
	}
	np, nn := float64(len(pos)), float64(len(neg))
	return (rankSum - np*(np+1)/2) / (np * nn)
}

// HarrellC is Harrell's concordance of risk scores (higher = earlier
// event): over the comparable pairs (i had an event before j's duration),
// the share where i has the higher risk; ties in risk count half.
// Durations are truncated at tau (events after tau are treated as
// censored at tau).
func HarrellC(risk, duration []float64, event []bool, tau float64) float64 {
	return concordance(risk, duration, event, tau, nil)
}

// UnoC is Uno's IPCW concordance: Harrell's pairs weighted by 1/G(t_i)^2,
// G the Kaplan-Meier estimate of the censoring distribution, truncated at
// tau. Less dependent on the censoring pattern than Harrell's C.
func UnoC(risk, duration []float64, event []bool, tau float64) float64 {
	g := censoringKM(duration, event)
	return concordance(risk, duration, event, tau, func(t float64) float64 {
		v := g.at(t, true)
		if v <= 0 {
			return 0
		}
		return 1 / (v * v)
	})
}

func concordance(risk, duration []float64, event []bool, tau float64, weight func(float64) float64) float64 {
	n := len(risk)
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return duration[idx[a]] < duration[idx[b]] })
	// Ranks of the distinct risk values, 1-based, for a Fenwick tree that
	// counts the rows still at risk by risk rank: O(n log n) overall.
	vals := slices.Clone(risk)
	slices.Sort(vals)
	vals = slices.Compact(vals)
	rank := func(v float64) int { k, _ := slices.BinarySearch(vals, v); return k + 1 }
	tree := make([]float64, len(vals)+1)
	add := func(k int) {
		for ; k < len(tree); k += k & -k {
			tree[k]++
		}
	}
	prefix := func(k int) float64 { // rows with rank <= k
		var c float64
		for ; k > 0; k -= k & -k {
			c += tree[k]
		}
		return c
	}
	var num, den, inTree float64
	// For every case i, compare with all j whose duration exceeds t_i.
	for p := n - 1; p >= 0; {
		q := p
		t := duration[idx[p]]
		for q >= 0 && duration[idx[q]] == t {
			q--
		}
		// rows idx[q+1..p] share duration t; the tree holds the rows with
		// duration > t.
		for r := q + 1; r <= p; r++ {
			i := idx[r]
			if !event[i] || t > tau {
				continue
			}
			w := 1.0
			if weight != nil {
				w = weight(t)
			}
			k := rank(risk[i])
			lower := prefix(k - 1)
			equal := prefix(k) - lower
			num += w * (lower + 0.5*equal)
			den += w * inTree
		}
		for r := q + 1; r <= p; r++ {
			add(rank(risk[idx[r]]))
			inTree++
		}
		p = q
	}
	if den == 0 {
		return math.NaN()
	}
	return num / den
}

// km is a Kaplan-Meier step function.
type km struct {
	t []float64 // event times, increasing
	s []float64 // S just after t[i]
}

// kmStep is the Kaplan-Meier estimate just after one distinct time of the
// rows.
type kmStep struct {
	t      float64
	events int     // rows with the event at t
	s      float64 // S just after t
	green  float64 // Greenwood's sum up to t
	atRisk int     // rows still at risk after t
}

// kmSteps returns the Kaplan-Meier steps at the distinct durations, in
// increasing order: the events at time t happen to the rows at risk at t
// (duration >= t).
func kmSteps(duration []float64, event []bool) []kmStep {
	idx := make([]int, len(duration))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return duration[idx[a]] < duration[idx[b]] })
	var out []kmStep
	s, green, atRisk := 1.0, 0.0, len(duration)
	for p := 0; p < len(idx); {
		t := duration[idx[p]]
		var d, c int
		for p < len(idx) && duration[idx[p]] == t {
			if event[idx[p]] {
				d++
			} else {
				c++
			}
			p++
		}
		if d > 0 {
			s *= 1 - float64(d)/float64(atRisk)
			if atRisk > d {
				green += float64(d) / (float64(atRisk) * float64(atRisk-d))
			}
		}
		atRisk -= d + c
		out = append(out, kmStep{t: t, events: d, s: s, green: green, atRisk: atRisk})
	}
	return out
}

// kaplanMeier estimates S(t) from durations and events.
func kaplanMeier(duration []float64, event []bool) km {
	var f km
	for _, st := range kmSteps(duration, event) {
		if st.events > 0 {
			f.t = append(f.t, st.t)
			f.s = append(f.s, st.s)
		}
	}
	return f
}

// censoringKM is the Kaplan-Meier estimate of the censoring survival G.
func censoringKM(duration []float64, event []bool) km {
	inv := make([]bool, len(event))
	for i, e := range event {
		inv[i] = !e
	}
	return kaplanMeier(duration, inv)
}

// at returns S(t) (right-continuous), or S(t-) with left.
func (f km) at(t float64, left bool) float64 {
	var i int
	if left {
		i = sort.SearchFloat64s(f.t, t) // first >= t: steps strictly before t
	} else {
		i = sort.Search(len(f.t), func(k int) bool { return f.t[k] > t })
	}
	if i == 0 {
		return 1
	}
	return f.s[i-1]
}

// KaplanMeier returns the Kaplan-Meier estimate of P(event within h) of
// the rows.
func KaplanMeier(duration []float64, event []bool, h float64) float64 {
	return 1 - kaplanMeier(duration, event).at(h, false)
}

// Brier is the IPCW Brier score (Graf et al. 1999) of the predicted
// probabilities p of an event within h: cases (event by h) weigh
// 1/G(t_i-), controls (still event-free after h) 1/G(h); rows censored
// before h weigh 0. It is NaN when no row is followed beyond h: without
// controls the score would only count the cases and mean nothing.
func Brier(p, duration []float64, event []bool, h float64) float64 {
	return brier(p, duration, event, h, censoringKM(duration, event))
}

func brier(p, duration []float64, event []bool, h float64, g km) float64 {
	terms, ok := brierTerms(p, duration, event, h, g)
	if !ok {
		return math.NaN()
	}
	var sum float64
	for _, t := range terms {
		sum += t
	}
	return sum / float64(len(terms))
}

// IntegratedBrier integrates the IPCW Brier score over the horizons
// (trapezoids between them, from the first to the last at which the
// score is defined: some row is followed beyond it) and divides by the
// time span: one number for the curve, lower is better. NaN when the
// score is defined at fewer than two horizons.
func IntegratedBrier(r *Rows) float64 {
	g := censoringKM(r.Duration, r.Event)
	bs := make([]float64, len(Horizons))
	for h, d := range Horizons {
		bs[h] = brier(r.Risk[h], r.Duration, r.Event, float64(d), g)
	}
	return integrate(bs)
}

// integrate is IntegratedBrier over the Brier scores bs at Horizons.
func integrate(bs []float64) float64 {
	var area float64
	last := 0
	for h := 1; h < len(bs) && !math.IsNaN(bs[h]); h++ {
		area += float64(Horizons[h]-Horizons[h-1]) * (bs[h] + bs[h-1]) / 2
		last = h
	}
	if last < 1 || math.IsNaN(bs[0]) {
		return math.NaN()
	}
	return area / float64(Horizons[last]-Horizons[0])
}

// Bin is one calibration decile.
type Bin struct {
	N         int     `json:"n"`
	Predicted float64 `json:"predicted"` // mean predicted probability
	Observed  float64 `json:"observed"`  // Kaplan-Meier P(event by h) of the bin's rows
}

// Calibration sorts the rows by predicted probability of an event within
// h, cuts them into ten equal bins and compares each bin's mean
// prediction with its Kaplan-Meier observed rate (censoring handled). ECE
// is the row-weighted mean absolute difference.
func Calibration(p, duration []float64, event []bool, h float64) (bins []Bin, ece float64) {
	for _, rows := range calibrationBins(p) {
		var sum float64
		ds, es := make([]float64, len(rows)), make([]bool, len(rows))
		for k, i := range rows {
			sum += p[i]
			ds[k], es[k] = duration[i], event[i]
		}
		bin := Bin{N: len(rows), Predicted: sum / float64(len(rows)), Observed: KaplanMeier(ds, es, h)}
		bins = append(bins, bin)
		ece += float64(bin.N) * math.Abs(bin.Predicted-bin.Observed)
	}
	if n := len(p); n > 0 {
		ece /= float64(n)
	}
	return bins, ece
}
