package main

import (
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/duewise/duewise/serving/auth"
	"github.com/duewise/duewise/warehouse"
)

func newKeysCmd(g *globals) *cobra.Command {
	c := &cobra.Command{
		Use:   "keys create|list|revoke",
		Short: "Manage API keys (per tenant, with scopes score, events, admin)",
		Long: `API keys authenticate REST calls ('Authorization: Bearer <key>'). A key belongs
to one tenant and holds scopes: score (risk endpoints), events (POST
/v1/events), admin (models). Only a SHA-256 hash is stored (table
serving_api_keys); the key itself is printed once by 'keys create'.`,
	}
	c.AddCommand(newKeysCreateCmd(g), newKeysListCmd(g), newKeysRevokeCmd(g))
	return c
}

// openKeys opens the warehouse and its API-key store and returns a func
// that closes them.
func (g *globals) openKeys(cmd *cobra.Command) (*auth.Store, warehouse.Engine, func(), error) {
	e, err := g.openWarehouse(cmd.Context())
	if err != nil {
		return nil, nil, nil, err
	}
	return auth.NewStore(e), e, func() { e.Close() }, nil
}

func newKeysCreateCmd(g *globals) *cobra.Command {
	var scopes, name string
	var tf tenantFlags
	var quiet bool
	c := &cobra.Command{
		Use:   "create [--tenant T] --scopes score,events,admin [--name N] [--quiet]",
		Short: "Create a key and print it once",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			sc, err := auth.ParseScopes(scopes)
			if err != nil {
				return fmt.Errorf("--scopes: %w", err)
			}
			ks, e, done, err := g.openKeys(cmd)
			if err != nil {
				return err
			}
			defer done()
			tenant, err := tf.inStore(cmd.Context(), g, e)
			if err != nil {
				return err
			}
			token, k, err := ks.Create(cmd.Context(), tenant, name, sc)
			if err != nil {
				return err
			}
			if quiet {
				fmt.Fprintln(cmd.OutOrStdout(), token)
				return nil
			}
			fmt.Fprintf(cmd.OutOrStdout(), "key %s for tenant %s, scopes %s (shown once, store it safely):\n%s\n", k.ID, k.Tenant, strings.Join(k.Scopes, ","), token)
			return nil
		},
	}
	tf.add(c, "", "")
	c.Flags().StringVar(&scopes, "scopes", "score", "comma-separated scopes: score, events, admin")
	c.Flags().StringVar(&name, "name", "", "a name to recognise the key by")
	c.Flags().BoolVar(&quiet, "quiet", false, "print only the key")
	return c
}

func newKeysListCmd(g *globals) *cobra.Command {
	var tf tenantFlags
	c := &cobra.Command{
		Use:   "list [--tenant T|--all-tenants]",
		Short: "List keys (never the secrets)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ks, e, done, err := g.openKeys(cmd)
			if err != nil {
				return err
			}
			defer done()
			tenant, err := tf.inStore(cmd.Context(), g, e)
			if err != nil {
				return err
			}
			keys, err := ks.List(cmd.Context(), tenant)
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tTENANT\tNAME\tSCOPES\tCREATED\tREVOKED")
			for _, k := range keys {
				rev := ""
				if k.RevokedAt != nil {
					rev = k.RevokedAt.Format(time.DateTime)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", k.ID, k.Tenant, k.Name, strings.Join(k.Scopes, ","), k.CreatedAt.Format(time.DateTime), rev)
			}
			return tw.Flush()
		},
	}
	tf.add(c, "", "list every tenant's keys")
	return c
}

func newKeysRevokeCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "revoke ID",
		Short: "Revoke a key (a running server stops accepting it within its key reload interval)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ks, _, done, err := g.openKeys(cmd)
			if err != nil {
				return err
			}
			defer done()
			k, err := ks.Revoke(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "revoked key %s of tenant %s\n", k.ID, k.Tenant)
			return nil
		},
	}
}
