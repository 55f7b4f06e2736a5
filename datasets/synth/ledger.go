package synth

import rf "github.com/duewise/duewise/datasets/rowfile"

// Ledger is one customer's money and contacts within the evaluation
// window [Config.PolicyFrom, end of the world): the ground truth from which
// `duewise simulate` computes its metrics. Amounts are in cents. A plain
// value.
type Ledger struct {
	// ActiveAtStart: a customer (created, not departed) when the window
	// starts; ActiveAtEnd: still one at its end.
	ActiveAtStart, ActiveAtEnd bool
	// MonthlyAmount is the customer's monthly amount; LeaveRate its
	// monthly chance of leaving when nothing happens (base, plus the
	// chronic non-payer's).
	MonthlyAmount rf.Cents
	LeaveRate     float64
	// Billed is the amount of the invoices issued in the window;
	// Collected the payments received in it (the agency's included);
	// WrittenOff the claims written off in it (the agency gave up, or
	// the customer won a dispute).
	Billed, Collected, WrittenOff rf.Cents
	// Contacts counts the contacts in the window per channel (email,
	// sms, letter, phone).
	Contacts map[string]int
	// Actions counts the actions carried out in the window, by kind
	// (index ActionKind); an action that no longer applied when its time
	// came (the invoice was paid) is not counted.
	Actions [NumActionKinds]int
	// DunnedGoodPayers counts the dunning letters (reminders, second
	// reminders, 14-day letters by e-mail, SMS or post) sent in the window
	// about invoices the customer would have paid within 14 days after
	// the due date without any dunning.
	DunnedGoodPayers int
	// Claims are the claims handed over to collection (any time) whose
	// recovery, if any, falls in the window, or that were handed over in
	// it.
	Claims []Claim
	// ReceivableDays is the integral over the window of the customer's
	// open receivables, in cent-days (for DSO).
	ReceivableDays float64
}

// Claim is one claim handed over to a collection agency.
type Claim struct {
	// Principal is the amount open at the hand-over.
	Principal rf.Cents
	// Chargeable: the statutory collection costs may be charged to the
	// customer (a Dutch consumer who got the 14-day letter at least 15
	// days before, or a business); otherwise the creditor bears them.
	Chargeable bool
	// Recovered is the amount the agency collected, at RecoveredAt
	// (NoTime when it collected nothing yet).
	Recovered   rf.Cents
	RecoveredAt rf.Time
}

// ledger accumulates a Ledger over [from, end).
type ledger struct {
	Ledger
	from, end rf.Time
}

func (l *ledger) in(t rf.Time) bool { return t >= l.from && t < l.end }

func (l *ledger) contact(t rf.Time, channel string) {
	if !l.in(t) || channel == "" {
		return
	}
	if l.Contacts == nil {
		l.Contacts = map[string]int{}
	}
	l.Contacts[channel]++
}

// outstanding adds amount cents open over [a, b) to the receivables.
func (l *ledger) outstanding(amount rf.Cents, a, b rf.Time) {
	a, b = max(a, l.from), min(b, l.end)
	if b > a && amount > 0 {
		l.ReceivableDays += float64(amount) * float64(b-a) / 86400
	}
}
