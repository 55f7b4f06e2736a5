package simulation

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// units are how each metric prints.
var units = map[string]string{
	"collected": "EUR", "written_off": "EUR", "collection_costs": "EUR", "contact_costs": "EUR", "net_collected": "EUR",
	"customers_kept": "share", "customer_value_kept": "EUR", "contacts": "count", "dunned_good_payers": "count", "dso_days": "days",
}

// format prints a value of a metric: money and counts in whole units with
// thousands separators, shares with 4 decimals, days with 2.
func format(metric string, v float64) string {
	switch units[metric] {
	case "share":
		return strconv.FormatFloat(v, 'f', 4, 64)
	case "days":
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
	return thousands(v)
}

func thousands(v float64) string {
	if math.IsNaN(v) {
		return "-"
	}
	s := strconv.FormatFloat(math.Abs(math.Round(v)), 'f', 0, 64)
	var b strings.Builder
	if v < 0 && s != "0" {
		b.WriteByte('-')
	}
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

func (e Estimate) cell(metric string, sign bool) string {
	m := format(metric, e.Mean)
	if sign && e.Mean > 0 {
		m = "+" + m
	}
	return m + " [" + format(metric, e.CI95[0]) + ", " + format(metric, e.CI95[1]) + "]"
}

// WriteTable writes the report for people: every metric per policy with
// its 95% interval, the paired differences from the standard policy and,
// with --sensitivity, whether the claims hold in each scenario.
func (r *Result) WriteTable(w io.Writer) error {
	seeds := strconv.FormatInt(r.Seed, 10)
	if r.Runs > 1 {
		seeds = fmt.Sprintf("%d..%d", r.Seed, r.Seed+int64(r.Runs)-1)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s customers x %d months, seed %s (%d run%s); evaluation horizon: the last %d months (%s .. %s)\n",
		thousands(float64(r.Customers)), r.Months, seeds, r.Runs, map[bool]string{true: "s"}[r.Runs > 1], r.HorizonMonths,
		r.Horizon[0].Format(time.DateOnly), r.Horizon[1].Format(time.DateOnly))
	for _, m := range r.Models {
		fmt.Fprintf(&b, "seed %d: behaviour model trained on %s rows of the months before the horizon (AUC 90d %.4f on its latest training date)\n", m.Seed, thousands(float64(m.Rows)), m.AUC90)
	}
	b.WriteString("mean over runs [95% interval, bootstrap over customers]\n\n")
	r.table(&b, r.Policies)
	if cl := claims(r.Policies); len(cl) > 0 {
		b.WriteString("\nclaims (docs/simulation.md):\n")
		writeClaims(&b, cl)
	}
	if len(r.Sensitivity) > 0 {
		b.WriteString("\nsensitivity: does each claim hold when the assumed effects are halved, or when dunning makes no one leave?\n")
		for _, sc := range r.Sensitivity {
			fmt.Fprintf(&b, "\n%s:\n", sc.Name)
			writeClaims(&b, sc.Holds)
			r.table(&b, sc.Policies)
		}
	}
	if r.Elapsed > 0 {
		fmt.Fprintf(&b, "\nsimulated in %s\n", r.Elapsed.Round(100*time.Millisecond))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// table writes one comparison: a row per metric, a column per policy,
// then the paired differences from the standard policy.
func (r *Result) table(b *strings.Builder, prs []PolicyResult) {
	rows := [][]string{{"metric"}}
	for _, p := range prs {
		rows[0] = append(rows[0], p.Policy)
	}
	for _, m := range Metrics {
		row := []string{m + " (" + units[m] + ")"}
		for _, p := range prs {
			row = append(row, p.Metrics[m].cell(m, false))
		}
		rows = append(rows, row)
	}
	writeRows(b, rows)
	kinds := map[string]bool{}
	for _, p := range prs {
		for k := range p.Actions {
			kinds[k] = true
		}
	}
	if len(kinds) > 0 {
		acts := [][]string{{"actions per run"}}
		for _, p := range prs {
			acts[0] = append(acts[0], p.Policy)
		}
		for _, k := range sortedKeys(kinds) {
			row := []string{k}
			for _, p := range prs {
				row = append(row, thousands(p.Actions[k]))
			}
			acts = append(acts, row)
		}
		b.WriteByte('\n')
		writeRows(b, acts)
	}
	var diffs [][]string
	for _, p := range prs {
		if p.VsStandard == nil {
			continue
		}
		if diffs == nil {
			diffs = [][]string{{"difference from standard (paired)"}}
		}
		diffs[0] = append(diffs[0], p.Policy)
	}
	if diffs == nil {
		return
	}
	for _, m := range Metrics {
		row := []string{m}
		for _, p := range prs {
			if p.VsStandard != nil {
				row = append(row, p.VsStandard[m].cell(m, true))
			}
		}
		diffs = append(diffs, row)
	}
	b.WriteByte('\n')
	writeRows(b, diffs)
}

func writeRows(b *strings.Builder, rows [][]string) {
	width := make([]int, len(rows[0]))
	for _, r := range rows {
		for i, c := range r {
			width[i] = max(width[i], len(c))
		}
	}
	for _, r := range rows {
		for i, c := range r {
			if i == 0 {
				fmt.Fprintf(b, "%-*s", width[i], c)
			} else {
				fmt.Fprintf(b, "  %*s", width[i], c)
			}
		}
		b.WriteByte('\n')
	}
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// writeClaims writes whether each claim holds, in name order.
func writeClaims(b *strings.Builder, holds map[string]bool) {
	names := make(map[string]bool, len(holds))
	for k := range holds {
		names[k] = true
	}
	for _, n := range sortedKeys(names) {
		fmt.Fprintf(b, "  %-66s %s\n", n, map[bool]string{true: "holds", false: "does NOT hold"}[holds[n]])
	}
}
