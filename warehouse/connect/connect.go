// Package connect opens the warehouse backend a command asks for: the
// ClickHouse server when a DSN is given, else the embedded chDB store. It
// migrates the schema on open, so every command works on a fresh store
// ("init, also run implicitly").
package connect

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/duewise/duewise/warehouse"
	"github.com/duewise/duewise/warehouse/chdb"
	"github.com/duewise/duewise/warehouse/chserver"
)

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
		e, err = chdb.Open(ctx, chdb.Config{Path: cfg.Store, Lib: cfg.Lib, Log: cfg.Log})
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
