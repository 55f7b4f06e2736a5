package model

import (
	"cmp"
	"math"
	"slices"
)

// Attribution is one feature's contribution to a row's 90-day risk
// (Prediction.Risk90) relative to the artifact's reference point: the
// features' weights sum to risk(row) - risk(reference).
type Attribution struct {
	Feature  string  `json:"feature"`
	Value    float64 `json:"value"`    // the row's numeric value (NaN = NULL or an empty category; 0 for a category)
	Category string  `json:"category"` // the row's category, for categorical features
	Weight   float64 `json:"weight"`   // signed contribution to the 90-day risk
}

// igSteps is the number of integrated-gradient steps (midpoint rule).
const igSteps = 32

// Explain attributes the 90-day risk of one row to its features by
// integrated gradients (Sundararajan et al. 2017) from the artifact's
// Reference (the average encoded training row) to the row, with gradients
// computed in plain Go through the network and the survival product. The
// encoded inputs of a feature (value and NULL indicator, or its one-hot
// block) are summed into one Attribution. It appends the top features by
// |Weight| (all when top <= 0) to dst[:0] and returns it. Safe for
// concurrent use; its working memory is pooled, so that in steady state it
// allocates only when dst is too small.
func (s *Scorer) Explain(num []float64, cat []string, top int, dst []Attribution) []Attribution {
	sc, _ := s.igPool.Get().(*igScratch)
	if sc == nil {
		sc = s.newIGScratch()
	}
	defer s.igPool.Put(sc)
	s.Encode(num, cat, sc.x)
	grad := s.integratedGradients(sc.x, sc)
	out := dst[:0]
	for i := range s.a.Features {
		f := &s.a.Features[i]
		a := Attribution{Feature: f.Name}
		if f.Type == Categorical {
			a.Category = cat[i]
			if a.Category == "" {
				a.Value = math.NaN() // an empty attribute is missing
			}
		} else {
			a.Value = num[i]
		}
		for j := s.offsets[i]; j < s.offsets[i]+f.width(); j++ {
			a.Weight += grad[j]
		}
		if top <= 0 {
			out = append(out, a)
			continue
		}
		// Keep the top features, largest |Weight| first, earlier
		// features first among equals (what a stable sort gives).
		w := math.Abs(a.Weight)
		k := len(out)
		for k > 0 && math.Abs(out[k-1].Weight) < w {
			k--
		}
		if k >= top {
			continue
		}
		if len(out) < top {
			out = append(out, Attribution{})
		}
		copy(out[k+1:], out[k:len(out)-1])
		out[k] = a
	}
	if top <= 0 {
		slices.SortStableFunc(out, func(a, b Attribution) int { return cmp.Compare(math.Abs(b.Weight), math.Abs(a.Weight)) })
	}
	return out
}

// integratedGradients returns (x - ref) * mean gradient of the risk along
// the straight path from ref to x, per encoded input: integrated gradients
// with the midpoint rule over igSteps points.
//
// It gives the same numbers as running the network forward and backward at
// every point, at a fraction of the cost, because the path is a straight
// line. The first layer's pre-activation is affine along it, z1(alpha) =
// u + alpha*v with u = W1'ref + b1 (fixed per model) and v = W1'(x - ref),
// so each first-layer ReLU unit is active on one contiguous run of steps.
// The second layer's pre-activation at every step is then the sum of the
// active units' contributions, accumulated once per unit over its run
// (difference arrays and prefix sums) instead of a full product per step.
// Backward, the gradient a first-layer unit receives, summed over the
// steps where it is active, is a difference of prefix sums of the second
// layer's gradients; the input gradient is one product with W1 at the end.
// Layers after the second run per step, and only the logits the risk
// depends on are computed.
//
// The result is sc.gsum, valid until sc is reused.
func (s *Scorer) integratedGradients(x []float32, sc *igScratch) []float64 {
	const S = igSteps
	ref := s.ref
	ls := s.a.Layers
	n := len(ls)
	l0 := &ls[0]
	h1 := l0.Out
	// v = W1'(x - ref); the path's first layer is u + alpha*v.
	ig := s.ig
	u := ig.u
	v := sc.v
	clear(v)
	for j := range x {
		d := float64(x[j] - ref[j])
		if d == 0 {
			continue
		}
		row := ig.w[0][j*h1 : (j+1)*h1]
		for o, w := range row {
			v[o] += d * w
		}
	}
	alpha := func(st int) float64 { return (float64(st) + 0.5) / S }
	// Active run [start, end) of each first-layer unit.
	start, end := sc.start, sc.end
	for o := range h1 {
		if l0.Activation != ReLU {
			start[o], end[o] = 0, S
			continue
		}
		// u + alpha*v is monotone in alpha, so the unit is active on
		// one run: [k, S) when v > 0, [0, k) when v < 0. Find k from
		// the crossing point, then settle it on the exact test.
		on := func(k int) bool { return u[o]+alpha(k)*v[o] > 0 }
		switch {
		case v[o] == 0 || math.IsNaN(v[o]):
			start[o], end[o] = S, S
			if on(0) {
				start[o] = 0
			}
		case v[o] > 0:
			k := min(max(int(math.Ceil(-u[o]/v[o]*S-0.5)), 0), S)
			for k > 0 && on(k-1) {
				k--
			}
			for k < S && !on(k) {
				k++
			}
			start[o], end[o] = k, S
		default:
			k := min(max(int(math.Ceil(-u[o]/v[o]*S-0.5)), 0), S)
			for k < S && on(k) {
				k++
			}
			for k > 0 && !on(k-1) {
				k--
			}
			start[o], end[o] = 0, k
			if k == 0 {
				start[o] = S
				end[o] = S
			}
		}
	}
	// out1 is the number of outputs of the second layer (or of the first,
	// when it is the output layer) that matter: all of a hidden layer, the
	// first s.risk logits of the output layer.
	out1 := s.igOut1()
	// z2[k] = pre-activation (of layer 1, or the logits when n == 1) at
	// step k, from difference arrays over the steps.
	z2 := sc.z2
	if n == 1 {
		for k := range S {
			for o := range out1 {
				z2[k*out1+o] = u[o] + alpha(k)*v[o]
			}
		}
	} else {
		l1 := &ls[1]
		da, db := sc.da, sc.db // difference arrays of A (constant part) and B (slope in alpha)
		clear(da)
		clear(db)
		for i := range h1 {
			if start[i] >= end[i] {
				continue
			}
			row := ig.w[1][i*l1.Out : i*l1.Out+out1]
			a0, b0 := da[start[i]*out1:(start[i]+1)*out1], db[start[i]*out1:(start[i]+1)*out1]
			ui, vi := u[i], v[i]
			for o, w := range row {
				a0[o] += ui * w
				b0[o] += vi * w
			}
			if end[i] < S {
				a1, b1 := da[end[i]*out1:(end[i]+1)*out1], db[end[i]*out1:(end[i]+1)*out1]
				for o, w := range row {
					a1[o] -= ui * w
					b1[o] -= vi * w
				}
			}
		}
		accA, accB := sc.accA, sc.accB
		clear(accB)
		for o := range out1 {
			accA[o] = float64(l1.B[o])
		}
		for k := range S {
			al := alpha(k)
			for o := range out1 {
				accA[o] += da[k*out1+o]
				accB[o] += db[k*out1+o]
				z2[k*out1+o] = accA[o] + al*accB[o]
			}
		}
	}
	// Per step: the rest of the network forward, d risk / d logits, and
	// back to the gradient at the second layer's pre-activation, summed
	// over the steps as prefix sums.
	prefix := sc.prefix
	clear(prefix[:out1])
	acts, delta, prev, h2 := sc.acts, sc.delta, sc.prev, sc.h2
	for k := range S {
		z := z2[k*out1 : (k+1)*out1]
		var logits []float64
		if n <= 2 {
			logits = z
		} else {
			act := ls[1].Activation
			for o, val := range z {
				if act == ReLU && val < 0 {
					val = 0
				}
				h2[o] = val
			}
			in := h2
			for l := 2; l < n; l++ {
				ly := &ls[l]
				out := acts[l+1]
				if l == n-1 {
					// The logits the risk needs, as dot products with
					// the transposed output weights.
					out = out[:s.risk]
					for o := range out {
						row := ig.lastT[o*ly.In : (o+1)*ly.In]
						g := ig.lastB[o]
						for i, w := range row {
							g += w * in[i]
						}
						out[o] = g
					}
					in = out
					continue
				}
				w := ig.w[l]
				for o := range out {
					out[o] = float64(ly.B[o])
				}
				for i, val := range in {
					if val == 0 {
						continue
					}
					row := w[i*ly.Out : (i+1)*ly.Out]
					for o, w := range row {
						out[o] += val * w
					}
				}
				if ly.Activation == ReLU {
					for o, val := range out {
						if val < 0 {
							out[o] = 0
						}
					}
				}
				in = out
			}
			logits = in
		}
		// d risk / d logit_j. Risk = 1 - S(g_k) (or S(g_k) for invoices)
		// with S(g_k) = prod_{j<k} (1 - h_j): dS/dl_j = -S * h_j for j < k.
		surv := 1.0
		d := delta[:s.risk]
		for j := range d {
			// q = 1 - h_j = 1/(1+e^l); h_j = e^l * q (1 when e^l overflows).
			e := math.Exp(logits[j])
			q := 1 / (1 + e)
			surv *= q
			d[j] = e * q
			if math.IsInf(e, 1) {
				d[j] = 1
			}
		}
		for j := range d {
			h := d[j]
			ds := -surv * h
			if s.invoice {
				d[j] = ds
			} else {
				d[j] = -ds
			}
		}
		// Back through layers n-1 .. 2 to the second layer's output.
		for l := n - 1; l >= 2; l-- {
			ly := &ls[l]
			if ly.Activation == ReLU {
				for o := range d {
					if acts[l+1][o] <= 0 {
						d[o] = 0
					}
				}
			}
			p := prev[:ly.In]
			if l == n-1 {
				clear(p)
				for o, do := range d {
					if do == 0 {
						continue
					}
					row := ig.lastT[o*ly.In : (o+1)*ly.In]
					for i, w := range row {
						p[i] += do * w
					}
				}
			} else {
				w := ig.w[l]
				for i := range p {
					row := w[i*ly.Out : (i+1)*ly.Out]
					var g float64
					for o, w := range row {
						g += w * d[o]
					}
					p[i] = g
				}
			}
			d = delta[:ly.In]
			copy(d, p)
		}
		if n > 2 && ls[1].Activation == ReLU {
			for o := range d {
				if z[o] <= 0 {
					d[o] = 0
				}
			}
		}
		cur, nxt := prefix[k*out1:(k+1)*out1], prefix[(k+1)*out1:(k+2)*out1]
		for o := range out1 {
			nxt[o] = cur[o] + d[o]
		}
	}
	// Gradient summed over the steps at each first-layer pre-activation.
	g1 := sc.g1
	clear(g1)
	if n == 1 {
		last := prefix[S*out1:]
		copy(g1, last)
	} else {
		l1 := &ls[1]
		for i := range h1 {
			if start[i] >= end[i] {
				continue
			}
			lo, hi := prefix[start[i]*out1:(start[i]+1)*out1], prefix[end[i]*out1:(end[i]+1)*out1]
			row := ig.w[1][i*l1.Out : i*l1.Out+out1]
			var g float64
			for o, w := range row {
				g += w * (hi[o] - lo[o])
			}
			g1[i] = g
		}
	}
	gsum := sc.gsum
	for j := range gsum {
		dj := float64(x[j] - ref[j])
		gsum[j] = 0
		if dj == 0 {
			continue
		}
		row := ig.w[0][j*h1 : (j+1)*h1]
		var g float64
		for o, w := range row {
			g += w * g1[o]
		}
		gsum[j] = g * dj / S
	}
	return gsum
}

// igModel is what integratedGradients precomputes once per Scorer: the
// first layer's pre-activation at the reference point, the weights as
// float64, and the output weights of the logits the risk needs, transposed.
type igModel struct {
	u     []float64
	w     [][]float64 // per layer, row-major in x out
	lastT []float64   // output layer, first s.risk columns, risk x in
	lastB []float64
}

// newIGModel precomputes integratedGradients' data for s (called by
// NewScorer once s.ref and s.risk are set).
func newIGModel(s *Scorer) *igModel {
	ls := s.a.Layers
	m := &igModel{w: make([][]float64, len(ls))}
	for l := range ls {
		m.w[l] = make([]float64, len(ls[l].W))
		for i, w := range ls[l].W {
			m.w[l][i] = float64(w)
		}
	}
	l0 := &ls[0]
	m.u = make([]float64, l0.Out)
	for o := range m.u {
		m.u[o] = float64(l0.B[o])
	}
	for j, r := range s.ref {
		if r == 0 {
			continue
		}
		row := m.w[0][j*l0.Out : (j+1)*l0.Out]
		for o, w := range row {
			m.u[o] += float64(r) * w
		}
	}
	last := &ls[len(ls)-1]
	m.lastT = make([]float64, s.risk*last.In)
	m.lastB = make([]float64, s.risk)
	for o := range s.risk {
		m.lastB[o] = float64(last.B[o])
		for i := range last.In {
			m.lastT[o*last.In+i] = float64(last.W[i*last.Out+o])
		}
	}
	return m
}

// igScratch is the working memory of one integratedGradients call.
type igScratch struct {
	x                           []float32
	v, z2, da, db, accA, accB   []float64
	prefix, h2, delta, prev, g1 []float64
	gsum                        []float64
	start, end                  []int
	acts                        [][]float64
}

// igOut1 is the number of second-layer outputs integratedGradients tracks:
// all of a hidden layer, the first s.risk logits of the output layer.
func (s *Scorer) igOut1() int {
	if len(s.a.Layers) <= 2 {
		return s.risk
	}
	return s.a.Layers[1].Out
}

func (s *Scorer) newIGScratch() *igScratch {
	const S = igSteps
	h1, out1 := s.a.Layers[0].Out, s.igOut1()
	sc := &igScratch{
		x: make([]float32, s.width), v: make([]float64, h1),
		z2: make([]float64, S*out1), da: make([]float64, (S+1)*out1), db: make([]float64, (S+1)*out1),
		accA: make([]float64, out1), accB: make([]float64, out1), prefix: make([]float64, (S+1)*out1),
		h2: make([]float64, out1), delta: make([]float64, s.maxWidth), prev: make([]float64, s.maxWidth),
		g1: make([]float64, h1), gsum: make([]float64, s.width), start: make([]int, h1), end: make([]int, h1),
		acts: make([][]float64, len(s.a.Layers)+1),
	}
	for l := 2; l < len(s.a.Layers); l++ {
		sc.acts[l+1] = make([]float64, s.a.Layers[l].Out)
	}
	return sc
}
