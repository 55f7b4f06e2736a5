package warehouse_test

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"

	"github.com/duewise/duewise/warehouse"
	"github.com/duewise/duewise/warehouse/warehousetest"
)

// TestScanBackends reads the types both backends return into Go values.
func TestScanBackends(t *testing.T) {
	warehousetest.Each(t, func(t *testing.T, e warehouse.Engine) {
		rr, err := e.Query(context.Background(), `SELECT 'a' AS s, toDate('2025-03-04') AS d, toDateTime('2025-03-04 05:06:07', 'UTC') AS ts,
toUInt8(1) AS b, toUInt64(18446744073709551615) AS big, toInt32(-7) AS i, CAST(NULL AS Nullable(Float64)) AS f, toFloat32(1.5) AS f32`, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer rr.Release()
		var (
			s     string
			d, ts time.Time
			b     bool
			big   uint64
			i     int64
			f     float64
			f32   float32
		)
		if err := warehouse.ScanOne(rr, &s, &d, &ts, &b, &big, &i, &f, &f32); err != nil {
			t.Fatal(err)
		}
		if s != "a" || !d.Equal(time.Date(2025, 3, 4, 0, 0, 0, 0, time.UTC)) || !ts.Equal(time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)) ||
			!b || big != math.MaxUint64 || i != -7 || !math.IsNaN(f) || f32 != 1.5 {
			t.Errorf("scanned %q %v %v %v %d %d %v %v", s, d, ts, b, big, i, f, f32)
		}
	})
}

func record(t *testing.T, fields []arrow.Field, fill func(b *array.RecordBuilder)) array.RecordReader {
	t.Helper()
	sch := arrow.NewSchema(fields, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, sch)
	defer b.Release()
	fill(b)
	rec := b.NewRecord()
	defer rec.Release()
	rr, err := array.NewRecordReader(sch, []arrow.Record{rec})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rr.Release)
	return rr
}

// TestScanMismatch checks that every wrong destination is an error naming
// the column, not a panic.
func TestScanMismatch(t *testing.T) {
	fields := []arrow.Field{{Name: "name", Type: arrow.BinaryTypes.String}, {Name: "n", Type: arrow.PrimitiveTypes.Int64}, {Name: "u", Type: arrow.PrimitiveTypes.Uint64}}
	fill := func(b *array.RecordBuilder) {
		b.Field(0).(*array.StringBuilder).Append("x")
		b.Field(1).(*array.Int64Builder).Append(-1)
		b.Field(2).(*array.Uint64Builder).Append(1 << 40)
	}
	var (
		s   string
		n   int64
		u   uint64
		u8  uint8
		u32 uint32
		tm  time.Time
		f   float64
		x   struct{}
	)
	for _, tc := range []struct {
		name string
		dest []any
		want string
	}{
		{"string into a number", []any{&f, nil, nil}, "column 0 (name): cannot convert utf8 into *float64"},
		{"number into a string", []any{nil, &s, nil}, "column 1 (n): cannot convert int64 into *string"},
		{"number into a time", []any{nil, &tm, nil}, "column 1 (n): cannot convert int64 into *time.Time"},
		{"negative into unsigned", []any{nil, &u, nil}, "column 1 (n) row 0: value -1 does not fit uint64"},
		{"too large for uint8", []any{nil, nil, &u8}, "column 2 (u) row 0: value 1099511627776 does not fit uint8"},
		{"too large for uint32", []any{nil, nil, &u32}, "does not fit uint32"},
		{"unknown destination", []any{&x, nil, nil}, "cannot convert utf8 into *struct {}"},
		{"too few destinations", []any{&s, &n}, "scan 3 columns (name, n, u) into 2 destinations"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := warehouse.Scan(record(t, fields, fill), func() error { return nil }, tc.dest...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want %q", err, tc.want)
			}
		})
	}
	var raw warehouse.RawString
	var got string
	if err := warehouse.Scan(record(t, fields, fill), func() error { got = string(raw); return nil }, &raw, &n, &u); err != nil || got != "x" || n != -1 || u != 1<<40 {
		t.Errorf("good scan: %v %q %d %d", err, got, n, u)
	}
	empty := record(t, fields, func(*array.RecordBuilder) {})
	if err := warehouse.ScanOne(empty, &s, &n, &u); !errors.Is(err, warehouse.ErrNoRows) {
		t.Errorf("no rows: %v", err)
	}
}
