package features

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"

	"github.com/duewise/duewise/warehouse"
)

// LatestTable is the online feature table.
const LatestTable = "features_latest"

// RefreshLog records every full refresh of features_latest (not the
// refreshes of given customers): what a server compares to decide whether
// to load the whole table again.
const RefreshLog = "features_refreshes"

// refreshLogVersion is the features migration that made RefreshLog; a new
// signal column takes a version after it.
const refreshLogVersion = 9

// latestColumnsSince names the signals that a later features migration
// added to features_latest (by version); every other catalog signal is a
// column of the first version. A new signal gets the next free version
// here (after refreshLogVersion):
// ClickHouse 18.16 has no ADD COLUMN IF NOT EXISTS, so the first version's
// table must not already hold it.
var latestColumnsSince = map[string]int{
	"reminder_stage_30d":             2,
	"payment_day_mean_90d":           3,
	"payment_day_mean_365d":          4,
	"days_since_last_on_time":        5,
	"days_since_last_address_change": 6,
	"last_dd_failure_reason":         7,
	"last_payment_day":               8,
}

// latestType is the ClickHouse type of a signal's column in features_latest.
func latestType(s Signal) string {
	if s.Kind == Categorical {
		return "String"
	}
	return "Nullable(Float64)"
}

// latestDDL returns the CREATE TABLE of features_latest as of the first
// features migration: tenant, customer_id, as_of, status, refreshed_at, the
// categorical attributes as String and every numeric signal as
// Nullable(Float64).
func latestDDL() string {
	var b strings.Builder
	b.WriteString("CREATE TABLE IF NOT EXISTS " + LatestTable +
		" (tenant String, customer_id String, as_of Date, status String, refreshed_at DateTime")
	for _, s := range catalog {
		if latestColumnsSince[s.Name] <= 1 {
			b.WriteString(", " + s.Name + " " + latestType(s))
		}
	}
	b.WriteString(") ENGINE = ReplacingMergeTree(refreshed_at) ORDER BY (tenant, customer_id)")
	return b.String()
}

// Migrations returns the versioned schema of the features package (the
// table features_latest and the columns added to it later), for
// warehouse.Migrate.
func Migrations() []warehouse.Migration {
	ms := []warehouse.Migration{{Component: "features", Version: 1, Name: "features_latest online feature table",
		Statements: []string{latestDDL()}},
		{Component: "features", Version: refreshLogVersion, Name: "the log of full refreshes (the online table's version)",
			Statements: []string{"CREATE TABLE IF NOT EXISTS " + RefreshLog + " (tenant String, as_of Date, live UInt8, refreshed_at DateTime," +
				" customers Int64, behind Int64, seconds Float64) ENGINE = MergeTree ORDER BY refreshed_at"}}}
	for _, s := range catalog {
		if v := latestColumnsSince[s.Name]; v > 1 {
			ms = append(ms, warehouse.Migration{Component: "features", Version: v, Name: "features_latest column " + s.Name,
				Statements: []string{"ALTER TABLE " + LatestTable + " ADD COLUMN " + s.Name + " " + latestType(s)}})
		}
	}
	return ms
}

// RefreshOptions select a refresh. A plain value.
type RefreshOptions struct {
	// AsOf is the reference date; zero means today (UTC). Events before
	// 00:00 UTC on it count, as in a snapshot.
	AsOf time.Time
	// Live computes the signals at the moment Now instead of AsOf: as of
	// Now's UTC day, with the events dated that day (those known so far)
	// counted too, while due dates are still compared with that day (an
	// invoice due today is not overdue yet). What `duewise serve` and
	// `features refresh` without --as-of compute.
	Live bool
	// Tenant restricts the refresh to one tenant; "" refreshes all.
	Tenant string
	// Threshold is the days after due that count as behind (0 = 30).
	Threshold int
	// Now stamps refreshed_at (the table's version); zero means the
	// current time. A later refresh replaces an earlier one per customer.
	Now time.Time
	// PartCustomers is about how many customers one statement refreshes
	// (0 = DefaultPartCustomers): larger stores are refreshed in parts by a
	// hash of customer_id, which bounds memory and keeps hash tables small.
	PartCustomers int
	// Progress, when set, is called after each part with the customers
	// done and the customers in all.
	Progress func(done, total int64)
}

// DefaultPartCustomers is the default RefreshOptions.PartCustomers. On
// 1,000,000 customers, parts of 250,000 took 49 s against 77 s in one
// statement, and 4 GB of memory against 11 GB (docs/benchmarks.md).
const DefaultPartCustomers = 250_000

// RefreshStats describes a refresh. A plain value.
type RefreshStats struct {
	AsOf      time.Time
	Customers int64 // rows written
	Behind    int64 // of which status 'behind'
	Elapsed   time.Duration
}

// Refresh computes every customer's signals at opt.AsOf (customers created
// on or before it) and writes them into features_latest with status 'ok'
// or 'behind' (an invoice unpaid Threshold days after its due date at
// AsOf). Readers see the newest refresh per customer (FINAL). As
// concurrency-safe as eng.
func Refresh(ctx context.Context, eng warehouse.Engine, opt RefreshOptions) (RefreshStats, error) {
	start := time.Now()
	p, asOf, err := opt.params()
	if err != nil {
		return RefreshStats{}, err
	}
	if opt.PartCustomers <= 0 {
		opt.PartCustomers = DefaultPartCustomers
	}
	now := p["now"].(time.Time)
	st := RefreshStats{AsOf: asOf}
	n, err := queryInt64s(ctx, eng, "SELECT toInt64(count()) FROM customers FINAL WHERE "+tenantFilter, warehouse.Params{"tenant": opt.Tenant})
	if err != nil {
		return RefreshStats{}, fmt.Errorf("refresh %s: count customers: %w", LatestTable, err)
	}
	parts := max(1, (n[0]+int64(opt.PartCustomers)-1)/int64(opt.PartCustomers))
	q := assemblePart("refresh.sql", keysCustomer)
	p["parts"] = uint32(parts)
	if opt.Progress != nil {
		opt.Progress(0, n[0])
	}
	for part := range parts {
		p["part"] = uint32(part)
		if err := eng.Exec(ctx, q, p); err != nil {
			return RefreshStats{}, fmt.Errorf("refresh %s (part %d of %d): %w", LatestTable, part+1, parts, err)
		}
		if opt.Progress != nil {
			opt.Progress(n[0]*(part+1)/parts, n[0])
		}
	}
	c, err := queryInt64s(ctx, eng, "SELECT toInt64(count()), toInt64(countIf(status = 'behind')) FROM "+LatestTable+
		" FINAL WHERE "+tenantFilter+" AND as_of = {as_of:Date} AND refreshed_at = {now:DateTime}",
		warehouse.Params{"tenant": opt.Tenant, "as_of": asOf, "now": now})
	if err != nil {
		return RefreshStats{}, fmt.Errorf("count refreshed rows: %w", err)
	}
	st.Customers, st.Behind, st.Elapsed = c[0], c[1], time.Since(start)
	err = eng.Exec(ctx, "INSERT INTO "+RefreshLog+" (tenant, as_of, live, refreshed_at, customers, behind, seconds) "+
		"SELECT {tenant:String}, {as_of:Date}, {live:UInt8}, {now:DateTime}, {n:Int64}, {behind:Int64}, {s:Float64}",
		warehouse.Params{"tenant": opt.Tenant, "as_of": asOf, "live": b2u8(opt.Live), "now": now, "n": st.Customers, "behind": st.Behind, "s": st.Elapsed.Seconds()})
	if err != nil {
		return st, fmt.Errorf("record the refresh in %s: %w", RefreshLog, err)
	}
	return st, nil
}

func b2u8(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

// Latest returns features_latest (deduplicated: the newest refresh per
// customer) of tenant ("" = all), every column, ordered by tenant and
// customer_id. The caller releases the reader. As concurrency-safe as eng.
func Latest(ctx context.Context, eng warehouse.Engine, tenant string) (array.RecordReader, error) {
	rr, err := eng.Query(ctx, assemble("latest.sql", ""), warehouse.Params{"tenant": tenant})
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", LatestTable, err)
	}
	return rr, nil
}

// params checks opt and returns the parameters of the refresh statements
// (without customers, parts) and the reference day.
func (opt RefreshOptions) params() (warehouse.Params, time.Time, error) {
	if opt.Threshold == 0 {
		opt.Threshold = DefaultThreshold
	}
	if opt.Threshold < 1 || opt.Threshold > 3650 {
		return nil, time.Time{}, fmt.Errorf("refresh: threshold %d: want 1..3650 days", opt.Threshold)
	}
	if opt.Now.IsZero() {
		opt.Now = time.Now()
	}
	known := int32(0)
	switch {
	case opt.Live:
		opt.AsOf, known = opt.Now, 1
	case opt.AsOf.IsZero():
		opt.AsOf = time.Now()
	}
	asOf := day(opt.AsOf)
	return warehouse.Params{"tenant": opt.Tenant, "customer": "", "dates": []time.Time{asOf}, "thr": int32(opt.Threshold),
		"eod": asOf, "now": opt.Now.UTC().Truncate(time.Second), "known": known}, asOf, nil
}

// RefreshCustomers is Refresh restricted to the customers of
// opt.Tenant named in ids (opt.Tenant is required): the refresh of the
// customers that events touched, whose raw rows it reads by the primary
// key. It computes their rows, writes them into features_latest and hands
// them to fn in customer order, as Latest returns them (fn must not keep a
// record). Unknown ids, and customers created after the reference date,
// have no row. As concurrency-safe as eng.
func RefreshCustomers(ctx context.Context, eng warehouse.Engine, opt RefreshOptions, ids []string, fn func(arrow.Record) error) (RefreshStats, error) {
	start := time.Now()
	if opt.Tenant == "" {
		return RefreshStats{}, errors.New("refresh of given customers: the tenant is required")
	}
	p, asOf, err := opt.params()
	if err != nil {
		return RefreshStats{}, err
	}
	st := RefreshStats{AsOf: asOf}
	q := assembleWith("refresh_customers.sql", keysCustomer, tenantFilter+" AND "+customersFilter)
	for _, chunk := range chunkIDs(slices.Compact(slices.Sorted(slices.Values(ids)))) {
		p["customers"] = chunk
		rr, err := eng.Query(ctx, q, p)
		if err != nil {
			return st, fmt.Errorf("refresh %d customers: %w", len(ids), err)
		}
		err = eachRecord(rr, func(rec arrow.Record) error {
			if err := eng.Insert(ctx, LatestTable, rec); err != nil {
				return fmt.Errorf("write %s: %w", LatestTable, err)
			}
			st.Customers += rec.NumRows()
			st.Behind += countBehind(rec)
			return fn(rec)
		})
		rr.Release()
		if err != nil {
			return st, fmt.Errorf("refresh %d customers: %w", len(ids), err)
		}
	}
	st.Elapsed = time.Since(start)
	return st, nil
}

// Signals computes every customer's signals at opt.AsOf (customers created
// on or before it, as Refresh) without writing them: it hands them to fn
// one part of the customers at a time (opt.PartCustomers), each part in
// customer order, with the columns of features_latest but refreshed_at,
// plus departed (1 when the contract ended before the date). fn must not
// keep a record. The cash-in forecast reads a past date's customers this
// way. As concurrency-safe as eng.
func Signals(ctx context.Context, eng warehouse.Engine, opt RefreshOptions, fn func(arrow.Record) error) error {
	p, asOf, err := opt.params()
	if err != nil {
		return err
	}
	if opt.PartCustomers <= 0 {
		opt.PartCustomers = DefaultPartCustomers
	}
	n, err := queryInt64s(ctx, eng, "SELECT toInt64(count()) FROM customers FINAL WHERE "+tenantFilter, warehouse.Params{"tenant": opt.Tenant})
	if err != nil {
		return fmt.Errorf("signals at %s: count customers: %w", asOf.Format(time.DateOnly), err)
	}
	parts := max(1, (n[0]+int64(opt.PartCustomers)-1)/int64(opt.PartCustomers))
	q := assemblePart("signals_all.sql", keysCustomer)
	delete(p, "now")
	p["parts"] = uint32(parts)
	for part := range parts {
		p["part"] = uint32(part)
		rr, err := eng.Query(ctx, q, p)
		if err != nil {
			return fmt.Errorf("signals at %s (part %d of %d): %w", asOf.Format(time.DateOnly), part+1, parts, err)
		}
		err = eachRecord(rr, fn)
		rr.Release()
		if err != nil {
			return fmt.Errorf("signals at %s (part %d of %d): %w", asOf.Format(time.DateOnly), part+1, parts, err)
		}
	}
	return nil
}

// eachRecord calls fn with each record of rr, then reports rr's error.
func eachRecord(rr array.RecordReader, fn func(arrow.Record) error) error {
	for rr.Next() {
		if err := fn(rr.Record()); err != nil {
			return err
		}
	}
	return rr.Err()
}

// countBehind counts the rows of rec whose status is 'behind'.
func countBehind(rec arrow.Record) int64 {
	var n int64
	for i, f := range rec.Schema().Fields() {
		if f.Name != "status" {
			continue
		}
		if col, ok := rec.Column(i).(*array.String); ok {
			for r := range col.Len() {
				if col.Value(r) == "behind" {
					n++
				}
			}
		}
	}
	return n
}

// chunkIDBytes bounds the bytes of customer ids one statement names: the
// refresh names them once per raw table, and ClickHouse refuses a query
// text over max_query_size (256 KiB).
const chunkIDBytes = 16 << 10

// chunkIDs splits ids into chunks of at most chunkIDBytes bytes.
func chunkIDs(ids []string) [][]string {
	var out [][]string
	start, n := 0, 0
	for i, id := range ids {
		if n+len(id)+4 > chunkIDBytes && i > start {
			out = append(out, ids[start:i])
			start, n = i, 0
		}
		n += len(id) + 4 // quotes, comma, space
	}
	if start < len(ids) {
		out = append(out, ids[start:])
	}
	return out
}

// SignalsAt returns the signals of every customer of tenant ("" = all), or
// of the one customer when customer is not empty, at asOf (its UTC day):
// tenant, customer_id, as_of, status ('ok' | 'behind' by threshold, 0 =
// 30), departed (uint8), then every catalog column; customers created after
// asOf have no row. The caller releases the reader. As concurrency-safe as
// eng.
func SignalsAt(ctx context.Context, eng warehouse.Engine, tenant, customer string, asOf time.Time, threshold int) (array.RecordReader, error) {
	if threshold == 0 {
		threshold = DefaultThreshold
	}
	d := day(asOf)
	rr, err := eng.Query(ctx, assemble("signals_at.sql", keysCustomer), warehouse.Params{
		"tenant": tenant, "customer": customer, "dates": []time.Time{d}, "thr": int32(threshold), "eod": d, "known": int32(0)})
	if err != nil {
		return nil, fmt.Errorf("signals at %s: %w", d.Format(time.DateOnly), err)
	}
	return rr, nil
}
