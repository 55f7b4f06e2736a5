package public

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/duewise/duewise/datasets/rowfile"
)

// Result describes an import.
type Result struct {
	// Source is the file read and SourceRows its data rows.
	Source     string
	SourceRows int
	// Rows is the number of rows written per table.
	Rows map[string]int64
	// Files are the contract files written.
	Files []string
}

// source reads a CSV file with a header, by column name, and names the
// file, line and column in every error.
type source struct {
	path string
	f    *os.File
	r    *csv.Reader
	col  map[string]int
	rec  []string
	line int
}

func openSource(path string, need []string) (*source, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open source: %w", err)
	}
	s := &source{path: path, f: f, r: csv.NewReader(f), col: map[string]int{}}
	s.r.ReuseRecord = true
	head, err := s.r.Read()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s:1: header: %w", path, err)
	}
	for i, h := range head {
		s.col[strings.TrimPrefix(strings.TrimSpace(h), "\ufeff")] = i
	}
	for _, n := range need {
		if _, ok := s.col[n]; !ok {
			f.Close()
			return nil, fmt.Errorf("%s:1: header: column %q missing", path, n)
		}
	}
	s.line = 1
	return s, nil
}

// each calls fn for every data row and returns the number of rows.
func (s *source) each(ctx context.Context, fn func() error) (int, error) {
	n := 0
	for {
		ok, err := s.next()
		if err != nil || !ok {
			return n, err
		}
		if n%1000 == 0 && ctx.Err() != nil {
			return n, ctx.Err()
		}
		if err := fn(); err != nil {
			return n, err
		}
		n++
	}
}

// next reads the next row; it returns false at the end of the file.
func (s *source) next() (bool, error) {
	rec, err := s.r.Read()
	if errors.Is(err, io.EOF) {
		return false, nil
	}
	line, _ := s.r.FieldPos(0)
	s.line = line
	if err != nil {
		return false, fmt.Errorf("%s:%d: %w", s.path, line, err)
	}
	s.rec = rec
	return true, nil
}

func (s *source) str(col string) string { return strings.TrimSpace(s.rec[s.col[col]]) }

// errf returns an error naming the file, line and column.
func (s *source) errf(col, format string, args ...any) error {
	c := s.col[col] + 1
	return fmt.Errorf("%s:%d:%d: %s: %s", s.path, s.line, c, col, fmt.Sprintf(format, args...))
}

func (s *source) float(col string) (float64, error) {
	v := s.str(col)
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return 0, s.errf(col, "%q is not a number", v)
	}
	return f, nil
}

// choice reads a two-valued column: true for yes, false for no.
func (s *source) choice(col, yes, no string) (bool, error) {
	switch v := s.str(col); v {
	case yes:
		return true, nil
	case no:
		return false, nil
	default:
		return false, s.errf(col, "%q, want %s or %s", v, yes, no)
	}
}

func (s *source) close() error { return s.f.Close() }

// write writes b through a CSV rowfile.Writer into dir.
func write(dir, tenant string, extra []string, b *rowfile.Batch) (map[string]int64, []string, error) {
	w, err := rowfile.Create(rowfile.Options{Dir: dir, Format: rowfile.CSV, Tenant: tenant, Extra: extra})
	if err != nil {
		return nil, nil, err
	}
	err = w.Write(b)
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	return w.Rows(), w.Paths(), err
}
