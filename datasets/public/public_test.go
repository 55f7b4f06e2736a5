package public

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/duewise/duewise/datasets/rowfile"
	"github.com/duewise/duewise/datasets/rowfile/rowfiletest"
)

// Row counts stated in ../shared/data/SOURCE.md.
const (
	uciCardHolders  = 30000
	ibmInvoices     = 2466
	ibmCustomers    = 100
	uciFile         = "UCI_Credit_Card.csv"
	ibmFile         = "WA_Fn-UseC_-Accounts-Receivable.csv"
	sharedDataRel   = "../shared/data"
	protectedHeader = "SEX,EDUCATION,MARRIAGE,AGE"
)

// sharedData returns the path of a public dataset beside the repository
// (../shared/data relative to the repo root). It skips the test when the
// file is absent, and fails it under CI=true.
func sharedData(t *testing.T, name string) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("repository root (go.mod) not found")
		}
		dir = parent
	}
	p := filepath.Join(dir, sharedDataRel, name)
	if _, err := os.Stat(p); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("public dataset missing under CI: %v", err)
		}
		t.Skipf("public dataset %s not available: %v", name, err)
	}
	return p
}

// readSource reads a source CSV independently of the importer.
func readSource(t *testing.T, path string) (map[string]int, [][]string) {
	t.Helper()
	tb := rowfiletest.ReadFile(t, path)
	return tb.Col, tb.Rows
}

// importer is the signature of ImportUCI and ImportIBMAR.
type importer func(ctx context.Context, path, tenant, outDir string) (Result, error)

// runImport imports the shared dataset file with fn into a temporary
// folder, checks every output file against the contract and reads the
// source back.
func runImport(t *testing.T, file, tenant string, fn importer) (res Result, out string, tabs map[string]*rowfiletest.Table, col map[string]int, src [][]string) {
	t.Helper()
	path := sharedData(t, file)
	out = t.TempDir()
	res, err := fn(context.Background(), path, tenant, out)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("rows: %v", res.Rows)
	tabs = rowfiletest.CheckContract(t, out)
	col, src = readSource(t, path)
	return res, out, tabs, col, src
}

func num(t *testing.T, s string) float64 {
	t.Helper()
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestImportUCI(t *testing.T) {
	res, out, tabs, col, src := runImport(t, uciFile, "uci", ImportUCI)
	labels := rowfiletest.ReadTable(t, out, rowfile.LabelsTable)
	t.Run("row counts", func(t *testing.T) {
		if res.SourceRows != uciCardHolders || len(src) != uciCardHolders {
			t.Fatalf("source rows %d (file %d), SOURCE.md says %d", res.SourceRows, len(src), uciCardHolders)
		}
		if n := len(tabs["customers"].Rows); n != uciCardHolders {
			t.Errorf("customers: %d", n)
		}
		if n := len(labels.Rows); n != uciCardHolders {
			t.Errorf("labels: %d", n)
		}
		for name, n := range res.Rows {
			if name != rowfile.LabelsTable && int64(len(tabs[name].Rows)) != n {
				t.Errorf("%s: %d rows in file, result says %d", name, len(tabs[name].Rows), n)
			}
		}
	})

	t.Run("protected attributes are not mapped", func(t *testing.T) {
		for _, f := range res.Files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			head := strings.ToUpper(strings.SplitN(string(b), "\n", 2)[0])
			for _, h := range strings.Split(head, ",") {
				if strings.Contains(","+protectedHeader+",", ","+h+",") {
					t.Errorf("%s: header %q has protected column %s", f, head, h)
				}
			}
		}
	})

	byID := map[string][]string{}
	for _, r := range src {
		byID[r[col["ID"]]] = r
	}
	t.Run("customers and labels match the source", func(t *testing.T) {
		cu := tabs["customers"]
		for _, r := range cu.Rows {
			s := byID[r[1]]
			if s == nil {
				t.Fatalf("customer %s not in source", r[1])
			}
			if got, want := num(t, cu.Get(r, "credit_limit")), num(t, s[col["LIMIT_BAL"]]); got != want {
				t.Fatalf("customer %s: credit_limit %v, LIMIT_BAL %v", r[1], got, want)
			}
		}
		pos := 0
		for _, r := range labels.Rows {
			if want := byID[r[1]][col["default.payment.next.month"]]; labels.Get(r, "event") != want {
				t.Fatalf("label of %s: %s, source %s", r[1], labels.Get(r, "event"), want)
			}
			if labels.Get(r, "as_of") != "2005-10-01" {
				t.Fatalf("label as_of %s", labels.Get(r, "as_of"))
			}
			if labels.Get(r, "event") == "1" {
				pos++
			}
		}
		// SOURCE.md: 22.12% positive.
		if share := float64(pos) / uciCardHolders; share < 0.2211 || share > 0.2213 {
			t.Errorf("default share %.4f, SOURCE.md says 0.2212", share)
		}
	})

	t.Run("payment timing reproduces the repayment status", func(t *testing.T) {
		inv := tabs["invoices"]
		pay := tabs["payments"]
		paidAt := map[string]time.Time{}
		for _, r := range pay.Rows {
			at, _ := time.Parse(time.RFC3339, pay.Get(r, "paid_at"))
			paidAt[pay.Get(r, "invoice_id")] = at
		}
		// The status of month m+1 describes the statement of month m.
		next := map[string]string{"2005-03": "PAY_6", "2005-04": "PAY_5", "2005-05": "PAY_4", "2005-06": "PAY_3", "2005-07": "PAY_2", "2005-08": "PAY_0"}
		checked := 0
		for _, r := range inv.Rows {
			month := inv.Get(r, "issued_at")[:7]
			stCol, ok := next[month]
			if !ok {
				continue
			}
			status := int(num(t, byID[inv.Get(r, "customer_id")][col[stCol]]))
			due, _ := time.Parse(time.DateOnly, inv.Get(r, "due_at"))
			at, paid := paidAt[r[1]]
			var got int // 0 on time, 1 up to 30 days late, 2 later or unpaid
			switch {
			case paid && !at.After(due.AddDate(0, 0, 1)):
				got = 0
			case paid && at.Before(due.AddDate(0, 0, 30)):
				got = 1
			default:
				got = 2
			}
			want := min(max(status, 0), 2)
			if status == 1 && !paid {
				want = 2 // settled after the reference date
			}
			if got != want {
				t.Fatalf("invoice %s: status %s=%d but paid %v (%v) for due %s", r[1], stCol, status, paid, at, due.Format(time.DateOnly))
			}
			checked++
		}
		if checked < 100000 {
			t.Errorf("only %d statements checked", checked)
		}
	})
}

func TestImportIBMAR(t *testing.T) {
	res, _, tabs, col, src := runImport(t, ibmFile, "ibm", ImportIBMAR)
	if res.SourceRows != ibmInvoices || len(src) != ibmInvoices {
		t.Fatalf("source rows %d (file %d), SOURCE.md says %d", res.SourceRows, len(src), ibmInvoices)
	}
	for name, want := range map[string]int{"customers": ibmCustomers, "invoices": ibmInvoices, "payments": ibmInvoices} {
		if n := len(tabs[name].Rows); n != want {
			t.Errorf("%s: %d rows, want %d", name, n, want)
		}
	}
	inv := map[string][]string{}
	for _, r := range tabs["invoices"].Rows {
		inv[r[1]] = r
	}
	pays := map[string][]string{}
	for _, r := range tabs["payments"].Rows {
		pays[r[2]] = r
	}
	disputes := map[string][]string{}
	for _, r := range tabs["disputes"].Rows {
		disputes[r[2]] = r
	}
	day := func(s string) string {
		v, err := time.Parse("1/2/2006", s)
		if err != nil {
			t.Fatal(err)
		}
		return v.Format(time.DateOnly)
	}
	nDisputed, nLate := 0, 0
	for _, s := range src {
		id := s[col["invoiceNumber"]]
		r := inv[id]
		if r == nil {
			t.Fatalf("invoice %s missing", id)
		}
		if r[2] != s[col["customerID"]] || r[3] != day(s[col["InvoiceDate"]]) || r[4] != day(s[col["DueDate"]]) ||
			num(t, r[5]) != num(t, s[col["InvoiceAmount"]]) || r[6] != "USD" {
			t.Fatalf("invoice %s: %v from source %v", id, r, s)
		}
		p := pays[id]
		if p == nil || p[4][:10] != day(s[col["SettledDate"]]) || p[5] != r[5] {
			t.Fatalf("payment of %s: %v, settled %s", id, p, s[col["SettledDate"]])
		}
		if p[4][:10] > r[4] {
			nLate++
		}
		d := disputes[id]
		if (s[col["Disputed"]] == "Yes") != (d != nil) {
			t.Fatalf("invoice %s: Disputed=%s, dispute row %v", id, s[col["Disputed"]], d)
		}
		if d != nil {
			nDisputed++
			// Opened after the invoice, before settlement; resolved at it.
			if d[4][:10] < r[3] || d[4] >= p[4] || d[5] != p[4] || d[6] != "creditor" {
				t.Fatalf("dispute of %s: %v, invoice %v, payment %v", id, d, r, p)
			}
		}
	}
	if n := len(tabs["disputes"].Rows); n != nDisputed {
		t.Errorf("disputes: %d rows, source has %d disputed invoices", n, nDisputed)
	}
	// SOURCE.md: 35.6% of invoices paid late.
	if share := float64(nLate) / ibmInvoices; share < 0.3555 || share > 0.3565 {
		t.Errorf("late share %.4f, SOURCE.md says 0.356", share)
	}
	first := map[string]string{}
	for _, s := range src {
		c, d := s[col["customerID"]], day(s[col["InvoiceDate"]])
		if f, ok := first[c]; !ok || d < f {
			first[c] = d
		}
	}
	cu := tabs["customers"]
	for _, r := range cu.Rows {
		if cu.Get(r, "created_at") != first[r[1]] {
			t.Errorf("customer %s created_at %s, first invoice %s", r[1], cu.Get(r, "created_at"), first[r[1]])
		}
	}
}

func TestImportRejectsBadInput(t *testing.T) {
	uciHead := "ID,LIMIT_BAL,SEX,EDUCATION,MARRIAGE,AGE,PAY_0,PAY_2,PAY_3,PAY_4,PAY_5,PAY_6,BILL_AMT1,BILL_AMT2,BILL_AMT3,BILL_AMT4,BILL_AMT5,BILL_AMT6,PAY_AMT1,PAY_AMT2,PAY_AMT3,PAY_AMT4,PAY_AMT5,PAY_AMT6,default.payment.next.month\n"
	uciOK := "1,20000,2,2,1,24,2,2,-1,-1,-2,-2,3913,3102,689,0,0,0,0,689,0,0,0,0,1\n"
	ibmHead := "countryCode,customerID,PaperlessDate,invoiceNumber,InvoiceDate,DueDate,InvoiceAmount,Disputed,SettledDate,PaperlessBill,DaysToSettle,DaysLate\n"
	ibmOK := "391,0379-NEVHP,4/6/2013,0000611365,1/2/2013,2/1/2013,55.94,No,1/15/2013,Paper,13,0\n"
	uci := func(ctx context.Context, p, o string) error { _, err := ImportUCI(ctx, p, "t", o); return err }
	ibm := func(ctx context.Context, p, o string) error { _, err := ImportIBMAR(ctx, p, "t", o); return err }
	cases := []struct {
		name, content, want string
		run                 func(context.Context, string, string) error
	}{
		{"uci missing column", "ID,LIMIT_BAL\n1,2\n", `:1: header: column "default.payment.next.month" missing`, uci},
		{"uci bad status", uciHead + uciOK + strings.Replace(uciOK, "1,20000,2,2,1,24,2,", "2,20000,2,2,1,24,x,", 1), ":3:7: PAY_0: \"x\" is not a number", uci},
		{"uci bad label", uciHead + strings.TrimSuffix(uciOK, "1\n") + "7\n", ":2:25: default.payment.next.month", uci},
		{"uci empty", uciHead, "no data rows", uci},
		{"ibm bad date", ibmHead + ibmOK + strings.Replace(ibmOK, "1/2/2013", "2013-01-02", 1), `:3:5: InvoiceDate: "2013-01-02" is not a M/D/YYYY date`, ibm},
		{"ibm unknown country", ibmHead + "999" + ibmOK[3:], ":2:1: countryCode: unknown code", ibm},
		{"ibm bad disputed", ibmHead + strings.Replace(ibmOK, ",No,", ",Maybe,", 1), `:2:8: Disputed: "Maybe"`, ibm},
		{"ibm due before issue", ibmHead + strings.Replace(ibmOK, "2/1/2013", "1/1/2013", 1), ":2:6: DueDate: before InvoiceDate", ibm},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "in.csv")
			if err := os.WriteFile(p, []byte(tc.content), 0o644); err != nil {
				t.Fatal(err)
			}
			err := tc.run(context.Background(), p, t.TempDir())
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want it to contain %q", err, tc.want)
			}
			if !strings.Contains(err.Error(), p) && tc.want != "no data rows" {
				t.Fatalf("error %v does not name the file", err)
			}
		})
	}
}
