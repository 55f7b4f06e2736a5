// Package online holds the online feature table (features_latest) in
// memory for the scoring hot path: loaded in bulk from the warehouse,
// swapped atomically on refresh, never queried per request.
package online

import (
	"context"
	"fmt"
	"math"
	"sync/atomic"
	"time"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"

	"github.com/duewise/duewise/features"
	"github.com/duewise/duewise/warehouse"
)

// Table is an immutable snapshot of features_latest. Safe for concurrent
// use.
type Table struct {
	NumNames []string // numeric signal columns, in table order
	CatNames []string // categorical columns
	LoadedAt time.Time
	// MaxAsOf is the newest as_of in the table (zero when empty).
	MaxAsOf time.Time
	rows    map[string]map[string]int32 // tenant -> customer -> row
	asOf    []int32
	behind  []bool
	num     []float32 // row-major, len(NumNames) per row
	cat     []string  // row-major, len(CatNames) per row
}

// Row is one customer's features. Num and Cat alias the table's storage:
// read-only.
type Row struct {
	AsOf   time.Time
	Status string
	Num    []float32 // by Table.NumNames; NaN = NULL
	Cat    []string  // by Table.CatNames
}

// Len returns the number of customers.
func (t *Table) Len() int { return len(t.asOf) }

// Lookup returns a tenant's customer.
func (t *Table) Lookup(tenant, customer string) (Row, bool) {
	i, ok := t.rows[tenant][customer]
	if !ok {
		return Row{}, false
	}
	nn, nc := len(t.NumNames), len(t.CatNames)
	st := "ok"
	if t.behind[i] {
		st = "behind"
	}
	return Row{AsOf: day(t.asOf[i]), Status: st, Num: t.num[int(i)*nn : int(i+1)*nn], Cat: t.cat[int(i)*nc : int(i+1)*nc]}, true
}

// Customers calls fn for every customer of tenant ("" = all tenants) until
// fn returns false. Order is unspecified.
func (t *Table) Customers(tenant string, fn func(tenant, customer string) bool) {
	for tn, m := range t.rows {
		if tenant != "" && tn != tenant {
			continue
		}
		for c := range m {
			if !fn(tn, c) {
				return
			}
		}
	}
}

func day(d int32) time.Time { return time.Unix(int64(d)*86400, 0).UTC() }

// meta are features_latest columns that are not signals.
var meta = map[string]bool{"tenant": true, "customer_id": true, "as_of": true, "status": true, "refreshed_at": true}

// Load reads features_latest of tenant ("" = all) from the warehouse.
func Load(ctx context.Context, eng warehouse.Engine, tenant string) (*Table, error) {
	rr, err := features.Latest(ctx, eng, tenant)
	if err != nil {
		return nil, err
	}
	defer rr.Release()
	return FromRecords(rr)
}

// FromRecords builds a Table from records with the features_latest schema.
func FromRecords(rr array.RecordReader) (*Table, error) {
	t := &Table{LoadedAt: time.Now().UTC(), rows: map[string]map[string]int32{}}
	sch := rr.Schema()
	var numCols, catCols []int
	idx := map[string]int{}
	for i, f := range sch.Fields() {
		idx[f.Name] = i
		if meta[f.Name] {
			continue
		}
		switch f.Type.ID() {
		case arrow.STRING:
			t.CatNames = append(t.CatNames, f.Name)
			catCols = append(catCols, i)
		case arrow.FLOAT64, arrow.FLOAT32, arrow.INT32, arrow.INT64, arrow.UINT8, arrow.UINT32:
			t.NumNames = append(t.NumNames, f.Name)
			numCols = append(numCols, i)
		}
	}
	for _, c := range []string{"tenant", "customer_id", "as_of", "status"} {
		if _, ok := idx[c]; !ok {
			return nil, fmt.Errorf("online features: column %q missing", c)
		}
	}
	var maxAsOf int32
	for rr.Next() {
		rec := rr.Record()
		ten := rec.Column(idx["tenant"]).(*array.String)
		cus := rec.Column(idx["customer_id"]).(*array.String)
		asof, ok := rec.Column(idx["as_of"]).(*array.Date32)
		if !ok {
			return nil, fmt.Errorf("online features: as_of is %s, want date32", rec.Column(idx["as_of"]).DataType())
		}
		st := rec.Column(idx["status"]).(*array.String)
		for r := range int(rec.NumRows()) {
			m := t.rows[ten.Value(r)]
			if m == nil {
				m = map[string]int32{}
				t.rows[ten.Value(r)] = m
			}
			m[cus.Value(r)] = int32(len(t.asOf))
			a := int32(asof.Value(r))
			maxAsOf = max(maxAsOf, a)
			t.asOf = append(t.asOf, a)
			t.behind = append(t.behind, st.Value(r) == "behind")
			for _, c := range numCols {
				t.num = append(t.num, cellFloat(rec.Column(c), r))
			}
			for _, c := range catCols {
				t.cat = append(t.cat, rec.Column(c).(*array.String).Value(r))
			}
		}
	}
	if err := rr.Err(); err != nil {
		return nil, fmt.Errorf("online features: %w", err)
	}
	if maxAsOf > 0 {
		t.MaxAsOf = day(maxAsOf)
	}
	return t, nil
}

func cellFloat(col arrow.Array, r int) float32 {
	if col.IsNull(r) {
		return float32(math.NaN())
	}
	switch c := col.(type) {
	case *array.Float64:
		return float32(c.Value(r))
	case *array.Float32:
		return c.Value(r)
	case *array.Int32:
		return float32(c.Value(r))
	case *array.Int64:
		return float32(c.Value(r))
	case *array.Uint8:
		return float32(c.Value(r))
	case *array.Uint32:
		return float32(c.Value(r))
	}
	return float32(math.NaN())
}

// Store holds the current Table and swaps in refreshed ones. Safe for
// concurrent use; Current never blocks.
type Store struct {
	cur     atomic.Pointer[Table]
	lastErr atomic.Pointer[error]
}

// Current returns the loaded table, or nil before the first load.
func (s *Store) Current() *Table { return s.cur.Load() }

// Set swaps in t.
func (s *Store) Set(t *Table) { s.cur.Store(t); s.lastErr.Store(nil) }

// Fail records a failed refresh (the current table keeps serving).
func (s *Store) Fail(err error) { s.lastErr.Store(&err) }

// Err returns the last refresh error, or nil when the last refresh worked.
func (s *Store) Err() error {
	if p := s.lastErr.Load(); p != nil {
		return *p
	}
	return nil
}
