package datasets

import (
	"context"
	"fmt"

	"github.com/duewise/duewise/warehouse"
)

// Tenants returns the tenants that have customers in the warehouse, in
// order. As concurrency-safe as e.
func Tenants(ctx context.Context, e warehouse.Engine) ([]string, error) {
	rr, err := e.Query(ctx, "SELECT DISTINCT tenant FROM customers ORDER BY tenant", nil)
	if err != nil {
		return nil, fmt.Errorf("list tenants: %w", err)
	}
	defer rr.Release()
	var out []string
	var t string
	if err := warehouse.Scan(rr, func() error { out = append(out, t); return nil }, &t); err != nil {
		return nil, fmt.Errorf("list tenants: %w", err)
	}
	return out, nil
}
