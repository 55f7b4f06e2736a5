package main

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/duewise/duewise/simulation"
)

func newSimulateCmd(g *globals) *cobra.Command {
	cfg := simulation.DefaultConfig()
	cfg.Policies = nil
	var format, start string
	c := &cobra.Command{
		Use:   "simulate --customers N --months M --seed S --policy P [--policy P2 ...] [--runs R] [--horizon-months 12] [--format table|json] [--out DIR]",
		Short: "Compare what creditors do on a synthetic world that responds to it: money collected, costs, customers kept",
		Long: `Simulate runs the synthetic payment world (docs/synthetic-world.md) once per
policy, with the same customers, life events and random draws for every
policy (common random numbers), and reports over the evaluation horizon
(the last --horizon-months months; before it every world follows the
standard policy) what each policy collected, wrote off and spent, how many
customers it kept and how many good payers it dunned, with 95% intervals
from --runs worlds of seeds S, S+1, ... and a bootstrap over customers.

Policies (--policy, repeatable; default none, standard and default):
  none       no contact at all; collection 90 days after the due date
  standard   the same for every late payer: reminder at due+7, second
             reminder at +21, 14-day letter at +35, collection at +50;
             failed debits retried in the next monthly run
  default    duewise's default action policy (docs/actions.md) on top of
             the standard process, scored by a behaviour model trained on
             the world's months before the horizon
  FILE       a policy file in the format of 'duewise serve --policy', run
             like default

--sensitivity reruns the comparison with every assumed effect halved and
with the leaving effect of dunning switched off, and says for which the
claims still hold. --out DIR also writes each policy's world (data
contract files and truth.csv) into DIR/<policy> (DIR/seed-S/<policy> with
several runs), for 'duewise ingest' and 'duewise sql'. See
docs/simulation.md.`,
		Example: `  duewise simulate --customers 100000 --months 24 --seed 1 --runs 3
  duewise simulate --customers 20000 --months 24 --seed 1 --policy standard --policy my-policy.yaml
  duewise simulate --customers 5000 --months 24 --seed 7 --policy none --policy standard --format json --out sim/`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if format != "table" && format != "json" {
				return fmt.Errorf("--format %q: want table or json", format)
			}
			if start != "" {
				t, err := time.Parse("2006-01", start)
				if err != nil {
					return fmt.Errorf("--start %q: want YYYY-MM", start)
				}
				cfg.Start = t
			}
			if len(cfg.Policies) == 0 {
				cfg.Policies = simulation.DefaultConfig().Policies
			}
			cfg.Log, cfg.Progress = g.log, cmd.ErrOrStderr()
			res, err := simulation.Run(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			if format == "json" {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(res)
			}
			return res.WriteTable(cmd.OutOrStdout())
		},
	}
	f := c.Flags()
	f.IntVar(&cfg.Customers, "customers", cfg.Customers, "customers per world")
	f.IntVar(&cfg.Months, "months", cfg.Months, "simulated months")
	f.Int64Var(&cfg.Seed, "seed", cfg.Seed, "seed of the first run's world (run r uses seed+r)")
	f.StringArrayVar(&cfg.Policies, "policy", nil, "policy to compare: none, standard, default or a policy FILE (repeatable; default none, standard and default)")
	f.IntVar(&cfg.Runs, "runs", cfg.Runs, "worlds of independent seeds, for the intervals")
	f.IntVar(&cfg.HorizonMonths, "horizon-months", cfg.HorizonMonths, "evaluation horizon: the last months of the world, from which the policies act")
	f.StringVar(&format, "format", "table", "output: table or json")
	f.StringVar(&cfg.Out, "out", "", "also write each policy's world files (CSV) into this folder")
	f.BoolVar(&cfg.Sensitivity, "sensitivity", false, "rerun with every assumed effect halved and without the leaving effect of dunning")
	f.StringVar(&cfg.Tenant, "tenant", cfg.Tenant, "tenant written in the world files")
	f.StringVar(&start, "start", cfg.Start.Format("2006-01"), "first simulated month, YYYY-MM")
	f.IntVar(&cfg.Bootstrap, "bootstrap", cfg.Bootstrap, "bootstrap replicates for the intervals")
	f.IntVar(&cfg.TrainCustomers, "train-customers", cfg.TrainCustomers, "customers the in-simulation models are trained on (a sample of each world)")
	return c
}
