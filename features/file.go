package features

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	arrowcsv "github.com/apache/arrow/go/v15/arrow/csv"
	"github.com/apache/arrow/go/v15/arrow/ipc"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/apache/arrow/go/v15/parquet"
	"github.com/apache/arrow/go/v15/parquet/compress"
	"github.com/apache/arrow/go/v15/parquet/file"
	"github.com/apache/arrow/go/v15/parquet/pqarrow"
)

// fileFormat returns "parquet", "arrow" or "csv" from path's extension.
func fileFormat(path string) (string, error) {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".parquet":
		return "parquet", nil
	case ".arrow", ".ipc", ".feather":
		return "arrow", nil
	case ".csv":
		return "csv", nil
	}
	return "", fmt.Errorf("%s: unknown snapshot format %q (want .parquet, .arrow or, to write for other tools, .csv)", path, filepath.Ext(path))
}

// WriteFile writes every record of rr to path, as Parquet (Snappy, the Arrow
// schema stored so types round-trip exactly), as an Arrow IPC file or as
// CSV with a header (NULL as an empty cell, dates as YYYY-MM-DD: for tools
// without a Parquet reader, such as Debian's pandas), chosen by the
// extension (.parquet, .arrow, .csv). The file is written to a temporary
// name and renamed on success, so a failed write leaves no partial file. It
// returns the number of rows written; it does not release rr.
func WriteFile(ctx context.Context, path string, rr array.RecordReader) (rows int64, err error) {
	format, err := fileFormat(path)
	if err != nil {
		return 0, err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return 0, fmt.Errorf("write %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	type recordWriter interface {
		Write(arrow.Record) error
		Close() error
	}
	var w recordWriter
	switch format {
	case "parquet":
		props := parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Snappy), parquet.WithMaxRowGroupLength(1<<20))
		pw, err := pqarrow.NewFileWriter(rr.Schema(), tmp, props, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
		if err != nil {
			return 0, fmt.Errorf("write %s: %w", path, err)
		}
		w = pw
	case "csv":
		w = csvWriter{arrowcsv.NewWriter(tmp, rr.Schema(), arrowcsv.WithHeader(true), arrowcsv.WithNullWriter(""))}
	default:
		iw, err := ipc.NewFileWriter(tmp, ipc.WithSchema(rr.Schema()), ipc.WithAllocator(memory.DefaultAllocator))
		if err != nil {
			return 0, fmt.Errorf("write %s: %w", path, err)
		}
		w = iw
	}
	for rr.Next() {
		if err := ctx.Err(); err != nil {
			w.Close()
			return rows, fmt.Errorf("write %s: %w", path, err)
		}
		rec := rr.Record()
		if err := w.Write(rec); err != nil {
			w.Close()
			return rows, fmt.Errorf("write %s: %w", path, err)
		}
		rows += rec.NumRows()
	}
	if err := rr.Err(); err != nil {
		w.Close()
		return rows, fmt.Errorf("write %s: %w", path, err)
	}
	if err := w.Close(); err != nil {
		return rows, fmt.Errorf("write %s: %w", path, err)
	}
	if format != "parquet" { // the IPC and CSV writers do not close the file
		if err := tmp.Close(); err != nil {
			return rows, fmt.Errorf("write %s: %w", path, err)
		}
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return rows, fmt.Errorf("write %s: %w", path, err)
	}
	return rows, nil
}

// csvWriter is Arrow's CSV writer with the Close of the other writers.
type csvWriter struct{ *arrowcsv.Writer }

func (w csvWriter) Close() error { return w.Flush() }

// ReadFile opens a snapshot written by WriteFile (or any Parquet or Arrow
// IPC file) as a record reader; the format comes from the extension.
// Releasing the reader closes the file. Not safe for concurrent use.
func ReadFile(path string) (array.RecordReader, error) {
	format, err := fileFormat(path)
	if err != nil {
		return nil, err
	}
	if format == "csv" {
		return nil, fmt.Errorf("%s: duewise reads snapshots as .parquet or .arrow (CSV is written for other tools: it does not keep the column types)", path)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	switch format {
	case "parquet":
		pf, err := file.NewParquetReader(f)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("read %s: %w", path, err)
		}
		fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: 1 << 16}, memory.DefaultAllocator)
		if err != nil {
			pf.Close()
			return nil, fmt.Errorf("read %s: %w", path, err)
		}
		rr, err := fr.GetRecordReader(context.Background(), nil, nil)
		if err != nil {
			pf.Close()
			return nil, fmt.Errorf("read %s: %w", path, err)
		}
		return &closingReader{RecordReader: rr, close: pf.Close}, nil
	default:
		ir, err := ipc.NewFileReader(f, ipc.WithAllocator(memory.DefaultAllocator))
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("read %s: %w", path, err)
		}
		return &closingReader{RecordReader: &ipcFileReader{r: ir}, close: func() error { ir.Close(); return f.Close() }}, nil
	}
}

// Err reports the reader's error; the end of the file is not one.
func (c *closingReader) Err() error {
	if err := c.RecordReader.Err(); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	return nil
}

// closingReader runs close when its reference count drops to zero.
type closingReader struct {
	array.RecordReader
	close func() error
	refs  atomic.Int64
}

func (c *closingReader) Retain() { c.refs.Add(1); c.RecordReader.Retain() }

func (c *closingReader) Release() {
	c.RecordReader.Release()
	if c.refs.Add(-1) == -1 {
		c.close()
	}
}

// ipcFileReader adapts an ipc.FileReader (random access) to a RecordReader.
type ipcFileReader struct {
	r   *ipc.FileReader
	i   int
	cur arrow.Record
	err error
}

func (r *ipcFileReader) Retain()               {}
func (r *ipcFileReader) Release()              { r.drop() }
func (r *ipcFileReader) Schema() *arrow.Schema { return r.r.Schema() }
func (r *ipcFileReader) Record() arrow.Record  { return r.cur }
func (r *ipcFileReader) Err() error            { return r.err }
func (r *ipcFileReader) drop() {
	if r.cur != nil {
		r.cur.Release()
		r.cur = nil
	}
}

func (r *ipcFileReader) Next() bool {
	r.drop()
	if r.err != nil || r.i >= r.r.NumRecords() {
		return false
	}
	rec, err := r.r.Record(r.i)
	if err != nil {
		r.err = err
		return false
	}
	rec.Retain()
	r.cur = rec
	r.i++
	return true
}
