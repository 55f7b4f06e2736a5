package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/duewise/duewise/datasets"
	"github.com/duewise/duewise/features"
	"github.com/duewise/duewise/model/registry"
	"github.com/duewise/duewise/serving/api"
	"github.com/duewise/duewise/serving/auth"
	"github.com/duewise/duewise/warehouse"
	"github.com/duewise/duewise/warehouse/connect"
)

// migrations is the whole versioned schema, in data-flow order. Each
// package that owns tables contributes its own list.
func migrations() []warehouse.Migration {
	var ms []warehouse.Migration
	ms = append(ms, datasets.Migrations()...)
	ms = append(ms, features.Migrations()...)
	ms = append(ms, registry.Migrations()...)
	ms = append(ms, auth.Migrations()...)
	ms = append(ms, api.AuditMigrations()...)
	return ms
}

// openWarehouse opens the backend the global flags name and migrates it.
func (g *globals) openWarehouse(ctx context.Context) (warehouse.Engine, error) {
	e, err := connect.Open(ctx, connect.Config{Store: g.store, DSN: g.clickhouse, Lib: g.libchdb, Migrations: migrations(), Log: g.log})
	if err != nil {
		if g.clickhouse == "" && strings.Contains(err.Error(), "lock") {
			return nil, fmt.Errorf("%w\n(the store %s is in use by another duewise process, probably `duewise serve`; stop it or use the API)", err, g.store)
		}
		return nil, err
	}
	return e, nil
}

func newInitCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "init",
		Short: "Create or migrate the warehouse schema (also done implicitly by every command)",
		Long: `Init creates the warehouse tables that do not exist yet and applies the
schema migrations a store has not had, recording each in the table
duewise_migrations. It is idempotent.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			e, err := connect.Open(ctx, connect.Config{Store: g.store, DSN: g.clickhouse, Lib: g.libchdb, Log: g.log})
			if err != nil {
				return err
			}
			defer e.Close()
			done, err := warehouse.Migrate(ctx, e, migrations())
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			for _, m := range done {
				fmt.Fprintf(w, "applied %s %d: %s\n", m.Component, m.Version, m.Name)
			}
			fmt.Fprintf(w, "schema up to date on %s (%d migrations applied now)\n", g.where(), len(done))
			return nil
		},
	}
}

// where names the backend in messages.
func (g *globals) where() string {
	if g.clickhouse != "" {
		return "the ClickHouse server"
	}
	return "the embedded store " + g.store
}
