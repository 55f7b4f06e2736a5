package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/duewise/duewise/datasets"
	"github.com/duewise/duewise/warehouse"
)

// tenantEnv names the environment variable of the default tenant.
const tenantEnv = "DUEWISE_TENANT"

// tenantFlags are a command's --tenant and, where acting on every tenant
// is a real use, --all-tenants. Every command picks its tenant the same
// way (resolve): --tenant, else DUEWISE_TENANT, else the only tenant in the
// store, else an error naming the tenants found.
type tenantFlags struct {
	name string
	all  bool
	// allowAll is set when the command has --all-tenants.
	allowAll bool
}

// add registers --tenant (its default read from DUEWISE_TENANT, so that a
// command forwarded to a running server carries it; usage "" says the
// usual) and, when allUsage is not empty, --all-tenants.
func (t *tenantFlags) add(c *cobra.Command, usage, allUsage string) {
	if usage == "" {
		usage = "tenant (env " + tenantEnv + "; default: the only tenant in the store)"
	}
	c.Flags().StringVar(&t.name, "tenant", os.Getenv(tenantEnv), usage)
	if allUsage != "" {
		t.allowAll = true
		c.Flags().BoolVar(&t.all, "all-tenants", false, allUsage+" (instead of one tenant; ignores --tenant and "+tenantEnv+")")
	}
}

// resolve returns the tenant the command acts on, or "" with
// --all-tenants. list returns the tenants there are to choose from (those
// of the store, or of a file); where names them in messages.
func (t *tenantFlags) resolve(list func() ([]string, error), where string) (string, error) {
	if t.all {
		return "", nil
	}
	if t.name != "" {
		return t.name, nil
	}
	tenants, err := list()
	if err != nil {
		return "", err
	}
	if len(tenants) == 1 {
		return tenants[0], nil
	}
	all := ""
	if t.allowAll {
		all = ", or --all-tenants for every tenant"
	}
	if len(tenants) == 0 {
		return "", fmt.Errorf("no tenant given and %s holds no data yet: give --tenant T or set %s=T", where, tenantEnv)
	}
	return "", fmt.Errorf("no tenant given and %s holds %d tenants (%s): choose one with --tenant T or %s=T%s",
		where, len(tenants), strings.Join(tenants, ", "), tenantEnv, all)
}

// inStore resolves the tenant from the tenants with data in e.
func (t *tenantFlags) inStore(ctx context.Context, g *globals, e warehouse.Engine) (string, error) {
	return t.resolve(func() ([]string, error) { return datasets.Tenants(ctx, e) }, g.where())
}
