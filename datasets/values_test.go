package datasets

import "testing"

func TestParseDate(t *testing.T) {
	for _, tc := range []parseCase[int32]{
		{"1970-01-01", 0, ""},
		{"2024-02-29", 19782, ""},
		{"2149-06-06", 65535, ""},
		{"2023-02-29", 0, `invalid date "2023-02-29": want YYYY-MM-DD`},
		{"2024-13-01", 0, `invalid date "2024-13-01": want YYYY-MM-DD`},
		{"2024-1-01", 0, `invalid date "2024-1-01": want YYYY-MM-DD`},
		{"01/02/2024", 0, `invalid date "01/02/2024": want YYYY-MM-DD`},
		{"1969-12-31", 0, `date "1969-12-31" out of range 1970-01-01..2149-06-06`},
	} {
		testParse(t, "ParseDate", ParseDate, tc)
		if tc.err == "" && FormatDate(tc.want) != tc.in {
			t.Errorf("FormatDate(%d) = %q, want %q", tc.want, FormatDate(tc.want), tc.in)
		}
	}
}

// parseCase is one input of a parser and the value or error it must give.
type parseCase[T comparable] struct {
	in   string
	want T
	err  string
}

func testParse[T comparable](t *testing.T, name string, parse func(string) (T, error), tc parseCase[T]) {
	t.Run(tc.in, func(t *testing.T) {
		got, err := parse(tc.in)
		if msg(err) != tc.err || got != tc.want {
			t.Fatalf("%s(%q) = %v, %q; want %v, %q", name, tc.in, got, msg(err), tc.want, tc.err)
		}
	})
}

func TestParseTimestamp(t *testing.T) {
	for _, tc := range []parseCase[int64]{
		{"2025-01-31T09:30:00Z", 1738315800, ""},
		{"2025-01-31T10:30:00+01:00", 1738315800, ""},
		{"2025-01-31T09:30:00.999Z", 1738315800, ""},
		{"2025-01-31T24:30:00Z", 0, `invalid timestamp "2025-01-31T24:30:00Z": want RFC 3339, e.g. 2025-01-31T09:30:00Z`},
		{"2025-01-31 09:30:00", 0, `invalid timestamp "2025-01-31 09:30:00": want RFC 3339, e.g. 2025-01-31T09:30:00Z`},
		{"2025-01-31", 0, `invalid timestamp "2025-01-31": want RFC 3339, e.g. 2025-01-31T09:30:00Z`},
		{"2200-01-01T00:00:00Z", 0, `timestamp "2200-01-01T00:00:00Z" out of range 1970-01-01T00:00:00Z..2106-02-07T06:28:15Z`},
	} {
		testParse(t, "ParseTimestamp", ParseTimestamp, tc)
	}
}

func TestParseAmount(t *testing.T) {
	for _, tc := range []parseCase[int64]{
		{"12.30", 1230, ""},
		{"12.3", 1230, ""},
		{"12", 1200, ""},
		{"0.07", 7, ""},
		{".5", 50, ""},
		{"-4.10", -410, ""},
		{"+4", 400, ""},
		{"1.100", 110, ""},
		{"9999999999999999.99", 999999999999999999, ""},
		{"10000000000000000", 0, `amount "10000000000000000" out of range for Decimal(18, 2)`},
		{"1.234", 0, `invalid amount "1.234": more than 2 decimals`},
		{"1,50", 0, `invalid amount "1,50": want a decimal such as 1234.50`},
		{"1e3", 0, `invalid amount "1e3": want a decimal such as 1234.50`},
		{"-", 0, `invalid amount "-": want a decimal such as 1234.50`},
		{"€5", 0, `invalid amount "€5": want a decimal such as 1234.50`},
	} {
		testParse(t, "ParseAmount", ParseAmount, tc)
	}
}

func TestFormatScaled(t *testing.T) {
	for _, tc := range []struct {
		v     int64
		scale int32
		want  string
	}{{1230, 2, "12.30"}, {-5, 2, "-0.05"}, {7, 0, "7"}, {12345, 4, "1.2345"}, {3, -2, "300"}} {
		if got := formatScaled(tc.v, tc.scale); got != tc.want {
			t.Errorf("formatScaled(%d, %d) = %q, want %q", tc.v, tc.scale, got, tc.want)
		}
	}
}

func msg(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
