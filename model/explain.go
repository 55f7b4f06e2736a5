package model

import (
	"math"
	"sort"
)

// Attribution is one feature's contribution to a row's 90-day risk
// (Prediction.Risk90) relative to the artifact's reference point: the
// features' weights sum to risk(row) - risk(reference).
type Attribution struct {
	Feature  string  `json:"feature"`
	Value    float64 `json:"value"`    // the row's numeric value (NaN = NULL; 0 for categorical)
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
// concurrent use; it allocates its working memory per call.
func (s *Scorer) Explain(num []float64, cat []string, top int, dst []Attribution) []Attribution {
	x := make([]float32, s.width)
	s.Encode(num, cat, x)
	grad := s.integratedGradients(x)
	out := dst[:0]
	for i := range s.a.Features {
		f := &s.a.Features[i]
		a := Attribution{Feature: f.Name}
		if f.Type == Categorical {
			a.Category = cat[i]
		} else {
			a.Value = num[i]
		}
		for j := s.offsets[i]; j < s.offsets[i]+f.width(); j++ {
			a.Weight += grad[j]
		}
		out = append(out, a)
	}
	sort.SliceStable(out, func(i, j int) bool { return math.Abs(out[i].Weight) > math.Abs(out[j].Weight) })
	if top > 0 && len(out) > top {
		out = out[:top]
	}
	return out
}

// integratedGradients returns (x - ref) * mean gradient of the risk along
// the straight path from ref to x, per encoded input.
func (s *Scorer) integratedGradients(x []float32) []float64 {
	ref := s.ref
	n := len(s.a.Layers)
	acts := make([][]float64, n+1) // acts[0] input, acts[l+1] output of layer l
	acts[0] = make([]float64, s.width)
	for l, ly := range s.a.Layers {
		acts[l+1] = make([]float64, ly.Out)
	}
	gsum := make([]float64, s.width)
	delta := make([]float64, s.maxWidth)
	prev := make([]float64, s.maxWidth)
	for st := range igSteps {
		alpha := (float64(st) + 0.5) / igSteps
		for j := range x {
			acts[0][j] = float64(ref[j]) + alpha*float64(x[j]-ref[j])
		}
		for l := range s.a.Layers {
			ly := &s.a.Layers[l]
			in, out := acts[l], acts[l+1]
			for o := range out {
				out[o] = float64(ly.B[o])
			}
			for i, v := range in {
				if v == 0 {
					continue
				}
				row := ly.W[i*ly.Out : (i+1)*ly.Out]
				for o, w := range row {
					out[o] += v * float64(w)
				}
			}
			if ly.Activation == ReLU {
				for o, v := range out {
					if v < 0 {
						out[o] = 0
					}
				}
			}
		}
		// d risk / d logit_j. Risk = 1 - S(g_k) (or S(g_k) for invoices)
		// with S(g_k) = prod_{j<k} (1 - h_j): dS/dl_j = -S * h_j for j < k.
		logits := acts[n]
		surv := 1.0
		for j := 0; j < s.risk; j++ {
			surv *= 1 / (1 + math.Exp(logits[j]))
		}
		d := delta[:len(logits)]
		for j := range d {
			d[j] = 0
			if j < s.risk {
				h := 1 / (1 + math.Exp(-logits[j]))
				ds := -surv * h
				if s.invoice {
					d[j] = ds
				} else {
					d[j] = -ds
				}
			}
		}
		// Backpropagate through the layers.
		for l := n - 1; l >= 0; l-- {
			ly := &s.a.Layers[l]
			if ly.Activation == ReLU {
				for o := range d {
					if acts[l+1][o] <= 0 {
						d[o] = 0
					}
				}
			}
			p := prev[:ly.In]
			for i := range p {
				row := ly.W[i*ly.Out : (i+1)*ly.Out]
				var g float64
				for o, w := range row {
					g += float64(w) * d[o]
				}
				p[i] = g
			}
			d = delta[:ly.In]
			copy(d, p)
		}
		for j := range gsum {
			gsum[j] += d[j]
		}
	}
	for j := range gsum {
		gsum[j] *= float64(x[j]-ref[j]) / igSteps
	}
	return gsum
}
