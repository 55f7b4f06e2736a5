package datasets

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow/go/v15/arrow"

	"github.com/duewise/duewise/warehouse"
	"github.com/duewise/duewise/warehouse/warehousetest"
)

var tenantSeq atomic.Int64

// newTenant returns a tenant name no other test (nor an earlier run on a
// kept store) uses, so tests sharing one store stay apart.
func newTenant(t *testing.T) string {
	return fmt.Sprintf("t%d_%d_%s", time.Now().UnixNano(), tenantSeq.Add(1), strings.NewReplacer("/", "_", " ", "_").Replace(t.Name()))
}

// query returns the rows of sql as text cells.
func query(t *testing.T, e warehouse.Engine, sql string, p warehouse.Params) [][]string {
	t.Helper()
	rr, err := e.Query(context.Background(), sql, p)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	defer rr.Release()
	var out [][]string
	for rr.Next() {
		rec := rr.Record()
		for i := 0; i < int(rec.NumRows()); i++ {
			row := make([]string, rec.NumCols())
			for j, c := range rec.Columns() {
				row[j] = cellText(c, i)
			}
			out = append(out, row)
		}
	}
	if err := rr.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func scalar(t *testing.T, e warehouse.Engine, sql, tenant string) string {
	t.Helper()
	rows := query(t, e, sql, warehouse.Params{"tenant": tenant})
	if len(rows) != 1 || len(rows[0]) != 1 {
		t.Fatalf("%s: got %q, want one value", sql, rows)
	}
	return rows[0][0]
}

func finalCount(t *testing.T, e warehouse.Engine, table, tenant string) string {
	return scalar(t, e, "SELECT count() FROM "+table+" FINAL WHERE tenant = {tenant:String}", tenant)
}

// writeWorld writes a small world of CSV files for tenant into dir and
// returns the number of rows per table.
func writeWorld(t *testing.T, dir, tenant string, n int) map[string]int {
	t.Helper()
	counts := map[string]int{}
	for _, tb := range Tables {
		rows := sampleRows(tb.Name, n)
		for _, r := range rows {
			r["tenant"] = tenant
		}
		writeFile(t, dir, tb.Name+".csv", rowsCSV(t, tb.Name, rows...))
		counts[tb.Name] = n
	}
	return counts
}

func newTestLoader(t *testing.T, e warehouse.Engine, cfg LoaderConfig) *Loader {
	t.Helper()
	l, err := NewLoader(e, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// tenantLoader returns a new tenant and a Loader for it.
func tenantLoader(t *testing.T, e warehouse.Engine) (string, *Loader) {
	tenant := newTenant(t)
	cfg := DefaultLoaderConfig()
	cfg.Tenant = tenant
	return tenant, newTestLoader(t, e, cfg)
}

func TestLoadIdempotent(t *testing.T) {
	warehousetest.Each(t, func(t *testing.T, e warehouse.Engine) {
		tenant, l := tenantLoader(t, e)
		dir := t.TempDir()
		counts := writeWorld(t, dir, tenant, 40)
		total := int64(40 * len(Tables))
		for run, wantDup := range []int64{0, total} {
			sum, err := l.LoadPaths(context.Background(), []string{dir})
			if err != nil {
				t.Fatal(err)
			}
			if sum.Total.Read != total || sum.Total.Loaded != total || sum.Total.Rejected != 0 || sum.Total.Duplicates != wantDup {
				t.Fatalf("run %d: total %+v, want read=loaded=%d, duplicates %d", run, sum.Total, total, wantDup)
			}
			if len(sum.Files) != len(Tables) || sum.Files[0].Table != "customers" {
				t.Fatalf("run %d: files %+v, want one per table in contract order", run, sum.Files)
			}
			for _, tb := range Tables {
				if got := finalCount(t, e, tb.Name, tenant); got != fmt.Sprint(counts[tb.Name]) {
					t.Fatalf("run %d: %s has %s rows, want %d", run, tb.Name, got, counts[tb.Name])
				}
			}
		}
		sumAmount := scalar(t, e, "SELECT sum(amount) FROM invoices FINAL WHERE tenant = {tenant:String}", tenant)
		if want := "827.80"; sumAmount != want && sumAmount != "827.8" { // sum of i+1 + i/100 for i < 40
			t.Fatalf("sum(amount) = %s, want %s", sumAmount, want)
		}
	})
}

func TestLoadRejectsBadRowsKeepsGood(t *testing.T) {
	warehousetest.Each(t, func(t *testing.T, e warehouse.Engine) {
		tenant := newTenant(t)
		dir, rej := t.TempDir(), t.TempDir()
		rows := sampleRows("invoices", 6)
		rows[2]["due_at"] = "2024-01-01"
		rows[4]["amount"] = "12.345"
		rows[4]["currency"] = "eu"
		for _, r := range rows {
			r["tenant"] = tenant
		}
		p := writeFile(t, dir, "invoices.csv", rowsCSV(t, "invoices", rows...))
		cfg := DefaultLoaderConfig()
		cfg.Tenant, cfg.RejectsDir = tenant, rej
		sum, err := newTestLoader(t, e, cfg).LoadPaths(context.Background(), []string{p})
		if err != nil {
			t.Fatal(err)
		}
		f := sum.Files[0]
		want := []string{
			p + ":4: due_at: before issued_at",
			p + `:6: amount: invalid amount "12.345": more than 2 decimals; currency: invalid currency "eu": want 3 upper-case letters (ISO 4217), e.g. EUR`,
		}
		if f.Read != 6 || f.Loaded != 4 || f.Rejected != 2 || !slices.Equal(f.Problems, want) {
			t.Fatalf("summary %+v\nwant 6 read, 4 loaded, problems %q", f, want)
		}
		if got := finalCount(t, e, "invoices", tenant); got != "4" {
			t.Fatalf("stored %s rows, want the 4 good ones", got)
		}
		if f.Rejects != filepath.Join(rej, "invoices.rejects.csv") {
			t.Fatalf("rejects file %q", f.Rejects)
		}
		rf, err := os.Open(f.Rejects)
		if err != nil {
			t.Fatal(err)
		}
		defer rf.Close()
		recs, err := csv.NewReader(rf).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		tb, _ := TableByName("invoices")
		if len(recs) != 3 || !slices.Equal(recs[0], append(tb.columnNames(), "_location", "_reason")) ||
			recs[1][1] != rows[2]["invoice_id"] || recs[1][7] != p+":4" || recs[1][8] != "due_at: before issued_at" || recs[2][5] != "12.345" {
			t.Fatalf("rejects file %q", recs)
		}
		var js FileSummary
		b, err := os.ReadFile(filepath.Join(rej, "invoices.summary.json"))
		if err != nil || json.Unmarshal(b, &js) != nil || js.Rejected != 2 || js.Loaded != 4 {
			t.Fatalf("summary.json %s: %v", b, err)
		}
	})
}

// cancelAfterInserts is the real engine with a context cancelled after n
// inserts: a crash in the middle of a file.
type cancelAfterInserts struct {
	warehouse.Engine
	n      atomic.Int64
	cancel context.CancelFunc
}

func (c *cancelAfterInserts) Insert(ctx context.Context, table string, rec arrow.Record) error {
	err := c.Engine.Insert(ctx, table, rec)
	if c.n.Add(-1) == 0 {
		c.cancel()
	}
	return err
}

func TestLoadInterruptedThenRerun(t *testing.T) {
	warehousetest.Each(t, func(t *testing.T, e warehouse.Engine) {
		tenant := newTenant(t)
		rows := sampleRows("payments", 3000)
		for _, r := range rows {
			r["tenant"] = tenant
		}
		p := writeFile(t, t.TempDir(), "payments.csv", rowsCSV(t, "payments", rows...))
		cfg := DefaultLoaderConfig()
		cfg.Tenant, cfg.ChunkBytes, cfg.Workers = tenant, 16<<10, 2
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		crashing := &cancelAfterInserts{Engine: e, cancel: cancel}
		crashing.n.Store(2)
		_, err := newTestLoader(t, crashing, cfg).LoadPaths(ctx, []string{p})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("interrupted load: err %v, want context.Canceled", err)
		}
		partial := finalCount(t, e, "payments", tenant)
		if partial == "0" || partial == "3000" {
			t.Fatalf("after the interruption %s rows stored, want part of the file", partial)
		}
		sum, err := newTestLoader(t, e, cfg).LoadPaths(context.Background(), []string{p})
		if err != nil {
			t.Fatal(err)
		}
		if got := finalCount(t, e, "payments", tenant); got != "3000" {
			t.Fatalf("after rerun %s rows, want 3000", got)
		}
		if d := fmt.Sprint(sum.Total.Duplicates); d != partial {
			t.Fatalf("rerun counted %s duplicates, want the %s rows of the interrupted load", d, partial)
		}
		if got := scalar(t, e, "SELECT count() FROM (SELECT payment_id FROM payments FINAL WHERE tenant = {tenant:String} GROUP BY payment_id HAVING count() > 1)", tenant); got != "0" {
			t.Fatalf("%s payment ids stored twice", got)
		}
	})
}

func TestTenantIsolation(t *testing.T) {
	warehousetest.Each(t, func(t *testing.T, e warehouse.Engine) {
		a, b := newTenant(t), newTenant(t)
		dirA, dirB := t.TempDir(), t.TempDir()
		writeWorld(t, dirA, a, 10)
		writeWorld(t, dirB, b, 7) // same ids as a's first 7
		for _, tc := range []struct{ tenant, dir string }{{a, dirA}, {b, dirB}} {
			cfg := DefaultLoaderConfig()
			cfg.Tenant = tc.tenant
			if _, err := newTestLoader(t, e, cfg).LoadPaths(context.Background(), []string{tc.dir}); err != nil {
				t.Fatal(err)
			}
		}
		if ca, cb := finalCount(t, e, "invoices", a), finalCount(t, e, "invoices", b); ca != "10" || cb != "7" {
			t.Fatalf("tenant a has %s invoices, b %s; want 10 and 7", ca, cb)
		}
		// Loading b's files as tenant a rejects every row and stores nothing.
		cfg := DefaultLoaderConfig()
		cfg.Tenant, cfg.RejectsDir = a, t.TempDir()
		sum, err := newTestLoader(t, e, cfg).LoadPaths(context.Background(), []string{filepath.Join(dirB, "invoices.csv")})
		if err != nil {
			t.Fatal(err)
		}
		want := fmt.Sprintf("%s:2: tenant: tenant %q is not the load's tenant %q", filepath.Join(dirB, "invoices.csv"), b, a)
		if sum.Total.Rejected != 7 || sum.Total.Loaded != 0 || sum.Files[0].Problems[0] != want {
			t.Fatalf("summary %+v, want 7 rejected: %s", sum.Files[0], want)
		}
		if ca := finalCount(t, e, "invoices", a); ca != "10" {
			t.Fatalf("tenant a has %s invoices after a foreign load, want 10", ca)
		}
	})
}

func TestArrangementLaterVersionReplaces(t *testing.T) {
	warehousetest.Each(t, func(t *testing.T, e warehouse.Engine) {
		tenant, l := tenantLoader(t, e)
		active := with("arrangements", "tenant", tenant)
		broken := with("arrangements", "tenant", tenant)
		broken["status"], broken["ended_at"] = "broken", "2025-03-05T00:00:00Z"
		for i, r := range []map[string]string{active, broken} {
			p := writeFile(t, t.TempDir(), "arrangements.csv", rowsCSV(t, "arrangements", r))
			if _, err := l.LoadPaths(context.Background(), []string{p}); err != nil {
				t.Fatalf("load %d: %v", i, err)
			}
		}
		got := query(t, e, "SELECT status, toString(ended_at) FROM arrangements FINAL WHERE tenant = {tenant:String}", warehouse.Params{"tenant": tenant})
		if len(got) != 1 || got[0][0] != "broken" || got[0][1] != "2025-03-05 00:00:00" {
			t.Fatalf("arrangement is %q, want one row, broken since 2025-03-05", got)
		}
	})
}

func TestLoadRows(t *testing.T) {
	warehousetest.Each(t, func(t *testing.T, e warehouse.Engine) {
		tenant, l := tenantLoader(t, e)
		rows := []json.RawMessage{
			json.RawMessage(`{"invoice_id":"I1","customer_id":"C1","issued_at":"2025-01-01","due_at":"2025-01-15","amount":10.5,"currency":"EUR"}`),
			json.RawMessage(`{"invoice_id":"I2","customer_id":"C1","issued_at":"2025-01-01","due_at":"2024-12-15","amount":"10","currency":"EUR"}`),
			json.RawMessage(`{"tenant":"other","invoice_id":"I3","customer_id":"C1","issued_at":"2025-01-01","due_at":"2025-01-15","amount":"10","currency":"EUR"}`),
			json.RawMessage(`"not an object"`),
			json.RawMessage(`{"invoice_id":"I5","customer_id":"C1","issued_at":"2025-01-01","due_at":"2025-01-15","amount":"10","currency":"EUR","x":1}`),
		}
		res, err := l.LoadRows(context.Background(), "invoices", rows)
		if err != nil {
			t.Fatal(err)
		}
		want := []RowResult{
			{Index: 0, ID: "I1", Accepted: true},
			{Index: 1, ID: "I2", Reason: "rows[1].due_at: before issued_at"},
			{Index: 2, ID: "I3", Reason: fmt.Sprintf("rows[2].tenant: tenant \"other\" is not the load's tenant %q", tenant)},
			{Index: 3, Reason: "rows[3]: want a JSON object"},
			{Index: 4, ID: "I5", Reason: "rows[4].x: unknown column"},
		}
		if !slices.Equal(res, want) {
			t.Fatalf("results\n%+v\nwant\n%+v", res, want)
		}
		got := query(t, e, "SELECT invoice_id, amount FROM invoices FINAL WHERE tenant = {tenant:String}", warehouse.Params{"tenant": tenant})
		if len(got) != 1 || got[0][0] != "I1" || got[0][1] != "10.50" {
			t.Fatalf("stored %q, want I1 10.50", got)
		}
		if _, err := l.LoadRows(context.Background(), "bills", rows); err == nil {
			t.Fatal("unknown table: no error")
		}
	})
}

// TestConcurrentLoadsCountDuplicates: two loaders (as two processes) load
// the same new rows at the same time; together they report every row of
// one of the two loads as a duplicate, and a third load all of its rows.
func TestConcurrentLoadsCountDuplicates(t *testing.T) {
	warehousetest.Each(t, func(t *testing.T, e warehouse.Engine) {
		tenant := newTenant(t)
		const n = 6000
		rows := sampleRows("payments", n)
		for _, r := range rows {
			r["tenant"] = tenant
		}
		p := writeFile(t, t.TempDir(), "payments.csv", rowsCSV(t, "payments", rows...))
		cfg := DefaultLoaderConfig()
		cfg.Tenant, cfg.ChunkBytes, cfg.Workers = tenant, 32<<10, 2
		loaders := []*Loader{newTestLoader(t, e, cfg), newTestLoader(t, e, cfg)}
		sums := make([]Summary, len(loaders))
		errs := make([]error, len(loaders))
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i, l := range loaders {
			wg.Go(func() {
				<-start
				sums[i], errs[i] = l.LoadPaths(context.Background(), []string{p})
			})
		}
		close(start)
		wg.Wait()
		var dups int64
		for i := range sums {
			if errs[i] != nil {
				t.Fatal(errs[i])
			}
			if sums[i].Total.Loaded != n {
				t.Fatalf("load %d: %+v, want %d loaded", i, sums[i].Total, n)
			}
			dups += sums[i].Total.Duplicates
		}
		if dups != n {
			t.Fatalf("two concurrent loads of %d new rows counted %d and %d duplicates, want %d together",
				n, sums[0].Total.Duplicates, sums[1].Total.Duplicates, n)
		}
		if got := finalCount(t, e, "payments", tenant); got != fmt.Sprint(n) {
			t.Fatalf("%s rows stored, want %d", got, n)
		}
		sum, err := newTestLoader(t, e, cfg).LoadPaths(context.Background(), []string{p})
		if err != nil {
			t.Fatal(err)
		}
		if sum.Total.Duplicates != n {
			t.Fatalf("a third load counted %d duplicates, want %d", sum.Total.Duplicates, n)
		}
	})
}

// TestLoadCountsChangedRows: a load says how many stored rows it gave
// different values (NULL and a value differ), none when it repeats them,
// with the id of one; a row set back to a value it had before is not
// counted (see changed.go).
func TestLoadCountsChangedRows(t *testing.T) {
	warehousetest.Each(t, func(t *testing.T, e warehouse.Engine) {
		tenant, l := tenantLoader(t, e)
		dir := t.TempDir()
		rows := sampleRows("customers", 40)
		for _, r := range rows {
			r["tenant"] = tenant
		}
		orig := writeFile(t, dir, "customers.csv", rowsCSV(t, "customers", rows...))
		changed := make([]map[string]string, 0, 42)
		for i, r := range rows {
			c := maps.Clone(r)
			switch i {
			case 0, 2:
				c["credit_limit"] = "100" // NULL -> a value
			case 1:
				c["credit_limit"] = "" // a value -> NULL
			case 5:
				c["segment"] = "energy"
			}
			changed = append(changed, c)
		}
		for _, id := range []string{"new-1", "new-2"} {
			r := with("customers", "customer_id", id)
			r["tenant"] = tenant
			changed = append(changed, r)
		}
		edited := writeFile(t, t.TempDir(), "customers.csv", rowsCSV(t, "customers", changed...))
		for _, step := range []struct {
			name            string
			path            string
			dups, changed   int64
			exampleOneOfIDs []string
		}{
			{"first load", orig, 0, 0, nil},
			{"the same rows", orig, 40, 0, nil},
			{"four rows changed, two new", edited, 40, 4, []string{rows[0]["customer_id"], rows[1]["customer_id"], rows[2]["customer_id"], rows[5]["customer_id"]}},
			{"the changed rows again", edited, 42, 0, nil},
			{"back to values they had", orig, 40, 0, nil},
		} {
			sum, err := l.LoadPaths(context.Background(), []string{step.path})
			if err != nil {
				t.Fatalf("%s: %v", step.name, err)
			}
			f := sum.Files[0]
			if f.Duplicates != step.dups || f.Changed != step.changed || sum.Total.Changed != step.changed {
				t.Fatalf("%s: duplicates %d, changed %d (total %d), want %d and %d", step.name, f.Duplicates, f.Changed, sum.Total.Changed, step.dups, step.changed)
			}
			if step.changed > 0 && !slices.Contains(step.exampleOneOfIDs, f.ChangedID) {
				t.Fatalf("%s: example %q, want one of %q", step.name, f.ChangedID, step.exampleOneOfIDs)
			}
		}
	})
}
