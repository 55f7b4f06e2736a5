package training

import (
	"context"
	"math"
	"math/rand"
	"reflect"
	"strings"
	"testing"

	"github.com/duewise/duewise/model"
)

// synthetic builds n customer rows at two monthly dates whose true hazard
// per 30 days is sigmoid(-3 + 1.5*x0 + (seg == "b")) with x1 pure noise and
// x2 NULL for a third of the rows. It returns the rows and each row's true
// 90-day risk.
func synthetic(n int, seed int64) (*Dataset, []float64) {
	rng := rand.New(rand.NewSource(seed))
	d := &Dataset{NumNames: []string{"x0", "x1", "x2"}, CatNames: []string{"segment"},
		Num: make([][]float64, 3), Cat: make([][]string, 1)}
	truth := make([]float64, n)
	for i := range n {
		x0, x1 := rng.NormFloat64(), rng.NormFloat64()
		x2 := math.NaN()
		if i%3 != 0 {
			x2 = rng.Float64()
		}
		seg := "a"
		if rng.Intn(2) == 1 {
			seg = "b"
		}
		lo := -3 + 1.5*x0
		if seg == "b" {
			lo++
		}
		h := 1 / (1 + math.Exp(-lo)) / 30 // daily hazard
		dur := 0
		for dur < 400 && rng.Float64() >= h {
			dur++
		}
		event := uint8(1)
		cens := 100 + rng.Intn(300)
		if dur > cens {
			dur, event = cens, 0
		}
		truth[i] = 1 - math.Pow(1-h, 90)
		d.Tenant = append(d.Tenant, "t")
		d.CustomerID = append(d.CustomerID, string(rune('A'+i%26))+itoa(i))
		d.AsOf = append(d.AsOf, int32(20000+30*(i%5)))
		d.Duration = append(d.Duration, int32(dur))
		d.Event = append(d.Event, event)
		d.Num[0] = append(d.Num[0], x0)
		d.Num[1] = append(d.Num[1], x1)
		d.Num[2] = append(d.Num[2], x2)
		d.Cat[0] = append(d.Cat[0], seg)
		d.Segment = append(d.Segment, seg)
	}
	return d, truth
}

func itoa(i int) string {
	b := []byte{}
	for {
		b = append([]byte{byte('0' + i%10)}, b...)
		i /= 10
		if i == 0 {
			return string(b)
		}
	}
}

func quick() Options {
	return Options{Hidden: []int{16, 8}, Epochs: 8, BatchSize: 256, Seed: 7}
}

func TestTrainReproducible(t *testing.T) {
	d, _ := synthetic(4000, 1)
	a, err := Train(context.Background(), d, quick())
	if err != nil {
		t.Fatal(err)
	}
	b, err := Train(context.Background(), d, quick())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a.Artifact.Layers, b.Artifact.Layers) || !reflect.DeepEqual(a.Epochs[len(a.Epochs)-1].Loss, b.Epochs[len(b.Epochs)-1].Loss) {
		t.Fatal("two runs with the same seed gave different weights")
	}
	opt := quick()
	opt.Seed = 8
	c, err := Train(context.Background(), d, opt)
	if err != nil {
		t.Fatal(err)
	}
	if reflect.DeepEqual(a.Artifact.Layers, c.Artifact.Layers) {
		t.Fatal("a different seed gave the same weights")
	}
	opt = quick()
	opt.Average = -1
	last, err := Train(context.Background(), d, opt)
	if err != nil {
		t.Fatal(err)
	}
	if reflect.DeepEqual(a.Artifact.Layers, last.Artifact.Layers) {
		t.Fatal("the averaged weights equal the last step's: the average is not kept")
	}
}

func TestTrainLearnsAndSplitsByTime(t *testing.T) {
	d, truth := synthetic(6000, 2)
	r, err := Train(context.Background(), d, quick())
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range r.TrainRows {
		for _, j := range r.ValidRows[:1] {
			if d.AsOf[i] >= d.AsOf[j] {
				t.Fatalf("training row as_of %d is not before validation as_of %d", d.AsOf[i], d.AsOf[j])
			}
		}
	}
	if len(r.Epochs) < 2 || !(r.Epochs[len(r.Epochs)-1].Loss < r.Epochs[0].Loss) {
		t.Fatalf("training loss did not fall: %+v", r.Epochs)
	}
	sc, err := model.NewScorer(r.Artifact)
	if err != nil {
		t.Fatal(err)
	}
	// The model's 90-day risk must rank like the true risk.
	enc := newEncoder(d, r.Artifact.Features)
	x := enc.matrix(d, r.ValidRows)
	var p model.Prediction
	var agree, pairs float64
	pred := make([]float64, len(r.ValidRows))
	for i := range r.ValidRows {
		sc.PredictEncoded(x[i*sc.Width():(i+1)*sc.Width()], &p)
		pred[i] = p.P[2]
		for h := 1; h < 5; h++ {
			if p.P[h] < p.P[h-1] {
				t.Fatalf("horizon probabilities not monotone: %v", p.P)
			}
		}
	}
	for i := 0; i+1 < len(pred); i += 2 {
		ti, tj := truth[r.ValidRows[i]], truth[r.ValidRows[i+1]]
		if ti == tj {
			continue
		}
		pairs++
		if (pred[i] > pred[i+1]) == (ti > tj) {
			agree++
		}
	}
	if agree/pairs < 0.85 {
		t.Fatalf("predicted 90-day risk agrees with the true ordering in %.2f of pairs, want >= 0.85", agree/pairs)
	}
}

// TestScorerMatchesGorgonia runs the Gorgonia forward pass and the plain-Go
// scorer on the same rows and weights.
func TestScorerMatchesGorgonia(t *testing.T) {
	d, _ := synthetic(3000, 3)
	r, err := Train(context.Background(), d, quick())
	if err != nil {
		t.Fatal(err)
	}
	a := r.Artifact
	w := &weights{}
	for _, l := range a.Layers {
		w.In, w.Out, w.W, w.B = append(w.In, l.In), append(w.Out, l.Out), append(w.W, l.W), append(w.B, l.B)
	}
	const batch = 500
	n, err := newNet(w, batch, false)
	if err != nil {
		t.Fatal(err)
	}
	defer n.close()
	sc, err := model.NewScorer(a)
	if err != nil {
		t.Fatal(err)
	}
	rows := make([]int, batch)
	for i := range rows {
		rows[i] = i * 5
	}
	x := newEncoder(d, a.Features).matrix(d, rows)
	k := sc.Intervals()
	got := make([]float32, batch*k)
	if err := n.forward(x, got); err != nil {
		t.Fatal(err)
	}
	want := make([]float32, k)
	worst := 0.0
	for i := range batch {
		sc.Logits(x[i*sc.Width():(i+1)*sc.Width()], want)
		for j := range k {
			worst = math.Max(worst, math.Abs(float64(got[i*k+j]-want[j])))
		}
	}
	if worst > 1e-5 {
		t.Fatalf("max |gorgonia - scorer| = %g, want <= 1e-5", worst)
	}
	t.Logf("max |gorgonia - scorer| = %g over %d rows x %d logits", worst, batch, k)
}

func TestTargets(t *testing.T) {
	grid := []float64{0, 7, 30, 365}
	tests := []struct {
		name  string
		dur   int32
		event uint8
		y, m  []float32
	}{
		{"event on day 0", 0, 1, []float32{1, 0, 0}, []float32{1, 0, 0}},
		{"event at a boundary", 7, 1, []float32{1, 0, 0}, []float32{1, 0, 0}},
		{"event just after", 8, 1, []float32{0, 1, 0}, []float32{1, 1, 0}},
		{"censored inside an interval counts the share observed", 20, 0, []float32{0, 0, 0}, []float32{1, 13.0 / 23, 0}},
		{"censored on day 0 observed nothing", 0, 0, []float32{0, 0, 0}, []float32{0, 0, 0}},
		{"censored at a boundary survives it", 30, 0, []float32{0, 0, 0}, []float32{1, 1, 0}},
		{"censored a day before the end", 364, 0, []float32{0, 0, 0}, []float32{1, 1, 334.0 / 335}},
		{"beyond the grid is censored at 365", 500, 1, []float32{0, 0, 0}, []float32{1, 1, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := &Dataset{Duration: []int32{tt.dur}, Event: []uint8{tt.event}}
			ts := targets(d, []int{0}, grid)
			y, m := make([]float32, 3), make([]float32, 3)
			ts[0].fill(y, m)
			if !reflect.DeepEqual(y, tt.y) || !reflect.DeepEqual(m, tt.m) {
				t.Fatalf("y %v m %v, want y %v m %v", y, m, tt.y, tt.m)
			}
		})
	}
}

// TestBaseHazardCensoredInterval: when every row is censored inside the
// last interval (nobody followed for the full 365 days), that interval's
// hazard is events over exposure, not events over events; an interval
// nobody reached takes the daily hazard of the one before it.
func TestBaseHazardCensoredInterval(t *testing.T) {
	grid := []float64{0, 100, 200, 365}
	var d Dataset
	add := func(n int, dur int32, event uint8) {
		for range n {
			d.Duration, d.Event = append(d.Duration, dur), append(d.Event, event)
		}
	}
	add(900, 330, 0) // followed for 330 days: 130 of the last interval's 165
	add(100, 300, 1)
	rows := indexes(d.Len())
	h := baseHazard(targets(&d, rows, grid), grid)
	want := (100 + 0.5) / (100 + 900*130.0/165 + 1)
	if math.Abs(h[2]-want) > 1e-6 || h[0] > 0.001 || h[1] > 0.001 {
		t.Fatalf("hazards %v, want [~0 ~0 %.4f]", h, want)
	}

	short := Dataset{Duration: []int32{50, 50, 50, 20}, Event: []uint8{0, 0, 0, 1}}
	h = baseHazard(targets(&short, []int{0, 1, 2, 3}, grid), grid)
	first := (1 + 0.5) / (3*0.5 + 1 + 1)
	if math.Abs(h[0]-first) > 1e-9 {
		t.Fatalf("h[0] = %v, want %v", h[0], first)
	}
	for i, w := range []float64{100, 165} {
		if want := 1 - math.Pow(1-first, w/100); math.Abs(h[i+1]-want) > 1e-9 {
			t.Fatalf("h[%d] = %v, want the first interval's daily hazard over %v days = %v", i+1, h[i+1], w, want)
		}
	}
}

func TestEvaluateReportsBaselines(t *testing.T) {
	d, _ := synthetic(5000, 4)
	r, err := Train(context.Background(), d, quick())
	if err != nil {
		t.Fatal(err)
	}
	rep := r.Report
	if len(rep.Others) != 2 {
		t.Fatalf("%d baselines, want 2", len(rep.Others))
	}
	m, lr := rep.Model.AUC["90d"], rep.Others[0].AUC["90d"]
	if !(m > 0.7) || !(lr > 0.7) {
		t.Fatalf("90-day AUC model %.3f, logistic regression %.3f: want both > 0.7 on this easy data", m, lr)
	}
	if len(rep.Segments) != 2 || rep.Model.HarrellC == 0 || rep.Model.IntegratedBrier == 0 {
		t.Fatalf("incomplete report: %+v", rep)
	}
	var b strings.Builder
	if err := rep.WriteText(&b); err != nil || !strings.Contains(b.String(), "Kaplan-Meier per segment") {
		t.Fatalf("text report: %v\n%s", err, b.String())
	}
}

// TestEnsembleAveragesLogits: an ensemble of two networks is one network
// whose hazard logits are the mean of the members' logits, and the members
// are exactly the networks trained alone with seeds S and S+1.
func TestEnsembleAveragesLogits(t *testing.T) {
	d, _ := synthetic(3000, 5)
	opt := quick()
	opt.Ensemble = 2
	ens, err := Train(context.Background(), d, opt)
	if err != nil {
		t.Fatal(err)
	}
	if len(ens.BestEpochs) != 2 || ens.Artifact.Params["ensemble"] != 2 {
		t.Fatalf("best epochs %v, params %v", ens.BestEpochs, ens.Artifact.Params)
	}
	var members []*model.Scorer
	for _, seed := range []int64{opt.Seed, opt.Seed + 1} {
		o := quick()
		o.Seed = seed
		r, err := Train(context.Background(), d, o)
		if err != nil {
			t.Fatal(err)
		}
		sc, err := model.NewScorer(r.Artifact)
		if err != nil {
			t.Fatal(err)
		}
		members = append(members, sc)
	}
	se, err := model.NewScorer(ens.Artifact)
	if err != nil {
		t.Fatal(err)
	}
	x := newEncoder(d, ens.Artifact.Features).matrix(d, ens.ValidRows)
	w, k := se.Width(), se.Intervals()
	got, a, b := make([]float32, k), make([]float32, k), make([]float32, k)
	worst := 0.0
	for i := range ens.ValidRows {
		row := x[i*w : (i+1)*w]
		se.Logits(row, got)
		members[0].Logits(row, a)
		members[1].Logits(row, b)
		for j := range k {
			worst = math.Max(worst, math.Abs(float64(got[j]-(a[j]+b[j])/2)))
		}
	}
	if worst > 1e-5 {
		t.Fatalf("max |ensemble - mean of members| = %g, want <= 1e-5", worst)
	}
	again, err := Train(context.Background(), d, opt)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(again.Artifact.Layers, ens.Artifact.Layers) {
		t.Fatal("an ensemble is not reproducible for a seed")
	}
}

// TestBaselineHorizon: the logistic-regression baseline moves to the
// first horizon with cases and controls (30 days for one-month labels),
// and invoice models get one for "paid on or before the due date".
func TestBaselineHorizon(t *testing.T) {
	d, _ := synthetic(3000, 6)
	for i := range d.Duration {
		d.Duration[i] = min(d.Duration[i], 31) // nothing is known after day 31
		if d.Duration[i] == 31 {
			d.Event[i] = 0
		}
	}
	r, err := Train(context.Background(), d, quick())
	if err != nil {
		t.Fatal(err)
	}
	if b := baselinesOf(r.Artifact); b == nil || b.LRHorizon != 30 {
		t.Fatalf("baselines %+v, want a 30-day logistic regression", b)
	}
	lr := r.Report.Others[0]
	if lr.Name != "logistic regression (30d)" || !(lr.AUC["30d"] > 0.6) {
		t.Fatalf("baseline %+v", lr)
	}

	inv, _ := synthetic(3000, 7)
	inv.InvoiceID = make([]string, inv.Len())
	for i := range inv.InvoiceID {
		inv.InvoiceID[i] = itoa(i)
		inv.Duration[i] = inv.Duration[i] % 40 // days from due to payment
		inv.Event[i] = 1
	}
	o := quick()
	o.Kind = model.Invoice
	ri, err := Train(context.Background(), inv, o)
	if err != nil {
		t.Fatal(err)
	}
	if b := baselinesOf(ri.Artifact); b == nil || b.LRHorizon != 0 {
		t.Fatalf("invoice baselines %+v, want horizon 0", b)
	}
	if lr := ri.Report.Others[0]; lr.Name != "logistic regression (late)" || lr.AUC["late"] == 0 || ri.Report.Model.AUC["late"] == 0 {
		t.Fatalf("invoice report: model %v, baseline %+v", ri.Report.Model.AUC, lr)
	}
	var b strings.Builder
	if err := ri.Report.WriteText(&b); err != nil || !strings.Contains(b.String(), "   late") {
		t.Fatalf("text report lacks the late column:\n%s", b.String())
	}
}

// TestExcludedColumns: postcode_area is left out by default (a proxy for
// protected attributes); an empty Exclude uses it.
func TestExcludedColumns(t *testing.T) {
	d, _ := synthetic(3000, 8)
	d.CatNames = append(d.CatNames, "postcode_area")
	pc := make([]string, d.Len())
	for i := range pc {
		pc[i] = []string{"1011", "2511", "3011"}[i%3]
	}
	d.Cat = append(d.Cat, pc)
	has := func(a *model.Artifact) bool {
		for _, f := range a.Features {
			if f.Name == "postcode_area" {
				return true
			}
		}
		return false
	}
	r, err := Train(context.Background(), d, quick())
	if err != nil {
		t.Fatal(err)
	}
	if has(r.Artifact) {
		t.Fatal("postcode_area used by default")
	}
	o := quick()
	o.Exclude = []string{}
	if r, err = Train(context.Background(), d, o); err != nil || !has(r.Artifact) {
		t.Fatalf("postcode_area not used with an empty Exclude: %v", err)
	}
}

// TestEarlyStoppingNeedsRealImprovement: an epoch counts as better only
// when the validation loss falls by more than minImprovement (relative);
// training stops Patience epochs after the last such epoch and keeps its
// weights.
func TestEarlyStoppingNeedsRealImprovement(t *testing.T) {
	d, _ := synthetic(600, 3)
	rows := indexes(d.Len())
	grid := Grids[model.Behaviour]
	fs := fitFeatures(d, rows, nil, nil)
	enc := newEncoder(d, fs)
	xt, tt := enc.matrix(d, rows), targets(d, rows, grid)
	tests := []struct {
		name   string
		losses []float64
		epochs int // epochs run
		best   int
	}{
		{"steady gains", []float64{1, 0.9, 0.8, 0.7, 0.6}, 5, 5},
		{"gains below the threshold", []float64{1, 0.9, 0.89995, 0.8999, 0.89985, 0.5}, 5, 2},
		{"a real gain resets the count", []float64{1, 0.9, 0.89995, 0.85, 0.84995, 0.8499, 0.84985}, 7, 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opt := quick()
			opt.Epochs, opt.Patience = len(tc.losses), 3
			opt.defaults()
			var kept []*weights
			epoch := 0
			job := fitJob{opt: &opt, member: 1, members: 1, seed: 1, inSigns: model.InputSigns(fs), grid: grid, xt: xt, tt: tt, valid: func(w *weights) (float64, error) {
				kept = append(kept, w.clone())
				epoch++
				return tc.losses[epoch-1], nil
			}}
			w, stats, best, err := job.fit(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if len(stats) != tc.epochs || best != tc.best {
				t.Fatalf("ran %d epochs, best %d; want %d, best %d", len(stats), best, tc.epochs, tc.best)
			}
			if !reflect.DeepEqual(w, kept[best-1]) {
				t.Fatal("the kept weights are not those of the best epoch")
			}
		})
	}
}
