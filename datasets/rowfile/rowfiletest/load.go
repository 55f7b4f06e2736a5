package rowfiletest

import (
	"context"
	"testing"

	"github.com/apache/arrow/go/v15/arrow/array"

	"github.com/duewise/duewise/datasets"
	"github.com/duewise/duewise/warehouse"
)

// LoadAndCount loads every contract file in dir into e for tenant through
// datasets.Loader, fails the test if any row is rejected, and returns the
// deduplicated number of stored rows per contract table.
func LoadAndCount(t *testing.T, e warehouse.Engine, dir, tenant string) map[string]int64 {
	t.Helper()
	ctx := context.Background()
	lc := datasets.DefaultLoaderConfig()
	lc.Tenant, lc.RejectsDir = tenant, t.TempDir()
	l, err := datasets.NewLoader(e, lc)
	if err != nil {
		t.Fatal(err)
	}
	sum, err := l.LoadPaths(ctx, []string{dir})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Total.Rejected != 0 {
		t.Fatalf("%s: %d rows rejected: %+v", dir, sum.Total.Rejected, sum.Files)
	}
	out := map[string]int64{}
	for _, tb := range datasets.Tables {
		rr, err := e.Query(ctx, "SELECT toInt64(count()) AS n FROM "+tb.Name+" FINAL WHERE tenant = {tenant:String}", warehouse.Params{"tenant": tenant})
		if err != nil {
			t.Fatalf("count %s: %v", tb.Name, err)
		}
		for rr.Next() {
			if rec := rr.Record(); rec.NumRows() > 0 {
				out[tb.Name] = rec.Column(0).(*array.Int64).Value(0)
			}
		}
		err = rr.Err()
		rr.Release()
		if err != nil {
			t.Fatalf("count %s: %v", tb.Name, err)
		}
	}
	return out
}
