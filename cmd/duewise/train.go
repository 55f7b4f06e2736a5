package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/spf13/cobra"

	"github.com/duewise/duewise/datasets"
	"github.com/duewise/duewise/features"
	"github.com/duewise/duewise/model"
	"github.com/duewise/duewise/training"
	"github.com/duewise/duewise/training/metrics"
)

func newTrainCmd(g *globals) *cobra.Command {
	var snapshots, out, kind, hidden, attrFile string
	var tf tenantFlags
	monotone := true
	opt := training.Options{}
	c := &cobra.Command{
		Use:   "train --snapshots FILE [--kind behaviour|onboarding|invoice] [--tenant T|--all-tenants] [--seed S] --out DIR",
		Short: "Train a survival model on a snapshot file and evaluate it",
		Long: `Train fits the discrete-time survival network (Gorgonia, logistic hazard over a
365-day grid) on a snapshot file written by 'duewise features snapshot', with
early stopping on the latest as_of dates, and writes to DIR:

  <version>.model         the self-contained model file (checksummed)
  <version>.metrics.json  metrics on the validation rows, with the baselines
  <version>.metrics.txt   the same as readable tables

The model is for --tenant (else DUEWISE_TENANT, else the snapshot's only
tenant); --all-tenants trains one model for any tenant. The same snapshots,
options and seed give the same weights.

An onboarding model also takes the snapshot's extra columns (columns that
are not signals of docs/features.md: the tenant's declared attributes, or
any column of a file of your own): all of them, or those --inputs names.
Their labels, directions and ranges come from the tenant's declared
attributes ('duewise attributes declare') or --attributes FILE; reasons
name them by their labels.`,
		Example: `  duewise train --snapshots behaviour.parquet --seed 1 --out .duewise/models
  duewise train --kind invoice --snapshots invoice.parquet --out .duewise/models
  duewise train --kind onboarding --snapshots onboarding.parquet --inputs bureau_score,income_band --out .duewise/models`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if snapshots == "" || out == "" {
				return fmt.Errorf("--snapshots and --out are required")
			}
			opt.Kind = model.Kind(kind)
			if !opt.Kind.Valid() {
				return fmt.Errorf("--kind %q: want behaviour, onboarding or invoice", kind)
			}
			var err error
			if opt.Hidden, err = parseHidden(hidden); err != nil {
				return err
			}
			d, err := loadSnapshots(snapshots)
			if err != nil {
				return err
			}
			if opt.Tenant, err = snapshotTenant(g, &tf, d, snapshots); err != nil {
				return err
			}
			if opt.Attributes, err = g.trainAttributes(cmd, attrFile, opt, d); err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "training a %s model on %d rows x %d inputs from %s\n", opt.Kind, d.Len(), len(d.NumNames)+len(d.CatNames), snapshots)
			opt.CodeVersion = buildInfo().codeVersion()
			opt.Unconstrained = !monotone
			opt.Log = g.log
			if opt.Epochs == 0 {
				opt.Epochs = 40
			}
			// The bar counts epochs up to the most there can be: early
			// stopping usually ends sooner.
			bar := g.startBar(cmd, "train", "epochs", int64(opt.Epochs*max(1, opt.Ensemble)))
			opt.Progress = func(e training.EpochStats) {
				best, member := "", ""
				if e.Best {
					best = "  * best"
				}
				if opt.Ensemble > 1 {
					member = fmt.Sprintf("network %d/%d  ", e.Member, opt.Ensemble)
				}
				bar.Add(1)
				bar.Reach(int64((max(1, e.Member)-1)*opt.Epochs + e.Epoch))
				bar.Above(w, fmt.Sprintf("%sepoch %3d/%d  loss %.5f  validation loss %.5f  %6.1fs%s\n", member, e.Epoch, opt.Epochs, e.Loss, e.ValidLoss, e.Elapsed.Seconds(), best))
			}
			res, err := training.Train(cmd.Context(), d, opt)
			bar.Stop()
			if err != nil {
				return err
			}
			path, err := saveModel(out, res.Artifact, res.Report)
			if err != nil {
				return err
			}
			split := "a random 20% of customers (one as_of date)"
			if !res.SplitAsOf.IsZero() {
				split = "as_of >= " + res.SplitAsOf.Format(time.DateOnly)
			}
			fmt.Fprintf(w, "\ntrained %s in %s: %d training rows, validation %d rows (%s), best epoch %s, %d epochs run\n\n",
				res.Artifact.Version, res.Elapsed.Round(time.Millisecond), len(res.TrainRows), len(res.ValidRows), split, bestEpochs(res.BestEpochs), len(res.Epochs))
			if err := res.Report.WriteText(w); err != nil {
				return err
			}
			fmt.Fprintf(w, "\nmodel written to %s\n", path)
			fmt.Fprintf(w, "held-out calibration of %s: ECE %.4f at 90 days on %d validation rows; monotonicity violations %d\n",
				res.Artifact.Version, res.Report.Model.ECE90, res.Report.Rows, metrics.MonotoneViolations(res.Report.Monotonicity))
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&snapshots, "snapshots", "", "snapshot file (.parquet or .arrow) from 'duewise features snapshot'")
	f.StringVar(&out, "out", "", "folder to write the model and its metrics to")
	f.StringVar(&kind, "kind", "behaviour", "model kind: behaviour, onboarding or invoice")
	f.Int64Var(&opt.Seed, "seed", 1, "random seed for initialisation and shuffling")
	f.StringVar(&hidden, "hidden", "64,32", "hidden layer sizes, comma separated")
	f.IntVar(&opt.Epochs, "epochs", 40, "maximum number of epochs (early stopping usually ends sooner)")
	f.IntVar(&opt.BatchSize, "batch", 1024, "minibatch size")
	f.Float64Var(&opt.LearnRate, "learn-rate", 0, "Adam learning rate (default 0.004, or 0.002 with --monotone=false)")
	f.IntVar(&opt.Patience, "patience", 3, "epochs without validation improvement before early stopping")
	f.Float64Var(&opt.Average, "average-epochs", 4, "horizon in epochs of the moving average of the weights that is validated and kept (negative: keep the last step's weights)")
	f.IntVar(&opt.Ensemble, "ensemble", 1, "networks trained with seeds S, S+1, ... and averaged into one model (hazard logits)")
	tf.add(c, "", "train one model for any tenant on every tenant's rows")
	f.StringSliceVar(&opt.Inputs, "inputs", nil, "extra columns of the snapshot (not signals of the catalog, e.g. declared attributes) the model takes, comma separated (default: every extra column)")
	f.StringVar(&attrFile, "attributes", "", "declarations (attributes.yaml) of the extra columns: labels, directions, ranges (default for --kind onboarding: the tenant's declared attributes in the warehouse)")
	f.BoolVar(&monotone, "monotone", true, "constrain the model to the declared directions of its inputs (docs/features.md); --monotone=false trains it unconstrained, to measure what the constraints cost")
	return c
}

// trainAttributes returns the declarations of the snapshot's extra
// columns: those of file when given, else, for an onboarding model with
// extra columns, the tenant's current declaration in the warehouse (none,
// with a warning, when it cannot be read: the columns are then labelled by
// their names and have no direction).
func (g *globals) trainAttributes(cmd *cobra.Command, file string, opt training.Options, d *training.Dataset) ([]datasets.Attribute, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, err
		}
		return datasets.ParseAttributes(file, b)
	}
	extra := training.ExtraColumns(d)
	if opt.Kind != model.Onboarding || len(extra) == 0 || opt.Tenant == "" {
		return nil, nil
	}
	e, err := g.openWarehouse(cmd.Context())
	if err == nil {
		defer e.Close()
		var s datasets.AttributeSchema
		if s, err = datasets.LatestAttributes(cmd.Context(), e, opt.Tenant); err == nil {
			return s.Attributes, nil
		}
	}
	g.log.Warn("extra columns without declarations: labelled by their names, no monotone direction (declare them, or give --attributes FILE)",
		"columns", strings.Join(extra, ","), "err", err)
	return nil, nil
}

// snapshotTenant resolves the tenant a model is trained for from the
// tenants of the snapshot rows d (read from path).
func snapshotTenant(g *globals, tf *tenantFlags, d *training.Dataset, path string) (string, error) {
	seen := map[string]bool{}
	for _, t := range d.Tenant {
		seen[t] = true
	}
	tenants := slices.Sorted(maps.Keys(seen))
	tenant, err := tf.resolve(func() ([]string, error) { return tenants, nil }, "the snapshot "+path)
	if err != nil || tenant == "" {
		return tenant, err
	}
	if !seen[tenant] {
		return "", fmt.Errorf("tenant %s: the snapshot %s holds rows of %s only", tenant, path, strings.Join(tenants, ", "))
	}
	if len(tenants) > 1 {
		g.log.Warn("the snapshot holds rows of several tenants; the model is trained on all of them", "tenant", tenant, "snapshot", path, "tenants", strings.Join(tenants, ","))
	}
	return tenant, nil
}

// bestEpochs formats the best epoch of each ensemble member.
func bestEpochs(es []int) string {
	parts := make([]string, len(es))
	for i, e := range es {
		parts[i] = strconv.Itoa(e)
	}
	return strings.Join(parts, ",")
}

func parseHidden(s string) ([]int, error) {
	var hs []int
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 4096 {
			return nil, fmt.Errorf("--hidden %q: want comma-separated sizes between 1 and 4096", s)
		}
		hs = append(hs, n)
	}
	return hs, nil
}

func loadSnapshots(path string) (*training.Dataset, error) {
	rr, err := features.ReadFile(path)
	if err != nil {
		return nil, err
	}
	defer rr.Release()
	d, err := training.Load(rr)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return d, nil
}

// saveModel writes the artifact and its metrics into dir.
func saveModel(dir string, a *model.Artifact, rep *metrics.Report) (string, error) {
	b, err := model.Marshal(a) // assigns the version
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, a.Version+".model")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("save model: %w", err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return "", fmt.Errorf("save model: %w", err)
	}
	return path, saveReport(filepath.Join(dir, a.Version+".metrics"), rep)
}

// saveReport writes base.json and base.txt.
func saveReport(base string, rep *metrics.Report) error {
	j, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return fmt.Errorf("save metrics: %w", err)
	}
	if err := os.WriteFile(base+".json", j, 0o644); err != nil {
		return fmt.Errorf("save metrics: %w", err)
	}
	var t strings.Builder
	if err := rep.WriteText(&t); err != nil {
		return err
	}
	if err := os.WriteFile(base+".txt", []byte(t.String()), 0o644); err != nil {
		return fmt.Errorf("save metrics: %w", err)
	}
	return nil
}

func newEvaluateCmd(g *globals) *cobra.Command {
	var modelPath, snapshots, out string
	c := &cobra.Command{
		Use:   "evaluate --model FILE --snapshots FILE [--out DIR]",
		Short: "Measure a model on labelled snapshots (AUC per horizon, concordance, Brier, calibration, baselines, segments)",
		Long: `Evaluate scores every row of a snapshot file with the model and prints the
metrics with censoring handled: AUC at 30/60/90/180/365 days (a customer
censored before the horizon is neither a case nor a control), Harrell's and
Uno's concordance, the integrated Brier score, calibration per decile at 90
days with the expected calibration error, the model's baselines (logistic
regression at 90 days, Kaplan-Meier per segment) side by side and the same
by segment. With --out it also saves metrics.json and metrics.txt there.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if modelPath == "" || snapshots == "" {
				return fmt.Errorf("--model and --snapshots are required")
			}
			a, err := model.Read(modelPath)
			if err != nil {
				return err
			}
			d, err := loadSnapshots(snapshots)
			if err != nil {
				return err
			}
			warnTrainingRows(g, a, d, snapshots)
			rep, err := training.Evaluate(a, d, nil)
			if err != nil {
				return err
			}
			if err := rep.WriteText(cmd.OutOrStdout()); err != nil {
				return err
			}
			if out != "" {
				if err := os.MkdirAll(out, 0o755); err != nil {
					return err
				}
				return saveReport(filepath.Join(out, "metrics"), rep)
			}
			return nil
		},
	}
	c.Flags().StringVar(&modelPath, "model", "", "model file")
	c.Flags().StringVar(&snapshots, "snapshots", "", "labelled snapshot file (.parquet or .arrow)")
	c.Flags().StringVar(&out, "out", "", "folder to save metrics.json and metrics.txt")
	return c
}

// warnTrainingRows warns when the rows of an evaluation are, or may be,
// rows the model was trained on: their metrics flatter it.
func warnTrainingRows(g *globals, a *model.Artifact, d *training.Dataset, path string) {
	o := training.TrainingOverlap(a, d)
	tr := o.TrainedOn
	switch {
	case o.Same && !o.Known:
		g.log.Warn("this is the snapshot the model was trained and validated on: the metrics of its training rows flatter the model; its held-out metrics are in 'duewise models show', or evaluate a snapshot of later dates",
			"model", a.Version, "snapshot", path, "rows", o.Of)
	case o.Same && tr.RandomSplit:
		g.log.Warn("this is the snapshot the model was trained on: most of its rows are training rows, so these metrics flatter the model; its held-out metrics are in 'duewise models show'",
			"model", a.Version, "snapshot", path, "training_rows", tr.Rows, "rows", o.Of)
	case o.Same:
		g.log.Warn("this is the snapshot the model was trained on: the metrics of its training rows flatter the model; its held-out metrics are in 'duewise models show', or evaluate a snapshot of later dates",
			"model", a.Version, "snapshot", path, "training_rows", o.Rows, "rows", o.Of)
	case o.Rows > 0:
		g.log.Warn("rows of the model's training tenants and dates: if they are the same customers, the model was trained on them and these metrics flatter it; evaluate as_of dates after the training dates",
			"model", a.Version, "snapshot", path, "rows_in_training_dates", o.Rows, "rows", o.Of,
			"training_as_of", tr.From+".."+tr.To, "training_tenants", strings.Join(tr.Tenants, ","))
	}
}

func newScoreCmd(g *globals) *cobra.Command {
	var modelPath, snapshots, out, table, lang string
	var tf tenantFlags
	var all bool
	var reasons int
	var sf serveFlags
	c := &cobra.Command{
		Use:   "score --model FILE --snapshots FILE --out FILE | score --all [--tenant T|--all-tenants] [--out FILE|--table NAME]",
		Short: "Write per-row predictions of a model for a snapshot file",
		Long: `Score writes one row per snapshot row: customer_id, [invoice_id,] as_of,
p_30d, p_60d, p_90d, p_180d, p_365d, expected_days, band (and p_late for
invoice models; with --reasons N each row's top N reasons, as the API words
them in --lang), as CSV, Parquet or Arrow by the extension of --out, so that
anyone can recompute the metrics with their own tools (see notebooks/).

With --all it is the nightly batch: every customer of the tenant (--tenant,
else DUEWISE_TENANT, else the store's only tenant; --all-tenants for every
tenant) in the online features (features_latest) is scored with its
tenant's active behaviour model, with reasons and the policy's recommended
actions, into --out (CSV, or NDJSON for .ndjson) or a warehouse table
(--table, created when missing) for CRM export.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if all {
				return g.scoreAll(cmd, sf, &tf, lang, out, table)
			}
			if modelPath == "" || snapshots == "" || out == "" {
				return fmt.Errorf("--model, --snapshots and --out are required")
			}
			a, err := model.Read(modelPath)
			if err != nil {
				return err
			}
			d, err := loadSnapshots(snapshots)
			if err != nil {
				return err
			}
			preds, err := training.Predictions(a, d, nil)
			if err != nil {
				return err
			}
			var texts []string
			if reasons > 0 {
				if lang != "en" && lang != "nl" {
					return fmt.Errorf("--lang %q: want en or nl", lang)
				}
				if texts, err = training.ReasonTexts(a, d, reasons, lang); err != nil {
					return err
				}
			}
			n, err := writeScores(cmd.Context(), out, a, d, preds, texts)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %d predictions of %s to %s\n", n, a.Version, out)
			return nil
		},
	}
	c.Flags().StringVar(&modelPath, "model", "", "model file")
	c.Flags().StringVar(&snapshots, "snapshots", "", "snapshot file (.parquet or .arrow)")
	c.Flags().StringVar(&out, "out", "", "output file: .csv, .parquet or .arrow (--all: .csv or .ndjson)")
	c.Flags().BoolVar(&all, "all", false, "score every customer of the online features with the active models (nightly batch)")
	c.Flags().StringVar(&table, "table", "", "with --all: write into this warehouse table instead of a file")
	tf.add(c, "", "with --all: score every tenant's customers, each with its tenant's active model")
	c.Flags().StringVar(&lang, "lang", "en", "language of the reasons (en, nl)")
	c.Flags().IntVar(&reasons, "reasons", 0, "with --snapshots: add a reasons column with each row's top N reasons (\"CODE: text; ...\", as the API words them)")
	sf.add(c)
	return c
}

// writeScores writes the predictions of d's rows to path.
func writeScores(ctx context.Context, path string, a *model.Artifact, d *training.Dataset, preds []model.Prediction, reasons []string) (int, error) {
	invoice := a.Kind == model.Invoice
	cols := []string{"customer_id"}
	if invoice {
		cols = append(cols, "invoice_id")
	}
	cols = append(cols, "as_of", "p_30d", "p_60d", "p_90d", "p_180d", "p_365d", "expected_days", "band")
	if invoice {
		cols = append(cols, "p_late")
	}
	if reasons != nil {
		cols = append(cols, "reasons")
	}
	row := func(i int) []string {
		r := []string{d.CustomerID[i]}
		if invoice {
			r = append(r, d.InvoiceID[i])
		}
		r = append(r, time.Unix(int64(d.AsOf[i])*86400, 0).UTC().Format(time.DateOnly))
		for _, p := range preds[i].P {
			r = append(r, strconv.FormatFloat(p, 'f', 6, 64))
		}
		r = append(r, strconv.FormatFloat(preds[i].ExpectedDays, 'f', 2, 64), preds[i].Band)
		if invoice {
			r = append(r, strconv.FormatFloat(preds[i].PLate, 'f', 6, 64))
		}
		if reasons != nil {
			r = append(r, reasons[i])
		}
		return r
	}
	if strings.HasSuffix(path, ".csv") {
		f, err := os.Create(path)
		if err != nil {
			return 0, fmt.Errorf("write scores: %w", err)
		}
		w := csv.NewWriter(f)
		w.Write(cols)
		for i := range preds {
			w.Write(row(i))
		}
		w.Flush()
		if err := w.Error(); err != nil {
			f.Close()
			return 0, fmt.Errorf("write scores %s: %w", path, err)
		}
		return len(preds), f.Close()
	}
	fields := make([]arrow.Field, len(cols))
	for j, c := range cols {
		switch {
		case strings.HasPrefix(c, "p_") || c == "expected_days":
			fields[j] = arrow.Field{Name: c, Type: arrow.PrimitiveTypes.Float64}
		case c == "as_of":
			fields[j] = arrow.Field{Name: c, Type: arrow.FixedWidthTypes.Date32}
		default:
			fields[j] = arrow.Field{Name: c, Type: arrow.BinaryTypes.String}
		}
	}
	b := array.NewRecordBuilder(memory.DefaultAllocator, arrow.NewSchema(fields, nil))
	defer b.Release()
	for i := range preds {
		for j, v := range row(i) {
			switch fb := b.Field(j).(type) {
			case *array.Float64Builder:
				x, _ := strconv.ParseFloat(v, 64)
				fb.Append(x)
			case *array.Date32Builder:
				fb.Append(arrow.Date32(d.AsOf[i]))
			case *array.StringBuilder:
				fb.Append(v)
			}
		}
	}
	rec := b.NewRecord()
	defer rec.Release()
	rr, err := array.NewRecordReader(rec.Schema(), []arrow.Record{rec})
	if err != nil {
		return 0, err
	}
	defer rr.Release()
	n, err := features.WriteFile(ctx, path, rr)
	return int(n), err
}
