package datasets_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/duewise/duewise/datasets"
	"github.com/duewise/duewise/datasets/synth"
	"github.com/duewise/duewise/warehouse"
	"github.com/duewise/duewise/warehouse/warehousetest"
)

// TestParityEmbeddedServer loads the same generated world into chDB and into
// the ClickHouse server and compares row counts and amount sums per table.
func TestParityEmbeddedServer(t *testing.T) {
	emb := warehousetest.Embedded(t)
	srv := warehousetest.Server(t)
	tenant := fmt.Sprintf("parity%d", time.Now().UnixNano())
	cfg := synth.DefaultConfig()
	cfg.Customers, cfg.Months, cfg.Tenant, cfg.Out = 300, 12, tenant, t.TempDir()
	if _, err := synth.Generate(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	figures := func(e warehouse.Engine) map[string]string {
		lc := datasets.DefaultLoaderConfig()
		lc.Tenant = tenant
		l, err := datasets.NewLoader(e, lc)
		if err != nil {
			t.Fatal(err)
		}
		sum, err := l.LoadPaths(context.Background(), []string{cfg.Out})
		if err != nil || sum.Total.Rejected > 0 || sum.Total.Loaded == 0 {
			t.Fatalf("%s: load %+v: %v", e.Backend(), sum.Total, err)
		}
		out := map[string]string{}
		for _, tb := range datasets.Tables {
			q := "SELECT toString(count()) FROM " + tb.Name + " FINAL WHERE tenant = {tenant:String}"
			if _, ok := tb.Column("amount"); ok {
				q = "SELECT concat(toString(count()), ' ', toString(sum(amount))) FROM " + tb.Name + " FINAL WHERE tenant = {tenant:String}"
			}
			rr, err := e.Query(context.Background(), q, warehouse.Params{"tenant": tenant})
			if err != nil {
				t.Fatalf("%s: %s: %v", e.Backend(), q, err)
			}
			for rr.Next() {
				if rr.Record().NumRows() > 0 {
					out[tb.Name] = trimZeros(rr.Record().Column(0).ValueStr(0))
				}
			}
			rr.Release()
		}
		return out
	}
	a, b := figures(emb), figures(srv)
	for _, tb := range datasets.Tables {
		if a[tb.Name] == "" || a[tb.Name] != b[tb.Name] {
			t.Errorf("%s: chdb %q, server %q", tb.Name, a[tb.Name], b[tb.Name])
		}
	}
}

// trimZeros drops trailing decimal zeros ("12.50" -> "12.5"): the two
// ClickHouse versions print decimals differently.
func trimZeros(s string) string {
	f := strings.Fields(s)
	for i, x := range f {
		if strings.Contains(x, ".") {
			f[i] = strings.TrimSuffix(strings.TrimRight(x, "0"), ".")
		}
	}
	return strings.Join(f, " ")
}
