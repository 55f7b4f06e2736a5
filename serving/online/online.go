// Package online holds the online feature table (features_latest) in
// memory for the scoring hot path: loaded in bulk from the warehouse,
// swapped atomically on refresh, never queried per request.
//
// Memory per customer is about 4 bytes per numeric signal (float32), 2
// bytes per categorical attribute (a code into a per-column dictionary),
// its id and 8 to 16 bytes of hash index: 1,000,000 customers with 51
// signals take about 250 MB. None of it holds pointers, so the garbage
// collector does not scan it (a table of maps and strings would cost every
// collection cycle milliseconds of marking on the request path).
package online

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"math"
	"slices"
	"sort"
	"sync/atomic"
	"time"
	"unsafe"

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
	// Version identifies the warehouse state the table was loaded from.
	Version Version
	// The storage holds no pointers, so that the garbage collector never
	// scans it: ids in one byte buffer, an open-addressing hash index.
	tenantNames []string          // tenant code -> name
	tenantCode  map[string]uint16 // name -> code
	perTenant   []int             // tenant code -> customers
	tenant      []uint16          // row -> tenant code
	idBuf       []byte            // customer ids, back to back
	idEnd       []uint32          // row -> end of its id in idBuf
	index       []uint32          // hash slots: row+1, 0 = empty
	seed        maphash.Seed
	asOf        []int32
	behind      []bool
	num         []float32  // row-major, len(NumNames) per row
	cat         []uint16   // row-major, len(CatNames) per row: codes into dict
	dict        [][]string // per categorical column: code -> value
}

// Row is one customer's features. Num aliases the table's storage:
// read-only.
type Row struct {
	AsOf   time.Time
	Status string
	Num    []float32 // by Table.NumNames; NaN = NULL
	cat    []uint16
	t      *Table
}

// Cat returns the categorical attribute j (by Table.CatNames).
func (r Row) Cat(j int) string { return r.t.dict[j][r.cat[j]] }

// Len returns the number of customers.
func (t *Table) Len() int { return len(t.asOf) }

// id returns the customer id of row i (a view of the table's buffer).
func (t *Table) id(i int) string {
	start := uint32(0)
	if i > 0 {
		start = t.idEnd[i-1]
	}
	b := t.idBuf[start:t.idEnd[i]]
	return unsafe.String(unsafe.SliceData(b), len(b))
}

func (t *Table) hash(tenant uint16, customer string) uint64 {
	return maphash.String(t.seed, customer) ^ (uint64(tenant)+1)*0x9E3779B97F4A7C15
}

// Lookup returns a tenant's customer.
func (t *Table) Lookup(tenant, customer string) (Row, bool) {
	code, ok := t.tenantCode[tenant]
	if !ok || len(t.index) == 0 {
		return Row{}, false
	}
	mask := uint64(len(t.index) - 1)
	for h := t.hash(code, customer) & mask; ; h = (h + 1) & mask {
		r := t.index[h]
		if r == 0 {
			return Row{}, false
		}
		if i := int(r - 1); t.tenant[i] == code && t.id(i) == customer {
			return t.row(i), true
		}
	}
}

// add indexes row i; it reports false when the tenant's customer is
// already in the table.
func (t *Table) add(i int) bool {
	mask := uint64(len(t.index) - 1)
	code, id := t.tenant[i], t.id(i)
	for h := t.hash(code, id) & mask; ; h = (h + 1) & mask {
		r := t.index[h]
		if r == 0 {
			t.index[h] = uint32(i + 1)
			return true
		}
		if j := int(r - 1); t.tenant[j] == code && t.id(j) == id {
			return false
		}
	}
}

func (t *Table) row(i int) Row {
	nn, nc := len(t.NumNames), len(t.CatNames)
	st := "ok"
	if t.behind[i] {
		st = "behind"
	}
	return Row{AsOf: day(t.asOf[i]), Status: st, Num: t.num[i*nn : (i+1)*nn], cat: t.cat[i*nc : (i+1)*nc], t: t}
}

// Each calls fn for every customer of tenant ("" = all tenants), ordered
// by tenant and customer id, until fn returns false.
func (t *Table) Each(tenant string, fn func(tenant, customer string, r Row) bool) {
	code, ok := t.tenantCode[tenant]
	if tenant != "" && !ok {
		return
	}
	for i := range t.tenant {
		if tenant != "" && t.tenant[i] != code {
			continue
		}
		if !fn(t.tenantNames[t.tenant[i]], t.id(i), t.row(i)) {
			return
		}
	}
}

// Customers returns the number of customers of tenant ("" = all).
func (t *Table) Customers(tenant string) int {
	if tenant == "" {
		return len(t.tenant)
	}
	code, ok := t.tenantCode[tenant]
	if !ok {
		return 0
	}
	return t.perTenant[code]
}

// Tenants returns the tenants in the table, sorted.
func (t *Table) Tenants() []string {
	out := slices.Clone(t.tenantNames)
	sort.Strings(out)
	return out
}

func day(d int32) time.Time { return time.Unix(int64(d)*86400, 0).UTC() }

// meta are features_latest columns that are not signals.
var meta = map[string]bool{"tenant": true, "customer_id": true, "as_of": true, "status": true, "refreshed_at": true}

// Version identifies a state of features_latest: its row count (all
// versions of every row) and its newest refresh time. A refresh changes it.
type Version struct {
	Rows      uint64
	Refreshed uint64
}

// Probe returns the current Version of features_latest: a cheap query
// that tells whether a reload would load anything new.
func Probe(ctx context.Context, eng warehouse.Engine) (Version, error) {
	rr, err := eng.Query(ctx, `SELECT toUInt64(count()) AS n, toUInt64(max(refreshed_at)) AS r FROM `+features.LatestTable, nil)
	if err != nil {
		return Version{}, fmt.Errorf("probe online features: %w", err)
	}
	defer rr.Release()
	var v Version
	for rr.Next() {
		rec := rr.Record()
		if rec.NumRows() > 0 {
			v.Rows = rec.Column(0).(*array.Uint64).Value(0)
			v.Refreshed = rec.Column(1).(*array.Uint64).Value(0)
		}
	}
	if err := rr.Err(); err != nil {
		return Version{}, fmt.Errorf("probe online features: %w", err)
	}
	return v, nil
}

// Load reads features_latest of tenant ("" = all) from the warehouse.
func Load(ctx context.Context, eng warehouse.Engine, tenant string) (*Table, error) {
	v, err := Probe(ctx, eng)
	if err != nil {
		return nil, err
	}
	rr, err := features.Latest(ctx, eng, tenant)
	if err != nil {
		return nil, err
	}
	defer rr.Release()
	t, err := FromRecords(rr)
	if err != nil {
		return nil, err
	}
	t.Version = v
	return t, nil
}

// FromRecords builds a Table from records with the features_latest schema
// ordered by tenant and customer_id.
func FromRecords(rr array.RecordReader) (*Table, error) {
	t := &Table{LoadedAt: time.Now().UTC(), tenantCode: map[string]uint16{}, seed: maphash.MakeSeed()}
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
	t.dict = make([][]string, len(catCols))
	codes := make([]map[string]uint16, len(catCols))
	for j := range codes {
		codes[j] = map[string]uint16{}
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
			code, ok := t.tenantCode[ten.Value(r)]
			if !ok {
				if len(t.tenantNames) > math.MaxUint16 {
					return nil, fmt.Errorf("online features: more than %d tenants", math.MaxUint16+1)
				}
				code = uint16(len(t.tenantNames))
				name := string([]byte(ten.Value(r)))
				t.tenantCode[name] = code
				t.tenantNames = append(t.tenantNames, name)
				t.perTenant = append(t.perTenant, 0)
			}
			t.perTenant[code]++
			t.tenant = append(t.tenant, code)
			t.idBuf = append(t.idBuf, cus.Value(r)...)
			if len(t.idBuf) > math.MaxUint32 {
				return nil, errors.New("online features: customer ids exceed 4 GB")
			}
			t.idEnd = append(t.idEnd, uint32(len(t.idBuf)))
			a := int32(asof.Value(r))
			maxAsOf = max(maxAsOf, a)
			t.asOf = append(t.asOf, a)
			t.behind = append(t.behind, st.Value(r) == "behind")
			for _, c := range numCols {
				t.num = append(t.num, cellFloat(rec.Column(c), r))
			}
			for j, c := range catCols {
				v := rec.Column(c).(*array.String).Value(r)
				code, ok := codes[j][v]
				if !ok {
					if len(t.dict[j]) > math.MaxUint16 {
						return nil, fmt.Errorf("online features: column %s has more than %d distinct values", t.CatNames[j], math.MaxUint16+1)
					}
					v = string([]byte(v))
					code = uint16(len(t.dict[j]))
					codes[j][v] = code
					t.dict[j] = append(t.dict[j], v)
				}
				t.cat = append(t.cat, code)
			}
		}
	}
	if err := rr.Err(); err != nil {
		return nil, fmt.Errorf("online features: %w", err)
	}
	if maxAsOf > 0 {
		t.MaxAsOf = day(maxAsOf)
	}
	size := 1
	for size < 2*len(t.tenant) {
		size <<= 1
	}
	t.index = make([]uint32, size)
	for i := range t.tenant {
		if !t.add(i) {
			return nil, fmt.Errorf("online features: customer %q of tenant %q twice (read features_latest with FINAL)", t.id(i), t.tenantNames[t.tenant[i]])
		}
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
