package datasets

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
)

// withAttributes returns the customers table t followed by the columns of
// s's attributes named in present, in s's order: numeric attributes as
// Number, categories as Enum over their values. All are optional.
func (t Table) withAttributes(s *AttributeSchema, present []string) Table {
	x := t
	x.base = len(t.Columns)
	x.attrVersion = s.Version
	x.Columns = slices.Clone(t.Columns)
	for i := range s.Attributes {
		a := &s.Attributes[i]
		if !slices.Contains(present, a.Name) {
			continue
		}
		c := Column{Name: a.Name, Kind: Number, Doc: a.Label.EN, attr: a}
		if a.Type == AttrCategory {
			c.Kind, c.Values = Enum, a.Values
		}
		x.Columns = append(x.Columns, c)
	}
	return x
}

// attributeTable returns the table that a source with columns names binds
// to: t itself, unless t is customers and names has columns that are not
// contract columns; then t followed by those of them that the loader's
// tenant declared as attributes (the others stay unknown columns, which
// bind reports).
func (l *Loader) attributeTable(ctx context.Context, t Table, names []string) (Table, error) {
	if t.Name != "customers" {
		return t, nil
	}
	var extra []string
	for _, n := range names {
		if _, ok := t.Column(n); !ok {
			extra = append(extra, n)
		}
	}
	if len(extra) == 0 {
		return t, nil
	}
	if l.cfg.Tenant == "" {
		return t, fmt.Errorf("header: columns %s are not contract columns; as declared attributes they need the tenant of the rows (--tenant T or DUEWISE_TENANT): %w", quoteAll(extra), ErrNoTenant)
	}
	s, err := LatestAttributes(ctx, l.e, l.cfg.Tenant)
	if errors.Is(err, ErrNoAttributes) {
		return t, nil // bind reports them as unknown columns
	}
	if err != nil {
		return t, err
	}
	return t.withAttributes(&s, extra), nil
}

func quoteAll(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(q, ", ")
}

// store inserts rows of t: the contract columns into t's raw table and,
// when t has attribute columns, their values into customer_attributes
// (first, so that a server told about the customers finds them).
func (l *Loader) store(ctx context.Context, t *Table, rec arrow.Record) (versionRange, error) {
	if t.base == 0 {
		return l.insert(ctx, t.Name, rec)
	}
	if err := l.insertAttributes(ctx, t, rec); err != nil {
		return versionRange{}, err
	}
	base := array.NewRecord(arrow.NewSchema(rec.Schema().Fields()[:t.base], nil), rec.Columns()[:t.base], rec.NumRows())
	defer base.Release()
	return l.insert(ctx, t.Name, base)
}

// insertAttributes writes one customer_attributes row per row of rec and
// attribute column of t: known at the row's created_at, missing values
// too (a customer row replaces its attribute values as it replaces its
// other columns).
func (l *Loader) insertAttributes(ctx context.Context, t *Table, rec arrow.Record) error {
	n := int(rec.NumRows())
	col := func(name string) arrow.Array { return rec.Column(rec.Schema().FieldIndices(name)[0]) }
	tenants, ids := col("tenant").(*array.String), col(customerID).(*array.String)
	created := col("created_at").(*array.Date32)
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "tenant", Type: arrow.BinaryTypes.String}, {Name: customerID, Type: arrow.BinaryTypes.String},
		{Name: "name", Type: arrow.BinaryTypes.String}, {Name: "known_at", Type: arrow.FixedWidthTypes.Date32},
		{Name: "num_value", Type: arrow.PrimitiveTypes.Float64, Nullable: true}, {Name: "str_value", Type: arrow.BinaryTypes.String},
		{Name: "schema_version", Type: arrow.PrimitiveTypes.Uint32}, {Name: VersionColumn, Type: arrow.PrimitiveTypes.Uint64},
	}, nil)
	b := array.NewRecordBuilder(l.mem, schema)
	defer b.Release()
	attrs := t.Columns[t.base:]
	v := l.versions(n * len(attrs))
	for i := range n {
		for k, c := range attrs {
			b.Field(0).(*array.StringBuilder).Append(tenants.Value(i))
			b.Field(1).(*array.StringBuilder).Append(ids.Value(i))
			b.Field(2).(*array.StringBuilder).Append(c.Name)
			b.Field(3).(*array.Date32Builder).Append(created.Value(i))
			a := rec.Column(t.base + k)
			num, str := b.Field(4).(*array.Float64Builder), b.Field(5).(*array.StringBuilder)
			switch x := a.(type) {
			case *array.Float64:
				if x.IsNull(i) {
					num.AppendNull()
				} else {
					num.Append(x.Value(i))
				}
				str.Append("")
			case *array.String:
				num.AppendNull()
				str.Append(x.Value(i))
			}
			b.Field(6).(*array.Uint32Builder).Append(uint32(t.attrVersion))
			b.Field(7).(*array.Uint64Builder).Append(v)
			v++
		}
	}
	out := b.NewRecord()
	defer out.Release()
	if err := l.e.Insert(ctx, AttributesTable, out); err != nil {
		return fmt.Errorf("insert %d attribute values into %s: %w", out.NumRows(), AttributesTable, err)
	}
	return nil
}
