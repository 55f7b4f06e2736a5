//go:build !race

// The race detector makes sync.Pool drop items on purpose, so allocation
// counts are only meaningful without it.

package model

import "testing"

// TestPredictDoesNotAllocate: scoring a row allocates nothing once the
// caller's Prediction has grown.
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
	if n := testing.AllocsPerRun(1000, func() {
		s.Predict(num, cat, &p)
		s.Encode(num, cat, x)
		s.Logits(x, logits)
		s.PredictEncoded(x, &p)
	}); n != 0 {
		t.Fatalf("%v allocations per row, want 0", n)
	}
}
