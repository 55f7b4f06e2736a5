package public

import (
	"context"
	"fmt"
	"math"
	"time"

	rf "github.com/duewise/duewise/datasets/rowfile"
)

// UCIAsOf is the reference date of the UCI labels: default.payment.next.month
// says whether the card holder defaulted in the month after September 2005.
var UCIAsOf = time.Date(2005, time.October, 1, 0, 0, 0, 0, time.UTC)

// UCI source months, oldest first: the March 2005 statement (seen only
// through April's status and payment) and April..September 2005.
var uciMonths = [...]struct {
	status, bill, paid string // columns of the month; bill of March is unknown
}{
	{"", "", ""},
	{"PAY_6", "BILL_AMT6", "PAY_AMT6"}, // April
	{"PAY_5", "BILL_AMT5", "PAY_AMT5"},
	{"PAY_4", "BILL_AMT4", "PAY_AMT4"},
	{"PAY_3", "BILL_AMT3", "PAY_AMT3"},
	{"PAY_2", "BILL_AMT2", "PAY_AMT2"},
	{"PAY_0", "BILL_AMT1", "PAY_AMT1"}, // September
}

// uciDueDays is the time from statement to due date.
const uciDueDays = 25

// uciColumns are the source columns ImportUCI reads. SEX, EDUCATION,
// MARRIAGE and AGE are protected attributes and are never read.
var uciColumns = []string{"ID", "LIMIT_BAL", "default.payment.next.month",
	"PAY_0", "PAY_2", "PAY_3", "PAY_4", "PAY_5", "PAY_6",
	"BILL_AMT1", "BILL_AMT2", "BILL_AMT3", "BILL_AMT4", "BILL_AMT5", "BILL_AMT6",
	"PAY_AMT1", "PAY_AMT2", "PAY_AMT3", "PAY_AMT4", "PAY_AMT5", "PAY_AMT6"}

// ImportUCI converts the UCI "default of credit card clients" CSV file at
// path into contract CSV files plus labels.csv in outDir, all with the
// given tenant. Each monthly statement becomes an invoice (issued at the end
// of the month, due 25 days later); the repayment status of the following
// month decides when it was paid; LIMIT_BAL becomes credit_limit. SEX,
// EDUCATION, MARRIAGE and AGE are not mapped. See docs/public-datasets.md.
// It is safe for concurrent use with different outDirs.
func ImportUCI(ctx context.Context, path, tenant, outDir string) (Result, error) {
	src, err := openSource(path, uciColumns)
	if err != nil {
		return Result{}, fmt.Errorf("import uci: %w", err)
	}
	defer src.close()
	// Statement dates: last day of each month, March..September 2005.
	var stmt [len(uciMonths)]rf.Date
	for j := range uciMonths {
		stmt[j] = rf.DateOf(time.Date(2005, time.April+time.Month(j), 0, 0, 0, 0, 0, time.UTC))
	}
	asOf := rf.TimeOf(UCIAsOf)
	created := rf.DateOf(time.Date(2005, time.March, 1, 0, 0, 0, 0, time.UTC))
	var b rf.Batch
	n, err := src.each(ctx, func() error { return uciRow(src, &b, stmt, created, asOf) })
	if err != nil {
		return Result{}, fmt.Errorf("import uci: %w", err)
	}
	if n == 0 {
		return Result{}, fmt.Errorf("import uci: %s: no data rows", path)
	}
	rows, files, err := write(outDir, tenant, []string{rf.LabelsTable}, &b)
	if err != nil {
		return Result{}, fmt.Errorf("import uci: %w", err)
	}
	return Result{Source: path, SourceRows: n, Rows: rows, Files: files}, nil
}

func uciRow(src *source, b *rf.Batch, stmt [len(uciMonths)]rf.Date, created rf.Date, asOf rf.Time) error {
	id := src.str("ID")
	if id == "" {
		return src.errf("ID", "empty")
	}
	var status [len(uciMonths)]int
	var bill, paid [len(uciMonths)]rf.Cents
	for j, m := range uciMonths {
		if j == 0 {
			continue
		}
		s, err := src.float(m.status)
		if err != nil {
			return err
		}
		if s != math.Trunc(s) || s < -2 || s > 9 {
			return src.errf(m.status, "repayment status %v not in -2..9", s)
		}
		status[j] = int(s)
		v, err := src.float(m.bill)
		if err != nil {
			return err
		}
		bill[j] = rf.CentsOf(v)
		if v, err = src.float(m.paid); err != nil {
			return err
		}
		if v < 0 {
			return src.errf(m.paid, "negative payment %v", v)
		}
		paid[j] = rf.CentsOf(v)
	}
	limit, err := src.float("LIMIT_BAL")
	if err != nil {
		return err
	}
	if limit < 0 {
		return src.errf("LIMIT_BAL", "negative credit limit %v", limit)
	}
	def := src.str("default.payment.next.month")
	if def != "0" && def != "1" {
		return src.errf("default.payment.next.month", "%q, want 0 or 1", def)
	}
	b.Customers = append(b.Customers, rf.Customer{
		ID: id, CreatedAt: created, Type: "consumer", Segment: "credit_card", Channel: "offline",
		PaymentMethod: "bank_transfer", Country: "TW", MonthlyAmount: max(bill[1], 0), CreditLimit: rf.CentsOf(limit),
	})
	b.Labels = append(b.Labels, rf.Label{CustomerID: id, AsOf: rf.DateOf(UCIAsOf), Event: int32(def[0] - '0')})
	// Statement j is paid according to the status and payment of month j+1.
	for j := 0; j < len(uciMonths); j++ {
		due := stmt[j] + uciDueDays
		inv := rf.Invoice{ID: id + "-" + stmt[j].Time().Format("2006-01"), CustomerID: id, IssuedAt: stmt[j], DueAt: due, Currency: "TWD"}
		if j == len(uciMonths)-1 {
			// September: due 2005-10-25, after the labels' reference date.
			if bill[j] <= 0 {
				continue
			}
			inv.Amount = bill[j]
			b.Invoices = append(b.Invoices, inv)
			continue
		}
		if j > 0 && bill[j] <= 0 {
			continue // no balance on the statement: nothing due
		}
		d, p := status[j+1], paid[j+1]
		var settled rf.Time
		switch {
		case d <= 0 && p > 0:
			// Paid by the due date: in full, or the minimum of a revolving
			// balance (the rest is billed again on the next statement).
			inv.Amount = p
			if j > 0 {
				inv.Amount = min(bill[j], p)
			}
			settled = (due - 3).At(12, 0, 0)
		case d <= 0:
			continue // nothing was due: no payment that month, yet no delay
		default:
			// Unpaid for d months: settled d months after it fell due (if
			// that is before the reference date).
			inv.Amount = bill[j]
			if j == 0 {
				inv.Amount = bill[1] // March balance is unknown; April's contains it
			}
			if inv.Amount <= 0 {
				continue
			}
			settled = (due + rf.Date(30*d-10)).At(12, 0, 0)
		}
		b.Invoices = append(b.Invoices, inv)
		if d >= 1 && stmt[j+1] < rf.DateOf(UCIAsOf) {
			// The next statement reports the account d months past due: a
			// dunning notice, known on that statement's date.
			b.Reminders = append(b.Reminders, rf.Reminder{
				InvoiceRef: rf.InvoiceRef{ID: inv.ID + "-R", InvoiceID: inv.ID, CustomerID: id},
				SentAt:     stmt[j+1].At(12, 0, 0), Stage: uciDunningStage(d), Channel: "letter",
			})
		}
		if settled < asOf {
			b.Payments = append(b.Payments, rf.Payment{
				InvoiceRef: rf.InvoiceRef{ID: inv.ID + "-P", InvoiceID: inv.ID, CustomerID: id}, PaidAt: settled, Amount: inv.Amount, Method: "bank_transfer",
			})
		}
	}
	return nil
}

// uciDunningStage is the dunning stage of a statement reported d >= 1
// months past due.
func uciDunningStage(d int) string {
	switch d {
	case 1:
		return "reminder"
	case 2:
		return "second_reminder"
	}
	return "final_notice"
}
