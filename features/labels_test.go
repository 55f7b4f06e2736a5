package features

import (
	"context"
	"encoding/csv"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow/go/v15/arrow"

	"github.com/duewise/duewise/warehouse"
	"github.com/duewise/duewise/warehouse/warehousetest"
)

// labelHistories are small customers for the label and row rules at
// 2025-07-01 (see TestLabels).
func labelHistories() []*History {
	behind := &History{Customer: customer("C2", "2024-01-01"), Invoices: []Invoice{
		inv("C2", "I21", "2025-04-17", "2025-05-01", "50.00"), // unpaid 61 days at T: behind
	}}
	future := &History{Customer: customer("C3", "2025-07-02")} // created after T: no row
	leaving := &History{Customer: customer("C4", "2024-01-01"), Events: []CustomerEvent{
		ev("C4", "E41", "2025-07-20T10:00:00Z", "contract_change", "contract ended"), // censored at departure
	}}
	left := &History{Customer: customer("C5", "2024-01-01"), Events: []CustomerEvent{
		ev("C5", "E51", "2025-06-20T10:00:00Z", "contract_change", "Contract ended by customer"), // gone before T
	}}
	lateish := &History{Customer: customer("C6", "2024-01-01"), Invoices: []Invoice{
		inv("C6", "I61", "2025-05-27", "2025-06-10", "50.00"), // unpaid 21 days at T; paid 2025-07-25
	}, Payments: []Payment{pmt("C6", "P61", "I61", "2025-07-25T10:00:00Z", "50.00")}}
	created := &History{Customer: customer("C7", "2025-07-01")} // created on T: tenure 0
	return []*History{mainHistory(), behind, future, leaving, left, lateish, created}
}

func TestLabels(t *testing.T) {
	type want struct {
		present         bool
		event, duration int64
	}
	cases := []struct {
		name      string
		threshold int
		eod       string
		want      map[string]want
	}{
		{"threshold 30, data to year end", 30, "2025-12-31", map[string]want{
			"C1": {true, 1, 48},  // I6 unpaid on 2025-08-18
			"C2": {false, 0, 0},  // already behind at T
			"C3": {false, 0, 0},  // created after T
			"C4": {true, 0, 19},  // censored at departure 2025-07-20
			"C5": {false, 0, 0},  // contract ended before T
			"C6": {true, 1, 9},   // I61 (due 06-10) still unpaid at its 30-day mark 2025-07-10
			"C7": {true, 0, 183}, // nothing happens: censored at the end of the data
		}},
		{"threshold 30, data to 2025-08-01", 30, "2025-08-01", map[string]want{
			"C1": {true, 0, 31}, // the 2025-08-18 event is after the end of the data: censored
			"C4": {true, 0, 19},
			"C7": {true, 0, 31},
		}},
		{"threshold 14", 14, "2025-12-31", map[string]want{
			"C6": {false, 0, 0}, // 21 days unpaid >= 14: behind at T
			"C1": {false, 0, 0}, // I4 (due 06-10) is unpaid 21 >= 14 days at T: behind
		}},
	}

	warehousetest.Each(t, func(t *testing.T, e warehouse.Engine) {
		tenant := warehousetest.Tenant(t)
		loadHistories(t, e, tenant, labelHistories()...)
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				rr, err := Snapshot(context.Background(), e, SnapshotOptions{Tenant: tenant, From: refT, To: refT, Every: "1mo",
					Threshold: c.threshold, EndOfData: D(c.eod).Time})
				if err != nil {
					t.Fatal(err)
				}
				tb := readAll(t, rr)
				for id, w := range c.want {
					r, ok := tb.find(id, refT)
					if ok != w.present {
						t.Errorf("%s: row present %v, want %v", id, ok, w.present)
						continue
					}
					if ok && (r["event"] != w.event || r["duration_days"] != w.duration) {
						t.Errorf("%s: event %v duration %v, want %d %d", id, r["event"], r["duration_days"], w.event, w.duration)
					}
				}
				if ok := checkOrder(tb); !ok {
					t.Error("rows not ordered by tenant, customer_id, as_of")
				}
				if r, ok := tb.find("C7", refT); ok && num(r["tenure_days"]) != 0 {
					t.Errorf("C7 tenure %v, want 0", r["tenure_days"])
				}
			})
		}
	})
}

func checkOrder(tb table) bool {
	for i := 1; i < len(tb.rows); i++ {
		a, b := tb.rows[i-1], tb.rows[i]
		ka := a["tenant"].(string) + "\x00" + a["customer_id"].(string)
		kb := b["tenant"].(string) + "\x00" + b["customer_id"].(string)
		if ka > kb || (ka == kb && a["as_of"].(time.Time).After(b["as_of"].(time.Time))) {
			return false
		}
	}
	return true
}

func TestSnapshotLevels(t *testing.T) {
	warehousetest.Each(t, func(t *testing.T, e warehouse.Engine) {
		ctx := context.Background()
		tenant := warehousetest.Tenant(t)
		loadHistories(t, e, tenant, labelHistories()...)
		eod := D("2025-12-31").Time

		t.Run("invoice", func(t *testing.T) {
			rr, err := Snapshot(ctx, e, SnapshotOptions{Tenant: tenant, Level: LevelInvoice, From: D("2025-01-01").Time, To: D("2025-12-31").Time, EndOfData: eod})
			if err != nil {
				t.Fatal(err)
			}
			tb := readAll(t, rr)
			byID := map[string]map[string]any{}
			for _, r := range tb.rows {
				byID[r["invoice_id"].(string)] = r
			}
			// I1 was issued in 2024: out of range; C2..C7's invoices: I21, I61.
			for _, id := range []string{"I2", "I3", "I4", "I5", "I6", "I7", "I8", "I21", "I61"} {
				if _, ok := byID[id]; !ok {
					t.Errorf("invoice %s: no row", id)
				}
			}
			if len(tb.rows) != 9 {
				t.Errorf("%d rows, want 9", len(tb.rows))
			}
			checks := []struct {
				id              string
				event, duration int64
				terms, amount   float64
			}{
				{"I2", 1, 0, 14, 100},   // paid a day early
				{"I3", 1, 14, 14, 100},  // paid in full 14 days after due
				{"I4", 1, 25, 21, 80},   // rest paid 2025-07-05: 25 days after due 06-10
				{"I6", 0, 165, 14, 100}, // never paid: censored at 2025-12-31, 165 days after due 07-19
				{"I21", 0, 244, 14, 50}, // never paid: due 05-01 .. 12-31
			}
			for _, c := range checks {
				r := byID[c.id]
				if r == nil {
					continue
				}
				if r["event"] != c.event || r["duration_days"] != c.duration || num(r["invoice_terms_days"]) != c.terms || num(r["invoice_amount"]) != c.amount {
					t.Errorf("%s: event %v duration %v terms %v amount %v, want %d %d %v %v", c.id, r["event"], r["duration_days"],
						r["invoice_terms_days"], r["invoice_amount"], c.event, c.duration, c.terms, c.amount)
				}
			}
			// The customer's signals as of the issue date: at I6's issue date
			// 2025-07-05, I4's final payment (07-05 08:00) is not yet known.
			if r := byID["I6"]; r != nil && num(r["open_overdue_count"]) != 1 {
				t.Errorf("I6: open_overdue_count %v at its issue date, want 1 (I4 unpaid before 07-05)", r["open_overdue_count"])
			}
			if f := tb.schema.Fields(); f[2].Name != "invoice_id" || f[3].Name != "as_of" {
				t.Errorf("invoice schema starts %s, %s, %s, %s", f[0].Name, f[1].Name, f[2].Name, f[3].Name)
			}
		})

		t.Run("invoice without a label yet", func(t *testing.T) {
			// With the data ending 2025-06-30: I5 (due 07-01, paid 07-01) is
			// neither on time nor late yet and has no row; I4 (due 06-10,
			// paid in full 07-05) is late and censored at the end.
			rr, err := Snapshot(ctx, e, SnapshotOptions{Tenant: tenant, Level: LevelInvoice, From: D("2025-01-01").Time, To: D("2025-06-30").Time, EndOfData: D("2025-06-30").Time})
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]map[string]any{}
			for _, r := range readAll(t, rr).rows {
				got[r["invoice_id"].(string)] = r
			}
			if _, ok := got["I5"]; ok || len(got) != 7 {
				t.Errorf("invoices %v: want I2, I3, I4, I7, I8, I21, I61 without I5", slices.Sorted(maps.Keys(got)))
			}
			if r := got["I4"]; r == nil || r["event"] != int64(0) || r["duration_days"] != int64(20) {
				t.Errorf("I4: %v, want censored after 20 days", r)
			}
		})

		t.Run("onboarding", func(t *testing.T) {
			rr, err := Snapshot(ctx, e, SnapshotOptions{Tenant: tenant, Level: LevelOnboarding, From: D("2023-01-01").Time, To: D("2025-12-31").Time, EndOfData: eod})
			if err != nil {
				t.Fatal(err)
			}
			tb := readAll(t, rr)
			var cols []string
			for _, f := range tb.schema.Fields() {
				cols = append(cols, f.Name)
			}
			want := append(append([]string{"tenant", "customer_id", "as_of"}, names(catalog, "", true)...), "duration_days", "event")
			if len(cols) != len(want) {
				t.Fatalf("columns %v, want %v", cols, want)
			}
			for i := range want {
				if cols[i] != want[i] {
					t.Fatalf("columns %v, want %v", cols, want)
				}
			}
			r, ok := tb.find("C1", time.Time{})
			if !ok || !r["as_of"].(time.Time).Equal(D("2023-01-15").Time) {
				t.Fatalf("C1 onboarding row: %v", r)
			}
			// From 2023-01-15 the first invoice to go behind is I1 (due
			// 2024-06-15, paid 2024-08-01): unpaid on 2024-07-15.
			if r["event"] != int64(1) || r["duration_days"] != int64(547) {
				t.Errorf("C1 onboarding label: event %v duration %v, want 1 547", r["event"], r["duration_days"])
			}
		})

		t.Run("files", func(t *testing.T) {
			for _, ext := range []string{".parquet", ".arrow"} {
				rr, err := Snapshot(ctx, e, SnapshotOptions{Tenant: tenant, From: D("2025-01-01").Time, To: refT, Every: "1mo", EndOfData: eod})
				if err != nil {
					t.Fatal(err)
				}
				want := readAll(t, rr)
				rr, err = Snapshot(ctx, e, SnapshotOptions{Tenant: tenant, From: D("2025-01-01").Time, To: refT, Every: "1mo", EndOfData: eod})
				if err != nil {
					t.Fatal(err)
				}
				path := filepath.Join(t.TempDir(), "snap"+ext)
				n, err := WriteFile(ctx, path, rr)
				rr.Release()
				if err != nil {
					t.Fatal(err)
				}
				if n != int64(len(want.rows)) || n == 0 {
					t.Fatalf("%s: wrote %d rows, want %d", ext, n, len(want.rows))
				}
				back, err := ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				got := readAll(t, back)
				if !sameFields(got.schema, want.schema) {
					t.Errorf("%s: schema\n%s\nwant\n%s", ext, got.schema, want.schema)
				}
				compareTables(t, got, want)
			}
			// CSV, for tools without a Parquet reader: the same columns
			// and rows, dates as YYYY-MM-DD, NULL as an empty cell.
			rr, err := Snapshot(ctx, e, SnapshotOptions{Tenant: tenant, From: D("2025-01-01").Time, To: refT, Every: "1mo", EndOfData: eod})
			if err != nil {
				t.Fatal(err)
			}
			want := readAll(t, rr)
			rr, err = Snapshot(ctx, e, SnapshotOptions{Tenant: tenant, From: D("2025-01-01").Time, To: refT, Every: "1mo", EndOfData: eod})
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), "snap.csv")
			_, err = WriteFile(ctx, path, rr)
			rr.Release()
			if err != nil {
				t.Fatal(err)
			}
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			recs, err := csv.NewReader(f).ReadAll()
			f.Close()
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, f := range want.schema.Fields() {
				names = append(names, f.Name)
			}
			if len(recs) != len(want.rows)+1 || strings.Join(recs[0], ",") != strings.Join(names, ",") {
				t.Fatalf("CSV: %d lines, header %v; want %d rows of %v", len(recs), recs[0], len(want.rows), names)
			}
			for i, r := range want.rows {
				for j, name := range recs[0] {
					var cell string
					switch v := r[name].(type) {
					case nil:
					case time.Time:
						cell = v.Format(time.DateOnly)
					case float64:
						cell = strconv.FormatFloat(v, 'g', -1, 64)
					default:
						cell = fmt.Sprint(v)
					}
					if recs[i+1][j] != cell {
						t.Fatalf("CSV row %d %s = %q, want %q", i, name, recs[i+1][j], cell)
					}
				}
			}
			if _, err := ReadFile(path); err == nil || !strings.Contains(err.Error(), ".parquet or .arrow") {
				t.Errorf("reading a CSV snapshot: %v", err)
			}
		})
	})
}

// compareTables checks two decoded results cell by cell.
func compareTables(t *testing.T, got, want table) {
	t.Helper()
	if len(got.rows) != len(want.rows) {
		t.Fatalf("%d rows, want %d", len(got.rows), len(want.rows))
	}
	bad := 0
	for i := range want.rows {
		for k, wv := range want.rows[i] {
			gv := got.rows[i][k]
			same := false
			switch w := wv.(type) {
			case float64:
				g, ok := gv.(float64)
				same = ok && sameFloat(g, w)
			case time.Time:
				g, ok := gv.(time.Time)
				same = ok && g.Equal(w)
			default:
				same = gv == wv
			}
			if !same && bad < 10 {
				bad++
				t.Errorf("row %d (%v %v) %s = %v, want %v", i, want.rows[i]["customer_id"], want.rows[i]["as_of"], k, gv, wv)
			}
		}
	}
}

// sameFields compares names, types and nullability (not metadata).
func sameFields(a, b *arrow.Schema) bool {
	if a.NumFields() != b.NumFields() {
		return false
	}
	for i := range a.Fields() {
		fa, fb := a.Field(i), b.Field(i)
		if fa.Name != fb.Name || !arrow.TypeEqual(fa.Type, fb.Type) || fa.Nullable != fb.Nullable {
			return false
		}
	}
	return true
}
