package synth

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	rf "github.com/duewise/duewise/datasets/rowfile"
)

// riskWorld is the small world of TrueRisk's tests: the default world of
// n customers and its test dates (the benchmark's: the first days of the
// last months with 90 days of follow-up).
func riskWorld(t *testing.T, n int) (Config, []time.Time) {
	cfg := DefaultConfig()
	cfg.Customers = n
	if err := cfg.validateWorld(); err != nil { // the world's effects, as TrueRisk's
		t.Fatal(err)
	}
	var dates []time.Time
	for _, s := range []string{"2026-05-01", "2026-06-01", "2026-07-01", "2026-08-01"} {
		d, _ := time.Parse(time.DateOnly, s)
		dates = append(dates, d)
	}
	return cfg, dates
}

var riskHorizons = []int{30, 60, 90}

func trueRisk(t *testing.T, cfg Config, opt RiskOptions) *RiskTable {
	t.Helper()
	tab, err := TrueRisk(context.Background(), cfg, opt)
	if err != nil {
		t.Fatal(err)
	}
	return tab
}

// TestTrueRiskDeterministic: the same table for any number of workers,
// every time; most rows have an answer.
func TestTrueRiskDeterministic(t *testing.T) {
	cfg, dates := riskWorld(t, 300)
	a := trueRisk(t, cfg, RiskOptions{Dates: dates, Horizons: riskHorizons, Workers: 1})
	b := trueRisk(t, cfg, RiskOptions{Dates: dates, Horizons: riskHorizons, Workers: 3})
	if !slices.EqualFunc(a.p, b.p, sameFloat) || !slices.EqualFunc(a.se, b.se, sameFloat) || a.Stats != b.Stats {
		t.Fatalf("1 worker: %+v, 3 workers: %+v, or different risks", a.Stats, b.Stats)
	}
	st := a.Stats
	if st.Rows < 2*300 || st.WithOpen == 0 || st.Unmatched*200 > st.Rows || st.Accepted*2 < st.Replicates {
		t.Fatalf("stats %+v: want rows for most customers and dates, some with open invoices, under 0.5%% unmatched, most continuations accepted", st)
	}
}

func sameFloat(x, y float32) bool { return x == y || x != x && y != y }

// TestTrueRiskPointInTime: the risk at T uses nothing of the world at or
// after T: when the world's own draws from T on are redrawn (its rows
// from T on change, those before stay), the risks at T and before are the
// same; those at later dates change.
func TestTrueRiskPointInTime(t *testing.T) {
	cfg, dates := riskWorld(t, 300)
	at := dates[1]
	from := rf.DateOf(at).At(0, 0, 0)

	// The redrawn world: the same rows before T, others after.
	cal := newCalendar(cfg)
	var w0, w1 rf.Batch
	s := newSim(cal)
	for i := range cfg.Customers {
		s.fork = nil
		s.customer(i, &w0)
		s.fork = &fork{at: from, month: monthOf(cal, from), salt: 7}
		s.customer(i, &w1)
	}
	r0, r1 := splitRows(&w0, from), splitRows(&w1, from)
	if !slices.Equal(r0[0], r1[0]) || slices.Equal(r0[1], r1[1]) || len(r0[0]) == 0 {
		t.Fatalf("redrawn world: rows before T the same: %v, after T different: %v", slices.Equal(r0[0], r1[0]), !slices.Equal(r0[1], r1[1]))
	}

	opt := RiskOptions{Dates: dates, Horizons: riskHorizons, Workers: 2}
	a := trueRisk(t, cfg, opt)
	opt.redrawFrom, opt.redrawSalt = from, 7
	b := trueRisk(t, cfg, opt)
	n := cfg.Customers * len(riskHorizons)
	for d := range dates {
		same := slices.EqualFunc(a.p[d*n:(d+1)*n], b.p[d*n:(d+1)*n], sameFloat)
		if want := !dates[d].After(at); same != want {
			t.Errorf("risks at %s the same when the world's draws from %s on are redrawn: %v, want %v",
				dates[d].Format(time.DateOnly), at.Format(time.DateOnly), same, want)
		}
	}
}

func monthOf(cal *calendar, t rf.Time) int {
	m := 0
	for m+1 < cal.months && cal.monthStart[m+1].At(0, 0, 0) <= t {
		m++
	}
	return m
}

// splitRows returns b's invoices, payments, debits, reminders and customer
// events as strings, [0] those before t, [1] those at or after it.
func splitRows(b *rf.Batch, t rf.Time) [2][]string {
	var out [2][]string
	add := func(at rf.Time, row any) {
		i := 0
		if at >= t {
			i = 1
		}
		out[i] = append(out[i], fmt.Sprint(row))
	}
	for _, r := range b.Invoices {
		add(r.IssuedAt.At(0, 0, 0), r)
	}
	for _, r := range b.Payments {
		add(r.PaidAt, r)
	}
	for _, r := range b.DirectDebits {
		add(r.AttemptedAt, r)
	}
	for _, r := range b.Reminders {
		add(r.SentAt, r)
	}
	for _, r := range b.CustomerEvents {
		add(r.OccurredAt, r)
	}
	return out
}

// TestTrueRiskToy: where the answer is known in closed form it is
// TrueRisk's. A customer with no invoice open at T (the first of a month)
// and a billing day up to 17 can fall behind within 60 days only on the
// invoice it is billed this month (its 30-days-past-due day is at most
// 16 + 14 + 30 days away, the next month's more than 60): with
// probability the hazard of that invoice, given the hidden state of the
// month (known at T) and the amount (5% noise drawn at issue), unless a
// leaving check still pending at T ends the contract before the invoice.
// Nothing is possible within 30 days. The closed form integrates the
// world's own hazard over the amount's normal noise.
func TestTrueRiskToy(t *testing.T) {
	cfg, dates := riskWorld(t, 400)
	const reps = 512
	tab := trueRisk(t, cfg, RiskOptions{Dates: dates, Horizons: riskHorizons, Replicates: reps})
	cal := newCalendar(cfg)
	s := newSim(cal)
	var b rf.Batch
	checked, far := 0, 0.0
	for i := range cfg.Customers {
		for _, d := range dates {
			b.Reset()
			T := rf.DateOf(d).At(0, 0, 0)
			s.start(i, &b)
			s.runUntil(T)
			m := monthOf(cal, T)
			if s.left || s.billDay-1+s.terms+behindDays > 60 || s.cust.CreatedAt > T.Date() || s.first > m || slices.ContainsFunc(s.invs, func(v invoice) bool { return !v.closed() }) {
				continue
			}
			p30, _, ok30 := tab.Risk(s.id, d, 30)
			p60, se, ok60 := tab.Risk(s.id, d, 60)
			if !ok30 || !ok60 {
				t.Fatalf("%s at %s: no risk", s.id, d.Format(time.DateOnly))
			}
			leave, h := s.pendingLeave(T, s.issueDate(m).At(0, 0, 0)), s.meanHazard(m)
			want := (1 - leave) * h
			// The estimate's noise: se (the amounts) and the share of
			// replicates that left (se cannot see a rare draw that none
			// made).
			tol := 4*math.Sqrt(se*se+leave*(1-leave)/float64(reps)*h*h) + 1e-7
			if p30 != 0 || math.Abs(p60-want) > tol {
				t.Errorf("%s at %s: risk within 30 days %.5f (want 0), 60 days %.5f ± %.5f, want %.5f", s.id, d.Format(time.DateOnly), p30, p60, se, want)
			}
			far = max(far, math.Abs(p60-want))
			checked++
		}
	}
	if checked < 100 {
		t.Fatalf("%d customer-dates checked, want 100 or more", checked)
	}
	t.Logf("%d customer-dates: largest difference %.6f", checked, far)
}

// pendingLeave is the probability that a leaving check scheduled in
// [from, to) (drawn before from, decided then) ends the contract.
func (s *sim) pendingLeave(from, to rf.Time) float64 {
	for _, e := range s.q {
		if e.kind == evLeave && e.t >= from && e.t < to {
			return s.leaveP()
		}
	}
	return 0
}

// meanHazard integrates the hazard of month m's invoice over the normal
// noise of its amount (the midpoint rule on [-8, 8]), as issue draws it.
func (s *sim) meanHazard(m int) float64 {
	s.st = s.states[m]
	issued := s.issueDate(m)
	const n, lo, hi = 4000, -8.0, 8.0
	sum, mass := 0.0, 0.0
	for j := range n {
		z := lo + (hi-lo)*(float64(j)+0.5)/n
		w := math.Exp(-z * z / 2)
		amount := s.cust.MonthlyAmount.Float()
		if segments[s.seg].name == "energy" {
			amount *= 1 + 0.25*math.Cos(2*math.Pi*float64(s.cal.monthOfYr[m]-1)/12)
		}
		amount = max(1, amount*(1+0.05*z))
		sum += w * s.hazard(m, issued.At(12, 0, 0), rf.CentsOf(amount))
		mass += w
	}
	return sum / mass
}

// TestTrueRiskCalibrated: the true risk is the probability of what the
// world then does: over every customer and date, the behind events within
// 90 days that the world realises match the sum of the risks (within four
// standard deviations), and so do they in the risk's lower and upper
// halves.
func TestTrueRiskCalibrated(t *testing.T) {
	cfg, dates := riskWorld(t, 2000)
	tab := trueRisk(t, cfg, RiskOptions{Dates: dates, Horizons: []int{90}})
	cal := newCalendar(cfg)
	s := newSim(cal)
	var b rf.Batch
	type row struct{ p, y float64 }
	var rows []row
	for i := range cfg.Customers {
		b.Reset()
		s.customer(i, &b)
		for _, d := range dates {
			p, _, ok := tab.Risk(s.id, d, 90)
			if !ok {
				continue
			}
			day := rf.DateOf(d)
			y := 0.0
			for _, v := range s.invs {
				if bd := v.due + behindDays; bd >= day && bd <= day+90 && (v.paidAt == 0 || v.paidAt.Date() >= bd) {
					y = 1
				}
			}
			rows = append(rows, row{p, y})
		}
	}
	slices.SortFunc(rows, func(a, b row) int { return cmp.Compare(a.p, b.p) })
	for _, part := range [][]row{rows, rows[:len(rows)/2], rows[len(rows)/2:]} {
		var sp, sy, v float64
		for _, r := range part {
			sp, sy, v = sp+r.p, sy+r.y, v+r.p*(1-r.p)
		}
		if math.Abs(sy-sp) > 4*math.Sqrt(v) {
			t.Errorf("%d rows (risk %.4f..%.4f): %.0f behind within 90 days, risks sum to %.1f (sd %.1f)", len(part), part[0].p, part[len(part)-1].p, sy, sp, math.Sqrt(v))
		}
		t.Logf("%d rows (risk %.4f..%.4f): %.0f behind within 90 days, risks sum to %.1f (sd %.1f)", len(part), part[0].p, part[len(part)-1].p, sy, sp, math.Sqrt(v))
	}
}
