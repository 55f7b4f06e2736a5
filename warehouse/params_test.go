package warehouse

import (
	"strings"
	"testing"
	"time"
)

func TestBind(t *testing.T) {
	for _, tc := range []struct {
		name, sql string
		p         Params
		want, err string
	}{
		{"string escaped", "SELECT {s:String}", Params{"s": "a'b\\c\n"}, `SELECT 'a\'b\\c\n'`, ""},
		{"date from string", "WHERE d < {t:Date}", Params{"t": "2025-02-03"}, "WHERE d < toDate('2025-02-03')", ""},
		{"date from time", "WHERE d < {t:Date}", Params{"t": time.Date(2025, 2, 3, 23, 0, 0, 0, time.UTC)}, "WHERE d < toDate('2025-02-03')", ""},
		{"datetime", "{t:DateTime}", Params{"t": time.Date(2025, 2, 3, 4, 5, 6, 0, time.FixedZone("x", 3600))}, "toDateTime('2025-02-03 03:05:06', 'UTC')", ""},
		{"ints", "{a:Int32} {b:UInt64}", Params{"a": -3, "b": uint64(7)}, "toInt32(-3) toUInt64(7)", ""},
		{"array", "{a:Array(String)}", Params{"a": []string{"x", "y'"}}, `['x', 'y\'']`, ""},
		{"empty array", "{a:Array(Date)}", Params{"a": []string{}}, "CAST([] AS Array(Date))", ""},
		{"nullable nil", "{a:Nullable(String)}", Params{"a": nil}, "NULL", ""},
		{"inside quotes untouched", "SELECT '{s:String}', {s:String} -- {s:String}", Params{"s": "x"}, "SELECT '{s:String}', 'x' -- {s:String}", ""},
		{"not a placeholder", "SELECT {1:2}, map{}", nil, "SELECT {1:2}, map{}", ""},
		{"missing value", "{a:String}", Params{}, "", "no value for parameter {a:String}"},
		{"unused value", "SELECT 1", Params{"a": "x"}, "", `parameter "a" is not used`},
		{"wrong type", "{a:Int32}", Params{"a": "1"}, "", "want an integer"},
		{"bad date", "{a:Date}", Params{"a": "2025-13-01"}, "", "want a date"},
		{"negative unsigned", "{a:UInt8}", Params{"a": -1}, "", "non-negative"},
		{"unknown type", "{a:Map(String, String)}", Params{"a": "x"}, "", "unsupported parameter type"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Bind(tc.sql, tc.p)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("Bind(%q) error = %v, want it to contain %q", tc.sql, err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("Bind(%q) = %q, %v; want %q", tc.sql, got, err, tc.want)
			}
		})
	}
}
