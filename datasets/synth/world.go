package synth

import (
	"math"
	"math/rand/v2"
	"strconv"

	rf "github.com/duewise/duewise/datasets/rowfile"
)

// calendar is what every customer simulation shares: read-only, so safe
// for concurrent use.
type calendar struct {
	seed       uint64
	months     int
	monthStart []rf.Date // months+1 entries; the last is the end of the world
	monthOfYr  []int     // 1..12 per month
	end        rf.Time   // nothing at or after end is known yet
}

func newCalendar(cfg Config) *calendar {
	c := &calendar{seed: uint64(cfg.Seed), months: cfg.Months}
	for m := 0; m <= cfg.Months; m++ {
		t := cfg.Start.AddDate(0, m, 0)
		if !cfg.End.IsZero() {
			t = cfg.End.AddDate(0, m-cfg.Months, 0)
		}
		c.monthStart = append(c.monthStart, rf.DateOf(t))
		c.monthOfYr = append(c.monthOfYr, int(t.Month()))
	}
	c.end = c.monthStart[cfg.Months].At(0, 0, 0)
	return c
}

const forever rf.Time = math.MaxInt64

// sim simulates one customer and appends its rows to a batch. A sim is
// reused across customers by one goroutine.
type sim struct {
	cal *calendar
	b   *rf.Batch
	r   *rand.Rand
	pcg *rand.PCG

	num    string // 8-digit customer number
	id     string
	arch   archetype
	seg    int
	online bool
	method string // current payment method
	cust   *rf.Customer

	terms   int
	billDay int
	lead    int // habitual days before the due date an on-time transfer is paid
	life    int // index into lifeKinds; -1 none
	lifeAt  int // month the life event starts (may be < 0)
	lifeDur int
	lifeRec int

	st           state
	arrearsUntil rf.Time // a 30+ days unpaid invoice stays open until then
	closedAcct   bool    // next direct debit fails AC04 (account closed after a move)
	ddFails      int     // consecutive invoices with a failed debit
	collected    bool    // an invoice went to collection this month

	seqPay, seqDD, seqRem, seqArr, seqDisp, seqEv int
}

func newSim(cal *calendar) *sim {
	s := &sim{cal: cal, pcg: rand.NewPCG(0, 0)}
	s.r = rand.New(s.pcg)
	return s
}

// customer simulates customer number idx (0-based) into b.
func (s *sim) customer(idx int, b *rf.Batch) {
	*s = sim{cal: s.cal, pcg: s.pcg, r: s.r, b: b}
	// Per-customer stream: (seed, idx) mixed so neighbouring seeds and
	// indices give unrelated streams.
	s.pcg.Seed(mix(s.cal.seed^0x5DEECE66D), mix(uint64(idx)+0x9E3779B97F4A7C15))
	s.num = pad8(idx + 1)
	s.id = "C" + s.num
	s.profile()
	for m := 0; m < s.cal.months; m++ {
		if !s.month(m) {
			break
		}
	}
}

func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xBF58476D1CE4E5B9
	x ^= x >> 27
	x *= 0x94D049BB133111EB
	return x ^ x>>31
}

func pad8(n int) string {
	var buf [8]byte
	for i := 7; i >= 0; i-- {
		buf[i] = byte('0' + n%10)
		n /= 10
	}
	return string(buf[:])
}

func (s *sim) chance(p float64) bool { return s.r.Float64() < p }

// between returns a uniform integer in [lo, hi].
func (s *sim) between(lo, hi int) int { return lo + s.r.IntN(hi-lo+1) }

func (s *sim) pick(weights []float64) int {
	u := s.r.Float64()
	for i, w := range weights {
		if u < w {
			return i
		}
		u -= w
	}
	return len(weights) - 1
}

// at returns a time on day d during office-ish hours.
func (s *sim) at(d rf.Date) rf.Time { return d.At(s.between(7, 21), s.r.IntN(60), s.r.IntN(60)) }

func (s *sim) profile() {
	s.arch = archetype(s.pick(archetypeShare[:]))
	segW := make([]float64, len(segments))
	for i, sg := range segments {
		segW[i] = sg.share
	}
	s.seg = s.pick(segW)
	pOnline := 0.7
	switch s.arch {
	case chronic:
		pOnline = 0.55
	case business:
		pOnline = 0.8
	}
	s.online = s.chance(pOnline)
	methods := []string{"direct_debit", "bank_transfer", "card", "pay_link"}
	var mw []float64
	switch s.arch {
	case business:
		mw = []float64{0.25, 0.75, 0, 0}
	case forgetful:
		mw = []float64{0.2, 0.45, 0.1, 0.25}
	case chronic:
		mw = []float64{0.3, 0.45, 0.05, 0.2}
	default:
		mw = []float64{0.55, 0.22, 0.08, 0.15}
	}
	s.method = methods[s.pick(mw)]
	country, postcode := "NL", ""
	switch u := s.r.Float64(); {
	case u < 0.85:
		postcode = strconv.Itoa(s.between(1000, 9999))
	case u < 0.95:
		country, postcode = "BE", strconv.Itoa(s.between(1000, 9999))
	default:
		country, postcode = "DE", pad8(s.between(1, 99))[6:]
	}
	monthly := segments[s.seg].median * math.Exp(0.45*s.r.NormFloat64())
	credit := rf.NoCents
	s.terms = 14
	if s.arch == business {
		monthly *= 6
		credit = rf.CentsOf(math.Ceil(monthly*3/100) * 100)
		s.terms = []int{30, 45, 60}[s.pick([]float64{0.7, 0.2, 0.1})]
	}
	if monthly < 5 {
		monthly = 5
	}
	// 75% existed before the window; the rest join during it.
	var created rf.Date
	if s.chance(0.75) {
		created = s.cal.monthStart[0] - rf.Date(s.between(30, 3650))
	} else {
		last := s.cal.monthStart[s.cal.months] - 1
		created = s.cal.monthStart[0] + rf.Date(s.r.IntN(int(last-s.cal.monthStart[0])+1))
	}
	s.billDay = s.between(1, 28)
	s.lead = s.between(leadMin[s.arch], leadMax[s.arch])
	s.life = -1
	if s.arch == lifeEvent {
		w := make([]float64, len(lifeKinds))
		for i, k := range lifeKinds {
			w[i] = k.share
		}
		s.life = s.pick(w)
		k := lifeKinds[s.life]
		s.lifeAt = s.between(-4, s.cal.months-1)
		s.lifeDur = s.between(k.minDur, k.maxDur)
		s.lifeRec = s.between(1, 4)
	}
	if s.arch == chronic {
		s.st = chronicState
	}
	s.b.Customers = append(s.b.Customers, rf.Customer{
		ID: s.id, CreatedAt: created, Type: ternary(s.arch == business, "business", "consumer"),
		Segment: segments[s.seg].name, Channel: ternary(s.online, "online", "offline"),
		PaymentMethod: s.method, Country: country, PostcodeArea: postcode,
		MonthlyAmount: rf.CentsOf(monthly), CreditLimit: credit,
	})
	s.cust = &s.b.Customers[len(s.b.Customers)-1]
}

func ternary[T any](c bool, a, b T) T {
	if c {
		return a
	}
	return b
}

// nextState moves the hidden state to month m and emits the events a
// credit manager could see when it changes.
func (s *sim) nextState(m int) {
	moy := s.cal.monthOfYr[m]
	if s.arch == chronic {
		s.st = chronicState
		return
	}
	if s.life >= 0 {
		k := lifeKinds[s.life]
		switch {
		case m >= s.lifeAt && m < s.lifeAt+s.lifeDur:
			if m == s.lifeAt {
				s.lifeStarts(m, k)
			}
			s.st = k.state
			return
		case m >= s.lifeAt+s.lifeDur && m < s.lifeAt+s.lifeDur+s.lifeRec:
			s.st = recovering
			return
		case m == s.lifeAt+s.lifeDur+s.lifeRec:
			s.st = healthy
			return
		}
	}
	switch s.st {
	case healthy:
		if s.chance(toStrained[s.arch] * monthStrain[moy]) {
			s.st = strained
			if s.chance(0.1) {
				s.event(s.dayIn(m), "contact", "asked about payment options")
			}
		}
	case strained:
		switch u := s.r.Float64(); {
		case u < strainedToHealthy:
			s.st = healthy
		case u < strainedToHealthy+strainedToHardship:
			s.st = hardship
		}
	case hardship, moving:
		if s.chance(hardshipToRecovering) {
			s.st = recovering
		}
	case recovering:
		switch u := s.r.Float64(); {
		case u < recoveringToHealthy:
			s.st = healthy
		case u < recoveringToHealthy+recoveringToStrained:
			s.st = strained
		}
	}
}

// lifeStarts emits the visible traces of a life event starting in month m.
func (s *sim) lifeStarts(m int, k lifeKind) {
	// Before this month's due date, so the month's debit sees a closed account.
	d := s.cal.monthStart[m] + rf.Date(s.r.IntN(s.billDay+s.terms-2))
	switch k.name {
	case "moving house":
		// A planned move is usually reported ahead: suppliers ask for the
		// new address and the moving date weeks before.
		if s.chance(movedAhead) {
			if e := d - rf.Date(s.between(movedAheadMin, movedAheadMax)); e > s.cust.CreatedAt {
				d = e
			}
		}
		s.event(d, "address_change", "moved")
		if s.method == "direct_debit" && s.chance(0.6) {
			s.closedAcct = true
		}
	case "divorce":
		if s.chance(0.7) {
			s.event(d, "address_change", "moved")
			if s.method == "direct_debit" && s.chance(0.4) {
				s.closedAcct = true
			}
		}
		if s.chance(0.3) {
			s.event(d+rf.Date(s.between(0, 10)), "contact", "asked for payment delay")
		}
	case "job loss":
		if s.chance(0.35) {
			s.event(d+rf.Date(s.between(5, 25)), "contact", "asked for payment delay")
		}
	case "illness":
		if s.chance(0.25) {
			s.event(d+rf.Date(s.between(5, 25)), "contact", "reported illness")
		}
	}
}

func (s *sim) dayIn(m int) rf.Date {
	n := int(s.cal.monthStart[m+1] - s.cal.monthStart[m])
	return s.cal.monthStart[m] + rf.Date(s.r.IntN(n))
}

func (s *sim) noise(m int) {
	if s.chance(noiseMove) {
		s.event(s.dayIn(m), "address_change", "moved")
	}
	if s.chance(noiseContact) {
		s.event(s.dayIn(m), "contact", "question about invoice")
	}
	if s.chance(noiseContract) {
		s.event(s.dayIn(m), "contract_change", "tariff change")
	}
	if s.chance(noiseComplaint) {
		s.event(s.dayIn(m), "complaint", "service complaint")
	}
	if s.chance(noiseMethod) {
		s.event(s.dayIn(m), "payment_method_change", "updated bank details")
	}
}

// month simulates month m; it returns false once the customer has left.
func (s *sim) month(m int) bool {
	issued := s.cal.monthStart[m] + rf.Date(s.billDay-1)
	if issued <= s.cust.CreatedAt {
		return true // not a customer yet
	}
	s.nextState(m)
	s.noise(m)
	s.collected = false
	moy := s.cal.monthOfYr[m]
	sg := segments[s.seg]
	amount := s.cust.MonthlyAmount.Float()
	if sg.name == "energy" {
		amount *= 1 + 0.25*math.Cos(2*math.Pi*float64(moy-1)/12)
	}
	amount *= 1 + 0.05*s.r.NormFloat64()
	if amount < 1 {
		amount = 1
	}
	inv := rf.Invoice{
		ID: "I" + s.num + "-" + strconv.Itoa(m+1), CustomerID: s.id,
		IssuedAt: issued, DueAt: issued + rf.Date(s.terms), Amount: rf.CentsOf(amount), Currency: "EUR",
	}
	s.b.Invoices = append(s.b.Invoices, inv)

	h := s.hazard(m, issued.At(12, 0, 0), inv.Amount)
	s.b.Truth = append(s.b.Truth, rf.Truth{CustomerID: s.id, Month: s.cal.monthStart[m], Hazard: h, State: stateNames[s.st]})
	behind := s.chance(h)
	if behind {
		s.settleBehind(&inv)
	} else {
		s.settleOK(&inv)
	}

	leave := leaveBase
	if s.collected {
		leave += leaveCollection
	}
	if s.arch == chronic {
		leave += leaveChronic
	}
	if s.chance(leave) {
		d := issued + rf.Date(s.between(1, 27))
		s.event(d, "contract_change", "contract ended")
		return false
	}
	return true
}

// hazard returns the true probability that the invoice issued at t goes
// 30+ days unpaid past due, given everything the simulator knows.
func (s *sim) hazard(m int, t rf.Time, amount rf.Cents) float64 {
	sg := segments[s.seg]
	z := stateLogit[s.st] + archetypeLogit[s.arch] + monthLogit[s.cal.monthOfYr[m]] + sg.logit
	z += methodLogit[s.method] + countryLogit[s.cust.Country]
	if !s.online {
		z += offlineLogit
	}
	if t.Date()-s.cust.CreatedAt < 180 {
		z += newCustomerLogit
	}
	if s.arrearsUntil > t {
		z += arrearsLogit
	}
	med := sg.median
	if s.arch == business {
		med *= 6
	}
	z += amountLogit * math.Max(-1, math.Min(1, math.Log(amount.Float()/med)))
	return 1 / (1 + math.Exp(-z))
}

// debitReason returns the SEPA R-transaction code of a failed debit that
// fits the customer's situation.
func (s *sim) debitReason() string {
	if s.closedAcct {
		return "AC04"
	}
	switch s.st {
	case hardship:
		return []string{"AM04", "MS03"}[s.pick([]float64{0.85, 0.15})]
	case strained, recovering:
		return []string{"AM04", "MS03", "AC06"}[s.pick([]float64{0.7, 0.2, 0.1})]
	case chronicState:
		return []string{"MS02", "AM04", "MD01"}[s.pick([]float64{0.4, 0.4, 0.2})]
	case moving:
		return []string{"AM04", "MS03"}[s.pick([]float64{0.5, 0.5})]
	}
	return []string{"MS03", "AC06", "AM04", "SL01"}[s.pick([]float64{0.4, 0.2, 0.3, 0.1})]
}

func (s *sim) due(inv *rf.Invoice, days int) rf.Time {
	return s.at(inv.DueAt + rf.Date(days))
}

// ddAt is when the bank runs a debit on day days after the due date: early
// morning, before the money is booked.
func (s *sim) ddAt(inv *rf.Invoice, days int) rf.Time {
	return (inv.DueAt + rf.Date(days)).At(4, s.r.IntN(60), 0)
}

// settleOK plays out an invoice that is paid within 30 days of its due date.
func (s *sim) settleOK(inv *rf.Invoice) {
	pOn := onTime[s.arch] * stateOnTime[s.st]
	r1 := s.between(firstReminderMin, firstReminderMax)
	r2 := s.between(secondReminderMin, secondReminderMax)
	dd := s.method == "direct_debit"
	var late int // days after due the money arrives; <= 0 on time
	switch {
	case s.chance(pOn) && !s.closedAcct:
		late = 0
		if !dd && s.method != "card" {
			late = -s.daysEarly()
		}
	case s.chance(firstReminderPays[s.arch] * stateReminderPays[s.st]):
		late = r1 + s.between(1, 6)
	default:
		late = r2 + s.between(1, 5)
	}
	if late > 29 {
		late = 29
	}
	if s.chance(ternary(s.arch == chronic, 0.02, quickDispute)) {
		// Contested, resolved for the creditor, then paid.
		open := s.due(inv, -s.between(0, 3))
		s.event(open.Date()-rf.Date(s.between(1, 5)), "complaint", "invoice contested")
		res := open + rf.Time(s.between(5, 15)*86400)
		s.dispute(inv, open, res, "creditor")
		if l := int(res.Date()-inv.DueAt) + s.between(1, 3); l > late {
			late = min(l, 29)
		}
		dd = false
	}
	method := s.method
	if dd {
		if late <= 0 {
			s.debit(inv, s.ddAt(inv, 0), "succeeded", "")
			s.ddFails = 0
			if !s.chance(refundShare[s.st]) {
				s.pay(inv, inv.DueAt.At(s.between(6, 9), 0, 0), inv.Amount, "direct_debit")
				return
			}
			// The debtor has the collected debit refunded (SEPA Core: no
			// questions asked within 8 weeks) to free cash for other bills,
			// then pays by transfer once reminded.
			s.debit(inv, s.due(inv, s.between(2, 6)), "reversed", "MD06")
			late = ternary(s.chance(0.5), r1+s.between(1, 6), r2+s.between(1, 5))
			paid := s.due(inv, min(late, 29))
			s.dun(inv, paid, r1, r2, 0, 0)
			s.pay(inv, paid, inv.Amount, "bank_transfer")
			return
		}
		first := s.debitReason()
		s.debit(inv, s.ddAt(inv, 0), "failed", first)
		s.afterFailedDebit(inv)
		retry := s.between(ddRetryMin, ddRetryMax)
		if first != "AC04" && late <= retry+3 && s.chance(0.6) {
			s.debit(inv, s.ddAt(inv, retry), "succeeded", "")
			s.pay(inv, (inv.DueAt+rf.Date(retry)).At(8, 0, 0), inv.Amount, "direct_debit")
			s.dun(inv, (inv.DueAt+rf.Date(retry)).At(8, 0, 0), r1, r2, 0, 0)
			return
		}
		s.debit(inv, s.ddAt(inv, retry), "failed", s.retryReason(first))
		method = "bank_transfer"
	}
	paid := s.due(inv, late)
	if late > 0 {
		s.dun(inv, paid, r1, r2, 0, 0)
		if late > r1 && s.online && s.chance(0.6) {
			method = "pay_link"
		} else if method == "card" {
			method = "pay_link"
		}
	}
	if method == "bank_transfer" && late > 3 && s.chance(partialShare[s.st]) {
		part := rf.Cents(float64(inv.Amount) * (0.4 + 0.3*s.r.Float64()))
		first := late - s.between(3, 10)
		s.pay(inv, s.due(inv, max(first, -3)), part, method)
		s.pay(inv, paid, inv.Amount-part, method)
		return
	}
	s.pay(inv, paid, inv.Amount, method)
}

// daysEarly is how many days before the due date a customer who pays by
// transfer or pay link, and pays on time, sends the money: a healthy
// customer on their habitual lead, a customer under cash pressure at the
// last moment (0..1 days early), one who is recovering in between.
func (s *sim) daysEarly() int {
	switch s.st {
	case healthy, chronicState:
		return max(0, s.lead+s.between(-1, 1))
	case recovering:
		return s.between(0, max(1, s.lead/2))
	}
	return s.between(0, 1)
}

// retryReason is the reason a retry fails with: a closed account stays
// closed until the new mandate; otherwise the situation decides again.
func (s *sim) retryReason(first string) string {
	if first == "AC04" {
		return first
	}
	return s.debitReason()
}

// afterFailedDebit records the customer's reaction to a failed debit.
func (s *sim) afterFailedDebit(inv *rf.Invoice) {
	if s.closedAcct {
		s.closedAcct = false
		s.event(inv.DueAt+rf.Date(s.between(3, 15)), "payment_method_change", "new direct debit mandate")
		return
	}
	s.ddFails++
	if s.ddFails >= 2 && s.chance(0.3) {
		s.event(inv.DueAt+rf.Date(s.between(5, 20)), "payment_method_change", "direct_debit to bank_transfer")
		s.method = "bank_transfer"
		s.ddFails = 0
	}
}

// settleBehind plays out an invoice that stays 30+ days unpaid past due.
func (s *sim) settleBehind(inv *rf.Invoice) {
	r1 := s.between(firstReminderMin, firstReminderMax)
	r2 := s.between(secondReminderMin, secondReminderMax)
	fn := s.between(finalNoticeMin, finalNoticeMax)
	coll := fn + s.between(collectionMin, collectionMax)
	mech := mechanism(s.pick(mechanismShare[s.st][:]))
	if s.method == "direct_debit" {
		if mech == longDispute {
			// Collected, then refunded on the customer's request.
			s.debit(inv, s.ddAt(inv, 0), "succeeded", "")
		} else {
			first := s.debitReason()
			s.debit(inv, s.ddAt(inv, 0), "failed", first)
			s.afterFailedDebit(inv)
			if s.method == "direct_debit" {
				s.debit(inv, s.ddAt(inv, s.between(ddRetryMin, ddRetryMax)), "failed", s.retryReason(first))
			}
		}
	}
	method := ternary(s.method == "direct_debit" || s.method == "card", "bank_transfer", s.method)
	if s.online && s.chance(0.5) {
		method = "pay_link"
	}
	settled := forever
	switch mech {
	case latePay:
		settled = s.due(inv, fn+s.between(3, 14))
		s.dun(inv, settled, r1, r2, fn, 0)
		s.pay(inv, settled, inv.Amount, method)
	case arrangement:
		agreed := s.due(inv, fn+s.between(2, 10))
		s.dun(inv, agreed, r1, r2, fn, 0)
		s.event(agreed.Date()-rf.Date(s.between(0, 2)), "contact", "asked for payment arrangement")
		settled = s.arrange(inv, agreed, coll)
	case collection, never:
		s.dun(inv, forever, r1, r2, fn, coll)
		s.collected = true
		if mech == collection && s.chance(collected[s.st]) {
			settled = s.due(inv, coll+s.between(20, 120))
			s.pay(inv, settled, inv.Amount, "collection_agency")
		}
	case longDispute:
		open := s.due(inv, s.between(-2, 10))
		if s.method == "direct_debit" {
			open = s.due(inv, s.between(2, 10)) // after the debit it reverses
		}
		s.event(open.Date()-rf.Date(s.between(0, 5)), "complaint", "invoice contested")
		if s.method == "direct_debit" {
			s.debit(inv, open, "reversed", "MD06")
		}
		res := s.due(inv, s.between(35, 80))
		s.dun(inv, open, r1, r2, 0, 0)
		if s.chance(0.6) {
			s.dispute(inv, open, res, "creditor")
			settled = res + rf.Time(s.between(3, 10)*86400)
			s.pay(inv, settled, inv.Amount, method)
		} else {
			s.dispute(inv, open, res, "customer")
			settled = res
		}
	}
	if settled > s.arrearsUntil {
		s.arrearsUntil = settled
	}
}

// arrange plays out a payment arrangement agreed at t for inv and returns
// when the invoice is settled (forever when never).
func (s *sim) arrange(inv *rf.Invoice, agreed rf.Time, coll int) rf.Time {
	a := rf.Arrangement{
		ID: s.nextID("A", &s.seqArr), CustomerID: s.id, AgreedAt: agreed,
		Installments: int32(s.between(2, 6)), Amount: inv.Amount, Status: "active", EndedAt: rf.NoTime,
	}
	n := int(a.Installments)
	kept := s.chance(arrangementKept[s.st])
	paidN := n
	if !kept {
		paidN = s.r.IntN(n)
	}
	per := inv.Amount / rf.Cents(n)
	var last rf.Time
	for k := 0; k < paidN; k++ {
		last = agreed + rf.Time((7+30*k)*86400+s.r.IntN(3*86400))
		amt := per
		if k == n-1 {
			amt = inv.Amount - per*rf.Cents(n-1)
		}
		s.pay(inv, last, amt, "bank_transfer")
	}
	settled := forever
	if kept {
		a.Status, a.EndedAt, settled = "completed", last, last
	} else {
		missed := agreed + rf.Time((7+30*paidN+10)*86400)
		a.Status, a.EndedAt = "broken", missed
		c := missed + rf.Time(s.between(5, 10)*86400)
		s.reminder(inv, c, "collection", "letter")
		s.collected = true
		if s.chance(collected[s.st]) {
			settled = c + rf.Time(s.between(20, 120)*86400)
			s.pay(inv, settled, inv.Amount-per*rf.Cents(paidN), "collection_agency")
		}
	}
	if a.EndedAt >= s.cal.end {
		a.Status, a.EndedAt = "active", rf.NoTime
	}
	if a.AgreedAt < s.cal.end {
		s.b.Arrangements = append(s.b.Arrangements, a)
	}
	return settled
}

// dun sends the dunning steps that fall before paid (days after due; a
// zero offset skips the step).
func (s *sim) dun(inv *rf.Invoice, paid rf.Time, r1, r2, fn, coll int) {
	steps := [...]struct {
		off   int
		stage string
	}{{r1, "reminder"}, {r2, "second_reminder"}, {fn, "final_notice"}, {coll, "collection"}}
	for _, st := range steps {
		if st.off == 0 {
			continue
		}
		t := (inv.DueAt + rf.Date(st.off)).At(s.between(6, 10), 0, 0)
		if t >= paid {
			return
		}
		ch := "letter"
		switch {
		case st.stage == "final_notice" || st.stage == "collection":
		case s.arch == business && st.stage == "second_reminder" && s.chance(0.3):
			ch = "phone"
		case s.online && s.chance(0.2):
			ch = "sms"
		case s.online:
			ch = "email"
		}
		s.reminder(inv, t, st.stage, ch)
	}
}

// nextID returns the next id of a kind for this customer, for example
// P00000042-3 for its third payment.
func (s *sim) nextID(prefix string, seq *int) string {
	*seq++
	return prefix + s.num + "-" + strconv.Itoa(*seq)
}

// ref returns the identity of the next row of a kind about inv.
func (s *sim) ref(prefix string, seq *int, inv *rf.Invoice) rf.InvoiceRef {
	return rf.InvoiceRef{ID: s.nextID(prefix, seq), InvoiceID: inv.ID, CustomerID: s.id}
}

func (s *sim) reminder(inv *rf.Invoice, t rf.Time, stage, channel string) {
	if t >= s.cal.end {
		return
	}
	s.b.Reminders = append(s.b.Reminders, rf.Reminder{
		InvoiceRef: s.ref("R", &s.seqRem, inv),
		SentAt:     t, Stage: stage, Channel: channel,
	})
}

func (s *sim) pay(inv *rf.Invoice, t rf.Time, amount rf.Cents, method string) {
	if t >= s.cal.end || amount <= 0 {
		return
	}
	s.b.Payments = append(s.b.Payments, rf.Payment{
		InvoiceRef: s.ref("P", &s.seqPay, inv),
		PaidAt:     t, Amount: amount, Method: method,
	})
}

func (s *sim) debit(inv *rf.Invoice, t rf.Time, status, reason string) {
	if t >= s.cal.end {
		return
	}
	s.b.DirectDebits = append(s.b.DirectDebits, rf.DirectDebit{
		InvoiceRef:  s.ref("D", &s.seqDD, inv),
		AttemptedAt: t, Status: status, Reason: reason,
	})
}

func (s *sim) dispute(inv *rf.Invoice, open, resolved rf.Time, outcome string) {
	if open >= s.cal.end {
		return
	}
	if resolved >= s.cal.end {
		resolved, outcome = rf.NoTime, ""
	}
	s.b.Disputes = append(s.b.Disputes, rf.Dispute{
		InvoiceRef: s.ref("S", &s.seqDisp, inv),
		OpenedAt:   open, ResolvedAt: resolved, Outcome: outcome,
	})
}

func (s *sim) event(d rf.Date, kind, detail string) {
	t := s.at(d)
	if t >= s.cal.end {
		return
	}
	s.b.CustomerEvents = append(s.b.CustomerEvents, rf.CustomerEvent{
		ID: s.nextID("E", &s.seqEv), CustomerID: s.id, OccurredAt: t, Kind: kind, Detail: detail,
	})
}
