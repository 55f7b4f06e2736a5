package synth

import (
	"math"
	"strconv"
	"testing"
	"time"

	"github.com/duewise/duewise/datasets/rowfile"
	"github.com/duewise/duewise/datasets/rowfile/rowfiletest"
)

// rate is a share with its standard error.
type rate struct{ hits, n float64 }

func (r *rate) add(hit bool) {
	r.n++
	if hit {
		r.hits++
	}
}

func (r rate) p() float64 { return r.hits / r.n }

func (r rate) String() string {
	return strconv.FormatFloat(r.p(), 'f', 4, 64) + " (n=" + strconv.Itoa(int(r.n)) + ")"
}

// above reports whether a exceeds b by more than z standard errors of the
// difference: the tolerance comes from the data, not from a constant.
func above(a, b rate, z float64) bool {
	se := math.Sqrt(a.p()*(1-a.p())/a.n + b.p()*(1-b.p())/b.n)
	return a.p()-b.p() > z*se
}

type invoiceFacts struct {
	customer      string
	month         string
	due           time.Time
	onTime        bool
	behind        bool // unpaid 30 days after due
	observable    bool // due + 30 days before the end of the world
	hazard        float64
	state         string
	paidAfterRem  bool
	late          bool
	failedDebit   bool
	prevLate      bool
	prevObserved  bool
	afterAddrMove bool
}

func TestRealism(t *testing.T) {
	c := testConfig(t, 20000, 24)
	generate(t, c)
	end := c.Start.AddDate(0, c.Months, 0)
	day := func(s string) time.Time { v, _ := time.Parse(time.RFC3339, s); return v }
	date := func(s string) time.Time { v, _ := time.Parse(time.DateOnly, s); return v }

	arch := map[string]archetype{}
	{
		cal := newCalendar(c)
		s := newSim(cal)
		var b rowfile.Batch
		for i := 0; i < c.Customers; i++ {
			b.Reset()
			s.customer(i, &b)
			arch[s.id] = s.arch
		}
	}
	customers := rowfiletest.ReadTable(t, c.Out, "customers")
	channel := map[string]string{}
	for _, r := range customers.Rows {
		channel[r[1]] = customers.Get(r, "channel")
	}
	inv := rowfiletest.ReadTable(t, c.Out, "invoices")
	truth := rowfiletest.ReadTable(t, c.Out, rowfile.TruthTable)
	facts := map[string]*invoiceFacts{}
	order := []string{}
	byMonth := map[[2]string]*invoiceFacts{}
	amount := map[string]float64{}
	for i, r := range inv.Rows {
		f := &invoiceFacts{customer: r[2], month: inv.Get(r, "issued_at")[:7], due: date(inv.Get(r, "due_at"))}
		tr := truth.Rows[i]
		if tr[1] != f.customer || tr[2][:7] != f.month {
			t.Fatalf("truth row %d is %v, want customer %s month %s", i, tr, f.customer, f.month)
		}
		f.hazard, _ = strconv.ParseFloat(truth.Get(tr, "hazard"), 64)
		f.state = truth.Get(tr, "state")
		f.observable = f.due.AddDate(0, 0, 30).Before(end)
		amount[r[1]], _ = strconv.ParseFloat(inv.Get(r, "amount"), 64)
		facts[r[1]] = f
		order = append(order, r[1])
		byMonth[[2]string{f.customer, f.month}] = f
	}
	// Payments: cumulative amounts by the due date and by due + 30 days.
	pay := rowfiletest.ReadTable(t, c.Out, "payments")
	byDue, by30 := map[string]float64{}, map[string]float64{}
	lastPaid := map[string]time.Time{}
	for _, r := range pay.Rows {
		id := pay.Get(r, "invoice_id")
		a, _ := strconv.ParseFloat(pay.Get(r, "amount"), 64)
		at := day(pay.Get(r, "paid_at"))
		f := facts[id]
		if at.Before(f.due.AddDate(0, 0, 1)) {
			byDue[id] += a
		}
		if at.Before(f.due.AddDate(0, 0, 30)) {
			by30[id] += a
		}
		if at.After(lastPaid[id]) {
			lastPaid[id] = at
		}
	}
	firstRem := map[string]time.Time{}
	rem := rowfiletest.ReadTable(t, c.Out, "reminders")
	for _, r := range rem.Rows {
		if rem.Get(r, "stage") == "reminder" {
			firstRem[rem.Get(r, "invoice_id")] = day(rem.Get(r, "sent_at"))
		}
	}
	for id, f := range facts {
		f.onTime = byDue[id] >= amount[id]-0.005
		f.behind = by30[id] < amount[id]-0.005
		f.late = !f.onTime
		if fr, ok := firstRem[id]; ok && !f.behind && f.late {
			f.paidAfterRem = lastPaid[id].After(fr)
		}
	}
	dd := rowfiletest.ReadTable(t, c.Out, "direct_debits")
	reasons := map[string]map[string]float64{}
	ac04 := []struct {
		customer string
		at       time.Time
	}{}
	for _, r := range dd.Rows {
		if dd.Get(r, "status") != "failed" {
			continue
		}
		f := facts[dd.Get(r, "invoice_id")]
		f.failedDebit = true
		if reasons[f.state] == nil {
			reasons[f.state] = map[string]float64{}
		}
		reasons[f.state][dd.Get(r, "reason")]++
		if dd.Get(r, "reason") == "AC04" {
			ac04 = append(ac04, struct {
				customer string
				at       time.Time
			}{f.customer, day(dd.Get(r, "attempted_at"))})
		}
	}
	moves := map[string][]time.Time{}
	ev := rowfiletest.ReadTable(t, c.Out, "customer_events")
	ended := 0
	for _, r := range ev.Rows {
		switch {
		case ev.Get(r, "kind") == "address_change":
			moves[r[2]] = append(moves[r[2]], day(ev.Get(r, "occurred_at")))
		case ev.Get(r, "detail") == "contract ended":
			ended++
		}
	}
	// Previous invoice of the same customer (invoices are in customer, month order).
	for i, id := range order {
		f := facts[id]
		if i > 0 {
			if p := facts[order[i-1]]; p.customer == f.customer {
				f.prevLate, f.prevObserved = p.late, true
			}
		}
		for _, m := range moves[f.customer] {
			if d := f.due.Sub(m); d > 0 && d < 60*24*time.Hour {
				f.afterAddrMove = true
			}
		}
	}

	t.Run("late share by archetype", func(t *testing.T) {
		late := map[archetype]*rate{}
		behind := map[archetype]*rate{}
		for a := range numArchetypes {
			late[a], behind[a] = &rate{}, &rate{}
		}
		for _, f := range facts {
			if !f.observable {
				continue
			}
			late[arch[f.customer]].add(f.late)
			behind[arch[f.customer]].add(f.behind)
		}
		for a := range numArchetypes {
			t.Logf("%-10s late %s behind %s", archetypeNames[a], late[a], behind[a])
		}
		for _, pair := range [][2]archetype{{forgetful, reliable}, {business, reliable}, {lifeEvent, reliable}, {chronic, forgetful}, {chronic, business}, {chronic, lifeEvent}} {
			if !above(*late[pair[0]], *late[pair[1]], 4) {
				t.Errorf("late share of %s %v not clearly above %s %v", archetypeNames[pair[0]], late[pair[0]], archetypeNames[pair[1]], late[pair[1]])
			}
		}
		for _, pair := range [][2]archetype{{lifeEvent, reliable}, {chronic, lifeEvent}, {forgetful, reliable}} {
			if !above(*behind[pair[0]], *behind[pair[1]], 4) {
				t.Errorf("behind share of %s %v not clearly above %s %v", archetypeNames[pair[0]], behind[pair[0]], archetypeNames[pair[1]], behind[pair[1]])
			}
		}
		// Forgetful payers mostly pay once reminded, within 30 days.
		var afterRem rate
		for _, f := range facts {
			if arch[f.customer] == forgetful && f.late && !f.behind && f.observable {
				afterRem.add(f.paidAfterRem)
			}
		}
		if afterRem.p() < 0.8 {
			t.Errorf("forgetful late payers paying after the first reminder: %v, want >= 0.8", afterRem)
		}
	})

	t.Run("direct debit reasons fit the cause", func(t *testing.T) {
		h := reasons["hardship"]
		total := 0.0
		for _, n := range h {
			total += n
		}
		for code, n := range h {
			if code != "AM04" && n >= h["AM04"] {
				t.Errorf("hardship: %s (%v) as common as AM04 (%v)", code, n, h["AM04"])
			}
		}
		if total < 100 || h["AM04"]/total < 0.5 {
			t.Errorf("hardship: AM04 %v of %v failed debits, want a majority", h["AM04"], total)
		}
		if len(ac04) < 20 {
			t.Fatalf("only %d AC04 failures", len(ac04))
		}
		var afterMove rate
		for _, a := range ac04 {
			hit := false
			for _, m := range moves[a.customer] {
				if d := a.at.Sub(m); d > 0 && d < 75*24*time.Hour {
					hit = true
				}
			}
			afterMove.add(hit)
		}
		if afterMove.p() < 0.9 {
			t.Errorf("AC04 failures preceded by an address change within 75 days: %v, want >= 0.9", afterMove)
		}
	})

	t.Run("december effect", func(t *testing.T) {
		var dec, other rate
		for _, f := range facts {
			if !f.observable {
				continue
			}
			if f.month[5:] == "12" {
				dec.add(f.behind)
			} else {
				other.add(f.behind)
			}
		}
		t.Logf("december behind %v, other months %v", dec, other)
		if !above(dec, other, 3) {
			t.Errorf("december behind %v not clearly above other months %v", dec, other)
		}
	})

	t.Run("truth hazard is the generating probability", func(t *testing.T) {
		type acc struct {
			r   rate
			sum float64
			sq  float64
		}
		byState := map[string]*acc{"all": {}}
		for _, f := range facts {
			if f.hazard <= 0 || f.hazard >= 1 || math.IsNaN(f.hazard) {
				t.Fatalf("hazard %v outside (0, 1)", f.hazard)
			}
			if !f.observable {
				continue
			}
			for _, k := range []string{"all", f.state} {
				if byState[k] == nil {
					byState[k] = &acc{}
				}
				a := byState[k]
				a.r.add(f.behind)
				a.sum += f.hazard
				a.sq += f.hazard * (1 - f.hazard)
			}
		}
		for k, a := range byState {
			mean := a.sum / a.r.n
			se := math.Sqrt(a.sq) / a.r.n // sd of a sum of independent Bernoullis
			t.Logf("%-10s n=%6.0f hazard %.4f realized %.4f", k, a.r.n, mean, a.r.p())
			if math.Abs(a.r.p()-mean) > 4.5*se+1e-9 {
				t.Errorf("%s: realized behind %.4f vs mean hazard %.4f (se %.4f)", k, a.r.p(), mean, se)
			}
		}
		chronicMean := byState["chronic"].sum / byState["chronic"].r.n
		for k, a := range byState {
			if k != "chronic" && a.sum/a.r.n >= chronicMean {
				t.Errorf("mean hazard of %s %.4f >= chronic %.4f", k, a.sum/a.r.n, chronicMean)
			}
		}
	})

	t.Run("history signals predict falling behind", func(t *testing.T) {
		var prevLate, prevOK, failed, noFail, moved, stayed, offline, online rate
		for _, f := range facts {
			if !f.observable || !f.prevObserved {
				continue
			}
			if f.prevLate {
				prevLate.add(f.behind)
			} else {
				prevOK.add(f.behind)
			}
			if f.failedDebit {
				failed.add(f.behind)
			} else {
				noFail.add(f.behind)
			}
			if f.afterAddrMove {
				moved.add(f.behind)
			} else {
				stayed.add(f.behind)
			}
			if channel[f.customer] == "offline" {
				offline.add(f.behind)
			} else {
				online.add(f.behind)
			}
		}
		for _, tc := range []struct {
			name     string
			hi, lo   rate
			minRatio float64
		}{
			{"previous invoice late", prevLate, prevOK, 3},
			{"failed direct debit", failed, noFail, 3},
			{"address change in the last 60 days", moved, stayed, 1.5},
			{"offline channel", offline, online, 1.1},
		} {
			t.Logf("%s: %v vs %v", tc.name, tc.hi, tc.lo)
			if !above(tc.hi, tc.lo, 4) || tc.hi.p() < tc.minRatio*tc.lo.p() {
				t.Errorf("%s: behind %v vs %v, want clearly higher (x%.1f)", tc.name, tc.hi, tc.lo, tc.minRatio)
			}
		}
	})

	t.Run("customers leave", func(t *testing.T) {
		if share := float64(ended) / float64(c.Customers); share < 0.03 || share > 0.4 {
			t.Errorf("%d of %d customers left (%.3f)", ended, c.Customers, share)
		}
	})
}
