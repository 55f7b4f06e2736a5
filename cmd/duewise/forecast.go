package main

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/duewise/duewise/features"
	"github.com/duewise/duewise/model"
	"github.com/duewise/duewise/serving/forecast"
)

func newForecastCmd(g *globals) *cobra.Command {
	c := &cobra.Command{
		Use:   "forecast cash",
		Short: "Forecast the cash coming in per week, with intervals, from open and expected invoices",
	}
	c.AddCommand(newForecastCashCmd(g))
	return c
}

func newForecastCashCmd(g *globals) *cobra.Command {
	var rf registryFlags
	var from, modelRef, format string
	var weeks, origins int
	c := &cobra.Command{
		Use:   "cash [--from D] [--weeks 13] [--format table|csv|json] [--model M]",
		Short: "Forecast the cash received per week from the invoices open on D and those expected, with 80% intervals",
		Long: `Cash forecasts, as known at the start of day D (default today), the cash the
tenant receives in each of the next --weeks weeks:

  - every invoice open on D (its amount not yet paid), with the distribution of
    its payment day from the invoice model scored on its customer's signals as
    of D, given that it is still unpaid;
  - the invoices each customer is expected to be billed (its billing cycle,
    amount and terms of the last year), unless its contract has ended.

On-time payments fall on the days before the due date on which the tenant's
customers paid on time in the year before D. The 80% intervals are calibrated
on the same forecast made at earlier days (--origins, every 4 weeks) whose
weeks all passed before D, against what came in then. Weeks that lie in the
data also show what came in, and a backtest: MAPE and interval coverage.

The model is the tenant's active invoice model, or --model (a model file or a
version in the registry). See docs/forecast.md.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !slices.Contains(forecast.Formats, format) {
				return fmt.Errorf("--format %q: want table, csv or json", format)
			}
			opt := forecast.Options{Weeks: weeks, Origins: origins}
			opt.From = time.Now().UTC()
			if from != "" {
				var err error
				if opt.From, err = parseDay("from", from); err != nil {
					return err
				}
			}
			ms := &modelStore{cmd: cmd, g: g, rf: &rf}
			defer ms.close()
			if err := ms.open(); err != nil {
				return err
			}
			a, err := ms.activeOr(model.Invoice, modelRef)
			if err != nil {
				return err
			}
			opt.Tenant = rf.tenant
			eod, err := features.EndOfData(cmd.Context(), ms.e, opt.Tenant)
			if err != nil {
				return err
			}
			opt.EndOfData = eod
			f, err := forecast.Cash(cmd.Context(), ms.e, a, opt)
			if err != nil {
				return err
			}
			return f.Write(cmd.OutOrStdout(), format)
		},
	}
	rf.add(c)
	c.Flags().StringVar(&from, "from", "", "forecast day YYYY-MM-DD: what happened before it is known (default today)")
	c.Flags().IntVar(&weeks, "weeks", forecast.DefaultWeeks, fmt.Sprintf("weeks to forecast (1..%d)", forecast.MaxWeeks))
	c.Flags().IntVar(&origins, "origins", forecast.DefaultOrigins, fmt.Sprintf("earlier forecasts that calibrate the intervals (0..%d; 0: the payment-day chance only)", forecast.MaxOrigins))
	c.Flags().StringVar(&format, "format", "table", "table, csv or json")
	c.Flags().StringVar(&modelRef, "model", "", "the invoice model: a model file or a version in the registry (default: the tenant's active invoice model)")
	return c
}

// activeOr reads ref (see read) or, when ref is "", the tenant's active
// model of kind, and checks its kind.
func (m *modelStore) activeOr(kind model.Kind, ref string) (*model.Artifact, error) {
	if ref != "" {
		a, err := m.read(ref)
		if err != nil {
			return nil, fmt.Errorf("--model: %w", err)
		}
		if a.Kind != kind {
			return nil, fmt.Errorf("--model %s is a %s model: want an %s model", ref, a.Kind, kind)
		}
		return a, nil
	}
	if err := m.open(); err != nil {
		return nil, err
	}
	act, err := m.reg.Active(m.cmd.Context(), m.rf.tenant)
	if err != nil {
		return nil, err
	}
	for _, e := range act {
		if e.Kind == string(kind) {
			return m.reg.Load(e)
		}
	}
	return nil, errors.New("no active " + string(kind) + " model for tenant " + m.rf.tenant + ": train one and run duewise models promote VERSION, or give --model")
}
