package training

import (
	"math"

	"github.com/duewise/duewise/model"
)

// Profile is the distribution of a's inputs and of its 90-day risk
// (Prediction.Risk90) on rows of d (nil = all): what the report's signal
// drift and the server's drift gauges measure against (model.Profile).
// An input that is not a column of d is profiled as all missing.
func Profile(a *model.Artifact, d *Dataset, rows []int) (*model.Profile, error) {
	if rows == nil {
		rows = indexes(d.Len())
	}
	p := &model.Profile{Rows: len(rows), Inputs: make([]model.Histogram, len(a.Features))}
	cols := columns(d, a.Features)
	for i, f := range a.Features {
		c := cols[i]
		if f.Type == model.Categorical {
			vals := make([]string, len(rows))
			if c >= 0 {
				for k, r := range rows {
					vals[k] = d.Cat[c][r]
				}
			}
			p.Inputs[i] = model.NewCategoricalHistogram(f.Name, f.Categories, vals)
			continue
		}
		xs := make([]float64, len(rows))
		for k, r := range rows {
			xs[k] = math.NaN()
			if c >= 0 {
				xs[k] = d.Num[c][r]
			}
		}
		p.Inputs[i] = model.NewNumericHistogram(f.Name, xs)
	}
	preds, err := Predictions(a, d, rows)
	if err != nil {
		return nil, err
	}
	risk := make([]float64, len(preds))
	for i := range preds {
		risk[i] = preds[i].Risk90
	}
	p.Score = model.NewNumericHistogram("risk_90d", risk)
	return p, nil
}
