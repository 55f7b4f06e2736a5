package report

import (
	"bytes"
	"context"
	"math"
	"math/rand"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/duewise/duewise/model"
	"github.com/duewise/duewise/training"
)

// rows are labelled rows of a small world: x0 drives the hazard.
func rows(n int, seed int64) *training.Dataset {
	rng := rand.New(rand.NewSource(seed))
	d := &training.Dataset{NumNames: []string{"x0", "x1"}, CatNames: []string{"segment"}, Num: make([][]float64, 2), Cat: make([][]string, 1)}
	for i := range n {
		x0, x1 := rng.NormFloat64(), rng.NormFloat64()
		seg := []string{"energy", "telecom"}[rng.Intn(2)]
		h := 1 / (1 + math.Exp(3-1.5*x0)) / 30
		dur, ev := 0, uint8(1)
		for dur < 400 && rng.Float64() >= h {
			dur++
		}
		if c := 100 + rng.Intn(300); dur > c {
			dur, ev = c, 0
		}
		d.Tenant = append(d.Tenant, "t")
		d.CustomerID = append(d.CustomerID, "C"+string(rune('a'+i%26)))
		d.AsOf = append(d.AsOf, int32(20000+30*(i%5)))
		d.Duration, d.Event = append(d.Duration, int32(dur)), append(d.Event, ev)
		d.Num[0], d.Num[1] = append(d.Num[0], x0), append(d.Num[1], x1)
		d.Cat[0], d.Segment = append(d.Cat[0], seg), append(d.Segment, seg)
	}
	return d
}

func TestReportHTML(t *testing.T) {
	train := rows(3000, 1)
	var ms []*model.Artifact
	for _, seed := range []int64{1, 2} {
		res, err := training.Train(context.Background(), train, training.Options{Hidden: []int{8}, Epochs: 3 * int(seed), BatchSize: 256, Seed: seed})
		if err != nil {
			t.Fatal(err)
		}
		b, err := model.Marshal(res.Artifact) // assigns the version
		if err != nil {
			t.Fatal(err)
		}
		a, err := model.Unmarshal("m", b)
		if err != nil {
			t.Fatal(err)
		}
		ms = append(ms, a)
	}
	test := rows(2000, 2)
	rep, err := Build(Options{Model: ms[0], Compare: ms[1], Data: test, Source: "test rows", Now: time.Unix(0, 0)})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := rep.WriteHTML(&b); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	for _, id := range []string{"metrics", "difference-table", "roc-90d", "calibration", "survival-band-0", "survival-segment-1", "auc-by-horizon",
		"brier-by-horizon", "monotonicity-table-0", "reasons-0", "segment-table-0", "attribute-table-1", "drift-0", "drift-table-1"} {
		if !strings.Contains(page, `id="`+id+`"`) {
			t.Errorf("no element %q", id)
		}
	}
	if regexp.MustCompile(`(?i)<script|src="http|href="http|@import`).MatchString(page) {
		t.Error("the page refers to a script or an external file")
	}
	ev, err := training.Evaluate(ms[0], test, nil)
	if err != nil {
		t.Fatal(err)
	}
	for hz, want := range ev.Model.AUC {
		cell := `data-model="` + ms[0].Version + `" data-metric="auc" data-horizon="` + hz + `" data-value="` + f4(want) + `"`
		if !strings.Contains(page, cell) {
			t.Errorf("no cell %s", cell)
		}
	}
	if math.Abs(rep.Differences[2].AUC.A-ev.Model.AUC["90d"]) > 1e-12 {
		t.Errorf("difference at 90 days compares %v, evaluate says %v", rep.Differences[2].AUC.A, ev.Model.AUC["90d"])
	}
	// Drift: the test rows are drawn like the training rows.
	for _, in := range rep.Models[0].Drift.Inputs {
		if in.PSI > 0.1 {
			t.Errorf("input %s drifts between two draws of one world: PSI %v", in.Name, in.PSI)
		}
	}
	if _, err := Build(Options{Model: ms[0], Compare: &model.Artifact{Kind: model.Invoice}, Data: test}); err == nil {
		t.Error("a report compared two kinds")
	}
}
