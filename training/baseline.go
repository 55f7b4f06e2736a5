package training

import (
	"encoding/json"
	"math"
	"sort"

	"github.com/duewise/duewise/model"
	"github.com/duewise/duewise/training/metrics"
)

// Baselines are the simple models every trained model is compared with:
// a logistic regression of "event within LRHorizon days" on the same
// encoded inputs (rows censored before the horizon left out), and the
// Kaplan-Meier rate of an event within each horizon per segment. A plain
// value, stored in the artifact so that `duewise evaluate` can report them
// later.
type Baselines struct {
	LRWeights []float64 `json:"lr_weights"` // one per encoded input, then the intercept
	// LRHorizon is the horizon of the logistic regression in days: 90 for
	// behaviour and onboarding models unless the training rows have fewer
	// than minLRClass cases or controls there (then the first of 30, 60,
	// 180, 365 that has them, e.g. 30 for one-month default labels); 0
	// for invoice models ("paid on or before the due date", whose
	// complement is the late-payment probability).
	LRHorizon int                  `json:"lr_horizon"`
	KM        map[string][]float64 `json:"km"` // segment -> P(event within horizon) per metrics.Horizons; "" = all
}

// minLRClass is the fewest cases and controls the logistic-regression
// baseline is fitted on at a horizon.
const minLRClass = 20

// maxLRRows bounds the rows the logistic-regression baseline is fitted on.
const maxLRRows = 100_000

// fitBaselines fits the baselines on the training rows (x: their encoded
// inputs, row-major).
func fitBaselines(d *Dataset, rows []int, x []float32, in int, kind model.Kind) *Baselines {
	b := &Baselines{KM: map[string][]float64{}}
	// At most about maxLRRows rows (an even stride): Newton's method costs
	// rows x inputs^2 per iteration.
	stride := max(1, len(rows)/maxLRRows)
	label := func(r int, h float64) (y float64, ok bool) {
		dur, ev := float64(d.Duration[r]), d.Event[r] == 1
		switch {
		case ev && dur <= h:
			return 1, true
		case dur > h:
			return 0, true
		}
		return 0, false
	}
	b.LRHorizon = 90
	if kind == model.Invoice {
		b.LRHorizon = 0
	} else {
		for _, h := range []int{90, 30, 60, 180, 365} {
			var pos, neg int
			for _, r := range rows {
				if y, ok := label(r, float64(h)); ok && y == 1 {
					pos++
				} else if ok {
					neg++
				}
			}
			if pos >= minLRClass && neg >= minLRClass {
				b.LRHorizon = h
				break
			}
		}
	}
	var xs [][]float32
	var ys []float64
	for i, r := range rows {
		if i%stride != 0 {
			continue
		}
		y, ok := label(r, float64(b.LRHorizon))
		if !ok {
			continue
		}
		xs = append(xs, x[i*in:(i+1)*in])
		ys = append(ys, y)
	}
	b.LRWeights = logistic(xs, ys, in)
	groups := map[string][]int{"": rows}
	for _, r := range rows {
		groups[d.Segment[r]] = append(groups[d.Segment[r]], r)
	}
	for seg, idx := range groups {
		ds, es := make([]float64, len(idx)), make([]bool, len(idx))
		for k, r := range idx {
			ds[k], es[k] = float64(d.Duration[r]), d.Event[r] == 1
		}
		p := make([]float64, len(metrics.Horizons))
		for h, hd := range metrics.Horizons {
			p[h] = metrics.KaplanMeier(ds, es, float64(hd))
			if kind == model.Invoice {
				// invoice risk is "still unpaid after h": 1 - P(paid by h)
				p[h] = 1 - p[h]
			}
		}
		b.KM[seg] = p
	}
	return b
}

// lr is the logistic regression's P(event within LRHorizon days) of one
// row.
func (b *Baselines) lr(x []float32) float64 {
	z := b.LRWeights[len(x)]
	for j, v := range x {
		z += b.LRWeights[j] * float64(v)
	}
	return 1 / (1 + math.Exp(-z))
}

// km returns the segment's Kaplan-Meier risks, or the overall ones.
func (b *Baselines) km(segment string) []float64 {
	if p, ok := b.KM[segment]; ok {
		return p
	}
	return b.KM[""]
}

// logistic fits an L2-regularised logistic regression by Newton's method
// (IRLS), deterministic. It returns in weights and the intercept.
func logistic(xs [][]float32, ys []float64, in int) []float64 {
	p := in + 1
	w := make([]float64, p)
	const lambda = 1e-3
	hess := make([]float64, p*p)
	grad := make([]float64, p)
	row := make([]float64, p)
	for iter := 0; iter < 12; iter++ {
		clear(hess)
		clear(grad)
		for i, x := range xs {
			for j, v := range x {
				row[j] = float64(v)
			}
			row[in] = 1
			z := 0.0
			for j := range p {
				z += w[j] * row[j]
			}
			mu := 1 / (1 + math.Exp(-z))
			s := mu * (1 - mu)
			for j := range p {
				if row[j] == 0 {
					continue
				}
				grad[j] += (mu - ys[i]) * row[j]
				rj := s * row[j]
				for k := j; k < p; k++ {
					hess[j*p+k] += rj * row[k]
				}
			}
		}
		n := float64(max(len(xs), 1))
		for j := range p {
			grad[j] = grad[j]/n + lambda*w[j]
			for k := j; k < p; k++ {
				hess[j*p+k] /= n
				hess[k*p+j] = hess[j*p+k]
			}
			hess[j*p+j] += lambda
		}
		step := solve(hess, grad, p)
		var norm float64
		for j := range p {
			w[j] -= step[j]
			norm += step[j] * step[j]
		}
		if norm < 1e-12 {
			break
		}
	}
	return w
}

// solve solves A x = b (A symmetric positive definite, p×p) by Cholesky
// decomposition, with a small ridge when needed.
func solve(a, b []float64, p int) []float64 {
	l := make([]float64, p*p)
	for ridge := 0.0; ; ridge = math.Max(ridge*10, 1e-8) {
		ok := true
		for i := 0; i < p && ok; i++ {
			for j := 0; j <= i; j++ {
				s := a[i*p+j]
				if i == j {
					s += ridge
				}
				for k := range j {
					s -= l[i*p+k] * l[j*p+k]
				}
				if i == j {
					if s <= 0 {
						ok = false
						break
					}
					l[i*p+i] = math.Sqrt(s)
				} else {
					l[i*p+j] = s / l[j*p+j]
				}
			}
		}
		if ok {
			break
		}
	}
	y := make([]float64, p)
	for i := range p {
		s := b[i]
		for k := range i {
			s -= l[i*p+k] * y[k]
		}
		y[i] = s / l[i*p+i]
	}
	x := make([]float64, p)
	for i := p - 1; i >= 0; i-- {
		s := y[i]
		for k := i + 1; k < p; k++ {
			s -= l[k*p+i] * x[k]
		}
		x[i] = s / l[i*p+i]
	}
	return x
}

// baselinesOf reads the baselines stored in an artifact, or nil.
func baselinesOf(a *model.Artifact) *Baselines {
	raw, ok := a.Metrics["baselines"]
	if !ok {
		return nil
	}
	b, err := json.Marshal(raw)
	if err != nil {
		return nil
	}
	var bl Baselines
	if json.Unmarshal(b, &bl) != nil || len(bl.LRWeights) != model.EncodedWidth(a.Features)+1 {
		return nil
	}
	if m, ok := raw.(map[string]any); ok && m["lr_horizon"] == nil {
		bl.LRHorizon = 90 // written before the horizon was recorded
	}
	return &bl
}

// segmentsOf lists the segment names in sorted order (for stable output).
func segmentsOf(m map[string][]float64) []string {
	var s []string
	for k := range m {
		s = append(s, k)
	}
	sort.Strings(s)
	return s
}
