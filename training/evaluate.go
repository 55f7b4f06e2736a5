package training

import (
	"fmt"
	"math"
	"slices"

	"github.com/duewise/duewise/model"
	"github.com/duewise/duewise/training/metrics"
)

// Reference is another scorer's risk at the horizons (a slice per
// metrics.Horizons index, nil where it has none), for rows in the same
// order as evaluated, to report next to the model (e.g. the synthetic
// world's true hazards).
type Reference struct {
	Name string
	Risk [][]float64
}

// Predictions scores rows of d (nil = all) with a.
func Predictions(a *model.Artifact, d *Dataset, rows []int) ([]model.Prediction, error) {
	sc, err := model.NewScorer(a)
	if err != nil {
		return nil, err
	}
	for _, f := range a.Features {
		if columns(d, []model.Feature{f})[0] < 0 {
			return nil, fmt.Errorf("score: model feature %q is not a column of the snapshots", f.Name)
		}
	}
	if rows == nil {
		rows = indexes(d.Len())
	}
	enc := newEncoder(d, a.Features)
	num, cat := make([]float64, len(a.Features)), make([]string, len(a.Features))
	out := make([]model.Prediction, len(rows))
	for i, r := range rows {
		enc.row(d, r, num, cat)
		sc.Predict(num, cat, &out[i])
	}
	return out, nil
}

// Evaluate measures a on rows of d (nil = all) with censoring handled,
// next to the baselines stored in the artifact and any references, and
// audits its monotonicity (Audit). For
// invoice models the metrics are about "paid within h days" (probability 1
// - p_h), and LateAUC is the AUC of p_late for "paid after the due date".
func Evaluate(a *model.Artifact, d *Dataset, rows []int, refs ...Reference) (*metrics.Report, error) {
	if rows == nil {
		rows = indexes(d.Len())
	}
	preds, err := Predictions(a, d, rows)
	if err != nil {
		return nil, err
	}
	invoice := a.Kind == model.Invoice
	r := Labelled(a, d, rows, preds)
	rep := &metrics.Report{Rows: len(rows)}
	late := make([]float64, len(rows))
	for i := range rows {
		if r.Event[i] {
			rep.Events++
		}
		late[i] = 1 - preds[i].PLate
	}
	rep.Model = metrics.Evaluate(string(a.Kind)+" model "+a.Version, r)
	if invoice {
		put(rep.Model.AUC, "late", metrics.AUC(late, r.Duration, r.Event, 0))
	}
	var base90 []float64
	if b := baselinesOf(a); b != nil {
		enc := newEncoder(d, a.Features)
		x := enc.matrix(d, rows)
		in := enc.width
		lr := make([]float64, len(rows))
		km := make([][]float64, len(metrics.Horizons))
		for h := range km {
			km[h] = make([]float64, len(rows))
		}
		for i, row := range rows {
			lr[i] = b.lr(x[i*in : (i+1)*in])
			p := b.km(d.Segment[row])
			for h := range km {
				km[h][i] = flip(invoice, p[h])
			}
		}
		name := fmt.Sprintf("logistic regression (%dd)", b.LRHorizon)
		var lrScores metrics.Scores
		if h := slices.Index(metrics.Horizons, b.LRHorizon); h >= 0 {
			lrRisk := make([][]float64, len(metrics.Horizons))
			lrRisk[h] = lr // P(event within the horizon): for invoices, paid within it
			lrScores = metrics.EvaluateAt(name, r, lrRisk)
			if b.LRHorizon == 90 {
				base90 = lr
			}
		} else {
			// Invoice models: P(paid on or before the due date); its
			// complement ranks late payment.
			name = "logistic regression (late)"
			lrScores = metrics.EvaluateAt(name, r, nil)
			put(lrScores.AUC, "late", metrics.AUC(lr, r.Duration, r.Event, 0))
		}
		rep.Others = append(rep.Others, lrScores, metrics.EvaluateAt("Kaplan-Meier per segment", r, km))
	}
	for _, ref := range refs {
		rep.Others = append(rep.Others, metrics.EvaluateAt(ref.Name, r, ref.Risk))
	}
	rep.Segments = metrics.BySegment(r, base90)
	if rep.Monotonicity, err = Audit(a, d, rows); err != nil {
		return nil, err
	}
	return rep, nil
}

// Labelled returns the rows of d (nil = all) with their labels, segments
// and preds (a's predictions of them, in order) as the metrics read them:
// Risk[h] is the probability of the label's event within Horizons[h]
// (for invoice models, of being paid within it).
func Labelled(a *model.Artifact, d *Dataset, rows []int, preds []model.Prediction) *metrics.Rows {
	if rows == nil {
		rows = indexes(d.Len())
	}
	invoice := a.Kind == model.Invoice
	r := &metrics.Rows{Duration: make([]float64, len(rows)), Event: make([]bool, len(rows)), Segment: make([]string, len(rows)),
		Risk: make([][]float64, len(metrics.Horizons))}
	for h := range r.Risk {
		r.Risk[h] = make([]float64, len(rows))
	}
	for i, row := range rows {
		r.Duration[i], r.Event[i], r.Segment[i] = float64(d.Duration[row]), d.Event[row] == 1, d.Segment[row]
		for h := range metrics.Horizons {
			r.Risk[h][i] = flip(invoice, preds[i].P[h])
		}
	}
	return r
}

// flip turns an invoice model's risk (still unpaid after h) into the
// probability of its event (paid within h); other kinds are unchanged.
func flip(invoice bool, p float64) float64 {
	if invoice {
		return 1 - p
	}
	return p
}

// put stores v under k unless it is NaN or infinite (a metric that cannot
// be computed is left out).
func put(m map[string]float64, k string, v float64) {
	if !math.IsNaN(v) && !math.IsInf(v, 0) {
		m[k] = v
	}
}
