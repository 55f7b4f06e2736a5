package online

import (
	"errors"
	"math"
	"unsafe"
)

// ids holds strings back to back in one buffer with the end of each:
// no pointer per string, so that the garbage collector never scans a
// million customer ids (the online table and the histories keep theirs
// this way).
type ids struct {
	buf []byte   // the strings, back to back
	end []uint32 // string i ends at end[i] in buf
}

// at returns string i (a view of the buffer: valid while ids lives).
func (p *ids) at(i int) string {
	start := uint32(0)
	if i > 0 {
		start = p.end[i-1]
	}
	s := p.buf[start:p.end[i]]
	return unsafe.String(unsafe.SliceData(s), len(s))
}

// add appends s; an error when the buffer would pass 4 GB.
func (p *ids) add(s string) error {
	if len(p.buf)+len(s) > math.MaxUint32 {
		return errors.New("customer ids exceed 4 GB")
	}
	p.buf = append(p.buf, s...)
	p.end = append(p.end, uint32(len(p.buf)))
	return nil
}

// bytes is the memory of the buffer and the ends.
func (p *ids) bytes() int64 { return int64(len(p.buf)) + 4*int64(len(p.end)) }
