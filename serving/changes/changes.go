// Package changes is the change feed of duewise's answers: the customers
// whose risk band, status or recommended actions changed, in the order the
// server noticed, per tenant, so that a CRM that keeps a copy of the
// advice can follow it with GET /v1/changes instead of scoring every
// customer again.
//
// A change is a notice, written to the warehouse table score_changes before
// the answer it announces is served: the customer, what changed (before and
// after), and a cursor. Cursors are the nanoseconds of the moment a change
// was written, increasing within a server; a reader gets the changes after
// its cursor and the cursor to continue from, so that it resumes where it
// stopped after a crash of either side. Changes younger than Settle are not
// handed out yet, so that a change written late by a slower writer (another
// server of the same warehouse) still comes after the cursor of the reader
// that passed its moment. Changes are kept for Retention (whole days, one
// table partition per day); a cursor older than that is ErrExpired.
package changes

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"

	"github.com/duewise/duewise/warehouse"
)

// Table is the warehouse table of the change feed.
const Table = "score_changes"

// Migrations create the change feed's table.
func Migrations() []warehouse.Migration {
	return []warehouse.Migration{{Component: "changes", Version: 1, Name: "score_changes change feed", Statements: []string{`
CREATE TABLE IF NOT EXISTS ` + Table + `
(
    tenant String,
    seq UInt64,
    customer_id String,
    changed_at DateTime,
    kind String,
    fields String,
    band_before String,
    band String,
    status_before String,
    status String,
    actions_before String,
    actions String,
    model_version String
)
ENGINE = MergeTree
PARTITION BY toYYYYMMDD(changed_at)
ORDER BY (tenant, seq)`}}}
}

// State is what a change compares: the band, the status and the
// recommended actions (each "type/channel", in the answer's order).
type State struct {
	Band    string   `json:"band"`
	Status  string   `json:"status"`
	Actions []string `json:"actions"`
}

// Change is one customer's changed answer. A plain value.
type Change struct {
	Cursor     string    `json:"cursor"`
	CustomerID string    `json:"customer_id"`
	ChangedAt  time.Time `json:"changed_at"`
	// Kind is the model kind that scored (behaviour).
	Kind string `json:"kind"`
	// Fields name what changed: band, status, actions.
	Fields []string `json:"changed"`
	// Before is the zero State for a customer new to the server.
	Before State  `json:"before"`
	After  State  `json:"after"`
	Model  string `json:"model_version"`
	tenant string
	seq    uint64
}

// Diff returns the fields in which after differs from before (band,
// status, actions), none when they are equal.
func Diff(before, after State) []string {
	var out []string
	if before.Band != after.Band {
		out = append(out, "band")
	}
	if before.Status != after.Status {
		out = append(out, "status")
	}
	if !slices.Equal(before.Actions, after.Actions) {
		out = append(out, "actions")
	}
	return out
}

// New returns the change of tenant's customer from before to after, as
// scored by the model kind and version; Append gives it its cursor.
func New(tenant, customer, kind, model string, before, after State) Change {
	return Change{tenant: tenant, CustomerID: customer, Kind: kind, Model: model, Before: before, After: after, Fields: Diff(before, after)}
}

// Errors of Since.
var (
	// ErrBadCursor is a cursor that is not one this feed handed out.
	ErrBadCursor = errors.New("changes: not a cursor of this feed")
	// ErrExpired is a cursor older than the feed's retention: changes
	// after it may have been dropped.
	ErrExpired = errors.New("changes: cursor older than the retention")
)

// Warehouse is what the feed needs of the warehouse.
type Warehouse interface {
	Exec(ctx context.Context, sql string, p warehouse.Params) error
	Query(ctx context.Context, sql string, p warehouse.Params) (array.RecordReader, error)
	Insert(ctx context.Context, table string, rec arrow.Record) error
}

// Config configures a Log. Warehouse is required.
type Config struct {
	Warehouse Warehouse
	// Retention is how long changes are kept (whole days; default 7 days).
	Retention time.Duration
	// Settle is how old a change must be before Since hands it out
	// (default 2 s).
	Settle time.Duration
	// Now is the clock (tests); default time.Now.
	Now func() time.Time
	Log *slog.Logger
}

// DefaultConfig returns the defaults of the optional fields.
func DefaultConfig() Config {
	return Config{Retention: 7 * 24 * time.Hour, Settle: 2 * time.Second, Now: time.Now}
}

// Validate checks the configuration.
func (c Config) Validate() error {
	switch {
	case c.Warehouse == nil:
		return errors.New("changes: Warehouse is required")
	case c.Retention < 0 || c.Settle < 0:
		return errors.New("changes: retention and settle must not be negative")
	case c.Retention > 0 && c.Retention < 24*time.Hour:
		return fmt.Errorf("changes: retention %s: at least a day (changes are dropped by day)", c.Retention)
	}
	return nil
}

// Log is the change feed. Safe for concurrent use.
type Log struct {
	cfg  Config
	log  *slog.Logger
	mu   sync.Mutex // serialises Append, so that cursors increase
	last uint64
}

// Open returns the feed of cfg (its table made by Migrations).
func Open(cfg Config) (*Log, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	d := DefaultConfig()
	if cfg.Retention == 0 {
		cfg.Retention = d.Retention
	}
	if cfg.Settle == 0 {
		cfg.Settle = d.Settle
	}
	if cfg.Now == nil {
		cfg.Now = d.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &Log{cfg: cfg, log: cfg.Log}, nil
}

// Retention returns how long changes are kept.
func (l *Log) Retention() time.Duration { return l.cfg.Retention }

var schema = arrow.NewSchema([]arrow.Field{
	{Name: "tenant", Type: arrow.BinaryTypes.String}, {Name: "seq", Type: arrow.PrimitiveTypes.Uint64},
	{Name: "customer_id", Type: arrow.BinaryTypes.String},
	{Name: "changed_at", Type: &arrow.TimestampType{Unit: arrow.Second, TimeZone: "UTC"}},
	{Name: "kind", Type: arrow.BinaryTypes.String}, {Name: "fields", Type: arrow.BinaryTypes.String},
	{Name: "band_before", Type: arrow.BinaryTypes.String}, {Name: "band", Type: arrow.BinaryTypes.String},
	{Name: "status_before", Type: arrow.BinaryTypes.String}, {Name: "status", Type: arrow.BinaryTypes.String},
	{Name: "actions_before", Type: arrow.BinaryTypes.String}, {Name: "actions", Type: arrow.BinaryTypes.String},
	{Name: "model_version", Type: arrow.BinaryTypes.String},
}, nil)

// Append writes changes (of any tenants) to the feed in one insert, each
// with a cursor after every earlier one of this Log. Changes with no
// changed field are skipped.
func (l *Log) Append(ctx context.Context, cs []Change) error {
	cs = slices.DeleteFunc(slices.Clone(cs), func(c Change) bool { return len(c.Fields) == 0 })
	if len(cs) == 0 {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.cfg.Now()
	seq := max(uint64(now.UnixNano()), l.last+1)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	str := func(i int, v string) { b.Field(i).(*array.StringBuilder).Append(v) }
	list := func(i int, vs []string) { str(i, strings.Join(vs, listSep)) }
	for i := range cs {
		c := &cs[i]
		c.seq = seq + uint64(i)
		str(0, c.tenant)
		b.Field(1).(*array.Uint64Builder).Append(c.seq)
		str(2, c.CustomerID)
		b.Field(3).(*array.TimestampBuilder).Append(arrow.Timestamp(now.Unix()))
		str(4, c.Kind)
		list(5, c.Fields)
		str(6, c.Before.Band)
		str(7, c.After.Band)
		str(8, c.Before.Status)
		str(9, c.After.Status)
		list(10, c.Before.Actions)
		list(11, c.After.Actions)
		str(12, c.Model)
	}
	rec := b.NewRecord()
	defer rec.Release()
	if err := l.cfg.Warehouse.Insert(ctx, Table, rec); err != nil {
		return fmt.Errorf("write %d changes: %w", len(cs), err)
	}
	l.last = seq + uint64(len(cs)) - 1
	return nil
}

// listSep joins the lists of a change in their columns (no action type,
// channel or field name holds it).
const listSep = ","

func split(s string) []string {
	if s == "" {
		return []string{}
	}
	return strings.Split(s, listSep)
}

// ParseCursor reads a cursor; "" is the start of the feed (0).
func ParseCursor(s string) (uint64, error) {
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: %q", ErrBadCursor, s)
	}
	return n, nil
}

// MaxLimit is the most changes Since returns at once.
const MaxLimit = 10_000

// Page is what Since returns: the changes in order and the cursor to ask
// for the next ones with.
type Page struct {
	Changes []Change
	// Next is the cursor after the last change (the given cursor when
	// there are none).
	Next string
	// More reports that changes beyond this page are ready.
	More bool
}

// Since returns up to limit of tenant's changes after cursor ("" = from
// the oldest kept), oldest first, leaving out those younger than Settle.
// A cursor older than the retention is ErrExpired, one this feed cannot
// have handed out ErrBadCursor.
func (l *Log) Since(ctx context.Context, tenant, cursor string, limit int) (Page, error) {
	after, err := ParseCursor(cursor)
	if err != nil {
		return Page{}, err
	}
	limit = min(max(limit, 1), MaxLimit)
	now := l.cfg.Now()
	if after > 0 {
		at := time.Unix(0, int64(after))
		switch {
		case at.After(now.Add(time.Minute)):
			return Page{}, fmt.Errorf("%w: %q lies in the future", ErrBadCursor, cursor)
		case at.Before(now.Add(-l.cfg.Retention)):
			return Page{}, fmt.Errorf("%w (%s): changes after %s may have been dropped", ErrExpired, l.cfg.Retention, at.UTC().Format(time.RFC3339))
		}
	}
	upto := uint64(now.Add(-l.cfg.Settle).UnixNano())
	rr, err := l.cfg.Warehouse.Query(ctx, `SELECT seq, customer_id, toUInt32(changed_at) AS at, kind, fields, band_before, band,
status_before, status, actions_before, actions, model_version FROM `+Table+`
WHERE tenant = {tenant:String} AND seq > {after:UInt64} AND seq <= {upto:UInt64}
ORDER BY seq LIMIT `+strconv.Itoa(limit+1), // a number we made: 18.16 takes no expression after LIMIT
		warehouse.Params{"tenant": tenant, "after": after, "upto": upto})
	if err != nil {
		return Page{}, fmt.Errorf("read changes: %w", err)
	}
	defer rr.Release()
	page := Page{Next: cursor}
	var c Change
	var at uint32
	var fields, was, is string
	err = warehouse.Scan(rr, func() error {
		c.ChangedAt, c.tenant = time.Unix(int64(at), 0).UTC(), tenant
		c.Cursor = strconv.FormatUint(c.seq, 10)
		c.Fields, c.Before.Actions, c.After.Actions = split(fields), split(was), split(is)
		page.Changes = append(page.Changes, c)
		c = Change{}
		return nil
	}, &c.seq, &c.CustomerID, &at, &c.Kind, &fields, &c.Before.Band, &c.After.Band, &c.Before.Status, &c.After.Status,
		&was, &is, &c.Model)
	if err != nil {
		return Page{}, fmt.Errorf("read changes: %w", err)
	}
	if len(page.Changes) > limit {
		page.Changes, page.More = page.Changes[:limit], true
	}
	if n := len(page.Changes); n > 0 {
		page.Next = page.Changes[n-1].Cursor
	}
	return page, nil
}

// Purge drops the days of changes older than the retention.
func (l *Log) Purge(ctx context.Context) error {
	rr, err := l.cfg.Warehouse.Query(ctx, `SELECT DISTINCT partition FROM system.parts
WHERE database = currentDatabase() AND table = {t:String} AND active`, warehouse.Params{"t": Table})
	if err != nil {
		return fmt.Errorf("purge changes: %w", err)
	}
	var parts []string
	var p string
	err = warehouse.Scan(rr, func() error { parts = append(parts, p); return nil }, &p)
	rr.Release()
	if err != nil {
		return fmt.Errorf("purge changes: %w", err)
	}
	oldest := l.cfg.Now().Add(-l.cfg.Retention).UTC().Format("20060102")
	for _, p := range parts {
		p = strings.Trim(p, "'")
		if p >= oldest || len(p) != 8 || strings.Trim(p, "0123456789") != "" {
			continue
		}
		if err := l.cfg.Warehouse.Exec(ctx, "ALTER TABLE "+Table+" DROP PARTITION "+p, nil); err != nil {
			return fmt.Errorf("purge changes of %s: %w", p, err)
		}
		l.log.Info("changes dropped", "day", p)
	}
	return nil
}
