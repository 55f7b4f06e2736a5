package quality

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"time"

	"github.com/duewise/duewise/datasets"
	"github.com/duewise/duewise/features"
	"github.com/duewise/duewise/model"
	"github.com/duewise/duewise/training"
	"github.com/duewise/duewise/training/metrics"
	"github.com/duewise/duewise/warehouse"
)

// Run runs the benchmark of cfg.Dataset for real, end to end: it converts
// the public file (or generates the synthetic world) into contract files
// in cfg.WorkDir, loads them into eng as cfg.Tenant, computes point-in-time
// snapshots with package features, trains on the earlier part (or the
// training folds) and evaluates on the later part (or the held-out fold).
// eng is migrated for the datasets and features tables. A missed target
// is not an error: see Result.Passed.
func Run(ctx context.Context, eng warehouse.Engine, cfg Config) (*Result, error) {
	cfg.defaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("quality benchmark: %w", err)
	}
	r := &runner{cfg: cfg, eng: eng, res: &Result{Dataset: cfg.Dataset, Source: cfg.Data, Seed: cfg.Seed, Started: time.Now().UTC().Truncate(time.Second)}}
	start := time.Now()
	if _, err := warehouse.Migrate(ctx, eng, append(datasets.Migrations(), features.Migrations()...)); err != nil {
		return nil, fmt.Errorf("quality benchmark: %w", err)
	}
	var err error
	switch cfg.Dataset {
	case UCI:
		err = r.uci(ctx)
	case IBMAR:
		err = r.ibm(ctx)
	case Synthetic:
		err = r.synthetic(ctx)
	case German:
		err = r.german(ctx)
	}
	if err != nil {
		return nil, fmt.Errorf("quality benchmark %s: %w", cfg.Dataset, err)
	}
	r.res.Seconds = time.Since(start).Seconds()
	return r.res, nil
}

// runner carries one run's state.
type runner struct {
	cfg Config
	eng warehouse.Engine
	res *Result
}

// step runs fn, records its wall time under name and prints a progress
// line with the detail fn returns.
func (r *runner) step(name string, fn func() (string, error)) error {
	fmt.Fprintf(r.cfg.Progress, "%s ...\n", name)
	t0 := time.Now()
	detail, err := fn()
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	s := Step{Name: name, Seconds: time.Since(t0).Seconds(), Detail: detail}
	r.res.Steps = append(r.res.Steps, s)
	fmt.Fprintf(r.cfg.Progress, "%s: %s (%.1fs)\n", name, detail, s.Seconds)
	return nil
}

// load ingests the contract files of dir into the store as the run's
// tenant, through the same Loader as `duewise ingest`.
func (r *runner) load(ctx context.Context, dir string) error {
	return r.step("load into the warehouse", func() (string, error) {
		lc := datasets.DefaultLoaderConfig()
		lc.Tenant, lc.Log, lc.RejectsDir = r.cfg.Tenant, r.cfg.Log, filepath.Join(r.cfg.WorkDir, "rejects")
		l, err := datasets.NewLoader(r.eng, lc)
		if err != nil {
			return "", err
		}
		sum, err := l.LoadPaths(ctx, []string{dir})
		if err != nil {
			return "", err
		}
		if sum.Total.Rejected > 0 {
			return "", fmt.Errorf("%d of %d rows rejected (see %s)", sum.Total.Rejected, sum.Total.Read, lc.RejectsDir)
		}
		return fmt.Sprintf("%d rows, tenant %s", sum.Total.Read, r.cfg.Tenant), nil
	})
}

// snapshot computes a snapshot of the run's tenant into a Dataset.
func (r *runner) snapshot(ctx context.Context, name string, opt features.SnapshotOptions) (*training.Dataset, error) {
	var d *training.Dataset
	err := r.step(name, func() (string, error) {
		opt.Tenant = r.cfg.Tenant
		rr, err := features.Snapshot(ctx, r.eng, opt)
		if err != nil {
			return "", err
		}
		defer rr.Release()
		if d, err = training.Load(rr); err != nil {
			return "", err
		}
		return fmt.Sprintf("%d rows x %d inputs", d.Len(), len(d.NumNames)+len(d.CatNames)), nil
	})
	return d, err
}

// train fits a model on d with the run's options (defaults per dataset
// filled in by the caller), logging the epochs at debug level.
func (r *runner) train(ctx context.Context, name string, d *training.Dataset, opt training.Options) (*training.Result, error) {
	var res *training.Result
	err := r.step(name, func() (string, error) {
		opt.Log = r.cfg.Log
		opt.CodeVersion = "quality-benchmark"
		var err error
		if res, err = training.Train(ctx, d, opt); err != nil {
			return "", err
		}
		return fmt.Sprintf("%d training rows, %d validation rows, best epochs %v", len(res.TrainRows), len(res.ValidRows), res.BestEpochs), nil
	})
	return res, err
}

// options merges the configured training options over the dataset's
// defaults: a zero field of Config.Train takes the default.
func (r *runner) options(kind model.Kind, def training.Options) training.Options {
	o := r.cfg.Train
	o.Kind, o.Seed = kind, r.cfg.Seed
	if o.Hidden == nil {
		o.Hidden = def.Hidden
	}
	o.Epochs, o.Patience, o.BatchSize = or(o.Epochs, def.Epochs), or(o.Patience, def.Patience), or(o.BatchSize, def.BatchSize)
	o.LearnRate, o.L2, o.ValidFraction = or(o.LearnRate, def.LearnRate), or(o.L2, def.L2), or(o.ValidFraction, def.ValidFraction)
	o.Ensemble, o.Average = or(o.Ensemble, def.Ensemble), or(o.Average, def.Average)
	return o
}

// or returns v, or def when v is the zero value.
func or[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// inputs lists a model's input names.
func inputs(a *model.Artifact) []string {
	out := make([]string, len(a.Features))
	for i, f := range a.Features {
		out[i] = f.Name
	}
	return out
}

// keepColumns returns d restricted to the named input columns (the rows
// and labels are shared with d).
func keepColumns(d *training.Dataset, names ...string) *training.Dataset {
	s := *d
	s.NumNames, s.Num, s.CatNames, s.Cat = nil, nil, nil, nil
	for j, n := range d.NumNames {
		if slices.Contains(names, n) {
			s.NumNames, s.Num = append(s.NumNames, n), append(s.Num, d.Num[j])
		}
	}
	for j, n := range d.CatNames {
		if slices.Contains(names, n) {
			s.CatNames, s.Cat = append(s.CatNames, n), append(s.Cat, d.Cat[j])
		}
	}
	return &s
}

// day converts a Dataset day number to a time.
func day(d int32) time.Time { return time.Unix(int64(d)*86400, 0).UTC() }

// crossValidate trains opt on every fold's other folds and evaluates on
// the fold (training.Evaluate), for each fold in turn: it records the
// held-out predictions at horizon index hi, one NamedReport per fold
// (what names the rows) and the first fold's inputs, and returns the
// reports with the AUC and Brier at horizon key. A fold without cases or
// controls at key is an error.
func (r *runner) crossValidate(ctx context.Context, d *training.Dataset, folds [][]int, opt training.Options, key string, hi int, what string) (reps []*metrics.Report, auc, brier []float64, err error) {
	for f, test := range folds {
		res, err := r.train(ctx, fmt.Sprintf("train fold %d/%d", f+1, len(folds)), d.Subset(otherFolds(folds, f)), opt)
		if err != nil {
			return nil, nil, nil, err
		}
		rep, err := training.Evaluate(res.Artifact, d, test)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("evaluate fold %d: %w", f+1, err)
		}
		a, ok := rep.Model.AUC[key]
		if !ok {
			return nil, nil, nil, fmt.Errorf("fold %d: no %s AUC (no cases or no controls in the fold)", f+1, key)
		}
		preds, err := training.Predictions(res.Artifact, d, test)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("score fold %d: %w", f+1, err)
		}
		for i, row := range test {
			r.res.Predictions = append(r.res.Predictions, Prediction{CustomerID: d.CustomerID[row], Fold: f + 1, Risk: preds[i].P[hi], Event: d.Event[row] == 1})
		}
		reps, auc, brier = append(reps, rep), append(auc, a), append(brier, rep.Model.Brier[key])
		fmt.Fprintf(r.cfg.Progress, "fold %d/%d: AUC %.4f\n", f+1, len(folds), a)
		r.res.Reports = append(r.res.Reports, NamedReport{Name: fmt.Sprintf("fold %d (%d held-out %s)", f+1, len(test), what), Report: rep})
		if f == 0 {
			r.res.Inputs = inputs(res.Artifact)
		}
	}
	return reps, auc, brier, nil
}

// otherFolds returns the rows of every fold but f, sorted.
func otherFolds(folds [][]int, f int) []int {
	var rows []int
	for g, fr := range folds {
		if g != f {
			rows = append(rows, fr...)
		}
	}
	slices.Sort(rows)
	return rows
}
