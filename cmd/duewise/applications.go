package main

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/spf13/cobra"

	"github.com/duewise/duewise/datasets/applications"
	"github.com/duewise/duewise/features"
)

// maxRejectsShown is the number of rejected rows printed one by one.
const maxRejectsShown = 20

func newImportApplicationsCmd() *cobra.Command {
	opt := applications.Options{}
	var outcome, asOf, out string
	c := &cobra.Command{
		Use:   "applications FILE --id COL [--date COL] --outcome COL=VALUE [--follow-up-days N] --out FILE",
		Short: "Turn a table of past applications with a yes/no outcome into onboarding training rows",
		Long: `Import applications converts a CSV table of past applications, one row per
applicant with a yes/no outcome, into onboarding training rows (the
snapshot schema 'duewise train --kind onboarding' reads):

  --id COL             the applicant id (required, unique): customer_id;
                       --id @row numbers the rows 1, 2, ... instead
  --date COL           the application date (YYYY-MM-DD): as_of. Without
                       --date every row gets the same as_of (--as-of,
                       default today minus the follow-up).
  --outcome COL=VALUE  an outcome equal to VALUE means the applicant fell
                       behind within the follow-up: event 1 at
                       duration_days = follow-up; any other value is
                       event 0, censored at the end of the follow-up
                       (event-free through it: duration_days =
                       follow-up + 1, as in the UCI benchmark, so that
                       the metrics at that horizon count it).
  --follow-up-days N   the follow-up in days (default 365).

Every other column becomes a model input: numeric when every non-empty
cell is a number (empty = missing), categorical otherwise. Protected
attributes (sex, age, marital status, education, nationality... and the
German credit data's Personal.* and ForeignWorker) are always left out,
named in a note: no flag keeps them, as training refuses them.

A bad row (missing or duplicate id, unparsable date, missing outcome, wrong
number of fields) is reported with file:line:column and left out; the
other rows are written, and the exit code is 2 when any row was rejected.
--out is .parquet or .arrow (.csv for other tools). See
docs/public-datasets.md.`,
		Example: `  duewise datasets import applications ../shared/data/german_credit.csv --id @row --outcome Class=Bad --out german.parquet
  duewise train --kind onboarding --snapshots german.parquet --out .duewise/models`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opt.Path = args[0]
			if out == "" {
				return fmt.Errorf("--out is required")
			}
			var ok bool
			if opt.Outcome, opt.Value, ok = strings.Cut(outcome, "="); !ok {
				return fmt.Errorf("--outcome %q: want COLUMN=VALUE", outcome)
			}
			days := opt.FollowUpDays
			if days == 0 {
				days = applications.DefaultFollowUpDays
			}
			opt.AsOf = time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -days)
			if asOf != "" {
				d, err := time.Parse(time.DateOnly, asOf)
				if err != nil {
					return fmt.Errorf("--as-of %q: want YYYY-MM-DD", asOf)
				}
				opt.AsOf = d
			}
			res, err := applications.Import(cmd.Context(), opt)
			if err != nil {
				return err
			}
			defer res.Record.Release()
			rr, err := array.NewRecordReader(res.Record.Schema(), []arrow.Record{res.Record})
			if err != nil {
				return err
			}
			defer rr.Release()
			rows, err := features.WriteFile(cmd.Context(), out, rr)
			if err != nil {
				return err
			}
			return reportApplications(cmd, opt, res, rows, out)
		},
	}
	f := c.Flags()
	f.StringVar(&opt.ID, "id", "", "column of the applicant id (required; @row numbers the rows)")
	f.StringVar(&opt.Date, "date", "", "column of the application date (as_of); without it every row gets --as-of")
	f.StringVar(&asOf, "as-of", "", "as_of of every row when there is no --date (YYYY-MM-DD; default today minus the follow-up)")
	f.StringVar(&outcome, "outcome", "", "COLUMN=VALUE: the outcome meaning 'fell behind within the follow-up' (required)")
	f.IntVar(&opt.FollowUpDays, "follow-up-days", applications.DefaultFollowUpDays, "follow-up in days: the duration of every row")
	f.StringVar(&opt.Tenant, "tenant", os.Getenv(tenantEnv), "tenant written in every row (env "+tenantEnv+"; default applications)")
	f.StringVar(&out, "out", "", "training rows file to write (.parquet or .arrow)")
	return c
}

// reportApplications prints what the import did and returns an exit
// error when rows were rejected.
func reportApplications(cmd *cobra.Command, opt applications.Options, res *applications.Result, rows int64, out string) error {
	w, ew := cmd.OutOrStdout(), cmd.ErrOrStderr()
	fmt.Fprintf(w, "read %d applications from %s: %d written to %s (%d with %s = %s), %d rejected\n",
		res.SourceRows, opt.Path, rows, out, res.Events, opt.Outcome, opt.Value, len(res.Rejected))
	fmt.Fprintf(w, "inputs: %d numeric, %d categorical\n", len(res.Numeric), len(res.Categorical))
	if len(res.Protected) > 0 {
		fmt.Fprintf(w, "note: %d protected attributes left out (never model inputs): %s\n", len(res.Protected), strings.Join(res.Protected, ", "))
	}
	if len(res.Rejected) == 0 {
		return nil
	}
	for i, r := range res.Rejected {
		if i == maxRejectsShown {
			fmt.Fprintf(ew, "... and %d more\n", len(res.Rejected)-i)
			break
		}
		fmt.Fprintln(ew, r.Err)
	}
	return &exitError{code: 2, err: fmt.Errorf("%d of %d rows rejected (listed above); the other %d were written", len(res.Rejected), res.SourceRows, rows)}
}
