package training

import (
	"context"
	"math"
	"testing"

	"github.com/duewise/duewise/model"
)

// TestProfile checks the training profile a model records: its inputs'
// and its score's distribution on the training rows, against which the
// training rows themselves do not drift and shifted rows do.
func TestProfile(t *testing.T) {
	d, _ := synthetic(3000, 3)
	res, err := Train(context.Background(), d, quick())
	if err != nil {
		t.Fatal(err)
	}
	a := res.Artifact
	b, err := model.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	if a, err = model.Unmarshal("m", b); err != nil {
		t.Fatal(err)
	}
	p, ok := model.ProfileOf(a)
	if !ok {
		t.Fatal("the trained model records no profile")
	}
	if p.Rows != len(res.TrainRows) {
		t.Errorf("profile of %d rows, trained on %d", p.Rows, len(res.TrainRows))
	}
	psi := func(rows []int, shift float64) (inputs []float64, score float64) {
		dd := *d
		dd.Num = [][]float64{append([]float64(nil), d.Num[0]...), d.Num[1], d.Num[2]}
		for i := range dd.Num[0] {
			dd.Num[0][i] += shift
		}
		for k, f := range a.Features {
			h := &p.Inputs[k]
			counts := make([]float64, h.Bins())
			for _, r := range rows {
				if f.Type == model.Categorical {
					counts[h.BinCategory(dd.Cat[0][r])]++
				} else {
					counts[h.Bin(dd.Num[columns(&dd, []model.Feature{f})[0]][r])]++
				}
			}
			inputs = append(inputs, h.PSI(counts))
		}
		preds, err := Predictions(a, &dd, rows)
		if err != nil {
			t.Fatal(err)
		}
		counts := make([]float64, p.Score.Bins())
		for i := range preds {
			counts[p.Score.Bin(preds[i].Risk90)]++
		}
		return inputs, p.Score.PSI(counts)
	}
	in, score := psi(res.TrainRows, 0)
	for k, x := range in {
		if math.Abs(x) > 1e-6 {
			t.Errorf("input %s: PSI of the training rows against their own profile = %v", a.Features[k].Name, x)
		}
	}
	if math.Abs(score) > 1e-6 {
		t.Errorf("score PSI of the training rows = %v", score)
	}
	// x0 moved by one standard deviation: a major shift of x0 and of the
	// score, none of x1.
	in, score = psi(res.ValidRows, 1)
	for k, f := range a.Features {
		switch f.Name {
		case "x0":
			if in[k] < 0.25 {
				t.Errorf("x0 shifted by 1 sd: PSI %v", in[k])
			}
		case "x1":
			if in[k] > 0.1 {
				t.Errorf("x1 unchanged: PSI %v", in[k])
			}
		}
	}
	if score < 0.1 {
		t.Errorf("score PSI after x0 shifted: %v", score)
	}
}

func TestReasonCounts(t *testing.T) {
	d, _ := synthetic(2500, 4)
	res, err := Train(context.Background(), d, quick())
	if err != nil {
		t.Fatal(err)
	}
	st, err := Reasons(res.Artifact, d, nil, 2)
	if err != nil {
		t.Fatal(err)
	}
	total, first := 0, 0
	for _, c := range st.Codes {
		total += c.Increases + c.Decreases
		first += c.First
	}
	// Every row has two reasons (there are more than two inputs), one of
	// them first.
	if st.Rows != d.Len() || total != 2*d.Len() || first != d.Len() {
		t.Errorf("%d rows, %d reasons, %d first: %+v", st.Rows, total, first, st.Codes)
	}
	for i := 1; i < len(st.Codes); i++ {
		if a, b := st.Codes[i-1], st.Codes[i]; a.Increases+a.Decreases < b.Increases+b.Decreases {
			t.Errorf("codes not most frequent first: %+v", st.Codes)
		}
	}
}
