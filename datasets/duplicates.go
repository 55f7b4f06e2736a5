package datasets

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/duewise/duewise/warehouse"
)

// Duplicates are counted against two small tables, so that the count is
// true when loads of the same rows run at the same time (two `duewise
// ingest` against one ClickHouse server, or two through one `duewise
// serve`), which counting the table's keys before and after a load is not.
//
// ingest_first keeps, per (table, tenant, id), the lowest _version ever
// loaded: a materialized view on each raw table writes every inserted
// row's key with rank = bitNot(_version), and ReplacingMergeTree(rank)
// keeps the highest rank. A loaded row is a duplicate unless its key's
// first version is its own, so a load's duplicates are its rows less the
// keys whose first version lies in the version ranges it reserved. Since
// merges keep the first version, the count holds after them too.
//
// ingest_loads closes the one gap: a concurrent load may have reserved a
// lower version than this load's last one without its rows being visible
// yet. Each file load registers there before it reserves any version,
// refreshes its row every loadBeat and marks itself inserted when its rows
// are in; before counting, a load waits for the loads registered before its
// last version to be inserted (or silent for loadStale: a crashed process).
// Versions are wall-clock nanoseconds, so processes on different machines
// need synchronized clocks (NTP) for the count, not for the data.
const (
	firstTable = "ingest_first"
	loadsTable = "ingest_loads"
	loadBeat   = 5 * time.Second
	loadStale  = 30 * time.Second
	// settleMax bounds the wait for concurrent loads; past it the count
	// is given with a warning.
	settleMax = 10 * time.Minute
)

func firstTableSQL() []string {
	return []string{
		"CREATE TABLE IF NOT EXISTS " + firstTable + " (tbl String, tenant String, id String, rank UInt64) ENGINE = ReplacingMergeTree(rank) ORDER BY (tbl, tenant, id)",
		"CREATE TABLE IF NOT EXISTS " + loadsTable + " (tbl String, load String, inserted UInt8, at UInt64) ENGINE = MergeTree ORDER BY (tbl, load)",
	}
}

// firstViewSQL is the materialized view that records t's first versions.
func (t Table) firstViewSQL() string {
	return fmt.Sprintf("CREATE MATERIALIZED VIEW IF NOT EXISTS %s_first TO %s AS SELECT '%s' AS tbl, tenant, toString(%s) AS id, bitNot(%s) AS rank FROM %s",
		t.Name, firstTable, t.Name, t.ID(), VersionColumn, t.Name)
}

// firstBackfillSQL fills ingest_first from the rows t already holds.
func (t Table) firstBackfillSQL() string {
	return fmt.Sprintf("INSERT INTO %s SELECT '%s', tenant, toString(%s), bitNot(min(%s)) FROM %s GROUP BY tenant, %s",
		firstTable, t.Name, t.ID(), VersionColumn, t.Name, t.ID())
}

// versionRange is the versions [lo, hi] that one insert reserved.
type versionRange struct{ lo, hi uint64 }

// fileLoad is the registration of one file's load in ingest_loads. Its
// methods are called from the load's goroutine.
type fileLoad struct {
	l      *Loader
	table  string
	id     string
	ranges []versionRange
	stop   chan struct{}
	beat   sync.WaitGroup
	done   bool
}

// register records a load of table in ingest_loads and keeps its row fresh
// until finish.
func (l *Loader) register(ctx context.Context, table string) (*fileLoad, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, fmt.Errorf("register the load: %w", err)
	}
	fl := &fileLoad{l: l, table: table, id: hex.EncodeToString(b[:]), stop: make(chan struct{})}
	if err := fl.mark(ctx, 0); err != nil {
		return nil, err
	}
	fl.beat.Add(1)
	go fl.heartbeat(context.WithoutCancel(ctx))
	return fl, nil
}

func (fl *fileLoad) mark(ctx context.Context, inserted int) error {
	err := fl.l.e.Exec(ctx, "INSERT INTO "+loadsTable+" (tbl, load, inserted, at) SELECT {t:String}, {l:String}, {i:UInt8}, {at:UInt64}",
		warehouse.Params{"t": fl.table, "l": fl.id, "i": inserted, "at": uint64(time.Now().UnixNano())})
	if err != nil {
		return fmt.Errorf("register the load of %s: %w", fl.table, err)
	}
	return nil
}

func (fl *fileLoad) heartbeat(ctx context.Context) {
	defer fl.beat.Done()
	tk := time.NewTicker(loadBeat)
	defer tk.Stop()
	for {
		select {
		case <-fl.stop:
			return
		case <-tk.C:
			if err := fl.mark(ctx, 0); err != nil {
				fl.l.log.Warn("load heartbeat", "table", fl.table, "err", err)
			}
		}
	}
}

// finish marks the load inserted (its rows are in, or it failed) and stops
// its heartbeat. Safe to call twice.
func (fl *fileLoad) finish(ctx context.Context) error {
	if fl.done {
		return nil
	}
	fl.done = true
	close(fl.stop)
	fl.beat.Wait()
	return fl.mark(context.WithoutCancel(ctx), 1)
}

// duplicates finishes the load and returns how many of its loaded rows
// were duplicates.
func (fl *fileLoad) duplicates(ctx context.Context, loaded int64) (int64, error) {
	if err := fl.finish(ctx); err != nil {
		return 0, err
	}
	if len(fl.ranges) == 0 {
		return 0, nil
	}
	if err := fl.settle(ctx); err != nil {
		return 0, err
	}
	firsts, err := fl.firsts(ctx)
	if err != nil {
		return 0, err
	}
	return max(0, loaded-firsts), nil
}

// settle waits until the other loads of the table registered before this
// load's last version are inserted or stale.
func (fl *fileLoad) settle(ctx context.Context) error {
	upTo := fl.ranges[len(fl.ranges)-1].hi
	deadline := time.Now().Add(settleMax)
	for {
		p := warehouse.Params{"t": fl.table, "me": fl.id, "upto": upTo, "stale": uint64(time.Now().Add(-loadStale).UnixNano())}
		rr, err := fl.l.e.Query(ctx, "SELECT toUInt64(count()) FROM (SELECT load FROM "+loadsTable+
			" WHERE tbl = {t:String} AND load != {me:String} GROUP BY load HAVING max(inserted) = 0 AND min(at) <= {upto:UInt64} AND max(at) >= {stale:UInt64})", p)
		if err != nil {
			return fmt.Errorf("wait for concurrent loads of %s: %w", fl.table, err)
		}
		var n uint64
		err = warehouse.ScanOne(rr, &n)
		rr.Release()
		if err != nil {
			return fmt.Errorf("wait for concurrent loads of %s: %w", fl.table, err)
		}
		if n == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			fl.l.log.Warn("concurrent loads still running; the duplicates count may miss their rows", "table", fl.table, "loads", n)
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// mine returns the condition that version column v is one of this
// load's, its bounds added to p.
func (fl *fileLoad) mine(v string, p warehouse.Params) string {
	var cond strings.Builder
	for i, r := range fl.ranges {
		if i > 0 {
			cond.WriteString(" OR ")
		}
		k := strconv.Itoa(i)
		fmt.Fprintf(&cond, "(%s BETWEEN {lo%s:UInt64} AND {hi%s:UInt64})", v, k, k)
		p["lo"+k], p["hi"+k] = r.lo, r.hi
	}
	return cond.String()
}

// firsts counts the keys whose first version is one of this load's.
func (fl *fileLoad) firsts(ctx context.Context) (int64, error) {
	p := warehouse.Params{"t": fl.table}
	// The condition is counted, not filtered on: a WHERE on rank could be
	// applied before FINAL chose each key's row.
	q := "SELECT toInt64(countIf(" + fl.mine("v", p) + ")) FROM (SELECT bitNot(rank) AS v FROM " + firstTable + " FINAL WHERE tbl = {t:String}"
	if fl.l.cfg.Tenant != "" {
		q += " AND tenant = {tenant:String}"
		p["tenant"] = fl.l.cfg.Tenant
	}
	rr, err := fl.l.e.Query(ctx, q+")", p)
	if err != nil {
		return 0, fmt.Errorf("count the new keys of %s: %w", fl.table, err)
	}
	defer rr.Release()
	var n int64
	if err := warehouse.ScanOne(rr, &n); err != nil {
		return 0, fmt.Errorf("count the new keys of %s: %w", fl.table, err)
	}
	return n, nil
}
