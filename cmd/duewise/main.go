// Command duewise predicts whether and when customers fall behind on
// payments and recommends preventive actions. See README.md.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/duewise/duewise/serving/scoring"
	"github.com/duewise/duewise/warehouse"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	cmd, err := newRootCmd().ExecuteContextC(ctx)
	var fw *forwardError
	if errors.As(err, &fw) {
		// The store is held by a running `duewise serve`: run the command
		// there.
		err = forward(ctx, cmd, fw.state, os.Stdout, os.Stderr)
	}
	stop()
	if err != nil {
		if msg := err.Error(); msg != "" {
			fmt.Fprintln(os.Stderr, "duewise:", msg)
		}
		os.Exit(exitCode(err))
	}
}

// globals are the flags every subcommand shares, and what a command run
// inside `duewise serve` (for a client, see forward.go) gets from it.
type globals struct {
	store      string // embedded chDB store path
	clickhouse string // ClickHouse server DSN; wins over store when set
	libchdb    string // path of libchdb.so; empty searches
	logLevel   string
	logFormat  string
	log        *slog.Logger

	// engine, when set, is the running server's warehouse: the command
	// runs inside `duewise serve` and uses it instead of opening one.
	engine warehouse.Engine
	// core is that server's scoring core, for commands that use its
	// memory.
	core *scoring.Core
	// newRoot builds a command tree (set by newRootCmdWith; a field, not a
	// call, because serve builds trees for forwarded commands).
	newRoot func(g *globals) *cobra.Command
}

func newRootCmd() *cobra.Command { return newRootCmdWith(&globals{}) }

// newRootCmdWith builds the command tree on g.
func newRootCmdWith(g *globals) *cobra.Command {
	g.newRoot = newRootCmdWith
	root := &cobra.Command{
		Use:           "duewise",
		Short:         "Predict whether and when customers fall behind on payments, and what to do about it",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(c *cobra.Command, _ []string) error {
			// A command with --config (serve) takes its flags from the
			// file too; the command line wins.
			if f := c.Flags().Lookup(configFlag); f != nil && f.Value.String() != "" {
				if err := applyConfig(c.Flags(), f.Value.String()); err != nil {
					return err
				}
			}
			log, err := newLogger(c.ErrOrStderr(), g.logLevel, g.logFormat)
			if err != nil {
				return err
			}
			if g.log == nil {
				g.log = log
			}
			return nil
		},
	}
	f := root.PersistentFlags()
	f.StringVar(&g.store, "store", envOr("DUEWISE_STORE", ".duewise/store"), "embedded ClickHouse (chDB) store directory (env DUEWISE_STORE)")
	f.StringVar(&g.clickhouse, "clickhouse", os.Getenv("DUEWISE_CLICKHOUSE"), "ClickHouse server DSN, e.g. clickhouse://127.0.0.1:9000/duewise; used instead of the embedded store when set (env DUEWISE_CLICKHOUSE)")
	f.StringVar(&g.libchdb, "libchdb", os.Getenv("DUEWISE_LIBCHDB"), "path of libchdb.so; by default it is searched next to the binary, in /usr/local/lib/duewise and in third_party/chdb (env DUEWISE_LIBCHDB)")
	f.StringVar(&g.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	f.StringVar(&g.logFormat, "log-format", "text", "log format on stderr: text (key=value) or json (one object per line)")
	for _, add := range commandSet {
		root.AddCommand(add(g))
	}
	return root
}

// newLogger returns the logger of the --log-level and --log-format flags,
// writing to w.
func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	opt := &slog.HandlerOptions{Level: lvl}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opt)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opt)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want text or json", format)
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// exitError carries a process exit code other than 1.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func exitCode(err error) int {
	var e *exitError
	if errors.As(err, &e) {
		return e.code
	}
	return 1
}
