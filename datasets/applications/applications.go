// Package applications turns a table of past applications with a yes/no
// outcome (the form in which analysts usually keep this history) into
// onboarding training rows: the snapshot schema that training.Load reads
// (tenant, customer_id, as_of, inputs..., duration_days, event; see
// docs/features.md). An application whose outcome equals the chosen value
// fell behind within the follow-up: event 1 at duration = follow-up days
// (the day is unknown; the end of the follow-up is the conservative
// choice). Any other outcome is event 0, censored at the end of the
// follow-up: event-free through day N, so duration N+1, the convention of
// package metrics (a row censored at or before a horizon is neither case
// nor control) and of the UCI benchmark; with N = 365 training reads it as
// followed through its whole grid. Every other
// column becomes an input, numeric when every non-empty cell is a number,
// categorical otherwise, except protected attributes (datasets.Protected),
// which are left out and listed. See docs/public-datasets.md.
package applications

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"

	"github.com/duewise/duewise/datasets"
)

// DefaultFollowUpDays is the follow-up of Options.FollowUpDays.
const DefaultFollowUpDays = 365

// RowNumber as Options.ID numbers the applications 1, 2, ... in file
// order (data rows, the header not counted), for a table without an id
// column such as the German credit data.
const RowNumber = "@row"

// Options configure Import. A plain value.
type Options struct {
	// Path is the CSV file (header row, comma-separated, RFC 4180 quotes).
	Path string
	// ID is the column holding the application (customer) id: required,
	// non-empty and unique; RowNumber numbers the rows instead.
	ID string
	// Date is the column holding the application date (YYYY-MM-DD or
	// RFC 3339), the rows' as_of. Empty: every row gets AsOf.
	Date string
	// AsOf is the as_of of every row when Date is empty (required then).
	AsOf time.Time
	// Outcome is the outcome column and Value the value meaning "fell
	// behind within the follow-up" (compared after trimming spaces).
	Outcome, Value string
	// FollowUpDays is the follow-up in days (default 365, at most 3650).
	FollowUpDays int
	// Tenant is written in every row (default "applications").
	Tenant string
}

// Validate reports the first invalid field.
func (o Options) Validate() error {
	switch {
	case o.Path == "":
		return errors.New("applications: the file is required")
	case o.ID == "":
		return errors.New("applications: the id column is required (--id)")
	case o.Outcome == "" || o.Value == "":
		return errors.New("applications: the outcome is required as COLUMN=VALUE (--outcome)")
	case o.Date == "" && o.AsOf.IsZero():
		return errors.New("applications: without a date column every row needs one as_of date")
	case o.FollowUpDays < 0 || o.FollowUpDays > 3650:
		return fmt.Errorf("applications: follow-up of %d days: want 1..3650", o.FollowUpDays)
	}
	return nil
}

// Reject is one application left out, with the reason naming
// file:line:column.
type Reject struct {
	Line int
	Err  error
}

// Result is an import: the rows (Record, to be released by the caller)
// and what was done with every column and row.
type Result struct {
	// Record holds the training rows in file order.
	Record arrow.Record
	// SourceRows is the number of data rows read, Events those with the
	// outcome value.
	SourceRows, Events int
	// Numeric and Categorical are the input columns, in file order.
	Numeric, Categorical []string
	// Protected are the columns left out as protected attributes, each
	// with the fragment it matched ("Age (age)").
	Protected []string
	// Rejected are the rows left out; the others are in Record.
	Rejected []Reject
}

// Import reads the applications file of opt and converts its good rows;
// a bad row is rejected with its reason and the others are kept. Errors
// are for the file as a whole (unreadable, bad header, no usable row).
func Import(ctx context.Context, opt Options) (*Result, error) {
	if opt.FollowUpDays == 0 {
		opt.FollowUpDays = DefaultFollowUpDays
	}
	if opt.Tenant == "" {
		opt.Tenant = "applications"
	}
	if err := opt.Validate(); err != nil {
		return nil, err
	}
	f, err := os.Open(opt.Path)
	if err != nil {
		return nil, fmt.Errorf("applications: %w", err)
	}
	defer f.Close()
	t, err := readTable(ctx, f, opt)
	if err != nil {
		return nil, err
	}
	return t.build(opt)
}

// table is the file's good rows with the role of each column.
type table struct {
	res   *Result
	head  []string
	input []int // column indexes of the inputs, file order
	ids   []string
	asOf  []int32
	event []bool
	cells [][]string // per good row, the whole record
	// values counts the outcome values seen.
	values map[string]int
}

// role indexes of the special columns.
type roles struct{ id, date, outcome int }

func header(path string, head []string, opt Options, res *Result) (roles, []int, error) {
	r := roles{-1, -1, -1}
	seen := map[string]int{}
	var inputs []int
	for i, h := range head {
		h = strings.TrimPrefix(strings.TrimSpace(h), "\ufeff")
		head[i] = h
		loc := fmt.Sprintf("%s:1:%d", path, i+1)
		if h == "" {
			return r, nil, fmt.Errorf("%s: empty column name", loc)
		}
		if j, dup := seen[h]; dup {
			return r, nil, fmt.Errorf("%s: column %q repeats column %d", loc, h, j+1)
		}
		seen[h] = i
		switch h {
		case opt.ID:
			r.id = i
			continue
		case opt.Date:
			r.date = i
			continue
		case opt.Outcome:
			r.outcome = i
			continue
		}
		if snapshotColumns[strings.ToLower(h)] {
			return r, nil, fmt.Errorf("%s: column %q has the name of a snapshot column; rename it", loc, h)
		}
		if p, ok := datasets.Protected(h); ok {
			res.Protected = append(res.Protected, fmt.Sprintf("%s (%s)", h, p))
			continue
		}
		inputs = append(inputs, i)
	}
	for _, c := range []struct {
		name string
		idx  int
	}{{opt.ID, r.id}, {opt.Date, r.date}, {opt.Outcome, r.outcome}} {
		if c.name != "" && c.name != RowNumber && c.idx < 0 {
			return r, nil, fmt.Errorf("%s:1: header: column %q missing (columns: %s)", path, c.name, strings.Join(head, ", "))
		}
	}
	return r, inputs, nil
}

// snapshotColumns are the names the output schema uses itself.
var snapshotColumns = map[string]bool{"tenant": true, "customer_id": true, "invoice_id": true, "as_of": true,
	"duration_days": true, "event": true, "status": true, "refreshed_at": true}

func readTable(ctx context.Context, f io.Reader, opt Options) (*table, error) {
	cr := csv.NewReader(f)
	cr.FieldsPerRecord = -1
	head, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("%s:1: header: %w", opt.Path, err)
	}
	t := &table{res: &Result{}, head: slices.Clone(head)}
	r, inputs, err := header(opt.Path, t.head, opt, t.res)
	if err != nil {
		return nil, err
	}
	t.input = inputs
	firstLine := map[string]int{}
	asOf := int32(opt.AsOf.Unix() / 86400)
	for n := 0; ; n++ {
		if n%1000 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		line, _ := cr.FieldPos(0)
		t.res.SourceRows++
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				line = pe.StartLine
			}
			t.reject(line, fmt.Errorf("%s:%d: %w", opt.Path, line, err))
			continue
		}
		cell := func(i int) string { return strings.TrimSpace(rec[i]) }
		errf := func(col int, format string, args ...any) {
			t.reject(line, fmt.Errorf("%s:%d:%d: %s: %s", opt.Path, line, col+1, t.head[col], fmt.Sprintf(format, args...)))
		}
		if len(rec) != len(t.head) {
			t.reject(line, fmt.Errorf("%s:%d:%d: %d fields, want %d as in the header", opt.Path, line, min(len(rec), len(t.head))+1, len(rec), len(t.head)))
			continue
		}
		id := strconv.Itoa(t.res.SourceRows)
		if r.id >= 0 {
			id = cell(r.id)
		}
		if id == "" {
			errf(r.id, "missing id")
			continue
		}
		if first, dup := firstLine[id]; dup {
			errf(r.id, "duplicate id %q (first on line %d)", id, first)
			continue
		}
		day := asOf
		if r.date >= 0 {
			d, err := parseDate(cell(r.date))
			if err != nil {
				errf(r.date, "%q is not a date (want YYYY-MM-DD)", cell(r.date))
				continue
			}
			day = d
		}
		out := cell(r.outcome)
		if out == "" {
			errf(r.outcome, "missing outcome")
			continue
		}
		firstLine[id] = line
		t.ids, t.asOf = append(t.ids, id), append(t.asOf, day)
		t.event = append(t.event, out == opt.Value)
		t.cells = append(t.cells, slices.Clone(rec))
		t.outcomes(out)
	}
	return t, nil
}

// outcomes counts the distinct outcome values (for the error when none
// equals the chosen value).
func (t *table) outcomes(v string) {
	if t.values == nil {
		t.values = map[string]int{}
	}
	t.values[v]++
}

func (t *table) reject(line int, err error) {
	t.res.Rejected = append(t.res.Rejected, Reject{Line: line, Err: err})
}

// parseDate reads YYYY-MM-DD or an RFC 3339 time into days since
// 1970-01-01 (UTC).
func parseDate(s string) (int32, error) {
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		if d, err = time.Parse(time.RFC3339, s); err != nil {
			return 0, err
		}
	}
	return int32(d.UTC().Truncate(24*time.Hour).Unix() / 86400), nil
}

// build types the input columns and writes the Arrow record.
func (t *table) build(opt Options) (*Result, error) {
	res := t.res
	n := len(t.ids)
	if n == 0 {
		return nil, fmt.Errorf("%s: no usable row (%d rejected)", opt.Path, len(res.Rejected))
	}
	for _, e := range t.event {
		if e {
			res.Events++
		}
	}
	if res.Events == 0 {
		return nil, fmt.Errorf("%s: no row has %s = %q (values seen: %s)", opt.Path, opt.Outcome, opt.Value, strings.Join(slices.Sorted(maps.Keys(t.values)), ", "))
	}
	fields := []arrow.Field{{Name: "tenant", Type: arrow.BinaryTypes.String}, {Name: "customer_id", Type: arrow.BinaryTypes.String}, {Name: "as_of", Type: arrow.FixedWidthTypes.Date32}}
	numeric := make([]bool, len(t.input))
	for k, c := range t.input {
		numeric[k] = t.isNumeric(c)
		typ := arrow.DataType(arrow.BinaryTypes.String)
		if numeric[k] {
			typ = arrow.PrimitiveTypes.Float64
			res.Numeric = append(res.Numeric, t.head[c])
		} else {
			res.Categorical = append(res.Categorical, t.head[c])
		}
		fields = append(fields, arrow.Field{Name: t.head[c], Type: typ, Nullable: true})
	}
	fields = append(fields, arrow.Field{Name: "duration_days", Type: arrow.PrimitiveTypes.Int32}, arrow.Field{Name: "event", Type: arrow.PrimitiveTypes.Uint8})
	b := array.NewRecordBuilder(memory.DefaultAllocator, arrow.NewSchema(fields, nil))
	defer b.Release()
	for i := range n {
		b.Field(0).(*array.StringBuilder).Append(opt.Tenant)
		b.Field(1).(*array.StringBuilder).Append(t.ids[i])
		b.Field(2).(*array.Date32Builder).Append(arrow.Date32(t.asOf[i]))
		for k, c := range t.input {
			v := strings.TrimSpace(t.cells[i][c])
			switch fb := b.Field(3 + k).(type) {
			case *array.Float64Builder:
				if v == "" {
					fb.AppendNull()
				} else {
					x, _ := strconv.ParseFloat(v, 64) // checked by isNumeric
					fb.Append(x)
				}
			case *array.StringBuilder:
				fb.Append(v)
			}
		}
		ev := uint8(0)
		if t.event[i] {
			ev = 1
		}
		dur := int32(opt.FollowUpDays)
		if !t.event[i] {
			dur++ // event-free through the last day of the follow-up
		}
		b.Field(3 + len(t.input)).(*array.Int32Builder).Append(dur)
		b.Field(4 + len(t.input)).(*array.Uint8Builder).Append(ev)
	}
	res.Record = b.NewRecord()
	return res, nil
}

// isNumeric reports whether every non-empty cell of column c is a finite
// number (and at least one is).
func (t *table) isNumeric(c int) bool {
	seen := false
	for _, rec := range t.cells {
		v := strings.TrimSpace(rec[c])
		if v == "" {
			continue
		}
		x, err := strconv.ParseFloat(v, 64)
		if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
			return false
		}
		seen = true
	}
	return seen
}
