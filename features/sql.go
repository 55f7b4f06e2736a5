package features

import (
	"embed"
	"fmt"
	"strings"
)

//go:embed sql/*.sql
var sqlFiles embed.FS

// tenantFilter is the tenant condition every raw-table read carries; an
// empty {tenant:String} reads all tenants.
const tenantFilter = "({tenant:String} = '' OR tenant = {tenant:String})"

// Key sets: which (customer, reference date) pairs a query computes.
const (
	keysCustomer   = "keys_customer.sql"
	keysInvoice    = "keys_invoice.sql"
	keysOnboarding = "keys_onboarding.sql"
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
	s := sqlFile(top)
	s = strings.ReplaceAll(s, "__CORE__", sqlFile("core.sql"))
	if keys != "" {
		s = strings.ReplaceAll(s, "__KEYS__", sqlFile(keys))
	}
	s = strings.ReplaceAll(s, "__INV__", sqlFile("inv.sql"))
	s = strings.ReplaceAll(s, "__SIGNALS__", strings.Join(names(catalog, "", false), ", "))
	s = strings.ReplaceAll(s, "__ONBOARDING__", strings.Join(names(catalog, "", true), ", "))
	s = strings.ReplaceAll(s, "__TENANT__", tenantFilter)
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
