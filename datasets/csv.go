package datasets

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"unsafe"
)

// rawRows are the undecoded cells of a chunk of source rows, row-major:
// either strings (cells) or, for CSV, spans into text, which keeps the
// garbage collector away from millions of small strings.
type rawRows struct {
	ncols int
	cells []string
	text  []byte
	spans []span
	locs  []int       // line (CSV, NDJSON) or row number (Parquet, Arrow) of each row
	bad   [][]Problem // per row: problems found while splitting it (nil = none)
	n     int
}

// span is a cell's bytes text[off:end].
type span struct{ off, end uint32 }

// row returns the cells of row i, using dst for CSV rows. The strings alias
// the chunk and stay valid while it lives.
func (r *rawRows) row(i int, dst []string) []string {
	if r.spans == nil {
		return r.cells[i*r.ncols : (i+1)*r.ncols]
	}
	dst = dst[:0]
	for _, sp := range r.spans[i*r.ncols : (i+1)*r.ncols] {
		if sp.end == sp.off {
			dst = append(dst, "")
			continue
		}
		dst = append(dst, unsafe.String(&r.text[sp.off], int(sp.end-sp.off)))
	}
	return dst
}

func (r *rawRows) addRow(loc int, bad []Problem) {
	r.locs = append(r.locs, loc)
	r.bad = append(r.bad, bad)
	r.n++
}

func (r *rawRows) add(loc int, cells []string, bad []Problem) {
	r.addRow(loc, bad)
	r.cells = append(r.cells, fit(cells, r.ncols)...)
}

// fit pads or cuts s to n elements so every row has ncols cells.
func fit[T any](s []T, n int) []T {
	if len(s) == n {
		return s
	}
	if len(s) > n {
		return s[:n]
	}
	return append(s, make([]T, n-len(s))...)
}

// textChunker cuts a line-oriented stream into chunks that end at record
// boundaries, for workers to decode in parallel. With quotes set, a newline
// inside a double-quoted CSV field does not end a record.
type textChunker struct {
	r      io.Reader
	size   int
	quotes bool
	carry  []byte
	line   int // line number of the next chunk's first line
	eof    bool
	read   int64
}

// next returns the next chunk of whole records and the line number of its
// first line, or io.EOF.
func (c *textChunker) next() ([]byte, int, error) {
	if c.eof && len(c.carry) == 0 {
		return nil, 0, io.EOF
	}
	buf := make([]byte, len(c.carry), max(c.size, 2*len(c.carry)))
	copy(buf, c.carry)
	for {
		if !c.eof {
			n, err := io.ReadFull(c.r, buf[len(buf):cap(buf)])
			buf = buf[:len(buf)+n]
			c.read += int64(n)
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				c.eof = true
			} else if err != nil {
				return nil, 0, err
			}
		}
		end := len(buf)
		if end == 0 && c.eof {
			c.carry = c.carry[:0]
			return nil, 0, io.EOF
		}
		if !c.eof {
			end = c.boundary(buf)
		}
		if end > 0 {
			c.carry = append(c.carry[:0], buf[end:]...)
			first := c.line
			c.line += bytes.Count(buf[:end], []byte{'\n'})
			return buf[:end], first, nil
		}
		// One record longer than the buffer: grow and read on.
		grown := make([]byte, len(buf), 2*cap(buf))
		copy(grown, buf)
		buf = grown
	}
}

// boundary returns the offset just after the last newline of buf that ends
// a record (0 if none).
func (c *textChunker) boundary(buf []byte) int {
	if !c.quotes {
		return bytes.LastIndexByte(buf, '\n') + 1
	}
	end, pos, inQuote := 0, 0, false
	for {
		nl := bytes.IndexByte(buf[pos:], '\n')
		if nl < 0 {
			return end
		}
		inQuote = quoteState(buf[pos:pos+nl], inQuote)
		pos += nl + 1
		if !inQuote {
			end = pos
		}
	}
}

// csvHeader reads the header record of a CSV stream (dropping a UTF-8 byte
// order mark) and returns its names and the chunker for the data lines.
func csvHeader(r io.Reader, size int) ([]string, *textChunker, error) {
	c := &textChunker{r: r, size: size, quotes: true, line: 1}
	// Read until the first record ends.
	var buf []byte
	b := make([]byte, 64<<10)
	for {
		n, err := r.Read(b)
		buf = append(buf, b[:n]...)
		c.read += int64(n)
		if end, _, _ := recordEnd(buf, 0); end < len(buf) {
			break
		}
		if err == io.EOF {
			c.eof = true
			break
		}
		if err != nil {
			return nil, nil, err
		}
	}
	end, next, lines := recordEnd(buf, 0)
	c.carry = buf[next:]
	c.line = 1 + lines
	rec := bytes.TrimPrefix(buf[:end], []byte("\xef\xbb\xbf"))
	rec = bytes.TrimSuffix(rec, []byte{'\r'})
	if len(bytes.TrimSpace(rec)) == 0 {
		return nil, nil, errors.New("empty file: want a header line")
	}
	rows := &rawRows{text: bytes.Clone(rec)} // unescaping appends to text
	spans, err := splitCSV(rows, 0, uint32(len(rec)), nil)
	if err != nil {
		return nil, nil, fmt.Errorf("header: %w", err)
	}
	rows.ncols, rows.spans = len(spans), spans
	fields := rows.row(0, nil)
	for i, f := range fields {
		fields[i] = strings.Clone(f)
	}
	return fields, c, nil
}

// quoteState returns whether a CSV line segment that starts inside (in) or
// outside a quoted field ends inside one. A quote opens a quoted field only
// at the start of a field (or right after a closing quote: an escaped ""),
// so a stray quote inside an unquoted field does not swallow the lines
// after it.
func quoteState(seg []byte, in bool) bool {
	closed := -2
	for i := 0; ; {
		q := bytes.IndexByte(seg[i:], '"')
		if q < 0 {
			return in
		}
		p := i + q
		switch {
		case in:
			in, closed = false, p
		case p == 0 || seg[p-1] == ',' || closed == p-1:
			in = true
		}
		i = p + 1
	}
}

// recordEnd returns the end of the record starting at pos (the offset of
// its terminating newline or len(buf)), the offset where the next record
// starts, and the number of newlines the record spans.
func recordEnd(buf []byte, pos int) (end, next, lines int) {
	inQuote := false
	for i := pos; ; {
		nl := bytes.IndexByte(buf[i:], '\n')
		if nl < 0 {
			return len(buf), len(buf), lines
		}
		inQuote = quoteState(buf[i:i+nl], inQuote)
		lines++
		i += nl + 1
		if !inQuote {
			return i - 1, i, lines
		}
	}
}

// decodeCSV splits a chunk of CSV records into rows of ncols cells. The
// cells alias data, which must not change afterwards.
func decodeCSV(data []byte, first, ncols int) *rawRows {
	est := bytes.Count(data, []byte{'\n'}) + 1
	rows := &rawRows{ncols: ncols, text: data, spans: make([]span, 0, est*ncols), locs: make([]int, 0, est), bad: make([][]Problem, 0, est)}
	var fields []span
	line := first
	for pos := 0; pos < len(data); {
		end, next, lines := recordEnd(data, pos)
		if end > pos && data[end-1] == '\r' {
			end--
		}
		loc := line
		line += lines
		start := pos
		pos = next
		if end == start {
			continue // blank line
		}
		var err error
		fields, err = splitCSV(rows, uint32(start), uint32(end), fields[:0])
		var bad []Problem
		switch {
		case err != nil:
			bad = []Problem{{Reason: err.Error()}}
		case len(fields) != ncols:
			bad = []Problem{{Reason: fmt.Sprintf("%d fields, header has %d", len(fields), ncols)}}
		}
		rows.addRow(loc, bad)
		rows.spans = append(rows.spans, fit(fields, ncols)...)
	}
	return rows
}

// splitCSV splits the record rows.text[start:end] (without its newline)
// into field spans, appending them to dst. Unescaped copies of quoted
// fields with doubled quotes are appended to rows.text.
func splitCSV(rows *rawRows, start, end uint32, dst []span) ([]span, error) {
	rec := rows.text[:end]
	for pos := start; ; {
		if pos < end && rec[pos] == '"' {
			i := pos + 1
			from := uint32(len(rows.text)) // where an unescaped copy would go
			copied := false
			for {
				q := bytes.IndexByte(rec[i:], '"')
				if q < 0 {
					return dst, errors.New(`unterminated quoted field`)
				}
				if i+uint32(q)+1 < end && rec[i+uint32(q)+1] == '"' { // "" is one quote
					rows.text = append(rows.text, rec[i:i+uint32(q)+1]...)
					copied = true
					i += uint32(q) + 2
					continue
				}
				if copied {
					rows.text = append(rows.text, rec[i:i+uint32(q)]...)
					dst = append(dst, span{from, uint32(len(rows.text))})
				} else {
					dst = append(dst, span{i, i + uint32(q)})
				}
				i += uint32(q) + 1
				break
			}
			if i == end {
				return dst, nil
			}
			if rec[i] != ',' {
				return dst, fmt.Errorf(`extraneous character %q after quoted field %d`, rec[i], len(dst))
			}
			pos = i + 1
			continue
		}
		c := bytes.IndexByte(rec[pos:], ',')
		fe := end
		if c >= 0 {
			fe = pos + uint32(c)
		}
		if bytes.IndexByte(rec[pos:fe], '"') >= 0 {
			return dst, fmt.Errorf(`bare " in unquoted field %d`, len(dst)+1)
		}
		dst = append(dst, span{pos, fe})
		if c < 0 {
			return dst, nil
		}
		pos = fe + 1
	}
}
