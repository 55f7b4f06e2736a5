package synth

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/apache/arrow/go/v15/parquet/file"
	"github.com/apache/arrow/go/v15/parquet/pqarrow"

	"github.com/duewise/duewise/datasets/rowfile"
	"github.com/duewise/duewise/datasets/rowfile/rowfiletest"
)

func testConfig(t testing.TB, customers, months int) Config {
	c := DefaultConfig()
	c.Customers, c.Months, c.Out = customers, months, t.TempDir()
	return c
}

func generate(t testing.TB, c Config) Stats {
	t.Helper()
	st, err := Generate(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func readAll(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string][]byte{}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		m[e.Name()] = b
	}
	return m
}

func TestConfigValidate(t *testing.T) {
	ok := DefaultConfig()
	cases := []struct {
		name string
		edit func(*Config)
	}{
		{"no customers", func(c *Config) { c.Customers = 0 }},
		{"no months", func(c *Config) { c.Months = 0 }},
		{"too many months", func(c *Config) { c.Months = 601 }},
		{"no tenant", func(c *Config) { c.Tenant = "" }},
		{"bad format", func(c *Config) { c.Format = "xlsx" }},
		{"no out", func(c *Config) { c.Out = "" }},
		{"mid-month start", func(c *Config) { c.Start = c.Start.AddDate(0, 0, 3) }},
		{"non-UTC start", func(c *Config) { c.Start = time.Date(2025, 1, 1, 0, 0, 0, 0, time.FixedZone("CET", 3600)) }},
	}
	if err := ok.Validate(); err != nil {
		t.Fatalf("default config: %v", err)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := ok
			tc.edit(&c)
			if err := c.Validate(); err == nil {
				t.Fatal("Validate accepted it")
			}
			if _, err := Generate(context.Background(), c); err == nil {
				t.Fatal("Generate accepted it")
			}
		})
	}
}

// TestDeterministic: the same config gives byte-identical files whatever
// the number of workers and GOMAXPROCS; another seed gives another world.
func TestDeterministic(t *testing.T) {
	for _, format := range []string{"csv", "parquet"} {
		t.Run(format, func(t *testing.T) {
			base := testConfig(t, 1200, 8)
			base.Format = format
			generate(t, base)
			want := readAll(t, base.Out)

			prev := runtime.GOMAXPROCS(1)
			t.Cleanup(func() { runtime.GOMAXPROCS(prev) })
			for _, workers := range []int{0, 1, 5} {
				c := base
				c.Out, c.Workers = t.TempDir(), workers
				generate(t, c)
				got := readAll(t, c.Out)
				if len(got) != len(want) {
					t.Fatalf("workers %d: %d files, want %d", workers, len(got), len(want))
				}
				for name, b := range want {
					if !bytes.Equal(got[name], b) {
						t.Fatalf("workers %d, GOMAXPROCS 1: %s differs", workers, name)
					}
				}
			}
			runtime.GOMAXPROCS(prev)

			other := base
			other.Out, other.Seed = t.TempDir(), base.Seed+1
			generate(t, other)
			if bytes.Equal(readAll(t, other.Out)["invoices."+format], want["invoices."+format]) {
				t.Fatal("seed+1 produced identical invoices")
			}
		})
	}
}

func TestFilesFollowContract(t *testing.T) {
	c := testConfig(t, 3000, 24)
	st := generate(t, c)
	tabs := rowfiletest.CheckContract(t, c.Out)
	for name, tb := range tabs {
		if int64(len(tb.Rows)) != st.Rows[name] {
			t.Errorf("%s: %d rows in file, Stats says %d", name, len(tb.Rows), st.Rows[name])
		}
		if len(tb.Rows) == 0 {
			t.Errorf("%s: empty", name)
		}
	}
	end := c.Start.AddDate(0, c.Months, 0)
	ids := map[string]map[string]bool{}
	for name, tb := range tabs {
		ids[name] = map[string]bool{}
		idCol := 1
		for _, r := range tb.Rows {
			if r[0] != c.Tenant {
				t.Fatalf("%s: tenant %q", name, r[0])
			}
			if ids[name][r[idCol]] {
				t.Fatalf("%s: duplicate id %s", name, r[idCol])
			}
			ids[name][r[idCol]] = true
			for col, i := range tb.Col {
				if v := r[i]; len(v) == 20 && v[10] == 'T' {
					if ts, _ := time.Parse(time.RFC3339, v); !ts.Before(end) {
						t.Fatalf("%s.%s: %s is at or after the end of the world %s", name, col, v, end)
					}
				}
			}
		}
	}
	// References point to existing rows.
	for _, name := range []string{"invoices", "payments", "direct_debits", "reminders", "arrangements", "disputes", "customer_events"} {
		tb := tabs[name]
		for _, r := range tb.Rows {
			if !ids["customers"][tb.Get(r, "customer_id")] {
				t.Fatalf("%s: unknown customer %s", name, tb.Get(r, "customer_id"))
			}
			if _, ok := tb.Col["invoice_id"]; ok && name != "invoices" && !ids["invoices"][tb.Get(r, "invoice_id")] {
				t.Fatalf("%s: unknown invoice %s", name, tb.Get(r, "invoice_id"))
			}
		}
	}
	inv := tabs["invoices"]
	amount := map[string]float64{}
	for _, r := range inv.Rows {
		if inv.Get(r, "due_at") < inv.Get(r, "issued_at") {
			t.Fatalf("invoice %s due before issue", r[1])
		}
		amount[r[1]], _ = strconv.ParseFloat(inv.Get(r, "amount"), 64)
	}
	paid := map[string]float64{}
	pay := tabs["payments"]
	for _, r := range pay.Rows {
		a, _ := strconv.ParseFloat(pay.Get(r, "amount"), 64)
		paid[pay.Get(r, "invoice_id")] += a
	}
	for id, p := range paid {
		if p > amount[id]+0.005 {
			t.Fatalf("invoice %s: paid %.2f of %.2f", id, p, amount[id])
		}
	}
	arr := tabs["arrangements"]
	for _, r := range arr.Rows {
		if (arr.Get(r, "status") == "active") != (arr.Get(r, "ended_at") == "") {
			t.Fatalf("arrangement %s: status %s with ended_at %q", r[1], arr.Get(r, "status"), arr.Get(r, "ended_at"))
		}
	}
	dis := tabs["disputes"]
	for _, r := range dis.Rows {
		if (dis.Get(r, "resolved_at") == "") != (dis.Get(r, "outcome") == "") {
			t.Fatalf("dispute %s: resolved_at %q with outcome %q", r[1], dis.Get(r, "resolved_at"), dis.Get(r, "outcome"))
		}
	}
	tr := rowfiletest.ReadTable(t, c.Out, rowfile.TruthTable)
	if len(tr.Rows) != len(inv.Rows) {
		t.Fatalf("truth has %d rows, invoices %d: want one per invoice", len(tr.Rows), len(inv.Rows))
	}
}

// TestParquetMatchesCSV: the Parquet files hold the same rows as the CSV
// files of the same world.
func TestParquetMatchesCSV(t *testing.T) {
	c := testConfig(t, 800, 12)
	csvStats := generate(t, c)
	p := c
	p.Out, p.Format = t.TempDir(), "parquet"
	pqStats := generate(t, p)
	for name, n := range csvStats.Rows {
		f, err := os.Open(filepath.Join(p.Out, name+".parquet"))
		if err != nil {
			t.Fatal(err)
		}
		rd, err := file.NewParquetReader(f)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got := rd.NumRows(); got != n || pqStats.Rows[name] != n {
			t.Errorf("%s: parquet %d rows (stats %d), csv %d", name, got, pqStats.Rows[name], n)
		}
		fr, err := pqarrow.NewFileReader(rd, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
		if err != nil {
			t.Fatal(err)
		}
		tbl, err := fr.ReadTable(context.Background())
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		hdr, _ := rowfile.Header(name)
		if tbl.NumCols() != int64(len(hdr)) {
			t.Errorf("%s: %d columns, want %d", name, tbl.NumCols(), len(hdr))
		}
		for i, h := range hdr {
			if tbl.Schema().Field(i).Name != h {
				t.Errorf("%s: column %d is %s, want %s", name, i, tbl.Schema().Field(i).Name, h)
			}
		}
		tbl.Release()
		rd.Close()
	}
}

func TestGenerateCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	c := testConfig(t, 50_000, 24)
	if _, err := Generate(ctx, c); err == nil || !strings.Contains(err.Error(), "context canceled") {
		t.Fatalf("error %v, want context canceled", err)
	}
}

func BenchmarkGenerate(b *testing.B) {
	for _, tc := range []struct {
		customers int
		format    string
	}{{100_000, "csv"}, {100_000, "parquet"}} {
		b.Run(strconv.Itoa(tc.customers)+"x24/"+tc.format, func(b *testing.B) {
			var rows int64
			for b.Loop() {
				c := testConfig(b, tc.customers, 24)
				c.Format = tc.format
				st := generate(b, c)
				rows = 0
				for _, n := range st.Rows {
					rows += n
				}
			}
			b.ReportMetric(float64(rows), "rows")
			b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
