package synth

import (
	"slices"

	rf "github.com/duewise/duewise/datasets/rowfile"
)

// decideAt asks the policy (Standard before Config.PolicyFrom) at a
// decision point and schedules its actions.
func (s *sim) decideAt(e event) {
	v := &s.invs[e.inv]
	days := 0
	switch e.dk {
	case Overdue:
		days = int(e.a)
		if !v.dunnable() {
			return // paid, under a plan, with the agency or contested: no more questions
		}
		ds := OverdueDays()
		if j := slices.Index(ds, days); j >= 0 && j+1 < len(ds) {
			s.schedule(event{t: decisionAt(v.due+rf.Date(ds[j+1]), 6), kind: evDecide, dk: Overdue, inv: e.inv, a: int32(ds[j+1])})
		}
	case InstallmentDue:
		if v.closed() || !v.arranged || v.paidInst != int(e.a)-1 {
			return
		}
		days = int(e.a)
	}
	d := Decision{Kind: e.dk, At: e.t, Invoice: s.b.Invoices[v.row], Reason: e.s, History: s.history(), w: s,
		U: s.futureKey(s.k.at(purposeDecision).at(uint64(v.m)<<8|uint64(e.dk)), e.t).u(uint64(days))}
	switch e.dk {
	case Overdue:
		d.DaysOverdue = days
	case InstallmentDue:
		d.Installment = days
	}
	dec := s.std
	if e.t >= s.cal.policyFrom {
		dec = s.pol
	}
	s.buf = dec.Decide(&d, s.buf[:0])
	if s.onDecide != nil {
		s.onDecide(&d, s.buf)
	}
	for _, a := range s.buf {
		s.take(&d, a, v.i)
	}
}

// history is the customer's rows so far: every row the world wrote is at
// or before now (rows are written when they happen).
func (s *sim) history() History {
	b, o := s.b, s.off
	return History{Customer: s.cust, Invoices: b.Invoices[o[1]:], Payments: b.Payments[o[2]:], DirectDebits: b.DirectDebits[o[3]:],
		Reminders: b.Reminders[o[4]:], Arrangements: b.Arrangements[o[5]:], Disputes: b.Disputes[o[6]:], Events: b.CustomerEvents[o[7]:]}
}

// take schedules action a of decision d (about invoice inv).
func (s *sim) take(d *Decision, a Action, inv int) {
	if a.Kind == 0 || a.Kind >= NumActionKinds {
		return
	}
	if a.Invoice != "" && a.Invoice != s.invs[inv].id {
		j := slices.IndexFunc(s.invs, func(v invoice) bool { return v.id == a.Invoice })
		if j < 0 {
			return // not an invoice of this customer (yet)
		}
		inv = j
	}
	t := max(a.At, d.At+1)
	s.acts = append(s.acts, pending{Action: a, inv: inv, dk: d.Kind})
	s.schedule(event{t: t, kind: evAction, a: int32(len(s.acts) - 1)})
}

// channel is the action's channel: its own, or the usual one.
func (s *sim) channel(a *Action) string {
	if a.Channel != "" {
		return a.Channel
	}
	switch a.Kind {
	case PersonalReminder, ProactiveCall:
		return Phone
	case FinalNotice, ServiceStop:
		return Letter
	case HandOver, RetryDebit:
		return ""
	}
	return ternary(s.online, Email, Letter)
}

// Details of the customer events that record the creditor's contacts
// other than reminders.
const (
	detailPlanOffered = "creditor: payment plan offered"
	detailCall        = "creditor: proactive call"
	detailStop        = "creditor: stop of service announced"
	detailMandate     = "creditor: new mandate requested"
	detailInstallment = "creditor: installment reminder"
	detailContact     = "creditor: "
)

// contact records a contact by the creditor at t through channel: a
// customer event (kind contact) with detail, or nothing when the contact
// is a reminder row. Reminders of the same stage about several invoices
// sent at the same moment are one letter (one contact, a row per
// invoice).
func (s *sim) contact(t rf.Time, channel, detail string) {
	same := s.lastContact == contactKey{t, channel, detail}
	s.lastContact = contactKey{t, channel, detail}
	if same && detail == "" {
		return
	}
	s.led.contact(t, channel)
	if detail != "" {
		s.event(t, "contact", detail)
	}
}

// contactKey identifies a contact: when, through which channel, about
// what ("" for a reminder row).
type contactKey struct {
	t               rf.Time
	channel, detail string
}

// oldestOverdue returns the customer's oldest invoice past due at t that
// the creditor still duns, or nil.
func (s *sim) oldestOverdue(t rf.Time) *invoice {
	for i := range s.invs {
		if v := &s.invs[i]; v.dunnable() && v.due.At(0, 0, 0) < t {
			return v
		}
	}
	return nil
}

// act carries out a scheduled action at t, if it still applies, and lets
// the customer respond.
func (s *sim) act(t rf.Time, p *pending) {
	v := &s.invs[p.inv]
	ch := s.channel(&p.Action)
	if p.dk == InstallmentDue && !p.Kind.CustomerLevel() && p.Kind != HandOver && p.Kind != RetryDebit {
		s.installmentReminder(v, t, ch)
		return
	}
	switch p.Kind {
	case PreDueReminder:
		s.preDue(v, t, ch)
	case Reminder, SecondReminder, PersonalReminder, DebitFollowUp:
		if !v.dunnable() {
			return
		}
		s.did(p.Kind, t)
		s.reminder(v, t, ternary(p.Kind == SecondReminder, "second_reminder", "reminder"), ch)
		s.contact(t, ch, "")
		if p.Kind.Dunning() {
			s.dunning(v, t, ch)
		}
		if p.Kind == DebitFollowUp {
			s.followUp(v, t)
		}
		s.nudged(v, t, ch == Phone)
	case FinalNotice:
		if !v.dunnable() {
			return
		}
		s.did(p.Kind, t)
		s.reminder(v, t, "final_notice", ch)
		s.contact(t, ch, "")
		v.finalAt = t
		s.dunning(v, t, ch)
		s.nudged(v, t, false)
		s.pressed(v, t)
	case HandOver:
		s.handOver(v, t)
	case RetryDebit:
		s.retry(v, t)
	case OfferPlan:
		s.did(p.Kind, t)
		s.contact(t, ch, detailPlanOffered)
		s.offerPlan(t)
	case ProactiveCall:
		s.did(p.Kind, t)
		s.contact(t, ch, detailCall)
		if st := s.st; st == strained || st == hardship || st == moving || st == recovering {
			// A friendly call finds the trouble and agrees a way: a plan.
			s.offerPlan(t)
		}
	case ServiceStop:
		s.did(p.Kind, t)
		s.contact(t, ch, detailStop)
		if o := s.oldestOverdue(t); o != nil {
			s.dunning(o, t, ch)
		}
		s.serviceStop(t)
	case NewMandate:
		s.did(p.Kind, t)
		s.contact(t, ch, detailMandate)
	case Contact:
		s.did(p.Kind, t)
		s.contact(t, ch, detailContact+ternary(p.Detail == "", "contact", p.Detail))
	}
}

// did counts an action carried out at t.
func (s *sim) did(k ActionKind, t rf.Time) {
	if s.led.in(t) {
		s.led.Actions[k]++
	}
}

// preDue: a reminder before the due date; a would-be-late payer may now
// pay on time.
func (s *sim) preDue(v *invoice, t rf.Time, ch string) {
	if v.closed() || t >= v.due.At(0, 0, 0) {
		return
	}
	s.did(PreDueReminder, t)
	s.reminder(v, t, "reminder", ch)
	s.contact(t, ch, "")
	e := s.cal.eff
	p := ternary(v.fate == fateNudge, e.PreDueNudge, ternary(v.fate == fateCash, e.PreDueCash, 0.0))
	if p > 0 && v.k.chance(sPre, p) {
		v.fate = fateOnTime
		if s.method != "direct_debit" {
			s.payOnTime(v.i)
		}
	}
}

// followUp: a failed debit followed up at once with a pay link; many pay
// within days.
func (s *sim) followUp(v *invoice, t rf.Time) {
	e := s.cal.eff
	var p float64
	switch {
	case v.fate == fateNudge:
		p = e.FollowUpNudge
	case v.fate == fateCash:
		p = e.FollowUpCash
	case v.fate == fateBehind && v.mech == latePay:
		p = e.FollowUpBehind
	}
	if p > 0 && v.k.chance(sFollow, p) {
		s.schedulePay(v.i, s.clock(t.Date()+rf.Date(v.k.n(sFollowDay, 1, 3)), 80, 7, 21), v.amount, "pay_link")
	}
}

// dunning: a standard dunning letter or a firm step reached the customer
// at t (through ch). It counts against a good payer, and a loyal customer
// who slipped once may leave over it.
func (s *sim) dunning(v *invoice, t rf.Time, ch string) {
	if ch != Phone && (v.fate == fateOnTime || v.fate == fateNudge && v.self <= 14) && s.led.in(t) {
		s.led.DunnedGoodPayers++
	}
	if !v.loyalHit && s.loyal(v, t) {
		v.loyalHit, s.dunnedLoyal = true, true
	}
}

// loyal: a customer of two years or more with no other invoice late in
// the last year.
func (s *sim) loyal(v *invoice, t rf.Time) bool {
	today := t.Date()
	if today-s.cust.CreatedAt < loyalTenureDays {
		return false
	}
	for i := range s.invs {
		w := &s.invs[i]
		if w.i == v.i || w.due >= today || w.due < today-365 {
			continue
		}
		if w.paidAt == 0 || w.paidAt.Date() > w.due {
			return false
		}
	}
	return true
}

// retry attempts a direct debit of v again at t.
func (s *sim) retry(v *invoice, t rf.Time) {
	if !v.dunnable() || s.method != "direct_debit" {
		return
	}
	s.did(RetryDebit, t)
	v.retries++
	j := v.retries
	e := s.cal.eff
	dom := t.Std().Day()
	payday := (dom-s.payday+31)%31 <= 3
	chance := ternary(payday, e.RetryPayday, e.RetryRandom)
	var p float64
	switch {
	case v.ddReason == "MS02" || v.ddReason == "MD01" || v.ddReason == "AC04" && t < v.due.At(0, 0, 0)+15*day:
		// refused, no mandate, or the new one not there yet
	case v.fate == fateNudge:
		p = e.RetryPayday // the money is there; the debit failed for another reason
	case v.fate == fateCash:
		p = chance
	case v.fate == fateBehind && v.mech == latePay && t >= v.due.At(0, 0, 0)+30*day:
		p = chance * e.RetryBehind
	}
	if p > 0 && v.k.chance(family(fRetry, j), p) {
		s.debit(v, t, "succeeded", "")
		s.schedulePay(v.i, t+2*hour, v.amount, "direct_debit")
		return
	}
	reason := v.ddReason
	if reason != "AC04" && reason != "MS02" && reason != "MD01" {
		reason = s.debitReason(v.k, family(fRetryRe, j), v.st)
	}
	s.debit(v, t, "failed", reason)
}

// offerPlan: a payment plan offered at t. Every open claim that would go
// wrong (the customer would ask late, or end in collection) may be
// settled by a plan instead; invoices due in the next 45 days are asked
// on their due date.
func (s *sim) offerPlan(t rf.Time) {
	s.planOffer = t
	for i := range s.invs {
		if v := &s.invs[i]; v.dunnable() {
			s.tryPlan(v, t)
		}
	}
}

// planOpen reports an offer made within 45 days before the due date of v,
// after v was issued (one made earlier was tried when it was made).
func (s *sim) planOpen(v *invoice) bool {
	return s.planOffer != 0 && s.planOffer > v.issued.At(0, 0, 0) && v.due.At(0, 0, 0)-s.planOffer <= 45*day
}

// tryPlan: does the customer accept a plan for v offered at t?
func (s *sim) tryPlan(v *invoice, t rf.Time) {
	// A customer who asks for a plan once pressed (the arrangement
	// mechanism) and has been pressed is asking already.
	if v.fate != fateBehind || !(v.mech == arrangement || v.mech == collection || v.mech == never) || v.mech == arrangement && v.pressed {
		return
	}
	e := s.cal.eff
	due := v.due.At(0, 0, 0)
	early := t < due+30*day
	p := e.PlanAccept * ternary(early, 1, e.PlanAcceptLate)
	switch v.st {
	case healthy:
		p *= 0.3
	case chronicState:
		p *= 0.25
	}
	if v.k.chance(sPlan, p) {
		at := s.clock(max(t, due).Date()+rf.Date(v.k.n(sPlanDay, 1, 3)), 81, 7, 21)
		s.schedule(event{t: at, kind: evAgree, inv: int32(v.i), a: int32(ternary(early, 1, 0))})
	}
}

// serviceStop: the stop of service announced at t; some who would end in
// collection pay, and every open claim is pressed.
func (s *sim) serviceStop(t rf.Time) {
	for i := range s.invs {
		v := &s.invs[i]
		if !v.dunnable() || v.fate != fateBehind {
			continue
		}
		if (v.mech == collection || v.mech == never) && v.k.chance(sStop, s.cal.eff.ServiceStop) {
			s.schedulePay(v.i, s.clock(t.Date()+rf.Date(v.k.n(sStopDay, pressMin, pressMax)), 82, 7, 21), v.amount, s.behindMethod(v))
			continue
		}
		s.pressed(v, t)
	}
}

// installmentReminder: a reminder before installment v.paidInst+1; it may
// save an installment the customer would have missed.
func (s *sim) installmentReminder(v *invoice, t rf.Time, ch string) {
	if v.closed() || !v.arranged {
		return
	}
	s.did(Reminder, t)
	s.contact(t, ch, detailInstallment)
	if v.paidInst == v.breakAt && v.k.chance(family(fInstRem, v.paidInst), s.cal.eff.InstallmentReminder) {
		v.breakAt++
	}
}
