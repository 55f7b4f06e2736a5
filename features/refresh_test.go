package features

import (
	"context"
	"fmt"
	"reflect"
	"slices"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"strings"
	"testing"
	"time"

	"github.com/duewise/duewise/warehouse"
	"github.com/duewise/duewise/warehouse/warehousetest"
)

func TestRefreshLatest(t *testing.T) {
	warehousetest.Each(t, func(t *testing.T, e warehouse.Engine) {
		ctx := context.Background()
		tenant := warehousetest.Tenant(t)
		loadHistories(t, e, tenant, labelHistories()...)
		// An earlier refresh, then the one at T: Latest shows the newest.
		if _, err := Refresh(ctx, e, RefreshOptions{AsOf: D("2025-01-01").Time, Tenant: tenant, Now: TS("2025-01-01T01:00:00Z")}); err != nil {
			t.Fatal(err)
		}
		st, err := Refresh(ctx, e, RefreshOptions{AsOf: refT, Tenant: tenant, Now: TS("2025-07-01T01:00:00Z")})
		if err != nil {
			t.Fatal(err)
		}
		// C1, C2, C4, C5, C6, C7 exist at T (C3 is created later); C2 is behind.
		if st.Customers != 6 || st.Behind != 1 {
			t.Errorf("refresh stats %+v, want 6 customers, 1 behind", st)
		}
		rr, err := Latest(ctx, e, tenant)
		if err != nil {
			t.Fatal(err)
		}
		tb := readAll(t, rr)
		if len(tb.rows) != 6 {
			t.Fatalf("%d rows in features_latest, want 6", len(tb.rows))
		}
		want := []string{"tenant", "customer_id", "as_of", "status", "refreshed_at"}
		for i, n := range want {
			if tb.schema.Field(i).Name != n {
				t.Fatalf("column %d is %s, want %s", i, tb.schema.Field(i).Name, n)
			}
		}
		for i, s := range catalog {
			if f := tb.schema.Field(len(want) + i); f.Name != s.Name {
				t.Fatalf("column %d is %s, want %s", len(want)+i, f.Name, s.Name)
			}
		}
		for _, r := range tb.rows {
			if !r["as_of"].(time.Time).Equal(refT) {
				t.Errorf("%s: as_of %v, want the newest refresh", r["customer_id"], r["as_of"])
			}
			wantStatus := "ok"
			if r["customer_id"] == "C2" {
				wantStatus = "behind"
			}
			if r["status"] != wantStatus {
				t.Errorf("%s: status %v, want %s", r["customer_id"], r["status"], wantStatus)
			}
		}
		c1, _ := tb.find("C1", time.Time{})
		checkExpected(t, func(name string) float64 { return num(c1[name]) })

		// Refreshed in parts of about 2 customers, the same rows.
		var done []int64
		st, err = Refresh(ctx, e, RefreshOptions{AsOf: refT, Tenant: tenant, Now: TS("2025-07-01T02:00:00Z"), PartCustomers: 2,
			Progress: func(d, total int64) { done = append(done, d, total) }})
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(done) != "[0 7 1 7 3 7 5 7 7 7]" { // 7 customers (one created later) in 4 parts
			t.Errorf("progress %v, want 0, 1, 3, 5 and 7 of 7 customers", done)
		}
		if st.Customers != 6 || st.Behind != 1 {
			t.Errorf("refresh in parts: stats %+v, want 6 customers, 1 behind", st)
		}
		rr, err = Latest(ctx, e, tenant)
		if err != nil {
			t.Fatal(err)
		}
		parted := readAll(t, rr)
		for _, r := range append(parted.rows, tb.rows...) {
			delete(r, "refreshed_at")
		}
		compareTables(t, parted, tb)

		// The refresh of C1 and C2 at a later date rewrites their rows
		// only (in customer order, an unknown id ignored), with the values
		// of a full refresh then.
		later := D("2025-08-01").Time
		var some table
		st, err = RefreshCustomers(ctx, e, RefreshOptions{AsOf: later, Tenant: tenant, Now: TS("2025-08-01T01:00:00Z")},
			[]string{"C2", "nobody", "C1", "C2"}, func(rec arrow.Record) error {
				rec.Retain()
				rr, err := array.NewRecordReader(rec.Schema(), []arrow.Record{rec})
				rec.Release()
				if err != nil {
					return err
				}
				got := readAll(t, rr)
				some.schema, some.rows = got.schema, append(some.rows, got.rows...)
				return nil
			})
		if err != nil {
			t.Fatal(err)
		}
		if st.Customers != 2 || len(some.rows) != 2 || some.rows[0]["customer_id"] != "C1" || some.rows[1]["customer_id"] != "C2" {
			t.Fatalf("refresh of C1, C2: stats %+v, rows %v", st, some.rows)
		}
		rr, err = Latest(ctx, e, tenant)
		if err != nil {
			t.Fatal(err)
		}
		stored := map[string]map[string]any{}
		for _, r := range readAll(t, rr).rows {
			stored[r["customer_id"].(string)] = r
			moved := r["customer_id"] == "C1" || r["customer_id"] == "C2"
			if got := r["as_of"].(time.Time); got.Equal(later) != moved {
				t.Errorf("%s: as_of %v after refreshing C1 and C2 only", r["customer_id"], got)
			}
		}
		for _, r := range some.rows {
			if !reflect.DeepEqual(r, stored[r["customer_id"].(string)]) {
				t.Errorf("handed %v, stored %v", r, stored[r["customer_id"].(string)])
			}
		}
		if _, err := Refresh(ctx, e, RefreshOptions{AsOf: later, Tenant: tenant, Now: TS("2025-08-01T02:00:00Z")}); err != nil {
			t.Fatal(err)
		}
		rr, err = Latest(ctx, e, tenant)
		if err != nil {
			t.Fatal(err)
		}
		full := readAll(t, rr)
		full.rows = slices.DeleteFunc(full.rows, func(r map[string]any) bool { return r["customer_id"] != "C1" && r["customer_id"] != "C2" })
		for _, r := range append(full.rows, some.rows...) {
			delete(r, "refreshed_at")
		}
		compareTables(t, some, full)
		if _, err := RefreshCustomers(ctx, e, RefreshOptions{AsOf: later}, []string{"C1"}, func(arrow.Record) error { return nil }); err == nil {
			t.Error("a refresh of given customers without a tenant worked")
		}
	})
}

// TestChunkIDs splits ids into chunks that keep a statement under
// ClickHouse's max_query_size, in order, none empty.
func TestChunkIDs(t *testing.T) {
	long := strings.Repeat("x", chunkIDBytes)
	for _, tc := range []struct {
		name string
		ids  []string
		want []int // chunk sizes
	}{
		{"none", nil, nil},
		{"few", []string{"a", "b"}, []int{2}},
		{"one too long for a chunk", []string{"a", long, "b"}, []int{1, 1, 1}},
		{"many", slices.Repeat([]string{"C00000001"}, 3000), []int{1260, 1260, 480}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var sizes []int
			var all []string
			for _, c := range chunkIDs(tc.ids) {
				sizes = append(sizes, len(c))
				all = append(all, c...)
				if n := len(strings.Join(c, "', '")); len(c) > 1 && n > chunkIDBytes {
					t.Errorf("chunk of %d bytes", n)
				}
			}
			if !slices.Equal(sizes, tc.want) || !slices.Equal(all, tc.ids) {
				t.Errorf("chunk sizes %v, want %v", sizes, tc.want)
			}
		})
	}
}

func TestCatalogMatchesSQL(t *testing.T) {
	seen := map[string]bool{}
	for _, s := range append(Catalog(), InvoiceSignals()...) {
		if seen[s.Name] || s.Meaning == "" || s.Window == "" || (s.Kind != Numeric && s.Kind != Categorical) {
			t.Errorf("signal %+v: duplicate or incomplete", s)
		}
		seen[s.Name] = true
	}
	if len(NumericNames())+len(CategoricalNames()) != len(catalog) {
		t.Error("names do not cover the catalog")
	}
}

func TestDates(t *testing.T) {
	cases := []struct {
		from, to, every string
		want            []string
		err             bool
	}{
		{"2025-01-31", "2025-04-30", "1mo", []string{"2025-01-31", "2025-02-28", "2025-03-31", "2025-04-30"}, false},
		{"2025-01-01", "2025-01-20", "1w", []string{"2025-01-01", "2025-01-08", "2025-01-15"}, false},
		{"2025-01-01", "2025-01-05", "2d", []string{"2025-01-01", "2025-01-03", "2025-01-05"}, false},
		{"2025-01-01", "2025-01-05", "0d", nil, true},
		{"2025-01-01", "2025-01-05", "monthly", nil, true},
	}
	for _, c := range cases {
		got, err := Dates(D(c.from).Time, D(c.to).Time, c.every)
		if (err != nil) != c.err {
			t.Errorf("%s..%s every %s: err %v", c.from, c.to, c.every, err)
			continue
		}
		var s []string
		for _, d := range got {
			s = append(s, d.Format(time.DateOnly))
		}
		if len(s) != len(c.want) {
			t.Errorf("%s..%s every %s: %v, want %v", c.from, c.to, c.every, s, c.want)
			continue
		}
		for i := range s {
			if s[i] != c.want[i] {
				t.Errorf("%s..%s every %s: %v, want %v", c.from, c.to, c.every, s, c.want)
				break
			}
		}
	}
}

// TestLatestMigrations builds features_latest the way an older store got
// it, migration by migration (under another name), and checks that the
// result has exactly the columns and types of the current catalog.
func TestLatestMigrations(t *testing.T) {
	warehousetest.Each(t, func(t *testing.T, e warehouse.Engine) {
		ctx := context.Background()
		name := "features_latest_migrated_" + warehousetest.Tenant(t)
		if err := e.Exec(ctx, "DROP TABLE IF EXISTS "+name, nil); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { e.Exec(context.Background(), "DROP TABLE IF EXISTS "+name, nil) })
		ms := Migrations()
		if len(ms) < 2 {
			t.Fatalf("%d migrations: want the table and at least one added column", len(ms))
		}
		for _, m := range ms {
			for _, st := range m.Statements {
				if err := e.Exec(ctx, strings.Replace(st, LatestTable, name, 1), nil); err != nil {
					t.Fatalf("migration %d (%s): %v", m.Version, m.Name, err)
				}
			}
		}
		rr, err := e.Query(ctx, "SELECT name, type FROM system.columns WHERE database = currentDatabase() AND table = {t:String}", warehouse.Params{"t": name})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, r := range readAll(t, rr).rows {
			got[r["name"].(string)] = r["type"].(string)
		}
		want := map[string]string{"tenant": "String", "customer_id": "String", "as_of": "Date", "status": "String", "refreshed_at": "DateTime"}
		for _, s := range catalog {
			want[s.Name] = latestType(s)
		}
		if len(got) != len(want) {
			t.Errorf("%d columns, want %d", len(got), len(want))
		}
		for n, ty := range want {
			if got[n] != ty {
				t.Errorf("column %s: type %q, want %q", n, got[n], ty)
			}
		}
	})
}
