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

// testRow is one row of the features_latest shape of latest.
type testRow struct {
	tenant, id, status, channel string
	asOf                        int32
	tenure, late                float64
}

// latest builds records with the features_latest shape, in two batches.
func latest(t *testing.T) array.RecordReader {
	t.Helper()
	return records(t, [][]testRow{{
		{"a", "C1", "ok", "online", 20000, 100, 0.25},
		{"a", "C2", "behind", "offline", 20001, 2000, math.NaN()},
	}, {
		{"b", "C1", "ok", "online", 20000, 5, 0},
	}})
}

// records builds records with the features_latest shape, a record per
// batch.
func records(t *testing.T, batches [][]testRow) array.RecordReader {
	t.Helper()
	sch := arrow.NewSchema([]arrow.Field{
		{Name: "tenant", Type: arrow.BinaryTypes.String}, {Name: "customer_id", Type: arrow.BinaryTypes.String},
		{Name: "as_of", Type: arrow.FixedWidthTypes.Date32}, {Name: "status", Type: arrow.BinaryTypes.String},
		{Name: "tenure_days", Type: arrow.PrimitiveTypes.Float64, Nullable: true}, {Name: "channel", Type: arrow.BinaryTypes.String},
		{Name: "late_share_365d", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	}, nil)
	var recs []arrow.Record
	for _, batch := range batches {
		b := array.NewRecordBuilder(memory.DefaultAllocator, sch)
		for _, r := range batch {
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

// TestWith checks the incremental refresh of a table: refreshed and new
// customers answered at once, in order, counted, the old table unchanged,
// and the same table whether the delta is held beside the loaded rows or
// folded into them.
// testTable builds a Table of rows (ordered by tenant and customer).
func testTable(t *testing.T, rows ...testRow) *Table {
	t.Helper()
	rr := records(t, [][]testRow{rows})
	defer rr.Release()
	tb, err := FromRecords(rr)
	if err != nil {
		t.Fatal(err)
	}
	return tb
}

func TestWith(t *testing.T) {
	table := func(rows ...testRow) *Table { return testTable(t, rows...) }
	var baseRows []testRow
	for i := range 40 {
		baseRows = append(baseRows, testRow{"a", fmt.Sprintf("C%02d", 2*i), "ok", "online", 20000, float64(i), 0.1})
	}
	baseRows = append(baseRows, testRow{"c", "C00", "ok", "offline", 20000, 7, 0.2})
	base := table(baseRows...)
	dump := func(tb *Table) []string {
		var out []string
		tb.Each("", func(tn, id string, r Row) bool {
			out = append(out, fmt.Sprintf("%s/%s %s %s %v %s", tn, id, r.AsOf.Format("2006-01-02"), r.Status, r.Num, r.Cat(0)))
			return true
		})
		return out
	}
	before := dump(base)
	// C04 refreshed (behind, a new channel), C05 new; then C04 again and a
	// new tenant b.
	one, err := base.With(table(testRow{"a", "C04", "behind", "phone", 20005, 4, 0.9}, testRow{"a", "C05", "ok", "online", 20005, 1, 0}))
	if err != nil {
		t.Fatal(err)
	}
	two, err := one.With(table(testRow{"a", "C04", "ok", "online", 20006, 4, 0.5}, testRow{"b", "X", "ok", "online", 20006, 2, 0}))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(dump(base), before) {
		t.Fatal("With changed the table it was called on")
	}
	if r, ok := one.Lookup("a", "C04"); !ok || r.Status != "behind" || r.Cat(0) != "phone" || r.Num[1] != float32(0.9) {
		t.Fatalf("a/C04 after the first delta: %+v %v", r, ok)
	}
	if r, ok := two.Lookup("a", "C04"); !ok || r.Status != "ok" || r.AsOf.Format("2006-01-02") != "2024-10-10" {
		t.Fatalf("a/C04 after the second delta: %+v %v", r, ok)
	}
	if _, ok := two.Lookup("a", "C05"); !ok {
		t.Fatal("a/C05 of the first delta lost by the second")
	}
	if r, ok := two.Lookup("a", "C06"); !ok || r.Num[0] != 3 {
		t.Fatalf("a/C06 (not refreshed): %+v %v", r, ok)
	}
	if two.Len() != 43 || two.Customers("a") != 41 || two.Customers("b") != 1 || two.Customers("c") != 1 || two.Overlaid() != 3 {
		t.Fatalf("counts: len %d, a %d, b %d, overlaid %d", two.Len(), two.Customers("a"), two.Customers("b"), two.Overlaid())
	}
	if got := two.Tenants(); !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Fatalf("tenants %v", got)
	}
	if two.MaxAsOf.Format("2006-01-02") != "2024-10-10" {
		t.Fatalf("max as_of %s", two.MaxAsOf)
	}
	// The same customers in one table built from all rows.
	all := slices.Clone(baseRows)
	all[2] = testRow{"a", "C04", "ok", "online", 20006, 4, 0.5}
	all = slices.Insert(all, 3, testRow{"a", "C05", "ok", "online", 20005, 1, 0})
	all = slices.Insert(all, 41, testRow{"b", "X", "ok", "online", 20006, 2, 0})
	want := dump(table(all...))
	if got := dump(two); !slices.Equal(got, want) {
		t.Fatalf("Each of the overlaid table:\n%v\nwant\n%v", got, want)
	}
	var aOnly []string
	two.Each("a", func(_, id string, _ Row) bool { aOnly = append(aOnly, id); return true })
	if len(aOnly) != 41 || aOnly[2] != "C04" || aOnly[3] != "C05" {
		t.Fatalf("Each of tenant a: %v", aOnly)
	}
	// A delta of more than 1/8 of the rows is folded into one table.
	var big []testRow
	for i := range 6 {
		big = append(big, testRow{"a", fmt.Sprintf("C%02d", 2*i+1), "ok", "online", 20007, 1, 0})
	}
	folded, err := two.With(table(big...))
	if err != nil {
		t.Fatal(err)
	}
	if folded.Overlaid() != 0 || folded.Len() != 48 {
		t.Fatalf("folded: overlaid %d, len %d", folded.Overlaid(), folded.Len())
	}
	if r, ok := folded.Lookup("a", "C04"); !ok || r.AsOf.Format("2006-01-02") != "2024-10-10" {
		t.Fatalf("a/C04 after the fold: %+v %v", r, ok)
	}
	for _, id := range []string{"C01", "C05", "C11"} {
		if _, ok := folded.Lookup("a", id); !ok {
			t.Fatalf("a/%s missing after the fold", id)
		}
	}
	if _, err := base.With(&Table{NumNames: []string{"other"}}); err == nil {
		t.Fatal("a delta of other columns was taken")
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
