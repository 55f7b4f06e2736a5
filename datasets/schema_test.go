package datasets

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/duewise/duewise/warehouse"
	"github.com/duewise/duewise/warehouse/warehousetest"
)

// TestRekey rebuilds a raw table made with the old sorting key (tenant,
// id) into one sorted by Key, keeping every row and the view that records
// first versions, and is safe to run again, also after a crash that left
// the old copy behind.
func TestRekey(t *testing.T) {
	warehousetest.Each(t, func(t *testing.T, e warehouse.Engine) {
		ctx := context.Background()
		inv, _ := TableByName("invoices")
		tb := inv
		tb.Name = fmt.Sprintf("rekey_%s", warehousetest.Tenant(t))
		exec := func(q string) {
			t.Helper()
			if err := e.Exec(ctx, q, nil); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		for _, q := range firstTableSQL() {
			exec(q)
		}
		exec(strings.Replace(tb.CreateSQL(), "ORDER BY (tenant, customer_id, invoice_id)", "ORDER BY (tenant, invoice_id)", 1))
		exec(tb.firstViewSQL())
		insert := func(rows ...string) {
			t.Helper()
			sel := make([]string, len(rows))
			for i, r := range rows {
				f := strings.Split(r, ",")
				sel[i] = fmt.Sprintf("SELECT 'a', '%s', '%s', toDate('%s'), toDate('%s'), toDecimal64('%s', 2), 'EUR', toUInt64(%s)", f[0], f[1], f[2], f[3], f[4], f[5])
			}
			exec("INSERT INTO " + tb.Name + " (tenant, invoice_id, customer_id, issued_at, due_at, amount, currency, _version) " + strings.Join(sel, " UNION ALL "))
		}
		insert("I1,C2,2025-01-01,2025-01-15,10.50,1", "I2,C1,2025-02-01,2025-02-15,20,2", "I1,C2,2025-01-01,2025-01-20,10.50,3")
		rows := func() string {
			t.Helper()
			rr, err := e.Query(ctx, "SELECT invoice_id, customer_id, toString(due_at) AS due, toString(amount) AS amount FROM "+tb.Name+" FINAL ORDER BY invoice_id", nil)
			if err != nil {
				t.Fatal(err)
			}
			defer rr.Release()
			var id, c, due, amt string
			var out []string
			if err := warehouse.Scan(rr, func() error { out = append(out, id+"/"+c+"/"+due+"/"+amt); return nil }, &id, &c, &due, &amt); err != nil {
				t.Fatal(err)
			}
			return strings.Join(out, " ")
		}
		before := rows()
		for run := range 3 {
			if run == 2 { // a crash after the swap left the old copy
				exec(strings.Replace(tb.CreateSQL(), tb.Name, tb.Name+"__old", 1))
			}
			if err := tb.rekey(ctx, e); err != nil {
				t.Fatalf("run %d: %v", run, err)
			}
			if key, err := sortingKey(ctx, e, tb.Name); err != nil || key != "tenant, customer_id, invoice_id" {
				t.Fatalf("run %d: sorting key %q, %v", run, key, err)
			}
			if got := rows(); got != before {
				t.Fatalf("run %d: rows %s, want %s", run, got, before)
			}
			for _, name := range []string{tb.Name + "__old", tb.Name + "__rekey"} {
				if key, err := sortingKey(ctx, e, name); err != nil || key != "" {
					t.Errorf("run %d: %s left behind (%q, %v)", run, name, key, err)
				}
			}
		}
		// The first-version view records what is inserted after the swap.
		insert("I3,C1,2025-03-01,2025-03-15,5,4")
		rr, err := e.Query(ctx, "SELECT toUInt64(count()) FROM "+firstTable+" WHERE tbl = {t:String} AND id = 'I3'", warehouse.Params{"t": tb.Name})
		if err != nil {
			t.Fatal(err)
		}
		defer rr.Release()
		var n uint64
		if err := warehouse.ScanOne(rr, &n); err != nil || n != 1 {
			t.Errorf("first versions after the rekey: %d rows of I3 (%v), want 1", n, err)
		}
		exec("DROP TABLE IF EXISTS " + tb.Name + "_first")
		exec("DROP TABLE IF EXISTS " + tb.Name)
	})
}
