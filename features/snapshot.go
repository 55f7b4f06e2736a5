package features

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"time"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"

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
}

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
// tenant, customer_id, as_of[, invoice_id]. The caller releases the reader.
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
	var q string
	switch opt.Level {
	case LevelCustomer:
		dates, _ := Dates(opt.From, opt.To, opt.Every)
		p["dates"], p["customer"] = dates, ""
		q = assemble("snapshot_customer.sql", keysCustomer)
	case LevelOnboarding:
		p["from"], p["to"] = opt.From, opt.To
		q = assemble("snapshot_onboarding.sql", keysOnboarding)
	case LevelInvoice:
		p["from"], p["to"] = opt.From, opt.To
		q = assemble("snapshot_invoice.sql", keysInvoice)
	}
	rr, err := eng.Query(ctx, q, p)
	if err != nil {
		return nil, fmt.Errorf("snapshot %s level: %w", opt.Level, err)
	}
	return rr, nil
}

// arrowDate converts a date32 value to a UTC time.
func arrowDate(d arrow.Date32) time.Time { return d.ToTime().UTC() }
