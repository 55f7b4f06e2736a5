//go:build !cgo

package connect

import (
	"context"

	"github.com/duewise/duewise/warehouse"
)

func openEmbedded(context.Context, Config) (warehouse.Engine, error) {
	return nil, ErrNoEmbedded
}
