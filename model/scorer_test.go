package model

import (
	"math"
	"math/rand/v2"
	"reflect"
	"sync"
	"testing"
)

// randomRow draws a raw row for testArtifact's features, NULLs and
// unknown categories included.
func randomRow(r *rand.Rand) ([]float64, []string) {
	num := []float64{r.Float64(), r.Float64() * 3000, 0}
	if r.IntN(5) == 0 {
		num[0] = math.NaN()
	}
	cat := []string{"", "", []string{"offline", "online", "", "unknown"}[r.IntN(4)]}
	return num, cat
}

// TestPredictHandComputed checks one prediction against values worked
// out by hand from the logits: h_j = sigmoid(l_j), S(g_{j+1}) = prod (1 -
// h_i), expected days = trapezoids of S.
func TestPredictHandComputed(t *testing.T) {
	a := &Artifact{Kind: Behaviour, Grid: []float64{0, 30, 60, 90, 180, 365}, BandThresholds: [4]float64{.1, .2, .3, .4},
		Features: []Feature{{Name: "x", Type: Numeric, Mean: 0, Std: 1}},
		Layers:   []Layer{{In: 1, Out: 5, W: []float32{0, 0, 0, 0, 0}, B: []float32{0, 0, 0, 0, 0}, Activation: Identity}}}
	s, err := NewScorer(a)
	if err != nil {
		t.Fatal(err)
	}
	var p Prediction
	s.Predict([]float64{1}, nil, &p)
	// Every hazard is 1/2: S = 1, 1/2, 1/4, 1/8, 1/16, 1/32.
	want := []float64{1, .5, .25, .125, .0625, .03125}
	for k, v := range want {
		if math.Abs(p.Survival[k]-v) > 1e-12 {
			t.Fatalf("S(%v) = %v, want %v", a.Grid[k], p.Survival[k], v)
		}
	}
	if !reflect.DeepEqual(p.P, [5]float64{.5, .75, .875, .9375, .96875}) {
		t.Fatalf("P = %v", p.P)
	}
	days := 30*(1+.5)/2 + 30*(.5+.25)/2 + 30*(.25+.125)/2 + 90*(.125+.0625)/2 + 185*(.0625+.03125)/2
	if math.Abs(p.ExpectedDays-days) > 1e-9 || p.Band != "E" || p.Risk90 != .875 {
		t.Fatalf("expected days %v (want %v), band %s, risk90 %v", p.ExpectedDays, days, p.Band, p.Risk90)
	}
	// The invoice reading of the same logits: risk is S(h), PLate = S(0).
	inv := *a
	inv.Kind, inv.Grid = Invoice, []float64{0, 0, 30, 60, 90, 180, 365}
	inv.Layers = []Layer{{In: 1, Out: 6, W: make([]float32, 6), B: make([]float32, 6), Activation: Identity}}
	si, err := NewScorer(&inv)
	if err != nil {
		t.Fatal(err)
	}
	si.Predict([]float64{1}, nil, &p)
	if p.PLate != .5 || !reflect.DeepEqual(p.P, [5]float64{.25, .125, .0625, .03125, .015625}) || p.Risk90 != .5 {
		t.Fatalf("invoice: PLate %v, P %v, Risk90 %v", p.PLate, p.P, p.Risk90)
	}
}

// TestHorizonsMonotone: for random weights and inputs, the horizon
// probabilities never decrease with the horizon (behaviour: P(behind
// within h) grows; invoice: P(unpaid after h) shrinks), and the survival
// curve never increases.
func TestHorizonsMonotone(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for trial := range 200 {
		a := testArtifact()
		for l := range a.Layers {
			for i := range a.Layers[l].W {
				a.Layers[l].W[i] = float32(r.NormFloat64() * 3)
			}
			for i := range a.Layers[l].B {
				a.Layers[l].B[i] = float32(r.NormFloat64() * 4)
			}
		}
		invoice := trial%2 == 1
		if invoice {
			a.Kind, a.Grid = Invoice, []float64{0, 0, 30, 60, 90, 180, 365}
			l := &a.Layers[1]
			l.Out, l.W, l.B = 6, append(l.W, float32(r.NormFloat64()), float32(r.NormFloat64()), float32(r.NormFloat64())), append(l.B, float32(r.NormFloat64()*4))
		}
		s, err := NewScorer(a)
		if err != nil {
			t.Fatal(err)
		}
		var p Prediction
		for range 20 {
			num, cat := randomRow(r)
			s.Predict(num, cat, &p)
			for k := 1; k < len(p.Survival); k++ {
				if p.Survival[k] > p.Survival[k-1] {
					t.Fatalf("survival rises: %v", p.Survival)
				}
			}
			for h := 1; h < 5; h++ {
				if invoice && p.P[h] > p.P[h-1] || !invoice && p.P[h] < p.P[h-1] {
					t.Fatalf("%s horizons not monotone: %v", a.Kind, p.P)
				}
			}
			if invoice && p.PLate < p.P[0] {
				t.Fatalf("PLate %v < P(unpaid after 30d) %v", p.PLate, p.P[0])
			}
			if !(p.ExpectedDays >= 0 && p.ExpectedDays <= MaxDays) {
				t.Fatalf("expected days %v", p.ExpectedDays)
			}
		}
	}
}

// TestScorerConcurrent scores and explains from many goroutines at once
// and compares with sequential results; run with -race (make test-race)
// to check that the Scorer shares no mutable state.
func TestScorerConcurrent(t *testing.T) {
	s, err := NewScorer(testArtifact())
	if err != nil {
		t.Fatal(err)
	}
	const rows = 300
	r := rand.New(rand.NewPCG(3, 4))
	nums, cats := make([][]float64, rows), make([][]string, rows)
	want := make([]Prediction, rows)
	wantEx := make([][]Attribution, rows)
	for i := range rows {
		nums[i], cats[i] = randomRow(r)
		s.Predict(nums[i], cats[i], &want[i])
		wantEx[i] = s.Explain(nums[i], cats[i], 2, nil)
	}
	var wg sync.WaitGroup
	errs := make(chan string, 16)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var p Prediction
			x := make([]float32, s.Width())
			logits := make([]float32, s.Intervals())
			var ex []Attribution
			for k := range 3 * rows {
				i := (k*7 + g*31) % rows
				switch k % 3 {
				case 0:
					s.Predict(nums[i], cats[i], &p)
				case 1:
					s.Encode(nums[i], cats[i], x)
					s.Logits(x, logits)
					s.FromLogits(logits, &p)
				default:
					s.Encode(nums[i], cats[i], x)
					s.PredictEncoded(x, &p)
					if ex = s.Explain(nums[i], cats[i], 2, ex); !sameAttributions(ex, wantEx[i]) {
						errs <- "explanation differs under concurrency"
						return
					}
				}
				if !reflect.DeepEqual(p, want[i]) {
					errs <- "prediction differs under concurrency"
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatal(e)
	}
}

// sameAttributions compares attributions, NaN values (NULL) included.
func sameAttributions(a, b []Attribution) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if x.Feature != y.Feature || x.Category != y.Category || x.Weight != y.Weight ||
			!(x.Value == y.Value || math.IsNaN(x.Value) && math.IsNaN(y.Value)) {
			return false
		}
	}
	return true
}
