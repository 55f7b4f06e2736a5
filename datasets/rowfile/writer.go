package rowfile

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/decimal128"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/apache/arrow/go/v15/parquet"
	"github.com/apache/arrow/go/v15/parquet/compress"
	"github.com/apache/arrow/go/v15/parquet/pqarrow"

	"github.com/duewise/duewise/datasets"
)

// Format is a file format Writer can produce.
type Format string

// The formats Writer supports.
const (
	CSV     Format = "csv"
	Parquet Format = "parquet"
)

// Extra tables that are not part of the data contract.
const (
	TruthTable  = "truth"
	LabelsTable = "labels"
)

type kind int

const (
	kString kind = iota
	kDate
	kTime
	kAmount
	kInt
	kFloat
)

type column struct {
	name     string
	kind     kind
	optional bool
}

type spec struct {
	name string
	cols []column
}

func contractSpec(t datasets.Table) spec {
	s := spec{name: t.Name}
	for _, c := range t.Columns {
		k := kString
		switch c.Kind {
		case datasets.Date:
			k = kDate
		case datasets.Timestamp:
			k = kTime
		case datasets.Amount:
			k = kAmount
		case datasets.Int:
			k = kInt
		}
		s.cols = append(s.cols, column{name: c.Name, kind: k, optional: !c.Required})
	}
	return s
}

var extraSpecs = map[string]spec{
	TruthTable: {name: TruthTable, cols: []column{
		{name: "tenant"}, {name: "customer_id"}, {name: "month", kind: kDate},
		{name: "hazard", kind: kFloat}, {name: "state"},
	}},
	LabelsTable: {name: LabelsTable, cols: []column{
		{name: "tenant"}, {name: "customer_id"}, {name: "as_of", kind: kDate}, {name: "event", kind: kInt},
	}},
}

// Header returns the column names of table (a contract table, truth or
// labels) in file order.
func Header(table string) ([]string, error) {
	s, err := specFor(table)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(s.cols))
	for i, c := range s.cols {
		names[i] = c.name
	}
	return names, nil
}

func specFor(table string) (spec, error) {
	if t, ok := datasets.TableByName(table); ok {
		return contractSpec(t), nil
	}
	if s, ok := extraSpecs[table]; ok {
		return s, nil
	}
	return spec{}, fmt.Errorf("unknown table %q", table)
}

// Options configure Create.
type Options struct {
	// Dir is the output folder, created when missing.
	Dir string
	// Format is CSV or Parquet.
	Format Format
	// Tenant fills the tenant column of every row.
	Tenant string
	// Extra names non-contract tables to write too (TruthTable, LabelsTable).
	Extra []string
}

// Writer writes one file per table (every contract table plus the extras)
// into a folder. It is not safe for concurrent use.
type Writer struct {
	files  []*tableFile
	closed bool
}

// Create creates (or truncates) the files of every contract table and the
// requested extras in o.Dir.
func Create(o Options) (*Writer, error) {
	if o.Format != CSV && o.Format != Parquet {
		return nil, fmt.Errorf("format %q: want csv or parquet", o.Format)
	}
	if o.Tenant == "" {
		return nil, errors.New("tenant is empty")
	}
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("create %s: %w", o.Dir, err)
	}
	names := make([]string, 0, len(datasets.Tables)+len(o.Extra))
	for _, t := range datasets.Tables {
		names = append(names, t.Name)
	}
	names = append(names, o.Extra...)
	w := &Writer{}
	for _, n := range names {
		s, err := specFor(n)
		if err != nil {
			w.Close()
			return nil, err
		}
		f, err := openTable(filepath.Join(o.Dir, n+"."+string(o.Format)), s, o.Format, o.Tenant)
		if err != nil {
			w.Close()
			return nil, err
		}
		w.files = append(w.files, f)
	}
	return w, nil
}

// Write appends the rows of b to their files. Tables without a file (an
// extra not requested) must be empty.
func (w *Writer) Write(b *Batch) error {
	for _, f := range w.files {
		var err error
		switch f.spec.name {
		case "customers":
			err = writeRows(f, b.Customers)
		case "invoices":
			err = writeRows(f, b.Invoices)
		case "payments":
			err = writeRows(f, b.Payments)
		case "direct_debits":
			err = writeRows(f, b.DirectDebits)
		case "reminders":
			err = writeRows(f, b.Reminders)
		case "arrangements":
			err = writeRows(f, b.Arrangements)
		case "disputes":
			err = writeRows(f, b.Disputes)
		case "customer_events":
			err = writeRows(f, b.CustomerEvents)
		case TruthTable:
			err = writeRows(f, b.Truth)
		case LabelsTable:
			err = writeRows(f, b.Labels)
		}
		if err != nil {
			return fmt.Errorf("write %s: %w", f.path, err)
		}
	}
	return nil
}

// Rows returns the number of rows written per table.
func (w *Writer) Rows() map[string]int64 {
	m := make(map[string]int64, len(w.files))
	for _, f := range w.files {
		m[f.spec.name] = f.rows
	}
	return m
}

// Paths returns the files written, in table order.
func (w *Writer) Paths() []string {
	p := make([]string, len(w.files))
	for i, f := range w.files {
		p[i] = f.path
	}
	return p
}

// Close flushes and closes every file and returns the first error. Rows
// and Paths stay valid after Close; a second Close does nothing.
func (w *Writer) Close() error {
	if w.closed {
		return nil
	}
	w.closed = true
	var first error
	for _, f := range w.files {
		if err := f.close(); err != nil && first == nil {
			first = fmt.Errorf("close %s: %w", f.path, err)
		}
	}
	return first
}

type row interface{ Encode(Encoder) }

func writeRows[T any, P interface {
	*T
	row
}](f *tableFile, rows []T) error {
	for i := range rows {
		f.enc.begin()
		P(&rows[i]).Encode(f.enc)
		if err := f.enc.end(); err != nil {
			return err
		}
		f.rows++
	}
	return nil
}

type rowEncoder interface {
	Encoder
	begin()
	end() error
	close() error
}

type tableFile struct {
	path string
	spec spec
	rows int64
	enc  rowEncoder
}

func openTable(path string, s spec, format Format, tenant string) (*tableFile, error) {
	fh, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", path, err)
	}
	t := &tableFile{path: path, spec: s}
	if format == CSV {
		t.enc = newCSVEncoder(fh, s, tenant)
		return t, nil
	}
	pe, err := newParquetEncoder(fh, s, tenant)
	if err != nil {
		fh.Close()
		return nil, fmt.Errorf("create %s: %w", path, err)
	}
	t.enc = pe
	return t, nil
}

func (t *tableFile) close() error { return t.enc.close() }

// csvEncoder formats rows straight into a buffered file.
type csvEncoder struct {
	f      *os.File
	w      *bufio.Writer
	buf    []byte
	tenant string
}

func newCSVEncoder(f *os.File, s spec, tenant string) *csvEncoder {
	e := &csvEncoder{f: f, w: bufio.NewWriterSize(f, 1<<20), tenant: tenant}
	for i, c := range s.cols {
		if i > 0 {
			e.buf = append(e.buf, ',')
		}
		e.buf = append(e.buf, c.name...)
	}
	e.buf = append(e.buf, '\n')
	return e
}

func (e *csvEncoder) begin() { e.buf = appendField(e.buf, e.tenant) }

func (e *csvEncoder) end() error {
	e.buf = append(e.buf, '\n')
	if len(e.buf) < 64<<10 {
		return nil
	}
	_, err := e.w.Write(e.buf)
	e.buf = e.buf[:0]
	return err
}

func (e *csvEncoder) String(s string) { e.buf = appendField(append(e.buf, ','), s) }
func (e *csvEncoder) Date(d Date)     { e.buf = AppendDate(append(e.buf, ','), d) }
func (e *csvEncoder) Int(v int32)     { e.buf = strconv.AppendInt(append(e.buf, ','), int64(v), 10) }
func (e *csvEncoder) Float(v float64) {
	e.buf = strconv.AppendFloat(append(e.buf, ','), v, 'f', 6, 64)
}

func (e *csvEncoder) Time(t Time) {
	e.buf = append(e.buf, ',')
	if t != NoTime {
		e.buf = AppendTime(e.buf, t)
	}
}

func (e *csvEncoder) Amount(c Cents) {
	e.buf = append(e.buf, ',')
	if c != NoCents {
		e.buf = AppendCents(e.buf, c)
	}
}

func (e *csvEncoder) close() error {
	_, err := e.w.Write(e.buf)
	e.buf = e.buf[:0]
	if ferr := e.w.Flush(); err == nil {
		err = ferr
	}
	if cerr := e.f.Close(); err == nil {
		err = cerr
	}
	return err
}

// appendField appends s, quoted per RFC 4180 when it needs to be.
func appendField(b []byte, s string) []byte {
	if !strings.ContainsAny(s, ",\"\r\n") {
		return append(b, s...)
	}
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' {
			b = append(b, '"')
		}
		b = append(b, s[i])
	}
	return append(b, '"')
}

// parquetEncoder appends to Arrow builders and writes a row group every
// rowGroup rows.
type parquetEncoder struct {
	f      *os.File
	fw     *pqarrow.FileWriter
	schema *arrow.Schema
	b      *array.RecordBuilder
	col    int
	n      int
	tenant string
}

const rowGroup = 1 << 16

// AmountType is the Arrow type of contract amounts in Parquet files,
// matching ClickHouse Decimal(18, 2).
var AmountType = &arrow.Decimal128Type{Precision: 18, Scale: 2}

func arrowSchema(s spec) *arrow.Schema {
	fields := make([]arrow.Field, len(s.cols))
	for i, c := range s.cols {
		var t arrow.DataType
		switch c.kind {
		case kDate:
			t = arrow.FixedWidthTypes.Date32
		case kTime:
			t = &arrow.TimestampType{Unit: arrow.Second, TimeZone: "UTC"}
		case kAmount:
			t = AmountType
		case kInt:
			t = arrow.PrimitiveTypes.Int32
		case kFloat:
			t = arrow.PrimitiveTypes.Float64
		default:
			t = arrow.BinaryTypes.String
		}
		fields[i] = arrow.Field{Name: c.name, Type: t, Nullable: c.optional && (c.kind == kTime || c.kind == kAmount)}
	}
	return arrow.NewSchema(fields, nil)
}

func newParquetEncoder(f *os.File, s spec, tenant string) (*parquetEncoder, error) {
	schema := arrowSchema(s)
	props := parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Snappy), parquet.WithMaxRowGroupLength(rowGroup))
	fw, err := pqarrow.NewFileWriter(schema, f, props, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	if err != nil {
		return nil, err
	}
	return &parquetEncoder{f: f, fw: fw, schema: schema, b: array.NewRecordBuilder(memory.DefaultAllocator, schema), tenant: tenant}, nil
}

func (e *parquetEncoder) next() array.Builder {
	e.col++
	return e.b.Field(e.col)
}

func (e *parquetEncoder) begin() {
	e.col = 0
	e.b.Field(0).(*array.StringBuilder).Append(e.tenant)
}

func (e *parquetEncoder) String(s string) { e.next().(*array.StringBuilder).Append(s) }
func (e *parquetEncoder) Date(d Date)     { e.next().(*array.Date32Builder).Append(arrow.Date32(d)) }
func (e *parquetEncoder) Int(v int32)     { e.next().(*array.Int32Builder).Append(v) }
func (e *parquetEncoder) Float(v float64) { e.next().(*array.Float64Builder).Append(v) }

func (e *parquetEncoder) Time(t Time) {
	b := e.next().(*array.TimestampBuilder)
	if t == NoTime {
		b.AppendNull()
		return
	}
	b.Append(arrow.Timestamp(t))
}

func (e *parquetEncoder) Amount(c Cents) {
	b := e.next().(*array.Decimal128Builder)
	if c == NoCents {
		b.AppendNull()
		return
	}
	b.Append(decimal128.FromI64(int64(c)))
}

func (e *parquetEncoder) end() error {
	e.n++
	if e.n < rowGroup {
		return nil
	}
	return e.flush()
}

func (e *parquetEncoder) flush() error {
	if e.n == 0 {
		return nil
	}
	rec := e.b.NewRecord()
	defer rec.Release()
	e.n = 0
	return e.fw.Write(rec)
}

func (e *parquetEncoder) close() error {
	err := e.flush()
	e.b.Release()
	if cerr := e.fw.Close(); err == nil {
		err = cerr
	}
	return err
}
