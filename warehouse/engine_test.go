package warehouse_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/decimal128"
	"github.com/apache/arrow/go/v15/arrow/memory"

	"github.com/duewise/duewise/warehouse"
	"github.com/duewise/duewise/warehouse/warehousetest"
)

// cells returns the rows of a query as text, through Arrow.
func cells(t *testing.T, e warehouse.Engine, sql string, p warehouse.Params) (*arrow.Schema, [][]string) {
	t.Helper()
	rr, err := e.Query(context.Background(), sql, p)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	defer rr.Release()
	var out [][]string
	for rr.Next() {
		rec := rr.Record()
		for i := 0; i < int(rec.NumRows()); i++ {
			row := make([]string, rec.NumCols())
			for j, c := range rec.Columns() {
				row[j] = c.ValueStr(i)
			}
			out = append(out, row)
		}
	}
	if err := rr.Err(); err != nil {
		t.Fatal(err)
	}
	return rr.Schema(), out
}

func TestEngineTypesRoundTrip(t *testing.T) {
	warehousetest.Each(t, func(t *testing.T, e warehouse.Engine) {
		ctx := context.Background()
		table := "wt_types_" + strings.ReplaceAll(warehousetest.Tenant(t), "-", "_")
		ddl := "CREATE TABLE IF NOT EXISTS " + table + " (tenant String, id String, d Date, ts DateTime('UTC'), amount Decimal(18, 2), n Nullable(Int32), f Float64, u UInt64) ENGINE = ReplacingMergeTree(u) ORDER BY (tenant, id)"
		if err := e.Exec(ctx, ddl, nil); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { e.Exec(context.Background(), "DROP TABLE IF EXISTS "+table, nil) })
		sch := arrow.NewSchema([]arrow.Field{
			{Name: "tenant", Type: arrow.BinaryTypes.String},
			{Name: "id", Type: arrow.BinaryTypes.String},
			{Name: "d", Type: arrow.FixedWidthTypes.Date32},
			{Name: "ts", Type: &arrow.TimestampType{Unit: arrow.Second, TimeZone: "UTC"}},
			{Name: "amount", Type: &arrow.Decimal128Type{Precision: 18, Scale: 2}},
			{Name: "n", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
			{Name: "f", Type: arrow.PrimitiveTypes.Float64},
			{Name: "u", Type: arrow.PrimitiveTypes.Uint64},
		}, nil)
		b := array.NewRecordBuilder(memory.DefaultAllocator, sch)
		defer b.Release()
		day := arrow.Date32FromTime(time.Date(2025, 3, 31, 0, 0, 0, 0, time.UTC))
		ts := time.Date(2025, 3, 31, 23, 59, 59, 0, time.UTC).Unix()
		b.Field(0).(*array.StringBuilder).AppendValues([]string{"a", "a", "a"}, nil)
		b.Field(1).(*array.StringBuilder).AppendValues([]string{"x", "y 'quoted' \\ é", "x"}, nil)
		b.Field(2).(*array.Date32Builder).AppendValues([]arrow.Date32{day, day + 1, day + 2}, nil)
		b.Field(3).(*array.TimestampBuilder).AppendValues([]arrow.Timestamp{arrow.Timestamp(ts), arrow.Timestamp(ts + 1), arrow.Timestamp(ts + 2)}, nil)
		for _, v := range []int64{123456, -5, 999999999999} {
			b.Field(4).(*array.Decimal128Builder).Append(decimal128.FromI64(v))
		}
		b.Field(5).(*array.Int32Builder).AppendValues([]int32{7, 0, 9}, []bool{true, false, true})
		b.Field(6).(*array.Float64Builder).AppendValues([]float64{0.5, -1e300, 3}, nil)
		b.Field(7).(*array.Uint64Builder).AppendValues([]uint64{1, 1, 2}, nil)
		rec := b.NewRecord()
		defer rec.Release()
		if err := e.Insert(ctx, table, rec); err != nil {
			t.Fatal(err)
		}
		schema, rows := cells(t, e, "SELECT id, d, ts, amount, n, f, u, toString(ts) FROM "+table+" FINAL WHERE tenant = {tenant:String} ORDER BY id", warehouse.Params{"tenant": "a"})
		want := [][]string{
			{"x", "2025-04-02", fmt.Sprint(ts + 2), "9999999999.99", "9", "3", "2", "2025-04-01 00:00:01"},
			{"y 'quoted' \\ é", "2025-04-01", fmt.Sprint(ts + 1), "-0.05", "(null)", "-1e+300", "1", "2025-04-01 00:00:00"},
		}
		if fmt.Sprint(rows) != fmt.Sprint(want) {
			t.Errorf("rows\n got %q\nwant %q", rows, want)
		}
		wantTypes := "utf8 date32 uint32 decimal(18, 2) int32 float64 uint64 utf8"
		var got []string
		for _, f := range schema.Fields() {
			got = append(got, f.Type.String())
		}
		if strings.Join(got, " ") != wantTypes {
			t.Errorf("types %q, want %q", strings.Join(got, " "), wantTypes)
		}
		if !schema.Field(4).Nullable {
			t.Error("n: want a nullable field")
		}
	})
}

func TestEngineParamsAndArrays(t *testing.T) {
	warehousetest.Each(t, func(t *testing.T, e warehouse.Engine) {
		_, rows := cells(t, e, "SELECT {s:String} AS s, {d:Date} AS d, {n:Int64} + 1 AS n, length({ids:Array(String)}) AS k, arrayJoin({days:Array(Date)}) AS day, '{literal:String}' AS lit",
			warehouse.Params{"s": "it's", "d": "2025-01-31", "n": 41, "ids": []string{"a", "b'c"}, "days": []string{"2025-01-01", "2025-02-01"}})
		want := [][]string{{"it's", "2025-01-31", "42", "2", "2025-01-01", "{literal:String}"}, {"it's", "2025-01-31", "42", "2", "2025-02-01", "{literal:String}"}}
		if fmt.Sprint(rows) != fmt.Sprint(want) {
			t.Errorf("got %q, want %q", rows, want)
		}
		_, rows = cells(t, e, "SELECT [1, 2, 3] AS a, groupArray(number) AS g FROM system.numbers LIMIT 0", nil)
		if len(rows) != 0 {
			t.Errorf("empty result: got %q", rows)
		}
	})
}

func TestEngineErrors(t *testing.T) {
	warehousetest.Each(t, func(t *testing.T, e warehouse.Engine) {
		ctx := context.Background()
		if _, err := e.Query(ctx, "SELECT no_such_column FROM system.one", nil); err == nil || !strings.Contains(err.Error(), "no_such_column") {
			t.Errorf("bad column: got %v, want an error naming it", err)
		}
		if err := e.Exec(ctx, "SELECT {x:String}", nil); err == nil || !strings.Contains(err.Error(), "no value for parameter {x:String}") {
			t.Errorf("missing parameter: got %v", err)
		}
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := e.Query(cctx, "SELECT 1", nil); !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled context: got %v", err)
		}
		// The engine still works after errors.
		if _, rows := cells(t, e, "SELECT 1", nil); len(rows) != 1 || rows[0][0] != "1" {
			t.Errorf("after errors: %q", rows)
		}
	})
}

func TestEngineConcurrent(t *testing.T) {
	warehousetest.Each(t, func(t *testing.T, e warehouse.Engine) {
		var wg sync.WaitGroup
		errs := make(chan error, 16)
		for g := 0; g < 8; g++ {
			wg.Add(1)
			go func(g int) {
				defer wg.Done()
				for i := 0; i < 10; i++ {
					rr, err := e.Query(context.Background(), "SELECT {g:Int64} * 100 + {i:Int64} AS v", warehouse.Params{"g": g, "i": i})
					if err != nil {
						errs <- err
						return
					}
					for rr.Next() {
						if got := rr.Record().Column(0).ValueStr(0); got != fmt.Sprint(g*100+i) {
							errs <- fmt.Errorf("goroutine %d query %d: got %s", g, i, got)
						}
					}
					rr.Release()
				}
			}(g)
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
	})
}

func TestMigrateIdempotent(t *testing.T) {
	warehousetest.Each(t, func(t *testing.T, e warehouse.Engine) {
		ctx := context.Background()
		comp := "test_" + strings.ReplaceAll(warehousetest.Tenant(t), "-", "_")
		table := comp + "_t"
		t.Cleanup(func() { e.Exec(context.Background(), "DROP TABLE IF EXISTS "+table, nil) })
		ms := []warehouse.Migration{
			{Component: comp, Version: 2, Name: "add column", Statements: []string{"ALTER TABLE " + table + " ADD COLUMN b String"}},
			{Component: comp, Version: 1, Name: "create", Statements: []string{"CREATE TABLE IF NOT EXISTS " + table + " (a String) ENGINE = MergeTree ORDER BY a"}},
		}
		done, err := warehouse.Migrate(ctx, e, ms)
		if err != nil {
			t.Fatal(err)
		}
		if len(done) != 2 || done[0].Version != 1 || done[1].Version != 2 {
			t.Fatalf("first run applied %+v, want versions 1 then 2", done)
		}
		done, err = warehouse.Migrate(ctx, e, ms)
		if err != nil || len(done) != 0 {
			t.Fatalf("second run applied %+v, %v; want nothing", done, err)
		}
		if _, rows := cells(t, e, "SELECT count() FROM "+table+" WHERE b = ''", nil); rows[0][0] != "0" {
			t.Errorf("table after migration: %q", rows)
		}
		applied, err := warehouse.Applied(ctx, e)
		if err != nil || fmt.Sprint(applied[comp]) != "[1 2]" {
			t.Errorf("applied = %v, %v", applied[comp], err)
		}
	})
}
