package rowfile

import (
	"math"
	"strconv"
	"time"
)

// Date is a calendar date as days since 1970-01-01 (UTC).
type Date int32

// Time is an instant as seconds since the Unix epoch (UTC).
type Time int64

// Cents is an amount in hundredths of the currency unit.
type Cents int64

// NoTime marks an absent optional timestamp.
const NoTime Time = math.MinInt64

// NoCents marks an absent optional amount.
const NoCents Cents = math.MinInt64

// DateOf returns the Date of t's UTC calendar day.
func DateOf(t time.Time) Date {
	return Date(floorDiv(t.Unix(), 86400))
}

// TimeOf returns t as a Time (sub-second precision is dropped).
func TimeOf(t time.Time) Time { return Time(t.Unix()) }

// Time returns the instant d starts, 00:00 UTC.
func (d Date) Time() time.Time { return time.Unix(int64(d)*86400, 0).UTC() }

// At returns the instant of d at the given hour, minute and second (UTC).
func (d Date) At(hour, min, sec int) Time {
	return Time(int64(d)*86400 + int64(hour*3600+min*60+sec))
}

// Date returns the UTC calendar day of t.
func (t Time) Date() Date { return Date(floorDiv(int64(t), 86400)) }

// Std returns t as a time.Time in UTC.
func (t Time) Std() time.Time { return time.Unix(int64(t), 0).UTC() }

// CentsOf rounds a unit amount to Cents.
func CentsOf(units float64) Cents { return Cents(math.Round(units * 100)) }

// Float returns c in currency units.
func (c Cents) Float() float64 { return float64(c) / 100 }

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// civil converts days since 1970-01-01 to a proleptic Gregorian date
// (Howard Hinnant's days_from_civil inverse).
func civil(days int64) (y, m, d int64) {
	z := days + 719468
	era := floorDiv(z, 146097)
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y = yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d = doy - (153*mp+2)/5 + 1
	if mp < 10 {
		m = mp + 3
	} else {
		m = mp - 9
	}
	if m <= 2 {
		y++
	}
	return y, m, d
}

func append2(b []byte, v int64) []byte {
	return append(b, byte('0'+v/10), byte('0'+v%10))
}

// AppendDate appends d as YYYY-MM-DD.
func AppendDate(b []byte, d Date) []byte {
	y, m, dd := civil(int64(d))
	b = append2(b, y/100)
	b = append2(b, y%100)
	b = append(b, '-')
	b = append2(b, m)
	b = append(b, '-')
	return append2(b, dd)
}

// AppendTime appends t as RFC 3339 in UTC, for example 2025-01-31T09:30:00Z.
func AppendTime(b []byte, t Time) []byte {
	days := floorDiv(int64(t), 86400)
	sec := int64(t) - days*86400
	b = AppendDate(b, Date(days))
	b = append(b, 'T')
	b = append2(b, sec/3600)
	b = append(b, ':')
	b = append2(b, sec%3600/60)
	b = append(b, ':')
	b = append2(b, sec%60)
	return append(b, 'Z')
}

// AppendCents appends c with exactly two decimals, for example 12.30.
func AppendCents(b []byte, c Cents) []byte {
	if c < 0 {
		b = append(b, '-')
		c = -c
	}
	b = strconv.AppendInt(b, int64(c/100), 10)
	b = append(b, '.')
	return append2(b, int64(c%100))
}
