package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/duewise/duewise/cmd/duewise/internal/admin"
	"github.com/duewise/duewise/datasets"
	"github.com/duewise/duewise/features"
	"github.com/duewise/duewise/model/registry"
	"github.com/duewise/duewise/serving/audit"
	"github.com/duewise/duewise/serving/auth"
	"github.com/duewise/duewise/serving/changes"
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
	ms = append(ms, audit.Migrations()...)
	ms = append(ms, changes.Migrations()...)
	return ms
}

// openWarehouse opens the backend the global flags name and migrates it.
// Inside `duewise serve` it returns the server's engine. When the embedded
// store is held by a running `duewise serve`, it returns a *forwardError:
// main then runs the command through that server.
func (g *globals) openWarehouse(ctx context.Context) (warehouse.Engine, error) {
	if g.engine != nil {
		return sharedEngine{g.engine}, nil
	}
	if g.clickhouse == "" {
		st, err := admin.Find(ctx, g.store)
		switch {
		case err == nil:
			return nil, &forwardError{state: st}
		case !errors.Is(err, admin.ErrNoServer):
			return nil, fmt.Errorf("the store %s is in use: %w; stop that server (Ctrl-C or SIGTERM) to use the store directly", g.store, err)
		}
	}
	e, err := connect.Open(ctx, connect.Config{Store: g.store, DSN: g.clickhouse, Lib: g.libchdb, Migrations: migrations(), Log: g.log})
	if err != nil {
		if g.clickhouse == "" && strings.Contains(strings.ToLower(err.Error()), "lock") {
			return nil, fmt.Errorf("%w\n(the store %s is in use by another process that is not a running duewise server; wait for it to finish or stop it)", err, g.store)
		}
		return nil, err
	}
	return e, nil
}

// sharedEngine is the running server's engine lent to a command: Close
// does not close it.
type sharedEngine struct{ warehouse.Engine }

func (sharedEngine) Close() error { return nil }

// forwardError says the store is held by a running `duewise serve`.
type forwardError struct{ state admin.State }

func (e *forwardError) Error() string {
	return fmt.Sprintf("the store is held by duewise serve (pid %d, %s)", e.state.PID, e.state.API)
}

// pathFlags are flags whose values are file or folder paths; a forwarded
// command gets them absolute, since the server runs in another folder.
var pathFlags = map[string]bool{"registry": true, "out": true, "rejects": true, "snapshots": true, "policy": true, "model": true}

// localFlags are global flags that only select the store: a forwarded
// command uses the server's.
var localFlags = map[string]bool{"store": true, "clickhouse": true, "libchdb": true, "help": true}

// forward runs cmd, with the flag values and arguments it was given, in
// the running server of st, streaming its output to stdout and stderr.
func forward(ctx context.Context, cmd *cobra.Command, st admin.State, stdout, stderr io.Writer) error {
	if cmd.Name() == "serve" {
		return fmt.Errorf("the store is already served by duewise serve (pid %d) on %s; stop it first or use another --store", st.PID, st.API)
	}
	args, err := forwardArgs(cmd)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "duewise: the store is in use by duewise serve (pid %d, %s): running this command through it\n", st.PID, st.API)
	code, err := admin.Run(ctx, st, args, stdout, stderr)
	if err != nil {
		return err
	}
	if code != 0 {
		// The server printed the error already.
		return &exitError{code: code, err: errors.New("")}
	}
	return nil
}

// forwardArgs rebuilds cmd's command line from what was parsed: the
// command path, every flag with its effective value (defaults from the
// environment included), path flags and path arguments made absolute.
func forwardArgs(cmd *cobra.Command) ([]string, error) {
	path := strings.Fields(cmd.CommandPath())[1:]
	args := append([]string(nil), path...)
	var ferr error
	abs := func(p string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		a, err := filepath.Abs(p)
		if err != nil {
			ferr = err
		}
		return a
	}
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if localFlags[f.Name] {
			return
		}
		if sv, ok := f.Value.(pflag.SliceValue); ok {
			for _, v := range sv.GetSlice() {
				args = append(args, "--"+f.Name+"="+v)
			}
			return
		}
		v := f.Value.String()
		if pathFlags[f.Name] {
			v = abs(v)
		}
		args = append(args, "--"+f.Name+"="+v)
	})
	pos := cmd.Flags().Args()
	if cmd.Annotations[annotationArgs] == "paths" {
		for i := range pos {
			pos[i] = abs(pos[i])
		}
	}
	if len(pos) > 0 {
		args = append(args, "--")
		args = append(args, pos...)
	}
	return args, ferr
}

// annotationArgs marks a command whose positional arguments are paths
// (value "paths").
const annotationArgs = "args"

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
	if g.engine != nil {
		return "the served store"
	}
	if g.clickhouse != "" {
		return "the ClickHouse server"
	}
	return "the embedded store " + g.store
}
