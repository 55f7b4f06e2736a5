package api

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"unicode/utf8"

	"github.com/duewise/duewise/serving/policy"
	"github.com/duewise/duewise/serving/scoring"
)

// This file writes the NDJSON lines of POST /v1/risk/batch by hand: the
// same bytes as encoding/json (TestAppendLineMatchesEncodingJSON), at a
// fraction of the cost, because a batch of 10,000 answers spends more time
// in reflection than in anything but the explanations.

// appendLine appends the JSON of line and a newline to out.
func appendLine(out []byte, line *BatchLine) []byte {
	n := len(out)
	out, err := appendBatchLine(out, line)
	if err != nil {
		b, _ := json.Marshal(BatchLine{Index: line.Index, Error: "encode answer: " + err.Error(), ErrorStatus: 500})
		out = append(out[:n], b...)
	}
	return append(out, '\n')
}

func appendBatchLine(b []byte, l *BatchLine) ([]byte, error) {
	b = append(b, `{"index":`...)
	b = strconv.AppendInt(b, int64(l.Index), 10)
	var err error
	if a := l.RiskAnswer; a != nil {
		if b, err = appendAnswerFields(b, a); err != nil {
			return b, err
		}
	}
	if l.Error != "" {
		b = appendString(append(b, `,"error":`...), l.Error)
	}
	if l.Field != "" {
		b = appendString(append(b, `,"field":`...), l.Field)
	}
	if l.ErrorStatus != 0 {
		b = strconv.AppendInt(append(b, `,"error_status":`...), int64(l.ErrorStatus), 10)
	}
	if l.ID != "" {
		b = appendString(append(b, `,"id":`...), l.ID)
	}
	return append(b, '}'), nil
}

// appendAnswerFields appends the fields of a, each preceded by a comma.
func appendAnswerFields(b []byte, a *scoring.RiskAnswer) ([]byte, error) {
	var err error
	b = appendString(append(b, `,"customer_id":`...), a.CustomerID)
	b = appendString(append(b, `,"as_of":`...), a.AsOf)
	b = appendString(append(b, `,"status":`...), a.Status)
	p := a.Probabilities
	b = append(b, `,"probabilities":{`...)
	for i, f := range [...]float64{p.D30, p.D60, p.D90, p.D180, p.D365} {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(append(append(b, '"'), [...]string{"30d", "60d", "90d", "180d", "365d"}[i]...), `":`...)
		if b, err = appendFloat(b, f); err != nil {
			return b, err
		}
	}
	b = append(b, `},"expected_days":`...)
	if b, err = appendFloat(b, a.ExpectedDays); err != nil {
		return b, err
	}
	b = appendString(append(b, `,"band":`...), a.Band)
	if b, err = appendList(append(b, `,"reasons":`...), a.Reasons, appendReason); err != nil {
		return b, err
	}
	if b, err = appendList(append(b, `,"actions":`...), a.Actions, appendAction); err != nil {
		return b, err
	}
	b = appendStrings(append(b, `,"rules_fired":`...), a.RulesFired)
	b = appendString(append(b, `,"model":{"kind":`...), a.Model.Kind)
	b = appendString(append(b, `,"version":`...), a.Model.Version)
	b = append(b, '}')
	if len(a.Signals) > 0 {
		if b, err = appendMap(append(b, `,"signals":`...), a.Signals, appendAny); err != nil {
			return b, err
		}
	}
	return b, nil
}

// appendList appends items as a JSON array, null when nil, each item by
// one.
func appendList[T any](b []byte, items []T, one func([]byte, *T) ([]byte, error)) ([]byte, error) {
	if items == nil {
		return append(b, "null"...), nil
	}
	b = append(b, '[')
	for i := range items {
		if i > 0 {
			b = append(b, ',')
		}
		var err error
		if b, err = one(b, &items[i]); err != nil {
			return b, err
		}
	}
	return append(b, ']'), nil
}

func appendReason(b []byte, r *scoring.Reason) ([]byte, error) {
	b = appendString(append(b, `{"code":`...), r.Code)
	b = appendString(append(b, `,"text":`...), r.Text)
	b = appendString(append(b, `,"direction":`...), r.Direction)
	b, err := appendFloat(append(b, `,"weight":`...), r.Weight)
	if err != nil {
		return b, err
	}
	return append(b, '}'), nil
}

func appendAction(b []byte, a *policy.Action) ([]byte, error) {
	var err error
	b = appendString(append(b, `{"type":`...), a.Type)
	b = appendString(append(b, `,"when":{"anchor":`...), a.When.Anchor)
	b = strconv.AppendInt(append(b, `,"offset_days":`...), int64(a.When.OffsetDays), 10)
	b = appendString(append(b, `},"channel":`...), a.Channel)
	b = appendString(append(b, `,"tone":`...), a.Tone)
	b = appendString(append(b, `,"message_key":`...), a.MessageKey)
	b = appendString(append(b, `,"why":{"rule":`...), a.Why.Rule)
	if b, err = appendMap(append(b, `,"signals":`...), a.Why.Signals, appendAny); err != nil {
		return b, err
	}
	b = appendString(append(b, `},"expected_effect":`...), a.ExpectedEffect)
	if len(a.Details) > 0 {
		if b, err = appendMap(append(b, `,"details":`...), a.Details, appendFloat); err != nil {
			return b, err
		}
	}
	if len(a.Params) > 0 {
		b, _ = appendMap(append(b, `,"params":`...), a.Params, func(b []byte, s string) ([]byte, error) { return appendString(b, s), nil })
	}
	return append(b, '}'), nil
}

func appendStrings(b []byte, ss []string) []byte {
	if ss == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, s)
	}
	return append(b, ']')
}

// appendMap appends m as a JSON object with its keys sorted, as
// encoding/json does (null for a nil map).
func appendMap[V any](b []byte, m map[string]V, val func([]byte, V) ([]byte, error)) ([]byte, error) {
	if m == nil {
		return append(b, "null"...), nil
	}
	var keyBuf [16]string
	keys := keyBuf[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = append(b, '{')
	var err error
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(appendString(b, k), ':')
		if b, err = val(b, m[k]); err != nil {
			return b, err
		}
	}
	return append(b, '}'), nil
}

// appendAny appends the values signals and policy conditions hold; others
// go through encoding/json.
func appendAny(b []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...), nil
	case bool:
		return strconv.AppendBool(b, x), nil
	case float64:
		return appendFloat(b, x)
	case int:
		return strconv.AppendInt(b, int64(x), 10), nil
	case int64:
		return strconv.AppendInt(b, x, 10), nil
	case string:
		return appendString(b, x), nil
	}
	j, err := json.Marshal(v)
	return append(b, j...), err
}

// appendFloat appends f as encoding/json does: shortest representation,
// exponent form only below 1e-6 or from 1e21, and an error for NaN and
// infinities.
func appendFloat(b []byte, f float64) ([]byte, error) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return b, fmt.Errorf("json: unsupported value: %s", strconv.FormatFloat(f, 'g', -1, 64))
	}
	if f != 0 && math.Abs(f) < 1e9 {
		// Most numbers of an answer are rounded to six decimals: then
		// f is the double nearest k/10^6 for an integer k of at most 15
		// digits, whose shortest form is those digits with the point
		// put back, as strconv's shortest formatting would find.
		if k := math.Round(f * 1e6); k/1e6 == f {
			return appendMicros(b, int64(k)), nil
		}
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// clean up e-09 to e-9
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b, nil
}

// jsonSafe marks the ASCII bytes appendString copies as they are.
var jsonSafe = func() (t [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()

// appendMicros appends k/10^6 in decimal without trailing zeros.
func appendMicros(b []byte, k int64) []byte {
	if k < 0 {
		b = append(b, '-')
		k = -k
	}
	b = strconv.AppendInt(b, k/1e6, 10)
	frac := k % 1e6
	if frac == 0 {
		return b
	}
	var d [7]byte
	d[0] = '.'
	for i := 6; i >= 1; i-- {
		d[i] = byte('0' + frac%10)
		frac /= 10
	}
	n := 7
	for d[n-1] == '0' {
		n--
	}
	return append(b, d[:n]...)
}

// appendString appends s as a JSON string with encoding/json's escaping:
// control characters, quote and backslash; <, > and & as \u00XX; invalid
// UTF-8 as U+FFFD; U+2028 and U+2029 escaped.
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if jsonSafe[c] {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
