package main

import (
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/duewise/duewise/datasets/synth"
	"github.com/duewise/duewise/simulation"
)

func newGenerateCmd(g *globals) *cobra.Command {
	cfg := synth.DefaultConfig()
	cfg.Out = ""
	var start, end, policy string
	c := &cobra.Command{
		Use:   "generate --out DIR [--customers N] [--months M] [--seed S] [--tenant T] [--format csv|parquet] [--start YYYY-MM | --end YYYY-MM-DD|today] [--policy P]",
		Short: "Write a synthetic payment world: one file per data-contract table plus truth.csv",
		Long: `Generate simulates customers of a creditor month by month (reliable and
forgetful payers, life events, chronic non-payers, business customers),
with direct debits, dunning, arrangements, disputes and customer events,
and writes one file per data-contract table into --out, plus truth.csv:
the true monthly probability that each customer's invoice goes 30 or more
days unpaid past due, and the hidden state behind it.

The creditor follows --policy (default standard: reminders at 7 and 21
days past due, the 14-day letter at 35, collection at 50); none acts from
the first month too. default (duewise's action policy) or a policy FILE
needs a model trained on the world's earlier months: it acts over the
last 12 months, after the standard policy before them (docs/simulation.md).

The same flags and seed always give byte-identical files. The world starts
on --start (default 2024-11, so 24 months end on 2026-11-01), or ends on
--end: nothing at or after 00:00 UTC on that day exists, and the months
count back from it; --end today makes a world whose last events happened
yesterday, for a demo whose online features describe today. See
docs/synthetic-world.md.`,
		Example: `  duewise generate --customers 5000 --months 24 --out demo
  duewise generate --customers 5000 --end today --out demo
  duewise generate --customers 100000 --seed 7 --format parquet --out big
  duewise ingest --tenant demo demo/`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if end != "" {
				if cmd.Flags().Changed("start") {
					return fmt.Errorf("--start and --end: give one (the world has --months months)")
				}
				t, err := parseEnd(end, time.Now())
				if err != nil {
					return err
				}
				cfg.End = t
			} else if start != "" {
				t, err := time.Parse("2006-01", start)
				if err != nil {
					return fmt.Errorf("--start %q: want YYYY-MM", start)
				}
				cfg.Start = t
			}
			cfg.Log = g.log
			st, err := simulation.Generate(cmd.Context(), cfg, policy, simulation.DefaultConfig().HorizonMonths, simulation.DefaultConfig().TrainCustomers)
			if err != nil {
				return err
			}
			printRows(cmd.OutOrStdout(), st.Rows, st.Elapsed)
			span := fmt.Sprintf("from %s", cfg.Start.Format(time.DateOnly))
			if !cfg.End.IsZero() {
				span = fmt.Sprintf("up to %s", cfg.End.Format(time.DateOnly))
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %d customers x %d months %s (seed %d, tenant %s, policy %s) to %s\n", cfg.Customers, cfg.Months, span, cfg.Seed, cfg.Tenant, policy, cfg.Out)
			return nil
		},
	}
	f := c.Flags()
	f.IntVar(&cfg.Customers, "customers", cfg.Customers, "number of customers")
	f.IntVar(&cfg.Months, "months", cfg.Months, "number of months")
	f.Int64Var(&cfg.Seed, "seed", cfg.Seed, "random seed; the same seed gives the same files")
	f.StringVar(&cfg.Tenant, "tenant", envOr(tenantEnv, cfg.Tenant), "tenant written in every row (env "+tenantEnv+")")
	f.StringVar(&cfg.Format, "format", cfg.Format, "file format: csv or parquet")
	f.StringVar(&start, "start", cfg.Start.Format("2006-01"), "first simulated month, YYYY-MM")
	f.StringVar(&end, "end", "", "end the world on this day instead, YYYY-MM-DD or today (UTC): nothing at or after its 00:00 UTC is generated")
	f.StringVar(&cfg.Out, "out", "", "output folder (required)")
	f.StringVar(&policy, "policy", "standard", "what the creditor does: none, standard, default or a policy FILE")
	_ = c.MarkFlagRequired("out") // only fails for an unknown flag name
	return c
}

// parseEnd parses --end: YYYY-MM-DD, or today (now's UTC day).
func parseEnd(s string, now time.Time) (time.Time, error) {
	if s == "today" {
		now = now.UTC()
		return time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC), nil
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("--end %q: want YYYY-MM-DD or today", s)
	}
	return t, nil
}

// printRows prints rows per table, sorted by name, and the throughput.
func printRows(w io.Writer, rows map[string]int64, elapsed time.Duration) {
	names := make([]string, 0, len(rows))
	var total int64
	for n, r := range rows {
		names = append(names, n)
		total += r
	}
	slices.Sort(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-16s %12d rows\n", n, rows[n])
	}
	rate := float64(total) / max(elapsed.Seconds(), 1e-9)
	fmt.Fprintf(w, "  %-16s %12d rows in %s (%.0f rows/s)\n", "total", total, elapsed.Round(time.Millisecond), rate)
}
