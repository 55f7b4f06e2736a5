package main

import (
	"context"
	"fmt"
	"math"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/spf13/cobra"

	"github.com/duewise/duewise/features"
	"github.com/duewise/duewise/warehouse"
)

func newFeaturesCmd(g *globals) *cobra.Command {
	c := &cobra.Command{
		Use:   "features snapshot|refresh|show",
		Short: "Compute payment-behaviour signals: training snapshots, the online table, one customer",
		Long: `Features computes point-in-time payment-behaviour signals in the warehouse
(ClickHouse SQL, the same text on the embedded store and on a server).
A signal at date T uses only events strictly before 00:00 UTC on T.
See docs/features.md for every signal, the labels and the time semantics.`,
	}
	c.AddCommand(newFeaturesSnapshotCmd(g), newFeaturesRefreshCmd(g), newFeaturesShowCmd(g))
	return c
}

// parseDay parses a --flag YYYY-MM-DD value.
func parseDay(flag, s string) (time.Time, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("--%s %q: want YYYY-MM-DD", flag, s)
	}
	return t, nil
}

func newFeaturesSnapshotCmd(g *globals) *cobra.Command {
	var from, to, out, eod string
	var tf tenantFlags
	opt := features.SnapshotOptions{Every: "1mo", Level: features.LevelCustomer, Threshold: features.DefaultThreshold}
	c := &cobra.Command{
		Use:   "snapshot --from DATE --to DATE [--every 1mo] [--tenant T|--all-tenants] [--level customer|invoice|onboarding] [--threshold 30] --out FILE",
		Short: "Write a training snapshot (signals + survival labels) as Parquet or Arrow",
		Long: `Snapshot writes one row per customer and reference date (--level customer:
dates --from, --from + --every, ... up to --to), per invoice at its issue
date (--level invoice: invoices issued in [--from, --to]) or per customer at
its creation date with the signals known at onboarding (--level onboarding:
customers created in [--from, --to]). Columns: tenant, customer_id,
[invoice_id,] as_of, every signal, duration_days, event. The format follows
the extension of --out: .parquet or .arrow.`,
		Example: `  duewise features snapshot --from 2025-01-01 --to 2025-12-01 --every 1mo --tenant demo --out train.parquet
  duewise features snapshot --level invoice --from 2025-01-01 --to 2025-12-31 --out invoices.arrow`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var err error
			if opt.From, err = parseDay("from", from); err != nil {
				return err
			}
			if opt.To, err = parseDay("to", to); err != nil {
				return err
			}
			if eod != "" {
				if opt.EndOfData, err = parseDay("end-of-data", eod); err != nil {
					return err
				}
			}
			if out == "" {
				return fmt.Errorf("--out: required (a .parquet or .arrow file)")
			}
			ctx := cmd.Context()
			e, err := g.openWarehouse(ctx)
			if err != nil {
				return err
			}
			defer e.Close()
			if opt.Tenant, err = tf.inStore(ctx, g, e); err != nil {
				return err
			}
			g.warnAfterData(ctx, e, opt.Tenant, "--to", opt.To, opt.EndOfData)
			start := time.Now()
			bar := g.startBar(cmd, "features snapshot", "customers", 0)
			opt.Progress = reportTo(bar)
			rr, err := features.Snapshot(ctx, e, opt)
			if err != nil {
				bar.Stop()
				return err
			}
			defer rr.Release()
			n, err := features.WriteFile(ctx, out, rr)
			bar.Stop()
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %d rows (%s level, %d columns) to %s in %.1fs\n",
				n, opt.Level, rr.Schema().NumFields(), out, time.Since(start).Seconds())
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&from, "from", "", "first reference date, YYYY-MM-DD (required)")
	f.StringVar(&to, "to", "", "last reference date, YYYY-MM-DD (required)")
	f.StringVar(&opt.Every, "every", opt.Every, "step between reference dates at the customer level: 1mo, 2w, 7d")
	tf.add(c, "", "snapshot every tenant's customers")
	f.StringVar(&opt.Level, "level", opt.Level, "customer, invoice or onboarding")
	f.IntVar(&opt.Threshold, "threshold", opt.Threshold, "days after the due date at which an unpaid invoice means behind")
	f.StringVar(&eod, "end-of-data", "", "last day the data covers, YYYY-MM-DD (default: the latest event date)")
	f.StringVar(&out, "out", "", "output file, .parquet or .arrow (required)")
	return c
}

func newFeaturesRefreshCmd(g *globals) *cobra.Command {
	var asOf string
	var tf tenantFlags
	opt := features.RefreshOptions{Threshold: features.DefaultThreshold}
	c := &cobra.Command{
		Use:   "refresh [--as-of DATE] [--tenant T|--all-tenants] [--threshold 30]",
		Short: "Materialize every customer's latest signals into the table features_latest",
		Long: `Refresh computes every customer's signals and writes them into
features_latest with status ok or behind; the newest refresh of a customer
replaces the earlier one (read it with FINAL, or through duewise serve).
Without --as-of the signals describe the customer now: as of today (UTC),
with today's events known so far (what duewise serve refreshes daily and
when events arrive); with --as-of DATE, as of 00:00 UTC on DATE, as in a
training snapshot.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opt.Live = asOf == ""
			if asOf != "" {
				var err error
				if opt.AsOf, err = parseDay("as-of", asOf); err != nil {
					return err
				}
			}
			ctx := cmd.Context()
			e, err := g.openWarehouse(ctx)
			if err != nil {
				return err
			}
			defer e.Close()
			if opt.Tenant, err = tf.inStore(ctx, g, e); err != nil {
				return err
			}
			if opt.AsOf.IsZero() {
				opt.AsOf = time.Now().UTC()
			}
			g.warnAfterData(ctx, e, opt.Tenant, "--as-of", opt.AsOf, time.Time{})
			bar := g.startBar(cmd, "features refresh", "customers", 0)
			opt.Progress = reportTo(bar)
			st, err := features.Refresh(ctx, e, opt)
			bar.Stop()
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "refreshed %d customers as of %s (%d behind) in %.1fs\n",
				st.Customers, st.AsOf.Format(time.DateOnly), st.Behind, st.Elapsed.Seconds())
			return nil
		},
	}
	c.Flags().StringVar(&asOf, "as-of", "", "reference date, YYYY-MM-DD (default: now, with today's events)")
	tf.add(c, "", "refresh every tenant's customers")
	c.Flags().IntVar(&opt.Threshold, "threshold", opt.Threshold, "days after the due date at which an unpaid invoice means behind")
	return c
}

func newFeaturesShowCmd(g *globals) *cobra.Command {
	var customer, asOf string
	var tf tenantFlags
	threshold := features.DefaultThreshold
	c := &cobra.Command{
		Use:   "show --customer ID [--as-of DATE] [--tenant T]",
		Short: "Print one customer's signals with their names and meaning",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if customer == "" {
				return fmt.Errorf("--customer: required")
			}
			at := time.Now().UTC()
			if asOf != "" {
				var err error
				if at, err = parseDay("as-of", asOf); err != nil {
					return err
				}
			}
			ctx := cmd.Context()
			e, err := g.openWarehouse(ctx)
			if err != nil {
				return err
			}
			defer e.Close()
			tenant, err := tf.inStore(ctx, g, e)
			if err != nil {
				return err
			}
			g.warnAfterData(ctx, e, tenant, "--as-of", at, time.Time{})
			rr, err := features.SignalsAt(ctx, e, tenant, customer, at, threshold)
			if err != nil {
				return err
			}
			defer rr.Release()
			found := 0
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			for rr.Next() {
				rec := rr.Record()
				for i := 0; i < int(rec.NumRows()); i++ {
					found++
					for j, col := range rec.Columns() {
						name := rec.ColumnName(j)
						meaning := ""
						if s, ok := features.Lookup(name); ok {
							meaning = s.Meaning
						}
						fmt.Fprintf(w, "%s\t%s\t%s\n", name, showCell(col, i), meaning)
					}
					fmt.Fprintln(w)
				}
			}
			if err := rr.Err(); err != nil {
				return err
			}
			if err := w.Flush(); err != nil {
				return err
			}
			if found == 0 {
				return fmt.Errorf("customer %q of tenant %s: not found (or created after %s)", customer, tenant, at.Format(time.DateOnly))
			}
			return nil
		},
	}
	c.Flags().StringVar(&customer, "customer", "", "customer id (required)")
	c.Flags().StringVar(&asOf, "as-of", "", "reference date, YYYY-MM-DD (default: today UTC)")
	tf.add(c, "", "")
	c.Flags().IntVar(&threshold, "threshold", threshold, "days after the due date at which an unpaid invoice means behind")
	return c
}

// warnAfterData warns when the reference date day (of flag) lies more
// than a day after the end of tenant's data (eod, or when zero the latest
// event date in the store): the days in between look like days without
// payments, so that invoices due meanwhile look unpaid and customers
// behind. A signal at T sees the events before T, so the day after the
// end of the data is the latest date that sees them all.
func (g *globals) warnAfterData(ctx context.Context, e warehouse.Engine, tenant, flag string, day, eod time.Time) {
	if eod.IsZero() {
		var err error
		if eod, err = features.EndOfData(ctx, e, tenant); err != nil || eod.IsZero() {
			return
		}
	}
	eod = eod.UTC().Truncate(24 * time.Hour)
	day = day.UTC().Truncate(24 * time.Hour)
	if days := int(day.Sub(eod).Hours() / 24); days > 1 {
		if tenant == "" {
			tenant = "(all)"
		}
		g.log.Warn(flag+" lies after the end of the data: the days in between look like days without payments, so invoices due meanwhile look unpaid; use "+
			flag+" "+eod.AddDate(0, 0, 1).Format(time.DateOnly)+" or load newer data",
			"tenant", tenant, strings.ReplaceAll(strings.TrimPrefix(flag, "--"), "-", "_"), day.Format(time.DateOnly), "end_of_data", eod.Format(time.DateOnly), "days_after", days)
	}
}

// showCell prints NULL as "NULL" and floats without noise.
func showCell(col interface {
	IsNull(int) bool
	ValueStr(int) string
}, i int) string {
	if col.IsNull(i) {
		return "NULL"
	}
	if f, ok := col.(*array.Float64); ok {
		v := f.Value(i)
		if v == math.Trunc(v) && math.Abs(v) < 1e15 {
			return fmt.Sprintf("%.0f", v)
		}
		return fmt.Sprintf("%.4g", v)
	}
	return col.ValueStr(i)
}
