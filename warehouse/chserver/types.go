package chserver

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/decimal128"
	"github.com/shopspring/decimal"
)

// appender appends one scanned value (possibly a nil pointer for NULL) to
// a builder.
type appender func(b array.Builder, v any) error

// columnType maps a ClickHouse type name to its Arrow type, as chDB's
// ArrowStream output writes it.
func columnType(ch string) (arrow.DataType, bool, appender, error) {
	ch = strings.TrimSpace(ch)
	if inner, ok := unwrap(ch, "LowCardinality"); ok {
		return columnType(inner)
	}
	if inner, ok := unwrap(ch, "Nullable"); ok {
		dt, _, app, err := columnType(inner)
		return dt, true, app, err
	}
	if inner, ok := unwrap(ch, "Array"); ok {
		et, en, _, err := columnType(inner)
		if err != nil {
			return nil, false, nil, err
		}
		lt := arrow.ListOfField(arrow.Field{Name: "item", Type: et, Nullable: en})
		return lt, false, appendList, nil
	}
	if inner, ok := unwrap(ch, "Decimal"); ok {
		p, s, err := precisionScale(inner)
		if err != nil {
			return nil, false, nil, fmt.Errorf("%s: %w", ch, err)
		}
		return &arrow.Decimal128Type{Precision: p, Scale: s}, false, appendValue, nil
	}
	switch {
	case ch == "String", strings.HasPrefix(ch, "FixedString("), strings.HasPrefix(ch, "Enum8("), strings.HasPrefix(ch, "Enum16("), ch == "UUID":
		return arrow.BinaryTypes.String, false, appendValue, nil
	case ch == "Date", ch == "Date32":
		return arrow.FixedWidthTypes.Date32, false, appendValue, nil
	case ch == "DateTime", strings.HasPrefix(ch, "DateTime("):
		return arrow.PrimitiveTypes.Uint32, false, appendValue, nil
	case ch == "Nothing":
		return arrow.Null, true, appendValue, nil
	}
	if dt, ok := primitives[ch]; ok {
		return dt, false, appendValue, nil
	}
	return nil, false, nil, fmt.Errorf("%s: %w", ch, errUnsupported)
}

var primitives = map[string]arrow.DataType{
	"Int8": arrow.PrimitiveTypes.Int8, "Int16": arrow.PrimitiveTypes.Int16, "Int32": arrow.PrimitiveTypes.Int32, "Int64": arrow.PrimitiveTypes.Int64,
	"UInt8": arrow.PrimitiveTypes.Uint8, "UInt16": arrow.PrimitiveTypes.Uint16, "UInt32": arrow.PrimitiveTypes.Uint32, "UInt64": arrow.PrimitiveTypes.Uint64,
	"Float32": arrow.PrimitiveTypes.Float32, "Float64": arrow.PrimitiveTypes.Float64,
}

func unwrap(s, fn string) (string, bool) {
	if strings.HasPrefix(s, fn+"(") && strings.HasSuffix(s, ")") {
		return s[len(fn)+1 : len(s)-1], true
	}
	return "", false
}

func precisionScale(s string) (int32, int32, error) {
	parts := strings.Split(s, ",")
	if len(parts) != 2 {
		return 0, 0, fmt.Errorf("want Decimal(P, S)")
	}
	p, err1 := strconv.Atoi(strings.TrimSpace(parts[0]))
	sc, err2 := strconv.Atoi(strings.TrimSpace(parts[1]))
	if err1 != nil || err2 != nil || p > 38 {
		return 0, 0, fmt.Errorf("want Decimal(P, S) with P <= 38")
	}
	return int32(p), int32(sc), nil
}

func newScanDest(t reflect.Type) any { return reflect.New(t).Interface() }

func deref(p any) any { return reflect.ValueOf(p).Elem().Interface() }

// appendValue appends a scalar value; a nil pointer appends NULL.
func appendValue(b array.Builder, v any) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Pointer {
		if rv.IsNil() {
			b.AppendNull()
			return nil
		}
		v = rv.Elem().Interface()
	}
	switch bb := b.(type) {
	case *array.StringBuilder:
		s, ok := v.(string)
		if !ok {
			s = fmt.Sprint(v)
		}
		bb.Append(s)
	case *array.Date32Builder:
		t, ok := v.(time.Time)
		if !ok {
			return fmt.Errorf("date: got %T", v)
		}
		bb.Append(arrow.Date32FromTime(t.UTC()))
	case *array.Decimal128Builder:
		d, ok := v.(decimal.Decimal)
		if !ok {
			return fmt.Errorf("decimal: got %T", v)
		}
		scale := bb.Type().(*arrow.Decimal128Type).Scale
		bb.Append(decimal128.FromBigInt(d.Shift(scale).BigInt()))
	case *array.Uint32Builder:
		if t, ok := v.(time.Time); ok {
			bb.Append(uint32(t.Unix()))
			return nil
		}
		bb.Append(uint32(toUint(v)))
	case *array.Uint8Builder:
		if x, ok := v.(bool); ok {
			bb.Append(map[bool]uint8{false: 0, true: 1}[x])
			return nil
		}
		bb.Append(uint8(toUint(v)))
	case *array.Uint16Builder:
		bb.Append(uint16(toUint(v)))
	case *array.Uint64Builder:
		bb.Append(toUint(v))
	case *array.Int8Builder:
		bb.Append(int8(toInt(v)))
	case *array.Int16Builder:
		bb.Append(int16(toInt(v)))
	case *array.Int32Builder:
		bb.Append(int32(toInt(v)))
	case *array.Int64Builder:
		bb.Append(toInt(v))
	case *array.Float32Builder:
		bb.Append(float32(reflect.ValueOf(v).Float()))
	case *array.Float64Builder:
		bb.Append(reflect.ValueOf(v).Float())
	case *array.NullBuilder:
		bb.AppendNull()
	default:
		return fmt.Errorf("append %T to %T: %w", v, b, errUnsupported)
	}
	return nil
}

func appendList(b array.Builder, v any) error {
	lb := b.(*array.ListBuilder)
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Slice {
		return fmt.Errorf("array: got %T", v)
	}
	lb.Append(true)
	vb := lb.ValueBuilder()
	app := appendValue
	if _, ok := vb.(*array.ListBuilder); ok {
		app = appendList
	}
	for i := 0; i < rv.Len(); i++ {
		if err := app(vb, rv.Index(i).Interface()); err != nil {
			return err
		}
	}
	return nil
}

func toUint(v any) uint64 {
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return rv.Uint()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return uint64(rv.Int())
	}
	return 0
}

func toInt(v any) int64 {
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return rv.Int()
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return int64(rv.Uint())
	}
	return 0
}

// goSlice converts an Arrow column into the slice clickhouse-go appends:
// []T, or []*T when the column has NULLs.
func goSlice(col arrow.Array) (any, error) {
	n := col.Len()
	nulls := col.NullN() > 0
	switch a := col.(type) {
	case *array.String:
		return build(n, nulls, a.IsNull, a.Value), nil
	case *array.Date32:
		return build(n, nulls, a.IsNull, func(i int) time.Time { return a.Value(i).ToTime() }), nil
	case *array.Timestamp:
		unit := a.DataType().(*arrow.TimestampType).Unit
		return build(n, nulls, a.IsNull, func(i int) time.Time { return a.Value(i).ToTime(unit).UTC() }), nil
	case *array.Decimal128:
		scale := a.DataType().(*arrow.Decimal128Type).Scale
		return build(n, nulls, a.IsNull, func(i int) decimal.Decimal {
			return decimal.NewFromBigInt(a.Value(i).BigInt(), -scale)
		}), nil
	case *array.Int8:
		return build(n, nulls, a.IsNull, a.Value), nil
	case *array.Int16:
		return build(n, nulls, a.IsNull, a.Value), nil
	case *array.Int32:
		return build(n, nulls, a.IsNull, a.Value), nil
	case *array.Int64:
		return build(n, nulls, a.IsNull, a.Value), nil
	case *array.Uint8:
		return build(n, nulls, a.IsNull, a.Value), nil
	case *array.Uint16:
		return build(n, nulls, a.IsNull, a.Value), nil
	case *array.Uint32:
		return build(n, nulls, a.IsNull, a.Value), nil
	case *array.Uint64:
		return build(n, nulls, a.IsNull, a.Value), nil
	case *array.Float32:
		return build(n, nulls, a.IsNull, a.Value), nil
	case *array.Float64:
		return build(n, nulls, a.IsNull, a.Value), nil
	}
	return nil, fmt.Errorf("arrow %s: %w", col.DataType(), errUnsupported)
}

// asTarget converts the values of a column for a target column of type
// ch where Arrow has no direct match: DateTime comes out of both backends
// as uint32 seconds (chDB's Arrow output), which clickhouse-go does not
// take back.
func asTarget(vals any, ch string) any {
	if !strings.HasPrefix(strings.TrimPrefix(ch, "Nullable("), "DateTime") {
		return vals
	}
	switch v := vals.(type) {
	case []uint32:
		out := make([]time.Time, len(v))
		for i, s := range v {
			out[i] = time.Unix(int64(s), 0).UTC()
		}
		return out
	case []*uint32:
		out := make([]*time.Time, len(v))
		for i, s := range v {
			if s != nil {
				t := time.Unix(int64(*s), 0).UTC()
				out[i] = &t
			}
		}
		return out
	}
	return vals
}

func build[T any](n int, nulls bool, isNull func(int) bool, get func(int) T) any {
	if !nulls {
		out := make([]T, n)
		for i := range out {
			out[i] = get(i)
		}
		return out
	}
	out := make([]*T, n)
	for i := range out {
		if !isNull(i) {
			v := get(i)
			out[i] = &v
		}
	}
	return out
}
