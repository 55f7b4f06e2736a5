package datasets

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/decimal128"
	"github.com/apache/arrow/go/v15/arrow/memory"
)

// Problem is one reason a row was rejected: the contract column (empty for
// a problem of the whole row, such as a wrong number of CSV fields) and why.
// It is a plain value, safe to share.
type Problem struct {
	Column string `json:"column,omitempty"`
	Reason string `json:"reason"`
}

// String formats p as "column: reason" (or just the reason).
func (p Problem) String() string {
	if p.Column == "" {
		return p.Reason
	}
	return p.Column + ": " + p.Reason
}

// joinProblems formats ps as "col: reason; col: reason".
func joinProblems(ps []Problem) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return strings.Join(s, "; ")
}

// Validation messages. Tests compare against them.
const (
	reasonEmpty      = "required value is empty"
	reasonUTF8       = "invalid UTF-8"
	reasonPositive   = "must be > 0"
	reasonUnknownCol = "unknown column"
)

// rowRule is a check across columns of one row: column after must not be
// before column before.
type rowRule struct{ table, before, after string }

var orderRules = []rowRule{
	{"invoices", "issued_at", "due_at"},
	{"arrangements", "agreed_at", "ended_at"},
	{"disputes", "opened_at", "resolved_at"},
}

// positive lists the columns that must be > 0, per table.
var positive = map[string][]string{
	"invoices":     {"amount"},
	"payments":     {"amount"},
	"arrangements": {"amount", "installments"},
}

// binding maps a source's columns onto a contract table.
type binding struct {
	table  Table
	src    []int    // per contract column: index in the source row, or -1
	names  []string // the source's column names
	tenant string   // fills an absent tenant and rejects any other
	order  [][2]int // pairs of contract column indexes (before, after)
	pos    []int    // contract column indexes that must be > 0
}

// bind checks a source's column names against t: unknown and duplicate
// columns and missing required ones are errors naming them. tenant, when
// set, may stand in for a missing tenant column.
// ErrNoTenant is wrapped by the header error of a file without a tenant
// column when the Loader has no tenant to fill in (LoaderConfig.Tenant).
var ErrNoTenant = errors.New("no tenant column and no tenant given")

func bind(t Table, names []string, tenant string) (*binding, error) {
	b := &binding{table: t, src: make([]int, len(t.Columns)), names: names, tenant: tenant}
	for i := range b.src {
		b.src[i] = -1
	}
	var unknown, dup []string
	for j, n := range names {
		i := slices.IndexFunc(t.Columns, func(c Column) bool { return c.Name == n })
		switch {
		case i < 0:
			unknown = append(unknown, fmt.Sprintf("%q", n))
		case b.src[i] >= 0:
			dup = append(dup, n)
		default:
			b.src[i] = j
		}
	}
	var missing []string
	for i, c := range t.Columns {
		if b.src[i] < 0 && c.Required && !(i == 0 && tenant != "") {
			missing = append(missing, c.Name)
		}
	}
	var errs []string
	if len(unknown) > 0 {
		hint := ""
		if t.Name == "customers" {
			hint = "; other columns must be attributes the tenant declared (duewise attributes declare)"
		}
		errs = append(errs, fmt.Sprintf("unknown columns %s (table %s has %s%s)", strings.Join(unknown, ", "), t.Name, strings.Join(t.columnNames(), ", "), hint))
	}
	if len(dup) > 0 {
		errs = append(errs, "duplicate columns "+strings.Join(dup, ", "))
	}
	if len(missing) > 0 {
		errs = append(errs, "missing required columns "+strings.Join(missing, ", "))
	}
	if len(errs) > 0 {
		err := fmt.Errorf("header: %s", strings.Join(errs, "; "))
		if b.src[0] < 0 && tenant == "" {
			err = fmt.Errorf("%w (%w)", err, ErrNoTenant)
		}
		return nil, err
	}
	idx := func(n string) int { return slices.IndexFunc(t.Columns, func(c Column) bool { return c.Name == n }) }
	for _, r := range orderRules {
		if r.table == t.Name {
			b.order = append(b.order, [2]int{idx(r.before), idx(r.after)})
		}
	}
	for _, n := range positive[t.Name] {
		b.pos = append(b.pos, idx(n))
	}
	return b, nil
}

func (t Table) columnNames() []string {
	n := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		n[i] = c.Name
	}
	return n
}

// value is one parsed cell.
type value struct {
	s    string
	n    int64
	f    float64 // a Number
	null bool
}

// rowBuilder validates rows and appends the good ones to Arrow builders.
// It is not concurrency-safe: each worker owns one.
type rowBuilder struct {
	b    *binding
	rb   *array.RecordBuilder
	vals []value
	errs []Problem
	// perRow is the average bytes per row of each string column in the
	// last batch, to size the next batch's buffers at once.
	perRow []float64
}

func newRowBuilder(b *binding, mem memory.Allocator) *rowBuilder {
	return &rowBuilder{b: b, rb: array.NewRecordBuilder(mem, b.table.ArrowSchema()), vals: make([]value, len(b.table.Columns))}
}

// check parses and validates one source row (cells indexed like the
// source's columns). It returns the problems found (nil when the row is
// good); the parsed values stay in rb.vals until the next call.
func (r *rowBuilder) check(cells []string) []Problem {
	r.errs = r.errs[:0]
	t := &r.b.table
	for i := range t.Columns {
		c := &t.Columns[i]
		s := ""
		if j := r.b.src[i]; j >= 0 {
			s = cells[j]
		}
		v := &r.vals[i]
		*v = value{s: s}
		if i == 0 && r.b.tenant != "" {
			if s == "" {
				v.s = r.b.tenant
				continue
			}
			if s != r.b.tenant {
				r.fail(c.Name, fmt.Sprintf("tenant %q is not the load's tenant %q", s, r.b.tenant))
				continue
			}
		}
		if s == "" {
			v.null = true
			if c.Required {
				r.fail(c.Name, reasonEmpty)
			}
			continue
		}
		if !utf8.ValidString(s) {
			r.fail(c.Name, reasonUTF8)
			continue
		}
		var err error
		switch c.Kind {
		case Enum:
			if !slices.Contains(c.Values, s) {
				err = fmt.Errorf("invalid value %q: want one of %s", s, strings.Join(c.Values, ", "))
			}
		case Date:
			var d int32
			d, err = ParseDate(s)
			v.n = int64(d)
		case Timestamp:
			v.n, err = ParseTimestamp(s)
		case Amount:
			v.n, err = ParseAmount(s)
		case Int:
			var n int32
			n, err = ParseInt(s)
			v.n = int64(n)
		case Currency:
			if !isUpper(s, 3) {
				err = fmt.Errorf("invalid currency %q: want 3 upper-case letters (ISO 4217), e.g. EUR", s)
			}
		case Country:
			if !isUpper(s, 2) {
				err = fmt.Errorf("invalid country %q: want 2 upper-case letters (ISO 3166 alpha-2), e.g. NL", s)
			}
		case Number:
			v.f, _, _, err = c.attr.ParseValue(s)
		}
		if err != nil {
			r.fail(c.Name, err.Error())
		}
	}
	if len(r.errs) > 0 {
		return r.errs
	}
	for _, p := range r.b.pos {
		if r.vals[p].n <= 0 {
			r.fail(t.Columns[p].Name, reasonPositive)
		}
	}
	for _, o := range r.b.order {
		a, b := &r.vals[o[0]], &r.vals[o[1]]
		if !a.null && !b.null && b.n < a.n {
			r.fail(t.Columns[o[1]].Name, "before "+t.Columns[o[0]].Name)
		}
	}
	if len(r.errs) > 0 {
		return r.errs
	}
	return nil
}

func (r *rowBuilder) fail(col, reason string) {
	r.errs = append(r.errs, Problem{Column: col, Reason: reason})
}

// appendRow appends the values of the last good check to the builders.
func (r *rowBuilder) appendRow() {
	for i := range r.b.table.Columns {
		v := &r.vals[i]
		f := r.rb.Field(i)
		if v.null && r.b.table.Columns[i].nullable() {
			f.AppendNull()
			continue
		}
		switch b := f.(type) {
		case *array.StringBuilder:
			b.Append(v.s)
		case *array.Date32Builder:
			b.Append(arrow.Date32(v.n))
		case *array.TimestampBuilder:
			b.Append(arrow.Timestamp(v.n))
		case *array.Decimal128Builder:
			b.Append(decimal128.FromI64(v.n))
		case *array.Int32Builder:
			b.Append(int32(v.n))
		case *array.Float64Builder:
			b.Append(v.f)
		}
	}
}

// reserve sizes the builders for n rows.
func (r *rowBuilder) reserve(n int) {
	r.rb.Reserve(n)
	if r.perRow == nil {
		r.perRow = make([]float64, len(r.b.table.Columns))
	}
	for i, f := range r.rb.Fields() {
		if sb, ok := f.(*array.StringBuilder); ok && r.perRow[i] > 0 {
			sb.ReserveData(int(r.perRow[i]*float64(n)*1.1) + 64)
		}
	}
}

// record returns the rows appended so far (nil if none) and resets the
// builders.
func (r *rowBuilder) record() arrow.Record {
	if r.perRow == nil {
		r.perRow = make([]float64, len(r.b.table.Columns))
	}
	for i, f := range r.rb.Fields() {
		if sb, ok := f.(*array.StringBuilder); ok && sb.Len() > 0 {
			r.perRow[i] = float64(sb.DataLen()) / float64(sb.Len())
		}
	}
	rec := r.rb.NewRecord()
	if rec.NumRows() == 0 {
		rec.Release()
		return nil
	}
	return rec
}

func (r *rowBuilder) release() { r.rb.Release() }
