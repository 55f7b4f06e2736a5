package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/duewise/duewise/model"
	"github.com/duewise/duewise/training/report"
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
			a, err := readModel(cmd, g, &rf, modelRef)
			if err != nil {
				return fmt.Errorf("--model: %w", err)
			}
			var b *model.Artifact
			if compareRef != "" {
				if b, err = readModel(cmd, g, &rf, compareRef); err != nil {
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

// readModel reads a model given as a file or, when no such file exists,
// as a version in the registry.
func readModel(cmd *cobra.Command, g *globals, rf *registryFlags, ref string) (*model.Artifact, error) {
	if _, err := os.Stat(ref); err == nil || filepath.Ext(ref) == ".model" {
		return model.Read(ref)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	r, done, err := g.openRegistry(cmd, rf)
	if err != nil {
		return nil, fmt.Errorf("%s is no file, and the registry: %w", ref, err)
	}
	defer done()
	e, err := r.Get(cmd.Context(), rf.tenant, ref)
	if err != nil {
		return nil, fmt.Errorf("%s is no file and no version in the registry %s: %w", ref, rf.dir, err)
	}
	return r.Load(e)
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
