package datasets

import (
	"context"
	"fmt"

	"github.com/duewise/duewise/warehouse"
)

// Tenants returns the tenants that have customers in the warehouse, in
// order. As concurrency-safe as e.
func Tenants(ctx context.Context, e warehouse.Engine) ([]string, error) {
	out, err := warehouse.Strings(ctx, e, "SELECT DISTINCT tenant FROM customers ORDER BY tenant", nil)
	if err != nil {
		return nil, fmt.Errorf("list tenants: %w", err)
	}
	return out, nil
}
