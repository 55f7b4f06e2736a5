package online

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"

	"github.com/duewise/duewise/datasets"
	"github.com/duewise/duewise/datasets/synth"
	"github.com/duewise/duewise/features"
	"github.com/duewise/duewise/warehouse"
	"github.com/duewise/duewise/warehouse/warehousetest"
)

// TestHistoriesMatchRefresh holds the in-memory refresh (Histories,
// features.ComputeLive) equal to the SQL refresh of the same customers
// (features.RefreshCustomers) after events of every kind: a new customer,
// replaced rows (an invoice, a debit, a customer's terms), a payment of an
// earlier invoice, a departure, a row of another customer with the same
// id, on both backends; before and after the histories are loaded again.
func TestHistoriesMatchRefresh(t *testing.T) {
	if testing.Short() {
		t.Skip("generates a world")
	}
	warehousetest.Each(t, func(t *testing.T, e warehouse.Engine) {
		ctx := context.Background()
		tenant := warehousetest.Tenant(t)
		if _, err := warehouse.Migrate(ctx, e, append(datasets.Migrations(), features.Migrations()...)); err != nil {
			t.Fatal(err)
		}
		sc := synth.DefaultConfig()
		sc.Customers, sc.Months, sc.Seed, sc.Tenant, sc.Out = 120, 14, 5, tenant, t.TempDir()
		if _, err := synth.Generate(ctx, sc); err != nil {
			t.Fatal(err)
		}
		plain, err := datasets.NewLoader(e, datasets.DefaultLoaderConfig())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := plain.LoadPaths(ctx, []string{sc.Out}); err != nil {
			t.Fatal(err)
		}
		eod, err := features.EndOfData(ctx, e, tenant)
		if err != nil {
			t.Fatal(err)
		}
		now := eod.Add(14 * time.Hour)

		hs := NewHistories()
		if _, _, err := hs.History(tenant, "x"); !errors.Is(err, ErrHistoriesNotLoaded) {
			t.Fatalf("before the load: %v, want ErrHistoriesNotLoaded", err)
		}
		st, err := hs.Load(ctx, e)
		if err != nil {
			t.Fatal(err)
		}
		if st.Customers < 120 || st.Rows < 1000 || st.Bytes <= 0 {
			t.Fatalf("loaded %+v", st)
		}
		ld, err := datasets.NewLoader(e, datasets.LoaderConfig{Tenant: tenant, Inserted: func(table string, rec arrow.Record) {
			if err := hs.Apply(table, rec); err != nil {
				t.Error(err)
			}
		}})
		if err != nil {
			t.Fatal(err)
		}
		ids := postEvents(t, e, ld, tenant, now)
		untouched := query1(t, e, "SELECT customer_id FROM customers FINAL WHERE tenant = {tenant:String} ORDER BY customer_id LIMIT 40", tenant)
		all := slices.Clone(ids)
		for _, id := range untouched {
			if !slices.Contains(ids, id) {
				all = append(all, id)
			}
		}
		compareRefresh(t, e, hs, tenant, all, now)
		if st := hs.Stats(); st.Overlaid < len(ids) {
			t.Errorf("%d customers overlaid, want >= %d", st.Overlaid, len(ids))
		}
		// Loaded again: the overlay is dropped, the answers stay.
		if _, err := hs.Load(ctx, e); err != nil {
			t.Fatal(err)
		}
		if st := hs.Stats(); st.Overlaid != 0 {
			t.Errorf("after the reload %d customers overlaid, want 0", st.Overlaid)
		}
		compareRefresh(t, e, hs, tenant, all, now)

		// Rows it cannot read make the store stale (the refresh falls back
		// to the warehouse) until the next load.
		bad := array.NewRecord(arrow.NewSchema([]arrow.Field{{Name: "tenant", Type: arrow.BinaryTypes.String}}, nil), []arrow.Array{stringArray(tenant)}, 1)
		defer bad.Release()
		if err := hs.Apply("invoices", bad); err == nil || hs.Loaded() {
			t.Fatalf("a record without customer_id: %v, loaded %v", err, hs.Loaded())
		}
		if _, _, err := hs.History(tenant, ids[0]); !errors.Is(err, ErrHistoriesNotLoaded) {
			t.Fatalf("after a failed apply: %v, want ErrHistoriesNotLoaded", err)
		}
		if _, err := hs.Load(ctx, e); err != nil || !hs.Loaded() {
			t.Fatalf("loaded again: %v, %v", err, hs.Loaded())
		}
	})
}

func stringArray(vs ...string) arrow.Array {
	b := array.NewStringBuilder(memory.DefaultAllocator)
	defer b.Release()
	b.AppendValues(vs, nil)
	return b.NewArray()
}

// postEvents loads events of every kind through ld and returns the
// customers they touched.
func postEvents(t *testing.T, e warehouse.Engine, ld *datasets.Loader, tenant string, now time.Time) []string {
	t.Helper()
	inv := query1(t, e, "SELECT concat(customer_id, '|', invoice_id) FROM invoices FINAL WHERE tenant = {tenant:String} ORDER BY customer_id, invoice_id LIMIT 400", tenant)
	split := func(s string) (string, string) {
		for i := range s {
			if s[i] == '|' {
				return s[:i], s[i+1:]
			}
		}
		t.Fatalf("bad row %q", s)
		return "", ""
	}
	first := map[string]string{} // customer -> first invoice
	var cs []string
	for _, r := range inv {
		c, id := split(r)
		if _, ok := first[c]; !ok {
			first[c] = id
			cs = append(cs, c)
		}
	}
	if len(cs) < 6 {
		t.Fatalf("only %d customers with invoices", len(cs))
	}
	dd := query1(t, e, "SELECT concat(customer_id, '|', attempt_id) FROM direct_debits FINAL WHERE tenant = {tenant:String} ORDER BY customer_id DESC LIMIT 1", tenant)
	if len(dd) == 0 {
		t.Fatal("no direct debits")
	}
	cB, debitB := split(dd[0])
	cs = slices.DeleteFunc(cs, func(c string) bool { return c == cB })
	cA, cC, cE, cF := cs[0], cs[1], cs[2], cs[3]
	invA := first[cA]
	at := func(d time.Duration) string { return now.Add(d).Format(time.RFC3339) }
	day := func(d int) string { return now.AddDate(0, 0, d).Format(time.DateOnly) }
	load := func(table string, rows ...map[string]any) {
		t.Helper()
		raw := make([]json.RawMessage, len(rows))
		for i, r := range rows {
			b, err := json.Marshal(r)
			if err != nil {
				t.Fatal(err)
			}
			raw[i] = b
		}
		res, err := ld.LoadRows(context.Background(), table, raw)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range res {
			if !r.Accepted {
				t.Fatalf("%s row %d rejected: %s", table, r.Index, r.Reason)
			}
		}
	}
	// A payment of an earlier invoice, and that invoice replaced.
	load("payments", map[string]any{"payment_id": "EV-P1", "invoice_id": invA, "customer_id": cA, "paid_at": at(-2 * time.Hour), "amount": "12.34", "method": "bank_transfer"})
	load("invoices", map[string]any{"invoice_id": invA, "customer_id": cA, "issued_at": day(-70), "due_at": day(-40), "amount": "250.00", "currency": "EUR"})
	// A failed debit, then the same attempt replaced; an existing one replaced.
	load("direct_debits", map[string]any{"attempt_id": "EV-D1", "invoice_id": invA, "customer_id": cB, "attempted_at": at(-time.Hour), "status": "failed", "reason": "AM04"})
	load("direct_debits", map[string]any{"attempt_id": "EV-D1", "invoice_id": invA, "customer_id": cB, "attempted_at": at(-time.Hour), "status": "reversed", "reason": "MD06"})
	load("direct_debits", map[string]any{"attempt_id": debitB, "invoice_id": invA, "customer_id": cB, "attempted_at": at(-30 * time.Minute), "status": "failed", "reason": "AC04"})
	// A departure.
	load("customer_events", map[string]any{"event_id": "EV-E1", "customer_id": cC, "occurred_at": at(-3 * time.Hour), "kind": "contract_change", "detail": "Contract ended by the customer"},
		map[string]any{"event_id": "EV-E2", "customer_id": cC, "occurred_at": at(-3 * time.Hour), "kind": "address_change"})
	// Another customer's debit with cB's attempt id: a row of its own
	// (the SQL joins invoices, payments and reminders by (tenant,
	// invoice_id) alone: invoice ids are unique per tenant).
	load("direct_debits", map[string]any{"attempt_id": debitB, "invoice_id": first[cE], "customer_id": cE, "attempted_at": at(-20 * time.Minute), "status": "failed", "reason": "MS02"})
	load("reminders", map[string]any{"reminder_id": "EV-R1", "invoice_id": first[cE], "customer_id": cE, "sent_at": at(-4 * time.Hour), "stage": "final_notice", "channel": "letter"})
	// A customer's terms replaced (no credit limit any more), and a new customer.
	load("customers", map[string]any{"customer_id": cF, "created_at": day(-500), "customer_type": "consumer", "segment": "energy", "channel": "online",
		"payment_method": "direct_debit", "country": "NL", "postcode_area": "1011", "monthly_amount": "80.00"},
		map[string]any{"customer_id": "EV-NEW", "created_at": day(-120), "customer_type": "business", "segment": "telecom", "channel": "offline",
			"payment_method": "bank_transfer", "country": "DE", "postcode_area": "", "monthly_amount": "40.50", "credit_limit": "1000.00"})
	load("invoices", map[string]any{"invoice_id": "EV-I1", "customer_id": "EV-NEW", "issued_at": day(-90), "due_at": day(-60), "amount": "40.50", "currency": "EUR"},
		map[string]any{"invoice_id": "EV-I2", "customer_id": "EV-NEW", "issued_at": day(-30), "due_at": day(-1), "amount": "40.50", "currency": "EUR"})
	load("payments", map[string]any{"payment_id": "EV-P2", "invoice_id": "EV-I1", "customer_id": "EV-NEW", "paid_at": at(-90 * time.Minute), "amount": "20.00", "method": "bank_transfer"})
	load("arrangements", map[string]any{"arrangement_id": "EV-A1", "customer_id": "EV-NEW", "agreed_at": at(-80 * time.Minute), "installments": 3, "amount": "40.50", "status": "active"})
	load("disputes", map[string]any{"dispute_id": "EV-X1", "invoice_id": "EV-I2", "customer_id": "EV-NEW", "opened_at": at(-70 * time.Minute)})
	return []string{cA, cB, cC, cE, cF, "EV-NEW"}
}

// compareRefresh compares the rows computed from hs with the SQL's.
func compareRefresh(t *testing.T, e warehouse.Engine, hs *Histories, tenant string, ids []string, now time.Time) {
	t.Helper()
	var rows []features.Row
	for _, id := range ids {
		h, ok, err := hs.History(tenant, id)
		if err != nil || !ok {
			t.Fatalf("history of %s: %v %v", id, ok, err)
		}
		r, err := features.ComputeLive(h, now, 30)
		if errors.Is(err, features.ErrNotCreated) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, r)
	}
	got := LatestRecord(t, features.LatestRecord(rows, now))
	want := map[string]map[string]any{}
	_, err := features.RefreshCustomers(context.Background(), e, features.RefreshOptions{Tenant: tenant, Live: true, Now: now}, ids,
		func(rec arrow.Record) error {
			rec.Retain()
			for k, v := range LatestRecord(t, rec) {
				want[k] = v
			}
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	if len(want) < len(ids)-1 || len(got) != len(want) {
		t.Fatalf("%d rows from memory, %d from SQL, of %d customers", len(got), len(want), len(ids))
	}
	for id, w := range want {
		g := got[id]
		for col, wv := range w {
			if col == "refreshed_at" {
				continue
			}
			if !sameValue(g[col], wv) {
				t.Errorf("%s %s: memory %v, SQL %v", id, col, g[col], wv)
			}
		}
	}
	if departed := got[ids[2]]; departed == nil {
		t.Errorf("no row for the departed customer %s", ids[2])
	}
}

// LatestRecord reads a record with features_latest's columns into maps by
// customer and column: text, float64 (NaN = NULL) or days (as_of). It
// releases rec.
func LatestRecord(t *testing.T, rec arrow.Record) map[string]map[string]any {
	t.Helper()
	defer rec.Release()
	c := newRecCols(rec)
	id, err := c.str("customer_id")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]any{}
	for i := range int(rec.NumRows()) {
		m := map[string]any{}
		for j, f := range rec.Schema().Fields() {
			col := rec.Column(j)
			switch {
			case f.Name == "as_of":
				d, err := c.num("as_of", days)
				if err != nil {
					t.Fatal(err)
				}
				m[f.Name] = d(i)
			case col.IsNull(i):
				m[f.Name] = math.NaN()
			default:
				switch a := col.(type) {
				case *array.Float64:
					m[f.Name] = a.Value(i)
				case *array.String:
					m[f.Name] = a.Value(i)
				default:
					m[f.Name] = a.ValueStr(i)
				}
			}
		}
		out[id(i)] = m
	}
	return out
}

func sameValue(a, b any) bool {
	x, ok1 := a.(float64)
	y, ok2 := b.(float64)
	if ok1 && ok2 {
		if math.IsNaN(x) || math.IsNaN(y) {
			return math.IsNaN(x) && math.IsNaN(y)
		}
		return math.Abs(x-y) <= 1e-9*math.Max(1, math.Abs(y))
	}
	return fmt.Sprint(a) == fmt.Sprint(b)
}

// query1 returns the first column of q's rows as text.
func query1(t *testing.T, e warehouse.Engine, q, tenant string, kv ...string) []string {
	t.Helper()
	p := warehouse.Params{"tenant": tenant}
	for i := 0; i+1 < len(kv); i += 2 {
		p[kv[i]] = kv[i+1]
	}
	var out []string
	var s string
	rr, err := e.Query(context.Background(), q, p)
	if err != nil {
		t.Fatal(err)
	}
	defer rr.Release()
	if err := warehouse.Scan(rr, func() error { out = append(out, s); return nil }, &s); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestHistoriesHoldNoPointers keeps the loaded rows out of the garbage
// collector's scans: no row type holds a pointer.
func TestHistoriesHoldNoPointers(t *testing.T) {
	for _, v := range []any{custRow{}, invRow{}, payRow{}, ddRow{}, remRow{}, arrRow{}, dispRow{}, evRow{}} {
		if p := pointerField(reflect.TypeOf(v)); p != "" {
			t.Errorf("%T holds a pointer: %s", v, p)
		}
	}
	b := reflect.TypeOf(histBase{})
	for i := range b.NumField() {
		f := b.Field(i)
		switch f.Name {
		case "tenants", "seq", "loadedAt", "orphans":
			continue // one string per tenant; one value per load
		}
		fields := []reflect.StructField{f}
		if f.Type.Kind() == reflect.Struct { // a table's rows and offsets
			fields = reflect.VisibleFields(f.Type)
		}
		for _, g := range fields {
			if g.Type.Kind() != reflect.Slice {
				t.Errorf("histBase.%s.%s: want slices", f.Name, g.Name)
			} else if p := pointerField(g.Type.Elem()); p != "" {
				t.Errorf("histBase.%s holds pointers: %s", f.Name, p)
			}
		}
	}
}

// pointerField names a field of t that is or holds a pointer ("" when
// none does).
func pointerField(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Pointer, reflect.String, reflect.Slice, reflect.Map, reflect.Interface, reflect.Chan, reflect.Func, reflect.UnsafePointer:
		return t.String()
	case reflect.Struct:
		for i := range t.NumField() {
			if p := pointerField(t.Field(i).Type); p != "" {
				return t.Field(i).Name + ": " + p
			}
		}
	case reflect.Array:
		return pointerField(t.Elem())
	}
	return ""
}
