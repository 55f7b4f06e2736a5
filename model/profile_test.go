package model

import (
	"math"
	"testing"
)

func TestHistogramBins(t *testing.T) {
	xs := []float64{0, 0, 0, 0, 0, 0, 1, 2, 3, 10, math.NaN(), math.NaN()}
	h := NewNumericHistogram("x", xs)
	// Deciles of the ten known values: 0 (x6), 1, 2, 3 and 10: distinct
	// edges 0, 1, 2, 3, 10.
	if want := []float64{0, 1, 2, 3, 10}; !equal(h.Edges, want) {
		t.Fatalf("edges %v, want %v", h.Edges, want)
	}
	for _, c := range []struct {
		x   float64
		bin int
	}{{-1, 0}, {0, 0}, {0.5, 1}, {1, 1}, {2.5, 3}, {10, 4}, {11, 5}, {math.NaN(), 6}} {
		if got := h.Bin(c.x); got != c.bin {
			t.Errorf("Bin(%v) = %d, want %d", c.x, got, c.bin)
		}
	}
	// Shares: 6 zeros, 1, 2, 3, 10 one each, nothing above, 2 missing.
	want := []float64{6. / 12, 1. / 12, 1. / 12, 1. / 12, 1. / 12, 0, 2. / 12}
	for i := range want {
		if math.Abs(h.Shares[i]-want[i]) > 1e-12 {
			t.Fatalf("shares %v, want %v", h.Shares, want)
		}
	}
	// A value stored as float32 (the online table) lands where its float64
	// original does.
	g := NewNumericHistogram("share", []float64{0.1, 0.1, 0.2, 0.3})
	if g.Bin(float64(float32(0.1))) != g.Bin(0.1) {
		t.Errorf("0.1 as float32 falls into bin %d, as float64 into %d", g.Bin(float64(float32(0.1))), g.Bin(0.1))
	}
	c := NewCategoricalHistogram("segment", []string{"energy", "telecom"}, []string{"energy", "telecom", "telecom", "water", ""})
	if c.BinCategory("water") != 2 || c.BinCategory("") != 3 || c.BinCategory("telecom") != 1 {
		t.Errorf("categorical bins: water %d, empty %d, telecom %d", c.BinCategory("water"), c.BinCategory(""), c.BinCategory("telecom"))
	}
	if want := []float64{0.2, 0.4, 0.2, 0.2}; !equal(c.Shares, want) {
		t.Errorf("categorical shares %v, want %v", c.Shares, want)
	}
}

func TestPSI(t *testing.T) {
	h := Histogram{Type: Numeric, Edges: []float64{1}, Shares: []float64{0.5, 0.5, 0}}
	// (0.3-0.5) ln(0.3/0.5) + (0.7-0.5) ln(0.7/0.5); the empty missing bin
	// counts 1e-4 on both sides.
	want := -0.2*math.Log(0.6) + 0.2*math.Log(1.4)
	if got := h.PSI([]float64{30, 70, 0}); math.Abs(got-want) > 1e-12 {
		t.Errorf("PSI = %v, want %v", got, want)
	}
	if got := h.PSI([]float64{5, 5, 0}); got != 0 {
		t.Errorf("PSI of the same distribution = %v, want 0", got)
	}
	// A bin empty in training: counted as 1e-4.
	want = (0.5-0.5)*0 + (0.4-0.5)*math.Log(0.4/0.5) + (0.1-1e-4)*math.Log(0.1/1e-4)
	if got := h.PSI([]float64{5, 4, 1}); math.Abs(got-want) > 1e-12 {
		t.Errorf("PSI with a new bin = %v, want %v", got, want)
	}
	if !math.IsNaN(h.PSI([]float64{0, 0, 0})) || !math.IsNaN(h.PSI([]float64{1})) {
		t.Error("PSI of no rows or of the wrong bins is not NaN")
	}
}

func TestProfileRoundTrip(t *testing.T) {
	a := testArtifact()
	p := &Profile{Rows: 3, Score: NewNumericHistogram("risk_90d", []float64{0.1, 0.2, 0.3})}
	for _, f := range a.Features {
		if f.Type == Categorical {
			p.Inputs = append(p.Inputs, NewCategoricalHistogram(f.Name, f.Categories, []string{"", "", ""}))
		} else {
			p.Inputs = append(p.Inputs, NewNumericHistogram(f.Name, []float64{1, 2, 3}))
		}
	}
	a.Params = map[string]any{ProfileParam: p}
	b, err := Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	back, err := Unmarshal("m", b)
	if err != nil {
		t.Fatal(err)
	}
	got, ok := ProfileOf(back)
	if !ok {
		t.Fatal("the profile did not survive the file")
	}
	if got.Rows != 3 || len(got.Inputs) != len(a.Features) || !equal(got.Score.Edges, p.Score.Edges) {
		t.Errorf("profile after the file: %+v", got)
	}
	back.Params[ProfileParam] = map[string]any{"rows": 1, "inputs": []any{}}
	if _, ok := ProfileOf(back); ok {
		t.Error("a profile without the model's inputs was accepted")
	}
}

func equal(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Abs(a[i]-b[i]) > 1e-12 {
			return false
		}
	}
	return true
}
