package forecast

import (
	"math"
	"testing"
	"time"
)

// grid and surv are an invoice model's survival: 40% unpaid at the due
// date, 20% 30 days after it, 10% after 90, 5% after 365.
var (
	grid = []float64{0, 0, 30, 90, 365}
	surv = []float64{1, 0.4, 0.2, 0.1, 0.05}
)

func day(s string) int32 {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return int32(t.Unix() / 86400)
}

func sum(xs []float64) float64 {
	var s float64
	for _, x := range xs {
		s += x
	}
	return s
}

func TestPayDays(t *testing.T) {
	from := day("2026-03-02")
	for _, tc := range []struct {
		name        string
		issued, due int32
		onTime      onTimeDays
		weeks       int
		want        map[int]float64 // week -> probability (others checked by the total)
		total       float64
	}{
		{
			// Due on from+3, all on-time payers pay on the due date: week
			// 0 holds the 60% paid on time, then S falls from 0.4 to 0.2
			// over the 30 days after the due date, log-linearly.
			name: "due this week, paid on the due date", issued: from - 11, due: from + 3, onTime: onTimeDays{1}, weeks: 13,
			want:  map[int]float64{0: 0.6 + 0.4 - 0.4*math.Pow(0.5, 3.0/30)},
			total: 1 - 0.2*math.Pow(0.5, 57/60.0),
		},
		{
			// Issued today, due in 12 days; half the on-time payers pay 10
			// days early (from+2, week 0), half on the due date (week 1).
			name: "due in 12 days, half pay 10 days early", issued: from, due: from + 12, onTime: onTimeDays{0.5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0.5}, weeks: 2,
			want:  map[int]float64{0: 0.3, 1: 0.7 - 0.4*math.Pow(0.5, 1.0/30)},
			total: 1 - 0.4*math.Pow(0.5, 1.0/30),
		},
		{
			// 30 days overdue at the end of the day before from: S(30) =
			// 0.2 is the condition; 13 weeks later S(121) = 0.1 x
			// 0.5^(31/275).
			name: "30 days overdue", issued: from - 45, due: from - 31, onTime: onTimeDays{1}, weeks: 13,
			total: 1 - 0.1*math.Pow(0.5, 31/275.0)/0.2,
		},
		{
			// Issued after the last forecast week: nothing.
			name: "issued after the weeks", issued: from + 30, due: from + 44, onTime: onTimeDays{1}, weeks: 4,
			total: 0,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pw := make([]float64, tc.weeks)
			payDays(grid, surv, tc.onTime, tc.issued, tc.due, from, pw)
			for w, p := range pw {
				if p < 0 || p > 1 {
					t.Errorf("week %d: %v out of [0, 1]", w, p)
				}
			}
			for w, want := range tc.want {
				if math.Abs(pw[w]-want) > 1e-9 {
					t.Errorf("week %d: %.6f, want %.6f", w, pw[w], want)
				}
			}
			if got := sum(pw); math.Abs(got-tc.total) > 1e-9 {
				t.Errorf("total %.6f, want %.6f (%v)", got, tc.total, pw)
			}
		})
	}
}

// TestPayDaysSumsToPaid: over the whole year after the due date the weeks
// hold everything but S(365), for any day the invoice is still open.
func TestPayDaysSumsToPaid(t *testing.T) {
	issued, due := day("2026-01-01"), day("2026-01-15")
	for _, from := range []int32{issued, issued + 7, due, due + 1, due + 45, due + 200} {
		pw := make([]float64, 60)
		payDays(grid, surv, onTimeDays{0.7, 0.2, 0.1}, issued, due, from, pw)
		// Unpaid at from: P(paid by due+365 | unpaid at from) = 1 - S(365)/P(unpaid at from).
		end := int(due) + 365 - int(from)
		weeks := end / 7
		var before float64
		switch {
		case from <= due:
			// unpaid at from: on-time payers who pay on or after from, plus S(0).
			m := int(due - from + 1)
			var g float64
			for k := 0; k < 3 && k < m; k++ {
				g += []float64{0.7, 0.2, 0.1}[k]
			}
			before = 0.6*g + 0.4
		default:
			before = survivalAfterDue(grid, surv, 1, float64(from-1-due))
		}
		want := 1 - survivalAfterDue(grid, surv, 1, float64(int(from)+7*weeks-1-int(due)))/before
		if got := sum(pw[:weeks]); math.Abs(got-want) > 1e-9 {
			t.Errorf("from due%+d: %.6f over %d weeks, want %.6f", from-due, got, weeks, want)
		}
	}
}

func TestNext(t *testing.T) {
	from := day("2026-03-02")
	monthly := customerBills{
		{issued: day("2025-12-02"), due: day("2025-12-16"), amount: 10000, paid: 10000},
		{issued: day("2026-01-02"), due: day("2026-01-16"), amount: 12000, paid: 12000},
		{issued: day("2026-02-02"), due: day("2026-02-16"), amount: 11000, paid: 0},
	}
	flat := season{}
	winter := season{monthOf(day("2025-02-01")): 100, monthOf(day("2025-03-02")): 50, monthOf(day("2025-04-01")): 25}
	for _, tc := range []struct {
		name   string
		b      customerBills
		s      season
		to     int32
		issued []int32
		amount []int64
	}{
		{name: "monthly on the same day, median of the last three amounts", b: monthly, s: flat, to: from + 91,
			issued: []int32{day("2026-03-02"), day("2026-04-02"), day("2026-05-02")}, amount: []int64{11000, 11000, 11000}},
		{name: "with the season of a year earlier", b: monthly, s: winter, to: from + 32,
			issued: []int32{day("2026-03-02"), day("2026-04-02")}, amount: []int64{5500, 2750}},
		{name: "on the 31st: the month's last day", b: customerBills{{issued: day("2025-12-31"), due: day("2026-01-14"), amount: 900}, {issued: day("2026-01-31"), due: day("2026-02-14"), amount: 900}}, s: flat, to: from + 62,
			issued: []int32{day("2026-03-31"), day("2026-04-30")}, amount: []int64{900, 900}},
		{name: "weekly", b: customerBills{{issued: day("2026-02-16"), due: day("2026-03-02"), amount: 300}, {issued: day("2026-02-23"), due: day("2026-03-09"), amount: 300}}, s: flat, to: from + 14,
			issued: []int32{day("2026-03-02"), day("2026-03-09")}, amount: []int64{300, 300}},
		{name: "billed no more", b: customerBills{{issued: day("2025-10-01"), due: day("2025-10-15"), amount: 5000}, {issued: day("2025-11-01"), due: day("2025-11-15"), amount: 5000}}, s: flat, to: from + 91},
		{name: "one invoice: the tenant's cycle", b: customerBills{{issued: day("2026-02-20"), due: day("2026-03-06"), amount: 700}}, s: flat, to: from + 40,
			issued: []int32{day("2026-03-20")}, amount: []int64{700}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.b.next(from, tc.to, 30, tc.s)
			if len(got) != len(tc.issued) {
				t.Fatalf("%d invoices %v, want %d", len(got), got, len(tc.issued))
			}
			for i, e := range got {
				if e.issued != tc.issued[i] || e.amount != tc.amount[i] || e.due-e.issued != 14 {
					t.Errorf("invoice %d: issued %d amount %d terms %d, want %d %d 14", i, e.issued, e.amount, e.due-e.issued, tc.issued[i], tc.amount[i])
				}
			}
		})
	}
}

func TestErrorBand(t *testing.T) {
	// Earlier forecasts 20% too high or 10% too low, one exact, and a week
	// without forecast cash: the 80% quantile of the absolute errors of
	// the five weeks around week 1 (0.2, 0.2, 0.1, 0.1, 0), both sides.
	rel := [][]float64{{-0.2, -0.2, 0.1}, {0.1, 0, math.NaN()}}
	if q := errorBand(rel, 1); math.Abs(q-0.2) > 1e-12 {
		t.Errorf("band %.3f, want 0.2", q)
	}
	if q := errorBand([][]float64{{math.NaN()}}, 0); q != 0 {
		t.Errorf("band of nothing %.3f", q)
	}
	if q := quantile([]float64{1, 2, 3, 4, 5}, 0.5); q != 3 {
		t.Errorf("median %v", q)
	}
	if q := quantile(nil, 0.5); q != 0 {
		t.Errorf("quantile of nothing %v", q)
	}
}

func TestOnTimeOf(t *testing.T) {
	p := &onTimeProfile{tenant: onTimeDays{0.5, 0.25, 0.25}, customers: map[string][]dayCount{
		"early": {{k: 2, n: 6}}, // six invoices paid two days early
		"one":   {{k: 0, n: 1}},
	}}
	for _, tc := range []struct {
		customer string
		want     onTimeDays
	}{
		{"unknown", onTimeDays{0.5, 0.25, 0.25}},
		{"early", onTimeDays{0.5 * 2 / 8, 0.25 * 2 / 8, 0.25*2/8 + 6.0/8}},
		{"one", onTimeDays{0.5*2/3 + 1.0/3, 0.25 * 2 / 3, 0.25 * 2 / 3}},
	} {
		got := p.of(tc.customer, make(onTimeDays, 0, 3))
		if len(got) != len(tc.want) || math.Abs(sum(got)-1) > 1e-12 {
			t.Fatalf("%s: %v", tc.customer, got)
		}
		for k := range got {
			if math.Abs(got[k]-tc.want[k]) > 1e-12 {
				t.Errorf("%s: %v, want %v", tc.customer, got, tc.want)
				break
			}
		}
	}
	if p.tenant[2] != 0.25 {
		t.Errorf("of changed the tenant's shares: %v", p.tenant)
	}
}
