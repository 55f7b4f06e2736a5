package metrics

import (
	"math"
	"math/rand/v2"
	"testing"
)

// labelled returns n random rows whose scores a and b both carry the
// event (b noisier), with censoring.
func labelled(n int, seed uint64) (a, b, dur []float64, ev []bool) {
	rng := rand.New(rand.NewPCG(seed, 1))
	a, b, dur, ev = make([]float64, n), make([]float64, n), make([]float64, n), make([]bool, n)
	for i := range n {
		risk := rng.Float64()
		dur[i] = math.Round(1 + rng.ExpFloat64()*120/(0.3+risk))
		ev[i] = rng.Float64() < 0.7
		a[i] = math.Round((risk+0.3*rng.NormFloat64())*50) / 50 // ties
		b[i] = risk + 0.8*rng.NormFloat64()
	}
	return a, b, dur, ev
}

func TestROCAreaIsAUC(t *testing.T) {
	a, _, dur, ev := labelled(2000, 1)
	for _, h := range []float64{30, 90} {
		pts := ROC(a, dur, ev, h, 1<<30)
		var area float64
		for i := 1; i < len(pts); i++ {
			area += (pts[i].FPR - pts[i-1].FPR) * (pts[i].TPR + pts[i-1].TPR) / 2
		}
		if want := AUC(a, dur, ev, h); math.Abs(area-want) > 1e-9 {
			t.Errorf("h %v: area under the ROC %v, AUC %v", h, area, want)
		}
		if first, last := pts[0], pts[len(pts)-1]; first != (Point{}) || last != (Point{1, 1}) {
			t.Errorf("h %v: ROC from %v to %v", h, first, last)
		}
		if thin := ROC(a, dur, ev, h, 50); len(thin) > 2*50+2 || thin[len(thin)-1] != (Point{1, 1}) {
			t.Errorf("h %v: thinned ROC has %d points, ends at %v", h, len(thin), thin[len(thin)-1])
		}
	}
	if ROC([]float64{.5}, []float64{10}, []bool{true}, 90, 10) != nil {
		t.Error("ROC without controls is not nil")
	}
}

func TestKaplanMeierCurve(t *testing.T) {
	dur := []float64{10, 20, 30, 40}
	ev := []bool{true, false, true, false}
	pts := KaplanMeierCurve(dur, ev, []float64{5, 10, 35, 50})
	want := []float64{1, 0.75, 0.375, 0.375}
	for i, p := range pts {
		if !near(p.Survival, want[i]) {
			t.Fatalf("S(%v) = %v, want %v", p.T, p.Survival, want[i])
		}
		if p.Lo > p.Survival || p.Hi < p.Survival || p.Lo < 0 || p.Hi > 1 {
			t.Errorf("S(%v) = %v outside its interval [%v, %v]", p.T, p.Survival, p.Lo, p.Hi)
		}
	}
	if pts[0].Lo != 1 || pts[0].Hi != 1 || pts[0].AtRisk != 4 || pts[2].AtRisk != 1 {
		t.Errorf("before any event: %+v; at 35: %+v", pts[0], pts[2])
	}
	// Greenwood at 35: 1/(4*3) + 1/(2*1); log-log interval.
	se := math.Sqrt(1.0/12+1.0/2) / math.Abs(math.Log(0.375))
	if lo := math.Pow(0.375, math.Exp(z95*se)); !near(pts[2].Lo, lo) {
		t.Errorf("lower bound at 35 = %v, want %v", pts[2].Lo, lo)
	}
	// The interval narrows with more rows of the same shape.
	var d4 []float64
	var ev4 []bool
	for range 100 {
		d4 = append(d4, dur...)
		ev4 = append(ev4, ev...)
	}
	big := KaplanMeierCurve(d4, ev4, []float64{35})[0]
	if !near(big.Survival, 0.375) || big.Hi-big.Lo >= pts[2].Hi-pts[2].Lo {
		t.Errorf("400 rows: %+v, 4 rows: %+v", big, pts[2])
	}
}

func TestCalibrationCIMatchesCalibration(t *testing.T) {
	a, _, dur, ev := labelled(3000, 2)
	p := make([]float64, len(a))
	for i := range a {
		p[i] = 1 / (1 + math.Exp(-3*a[i]+2))
	}
	bins, _ := Calibration(p, dur, ev, 90)
	ci := CalibrationCI(p, dur, ev, 90)
	if len(ci) != len(bins) {
		t.Fatalf("%d bins with intervals, %d without", len(ci), len(bins))
	}
	for i := range bins {
		if ci[i].Bin != bins[i] {
			t.Errorf("bin %d: %+v with intervals, %+v without", i, ci[i].Bin, bins[i])
		}
		if ci[i].Lo > ci[i].Observed || ci[i].Hi < ci[i].Observed {
			t.Errorf("bin %d: observed %v outside [%v, %v]", i, ci[i].Observed, ci[i].Lo, ci[i].Hi)
		}
	}
}

// delongReference is DeLong's variance of AUC(a) - AUC(b) written out
// pair by pair, O(cases x controls).
func delongReference(a, b, dur []float64, ev []bool, h float64) (diff, se float64) {
	var cases, controls []int
	for i, d := range dur {
		if ev[i] && d <= h {
			cases = append(cases, i)
		} else if d > h {
			controls = append(controls, i)
		}
	}
	psi := func(x, y float64) float64 {
		switch {
		case x > y:
			return 1
		case x == y:
			return 0.5
		}
		return 0
	}
	m, n := float64(len(cases)), float64(len(controls))
	comp := func(s []float64) (v10, v01 []float64, auc float64) {
		v10, v01 = make([]float64, len(cases)), make([]float64, len(controls))
		for i, c := range cases {
			for j, k := range controls {
				p := psi(s[c], s[k])
				v10[i] += p / n
				v01[j] += p / m
				auc += p / (m * n)
			}
		}
		return v10, v01, auc
	}
	a10, a01, aucA := comp(a)
	b10, b01, aucB := comp(b)
	d10, d01 := make([]float64, len(a10)), make([]float64, len(a01))
	for i := range d10 {
		d10[i] = a10[i] - b10[i]
	}
	for j := range d01 {
		d01[j] = a01[j] - b01[j]
	}
	return aucA - aucB, math.Sqrt(cov(d10, d10)/m + cov(d01, d01)/n)
}

func TestCompareAUCMatchesDeLong(t *testing.T) {
	a, b, dur, ev := labelled(600, 3)
	for _, h := range []float64{30, 90, 180} {
		got := CompareAUC(a, b, dur, ev, h)
		diff, se := delongReference(a, b, dur, ev, h)
		if !got.Valid || math.Abs(got.Diff-diff) > 1e-12 || math.Abs(got.SE-se) > 1e-12 {
			t.Errorf("h %v: %+v, want diff %v se %v", h, got, diff, se)
		}
		if !near(got.A, AUC(a, dur, ev, h)) || !near(got.B, AUC(b, dur, ev, h)) {
			t.Errorf("h %v: AUCs %v, %v", h, got.A, got.B)
		}
		if !near(got.Lo, got.Diff-z95*got.SE) || !near(got.Hi, got.Diff+z95*got.SE) {
			t.Errorf("h %v: interval [%v, %v] around %v +- %v", h, got.Lo, got.Hi, got.Diff, got.SE)
		}
	}
	// The better scorer wins clearly on many rows; a scorer against itself
	// differs by exactly 0.
	a, b, dur, ev = labelled(20000, 4)
	if d := CompareAUC(a, b, dur, ev, 90); !d.Significant() || d.Diff <= 0 {
		t.Errorf("a clearly better scorer: %+v", d)
	}
	if d := CompareAUC(a, a, dur, ev, 90); d.Diff != 0 || d.SE != 0 {
		t.Errorf("a scorer against itself: %+v", d)
	}
	if d := CompareAUC(a, b, dur, ev, 1e9); d.Valid {
		t.Errorf("no controls: %+v", d)
	}
}

func TestCompareBrier(t *testing.T) {
	a, b, dur, ev := labelled(5000, 5)
	pa, pb := make([]float64, len(a)), make([]float64, len(b))
	for i := range a {
		pa[i], pb[i] = 1/(1+math.Exp(-2*a[i]+1)), 1/(1+math.Exp(-b[i]))
	}
	d := CompareBrier(pa, pb, dur, ev, 90)
	if !d.Valid || !near(d.A, Brier(pa, dur, ev, 90)) || !near(d.B, Brier(pb, dur, ev, 90)) || !near(d.Diff, d.A-d.B) {
		t.Errorf("Brier difference %+v, scores %v %v", d, Brier(pa, dur, ev, 90), Brier(pb, dur, ev, 90))
	}
	if d.SE <= 0 || d.Lo >= d.Diff || d.Hi <= d.Diff {
		t.Errorf("Brier difference interval %+v", d)
	}
}
