package metrics

import (
	"math"
	"math/rand/v2"
	"testing"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestAUCCensoring(t *testing.T) {
	// h = 90. Rows: case (event day 10, score .9), case (event day 80,
	// score .3), control (day 200, score .4), control (censored day 120,
	// score .2), censored at day 50 (score .99: excluded, neither case nor
	// control), event after h (day 150, score .5: a control at 90).
	score := []float64{.9, .3, .4, .2, .99, .5}
	dur := []float64{10, 80, 200, 120, 50, 150}
	ev := []bool{true, true, false, false, false, true}
	// cases {.9, .3}; controls {.4, .2, .5}: pairs won: .9 beats 3, .3
	// beats 1 -> 4/6.
	if got := AUC(score, dur, ev, 90); !near(got, 4.0/6) {
		t.Fatalf("AUC = %v, want %v", got, 4.0/6)
	}
	// A tie counts half.
	if got := AUC([]float64{.5, .5}, []float64{10, 100}, []bool{true, false}, 90); !near(got, 0.5) {
		t.Fatalf("tied AUC = %v, want 0.5", got)
	}
	if got := AUC([]float64{.5}, []float64{100}, []bool{false}, 90); !math.IsNaN(got) {
		t.Fatalf("AUC without cases = %v, want NaN", got)
	}
}

func TestHarrellC(t *testing.T) {
	// Comparable pairs (i event, t_j > t_i): (0,1), (0,2), (0,3), (2,3)
	// with risks 0:.8 1:.5 2:.6 3:.6 -> 0 beats 1, 2, 3; 2 ties 3 -> 3.5/4.
	risk := []float64{.8, .5, .6, .6}
	dur := []float64{5, 10, 20, 30}
	ev := []bool{true, false, true, false}
	if got := HarrellC(risk, dur, ev, 365); !near(got, 3.5/4) {
		t.Fatalf("Harrell C = %v, want %v", got, 3.5/4)
	}
	// Uno's weights 1/G(t_i-)^2: G (censoring KM) before day 5 is 1,
	// before day 20 is 1 - 1/3 (one censoring at 10 out of 3 at risk):
	// weights 1 for i = 0 (3 pairs, all won) and 2.25 for i = 2 (1 pair,
	// tie) -> (3 + 2.25*0.5) / (3 + 2.25).
	want := (3 + 2.25*0.5) / (3 + 2.25)
	if got := UnoC(risk, dur, ev, 365); !near(got, want) {
		t.Fatalf("Uno C = %v, want %v", got, want)
	}
}

func TestKaplanMeierAndBrier(t *testing.T) {
	dur := []float64{10, 20, 30, 40}
	ev := []bool{true, false, true, false}
	// S(10) = 3/4; at 30: 2 at risk, 1 event -> 3/4 * 1/2.
	if got := KaplanMeier(dur, ev, 35); !near(got, 1-3.0/8) {
		t.Fatalf("KM = %v, want %v", got, 1-3.0/8)
	}
	// Brier at h = 25 with p = .5 everywhere: case day 10 weighs 1/G(10-)
	// = 1; censored at 20 weighs 0; controls day 30 and 40 weigh 1/G(25),
	// G(25) = 1 - 1/3 (censoring at 20, 3 at risk) -> (0.25 + 2*0.25*1.5)/4.
	p := []float64{.5, .5, .5, .5}
	want := (0.25 + 2*0.25*1.5) / 4
	if got := Brier(p, dur, ev, 25); !near(got, want) {
		t.Fatalf("Brier = %v, want %v", got, want)
	}
}

func TestCalibration(t *testing.T) {
	n := 100
	p, dur, ev := make([]float64, n), make([]float64, n), make([]bool, n)
	for i := range n {
		p[i] = float64(i/10) / 10 // ten bins of 0, .1, ... .9
		dur[i] = 200
		ev[i] = i%10 < i/10 // bin b has b events of 10 (at day 200 > 90)
	}
	bins, ece := Calibration(p, dur, ev, 300)
	if len(bins) != 10 {
		t.Fatalf("%d bins", len(bins))
	}
	for b, bin := range bins {
		if !near(bin.Predicted, float64(b)/10) || !near(bin.Observed, float64(b)/10) {
			t.Fatalf("bin %d = %+v", b, bin)
		}
	}
	if !near(ece, 0) {
		t.Fatalf("ECE = %v, want 0", ece)
	}
}

// TestConcordanceMatchesBruteForce compares the O(n log n) concordance
// with the O(n^2) definition on random data with tied risks and tied
// durations, with and without Uno's weights.
func TestConcordanceMatchesBruteForce(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for trial := range 20 {
		n := 50 + trial*10
		risk, dur, ev := make([]float64, n), make([]float64, n), make([]bool, n)
		for i := range n {
			risk[i] = float64(r.IntN(10)) / 10
			dur[i] = float64(1 + r.IntN(40))
			ev[i] = r.IntN(3) > 0
		}
		tau := float64(10 + r.IntN(35))
		g := censoringKM(dur, ev)
		for _, weighted := range []bool{false, true} {
			var num, den float64
			for i := range n {
				if !ev[i] || dur[i] > tau {
					continue
				}
				w := 1.0
				if weighted {
					v := g.at(dur[i], true)
					if v <= 0 {
						continue
					}
					w = 1 / (v * v)
				}
				for j := range n {
					if dur[j] <= dur[i] {
						continue
					}
					den += w
					switch {
					case risk[i] > risk[j]:
						num += w
					case risk[i] == risk[j]:
						num += w / 2
					}
				}
			}
			want := num / den
			got := HarrellC(risk, dur, ev, tau)
			if weighted {
				got = UnoC(risk, dur, ev, tau)
			}
			if math.Abs(got-want) > 1e-12 {
				t.Fatalf("trial %d weighted %v: %v, brute force %v", trial, weighted, got, want)
			}
		}
	}
}

// TestBrierBeyondFollowUp: past the longest follow-up there are no
// controls, so the Brier score is undefined (NaN, shown as "-"), and the
// integrated score covers only the horizons where it is defined.
func TestBrierBeyondFollowUp(t *testing.T) {
	dur := []float64{10, 20, 30, 40}
	ev := []bool{true, false, true, false}
	p := []float64{.9, .9, .9, .9}
	if got := Brier(p, dur, ev, 45); !math.IsNaN(got) {
		t.Fatalf("Brier beyond the last follow-up = %v, want NaN (only cases, p near 1 would score near 0)", got)
	}

	// Rows followed for at most 100 days: defined at 30, 60 and 90.
	r := &Rows{Duration: []float64{15, 45, 70, 100, 100, 100}, Event: []bool{true, true, true, false, false, false}}
	for range Horizons {
		r.Risk = append(r.Risk, []float64{.6, .5, .4, .3, .2, .1})
	}
	var bs []float64
	for _, h := range []float64{30, 60, 90} {
		bs = append(bs, Brier(r.Risk[0], r.Duration, r.Event, h))
	}
	if !math.IsNaN(Brier(r.Risk[0], r.Duration, r.Event, 180)) {
		t.Fatal("Brier at 180 days defined, want NaN")
	}
	want := (30*(bs[0]+bs[1])/2 + 30*(bs[1]+bs[2])/2) / 60
	if got := IntegratedBrier(r); !near(got, want) {
		t.Fatalf("integrated Brier = %v, want %v (30..90 days only)", got, want)
	}
	r.Duration = []float64{15, 45, 50, 50, 50, 50} // defined at 30 only
	if got := IntegratedBrier(r); !math.IsNaN(got) {
		t.Fatalf("integrated Brier over one horizon = %v, want NaN", got)
	}
}
