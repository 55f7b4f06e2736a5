// Package rowfiletest reads contract files back in tests and checks them
// against the data contract, independently of the writer that produced
// them. Its functions are safe for concurrent use.
package rowfiletest

import (
	"encoding/csv"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"testing"

	"github.com/duewise/duewise/datasets"
)

// Table is a CSV file read whole: header and rows. It is not modified after
// it is read, so concurrent reads are safe.
type Table struct {
	Name string
	Col  map[string]int
	Rows [][]string
}

// Get returns the cell of row in column col.
func (t *Table) Get(row []string, col string) string { return row[t.Col[col]] }

// ReadTable reads dir/name.csv whole, failing the test on any error.
func ReadTable(t testing.TB, dir, name string) *Table {
	t.Helper()
	return ReadFile(t, filepath.Join(dir, name+".csv"))
}

// ReadFile reads a CSV file with a header whole, failing the test on any
// error. The table is named after the file.
func ReadFile(t testing.TB, path string) *Table {
	t.Helper()
	name := filepath.Base(path)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.ReuseRecord = false
	head, err := r.Read()
	if err != nil {
		t.Fatalf("%s: header: %v", name, err)
	}
	tb := &Table{Name: name, Col: map[string]int{}}
	for i, h := range head {
		tb.Col[h] = i
	}
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		tb.Rows = append(tb.Rows, rec)
	}
	return tb
}

var (
	amountRe   = regexp.MustCompile(`^-?[0-9]+\.[0-9]{2}$`)
	countryRe  = regexp.MustCompile(`^[A-Z]{2}$`)
	currencyRe = regexp.MustCompile(`^[A-Z]{3}$`)
)

// CheckContract verifies that every contract file in dir has exactly the
// contract header and that every cell parses as its column's kind, with
// required cells present and enumerations respected. It returns the tables
// read.
func CheckContract(t *testing.T, dir string) map[string]*Table {
	t.Helper()
	out := map[string]*Table{}
	for _, ct := range datasets.Tables {
		tb := ReadTable(t, dir, ct.Name)
		out[ct.Name] = tb
		var want []string
		for _, c := range ct.Columns {
			want = append(want, c.Name)
		}
		if len(tb.Col) != len(want) {
			t.Fatalf("%s: %d columns, want %v", ct.Name, len(tb.Col), want)
		}
		for i, w := range want {
			if tb.Col[w] != i {
				t.Fatalf("%s: column %q at %d, want %d", ct.Name, w, tb.Col[w], i)
			}
		}
		for li, row := range tb.Rows {
			for ci, c := range ct.Columns {
				if err := checkCell(c, row[ci]); err != nil {
					t.Fatalf("%s.csv:%d: %s: %v", ct.Name, li+2, c.Name, err)
				}
			}
			for _, col := range positive[ct.Name] {
				if v, _ := datasets.ParseAmount(tb.Get(row, col)); v <= 0 {
					t.Fatalf("%s.csv:%d: %s: %q must be > 0", ct.Name, li+2, col, tb.Get(row, col))
				}
			}
			if o, ok := order[ct.Name]; ok && tb.Get(row, o[1]) != "" && tb.Get(row, o[1]) < tb.Get(row, o[0]) {
				t.Fatalf("%s.csv:%d: %s %s before %s %s", ct.Name, li+2, o[1], tb.Get(row, o[1]), o[0], tb.Get(row, o[0]))
			}
		}
	}
	return out
}

// The cross-column rules of the data contract: columns that must be > 0,
// and pairs (before, after) where after must not precede before. Dates and
// UTC timestamps in contract format compare correctly as text.
var (
	positive = map[string][]string{"invoices": {"amount"}, "payments": {"amount"}, "arrangements": {"amount", "installments"}}
	order    = map[string][2]string{"invoices": {"issued_at", "due_at"}, "arrangements": {"agreed_at", "ended_at"}, "disputes": {"opened_at", "resolved_at"}}
)

func checkCell(c datasets.Column, v string) error {
	if v == "" {
		if c.Required {
			return errors.New("required value missing")
		}
		return nil
	}
	switch c.Kind {
	case datasets.Enum:
		if !slices.Contains(c.Values, v) {
			return errors.New("value " + strconv.Quote(v) + " not in enumeration")
		}
	case datasets.Date:
		if _, err := datasets.ParseDate(v); err != nil {
			return err
		}
	case datasets.Timestamp:
		if _, err := datasets.ParseTimestamp(v); err != nil {
			return err
		}
		if len(v) != 20 || v[19] != 'Z' {
			return errors.New("timestamp " + strconv.Quote(v) + " not written as YYYY-MM-DDThh:mm:ssZ")
		}
	case datasets.Amount:
		if !amountRe.MatchString(v) {
			return errors.New("amount " + strconv.Quote(v) + " is not written with exactly 2 decimals")
		}
		cents, err := datasets.ParseAmount(v)
		if err != nil {
			return err
		}
		if cents < 0 {
			return errors.New("amount " + v + " negative")
		}
	case datasets.Int:
		if _, err := datasets.ParseInt(v); err != nil {
			return err
		}
	case datasets.Country:
		if !countryRe.MatchString(v) {
			return errors.New("country " + strconv.Quote(v))
		}
	case datasets.Currency:
		if !currencyRe.MatchString(v) {
			return errors.New("currency " + strconv.Quote(v))
		}
	}
	return nil
}
