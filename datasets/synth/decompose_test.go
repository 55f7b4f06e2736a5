package synth

import (
	"cmp"
	"os"
	"slices"
	"strconv"
	"testing"

	rf "github.com/duewise/duewise/datasets/rowfile"
)

// TestReferenceDecomposition is an analysis, run on demand (it is skipped
// unless DUEWISE_DECOMPOSE names a number of customers; DUEWISE_SEED the
// world's seed, default 1):
//
//	DUEWISE_DECOMPOSE=20000 DUEWISE_SEED=1 go test -run TestReferenceDecomposition -v ./datasets/synth/
//
// On the benchmark's test dates it compares the AUC (binary label: behind
// within 90 days, as the world realises it; not censored at a departure)
// of the hazards of truth.csv carried forward from T (the benchmark's
// reference until 2026-12-07, as quality.Truth.RiskKnownAt computes it)
// with TrueRisk's, and with hybrids that take TrueRisk only on the rows
// with an invoice open and overdue at T, on every row with an open invoice,
// or on the rows with none; per group, the realised rate and the mean of
// each. It fails if TrueRisk does not rank better than the hazards carried
// forward (docs/benchmarks.md, "The reference in the responsive world").
func TestReferenceDecomposition(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("DUEWISE_DECOMPOSE"))
	if n == 0 {
		t.Skip("set DUEWISE_DECOMPOSE to a number of customers")
	}
	seed := 1
	if v := os.Getenv("DUEWISE_SEED"); v != "" {
		seed, _ = strconv.Atoi(v)
	}
	cfg, dates := riskWorld(t, n)
	cfg.Seed = int64(seed)
	tab := trueRisk(t, cfg, RiskOptions{Dates: dates, Horizons: []int{90}})
	t.Logf("stats %+v", tab.Stats)
	cal := newCalendar(cfg)
	s := newSim(cal)
	var b rf.Batch
	type row struct {
		old, tr float64 // the hazards carried forward, the true risk
		y, yc   bool    // behind within 90 days; and before leaving
		group   int     // 0: an invoice open and overdue at T, 1: open, none overdue, 2: none open
		age     int     // days overdue of the oldest overdue open invoice
		left90  bool    // left within 90 days
	}
	var rows []row
	for i := range cfg.Customers {
		b.Reset()
		s.customer(i, &b)
		hz := map[rf.Date]float64{}
		for _, tr := range b.Truth {
			hz[tr.Month] = tr.Hazard
		}
		for _, d := range dates {
			p, _, ok := tab.Risk(s.id, d, 90)
			if !ok {
				continue
			}
			day := rf.DateOf(d)
			// old reference
			known, latest := -1.0, rf.Date(0)
			first := -1.0
			for _, v := range s.invs {
				h := hz[cal.monthStart[v.m]]
				if first < 0 {
					first = h
				}
				if v.issued <= day && v.issued >= latest {
					known, latest = h, v.issued
				}
			}
			if known < 0 {
				known = first
			}
			surv := 1.0
			r := row{tr: p, group: 2}
			var dBehind rf.Date = 1 << 30
			for _, v := range s.invs {
				bd := v.due + behindDays
				h := hz[cal.monthStart[v.m]]
				if v.issued > day {
					h = known
				}
				if bd >= day && bd <= day+90 {
					surv *= 1 - h
					if v.paidAt == 0 || v.paidAt.Date() >= bd {
						r.y = true
						dBehind = min(dBehind, bd)
					}
				}
				if v.issued <= day && (v.paidAt == 0 && !v.written || v.paidAt.Date() >= day) && v.issued < day {
					g := 1
					if v.due < day {
						g = 0
						r.age = max(r.age, int(day-v.due))
					}
					r.group = min(r.group, g)
				}
			}
			r.old = 1 - surv
			r.yc = r.y
			if s.left && s.leftAt.Date() <= day+90 {
				r.left90 = true
				if s.leftAt.Date() < dBehind {
					r.yc = false
				}
			}
			rows = append(rows, r)
		}
	}
	auc := func(score func(row) float64, lab func(row) bool, keep func(row) bool) float64 {
		type sc struct {
			s float64
			y bool
		}
		var xs []sc
		for _, r := range rows {
			if keep == nil || keep(r) {
				xs = append(xs, sc{score(r), lab(r)})
			}
		}
		slices.SortFunc(xs, func(a, b sc) int { return cmp.Compare(a.s, b.s) })
		var pos, neg, sum float64
		for i := 0; i < len(xs); {
			j := i
			for j < len(xs) && xs[j].s == xs[i].s {
				j++
			}
			var p, q float64
			for k := i; k < j; k++ {
				if xs[k].y {
					p++
				} else {
					q++
				}
			}
			sum += p*neg + p*q/2
			pos, neg = pos+p, neg+q
			i = j
		}
		return sum / (pos * neg)
	}
	y := func(r row) bool { return r.y }
	yc := func(r row) bool { return r.yc }
	old := func(r row) float64 { return r.old }
	tr := func(r row) float64 { return r.tr }
	hyb := func(groups ...int) func(row) float64 {
		return func(r row) float64 {
			if slices.Contains(groups, r.group) {
				return r.tr
			}
			return r.old
		}
	}
	t.Logf("rows %d", len(rows))
	if a, b := auc(old, y, nil), auc(tr, y, nil); !(b > a) {
		t.Errorf("AUC of the true risk %.4f, of the hazards carried forward %.4f: want the true risk above", b, a)
	}
	for _, lab := range []struct {
		name string
		f    func(row) bool
	}{{"behind within 90d", y}, {"behind before leaving", yc}} {
		t.Logf("label %s: AUC old %.4f, true risk %.4f; old with true risk on overdue-open rows %.4f, on all open rows %.4f, on no-open rows only %.4f",
			lab.name, auc(old, lab.f, nil), auc(tr, lab.f, nil), auc(hyb(0), lab.f, nil), auc(hyb(0, 1), lab.f, nil), auc(hyb(2), lab.f, nil))
	}
	names := []string{"open, overdue at T", "open, not yet due", "no open invoice"}
	for g := range 3 {
		var c, ny, so, st float64
		for _, r := range rows {
			if r.group == g {
				c++
				if r.y {
					ny++
				}
				so += r.old
				st += r.tr
			}
		}
		in := func(r row) bool { return r.group == g }
		t.Logf("%s: %.0f rows (%.1f%%), behind %.4f, mean old %.4f, mean true risk %.4f; AUC within old %.4f true %.4f", names[g], c, 100*c/float64(len(rows)), ny/c, so/c, st/c, auc(old, y, in), auc(tr, y, in))
	}
	for _, lo := range []int{1, 8, 15, 22} {
		var c, ny, so, st float64
		for _, r := range rows {
			if r.group == 0 && r.age >= lo && r.age < lo+7 {
				c++
				if r.y {
					ny++
				}
				so += r.old
				st += r.tr
			}
		}
		t.Logf("  overdue %d-%d days at T: %.0f rows, behind %.4f, mean old %.4f, mean true %.4f", lo, lo+6, c, ny/c, so/c, st/c)
	}
	var nl, nlb float64
	for _, r := range rows {
		if r.left90 {
			nl++
			if r.y && !r.yc {
				nlb++
			}
		}
	}
	t.Logf("left within 90 days: %.0f rows; behind only after leaving: %.0f", nl, nlb)
}
