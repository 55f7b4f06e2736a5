package training

import (
	"strings"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
)

// TestLoadRefusesProtected: Load refuses protected attributes, including
// the German credit data's Personal.* (sex and marital status) and
// ForeignWorker (nationality), and accepts look-alikes.
func TestLoadRefusesProtected(t *testing.T) {
	for _, tc := range []struct {
		column string
		refuse bool
	}{
		{"Age", true},
		{"customer_age", true},
		{"Personal.Female.Single", true},
		{"ForeignWorker", true},
		{"Purpose.Education", false},
		{"Housing.Own", false},
	} {
		t.Run(tc.column, func(t *testing.T) {
			schema := arrow.NewSchema([]arrow.Field{{Name: "customer_id", Type: arrow.BinaryTypes.String}, {Name: "as_of", Type: arrow.FixedWidthTypes.Date32},
				{Name: tc.column, Type: arrow.PrimitiveTypes.Float64}, {Name: "duration_days", Type: arrow.PrimitiveTypes.Int32}, {Name: "event", Type: arrow.PrimitiveTypes.Uint8}}, nil)
			b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
			defer b.Release()
			b.Field(0).(*array.StringBuilder).Append("c1")
			b.Field(1).(*array.Date32Builder).Append(20000)
			b.Field(2).(*array.Float64Builder).Append(1)
			b.Field(3).(*array.Int32Builder).Append(365)
			b.Field(4).(*array.Uint8Builder).Append(1)
			rec := b.NewRecord()
			defer rec.Release()
			rr, err := array.NewRecordReader(schema, []arrow.Record{rec})
			if err != nil {
				t.Fatal(err)
			}
			defer rr.Release()
			d, err := Load(rr)
			if tc.refuse {
				if err == nil || !strings.Contains(err.Error(), "protected attribute") || !strings.Contains(err.Error(), tc.column) {
					t.Fatalf("Load: %v, want a protected-attribute error naming %s", err, tc.column)
				}
				return
			}
			if err != nil || len(d.NumNames) != 1 || d.NumNames[0] != tc.column {
				t.Fatalf("Load: %v, inputs %v", err, d)
			}
		})
	}
}
