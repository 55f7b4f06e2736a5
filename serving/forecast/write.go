package forecast

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
)

// Formats of Write.
var Formats = []string{"table", "csv", "json"}

// Write writes f as "table" (aligned text with a summary), "csv" (one row
// per week: week_start, week_end, expected, low, high, from_open,
// from_new, actual) or "json" (the Forecast).
func (f *Forecast) Write(w io.Writer, format string) error {
	switch format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(f)
	case "csv":
		cw := csv.NewWriter(w)
		_ = cw.Write([]string{"week_start", "week_end", "expected", "low", "high", "from_open", "from_new", "actual"})
		for _, wk := range f.Weeks {
			_ = cw.Write([]string{wk.Start, wk.End, num(wk.Expected), num(wk.Low), num(wk.High), num(wk.FromOpen), num(wk.FromNew), actual(wk.Actual)})
		}
		cw.Flush()
		return cw.Error()
	case "table":
		return f.writeTable(w)
	}
	return fmt.Errorf("format %q: want table, csv or json", format)
}

func (f *Forecast) writeTable(w io.Writer) error {
	fmt.Fprintf(w, "cash-in forecast of tenant %s made on %s with %s\n", f.Tenant, f.From, f.Model)
	fmt.Fprintf(w, "%d invoices open (%s), %d expected to be issued; %.0f%% intervals: %s\n\n", f.OpenInvoices, num(f.OpenAmount), f.ExpectedInvoices, f.Level*100, f.Intervals)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "week\tfrom\tto\texpected\tlow\thigh\tfrom open\tfrom new\tactual\t")
	var sum, sumA float64
	for i, wk := range f.Weeks {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", i+1, wk.Start, wk.End, num(wk.Expected), num(wk.Low), num(wk.High), num(wk.FromOpen), num(wk.FromNew), actual(wk.Actual))
		sum += wk.Expected
		if wk.Actual != nil {
			sumA += *wk.Actual
		}
	}
	fmt.Fprintf(tw, "total\t\t\t%s\t\t\t\t\t%s\t\n", num(sum), num(sumA))
	if err := tw.Flush(); err != nil {
		return err
	}
	if b := f.Backtest; b != nil {
		fmt.Fprintf(w, "\nbacktest on the %d weeks in the data: MAPE %.2f%%, interval coverage %.2f (target %.2f), bias %+.2f%%\n", b.Weeks, b.MAPE, b.Coverage, f.Level, b.Bias*100)
	}
	for _, o := range f.Calibration {
		fmt.Fprintf(w, "calibration: forecast made on %s: expected %s, came in %s, MAPE %.2f%%\n", o.From, num(o.Expected), num(o.Actual), o.MAPE)
	}
	return nil
}

func num(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }

func actual(v *float64) string {
	if v == nil {
		return ""
	}
	return num(*v)
}
