package datasets

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"unicode/utf8"
)

// decodeJSONRow decodes one JSON object whose keys are t's column names into
// cells indexed like t.Columns. JSON strings and numbers keep their text;
// null and absent keys are empty.
func decodeJSONRow(t *Table, obj []byte, cells []string) ([]string, []Problem) {
	cells = cells[:0]
	for range t.Columns {
		cells = append(cells, "")
	}
	dec := json.NewDecoder(bytes.NewReader(obj))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('{') {
		return cells, []Problem{{Reason: "want a JSON object"}}
	}
	var bad []Problem
	seen := make([]bool, len(t.Columns))
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return cells, append(bad, Problem{Reason: "invalid JSON: " + err.Error()})
		}
		key, _ := tok.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return cells, append(bad, Problem{Column: key, Reason: "invalid JSON: " + err.Error()})
		}
		i := slices.IndexFunc(t.Columns, func(c Column) bool { return c.Name == key })
		if i < 0 {
			bad = append(bad, Problem{Column: key, Reason: reasonUnknownCol})
			continue
		}
		if seen[i] {
			bad = append(bad, Problem{Column: key, Reason: "given twice"})
			continue
		}
		seen[i] = true
		switch raw[0] {
		case '"':
			if !utf8.Valid(raw) { // encoding/json would replace it silently; a CSV cell is rejected
				bad = append(bad, Problem{Column: key, Reason: reasonUTF8})
				continue
			}
			var s string
			if err := json.Unmarshal(raw, &s); err != nil {
				bad = append(bad, Problem{Column: key, Reason: "invalid JSON string"})
			}
			cells[i] = s
		case 'n':
		case 't', 'f', '{', '[':
			bad = append(bad, Problem{Column: key, Reason: "want a string or number, got " + string(raw)})
		default:
			cells[i] = string(raw)
		}
	}
	if _, err := dec.Token(); err != nil {
		return cells, append(bad, Problem{Reason: "invalid JSON: " + err.Error()})
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		bad = append(bad, Problem{Reason: "trailing data after the JSON object"})
	}
	return cells, bad
}

// decodeNDJSON decodes a chunk of newline-delimited JSON objects of table t.
func decodeNDJSON(t *Table, data []byte, first int) *rawRows {
	rows := &rawRows{ncols: len(t.Columns)}
	var cells []string
	line := first
	for len(data) > 0 {
		nl := bytes.IndexByte(data, '\n')
		rec := data
		if nl >= 0 {
			rec, data = data[:nl], data[nl+1:]
		} else {
			data = nil
		}
		loc := line
		line++
		if len(bytes.TrimSpace(rec)) == 0 {
			continue
		}
		var bad []Problem
		cells, bad = decodeJSONRow(t, rec, cells)
		rows.add(loc, cells, bad)
	}
	return rows
}

// jsonPath formats the location of a LoadRows problem, e.g. rows[3].due_at.
func jsonPath(i int, col string) string {
	if col == "" {
		return fmt.Sprintf("rows[%d]", i)
	}
	return fmt.Sprintf("rows[%d].%s", i, col)
}
