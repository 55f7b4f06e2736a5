package model

import "math"

// Monotone models.
//
// A feature with a declared direction must never move the risk the other
// way: more invoices 30+ days late never lower it. duewise guarantees this
// by construction, as constrained monotonic networks do (Runje and
// Shankaranarayana, "Constrained Monotonic Neural Networks", ICML 2023),
// with every unit a plain ReLU unit of a known sign:
//
//   - every encoded input has a sign (InputSigns): +1 when a higher input
//     means more risk, -1 when it means less, 0 when the input is free
//     (no direction, a category, a NULL indicator);
//   - every unit of every layer has a sign (Layer.Signs): +1 when it rises
//     with every monotone input, -1 when it falls, 0 when it depends on
//     none of them; the output logits have the kind's sign (OutputSign);
//   - a weight from an input or unit of sign a != 0 to a unit of sign b
//     has the sign of a*b, or is zero (and is zero when b = 0).
//
// ReLU is non-decreasing, so by induction every unit of sign +1 is a
// non-decreasing and every unit of sign -1 a non-increasing function of
// each monotone input, whatever the free inputs are: every path from a
// monotone input to a logit has a product of weights of the required
// sign. A unit of sign -1 followed by a non-positive weight is the concave
// unit of constrained monotonic networks (-ReLU(-x) of a rising input), a
// unit of sign +1 with a non-negative weight the convex one: together
// they approximate any monotone function, which units of one sign (only
// convex functions) cannot. Free units keep the free inputs' interactions
// unconstrained. The scorer and the explanations need nothing new: the
// network is an ordinary ReLU network, and Validate checks every weight
// when a model is loaded.

// RiskDirection is the declared effect of a higher value of an input on
// the risk.
type RiskDirection string

// Risk directions.
const (
	// IncreasesRisk: a higher value never lowers the risk.
	IncreasesRisk RiskDirection = "increases_risk"
	// DecreasesRisk: a higher value never raises the risk.
	DecreasesRisk RiskDirection = "decreases_risk"
	// NoDirection: unconstrained. The empty direction means the same.
	NoDirection RiskDirection = "none"
)

// Monotone reports whether d constrains the model.
func (d RiskDirection) Monotone() bool { return d == IncreasesRisk || d == DecreasesRisk }

// Sign is +1 for IncreasesRisk, -1 for DecreasesRisk and 0 otherwise.
func (d RiskDirection) Sign() int8 {
	switch d {
	case IncreasesRisk:
		return 1
	case DecreasesRisk:
		return -1
	}
	return 0
}

// valid reports whether d is a known direction or empty.
func (d RiskDirection) valid() bool { return d == "" || d == NoDirection || d.Monotone() }

// Monotone reports whether any feature of a has a direction.
func (a *Artifact) Monotone() bool {
	for i := range a.Features {
		if a.Features[i].Direction.Monotone() {
			return true
		}
	}
	return false
}

// OutputSign is the sign of the logits of a model of kind k in risk
// terms: +1 for behaviour and onboarding models, whose logits are the
// hazards of falling behind, -1 for invoice models, whose logits are the
// hazards of being paid.
func (k Kind) OutputSign() int8 {
	if k == Invoice {
		return -1
	}
	return 1
}

// InputSigns returns the sign of every encoded input of fs: the
// direction's sign for the value input of a monotone feature, its
// opposite for its zero indicator (1 at zero, the lowest value: it falls
// as the value rises), and 0 for NULL indicators, categories and the
// inputs of features without a direction.
func InputSigns(fs []Feature) []int8 {
	s := make([]int8, 0, EncodedWidth(fs))
	for i := range fs {
		f := &fs[i]
		if f.Type == Categorical {
			s = append(s, make([]int8, len(f.Categories))...)
			continue
		}
		d := f.Direction.Sign()
		s = append(s, d)
		if f.NullIndicator {
			s = append(s, 0)
		}
		if f.ZeroIndicator {
			s = append(s, -d)
		}
	}
	return s
}

// validateMonotone checks the direction and the encoding of numeric
// feature i: a monotone feature's zero may not encode like NULL (NULL has
// no place in the order), and its zero indicator needs values that are
// never negative (0 must be the lowest value).
func (f *Feature) validateMonotone(i int) error {
	if !f.Direction.valid() {
		return invalid("features[%d] (%s).direction %q: want increases_risk, decreases_risk or none", i, f.Name, f.Direction)
	}
	for _, v := range []struct {
		name string
		p    *float64
	}{{"baseline", f.Baseline}, {"floor", f.Floor}, {"ceiling", f.Ceiling}} {
		if v.p != nil && (math.IsNaN(*v.p) || math.IsInf(*v.p, 0)) {
			return invalid("features[%d] (%s).%s = %v: want a finite number", i, f.Name, v.name, *v.p)
		}
	}
	if !f.Direction.Monotone() {
		return nil
	}
	if f.ZeroAsNull {
		return invalid("features[%d] (%s): a monotone feature cannot encode zero like NULL (zero_as_null); use zero_indicator", i, f.Name)
	}
	return nil
}

// validateNullAs checks NullAs: only on a monotone numeric feature, with
// the bound it names, and no NULL indicator (NULL then has a place in the
// order).
func (f *Feature) validateNullAs(i int) error {
	switch {
	case f.NullAs == "":
		return nil
	case f.NullAs != NullAsCeiling && f.NullAs != NullAsFloor:
		return invalid("features[%d] (%s).null_as %q: want ceiling or floor", i, f.Name, f.NullAs)
	case f.Type != Numeric || !f.Direction.Monotone():
		return invalid("features[%d] (%s).null_as: only a monotone numeric feature encodes NULL at a bound", i, f.Name)
	case f.NullIndicator || f.ZeroAsNull:
		return invalid("features[%d] (%s).null_as: NULL encoded at a bound takes no NULL indicator and no zero_as_null", i, f.Name)
	case f.NullAs == NullAsCeiling && f.Ceiling == nil, f.NullAs == NullAsFloor && f.Floor == nil:
		return invalid("features[%d] (%s).null_as %q: the %s is missing", i, f.Name, f.NullAs, f.NullAs)
	}
	return nil
}

// validateSigns checks the monotone construction: when a has a monotone
// feature, every layer records the signs of its units, the output layer's
// are the kind's OutputSign, and every weight from an input or unit of sign a to
// a unit of sign b is zero or of the sign of a*b (zero when b is 0).
func (a *Artifact) validateSigns() error {
	monotone := a.Monotone()
	in := InputSigns(a.Features)
	for l := range a.Layers {
		ly := &a.Layers[l]
		if len(ly.Signs) == 0 {
			if monotone {
				return invalid("layers[%d].signs: missing (a model with monotone features records the sign of every unit)", l)
			}
			in = nil
			continue
		}
		if len(ly.Signs) != ly.Out {
			return invalid("layers[%d].signs has %d values: want out = %d", l, len(ly.Signs), ly.Out)
		}
		for j, s := range ly.Signs {
			if s < -1 || s > 1 {
				return invalid("layers[%d].signs[%d] = %d: want -1, 0 or 1", l, j, s)
			}
			if l == len(a.Layers)-1 && s != a.Kind.OutputSign() {
				return invalid("layers[%d].signs[%d] = %d: the logits of a %s model have sign %d", l, j, s, a.Kind, a.Kind.OutputSign())
			}
		}
		if in == nil {
			return invalid("layers[%d].signs: present while layers[%d] has none", l, l-1)
		}
		for i, si := range in {
			if si == 0 {
				continue
			}
			row := ly.W[i*ly.Out : (i+1)*ly.Out]
			for j, w := range row {
				if w == 0 {
					continue
				}
				if sj := ly.Signs[j]; sj == 0 || (w > 0) != (si*sj > 0) {
					return invalid("layers[%d].w[%d] = %v: from an input of sign %d to a unit of sign %d, breaks the monotone construction", l, i*ly.Out+j, w, si, sj)
				}
			}
		}
		in = ly.Signs
	}
	return nil
}
