package features

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"

	"github.com/duewise/duewise/datasets"
	"github.com/duewise/duewise/warehouse"
)

// attrValue is one stored value of one customer's attribute, known from
// day knownAt (days since 1970-01-01).
type attrValue struct {
	knownAt int32
	num     float64
	str     string
	null    bool
}

// attrKey is (customer, attribute).
type attrKey struct{ customer, name string }

// readAttributes returns the attribute values of tenant's customers, each
// list ordered by knownAt.
func readAttributes(ctx context.Context, eng warehouse.Engine, tenant string) (map[attrKey][]attrValue, error) {
	rr, err := eng.Query(ctx, "SELECT customer_id, name, toInt32(toUInt16(known_at)) AS known_at, isNull(num_value) AS num_null, ifNull(num_value, 0) AS num, str_value FROM "+
		datasets.AttributesTable+" FINAL WHERE tenant = {tenant:String} ORDER BY customer_id, name, known_at", warehouse.Params{"tenant": tenant})
	if err != nil {
		return nil, fmt.Errorf("read the attribute values: %w", err)
	}
	defer rr.Release()
	out := map[attrKey][]attrValue{}
	var k attrKey
	var known int64
	var numNull uint8
	var v attrValue
	err = warehouse.Scan(rr, func() error {
		v.knownAt, v.null = int32(known), numNull == 1 && v.str == ""
		out[k] = append(out[k], v)
		return nil
	}, &k.customer, &k.name, &known, &numNull, &v.num, &v.str)
	if err != nil {
		return nil, fmt.Errorf("read the attribute values: %w", err)
	}
	return out, nil
}

// at returns the value known on day (the latest knownAt <= day), ok false
// when none was.
func at(vs []attrValue, day int32) (attrValue, bool) {
	i, _ := slices.BinarySearchFunc(vs, day+1, func(v attrValue, d int32) int { return int(v.knownAt) - int(d) })
	if i == 0 {
		return attrValue{}, false
	}
	return vs[i-1], true
}

// withAttributes returns rr with one column per attribute of s (Float64
// for numeric, String for category attributes; NULL or "" when unknown)
// before duration_days: each row's value known on its as_of (point in
// time). rr must have customer_id and as_of columns. It takes over rr.
func withAttributes(ctx context.Context, eng warehouse.Engine, rr array.RecordReader, s *datasets.AttributeSchema) (array.RecordReader, error) {
	vals, err := readAttributes(ctx, eng, s.Tenant)
	if err != nil {
		rr.Release()
		return nil, err
	}
	src := rr.Schema()
	insert := src.NumFields()
	if ix := src.FieldIndices("duration_days"); len(ix) > 0 {
		insert = ix[0]
	}
	fields := slices.Clone(src.Fields()[:insert])
	for _, a := range s.Attributes {
		t := arrow.DataType(arrow.PrimitiveTypes.Float64)
		if a.Type == datasets.AttrCategory {
			t = arrow.BinaryTypes.String
		}
		fields = append(fields, arrow.Field{Name: a.Name, Type: t, Nullable: true})
	}
	fields = append(fields, src.Fields()[insert:]...)
	ar := &attrReader{src: rr, schema: arrow.NewSchema(fields, nil), attrs: s.Attributes, vals: vals, insert: insert}
	ar.refs.Store(1)
	return ar, nil
}

// attrReader adds attribute columns to the records of a snapshot reader.
type attrReader struct {
	src    array.RecordReader
	schema *arrow.Schema
	attrs  []datasets.Attribute
	vals   map[attrKey][]attrValue
	insert int
	rec    arrow.Record
	err    error
	refs   atomic.Int64
}

func (r *attrReader) Schema() *arrow.Schema { return r.schema }
func (r *attrReader) Record() arrow.Record  { return r.rec }
func (r *attrReader) Retain()               { r.refs.Add(1) }

func (r *attrReader) Err() error {
	if r.err != nil {
		return r.err
	}
	return r.src.Err()
}

func (r *attrReader) Release() {
	if r.refs.Add(-1) == 0 {
		if r.rec != nil {
			r.rec.Release()
		}
		r.src.Release()
	}
}

func (r *attrReader) Next() bool {
	if r.rec != nil {
		r.rec.Release()
		r.rec = nil
	}
	if r.err != nil || !r.src.Next() {
		return false
	}
	in := r.src.Record()
	ids, ok1 := in.Column(in.Schema().FieldIndices("customer_id")[0]).(*array.String)
	asOf, ok2 := in.Column(in.Schema().FieldIndices("as_of")[0]).(*array.Date32)
	if !ok1 || !ok2 {
		r.err = errors.New("snapshot attributes: customer_id or as_of of an unexpected type")
		return false
	}
	n := int(in.NumRows())
	cols := slices.Clone(in.Columns()[:r.insert])
	for _, a := range r.attrs {
		var b array.Builder
		if a.Type == datasets.AttrCategory {
			sb := array.NewStringBuilder(memory.DefaultAllocator)
			for i := range n {
				v, ok := at(r.vals[attrKey{ids.Value(i), a.Name}], int32(asOf.Value(i)))
				if !ok || v.str == "" {
					sb.AppendNull()
				} else {
					sb.Append(v.str)
				}
			}
			b = sb
		} else {
			fb := array.NewFloat64Builder(memory.DefaultAllocator)
			for i := range n {
				v, ok := at(r.vals[attrKey{ids.Value(i), a.Name}], int32(asOf.Value(i)))
				if !ok || v.null {
					fb.AppendNull()
				} else {
					fb.Append(v.num)
				}
			}
			b = fb
		}
		cols = append(cols, b.NewArray())
		b.Release()
	}
	made := cols[r.insert:]
	cols = append(cols, in.Columns()[r.insert:]...)
	r.rec = array.NewRecord(r.schema, cols, int64(n))
	for _, c := range made {
		c.Release()
	}
	return true
}
