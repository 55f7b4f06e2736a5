package datasets

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
)

// goodRows is one valid row per contract table, by column name.
var goodRows = map[string]map[string]string{
	"customers": {"tenant": "acme", "customer_id": "C1", "created_at": "2024-03-01", "customer_type": "consumer", "segment": "energy",
		"channel": "online", "payment_method": "direct_debit", "country": "NL", "postcode_area": "1012", "monthly_amount": "85.50", "credit_limit": ""},
	"invoices": {"tenant": "acme", "invoice_id": "I1", "customer_id": "C1", "issued_at": "2025-01-01", "due_at": "2025-01-15", "amount": "85.50", "currency": "EUR"},
	"payments": {"tenant": "acme", "payment_id": "P1", "invoice_id": "I1", "customer_id": "C1", "paid_at": "2025-01-14T08:00:00Z", "amount": "85.50", "method": "bank_transfer"},
	"direct_debits": {"tenant": "acme", "attempt_id": "D1", "invoice_id": "I1", "customer_id": "C1", "attempted_at": "2025-01-15T06:00:00Z",
		"status": "failed", "reason": "AM04"},
	"reminders": {"tenant": "acme", "reminder_id": "R1", "invoice_id": "I1", "customer_id": "C1", "sent_at": "2025-01-22T09:00:00Z", "stage": "reminder", "channel": "email"},
	"arrangements": {"tenant": "acme", "arrangement_id": "A1", "customer_id": "C1", "agreed_at": "2025-02-01T10:00:00Z", "installments": "3",
		"amount": "171.00", "status": "active", "ended_at": ""},
	"disputes": {"tenant": "acme", "dispute_id": "X1", "invoice_id": "I1", "customer_id": "C1", "opened_at": "2025-01-20T10:00:00Z",
		"resolved_at": "2025-02-01T10:00:00Z", "outcome": "creditor"},
	"customer_events": {"tenant": "acme", "event_id": "E1", "customer_id": "C1", "occurred_at": "2025-01-05T12:00:00Z", "kind": "address_change", "detail": ""},
}

// rowsCSV renders rows of table as CSV with the contract header.
func rowsCSV(t *testing.T, table string, rows ...map[string]string) string {
	t.Helper()
	tb, _ := TableByName(table)
	var b strings.Builder
	w := csv.NewWriter(&b)
	w.Write(tb.columnNames())
	for _, r := range rows {
		rec := make([]string, len(tb.Columns))
		for i, c := range tb.Columns {
			rec[i] = r[c.Name]
		}
		w.Write(rec)
	}
	w.Flush()
	return b.String()
}

func with(table string, col, v string) map[string]string {
	r := map[string]string{}
	for k, x := range goodRows[table] {
		r[k] = x
	}
	r[col] = v
	return r
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// readResult is what reading a file through the pipeline gave.
type readResult struct {
	recs     []arrow.Record
	problems []string
	read     int
}

// rows returns every good row as text, for comparing formats.
func (r readResult) rows() []string {
	var out []string
	for _, rec := range r.recs {
		for i := 0; i < int(rec.NumRows()); i++ {
			var cells []string
			for _, c := range rec.Columns() {
				cells = append(cells, cellText(c, i))
			}
			out = append(out, strings.Join(cells, "|"))
		}
	}
	return out
}

// readPath runs path through the Loader's reading and validation pipeline
// (no warehouse involved).
func readPath(t *testing.T, path string, cfg LoaderConfig) (readResult, error) {
	t.Helper()
	if cfg.ChunkBytes == 0 {
		d := DefaultLoaderConfig()
		d.Tenant, d.Table, d.Workers = cfg.Tenant, cfg.Table, cfg.Workers
		cfg = d
	}
	if cfg.Workers == 0 {
		cfg.Workers = 2
	}
	l := &Loader{cfg: cfg, log: slog.New(slog.DiscardHandler), mem: memory.DefaultAllocator, st: &loaderState{}}
	jobs, err := l.plan([]string{path})
	if err != nil {
		return readResult{}, err
	}
	var res readResult
	for _, j := range jobs {
		src, err := l.open(context.Background(), j)
		if err != nil {
			return res, err
		}
		err = l.pipeline(context.Background(), src, func(b *batch) error {
			if b.rec != nil {
				res.recs = append(res.recs, b.rec)
				t.Cleanup(b.rec.Release)
			}
			res.read += b.read
			for _, r := range b.rejects {
				res.problems = append(res.problems, r.message(path))
			}
			return nil
		})
		src.close()
		if err != nil {
			return res, err
		}
	}
	return res, nil
}

func TestValidationRules(t *testing.T) {
	for _, tc := range []struct {
		name  string
		table string
		col   string
		value string
		want  string // the problem after "file:2: "; empty = the row is good
	}{
		{"good customer", "customers", "tenant", "acme", ""},
		{"empty required", "invoices", "customer_id", "", "customer_id: required value is empty"},
		{"empty tenant", "invoices", "tenant", "", "tenant: required value is empty"},
		{"bad date", "invoices", "issued_at", "2025-02-30", `issued_at: invalid date "2025-02-30": want YYYY-MM-DD`},
		{"due before issued", "invoices", "due_at", "2024-12-31", "due_at: before issued_at"},
		{"due same day", "invoices", "due_at", "2025-01-01", ""},
		{"zero amount", "invoices", "amount", "0.00", "amount: must be > 0"},
		{"negative payment", "payments", "amount", "-3", "amount: must be > 0"},
		{"three decimals", "payments", "amount", "3.141", `amount: invalid amount "3.141": more than 2 decimals`},
		{"lower-case currency", "invoices", "currency", "eur", `currency: invalid currency "eur": want 3 upper-case letters (ISO 4217), e.g. EUR`},
		{"long currency", "invoices", "currency", "EURO", `currency: invalid currency "EURO": want 3 upper-case letters (ISO 4217), e.g. EUR`},
		{"country", "customers", "country", "NLD", `country: invalid country "NLD": want 2 upper-case letters (ISO 3166 alpha-2), e.g. NL`},
		{"enum", "payments", "method", "cash", `method: invalid value "cash": want one of direct_debit, bank_transfer, card, pay_link, collection_agency`},
		{"optional enum empty", "disputes", "outcome", "", ""},
		{"optional enum bad", "disputes", "outcome", "nobody", `outcome: invalid value "nobody": want one of customer, creditor`},
		{"timestamp", "payments", "paid_at", "2025-01-14 08:00", `paid_at: invalid timestamp "2025-01-14 08:00": want RFC 3339, e.g. 2025-01-31T09:30:00Z`},
		{"timestamp offset", "payments", "paid_at", "2025-01-14T09:00:00+01:00", ""},
		{"int", "arrangements", "installments", "three", `installments: invalid integer "three"`},
		{"installments zero", "arrangements", "installments", "0", "installments: must be > 0"},
		{"ended before agreed", "arrangements", "ended_at", "2025-01-01T00:00:00Z", "ended_at: before agreed_at"},
		{"resolved before opened", "disputes", "resolved_at", "2025-01-01T00:00:00Z", "resolved_at: before opened_at"},
		{"utf8", "customer_events", "detail", "caf\xe9", "detail: invalid UTF-8"},
		{"optional amount", "customers", "credit_limit", "1500", ""},
		{"optional amount bad", "customers", "credit_limit", "lots", `credit_limit: invalid amount "lots": want a decimal such as 1234.50`},
		{"customer type", "customers", "customer_type", "Consumer", `customer_type: invalid value "Consumer": want one of consumer, business`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := writeFile(t, t.TempDir(), tc.table+".csv", rowsCSV(t, tc.table, goodRows[tc.table], with(tc.table, tc.col, tc.value)))
			res, err := readPath(t, path, LoaderConfig{})
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			good := 2
			if tc.want != "" {
				want = []string{path + ":3: " + tc.want}
				good = 1
			}
			if strings.Join(res.problems, "\n") != strings.Join(want, "\n") {
				t.Fatalf("problems %q, want %q", res.problems, want)
			}
			if n := len(res.rows()); n != good || res.read != 2 {
				t.Fatalf("read %d, good %d; want 2, %d", res.read, n, good)
			}
		})
	}
}

func TestTenantRule(t *testing.T) {
	dir := t.TempDir()
	noTenant := "invoice_id,customer_id,issued_at,due_at,amount,currency\nI1,C1,2025-01-01,2025-01-15,10,EUR\n"
	for _, tc := range []struct {
		name, file, content, tenant string
		want                        []string
		err                         string
	}{
		{"filled", "a/invoices.csv", noTenant, "acme", nil, ""},
		{"missing without tenant", "b/invoices.csv", noTenant, "", nil, "header: missing required columns tenant"},
		{"other tenant", "c/invoices.csv", rowsCSV(t, "invoices", with("invoices", "tenant", "evil"), with("invoices", "tenant", "")), "acme",
			[]string{`:2: tenant: tenant "evil" is not the load's tenant "acme"`}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			os.MkdirAll(filepath.Join(dir, filepath.Dir(tc.file)), 0o755)
			p := writeFile(t, dir, tc.file, tc.content)
			res, err := readPath(t, p, LoaderConfig{Tenant: tc.tenant})
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want %q", err, tc.err)
				}
				if tc.tenant == "" && !errors.Is(err, ErrNoTenant) {
					t.Fatalf("err %v does not wrap ErrNoTenant", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(res.problems) != len(tc.want) {
				t.Fatalf("problems %q, want %q", res.problems, tc.want)
			}
			for i, w := range tc.want {
				if res.problems[i] != p+w {
					t.Fatalf("problem %q, want %q", res.problems[i], p+w)
				}
			}
			for _, rec := range res.recs {
				ten := rec.Column(0).(*array.String)
				for i := 0; i < ten.Len(); i++ {
					if ten.Value(i) != "acme" {
						t.Fatalf("row %d has tenant %q", i, ten.Value(i))
					}
				}
			}
		})
	}
}

func TestHeaderErrors(t *testing.T) {
	for _, tc := range []struct{ name, content, err string }{
		{"extra", "tenant,invoice_id,customer_id,issued_at,due_at,amount,currency,vat,note\n",
			`header: unknown columns "vat", "note" (table invoices has tenant, invoice_id, customer_id, issued_at, due_at, amount, currency)`},
		{"missing", "tenant,invoice_id,issued_at,amount\n", "header: missing required columns customer_id, due_at, currency"},
		{"duplicate", "tenant,invoice_id,customer_id,issued_at,due_at,amount,currency,amount\n", "header: duplicate columns amount"},
		{"empty", "", "empty file: want a header line"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := writeFile(t, t.TempDir(), "invoices.csv", tc.content)
			_, err := readPath(t, p, LoaderConfig{})
			if err == nil || err.Error() != p+": "+tc.err {
				t.Fatalf("err %v\nwant %s: %s", err, p, tc.err)
			}
		})
	}
}

func TestCSVStructure(t *testing.T) {
	content := "\xef\xbb\xbftenant,customer_id,created_at,customer_type,segment,channel,payment_method,country,postcode_area,monthly_amount,credit_limit\r\n" +
		"acme,C1,2024-03-01,consumer,\"energy, gas\",online,card,NL,,10,\r\n" +
		"acme,C2,2024-03-01,consumer,\"multi\nline \"\"quoted\"\"\",online,card,NL,,10,\r\n" +
		"\r\n" +
		"acme,C3,2024-03-01,consumer,x,online,card,NL,,10\r\n" +
		"acme,C4,2024-03-01,consumer,x\"y,online,card,NL,,10,\r\n" +
		"acme,C5,2024-03-01,consumer,\"x\"y,online,card,NL,,10,\r\n" +
		"acme,C6,2024-03-01,business,telecom,offline,pay_link,BE,1000,20.5,300"
	for _, chunk := range []int{16, 64, 1 << 20} {
		t.Run(fmt.Sprint(chunk), func(t *testing.T) {
			p := writeFile(t, t.TempDir(), "customers.csv", content)
			cfg := DefaultLoaderConfig()
			cfg.ChunkBytes = chunk
			cfg.Workers = 2
			res, err := readPath(t, p, cfg)
			if err != nil {
				t.Fatal(err)
			}
			want := []string{
				p + ":6: 10 fields, header has 11",
				p + `:7: bare " in unquoted field 5`,
				p + `:8: extraneous character 'y' after quoted field 5`,
			}
			if strings.Join(res.problems, "\n") != strings.Join(want, "\n") {
				t.Fatalf("chunk %d: problems\n%s\nwant\n%s", chunk, strings.Join(res.problems, "\n"), strings.Join(want, "\n"))
			}
			rows := res.rows()
			if len(rows) != 3 || res.read != 6 {
				t.Fatalf("chunk %d: read %d, good %q", chunk, res.read, rows)
			}
			if !strings.Contains(rows[0], "|energy, gas|") || !strings.Contains(rows[1], "|multi\nline \"quoted\"|") || !strings.Contains(rows[2], "|20.50|300.00") {
				t.Fatalf("chunk %d: rows %q", chunk, rows)
			}
		})
	}
}
