package main

import (
	"encoding/json"
	"fmt"

	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/duewise/duewise/model/registry"
)

// registryFlags are the flags of commands that use the model registry.
type registryFlags struct {
	dir    string
	tenant string
}

func (r *registryFlags) add(c *cobra.Command) {
	c.Flags().StringVar(&r.dir, "registry", envOr("DUEWISE_MODELS", ".duewise/models"), "model registry folder (env DUEWISE_MODELS)")
	c.Flags().StringVar(&r.tenant, "tenant", envOr("DUEWISE_TENANT", "default"), "tenant (env DUEWISE_TENANT)")
}

func newModelsCmd(g *globals) *cobra.Command {
	c := &cobra.Command{
		Use:   "models list|show|promote",
		Short: "List, inspect and promote trained models (one active model per kind and tenant)",
		Long: `The registry is a folder of model files (--registry, default .duewise/models,
where 'duewise train --out' writes them) recorded in the warehouse table
model_registry. Files in the folder are registered automatically. Promoting a
version makes it the tenant's active model of its kind; the previous one is
kept, so promoting it again rolls back. 'duewise serve' serves the active
models.`,
	}
	c.AddCommand(newModelsListCmd(g), newModelsShowCmd(g), newModelsPromoteCmd(g))
	return c
}

func (g *globals) openRegistry(cmd *cobra.Command, rf *registryFlags) (*registry.Registry, func(), error) {
	e, err := g.openWarehouse(cmd.Context())
	if err != nil {
		return nil, nil, err
	}
	r := registry.New(rf.dir, e)
	if err := r.Sync(cmd.Context(), rf.tenant); err != nil {
		e.Close()
		return nil, nil, err
	}
	return r, func() { e.Close() }, nil
}

func newModelsListCmd(g *globals) *cobra.Command {
	var rf registryFlags
	var format string
	c := &cobra.Command{
		Use:   "list [--format table|ids|json]",
		Short: "List the tenant's models, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r, done, err := g.openRegistry(cmd, &rf)
			if err != nil {
				return err
			}
			defer done()
			es, err := r.List(cmd.Context(), rf.tenant)
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			switch format {
			case "ids":
				for _, e := range es {
					fmt.Fprintln(w, e.Version)
				}
			case "json":
				enc := json.NewEncoder(w)
				enc.SetIndent("", "  ")
				return enc.Encode(es)
			case "table":
				tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "VERSION\tKIND\tCREATED\tACTIVE\tFILE")
				for _, e := range es {
					act := ""
					if e.Active {
						act = "active"
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", e.Version, e.Kind, e.CreatedAt.Format(time.DateTime), act, e.File)
				}
				return tw.Flush()
			default:
				return fmt.Errorf("--format %q: want table, ids or json", format)
			}
			return nil
		},
	}
	rf.add(c)
	c.Flags().StringVar(&format, "format", "table", "output: table, ids or json")
	return c
}

func newModelsShowCmd(g *globals) *cobra.Command {
	var rf registryFlags
	c := &cobra.Command{
		Use:   "show VERSION",
		Short: "Show a model: features, grid, training, metrics",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, done, err := g.openRegistry(cmd, &rf)
			if err != nil {
				return err
			}
			defer done()
			e, err := r.Get(cmd.Context(), rf.tenant, args[0])
			if err != nil {
				return err
			}
			a, err := r.Load(e)
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "version        %s\nkind           %s\nactive         %v\ncreated        %s\ncode version   %s\ndata           %s\nseed           %d\ngrid (days)    %v\nbands (90d)    A < %.4f <= B < %.4f <= C < %.4f <= D < %.4f <= E\n",
				a.Version, a.Kind, e.Active, a.CreatedAt.Format(time.RFC3339), a.CodeVersion, a.DataFingerprint, a.Seed, a.Grid,
				a.BandThresholds[0], a.BandThresholds[1], a.BandThresholds[2], a.BandThresholds[3])
			var layers []string
			for _, l := range a.Layers {
				layers = append(layers, fmt.Sprintf("%dx%d %s", l.In, l.Out, l.Activation))
			}
			fmt.Fprintf(w, "layers         %s\nparams         %v\nfeatures       %d:\n", strings.Join(layers, ", "), a.Params, len(a.Features))
			for _, f := range a.Features {
				if f.Type == "categorical" {
					fmt.Fprintf(w, "  %-40s categorical  %s\n", f.Name, strings.Join(f.Categories, ", "))
				} else {
					fmt.Fprintf(w, "  %-40s numeric      mean %.4g std %.4g log %v null indicator %v zero as null %v\n", f.Name, f.Mean, f.Std, f.Log, f.NullIndicator, f.ZeroAsNull)
				}
			}
			if v, ok := a.Metrics["validation"]; ok {
				b, _ := json.MarshalIndent(v, "", "  ")
				fmt.Fprintf(w, "validation metrics:\n%s\n", b)
			}
			return nil
		},
	}
	rf.add(c)
	return c
}

func newModelsPromoteCmd(g *globals) *cobra.Command {
	var rf registryFlags
	c := &cobra.Command{
		Use:   "promote VERSION",
		Short: "Make VERSION the tenant's active model of its kind (the previous one is kept for rollback)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, done, err := g.openRegistry(cmd, &rf)
			if err != nil {
				return err
			}
			defer done()
			e, err := r.Promote(cmd.Context(), rf.tenant, args[0])
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s is now the active %s model of tenant %s (a running 'duewise serve' picks it up within its reload interval, or POST /v1/models/%s/activate)\n", e.Version, e.Kind, rf.tenant, e.Version)
			return nil
		},
	}
	rf.add(c)
	return c
}
