package model

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/duewise/duewise/features"
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
		// far outside anything a model is trained on: the risk saturates
		// within a sliver of the path, which igSteps steps cannot sample;
		// complete restores the sum (and keeps every weight within 1)
		{[]float64{40, 1e6, 0}, []string{"", "", "offline"}},
		{[]float64{-40, 1e6, 0}, []string{"", "", "offline"}},
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
		for _, x := range at {
			if math.Abs(x.Weight) > 1 {
				t.Errorf("%s: weight %v outside [-1, 1]", x.Feature, x.Weight)
			}
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
		// one thing is singular, none is "no" / "geen"
		{Attribution{Feature: "open_overdue_count", Value: 1}, "en", "OPEN_OVERDUE", "1 overdue invoice open"},
		{Attribution{Feature: "open_overdue_count", Value: 1}, "nl", "OPEN_OVERDUE", "1 vervallen factuur openstaand"},
		{Attribution{Feature: "open_overdue_count", Value: 2}, "en", "OPEN_OVERDUE", "2 overdue invoices open"},
		{Attribution{Feature: "invoices_30dpd_365d", Value: 0}, "en", "INVOICES_30_DAYS_LATE", "no invoices 30 or more days late in the last year"},
		{Attribution{Feature: "final_notices_365d", Value: 0}, "nl", "FINAL_NOTICES", "geen aanmaningen (veertiendagenbrief) in het afgelopen jaar"},
		{Attribution{Feature: "final_notices_365d", Value: 1}, "en", "FINAL_NOTICES", "1 final notice (14-day letter) in the last year"},
		{Attribution{Feature: "dd_failed_90d", Value: 1}, "nl", "DD_FAILED", "1 incasso mislukt in de afgelopen 90 dagen"},
		{Attribution{Feature: "oldest_overdue_days", Value: 1}, "en", "OLDEST_OVERDUE", "oldest open invoice 1 day past due"},
		{Attribution{Feature: "tenure_days", Value: 0}, "nl", "TENURE", "0 dagen klant"},
		{Attribution{Feature: "late_share_365d", Value: 0}, "en", "LATE_SHARE", "0% of last year's invoices paid late"},
		{Attribution{Feature: "last_payment_day", Value: -1}, "en", "LAST_PAYMENT_DAY", "the latest invoice paid was paid 1 day before the due date"},
		{Attribution{Feature: "payment_day_mean_365d", Value: 1}, "nl", "PAYMENT_DAY", "in het afgelopen jaar gemiddeld 1 dag na de vervaldatum betaald"},
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
						got, want := s.integratedGradients(x, sc, nil), fracIG(s, x)
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

// TestPredictExplain holds PredictExplain to Predict and Explain: the
// same prediction, and attributions equal up to the float32 rounding of
// the first layer it shares with the prediction.
func TestPredictExplain(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, kind := range []Kind{Behaviour, Invoice} {
		for _, hidden := range [][]int{nil, {7}, {9, 5}, {6, 5, 4}} {
			t.Run(fmt.Sprintf("%s/%v", kind, hidden), func(t *testing.T) {
				s, err := NewScorer(randomArtifact(rng, kind, hidden))
				if err != nil {
					t.Fatal(err)
				}
				for range 20 {
					num := []float64{rng.Float64(), rng.Float64() * 2000, 0}
					cat := []string{"", "", []string{"online", "offline", "other"}[rng.IntN(3)]}
					var want, got Prediction
					s.Predict(num, cat, &want)
					wantAt := s.Explain(num, cat, 0, nil)
					gotAt := s.PredictExplain(num, cat, &got, 0, nil)
					if fmt.Sprint(got) != fmt.Sprint(want) {
						t.Fatalf("prediction %+v, Predict gives %+v", got, want)
					}
					weights := map[string]float64{}
					for _, a := range wantAt {
						weights[a.Feature] = a.Weight
					}
					for _, a := range gotAt {
						if w := weights[a.Feature]; math.Abs(a.Weight-w) > 1e-5*(1+math.Abs(w)) {
							t.Fatalf("%s: weight %v, Explain gives %v", a.Feature, a.Weight, w)
						}
					}
				}
			})
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
			s.integratedGradients(x, sc, nil)
		}
	})
	b.Run("reference", func(b *testing.B) {
		for b.Loop() {
			fracIG(s, x)
		}
	})
}

// fracIG is integratedGradients computed the plain way: at every step the
// whole network runs forward at the step's start, midpoint and end, and
// backward from the midpoint's logits, each ReLU's derivative being the
// fraction of the step during which the unit is active (its
// pre-activation taken as linear on each half step).
// integratedGradients must give the same numbers.
func fracIG(s *Scorer, x []float32) []float64 { return directIG(s, x, igSteps, true) }

// directIG is integrated gradients over steps steps run forward and
// backward through the network at every step: with fractional ReLU
// derivatives as integratedGradients (frac), or the plain midpoint rule,
// which converges to the exact integral as steps grows.
func directIG(s *Scorer, x []float32, steps int, frac bool) []float64 {
	S := steps
	ref := s.ref
	n := len(s.a.Layers)
	// forward returns the pre-activations of every layer at alpha.
	forward := func(alpha float64) [][]float64 {
		in := make([]float64, s.width)
		for j := range x {
			in[j] = float64(ref[j]) + alpha*float64(x[j]-ref[j])
		}
		pre := make([][]float64, n)
		for l := range s.a.Layers {
			ly := &s.a.Layers[l]
			z := make([]float64, ly.Out)
			for o := range z {
				z[o] = float64(ly.B[o])
				for i, v := range in {
					z[o] += v * float64(ly.W[i*ly.Out+o])
				}
			}
			pre[l] = z
			in = make([]float64, ly.Out)
			for o, v := range z {
				if ly.Activation != ReLU || v > 0 {
					in[o] = v
				}
			}
		}
		return pre
	}
	gsum := make([]float64, s.width)
	for k := range S {
		mid := forward(float64(2*k+1) / float64(2*S))
		lo, hi := mid, mid
		if frac {
			lo, hi = forward(float64(2*k)/float64(2*S)), forward(float64(2*k+2)/float64(2*S))
		}
		logits := mid[n-1]
		surv := 1.0
		for j := 0; j < s.risk; j++ {
			surv *= 1 / (1 + math.Exp(logits[j]))
		}
		d := make([]float64, len(logits))
		for j := 0; j < s.risk; j++ {
			h := 1 / (1 + math.Exp(-logits[j]))
			d[j] = surv * h
			if s.invoice {
				d[j] = -d[j]
			}
		}
		for l := n - 1; l >= 0; l-- {
			ly := &s.a.Layers[l]
			if ly.Activation == ReLU {
				for o := range d {
					d[o] *= activeFrac(lo[l][o], mid[l][o], hi[l][o])
				}
			}
			p := make([]float64, ly.In)
			for i := range p {
				for o, w := range ly.W[i*ly.Out : (i+1)*ly.Out] {
					p[i] += float64(w) * d[o]
				}
			}
			d = p
		}
		for j := range gsum {
			gsum[j] += d[j]
		}
	}
	for j := range gsum {
		gsum[j] *= float64(x[j]-ref[j]) / float64(S)
	}
	return gsum
}

// TestExplainAccuracy: with fractional ReLU derivatives, igSteps steps
// come closer to the exact integral (1,024 plain steps) than four times
// as many plain midpoint steps, on a random 32-16 network with weights of
// a trained network's scale. (With much larger weights the risk curves
// along the path get so sharp that the midpoint rule's error on the
// smooth part dominates, and only more steps help.)
func TestExplainAccuracy(t *testing.T) {
	rng := rand.New(rand.NewPCG(12, 13))
	for _, kind := range []Kind{Behaviour, Invoice} {
		a := randomArtifact(rng, kind, []int{32, 16})
		for l := range a.Layers {
			// Weights of a trained network's scale (Glorot).
			for i := range a.Layers[l].W {
				a.Layers[l].W[i] *= float32(math.Sqrt(2 / float64(a.Layers[l].In+a.Layers[l].Out)))
			}
		}
		s, err := NewScorer(a)
		if err != nil {
			t.Fatal(err)
		}
		sc := s.newIGScratch()
		var errFast, errPlain, errSame float64
		for range 100 {
			num := []float64{rng.Float64(), rng.Float64() * 2000, 0}
			cat := []string{"", "", []string{"online", "offline", "other"}[rng.IntN(3)]}
			x := make([]float32, s.Width())
			s.Encode(num, cat, x)
			exact := directIG(s, x, 1024, false)
			errFast += relL1(s.integratedGradients(x, sc, nil), exact)
			errPlain += relL1(directIG(s, x, 4*igSteps, false), exact)
			errSame += relL1(directIG(s, x, igSteps, false), exact)
		}
		t.Logf("%s: mean relative L1 error %.5f with %d fractional steps, %.5f with %d plain steps, %.5f with %d", kind,
			errFast/100, igSteps, errSame/100, igSteps, errPlain/100, 4*igSteps)
		if errFast >= errPlain || errFast >= errSame {
			t.Errorf("%s: %d fractional steps (error %.5f) not closer to the integral than %d plain ones (%.5f)", kind, igSteps, errFast/100, 4*igSteps, errPlain/100)
		}
	}
}

// relL1 is sum |got - want| / sum |want|.
func relL1(got, want []float64) float64 {
	var num, den float64
	for j := range want {
		num += math.Abs(got[j] - want[j])
		den += math.Abs(want[j])
	}
	return num / den
}

// TestCountsHaveSingularTexts: every count and days signal of the catalog
// reads well for a value of 1 in both languages ("1 overdue invoice open",
// not "1 overdue invoices open"): it has a singular text, and the text for
// 2 differs from it.
func TestCountsHaveSingularTexts(t *testing.T) {
	for _, sig := range append(features.Catalog(), features.InvoiceSignals()...) {
		if sig.Unit != features.UnitCount && sig.Unit != features.UnitDays {
			continue
		}
		if strings.HasPrefix(sig.Name, "payment_day_mean_") || sig.Name == "last_payment_day" {
			continue // "1 day before/after", spelled by formatValue
		}
		for _, lang := range []string{"en", "nl"} {
			_, one := Reason(Attribution{Feature: sig.Name, Value: 1}, lang)
			_, two := Reason(Attribution{Feature: sig.Name, Value: 2}, lang)
			if _, ok := reasonsOne[sig.Name]; !ok || one == strings.Replace(two, "2", "1", 1) {
				t.Errorf("%s (%s): value 1 reads %q (2: %q): add a singular text to reasonsOne", sig.Name, lang, one, two)
			}
		}
	}
}
