package model

import (
	"math"
	"os"
	"testing"
)

// benchScorer is the scorer of the model file named by DUEWISE_BENCH_MODEL
// (e.g. a behaviour model trained by `make run`), or of the small test
// network when it is not set, and a row of its features (all numeric
// inputs at their training mean plus one standard deviation).
func benchScorer(b *testing.B) (*Scorer, []float64, []string) {
	b.Helper()
	a := testArtifact()
	if f := os.Getenv("DUEWISE_BENCH_MODEL"); f != "" {
		var err error
		if a, err = Read(f); err != nil {
			b.Fatal(err)
		}
	}
	s, err := NewScorer(a)
	if err != nil {
		b.Fatal(err)
	}
	num := make([]float64, len(a.Features))
	cat := make([]string, len(a.Features))
	for i, f := range a.Features {
		if f.Type == Categorical {
			cat[i] = f.Categories[0]
		} else {
			num[i] = f.Mean + f.Std
		}
	}
	num[0] = math.NaN()
	b.Logf("%d features, encoded width %d, %d layers", len(a.Features), s.Width(), len(a.Layers))
	return s, num, cat
}

// BenchmarkPredict is one row through the plain-Go scorer.
func BenchmarkPredict(b *testing.B) {
	s, num, cat := benchScorer(b)
	var p Prediction
	b.ReportAllocs()
	for b.Loop() {
		s.Predict(num, cat, &p)
	}
}

// BenchmarkExplain is one row's integrated-gradient attributions (top 3).
func BenchmarkExplain(b *testing.B) {
	s, num, cat := benchScorer(b)
	dst := make([]Attribution, 0, 64)
	b.ReportAllocs()
	for b.Loop() {
		dst = s.Explain(num, cat, 3, dst)
	}
}

func BenchmarkPredictExplain(b *testing.B) {
	s, num, cat := benchScorer(b)
	dst := make([]Attribution, 0, 64)
	var p Prediction
	b.ReportAllocs()
	for b.Loop() {
		dst = s.PredictExplain(num, cat, &p, 3, dst)
	}
}
