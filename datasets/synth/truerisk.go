package synth

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"strconv"
	"time"

	rf "github.com/duewise/duewise/datasets/rowfile"
	"github.com/duewise/duewise/internal/ordered"
)

// DefaultReplicates is the number of replicates TrueRisk draws per
// customer and date when RiskOptions.Replicates is 0.
const DefaultReplicates = 64

// maxRounds bounds how many rounds of Replicates TrueRisk draws for a
// customer and date whose rows no replicate has matched yet.
const maxRounds = 64

// RiskOptions configures TrueRisk. A plain value.
type RiskOptions struct {
	// Dates are the moments T of the risks: days at 00:00 UTC, each at
	// least the longest horizon and a day before the end of the world.
	Dates []time.Time
	// Horizons are the windows in days, ascending: the risk at T and
	// horizon H is that of falling behind on a day D with D - T in [0, H]
	// (the label of docs/features.md with threshold 30).
	Horizons []int
	// Replicates is the number of continuations per customer and date,
	// a multiple of 64 (0: DefaultReplicates).
	Replicates int
	// Workers is the number of goroutines; 0 means GOMAXPROCS. It never
	// changes the result.
	Workers int
	// redrawFrom (tests): the world's own draws made at or after it are
	// redrawn with redrawSalt (a fork of the world without forcing), so
	// that its rows from then on change and those before stay.
	redrawFrom rf.Time
	redrawSalt uint64
}

// RiskTable holds TrueRisk's answers. Read-only once returned; safe for
// concurrent use.
type RiskTable struct {
	dates    []rf.Date
	horizons []int
	n        int       // customers
	p, se    []float32 // [(date*n + customer)*len(horizons) + h]; NaN: no row
	// Stats says how the answers were reached.
	Stats RiskStats
}

// RiskStats counts TrueRisk's work.
type RiskStats struct {
	// Rows is the number of customer-dates estimated: the customer
	// existed, had not left and was not behind at the date.
	Rows int
	// WithOpen counts the rows with an invoice open at the date (its course
	// drawn again, given the world's rows); Open the open invoices.
	WithOpen, Open int
	// Replicates are the continuations drawn, Accepted those whose rows
	// before the date were the world's.
	Replicates, Accepted int64
	// Unmatched counts the rows that no replicate matched within
	// maxRounds rounds: they have no answer.
	Unmatched int
}

// Risk returns the true probability that the customer falls behind
// within horizon days of asOf (one of the options' horizons and dates),
// and the Monte Carlo standard error of that estimate. ok is false when
// the table has no answer: the customer did not exist yet, had left or
// was already behind at asOf, or asOf, horizon or the customer is not the
// table's.
func (t *RiskTable) Risk(customerID string, asOf time.Time, horizon int) (p, se float64, ok bool) {
	c, err := strconv.Atoi(customerID[min(1, len(customerID)):])
	d, h := slices.Index(t.dates, rf.DateOf(asOf)), slices.Index(t.horizons, horizon)
	if err != nil || !isID(customerID) || c < 1 || c > t.n || d < 0 || h < 0 {
		return 0, 0, false
	}
	i := (d*t.n+c-1)*len(t.horizons) + h
	if math.IsNaN(float64(t.p[i])) {
		return 0, 0, false
	}
	return float64(t.p[i]), float64(t.se[i]), true
}

// isID reports whether s is a customer id of the world ("C" and 8
// digits).
func isID(s string) bool {
	if len(s) != 9 || s[0] != 'C' {
		return false
	}
	for _, c := range s[1:] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// TrueRisk computes, for every customer of cfg's world (the world
// `duewise generate` writes with cfg: the standard policy's) and every
// date T of opt, the world's true probability of falling behind within
// each horizon, given everything the simulator knows at T and nothing it
// does not: the customer's traits and hidden state, what happened before
// T, and the rules of the standard policy; not the draws of what happens
// from T on, nor the course the world had drawn for the invoices still
// open at T. It continues each customer from T Replicates times with
// draws of its own (see fork): the hidden states of the later months by
// the world's transitions, the open invoices' courses given the rows they
// wrote before T, the invoices still to come, leaving. Deterministic for
// a config and options; safe for concurrent use.
func TrueRisk(ctx context.Context, cfg Config, opt RiskOptions) (*RiskTable, error) {
	if err := cfg.validateWorld(); err != nil {
		return nil, fmt.Errorf("true risk: %w", err)
	}
	if p := cfg.policy(); p != Standard {
		return nil, fmt.Errorf("true risk: the world of policy %s: only the standard policy's world is supported", p.Name())
	}
	if opt.Replicates == 0 {
		opt.Replicates = DefaultReplicates
	}
	cal := newCalendar(cfg)
	if err := opt.validate(cal); err != nil {
		return nil, fmt.Errorf("true risk: %w", err)
	}
	t := &RiskTable{horizons: opt.Horizons, n: cfg.Customers}
	for _, d := range opt.Dates {
		t.dates = append(t.dates, rf.DateOf(d))
	}
	size := len(t.dates) * t.n * len(t.horizons)
	t.p, t.se = make([]float32, size), make([]float32, size)
	for i := range t.p {
		t.p[i] = float32(math.NaN())
	}
	plan := newRiskPlan(cal, t.dates)
	workers := opt.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	var st RiskStats
	ws := make([]*riskWorker, workers)
	for i := range ws {
		ws[i] = newRiskWorker(cal, plan, opt, t)
	}
	err := ordered.Run(ctx, ordered.Config{Workers: len(ws)}, ordered.Chunks(cfg.Customers, chunkSize),
		func(wk int, r ordered.Range) RiskStats {
			w := ws[wk]
			w.st = RiskStats{}
			for i := r.Lo; i < r.Hi; i++ {
				w.customer(i)
			}
			return w.st
		},
		func(s RiskStats) error {
			st.Rows, st.WithOpen, st.Open, st.Unmatched = st.Rows+s.Rows, st.WithOpen+s.WithOpen, st.Open+s.Open, st.Unmatched+s.Unmatched
			st.Replicates, st.Accepted = st.Replicates+s.Replicates, st.Accepted+s.Accepted
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("true risk: %w", err)
	}
	t.Stats = st
	return t, nil
}

func (o RiskOptions) validate(cal *calendar) error {
	if len(o.Dates) == 0 || len(o.Horizons) == 0 {
		return errors.New("no dates or no horizons")
	}
	if o.Replicates < 0 || o.Replicates%64 != 0 {
		return fmt.Errorf("replicates: %d, want a positive multiple of 64", o.Replicates)
	}
	if !slices.IsSorted(o.Horizons) || o.Horizons[0] <= 0 {
		return fmt.Errorf("horizons: %v, want positive days, ascending", o.Horizons)
	}
	last := o.Horizons[len(o.Horizons)-1]
	for _, d := range o.Dates {
		if d.Location() != time.UTC || d.Hour() != 0 || d.Minute() != 0 || d.Second() != 0 || d.Nanosecond() != 0 {
			return fmt.Errorf("date %s: want a day at 00:00 UTC", d.Format(time.RFC3339))
		}
		if t := rf.DateOf(d); t < cal.monthStart[0] || t+rf.Date(last) >= cal.monthStart[cal.months] {
			return fmt.Errorf("date %s: want a day of the world (from %s) at least %d days before its end (%s)",
				d.Format(time.DateOnly), cal.monthStart[0].Time().Format(time.DateOnly), last+1, cal.monthStart[cal.months].Time().Format(time.DateOnly))
		}
	}
	return nil
}

// riskPlan is when a customer's world is saved for its replicates: the
// start, the month starts of the months before each date (an open invoice
// was issued in one of the last four), and the dates themselves.
type riskPlan struct {
	points []rf.Time // ascending
	dates  [][]int   // per point, the dates (indexes) at it
	months []int     // per date, the month that holds it
}

func newRiskPlan(cal *calendar, dates []rf.Date) *riskPlan {
	p := &riskPlan{points: []rf.Time{0}}
	for _, d := range dates {
		m := 0
		for m+1 < cal.months && cal.monthStart[m+1] <= d {
			m++
		}
		p.months = append(p.months, m)
		for j := max(0, m-4); j <= m; j++ {
			p.points = append(p.points, cal.monthStart[j].At(0, 0, 0))
		}
		p.points = append(p.points, d.At(0, 0, 0))
	}
	slices.Sort(p.points)
	p.points = slices.Compact(p.points)
	p.dates = make([][]int, len(p.points))
	for i, d := range dates {
		j := slices.Index(p.points, d.At(0, 0, 0))
		p.dates[j] = append(p.dates[j], i)
	}
	return p
}

// riskWorker estimates the risks of one customer after another: it
// simulates the world (s, writing into world) and saves it at the plan's
// points, and continues it from there in replicates (r, writing into
// rep).
type riskWorker struct {
	plan       *riskPlan
	opt        RiskOptions
	t          *RiskTable
	s, r       *sim
	world, rep rf.Batch
	snaps      []snapshot
	fk         fork
	open       []int
	fates      []fate
	surv       []float64
	sw, sw2    float64   // sums of the accepted replicates' weights and squared weights
	swS, sw2S  []float64 // ... times the survival, per horizon
	sw2S2      []float64 // ... squared weight times squared survival
	st         RiskStats
	maxHorizon int
	redraw     *fork // the world's own fork (RiskOptions.redrawFrom), or nil
}

func newRiskWorker(cal *calendar, plan *riskPlan, opt RiskOptions, t *RiskTable) *riskWorker {
	h := len(opt.Horizons)
	w := &riskWorker{plan: plan, opt: opt, t: t, s: newSim(cal), r: newSim(cal), snaps: make([]snapshot, len(plan.points)),
		surv: make([]float64, h), swS: make([]float64, h), sw2S: make([]float64, h), sw2S2: make([]float64, h),
		maxHorizon: opt.Horizons[h-1]}
	w.r.b = &w.rep
	if opt.redrawFrom != 0 {
		m := 0
		for m+1 < cal.months && cal.monthStart[m+1].At(0, 0, 0) <= opt.redrawFrom {
			m++
		}
		w.redraw = &fork{at: opt.redrawFrom, month: m, salt: opt.redrawSalt}
	}
	return w
}

// customer simulates customer idx and estimates its risks at every date.
func (w *riskWorker) customer(idx int) {
	w.world.Reset()
	w.s.fork = w.redraw
	w.s.start(idx, &w.world)
	for i, p := range w.plan.points {
		w.s.runUntil(p)
		w.s.save(&w.snaps[i], p)
		for _, d := range w.plan.dates[i] {
			w.estimate(idx, d, i)
		}
	}
}

// estimate estimates customer idx's risks at date d, the plan's point pi
// (the world simulated until then).
func (w *riskWorker) estimate(idx, d, pi int) {
	s, at := w.s, w.plan.points[pi]
	day := at.Date()
	if s.cust.CreatedAt > day || s.left && s.leftAt < at {
		return // no row: not a customer yet, or gone
	}
	w.open = w.open[:0]
	from := at
	for i := range s.invs {
		v := &s.invs[i]
		if v.closed() {
			continue
		}
		if v.due+behindDays <= day {
			return // behind already: no row
		}
		w.open = append(w.open, v.m)
		from = min(from, v.issued.At(0, 0, 0))
	}
	si := pi
	for si > 0 && w.plan.points[si] > from {
		si--
	}
	snap := &w.snaps[si]
	prepare(&w.rep, &w.world, snap)
	w.st.Rows++
	if len(w.open) > 0 {
		w.st.WithOpen++
		w.st.Open += len(w.open)
	}
	w.sw, w.sw2 = 0, 0
	clear(w.swS)
	clear(w.sw2S)
	clear(w.sw2S2)
	until := day + rf.Date(w.maxHorizon)
	end := until.At(0, 0, 0) + day1
	R := w.opt.Replicates
	for round := 0; round < maxRounds && w.sw == 0; round++ {
		for r := round * R; r < (round+1)*R; r++ {
			w.replicate(r, at, snap, until, end, w.plan.months[d])
		}
	}
	base := (d*w.t.n + idx) * len(w.t.horizons)
	if w.sw == 0 {
		w.st.Unmatched++
		return
	}
	for h := range w.t.horizons {
		surv := w.swS[h] / w.sw
		v := (w.sw2S2[h] - 2*surv*w.sw2S[h] + surv*surv*w.sw2) / (w.sw * w.sw)
		w.t.p[base+h], w.t.se[base+h] = float32(1-surv), float32(math.Sqrt(max(0, v)))
	}
}

const day1 = rf.Time(86400)

// replicate draws continuation r of the customer from snap: the courses
// of the open invoices in stratum r, everything after at anew; it counts
// the replicate when its rows before at are the world's.
func (w *riskWorker) replicate(r int, at rf.Time, snap *snapshot, until rf.Date, end rf.Time, month int) {
	f := &w.fk
	*f = fork{at: at, from: snap.at, month: month, salt: mix(uint64(at)*golden + uint64(r) + 1), open: w.open,
		fates: w.fates[:0], weight: 1, until: until, marks: f.marks[:0]}
	for j := range w.open {
		c := (r >> (2 * j)) & 3 // strata: every course of each of the first three open invoices equally often
		if j >= 3 {
			c = key(f.salt).n(uint64(j), 0, 3)
		}
		f.fates = append(f.fates, fate(c))
	}
	w.fates = f.fates
	w.r.restore(snap)
	w.r.fork = f
	w.r.repath()
	w.r.runUntil(at)
	w.st.Replicates++
	if f.contradicted || !sameRowsSince(&w.rep, &w.world, snap.rows) {
		return
	}
	w.st.Accepted++
	w.r.runUntil(end)
	w.survival(at.Date(), until)
	wt := f.weight
	w.sw += wt
	w.sw2 += wt * wt
	for h, s := range w.surv {
		w.swS[h] += wt * s
		w.sw2S[h] += wt * wt * s
		w.sw2S2[h] += wt * wt * s * s
	}
}

// survival sets w.surv to the replicate's chance of not falling behind
// within each horizon of day: 0 once an invoice is still unpaid on its
// behind day, else the product of 1 - hazard over the invoices forced not
// to go behind within it.
func (w *riskWorker) survival(day, until rf.Date) {
	first := until + 1
	for i := range w.r.invs {
		v := &w.r.invs[i]
		if b := v.due + behindDays; b >= day && b < first && (v.paidAt == 0 || v.paidAt.Date() >= b) {
			first = b
		}
	}
	for h, hz := range w.opt.Horizons {
		lim := day + rf.Date(hz)
		p := 0.0
		if first > lim {
			p = 1
			for _, m := range w.fk.marks {
				if m.day <= lim {
					p *= 1 - m.hazard
				}
			}
		}
		w.surv[h] = p
	}
}
