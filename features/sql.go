package features

import (
	"context"
	"embed"
	"fmt"
	"strings"

	"github.com/duewise/duewise/warehouse"
)

//go:embed sql/*.sql
var sqlFiles embed.FS

// tenantFilter is the tenant condition every raw-table read carries; an
// empty {tenant:String} reads all tenants.
const tenantFilter = "({tenant:String} = '' OR tenant = {tenant:String})"

// partFilter restricts a read to one of {parts:UInt32} disjoint parts of
// the customers, by a hash of customer_id: a refresh computes the parts one
// after another, so its hash tables stay a fraction of the data (less
// memory, better cache use) and every customer is in exactly one part.
const partFilter = "cityHash64(customer_id) % {parts:UInt32} = {part:UInt32}"

// customersFilter restricts a read to the customers of
// {customers:Array(String)} (the incremental refresh of touched customers).
// A set from a subquery, so that the primary key of customers and
// features_latest, (tenant, customer_id), selects their granules.
const customersFilter = "customer_id IN (SELECT arrayJoin({customers:Array(String)}))"

// Key sets: which (customer, reference date) pairs a query computes.
const (
	keysCustomer   = "keys_customer.sql"
	keysInvoice    = "keys_invoice.sql"
	keysOnboarding = "keys_onboarding.sql"
	keysAt         = "keys_at.sql"
)

func sqlFile(name string) string {
	b, err := sqlFiles.ReadFile("sql/" + name)
	if err != nil {
		// The files are embedded at build time; a missing one is a bug.
		panic(fmt.Sprintf("features: embedded sql/%s: %v", name, err))
	}
	return stripComments(string(b))
}

// assemble builds the statement of file top: __CORE__ is sql/core.sql keyed by
// keys, __INV__ sql/inv.sql, __SIGNALS__ the catalog's column list,
// __ONBOARDING__ the onboarding column list, __TENANT__ the tenant filter.
// Only these fixed fragments are spliced in; values are always parameters.
func assemble(top, keys string) string {
	return assembleWith(top, keys, tenantFilter)
}

// assemblePart is assemble with every raw-table read restricted to one part
// of the customers (partFilter).
func assemblePart(top, keys string) string {
	return assembleWith(top, keys, tenantFilter+" AND "+partFilter)
}

func assembleWith(top, keys, filter string) string {
	s := sqlFile(top)
	s = strings.ReplaceAll(s, "__CORE__", sqlFile("core.sql"))
	if keys != "" {
		s = strings.ReplaceAll(s, "__KEYS__", sqlFile(keys))
	}
	s = strings.ReplaceAll(s, "__INV__", sqlFile("inv.sql"))
	s = strings.ReplaceAll(s, "__SIGNALS__", strings.Join(names(catalog, "", false), ", "))
	s = strings.ReplaceAll(s, "__ONBOARDING__", strings.Join(names(catalog, "", true), ", "))
	s = strings.ReplaceAll(s, "__TENANT__", filter)
	return s
}

// stripComments removes "--" comment lines (before splicing, so that a
// token named in a comment is not expanded there).
func stripComments(s string) string {
	var b strings.Builder
	for _, line := range strings.Split(s, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "--") {
			continue
		}
		b.WriteString(line)
		b.WriteByte('\n')
	}
	return strings.TrimSpace(b.String())
}

// queryInt64s runs a query that returns one row of Int64 columns and
// returns them.
func queryInt64s(ctx context.Context, eng warehouse.Engine, q string, p warehouse.Params) ([]int64, error) {
	rr, err := eng.Query(ctx, q, p)
	if err != nil {
		return nil, err
	}
	defer rr.Release()
	out := make([]int64, rr.Schema().NumFields())
	dest := make([]any, len(out))
	for i := range out {
		dest[i] = &out[i]
	}
	if err := warehouse.ScanOne(rr, dest...); err != nil {
		return nil, err
	}
	return out, nil
}
