package synth

import (
	rf "github.com/duewise/duewise/datasets/rowfile"
)

// Policy decides what the creditor does at the world's decision points.
// It is what `duewise simulate` compares: the built-in None and Standard
// here, duewise's own action policy (with its models) in package
// simulation. A Policy must be safe for concurrent use: the world
// simulates customers in parallel.
type Policy interface {
	// Name names the policy in reports and folders ("standard").
	Name() string
	// Start returns the Decider of one customer. The world calls it once
	// per customer, on the goroutine that simulates that customer, and
	// uses the Decider only there; a Decider may keep state about its
	// customer (what it has done, the signals computed so far).
	Start(c *rf.Customer) Decider
}

// Decider decides for one customer.
type Decider interface {
	// Decide returns the actions to take at decision point d, appended to
	// out. d holds only what is known at d.At (see Decision); a decider
	// that looks further (at the customer's hidden state, at later rows)
	// fails CheckPointInTime. The same decisions in the same order must
	// give the same actions.
	Decide(d *Decision, out []Action) []Action
}

// DecisionKind says what brought a decision point about.
type DecisionKind uint8

// The decision points of the world.
const (
	// Issued: an invoice was issued (at 05:00 on its issue date).
	Issued DecisionKind = iota + 1
	// DebitFailed: a direct debit of the invoice failed; Reason holds its
	// SEPA code (half an hour after the attempt).
	DebitFailed
	// Overdue: the invoice is DaysOverdue days past its due date and not
	// paid in full, not under a payment plan, not handed over and not
	// disputed (at 06:00, on each of OverdueDays).
	Overdue
	// InstallmentDue: installment Installment (1-based) of the payment
	// plan that covers the invoice falls due in three days (at 06:00).
	InstallmentDue
)

var kindNames = map[DecisionKind]string{Issued: "issued", DebitFailed: "debit_failed", Overdue: "overdue", InstallmentDue: "installment_due"}

// String returns the kind's name ("overdue").
func (k DecisionKind) String() string { return kindNames[k] }

// OverdueDays are the days after the due date on which the world asks
// about an invoice that is still open: the standard policy's steps (7, 21,
// 35, 50), the none policy's hand-over (90) and the days between.
func OverdueDays() []int { return []int{1, 7, 14, 21, 28, 35, 42, 50, 60, 75, 90} }

// Decision is one decision point: what happened, when, and the customer's
// history as known then. A Decision is only valid during the Decide call
// that receives it (its slices are the world's).
type Decision struct {
	Kind DecisionKind
	// At is the moment of the decision. Every row of History is at or
	// before it; actions happen after it.
	At rf.Time
	// Invoice is the invoice the decision is about.
	Invoice rf.Invoice
	// DaysOverdue is the number of days since the due date (Overdue).
	DaysOverdue int
	// Reason is the SEPA reason code of the failed debit (DebitFailed).
	Reason string
	// Installment is the plan's installment that falls due
	// (InstallmentDue), 1-based.
	Installment int
	// History is the customer's rows known at At.
	History History
	// U is a uniform draw in [0, 1) keyed by this decision point (the
	// customer, the invoice, the kind, the day): every policy that is
	// asked at the same point gets the same draw (common random numbers),
	// and one policy's actions never shift another's draws.
	U float64

	// w is the simulator that asks. Only the world's own bookkeeping may
	// read it; CheckPointInTime replaces it with a twin whose hidden
	// state differs, so a policy of this package that peeked at it would
	// fail the check.
	w *sim
}

// History is one customer's rows as known at a decision: every row was
// written at or before the decision, and rows that change later (an
// arrangement that ends, a dispute that is resolved) show what was known
// then. Its slices are the world's: read them during Decide only, and
// never modify them.
type History struct {
	Customer     *rf.Customer
	Invoices     []rf.Invoice
	Payments     []rf.Payment
	DirectDebits []rf.DirectDebit
	Reminders    []rf.Reminder
	Arrangements []rf.Arrangement
	Disputes     []rf.Dispute
	Events       []rf.CustomerEvent
}

// ActionKind is what the creditor does; the world knows how customers
// respond to each (docs/simulation.md).
type ActionKind uint8

// The actions the world responds to.
const (
	// Reminder is a standard dunning reminder (reminders stage
	// "reminder"); SecondReminder the second one ("second_reminder").
	Reminder ActionKind = iota + 1
	SecondReminder
	// PreDueReminder is a reminder a few days before the due date.
	PreDueReminder
	// PersonalReminder is a friendly personal reminder (a call).
	PersonalReminder
	// DebitFollowUp follows up a failed debit at once, naming the reason,
	// with a pay link.
	DebitFollowUp
	// FinalNotice is the 14-day letter (Dutch WIK) or a final notice.
	FinalNotice
	// HandOver hands the claim over to a collection agency.
	HandOver
	// RetryDebit attempts the direct debit again.
	RetryDebit
	// OfferPlan offers a payment plan.
	OfferPlan
	// ServiceStop announces the stop of service.
	ServiceStop
	// ProactiveCall is a friendly call to a customer who shows risk.
	ProactiveCall
	// NewMandate asks for a new direct-debit mandate.
	NewMandate
	// Contact is any other contact: it costs what its channel costs and
	// changes nothing (Detail names it).
	Contact
	// NumActionKinds is one more than the last action kind.
	NumActionKinds
)

var actionNames = [NumActionKinds]string{"", "reminder", "second_reminder", "pre_due_reminder", "personal_reminder", "debit_follow_up",
	"final_notice", "hand_over", "retry_debit", "offer_plan", "service_stop", "proactive_call", "new_mandate", "contact"}

// String returns the action's name ("final_notice").
func (k ActionKind) String() string { return actionNames[k] }

// Dunning reports whether the action is a standard dunning letter or a
// firm step: what a loyal customer who slipped once may leave over.
func (k ActionKind) Dunning() bool {
	return k == Reminder || k == SecondReminder || k == FinalNotice || k == ServiceStop
}

// CustomerLevel reports whether the action is about the customer rather
// than one invoice.
func (k ActionKind) CustomerLevel() bool {
	return k == OfferPlan || k == ServiceStop || k == ProactiveCall || k == NewMandate || k == Contact
}

// Channels of contacts. A digital reminder goes by e-mail or SMS, a
// letter by post, a call by phone; an action without a channel (a debit
// retry, a hand-over) costs no contact.
const (
	Email  = "email"
	SMS    = "sms"
	Letter = "letter"
	Phone  = "phone"
)

// Action is one thing the creditor does.
type Action struct {
	Kind ActionKind
	// Invoice is the invoice the action is about: "" the decision's, or
	// another open invoice of the customer (by id).
	Invoice string
	// At is when: 0, or any moment at or before the decision, means at
	// once (a second after it).
	At rf.Time
	// Channel is email, sms, letter or phone; "" takes the action's usual
	// one (the customer's: e-mail online, a letter offline).
	Channel string
	// Detail names a Contact ("payment plan reminder").
	Detail string
}

// None is the policy of doing nothing: no contact at all, no retry, and a
// hand-over to collection 90 days after the due date.
var None Policy = none{}

type none struct{}

func (none) Name() string               { return "none" }
func (none) Start(*rf.Customer) Decider { return none{} }
func (none) Decide(d *Decision, out []Action) []Action {
	if d.Kind == Overdue && d.DaysOverdue == noneHandOver {
		out = append(out, Action{Kind: HandOver})
	}
	return out
}

// Standard is what most creditors do, the same for every late payer: a
// reminder 7 days after the due date, a second reminder at 21, the 14-day
// letter at 35, collection at 50; a failed debit is retried in the next
// monthly run; no reminder before the due date and no payment plan unless
// the customer asks. Reminders go by e-mail (20% by SMS) to online
// customers and by letter to offline ones; a business's second reminder
// is a call 30% of the time. `duewise generate` writes its world.
var Standard Policy = standard{}

type standard struct{}

func (standard) Name() string               { return "standard" }
func (standard) Start(*rf.Customer) Decider { return standard{} }
func (standard) Decide(d *Decision, out []Action) []Action {
	c := d.History.Customer
	digital := func(u float64) string {
		switch {
		case c.Channel == "offline":
			return Letter
		case u < 0.2:
			return SMS
		}
		return Email
	}
	switch d.Kind {
	case DebitFailed:
		// The next monthly run: the same day next month, before dawn.
		next := d.Invoice.DueAt.Time().AddDate(0, 1, 0)
		out = append(out, Action{Kind: RetryDebit, At: rf.DateOf(next).At(4, 0, 0)})
	case Overdue:
		switch d.DaysOverdue {
		case standardReminder:
			out = append(out, Action{Kind: Reminder, Channel: digital(d.U)})
		case standardSecondReminder:
			ch := digital(d.U)
			if c.Type == "business" {
				ch = Phone
				if d.U >= 0.3 {
					ch = digital((d.U - 0.3) / 0.7)
				}
			}
			out = append(out, Action{Kind: SecondReminder, Channel: ch})
		case standardFinalNotice:
			out = append(out, Action{Kind: FinalNotice, Channel: Letter})
		case standardHandOver:
			out = append(out, Action{Kind: HandOver})
		}
	}
	return out
}

// PolicyOf returns the built-in policy called name (none or standard).
func PolicyOf(name string) (Policy, bool) {
	switch name {
	case "none":
		return None, true
	case "standard":
		return Standard, true
	}
	return nil, false
}
