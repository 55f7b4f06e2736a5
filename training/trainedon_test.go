package training

import (
	"context"
	"testing"

	"github.com/duewise/duewise/model"
)

// TestTrainingOverlap: a model records the rows it was fitted on, also
// through its file, and an evaluation tells its own snapshot, rows of its
// training dates and later rows apart; a model without the record (older
// files) still recognises its own snapshot.
func TestTrainingOverlap(t *testing.T) {
	d, _ := synthetic(3000, 4) // as_of: 5 dates 30 days apart, time split
	opt := quick()
	opt.Epochs = 1
	r, err := Train(context.Background(), d, opt)
	if err != nil {
		t.Fatal(err)
	}
	b, err := model.Marshal(r.Artifact)
	if err != nil {
		t.Fatal(err)
	}
	a, err := model.Unmarshal("m", b)
	if err != nil {
		t.Fatal(err)
	}
	tr, ok := ModelTrainedOn(a)
	if !ok || tr.Rows != len(r.TrainRows) || tr.RandomSplit || len(tr.Tenants) != 1 || tr.Tenants[0] != "t" ||
		tr.From != dayString(20000) || tr.To >= r.SplitAsOf.Format("2006-01-02") || tr.Fingerprint != d.Subset(r.TrainRows).Fingerprint() {
		t.Fatalf("trained on %+v (split %v, %d training rows)", tr, r.SplitAsOf, len(r.TrainRows))
	}
	for _, tc := range []struct {
		name       string
		d          *Dataset
		same       bool
		rows, want int
	}{
		{"its own snapshot", d, true, d.Len(), len(r.TrainRows)},
		{"its training rows", d.Subset(r.TrainRows), false, len(r.TrainRows), len(r.TrainRows)},
		{"its validation rows", d.Subset(r.ValidRows), false, len(r.ValidRows), 0},
	} {
		o := TrainingOverlap(a, tc.d)
		if o.Same != tc.same || o.Of != tc.rows || o.Rows != tc.want || !o.Known {
			t.Errorf("%s: %+v, want same %v, %d of %d rows", tc.name, o, tc.same, tc.want, tc.rows)
		}
	}
	delete(a.Params, trainedOnParam) // a model file from before the record
	if o := TrainingOverlap(a, d); !o.Same || o.Known || o.Rows != d.Len() {
		t.Errorf("old model on its own snapshot: %+v", o)
	}
	if o := TrainingOverlap(a, d.Subset(r.ValidRows)); o.Same || o.Rows != 0 {
		t.Errorf("old model on other rows: %+v", o)
	}
}
