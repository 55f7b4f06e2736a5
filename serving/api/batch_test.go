package api

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/duewise/duewise/serving/scoring"
)

// TestParseBatchSpans: parseBatch cuts a records array into the raw bytes
// of each record, whatever strings, escapes and nesting they hold.
func TestParseBatchSpans(t *testing.T) {
	for _, tc := range []struct {
		name string
		body string
		want []string
		err  string
	}{
		{"plain", `{"records": [{"customer_id":"a"}, {"customer_id":"b","signals":{"x":1}}]}`,
			[]string{`{"customer_id":"a"}`, `{"customer_id":"b","signals":{"x":1}}`}, ""},
		{"brackets and commas in strings", `{"records":[{"id":"},],{[\"x"},{"id":"a,b"}]}`,
			[]string{`{"id":"},],{[\"x"}`, `{"id":"a,b"}`}, ""},
		{"backslashes before a closing quote", `{"records":[{"id":"a\\"},{"id":"b\\\\"},{"id":"c\\\"d"}]}`,
			[]string{`{"id":"a\\"}`, `{"id":"b\\\\"}`, `{"id":"c\\\"d"}`}, ""},
		{"nested arrays and scalars", `{"records":[{"h":{"invoices":[[1,2],{"a":[3]}]}}, 5, "x", null, [1,[2]]]}`,
			[]string{`{"h":{"invoices":[[1,2],{"a":[3]}]}}`, `5`, `"x"`, `null`, `[1,[2]]`}, ""},
		{"white space", "{\"records\":[ \n {\"a\":1} \t, {\"b\":2}\n]}", []string{`{"a":1}`, `{"b":2}`}, ""},
		{"unterminated string", `{"records":[{"id":"abc}]}`, nil, "unexpected end of JSON in string"},
		{"escaped quote at the end", `{"records":[{"id":"abc\"}]}`, nil, "unexpected end of JSON in string"},
		{"unclosed bracket", `{"records":[{"id":{"a":1}`, nil, "unclosed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseBatch([]byte(tc.body))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got.records) != len(tc.want) {
				t.Fatalf("%d records, want %d: %q", len(got.records), len(tc.want), got.records)
			}
			for i, r := range got.records {
				if string(r) != tc.want[i] {
					t.Errorf("record %d: %s, want %s", i, r, tc.want[i])
				}
			}
		})
	}
}

// TestParseRecordReusesBuffer: records parsed one after the other with one
// recordBuf (as a batch does) read the same signals as each on its own,
// whatever order and set of signals each lists.
func TestParseRecordReusesBuffer(t *testing.T) {
	c := scoring.NewCatalog()
	records := []string{
		`{"customer_id":"a","signals":{"late_share_365d":0.5,"segment":"energy","tenure_days":400}}`,
		`{"customer_id":"b","signals":{"late_share_365d":0.25,"segment":"telecom","tenure_days":12}}`,
		`{"customer_id":"c","signals":{"tenure_days":7,"late_share_365d":1}}`,
		`{"customer_id":"d","signals":{"segment":"energy","no_such_signal":1,"tenure_days":3}}`,
		`{"customer_id":"e","signals":{}}`,
		`{"customer_id":"f","signals":{"late_share_365d":0.5,"segment":"energy","tenure_days":400}}`,
	}
	var buf recordBuf
	for i, r := range records {
		got, gerr, err := parseRecord(c, &scanner{b: []byte(r)}, "", &buf)
		want, werr, err2 := parseRecord(c, &scanner{b: []byte(r)}, "", &recordBuf{})
		if err != nil || err2 != nil {
			t.Fatal(err, err2)
		}
		if fmt.Sprint(gerr) != fmt.Sprint(werr) {
			t.Fatalf("record %d: error %v, alone %v", i, gerr, werr)
		}
		if fmt.Sprint(got.Signals) != fmt.Sprint(want.Signals) {
			t.Fatalf("record %d: signals %v, alone %v", i, got.Signals, want.Signals)
		}
		set := 0
		for _, x := range got.Signals.Num {
			if !math.IsNaN(x) {
				set++
			}
		}
		for _, x := range got.Signals.Cat {
			if x != "" {
				set++
			}
		}
		if wantSet := []int{3, 3, 2, 2, 0, 3}[i]; set != wantSet {
			t.Fatalf("record %d: %d signals set, want %d", i, set, wantSet)
		}
	}
}
