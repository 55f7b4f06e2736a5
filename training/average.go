package training

import (
	"math"

	G "gorgonia.org/gorgonia"
)

// average is an exponential moving average of a network's weights over
// the optimizer's steps (Polyak averaging). The averaged weights are the
// ones validated and kept: they vary less from epoch to epoch than the
// last step's weights, which jump with every minibatch, so early stopping
// compares like with like and the kept model generalizes better.
//
// The average starts at zero and is divided by 1-decay^t (as Adam does
// for its moments), so that it is the weighted mean of the weights seen
// so far, not pulled towards zero or the initial weights.
type average struct {
	decay float64
	steps int
	sum   *weights // the running, uncorrected average
}

// newAverage averages weights shaped like w over a horizon of about
// horizon steps (decay 1-1/horizon; a horizon of a step or less keeps the
// last step's weights).
func newAverage(w *weights, horizon float64) *average {
	a := &average{decay: 1 - 1/max(horizon, 1), sum: w.clone()}
	for l := range a.sum.W {
		clear(a.sum.W[l])
		clear(a.sum.B[l])
	}
	return a
}

// add takes in the current values of params (W0, B0, W1, B1, ...): a
// monotone network's are projected onto its constraints already, and an
// average of weights of one sign keeps that sign.
func (a *average) add(params G.Nodes) {
	a.steps++
	d := float32(a.decay)
	for l := range a.sum.W {
		mix(a.sum.W[l], params[2*l].Value().Data().([]float32), d)
		mix(a.sum.B[l], params[2*l+1].Value().Data().([]float32), d)
	}
}

func mix(sum, v []float32, d float32) {
	for i := range sum {
		sum[i] = d*sum[i] + (1-d)*v[i]
	}
}

// into writes the bias-corrected average into w.
func (a *average) into(w *weights) {
	c := float32(1 / (1 - math.Pow(a.decay, float64(a.steps))))
	for l := range a.sum.W {
		scaled(w.W[l], a.sum.W[l], c)
		scaled(w.B[l], a.sum.B[l], c)
	}
}

func scaled(dst, src []float32, c float32) {
	for i, v := range src {
		dst[i] = v * c
	}
}
