package quality

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"time"

	"github.com/duewise/duewise/datasets/synth"
	"github.com/duewise/duewise/features"
	"github.com/duewise/duewise/model"
	"github.com/duewise/duewise/training"
	"github.com/duewise/duewise/training/metrics"
)

// SyntheticMaxGap is the target: the model's 90-day AUC at most this far
// below the reference's, the better of scikit-learn gradient boosting
// with and without monotonic_cst trained on the same rows, inputs and
// labels and scored on the same test rows (GBMReference): the best
// learner on the observable data, measured on the same world. The world's
// true risk at the snapshot date (synth.TrueRisk: the world continued
// from it with draws of its own, knowing the hidden state) is reported as
// the Bayes bound, not the target; the true hazards of truth.csv known at
// the snapshot date (Truth.RiskKnownAt, the reference before the world
// responded to the creditor's actions) and those of the invoices issued
// after it (Truth.Risk, which carry what happens after it) are reported
// too (docs/benchmarks.md).
const SyntheticMaxGap = 0.02

// Test and training dates of the synthetic benchmark, in months. The
// test dates are the last monthly dates with 90 days of follow-up. The
// training dates run from a year before the first test date (the same
// calendar months as the test dates, for seasonality) to synthTrainGap
// months before it, so that every training row has its full 90-day
// follow-up by the day before the first test date, when the labels are
// taken; each has at least synthHistory months of history.
const (
	synthTestDates = 4
	synthTrainSpan = 12
	synthTrainGap  = 4
	synthHistory   = 6
	synthMinMonths = synthHistory + synthTrainGap + synthTestDates - 1 + 3
)

// synthDefaults are the network options of the synthetic benchmark:
// those of `duewise train` (the learning rate its default for the model's
// constraints).
var synthDefaults = training.Options{Hidden: []int{64, 32}, Epochs: 40, Patience: 3, BatchSize: 1024, L2: 1e-5, Ensemble: 1}

// synthetic: generate, load, training snapshots at monthly dates before
// the test dates with the labels known on the day before the first test
// date, test snapshots at the last monthly dates that still have 90 days
// of follow-up, and the true risk (synth.TrueRisk) and the hazards of
// truth.csv on the same rows.
func (r *runner) synthetic(ctx context.Context) error {
	dir := filepath.Join(r.cfg.WorkDir, "world")
	gen := synth.DefaultConfig()
	gen.Customers, gen.Months, gen.Seed, gen.Tenant, gen.Out, gen.Log = r.cfg.Customers, r.cfg.Months, r.cfg.Seed, r.cfg.Tenant, dir, r.cfg.Log
	if err := r.step("generate synthetic world", func() (string, error) {
		st, err := synth.Generate(ctx, gen)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("%d customers x %d months, %d invoices", st.Customers, gen.Months, st.Rows["invoices"]), nil
	}); err != nil {
		return err
	}
	if err := r.load(ctx, dir); err != nil {
		return err
	}
	end := gen.Start.AddDate(0, gen.Months, 0) // nothing at or after it exists
	lastTest := end.AddDate(0, -3, 0)          // + 90 days is still before the end
	firstTest := lastTest.AddDate(0, -(synthTestDates - 1), 0)
	firstTrain := firstTest.AddDate(0, -synthTrainSpan, 0)
	if min := gen.Start.AddDate(0, synthHistory, 0); firstTrain.Before(min) {
		firstTrain = min
	}
	lastTrain := firstTest.AddDate(0, -synthTrainGap, 0)
	if lastTrain.Before(firstTrain) {
		return fmt.Errorf("a world of %d months has no training date with %d months of history before the test dates from %s: use at least %d months",
			gen.Months, synthHistory, firstTest.Format(time.DateOnly), synthMinMonths)
	}
	known := firstTest.AddDate(0, 0, -1)
	train, err := r.snapshot(ctx, "training snapshots", features.SnapshotOptions{From: firstTrain, To: lastTrain, Every: "1mo", EndOfData: known})
	if err != nil {
		return err
	}
	test, err := r.snapshot(ctx, "test snapshots", features.SnapshotOptions{From: firstTest, To: lastTest, Every: "1mo"})
	if err != nil {
		return err
	}
	var truth *Truth
	if err := r.step("read truth.csv", func() (string, error) {
		var err error
		truth, err = ReadTruth(dir, features.DefaultThreshold)
		return "true hazards of every invoice", err
	}); err != nil {
		return err
	}
	var dates []time.Time
	for d := firstTest; !d.After(lastTest); d = d.AddDate(0, 1, 0) {
		dates = append(dates, d)
	}
	var risk *synth.RiskTable
	if err := r.step("true risk at the test dates (continuations of the world)", func() (string, error) {
		var err error
		risk, err = synth.TrueRisk(ctx, gen, synth.RiskOptions{Dates: dates, Horizons: metrics.Horizons[:3]})
		if err != nil {
			return "", err
		}
		st := risk.Stats
		return fmt.Sprintf("%d customer-dates (%d with %d open invoices), %d continuations, %d matching the world's rows before the date, %d unmatched",
			st.Rows, st.WithOpen, st.Open, st.Replicates, st.Accepted, st.Unmatched), nil
	}); err != nil {
		return err
	}
	missing := 0
	ref := Reference("true risk at the snapshot date (the world continued from it)", func(tenant, customer string, asOf time.Time, horizon int) (float64, bool) {
		if p, _, ok := risk.Risk(customer, asOf, horizon); ok && tenant == gen.Tenant {
			return p, true
		}
		if horizon == metrics.Horizons[0] {
			missing++ // counted once per row
		}
		return truth.RiskKnownAt(tenant, customer, asOf, horizon)
	}, test, metrics.Horizons[:3])
	refKnown := Reference("true hazards known at the snapshot date (truth.csv)", truth.RiskKnownAt, test, metrics.Horizons[:3])
	refLater := Reference("true hazards with those of later invoices (sees the future)", truth.Risk, test, metrics.Horizons[:3])
	opt := r.options(model.Behaviour, synthDefaults)
	res, err := r.train(ctx, "train behaviour model", train, opt)
	if err != nil {
		return err
	}
	gbm, gbmRefs, err := r.gbm(ctx, res, train, test)
	if err != nil {
		return err
	}
	r.res.GBM = gbm
	var rep *metrics.Report
	if err := r.step("evaluate on the test dates", func() (string, error) {
		var err error
		rep, err = training.Evaluate(res.Artifact, test, nil, append([]training.Reference{ref, refKnown, refLater}, gbmRefs...)...)
		return fmt.Sprintf("%d rows, %d events", test.Len(), countEvents(test)), err
	}); err != nil {
		return err
	}
	r.res.Inputs = inputs(res.Artifact)
	r.res.Reports = append(r.res.Reports, NamedReport{Name: "behaviour model on the test dates", Report: rep})
	if r.res.Groups, err = groups(res.Artifact, test); err != nil {
		return err
	}
	var tr, tk, tl metrics.Scores
	for _, o := range rep.Others {
		switch o.Name {
		case ref.Name:
			tr = o
		case refKnown.Name:
			tk = o
		case refLater.Name:
			tl = o
		}
	}
	auc, tAUC := rep.Model.AUC["90d"], tr.AUC["90d"]
	br, tBr := rep.Model.Brier["90d"], tr.Brier["90d"]
	r.res.Protocol = fmt.Sprintf("Synthetic world of %d customers x %d months (seed %d). Behaviour model trained on %d customer snapshots at %d monthly dates %s..%s "+
		"with the labels known on %s (every training row has 90+ days of follow-up; early stopping on the latest dates), tested on %d snapshots at %s..%s with 90+ days of follow-up. "+
		"The target's reference is scikit-learn gradient boosting (HistGradientBoostingClassifier, quality/reference_gbm.py) trained on the same training rows, inputs and labels "+
		"(behind within 90 days as the model's training labels know it; rows censored before 90 days left out), fitted on the same training and validation rows with scikit-learn's own early stopping (a random 10%% held out), scored on the same test rows, "+
		"once with monotonic_cst from the model's declared directions and once without; the better of the two test AUCs is the reference. "+
		"Shown next to it as the Bayes bound (not a target: it knows the hidden state no model of the observable data sees): the world's true risk of a row, the probability of falling behind within the horizon "+
		"given everything the simulator knows at the snapshot date, estimated by continuing the customer's world from it %d times with draws of its own "+
		"(synth.TrueRisk; %d of %d rows had no estimate and take the hazards of truth.csv known at the snapshot date); "+
		"and those hazards of truth.csv (an invoice issued later takes the hazard of the customer's latest invoice issued by then; the target's reference before the world responded to actions) "+
		"and the hazards of the later invoices too (sees the future).",
		r.cfg.Customers, r.cfg.Months, r.cfg.Seed, train.Len(), monthsBetween(firstTrain, lastTrain)+1, firstTrain.Format(time.DateOnly), lastTrain.Format(time.DateOnly),
		known.Format(time.DateOnly), test.Len(), firstTest.Format(time.DateOnly), lastTest.Format(time.DateOnly), synth.DefaultReplicates, missing, test.Len())
	r.res.Checks = append(r.res.Checks, gbmChecks(auc, gbm)...)
	r.res.Checks = append(r.res.Checks,
		Check{Metric: "AUC gap to the true risk at the snapshot date (90d; the Bayes bound, knows the hidden state: not a target)", Duewise: tAUC - auc,
			Reference: fmt.Sprintf("%.4f (AUC of the true risk)", tAUC), Pass: true},
		Check{Metric: "Brier score at 90 days", Duewise: br, Reference: fmt.Sprintf("%.4f (true risk at the snapshot date)", tBr), Pass: true},
		Check{Metric: "Brier gap to the true risk (90d)", Duewise: br - tBr, Reference: "0", Pass: true},
		Check{Metric: "AUC behind within 30 days", Duewise: rep.Model.AUC["30d"], Reference: fmt.Sprintf("%.4f (true risk)", tr.AUC["30d"]), Pass: true},
		Check{Metric: "AUC gap to the true hazards known at the snapshot date (90d, truth.csv: the reference before the world responded to actions)", Duewise: tk.AUC["90d"] - auc,
			Reference: fmt.Sprintf("%.4f (AUC of those hazards)", tk.AUC["90d"]), Pass: true},
		Check{Metric: "AUC gap to the true hazards with those of later invoices (90d, sees the future)", Duewise: tl.AUC["90d"] - auc,
			Reference: fmt.Sprintf("%.4f (AUC of those hazards)", tl.AUC["90d"]), Pass: true},
	)
	refNames := []string{ref.Name, refKnown.Name, refLater.Name}
	for _, g := range gbmRefs {
		refNames = append(refNames, g.Name)
	}
	for _, o := range rep.Others {
		if v, ok := o.AUC["90d"]; ok && !slices.Contains(refNames, o.Name) {
			r.res.Checks = append(r.res.Checks, Check{Metric: "AUC 90d, duewise " + o.Name + " baseline", Duewise: v, Reference: "-", Pass: true})
		}
	}
	r.res.Checks = append(r.res.Checks, monotoneCheck(rep))
	return nil
}

// Reference returns the true risk (Truth.Risk or Truth.RiskKnownAt) of
// falling behind within each of the horizons (days; a subset of
// metrics.Horizons, nil for the others) for every row of d, as a
// training.Reference named name to evaluate next to a model. Rows of
// customers the truth does not know get risk 0.
func Reference(name string, risk func(tenant, customer string, asOf time.Time, horizon int) (float64, bool), d *training.Dataset, horizons []int) training.Reference {
	ref := training.Reference{Name: name, Risk: make([][]float64, len(metrics.Horizons))}
	for h, hd := range metrics.Horizons {
		use := false
		for _, x := range horizons {
			use = use || x == hd
		}
		if !use {
			continue
		}
		ref.Risk[h] = make([]float64, d.Len())
		for i := range ref.Risk[h] {
			ref.Risk[h][i], _ = risk(d.Tenant[i], d.CustomerID[i], day(d.AsOf[i]), hd)
		}
	}
	return ref
}

// gbm fits the target's reference on the model's training and validation
// rows and scores the test rows (gbmFit); without python3 and
// scikit-learn it records why the reference is not computed.
func (r *runner) gbm(ctx context.Context, res *training.Result, train, test *training.Dataset) (*GBMReference, []training.Reference, error) {
	g := &GBMReference{}
	var refs []training.Reference
	err := r.step("reference: scikit-learn gradient boosting with and without monotonic_cst", func() (string, error) {
		fit, preds, err := gbmFit(ctx, r.cfg.Python, filepath.Join(r.cfg.WorkDir, "gbm"), gbmRows{
			features: res.Artifact.Features, train: train, trainRows: res.TrainRows, valid: res.ValidRows, test: test, seed: r.cfg.Seed})
		if errors.Is(err, errNoSklearn) {
			g.NotComputed = err.Error()
			return "NOT COMPUTED: " + g.NotComputed, nil
		}
		if err != nil {
			return "", err
		}
		g, refs = fit, gbmReferences(preds)
		return fmt.Sprintf("test AUC 90d with monotonic_cst %.4f (%d trees, %.0fs), without %.4f (%d trees, %.0fs); %d training, %d validation, %d labelled test rows; %s, scikit-learn %s",
			g.Constrained.AUC, g.Constrained.Trees, g.Constrained.Seconds, g.Free.AUC, g.Free.Trees, g.Free.Seconds, g.Rows.Train, g.Rows.Valid, g.Rows.Test, g.Python, g.SKLearn), nil
	})
	return g, refs, err
}

func monthsBetween(a, b time.Time) int {
	return (b.Year()-a.Year())*12 + int(b.Month()) - int(a.Month())
}

// groups compares the model's mean 90-day risk with the observed rate on
// the rows of d for every customer attribute (training.ByAttribute).
func groups(a *model.Artifact, d *training.Dataset) ([]Group, error) {
	preds, err := training.Predictions(a, d, nil)
	if err != nil {
		return nil, err
	}
	return training.ByAttribute(a, d, nil, training.Labelled(a, d, nil, preds)), nil
}
