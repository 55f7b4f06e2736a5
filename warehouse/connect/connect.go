// Package connect opens the warehouse backend a command asks for: the
// ClickHouse server when a DSN is given, else the embedded chDB store. It
// migrates the schema on open, so every command works on a fresh store
// ("init, also run implicitly").
//
// The embedded store needs cgo (chDB is a C++ library). A pure-Go build
// (CGO_ENABLED=0 go build ./cmd/duewise) leaves it out, as golang-migrate
// leaves out its cgo drivers: that binary works against a ClickHouse server
// and Open answers ErrNoEmbedded for a store directory.
package connect

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/duewise/duewise/warehouse"
	"github.com/duewise/duewise/warehouse/chserver"
)

// ErrNoEmbedded is returned by Open for the embedded store in a build
// without cgo.
var ErrNoEmbedded = errors.New("connect: the embedded store (chDB) needs the cgo build of duewise " +
	"(CGO_ENABLED=1, the default of `make build`); this binary was built with CGO_ENABLED=0: " +
	"use a ClickHouse server with --clickhouse DSN (env DUEWISE_CLICKHOUSE)")

// Config says which backend to open.
type Config struct {
	// Store is the embedded chDB store directory; used when DSN is empty.
	Store string
	// DSN is a ClickHouse server DSN (clickhouse://host:port/database).
	DSN string
	// Lib is the path of libchdb.so; empty searches (see package chdb).
	Lib string
	// Migrations are applied on open (see warehouse.Migrate).
	Migrations []warehouse.Migration
	// Log receives debug lines; nil discards.
	Log *slog.Logger
}

// Open opens and migrates the backend of cfg.
func Open(ctx context.Context, cfg Config) (warehouse.Engine, error) {
	var (
		e   warehouse.Engine
		err error
	)
	if cfg.DSN != "" {
		e, err = chserver.Open(ctx, chserver.Config{DSN: cfg.DSN, Log: cfg.Log})
	} else {
		if cfg.Store == "" {
			return nil, fmt.Errorf("connect: neither a store directory nor a ClickHouse DSN given")
		}
		e, err = openEmbedded(ctx, cfg)
	}
	if err != nil {
		return nil, err
	}
	if len(cfg.Migrations) > 0 {
		if _, err := warehouse.Migrate(ctx, e, cfg.Migrations); err != nil {
			e.Close()
			return nil, err
		}
	}
	return e, nil
}
