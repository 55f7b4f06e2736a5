package rowfile

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/duewise/duewise/datasets/rowfile/rowfiletest"
)

func TestFormatting(t *testing.T) {
	// Every day from 1900 to 2200 and a spread of times formats like the
	// standard library.
	for d := DateOf(time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)); d < DateOf(time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)); d++ {
		want := d.Time().Format(time.DateOnly)
		if got := string(AppendDate(nil, d)); got != want {
			t.Fatalf("AppendDate(%d) = %s, want %s", d, got, want)
		}
		u := int(uint32(d))
		tm := d.At(u%24, u%60, u*7%60)
		if got, want := string(AppendTime(nil, tm)), tm.Std().Format(time.RFC3339); got != want {
			t.Fatalf("AppendTime(%d) = %s, want %s", tm, got, want)
		}
		if tm.Date() != d {
			t.Fatalf("Time.Date() = %d, want %d", tm.Date(), d)
		}
	}
	for _, tc := range []struct {
		c    Cents
		want string
	}{{0, "0.00"}, {5, "0.05"}, {12345, "123.45"}, {-1, "-0.01"}, {-12300, "-123.00"}, {CentsOf(0.1 + 0.2), "0.30"}} {
		if got := string(AppendCents(nil, tc.c)); got != tc.want {
			t.Errorf("AppendCents(%d) = %s, want %s", tc.c, got, tc.want)
		}
	}
}

func TestCSVWriter(t *testing.T) {
	dir := t.TempDir()
	w, err := Create(Options{Dir: dir, Format: CSV, Tenant: "t,1", Extra: []string{TruthTable}})
	if err != nil {
		t.Fatal(err)
	}
	d := DateOf(time.Date(2025, 3, 9, 0, 0, 0, 0, time.UTC))
	b := &Batch{
		CustomerEvents: []CustomerEvent{{ID: "E1", CustomerID: "C1", OccurredAt: d.At(8, 5, 0), Kind: "contact", Detail: `said "hi", then left`}},
		Arrangements:   []Arrangement{{ID: "A1", CustomerID: "C1", AgreedAt: d.At(1, 2, 3), Installments: 3, Amount: 1050, Status: "active", EndedAt: NoTime}},
		Truth:          []Truth{{CustomerID: "C1", Month: d, Hazard: 0.125, State: "healthy"}},
	}
	if err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if w.Rows()["customer_events"] != 1 || w.Rows()["customers"] != 0 {
		t.Fatalf("rows %v", w.Rows())
	}
	cases := []struct {
		file string
		want []string
	}{
		{"customer_events.csv", []string{"t,1", "E1", "C1", "2025-03-09T08:05:00Z", "contact", `said "hi", then left`}},
		{"arrangements.csv", []string{"t,1", "A1", "C1", "2025-03-09T01:02:03Z", "3", "10.50", "active", ""}},
		{"truth.csv", []string{"t,1", "C1", "2025-03-09", "0.125000", "healthy"}},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			got := rowfiletest.ReadFile(t, filepath.Join(dir, tc.file))
			recs := append([][]string{make([]string, len(got.Col))}, got.Rows...)
			for name, i := range got.Col {
				recs[0][i] = name
			}
			table := strings.TrimSuffix(tc.file, ".csv")
			head, _ := Header(table)
			if strings.Join(recs[0], ",") != strings.Join(head, ",") || len(recs) != 2 {
				t.Fatalf("got %q", recs)
			}
			if strings.Join(recs[1], "|") != strings.Join(tc.want, "|") {
				t.Fatalf("row %q, want %q", recs[1], tc.want)
			}
		})
	}
	if _, err := Create(Options{Dir: dir, Format: "xml", Tenant: "t"}); err == nil {
		t.Error("format xml accepted")
	}
	if _, err := Create(Options{Dir: dir, Format: CSV, Tenant: "t", Extra: []string{"nope"}}); err == nil {
		t.Error("unknown extra table accepted")
	}
}
