package warehouse

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
)

// RawString is a Scan destination for a string that aliases the record's
// memory instead of being copied: valid only until the callback returns
// (as database/sql's RawBytes). Use it on bulk loads that keep few of the
// strings they read.
type RawString string

// ErrNoRows is returned by ScanOne for a result without rows.
var ErrNoRows = errors.New("warehouse: no rows in result")

// Scan reads every row of rr: it converts the row's cells into dest, one
// pointer per column in column order, and calls fn, until the rows end or
// fn returns an error. It is the one place where Arrow values become Go
// values, as database/sql's convertAssign is: a column whose type cannot be
// converted into its destination is an error naming the column, never a
// panic, and the conversion is chosen once per record batch.
//
// Destinations and the column types they take:
//
//	*string, *RawString                 String, LargeString, Binary (a NULL is "")
//	*float64, *float32                  any float or integer column (a NULL is NaN)
//	*int64, *int, *uint64, *uint32, *uint8
//	                                    any integer column whose values fit (a NULL is 0)
//	*bool                               Bool or an integer column (non-zero is true)
//	*time.Time                          Date32, Date64, Timestamp, or UInt32
//	                                    (ClickHouse DateTime: seconds), in UTC
//	nil                                 any column, skipped
//
// Scan does not release rr.
func Scan(rr array.RecordReader, fn func() error, dest ...any) error {
	for rr.Next() {
		rec := rr.Record()
		conv, err := converters(rec, dest)
		if err != nil {
			return err
		}
		for i := range int(rec.NumRows()) {
			for c, f := range conv {
				if err := f(i); err != nil {
					return fmt.Errorf("warehouse: scan column %d (%s) row %d: %w", c, rec.ColumnName(c), i, err)
				}
			}
			if err := fn(); err != nil {
				return err
			}
		}
	}
	return rr.Err()
}

// ScanOne reads the first row of rr into dest (see Scan); ErrNoRows when
// there is none.
func ScanOne(rr array.RecordReader, dest ...any) error {
	errStop := errors.New("stop")
	found := false
	err := Scan(rr, func() error { found = true; return errStop }, dest...)
	switch {
	case errors.Is(err, errStop):
		return nil
	case err != nil:
		return err
	case !found:
		return ErrNoRows
	}
	return nil
}

// converter writes the cell of one row into its destination.
type converter func(row int) error

func converters(rec arrow.Record, dest []any) ([]converter, error) {
	if int(rec.NumCols()) != len(dest) {
		return nil, fmt.Errorf("warehouse: scan %d columns (%s) into %d destinations", rec.NumCols(), columnNames(rec), len(dest))
	}
	out := make([]converter, len(dest))
	for c, d := range dest {
		col := rec.Column(c)
		f, ok := convert(col, d)
		if !ok {
			return nil, fmt.Errorf("warehouse: scan column %d (%s): cannot convert %s into %T", c, rec.ColumnName(c), col.DataType(), d)
		}
		out[c] = f
	}
	return out, nil
}

func columnNames(rec arrow.Record) string {
	names := make([]string, rec.NumCols())
	for i := range names {
		names[i] = rec.ColumnName(i)
	}
	return strings.Join(names, ", ")
}

// convert returns the converter of col into d, or false when there is
// none.
func convert(col arrow.Array, d any) (converter, bool) {
	switch p := d.(type) {
	case nil:
		return func(int) error { return nil }, true
	case *string:
		return convertString(col, func(i int, s string) { *p = strings.Clone(s) })
	case *RawString:
		return convertString(col, func(i int, s string) { *p = RawString(s) })
	case *float64:
		return convertFloat(col, p)
	case *float32:
		var x float64
		f, ok := convertFloat(col, &x)
		return func(i int) error { f(i); *p = float32(x); return nil }, ok
	case *int64:
		return convertInt(col, p)
	case *int:
		return convertInt(col, p)
	case *uint64:
		return convertInt(col, p)
	case *uint32:
		return convertInt(col, p)
	case *uint8:
		return convertInt(col, p)
	case *bool:
		if b, ok := col.(*array.Boolean); ok {
			return func(i int) error { *p = b.IsValid(i) && b.Value(i); return nil }, true
		}
		var x int64
		f, ok := convertInt(col, &x)
		return func(i int) error { err := f(i); *p = x != 0; return err }, ok
	case *time.Time:
		return convertTime(col, p)
	}
	return nil, false
}

func convertString(col arrow.Array, set func(i int, s string)) (converter, bool) {
	var get func(i int) string
	switch c := col.(type) {
	case *array.String:
		get = c.Value
	case *array.LargeString:
		get = c.Value
	case *array.Binary:
		get = c.ValueString
	default:
		return nil, false
	}
	return func(i int) error {
		if col.IsNull(i) {
			set(i, "")
		} else {
			set(i, get(i))
		}
		return nil
	}, true
}

func convertFloat(col arrow.Array, p *float64) (converter, bool) {
	var get func(i int) float64
	switch c := col.(type) {
	case *array.Float64:
		get = c.Value
	case *array.Float32:
		get = func(i int) float64 { return float64(c.Value(i)) }
	default:
		s, u, ok := integers(col)
		switch {
		case !ok:
			return nil, false
		case s != nil:
			get = func(i int) float64 { return float64(s(i)) }
		default:
			get = func(i int) float64 { return float64(u(i)) }
		}
	}
	return func(i int) error {
		if col.IsNull(i) {
			*p = math.NaN()
		} else {
			*p = get(i)
		}
		return nil
	}, true
}

// integer is what convertInt writes.
type integer interface {
	~int | ~int64 | ~uint64 | ~uint32 | ~uint8
}

// convertInt converts an integer column into *p, checking that each value
// fits.
func convertInt[T integer](col arrow.Array, p *T) (converter, bool) {
	s, u, ok := integers(col)
	if !ok {
		return nil, false
	}
	return func(i int) error {
		switch {
		case col.IsNull(i):
			*p = 0
		case s != nil:
			v := s(i)
			if T(v) < 0 != (v < 0) || int64(T(v)) != v {
				return fmt.Errorf("value %d does not fit %T", v, *p)
			}
			*p = T(v)
		default:
			v := u(i)
			if T(v) < 0 || uint64(T(v)) != v {
				return fmt.Errorf("value %d does not fit %T", v, *p)
			}
			*p = T(v)
		}
		return nil
	}, true
}

// integers returns the value getter of an integer column: s for signed
// types, u for unsigned ones.
func integers(col arrow.Array) (s func(int) int64, u func(int) uint64, ok bool) {
	switch c := col.(type) {
	case *array.Int8:
		return func(i int) int64 { return int64(c.Value(i)) }, nil, true
	case *array.Int16:
		return func(i int) int64 { return int64(c.Value(i)) }, nil, true
	case *array.Int32:
		return func(i int) int64 { return int64(c.Value(i)) }, nil, true
	case *array.Int64:
		return c.Value, nil, true
	case *array.Uint8:
		return nil, func(i int) uint64 { return uint64(c.Value(i)) }, true
	case *array.Uint16:
		return nil, func(i int) uint64 { return uint64(c.Value(i)) }, true
	case *array.Uint32:
		return nil, func(i int) uint64 { return uint64(c.Value(i)) }, true
	case *array.Uint64:
		return nil, c.Value, true
	}
	return nil, nil, false
}

func convertTime(col arrow.Array, p *time.Time) (converter, bool) {
	var get func(i int) time.Time
	switch c := col.(type) {
	case *array.Date32:
		get = func(i int) time.Time { return time.Unix(int64(c.Value(i))*86400, 0).UTC() }
	case *array.Date64:
		get = func(i int) time.Time { return time.UnixMilli(int64(c.Value(i))).UTC() }
	case *array.Uint32:
		get = func(i int) time.Time { return time.Unix(int64(c.Value(i)), 0).UTC() }
	case *array.Timestamp:
		unit := arrow.Second
		if ts, ok := c.DataType().(*arrow.TimestampType); ok {
			unit = ts.Unit
		}
		get = func(i int) time.Time { return c.Value(i).ToTime(unit).UTC() }
	default:
		return nil, false
	}
	return func(i int) error {
		if col.IsNull(i) {
			*p = time.Time{}
		} else {
			*p = get(i)
		}
		return nil
	}, true
}

// Strings runs query and returns the first column of its rows as strings
// (see Scan), in the order of the result.
func Strings(ctx context.Context, q interface {
	Query(ctx context.Context, sql string, p Params) (array.RecordReader, error)
}, query string, p Params) ([]string, error) {
	rr, err := q.Query(ctx, query, p)
	if err != nil {
		return nil, err
	}
	defer rr.Release()
	var out []string
	var s string
	if err := Scan(rr, func() error { out = append(out, s); return nil }, &s); err != nil {
		return nil, err
	}
	return out, nil
}
