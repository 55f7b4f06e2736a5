package datasets

import (
	"compress/gzip"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/ipc"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/apache/arrow/go/v15/parquet/pqarrow"
)

// sampleRows returns n valid, distinct rows of table.
func sampleRows(table string, n int) []map[string]string {
	rows := make([]map[string]string, n)
	tb, _ := TableByName(table)
	for i := range rows {
		r := with(table, tb.ID(), fmt.Sprintf("%s-%05d", tb.ID(), i))
		if _, ok := r["amount"]; ok {
			r["amount"] = fmt.Sprintf("%d.%02d", 1+i, i%100)
		}
		if table == "customers" && i%2 == 1 {
			r["credit_limit"] = "2500.5"
			r["segment"] = "telecom, \"mobile\""
		}
		rows[i] = r
	}
	return rows
}

// recordWriter is what the Arrow IPC and Parquet writers have in common.
type recordWriter interface {
	Write(arrow.Record) error
	Close() error
}

// writeRecords writes recs to path through the writer open returns.
func writeRecords(t *testing.T, path string, recs []arrow.Record, open func(f *os.File, sc *arrow.Schema) (recordWriter, error)) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w, err := open(f, recs[0].Schema())
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

func arrowStream(f *os.File, sc *arrow.Schema) (recordWriter, error) {
	return ipc.NewWriter(f, ipc.WithSchema(sc)), nil
}

func arrowFile(f *os.File, sc *arrow.Schema) (recordWriter, error) {
	return ipc.NewFileWriter(f, ipc.WithSchema(sc))
}

func parquetFile(f *os.File, sc *arrow.Schema) (recordWriter, error) {
	return pqarrow.NewFileWriter(sc, f, nil, pqarrow.DefaultWriterProps())
}

// stringRecord builds an all-string Arrow record of rows (as a CRM export
// without types would have).
func stringRecord(tb Table, rows []map[string]string) arrow.Record {
	fields := make([]arrow.Field, len(tb.Columns))
	for i, c := range tb.Columns {
		fields[i] = arrow.Field{Name: c.Name, Type: arrow.BinaryTypes.String, Nullable: true}
	}
	b := array.NewRecordBuilder(memory.DefaultAllocator, arrow.NewSchema(fields, nil))
	defer b.Release()
	for _, r := range rows {
		for i, c := range tb.Columns {
			if r[c.Name] == "" {
				b.Field(i).AppendNull()
			} else {
				b.Field(i).(*array.StringBuilder).Append(r[c.Name])
			}
		}
	}
	return b.NewRecord()
}

func ndjson(tb Table, rows []map[string]string) string {
	var b strings.Builder
	for _, r := range rows {
		obj := map[string]any{}
		for _, c := range tb.Columns {
			switch {
			case r[c.Name] == "":
				obj[c.Name] = nil
			case c.Kind == Amount || c.Kind == Int:
				obj[c.Name] = json.RawMessage(r[c.Name]) // a JSON number
			default:
				obj[c.Name] = r[c.Name]
			}
		}
		line, _ := json.Marshal(obj)
		b.Write(line)
		b.WriteString("\n")
	}
	return b.String()
}

func TestFormatsRoundTrip(t *testing.T) {
	for _, table := range []string{"customers", "invoices", "arrangements", "disputes"} {
		t.Run(table, func(t *testing.T) {
			tb, _ := TableByName(table)
			rows := sampleRows(table, 300)
			dir := t.TempDir()
			small := DefaultLoaderConfig()
			small.ChunkBytes, small.ChunkRows, small.Workers = 4096, 64, 2
			want, err := readPath(t, writeFile(t, dir, table+".csv", rowsCSV(t, table, rows...)), small)
			if err != nil || len(want.problems) > 0 || len(want.rows()) != len(rows) {
				t.Fatalf("csv: %v %q, %d rows", err, want.problems, len(want.rows()))
			}
			strRec := stringRecord(tb, rows)
			t.Cleanup(strRec.Release)
			files := map[string]func(p string){
				"typed.parquet":  func(p string) { writeRecords(t, p, want.recs, parquetFile) },
				"string.parquet": func(p string) { writeRecords(t, p, []arrow.Record{strRec}, parquetFile) },
				"file.arrow":     func(p string) { writeRecords(t, p, want.recs, arrowFile) },
				"stream.arrows":  func(p string) { writeRecords(t, p, want.recs, arrowStream) },
				"x.ndjson":       func(p string) { os.WriteFile(p, []byte(ndjson(tb, rows)), 0o644) },
			}
			for name, write := range files {
				t.Run(name, func(t *testing.T) {
					sub := filepath.Join(t.TempDir(), table+filepath.Ext(name))
					write(sub)
					got, err := readPath(t, sub, small)
					if err != nil {
						t.Fatal(err)
					}
					if len(got.problems) > 0 {
						t.Fatalf("problems %q", got.problems[:min(3, len(got.problems))])
					}
					if g, w := got.rows(), want.rows(); !slices.Equal(g, w) {
						t.Fatalf("%d rows differ from CSV's %d; first got %q want %q", len(g), len(w), g[:min(1, len(g))], w[0])
					}
				})
			}
		})
	}
}

func TestNDJSONProblems(t *testing.T) {
	content := `{"tenant":"acme","invoice_id":"I1","customer_id":"C1","issued_at":"2025-01-01","due_at":"2025-01-15","amount":10,"currency":"EUR"}
[1,2]

{"tenant":"acme","invoice_id":"I2","customer_id":"C1","issued_at":"2025-01-01","due_at":"2025-01-15","amount":10,"currency":"EUR","vat":"21"}
{"tenant":"acme","invoice_id":"I3","customer_id":"C1","issued_at":"2025-01-01","due_at":"2024-01-15","amount":true,"currency":"EUR"}
`
	p := writeFile(t, t.TempDir(), "invoices.ndjson", content)
	res, err := readPath(t, p, LoaderConfig{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		p + ":2: want a JSON object",
		p + ":4: vat: unknown column",
		p + ":5: amount: want a string or number, got true",
	}
	if !slices.Equal(res.problems, want) || len(res.rows()) != 1 || res.read != 4 {
		t.Fatalf("problems %q (read %d, good %d), want %q", res.problems, res.read, len(res.rows()), want)
	}
}

func TestGzipAndPlan(t *testing.T) {
	dir := t.TempDir()
	var gz strings.Builder
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(rowsCSV(t, "payments", sampleRows("payments", 50)...)))
	zw.Close()
	writeFile(t, dir, "payments.csv.gz", gz.String())
	writeFile(t, dir, "customers.ndjson", ndjson(Tables[0], sampleRows("customers", 5)))
	writeFile(t, dir, "truth.csv", "tenant,customer_id\n")
	writeFile(t, dir, "payments.rejects.csv", "x\n")
	writeFile(t, dir, "payments.summary.json", "{}")
	for _, tc := range []struct {
		name  string
		table string
		paths []string
		want  []string // table:base of each planned file
		err   string
	}{
		{"folder in contract order", "", []string{dir}, []string{"customers:customers.ndjson", "payments:payments.csv.gz"}, ""},
		{"folder, one table", "payments", []string{dir}, []string{"payments:payments.csv.gz"}, ""},
		{"file named by flag", "invoices", []string{filepath.Join(dir, "truth.csv")}, []string{"invoices:truth.csv"}, ""},
		{"file not in contract", "", []string{filepath.Join(dir, "truth.csv")}, nil, "cannot tell the table from the file name"},
		{"missing", "", []string{filepath.Join(dir, "nope.csv")}, nil, "no such file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := &Loader{cfg: LoaderConfig{Table: tc.table}}
			jobs, err := l.plan(tc.paths)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want %q", err, tc.err)
				}
				return
			}
			var got []string
			for _, j := range jobs {
				got = append(got, j.table.Name+":"+filepath.Base(j.path))
			}
			if err != nil || !slices.Equal(got, tc.want) {
				t.Fatalf("plan %q, %v; want %q", got, err, tc.want)
			}
		})
	}
	res, err := readPath(t, dir, LoaderConfig{})
	if err != nil || len(res.problems) > 0 || len(res.rows()) != 55 {
		t.Fatalf("read %d rows, problems %q, err %v; want 55", len(res.rows()), res.problems, err)
	}
}
