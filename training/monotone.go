package training

import (
	"math"

	G "gorgonia.org/gorgonia"

	"github.com/duewise/duewise/datasets"
	"github.com/duewise/duewise/features"
	"github.com/duewise/duewise/model"
)

// freeShare is the share of each hidden layer's units that depend on the
// free inputs only (model.Layer.Signs 0); the others are split evenly
// between rising (+1) and falling (-1) units. A quarter was measured
// against none and a half on the synthetic benchmark (docs/model-card.md).
const freeShare = 0.25

// monotoneInitScale scales the initial magnitude of the constrained
// weights: all of a unit's constrained weights share a sign, so their
// contributions add up instead of cancelling, and half the He scale
// trained better on the synthetic benchmark (90-day AUC 0.7905 against
// 0.7894 at full scale and 0.7880 at a quarter; docs/model-card.md).
const monotoneInitScale = 0.5

// monotoneLearnRate is the default Adam step size of a monotone network
// (unconstrained: 0.002): its constrained weights move more slowly, and at
// 0.002 it had not converged after 40 epochs (0.7853 against 0.7894 at
// 0.004; 0.006 diverged early; docs/model-card.md).
const monotoneLearnRate = 0.004

// direction returns the declared direction of input column name:
// Options.Directions when it names the column, else the signal catalog's
// (docs/features.md); columns the catalog does not know have none.
func (o *Options) direction(name string) model.RiskDirection {
	if d, ok := o.Directions[name]; ok {
		return d
	}
	for _, a := range o.Attributes {
		if a.Name == name && a.Direction != datasets.NoDirection {
			return model.RiskDirection(a.Direction)
		}
	}
	if s, ok := features.Lookup(name); ok {
		return model.RiskDirection(s.Direction)
	}
	return model.NoDirection
}

// unitSigns returns the signs of a hidden layer's out units: the first
// freeShare of them free, the rest alternately rising and falling.
func unitSigns(out int) []int8 {
	s := make([]int8, out)
	free := int(math.Round(freeShare * float64(out)))
	for j := free; j < out; j++ {
		s[j] = 1
		if (j-free)%2 == 1 {
			s[j] = -1
		}
	}
	return s
}

// layerSigns returns the signs of every layer's units for a monotone
// network with inputs of signs in, or nil when no input is monotone: the
// hidden layers' from unitSigns, the logits' all out.
func layerSigns(in []int8, hidden []int, k int, out int8) [][]int8 {
	monotone := false
	for _, s := range in {
		monotone = monotone || s != 0
	}
	if !monotone {
		return nil
	}
	signs := make([][]int8, 0, len(hidden)+1)
	for _, h := range hidden {
		signs = append(signs, unitSigns(h))
	}
	logits := make([]int8, k)
	for j := range logits {
		logits[j] = out
	}
	return append(signs, logits)
}

// Constraints of one weight, from the signs a of its input and b of its
// unit (see model.InputSigns).
const (
	freeW    int8 = 0  // a == 0: any value
	nonNeg   int8 = 1  // a*b == +1
	nonPos   int8 = -1 // a*b == -1
	zeroOnly int8 = 2  // a != 0, b == 0: a free unit sees no monotone input
)

// constraints returns, per layer, the constraint of every weight
// (row-major in x out) of a network whose inputs have signs in and whose
// units have signs; nil without signs.
func constraints(in []int8, signs [][]int8) [][]int8 {
	if signs == nil {
		return nil
	}
	cs := make([][]int8, len(signs))
	for l, out := range signs {
		c := make([]int8, len(in)*len(out))
		for i, a := range in {
			for j, b := range out {
				switch {
				case a == 0:
					c[i*len(out)+j] = freeW
				case b == 0:
					c[i*len(out)+j] = zeroOnly
				default:
					c[i*len(out)+j] = a * b
				}
			}
		}
		cs[l], in = c, out
	}
	return cs
}

// project sets every weight of ws that breaks its constraint to the
// nearest allowed value (0): the projection of projected gradient descent,
// applied after every optimizer step, so that the network is monotone at
// every step and so is any average of its steps.
func project(ws [][]float32, cs [][]int8) {
	for l, c := range cs {
		w := ws[l]
		for i, k := range c {
			switch {
			case k == freeW:
			case k == zeroOnly, k == nonNeg && w[i] < 0, k == nonPos && w[i] > 0:
				w[i] = 0
			}
		}
	}
}

// signed gives the initial weights w of one layer the signs of their
// constraints c, in place, keeping their magnitudes: w where the
// constraint is free, |w| or -|w| where it asks for a sign, 0 where the
// weight must be zero.
func signed(w []float32, c []int8) {
	for i, k := range c {
		switch k {
		case nonNeg:
			w[i] = float32(math.Abs(float64(w[i])))
		case nonPos:
			w[i] = -float32(math.Abs(float64(w[i])))
		case zeroOnly:
			w[i] = 0
		}
	}
}

// projectParams applies project to the weight matrices of a graph's
// parameters (W0, B0, W1, B1, ...), in place.
func projectParams(params G.Nodes, cs [][]int8) {
	if cs == nil {
		return
	}
	ws := make([][]float32, len(cs))
	for l := range cs {
		ws[l] = params[2*l].Value().Data().([]float32)
	}
	project(ws, cs)
}

// baselineReference sets the reference of every monotone feature of fs
// (its block of ref, laid out as model.Encode does) to a point of the
// feature's order: the encoding of its Baseline, with a known value (NULL
// indicator 0) and, for a zero-indicator feature (Baseline 0), the zero
// indicator at the training share of zeros, which puts the reference
// between none and the lowest values. A customer whose value is above the
// baseline then has every input of the feature on the risky side of the
// reference (or equal), and an attribution of the declared sign; below
// it, of the other sign. The other features keep the training rows' mean
// encoding.
func baselineReference(fs []model.Feature, ref []float32) {
	off := 0
	var buf [3]float32
	for i := range fs {
		f := &fs[i]
		w := model.EncodedWidth(fs[i : i+1])
		if f.Direction.Monotone() && f.Baseline != nil {
			zeros := ref[off+w-1] // the zero indicator's mean, when there is one
			model.EncodeNumeric(f, *f.Baseline, buf[:])
			copy(ref[off:off+w], buf[:w])
			if f.ZeroIndicator {
				ref[off+w-1] = zeros
			}
		}
		off += w
	}
}

// centreBiases sets the bias of every hidden unit of w so that its
// pre-activation has mean zero over sample (row-major, w.In[0] wide),
// layer by layer. A monotone network needs it: its weights have signs
// fixed by the construction, so the mostly-one zero indicators and the
// low value inputs of the many "none" rows push every rising unit far
// below zero and every falling one far above it, and at a random start
// most rising units would be dead on most rows (and never learn) while the
// falling ones would be linear. Centring starts every unit at its kink.
func centreBiases(w *weights, sample []float32) {
	rows := len(sample) / w.In[0]
	in := sample
	for l := 0; l+1 < len(w.W); l++ {
		fi, fo := w.In[l], w.Out[l]
		out := make([]float32, rows*fo)
		mean := make([]float64, fo)
		for r := range rows {
			z := out[r*fo : (r+1)*fo]
			for i, x := range in[r*fi : (r+1)*fi] {
				if x == 0 {
					continue
				}
				for j, wt := range w.W[l][i*fo : (i+1)*fo] {
					z[j] += x * wt
				}
			}
			for j, v := range z {
				mean[j] += float64(v)
			}
		}
		for j := range fo {
			w.B[l][j] = float32(-mean[j] / float64(max(rows, 1)))
		}
		for r := range rows {
			z := out[r*fo : (r+1)*fo]
			for j := range z {
				z[j] = max(z[j]+w.B[l][j], 0)
			}
		}
		in = out
	}
}

// sampleRows returns about n rows of the row-major matrix x (in wide),
// evenly spaced, or all of them when there are fewer.
func sampleRows(x []float32, in, n int) []float32 {
	rows := len(x) / in
	if rows <= n {
		return x
	}
	out := make([]float32, 0, n*in)
	for r := range n {
		i := r * rows / n
		out = append(out, x[i*in:(i+1)*in]...)
	}
	return out
}
