package model

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// monotoneArtifact returns a network of kind with random weights that
// follow the monotone construction: late_share_365d rises with risk (NULL
// and zero indicators), tenure_days falls, channel and x_free are free.
func monotoneArtifact(rng *rand.Rand, kind Kind, hidden []int) *Artifact {
	base := func(v float64) *float64 { return &v }
	a := &Artifact{Kind: kind, Grid: []float64{0, 30, 60, 90, 180, 365}, BandThresholds: [4]float64{.1, .2, .3, .4}}
	if kind == Invoice {
		a.Grid = []float64{0, 0, 7, 30, 60, 90, 180, 365}
	}
	a.Features = []Feature{
		{Name: "late_share_365d", Type: Numeric, Mean: 0.4, Std: 0.2, NullIndicator: true, ZeroIndicator: true, Direction: IncreasesRisk, Baseline: base(0.12)},
		{Name: "tenure_days", Type: Numeric, Mean: 6, Std: 1, Log: true, Direction: DecreasesRisk, Baseline: base(400)},
		{Name: "x_free", Type: Numeric, Mean: 0, Std: 1, NullIndicator: true},
		{Name: "channel", Type: Categorical, Categories: []string{"offline", "online"}},
	}
	in := InputSigns(a.Features)
	sizes := append(append([]int{len(in)}, hidden...), len(a.Grid)-1)
	for l := 0; l+1 < len(sizes); l++ {
		ly := Layer{In: sizes[l], Out: sizes[l+1], W: make([]float32, sizes[l]*sizes[l+1]), B: make([]float32, sizes[l+1]), Activation: ReLU, Signs: make([]int8, sizes[l+1])}
		last := l+2 == len(sizes)
		for j := range ly.Signs {
			switch {
			case last:
				ly.Signs[j] = kind.OutputSign()
			default:
				ly.Signs[j] = int8(j%3) - 1 // -1, 0, +1
			}
		}
		for i, si := range in {
			for j, sj := range ly.Signs {
				w := rng.NormFloat64()
				switch {
				case si != 0 && sj == 0:
					w = 0
				case si != 0:
					w = float64(si*sj) * math.Abs(w)
				}
				ly.W[i*ly.Out+j] = float32(w)
			}
		}
		for j := range ly.B {
			ly.B[j] = float32(rng.NormFloat64() * 0.5)
		}
		if last {
			ly.Activation = Identity
			for j := range ly.B {
				ly.B[j] -= 2
			}
		}
		a.Layers = append(a.Layers, ly)
		in = ly.Signs
	}
	a.Reference = make([]float32, EncodedWidth(a.Features))
	off := 0
	for i := range a.Features {
		f := &a.Features[i]
		if f.Baseline != nil {
			EncodeNumeric(f, *f.Baseline, a.Reference[off:])
		}
		off += f.width()
	}
	return a
}

// TestMonotoneValidation: a network that follows the construction is
// valid; one weight of the wrong sign, a weight from a monotone input into
// a free unit, missing or wrong signs, and a monotone feature that encodes
// zero like NULL are refused with the field path.
func TestMonotoneValidation(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	good := func() *Artifact { return monotoneArtifact(rng, Behaviour, []int{6, 6}) }
	if err := good().Validate(); err != nil {
		t.Fatalf("valid monotone network refused: %v", err)
	}
	// The first layer's row 0 is the value input of late_share_365d
	// (sign +1); unit 0 has sign -1, unit 1 sign 0, unit 2 sign +1.
	tests := []struct {
		name   string
		break_ func(a *Artifact)
		want   string
	}{
		{"wrong sign", func(a *Artifact) { a.Layers[0].W[2] = -0.5 }, "layers[0].w[2]"},
		{"monotone input into a free unit", func(a *Artifact) { a.Layers[0].W[1] = 0.5 }, "layers[0].w[1]"},
		{"wrong sign in a later layer", func(a *Artifact) { a.Layers[1].W[2*a.Layers[1].Out+2] = -1 }, "layers[1].w[14]"},
		{"wrong sign of a logit", func(a *Artifact) {
			last := &a.Layers[2]
			last.W[2*last.Out] = -float32(math.Abs(float64(last.W[2*last.Out]))) - 0.1
		}, "layers[2].w[10]"},
		{"signs missing", func(a *Artifact) { a.Layers[1].Signs = nil }, "layers[1].signs: missing"},
		{"logit sign", func(a *Artifact) { a.Layers[2].Signs[0] = -1 }, "layers[2].signs[0]"},
		{"zero like NULL", func(a *Artifact) { a.Features[0].ZeroAsNull = true }, "zero_as_null"},
		{"unknown direction", func(a *Artifact) { a.Features[1].Direction = "up" }, "features[1] (tenure_days).direction"},
		{"categorical direction", func(a *Artifact) { a.Features[3].Direction = IncreasesRisk }, "features[3] (channel).direction"},
		{"NULL at a bound of a free feature", func(a *Artifact) { a.Features[2].NullAs = NullAsCeiling }, "features[2] (x_free).null_as: only a monotone"},
		{"NULL at a bound of a category", func(a *Artifact) { a.Features[3].NullAs = NullAsFloor }, "features[3] (channel).null_as: only a monotone"},
		{"NULL at a missing bound", func(a *Artifact) { a.Features[1].NullAs = NullAsCeiling }, "features[1] (tenure_days).null_as \"ceiling\": the ceiling is missing"},
		{"NULL at a bound and a NULL indicator", func(a *Artifact) { a.Features[0].NullAs = NullAsFloor }, "features[0] (late_share_365d).null_as: NULL encoded at a bound takes no NULL indicator"},
		{"unknown NULL bound", func(a *Artifact) { a.Features[1].NullAs = "middle" }, "want ceiling or floor"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := good()
			tt.break_(a)
			err := a.Validate()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Validate = %v; want an error naming %q", err, tt.want)
			}
		})
	}
}

// TestMonotoneNetworkIsMonotone: in random networks of every depth and
// kind built by the construction, raising late_share_365d (from NULL's
// neighbour 0 through the zero indicator, and within its range) never
// lowers any horizon's risk, raising tenure_days never raises it, whatever
// the free inputs; and the attributions of both agree with the side of
// their baseline. Removing the construction (one weight flipped, as in an
// unconstrained network) breaks it.
func TestMonotoneNetworkIsMonotone(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, kind := range []Kind{Behaviour, Invoice} {
		for _, hidden := range [][]int{nil, {8}, {8, 6}, {6, 6, 4}} {
			a := monotoneArtifact(rng, kind, hidden)
			s, err := NewScorer(a)
			if err != nil {
				t.Fatal(err)
			}
			if v := monotoneViolations(rng, s); v != 0 {
				t.Fatalf("%s %v: %d violations", kind, hidden, v)
			}
		}
	}
	// Without the construction the same test finds violations.
	a := monotoneArtifact(rng, Behaviour, []int{8, 6})
	for i := range a.Layers[0].W {
		a.Layers[0].W[i] = float32(rng.NormFloat64())
	}
	a.Layers[0].Signs, a.Layers[1].Signs, a.Layers[2].Signs = nil, nil, nil
	for i := range a.Features {
		a.Features[i].Direction = ""
	}
	s, err := NewScorer(a)
	if err != nil {
		t.Fatal(err)
	}
	if monotoneViolations(rng, s) == 0 {
		t.Fatal("an unconstrained network passed the monotonicity test: the test cannot fail")
	}
}

// monotoneViolations counts, over random rows, the steps of
// late_share_365d up and tenure_days up that move a horizon's risk
// against the direction by more than 1e-9, and the attributions of the
// two whose sign disagrees with the side of their baseline.
func monotoneViolations(rng *rand.Rand, s *Scorer) int {
	bad := 0
	var p, q Prediction
	channels := []string{"offline", "online", ""}
	dirs := []float64{1, -1}
	for range 300 {
		num := []float64{rng.Float64(), math.Exp(4 + 3*rng.Float64()), rng.NormFloat64() * 2, 0}
		if rng.IntN(4) == 0 {
			num[0] = 0
		}
		cat := []string{"", "", "", channels[rng.IntN(3)]}
		for f, d := range dirs {
			s.Predict(num, cat, &p)
			v := num[f]
			num[f] = v + rng.Float64()*[]float64{0.3, 500}[f]
			s.Predict(num, cat, &q)
			num[f] = v
			for h := range p.P {
				if d*(q.P[h]-p.P[h]) < -1e-9 {
					bad++
				}
			}
			if d*(q.Risk90-p.Risk90) < -1e-9 {
				bad++
			}
		}
		for _, at := range s.Explain(num, cat, 0, nil) {
			f := map[string]int{"late_share_365d": 0, "tenure_days": 1}
			i, ok := f[at.Feature]
			if !ok {
				continue
			}
			side := math.Copysign(1, num[i]-*s.a.Features[i].Baseline)
			if num[i] == *s.a.Features[i].Baseline {
				side = 0
			}
			if at.Weight*side*dirs[i] < -1e-12 {
				bad++
			}
		}
	}
	return bad
}
