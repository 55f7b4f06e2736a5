//go:build cgo

package connect

import (
	"context"

	"github.com/duewise/duewise/warehouse"
	"github.com/duewise/duewise/warehouse/chdb"
)

func openEmbedded(ctx context.Context, cfg Config) (warehouse.Engine, error) {
	return chdb.Open(ctx, chdb.Config{Path: cfg.Store, Lib: cfg.Lib, Log: cfg.Log})
}
