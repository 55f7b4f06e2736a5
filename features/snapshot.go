package features

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"

	"github.com/duewise/duewise/datasets"
	"github.com/duewise/duewise/warehouse"
)

// Snapshot levels.
const (
	LevelCustomer   = "customer"
	LevelInvoice    = "invoice"
	LevelOnboarding = "onboarding"
)

// DefaultThreshold is the number of days after its due date at which an
// unpaid invoice puts its customer behind.
const DefaultThreshold = 30

// SnapshotOptions select a training snapshot. A plain value.
type SnapshotOptions struct {
	// Tenant restricts the snapshot to one tenant; "" takes all.
	Tenant string
	// From and To bound the reference dates (UTC days, both included).
	// Customer level: From, From+Every, ... <= To. Invoice level: invoices
	// issued in [From, To]. Onboarding: customers created in [From, To].
	From, To time.Time
	// Every is the step of the customer-level grid: "1mo", "2w", "7d"
	// (months, weeks, days). Ignored by the other levels.
	Every string
	// Level is "customer" (default), "invoice" or "onboarding".
	Level string
	// Threshold is the days after due that count as behind (0 = 30).
	Threshold int
	// EndOfData is the last day the data covers; zero means the latest
	// event date in the data (of Tenant). Events after it are unknown:
	// labels are censored there.
	EndOfData time.Time
	// PartCustomers is about how many customers one statement computes
	// (0 = DefaultSnapshotPartCustomers): a snapshot of one tenant is
	// computed in parts by ranges of customer_id, one part at a time as
	// the reader is read, so that its rows keep their order, memory holds
	// one part, and Progress can tell how far it is.
	PartCustomers int
	// Progress, when set, is called as the reader moves past each part
	// with the customers done and the customers in all.
	Progress func(done, total int64)
}

// DefaultSnapshotPartCustomers is the default SnapshotOptions.PartCustomers,
// as for a refresh: every part pays the statement's fixed cost again (on
// 20,000 customers, 12 dates, two parts of 10,000 took 11.2 s against
// 8.0-9.1 s in one), so only large stores are split.
const DefaultSnapshotPartCustomers = DefaultPartCustomers

func (o *SnapshotOptions) normalize() error {
	if o.Level == "" {
		o.Level = LevelCustomer
	}
	if o.Threshold == 0 {
		o.Threshold = DefaultThreshold
	}
	switch o.Level {
	case LevelCustomer, LevelInvoice, LevelOnboarding:
	default:
		return fmt.Errorf("level %q: want customer, invoice or onboarding", o.Level)
	}
	if o.Threshold < 1 || o.Threshold > 3650 {
		return fmt.Errorf("threshold %d: want 1..3650 days", o.Threshold)
	}
	if o.From.IsZero() || o.To.IsZero() {
		return errors.New("from and to: both required")
	}
	o.From, o.To = day(o.From), day(o.To)
	if o.To.Before(o.From) {
		return fmt.Errorf("to %s: before from %s", o.To.Format(time.DateOnly), o.From.Format(time.DateOnly))
	}
	if o.Level == LevelCustomer {
		if _, err := Dates(o.From, o.To, o.Every); err != nil {
			return err
		}
	}
	return nil
}

// day truncates t to its UTC calendar day.
func day(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

var everyRe = regexp.MustCompile(`^([0-9]+)(mo|w|d)$`)

// maxDates bounds the reference dates of one snapshot.
const maxDates = 5000

// Dates returns the reference dates from, from+every, ... up to and
// including to (UTC days). every is "<n>mo" (calendar months, the day
// clamped to the month's end: Jan 31 + 1mo = Feb 28/29), "<n>w" or "<n>d".
func Dates(from, to time.Time, every string) ([]time.Time, error) {
	m := everyRe.FindStringSubmatch(every)
	if m == nil {
		return nil, fmt.Errorf("every %q: want a step like 1mo, 2w or 7d", every)
	}
	n, err := strconv.Atoi(m[1])
	if err != nil || n <= 0 {
		return nil, fmt.Errorf("every %q: step must be > 0", every)
	}
	from, to = day(from), day(to)
	var out []time.Time
	for i := 0; ; i++ {
		var d time.Time
		switch m[2] {
		case "mo":
			d = addMonths(from, i*n)
		case "w":
			d = from.AddDate(0, 0, 7*i*n)
		default:
			d = from.AddDate(0, 0, i*n)
		}
		if d.After(to) {
			break
		}
		if len(out) == maxDates {
			return nil, fmt.Errorf("every %q from %s to %s: more than %d dates", every, from.Format(time.DateOnly), to.Format(time.DateOnly), maxDates)
		}
		out = append(out, d)
	}
	return out, nil
}

// addMonths adds n calendar months, clamping the day to the month's end.
func addMonths(t time.Time, n int) time.Time {
	first := time.Date(t.Year(), t.Month()+time.Month(n), 1, 0, 0, 0, 0, time.UTC)
	last := first.AddDate(0, 1, -1).Day()
	return first.AddDate(0, 0, min(t.Day(), last)-1)
}

// EndOfData returns the latest event date in the raw tables of tenant (""
// = all tenants): created_at, issued_at, paid_at, attempted_at, sent_at,
// agreed_at/ended_at, opened_at/resolved_at, occurred_at; never due_at,
// which is scheduled. It is the zero time when there is no data.
func EndOfData(ctx context.Context, eng warehouse.Engine, tenant string) (time.Time, error) {
	rr, err := eng.Query(ctx, assemble("eod.sql", ""), warehouse.Params{"tenant": tenant})
	if err != nil {
		return time.Time{}, fmt.Errorf("query end of data: %w", err)
	}
	defer rr.Release()
	var eod time.Time
	if err := warehouse.ScanOne(rr, &eod); err != nil && !errors.Is(err, warehouse.ErrNoRows) {
		return time.Time{}, fmt.Errorf("query end of data: %w", err)
	}
	if eod.Unix() <= 0 {
		return time.Time{}, nil
	}
	return eod, nil
}

// Snapshot computes a training snapshot: one row per (customer, as_of) at
// the customer and onboarding levels, one per invoice at the invoice level,
// with the columns of docs/features.md (tenant, customer_id, [invoice_id,]
// as_of date32, the signals, duration_days int32, event uint8), ordered by
// tenant, customer_id, as_of[, invoice_id]. An onboarding snapshot of one
// tenant also has a column per attribute the tenant declared
// (datasets.AttributeSchema), before duration_days: the value known on
// as_of. The caller releases the reader.
// As concurrency-safe as eng.
func Snapshot(ctx context.Context, eng warehouse.Engine, opt SnapshotOptions) (array.RecordReader, error) {
	if err := opt.normalize(); err != nil {
		return nil, fmt.Errorf("snapshot: %w", err)
	}
	eod := day(opt.EndOfData)
	if opt.EndOfData.IsZero() {
		var err error
		if eod, err = EndOfData(ctx, eng, opt.Tenant); err != nil {
			return nil, fmt.Errorf("snapshot: %w", err)
		}
		if eod.IsZero() {
			eod = opt.To
		}
	}
	p := warehouse.Params{"tenant": opt.Tenant, "thr": int32(opt.Threshold), "eod": eod, "known": int32(0)}
	var top, keys string
	switch opt.Level {
	case LevelCustomer:
		dates, _ := Dates(opt.From, opt.To, opt.Every)
		p["dates"], p["customer"] = dates, ""
		top, keys = "snapshot_customer.sql", keysCustomer
	case LevelOnboarding:
		p["from"], p["to"] = opt.From, opt.To
		top, keys = "snapshot_onboarding.sql", keysOnboarding
	case LevelInvoice:
		p["from"], p["to"] = opt.From, opt.To
		top, keys = "snapshot_invoice.sql", keysInvoice
	}
	if opt.PartCustomers <= 0 {
		opt.PartCustomers = DefaultSnapshotPartCustomers
	}
	bounds, total, err := customerBounds(ctx, eng, opt.Tenant, opt.PartCustomers)
	if err != nil {
		return nil, fmt.Errorf("snapshot: %w", err)
	}
	pr := &partsReader{ctx: ctx, eng: eng, query: assemble(top, keys), parts: len(bounds) + 1, params: func(int) warehouse.Params { return p },
		total: total, progress: opt.Progress, level: opt.Level}
	if len(bounds) > 0 {
		pr.query = assembleWith(top, keys, tenantFilter+" AND "+rangeFilter)
		pr.params = func(part int) warehouse.Params {
			q := maps.Clone(p)
			q["lo"], q["hi"] = "", ""
			if part > 0 {
				q["lo"] = bounds[part-1]
			}
			if part < len(bounds) {
				q["hi"] = bounds[part]
			}
			return q
		}
	}
	rr, err := pr.start()
	if err != nil {
		return nil, err
	}
	if opt.Level != LevelOnboarding || opt.Tenant == "" {
		return rr, nil
	}
	return onboardingAttributes(ctx, eng, rr, opt.Tenant)
}

// onboardingAttributes adds tenant's declared attributes to its onboarding
// snapshot rr (unchanged when it declared none).
func onboardingAttributes(ctx context.Context, eng warehouse.Engine, rr array.RecordReader, tenant string) (array.RecordReader, error) {
	s, err := datasets.LatestAttributes(ctx, eng, tenant)
	if errors.Is(err, datasets.ErrNoAttributes) {
		return rr, nil
	}
	if err != nil {
		rr.Release()
		return nil, fmt.Errorf("snapshot: %w", err)
	}
	return withAttributes(ctx, eng, rr, &s)
}

// CustomerDate is one customer at one reference date.
type CustomerDate struct {
	Customer string
	Date     time.Time
}

// AtOptions select the rows of SnapshotAt. A plain value.
type AtOptions struct {
	// Tenant is required.
	Tenant string
	// At are the customers and dates.
	At []CustomerDate
	// EndOfData is where labels are censored; zero is the end of the
	// tenant's data.
	EndOfData time.Time
	// Chunk is how many customers one statement computes (0 =
	// DefaultAtChunk): their ids and dates are sent in the statement's
	// text, which ClickHouse bounds (max_query_size, 256 KiB by default).
	Chunk int
}

// DefaultAtChunk is the default AtOptions.Chunk.
const DefaultAtChunk = 2000

// SnapshotAt computes the customer-level snapshot rows (the columns and
// rows of Snapshot at the customer level: customers not behind and not
// gone at the date, with their label censored at the end of the data) of
// one tenant's customers at given dates, e.g. the days they were scored
// on; a customer unknown to the store has no row. The rows come ordered
// by customer, then date, in chunks of customers. The caller releases the
// reader.
func SnapshotAt(ctx context.Context, eng warehouse.Engine, opt AtOptions) (array.RecordReader, error) {
	if opt.Tenant == "" {
		return nil, errors.New("snapshot at dates: a tenant is required")
	}
	if opt.Chunk <= 0 {
		opt.Chunk = DefaultAtChunk
	}
	eod := day(opt.EndOfData)
	if opt.EndOfData.IsZero() {
		var err error
		if eod, err = EndOfData(ctx, eng, opt.Tenant); err != nil {
			return nil, fmt.Errorf("snapshot at dates: %w", err)
		}
	}
	byCustomer := map[string][]time.Time{}
	for _, cd := range opt.At {
		byCustomer[cd.Customer] = append(byCustomer[cd.Customer], day(cd.Date))
	}
	ids := slices.Sorted(maps.Keys(byCustomer))
	pr := &partsReader{ctx: ctx, eng: eng, query: assembleWith("snapshot_customer.sql", keysAt, tenantFilter+" AND "+customersFilter),
		parts: max(1, (len(ids)+opt.Chunk-1)/opt.Chunk), total: int64(len(ids)), level: LevelCustomer}
	pr.params = func(part int) warehouse.Params {
		chunk := ids[min(len(ids), part*opt.Chunk):min(len(ids), (part+1)*opt.Chunk)]
		var cs []string
		var ds []time.Time
		for _, c := range chunk {
			for _, d := range byCustomer[c] {
				cs, ds = append(cs, c), append(ds, d)
			}
		}
		return warehouse.Params{"tenant": opt.Tenant, "thr": int32(DefaultThreshold), "eod": eod, "known": int32(0),
			"customers": chunk, "at_customers": cs, "at_dates": ds}
	}
	return pr.start()
}

// rangeFilter restricts a read to the customers in [{lo}, {hi}) of one
// tenant (an empty bound is open).
const rangeFilter = "({lo:String} = '' OR customer_id >= {lo:String}) AND ({hi:String} = '' OR customer_id < {hi:String})"

// customerBounds returns the customer ids that cut tenant's customers into
// parts of about per customers (none for one part, or for all tenants),
// and the number of customers.
func customerBounds(ctx context.Context, eng warehouse.Engine, tenant string, per int) ([]string, int64, error) {
	if tenant == "" {
		n, err := queryInt64s(ctx, eng, "SELECT toInt64(count()) FROM customers FINAL", nil)
		if err != nil {
			return nil, 0, fmt.Errorf("count customers: %w", err)
		}
		return nil, n[0], nil
	}
	rr, err := eng.Query(ctx, "SELECT customer_id FROM customers FINAL WHERE tenant = {tenant:String} ORDER BY customer_id", warehouse.Params{"tenant": tenant})
	if err != nil {
		return nil, 0, fmt.Errorf("count customers: %w", err)
	}
	defer rr.Release()
	var bounds []string
	var n int64
	var id string
	err = warehouse.Scan(rr, func() error {
		if n > 0 && n%int64(per) == 0 {
			bounds = append(bounds, id)
		}
		n++
		return nil
	}, &id)
	if err != nil {
		return nil, 0, fmt.Errorf("count customers: %w", err)
	}
	return bounds, n, nil
}

// partsReader reads a snapshot part after part: the query with each
// part's parameters, each run when the previous one is read.
type partsReader struct {
	ctx      context.Context
	eng      warehouse.Engine
	query    string
	parts    int
	params   func(part int) warehouse.Params
	total    int64
	progress func(done, total int64)
	level    string

	part int // the part cur reads
	cur  array.RecordReader
	rec  arrow.Record
	err  error
	refs atomic.Int64
}

// start reports the progress at 0 and runs the first part.
func (r *partsReader) start() (*partsReader, error) {
	r.refs.Store(1)
	if r.progress != nil {
		r.progress(0, r.total)
	}
	if err := r.open(); err != nil {
		return nil, err
	}
	return r, nil
}

// open runs the query of part pr.part.
func (r *partsReader) open() error {
	rr, err := r.eng.Query(r.ctx, r.query, r.params(r.part))
	if err != nil {
		return fmt.Errorf("snapshot %s level (part %d of %d): %w", r.level, r.part+1, r.parts, err)
	}
	r.cur = rr
	return nil
}

func (r *partsReader) Schema() *arrow.Schema { return r.cur.Schema() }
func (r *partsReader) Record() arrow.Record  { return r.rec }
func (r *partsReader) Err() error            { return r.err }
func (r *partsReader) Retain()               { r.refs.Add(1) }

func (r *partsReader) Release() {
	if r.refs.Add(-1) == 0 && r.cur != nil {
		r.cur.Release()
	}
}

func (r *partsReader) Next() bool {
	for r.err == nil {
		if r.cur.Next() {
			r.rec = r.cur.Record()
			return true
		}
		if r.err = r.cur.Err(); r.err != nil {
			return false
		}
		if r.progress != nil {
			r.progress(r.total*int64(r.part+1)/int64(r.parts), r.total)
		}
		if r.part == r.parts-1 {
			return false
		}
		r.part++
		schema := r.cur.Schema()
		r.cur.Release()
		if r.err = r.open(); r.err != nil {
			r.cur = emptyReader(schema)
		}
	}
	return false
}

// emptyReader is a reader of no records, standing in after an error.
func emptyReader(schema *arrow.Schema) array.RecordReader {
	rr, _ := array.NewRecordReader(schema, nil)
	return rr
}

// arrowDate converts a date32 value to a UTC time.
func arrowDate(d arrow.Date32) time.Time { return d.ToTime().UTC() }
