package synth

import (
	"math"
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
	policy     Policy    // acts from policyFrom; Standard before
	policyFrom rf.Time
	eff        Effects
}

func newCalendar(cfg Config) *calendar {
	c := &calendar{seed: uint64(cfg.Seed), months: cfg.Months, policy: cfg.Policy, eff: cfg.Effects}
	for m := 0; m <= cfg.Months; m++ {
		t := cfg.Start.AddDate(0, m, 0)
		if !cfg.End.IsZero() {
			t = cfg.End.AddDate(0, m-cfg.Months, 0)
		}
		c.monthStart = append(c.monthStart, rf.DateOf(t))
		c.monthOfYr = append(c.monthOfYr, int(t.Month()))
	}
	c.end = c.monthStart[cfg.Months].At(0, 0, 0)
	c.policyFrom = c.monthStart[0].At(0, 0, 0)
	if !cfg.PolicyFrom.IsZero() {
		c.policyFrom = rf.DateOf(cfg.PolicyFrom).At(0, 0, 0)
	}
	if c.policy == nil {
		c.policy = Standard
	}
	return c
}

const (
	forever rf.Time = math.MaxInt64
	day     rf.Time = 86400
	hour    rf.Time = 3600
)

// fate is what an invoice would come to under the standard policy, drawn
// at issue: paid on time, late by a payer who pays once nudged (or on
// their own day), late by a payer short of money (on the day the money
// comes), or 30+ days unpaid (one of the mechanisms).
type fate uint8

const (
	fateOnTime fate = iota
	fateNudge
	fateCash
	fateBehind
)

// Slots of an invoice's draws (see key). A slot is one named draw, so that
// every policy uses the same draw for the same purpose.
const (
	sBehind = iota
	sOnTime
	sType
	sType2
	sSelf
	sNudge
	sMoney
	sExtra
	sPartial
	sPartAmt
	sPartDay
	sMech
	sPress
	sArrDelay
	sArrAsk
	sInst
	sKept
	sPaidN
	sRecover
	sRecDelay
	sAgencyPay
	sDispWin
	sDispOpen
	sDispRes
	sDispPay
	sDispAsk
	sQuick
	sQuickOpen
	sQuickRes
	sQuickPay
	sQuickAsk
	sRefund
	sRefundDay
	sRefundType
	sReason
	sPre
	sPreDay
	sFollow
	sFollowDay
	sPlan
	sPlanDay
	sStop
	sStopDay
	sPayLink
	sEarly
	sAmount  // and sAmount+1
	sMandate = sAmount + 2
	sSwitch  = sAmount + 3
	sDDMin   = sAmount + 4
	sFamily  = 100 // families of draws: sFamily*k + i
	fRetry   = 1
	fRetryRe = 2
	fInstDay = 3
	fInstRem = 4
)

// family returns slot i of family f.
func family(f, i int) uint64 { return uint64(sFamily*f + i) }

// invoice is the world's state of one invoice.
type invoice struct {
	i           int // index in sim.invs
	row         int
	id          string
	m           int
	issued, due rf.Date
	amount      rf.Cents
	st          state // hidden state at issue
	k           key   // the draws of its course
	ok          key   // the draws a course only shows (the debit's minute, a part payment's amount), kept when a fork redraws k
	fate        fate
	mech        mechanism
	self        int    // a nudged payer's own day (days after due)
	nudge       int    // a nudged payer's delay after a nudge
	money       int    // the day a payer short of money has it
	method      string // how a late payment comes

	paid     rf.Cents
	paidAt   rf.Time // paid in full; 0 while not
	payAt    rf.Time // the scheduled payment of the rest; forever none
	ver      uint16  // bumped to cancel scheduled payments
	reminded bool    // a dunning contact was received
	pressed  bool    // a firm step was taken (14-day letter, hand-over, stop)
	finalAt  rf.Time
	handedAt rf.Time
	claim    int // index into the ledger's claims; -1 none
	arranged bool
	arrRow   int
	arrAt    rf.Time
	inst     int // installments of the plan
	breakAt  int // the installment the plan breaks at (inst when kept)
	paidInst int
	dispOpen bool
	dispRow  int
	written  bool
	ddReason string // the first failed debit's reason
	retries  int
	loyalHit bool // a loyal customer was dunned over it (counted once)
	out      rf.Cents
	outSince rf.Time
}

func (v *invoice) closed() bool { return v.paidAt != 0 || v.written }

// dunnable: unpaid and in the creditor's hands (not under a plan, not with
// the agency, not disputed).
func (v *invoice) dunnable() bool {
	return !v.closed() && !v.arranged && v.handedAt == 0 && !v.dispOpen
}

type evKind uint8

const (
	evMonth evKind = iota
	evIssue
	evDue
	evPay
	evMoney
	evRow
	evAction
	evAgree
	evInstall
	evBroken
	evRecover
	evWriteOff
	evDispOpen
	evDispRes
	evReverse
	evLeave
	evDecide // decisions come after the world's events of the same second
)

type event struct {
	t    rf.Time
	seq  uint32
	kind evKind
	dk   DecisionKind
	ver  uint16
	inv  int32 // the invoice; for evRow, m+1 when the row traces the hidden state of month m (see trace), else 0
	a    int32
	amt  rf.Cents
	s    string
}

// queue is a binary min-heap of events by (time, decisions last, order of
// scheduling).
type queue []event

func (q queue) less(i, j int) bool {
	a, b := &q[i], &q[j]
	if a.t != b.t {
		return a.t < b.t
	}
	if (a.kind == evDecide) != (b.kind == evDecide) {
		return b.kind == evDecide
	}
	return a.seq < b.seq
}

func (q *queue) push(e event) {
	*q = append(*q, e)
	h := *q
	for i := len(h) - 1; i > 0; {
		p := (i - 1) / 2
		if !h.less(i, p) {
			break
		}
		h[i], h[p] = h[p], h[i]
		i = p
	}
}

func (q *queue) pop() event {
	h := *q
	top := h[0]
	n := len(h) - 1
	h[0] = h[n]
	h = h[:n]
	for i := 0; ; {
		l, r, m := 2*i+1, 2*i+2, i
		if l < n && h.less(l, m) {
			m = l
		}
		if r < n && h.less(r, m) {
			m = r
		}
		if m == i {
			break
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
	*q = h
	return top
}

// pending is an action scheduled for later.
type pending struct {
	Action
	inv int // -1 for the customer
	dk  DecisionKind
}

// sim simulates one customer and appends its rows to a batch. A sim is
// reused across customers by one goroutine.
type sim struct {
	cal *calendar
	b   *rf.Batch
	k   key

	num    string // 8-digit customer number
	id     string
	arch   archetype
	seg    int
	online bool
	method string // current payment method
	cust   *rf.Customer

	terms, billDay, lead, payday int
	life, lifeAt, lifeDur        int     // life: index into lifeKinds; -1 none
	lifeRec                      int     // months of recovery after the life event
	lifeShown                    rf.Time // the first visible trace of the life event (forever: none scheduled)

	states []state // hidden state per month (exogenous)
	st     state
	first  int // first month as a customer
	left   bool
	leftAt rf.Time
	lastT  rf.Time // the time of the event being handled

	closedAcct  bool // next direct debit fails AC04 (account closed after a move)
	ddFails     int  // consecutive invoices with a failed debit
	handed      bool // a claim went to collection since the last leave check
	dunnedLoyal bool // a loyal customer was dunned since the last leave check
	planOffer   rf.Time
	lastContact contactKey

	off  [8]int // where the customer's rows start in each table of b
	invs []invoice
	acts []pending
	q    queue
	seq  uint32
	std  Decider
	pol  Decider
	buf  []Action
	led  ledger

	seqPay, seqDD, seqRem, seqArr, seqDisp, seqEv int

	// onDecide, when set, sees every decision and its actions
	// (CheckPointInTime).
	onDecide func(d *Decision, acts []Action)
	// fork, when set, continues the customer's world from a moment with
	// draws of its own (TrueRisk, fork.go).
	fork *fork
}

func newSim(cal *calendar) *sim {
	return &sim{cal: cal}
}

// customer simulates customer number idx (0-based) into b and returns its
// ledger.
func (s *sim) customer(idx int, b *rf.Batch) Ledger {
	s.start(idx, b)
	s.runUntil(s.cal.end)
	return s.finish()
}

// start sets the sim up for customer number idx (0-based) writing into b:
// its profile, its hidden states and its months, before any event.
func (s *sim) start(idx int, b *rf.Batch) {
	*s = sim{cal: s.cal, b: b, invs: s.invs[:0], acts: s.acts[:0], q: s.q[:0], buf: s.buf[:0], states: s.states[:0], onDecide: s.onDecide, fork: s.fork}
	s.k = key(mix(s.cal.seed^0x5DEECE66D) ^ mix(uint64(idx)+golden))
	s.num = pad8(idx + 1)
	s.id = "C" + s.num
	s.off = [8]int{len(b.Customers), len(b.Invoices), len(b.Payments), len(b.DirectDebits), len(b.Reminders), len(b.Arrangements), len(b.Disputes), len(b.CustomerEvents)}
	s.led = ledger{from: s.cal.policyFrom, end: s.cal.end}
	s.profile()
	s.std = Standard.Start(s.cust)
	s.pol = s.std
	if s.cal.policy != Standard {
		s.pol = s.cal.policy.Start(s.cust)
	}
	s.path()
	for m := s.first; m < s.cal.months; m++ {
		s.schedule(event{t: s.cal.monthStart[m].At(0, 0, 0), kind: evMonth, a: int32(m)})
	}
}

// runUntil handles the customer's events before end (and before the end
// of the world) in order.
func (s *sim) runUntil(end rf.Time) {
	end = min(end, s.cal.end)
	for len(s.q) > 0 && s.q[0].t < end {
		e := s.q.pop()
		s.lastT = e.t
		s.handle(e)
	}
}

func pad8(n int) string {
	var buf [8]byte
	for i := 7; i >= 0; i-- {
		buf[i] = byte('0' + n%10)
		n /= 10
	}
	return string(buf[:])
}

func ternary[T any](c bool, a, b T) T {
	if c {
		return a
	}
	return b
}

func (s *sim) schedule(e event) {
	s.seq++
	e.seq = s.seq
	s.q.push(e)
}

// clock returns a moment on day d between hours lo and hi, drawn from the
// day and salt (never from a stream, so it is the same under every
// policy). Rows are never stamped at second 59 of a minute: decisions are
// (see decisionAt), so a row and a decision never share a second.
func (s *sim) clock(d rf.Date, salt uint64, lo, hi int) rf.Time {
	k := s.k.at(purposeClock).at(uint64(uint32(d))<<20 ^ salt)
	return d.At(k.n(0, lo, hi), k.n(1, 0, 59), k.n(2, 0, 58))
}

// decisionAt is the moment of a decision on day d at hour h: second 59 of
// the hour's first minute.
func decisionAt(d rf.Date, h int) rf.Time { return d.At(h, 0, 59) }

func (s *sim) profile() {
	k := s.k.at(purposeProfile)
	s.arch = archetype(k.pick(0, archetypeShare[:]))
	segW := make([]float64, len(segments))
	for i, sg := range segments {
		segW[i] = sg.share
	}
	s.seg = k.pick(1, segW)
	pOnline := 0.7
	switch s.arch {
	case chronic:
		pOnline = 0.55
	case business:
		pOnline = 0.8
	}
	s.online = k.chance(2, pOnline)
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
	s.method = methods[k.pick(3, mw)]
	country, postcode := "NL", ""
	switch u := k.u(4); {
	case u < 0.85:
		postcode = strconv.Itoa(k.n(5, 1000, 9999))
	case u < 0.95:
		country, postcode = "BE", strconv.Itoa(k.n(5, 1000, 9999))
	default:
		country, postcode = "DE", pad8(k.n(5, 1, 99))[6:]
	}
	monthly := segments[s.seg].median * math.Exp(0.45*k.norm(6))
	credit := rf.NoCents
	s.terms = 14
	if s.arch == business {
		monthly *= 6
		credit = rf.CentsOf(math.Ceil(monthly*3/100) * 100)
		s.terms = []int{30, 45, 60}[k.pick(8, []float64{0.7, 0.2, 0.1})]
	}
	monthly = max(monthly, 5)
	// 75% existed before the window; the rest join during it.
	var created rf.Date
	start := s.cal.monthStart[0]
	if k.chance(9, 0.75) {
		created = start - rf.Date(k.n(10, 30, 3650))
	} else {
		last := s.cal.monthStart[s.cal.months] - 1
		created = start + rf.Date(k.n(10, 0, int(last-start)))
	}
	s.billDay = k.n(11, 1, 28)
	s.lead = k.n(12, leadMin[s.arch], leadMax[s.arch])
	s.payday = paydays[k.pick(13, paydayShare)]
	s.life = -1
	if s.arch == lifeEvent {
		w := make([]float64, len(lifeKinds))
		for i, lk := range lifeKinds {
			w[i] = lk.share
		}
		s.life = k.pick(14, w)
		lk := lifeKinds[s.life]
		s.lifeAt = k.n(15, -4, s.cal.months-1)
		s.lifeDur = k.n(16, lk.minDur, lk.maxDur)
	}
	s.b.Customers = append(s.b.Customers, rf.Customer{
		ID: s.id, CreatedAt: created, Type: ternary(s.arch == business, "business", "consumer"),
		Segment: segments[s.seg].name, Channel: ternary(s.online, "online", "offline"),
		PaymentMethod: s.method, Country: country, PostcodeArea: postcode,
		MonthlyAmount: rf.CentsOf(monthly), CreditLimit: credit,
	})
	s.cust = &s.b.Customers[len(s.b.Customers)-1]
	s.led.MonthlyAmount = s.cust.MonthlyAmount
	s.led.LeaveRate = leaveBase + ternary(s.arch == chronic, leaveChronic, 0)
	s.first = s.cal.months
	for m := 0; m < s.cal.months; m++ {
		if s.issueDate(m) > created {
			s.first = m
			break
		}
	}
}

func (s *sim) issueDate(m int) rf.Date { return s.cal.monthStart[m] + rf.Date(s.billDay-1) }

// path draws the hidden state of every month the customer may be one
// (they do not depend on what the creditor does) and schedules the
// visible traces of its changes.
func (s *sim) path() {
	st := healthy
	if s.arch == chronic {
		st = chronicState
	}
	s.lifeRec, s.lifeShown = 0, forever
	if s.life >= 0 {
		s.lifeRec = s.k.at(purposeLife).n(0, 1, 4)
	}
	s.pathFrom(0, st)
}

// pathFrom draws the hidden states of months from on, after st (the state
// of the month before).
func (s *sim) pathFrom(from int, st state) {
	s.states = s.states[:from]
	for m := from; m < s.cal.months; m++ {
		if m >= s.first {
			st = s.nextState(m, st)
		}
		s.states = append(s.states, st)
	}
}

// nextState returns the hidden state of month m after st and schedules
// the events a credit manager could see when it changes.
func (s *sim) nextState(m int, st state) state {
	k := s.stateKey(m)
	if s.arch == chronic {
		return chronicState
	}
	if s.life >= 0 {
		lk := lifeKinds[s.life]
		switch {
		case m >= s.lifeAt && m < s.lifeAt+s.lifeDur:
			if m == s.lifeAt {
				s.lifeStarts(m, lk)
			}
			return lk.state
		case m >= s.lifeAt+s.lifeDur && m < s.lifeAt+s.lifeDur+s.lifeRec:
			return recovering
		case m == s.lifeAt+s.lifeDur+s.lifeRec:
			return healthy
		}
	}
	switch st {
	case healthy:
		if k.chance(0, toStrained[s.arch]*monthStrain[s.cal.monthOfYr[m]]) {
			if k.chance(1, 0.1) {
				s.trace(m, s.dayIn(m, k, 2), evtAskOptions, 0)
			}
			return strained
		}
	case strained:
		switch u := k.u(0); {
		case u < strainedToHealthy:
			return healthy
		case u < strainedToHealthy+strainedToHardship:
			return hardship
		}
	case hardship, moving:
		if k.chance(0, hardshipToRecovering) {
			return recovering
		}
	case recovering:
		switch u := k.u(0); {
		case u < recoveringToHealthy:
			return healthy
		case u < recoveringToHealthy+recoveringToStrained:
			return strained
		}
	}
	return st
}

// lifeStarts schedules the visible traces of a life event starting in
// month m.
func (s *sim) lifeStarts(m int, lk lifeKind) {
	k := s.lifeKey()
	// Before this month's due date, so the month's debit sees a closed
	// account.
	d := s.cal.monthStart[m] + rf.Date(k.n(1, 0, s.billDay+s.terms-3))
	switch lk.name {
	case "moving house":
		// A planned move is usually reported ahead: suppliers ask for the
		// new address and the moving date weeks before.
		if k.chance(2, movedAhead) {
			if e := d - rf.Date(k.n(3, movedAheadMin, movedAheadMax)); e > s.cust.CreatedAt {
				d = e
			}
		}
		s.trace(m, s.clock(d, 1, 7, 21), evtMoved, ternary(k.chance(4, 0.6), flagCloses, 0))
	case "divorce":
		if k.chance(2, 0.7) {
			s.trace(m, s.clock(d, 1, 7, 21), evtMoved, ternary(k.chance(4, 0.4), flagCloses, 0))
		}
		if k.chance(5, 0.3) {
			e := d + rf.Date(k.n(6, 0, 10))
			s.trace(m, s.clock(e, 2, 7, 21), evtAskDelay, 0)
		}
	case "job loss":
		if k.chance(5, 0.35) {
			e := d + rf.Date(k.n(6, 5, 25))
			s.trace(m, s.clock(e, 2, 7, 21), evtAskDelay, 0)
		}
	case "illness":
		if k.chance(5, 0.25) {
			e := d + rf.Date(k.n(6, 5, 25))
			s.trace(m, s.clock(e, 2, 7, 21), evtIllness, 0)
		}
	}
}

func (s *sim) dayIn(m int, k key, slot uint64) rf.Time {
	n := int(s.cal.monthStart[m+1] - s.cal.monthStart[m])
	d := s.cal.monthStart[m] + rf.Date(k.n(slot, 0, n-1))
	return s.clock(d, slot+10, 7, 21)
}

// Customer events the world writes: kind and detail.
const (
	evtMoved = iota
	evtQuestion
	evtTariff
	evtServiceComplaint
	evtBankDetails
	evtAskOptions
	evtAskDelay
	evtIllness
	evtNewMandate
	evtToTransfer
	evtAskArrangement
	evtContested
	evtEnded
)

var eventTexts = [...][2]string{
	{"address_change", "moved"}, {"contact", "question about invoice"}, {"contract_change", "tariff change"},
	{"complaint", "service complaint"}, {"payment_method_change", "updated bank details"},
	{"contact", "asked about payment options"}, {"contact", "asked for payment delay"}, {"contact", "reported illness"},
	{"payment_method_change", "new direct debit mandate"}, {"payment_method_change", "direct_debit to bank_transfer"},
	{"contact", "asked for payment arrangement"}, {"complaint", "invoice contested"}, {"contract_change", "contract ended"},
}

// flagCloses on an address change closes the direct-debit account when
// the customer pays by direct debit then.
const flagCloses rf.Cents = 1

// row schedules a customer event row at t.
func (s *sim) row(t rf.Time, text int, flags rf.Cents) {
	s.schedule(event{t: t, kind: evRow, a: int32(text), amt: flags})
}

// trace schedules a row at t that traces the hidden state of month m (a
// change of state, a life event), so that a fork can tell it from the
// rest.
func (s *sim) trace(m int, t rf.Time, text int, flags rf.Cents) {
	if m == s.lifeAt && s.life >= 0 {
		s.lifeShown = min(s.lifeShown, t)
	}
	if f := s.fork; f != nil && t < f.from {
		// Before the fork's replicate started: the world wrote it then, or
		// (a life event drawn anew) the world's rows deny it.
		f.contradicted = f.contradicted || f.life
		return
	}
	s.schedule(event{t: t, kind: evRow, a: int32(text), amt: flags, inv: int32(m + 1)})
}

func (s *sim) handle(e event) {
	switch e.kind {
	case evMonth:
		s.month(int(e.a))
	case evIssue:
		s.issue(int(e.a))
	case evDue:
		s.dueDay(&s.invs[e.inv])
	case evPay:
		s.payment(e)
	case evMoney:
		s.moneyDay(&s.invs[e.inv], e.t)
	case evRow:
		s.customerRow(e)
	case evAction:
		s.act(e.t, &s.acts[e.a])
	case evAgree:
		s.agree(&s.invs[e.inv], e.t, e.a == 1)
	case evInstall:
		s.installment(&s.invs[e.inv], e.t, int(e.a))
	case evBroken:
		s.broken(&s.invs[e.inv], e.t)
	case evRecover:
		s.recover(&s.invs[e.inv], e.t)
	case evWriteOff:
		s.writeOff(&s.invs[e.inv], e.t)
	case evDispOpen:
		s.disputeOpens(&s.invs[e.inv], e.t, e.a == 1)
	case evDispRes:
		s.disputeResolved(&s.invs[e.inv], e.t, e.a == 1)
	case evReverse:
		s.reversed(&s.invs[e.inv], e.t)
	case evLeave:
		s.leaveCheck(int(e.a), e.t)
	case evDecide:
		s.decideAt(e)
	}
}

func (s *sim) customerRow(e event) {
	if s.left || e.t.Date() <= s.cust.CreatedAt {
		return
	}
	txt := eventTexts[e.a]
	if e.a == evtMoved && e.amt&flagCloses != 0 && s.method == "direct_debit" {
		s.closedAcct = true
	}
	s.event(e.t, txt[0], txt[1])
}

// month starts month m: its hidden state, noise, the invoice and the
// check whether the customer leaves.
func (s *sim) month(m int) {
	if s.left {
		return
	}
	s.st = s.states[m]
	now := s.cal.monthStart[m].At(0, 0, 0)
	k := s.futureKey(s.k.at(purposeNoise).at(uint64(m)), now)
	for i, n := range [...]struct {
		p    float64
		text int
	}{{noiseMove, evtMoved}, {noiseContact, evtQuestion}, {noiseContract, evtTariff}, {noiseComplaint, evtServiceComplaint}, {noiseMethod, evtBankDetails}} {
		if k.chance(uint64(2*i), n.p) {
			s.row(s.dayIn(m, k, uint64(2*i+1)), n.text, 0)
		}
	}
	s.schedule(event{t: s.issueDate(m).At(0, 0, 0), kind: evIssue, a: int32(m)})
	lk := s.futureKey(s.k.at(purposeLeave).at(uint64(m)), now)
	s.schedule(event{t: s.clock(s.issueDate(m)+rf.Date(lk.n(0, 1, 27)), 3, 7, 21), kind: evLeave, a: int32(m)})
}

// leaveCheck decides whether the customer ends the contract at t, with
// probability leaveP.
func (s *sim) leaveCheck(m int, t rf.Time) {
	if s.left {
		return
	}
	p := s.leaveP()
	s.handed, s.dunnedLoyal = false, false
	if s.futureKey(s.k.at(purposeLeave).at(uint64(m)), t).chance(1, p) {
		s.event(t, eventTexts[evtEnded][0], eventTexts[evtEnded][1])
		s.left, s.leftAt = true, t
	}
}

// leaveP is the chance that the customer leaves at the next check: the
// base chance, more after a hand-over to collection or (for a loyal
// customer) a standard dunning letter since the last check, more for a
// chronic non-payer.
func (s *sim) leaveP() float64 {
	p := leaveBase
	if s.handed {
		p += s.cal.eff.CollectionLeave
	}
	if s.dunnedLoyal {
		p += s.cal.eff.DunningLeave
	}
	if s.arch == chronic {
		p += leaveChronic
	}
	return p
}

// issue issues month m's invoice: its true hazard, the draws of its fate,
// the first decision.
func (s *sim) issue(m int) {
	if s.left {
		return
	}
	moy := s.cal.monthOfYr[m]
	sg := segments[s.seg]
	issued := s.issueDate(m)
	ik := s.futureKey(s.k.at(purposeInvoice).at(uint64(m)), issued.At(0, 0, 0))
	amount := s.cust.MonthlyAmount.Float()
	if sg.name == "energy" {
		amount *= 1 + 0.25*math.Cos(2*math.Pi*float64(moy-1)/12)
	}
	amount = max(1, amount*(1+0.05*ik.norm(sAmount)))
	v := invoice{id: "I" + s.num + "-" + strconv.Itoa(m+1), m: m, issued: issued, due: issued + rf.Date(s.terms),
		amount: rf.CentsOf(amount), st: s.st, k: s.courseKey(ik, m), ok: ik, claim: -1, payAt: forever, arrRow: -1, dispRow: -1}
	v.i, v.row = len(s.invs), len(s.b.Invoices)
	s.b.Invoices = append(s.b.Invoices, rf.Invoice{ID: v.id, CustomerID: s.id, IssuedAt: v.issued, DueAt: v.due, Amount: v.amount, Currency: "EUR"})
	now := issued.At(0, 0, 0)
	h := s.hazard(m, issued.At(12, 0, 0), v.amount)
	s.b.Truth = append(s.b.Truth, rf.Truth{CustomerID: s.id, Month: s.cal.monthStart[m], Hazard: h, State: stateNames[s.st]})
	s.drawFate(&v, h)
	v.out, v.outSince = v.amount, now
	if s.led.in(now) {
		s.led.Billed += v.amount
	}
	s.invs = append(s.invs, v)
	i := len(s.invs) - 1
	s.plan(i)
	s.schedule(event{t: decisionAt(issued, 5), kind: evDecide, dk: Issued, inv: int32(i)})
}

// drawFate draws what the invoice comes to under the standard policy
// (hazard is the probability of 30+ days unpaid) and the days of its
// course.
func (s *sim) drawFate(v *invoice, h float64) {
	k := v.k
	v.self = k.n(sSelf, selfMin[s.arch], selfMax[s.arch])
	v.nudge = k.n(sNudge, nudgeMin, nudgeMax)
	v.money = k.n(sMoney, moneyMin, moneyMax)
	v.fate = s.fateOf(v, h)
	if v.fate == fateBehind {
		v.mech = mechanism(k.pick(sMech, mechanismShare[v.st][:]))
	}
}

// fateOf draws the invoice's fate (or takes the one a fork forces, see
// fork.force).
func (s *sim) fateOf(v *invoice, h float64) fate {
	f, forced := s.fork.force(s, v, h)
	switch {
	case forced && f != fateNotBehind:
		return f
	case !forced && v.k.chance(sBehind, h):
		return fateBehind
	case v.k.chance(sOnTime, s.onTimeP(v)):
		return fateOnTime
	}
	return s.lateFate(v, sType)
}

// onTimeP is the probability that v, if it does not go 30+ days unpaid,
// is paid on time; nudgeP that a late payer of v pays once nudged.
func (s *sim) onTimeP(v *invoice) float64 { return onTime[s.arch] * stateOnTime[v.st] }
func (s *sim) nudgeP(v *invoice) float64  { return firstReminderPays[s.arch] * stateReminderPays[v.st] }

// lateFate: a late payer who pays once nudged, or one short of money.
func (s *sim) lateFate(v *invoice, slot uint64) fate {
	if v.k.chance(slot, s.nudgeP(v)) {
		return fateNudge
	}
	return fateCash
}

// plan schedules what is known at issue: the due date, an on-time
// transfer, disputes.
func (s *sim) plan(i int) {
	v := &s.invs[i]
	k := v.k
	s.schedule(event{t: v.due.At(4, v.ok.n(sDDMin, 0, 58), 0), kind: evDue, inv: int32(i)})
	s.schedule(event{t: decisionAt(v.due+1, 6), kind: evDecide, dk: Overdue, inv: int32(i), a: 1})
	quick := v.fate != fateBehind && k.chance(sQuick, ternary(s.arch == chronic, 0.02, quickDispute))
	if v.fate == fateOnTime && s.method != "direct_debit" && !quick {
		s.payOnTime(i)
	}
	if v.fate == fateBehind && v.mech == longDispute {
		open := v.due + rf.Date(k.n(sDispOpen, -2, 10))
		if s.method == "direct_debit" {
			open = v.due + rf.Date(k.n(sDispOpen, 2, 10)) // after the debit it reverses
		}
		s.row(s.clock(open-rf.Date(k.n(sDispAsk, 0, 5)), 20, 7, 21), evtContested, 0)
		s.schedule(event{t: s.clock(open, 21, 7, 21), kind: evDispOpen, inv: int32(i), a: 0})
		return
	}
	if quick {
		// Contested, resolved for the creditor, then paid.
		open := v.due - rf.Date(k.n(sQuickOpen, 0, 3))
		s.row(s.clock(open-rf.Date(k.n(sQuickAsk, 1, 5)), 22, 7, 21), evtContested, 0)
		s.schedule(event{t: s.clock(open, 23, 7, 21), kind: evDispOpen, inv: int32(i), a: 1})
	}
}

// payOnTime schedules an on-time payment by transfer, pay link or card,
// made before due (a day) on the customer's habitual lead, or at the last
// moment under cash pressure; never before from.
func (s *sim) payOnTime(i int) {
	v := &s.invs[i]
	early := 0
	if s.method != "card" {
		early = s.daysEarly(v)
	}
	t := s.clock(v.due-rf.Date(early), 30, 7, 21)
	t = max(t, s.now()+hour)
	s.schedulePay(i, t, v.amount, s.method)
}

// daysEarly is how many days before the due date a customer who pays by
// transfer or pay link, and pays on time, sends the money: a healthy
// customer on their habitual lead, a customer under cash pressure at the
// last moment (0..1 days early), one who is recovering in between.
func (s *sim) daysEarly(v *invoice) int {
	switch v.st {
	case healthy, chronicState:
		return max(0, s.lead+v.k.n(sEarly, -1, 1))
	case recovering:
		return v.k.n(sEarly, 0, max(1, s.lead/2))
	}
	return v.k.n(sEarly, 0, 1)
}

// now is the time of the event being handled (the latest popped).
func (s *sim) now() rf.Time { return s.lastT }

// schedulePay schedules the payment of the rest of the invoice at t,
// replacing any later one.
func (s *sim) schedulePay(i int, t rf.Time, amount rf.Cents, method string) {
	v := &s.invs[i]
	if v.closed() || t >= v.payAt {
		return
	}
	v.ver++
	v.payAt = t
	s.schedule(event{t: t, kind: evPay, inv: int32(i), ver: v.ver, amt: amount, s: method})
}

// payment books a payment event (a stale one, replaced by an earlier
// payment or cancelled by a hand-over, is dropped).
func (s *sim) payment(e event) {
	v := &s.invs[e.inv]
	if v.closed() || (e.ver != 0 && e.ver != v.ver) {
		return
	}
	if e.ver == 0 && !v.dunnable() {
		return // a part payment planned before the claim went to a plan, the agency or a dispute
	}
	amt := min(e.amt, v.amount-v.paid)
	if e.ver != 0 {
		amt = v.amount - v.paid // the rest
		v.payAt = forever
	}
	s.pay(v, e.t, amt, e.s)
}

// pay books amount received for v at t.
func (s *sim) pay(v *invoice, t rf.Time, amount rf.Cents, method string) {
	if amount <= 0 || v.closed() {
		return
	}
	s.b.Payments = append(s.b.Payments, rf.Payment{InvoiceRef: s.ref("P", &s.seqPay, v), PaidAt: t, Amount: amount, Method: method})
	if s.led.in(t) {
		s.led.Collected += amount
	}
	s.led.outstanding(v.out, v.outSince, t)
	v.paid += amount
	v.out, v.outSince = v.amount-v.paid, t
	if v.paid >= v.amount {
		v.paidAt = t
		v.ver++
		v.payAt = forever
	}
	if v.claim >= 0 && method == "collection_agency" {
		c := &s.led.Claims[v.claim]
		c.Recovered += amount
		c.RecoveredAt = t
	}
}

// dueDay is the due date: the direct debit (for a payer by direct debit)
// and the start of a late course.
func (s *sim) dueDay(v *invoice) {
	i := v.i
	if v.closed() || v.dispOpen {
		return // a contested invoice is paid once the dispute is resolved
	}
	k := v.k
	if s.method != "direct_debit" {
		if v.fate != fateOnTime {
			s.lateCourse(i)
		}
		if s.planOpen(v) {
			s.tryPlan(v, s.now())
		}
		return
	}
	ddAt := s.now()
	if v.fate == fateOnTime && s.closedAcct {
		v.fate = s.lateFate(v, sType2)
	}
	switch {
	case v.fate == fateOnTime:
		s.debit(v, ddAt, "succeeded", "")
		s.ddFails = 0
		if k.chance(sRefund, refundShare[v.st]) {
			// The debtor has the collected debit refunded (SEPA Core: no
			// questions asked within 8 weeks) to free cash for other
			// bills, then pays by transfer once reminded.
			s.schedule(event{t: s.clock(v.due+rf.Date(k.n(sRefundDay, 2, 6)), 31, 7, 21), kind: evReverse, inv: int32(i)})
			return
		}
		s.schedulePay(i, v.due.At(k.n(sRefundDay, 6, 9), 0, 0), v.amount, "direct_debit")
	case v.fate == fateBehind && v.mech == longDispute:
		s.debit(v, ddAt, "succeeded", "") // collected, then refunded on the customer's request
	default:
		v.ddReason = s.debitReason(k, sReason, v.st)
		s.debit(v, ddAt, "failed", v.ddReason)
		s.afterFailedDebit(v)
		v.method = "bank_transfer"
		s.schedule(event{t: ddAt + 30*60, kind: evDecide, dk: DebitFailed, inv: int32(i), s: v.ddReason})
		if v.fate != fateBehind {
			s.lateCourse(i)
		}
	}
	if s.planOpen(v) {
		s.tryPlan(v, s.now())
	}
}

// reversed: a collected debit refunded on the debtor's request; the
// invoice is then paid late, once reminded.
func (s *sim) reversed(v *invoice, t rf.Time) {
	s.debit(v, t, "reversed", "MD06")
	v.fate = ternary(v.k.chance(sRefundType, 0.5), fateNudge, fateCash)
	v.method = "bank_transfer"
	s.lateCourse(v.i)
}

// lateCourse starts the course of a late payer: one who pays once nudged
// (or on their own day), or one short of money (when the money comes).
func (s *sim) lateCourse(i int) {
	v := &s.invs[i]
	if v.method == "" {
		v.method = s.method
	}
	if v.method == "direct_debit" || v.method == "card" {
		v.method = ternary(v.method == "card", "pay_link", "bank_transfer")
	}
	k := v.k
	switch v.fate {
	case fateNudge:
		s.schedulePay(i, s.clock(v.due+rf.Date(v.self), 32, 7, 21), v.amount, v.method)
	case fateCash:
		if v.method == "bank_transfer" && k.chance(sPartial, partialShare[v.st]) {
			part := rf.Cents(float64(v.amount) * (0.4 + 0.3*v.ok.u(sPartAmt)))
			first := max(1, v.money-k.n(sPartDay, 3, 10))
			s.schedule(event{t: s.clock(v.due+rf.Date(first), 33, 7, 21), kind: evPay, inv: int32(i), amt: part, s: v.method})
		}
		s.schedule(event{t: v.due.At(0, 0, 0) + rf.Time(v.money)*day, kind: evMoney, inv: int32(i)})
	}
}

// moneyDay: a payer short of money has it; a creditor who reminded is
// paid now, one who did not later.
func (s *sim) moneyDay(v *invoice, t rf.Time) {
	if v.closed() || v.handedAt != 0 || v.arranged {
		return
	}
	d := t.Date()
	if !v.reminded {
		e := s.cal.eff.UnremindedDelay
		d += rf.Date(math.Round(e * (0.2 + 0.8*v.k.u(sExtra))))
	}
	s.schedulePay(v.i, s.clock(d, 34, 7, 21), v.amount, s.lateMethod(v))
}

// lateMethod: online customers pay a reminded invoice through the pay
// link in a reminder 60% of the time.
func (s *sim) lateMethod(v *invoice) string {
	if v.reminded && s.online && v.k.chance(sPayLink, 0.6) {
		return "pay_link"
	}
	return v.method
}

// hazard returns the true probability that the invoice issued at t goes
// 30+ days unpaid past due under the standard policy, given everything
// the simulator knows.
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
	if s.inArrears(t) {
		z += arrearsLogit
	}
	med := sg.median
	if s.arch == business {
		med *= 6
	}
	z += amountLogit * math.Max(-1, math.Min(1, math.Log(amount.Float()/med)))
	return 1 / (1 + math.Exp(-z))
}

// inArrears: an earlier invoice is 30+ days past due and still unpaid at t.
func (s *sim) inArrears(t rf.Time) bool {
	for i := range s.invs {
		v := &s.invs[i]
		if !v.closed() && v.due.At(0, 0, 0)+30*day <= t {
			return true
		}
	}
	return false
}

// debitReason returns the SEPA R-transaction code of a failed debit that
// fits the customer's situation.
func (s *sim) debitReason(k key, slot uint64, st state) string {
	if s.closedAcct {
		return "AC04"
	}
	switch st {
	case hardship:
		return []string{"AM04", "MS03"}[k.pick(slot, []float64{0.85, 0.15})]
	case strained, recovering:
		return []string{"AM04", "MS03", "AC06"}[k.pick(slot, []float64{0.7, 0.2, 0.1})]
	case chronicState:
		return []string{"MS02", "AM04", "MD01"}[k.pick(slot, []float64{0.4, 0.4, 0.2})]
	case moving:
		return []string{"AM04", "MS03"}[k.pick(slot, []float64{0.5, 0.5})]
	}
	return []string{"MS03", "AC06", "AM04", "SL01"}[k.pick(slot, []float64{0.4, 0.2, 0.3, 0.1})]
}

// afterFailedDebit records the customer's reaction to a failed debit.
func (s *sim) afterFailedDebit(v *invoice) {
	k := v.k
	if s.closedAcct {
		s.closedAcct = false
		s.row(s.clock(v.due+rf.Date(k.n(sMandate, 3, 15)), 40, 7, 21), evtNewMandate, 0)
		return
	}
	s.ddFails++
	if s.ddFails >= 2 && k.chance(sSwitch, 0.3) {
		s.row(s.clock(v.due+rf.Date(k.n(sSwitch+100, 5, 20)), 41, 7, 21), evtToTransfer, 0)
		s.method = "bank_transfer"
		s.ddFails = 0
	}
}

// behindCourse: a firm step (14-day letter, hand-over, stop of service)
// at t makes a pressed payer pay, and one who would ask for a plan ask.
func (s *sim) pressed(v *invoice, t rf.Time) {
	if v.pressed || v.fate != fateBehind {
		return
	}
	v.pressed = true
	k := v.k
	switch v.mech {
	case latePay:
		if v.handedAt == 0 {
			s.schedulePay(v.i, s.clock(t.Date()+rf.Date(k.n(sPress, pressMin, pressMax)), 50, 7, 21), v.amount, s.behindMethod(v))
		}
	case arrangement:
		if v.handedAt == 0 {
			agreed := s.clock(t.Date()+rf.Date(k.n(sArrDelay, 2, 10)), 51, 7, 21)
			s.row(s.clock(agreed.Date()-rf.Date(k.n(sArrAsk, 0, 2)), 52, 7, 21), evtAskArrangement, 0)
			s.schedule(event{t: agreed, kind: evAgree, inv: int32(v.i)})
		}
	}
}

// behindMethod: how a customer 30+ days behind pays the creditor.
func (s *sim) behindMethod(v *invoice) string {
	m := ternary(s.method == "direct_debit" || s.method == "card", "bank_transfer", s.method)
	if s.online && v.k.chance(sPayLink, 0.5) {
		m = "pay_link"
	}
	return m
}

// nudged: a reminder, a call or a follow-up reached the customer at t.
func (s *sim) nudged(v *invoice, t rf.Time, call bool) {
	v.reminded = true
	if v.fate != fateNudge {
		return
	}
	d := float64(v.nudge)
	if call {
		d = math.Max(1, d*(1-s.cal.eff.CallFaster/2))
	}
	s.schedulePay(v.i, s.clock(t.Date()+rf.Date(math.Round(d)), 53, 7, 21), v.amount, s.lateMethod(v))
}

// agree starts a payment plan for v at t; early marks one offered before
// the claim was 30 days overdue.
func (s *sim) agree(v *invoice, t rf.Time, early bool) {
	if v.closed() || v.arranged || v.handedAt != 0 {
		return
	}
	k := v.k
	v.arranged, v.arrAt = true, t
	v.ver++ // no other payment comes
	v.payAt = forever
	v.inst = k.n(sInst, 2, 6)
	kept := arrangementKept[v.st]
	if early {
		kept = math.Min(0.95, kept+s.cal.eff.PlanKeptEarly)
	}
	v.breakAt = v.inst
	if !k.chance(sKept, kept) {
		v.breakAt = k.n(sPaidN, 0, v.inst-1)
	}
	v.arrRow = len(s.b.Arrangements)
	s.b.Arrangements = append(s.b.Arrangements, rf.Arrangement{ID: s.nextID("A", &s.seqArr), CustomerID: s.id, AgreedAt: t,
		Installments: int32(v.inst), Amount: v.amount - v.paid, Status: "active", EndedAt: rf.NoTime})
	s.nextInstallment(v)
}

// installmentAt is when installment j (0-based) of v's plan falls due.
func (s *sim) installmentAt(v *invoice, j int) rf.Time {
	return v.arrAt + rf.Time(7+30*j)*day + rf.Time(v.k.n(family(fInstDay, j), 0, 3*86400-1))
}

func (s *sim) nextInstallment(v *invoice) {
	i := int32(v.i)
	j := v.paidInst
	at := s.installmentAt(v, j)
	s.schedule(event{t: decisionAt(at.Date()-3, 6), kind: evDecide, dk: InstallmentDue, inv: i, a: int32(j + 1)})
	s.schedule(event{t: at, kind: evInstall, inv: i, a: int32(j)})
}

// installment j of v's plan falls due at t: paid, or missed (the plan
// breaks ten days later).
func (s *sim) installment(v *invoice, t rf.Time, j int) {
	if v.closed() || !v.arranged || j != v.paidInst {
		return
	}
	if j >= v.breakAt {
		s.schedule(event{t: t + 10*day, kind: evBroken, inv: int32(v.i)})
		return
	}
	per := (v.amount - s.planPaidBefore(v)) / rf.Cents(v.inst)
	amt := per
	if j == v.inst-1 {
		amt = v.amount - v.paid
	}
	s.pay(v, t, amt, "bank_transfer")
	v.paidInst++
	if v.paidInst == v.inst || v.closed() {
		a := &s.b.Arrangements[v.arrRow]
		a.Status, a.EndedAt = "completed", t
		return
	}
	s.nextInstallment(v)
}

// planPaidBefore is what was paid on v before its plan started.
func (s *sim) planPaidBefore(v *invoice) rf.Cents {
	return v.amount - s.b.Arrangements[v.arrRow].Amount
}

// broken: the plan of v is broken at t; the claim goes to collection a
// few days later.
func (s *sim) broken(v *invoice, t rf.Time) {
	a := &s.b.Arrangements[v.arrRow]
	a.Status, a.EndedAt = "broken", t
	v.arranged = false
	s.handOver(v, s.clock(t.Date()+rf.Date(v.k.n(sRecDelay+100, 5, 10)), 60, 6, 10))
}

// handOver hands v over to a collection agency at t (now or, from a
// broken plan, later: then it is an event of its own).
func (s *sim) handOver(v *invoice, t rf.Time) {
	if t > s.now() {
		s.acts = append(s.acts, pending{Action: Action{Kind: HandOver, At: t}, inv: v.i})
		s.schedule(event{t: t, kind: evAction, a: int32(len(s.acts) - 1)})
		return
	}
	if v.closed() || v.handedAt != 0 || v.arranged || v.dispOpen {
		return
	}
	k := v.k
	v.handedAt = t
	s.did(HandOver, t)
	v.ver++ // the agency collects now
	v.payAt = forever
	s.reminder(v, t, "collection", Letter)
	s.handed = true
	nl := s.cust.Country == "NL"
	chargeable := s.cust.Type == "business" && nl || nl && v.finalAt != 0 && t-v.finalAt >= 15*day
	s.led.Claims = append(s.led.Claims, Claim{Principal: v.amount - v.paid, Chargeable: chargeable, RecoveredAt: rf.NoTime})
	v.claim = len(s.led.Claims) - 1
	i := int32(v.i)
	recovers := false
	delay := k.n(sRecDelay, 20, 120)
	switch {
	case v.fate != fateBehind || v.mech == latePay:
		// A payer who would have paid pays the agency once it writes.
		recovers, delay = true, k.n(sAgencyPay, pressMin, pressMax)
	case v.mech == arrangement || v.mech == collection:
		age := float64(t-v.due.At(0, 0, 0)) / float64(day)
		p := collected[v.st] * (1 - claimLost(age)) / (1 - claimLost(standardHandOver))
		recovers = k.chance(sRecover, p)
	}
	if recovers {
		s.schedule(event{t: s.clock(t.Date()+rf.Date(delay), 61, 7, 21), kind: evRecover, inv: i})
	} else {
		s.schedule(event{t: t + writeOffDays*day, kind: evWriteOff, inv: i})
	}
}

func (s *sim) recover(v *invoice, t rf.Time) {
	s.pay(v, t, v.amount-v.paid, "collection_agency")
}

// writeOff: the agency gave up (or the customer won a dispute).
func (s *sim) writeOff(v *invoice, t rf.Time) {
	if v.closed() {
		return
	}
	if s.led.in(t) {
		s.led.WrittenOff += v.amount - v.paid
	}
	s.led.outstanding(v.out, v.outSince, t)
	v.out, v.outSince = 0, t
	v.written = true
}

func (s *sim) disputeOpens(v *invoice, t rf.Time, quick bool) {
	if v.closed() || v.handedAt != 0 {
		return
	}
	k := v.k
	if s.method == "direct_debit" && !quick {
		s.debit(v, t, "reversed", "MD06")
	}
	v.dispOpen = true
	v.ver++ // nothing is paid while it is contested
	v.payAt = forever
	v.dispRow = len(s.b.Disputes)
	s.b.Disputes = append(s.b.Disputes, rf.Dispute{InvoiceRef: s.ref("S", &s.seqDisp, v), OpenedAt: t, ResolvedAt: rf.NoTime})
	res := t + rf.Time(k.n(sQuickRes, 5, 15))*day
	win := true
	if !quick {
		res = s.clock(v.due+rf.Date(k.n(sDispRes, 35, 80)), 70, 7, 21)
		win = k.chance(sDispWin, 0.6)
	}
	s.schedule(event{t: max(res, t+hour), kind: evDispRes, inv: int32(v.i), a: int32(ternary(win, 1, 0))})
}

func (s *sim) disputeResolved(v *invoice, t rf.Time, creditor bool) {
	d := &s.b.Disputes[v.dispRow]
	d.ResolvedAt, d.Outcome = t, ternary(creditor, "creditor", "customer")
	v.dispOpen = false
	if v.closed() {
		return
	}
	if !creditor {
		s.writeOff(v, t)
		return
	}
	if v.fate != fateBehind {
		// A quick dispute: paid 1..3 days after, unless paid earlier.
		m := ternary(s.method == "direct_debit" || s.method == "card", "bank_transfer", s.method)
		s.schedulePay(v.i, s.clock(t.Date()+rf.Date(v.k.n(sQuickPay, 1, 3)), 71, 7, 21), v.amount, m)
		return
	}
	s.schedulePay(v.i, s.clock(t.Date()+rf.Date(v.k.n(sDispPay, 3, 10)), 72, 7, 21), v.amount, s.behindMethod(v))
}

// nextID returns the next id of a kind for this customer, for example
// P00000042-3 for its third payment.
func (s *sim) nextID(prefix string, seq *int) string {
	*seq++
	return prefix + s.num + "-" + strconv.Itoa(*seq)
}

// ref returns the identity of the next row of a kind about v.
func (s *sim) ref(prefix string, seq *int, v *invoice) rf.InvoiceRef {
	return rf.InvoiceRef{ID: s.nextID(prefix, seq), InvoiceID: v.id, CustomerID: s.id}
}

func (s *sim) reminder(v *invoice, t rf.Time, stage, channel string) {
	s.b.Reminders = append(s.b.Reminders, rf.Reminder{InvoiceRef: s.ref("R", &s.seqRem, v), SentAt: t, Stage: stage, Channel: channel})
}

func (s *sim) debit(v *invoice, t rf.Time, status, reason string) {
	s.b.DirectDebits = append(s.b.DirectDebits, rf.DirectDebit{InvoiceRef: s.ref("D", &s.seqDD, v), AttemptedAt: t, Status: status, Reason: reason})
}

func (s *sim) event(t rf.Time, kind, detail string) {
	s.b.CustomerEvents = append(s.b.CustomerEvents, rf.CustomerEvent{
		ID: s.nextID("E", &s.seqEv), CustomerID: s.id, OccurredAt: t, Kind: kind, Detail: detail,
	})
}

// finish closes the customer's ledger at the end of the world.
func (s *sim) finish() Ledger {
	for i := range s.invs {
		v := &s.invs[i]
		if !v.closed() {
			s.led.outstanding(v.out, v.outSince, s.cal.end)
		}
	}
	exists := s.first < s.cal.months && s.cust.CreatedAt.At(0, 0, 0) < s.cal.policyFrom
	s.led.ActiveAtStart = exists && (!s.left || s.leftAt >= s.cal.policyFrom)
	s.led.ActiveAtEnd = s.led.ActiveAtStart && !s.left
	l := s.led.Ledger
	s.led.Ledger = Ledger{}
	return l
}
