package api

import (
	"math"
	"strings"

	"github.com/duewise/duewise/serving/scoring"
)

// inlineRecord is a customer described in a request, with the raw JSON of
// its history (nil when absent) until it is decoded.
type inlineRecord struct {
	scoring.Inline
	history []byte
}

// parseRecord reads one inline record object at s, with field paths
// prefixed by prefix ("" or "records[3]."). A JSON grammar error is
// returned as err (it ends the request); a problem with the record's
// content as ferr (the first one), after the whole record was read.
func parseRecord(c *scoring.Catalog, s *scanner, prefix string, buf *recordBuf) (rec inlineRecord, ferr *scoring.Error, err error) {
	if s.peek() != '{' {
		ferr = scoring.Invalid(strings.TrimSuffix(prefix, "."), "want an object, got %s", s.kind())
		_, err = s.skip()
		return rec, ferr, err
	}
	seen := 0
	note := func(e *scoring.Error) {
		if ferr == nil {
			ferr = e
		}
	}
	err = s.object(func(key []byte) error {
		// The field's path, built only for an error.
		field := func() string { return prefix + string(key) }
		var bit int
		switch string(key) {
		case "customer_id":
			bit = 1
		case "as_of":
			bit = 2
		case "signals":
			bit = 4
		case "history":
			bit = 8
		default:
			note(scoring.Invalid(field(), "unknown field (want customer_id, as_of, signals or history)"))
			_, err := s.skip()
			return err
		}
		if seen&bit != 0 {
			note(scoring.Invalid(field(), "given twice"))
		}
		seen |= bit
		switch bit {
		case 1, 2:
			if s.peek() != '"' {
				note(scoring.Invalid(field(), "want a string, got %s", s.kind()))
				_, err := s.skip()
				return err
			}
			v, err := s.str()
			if bit == 1 {
				rec.CustomerID = v
			} else {
				rec.AsOf = v
			}
			return err
		case 4:
			if s.peek() == 'n' {
				return s.literal("null")
			}
			if s.peek() != '{' {
				note(scoring.Invalid(field(), "want an object of signal name to value, got %s", s.kind()))
				_, err := s.skip()
				return err
			}
			rec.HasSignals = true
			buf.sig = c.Reset(buf.sig)
			rec.Signals = buf.sig
			return parseSignals(c, s, prefix, &rec.Signals, buf, note)
		default:
			if s.peek() == 'n' {
				return s.literal("null")
			}
			raw, err := s.skip()
			rec.history = raw
			return err
		}
	})
	return rec, ferr, err
}

// recordBuf is what parseRecord reuses from one record of a batch to the
// next: the signal values, and the signal names of the previous record in
// their order (the records of a batch usually list their signals in the
// same order, and comparing a name is cheaper than a map lookup). The zero
// value is ready to use; a recordBuf is not safe for concurrent use.
type recordBuf struct {
	sig   scoring.Values
	order []namedSignal
	seen  []bool // by position: numeric signals, then categorical ones
}

// namedSignal is a signal name and its Catalog.Inline position.
type namedSignal struct {
	name string
	j    int
}

// parseSignals reads the signals object of a record (field paths
// prefix+"signals."+name) into v. It allocates only for categorical values
// (and errors). order is the names of the previous record (see
// recordBuf), updated to this one's.
func parseSignals(c *scoring.Catalog, s *scanner, prefix string, v *scoring.Values, buf *recordBuf, note func(*scoring.Error)) error {
	n := 0
	order := &buf.order
	if len(buf.seen) != len(v.Num)+len(v.Cat) {
		buf.seen = make([]bool, len(v.Num)+len(v.Cat))
	}
	clear(buf.seen)
	return s.object(func(key []byte) error {
		var j int
		ok := n < len(*order) && (*order)[n].name == string(key)
		if ok {
			j = (*order)[n].j
		} else if j, ok = c.Inline(string(key)); ok {
			// The catalog's own string: no copy of the key per record.
			if n < len(*order) {
				(*order)[n] = namedSignal{c.Name(j), j}
			} else {
				*order = append(*order, namedSignal{c.Name(j), j})
			}
		}
		n++
		if !ok {
			note(scoring.Invalid(prefix+"signals."+string(key), "unknown signal (the signals are listed in docs/features.md and in /openapi.json)"))
			_, err := s.skip()
			return err
		}
		pos := j
		if j < 0 {
			pos = len(v.Num) - j - 1
		}
		if buf.seen[pos] {
			note(scoring.Invalid(prefix+"signals."+string(key), "given twice"))
		}
		buf.seen[pos] = true
		if s.peek() == 'n' {
			return s.literal("null")
		}
		if j >= 0 {
			if c := s.peek(); c != '-' && (c < '0' || c > '9') {
				note(scoring.Invalid(prefix+"signals."+string(key), "want a number or null, got %s", s.kind()))
				_, err := s.skip()
				return err
			}
			f, err := s.number()
			if err != nil {
				return err
			}
			if math.IsInf(f, 0) {
				note(scoring.Invalid(prefix+"signals."+string(key), "number out of range"))
			}
			v.Num[j] = f
			return nil
		}
		if s.peek() != '"' {
			note(scoring.Invalid(prefix+"signals."+string(key), "want a string or null, got %s", s.kind()))
			_, err := s.skip()
			return err
		}
		str, err := s.str()
		v.Cat[-j-1] = str
		return err
	})
}
