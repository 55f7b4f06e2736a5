package features

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/duewise/duewise/datasets/synth"
	"github.com/duewise/duewise/warehouse"
	"github.com/duewise/duewise/warehouse/warehousetest"
)

// genWorld generates a small synthetic world (CSV) and returns its
// histories, read from the files (not from the warehouse).
func genWorld(t *testing.T, customers int) []*History {
	t.Helper()
	cfg := synth.DefaultConfig()
	cfg.Customers, cfg.Months, cfg.Seed, cfg.Out = customers, 24, 7, t.TempDir()
	if _, err := synth.Generate(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	byID := map[string]*History{}
	var order []string
	read := func(table string, each func(id string, row json.RawMessage) error) {
		f, err := os.Open(filepath.Join(cfg.Out, table+".csv"))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		recs, err := csv.NewReader(f).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		head := recs[0]
		for _, r := range recs[1:] {
			m := map[string]any{}
			for i, c := range head {
				switch {
				case r[i] == "" && c != "postcode_area" && c != "reason" && c != "detail" && c != "outcome":
					m[c] = nil
				case c == "installments":
					m[c] = json.Number(r[i])
				default:
					m[c] = r[i]
				}
			}
			b, _ := json.Marshal(m)
			if err := each(m["customer_id"].(string), b); err != nil {
				t.Fatalf("%s: %v", table, err)
			}
		}
	}
	read("customers", func(id string, b json.RawMessage) error {
		h := &History{}
		order = append(order, id)
		byID[id] = h
		return json.Unmarshal(b, &h.Customer)
	})
	get := func(id string) *History { return byID[id] }
	read("invoices", func(id string, b json.RawMessage) error {
		var v Invoice
		err := json.Unmarshal(b, &v)
		get(id).Invoices = append(get(id).Invoices, v)
		return err
	})
	read("payments", func(id string, b json.RawMessage) error {
		var v Payment
		err := json.Unmarshal(b, &v)
		get(id).Payments = append(get(id).Payments, v)
		return err
	})
	read("direct_debits", func(id string, b json.RawMessage) error {
		var v DirectDebit
		err := json.Unmarshal(b, &v)
		get(id).DirectDebits = append(get(id).DirectDebits, v)
		return err
	})
	read("reminders", func(id string, b json.RawMessage) error {
		var v Reminder
		err := json.Unmarshal(b, &v)
		get(id).Reminders = append(get(id).Reminders, v)
		return err
	})
	read("arrangements", func(id string, b json.RawMessage) error {
		var v Arrangement
		err := json.Unmarshal(b, &v)
		get(id).Arrangements = append(get(id).Arrangements, v)
		return err
	})
	read("disputes", func(id string, b json.RawMessage) error {
		var v Dispute
		err := json.Unmarshal(b, &v)
		get(id).Disputes = append(get(id).Disputes, v)
		return err
	})
	read("customer_events", func(id string, b json.RawMessage) error {
		var v CustomerEvent
		err := json.Unmarshal(b, &v)
		get(id).Events = append(get(id).Events, v)
		return err
	})
	out := make([]*History, len(order))
	for i, id := range order {
		out[i] = byID[id]
	}
	return out
}

// signalsAt reads SignalsAt into rows keyed by customer_id.
func signalsAt(t *testing.T, e warehouse.Engine, tenant string, at time.Time) map[string]map[string]any {
	t.Helper()
	rr, err := SignalsAt(context.Background(), e, tenant, "", at, 30)
	if err != nil {
		t.Fatal(err)
	}
	tb := readAll(t, rr)
	out := map[string]map[string]any{}
	for _, r := range tb.rows {
		out[r["customer_id"].(string)] = r
	}
	return out
}

// TestComputeMatchesSQL holds features.Compute equal to the SQL for every
// customer of a generated world at several dates, on both backends, and
// the two backends' snapshots equal to each other.
func TestComputeMatchesSQL(t *testing.T) {
	if testing.Short() {
		t.Skip("generates a world")
	}
	world := genWorld(t, 150)
	dates := []time.Time{D("2025-03-01").Time, D("2025-11-17").Time, D("2026-10-01").Time}
	snaps := map[string]table{}
	warehousetest.Each(t, func(t *testing.T, e warehouse.Engine) {
		tenant := warehousetest.Tenant(t)
		loadHistories(t, e, tenant, world...)
		liveDiffers := 0
		// compare checks Compute's rows against the SQL's at one moment.
		compare := func(at time.Time, mode string, sql map[string]map[string]any, compute func(*History) (Row, error)) {
			checked := 0
			for _, h := range world {
				row, err := compute(h)
				r, ok := sql[h.Customer.CustomerID]
				if err != nil {
					if ok {
						t.Errorf("%s %s at %s: SQL row but Compute: %v", mode, h.Customer.CustomerID, at.Format(time.DateTime), err)
					}
					continue
				}
				if !ok {
					t.Errorf("%s %s at %s: no SQL row", mode, h.Customer.CustomerID, at.Format(time.DateTime))
					continue
				}
				checked++
				if r["status"] != row.Status || (r["departed"] != nil && (r["departed"] == int64(1)) != row.Departed) {
					t.Errorf("%s %s at %s: status %v departed %v, Compute %s %v", mode, row.CustomerID, at.Format(time.DateTime), r["status"], r["departed"], row.Status, row.Departed)
				}
				for i, name := range row.Names {
					if got := num(r[name]); !sameFloat(got, row.Values[i]) {
						t.Errorf("%s %s at %s: %s SQL %v, Compute %v", mode, row.CustomerID, at.Format(time.DateTime), name, got, row.Values[i])
					}
				}
				for i, name := range row.CategoricalNames {
					if r[name] != row.Categorical[i] {
						t.Errorf("%s %s: %s SQL %v, Compute %v", mode, row.CustomerID, name, r[name], row.Categorical[i])
					}
				}
			}
			if checked < 50 {
				t.Errorf("%s: only %d customers checked at %s", mode, checked, at.Format(time.DateTime))
			}
		}
		for _, at := range dates {
			compare(at, "as of", signalsAt(t, e, tenant, at), func(h *History) (Row, error) { return Compute(h, at, 30) })
			// The live refresh at 14:00 counts that day's events too.
			now := at.Add(14 * time.Hour)
			if _, err := Refresh(context.Background(), e, RefreshOptions{Tenant: tenant, Live: true, Now: now}); err != nil {
				t.Fatal(err)
			}
			rr, err := Latest(context.Background(), e, tenant)
			if err != nil {
				t.Fatal(err)
			}
			live := map[string]map[string]any{}
			for _, r := range readAll(t, rr).rows {
				live[r["customer_id"].(string)] = r
			}
			compare(now, "live", live, func(h *History) (Row, error) { return ComputeLive(h, now, 30) })
			for _, h := range world {
				a, errA := Compute(h, at, 30)
				b, errB := ComputeLive(h, now, 30)
				if errA == nil && errB == nil && !slices.EqualFunc(a.Values, b.Values, sameFloat) {
					liveDiffers++
				}
			}
		}
		if liveDiffers == 0 {
			t.Error("no customer has events on the live refresh's day: the live comparison checks nothing")
		}
		rr, err := Snapshot(context.Background(), e, SnapshotOptions{Tenant: tenant, From: D("2024-12-01").Time, To: D("2026-11-01").Time, Every: "1mo"})
		if err != nil {
			t.Fatal(err)
		}
		snaps[e.Backend()] = readAll(t, rr)
		rr, err = Snapshot(context.Background(), e, SnapshotOptions{Tenant: tenant, Level: LevelInvoice, From: D("2024-12-01").Time, To: D("2026-11-01").Time})
		if err != nil {
			t.Fatal(err)
		}
		snaps[e.Backend()+"/invoice"] = readAll(t, rr)
		// In parts of about 75 customers: the same rows in the same order,
		// and progress after each part.
		for _, level := range []string{LevelCustomer, LevelInvoice} {
			var done []int64
			rr, err := Snapshot(context.Background(), e, SnapshotOptions{Tenant: tenant, Level: level, From: D("2024-12-01").Time, To: D("2026-11-01").Time, Every: "1mo",
				PartCustomers: 75, Progress: func(d, total int64) { done = append(done, d, total) }})
			if err != nil {
				t.Fatal(err)
			}
			whole := snaps[e.Backend()]
			if level == LevelInvoice {
				whole = snaps[e.Backend()+"/invoice"]
			}
			compareTables(t, readAll(t, rr), whole)
			if fmt.Sprint(done) != "[0 150 75 150 150 150]" {
				t.Errorf("%s level: progress %v, want 0, 75 and 150 of 150 customers", level, done)
			}
		}
		// Given customers at given dates, in chunks of 40 customers: the
		// rows of the whole snapshot at those pairs.
		var at []CustomerDate
		var want table
		want.schema = snaps[e.Backend()].schema
		for i, r := range snaps[e.Backend()].rows {
			if i%3 == 0 {
				at = append(at, CustomerDate{Customer: r["customer_id"].(string), Date: r["as_of"].(time.Time)})
				want.rows = append(want.rows, r)
			}
		}
		at = append(at, CustomerDate{Customer: "NOBODY", Date: D("2025-06-01").Time})
		rr, err = SnapshotAt(context.Background(), e, AtOptions{Tenant: tenant, At: at, Chunk: 40})
		if err != nil {
			t.Fatal(err)
		}
		compareTables(t, readAll(t, rr), want)
	})
	for _, k := range []string{"", "/invoice"} {
		a, okA := snaps["chdb"+k]
		b, okB := snaps["server"+k]
		if !okA || !okB {
			continue
		}
		t.Run("parity"+k, func(t *testing.T) {
			if len(a.rows) < 100 {
				t.Fatalf("only %d rows", len(a.rows))
			}
			for _, r := range b.rows { // tenants differ per backend
				r["tenant"] = a.rows[0]["tenant"]
			}
			if !sameFields(a.schema, b.schema) {
				t.Errorf("schemas differ:\n%s\n%s", a.schema, b.schema)
			}
			compareTables(t, b, a)
		})
	}
}

// truncate returns h as known at 00:00 UTC on T: rows dated at or after T
// removed, arrangements and disputes that ended at or after T still open.
// It returns nil for a customer created after T.
func truncate(h *History, T time.Time) *History {
	if h.Customer.CreatedAt.After(T) {
		return nil
	}
	before := func(t time.Time) bool { return t.Before(T) }
	o := &History{Customer: h.Customer}
	for _, r := range h.Invoices {
		if before(r.IssuedAt.Time) {
			o.Invoices = append(o.Invoices, r)
		}
	}
	for _, r := range h.Payments {
		if before(r.PaidAt) {
			o.Payments = append(o.Payments, r)
		}
	}
	for _, r := range h.DirectDebits {
		if before(r.AttemptedAt) {
			o.DirectDebits = append(o.DirectDebits, r)
		}
	}
	for _, r := range h.Reminders {
		if before(r.SentAt) {
			o.Reminders = append(o.Reminders, r)
		}
	}
	for _, r := range h.Arrangements {
		if before(r.AgreedAt) {
			if r.EndedAt != nil && !before(*r.EndedAt) {
				r.EndedAt, r.Status = nil, "active"
			}
			o.Arrangements = append(o.Arrangements, r)
		}
	}
	for _, r := range h.Disputes {
		if before(r.OpenedAt) {
			if r.ResolvedAt != nil && !before(*r.ResolvedAt) {
				r.ResolvedAt, r.Outcome = nil, ""
			}
			o.Disputes = append(o.Disputes, r)
		}
	}
	for _, r := range h.Events {
		if before(r.OccurredAt) {
			o.Events = append(o.Events, r)
		}
	}
	return o
}

// mutateFuture changes every row dated at or after T and adds one new row
// per table at exactly T: none of it may change a signal at T.
func mutateFuture(h *History, T time.Time) *History {
	o := *h
	c := h.Customer.CustomerID
	late := func(t time.Time) bool { return !t.Before(T) }
	o.Invoices = append([]Invoice(nil), h.Invoices...)
	for i := range o.Invoices {
		if late(o.Invoices[i].IssuedAt.Time) {
			o.Invoices[i].Amount += 777
			o.Invoices[i].DueAt = Date{o.Invoices[i].DueAt.AddDate(0, 0, 3)}
		}
	}
	o.Payments = append([]Payment(nil), h.Payments...)
	for i := range o.Payments {
		if late(o.Payments[i].PaidAt) {
			o.Payments[i].Amount = 1
			o.Payments[i].Method = "collection_agency"
		}
	}
	o.DirectDebits = append([]DirectDebit(nil), h.DirectDebits...)
	for i := range o.DirectDebits {
		if late(o.DirectDebits[i].AttemptedAt) {
			o.DirectDebits[i].Status, o.DirectDebits[i].Reason = "failed", "AM04"
		}
	}
	o.Reminders = append([]Reminder(nil), h.Reminders...)
	for i := range o.Reminders {
		if late(o.Reminders[i].SentAt) {
			o.Reminders[i].Stage = "final_notice"
		}
	}
	o.Arrangements = append([]Arrangement(nil), h.Arrangements...)
	for i := range o.Arrangements {
		if a := &o.Arrangements[i]; a.EndedAt != nil && late(*a.EndedAt) {
			a.Status = "broken"
		}
	}
	o.Disputes = append([]Dispute(nil), h.Disputes...)
	for i := range o.Disputes {
		if d := &o.Disputes[i]; d.ResolvedAt != nil && late(*d.ResolvedAt) {
			d.Outcome = "customer"
		}
	}
	o.Events = append([]CustomerEvent(nil), h.Events...)
	for i := range o.Events {
		if late(o.Events[i].OccurredAt) {
			o.Events[i].Kind = "address_change"
		}
	}
	// New rows exactly at T.
	o.Invoices = append(o.Invoices, Invoice{InvoiceID: c + "-NEW", CustomerID: c, IssuedAt: Date{T}, DueAt: Date{T}, Amount: 5000, Currency: "EUR"})
	if len(h.Invoices) > 0 {
		first := h.Invoices[0]
		o.Payments = append(o.Payments, Payment{PaymentID: c + "-NEWP", InvoiceID: first.InvoiceID, CustomerID: c, PaidAt: T, Amount: first.Amount, Method: "card"})
		o.DirectDebits = append(o.DirectDebits, DirectDebit{AttemptID: c + "-NEWD", InvoiceID: first.InvoiceID, CustomerID: c, AttemptedAt: T, Status: "reversed", Reason: "AC04"})
		o.Reminders = append(o.Reminders, Reminder{ReminderID: c + "-NEWR", InvoiceID: first.InvoiceID, CustomerID: c, SentAt: T, Stage: "reminder", Channel: "sms"})
		o.Disputes = append(o.Disputes, Dispute{DisputeID: c + "-NEWX", InvoiceID: first.InvoiceID, CustomerID: c, OpenedAt: T})
	}
	o.Arrangements = append(o.Arrangements, Arrangement{ArrangementID: c + "-NEWA", CustomerID: c, AgreedAt: T, Installments: 2, Amount: 100, Status: "active"})
	o.Events = append(o.Events, CustomerEvent{EventID: c + "-NEWE", CustomerID: c, OccurredAt: T, Kind: "contract_change", Detail: "contract ended"})
	return &o
}

// TestNoLeakage proves that deleting, changing or adding events at or after
// T never changes a signal at T: the signals of the full histories, of the
// histories truncated at T and of the histories with a mutated future are
// identical, in SQL on both backends and in Compute.
func TestNoLeakage(t *testing.T) {
	if testing.Short() {
		t.Skip("generates a world")
	}
	T := D("2025-09-01").Time
	world := append(genWorld(t, 60), labelHistories()...)
	var truncated, mutated []*History
	for _, h := range world {
		if tr := truncate(h, T); tr != nil {
			truncated = append(truncated, tr)
		}
		mutated = append(mutated, mutateFuture(h, T))
	}
	for i, h := range world {
		full, err1 := Compute(h, T, 30)
		mut, err2 := Compute(mutated[i], T, 30)
		if (err1 == nil) != (err2 == nil) {
			t.Fatalf("%s: Compute errors %v / %v", h.Customer.CustomerID, err1, err2)
		}
		if err1 != nil {
			continue
		}
		for k := range full.Values {
			if !sameFloat(full.Values[k], mut.Values[k]) {
				t.Errorf("Compute %s: %s %v with the future mutated, %v without", h.Customer.CustomerID, full.Names[k], mut.Values[k], full.Values[k])
			}
		}
	}
	warehousetest.Each(t, func(t *testing.T, e warehouse.Engine) {
		tenants := [3]string{warehousetest.Tenant(t), warehousetest.Tenant(t), warehousetest.Tenant(t)}
		loadHistories(t, e, tenants[0], world...)
		loadHistories(t, e, tenants[1], truncated...)
		loadHistories(t, e, tenants[2], mutated...)
		base := signalsAt(t, e, tenants[0], T)
		if len(base) < 40 {
			t.Fatalf("only %d customers at T", len(base))
		}
		for v, name := range []string{"", "truncated", "mutated"} {
			if v == 0 {
				continue
			}
			other := signalsAt(t, e, tenants[v], T)
			if len(other) != len(base) {
				t.Errorf("%s: %d customers at T, full history %d", name, len(other), len(base))
			}
			ids := make([]string, 0, len(base))
			for id := range base {
				ids = append(ids, id)
			}
			sort.Strings(ids)
			bad := 0
			for _, id := range ids {
				a, b := base[id], other[id]
				if b == nil {
					t.Errorf("%s: no row for %s", name, id)
					continue
				}
				for _, s := range catalog {
					same := a[s.Name] == b[s.Name]
					if s.Kind == Numeric {
						same = sameFloat(num(a[s.Name]), num(b[s.Name]))
					}
					if !same && bad < 20 {
						bad++
						t.Errorf("%s %s: %s = %v, full history %v", name, id, s.Name, b[s.Name], a[s.Name])
					}
				}
				if a["status"] != b["status"] || a["departed"] != b["departed"] {
					t.Errorf("%s %s: status/departed %v %v, full history %v %v", name, id, b["status"], b["departed"], a["status"], a["departed"])
				}
			}
		}
	})
}
