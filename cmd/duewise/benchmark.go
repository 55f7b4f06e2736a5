package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/duewise/duewise/quality"
)

// defaultData are the public files `benchmark quality` reads by default,
// relative to the repository root (they are never copied into the repo).
var defaultData = map[string]string{
	quality.UCI:    "../shared/data/UCI_Credit_Card.csv",
	quality.IBMAR:  "../shared/data/WA_Fn-UseC_-Accounts-Receivable.csv",
	quality.German: "../shared/data/german_credit.csv",
}

func newBenchmarkCmd(g *globals) *cobra.Command {
	c := &cobra.Command{
		Use:   "benchmark quality",
		Short: "Measure duewise against reference figures on public and synthetic data",
		Args:  cobra.NoArgs,
	}
	c.AddCommand(newBenchmarkQualityCmd(g))
	return c
}

func newBenchmarkQualityCmd(g *globals) *cobra.Command {
	cfg := quality.DefaultConfig()
	var out, hidden string
	monotone := true
	c := &cobra.Command{
		Use:   "quality --dataset uci|ibm-ar|synthetic|german-credit [--data PATH] [--customers N] [--seed S] [--out DIR]",
		Short: "Run import, features, training and evaluation on a dataset and compare with the reference figures",
		Long: `Quality runs the whole duewise path for real on one dataset and prints the
model's metrics next to reference figures and targets (docs/benchmarks.md):

  uci        UCI credit-card default: import, signals at 2005-10-01, label
             "default next month"; 5-fold cross-validation by customer.
             Target: AUC >= 0.78 without SEX, MARRIAGE, AGE, EDUCATION
             (scikit-learn gradient boosting 0.780 +/- 0.009, logistic
             regression 0.722).
  ibm-ar     IBM accounts receivable: invoice model trained on invoices
             issued before the 70% quantile of invoice dates (labels as
             known then), tested on the later ones. Target: AUC >= 0.85
             for "paid after the due date" (reference 0.848 with customer
             history, 0.588 with the invoice's own data only).
  synthetic  A generated world (--customers, default 100,000; 24 months):
             behaviour model trained on monthly snapshots before the test
             dates, tested on the later ones. Target: 90-day AUC within
             0.02 of the AUC of the world's true risk at the snapshot
             date (the world continued from it; the true hazards of
             truth.csv are shown next to it).
  german-credit
             German credit applications (german_credit.csv): imported
             as with 'datasets import applications' (Class = Bad;
             Age, Personal.*, ForeignWorker left out), onboarding model,
             5-fold cross-validation stratified by outcome. Target: AUC
             of Bad at least that of scikit-learn gradient boosting on
             the same columns and folds (computed with python3-sklearn
             when present, else SOURCE.md's 0.781 on all 61 columns).

The data is loaded into a temporary embedded store that is removed at the
end, unless --store (or DUEWISE_STORE) or --clickhouse names one; then it
is loaded there as the tenant quality-<dataset> (synthetic:
quality-synthetic-<customers>x<months>-<seed>; loading is idempotent).

Exit status: 0 when every target is met, 3 when a target is missed (the
table says which), 1 on an error.`,
		Example: `  duewise benchmark quality --dataset uci
  duewise benchmark quality --dataset ibm-ar --data ../shared/data/WA_Fn-UseC_-Accounts-Receivable.csv --out bench/
  duewise benchmark quality --dataset synthetic --customers 100000 --seed 1 --out bench/`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cfg.Dataset == "" {
				return fmt.Errorf("--dataset: required (uci, ibm-ar, synthetic or german-credit)")
			}
			if cfg.Data == "" {
				cfg.Data = defaultData[cfg.Dataset]
			}
			cfg.Train.Unconstrained = !monotone
			if hidden != "" {
				var err error
				if cfg.Train.Hidden, err = parseHidden(hidden); err != nil {
					return err
				}
			}
			work, err := os.MkdirTemp("", "duewise-quality-")
			if err != nil {
				return fmt.Errorf("temporary folder: %w", err)
			}
			defer os.RemoveAll(work)
			cfg.WorkDir = filepath.Join(work, "data")
			if err := cfg.Validate(); err != nil {
				return err
			}
			if cfg.Dataset != quality.Synthetic {
				fi, err := os.Stat(cfg.Data)
				if err != nil {
					return fmt.Errorf("--data: %w (download it as described in docs/public-datasets.md, or pass its path)", err)
				}
				if fi.IsDir() { // the folder that holds the file
					cfg.Data = filepath.Join(cfg.Data, filepath.Base(defaultData[cfg.Dataset]))
				}
			}
			gg := *g
			if g.clickhouse == "" && !cmd.Flags().Changed("store") && os.Getenv("DUEWISE_STORE") == "" {
				gg.store = filepath.Join(work, "store")
			}
			ctx := cmd.Context()
			e, err := gg.openWarehouse(ctx)
			if err != nil {
				return err
			}
			defer e.Close()
			cfg.Progress, cfg.Log = cmd.ErrOrStderr(), g.log
			fmt.Fprintf(cmd.ErrOrStderr(), "benchmark %s on %s\n", cfg.Dataset, gg.where())
			res, err := quality.Run(ctx, e, cfg)
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			fmt.Fprintln(w)
			if err := res.WriteText(w); err != nil {
				return err
			}
			if out != "" {
				j, t, err := res.Save(out)
				if err != nil {
					return err
				}
				fmt.Fprintf(w, "\nsaved %s and %s\n", j, t)
			}
			if !res.Passed() {
				return &exitError{code: 3, err: fmt.Errorf("quality targets missed on %s: %s", cfg.Dataset, strings.Join(res.Failed(), "; "))}
			}
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&cfg.Dataset, "dataset", "", "uci, ibm-ar, synthetic or german-credit (required)")
	f.StringVar(&cfg.Data, "data", "", "source file of a public dataset, or the folder that holds it (default ../shared/data/UCI_Credit_Card.csv, ../shared/data/WA_Fn-UseC_-Accounts-Receivable.csv or ../shared/data/german_credit.csv)")
	f.IntVar(&cfg.Customers, "customers", cfg.Customers, "synthetic: customers in the generated world")
	f.IntVar(&cfg.Months, "months", cfg.Months, "synthetic: simulated months")
	f.Int64Var(&cfg.Seed, "seed", cfg.Seed, "seed of the world, the folds and the networks")
	f.IntVar(&cfg.Folds, "folds", cfg.Folds, "uci, german-credit: cross-validation folds")
	f.StringVar(&cfg.Tenant, "tenant", "", "tenant to load the data as (default quality-<dataset>)")
	f.StringVar(&hidden, "hidden", "", "hidden layer sizes, comma separated (default: per dataset, see docs/benchmarks.md)")
	f.IntVar(&cfg.Train.Ensemble, "ensemble", 0, "networks averaged per model (default: per dataset)")
	f.BoolVar(&monotone, "monotone", true, "constrain the models to the declared directions of their inputs; --monotone=false measures the unconstrained models (the monotonicity check then reports their violations)")
	f.StringVar(&out, "out", "", "folder to save quality-<dataset>.json and quality-<dataset>.txt")
	return c
}
