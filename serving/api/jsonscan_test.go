package api

import (
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

// TestNumberMatchesParseFloat: the scanner reads every JSON number to the
// same float64 as strconv.ParseFloat, bit for bit, on its fast path for
// short decimals and off it.
func TestNumberMatchesParseFloat(t *testing.T) {
	cases := []string{"0", "-0", "1", "-1", "0.5", "123.456", "0.1", "0.2", "0.3", "1e5", "1E-5", "-2.5e+3",
		"0.000001", "999999999999999", "9999999999999999", "0.1234567890123456789", "123456789012345.6",
		"12345678901234567890", "1.7976931348623157e308", "5e-324", "0.0000000000000000000001", "0.00000000000000000000001",
		"3.141592653589793", "100.25", "8.0", "-0.000", "1e400"}
	rng := rand.New(rand.NewPCG(8, 9))
	for range 20000 {
		var b strings.Builder
		if rng.IntN(3) == 0 {
			b.WriteByte('-')
		}
		b.WriteString(strconv.Itoa(rng.IntN(1_000_000)))
		if rng.IntN(4) > 0 {
			b.WriteByte('.')
			for range 1 + rng.IntN(18) {
				b.WriteByte(byte('0' + rng.IntN(10)))
			}
		}
		if rng.IntN(8) == 0 {
			b.WriteString("e" + strconv.Itoa(rng.IntN(40)-20))
		}
		cases = append(cases, b.String())
	}
	for _, c := range cases {
		sc := &scanner{b: []byte(c + ",")}
		got, err := sc.number()
		want, werr := strconv.ParseFloat(c, 64)
		if werr != nil && !strings.Contains(werr.Error(), "range") {
			t.Fatalf("%s: %v", c, werr)
		}
		if err != nil || math.Float64bits(got) != math.Float64bits(want) || sc.i != len(c) {
			t.Fatalf("%s: read %v (%v) up to %d, strconv.ParseFloat gives %v", c, got, err, sc.i, want)
		}
	}
	for _, bad := range []string{"-", "1.", ".5", "1e", "1e+", "-x"} {
		if _, err := (&scanner{b: []byte(bad)}).number(); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}
