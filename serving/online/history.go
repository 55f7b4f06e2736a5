package online

import (
	"errors"
	"hash/maphash"
	"math"
	"slices"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/duewise/duewise/features"
)

// Histories holds every customer's raw history (the eight contract
// tables) in memory, so that the refresh of the customers that events
// touched computes their online features in Go (features.ComputeLive)
// instead of reading their rows from the warehouse: ClickHouse spends 2-4
// ms of CPU per customer reading one customer's rows from eight tables by
// primary key (docs/warehouse.md), Go reads them from here without a
// query (the cost per customer at 1M is not measured yet:
// docs/benchmarks.md, "Events to scores").
//
// The loaded rows (Load: the raw tables FINAL, ordered by tenant and
// customer_id) are compact and hold no pointers, as Table's, so that the
// garbage collector never scans them: ids are 64-bit hashes (unique
// within a customer: a row's identity is (tenant, customer_id, id)),
// dates int32 days, timestamps int64 seconds, amounts int64 cents, enums
// and text codes into dictionaries; each table's rows are grouped by
// customer with offsets. Only the columns features.Compute reads are kept
// (a new signal on another column adds it here; TestHistoriesMatchRefresh
// fails until then). The rows stored since the load (Apply, the loader's
// Inserted hook) form a small overlay that replaces loaded rows of the
// same id, as ReplacingMergeTree does.
//
// Rows stored in the warehouse by another process (an ingest that does
// not go through this server) do not reach the overlay; the next Load
// holds them. Safe for concurrent use.
type Histories struct {
	seed maphash.Seed

	mu     sync.Mutex
	base   *histBase // nil before the first load
	broken error     // an Apply failed: stale until the next load
	seq    uint64    // Apply calls so far
	over   map[custKey]*overCust

	dictMu sync.Mutex // after mu
	dict   dictionary
	loadMu sync.Mutex // one Load at a time
}

// NewHistories returns an empty store (Loaded reports false until Load).
func NewHistories() *Histories {
	return &Histories{seed: maphash.MakeSeed(), over: map[custKey]*overCust{}, dict: dictionary{codes: map[string]uint32{}}}
}

type custKey struct{ tenant, customer string }

// dictionary codes the text values of every coded column (enums, SEPA
// reasons, segments, postcode areas): a few thousand values.
type dictionary struct {
	codes  map[string]uint32
	values []string
}

// values returns the dictionary's values so far (append-only: the
// slice stays valid).
func (h *Histories) values() []string {
	h.dictMu.Lock()
	defer h.dictMu.Unlock()
	return h.dict.values
}

// coder codes text values, with a cache of its own in front of the
// store's dictionary. Not safe for concurrent use.
type coder struct {
	h     *Histories
	local map[string]uint32
}

func (c *coder) code(v string) uint32 {
	if k, ok := c.local[v]; ok {
		return k
	}
	v = string([]byte(v)) // may alias a record
	d := &c.h.dict
	c.h.dictMu.Lock()
	k, ok := d.codes[v]
	if !ok {
		k = uint32(len(d.values))
		d.codes[v] = k
		d.values = append(d.values, v)
	}
	c.h.dictMu.Unlock()
	c.local[v] = k
	return k
}

// noTime marks a NULL timestamp.
const noTime = math.MinInt64

// The rows of each table, as features.Compute reads them.
type (
	custRow struct {
		created                                             int32
		hasCredit                                           bool
		typ, segment, channel, payMethod, country, postcode uint32
		monthly, credit                                     int64
	}
	invRow struct {
		id          uint64
		issued, due int32
		amount      int64
	}
	payRow struct {
		id, invoice uint64
		at, amount  int64
		method      uint32
	}
	ddRow struct {
		id             uint64
		at             int64
		status, reason uint32
	}
	remRow struct {
		id, invoice uint64
		at          int64
		stage       uint32
	}
	arrRow struct {
		id        uint64
		at, ended int64
		status    uint32
	}
	dispRow struct {
		id           uint64
		at, resolved int64
	}
	evRow struct {
		id        uint64
		at        int64
		kind      uint32
		departure bool
	}
)

// rows are one table's loaded rows grouped by customer: customer i's are
// rows[off[i]:off[i+1]].
type rows[R any] struct {
	off  []uint32
	rows []R
}

func (r *rows[R]) of(i int) []R { return r.rows[r.off[i]:r.off[i+1]] }

// histBase is one load. Immutable.
type histBase struct {
	tenants     []string // sorted
	tenantFirst []uint32 // tenant j's customers are tenantFirst[j]:tenantFirst[j+1]
	ids         ids      // customer i's id
	cust        []custRow
	inv         rows[invRow]
	pay         rows[payRow]
	dd          rows[ddRow]
	rem         rows[remRow]
	arr         rows[arrRow]
	disp        rows[dispRow]
	ev          rows[evRow]
	seq         uint64 // Apply calls before the load began: in it
	loadedAt    time.Time
	orphans     int64 // rows of customers not in customers, left out
}

func (b *histBase) id(i int) string { return b.ids.at(i) }

// find returns the index of tenant's customer (ordered by tenant, id).
func (b *histBase) find(tenant, customer string) (int, bool) {
	j, ok := slices.BinarySearch(b.tenants, tenant)
	if !ok {
		return 0, false
	}
	lo, hi := int(b.tenantFirst[j]), int(b.tenantFirst[j+1])
	i := lo + sort.Search(hi-lo, func(k int) bool { return b.id(lo+k) >= customer })
	return i, i < hi && b.id(i) == customer
}

// overCust is one customer's rows applied since the load, by id hash.
type overCust struct {
	cust    *custRow
	custSeq uint64
	inv     map[uint64]ov[invRow]
	pay     map[uint64]ov[payRow]
	dd      map[uint64]ov[ddRow]
	rem     map[uint64]ov[remRow]
	arr     map[uint64]ov[arrRow]
	disp    map[uint64]ov[dispRow]
	ev      map[uint64]ov[evRow]
}

type ov[R any] struct {
	seq uint64
	row R
}

func put[R any](m *map[uint64]ov[R], id, seq uint64, r R) {
	if *m == nil {
		*m = map[uint64]ov[R]{}
	}
	(*m)[id] = ov[R]{seq, r}
}

// prune drops the rows applied at or before seq (a load holds them) and
// reports whether any row is left.
func (o *overCust) prune(seq uint64) bool {
	if o.cust != nil && o.custSeq <= seq {
		o.cust = nil
	}
	n := pruneMap(o.inv, seq) + pruneMap(o.pay, seq) + pruneMap(o.dd, seq) + pruneMap(o.rem, seq) +
		pruneMap(o.arr, seq) + pruneMap(o.disp, seq) + pruneMap(o.ev, seq)
	return o.cust != nil || n > 0
}

func pruneMap[R any](m map[uint64]ov[R], seq uint64) int {
	for k, v := range m {
		if v.seq <= seq {
			delete(m, k)
		}
	}
	return len(m)
}

// ErrHistoriesNotLoaded is returned by History before the first Load (or
// after an Apply failed, until the next Load).
var ErrHistoriesNotLoaded = errors.New("online: histories not loaded")

// Loaded reports whether the store answers History (loaded, and no Apply
// failed since).
func (h *Histories) Loaded() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.base != nil && h.broken == nil
}

// History returns tenant's customer's history as the warehouse holds it
// (the loaded rows with the rows applied since), with ids replaced by
// their hashes (unique within the customer) and only the columns
// features.Compute reads; false when the customer is unknown.
// ErrHistoriesNotLoaded before the first load.
func (h *Histories) History(tenant, customer string) (*features.History, bool, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.base == nil || h.broken != nil {
		return nil, false, errors.Join(ErrHistoriesNotLoaded, h.broken)
	}
	b := h.base
	i, inBase := b.find(tenant, customer)
	o := h.over[custKey{tenant, customer}]
	var c custRow
	switch {
	case o != nil && o.cust != nil:
		c = *o.cust
	case inBase:
		c = b.cust[i]
	default:
		return nil, false, nil
	}
	m := materializer{d: h.values(), tenant: tenant, customer: customer}
	out := &features.History{Customer: m.cust(c)}
	var ob overCust
	if o != nil {
		ob = *o
	}
	out.Invoices = merge(&b.inv, i, inBase, ob.inv, m.invoice)
	out.Payments = merge(&b.pay, i, inBase, ob.pay, m.payment)
	out.DirectDebits = merge(&b.dd, i, inBase, ob.dd, m.debit)
	out.Reminders = merge(&b.rem, i, inBase, ob.rem, m.reminder)
	out.Arrangements = merge(&b.arr, i, inBase, ob.arr, m.arrangement)
	out.Disputes = merge(&b.disp, i, inBase, ob.disp, m.dispute)
	out.Events = merge(&b.ev, i, inBase, ob.ev, m.event)
	return out, true, nil
}

// keyed are the row types: each has an id.
type keyed interface {
	invRow | payRow | ddRow | remRow | arrRow | dispRow | evRow
}

func rowID[R keyed](r R) uint64 {
	switch x := any(r).(type) {
	case invRow:
		return x.id
	case payRow:
		return x.id
	case ddRow:
		return x.id
	case remRow:
		return x.id
	case arrRow:
		return x.id
	case dispRow:
		return x.id
	case evRow:
		return x.id
	}
	return 0
}

// merge returns customer i's loaded rows of one table (when inBase)
// without those the overlay replaces, then the overlay's, as contract
// rows.
func merge[R keyed, T any](t *rows[R], i int, inBase bool, over map[uint64]ov[R], conv func(R) T) []T {
	var out []T
	if inBase {
		for _, r := range t.of(i) {
			if _, ok := over[rowID(r)]; !ok {
				out = append(out, conv(r))
			}
		}
	}
	ids := make([]uint64, 0, len(over))
	for id := range over {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		out = append(out, conv(over[id].row))
	}
	return out
}

// materializer turns stored rows into contract rows.
type materializer struct {
	d                []string
	tenant, customer string
}

func hexID(id uint64) string { return strconv.FormatUint(id, 16) }

func ts(s int64) time.Time { return time.Unix(s, 0).UTC() }

func optTS(s int64) *time.Time {
	if s == noTime {
		return nil
	}
	t := ts(s)
	return &t
}

func (m materializer) cust(c custRow) features.Customer {
	out := features.Customer{Tenant: m.tenant, CustomerID: m.customer, CreatedAt: features.Date{Time: day(c.created)},
		CustomerType: m.d[c.typ], Segment: m.d[c.segment], Channel: m.d[c.channel], PaymentMethod: m.d[c.payMethod],
		Country: m.d[c.country], PostcodeArea: m.d[c.postcode], MonthlyAmount: features.Amount(c.monthly)}
	if c.hasCredit {
		a := features.Amount(c.credit)
		out.CreditLimit = &a
	}
	return out
}

func (m materializer) invoice(r invRow) features.Invoice {
	return features.Invoice{Tenant: m.tenant, CustomerID: m.customer, InvoiceID: hexID(r.id),
		IssuedAt: features.Date{Time: day(r.issued)}, DueAt: features.Date{Time: day(r.due)}, Amount: features.Amount(r.amount)}
}

func (m materializer) payment(r payRow) features.Payment {
	return features.Payment{Tenant: m.tenant, CustomerID: m.customer, PaymentID: hexID(r.id), InvoiceID: hexID(r.invoice),
		PaidAt: ts(r.at), Amount: features.Amount(r.amount), Method: m.d[r.method]}
}

func (m materializer) debit(r ddRow) features.DirectDebit {
	return features.DirectDebit{Tenant: m.tenant, CustomerID: m.customer, AttemptID: hexID(r.id), AttemptedAt: ts(r.at),
		Status: m.d[r.status], Reason: m.d[r.reason]}
}

func (m materializer) reminder(r remRow) features.Reminder {
	return features.Reminder{Tenant: m.tenant, CustomerID: m.customer, ReminderID: hexID(r.id), InvoiceID: hexID(r.invoice),
		SentAt: ts(r.at), Stage: m.d[r.stage]}
}

func (m materializer) arrangement(r arrRow) features.Arrangement {
	return features.Arrangement{Tenant: m.tenant, CustomerID: m.customer, ArrangementID: hexID(r.id), AgreedAt: ts(r.at),
		Status: m.d[r.status], EndedAt: optTS(r.ended)}
}

func (m materializer) dispute(r dispRow) features.Dispute {
	return features.Dispute{Tenant: m.tenant, CustomerID: m.customer, DisputeID: hexID(r.id), OpenedAt: ts(r.at), ResolvedAt: optTS(r.resolved)}
}

func (m materializer) event(r evRow) features.CustomerEvent {
	e := features.CustomerEvent{Tenant: m.tenant, CustomerID: m.customer, EventID: hexID(r.id), OccurredAt: ts(r.at), Kind: m.d[r.kind]}
	if r.departure {
		e.Detail = features.DepartureDetail
	}
	return e
}
