package training

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"

	"github.com/duewise/duewise/datasets"
)

// metaColumns are snapshot columns that are never model inputs.
var metaColumns = map[string]bool{
	"tenant": true, "customer_id": true, "invoice_id": true, "as_of": true,
	"duration_days": true, "event": true, "status": true, "refreshed_at": true,
}

// Dataset is a snapshot file in memory, column by column. Num[j][i] is
// numeric input NumNames[j] of row i (NaN = NULL); Cat[j][i] likewise for
// the categorical inputs. Not safe for concurrent modification.
type Dataset struct {
	Tenant, CustomerID, InvoiceID []string // InvoiceID is nil for customer-level snapshots
	AsOf                          []int32  // days since 1970-01-01
	Duration                      []int32
	Event                         []uint8
	Segment                       []string // "" when the snapshot has no segment column
	NumNames                      []string
	Num                           [][]float64
	CatNames                      []string
	Cat                           [][]string
}

// Len returns the number of rows.
func (d *Dataset) Len() int { return len(d.Duration) }

// indexes returns the row indexes 0, 1, ..., n-1.
func indexes(n int) []int {
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	return idx
}

// ErrNoRows is Load's error for a reader without rows.
var ErrNoRows = errors.New("no rows")

// Load reads every record of rr (the snapshot schema of docs/features.md:
// tenant, customer_id, [invoice_id], as_of, inputs..., duration_days,
// event) into a Dataset. Numeric columns of any integer or float type
// become float64 inputs, utf8 columns categorical inputs; other types and
// protected attributes are refused with the column's name.
func Load(rr array.RecordReader) (*Dataset, error) {
	d := &Dataset{}
	schema := rr.Schema()
	for _, name := range []string{"customer_id", "as_of", "duration_days", "event"} {
		if len(schema.FieldIndices(name)) == 0 {
			return nil, fmt.Errorf("load snapshots: missing column %q", name)
		}
	}
	numIdx, catIdx := map[int]int{}, map[int]int{}
	for i, f := range schema.Fields() {
		if metaColumns[f.Name] {
			continue
		}
		if p, ok := datasets.Protected(f.Name); ok {
			return nil, fmt.Errorf("load snapshots: column %q looks like a protected attribute (%s); it must not be a model input", f.Name, p)
		}
		switch f.Type.ID() {
		case arrow.STRING, arrow.LARGE_STRING:
			catIdx[i] = len(d.CatNames)
			d.CatNames = append(d.CatNames, f.Name)
		case arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64, arrow.UINT8, arrow.UINT16, arrow.UINT32, arrow.UINT64, arrow.FLOAT32, arrow.FLOAT64:
			numIdx[i] = len(d.NumNames)
			d.NumNames = append(d.NumNames, f.Name)
		default:
			return nil, fmt.Errorf("load snapshots: column %q has type %s: want a number or a string", f.Name, f.Type)
		}
	}
	d.Num = make([][]float64, len(d.NumNames))
	d.Cat = make([][]string, len(d.CatNames))
	hasInvoice := len(schema.FieldIndices("invoice_id")) > 0
	for rr.Next() {
		rec := rr.Record()
		n := int(rec.NumRows())
		for i, f := range schema.Fields() {
			col := rec.Column(i)
			switch f.Name {
			case "tenant":
				d.Tenant = appendStrings(d.Tenant, col)
			case "customer_id":
				d.CustomerID = appendStrings(d.CustomerID, col)
			case "invoice_id":
				d.InvoiceID = appendStrings(d.InvoiceID, col)
			case "as_of":
				switch c := col.(type) {
				case *array.Date32:
					for r := range n {
						d.AsOf = append(d.AsOf, int32(c.Value(r)))
					}
				default:
					return nil, fmt.Errorf("load snapshots: column as_of has type %s: want date32", col.DataType())
				}
			case "duration_days":
				for _, v := range appendFloats(nil, col) {
					if math.IsNaN(v) || v < 0 {
						return nil, fmt.Errorf("load snapshots: duration_days of row %d is %v: want a number >= 0", len(d.Duration), v)
					}
					d.Duration = append(d.Duration, int32(v))
				}
			case "event":
				for _, v := range appendFloats(nil, col) {
					if v != 0 && v != 1 {
						return nil, fmt.Errorf("load snapshots: event of row %d is %v: want 0 or 1", len(d.Event), v)
					}
					d.Event = append(d.Event, uint8(v))
				}
			default:
				if j, ok := numIdx[i]; ok {
					d.Num[j] = appendFloats(d.Num[j], col)
				} else if j, ok := catIdx[i]; ok {
					d.Cat[j] = appendStrings(d.Cat[j], col)
				}
			}
		}
	}
	if err := rr.Err(); err != nil {
		return nil, fmt.Errorf("load snapshots: %w", err)
	}
	n := d.Len()
	if n == 0 {
		return nil, fmt.Errorf("load snapshots: %w", ErrNoRows)
	}
	if d.Tenant == nil {
		d.Tenant = make([]string, n)
	}
	if !hasInvoice {
		d.InvoiceID = nil
	}
	d.Segment = make([]string, n)
	for j, name := range d.CatNames {
		if name == "segment" {
			copy(d.Segment, d.Cat[j])
		}
	}
	return d, nil
}

func appendStrings(dst []string, col arrow.Array) []string {
	switch c := col.(type) {
	case *array.String:
		for r := range c.Len() {
			dst = append(dst, c.Value(r))
		}
	case *array.LargeString:
		for r := range c.Len() {
			dst = append(dst, c.Value(r))
		}
	default:
		for r := range col.Len() {
			dst = append(dst, col.ValueStr(r))
		}
	}
	return dst
}

// appendFloats appends a numeric column as float64, NULL as NaN.
func appendFloats(dst []float64, col arrow.Array) []float64 {
	n := col.Len()
	get := func(r int) float64 { return math.NaN() }
	switch c := col.(type) {
	case *array.Float64:
		get = func(r int) float64 { return c.Value(r) }
	case *array.Float32:
		get = func(r int) float64 { return float64(c.Value(r)) }
	case *array.Int64:
		get = func(r int) float64 { return float64(c.Value(r)) }
	case *array.Int32:
		get = func(r int) float64 { return float64(c.Value(r)) }
	case *array.Int16:
		get = func(r int) float64 { return float64(c.Value(r)) }
	case *array.Int8:
		get = func(r int) float64 { return float64(c.Value(r)) }
	case *array.Uint64:
		get = func(r int) float64 { return float64(c.Value(r)) }
	case *array.Uint32:
		get = func(r int) float64 { return float64(c.Value(r)) }
	case *array.Uint16:
		get = func(r int) float64 { return float64(c.Value(r)) }
	case *array.Uint8:
		get = func(r int) float64 { return float64(c.Value(r)) }
	}
	for r := range n {
		if col.IsNull(r) {
			dst = append(dst, math.NaN())
		} else {
			dst = append(dst, get(r))
		}
	}
	return dst
}

// Subset returns the rows idx of d (sharing nothing with d).
func (d *Dataset) Subset(idx []int) *Dataset {
	s := &Dataset{NumNames: d.NumNames, CatNames: d.CatNames,
		Num: make([][]float64, len(d.Num)), Cat: make([][]string, len(d.Cat))}
	pickS := func(src []string) []string {
		if src == nil {
			return nil
		}
		out := make([]string, len(idx))
		for i, r := range idx {
			out[i] = src[r]
		}
		return out
	}
	s.Tenant, s.CustomerID, s.InvoiceID, s.Segment = pickS(d.Tenant), pickS(d.CustomerID), pickS(d.InvoiceID), pickS(d.Segment)
	s.AsOf, s.Duration, s.Event = make([]int32, len(idx)), make([]int32, len(idx)), make([]uint8, len(idx))
	for i, r := range idx {
		s.AsOf[i], s.Duration[i], s.Event[i] = d.AsOf[r], d.Duration[r], d.Event[r]
	}
	for j := range d.Num {
		s.Num[j] = make([]float64, len(idx))
		for i, r := range idx {
			s.Num[j][i] = d.Num[j][r]
		}
	}
	for j := range d.Cat {
		s.Cat[j] = pickS(d.Cat[j])
	}
	return s
}

// Fingerprint is the SHA-256 of the dataset's rows (ids, dates, labels and
// every input), independent of the file format it came from.
func (d *Dataset) Fingerprint() string {
	h := sha256.New()
	var b [8]byte
	for i := range d.Len() {
		h.Write([]byte(d.Tenant[i]))
		h.Write([]byte{0})
		h.Write([]byte(d.CustomerID[i]))
		h.Write([]byte{0})
		if d.InvoiceID != nil {
			h.Write([]byte(d.InvoiceID[i]))
			h.Write([]byte{0})
		}
		binary.LittleEndian.PutUint32(b[:4], uint32(d.AsOf[i]))
		binary.LittleEndian.PutUint32(b[4:], uint32(d.Duration[i]))
		h.Write(b[:])
		h.Write([]byte{d.Event[i]})
		for j := range d.Num {
			binary.LittleEndian.PutUint64(b[:], math.Float64bits(d.Num[j][i]))
			h.Write(b[:])
		}
		for j := range d.Cat {
			h.Write([]byte(d.Cat[j][i]))
			h.Write([]byte{0})
		}
	}
	for _, n := range d.NumNames {
		h.Write([]byte(n + "\x00"))
	}
	for _, n := range d.CatNames {
		h.Write([]byte(n + "\x01"))
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}
