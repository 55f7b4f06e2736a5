package datasets

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// maxCents is the largest absolute amount ClickHouse Decimal(18, 2) holds,
// in hundredths.
const maxCents = 999_999_999_999_999_999

// ParseDate parses a contract date, YYYY-MM-DD, into days since 1970-01-01.
// It is concurrency-safe and allocates nothing on success.
func ParseDate(s string) (int32, error) {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return 0, fmt.Errorf("invalid date %q: want YYYY-MM-DD", s)
	}
	y, ok1 := digits(s[0:4])
	m, ok2 := digits(s[5:7])
	d, ok3 := digits(s[8:10])
	if !ok1 || !ok2 || !ok3 || m < 1 || m > 12 || d < 1 || d > daysIn(y, m) {
		return 0, fmt.Errorf("invalid date %q: want YYYY-MM-DD", s)
	}
	days := daysFromCivil(y, m, d)
	if days < 0 || days > maxDate {
		return 0, fmt.Errorf("date %q out of range 1970-01-01..2149-06-06", s)
	}
	return int32(days), nil
}

// maxDate is 2149-06-06, the last day ClickHouse Date holds.
const maxDate = 65535

// ParseTimestamp parses an RFC 3339 instant (any offset) into seconds since
// the Unix epoch in UTC; fractional seconds are truncated, because the
// warehouse stores DateTime('UTC'). It is concurrency-safe.
func ParseTimestamp(s string) (int64, error) {
	// Fast path: 2025-01-31T09:30:00Z.
	if len(s) == 20 && s[10] == 'T' && s[13] == ':' && s[16] == ':' && s[19] == 'Z' {
		if days, err := ParseDate(s[:10]); err == nil {
			h, ok1 := digits(s[11:13])
			mi, ok2 := digits(s[14:16])
			se, ok3 := digits(s[17:19])
			if ok1 && ok2 && ok3 && h < 24 && mi < 60 && se < 60 {
				return checkTime(s, int64(days)*86400+int64(h*3600+mi*60+se))
			}
		}
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return 0, badTimestamp(s)
	}
	return checkTime(s, t.Unix())
}

func checkTime(s string, sec int64) (int64, error) {
	if sec < 0 || sec > 1<<32-1 {
		return 0, fmt.Errorf("timestamp %q out of range 1970-01-01T00:00:00Z..2106-02-07T06:28:15Z", s)
	}
	return sec, nil
}

func badTimestamp(s string) error {
	return fmt.Errorf("invalid timestamp %q: want RFC 3339, e.g. 2025-01-31T09:30:00Z", s)
}

// ParseAmount parses a decimal amount with at most 2 decimals exactly (no
// floating point) into hundredths of the currency unit. It is
// concurrency-safe and allocates nothing on success.
func ParseAmount(s string) (int64, error) {
	i, neg := 0, false
	if i < len(s) && (s[i] == '-' || s[i] == '+') {
		neg = s[i] == '-'
		i++
	}
	var v int64
	intDigits, fracDigits := 0, 0
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		v = v*10 + int64(s[i]-'0')
		intDigits++
		if v > maxCents/100 {
			return 0, fmt.Errorf("amount %q out of range for Decimal(18, 2)", s)
		}
	}
	if i < len(s) && s[i] == '.' {
		i++
		for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
			fracDigits++
			if fracDigits > 2 {
				if s[i] == '0' { // trailing zeros beyond 2 decimals are exact
					continue
				}
				return 0, fmt.Errorf("invalid amount %q: more than 2 decimals", s)
			}
			v = v*10 + int64(s[i]-'0')
		}
	}
	if i != len(s) || intDigits+fracDigits == 0 {
		return 0, fmt.Errorf("invalid amount %q: want a decimal such as 1234.50", s)
	}
	for f := min(fracDigits, 2); f < 2; f++ {
		v *= 10
	}
	if v > maxCents || v < 0 {
		return 0, fmt.Errorf("amount %q out of range for Decimal(18, 2)", s)
	}
	if neg {
		v = -v
	}
	return v, nil
}

// ParseInt parses a whole number that fits Int32. It is concurrency-safe.
func ParseInt(s string) (int32, error) {
	v, err := strconv.ParseInt(s, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("invalid integer %q", s)
	}
	return int32(v), nil
}

// FormatDate formats days since 1970-01-01 as YYYY-MM-DD. It is
// concurrency-safe.
func FormatDate(days int32) string {
	var b [10]byte
	return string(time.Unix(int64(days)*86400, 0).UTC().AppendFormat(b[:0], time.DateOnly))
}

// formatScaled formats an integer v with scale decimals exactly.
func formatScaled(v int64, scale int32) string {
	if scale <= 0 {
		s := strconv.FormatInt(v, 10)
		if scale < 0 && v != 0 {
			s += strings.Repeat("0", int(-scale))
		}
		return s
	}
	neg := v < 0
	u := uint64(v)
	if neg {
		u = uint64(-v)
	}
	s := strconv.FormatUint(u, 10)
	if len(s) <= int(scale) {
		s = strings.Repeat("0", int(scale)-len(s)+1) + s
	}
	s = s[:len(s)-int(scale)] + "." + s[len(s)-int(scale):]
	if neg {
		s = "-" + s
	}
	return s
}

func digits(s string) (int, bool) {
	v := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	return v, true
}

func daysIn(y, m int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// daysFromCivil is Howard Hinnant's days_from_civil.
func daysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era--
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146097 + int64(doe) - 719468
}

func isUpper(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < n; i++ {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return true
}
