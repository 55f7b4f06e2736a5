package report

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"math"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/duewise/duewise/model"
	"github.com/duewise/duewise/training/metrics"
)

//go:embed report.html.tmpl
var pageText string

var page = template.Must(template.New("report").Funcs(template.FuncMap{
	"f4":  f4,
	"pct": func(x float64) string { return fmt.Sprintf("%.1f%%", 100*x) },
	"opt": func(x float64) string {
		if x == 0 {
			return "-"
		}
		return f4(x)
	},
	"status": psiStatus,
	"ratio": func(pred, obs float64) string {
		if obs <= 0 {
			return "-"
		}
		return fmt.Sprintf("%.2f", pred/obs)
	},
	"ci": func(d metrics.Difference) string {
		return fmt.Sprintf("%+.4f [%+.4f, %+.4f]", d.Diff, d.Lo, d.Hi)
	},
	"inc":        func(i int) int { return i + 1 },
	"violations": func(m *Part) int { return metrics.MonotoneViolations(m.Metrics.Monotonicity) },
}).Parse(pageText))

// Chart sizes.
const (
	chartW, chartH = 430, 300
	smallW, smallH = 330, 260
)

// view is what the page template reads: the report and its charts.
type view struct {
	*Report
	Title    string
	Metrics  []metricRow
	Others   []otherRow
	ROC      []figure
	Calib    figure
	Band     []figure
	Segment  []figure
	ByHz     []figure
	Reasons  []figure
	Drift    []figure
	Invoice  bool
	Event    string // what the probabilities are of
	Compared bool
}

// figure is one chart with its id, caption and data attributes.
type figure struct {
	ID      string
	Caption string
	Attrs   template.HTMLAttr
	SVG     template.HTML
	Notes   []note
}

// note is a number shown under a chart, with its data attributes.
type note struct {
	Text  string
	Attrs template.HTMLAttr
}

// metricRow is one metric of the summary table, per model.
type metricRow struct {
	Label, Metric, Horizon string
	Cells                  []cell
}

type cell struct {
	Text  string
	Attrs template.HTMLAttr
}

// otherRow is a baseline's AUC per horizon.
type otherRow struct {
	Name  string
	Cells []cell
}

// WriteHTML writes the report as one self-contained HTML page.
func (r *Report) WriteHTML(w io.Writer) error {
	v := &view{Report: r, Invoice: r.Kind == model.Invoice, Compared: len(r.Models) > 1}
	names := make([]string, len(r.Models))
	for i, m := range r.Models {
		names[i] = m.Version
	}
	v.Title = "Model report: " + strings.Join(names, " against ")
	v.Event = "falling behind (an invoice 30 days past due)"
	if v.Invoice {
		v.Event = "being paid (days after the due date)"
	}
	v.Metrics = metricRows(r)
	v.Others = otherRows(r)
	v.ROC = rocFigures(r)
	v.Calib = calibrationFigure(r, v.Event)
	for i, m := range r.Models {
		v.Band = append(v.Band, survivalFigure(fmt.Sprintf("survival-band-%d", i), m, m.ByBand, "by risk band", true))
		v.Segment = append(v.Segment, survivalFigure(fmt.Sprintf("survival-segment-%d", i), m, m.BySegment, "by segment", false))
		v.Reasons = append(v.Reasons, reasonFigure(i, m))
		if m.Drift != nil {
			v.Drift = append(v.Drift, driftFigure(i, m))
		}
	}
	v.ByHz = horizonFigures(r)
	return page.Execute(w, v)
}

func hattr(kv ...string) template.HTMLAttr { return template.HTMLAttr(attr(kv...)) }

// metricRows lays out the summary table: evaluate's numbers per model.
func metricRows(r *Report) []metricRow {
	var rows []metricRow
	add := func(label, metric, hz string, get func(s *metrics.Scores) (float64, bool)) {
		row := metricRow{Label: label, Metric: metric, Horizon: hz}
		for _, m := range r.Models {
			c := cell{Text: "-", Attrs: hattr("model", m.Version, "metric", metric, "horizon", hz)}
			if x, ok := get(&m.Metrics.Model); ok {
				c.Text = f4(x)
				c.Attrs = hattr("model", m.Version, "metric", metric, "horizon", hz, "value", f4(x))
			}
			row.Cells = append(row.Cells, c)
		}
		rows = append(rows, row)
	}
	if r.Kind == model.Invoice {
		add("AUC paid after the due date", "auc", "late", func(s *metrics.Scores) (float64, bool) { x, ok := s.AUC["late"]; return x, ok })
	}
	for _, h := range metrics.Horizons {
		hz := horizon(h)
		add("AUC "+hz, "auc", hz, func(s *metrics.Scores) (float64, bool) { x, ok := s.AUC[hz]; return x, ok })
	}
	for _, h := range metrics.Horizons {
		hz := horizon(h)
		add("Brier "+hz, "brier", hz, func(s *metrics.Scores) (float64, bool) { x, ok := s.Brier[hz]; return x, ok })
	}
	nz := func(x float64) (float64, bool) { return x, x != 0 }
	add("Harrell's C", "harrell_c", "", func(s *metrics.Scores) (float64, bool) { return nz(s.HarrellC) })
	add("Uno's C", "uno_c", "", func(s *metrics.Scores) (float64, bool) { return nz(s.UnoC) })
	add("integrated Brier", "integrated_brier", "", func(s *metrics.Scores) (float64, bool) { return nz(s.IntegratedBrier) })
	add("ECE at 90 days", "ece_90d", "", func(s *metrics.Scores) (float64, bool) { return s.ECE90, len(s.Calibration90) > 0 })
	return rows
}

// otherRows lists the baselines of the first model (evaluate's others).
func otherRows(r *Report) []otherRow {
	var out []otherRow
	for _, s := range r.Models[0].Metrics.Others {
		row := otherRow{Name: s.Name}
		for _, h := range metrics.Horizons {
			hz := horizon(h)
			c := cell{Text: "-"}
			if x, ok := s.AUC[hz]; ok {
				c = cell{Text: f4(x), Attrs: hattr("baseline", s.Name, "horizon", hz, "value", f4(x))}
			}
			row.Cells = append(row.Cells, c)
		}
		out = append(out, row)
	}
	return out
}

func colour(i int) string {
	if i == 0 {
		return colourA
	}
	return colourB
}

// rocFigures draws one ROC chart per horizon with every model's curve.
func rocFigures(r *Report) []figure {
	var out []figure
	for _, h := range metrics.Horizons {
		hz := horizon(h)
		c := chart{w: smallW, h: smallH, x: unitAxis("false positive rate"), y: unitAxis("true positive rate"), diagonal: true, label: "ROC curve at " + hz}
		f := figure{ID: "roc-" + hz, Caption: "ROC at " + hz}
		for i, m := range r.Models {
			k := slices.IndexFunc(m.ROC, func(x ROC) bool { return x.Horizon == hz })
			if k < 0 {
				continue
			}
			roc := m.ROC[k]
			s := series{name: fmt.Sprintf("%s AUC %s", short(m.Version), f4(roc.AUC)), colour: colour(i), dashed: i > 0}
			for _, p := range roc.Points {
				s.pts = append(s.pts, [2]float64{p.FPR, p.TPR})
			}
			c.series = append(c.series, s)
			f.Notes = append(f.Notes, note{Text: fmt.Sprintf("%s: AUC %s", m.Version, f4(roc.AUC)), Attrs: hattr("model", m.Version, "auc", f4(roc.AUC), "horizon", hz)})
		}
		if len(c.series) == 0 {
			continue // no cases or no controls at this horizon
		}
		f.Attrs = hattr("chart", "roc", "horizon", hz)
		f.SVG = c.svg()
		out = append(out, f)
	}
	return out
}

// calibrationFigure draws the 90-day calibration deciles of every model
// with the 95% interval of each observed rate.
func calibrationFigure(r *Report, event string) figure {
	top := 0.0
	for _, m := range r.Models {
		for _, b := range m.Calibration {
			top = math.Max(top, math.Max(b.Predicted, b.Hi))
		}
	}
	top = math.Min(1, math.Max(0.05, top*1.08))
	c := chart{w: chartW, h: chartH, x: rangeAxis(0, top, "predicted probability within 90 days", 2), y: rangeAxis(0, top, "observed (Kaplan-Meier, 95% interval)", 2),
		diagonal: true, label: "calibration at 90 days"}
	f := figure{ID: "calibration", Caption: "Calibration at 90 days: probability of " + event + ", by decile of the prediction", Attrs: hattr("chart", "calibration")}
	for i, m := range r.Models {
		s := series{name: fmt.Sprintf("%s ECE %s", short(m.Version), f4(m.Metrics.Model.ECE90)), colour: colour(i)}
		for k, b := range m.Calibration {
			s.pts = append(s.pts, [2]float64{b.Predicted, b.Observed})
			s.marks = append(s.marks, mark{x: b.Predicted, y: b.Observed, lo: b.Lo, hi: b.Hi, bar: true,
				attrs: attr("model", m.Version, "decile", fmt.Sprint(k+1), "predicted", f4(b.Predicted), "observed", f4(b.Observed))})
		}
		c.series = append(c.series, s)
		f.Notes = append(f.Notes, note{Text: fmt.Sprintf("%s: ECE %s", m.Version, f4(m.Metrics.Model.ECE90)), Attrs: hattr("model", m.Version, "ece", f4(m.Metrics.Model.ECE90))})
	}
	f.SVG = c.svg()
	return f
}

// minAtRisk is the fewest rows at risk a Kaplan-Meier point is drawn with.
const minAtRisk = 10

// survivalFigure draws every group's mean predicted survival (dashed)
// against its Kaplan-Meier estimate (solid, with its 95% interval).
func survivalFigure(id string, m *Part, groups []Survival, by string, bands bool) figure {
	f := figure{ID: id, Caption: fmt.Sprintf("%s: predicted survival (dashed) against Kaplan-Meier (solid, 95%% interval) %s", m.Version, by), Attrs: hattr("chart", "survival", "model", m.Version)}
	if len(groups) == 0 {
		return f
	}
	days := groups[0].Days
	lo := 1.0
	for _, g := range groups {
		for j := range g.Days {
			lo = math.Min(lo, g.Predicted[j])
			if g.Observed[j].AtRisk >= minAtRisk {
				lo = math.Min(lo, g.Observed[j].Lo)
			}
		}
	}
	lo = math.Max(0, math.Floor(lo*20)/20)
	c := chart{w: chartW, h: chartH, x: rangeAxis(days[0], days[len(days)-1], "days", 0), y: rangeAxis(lo, 1, "share not yet had the event", 2), label: "survival " + by}
	for k, g := range groups {
		col := palette[k%len(palette)]
		if bands {
			col = bandColours[min(len(bandColours)-1, max(0, int(g.Group[len(g.Group)-1])-'A'))]
		}
		pred := series{name: fmt.Sprintf("%s (%d)", g.Group, g.Rows), colour: col, dashed: true}
		obs := series{name: "", colour: col}
		for j, d := range g.Days {
			pred.pts = append(pred.pts, [2]float64{d, g.Predicted[j]})
			if o := g.Observed[j]; o.AtRisk >= minAtRisk {
				obs.pts = append(obs.pts, [2]float64{d, o.Survival})
				obs.band = append(obs.band, [3]float64{d, o.Lo, o.Hi})
				obs.marks = append(obs.marks, mark{x: d, y: o.Survival, attrs: attr("group", g.Group, "day", num(d), "observed", f4(o.Survival), "predicted", f4(g.Predicted[j]))})
			}
		}
		c.series = append(c.series, pred)
		obs.name = g.Group + " observed"
		c.series = append(c.series, obs)
	}
	f.SVG = c.svg()
	return f
}

// horizonFigures draws AUC and Brier against the horizon, per model.
func horizonFigures(r *Report) []figure {
	var out []figure
	for _, metric := range []string{"auc", "brier"} {
		label, get := "AUC", func(s *metrics.Scores, hz string) (float64, bool) { x, ok := s.AUC[hz]; return x, ok }
		lo, hi := 0.5, 1.0
		if metric == "brier" {
			label, get = "Brier score", func(s *metrics.Scores, hz string) (float64, bool) { x, ok := s.Brier[hz]; return x, ok }
			lo, hi = 0, 0
			for _, m := range r.Models {
				for _, x := range m.Metrics.Model.Brier {
					hi = math.Max(hi, x)
				}
			}
			hi = math.Max(0.01, hi*1.15)
		} else {
			for _, m := range r.Models {
				for _, x := range m.Metrics.Model.AUC {
					lo = math.Min(lo, x)
				}
			}
			lo = math.Floor(lo*10) / 10
		}
		c := chart{w: chartW, h: chartH, x: rangeAxis(0, 365, "horizon (days)", 0), y: rangeAxis(lo, hi, label, 2), label: label + " by horizon"}
		f := figure{ID: metric + "-by-horizon", Caption: "Time-dependent " + label + " by horizon (censoring handled)", Attrs: hattr("chart", metric+"-by-horizon")}
		for i, m := range r.Models {
			s := series{name: short(m.Version), colour: colour(i), dashed: i > 0}
			for _, h := range metrics.Horizons {
				hz := horizon(h)
				if x, ok := get(&m.Metrics.Model, hz); ok {
					s.pts = append(s.pts, [2]float64{float64(h), x})
					s.marks = append(s.marks, mark{x: float64(h), y: x, attrs: attr("model", m.Version, "horizon", hz, metric, f4(x))})
				}
			}
			c.series = append(c.series, s)
		}
		f.SVG = c.svg()
		out = append(out, f)
	}
	return out
}

// maxBars is the most bars of the reason and drift charts.
const maxBars = 20

// reasonFigure draws how often each reason code is among the top reasons.
func reasonFigure(i int, m *Part) figure {
	rs := m.Reasons
	f := figure{ID: fmt.Sprintf("reasons-%d", i), Caption: fmt.Sprintf("%s: reason codes among the top %d reasons of %d answers (share of answers; raises / lowers the risk)", m.Version, rs.Top, rs.Rows),
		Attrs: hattr("chart", "reasons", "model", m.Version, "rows", fmt.Sprint(rs.Rows))}
	var bars []bar
	for _, c := range rs.Codes[:min(len(rs.Codes), maxBars)] {
		share := float64(c.Increases+c.Decreases) / float64(max(rs.Rows, 1))
		bars = append(bars, bar{label: c.Code, value: share, colour: colour(i),
			text:  fmt.Sprintf("%.1f%% (%.1f%% up, %.1f%% down)", 100*share, 100*float64(c.Increases)/float64(max(rs.Rows, 1)), 100*float64(c.Decreases)/float64(max(rs.Rows, 1))),
			attrs: attr("code", c.Code, "increases", fmt.Sprint(c.Increases), "decreases", fmt.Sprint(c.Decreases), "first", fmt.Sprint(c.First))})
	}
	f.SVG = barChart(bars, 1, 720, "reason codes")
	return f
}

// driftFigure draws the PSI of the inputs that moved most.
func driftFigure(i int, m *Part) figure {
	d := m.Drift
	f := figure{ID: fmt.Sprintf("drift-%d", i), Caption: fmt.Sprintf("%s: population stability index of each input against the %d training rows (largest first)", m.Version, d.TrainingRows),
		Attrs: hattr("chart", "drift", "model", m.Version, "score-psi", f4(d.Score))}
	var bars []bar
	top := 0.3
	for _, in := range d.Inputs[:min(len(d.Inputs), maxBars)] {
		top = math.Max(top, in.PSI)
		label := in.Name
		if in.Calendar {
			label += " (calendar)"
		}
		bars = append(bars, bar{label: label, value: in.PSI, colour: psiColour(in.PSI), text: f4(in.PSI) + " " + psiStatus(in.PSI), attrs: attr("input", in.Name, "psi", f4(in.PSI))})
	}
	f.SVG = barChart(bars, top, 720, "input drift")
	f.Notes = []note{{Text: fmt.Sprintf("PSI of the score (the 90-day risk) %s: %s", f4(d.Score), psiStatus(d.Score)), Attrs: hattr("model", m.Version, "score-psi", f4(d.Score))}}
	return f
}

// psiBands read a PSI the usual way: below 0.1 stable, below 0.25 a
// moderate shift, else a major one; with the colour of each.
var psiBands = []struct {
	below          float64
	status, colour string
}{{0.1, "stable", "#15803d"}, {0.25, "moderate shift", "#ca8a04"}, {math.Inf(1), "major shift", "#b91c1c"}}

func psiBand(psi float64) int {
	i := 0
	for i < len(psiBands)-1 && !(psi < psiBands[i].below) {
		i++
	}
	return i
}

func psiStatus(psi float64) string { return psiBands[psiBand(psi)].status }

func psiColour(psi float64) string { return psiBands[psiBand(psi)].colour }

// short shortens a model version for a legend: its kind and hash.
func short(v string) string {
	parts := strings.Split(v, "-")
	if len(parts) == 3 {
		return parts[0] + " " + parts[2]
	}
	return v
}

// WriteJSON writes the report's numbers as one indented JSON object (the
// fields of Report): what the page draws, for a notebook or a pipeline.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteComparison writes the comparison of the report's two models as
// text: per horizon each model's AUC and Brier score and the difference
// with its 95% interval, then each model's concordance and calibration
// error. For a report of one model it writes that model's figures.
func (r *Report) WriteComparison(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(w, "%d rows, %d events, as_of %s to %s: %s\n", r.Rows, r.Events, r.AsOfFrom, r.AsOfTo, r.Source)
	for i, m := range r.Models {
		fmt.Fprintf(w, "%c = %s\n", 'A'+i, m.Version)
	}
	fmt.Fprintln(w)
	num := func(d metrics.Difference, x float64) string {
		if !d.Valid {
			return "-"
		}
		return fmt.Sprintf("%.4f", x)
	}
	diff := func(d metrics.Difference) string {
		if !d.Valid {
			return "-"
		}
		mark := ""
		if d.Lo > 0 || d.Hi < 0 {
			mark = " *"
		}
		return fmt.Sprintf("%+.4f [%+.4f, %+.4f]%s", d.Diff, d.Lo, d.Hi, mark)
	}
	if len(r.Differences) > 0 {
		fmt.Fprintln(tw, "horizon\tAUC A\tAUC B\tA - B [95%]\tBrier A\tBrier B\tA - B [95%]\t")
		for _, d := range r.Differences {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", d.Horizon, num(d.AUC, d.AUC.A), num(d.AUC, d.AUC.B), diff(d.AUC),
				num(d.Brier, d.Brier.A), num(d.Brier, d.Brier.B), diff(d.Brier))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		fmt.Fprintln(w, "* the interval excludes 0: a real difference on these rows (a higher AUC and a lower Brier score are better)")
		fmt.Fprintln(w)
	}
	fmt.Fprintln(tw, "model\tHarrell C\tUno C\tint. Brier\tECE 90d\t")
	for i, m := range r.Models {
		s := m.Metrics.Model
		fmt.Fprintf(tw, "%c\t%.4f\t%.4f\t%.4f\t%.4f\t\n", 'A'+i, s.HarrellC, s.UnoC, s.IntegratedBrier, s.ECE90)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, warn := range r.Warnings {
		fmt.Fprintln(w, "warning:", warn)
	}
	return nil
}
