package quality

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"strings"
	"testing"

	"github.com/duewise/duewise/warehouse/warehousetest"
)

// TestGermanEndToEnd runs the German credit benchmark on the real file
// with 2 folds and a small network, and checks the saved JSON: the folds,
// the protected columns left out, and the scikit-learn references on the
// same folds when Python has scikit-learn (always under CI: make deps).
func TestGermanEndToEnd(t *testing.T) {
	path := sharedData(t, "german_credit.csv")
	cfg := DefaultConfig()
	cfg.Dataset, cfg.Data, cfg.WorkDir, cfg.Folds, cfg.Train = German, path, t.TempDir(), 2, small()
	cfg.Train.BatchSize = 64
	res, err := Run(context.Background(), warehousetest.Embedded(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	_, pyErr := pythonWithSklearn(context.Background())
	if pyErr != nil && os.Getenv("CI") == "true" {
		t.Fatalf("no scikit-learn under CI: %v", pyErr)
	}
	jp, _, err := res.Save(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(jp)
	if err != nil {
		t.Fatal(err)
	}
	var back struct {
		Dataset  string   `json:"dataset"`
		Protocol string   `json:"protocol"`
		Inputs   []string `json:"inputs"`
		Checks   []Check  `json:"checks"`
		Folds    []Fold   `json:"folds"`
		Reports  []any    `json:"reports"`
	}
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	if back.Dataset != German || len(back.Folds) != 2 || len(back.Reports) != 2 || len(back.Inputs) < 40 {
		t.Fatalf("dataset %s, %d folds, %d reports, %d inputs", back.Dataset, len(back.Folds), len(back.Reports), len(back.Inputs))
	}
	for _, in := range back.Inputs {
		if in == "Age" || in == "ForeignWorker" || strings.HasPrefix(in, "Personal.") || in == "Class" {
			t.Errorf("input %q used", in)
		}
	}
	for _, want := range []string{"Age (age)", "ForeignWorker", "Personal.Female.Single", "stratified"} {
		if !strings.Contains(back.Protocol, want) {
			t.Errorf("protocol lacks %q: %s", want, back.Protocol)
		}
	}
	rows, events, sum := 0, 0, 0.0
	for _, f := range back.Folds {
		rows, events, sum = rows+f.Rows, events+f.Events, sum+f.AUC
		if f.Events != 150 || !(f.AUC > 0.65 && f.AUC < 1) {
			t.Errorf("fold %+v: want 150 Bad (stratified) and AUC > 0.65", f)
		}
		if pyErr == nil && len(f.References) != 4 {
			t.Errorf("fold %d references %v, want 4", f.Fold, f.References)
		}
	}
	head := back.Checks[0]
	if rows != 1000 || events != 300 || math.Abs(head.Duewise-sum/2) > 1e-12 || head.Metric != "AUC of Bad (CV mean)" {
		t.Fatalf("rows %d, events %d, headline %+v (fold mean %.4f)", rows, events, head, sum/2)
	}
	if pyErr == nil {
		gbm := (back.Folds[0].References["sklearn_gbm_same_columns"] + back.Folds[1].References["sklearn_gbm_same_columns"]) / 2
		if !strings.Contains(head.Reference, "same") || !(gbm > 0.65) || head.Pass != (head.Duewise >= gbm) {
			t.Fatalf("headline %+v, gradient boosting on the same columns %.4f", head, gbm)
		}
	} else if !strings.Contains(head.Target, "not computed") || !strings.Contains(back.Protocol, "not computed") {
		t.Fatalf("references unavailable (%v) but the result does not say so: %+v", pyErr, head)
	}
	t.Logf("AUC %.4f ± %.4f vs %s", head.Duewise, head.SD, head.Reference)
}

func TestStratifiedFolds(t *testing.T) {
	event := make([]uint8, 103)
	for i := range 31 {
		event[i*3] = 1
	}
	folds := stratifiedFolds(event, 5, 7)
	seen := map[int]bool{}
	for f, rows := range folds {
		ev := 0
		for _, i := range rows {
			if seen[i] {
				t.Fatalf("row %d in two folds", i)
			}
			seen[i] = true
			ev += int(event[i])
		}
		if ev < 6 || ev > 7 || len(rows) < 20 || len(rows) > 21 {
			t.Errorf("fold %d: %d rows, %d events; want 20-21 and 6-7", f, len(rows), ev)
		}
	}
	if len(seen) != len(event) {
		t.Fatalf("%d rows assigned, want %d", len(seen), len(event))
	}
	again := stratifiedFolds(event, 5, 7)
	for f := range folds {
		if len(again[f]) != len(folds[f]) || again[f][0] != folds[f][0] {
			t.Fatalf("not reproducible: fold %d", f)
		}
	}
}
