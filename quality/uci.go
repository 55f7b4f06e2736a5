package quality

import (
	"context"
	"fmt"
	"math/rand"
	"path/filepath"
	"slices"

	"github.com/duewise/duewise/datasets/public"
	"github.com/duewise/duewise/features"
	"github.com/duewise/duewise/model"
	"github.com/duewise/duewise/training"
)

// UCI reference figures (../shared/data/SOURCE.md): scikit-learn 1.2,
// 5-fold stratified cross-validation on the 19 columns left after
// dropping SEX, MARRIAGE, AGE and EDUCATION.
const (
	UCITargetAUC  = 0.78
	uciRefGBM     = "0.780 ± 0.009 (sklearn gradient boosting, 19 raw columns, 5-fold CV)"
	uciRefLR      = "0.722 (sklearn logistic regression, 19 raw columns, 5-fold CV)"
	uciEventDays  = 30 // "default next month": an event within the first 30 days
	uciNoEventDur = 31 // no default next month: event-free through day 30, censored after
)

// uciDefaults are the network options of the UCI benchmark.
var uciDefaults = training.Options{Hidden: []int{64, 32}, Epochs: 60, Patience: 5, BatchSize: 256, LearnRate: 0.001, L2: 1e-4, Ensemble: 5}

// uci: import, load, one customer snapshot at 2005-10-01 (the labels'
// reference date) with the labels of labels.csv, 5-fold cross-validation
// by customer.
func (r *runner) uci(ctx context.Context) error {
	dir := filepath.Join(r.cfg.WorkDir, "uci")
	var imp public.Result
	if err := r.step("import UCI credit card default", func() (string, error) {
		var err error
		imp, err = public.ImportUCI(ctx, r.cfg.Data, r.cfg.Tenant, dir)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("%d card holders -> %d invoices, %d payments", imp.SourceRows, imp.Rows["invoices"], imp.Rows["payments"]), nil
	}); err != nil {
		return err
	}
	if err := r.load(ctx, dir); err != nil {
		return err
	}
	// The labels come from labels.csv, not from the history (which ends
	// on the reference date), so the snapshot's own labels are unused;
	// the threshold is set to its maximum so that no customer is left out
	// as "already behind" and all 30,000 card holders are scored, as in
	// the reference.
	d, err := r.snapshot(ctx, "snapshot at 2005-10-01", features.SnapshotOptions{
		From: public.UCIAsOf, To: public.UCIAsOf, Every: "1mo", Level: features.LevelCustomer, Threshold: 3650})
	if err != nil {
		return err
	}
	if err := applyUCILabels(d, filepath.Join(dir, "labels.csv")); err != nil {
		return err
	}
	folds := foldsByCustomer(d.CustomerID, r.cfg.Folds, r.cfg.Seed)
	opt := r.options(model.Behaviour, uciDefaults)
	reps, auc, brier, err := r.crossValidate(ctx, d, folds, opt, "30d", 0, "card holders")
	if err != nil {
		return err
	}
	var lr []float64
	for _, rep := range reps {
		for _, o := range rep.Others {
			if v, ok := o.AUC["30d"]; ok && o.Name == "logistic regression (30d)" {
				lr = append(lr, v)
			}
		}
	}
	r.res.Protocol = fmt.Sprintf("UCI default of credit card clients (%d card holders, %d defaults), imported into the data contract; "+
		"signals computed point-in-time at 2005-10-01 by package features (SEX, MARRIAGE, AGE, EDUCATION are never read); "+
		"label default.payment.next.month as 'behind within 30 days'; %d-fold cross-validation by customer (seed %d), "+
		"each fold a %d-network ensemble with early stopping on a random 20%% of its training customers.",
		d.Len(), countEvents(d), len(folds), r.cfg.Seed, opt.Ensemble)
	m, sd := meanSD(auc)
	r.res.Checks = append(r.res.Checks, Check{Metric: "AUC default next month (CV mean)", Duewise: m, SD: sd, Reference: uciRefGBM,
		Target: fmt.Sprintf(">= %.2f", UCITargetAUC), Pass: m >= UCITargetAUC})
	if len(lr) == len(auc) {
		m, sd := meanSD(lr)
		r.res.Checks = append(r.res.Checks, Check{Metric: "AUC, duewise logistic-regression baseline", Duewise: m, SD: sd, Reference: uciRefLR, Pass: true})
	}
	m, sd = meanSD(brier)
	base := float64(countEvents(d)) / float64(d.Len())
	r.res.Checks = append(r.res.Checks, Check{Metric: "Brier score at 30 days (CV mean)", Duewise: m, SD: sd,
		Reference: fmt.Sprintf("%.4f (always predicting the %.2f%% base rate)", base*(1-base), 100*base), Pass: true},
		monotoneCheck(reps...))
	return nil
}

// applyUCILabels replaces d's labels with those of labels.csv: a default
// next month is an event at day 30, no default is event-free through day
// 30 and censored after it (nothing is known about later months).
func applyUCILabels(d *training.Dataset, path string) error {
	ev := map[string]uint8{}
	err := readCSV(path, []string{"customer_id", "event"}, func(loc string, v []string) error {
		switch v[1] {
		case "0", "1":
			ev[v[0]] = v[1][0] - '0'
			return nil
		}
		return fmt.Errorf("%s: event %q: want 0 or 1", loc, v[1])
	})
	if err != nil {
		return err
	}
	for i, c := range d.CustomerID {
		e, ok := ev[c]
		if !ok {
			return fmt.Errorf("%s: no label for customer %s", path, c)
		}
		d.Event[i], d.Duration[i] = e, uciNoEventDur
		if e == 1 {
			d.Duration[i] = uciEventDays
		}
	}
	return nil
}

// foldsByCustomer assigns every customer to one of k folds at random
// (seeded) and returns the row indexes of each fold: the rows of a
// customer stay together.
func foldsByCustomer(customers []string, k int, seed int64) [][]int {
	ids := slices.Clone(customers)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	rng := rand.New(rand.NewSource(seed))
	rng.Shuffle(len(ids), func(a, b int) { ids[a], ids[b] = ids[b], ids[a] })
	fold := make(map[string]int, len(ids))
	for i, id := range ids {
		fold[id] = i % k
	}
	out := make([][]int, k)
	for i, c := range customers {
		out[fold[c]] = append(out[fold[c]], i)
	}
	return out
}

func countEvents(d *training.Dataset) int {
	n := 0
	for _, e := range d.Event {
		n += int(e)
	}
	return n
}
