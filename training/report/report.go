// Package report builds the model report of `duewise report` and of GET
// /v1/models/{version}/report: one self-contained HTML page (inline SVG,
// no script, no external asset, readable offline) with a model's ROC
// curves per horizon, its calibration with intervals, predicted survival
// against Kaplan-Meier by band and segment, time-dependent AUC and Brier,
// the monotonicity audit, reason-code frequencies, the segment and
// fairness tables and the drift of every input against the model's
// training rows; with a second model, both side by side on the same rows
// with their differences and 95% intervals. Its numbers are those of
// training.Evaluate, the same as `duewise evaluate` prints.
package report

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"time"

	"github.com/duewise/duewise/features"
	"github.com/duewise/duewise/model"
	"github.com/duewise/duewise/training"
	"github.com/duewise/duewise/training/metrics"
)

// Options are what a report is built from. Model and Data are required.
type Options struct {
	Model *model.Artifact
	// Compare, when set, is a second model of the same kind scored on the
	// same rows.
	Compare *model.Artifact
	// Data are the labelled rows (a snapshot), Source says where they come
	// from (a file, or the dates of a snapshot of the warehouse).
	Data   *training.Dataset
	Source string
	// Now is when the report is made (zero: time.Now).
	Now time.Time
	// Explained is how many rows the reason codes are counted on, evenly
	// spread over the rows (0 = DefaultExplained).
	Explained int
	// CodeVersion is the duewise build that made the report.
	CodeVersion string
}

// DefaultExplained is the default Options.Explained: explaining a row
// takes about 14 µs, so 20,000 rows take a fraction of a second.
const DefaultExplained = 20_000

// Report is everything the page shows. A plain value.
type Report struct {
	Kind        model.Kind `json:"kind"`
	Source      string     `json:"source"`
	Generated   time.Time  `json:"generated"`
	CodeVersion string     `json:"code_version,omitempty"`
	Rows        int        `json:"rows"`
	Events      int        `json:"events"`
	AsOfFrom    string     `json:"as_of_from"`
	AsOfTo      string     `json:"as_of_to"`
	// Models are the model and, with Compare, the second model.
	Models []*Part `json:"models"`
	// Differences are Models[0] - Models[1] per horizon (with Compare).
	Differences []Difference `json:"differences,omitempty"`
	// Warnings are what the reader must know about these numbers (rows
	// the model was trained on, a model without a training profile).
	Warnings []string `json:"warnings,omitempty"`
}

// Part is one model's part of the report.
type Part struct {
	Version   string `json:"version"`
	Tenant    string `json:"tenant"`
	TrainedOn string `json:"trained_on,omitempty"`
	// Metrics are training.Evaluate's: what `duewise evaluate` prints.
	Metrics     *metrics.Report           `json:"metrics"`
	ROC         []ROC                     `json:"roc"`
	Calibration []metrics.BinCI           `json:"calibration"`
	ByBand      []Survival                `json:"by_band"`
	BySegment   []Survival                `json:"by_segment"`
	Reasons     training.ReasonStats      `json:"reasons"`
	Attributes  []training.AttributeGroup `json:"attributes"`
	Drift       *Drift                    `json:"drift,omitempty"`
}

// ROC is the ROC curve at one horizon.
type ROC struct {
	Horizon string          `json:"horizon"`
	AUC     float64         `json:"auc"`
	Points  []metrics.Point `json:"points"`
}

// Survival is a group's mean predicted survival against its Kaplan-Meier
// estimate at the model's grid days.
type Survival struct {
	Group     string            `json:"group"`
	Rows      int               `json:"rows"`
	Days      []float64         `json:"days"`
	Predicted []float64         `json:"predicted"`
	Observed  []metrics.KMPoint `json:"observed"`
}

// Difference compares the two models at one horizon.
type Difference struct {
	Horizon string             `json:"horizon"`
	AUC     metrics.Difference `json:"auc"`
	Brier   metrics.Difference `json:"brier"`
}

// Drift is the population stability index of every input and of the
// score of the rows against the model's training rows (model.Profile).
type Drift struct {
	TrainingRows int           `json:"training_rows"`
	Inputs       []InputDrift  `json:"inputs"` // largest PSI first
	Score        float64       `json:"score_psi"`
	ScoreBins    []BinCompared `json:"score_bins"`
}

// InputDrift is one input's drift.
type InputDrift struct {
	Name string  `json:"name"`
	PSI  float64 `json:"psi"`
	// Calendar marks an input that names the calendar (as_of_month): it
	// differs whenever the rows' dates differ from the training dates.
	Calendar bool          `json:"calendar,omitempty"`
	Bins     []BinCompared `json:"bins"`
}

// BinCompared is one bin's share in training and in the rows.
type BinCompared struct {
	Label    string  `json:"label"`
	Training float64 `json:"training"`
	Rows     float64 `json:"rows"`
}

// Build scores the rows with the model(s) and computes the report.
func Build(opt Options) (*Report, error) {
	if opt.Model == nil || opt.Data == nil {
		return nil, errors.New("report: a model and rows are required")
	}
	if opt.Compare != nil && opt.Compare.Kind != opt.Model.Kind {
		return nil, fmt.Errorf("report: %s is a %s model and %s a %s model: compare models of one kind", opt.Model.Version, opt.Model.Kind, opt.Compare.Version, opt.Compare.Kind)
	}
	if opt.Data.Len() == 0 {
		return nil, errors.New("report: no rows")
	}
	if opt.Now.IsZero() {
		opt.Now = time.Now()
	}
	if opt.Explained <= 0 {
		opt.Explained = DefaultExplained
	}
	d := opt.Data
	rep := &Report{Kind: opt.Model.Kind, Source: opt.Source, Generated: opt.Now.UTC().Truncate(time.Second), CodeVersion: opt.CodeVersion, Rows: d.Len()}
	lo, hi := slices.Min(d.AsOf), slices.Max(d.AsOf)
	rep.AsOfFrom, rep.AsOfTo = day(lo), day(hi)
	var labelled []*metrics.Rows
	for _, a := range []*model.Artifact{opt.Model, opt.Compare} {
		if a == nil {
			continue
		}
		p, r, err := part(a, d, opt.Explained)
		if err != nil {
			return nil, fmt.Errorf("report on %s: %w", a.Version, err)
		}
		rep.Models = append(rep.Models, p)
		labelled = append(labelled, r)
		rep.Warnings = append(rep.Warnings, warnings(a, d, p)...)
	}
	rep.Events = rep.Models[0].Metrics.Events
	if len(labelled) == 2 {
		ra, rb := labelled[0], labelled[1]
		for h, days := range metrics.Horizons {
			x := float64(days)
			rep.Differences = append(rep.Differences, Difference{Horizon: horizon(days),
				AUC:   metrics.CompareAUC(ra.Risk[h], rb.Risk[h], ra.Duration, ra.Event, x),
				Brier: metrics.CompareBrier(ra.Risk[h], rb.Risk[h], ra.Duration, ra.Event, x)})
		}
	}
	return rep, nil
}

// part computes one model's part and returns its labelled rows.
func part(a *model.Artifact, d *training.Dataset, explained int) (*Part, *metrics.Rows, error) {
	ev, err := training.Evaluate(a, d, nil)
	if err != nil {
		return nil, nil, err
	}
	preds, err := training.Predictions(a, d, nil)
	if err != nil {
		return nil, nil, err
	}
	r := training.Labelled(a, d, nil, preds)
	p := &Part{Version: a.Version, Tenant: a.Tenant, Metrics: ev}
	if t, ok := training.ModelTrainedOn(a); ok {
		p.TrainedOn = fmt.Sprintf("%d rows, as_of %s to %s", t.Rows, t.From, t.To)
	}
	for h, days := range metrics.Horizons {
		auc, ok := ev.Model.AUC[horizon(days)]
		if !ok {
			continue
		}
		p.ROC = append(p.ROC, ROC{Horizon: horizon(days), AUC: auc, Points: metrics.ROC(r.Risk[h], r.Duration, r.Event, float64(days), 300)})
	}
	p.Calibration = metrics.CalibrationCI(r.Risk[2], r.Duration, r.Event, 90)
	bands := make([]string, len(preds))
	for i := range preds {
		bands[i] = "band " + preds[i].Band
	}
	p.ByBand = survival(a, preds, r, bands)
	p.BySegment = survival(a, preds, r, r.Segment)
	if p.Reasons, err = training.Reasons(a, d, spread(d.Len(), explained), 5); err != nil {
		return nil, nil, err
	}
	p.Attributes = training.ByAttribute(a, d, nil, r)
	p.Drift = drift(a, d, preds)
	return p, r, nil
}

// spread returns n row indexes evenly spread over rows rows (all when n
// is larger).
func spread(rows, n int) []int {
	if n >= rows {
		return nil
	}
	out := make([]int, n)
	for i := range out {
		out[i] = i * rows / n
	}
	return out
}

// survival groups the rows by group[i] and compares each group's mean
// predicted survival with its Kaplan-Meier estimate at the grid days.
func survival(a *model.Artifact, preds []model.Prediction, r *metrics.Rows, group []string) []Survival {
	// The grid's days, each at the last boundary it names (the invoice
	// grid's [0, 0] interval: S at day 0 is after it).
	var days []float64
	var at []int
	for k, g := range a.Grid {
		if len(days) > 0 && days[len(days)-1] == g {
			at[len(at)-1] = k
			continue
		}
		days, at = append(days, g), append(at, k)
	}
	idx := map[string][]int{}
	for i, g := range group {
		if g != "" {
			idx[g] = append(idx[g], i)
		}
	}
	var out []Survival
	for _, g := range slices.Sorted(maps.Keys(idx)) {
		rows := idx[g]
		s := Survival{Group: g, Rows: len(rows), Days: days, Predicted: make([]float64, len(days))}
		ds, es := make([]float64, len(rows)), make([]bool, len(rows))
		for k, i := range rows {
			for j, b := range at {
				s.Predicted[j] += preds[i].Survival[b]
			}
			ds[k], es[k] = r.Duration[i], r.Event[i]
		}
		for j := range s.Predicted {
			s.Predicted[j] /= float64(len(rows))
		}
		s.Observed = metrics.KaplanMeierCurve(ds, es, days)
		out = append(out, s)
	}
	return out
}

// drift compares the rows with the model's training profile; nil when the
// model has none.
func drift(a *model.Artifact, d *training.Dataset, preds []model.Prediction) *Drift {
	prof, ok := model.ProfileOf(a)
	if !ok {
		return nil
	}
	out := &Drift{TrainingRows: prof.Rows}
	for i, f := range a.Features {
		h := &prof.Inputs[i]
		counts := make([]float64, h.Bins())
		if f.Type == model.Categorical {
			if c := slices.Index(d.CatNames, f.Name); c >= 0 {
				for _, v := range d.Cat[c] {
					counts[h.BinCategory(v)]++
				}
			}
		} else if c := slices.Index(d.NumNames, f.Name); c >= 0 {
			for _, v := range d.Num[c] {
				counts[h.Bin(v)]++
			}
		}
		sig, _ := features.Lookup(f.Name)
		out.Inputs = append(out.Inputs, InputDrift{Name: f.Name, PSI: finite(h.PSI(counts)), Calendar: sig.Unit == features.UnitMonth, Bins: compared(h, counts)})
	}
	slices.SortStableFunc(out.Inputs, func(x, y InputDrift) int {
		if x.Calendar != y.Calendar {
			if x.Calendar {
				return 1
			}
			return -1
		}
		switch {
		case x.PSI > y.PSI:
			return -1
		case x.PSI < y.PSI:
			return 1
		}
		return 0
	})
	counts := make([]float64, prof.Score.Bins())
	for i := range preds {
		counts[prof.Score.Bin(preds[i].Risk90)]++
	}
	out.Score, out.ScoreBins = finite(prof.Score.PSI(counts)), compared(&prof.Score, counts)
	return out
}

// compared lays a histogram's training shares beside the rows' counts.
func compared(h *model.Histogram, counts []float64) []BinCompared {
	var n float64
	for _, c := range counts {
		n += c
	}
	out := make([]BinCompared, len(counts))
	for i := range counts {
		out[i] = BinCompared{Label: binLabel(h, i), Training: h.Shares[i]}
		if n > 0 {
			out[i].Rows = counts[i] / n
		}
	}
	return out
}

// binLabel names bin i of h.
func binLabel(h *model.Histogram, i int) string {
	switch {
	case i == h.Missing():
		return "missing"
	case h.Type == model.Categorical && i < len(h.Categories):
		return h.Categories[i]
	case h.Type == model.Categorical:
		return "other"
	case len(h.Edges) == 0:
		return "all"
	case i == 0:
		return fmt.Sprintf("<= %s", num(h.Edges[0]))
	case i == len(h.Edges):
		return fmt.Sprintf("> %s", num(h.Edges[i-1]))
	}
	return fmt.Sprintf("(%s, %s]", num(h.Edges[i-1]), num(h.Edges[i]))
}

// warnings says what the reader must know about a model's numbers.
func warnings(a *model.Artifact, d *training.Dataset, p *Part) []string {
	var out []string
	o := training.TrainingOverlap(a, d)
	switch {
	case o.Same:
		out = append(out, fmt.Sprintf("%s: these are the rows the model was trained and validated on; the metrics flatter it (evaluate later dates)", a.Version))
	case o.Rows > 0:
		out = append(out, fmt.Sprintf("%s: %d of the %d rows are of its training tenants and dates; if they are the same customers the model was trained on them and the metrics flatter it", a.Version, o.Rows, o.Of))
	}
	if p.Drift == nil {
		out = append(out, fmt.Sprintf("%s: the model file records no training profile (trained by an earlier build): no drift section; train it again to get one", a.Version))
	}
	return out
}

func horizon(days int) string { return fmt.Sprintf("%dd", days) }

func day(d int32) string { return time.Unix(int64(d)*86400, 0).UTC().Format(time.DateOnly) }

func finite(x float64) float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return 0
	}
	return x
}
