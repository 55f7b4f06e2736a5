package online

import (
	"context"
	"fmt"
	"hash/maphash"
	"math"
	"slices"
	"strings"
	"time"
	"unsafe"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"

	"github.com/duewise/duewise/features"
	"github.com/duewise/duewise/warehouse"
)

// recCols reads the columns of one record by name, converting the types
// either backend returns (and the loader inserts) into the store's: days,
// seconds, cents, text.
type recCols map[string]arrow.Array

func newRecCols(rec arrow.Record) recCols {
	c := make(recCols, rec.NumCols())
	for i, f := range rec.Schema().Fields() {
		c[f.Name] = rec.Column(i)
	}
	return c
}

func (c recCols) col(name string) (arrow.Array, error) {
	a, ok := c[name]
	if !ok {
		return nil, fmt.Errorf("column %s missing", name)
	}
	return a, nil
}

// str returns a reader of a text column (the values alias the record).
func (c recCols) str(name string) (func(int) string, error) {
	a, err := c.col(name)
	if err != nil {
		return nil, err
	}
	switch x := a.(type) {
	case *array.String:
		return x.Value, nil
	case *array.LargeString:
		return x.Value, nil
	case *array.Binary:
		return func(i int) string { b := x.Value(i); return unsafe.String(unsafe.SliceData(b), len(b)) }, nil
	}
	return nil, fmt.Errorf("column %s: %s is not text", name, a.DataType())
}

// unit is what a numeric column holds.
type unit int

const (
	days unit = iota
	seconds
	cents
)

// num returns a reader of a date (days), timestamp (seconds) or amount
// (cents) column; a NULL reads as noTime.
func (c recCols) num(name string, u unit) (func(int) int64, error) {
	a, err := c.col(name)
	if err != nil {
		return nil, err
	}
	var f func(int) int64
	switch x := a.(type) {
	case *array.Date32:
		f = func(i int) int64 { return int64(x.Value(i)) }
		if u == seconds {
			f = func(i int) int64 { return int64(x.Value(i)) * 86400 }
		}
	case *array.Uint16: // a Date as ClickHouse writes it
		f = func(i int) int64 { return int64(x.Value(i)) }
	case *array.Uint32: // a DateTime as ClickHouse writes it
		f = func(i int) int64 { return int64(x.Value(i)) }
		if u == days {
			f = func(i int) int64 { return int64(x.Value(i)) / 86400 }
		}
	case *array.Timestamp:
		tu := x.DataType().(*arrow.TimestampType).Unit
		div := int64(tu.Multiplier() / time.Second)
		if tu.Multiplier() < time.Second {
			div = int64(time.Second / tu.Multiplier())
		}
		f = func(i int) int64 { return floorDiv(int64(x.Value(i)), div) }
		if u == days {
			f = func(i int) int64 { return floorDiv(int64(x.Value(i)), div*86400) }
		}
	case *array.Int64:
		f = func(i int) int64 { return x.Value(i) }
	case *array.Int32:
		f = func(i int) int64 { return int64(x.Value(i)) }
	case *array.Decimal128:
		scale := x.DataType().(*arrow.Decimal128Type).Scale
		if u != cents || scale > 2 {
			return nil, fmt.Errorf("column %s: %s is not an amount in cents", name, a.DataType())
		}
		mul := int64(math.Pow10(int(2 - scale)))
		f = func(i int) int64 { return int64(x.Value(i).LowBits()) * mul }
		if scale == 2 {
			f = func(i int) int64 { return int64(x.Value(i).LowBits()) }
		}
	default:
		return nil, fmt.Errorf("column %s: cannot read %s", name, a.DataType())
	}
	if a.NullN() == 0 {
		return f, nil
	}
	return func(i int) int64 {
		if a.IsNull(i) {
			return noTime
		}
		return f(i)
	}, nil
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// reader reads row i of one table from a record.
type reader[R any] func(i int) R

// readers reads the columns of one record; the first error sticks.
type readers struct {
	c   recCols
	cd  *coder
	err error
}

func (r *readers) str(name string) func(int) string {
	f, err := r.c.str(name)
	if err != nil {
		r.err = cmpErr(r.err, err)
		return nil
	}
	return f
}

func (r *readers) num(name string, u unit) func(int) int64 {
	f, err := r.c.num(name, u)
	if err != nil {
		r.err = cmpErr(r.err, err)
		return nil
	}
	return f
}

func (r *readers) hashed(name string) func(int) uint64 {
	f := r.str(name)
	seed := r.cd.h.seed
	return func(i int) uint64 { return maphash.String(seed, f(i)) }
}

func (r *readers) coded(name string) func(int) uint32 {
	f := r.str(name)
	return func(i int) uint32 { return r.cd.code(f(i)) }
}

func cmpErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// The readers of each table's rows.

func readCustomers(r *readers) reader[custRow] {
	created, monthly, credit := r.num("created_at", days), r.num("monthly_amount", cents), r.num("credit_limit", cents)
	typ, seg, ch, pm, ctry, pc := r.coded("customer_type"), r.coded("segment"), r.coded("channel"), r.coded("payment_method"), r.coded("country"), r.coded("postcode_area")
	return func(i int) custRow {
		c := custRow{created: int32(created(i)), typ: typ(i), segment: seg(i), channel: ch(i), payMethod: pm(i), country: ctry(i), postcode: pc(i), monthly: monthly(i)}
		if v := credit(i); v != noTime {
			c.hasCredit, c.credit = true, v
		}
		return c
	}
}

func readInvoices(r *readers) reader[invRow] {
	id, issued, due, amount := r.hashed("invoice_id"), r.num("issued_at", days), r.num("due_at", days), r.num("amount", cents)
	return func(i int) invRow {
		return invRow{id: id(i), issued: int32(issued(i)), due: int32(due(i)), amount: amount(i)}
	}
}

func readPayments(r *readers) reader[payRow] {
	id, inv, at, amount, method := r.hashed("payment_id"), r.hashed("invoice_id"), r.num("paid_at", seconds), r.num("amount", cents), r.coded("method")
	return func(i int) payRow {
		return payRow{id: id(i), invoice: inv(i), at: at(i), amount: amount(i), method: method(i)}
	}
}

func readDebits(r *readers) reader[ddRow] {
	id, at, status, reason := r.hashed("attempt_id"), r.num("attempted_at", seconds), r.coded("status"), r.coded("reason")
	return func(i int) ddRow { return ddRow{id: id(i), at: at(i), status: status(i), reason: reason(i)} }
}

func readReminders(r *readers) reader[remRow] {
	id, inv, at, stage := r.hashed("reminder_id"), r.hashed("invoice_id"), r.num("sent_at", seconds), r.coded("stage")
	return func(i int) remRow { return remRow{id: id(i), invoice: inv(i), at: at(i), stage: stage(i)} }
}

func readArrangements(r *readers) reader[arrRow] {
	id, at, ended, status := r.hashed("arrangement_id"), r.num("agreed_at", seconds), r.num("ended_at", seconds), r.coded("status")
	return func(i int) arrRow { return arrRow{id: id(i), at: at(i), ended: ended(i), status: status(i)} }
}

func readDisputes(r *readers) reader[dispRow] {
	id, at, resolved := r.hashed("dispute_id"), r.num("opened_at", seconds), r.num("resolved_at", seconds)
	return func(i int) dispRow { return dispRow{id: id(i), at: at(i), resolved: resolved(i)} }
}

func readEvents(r *readers) reader[evRow] {
	id, at, kind, detail := r.hashed("event_id"), r.num("occurred_at", seconds), r.str("kind"), r.str("detail")
	return func(i int) evRow {
		k, d := kind(i), detail(i)
		return evRow{id: id(i), at: at(i), kind: r.cd.code(k), departure: features.IsDeparture(k, d)}
	}
}

// histTable is one child table of the store: how its rows are read,
// where they are held, and the columns Load reads.
type histTable struct {
	name    string
	columns string
	apply   func(r *readers, rows int, over func(i int) *overCust, seq uint64) error
	group   func() grouper // a grouper for a load
}

// grouper collects one table's rows during a load and groups them by
// customer at the end.
type grouper interface {
	add(r *readers, rows int, at func(i int) int, b *histBase) error
	finish(b *histBase)
}

type groupRows[R keyed] struct {
	read func(*readers) reader[R]
	base func(*histBase) *rows[R]
	cust []uint32
	rows []R
}

func (g *groupRows[R]) add(r *readers, n int, at func(int) int, b *histBase) error {
	rd := g.read(r)
	if r.err != nil {
		return r.err
	}
	for i := range n {
		c := at(i)
		if c < 0 {
			b.orphans++
			continue
		}
		g.cust = append(g.cust, uint32(c))
		g.rows = append(g.rows, rd(i))
	}
	return nil
}

// finish sorts the rows by customer (a counting sort) into b.
func (g *groupRows[R]) finish(b *histBase) {
	off := make([]uint32, len(b.cust)+1)
	for _, c := range g.cust {
		off[c+1]++
	}
	for i := 1; i < len(off); i++ {
		off[i] += off[i-1]
	}
	pos := slices.Clone(off[:len(b.cust)])
	dst := make([]R, len(g.rows))
	for k, c := range g.cust {
		dst[pos[c]] = g.rows[k]
		pos[c]++
	}
	*g.base(b) = rows[R]{off: off, rows: dst}
	g.cust, g.rows = nil, nil
}

func table[R keyed](name, columns string, read func(*readers) reader[R], over func(*overCust) *map[uint64]ov[R], base func(*histBase) *rows[R]) histTable {
	return histTable{name: name, columns: columns,
		apply: func(r *readers, n int, o func(int) *overCust, seq uint64) error {
			rd := read(r)
			if r.err != nil {
				return r.err
			}
			for i := range n {
				x := rd(i)
				put(over(o(i)), rowID(x), seq, x)
			}
			return nil
		},
		group: func() grouper { return &groupRows[R]{read: read, base: base} }}
}

// histTables are the child tables, in load order.
var histTables = []histTable{
	table("invoices", "invoice_id, issued_at, due_at, amount", readInvoices,
		func(o *overCust) *map[uint64]ov[invRow] { return &o.inv }, func(b *histBase) *rows[invRow] { return &b.inv }),
	table("payments", "payment_id, invoice_id, paid_at, amount, method", readPayments,
		func(o *overCust) *map[uint64]ov[payRow] { return &o.pay }, func(b *histBase) *rows[payRow] { return &b.pay }),
	table("direct_debits", "attempt_id, attempted_at, status, reason", readDebits,
		func(o *overCust) *map[uint64]ov[ddRow] { return &o.dd }, func(b *histBase) *rows[ddRow] { return &b.dd }),
	table("reminders", "reminder_id, invoice_id, sent_at, stage", readReminders,
		func(o *overCust) *map[uint64]ov[remRow] { return &o.rem }, func(b *histBase) *rows[remRow] { return &b.rem }),
	table("arrangements", "arrangement_id, agreed_at, ended_at, status", readArrangements,
		func(o *overCust) *map[uint64]ov[arrRow] { return &o.arr }, func(b *histBase) *rows[arrRow] { return &b.arr }),
	table("disputes", "dispute_id, opened_at, resolved_at", readDisputes,
		func(o *overCust) *map[uint64]ov[dispRow] { return &o.disp }, func(b *histBase) *rows[dispRow] { return &b.disp }),
	table("customer_events", "event_id, occurred_at, kind, detail", readEvents,
		func(o *overCust) *map[uint64]ov[evRow] { return &o.ev }, func(b *histBase) *rows[evRow] { return &b.ev }),
}

// customerColumns are the customers columns Load reads.
const customerColumns = "created_at, customer_type, segment, channel, payment_method, country, postcode_area, monthly_amount, credit_limit"

// Apply adds rows just stored in contract table (the loader's Inserted
// hook: rec has the table's contract columns), replacing the rows of the
// same (tenant, customer_id, id). A record Apply cannot read makes the
// store stale until the next Load (History then fails, and the caller
// falls back to the warehouse); its error is returned.
func (h *Histories) Apply(table string, rec arrow.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.seq++
	if err := h.apply(table, rec, h.seq); err != nil {
		h.broken = fmt.Errorf("online: apply %d rows of %s: %w", rec.NumRows(), table, err)
		return h.broken
	}
	return nil
}

func (h *Histories) apply(table string, rec arrow.Record, seq uint64) error {
	r := &readers{c: newRecCols(rec), cd: &coder{h: h, local: map[string]uint32{}}}
	tenant, customer := r.str("tenant"), r.str("customer_id")
	if r.err != nil {
		return r.err
	}
	over := func(i int) *overCust {
		k := custKey{tenant(i), customer(i)}
		o := h.over[k]
		if o == nil {
			k = custKey{strings.Clone(k.tenant), strings.Clone(k.customer)} // they alias rec
			o = &overCust{}
			h.over[k] = o
		}
		return o
	}
	n := int(rec.NumRows())
	if table == "customers" {
		rd := readCustomers(r)
		if r.err != nil {
			return r.err
		}
		for i := range n {
			c := rd(i)
			o := over(i)
			o.cust, o.custSeq = &c, seq
		}
		return nil
	}
	for _, t := range histTables {
		if t.name == table {
			return t.apply(r, n, over, seq)
		}
	}
	return nil // not a table the features read
}

// loadParts is how many statements Load reads each child table in (by a
// hash of customer_id): it bounds the memory of a result, which either
// backend hands over whole.
const loadParts = 8

// loadSettings ends every statement of Load: one reading thread. chDB 26.5
// stalls in multi-stream reads of the 1,000,000-customer store on the
// 2-core build machine when the cores are busy: every ClickHouse thread
// waits on a condition variable after "Reading approx. N rows with 2
// streams" and the query never ends (with or without FINAL, from Go or
// from a C program calling libchdb alone; docs/warehouse.md has the
// evidence). With max_threads = 1 no run stalled. The load loses nothing
// by it: chdb_query_n hands a result over whole, and the Go side groups
// the rows on one goroutine.
const loadSettings = " SETTINGS max_threads = 1"

// Load reads every customer's raw rows from the warehouse (FINAL) and
// swaps them in; the rows applied before it began are dropped from the
// overlay (the load holds them), the later ones stay. Requests are not
// blocked meanwhile. One Load at a time.
func (h *Histories) Load(ctx context.Context, eng warehouse.Engine) (HistoryStats, error) {
	h.loadMu.Lock()
	defer h.loadMu.Unlock()
	h.mu.Lock()
	seq := h.seq
	h.mu.Unlock()
	b, err := h.read(ctx, eng)
	if err != nil {
		return HistoryStats{}, err
	}
	b.seq, b.loadedAt = seq, time.Now().UTC()
	h.mu.Lock()
	h.base, h.broken = b, nil
	for k, o := range h.over {
		if !o.prune(seq) {
			delete(h.over, k)
		}
	}
	h.mu.Unlock()
	return h.Stats(), nil
}

// read loads the tables into a new histBase. The tables are read FINAL
// without ORDER BY and grouped by customer here: chDB 26.5 stalled on
// FINAL with ORDER BY of the sorting key over 1,000,000 customers (each
// alone took 6-7 s).
func (h *Histories) read(ctx context.Context, eng warehouse.Engine) (*histBase, error) {
	cd := &coder{h: h, local: map[string]uint32{}}
	var (
		tenants = map[string]uint32{}
		names   []string
		tcode   []uint32
		custIDs ids
		cust    []custRow
	)
	err := query(ctx, eng, "SELECT tenant, customer_id, "+customerColumns+" FROM customers FINAL"+loadSettings, nil,
		func(rec arrow.Record) error {
			r := &readers{c: newRecCols(rec), cd: cd}
			tenant, customer, rd := r.str("tenant"), r.str("customer_id"), readCustomers(r)
			if r.err != nil {
				return r.err
			}
			for i := range int(rec.NumRows()) {
				tn := tenant(i)
				code, ok := tenants[tn]
				if !ok {
					code = uint32(len(names))
					names = append(names, strings.Clone(tn))
					tenants[names[code]] = code
				}
				tcode = append(tcode, code)
				if err := custIDs.add(customer(i)); err != nil {
					return err
				}
				cust = append(cust, rd(i))
			}
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("online: load histories: customers: %w", err)
	}
	b := sortCustomers(names, tcode, &custIDs, cust)
	idx := newCustIndex(h.seed, b)
	for _, t := range histTables {
		if err := h.readTable(ctx, eng, b, idx, cd, t); err != nil {
			return nil, fmt.Errorf("online: load histories: %s: %w", t.name, err)
		}
	}
	return b, nil
}

// sortCustomers orders the customers read by tenant and id.
func sortCustomers(names []string, tcode []uint32, custIDs *ids, cust []custRow) *histBase {
	id := func(i uint32) string { return custIDs.at(int(i)) }
	perm := make([]uint32, len(cust))
	for i := range perm {
		perm[i] = uint32(i)
	}
	slices.SortFunc(perm, func(x, y uint32) int {
		if c := strings.Compare(names[tcode[x]], names[tcode[y]]); c != 0 {
			return c
		}
		return strings.Compare(id(x), id(y))
	})
	b := &histBase{cust: make([]custRow, 0, len(cust)), ids: ids{buf: make([]byte, 0, len(custIDs.buf)), end: make([]uint32, 0, len(custIDs.end))}}
	for _, i := range perm {
		if tn := names[tcode[i]]; len(b.tenants) == 0 || b.tenants[len(b.tenants)-1] != tn {
			b.tenants = append(b.tenants, tn)
			b.tenantFirst = append(b.tenantFirst, uint32(len(b.cust)))
		}
		b.ids.add(id(i)) // no larger than custIDs, which held them
		b.cust = append(b.cust, cust[i])
	}
	b.tenantFirst = append(b.tenantFirst, uint32(len(b.cust)))
	return b
}

// custIndex finds a customer of a histBase by tenant and id while it
// loads: an open-addressing hash index of customer+1 (0 = empty).
type custIndex struct {
	seed   maphash.Seed
	b      *histBase
	tenant []uint32 // customer -> tenant index
	slots  []uint32
}

func newCustIndex(seed maphash.Seed, b *histBase) *custIndex {
	x := &custIndex{seed: seed, b: b, tenant: make([]uint32, len(b.cust))}
	size := 1
	for size < 2*len(b.cust) {
		size <<= 1
	}
	x.slots = make([]uint32, size)
	mask := uint64(size - 1)
	for j := range b.tenants {
		for i := b.tenantFirst[j]; i < b.tenantFirst[j+1]; i++ {
			x.tenant[i] = uint32(j)
			for s := x.hash(uint32(j), b.id(int(i))) & mask; ; s = (s + 1) & mask {
				if x.slots[s] == 0 {
					x.slots[s] = i + 1
					break
				}
			}
		}
	}
	return x
}

func (x *custIndex) hash(tenant uint32, id string) uint64 {
	return maphash.String(x.seed, id) ^ (uint64(tenant)+1)*0x9E3779B97F4A7C15
}

// find returns the customer of tenant j and id, or -1.
func (x *custIndex) find(j int, id string) int {
	if j < 0 {
		return -1
	}
	mask := uint64(len(x.slots) - 1)
	for s := x.hash(uint32(j), id) & mask; ; s = (s + 1) & mask {
		c := x.slots[s]
		if c == 0 {
			return -1
		}
		if i := int(c - 1); x.tenant[i] == uint32(j) && x.b.id(i) == id {
			return i
		}
	}
}

// readTable reads one child table in loadParts statements and groups its
// rows by customer.
func (h *Histories) readTable(ctx context.Context, eng warehouse.Engine, b *histBase, idx *custIndex, cd *coder, t histTable) error {
	q := "SELECT tenant, customer_id, " + t.columns + " FROM " + t.name + " FINAL WHERE cityHash64(customer_id) % {parts:UInt32} = {part:UInt32}" + loadSettings
	g := t.group()
	for part := range loadParts {
		err := query(ctx, eng, q, warehouse.Params{"parts": uint32(loadParts), "part": uint32(part)}, func(rec arrow.Record) error {
			r := &readers{c: newRecCols(rec), cd: cd}
			tenant, customer := r.str("tenant"), r.str("customer_id")
			if r.err != nil {
				return r.err
			}
			lastTn, lastJ := "", -1
			at := func(i int) int {
				if tn := tenant(i); tn != lastTn || lastJ < 0 {
					k, ok := slices.BinarySearch(b.tenants, tn)
					lastTn, lastJ = tn, k
					if !ok {
						lastJ = -1
					}
				}
				return idx.find(lastJ, customer(i))
			}
			return g.add(r, int(rec.NumRows()), at, b)
		})
		if err != nil {
			return err
		}
	}
	g.finish(b)
	return nil
}

// query runs q and calls fn with each record.
func query(ctx context.Context, eng warehouse.Engine, q string, p warehouse.Params, fn func(arrow.Record) error) error {
	rr, err := eng.Query(ctx, q, p)
	if err != nil {
		return err
	}
	defer rr.Release()
	for rr.Next() {
		if err := fn(rr.Record()); err != nil {
			return err
		}
	}
	return rr.Err()
}

// HistoryStats describe the store. A plain value.
type HistoryStats struct {
	Customers int
	Rows      int64 // loaded rows
	Bytes     int64 // of the loaded rows, ids and offsets
	Overlaid  int   // customers with rows applied since the load
	Orphans   int64 // loaded rows of customers without a customers row, left out
	LoadedAt  time.Time
}

// Stats returns the store's size.
func (h *Histories) Stats() HistoryStats {
	h.mu.Lock()
	defer h.mu.Unlock()
	st := HistoryStats{Overlaid: len(h.over)}
	b := h.base
	if b == nil {
		return st
	}
	st.Customers, st.Orphans, st.LoadedAt = len(b.cust), b.orphans, b.loadedAt
	st.Bytes = b.ids.bytes() + int64(len(b.cust))*int64(unsafe.Sizeof(custRow{}))
	add := func(n int, size uintptr, offs int) {
		st.Rows += int64(n)
		st.Bytes += int64(n)*int64(size) + int64(offs)*4
	}
	add(len(b.inv.rows), unsafe.Sizeof(invRow{}), len(b.inv.off))
	add(len(b.pay.rows), unsafe.Sizeof(payRow{}), len(b.pay.off))
	add(len(b.dd.rows), unsafe.Sizeof(ddRow{}), len(b.dd.off))
	add(len(b.rem.rows), unsafe.Sizeof(remRow{}), len(b.rem.off))
	add(len(b.arr.rows), unsafe.Sizeof(arrRow{}), len(b.arr.off))
	add(len(b.disp.rows), unsafe.Sizeof(dispRow{}), len(b.disp.off))
	add(len(b.ev.rows), unsafe.Sizeof(evRow{}), len(b.ev.off))
	return st
}
