package api

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/duewise/duewise/serving/scoring"
)

// readBody reads the request body up to limit bytes; over the limit it
// returns a 413 error.
func readBody(c *gin.Context, limit int64) ([]byte, error) {
	if c.Request.ContentLength > limit {
		return nil, httpError(http.StatusRequestEntityTooLarge, "request body of %d bytes exceeds the limit of %d bytes", c.Request.ContentLength, limit)
	}
	// Read into a buffer of the announced size, so that a 12 MB batch is
	// not copied through doubling buffers.
	var buf bytes.Buffer
	if n := c.Request.ContentLength; n > 0 {
		buf.Grow(int(n) + bytes.MinRead)
	}
	_, err := buf.ReadFrom(http.MaxBytesReader(c.Writer, c.Request.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, httpError(http.StatusRequestEntityTooLarge, "request body exceeds the limit of %d bytes", mbe.Limit)
		}
		return nil, scoring.Invalid("", "read body: %v", err)
	}
	return buf.Bytes(), nil
}

// decode reads the JSON body strictly into v: malformed JSON, unknown
// fields, wrong types and values a field's own decoder refuses are
// ErrInvalid errors naming the field path (e.g.
// history.invoices[2].amount); an oversize body is a 413 error.
func decode(c *gin.Context, limit int64, v any) error {
	body, err := readBody(c, limit)
	if err != nil {
		return err
	}
	if err := decodeStrict(body, v, ""); err != nil {
		var se *scoring.Error
		if errors.As(err, &se) {
			return err
		}
		return scoring.Invalid("", "%s", err.Error())
	}
	return nil
}

// decodeStrict decodes the JSON text b into v (a pointer), checking it
// first against v's type: every object key must be a field, every value of
// the field's JSON type. Errors are *scoring.Error with paths under prefix,
// or a syntax error naming line and column.
func decodeStrict(b []byte, v any, prefix string) error {
	sc := &scanner{b: b}
	err := sc.check(prefix)
	if err == nil {
		err = sc.end()
	}
	var se *syntaxError
	if errors.As(err, &se) {
		if len(bytes.TrimSpace(b)) == 0 {
			return errors.New("empty body: want a JSON object")
		}
		line, col := position(b, int64(se.Off))
		return fmt.Errorf("malformed JSON at line %d, column %d: %s", line, col, se.Msg)
	}
	if err != nil {
		return err
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var tree any
	if err := d.Decode(&tree); err != nil {
		return jsonSyntax(err, b)
	}
	if _, err := d.Token(); err != io.EOF {
		return errors.New("unexpected data after the JSON value")
	}
	if err := check(reflect.TypeOf(v).Elem(), tree, prefix); err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return scoring.Invalid(join(prefix, te.Field), "want %s, got JSON %s", te.Type, te.Value)
		}
		return scoring.Invalid(prefix, "%v", err)
	}
	return nil
}

// jsonSyntax describes a JSON decoding error with line and column.
func jsonSyntax(err error, b []byte) error {
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se):
		line, col := position(b, se.Offset)
		return fmt.Errorf("malformed JSON at line %d, column %d: %v", line, col, se)
	case errors.Is(err, io.EOF):
		return errors.New("empty body: want a JSON object")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errors.New("truncated JSON body")
	}
	return fmt.Errorf("malformed JSON: %w", err)
}

func position(b []byte, off int64) (line, col int) {
	line, col = 1, 1
	for i := int64(0); i < off && i < int64(len(b)); i++ {
		if b[i] == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return line, col
}

func join(prefix, field string) string {
	switch {
	case prefix == "":
		return field
	case field == "" || strings.HasPrefix(field, "["):
		return prefix + field
	}
	return prefix + "." + field
}

var (
	rawType         = reflect.TypeFor[json.RawMessage]()
	unmarshalerType = reflect.TypeFor[json.Unmarshaler]()
	textType        = reflect.TypeFor[encoding.TextUnmarshaler]()
	timeType        = reflect.TypeFor[time.Time]()
)

// jsonKind names the JSON type of a decoded value.
func jsonKind(x any) string {
	switch x.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case json.Number:
		return "a number"
	case string:
		return "a string"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", x)
}

// check validates the decoded JSON value x against the Go type t at path.
func check(t reflect.Type, x any, path string) error {
	if t == rawType || t.Kind() == reflect.Interface {
		return nil
	}
	if reflect.PointerTo(t).Implements(unmarshalerType) || reflect.PointerTo(t).Implements(textType) {
		if x == nil {
			return nil
		}
		b, _ := json.Marshal(x)
		if err := json.Unmarshal(b, reflect.New(t).Interface()); err != nil {
			msg := err.Error()
			var te *json.UnmarshalTypeError
			switch {
			case t == timeType:
				msg = fmt.Sprintf("want an RFC 3339 timestamp such as 2025-01-31T09:30:00Z, got %s", b)
			case errors.As(err, &te):
				msg = fmt.Sprintf("want %s, got %s", te.Type, jsonKind(x))
			}
			return scoring.Invalid(path, "%s", msg)
		}
		return nil
	}
	switch t.Kind() {
	case reflect.Pointer:
		if x == nil {
			return nil
		}
		return check(t.Elem(), x, path)
	case reflect.Struct:
		m, err := asObject(x, path)
		if m == nil {
			return err
		}
		fields := map[string]reflect.StructField{}
		var names []string
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "-" {
				continue
			}
			if name == "" {
				name = f.Name
			}
			fields[name] = f
			names = append(names, name)
		}
		for _, k := range sortedKeys(m) {
			f, ok := fields[k]
			if !ok {
				return scoring.Invalid(join(path, k), "unknown field (want one of %s)", strings.Join(names, ", "))
			}
			if err := check(f.Type, m[k], join(path, k)); err != nil {
				return err
			}
		}
		return nil
	case reflect.Map:
		m, err := asObject(x, path)
		if m == nil {
			return err
		}
		for _, k := range sortedKeys(m) {
			if err := check(t.Elem(), m[k], join(path, k)); err != nil {
				return err
			}
		}
		return nil
	case reflect.Slice, reflect.Array:
		a, ok := x.([]any)
		if !ok {
			if x == nil {
				return nil
			}
			return scoring.Invalid(path, "want an array, got %s", jsonKind(x))
		}
		for i, e := range a {
			if err := check(t.Elem(), e, path+"["+strconv.Itoa(i)+"]"); err != nil {
				return err
			}
		}
		return nil
	case reflect.String:
		if _, ok := x.(string); !ok && x != nil {
			return scoring.Invalid(path, "want a string, got %s", jsonKind(x))
		}
		return nil
	case reflect.Bool:
		if _, ok := x.(bool); !ok && x != nil {
			return scoring.Invalid(path, "want true or false, got %s", jsonKind(x))
		}
		return nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		n, ok := x.(json.Number)
		if !ok {
			if x == nil {
				return nil
			}
			return scoring.Invalid(path, "want a whole number, got %s", jsonKind(x))
		}
		bits := t.Bits()
		var err error
		if t.Kind() >= reflect.Uint && t.Kind() <= reflect.Uint64 {
			_, err = strconv.ParseUint(n.String(), 10, bits)
		} else {
			_, err = strconv.ParseInt(n.String(), 10, bits)
		}
		if err != nil {
			return scoring.Invalid(path, "want a whole number that fits %d bits, got %s", bits, n)
		}
		return nil
	case reflect.Float32, reflect.Float64:
		n, ok := x.(json.Number)
		if !ok {
			if x == nil {
				return nil
			}
			return scoring.Invalid(path, "want a number, got %s", jsonKind(x))
		}
		if f, err := n.Float64(); err != nil || math.IsInf(f, 0) {
			return scoring.Invalid(path, "number %s out of range", n)
		}
		return nil
	}
	return nil
}

// asObject returns x as a JSON object: nil and no error for null, an error
// naming path for anything else that is not an object.
func asObject(x any, path string) (map[string]any, error) {
	m, ok := x.(map[string]any)
	if !ok && x != nil {
		return nil, scoring.Invalid(path, "want an object, got %s", jsonKind(x))
	}
	return m, nil
}

func sortedKeys(m map[string]any) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}
