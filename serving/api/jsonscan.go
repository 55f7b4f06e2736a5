package api

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"

	"github.com/duewise/duewise/serving/scoring"
)

// scanner reads one JSON text without building a tree: the strict,
// allocation-light parser behind the scoring requests, whose bodies can
// hold 10,000 records of 50 signals each (encoding/json into maps would
// take longer than scoring them). It validates the JSON grammar (RFC
// 8259) as it goes; a grammar error is a *syntaxError with the offset.
type scanner struct {
	b     []byte
	i     int
	depth int // objects and arrays open
}

// maxDepth is the deepest nesting of objects and arrays a request may
// have: deeper than any request of the contract (a history is 4 deep), and
// shallow enough that the recursive reading of skip stays a few kilobytes
// of stack whatever a client sends.
const maxDepth = 64

// nest enters an object or array.
func (s *scanner) nest() error {
	if s.depth++; s.depth > maxDepth {
		return s.fail("objects and arrays nested deeper than %d", maxDepth)
	}
	return nil
}

// syntaxError is malformed JSON at byte offset Off.
type syntaxError struct {
	Off int
	Msg string
}

func (e *syntaxError) Error() string { return e.Msg }

func (s *scanner) fail(format string, args ...any) error {
	return &syntaxError{Off: s.i, Msg: fmt.Sprintf(format, args...)}
}

func (s *scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// peek returns the next non-space byte (0 at the end).
func (s *scanner) peek() byte {
	s.ws()
	if s.i >= len(s.b) {
		return 0
	}
	return s.b[s.i]
}

func (s *scanner) expect(c byte) error {
	if s.peek() != c {
		return s.unexpected(fmt.Sprintf("%q", c))
	}
	s.i++
	return nil
}

func (s *scanner) unexpected(want string) error {
	if s.i >= len(s.b) {
		return s.fail("unexpected end of JSON, want %s", want)
	}
	return s.fail("unexpected %q, want %s", s.b[s.i], want)
}

// kind names the JSON type of the value that starts next.
func (s *scanner) kind() string {
	switch c := s.peek(); {
	case c == '"':
		return "a string"
	case c == '{':
		return "an object"
	case c == '[':
		return "an array"
	case c == 't' || c == 'f':
		return "a boolean"
	case c == 'n':
		return "null"
	case c == '-' || c >= '0' && c <= '9':
		return "a number"
	}
	return "a value"
}

// object calls fn for every key of the object that starts next, with the
// scanner at the key's value; fn must consume the value.
func (s *scanner) object(fn func(key []byte) error) error {
	if err := s.expect('{'); err != nil {
		return err
	}
	if err := s.nest(); err != nil {
		return err
	}
	defer func() { s.depth-- }()
	if s.peek() == '}' {
		s.i++
		return nil
	}
	for {
		if s.peek() != '"' {
			return s.unexpected("a string key")
		}
		key, err := s.stringBytes()
		if err != nil {
			return err
		}
		if err := s.expect(':'); err != nil {
			return err
		}
		if err := fn(key); err != nil {
			return err
		}
		switch s.peek() {
		case ',':
			s.i++
		case '}':
			s.i++
			return nil
		default:
			return s.unexpected(`"," or "}"`)
		}
	}
}

// array calls fn for every element of the array that starts next, with
// the scanner at the element; fn must consume it.
func (s *scanner) array(fn func(i int) error) error {
	if err := s.expect('['); err != nil {
		return err
	}
	if err := s.nest(); err != nil {
		return err
	}
	defer func() { s.depth-- }()
	if s.peek() == ']' {
		s.i++
		return nil
	}
	for i := 0; ; i++ {
		if err := fn(i); err != nil {
			return err
		}
		switch s.peek() {
		case ',':
			s.i++
		case ']':
			s.i++
			return nil
		default:
			return s.unexpected(`"," or "]"`)
		}
	}
}

// stringBytes reads a string and returns its unescaped bytes; without
// escapes they alias the input.
func (s *scanner) stringBytes() ([]byte, error) {
	if err := s.expect('"'); err != nil {
		return nil, err
	}
	start := s.i
	ascii := true
	for s.i < len(s.b) {
		c := s.b[s.i]
		if plainASCII[c] {
			s.i++
			continue
		}
		switch {
		case c == '"':
			out := s.b[start:s.i]
			s.i++
			if !ascii && !utf8.Valid(out) {
				return nil, &syntaxError{Off: start, Msg: "invalid UTF-8 in string"}
			}
			return out, nil
		case c == '\\':
			return s.escaped(start)
		case c < 0x20:
			return nil, s.fail("control character %q in string", c)
		}
		ascii = false
		s.i++
	}
	return nil, s.fail("unexpected end of JSON in string")
}

// plainASCII marks the bytes a string holds as they are: printable ASCII
// but the quote and the backslash.
var plainASCII = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// escaped finishes a string that has escapes, from its start.
func (s *scanner) escaped(start int) ([]byte, error) {
	out := append([]byte(nil), s.b[start:s.i]...)
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			s.i++
			if !utf8.Valid(out) {
				return nil, &syntaxError{Off: start, Msg: "invalid UTF-8 in string"}
			}
			return out, nil
		case c < 0x20:
			return nil, s.fail("control character %q in string", c)
		case c != '\\':
			out = append(out, c)
			s.i++
			continue
		}
		if s.i+1 >= len(s.b) {
			break
		}
		e := s.b[s.i+1]
		s.i += 2
		switch e {
		case '"', '\\', '/':
			out = append(out, e)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, ok := s.hex4()
			if !ok {
				return nil, s.fail(`invalid \u escape`)
			}
			if utf16.IsSurrogate(r) {
				r2 := utf8.RuneError
				if s.i+1 < len(s.b) && s.b[s.i] == '\\' && s.b[s.i+1] == 'u' {
					s.i += 2
					if x, ok := s.hex4(); ok {
						r2 = x
					}
				}
				r = utf16.DecodeRune(r, r2)
			}
			out = utf8.AppendRune(out, r)
		default:
			s.i--
			return nil, s.fail("invalid escape %q in string", e)
		}
	}
	return nil, s.fail("unexpected end of JSON in string")
}

func (s *scanner) hex4() (rune, bool) {
	if s.i+4 > len(s.b) {
		return 0, false
	}
	var r rune
	for _, c := range s.b[s.i : s.i+4] {
		switch {
		case c >= '0' && c <= '9':
			r = r*16 + rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r*16 + rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r*16 + rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	s.i += 4
	return r, true
}

// str reads a string into a new Go string.
func (s *scanner) str() (string, error) {
	b, err := s.stringBytes()
	return string(b), err
}

// number reads a number (JSON grammar) as float64.
func (s *scanner) number() (float64, error) {
	s.ws()
	start := s.i
	if s.i < len(s.b) && s.b[s.i] == '-' {
		s.i++
	}
	// The digits are also read into mant, for the exact fast path below.
	var mant uint64
	nd := 0
	digits := func() int {
		n := 0
		for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
			mant = mant*10 + uint64(s.b[s.i]-'0')
			s.i++
			n++
		}
		nd += n
		return n
	}
	switch {
	case s.i < len(s.b) && s.b[s.i] == '0':
		s.i++
		nd++
	case digits() == 0:
		return 0, s.unexpected("a digit")
	}
	frac := 0
	if s.i < len(s.b) && s.b[s.i] == '.' {
		s.i++
		if frac = digits(); frac == 0 {
			return 0, s.unexpected("a digit after the decimal point")
		}
	}
	if nd <= 15 && frac <= 22 && (s.i == len(s.b) || s.b[s.i] != 'e' && s.b[s.i] != 'E') {
		// At most 15 digits and no exponent: mant and 10^frac are exact
		// float64 values, so one division rounds correctly, as
		// strconv.ParseFloat's own fast path does.
		f := float64(mant) / pow10[frac]
		if s.b[start] == '-' {
			f = -f
		}
		return f, nil
	}
	if s.i < len(s.b) && (s.b[s.i] == 'e' || s.b[s.i] == 'E') {
		s.i++
		if s.i < len(s.b) && (s.b[s.i] == '+' || s.b[s.i] == '-') {
			s.i++
		}
		if digits() == 0 {
			return 0, s.unexpected("a digit in the exponent")
		}
	}
	text := s.b[start:s.i]
	f, err := strconv.ParseFloat(unsafe.String(unsafe.SliceData(text), len(text)), 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return 0, &syntaxError{Off: start, Msg: "invalid number " + string(text)}
	}
	return f, nil
}

func (s *scanner) literal(lit string) error {
	s.ws()
	if len(s.b)-s.i < len(lit) || string(s.b[s.i:s.i+len(lit)]) != lit {
		return s.unexpected(lit)
	}
	s.i += len(lit)
	return nil
}

// skip reads and discards one value and returns its raw bytes.
func (s *scanner) skip() ([]byte, error) {
	s.ws()
	start := s.i
	var err error
	switch c := s.peek(); {
	case c == '"':
		_, err = s.stringBytes()
	case c == '{':
		err = s.object(func([]byte) error { _, err := s.skip(); return err })
	case c == '[':
		err = s.array(func(int) error { _, err := s.skip(); return err })
	case c == 't':
		err = s.literal("true")
	case c == 'f':
		err = s.literal("false")
	case c == 'n':
		err = s.literal("null")
	default:
		_, err = s.number()
	}
	return s.b[start:s.i], err
}

// span returns the raw bytes of the value that starts next, tracking only
// strings and nesting: the cheap pass that finds the records of a batch,
// which the workers then parse (and validate) in parallel. Malformed JSON
// inside the value is left to that parse.
func (s *scanner) span() ([]byte, error) {
	s.ws()
	start := s.i
	depth := 0
	b := s.b
	for s.i < len(b) {
		c := b[s.i]
		if !spanStop[c] {
			s.i++
			continue
		}
		switch c {
		case '"':
			// The closing quote is the next one not escaped by an odd
			// number of backslashes.
			for {
				j := bytes.IndexByte(b[s.i+1:], '"')
				if j < 0 {
					s.i = len(b)
					return nil, s.fail("unexpected end of JSON in string")
				}
				s.i += 1 + j
				k := s.i - 1
				for k > start && b[k] == '\\' {
					k--
				}
				if (s.i-1-k)%2 == 0 {
					break
				}
			}
		case '{', '[':
			if depth++; s.depth+depth > maxDepth {
				return nil, s.fail("objects and arrays nested deeper than %d", maxDepth)
			}
		case '}', ']':
			if depth == 0 {
				return b[start:s.i], nil
			}
			depth--
		case ',':
			if depth == 0 {
				return b[start:s.i], nil
			}
		}
		s.i++
		if depth == 0 && (c == '}' || c == ']' || c == '"') {
			return b[start:s.i], nil
		}
	}
	if depth > 0 {
		return nil, s.fail("unexpected end of JSON: %d unclosed brackets", depth)
	}
	return b[start:s.i], nil
}

// spanStop marks the bytes span looks at.
var spanStop = [256]bool{'"': true, '{': true, '[': true, '}': true, ']': true, ',': true}

// pow10 holds the powers of ten a float64 represents exactly.
var pow10 = [23]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// end checks that only white space follows.
func (s *scanner) end() error {
	if s.peek() != 0 {
		return s.fail("unexpected data after the JSON value")
	}
	return nil
}

// check reads one JSON value and checks what encoding/json lets pass: it
// returns a *scoring.Error naming the path (under path) of an object key
// given twice, and a *syntaxError for malformed JSON or nesting deeper
// than maxDepth.
func (s *scanner) check(path string) error {
	switch s.peek() {
	case '{':
		var keys []string
		return s.object(func(key []byte) error {
			k := string(key)
			p := join(path, k)
			if slices.Contains(keys, k) {
				return scoring.Invalid(p, "given twice")
			}
			keys = append(keys, k)
			return s.check(p)
		})
	case '[':
		return s.array(func(i int) error { return s.check(path + "[" + strconv.Itoa(i) + "]") })
	}
	_, err := s.skip()
	return err
}
