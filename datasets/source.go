package datasets

import (
	"bufio"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/ipc"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/apache/arrow/go/v15/parquet/file"
	"github.com/apache/arrow/go/v15/parquet/pqarrow"
)

// Format is a contract file format.
type Format string

// The file formats the Loader reads. Every format uses the contract's
// column names.
const (
	CSV     Format = "csv"     // CSV with a header line, RFC 4180 quoting
	Parquet Format = "parquet" // Parquet, typed or string columns
	Arrow   Format = "arrow"   // Arrow IPC, file or stream format
	NDJSON  Format = "ndjson"  // one JSON object per line
)

// formatExt maps file extensions to formats.
var formatExt = map[string]Format{
	".csv": CSV, ".parquet": Parquet, ".pq": Parquet,
	".arrow": Arrow, ".arrows": Arrow, ".ipc": Arrow, ".feather": Arrow,
	".ndjson": NDJSON, ".jsonl": NDJSON,
}

// ParseFileName returns the contract table and format a file name implies,
// e.g. "invoices.csv" -> ("invoices", CSV); a trailing ".gz" is allowed for
// CSV and NDJSON. ok is false when the name is not a contract file. It is
// concurrency-safe.
func ParseFileName(path string) (table string, f Format, ok bool) {
	base := filepath.Base(path)
	gz := strings.HasSuffix(base, ".gz")
	base = strings.TrimSuffix(base, ".gz")
	ext := filepath.Ext(base)
	f, ok = formatExt[strings.ToLower(ext)]
	if !ok || (gz && f != CSV && f != NDJSON) {
		return "", "", false
	}
	table = strings.TrimSuffix(base, ext)
	if _, known := TableByName(table); !known {
		return table, f, false
	}
	return table, f, true
}

// chunk is a batch of source rows; decode runs on a worker. pos is how far
// into the source the chunk ends (bytes or rows), for progress.
type chunk struct {
	decode func() *rawRows
	pos    int64
}

// source streams the rows of one file in chunks of bounded size. It is not
// concurrency-safe except for progress.
type source interface {
	columns() []string
	// next returns the next chunk or io.EOF.
	next() (*chunk, error)
	// size returns the source's size in the unit of chunk.pos (bytes or
	// rows), 0 when unknown.
	size() int64
	close() error
}

// readOptions tune how sources cut files into chunks.
type readOptions struct {
	chunkBytes int
	chunkRows  int
	mem        memory.Allocator
}

// openSource opens path in format f as rows of table t.
func openSource(ctx context.Context, path string, f Format, t *Table, o readOptions) (source, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	var src source
	switch f {
	case CSV, NDJSON:
		src, err = openText(fh, f, t, o)
	case Parquet:
		src, err = openParquet(ctx, fh, o)
	case Arrow:
		src, err = openArrow(fh, o)
	default:
		err = fmt.Errorf("unknown format %q", f)
	}
	if err != nil {
		fh.Close()
		return nil, err
	}
	return src, nil
}

// countingReader counts the bytes read through it, for progress.
type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

type textSource struct {
	f     *os.File
	cr    *countingReader
	bytes int64
	gz    *gzip.Reader
	names []string
	ch    *textChunker
	dec   func(data []byte, first int) *rawRows
}

func openText(fh *os.File, f Format, t *Table, o readOptions) (*textSource, error) {
	st, err := fh.Stat()
	if err != nil {
		return nil, err
	}
	s := &textSource{f: fh, cr: &countingReader{r: fh}, bytes: st.Size()}
	var r io.Reader = s.cr
	if strings.HasSuffix(fh.Name(), ".gz") {
		if s.gz, err = gzip.NewReader(bufio.NewReaderSize(s.cr, 1<<20)); err != nil {
			return nil, err
		}
		r = s.gz
	}
	if f == NDJSON {
		s.names = t.columnNames()
		s.ch = &textChunker{r: r, size: o.chunkBytes, line: 1}
		s.dec = func(data []byte, first int) *rawRows { return decodeNDJSON(t, data, first) }
		return s, nil
	}
	if s.names, s.ch, err = csvHeader(r, o.chunkBytes); err != nil {
		return nil, err
	}
	n := len(s.names)
	s.dec = func(data []byte, first int) *rawRows { return decodeCSV(data, first, n) }
	return s, nil
}

func (s *textSource) columns() []string { return s.names }

func (s *textSource) next() (*chunk, error) {
	data, first, err := s.ch.next()
	if err != nil {
		return nil, err
	}
	return &chunk{decode: func() *rawRows { return s.dec(data, first) }, pos: s.cr.n.Load()}, nil
}

func (s *textSource) size() int64 { return s.bytes }

func (s *textSource) close() error {
	if s.gz != nil {
		s.gz.Close()
	}
	return s.f.Close()
}

// recordSource reads Arrow record batches (from Parquet or Arrow IPC).
type recordSource struct {
	f     *os.File
	names []string
	nextR func() (arrow.Record, error) // io.EOF at end; the caller releases
	row   int                          // rows handed out so far
	total int64
	stop  func()
}

func (s *recordSource) columns() []string { return s.names }

func (s *recordSource) next() (*chunk, error) {
	rec, err := s.nextR()
	if err != nil {
		return nil, err
	}
	first := s.row + 1
	s.row += int(rec.NumRows())
	return &chunk{decode: func() *rawRows {
		defer rec.Release()
		return recordCells(rec, first)
	}, pos: int64(s.row)}, nil
}

func (s *recordSource) size() int64 { return s.total }

func (s *recordSource) close() error {
	if s.stop != nil {
		s.stop()
	}
	return s.f.Close()
}

func schemaNames(sc *arrow.Schema) []string {
	n := make([]string, sc.NumFields())
	for i, f := range sc.Fields() {
		n[i] = f.Name
	}
	return n
}

func openParquet(ctx context.Context, fh *os.File, o readOptions) (*recordSource, error) {
	pf, err := file.NewParquetReader(fh)
	if err != nil {
		return nil, err
	}
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: int64(o.chunkRows)}, o.mem)
	if err != nil {
		pf.Close()
		return nil, err
	}
	rr, err := fr.GetRecordReader(ctx, nil, nil)
	if err != nil {
		pf.Close()
		return nil, err
	}
	s := &recordSource{f: fh, names: schemaNames(rr.Schema()), total: pf.NumRows()}
	s.stop = func() { rr.Release(); pf.Close() }
	s.nextR = nextRecord(rr)
	return s, nil
}

func openArrow(fh *os.File, o readOptions) (*recordSource, error) {
	magic := make([]byte, 6)
	if _, err := io.ReadFull(fh, magic); err != nil {
		return nil, fmt.Errorf("not an Arrow IPC file: %w", err)
	}
	if _, err := fh.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	if string(magic) == "ARROW1" {
		fr, err := ipc.NewFileReader(fh, ipc.WithAllocator(o.mem))
		if err != nil {
			return nil, err
		}
		s := &recordSource{f: fh, names: schemaNames(fr.Schema()), stop: func() { fr.Close() }}
		i := 0
		s.nextR = func() (arrow.Record, error) {
			if i >= fr.NumRecords() {
				return nil, io.EOF
			}
			i++
			return fr.RecordAt(i - 1)
		}
		return s, nil
	}
	r, err := ipc.NewReader(bufio.NewReaderSize(fh, 1<<20), ipc.WithAllocator(o.mem))
	if err != nil {
		return nil, fmt.Errorf("not an Arrow IPC file or stream: %w", err)
	}
	s := &recordSource{f: fh, names: schemaNames(r.Schema()), stop: r.Release}
	s.nextR = nextRecord(r)
	return s, nil
}

// nextRecord adapts a record reader (Parquet's or an Arrow stream's) to
// recordSource.nextR: the returned record is retained for the caller.
func nextRecord(r interface {
	Next() bool
	Record() arrow.Record
	Err() error
}) func() (arrow.Record, error) {
	return func() (arrow.Record, error) {
		if !r.Next() {
			if err := r.Err(); err != nil && !errors.Is(err, io.EOF) {
				return nil, err
			}
			return nil, io.EOF
		}
		rec := r.Record()
		rec.Retain()
		return rec, nil
	}
}

// recordCells converts an Arrow record to text cells, the form the
// validator checks: dates as YYYY-MM-DD, timestamps as RFC 3339 UTC,
// decimals exactly.
func recordCells(rec arrow.Record, first int) *rawRows {
	n, nc := int(rec.NumRows()), int(rec.NumCols())
	rows := &rawRows{ncols: nc, n: n, cells: make([]string, n*nc), locs: make([]int, n), bad: make([][]Problem, n)}
	for i := range rows.locs {
		rows.locs[i] = first + i
	}
	for j := 0; j < nc; j++ {
		arr := rec.Column(j)
		for i := 0; i < n; i++ {
			rows.cells[i*nc+j] = cellText(arr, i)
		}
	}
	return rows
}

// cellText returns the text of value i of arr ("" for null).
func cellText(arr arrow.Array, i int) string {
	if arr.IsNull(i) {
		return ""
	}
	switch a := arr.(type) {
	case *array.String:
		return a.Value(i)
	case *array.LargeString:
		return a.Value(i)
	case *array.Binary:
		return string(a.Value(i))
	case *array.Date32:
		return FormatDate(int32(a.Value(i)))
	case *array.Date64:
		return FormatDate(int32(int64(a.Value(i)) / 86_400_000))
	case *array.Timestamp:
		unit := a.DataType().(*arrow.TimestampType).Unit
		var b [40]byte
		return string(a.Value(i).ToTime(unit).UTC().AppendFormat(b[:0], time.RFC3339Nano))
	case *array.Decimal128:
		v, scale := a.Value(i), a.DataType().(*arrow.Decimal128Type).Scale
		if h := v.HighBits(); (h == 0 && v.LowBits() <= math.MaxInt64) || (h == -1 && v.LowBits() > math.MaxInt64) {
			return formatScaled(int64(v.LowBits()), scale)
		}
		return v.ToString(scale)
	case *array.Float64:
		return strconv.FormatFloat(a.Value(i), 'f', -1, 64)
	case *array.Float32:
		return strconv.FormatFloat(float64(a.Value(i)), 'f', -1, 32)
	case *array.Dictionary:
		return cellText(a.Dictionary(), a.GetValueIndex(i))
	case *array.Boolean:
		return strconv.FormatBool(a.Value(i))
	}
	return arr.ValueStr(i)
}
