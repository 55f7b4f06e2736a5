package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/duewise/duewise/features"
	"github.com/duewise/duewise/model"
	"github.com/duewise/duewise/model/registry"
	"github.com/duewise/duewise/training"
	"github.com/duewise/duewise/training/report"
	"github.com/duewise/duewise/warehouse"
)

func newReportCmd(g *globals) *cobra.Command {
	var rf registryFlags
	var modelRef, compareRef, snapshots, out, format string
	var explained int
	c := &cobra.Command{
		Use:   "report --model M --snapshots FILE [--compare M2] --out report.html",
		Short: "Write a model report: one self-contained HTML page with curves, calibration, survival, drift and reasons",
		Long: `Report scores every row of a labelled snapshot file with the model and writes
one self-contained HTML page (inline SVG, no script, no external file,
readable offline): ROC curves per horizon, calibration at 90 days with 95%
intervals, predicted survival against Kaplan-Meier by band and by segment,
time-dependent AUC and Brier by horizon, the monotonicity audit, the
frequencies of the reason codes, the segment and fairness tables, and the
drift of every input (population stability index) against the model's
training rows. Its numbers are those 'duewise evaluate' prints.

With --compare, a second model of the same kind is scored on the same rows:
both side by side, with the difference in AUC and Brier per horizon and its
95% interval (paired, on the same rows).

A model is a model file or a version in the registry (--registry). With
--format json the report's numbers are written as JSON instead.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch {
			case modelRef == "" || snapshots == "":
				return errors.New("--model and --snapshots are required")
			case out == "":
				return errors.New("--out is required (the report's file, e.g. report.html)")
			case format != "html" && format != "json":
				return fmt.Errorf("--format %q: want html or json", format)
			}
			ms := &modelStore{cmd: cmd, g: g, rf: &rf}
			defer ms.close()
			a, err := ms.read(modelRef)
			if err != nil {
				return fmt.Errorf("--model: %w", err)
			}
			var b *model.Artifact
			if compareRef != "" {
				if b, err = ms.read(compareRef); err != nil {
					return fmt.Errorf("--compare: %w", err)
				}
			}
			d, err := loadSnapshots(snapshots)
			if err != nil {
				return err
			}
			rep, err := report.Build(report.Options{Model: a, Compare: b, Data: d, Source: snapshots, Explained: explained, CodeVersion: buildInfo().Version})
			if err != nil {
				return err
			}
			return writeFile(out, func(f *os.File) error {
				if format == "json" {
					return rep.WriteJSON(f)
				}
				return rep.WriteHTML(f)
			})
		},
	}
	rf.add(c)
	c.Flags().StringVar(&modelRef, "model", "", "the model: a model file or a version in the registry")
	c.Flags().StringVar(&compareRef, "compare", "", "a second model of the same kind to compare on the same rows (file or version)")
	c.Flags().StringVar(&snapshots, "snapshots", "", "labelled snapshot file (.parquet or .arrow), e.g. of 'duewise features snapshot'")
	c.Flags().StringVar(&out, "out", "", "the report's file")
	c.Flags().StringVar(&format, "format", "html", "html (the page) or json (its numbers)")
	c.Flags().IntVar(&explained, "explained", report.DefaultExplained, "rows whose reasons are counted, spread evenly over the rows")
	return c
}

// modelStore reads models given as files or as versions in the registry,
// opening the store and its registry once, when first needed (a model
// file needs neither). close releases them.
type modelStore struct {
	cmd *cobra.Command
	g   *globals
	rf  *registryFlags
	reg *registry.Registry
	e   warehouse.Engine
}

// open opens the store and the registry unless they are open.
func (m *modelStore) open() error {
	if m.e != nil {
		return nil
	}
	var err error
	m.reg, m.e, err = m.g.openRegistry(m.cmd, m.rf)
	return err
}

func (m *modelStore) close() {
	if m.e != nil {
		m.e.Close()
	}
}

// read reads ref: a model file or, when no such file exists, a version in
// the registry.
func (m *modelStore) read(ref string) (*model.Artifact, error) {
	if _, err := os.Stat(ref); err == nil || filepath.Ext(ref) == ".model" {
		return model.Read(ref)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if err := m.open(); err != nil {
		return nil, fmt.Errorf("%s is no file, and the registry: %w", ref, err)
	}
	e, err := m.reg.Get(m.cmd.Context(), m.rf.tenant, ref)
	if err != nil {
		return nil, fmt.Errorf("%s is no file and no version in the registry %s: %w", ref, m.rf.dir, err)
	}
	return m.reg.Load(e)
}

// writeFile writes the file at path through a temporary file beside it,
// so that a failed write leaves no half file.
func writeFile(path string, write func(*os.File) error) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

func newModelsCompareCmd(g *globals) *cobra.Command {
	var rf registryFlags
	var snapshots, since, format string
	var fromAudit bool
	c := &cobra.Command{
		Use:   "compare (A B --snapshots FILE | [A B] --from-audit --since DATE) [--format text|json]",
		Short: "Compare two models of one kind on the same rows: AUC and Brier per horizon with the difference and its 95% interval",
		Long: `Compare scores the same labelled rows with models A and B (files or versions
in the registry) and prints, per horizon, each model's AUC and Brier score,
the difference A - B and its 95% interval (DeLong's method for correlated
ROC curves; the per-row IPCW terms for Brier), then the concordance and the
calibration error of each. An interval that excludes 0 is a real difference
on these rows.

The rows are a snapshot file (--snapshots), or, with --from-audit, the
customers the server scored since --since (score_audit), each at the day it
was scored, with its features computed as of that day and its outcome as
known now (censored at the end of the data): the comparison on the
customers the models were actually asked about. Without A and B it compares
the served model with its shadow ('serve --shadow'): the pair of versions
the audit holds most often since --since. 'duewise report --compare' draws
the same in a page.`,
		Args: cobra.RangeArgs(0, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			switch {
			case fromAudit == (snapshots != ""):
				return errors.New("give the rows: --snapshots FILE, or --from-audit --since DATE")
			case fromAudit && since == "":
				return errors.New("--from-audit needs --since DATE (YYYY-MM-DD): the scores given since then")
			case format != "text" && format != "json":
				return fmt.Errorf("--format %q: want text or json", format)
			case len(args) == 1 || len(args) == 0 && !fromAudit:
				return errors.New("name the two models A and B (without them, --from-audit compares the served model with its shadow)")
			}
			var from time.Time
			if fromAudit {
				var err error
				if from, err = time.Parse(time.DateOnly, since); err != nil {
					return fmt.Errorf("--since %q: want a date YYYY-MM-DD", since)
				}
			}
			ms := &modelStore{cmd: cmd, g: g, rf: &rf}
			defer ms.close()
			if len(args) == 0 {
				pair, err := ms.shadowPair(from)
				if err != nil {
					return err
				}
				args = pair[:]
			}
			a, err := ms.read(args[0])
			if err != nil {
				return fmt.Errorf("model A: %w", err)
			}
			b, err := ms.read(args[1])
			if err != nil {
				return fmt.Errorf("model B: %w", err)
			}
			var d *training.Dataset
			src := snapshots
			if fromAudit {
				if d, err = ms.auditedRows(a.Kind, from); err != nil {
					return err
				}
				src = fmt.Sprintf("the customers scored since %s (score_audit of tenant %s)", since, rf.tenant)
			} else if d, err = loadSnapshots(snapshots); err != nil {
				return err
			}
			rep, err := report.Build(report.Options{Model: a, Compare: b, Data: d, Source: src, Explained: 1})
			if err != nil {
				return err
			}
			if format == "json" {
				return rep.WriteJSON(cmd.OutOrStdout())
			}
			return rep.WriteComparison(cmd.OutOrStdout())
		},
	}
	rf.add(c)
	c.Flags().StringVar(&snapshots, "snapshots", "", "labelled snapshot file (.parquet or .arrow)")
	c.Flags().BoolVar(&fromAudit, "from-audit", false, "compare on the customers the server scored (score_audit), with the outcomes known now")
	c.Flags().StringVar(&since, "since", "", "with --from-audit: the first day of scores (YYYY-MM-DD)")
	c.Flags().StringVar(&format, "format", "text", "text or json")
	return c
}

// shadowPair returns the served behaviour version and its shadow that the
// audit records most often since from.
func (m *modelStore) shadowPair(from time.Time) ([2]string, error) {
	if err := m.open(); err != nil {
		return [2]string{}, err
	}
	rr, err := m.e.Query(m.cmd.Context(), `SELECT model_version, shadow_version, count() AS n FROM score_audit
WHERE tenant = {tenant:String} AND kind = 'behaviour' AND shadow_version != '' AND scored_at >= {from:DateTime}
GROUP BY model_version, shadow_version ORDER BY n DESC, model_version, shadow_version LIMIT 1`,
		warehouse.Params{"tenant": m.rf.tenant, "from": from})
	if err != nil {
		return [2]string{}, fmt.Errorf("read the audit: %w", err)
	}
	defer rr.Release()
	var pair [2]string
	var n uint64
	if err := warehouse.ScanOne(rr, &pair[0], &pair[1], &n); errors.Is(err, warehouse.ErrNoRows) {
		return [2]string{}, fmt.Errorf("no behaviour scores with a shadow model (serve --shadow) of tenant %s since %s in the audit: name the two models A and B", m.rf.tenant, from.Format(time.DateOnly))
	} else if err != nil {
		return [2]string{}, fmt.Errorf("read the audit: %w", err)
	}
	return pair, nil
}

// auditedRows are the labelled rows of the behaviour customers of the
// audit since from, each at the day it was scored.
func (m *modelStore) auditedRows(kind model.Kind, from time.Time) (*training.Dataset, error) {
	if kind != model.Behaviour {
		return nil, fmt.Errorf("--from-audit compares behaviour models (the audit's customers at the days they were scored); these are %s models", kind)
	}
	if err := m.open(); err != nil {
		return nil, err
	}
	ctx, e, rf := m.cmd.Context(), m.e, m.rf
	rr, err := e.Query(ctx, `SELECT DISTINCT customer_id, toDate(scored_at) AS day FROM score_audit
WHERE tenant = {tenant:String} AND kind = 'behaviour' AND scored_at >= {from:DateTime} ORDER BY customer_id, day`,
		warehouse.Params{"tenant": rf.tenant, "from": from})
	if err != nil {
		return nil, fmt.Errorf("read the audit: %w", err)
	}
	var at []features.CustomerDate
	var cd features.CustomerDate
	err = warehouse.Scan(rr, func() error { at = append(at, cd); return nil }, &cd.Customer, &cd.Date)
	rr.Release()
	if err != nil {
		return nil, fmt.Errorf("read the audit: %w", err)
	}
	if len(at) == 0 {
		return nil, fmt.Errorf("no behaviour scores of tenant %s since %s in the audit", rf.tenant, from.Format(time.DateOnly))
	}
	snap, err := features.SnapshotAt(ctx, e, features.AtOptions{Tenant: rf.tenant, At: at})
	if err != nil {
		return nil, err
	}
	defer snap.Release()
	d, err := training.Load(snap)
	if errors.Is(err, training.ErrNoRows) {
		return nil, fmt.Errorf("the %d customer-days scored since %s have no labelled rows (customers unknown to the store, or already behind)", len(at), from.Format(time.DateOnly))
	}
	return d, err
}
