package features

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"

	"github.com/duewise/duewise/warehouse"
)

// DepartureDetail is a customer_events detail that, with kind
// contract_change, ends the relationship (IsDeparture).
const DepartureDetail = "contract ended"

// IsDeparture reports a customer event that ends the relationship: kind
// contract_change with a detail starting "contract ended" (any case).
func IsDeparture(kind, detail string) bool { return isDeparture(kind, detail) }

// LatestRecord returns rows (computed live at now, see ComputeLive) as a
// record with features_latest's columns in RefreshCustomers' order:
// tenant, customer_id, as_of, status, refreshed_at (now, in seconds),
// then every catalog signal (numeric as nullable float64, NaN = NULL;
// categorical as string). The caller releases it.
func LatestRecord(rows []Row, now time.Time) arrow.Record {
	mem := memory.DefaultAllocator
	fields := []arrow.Field{{Name: "tenant", Type: arrow.BinaryTypes.String}, {Name: "customer_id", Type: arrow.BinaryTypes.String},
		{Name: "as_of", Type: arrow.FixedWidthTypes.Date32}, {Name: "status", Type: arrow.BinaryTypes.String},
		{Name: "refreshed_at", Type: &arrow.TimestampType{Unit: arrow.Second, TimeZone: "UTC"}}}
	numAt, catAt := map[string]int{}, map[string]int{}
	if len(rows) > 0 {
		for i, n := range rows[0].Names {
			numAt[n] = i
		}
		for i, n := range rows[0].CategoricalNames {
			catAt[n] = i
		}
	}
	for _, s := range catalog {
		if s.Kind == Categorical {
			fields = append(fields, arrow.Field{Name: s.Name, Type: arrow.BinaryTypes.String})
		} else {
			fields = append(fields, arrow.Field{Name: s.Name, Type: arrow.PrimitiveTypes.Float64, Nullable: true})
		}
	}
	b := array.NewRecordBuilder(mem, arrow.NewSchema(fields, nil))
	defer b.Release()
	stamp := arrow.Timestamp(now.UTC().Truncate(time.Second).Unix())
	for _, r := range rows {
		b.Field(0).(*array.StringBuilder).Append(r.Tenant)
		b.Field(1).(*array.StringBuilder).Append(r.CustomerID)
		b.Field(2).(*array.Date32Builder).Append(arrow.Date32FromTime(r.AsOf))
		b.Field(3).(*array.StringBuilder).Append(r.Status)
		b.Field(4).(*array.TimestampBuilder).Append(stamp)
		for j, s := range catalog {
			switch fb := b.Field(5 + j).(type) {
			case *array.StringBuilder:
				fb.Append(r.Categorical[catAt[s.Name]])
			case *array.Float64Builder:
				if v := r.Values[numAt[s.Name]]; math.IsNaN(v) {
					fb.AppendNull()
				} else {
					fb.Append(v)
				}
			}
		}
	}
	return b.NewRecord()
}

// WriteLatest writes rows computed live at now (LatestRecord) into
// features_latest, as RefreshCustomers does with the rows it computes in
// the warehouse, and returns the record written (the caller releases
// it). As concurrency-safe as eng.
func WriteLatest(ctx context.Context, eng warehouse.Engine, rows []Row, now time.Time) (arrow.Record, error) {
	rec := LatestRecord(rows, now)
	if err := eng.Insert(ctx, LatestTable, rec); err != nil {
		rec.Release()
		return nil, fmt.Errorf("write %d rows to %s: %w", len(rows), LatestTable, err)
	}
	return rec, nil
}
