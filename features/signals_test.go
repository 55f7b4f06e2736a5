package features

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/duewise/duewise/warehouse"
	"github.com/duewise/duewise/warehouse/warehousetest"
)

// The reference date of the hand-worked histories.
var refT = D("2025-07-01").Time

func amt(s string) Amount {
	var a Amount
	if err := a.UnmarshalJSON([]byte(s)); err != nil {
		panic(err)
	}
	return a
}

func tsp(s string) *time.Time { t := TS(s); return &t }

func customer(id, created string) Customer {
	return Customer{CustomerID: id, CreatedAt: D(created), CustomerType: "consumer", Segment: "energy", Channel: "online",
		PaymentMethod: "direct_debit", Country: "NL", PostcodeArea: "1012", MonthlyAmount: amt("100.00")}
}

func inv(cust, id, issued, due, amount string) Invoice {
	return Invoice{InvoiceID: id, CustomerID: cust, IssuedAt: D(issued), DueAt: D(due), Amount: amt(amount), Currency: "EUR"}
}

func pmt(cust, id, invoice, at, amount string) Payment {
	return Payment{PaymentID: id, InvoiceID: invoice, CustomerID: cust, PaidAt: TS(at), Amount: amt(amount), Method: "bank_transfer"}
}

func rem(cust, id, invoice, at, stage string) Reminder {
	return Reminder{ReminderID: id, InvoiceID: invoice, CustomerID: cust, SentAt: TS(at), Stage: stage, Channel: "email"}
}

func dd(cust, id, invoice, at, status, reason string) DirectDebit {
	return DirectDebit{AttemptID: id, InvoiceID: invoice, CustomerID: cust, AttemptedAt: TS(at), Status: status, Reason: reason}
}

func ev(cust, id, at, kind, detail string) CustomerEvent {
	return CustomerEvent{EventID: id, CustomerID: cust, OccurredAt: TS(at), Kind: kind, Detail: detail}
}

// mainHistory is the hand-made customer C1 whose every canonical signal at
// 2025-07-01 is worked out by hand in TestSignalsHandWorked. The comments
// give each row's role.
func mainHistory() *History {
	c := "C1"
	return &History{
		Customer: customer(c, "2023-01-15"),
		Invoices: []Invoice{
			inv(c, "I1", "2024-06-01", "2024-06-15", "100.00"), // due before the 365d window; paid 47 days late
			inv(c, "I2", "2025-01-01", "2025-01-15", "100.00"), // paid a day early: lateness 0, pay day -1
			inv(c, "I3", "2025-02-01", "2025-02-15", "100.00"), // paid in two parts, in full on 03-01: lateness 14
			inv(c, "I4", "2025-05-20", "2025-06-10", "80.00"),  // 30.00 paid before T: open overdue 50.00, lateness 21
			inv(c, "I5", "2025-06-01", "2025-07-01", "100.00"), // due at T, paid exactly at T: not in any window, open at T
			inv(c, "I6", "2025-07-05", "2025-07-19", "100.00"), // issued after T: ignored; never paid -> behind on 08-18
			inv(c, "I7", "2025-04-01", "2025-04-15", "100.00"), // paid 10 days after its first reminder: lateness 20
			inv(c, "I8", "2025-05-01", "2025-05-15", "100.00"), // paid after the final notice: lateness 41
		},
		Payments: []Payment{
			pmt(c, "P1", "I1", "2024-08-01T09:00:00Z", "100.00"),
			pmt(c, "P2", "I2", "2025-01-14T10:00:00Z", "100.00"),
			pmt(c, "P3a", "I3", "2025-02-20T08:00:00Z", "40.00"),
			pmt(c, "P3b", "I3", "2025-03-01T12:00:00Z", "60.00"),
			pmt(c, "P4a", "I4", "2025-06-20T08:00:00Z", "30.00"),
			pmt(c, "P4b", "I4", "2025-07-05T08:00:00Z", "50.00"), // after T: settles I4 before it is 30 days late
			pmt(c, "P5", "I5", "2025-07-01T00:00:00Z", "100.00"), // exactly at T: not known at T
			pmt(c, "P7", "I7", "2025-05-05T10:00:00Z", "100.00"),
			pmt(c, "P8", "I8", "2025-06-25T09:00:00Z", "100.00"),
		},
		DirectDebits: []DirectDebit{
			dd(c, "D1", "I4", "2025-06-10T04:00:00Z", "failed", "AM04"),
			dd(c, "D2", "I8", "2025-05-15T04:00:00Z", "failed", "AC04"),
			dd(c, "D3", "I2", "2025-01-15T04:00:00Z", "succeeded", ""),
			dd(c, "D4", "I1", "2024-12-01T04:00:00Z", "reversed", "MD06"),
			dd(c, "D5", "I5", "2025-07-01T04:00:00Z", "failed", "AM04"), // at T
			dd(c, "D6", "I1", "2024-06-30T04:00:00Z", "failed", "AC06"), // the day before the 365d window
		},
		Reminders: []Reminder{
			rem(c, "R3", "I3", "2025-03-01T09:00:00Z", "reminder"), // same day as the final payment (12:00)
			rem(c, "R7", "I7", "2025-04-25T09:00:00Z", "reminder"),
			rem(c, "R8a", "I8", "2025-05-25T09:00:00Z", "reminder"),
			rem(c, "R8b", "I8", "2025-06-08T09:00:00Z", "second_reminder"),
			rem(c, "R8c", "I8", "2025-06-20T09:00:00Z", "final_notice"),
			rem(c, "R4", "I4", "2025-07-01T08:00:00Z", "reminder"), // on T: not before T
		},
		Arrangements: []Arrangement{
			{ArrangementID: "A1", CustomerID: c, AgreedAt: TS("2023-09-01T10:00:00Z"), Installments: 3, Amount: amt("300.00"), Status: "broken", EndedAt: tsp("2023-12-01T10:00:00Z")},
			{ArrangementID: "A2", CustomerID: c, AgreedAt: TS("2025-06-15T10:00:00Z"), Installments: 2, Amount: amt("80.00"), Status: "completed", EndedAt: tsp("2025-08-01T10:00:00Z")},
		},
		Disputes: []Dispute{
			{DisputeID: "X1", InvoiceID: "I3", CustomerID: c, OpenedAt: TS("2025-02-16T10:00:00Z"), ResolvedAt: tsp("2025-02-28T10:00:00Z"), Outcome: "creditor"},
			{DisputeID: "X2", InvoiceID: "I4", CustomerID: c, OpenedAt: TS("2025-06-12T10:00:00Z"), ResolvedAt: tsp("2025-07-01T10:00:00Z"), Outcome: "creditor"},
		},
		Events: []CustomerEvent{
			ev(c, "E1", "2025-01-05T12:00:00Z", "address_change", ""),
			ev(c, "E2", "2024-12-31T12:00:00Z", "address_change", ""), // before the 180d window (2025-01-02)
			ev(c, "E3", "2025-07-01T00:00:00Z", "address_change", ""), // at T
			ev(c, "E4", "2025-02-01T12:00:00Z", "contract_change", "tariff change"),
		},
	}
}

// mainExpected are C1's signals at 2025-07-01, worked out by hand.
// Window 365d = [2024-07-01, 2025-07-01): invoices I2, I3, I4, I7, I8 with
// running lateness 0, 14, 21, 20, 41.
var mainExpected = map[string]float64{
	"tenure_days":                          898, // 2023-01-15 .. 2025-07-01
	"invoices_365d":                        5,
	"late_share_365d":                      4.0 / 5,
	"days_late_mean_365d":                  96.0 / 5,
	"days_late_max_365d":                   41,
	"invoices_30dpd_365d":                  1, // I8
	"open_overdue_count":                   1, // I4 (I5 is due at T, not before)
	"open_overdue_amount":                  50,
	"oldest_overdue_days":                  21,
	"days_since_last_late":                 21, // I4 due 2025-06-10
	"dd_failed_90d":                        2,  // D1, D2 (D4 outside 90d, D5 at T)
	"dd_insufficient_funds_365d":           1,  // D1
	"dd_account_closed_365d":               1,  // D2 (D6 the day before the window)
	"reminders_90d":                        4,  // R7, R8a-c (R3 before the window, R4 at T)
	"final_notices_365d":                   1,
	"paid_after_first_reminder_share_365d": 2.0 / 3, // I3 (same day, after), I7 yes; I8 no (31 days); I4's reminder is at T
	"arrangements_broken_730d":             1,
	"arrangement_active":                   1, // A2 ends after T
	"disputes_open":                        1, // X2 resolved on T
	"address_changes_180d":                 1,
	"payment_day_std_365d":                 math.Sqrt(227.25), // pay days -1, 14, 20, 41: mean 18.5, variance 909/4
	"monthly_amount":                       100,

	"late_share_90d":                 3.0 / 3, // due in [2025-04-02, T): I7, I8, I4 with lateness 20, 41, 21
	"days_late_mean_90d":             82.0 / 3,
	"late_share_trend":               1 - 0.8,
	"partial_payment_share_365d":     2.0 / 5, // I3 (two payments), I4 (30 of 80)
	"open_invoices_count":            2,       // I4, I5
	"open_amount":                    150,
	"overdue_to_monthly":             0.5,
	"invoice_amount_mean_365d":       480.0 / 5,
	"dd_attempts_365d":               4, // D1-D4
	"dd_failed_share_365d":           3.0 / 4,
	"days_since_last_dd_failure":     21,
	"reminders_365d":                 5,
	"days_since_last_reminder":       11,
	"collections_365d":               0,
	"collection_payments_730d":       0,
	"arrangements_730d":              2, // A1 (agreed 2023-09-01, inside [2023-07-02, T)), A2
	"disputes_365d":                  2,
	"payment_method_changes_365d":    0,
	"contacts_90d":                   0,
	"complaints_365d":                0,
	"credit_limit":                   math.NaN(),
	"credit_utilisation":             math.NaN(),
	"last_due_days_late":             21, // I4, due 2025-06-10, the latest due date before T
	"as_of_month":                    7,
	"reminder_stage_30d":             3,         // R8c final notice on 06-20 (R8b second reminder on 06-08; R7, R8a before the window; R4 at T)
	"payment_day_mean_90d":           30.5,      // paid in full in [2025-04-02, T): I7 +20, I8 +41
	"payment_day_mean_365d":          121.0 / 5, // paid in full in [2024-07-01, T): I1 +47 (due before the window), I2 -1, I3 +14, I7 +20, I8 +41
	"days_since_last_on_time":        167,       // I2, due 2025-01-15, the only invoice due before T with lateness 0
	"days_since_last_address_change": 177,
	"last_payment_day":               41, // I8 paid in full on 06-25, the latest full payment before T (I4 not in full, I5 at T)       // E1 on 2025-01-05 (E3 at T is not before T)
}

func TestSignalsHandWorked(t *testing.T) {
	h := mainHistory()
	t.Run("compute", func(t *testing.T) {
		row, err := Compute(h, refT, 30)
		if err != nil {
			t.Fatal(err)
		}
		checkExpected(t, func(name string) float64 { v, _ := row.Value(name); return v })
		if v, _ := row.Attr("last_dd_failure_reason"); v != "AM04" {
			t.Errorf("last_dd_failure_reason %q, want AM04 (D1 on 06-10; D5 at T)", v)
		}
		if row.Status != "ok" || row.Departed {
			t.Errorf("status %q departed %v, want ok false", row.Status, row.Departed)
		}
	})
	warehousetest.Each(t, func(t *testing.T, e warehouse.Engine) {
		tenant := warehousetest.Tenant(t)
		loadHistories(t, e, tenant, h)
		rr, err := Snapshot(context.Background(), e, SnapshotOptions{Tenant: tenant, From: refT, To: refT, Every: "1mo", EndOfData: D("2025-12-31").Time})
		if err != nil {
			t.Fatal(err)
		}
		tb := readAll(t, rr)
		r, ok := tb.find("C1", refT)
		if !ok || len(tb.rows) != 1 {
			t.Fatalf("want one row for C1, got %d", len(tb.rows))
		}
		checkExpected(t, func(name string) float64 { return num(r[name]) })
		if r["last_dd_failure_reason"] != "AM04" {
			t.Errorf("last_dd_failure_reason %v, want AM04 (D1 on 06-10; D5 at T)", r["last_dd_failure_reason"])
		}
		if r["segment"] != "energy" || r["payment_method"] != "direct_debit" || r["tenant"] != tenant {
			t.Errorf("attributes: %v", r)
		}
		// I6 (issued after T, never paid) puts C1 behind on 2025-08-18.
		if r["event"] != int64(1) || r["duration_days"] != int64(48) {
			t.Errorf("label: event %v duration %v, want 1 48", r["event"], r["duration_days"])
		}
	})
}

func checkExpected(t *testing.T, get func(string) float64) {
	t.Helper()
	for _, s := range catalog {
		if s.Kind != Numeric {
			continue
		}
		want, ok := mainExpected[s.Name]
		if !ok {
			t.Errorf("%s: no hand-worked value", s.Name)
			continue
		}
		if got := get(s.Name); !sameFloat(got, want) {
			t.Errorf("%s = %v, want %v", s.Name, got, want)
		}
	}
}
