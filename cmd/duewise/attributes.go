package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/duewise/duewise/datasets"
)

func newAttributesCmd(g *globals) *cobra.Command {
	c := &cobra.Command{
		Use:   "attributes declare|list|show",
		Short: "Declare a tenant's own customer attributes (extra columns of customers)",
		Long: `A tenant declares the attributes it knows at application time (a bureau
score, an income band, the product...): each with a name, a type (numeric or
category), a label in English and Dutch (reasons name the attribute by it), a
direction (increases_risk, decreases_risk or none: the monotone constraint of
the models that use it) and its allowed range or values. Every declaration
is stored in the warehouse as a new version; the latest one applies.

Declared attributes are extra columns of customers files ('duewise ingest')
and extra fields of customer rows of POST /v1/events, validated against the
declaration; the onboarding snapshot ('duewise features snapshot --level
onboarding') carries them as columns, 'duewise train --kind onboarding' uses
them and POST /v1/onboarding/risk takes them in its attributes field. See
docs/data-contract.md.`,
	}
	c.AddCommand(newAttributesDeclareCmd(g), newAttributesListCmd(g), newAttributesShowCmd(g))
	return c
}

func newAttributesDeclareCmd(g *globals) *cobra.Command {
	var tf tenantFlags
	var file string
	c := &cobra.Command{
		Use:   "declare --tenant T --file attributes.yaml",
		Short: "Store a new version of a tenant's declared attributes",
		Example: `  duewise attributes declare --tenant acme --file attributes.yaml

attributes.yaml:
  attributes:
    - name: bureau_score
      type: numeric
      label: {en: bureau score, nl: bureauscore}
      direction: decreases_risk
      min: 0
      max: 1000
    - name: income_band
      type: category
      label: {en: income band, nl: inkomensklasse}
      direction: none
      values: [low, middle, high]`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if tf.name == "" || file == "" {
				return errors.New("--tenant (or " + tenantEnv + ") and --file are required")
			}
			b, err := os.ReadFile(file)
			if err != nil {
				return err
			}
			attrs, err := datasets.ParseAttributes(file, b)
			if err != nil {
				return err
			}
			e, err := g.openWarehouse(cmd.Context())
			if err != nil {
				return err
			}
			defer e.Close()
			s, err := datasets.DeclareAttributes(cmd.Context(), e, tf.name, file, attrs)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "declared version %d of the attributes of tenant %s: %s\n", s.Version, s.Tenant, strings.Join(s.Names(), ", "))
			return nil
		},
	}
	tf.add(c, "tenant the attributes belong to (env "+tenantEnv+")", "")
	c.Flags().StringVar(&file, "file", "", "YAML file of the declarations")
	return c
}

func newAttributesListCmd(g *globals) *cobra.Command {
	var tf tenantFlags
	c := &cobra.Command{
		Use:   "list [--tenant T]",
		Short: "List the versions of a tenant's declared attributes",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			tenant, all, err := g.attributeVersions(cmd, &tf)
			if err != nil {
				return err
			}
			if len(all) == 0 {
				fmt.Fprintf(cmd.OutOrStdout(), "tenant %s has declared no attributes (duewise attributes declare --tenant %s --file attributes.yaml)\n", tenant, tenant)
				return nil
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "VERSION\tDECLARED\tSOURCE\tATTRIBUTES")
			for i, s := range all {
				cur := ""
				if i == len(all)-1 {
					cur = "  (current)"
				}
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s%s\n", s.Version, s.DeclaredAt.Format(time.DateTime), s.Source, strings.Join(s.Names(), ", "), cur)
			}
			return tw.Flush()
		},
	}
	tf.add(c, "", "")
	return c
}

func newAttributesShowCmd(g *globals) *cobra.Command {
	var tf tenantFlags
	var version int
	c := &cobra.Command{
		Use:   "show [--tenant T] [--version N]",
		Short: "Show a version of a tenant's declared attributes (default: the current one)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			tenant, all, err := g.attributeVersions(cmd, &tf)
			if err != nil {
				return err
			}
			if len(all) == 0 {
				return fmt.Errorf("tenant %q: %w", tenant, datasets.ErrNoAttributes)
			}
			s := all[len(all)-1]
			if version != 0 {
				if version < 1 || version > len(all) || all[version-1].Version != version {
					return fmt.Errorf("--version %d: tenant %s has versions 1 to %d", version, tenant, all[len(all)-1].Version)
				}
				s = all[version-1]
			}
			writeAttributes(cmd.OutOrStdout(), &s)
			return nil
		},
	}
	tf.add(c, "", "")
	c.Flags().IntVar(&version, "version", 0, "version to show (default: the current one)")
	return c
}

// attributeVersions returns the tenant of tf (in the store) and every
// version of its declared attributes.
func (g *globals) attributeVersions(cmd *cobra.Command, tf *tenantFlags) (string, []datasets.AttributeSchema, error) {
	e, err := g.openWarehouse(cmd.Context())
	if err != nil {
		return "", nil, err
	}
	defer e.Close()
	tenant, err := tf.inStore(cmd.Context(), g, e)
	if err != nil {
		return "", nil, err
	}
	all, err := datasets.AttributeSchemas(cmd.Context(), e, tenant)
	return tenant, all, err
}

// writeAttributes prints one declaration as a table.
func writeAttributes(w io.Writer, s *datasets.AttributeSchema) {
	fmt.Fprintf(w, "tenant %s, version %d, declared %s from %s\n\n", s.Tenant, s.Version, s.DeclaredAt.Format(time.DateTime), s.Source)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tTYPE\tDIRECTION\tALLOWED\tLABEL (EN)\tLABEL (NL)")
	for _, a := range s.Attributes {
		allowed := strings.Join(a.Values, ", ")
		if a.Type == datasets.AttrNumeric {
			allowed = a.RangeText()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", a.Name, a.Type, a.Direction, allowed, a.Label.EN, a.Label.NL)
	}
	tw.Flush()
}
