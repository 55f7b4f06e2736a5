package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/duewise/duewise/datasets"
	"github.com/duewise/duewise/internal/progress"
	"github.com/duewise/duewise/warehouse"
)

func newIngestCmd(g *globals) *cobra.Command {
	cfg := datasets.DefaultLoaderConfig()
	var tf tenantFlags
	c := &cobra.Command{
		Use:   "ingest [--tenant T] [--table NAME] [--rejects DIR] PATH...",
		Short: "Load data-contract files (CSV, Parquet, Arrow IPC, NDJSON) into the warehouse",
		Long: `Ingest validates every row of the given files (or of every data-contract
file in the given folders) and loads the good rows into the warehouse.
The table comes from the file name: invoices.csv, invoices.parquet,
invoices.arrow, invoices.ndjson (.csv.gz and .ndjson.gz too); folders are
loaded in contract order (customers first).

A bad row is reported as file:line: column: reason and written, with its
reason, to <file>.rejects.csv next to <file>.summary.json (in --rejects DIR,
or beside the file); the good rows of the same file still land. Loading the
same files again changes nothing: rows are identified by (tenant, id), and a
later version of an id replaces the earlier one. The summary counts the
duplicates (ids already stored or repeated) and, of those, the stored rows
the load gave different values (changed; a warning names one). Rows keep the
tenant they name; --tenant (else DUEWISE_TENANT) fills a missing tenant
column and rejects other tenants' rows. A customers file may carry the
tenant's declared attributes as extra columns ('duewise attributes
declare'), checked against the declaration. Exit code 2 means some rows
were rejected. See docs/data-contract.md.`,
		Example: `  duewise ingest --tenant demo demo/
  duewise ingest --tenant acme --table invoices export-2025-01.csv
  duewise ingest --rejects /tmp/rejects payments.parquet`,
		Args:        cobra.MinimumNArgs(1),
		Annotations: map[string]string{annotationArgs: "paths"},
		RunE: func(cmd *cobra.Command, paths []string) error {
			ctx := cmd.Context()
			cfg.Progress = progress.Terminal(cmd.ErrOrStderr())
			cfg.Log = g.log
			if g.core != nil {
				cfg.Touched = g.core.Touch // through a running server: refresh their scores
				cfg.Inserted = g.core.Inserted
			}
			e, err := g.openWarehouse(ctx)
			if err != nil {
				return err
			}
			defer e.Close()
			cfg.Tenant = tf.name
			sum, err := load(ctx, e, cfg, paths)
			if errors.Is(err, datasets.ErrNoTenant) && cfg.Tenant == "" {
				// A file without a tenant column: the store's only tenant.
				if cfg.Tenant, err = tf.inStore(ctx, g, e); err != nil {
					return fmt.Errorf("a file has no tenant column: %w", err)
				}
				g.log.Info("loading rows without a tenant column as the store's only tenant", "tenant", cfg.Tenant)
				sum, err = load(ctx, e, cfg, paths)
			}
			warnChanged(g, sum)
			printSummary(cmd.OutOrStdout(), sum)
			if err != nil {
				return err
			}
			if sum.Total.Rejected > 0 {
				return &exitError{code: 2, err: fmt.Errorf("%d of %d rows rejected; see the rejects files above", sum.Total.Rejected, sum.Total.Read)}
			}
			return nil
		},
	}
	f := c.Flags()
	tf.add(c, "tenant of the rows: fills a missing tenant column and rejects rows of any other tenant (env "+tenantEnv+"; default: each row's tenant column, and for files without one the only tenant in the store)", "")
	f.StringVar(&cfg.Table, "table", "", "load every named file as this table instead of taking it from the file name; from folders, load only this table's files")
	f.StringVar(&cfg.RejectsDir, "rejects", "", "folder for <file>.rejects.csv and <file>.summary.json (default: beside each file)")
	f.IntVar(&cfg.Workers, "workers", 0, "parse and validate on this many goroutines (0 = one per CPU)")
	return c
}

// warnChanged warns about every file that gave stored rows different
// values: right for a correction, a mistake otherwise.
func warnChanged(g *globals, sum datasets.Summary) {
	for _, f := range sum.Files {
		if f.Changed == 0 {
			continue
		}
		t, _ := datasets.TableByName(f.Table)
		g.log.Warn("the load replaced stored rows by rows with the same id and different values; right for a correction, a mistake if the ids belong to other rows",
			"file", f.File, "table", f.Table, "changed", f.Changed, "of_loaded", f.Loaded, "example", t.ID()+" "+f.ChangedID)
	}
}

// load loads paths with a new Loader of cfg.
func load(ctx context.Context, e warehouse.Engine, cfg datasets.LoaderConfig, paths []string) (datasets.Summary, error) {
	l, err := datasets.NewLoader(e, cfg)
	if err != nil {
		return datasets.Summary{}, err
	}
	return l.LoadPaths(ctx, paths)
}

// printSummary writes the per-file and total counts of a load, then the
// first problems of every file with rejects.
func printSummary(w io.Writer, s datasets.Summary) {
	if len(s.Files) == 0 {
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "file\ttable\tread\tloaded\trejected\tduplicates\tchanged\tseconds\trows/s\t")
	row := func(name, table string, c datasets.Counts) {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%d\t%.2f\t%.0f\t\n", name, table, c.Read, c.Loaded, c.Rejected, c.Duplicates, c.Changed, c.Seconds, c.RowsPerSecond)
	}
	for _, f := range s.Files {
		row(f.File, f.Table, f.Counts)
	}
	row("total", "", s.Total)
	tw.Flush()
	for _, f := range s.Files {
		if f.Rejected == 0 {
			continue
		}
		fmt.Fprintf(w, "\n%s: %d rows rejected, written to %s\n", f.File, f.Rejected, f.Rejects)
		for _, p := range f.Problems {
			fmt.Fprintln(w, "  "+p)
		}
		if more := f.Rejected - int64(len(f.Problems)); more > 0 {
			fmt.Fprintf(w, "  ... and %d more\n", more)
		}
	}
}
