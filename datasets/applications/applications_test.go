package applications

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
)

func writeFile(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "apps.csv")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// column returns the record's column called name.
func column(t *testing.T, rec arrow.Record, name string) arrow.Array {
	t.Helper()
	idx := rec.Schema().FieldIndices(name)
	if len(idx) != 1 {
		t.Fatalf("no column %q in %s", name, rec.Schema())
	}
	return rec.Column(idx[0])
}

func TestImportConverts(t *testing.T) {
	path := writeFile(t, "app,applied,amount,product,Age,Personal.Male.Single,outcome\n"+
		"a1,2024-01-15,1200,loan,34,1,bad\n"+
		"a2,2024-02-01,,card,51,0,good\n"+
		"a3,2024-03-10,800.5,loan,29,0, bad \n")
	res, err := Import(context.Background(), Options{Path: path, ID: "app", Date: "applied", Outcome: "outcome", Value: "bad", FollowUpDays: 180, Tenant: "t1"})
	if err != nil {
		t.Fatal(err)
	}
	defer res.Record.Release()
	if res.SourceRows != 3 || res.Events != 2 || len(res.Rejected) != 0 || res.Record.NumRows() != 3 {
		t.Fatalf("rows %d, events %d, rejected %v, record %d", res.SourceRows, res.Events, res.Rejected, res.Record.NumRows())
	}
	if strings.Join(res.Numeric, ",") != "amount" || strings.Join(res.Categorical, ",") != "product" {
		t.Fatalf("numeric %v, categorical %v", res.Numeric, res.Categorical)
	}
	if strings.Join(res.Protected, ",") != "Age (age),Personal.Male.Single (personal)" {
		t.Fatalf("protected %v", res.Protected)
	}
	var names []string
	for _, f := range res.Record.Schema().Fields() {
		names = append(names, f.Name)
	}
	if got := strings.Join(names, ","); got != "tenant,customer_id,as_of,amount,product,duration_days,event" {
		t.Fatalf("columns %s", got)
	}
	amount := column(t, res.Record, "amount").(*array.Float64)
	if amount.Value(0) != 1200 || !amount.IsNull(1) || amount.Value(2) != 800.5 {
		t.Fatalf("amount %v", amount)
	}
	asOf := column(t, res.Record, "as_of").(*array.Date32)
	if got := asOf.Value(0).ToTime().Format(time.DateOnly); got != "2024-01-15" {
		t.Fatalf("as_of %s", got)
	}
	dur, ev := column(t, res.Record, "duration_days").(*array.Int32), column(t, res.Record, "event").(*array.Uint8)
	for i, want := range []struct {
		dur int32
		ev  uint8
	}{{180, 1}, {181, 0}, {180, 1}} {
		if dur.Value(i) != want.dur || ev.Value(i) != want.ev {
			t.Fatalf("row %d: duration %d event %d, want %d %d", i, dur.Value(i), ev.Value(i), want.dur, want.ev)
		}
	}
	if id := column(t, res.Record, "customer_id").(*array.String); id.Value(2) != "a3" {
		t.Fatalf("customer_id %v", id)
	}
}

func TestImportRowNumberAndAsOf(t *testing.T) {
	path := writeFile(t, "x,Class\n1,Bad\n2,Good\n")
	asOf := time.Date(2025, 6, 30, 0, 0, 0, 0, time.UTC)
	res, err := Import(context.Background(), Options{Path: path, ID: RowNumber, Outcome: "Class", Value: "Bad", AsOf: asOf})
	if err != nil {
		t.Fatal(err)
	}
	defer res.Record.Release()
	id, day := column(t, res.Record, "customer_id").(*array.String), column(t, res.Record, "as_of").(*array.Date32)
	if id.Value(0) != "1" || id.Value(1) != "2" || !day.Value(1).ToTime().Equal(asOf) {
		t.Fatalf("ids %v, as_of %v", id, day)
	}
	if d := column(t, res.Record, "duration_days").(*array.Int32); d.Value(0) != 365 || d.Value(1) != 366 {
		t.Fatalf("default follow-up: durations %v", d)
	}
}

func TestImportRejectsBadRows(t *testing.T) {
	body := "id,date,amount,outcome\n" + // line 1
		"a,2024-01-01,10,yes\n" + // 2 good
		",2024-01-02,11,no\n" + // 3 missing id
		"a,2024-01-03,12,no\n" + // 4 duplicate id
		"b,01/04/2024,13,no\n" + // 5 unparsable date
		"c,2024-01-05,14\n" + // 6 wrong field count
		"d,2024-01-06,15,\n" + // 7 missing outcome
		"e,2024-01-07,x\"y,no\n" + // 8 bare quote
		"f,2024-01-08,16,no\n" // 9 good
	path := writeFile(t, body)
	res, err := Import(context.Background(), Options{Path: path, ID: "id", Date: "date", Outcome: "outcome", Value: "yes"})
	if err != nil {
		t.Fatal(err)
	}
	defer res.Record.Release()
	want := []string{
		path + ":3:1: id: missing id",
		path + ":4:1: id: duplicate id \"a\" (first on line 2)",
		path + ":5:2: date: \"01/04/2024\" is not a date",
		path + ":6:4: 3 fields, want 4",
		path + ":7:4: outcome: missing outcome",
		path + ":8:",
	}
	if len(res.Rejected) != len(want) {
		t.Fatalf("rejected %d rows, want %d: %v", len(res.Rejected), len(want), res.Rejected)
	}
	for i, w := range want {
		if got := res.Rejected[i].Err.Error(); !strings.HasPrefix(got, w) {
			t.Errorf("reject %d: %q, want prefix %q", i, got, w)
		}
	}
	if res.SourceRows != 8 || res.Record.NumRows() != 2 {
		t.Fatalf("read %d, kept %d; want 8 and 2", res.SourceRows, res.Record.NumRows())
	}
	if id := column(t, res.Record, "customer_id").(*array.String); id.Value(0) != "a" || id.Value(1) != "f" {
		t.Fatalf("kept %v, want a and f", id)
	}
	if a := column(t, res.Record, "amount").(*array.Float64); a.Value(1) != 16 || math.IsNaN(a.Value(1)) {
		t.Fatalf("amount %v", a)
	}
}

func TestImportRefusesFile(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		opt        Options
		want       string
	}{
		{"missing id column", "x,y\n1,2\n", Options{ID: "id", Outcome: "y", Value: "2", AsOf: time.Unix(0, 0)}, `:1: header: column "id" missing`},
		{"missing outcome column", "id,y\n1,2\n", Options{ID: "id", Outcome: "z", Value: "2", AsOf: time.Unix(0, 0)}, `:1: header: column "z" missing`},
		{"duplicate column", "id,y,y\n1,2,3\n", Options{ID: "id", Outcome: "y", Value: "2", AsOf: time.Unix(0, 0)}, `:1:3: column "y" repeats column 2`},
		{"snapshot column name", "id,event,y\n1,2,3\n", Options{ID: "id", Outcome: "y", Value: "3", AsOf: time.Unix(0, 0)}, `:1:2: column "event" has the name of a snapshot column`},
		{"outcome value never seen", "id,y\n1,Good\n2,Bad\n", Options{ID: "id", Outcome: "y", Value: "bad", AsOf: time.Unix(0, 0)}, `no row has y = "bad" (values seen: Bad, Good)`},
		{"no good row", "id,y\n,1\n", Options{ID: "id", Outcome: "y", Value: "1", AsOf: time.Unix(0, 0)}, "no usable row (1 rejected)"},
		{"no as_of", "id,y\n1,1\n", Options{ID: "id", Outcome: "y", Value: "1"}, "every row needs one as_of date"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.opt.Path = writeFile(t, tc.body)
			_, err := Import(context.Background(), tc.opt)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}
