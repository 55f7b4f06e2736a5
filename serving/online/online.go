// Package online holds the online feature table (features_latest) in
// memory for the scoring hot path: loaded in bulk from the warehouse,
// swapped atomically on refresh, never queried per request.
//
// Memory per customer is about 4 bytes per numeric signal (float32), 4
// bytes per categorical attribute (a code into a per-column dictionary,
// with no limit on distinct values that one tenant could reach to stop
// the others), its id and 8 to 16 bytes of hash index: 1,000,000 customers with 51
// signals take about 250 MB. None of it holds pointers, so the garbage
// collector does not scan it (a table of maps and strings would cost every
// collection cycle milliseconds of marking on the request path).
package online

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"maps"
	"math"
	"slices"
	"sort"
	"strings"
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
	// Version identifies the warehouse state the table was loaded from.
	Version Version
	// The storage holds no pointers, so that the garbage collector never
	// scans it: ids in one byte buffer, an open-addressing hash index.
	tenantNames []string          // tenant code -> name
	tenantCode  map[string]uint32 // name -> code
	perTenant   []int             // tenant code -> customers
	tenant      []uint32          // row -> tenant code
	ids         ids               // row -> customer id
	index       []uint32          // hash slots: row+1, 0 = empty
	seed        maphash.Seed
	asOf        []int32
	behind      []bool
	num         []float32  // row-major, len(NumNames) per row
	cat         []uint32   // row-major, len(CatNames) per row: codes into dict
	dict        [][]string // per categorical column: code -> value
	// over holds the customers refreshed since the table was loaded (With),
	// looked up before the loaded rows; nil when there are none. added
	// counts, per tenant, its customers that the loaded rows lack.
	over  *overlay
	added map[string]int
}

// Row is one customer's features. Num aliases the table's storage:
// read-only.
type Row struct {
	AsOf   time.Time
	Status string
	Num    []float32 // by Table.NumNames; NaN = NULL
	cat    []uint32
	t      *Table
}

// Cat returns the categorical attribute j (by Table.CatNames).
func (r Row) Cat(j int) string { return r.t.dict[j][r.cat[j]] }

// Len returns the number of customers.
func (t *Table) Len() int {
	n := len(t.asOf)
	for _, k := range t.added {
		n += k
	}
	return n
}

// id returns the customer id of row i (a view of the table's buffer).
func (t *Table) id(i int) string { return t.ids.at(i) }

func (t *Table) hash(tenant uint32, customer string) uint64 {
	return maphash.String(t.seed, customer) ^ (uint64(tenant)+1)*0x9E3779B97F4A7C15
}

// Lookup returns a tenant's customer.
func (t *Table) Lookup(tenant, customer string) (Row, bool) {
	if t.over != nil {
		if r, ok := t.over.lookup(tenant, customer); ok {
			return r, true
		}
	}
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
	if t.over != nil {
		base := *t
		base.over, base.added = nil, nil
		eachMerged(&base, t.over.sorted(tenant), tenant, fn)
		return
	}
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
		return t.Len()
	}
	n := t.added[tenant]
	if code, ok := t.tenantCode[tenant]; ok {
		n += t.perTenant[code]
	}
	return n
}

// Tenants returns the tenants in the table, sorted.
func (t *Table) Tenants() []string {
	out := slices.Clone(t.tenantNames)
	for tn := range t.added {
		if _, ok := t.tenantCode[tn]; !ok {
			out = append(out, tn)
		}
	}
	sort.Strings(out)
	return out
}

// Overlaid returns the number of customers refreshed since the table was
// loaded (With), held beside its loaded rows.
func (t *Table) Overlaid() int {
	if t.over == nil {
		return 0
	}
	return t.over.n
}

// compactShare is the share of the loaded rows past which With folds the
// refreshed customers into one new table: the overlay costs a second hash
// lookup per request, a fold copies the whole table.
const compactShare = 8

// With returns a table that holds delta's customers in place of (or
// beside) t's: the incremental refresh of the customers that events
// touched. t is unchanged and keeps serving the requests that hold it.
// delta must have t's columns. The result keeps t's Version and LoadedAt;
// its MaxAsOf covers delta's. Refreshed customers are held beside the
// loaded rows in an overlay whose shards With copies only where delta
// falls (see overlay); once they reach 1/compactShare of the loaded rows,
// everything is folded into one table.
func (t *Table) With(delta *Table) (*Table, error) {
	if !slices.Equal(t.NumNames, delta.NumNames) || !slices.Equal(t.CatNames, delta.CatNames) {
		return nil, errors.New("online features: the refreshed rows have other columns than the table in memory (reload it)")
	}
	base := *t
	base.over, base.added = nil, nil
	over, added, err := t.over.with(delta, &base)
	if err != nil {
		return nil, err
	}
	if over.n*compactShare > len(base.asOf) {
		nt, err := merged(&base, over.sorted(""))
		if err != nil {
			return nil, err
		}
		nt.LoadedAt, nt.Version = t.LoadedAt, t.Version
		return nt, nil
	}
	nt := base
	nt.over, nt.added = over, maps.Clone(t.added)
	if nt.added == nil {
		nt.added = map[string]int{}
	}
	for tn, k := range added {
		nt.added[tn] += k
	}
	nt.MaxAsOf = maxTime(t.MaxAsOf, delta.MaxAsOf)
	return &nt, nil
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// rowRef is row i of table t.
type rowRef struct {
	t *Table
	i int
}

func (r rowRef) tenant() string { return r.t.tenantNames[r.t.tenant[r.i]] }

func cmpRefs(a, b rowRef) int {
	if c := strings.Compare(a.tenant(), b.tenant()); c != 0 {
		return c
	}
	return strings.Compare(a.t.id(a.i), b.t.id(b.i))
}

// eachMerged calls fn for the customers of a and b of tenant ("" = all)
// in tenant and customer order, b's row where both have the customer,
// until fn returns false. a may not have an overlay; b is ordered by
// tenant and customer, one row per customer.
func eachMerged(a *Table, b []rowRef, tenant string, fn func(tenant, customer string, r Row) bool) {
	code, ok := a.tenantCode[tenant]
	if tenant != "" && !ok {
		code = math.MaxUint32 // a has none of tenant's customers
	}
	ia, ib := 0, 0
	nextA := func() {
		for ia < len(a.tenant) && tenant != "" && a.tenant[ia] != code {
			ia++
		}
	}
	nextB := func() {
		for ib < len(b) && tenant != "" && b[ib].tenant() != tenant {
			ib++
		}
	}
	nextA()
	nextB()
	for ia < len(a.tenant) || ib < len(b) {
		var r rowRef
		switch {
		case ib == len(b):
			r, ia = rowRef{a, ia}, ia+1
		case ia == len(a.tenant):
			r, ib = b[ib], ib+1
		default:
			switch c := cmpRefs(rowRef{a, ia}, b[ib]); {
			case c < 0:
				r, ia = rowRef{a, ia}, ia+1
			case c == 0: // b's row replaces a's
				r, ia, ib = b[ib], ia+1, ib+1
			default:
				r, ib = b[ib], ib+1
			}
		}
		if !fn(r.tenant(), r.t.id(r.i), r.t.row(r.i)) {
			return
		}
		nextA()
		nextB()
	}
}

// merged returns one table of a's and b's customers, b's row where both
// have the customer (as eachMerged).
func merged(a *Table, b []rowRef) (*Table, error) {
	return tableOf(a.NumNames, a.CatNames, len(a.tenant)+len(b), func(fn func(tenant, customer string, r Row) bool) {
		eachMerged(a, b, "", fn)
	})
}

// tableOf returns a table of the n customers each yields, in its order
// (by tenant and customer). Version and added are left empty.
func tableOf(numNames, catNames []string, n int, each func(fn func(tenant, customer string, r Row) bool)) (*Table, error) {
	t := &Table{NumNames: numNames, CatNames: catNames, LoadedAt: time.Now().UTC(), tenantCode: map[string]uint32{}, seed: maphash.MakeSeed()}
	t.dict = make([][]string, len(t.CatNames))
	codes := make([]map[string]uint32, len(t.CatNames))
	for j := range codes {
		codes[j] = map[string]uint32{}
	}
	t.tenant, t.ids.end, t.asOf, t.behind = make([]uint32, 0, n), make([]uint32, 0, n), make([]int32, 0, n), make([]bool, 0, n)
	t.num, t.cat = make([]float32, 0, n*len(t.NumNames)), make([]uint32, 0, n*len(t.CatNames))
	var (
		err     error
		maxAsOf int32
	)
	each(func(tenant, customer string, r Row) bool {
		a := int32(r.AsOf.Unix() / 86400)
		maxAsOf = max(maxAsOf, a)
		err = t.appendRow(codes, tenant, customer, a, r.Status == "behind", r.Num, r.Cat)
		return err == nil
	})
	if err != nil {
		return nil, err
	}
	if maxAsOf > 0 {
		t.MaxAsOf = day(maxAsOf)
	}
	if err := t.buildIndex(); err != nil {
		return nil, err
	}
	return t, nil
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

// Probe returns the current Version of the online features: the newest
// full refresh recorded in features.RefreshLog. A full refresh changes it;
// the refresh of given customers does not (the server that made it holds
// their rows already).
func Probe(ctx context.Context, eng warehouse.Engine) (Version, error) {
	rr, err := eng.Query(ctx, `SELECT toUInt64(count()) AS n, toUInt64(max(refreshed_at)) AS r FROM `+features.RefreshLog, nil)
	if err != nil {
		return Version{}, fmt.Errorf("probe online features: %w", err)
	}
	defer rr.Release()
	var v Version
	if err := warehouse.ScanOne(rr, &v.Rows, &v.Refreshed); err != nil {
		return Version{}, fmt.Errorf("probe online features: %w", err)
	}
	return v, nil
}

// LastRefresh returns when the newest full refresh recorded in
// features.RefreshLog ran (the zero time when none did).
func LastRefresh(ctx context.Context, eng warehouse.Engine) (time.Time, error) {
	v, err := Probe(ctx, eng)
	if err != nil || v.Rows == 0 {
		return time.Time{}, err
	}
	return time.Unix(int64(v.Refreshed), 0).UTC(), nil
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
// ordered by tenant and customer_id: the columns tenant, customer_id, as_of
// and status, then signals (numeric columns) and attributes (strings).
func FromRecords(rr array.RecordReader) (*Table, error) {
	t := &Table{LoadedAt: time.Now().UTC(), tenantCode: map[string]uint32{}, seed: maphash.MakeSeed()}
	b, dest, err := t.columns(rr.Schema())
	if err != nil {
		return nil, err
	}
	if err := warehouse.Scan(rr, b.add, dest...); err != nil {
		return nil, fmt.Errorf("online features: %w", err)
	}
	if b.maxAsOf > 0 {
		t.MaxAsOf = day(b.maxAsOf)
	}
	if err := t.buildIndex(); err != nil {
		return nil, err
	}
	return t, nil
}

// builder is the row FromRecords scans into and what it adds it to.
type builder struct {
	t                  *Table
	tenant, id, status warehouse.RawString
	asOf               time.Time
	num                []float32
	cat                []warehouse.RawString
	codes              []map[string]uint32 // per categorical column: value -> code
	maxAsOf            int32
}

// columns names the signal and attribute columns of sch and returns the
// Scan destinations of its columns.
func (t *Table) columns(sch *arrow.Schema) (*builder, []any, error) {
	b := &builder{t: t}
	dest := make([]any, sch.NumFields())
	var numAt, catAt []int
	for i, f := range sch.Fields() {
		switch {
		case meta[f.Name]:
		case f.Type.ID() == arrow.STRING:
			t.CatNames = append(t.CatNames, f.Name)
			catAt = append(catAt, i)
		case arrow.IsInteger(f.Type.ID()) || arrow.IsFloating(f.Type.ID()):
			t.NumNames = append(t.NumNames, f.Name)
			numAt = append(numAt, i)
		}
	}
	b.num, b.cat = make([]float32, len(numAt)), make([]warehouse.RawString, len(catAt))
	for j, i := range numAt {
		dest[i] = &b.num[j]
	}
	for j, i := range catAt {
		dest[i] = &b.cat[j]
	}
	for _, m := range []struct {
		name string
		dest any
	}{{"tenant", &b.tenant}, {"customer_id", &b.id}, {"as_of", &b.asOf}, {"status", &b.status}} {
		i := slices.IndexFunc(sch.Fields(), func(f arrow.Field) bool { return f.Name == m.name })
		if i < 0 {
			return nil, nil, fmt.Errorf("online features: column %q missing", m.name)
		}
		dest[i] = m.dest
	}
	t.dict = make([][]string, len(catAt))
	b.codes = make([]map[string]uint32, len(catAt))
	for j := range b.codes {
		b.codes[j] = map[string]uint32{}
	}
	return b, dest, nil
}

// add appends the scanned row to the table.
func (b *builder) add() error {
	a := int32(b.asOf.Unix() / 86400)
	b.maxAsOf = max(b.maxAsOf, a)
	return b.t.appendRow(b.codes, string(b.tenant), string(b.id), a, b.status == "behind", b.num, b.catAt)
}

func (b *builder) catAt(j int) string { return string(b.cat[j]) }

// appendRow appends one customer (its strings may alias a record: they
// are copied); codes maps each categorical column's values to their codes.
func (t *Table) appendRow(codes []map[string]uint32, tenant, id string, asOf int32, behind bool, num []float32, cat func(j int) string) error {
	code, ok := t.tenantCode[tenant]
	if !ok {
		if len(t.tenantNames) > math.MaxUint32 {
			return fmt.Errorf("more than %d tenants", math.MaxUint32+1)
		}
		code = uint32(len(t.tenantNames))
		name := strings.Clone(tenant)
		t.tenantCode[name] = code
		t.tenantNames = append(t.tenantNames, name)
		t.perTenant = append(t.perTenant, 0)
	}
	t.perTenant[code]++
	t.tenant = append(t.tenant, code)
	if err := t.ids.add(id); err != nil {
		return err
	}
	t.asOf = append(t.asOf, asOf)
	t.behind = append(t.behind, behind)
	t.num = append(t.num, num...)
	for j := range codes {
		v := cat(j)
		code, ok := codes[j][v]
		if !ok {
			if len(t.dict[j]) > math.MaxUint32 {
				return fmt.Errorf("column %s has more than %d distinct values", t.CatNames[j], math.MaxUint32+1)
			}
			s := strings.Clone(v)
			code = uint32(len(t.dict[j]))
			codes[j][s] = code
			t.dict[j] = append(t.dict[j], s)
		}
		t.cat = append(t.cat, code)
	}
	return nil
}

// buildIndex builds the hash index of the customers.
func (t *Table) buildIndex() error {
	size := 1
	for size < 2*len(t.tenant) {
		size <<= 1
	}
	t.index = make([]uint32, size)
	for i := range t.tenant {
		if !t.add(i) {
			return fmt.Errorf("online features: customer %q of tenant %q twice (read features_latest with FINAL)", t.id(i), t.tenantNames[t.tenant[i]])
		}
	}
	return nil
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
