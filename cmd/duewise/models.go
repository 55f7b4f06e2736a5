package main

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/duewise/duewise/model"
	"github.com/duewise/duewise/model/registry"
	"github.com/duewise/duewise/training"
	"github.com/duewise/duewise/training/metrics"
	"github.com/duewise/duewise/warehouse"
)

// registryFlags are the flags of commands that use the model registry.
type registryFlags struct {
	dir    string
	tf     tenantFlags
	tenant string // resolved by openRegistry
}

func (r *registryFlags) add(c *cobra.Command) {
	c.Flags().StringVar(&r.dir, "registry", envOr("DUEWISE_MODELS", ".duewise/models"), "model registry folder (env DUEWISE_MODELS)")
	r.tf.add(c, "", "")
}

func newModelsCmd(g *globals) *cobra.Command {
	c := &cobra.Command{
		Use:   "models list|show|promote|rollback|history|compare",
		Short: "List, inspect and promote trained models (one active model per kind and tenant)",
		Long: `The registry is a folder of model files (--registry, default .duewise/models,
where 'duewise train --out' writes them) recorded in the warehouse table
model_registry. Files in the folder are registered automatically. Promoting a
version makes it the tenant's active model of its kind; the previous one is
kept, so promoting it again rolls back. 'duewise serve' serves the active
models.`,
	}
	c.AddCommand(newModelsListCmd(g), newModelsShowCmd(g), newModelsPromoteCmd(g), newModelsRollbackCmd(g), newModelsHistoryCmd(g), newModelsCompareCmd(g))
	return c
}

// registryRun is a command's RunE that opens the registry (resolving the
// tenant into rf) and runs fn on it.
func registryRun(g *globals, rf *registryFlags, fn func(cmd *cobra.Command, args []string, r *registry.Registry) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		r, e, err := g.openRegistry(cmd, rf)
		if err != nil {
			return err
		}
		defer e.Close()
		return fn(cmd, args, r)
	}
}

// openRegistry opens the store and its registry, resolving the tenant into
// rf; the caller closes the returned engine.
func (g *globals) openRegistry(cmd *cobra.Command, rf *registryFlags) (*registry.Registry, warehouse.Engine, error) {
	e, err := g.openWarehouse(cmd.Context())
	if err != nil {
		return nil, nil, err
	}
	if rf.tenant, err = rf.tf.inStore(cmd.Context(), g, e); err != nil {
		e.Close()
		return nil, nil, err
	}
	r := registry.New(rf.dir, e)
	if err := r.Sync(cmd.Context(), rf.tenant); err != nil {
		e.Close()
		return nil, nil, err
	}
	return r, e, nil
}

func newModelsListCmd(g *globals) *cobra.Command {
	var rf registryFlags
	var format string
	c := &cobra.Command{
		Use:   "list [--format table|ids|json]",
		Short: "List the tenant's models, newest first",
		Args:  cobra.NoArgs,
		RunE: registryRun(g, &rf, func(cmd *cobra.Command, _ []string, r *registry.Registry) error {
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
		}),
	}
	rf.add(c)
	c.Flags().StringVar(&format, "format", "table", "output: table, ids or json")
	return c
}

func newModelsShowCmd(g *globals) *cobra.Command {
	var rf registryFlags
	var format string
	c := &cobra.Command{
		Use:   "show VERSION [--format text|json]",
		Short: "Show a model: what it was trained on, its inputs, grid, bands and validation metrics",
		Args:  cobra.ExactArgs(1),
		RunE: registryRun(g, &rf, func(cmd *cobra.Command, args []string, r *registry.Registry) error {
			if format != "text" && format != "json" {
				return fmt.Errorf("--format %q: want text or json", format)
			}
			e, err := r.Get(cmd.Context(), rf.tenant, args[0])
			if err != nil {
				return err
			}
			a, err := r.Load(e)
			if err != nil {
				return err
			}
			if format == "json" {
				return showModelJSON(cmd.OutOrStdout(), e, a)
			}
			return showModel(cmd.OutOrStdout(), e, a)
		}),
	}
	rf.add(c)
	c.Flags().StringVar(&format, "format", "text", "output: text (readable) or json (the model without its weights, with its registry entry)")
	return c
}

// showModel prints a model as readable text.
func showModel(w io.Writer, e registry.Entry, a *model.Artifact) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	active := "no"
	if e.Active {
		active = "yes: the tenant's active " + string(a.Kind) + " model"
	}
	tenant := a.Tenant
	if tenant == "" {
		tenant = "any"
	}
	row := func(k, v string) { fmt.Fprintf(tw, "%s\t%s\n", k, v) }
	row("version", a.Version)
	row("kind", string(a.Kind))
	row("tenant", tenant)
	row("active", active)
	row("file", e.File)
	row("created", a.CreatedAt.Format(time.RFC3339))
	row("code version", a.CodeVersion)
	row("data", a.DataFingerprint)
	if tr, ok := training.ModelTrainedOn(a); ok {
		split := "validated on later as_of dates"
		if tr.RandomSplit {
			split = "validated on a random share of the customers"
		}
		row("trained on", fmt.Sprintf("%d rows of %s, as_of %s to %s (%s)", tr.Rows, strings.Join(tr.Tenants, ", "), tr.From, tr.To, split))
	}
	row("seed", strconv.FormatInt(a.Seed, 10))
	grid := make([]string, len(a.Grid))
	for i, d := range a.Grid {
		grid[i] = strconv.FormatFloat(d, 'f', -1, 64)
	}
	row("grid (days)", strings.Join(grid, ", "))
	b := a.BandThresholds
	row("bands (90 days)", fmt.Sprintf("A < %.4f <= B < %.4f <= C < %.4f <= D < %.4f <= E", b[0], b[1], b[2], b[3]))
	var layers []string
	for _, l := range a.Layers {
		layers = append(layers, fmt.Sprintf("%dx%d %s", l.In, l.Out, l.Activation))
	}
	row("layers", strings.Join(layers, ", "))
	keys := slices.DeleteFunc(slices.Sorted(maps.Keys(a.Params)), func(k string) bool { return k == "trained_on" || k == model.ProfileParam })
	for i, k := range keys {
		label := ""
		if i == 0 {
			label = "training"
		}
		row(label, fmt.Sprintf("%s %v", k, a.Params[k]))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\ninputs (%d):\n", len(a.Features))
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, f := range a.Features {
		if f.Type == model.Categorical {
			fmt.Fprintf(tw, "  %s\tcategorical\t%s\n", f.Name, strings.Join(f.Categories, ", "))
			continue
		}
		var notes []string
		if f.Direction.Monotone() {
			notes = append(notes, "direction "+string(f.Direction))
		}
		if f.Log {
			notes = append(notes, "log")
		}
		if f.NullIndicator {
			notes = append(notes, "null indicator")
		}
		if f.ZeroAsNull {
			notes = append(notes, "zero as null")
		}
		if f.ZeroIndicator {
			notes = append(notes, "zero indicator")
		}
		fmt.Fprintf(tw, "  %s\tnumeric\tmean %.4g, std %.4g\t%s\n", f.Name, f.Mean, f.Std, strings.Join(notes, ", "))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	v, ok := a.Metrics["validation"]
	if !ok {
		return nil
	}
	var rep metrics.Report
	if b, err := json.Marshal(v); err != nil || json.Unmarshal(b, &rep) != nil {
		return fmt.Errorf("model %s: validation metrics: not a metrics report", a.Version)
	}
	fmt.Fprintf(w, "\nvalidation (held-out rows):\n")
	return rep.WriteText(w)
}

// showModelJSON prints a model as JSON: the artifact without its weights,
// with its registry entry.
func showModelJSON(w io.Writer, e registry.Entry, a *model.Artifact) error {
	type layer struct {
		In         int    `json:"in"`
		Out        int    `json:"out"`
		Activation string `json:"activation"`
	}
	out := struct {
		*model.Artifact
		Layers    []layer   `json:"layers"`
		Reference []float32 `json:"reference,omitempty"`
		Active    bool      `json:"active"`
		File      string    `json:"file"`
	}{Artifact: a, Active: e.Active, File: e.File}
	for _, l := range a.Layers {
		out.Layers = append(out.Layers, layer{l.In, l.Out, l.Activation})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

func newModelsPromoteCmd(g *globals) *cobra.Command {
	var rf registryFlags
	c := &cobra.Command{
		Use:   "promote VERSION",
		Short: "Make VERSION the tenant's active model of its kind (the previous one is kept for rollback)",
		Args:  cobra.ExactArgs(1),
		RunE: registryRun(g, &rf, func(cmd *cobra.Command, args []string, r *registry.Registry) error {
			e, err := r.Promote(cmd.Context(), rf.tenant, args[0])
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s is now the active %s model of tenant %s (a running 'duewise serve' picks it up within its reload interval, or POST /v1/models/%s/activate)\n", e.Version, e.Kind, rf.tenant, e.Version)
			return nil
		}),
	}
	rf.add(c)
	return c
}

func newModelsRollbackCmd(g *globals) *cobra.Command {
	var rf registryFlags
	c := &cobra.Command{
		Use:   "rollback KIND",
		Short: "Make the model that was active before the current one of KIND active again (recorded; again goes one more step back)",
		Long: `Rollback undoes the last promotion of a kind (behaviour, onboarding or
invoice): the model active before the current one becomes active again, and
the rollback is recorded in model_promotions. Promotions stack up: promote
A, promote B, rollback gives A; rollback again gives what was active before
A. 'duewise models history KIND' lists them.`,
		Args: cobra.ExactArgs(1),
		RunE: registryRun(g, &rf, func(cmd *cobra.Command, args []string, r *registry.Registry) error {
			if !model.Kind(args[0]).Valid() {
				return fmt.Errorf("kind %q: want behaviour, onboarding or invoice", args[0])
			}
			e, err := r.Rollback(cmd.Context(), rf.tenant, args[0])
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "rolled back: %s is again the active %s model of tenant %s (a running 'duewise serve' picks it up within its reload interval)\n", e.Version, e.Kind, rf.tenant)
			return nil
		}),
	}
	rf.add(c)
	return c
}

func newModelsHistoryCmd(g *globals) *cobra.Command {
	var rf registryFlags
	c := &cobra.Command{
		Use:   "history KIND",
		Short: "List the promotions and rollbacks of the tenant's models of KIND, oldest first",
		Args:  cobra.ExactArgs(1),
		RunE: registryRun(g, &rf, func(cmd *cobra.Command, args []string, r *registry.Registry) error {
			hist, err := r.History(cmd.Context(), rf.tenant, args[0])
			if err != nil {
				return err
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
			fmt.Fprintln(w, "AT\tACTION\tVERSION\tPREVIOUS")
			for _, p := range hist {
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", p.At.UTC().Format("2006-01-02 15:04:05"), p.Action, p.Version, p.Previous)
			}
			return w.Flush()
		}),
	}
	rf.add(c)
	return c
}
