package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/duewise/duewise/datasets"
	"github.com/duewise/duewise/datasets/public"
	"github.com/duewise/duewise/internal/progress"
)

// importers are the public datasets `duewise datasets import` knows.
var importers = map[string]func(ctx context.Context, path, tenant, outDir string) (public.Result, error){
	"uci":    public.ImportUCI,
	"ibm-ar": public.ImportIBMAR,
}

func newDatasetsCmd(g *globals) *cobra.Command {
	c := &cobra.Command{
		Use:   "datasets",
		Short: "Convert public datasets into the data contract",
		Args:  cobra.NoArgs,
	}
	c.AddCommand(newDatasetsImportCmd(g))
	return c
}

func newDatasetsImportCmd(g *globals) *cobra.Command {
	var tenant, out string
	c := &cobra.Command{
		Use:   "import uci|ibm-ar|applications PATH",
		Short: "Convert a public dataset into data-contract files and load them",
		Long: `Import converts a public dataset into data-contract CSV files:

  uci     UCI "default of credit card clients" (UCI_Credit_Card.csv):
          monthly statements become invoices and payments, LIMIT_BAL the
          credit limit; also writes labels.csv (default next month, as of
          2005-10-01). SEX, EDUCATION, MARRIAGE and AGE are never read.
  ibm-ar  IBM accounts-receivable sample (WA_Fn-UseC_-Accounts-Receivable.csv):
          customers, invoices, payments, disputes.

With --out the files are written there and nothing is loaded. Without
--out they are written to a temporary folder and loaded into the warehouse
(--store or --clickhouse); labels.csv is then not kept, so use --out to
train on the UCI labels. See docs/public-datasets.md for the mapping.

'import applications FILE' turns a company's own past applications into
onboarding training rows (see 'duewise datasets import applications -h').`,
		Example: `  duewise datasets import uci ../shared/data/UCI_Credit_Card.csv --out uci
  duewise datasets import ibm-ar ../shared/data/WA_Fn-UseC_-Accounts-Receivable.csv`,
		Args:      cobra.ExactArgs(2),
		ValidArgs: []string{"uci", "ibm-ar"},
		RunE: func(cmd *cobra.Command, args []string) error {
			name, path := args[0], args[1]
			imp, ok := importers[name]
			if !ok {
				return fmt.Errorf("unknown dataset %q: want uci or ibm-ar", name)
			}
			if tenant == "" {
				tenant = name
			}
			ctx := cmd.Context()
			dir := out
			if dir == "" {
				tmp, err := os.MkdirTemp("", "duewise-"+name+"-")
				if err != nil {
					return fmt.Errorf("temporary folder: %w", err)
				}
				defer os.RemoveAll(tmp)
				dir = tmp
			}
			began := time.Now()
			res, err := imp(ctx, path, tenant, dir)
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "converted %d source rows of %s (tenant %s)\n", res.SourceRows, path, tenant)
			printRows(w, res.Rows, time.Since(began))
			if out != "" {
				fmt.Fprintf(w, "wrote %s; load it with: duewise ingest --tenant %s %s\n", out, tenant, out)
				return nil
			}
			e, err := g.openWarehouse(ctx)
			if err != nil {
				return fmt.Errorf("open warehouse: %w", err)
			}
			defer e.Close()
			lc := datasets.DefaultLoaderConfig()
			lc.Tenant, lc.Progress, lc.Log = tenant, progress.Terminal(cmd.ErrOrStderr()), g.log
			l, err := datasets.NewLoader(e, lc)
			if err != nil {
				return fmt.Errorf("loader: %w", err)
			}
			var paths []string
			for _, f := range res.Files {
				if _, ok := datasets.TableByName(trimExt(f)); ok {
					paths = append(paths, f)
				}
			}
			sum, err := l.LoadPaths(ctx, paths)
			if err != nil {
				return fmt.Errorf("load %s: %w", name, err)
			}
			warnChanged(g, sum)
			printSummary(w, sum)
			fmt.Fprintf(w, "loaded %s into the warehouse as tenant %s\n", name, tenant)
			return nil
		},
	}
	c.Flags().StringVar(&tenant, "tenant", os.Getenv(tenantEnv), "tenant written in every row (env "+tenantEnv+"; default: the dataset name)")
	c.Flags().StringVar(&out, "out", "", "write the contract files to this folder instead of loading them")
	c.AddCommand(newImportApplicationsCmd())
	return c
}

// trimExt returns the base name of path without its extension.
func trimExt(path string) string {
	b := filepath.Base(path)
	return b[:len(b)-len(filepath.Ext(b))]
}
