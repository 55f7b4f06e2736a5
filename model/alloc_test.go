//go:build !race

// The race detector makes sync.Pool drop items on purpose, so allocation
// counts are only meaningful without it.

package model

import "testing"

// TestPredictDoesNotAllocate: scoring and explaining a row allocates
// nothing once the caller's Prediction and attributions have grown.
func TestPredictDoesNotAllocate(t *testing.T) {
	s, err := NewScorer(testArtifact())
	if err != nil {
		t.Fatal(err)
	}
	num, cat := []float64{0.4, 800, 0}, []string{"", "", "online"}
	var p Prediction
	s.Predict(num, cat, &p)
	x := make([]float32, s.Width())
	logits := make([]float32, s.Intervals())
	dst := make([]Attribution, 0, 3)
	if n := testing.AllocsPerRun(1000, func() {
		s.Predict(num, cat, &p)
		s.Encode(num, cat, x)
		s.Logits(x, logits)
		s.PredictEncoded(x, &p)
		dst = s.Explain(num, cat, 2, dst)
		dst = s.PredictExplain(num, cat, &p, 2, dst)
	}); n != 0 {
		t.Fatalf("%v allocations per row, want 0", n)
	}
}
