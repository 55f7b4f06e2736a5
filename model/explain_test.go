package model

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// net builds a small behaviour network: 2 numeric inputs (one with a NULL
// indicator) and a categorical one, a hidden ReLU layer and 5 intervals.
func testArtifact() *Artifact {
	grid := []float64{0, 30, 60, 90, 180, 365}
	fs := []Feature{
		{Name: "late_share_365d", Type: Numeric, Mean: 0.2, Std: 0.3, NullIndicator: true},
		{Name: "tenure_days", Type: Numeric, Mean: 400, Std: 200},
		{Name: "channel", Type: Categorical, Categories: []string{"offline", "online"}},
	}
	in := EncodedWidth(fs)
	w1 := []float32{0.9, -0.4, 0.3, 0.5, -0.7, 0.2, 0.6, 0.1, -0.3, 0.4, 0.2, -0.5, 0.3, 0.3, 0.1}
	w2 := make([]float32, 3*5)
	for i := range w2 {
		w2[i] = float32(i%3)*0.3 - 0.2
	}
	return &Artifact{Kind: Behaviour, Features: fs, Grid: grid, BandThresholds: [4]float64{.1, .2, .3, .4},
		Layers: []Layer{{In: in, Out: 3, W: w1[:in*3], B: []float32{0.1, -0.1, 0.05}, Activation: ReLU},
			{In: 3, Out: 5, W: w2, B: []float32{-3, -3, -2.5, -2, -2}, Activation: Identity}},
		Reference: []float32{0.1, 0.2, -0.3, 0.5, 0.5}}
}

func TestExplainCompleteness(t *testing.T) {
	a := testArtifact()
	s, err := NewScorer(a)
	if err != nil {
		t.Fatal(err)
	}
	rows := []struct {
		num []float64
		cat []string
	}{
		{[]float64{0.9, 30, 0}, []string{"", "", "offline"}},
		{[]float64{math.NaN(), 1200, 0}, []string{"", "", "online"}},
		{[]float64{0, 400, 0}, []string{"", "", "unknown"}},
	}
	for _, r := range rows {
		var p, pr Prediction
		s.Predict(r.num, r.cat, &p)
		s.PredictEncoded(a.Reference, &pr)
		at := s.Explain(r.num, r.cat, 0, nil)
		var sum float64
		for _, x := range at {
			sum += x.Weight
		}
		if math.Abs(sum-(p.Risk90-pr.Risk90)) > 1e-3 {
			t.Errorf("attributions sum to %v, want risk(x)-risk(ref) = %v", sum, p.Risk90-pr.Risk90)
		}
		if len(at) != 3 || math.Abs(at[0].Weight) < math.Abs(at[2].Weight) {
			t.Errorf("not sorted by |weight|: %+v", at)
		}
		if top := s.Explain(r.num, r.cat, 2, nil); len(top) != 2 {
			t.Errorf("top 2 gave %d", len(top))
		}
	}
}

func TestReasonTexts(t *testing.T) {
	tests := []struct {
		a        Attribution
		lang     string
		code, tx string
	}{
		{Attribution{Feature: "dd_insufficient_funds_365d", Value: 3}, "en", "DD_INSUFFICIENT_FUNDS", "3 direct debits failed for insufficient funds in the last year"},
		{Attribution{Feature: "dd_insufficient_funds_365d", Value: 3}, "nl", "DD_INSUFFICIENT_FUNDS", "3 incasso's mislukt wegens onvoldoende saldo in het afgelopen jaar"},
		{Attribution{Feature: "late_share_365d", Value: 0.25}, "en", "LATE_SHARE", "25% of last year's invoices paid late"},
		{Attribution{Feature: "late_share_365d", Value: math.NaN()}, "nl", "LATE_SHARE", "geen facturen in het afgelopen jaar"},
		{Attribution{Feature: "payment_method", Category: "bank_transfer"}, "en", "PAYMENT_METHOD", "pays by bank transfer"},
		{Attribution{Feature: "payment_method", Category: "bank_transfer"}, "nl", "PAYMENT_METHOD", "betaalt via overboeking"},
		{Attribution{Feature: "payment_day_mean_90d", Value: -3.5}, "en", "PAYMENT_DAY_RECENT", "paid on average 3.5 days before the due date in the last 90 days"},
		{Attribution{Feature: "payment_day_mean_365d", Value: 12}, "nl", "PAYMENT_DAY", "in het afgelopen jaar gemiddeld 12 dagen na de vervaldatum betaald"},
		{Attribution{Feature: "reminder_stage_30d", Value: 3}, "en", "DUNNING_STAGE", "dunning stage in the last 30 days: final notice"},
		{Attribution{Feature: "days_since_last_address_change", Value: math.NaN()}, "en", "MOVED_RECENTLY", "no address change known"},
		{Attribution{Feature: "last_dd_failure_reason", Category: "AM04"}, "nl", "LAST_DD_FAILURE", "laatste mislukte incasso: reden AM04"},
		{Attribution{Feature: "last_dd_failure_reason", Value: math.NaN()}, "en", "LAST_DD_FAILURE", "no failed direct debit"},
		{Attribution{Feature: "shoe_size", Value: 44}, "fr", "OTHER_SHOE_SIZE", "shoe_size = 44"},
	}
	for _, tt := range tests {
		code, tx := Reason(tt.a, tt.lang)
		if code != tt.code || tx != tt.tx {
			t.Errorf("Reason(%+v, %s) = %q, %q; want %q, %q", tt.a, tt.lang, code, tx, tt.code, tt.tx)
		}
	}
	if Direction(Attribution{Weight: 0.1}) != "increases_risk" || Direction(Attribution{Weight: -0.1}) != "decreases_risk" {
		t.Error("direction")
	}
}

// randomArtifact returns a behaviour or invoice network with random weights
// and hidden layers of the given sizes.
func randomArtifact(rng *rand.Rand, kind Kind, hidden []int) *Artifact {
	a := testArtifact()
	a.Kind = kind
	if kind == Invoice {
		a.Grid = []float64{0, 0, 7, 30, 60, 90, 180, 365}
	}
	in := EncodedWidth(a.Features)
	sizes := append(append([]int{in}, hidden...), len(a.Grid)-1)
	a.Layers = nil
	for l := 0; l+1 < len(sizes); l++ {
		ly := Layer{In: sizes[l], Out: sizes[l+1], W: make([]float32, sizes[l]*sizes[l+1]), B: make([]float32, sizes[l+1]), Activation: ReLU}
		for i := range ly.W {
			ly.W[i] = float32(rng.NormFloat64())
		}
		for i := range ly.B {
			ly.B[i] = float32(rng.NormFloat64() * 0.5)
		}
		if l+2 == len(sizes) {
			ly.Activation = Identity
			for i := range ly.B {
				ly.B[i] -= 2
			}
		}
		a.Layers = append(a.Layers, ly)
	}
	a.Reference = make([]float32, in)
	for i := range a.Reference {
		a.Reference[i] = float32(rng.NormFloat64())
	}
	return a
}

// TestIntegratedGradientsMatchReference holds the fast integrated gradients
// equal to the plain computation for networks of every depth.
func TestIntegratedGradientsMatchReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, kind := range []Kind{Behaviour, Invoice} {
		for _, hidden := range [][]int{nil, {7}, {9, 5}, {6, 5, 4}} {
			{
				t.Run(fmt.Sprintf("%s/%v", kind, hidden), func(t *testing.T) {
					a := randomArtifact(rng, kind, hidden)
					s, err := NewScorer(a)
					if err != nil {
						t.Fatal(err)
					}
					sc := s.newIGScratch() // reused across rows, as the pool does
					for range 20 {
						num := []float64{rng.Float64(), rng.Float64() * 2000, 0}
						if rng.IntN(4) == 0 {
							num[0] = math.NaN()
						}
						cat := []string{"", "", []string{"online", "offline", "other"}[rng.IntN(3)]}
						x := make([]float32, s.Width())
						s.Encode(num, cat, x)
						got, want := s.integratedGradients(x, sc), referenceIG(s, x)
						for j := range want {
							if math.Abs(got[j]-want[j]) > 1e-9*(1+math.Abs(want[j])) {
								t.Fatalf("input %d: %v, reference %v", j, got[j], want[j])
							}
						}
					}
				})
			}
		}
	}
}

// BenchmarkIntegratedGradients compares the fast integrated gradients with
// the plain computation on a random 64-32 network.
func BenchmarkIntegratedGradients(b *testing.B) {
	rng := rand.New(rand.NewPCG(3, 4))
	a := randomArtifact(rng, Behaviour, []int{64, 32})
	s, err := NewScorer(a)
	if err != nil {
		b.Fatal(err)
	}
	num, cat := []float64{0.4, 800, 0}, []string{"", "", "online"}
	x := make([]float32, s.Width())
	s.Encode(num, cat, x)
	b.Run("fast", func(b *testing.B) {
		sc := s.newIGScratch()
		for b.Loop() {
			s.integratedGradients(x, sc)
		}
	})
	b.Run("reference", func(b *testing.B) {
		for b.Loop() {
			referenceIG(s, x)
		}
	})
}

// referenceIG is integrated gradients computed the plain way: the whole
// network forward and backward at every midpoint. integratedGradients must
// give the same numbers.
func referenceIG(s *Scorer, x []float32) []float64 {
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
