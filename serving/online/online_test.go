package online

import (
	"context"
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"

	"github.com/duewise/duewise/features"
	"github.com/duewise/duewise/warehouse"
	"github.com/duewise/duewise/warehouse/warehousetest"
)

// latest builds records with the features_latest shape, in two batches.
func latest(t *testing.T) array.RecordReader {
	t.Helper()
	sch := arrow.NewSchema([]arrow.Field{
		{Name: "tenant", Type: arrow.BinaryTypes.String}, {Name: "customer_id", Type: arrow.BinaryTypes.String},
		{Name: "as_of", Type: arrow.FixedWidthTypes.Date32}, {Name: "status", Type: arrow.BinaryTypes.String},
		{Name: "tenure_days", Type: arrow.PrimitiveTypes.Float64, Nullable: true}, {Name: "channel", Type: arrow.BinaryTypes.String},
		{Name: "late_share_365d", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	}, nil)
	rows := []struct {
		tenant, id, status, channel string
		asOf                        int32
		tenure, late                float64
	}{
		{"a", "C1", "ok", "online", 20000, 100, 0.25},
		{"a", "C2", "behind", "offline", 20001, 2000, math.NaN()},
		{"b", "C1", "ok", "online", 20000, 5, 0},
	}
	var recs []arrow.Record
	for _, batch := range [][]int{{0, 1}, {2}} {
		b := array.NewRecordBuilder(memory.DefaultAllocator, sch)
		for _, i := range batch {
			r := rows[i]
			b.Field(0).(*array.StringBuilder).Append(r.tenant)
			b.Field(1).(*array.StringBuilder).Append(r.id)
			b.Field(2).(*array.Date32Builder).Append(arrow.Date32(r.asOf))
			b.Field(3).(*array.StringBuilder).Append(r.status)
			b.Field(4).(*array.Float64Builder).Append(r.tenure)
			b.Field(5).(*array.StringBuilder).Append(r.channel)
			if math.IsNaN(r.late) {
				b.Field(6).(*array.Float64Builder).AppendNull()
			} else {
				b.Field(6).(*array.Float64Builder).Append(r.late)
			}
		}
		recs = append(recs, b.NewRecord())
		b.Release()
	}
	rr, err := array.NewRecordReader(sch, recs)
	if err != nil {
		t.Fatal(err)
	}
	return rr
}

func TestFromRecords(t *testing.T) {
	rr := latest(t)
	defer rr.Release()
	tb, err := FromRecords(rr)
	if err != nil {
		t.Fatal(err)
	}
	if tb.Len() != 3 || tb.Customers("a") != 2 || tb.Customers("") != 3 || tb.MaxAsOf.Format("2006-01-02") != "2024-10-05" {
		t.Fatalf("table: len %d, a %d, max as_of %s", tb.Len(), tb.Customers("a"), tb.MaxAsOf)
	}
	if len(tb.NumNames) != 2 || len(tb.CatNames) != 1 || tb.CatNames[0] != "channel" {
		t.Fatalf("columns %v %v", tb.NumNames, tb.CatNames)
	}
	r, ok := tb.Lookup("a", "C2")
	if !ok || r.Status != "behind" || r.Num[0] != 2000 || !math.IsNaN(float64(r.Num[1])) || r.Cat(0) != "offline" || r.AsOf.Format("2006-01-02") != "2024-10-05" {
		t.Fatalf("a/C2 = %+v", r)
	}
	if r, ok := tb.Lookup("b", "C1"); !ok || r.Num[0] != 5 || r.Cat(0) != "online" {
		t.Fatalf("b/C1 = %+v", r)
	}
	if _, ok := tb.Lookup("b", "C2"); ok {
		t.Fatal("b/C2 found: tenants mixed")
	}
	var order []string
	tb.Each("", func(tn, id string, _ Row) bool { order = append(order, tn+"/"+id); return true })
	if len(order) != 3 || order[0] != "a/C1" || order[2] != "b/C1" {
		t.Fatalf("Each order %v", order)
	}
	if got := tb.Tenants(); len(got) != 2 || got[0] != "a" {
		t.Fatalf("tenants %v", got)
	}
	var s Store
	if s.Current() != nil || s.Err() != nil {
		t.Fatal("empty store")
	}
	s.Set(tb)
	s.Fail(errTest)
	if s.Current() != tb || s.Err() != errTest {
		t.Fatal("a failed refresh must keep the table")
	}
}

var errTest = &testError{}

type testError struct{}

func (*testError) Error() string { return "test" }

// TestIndex looks up every customer of a table of 30,000 over three
// tenants with the same ids, and some that are not there.
func TestIndex(t *testing.T) {
	sch := arrow.NewSchema([]arrow.Field{
		{Name: "tenant", Type: arrow.BinaryTypes.String}, {Name: "customer_id", Type: arrow.BinaryTypes.String},
		{Name: "as_of", Type: arrow.FixedWidthTypes.Date32}, {Name: "status", Type: arrow.BinaryTypes.String},
		{Name: "tenure_days", Type: arrow.PrimitiveTypes.Float64},
	}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, sch)
	defer b.Release()
	for _, tn := range []string{"a", "b", "c"} {
		for i := range 10000 {
			b.Field(0).(*array.StringBuilder).Append(tn)
			b.Field(1).(*array.StringBuilder).Append(fmt.Sprint("C", i))
			b.Field(2).(*array.Date32Builder).Append(20000)
			b.Field(3).(*array.StringBuilder).Append("ok")
			b.Field(4).(*array.Float64Builder).Append(float64(i) + map[string]float64{"a": 0, "b": 0.25, "c": 0.5}[tn])
		}
	}
	rec := b.NewRecord()
	rr, _ := array.NewRecordReader(sch, []arrow.Record{rec})
	tb, err := FromRecords(rr)
	if err != nil {
		t.Fatal(err)
	}
	for _, tn := range []string{"a", "b", "c"} {
		for i := range 10000 {
			r, ok := tb.Lookup(tn, fmt.Sprint("C", i))
			if !ok || float64(r.Num[0]) != float64(i)+map[string]float64{"a": 0, "b": 0.25, "c": 0.5}[tn] {
				t.Fatalf("%s/C%d: %v %v", tn, i, ok, r.Num)
			}
		}
		if _, ok := tb.Lookup(tn, "C10000"); ok {
			t.Fatal("found a customer that is not there")
		}
	}
	if _, ok := tb.Lookup("d", "C1"); ok {
		t.Fatal("found a customer of an unknown tenant")
	}
	// A customer twice is an error.
	rr2, _ := array.NewRecordReader(sch, []arrow.Record{rec, rec})
	if _, err := FromRecords(rr2); err == nil {
		t.Fatal("duplicate customers accepted")
	}
}

// TestTenantsDoNotStopEachOther loads features_latest from the warehouse
// where one tenant has 70,000 distinct postcode areas: every tenant's
// features still load.
func TestTenantsDoNotStopEachOther(t *testing.T) {
	warehousetest.Each(t, func(t *testing.T, e warehouse.Engine) {
		ctx := context.Background()
		if _, err := warehouse.Migrate(ctx, e, features.Migrations()); err != nil {
			t.Fatal(err)
		}
		big, small := warehousetest.Tenant(t), warehousetest.Tenant(t)
		err := e.Exec(ctx, `INSERT INTO features_latest (tenant, customer_id, as_of, status, refreshed_at, postcode_area, channel)
SELECT {t:String}, concat('P', toString(number)), toDate('2026-01-01'), 'ok', now(), concat('A', toString(number)), 'online' FROM system.numbers LIMIT 70000`, warehouse.Params{"t": big})
		if err != nil {
			t.Fatal(err)
		}
		err = e.Exec(ctx, `INSERT INTO features_latest (tenant, customer_id, as_of, status, refreshed_at, postcode_area, channel)
SELECT {t:String}, 'S1', toDate('2026-01-01'), 'ok', now(), '1012', 'offline' FROM system.one`, warehouse.Params{"t": small})
		if err != nil {
			t.Fatal(err)
		}
		tb, err := Load(ctx, e, "")
		if err != nil {
			t.Fatalf("load: %v", err)
		}
		area := slices.Index(tb.CatNames, "postcode_area")
		r, ok := tb.Lookup(small, "S1")
		if !ok || r.Cat(area) != "1012" {
			t.Fatalf("the small tenant's customer: %v %v", ok, r)
		}
		r, ok = tb.Lookup(big, "P69999")
		if !ok || r.Cat(area) != "A69999" || tb.Customers(big) != 70000 {
			t.Fatalf("the big tenant's customer: %v, %d customers", ok, tb.Customers(big))
		}
	})
}
