package warehouse

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Bind returns sql with every {name:Type} placeholder replaced by the value
// p[name] written as a ClickHouse literal of Type (quoted and escaped for
// String, Date, DateTime; checked numbers for the integer and float types;
// Array(T) of a Go slice). Placeholders inside quoted strings, identifiers
// and comments are left alone. A placeholder without a value, a value of the
// wrong Go type, or an unused parameter is an error.
func Bind(sql string, p Params) (string, error) {
	if len(p) == 0 && !strings.Contains(sql, "{") {
		return sql, nil
	}
	var b strings.Builder
	b.Grow(len(sql) + 32)
	used := make(map[string]bool, len(p))
	for i := 0; i < len(sql); {
		c := sql[i]
		switch {
		case c == '\'' || c == '"' || c == '`':
			j := skipQuoted(sql, i)
			b.WriteString(sql[i:j])
			i = j
		case c == '-' && strings.HasPrefix(sql[i:], "--"):
			j := strings.IndexByte(sql[i:], '\n')
			if j < 0 {
				j = len(sql) - i
			}
			b.WriteString(sql[i : i+j])
			i += j
		case c == '/' && strings.HasPrefix(sql[i:], "/*"):
			j := strings.Index(sql[i+2:], "*/")
			end := len(sql)
			if j >= 0 {
				end = i + 2 + j + 2
			}
			b.WriteString(sql[i:end])
			i = end
		case c == '{':
			name, typ, end, ok := placeholder(sql, i)
			if !ok {
				b.WriteByte(c)
				i++
				continue
			}
			v, found := p[name]
			if !found {
				return "", fmt.Errorf("bind: no value for parameter {%s:%s}", name, typ)
			}
			lit, err := Literal(v, typ)
			if err != nil {
				return "", fmt.Errorf("bind {%s:%s}: %w", name, typ, err)
			}
			used[name] = true
			b.WriteString(lit)
			i = end
		default:
			b.WriteByte(c)
			i++
		}
	}
	for name := range p {
		if !used[name] {
			return "", fmt.Errorf("bind: parameter %q is not used by the query", name)
		}
	}
	return b.String(), nil
}

// skipQuoted returns the index just past the quoted token starting at i.
func skipQuoted(s string, i int) int {
	q := s[i]
	for j := i + 1; j < len(s); j++ {
		switch s[j] {
		case '\\':
			j++
		case q:
			if j+1 < len(s) && s[j+1] == q { // doubled quote
				j++
				continue
			}
			return j + 1
		}
	}
	return len(s)
}

// placeholder parses {name:Type} at i.
func placeholder(s string, i int) (name, typ string, end int, ok bool) {
	j := strings.IndexByte(s[i:], '}')
	if j < 0 {
		return "", "", 0, false
	}
	body := s[i+1 : i+j]
	k := strings.IndexByte(body, ':')
	if k <= 0 {
		return "", "", 0, false
	}
	name, typ = strings.TrimSpace(body[:k]), strings.TrimSpace(body[k+1:])
	if !isIdent(name) || typ == "" {
		return "", "", 0, false
	}
	return name, typ, i + j + 1, true
}

func isIdent(s string) bool {
	for i, r := range s {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && r >= '0' && r <= '9') {
			return false
		}
	}
	return s != ""
}

// Literal writes v as a ClickHouse literal of type typ.
func Literal(v any, typ string) (string, error) {
	if inner, ok := strings.CutPrefix(typ, "Nullable("); ok && strings.HasSuffix(inner, ")") {
		if v == nil {
			return "NULL", nil
		}
		return Literal(v, inner[:len(inner)-1])
	}
	if inner, ok := strings.CutPrefix(typ, "Array("); ok && strings.HasSuffix(inner, ")") {
		return arrayLiteral(v, inner[:len(inner)-1])
	}
	switch typ {
	case "String":
		s, ok := v.(string)
		if !ok {
			return "", fmt.Errorf("want a string, got %T", v)
		}
		return Quote(s), nil
	case "Date":
		switch x := v.(type) {
		case time.Time:
			return "toDate('" + x.UTC().Format(time.DateOnly) + "')", nil
		case string:
			t, err := time.Parse(time.DateOnly, x)
			if err != nil {
				return "", fmt.Errorf("want a date YYYY-MM-DD, got %q", x)
			}
			return "toDate('" + t.Format(time.DateOnly) + "')", nil
		}
		return "", fmt.Errorf("want a time.Time or date string, got %T", v)
	case "DateTime":
		t, ok := v.(time.Time)
		if !ok {
			return "", fmt.Errorf("want a time.Time, got %T", v)
		}
		return "toDateTime('" + t.UTC().Format(time.DateTime) + "', 'UTC')", nil
	case "Float32", "Float64":
		f, ok := toFloat(v)
		if !ok {
			return "", fmt.Errorf("want a number, got %T", v)
		}
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return "", fmt.Errorf("want a finite number, got %v", f)
		}
		return "to" + typ + "(" + strconv.FormatFloat(f, 'g', -1, 64) + ")", nil
	case "Int8", "Int16", "Int32", "Int64", "UInt8", "UInt16", "UInt32", "UInt64":
		s, ok := intText(v)
		if !ok {
			return "", fmt.Errorf("want an integer, got %T", v)
		}
		if strings.HasPrefix(typ, "U") && strings.HasPrefix(s, "-") {
			return "", fmt.Errorf("want a non-negative integer, got %s", s)
		}
		return "to" + typ + "(" + s + ")", nil
	case "Identifier":
		s, ok := v.(string)
		if !ok || !isIdent(s) {
			return "", fmt.Errorf("want an identifier, got %v", v)
		}
		return s, nil
	}
	return "", fmt.Errorf("unsupported parameter type %s", typ)
}

func arrayLiteral(v any, elem string) (string, error) {
	var items []any
	switch x := v.(type) {
	case []string:
		for _, s := range x {
			items = append(items, s)
		}
	case []time.Time:
		for _, t := range x {
			items = append(items, t)
		}
	case []int:
		for _, n := range x {
			items = append(items, n)
		}
	case []int64:
		for _, n := range x {
			items = append(items, n)
		}
	case []float64:
		for _, f := range x {
			items = append(items, f)
		}
	case []any:
		items = x
	default:
		return "", fmt.Errorf("want a slice for Array(%s), got %T", elem, v)
	}
	var b strings.Builder
	b.WriteByte('[')
	for i, it := range items {
		if i > 0 {
			b.WriteString(", ")
		}
		s, err := Literal(it, elem)
		if err != nil {
			return "", fmt.Errorf("element %d: %w", i, err)
		}
		b.WriteString(s)
	}
	b.WriteByte(']')
	if len(items) == 0 {
		return "CAST([] AS Array(" + elem + "))", nil
	}
	return b.String(), nil
}

// Quote returns s as a single-quoted ClickHouse string literal.
func Quote(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('\'')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			b.WriteString(`\\`)
		case '\'':
			b.WriteString(`\'`)
		case 0:
			b.WriteString(`\0`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('\'')
	return b.String()
}

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case float32:
		return float64(x), true
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case int32:
		return float64(x), true
	}
	return 0, false
}

func intText(v any) (string, bool) {
	switch x := v.(type) {
	case int:
		return strconv.Itoa(x), true
	case int8:
		return strconv.FormatInt(int64(x), 10), true
	case int16:
		return strconv.FormatInt(int64(x), 10), true
	case int32:
		return strconv.FormatInt(int64(x), 10), true
	case int64:
		return strconv.FormatInt(x, 10), true
	case uint:
		return strconv.FormatUint(uint64(x), 10), true
	case uint8:
		return strconv.FormatUint(uint64(x), 10), true
	case uint16:
		return strconv.FormatUint(uint64(x), 10), true
	case uint32:
		return strconv.FormatUint(uint64(x), 10), true
	case uint64:
		return strconv.FormatUint(x, 10), true
	}
	return "", false
}
