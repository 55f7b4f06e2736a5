package features

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"

	"github.com/duewise/duewise/datasets"
	"github.com/duewise/duewise/warehouse"
)

// loadHistories stores the histories under tenant through the datasets
// Loader (validation included), setting every row's tenant.
func loadHistories(t testing.TB, e warehouse.Engine, tenant string, hs ...*History) {
	t.Helper()
	ctx := context.Background()
	l, err := datasets.NewLoader(e, datasets.LoaderConfig{Tenant: tenant})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := warehouse.Migrate(ctx, e, append(datasets.Migrations(), Migrations()...)); err != nil {
		t.Fatal(err)
	}
	all := map[string][]json.RawMessage{}
	for _, h := range hs {
		rows, err := h.Rows()
		if err != nil {
			t.Fatal(err)
		}
		for table, rs := range rows {
			for _, r := range rs {
				var m map[string]any
				if err := json.Unmarshal(r, &m); err != nil {
					t.Fatal(err)
				}
				m["tenant"] = tenant
				b, err := json.Marshal(m)
				if err != nil {
					t.Fatal(err)
				}
				all[table] = append(all[table], b)
			}
		}
	}
	for _, tb := range datasets.Tables {
		rs := all[tb.Name]
		if len(rs) == 0 {
			continue
		}
		res, err := l.LoadRows(ctx, tb.Name, rs)
		if err != nil {
			t.Fatalf("load %s: %v", tb.Name, err)
		}
		for _, r := range res {
			if !r.Accepted {
				t.Fatalf("load %s row %d: %s", tb.Name, r.Index, r.Reason)
			}
		}
	}
}

// table is a decoded result: one map per row, column name -> value (nil =
// NULL; float64, int64, string or time.Time).
type table struct {
	schema *arrow.Schema
	rows   []map[string]any
}

func readAll(t testing.TB, rr array.RecordReader) table {
	t.Helper()
	defer rr.Release()
	out := table{schema: rr.Schema()}
	for rr.Next() {
		rec := rr.Record()
		for i := 0; i < int(rec.NumRows()); i++ {
			m := make(map[string]any, rec.NumCols())
			for j, col := range rec.Columns() {
				m[rec.ColumnName(j)] = cellValue(t, col, i)
			}
			out.rows = append(out.rows, m)
		}
	}
	if err := rr.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func cellValue(t testing.TB, col arrow.Array, i int) any {
	if col.IsNull(i) {
		return nil
	}
	switch a := col.(type) {
	case *array.Float64:
		return a.Value(i)
	case *array.String:
		return a.Value(i)
	case *array.Date32:
		return a.Value(i).ToTime().UTC()
	case *array.Int32:
		return int64(a.Value(i))
	case *array.Int64:
		return a.Value(i)
	case *array.Uint8:
		return int64(a.Value(i))
	case *array.Uint32:
		return int64(a.Value(i))
	case *array.Uint64:
		return int64(a.Value(i))
	}
	t.Fatalf("unexpected column type %s", col.DataType())
	return nil
}

// find returns the row of customer (and as_of when not zero).
func (tb table) find(customer string, asOf time.Time) (map[string]any, bool) {
	for _, r := range tb.rows {
		if r["customer_id"] == customer && (asOf.IsZero() || r["as_of"].(time.Time).Equal(asOf)) {
			return r, true
		}
	}
	return nil, false
}

// sameFloat compares with NaN/nil as NULL and a relative tolerance of 1e-12.
func sameFloat(a, b float64) bool {
	if math.IsNaN(a) || math.IsNaN(b) {
		return math.IsNaN(a) && math.IsNaN(b)
	}
	return a == b || math.Abs(a-b) <= 1e-12*math.Max(math.Abs(a), math.Abs(b))
}

func num(v any) float64 {
	if v == nil {
		return math.NaN()
	}
	switch x := v.(type) {
	case float64:
		return x
	case int64:
		return float64(x)
	}
	panic(fmt.Sprintf("not a number: %T", v))
}
