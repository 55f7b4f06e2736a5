package quality

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/duewise/duewise/training"
	"github.com/duewise/duewise/training/metrics"
)

// Check is one line of the benchmark table: a metric measured by duewise
// next to its reference figure and target.
type Check struct {
	Metric string `json:"metric"`
	// Duewise is the measured value; SD its standard deviation over
	// folds (0 when not cross-validated).
	Duewise float64 `json:"duewise"`
	SD      float64 `json:"sd,omitempty"`
	// Reference is the comparison figure and where it comes from.
	Reference string `json:"reference"`
	// Target states the requirement ("" = reported for information).
	Target string `json:"target,omitempty"`
	// Pass is the outcome of the target (true when there is none).
	Pass bool `json:"pass"`
}

// NamedReport is the full evaluation of one model on its test rows.
type NamedReport struct {
	Name   string          `json:"name"`
	Report *metrics.Report `json:"report"`
}

// Group is the 90-day picture of the test rows per value of one customer
// attribute (an input or not).
type Group = training.AttributeGroup

// Step is the wall time of one stage of the run.
type Step struct {
	Name    string  `json:"name"`
	Seconds float64 `json:"seconds"`
	Detail  string  `json:"detail,omitempty"`
}

// Result is the outcome of a benchmark: the checks, the full reports
// behind them and how long each stage took. A plain value.
type Result struct {
	Dataset string    `json:"dataset"`
	Source  string    `json:"source,omitempty"`
	Seed    int64     `json:"seed"`
	Started time.Time `json:"started"`
	// Protocol says how the data was split and what was measured.
	Protocol string `json:"protocol"`
	// Inputs are the model inputs (the same for every fold/model of the
	// headline check).
	Inputs  []string      `json:"inputs"`
	Checks  []Check       `json:"checks"`
	Reports []NamedReport `json:"reports,omitempty"`
	// Groups compare the predicted and observed 90-day risk by customer
	// attribute on the test rows: the fairness check of the model card.
	Groups []Group `json:"groups,omitempty"`
	// Folds are the cross-validation folds with their AUCs (German
	// credit).
	Folds []Fold `json:"folds,omitempty"`
	// GBM is the synthetic benchmark's reference (nil for the others).
	GBM     *GBMReference `json:"gbm_reference,omitempty"`
	Steps   []Step        `json:"steps"`
	Seconds float64       `json:"seconds"`
	// Predictions are the held-out predictions behind the headline check
	// (UCI: out-of-fold), saved as CSV by Save for audits with other
	// tools (e.g. score differences by attributes duewise never reads).
	Predictions []Prediction `json:"-"`
}

// Fold is one cross-validation fold: its held-out rows and events,
// duewise's AUC on them and the references' (by name).
type Fold struct {
	Fold       int                `json:"fold"`
	Rows       int                `json:"rows"`
	Events     int                `json:"events"`
	AUC        float64            `json:"auc"`
	References map[string]float64 `json:"references,omitempty"`
}

// Prediction is one held-out row: the customer, its fold (0 without
// cross-validation), the predicted risk at the headline horizon and the
// observed label.
type Prediction struct {
	CustomerID string
	Fold       int
	Risk       float64
	Event      bool
}

// Passed reports whether every check with a target passed.
func (r *Result) Passed() bool {
	for _, c := range r.Checks {
		if !c.Pass {
			return false
		}
	}
	return true
}

// Failed lists the metrics whose target was missed.
func (r *Result) Failed() []string {
	var out []string
	for _, c := range r.Checks {
		if !c.Pass {
			out = append(out, c.Metric)
		}
	}
	return out
}

// WriteText writes the checks as an aligned table (metric, duewise,
// reference, target, pass/fail), then the protocol, inputs and timings.
func (r *Result) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "quality benchmark: %s (seed %d)\n%s\n\n", r.Dataset, r.Seed, r.Protocol)
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "metric\tduewise\treference\ttarget\tresult")
	for _, c := range r.Checks {
		v := fmt.Sprintf("%.4f", c.Duewise)
		if c.SD > 0 {
			v += fmt.Sprintf(" ± %.4f", c.SD)
		}
		res := "pass"
		switch {
		case c.Target == "":
			res = "-"
		case !c.Pass:
			res = "FAIL"
		}
		target := c.Target
		if target == "" {
			target = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", c.Metric, v, c.Reference, target, res)
	}
	tw.Flush()
	fmt.Fprintf(&b, "\ninputs (%d): %s\n\n", len(r.Inputs), strings.Join(r.Inputs, ", "))
	nw := len("total")
	for _, s := range r.Steps {
		nw = max(nw, len(s.Name))
	}
	for _, s := range r.Steps {
		fmt.Fprintf(&b, "  %-*s %8.1fs  %s\n", nw, s.Name, s.Seconds, s.Detail)
	}
	fmt.Fprintf(&b, "  %-*s %8.1fs\n", nw, "total", r.Seconds)
	if r.Passed() {
		b.WriteString("\nall targets met\n")
	} else {
		fmt.Fprintf(&b, "\ntargets missed: %s\n", strings.Join(r.Failed(), "; "))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// Save writes quality-<dataset>.json (the whole result, reports
// included), quality-<dataset>.txt (WriteText, the by-attribute tables
// and every report's tables) and, when there are any,
// quality-<dataset>-predictions.csv (customer_id, fold, risk, event) into
// dir, creating it.
func (r *Result) Save(dir string) (jsonPath, textPath string, err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", "", fmt.Errorf("save benchmark: %w", err)
	}
	base := filepath.Join(dir, "quality-"+r.Dataset)
	j, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return "", "", fmt.Errorf("save benchmark: %w", err)
	}
	if err := os.WriteFile(base+".json", j, 0o644); err != nil {
		return "", "", fmt.Errorf("save benchmark: %w", err)
	}
	var t strings.Builder
	if err := r.WriteText(&t); err != nil {
		return "", "", err
	}
	r.writeGroups(&t)
	for _, nr := range r.Reports {
		fmt.Fprintf(&t, "\n== %s ==\n", nr.Name)
		if err := nr.Report.WriteText(&t); err != nil {
			return "", "", err
		}
	}
	if err := os.WriteFile(base+".txt", []byte(t.String()), 0o644); err != nil {
		return "", "", fmt.Errorf("save benchmark: %w", err)
	}
	if len(r.Predictions) > 0 {
		var p strings.Builder
		p.WriteString("customer_id,fold,risk,event\n")
		for _, x := range r.Predictions {
			ev := 0
			if x.Event {
				ev = 1
			}
			fmt.Fprintf(&p, "%s,%d,%.6f,%d\n", x.CustomerID, x.Fold, x.Risk, ev)
		}
		if err := os.WriteFile(base+"-predictions.csv", []byte(p.String()), 0o644); err != nil {
			return "", "", fmt.Errorf("save benchmark: %w", err)
		}
	}
	return base + ".json", base + ".txt", nil
}

// writeGroups writes the by-attribute tables.
func (r *Result) writeGroups(b *strings.Builder) {
	if len(r.Groups) == 0 {
		return
	}
	b.WriteString("\n90-day risk by customer attribute on the test rows (predicted mean vs Kaplan-Meier observed)\n")
	tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "attribute\tvalue\trows\tpredicted\tobserved\tpredicted/observed\tAUC 90d\t")
	for _, g := range r.Groups {
		name := g.Attribute
		if !g.Input {
			name += " (not an input)"
		}
		for _, v := range g.Values {
			ratio := math.NaN()
			if v.Observed90 > 0 {
				ratio = v.MeanRisk90 / v.Observed90
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%.4f\t%.4f\t%.2f\t%.4f\t\n", name, v.Segment, v.Rows, v.MeanRisk90, v.Observed90, ratio, v.AUC90)
		}
	}
	tw.Flush()
}

// monotoneCheck is the check of the monotonicity audit over the test
// rows of every report: no row may see its 90-day risk fall when an input
// takes a realistic step in its risky direction (training.Audit).
func monotoneCheck(reps ...*metrics.Report) Check {
	rows, bad := 0, 0
	for _, rep := range reps {
		for _, c := range rep.Monotonicity {
			rows += c.Rows
			bad += c.Violations
		}
	}
	return Check{Metric: "monotonicity violations (rows x audited inputs)", Duewise: float64(bad),
		Reference: fmt.Sprintf("%d row steps audited", rows), Target: "0", Pass: bad == 0}
}

// meanSD returns the mean and the population standard deviation of xs
// (numpy's default, as in the reference figures).
func meanSD(xs []float64) (mean, sd float64) {
	if len(xs) == 0 {
		return math.NaN(), 0
	}
	for _, x := range xs {
		mean += x
	}
	mean /= float64(len(xs))
	for _, x := range xs {
		sd += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(sd / float64(len(xs)))
}
