package model

import (
	"math"
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
