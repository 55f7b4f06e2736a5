package synth

import "fmt"

// Effects are the sizes of the world's responses to what the creditor
// does. Each is a probability (or a share of a probability) applied to the
// customers it concerns; docs/simulation.md gives every one its source,
// or says that it is an assumption. A plain value; DefaultEffects holds
// the world's own.
type Effects struct {
	// PreDueNudge is the share of would-be-late payers who forget, or
	// slipped, that pay on time after a reminder a few days before the due
	// date; PreDueCash the same for payers short of money. Sized so that a
	// habitual late payer (forgetful: two thirds of invoices late) gains
	// about 8 percentage points of on-time payment, the effect of SMS
	// reminders before the due date in Cadena & Schoar (2011).
	PreDueNudge, PreDueCash float64
	// FollowUpNudge is the share of failed debits of customers who would
	// pay within 30 days anyway (they forgot to top up, a technical
	// failure) paid within 1..3 days when followed up at once with a pay
	// link: the 70% recovery GoCardless reports for well-timed retries.
	FollowUpNudge float64
	// FollowUpCash is the same for customers short of money, and
	// FollowUpBehind for customers who would otherwise pay only once
	// pressed (after the 14-day letter).
	FollowUpCash, FollowUpBehind float64
	// RetryRandom and RetryPayday are the chances that a debit retry
	// succeeds for a customer short of money on a random day and within 3
	// days after their payday: 38% and 70%, the average recovery of failed
	// payments without and with GoCardless's intelligent retries.
	RetryRandom, RetryPayday float64
	// RetryBehind scales the retry chances for a customer who would pay
	// only once pressed.
	RetryBehind float64
	// PlanAccept is the chance that a customer in temporary trouble
	// (strained, hardship, moving, recovering) accepts a payment plan
	// offered before a claim that would otherwise go to collection or be
	// asked about late (healthy 0.3 times it, chronic 0.25 times it);
	// PlanAcceptLate scales it for an offer made 30 or more days after the
	// due date.
	PlanAccept, PlanAcceptLate float64
	// PlanKeptEarly is added to the chance that a plan is kept when it was
	// offered before the claim was 30 days overdue.
	PlanKeptEarly float64
	// ServiceStop is the chance that an announced stop of service makes a
	// non-payer who would otherwise end in collection pay.
	ServiceStop float64
	// DunningLeave is added to the month's chance of leaving of a loyal
	// customer (two years or more, no other late invoice in a year) who
	// receives a standard dunning letter or a firm step.
	DunningLeave float64
	// CollectionLeave is added to the month's chance of leaving after a
	// hand-over to collection (the world's 3% before issue 16).
	CollectionLeave float64
	// InstallmentReminder is the chance that a reminder before an
	// installment saves an installment the customer would have missed.
	InstallmentReminder float64
	// CallFaster halves a nudged payer's delay when the nudge is a
	// personal call (1: the delay is halved; 0: no faster than a letter).
	CallFaster float64
	// UnremindedDelay is the most days a customer short of money pays
	// later when nobody reminded them (the creditor who reminds is paid
	// first); the delay is uniform from a fifth of it.
	UnremindedDelay float64
}

// DefaultEffects returns the world's effect sizes.
func DefaultEffects() Effects {
	return Effects{
		PreDueNudge: 0.15, PreDueCash: 0.05,
		FollowUpNudge: 0.70, FollowUpCash: 0.35, FollowUpBehind: 0.10,
		RetryRandom: 0.38, RetryPayday: 0.70, RetryBehind: 0.5,
		PlanAccept: 0.6, PlanAcceptLate: 0.6, PlanKeptEarly: 0.15,
		ServiceStop:         0.25,
		DunningLeave:        0.02,
		CollectionLeave:     leaveCollection,
		InstallmentReminder: 0.2,
		CallFaster:          1,
		UnremindedDelay:     25,
	}
}

// Effect describes one effect size: its name (the field of Effects), what
// it is, its source (empty when it is an assumption) and its value.
type Effect struct {
	Name, Meaning, Source string
	Value                 float64
}

// Assumed reports whether the effect is an assumption (no source).
func (e Effect) Assumed() bool { return e.Source == "" }

// fields lists every effect with a pointer into e, for List and Halved.
func (e *Effects) fields() []struct {
	p *float64
	Effect
} {
	type f = struct {
		p *float64
		Effect
	}
	const (
		cadena = "Cadena & Schoar (2011), NBER w17020: SMS reminders before the due date raise on-time payment by 7-9 percentage points"
		gocard = "GoCardless Success+: 70% of failed payments recovered with retries on the day funds are likely, against an average recovery of 38%"
	)
	return []f{
		{&e.PreDueNudge, Effect{"PreDueNudge", "would-be-late payers who forget or slipped and pay on time after a reminder before the due date", cadena, 0}},
		{&e.PreDueCash, Effect{"PreDueCash", "the same for payers short of money", "", 0}},
		{&e.FollowUpNudge, Effect{"FollowUpNudge", "failed debits of customers who pay within 30 days anyway, paid within 1..3 days of an immediate follow-up with a pay link", gocard, 0}},
		{&e.FollowUpCash, Effect{"FollowUpCash", "the same for customers short of money", "", 0}},
		{&e.FollowUpBehind, Effect{"FollowUpBehind", "the same for customers who would pay only once pressed", "", 0}},
		{&e.RetryRandom, Effect{"RetryRandom", "a debit retry on a random day succeeds (customer short of money)", gocard, 0}},
		{&e.RetryPayday, Effect{"RetryPayday", "a debit retry within 3 days after the customer's payday succeeds", gocard, 0}},
		{&e.RetryBehind, Effect{"RetryBehind", "factor on the retry chances of a customer who would pay only once pressed", "", 0}},
		{&e.PlanAccept, Effect{"PlanAccept", "a customer in temporary trouble accepts a payment plan offered before the claim goes wrong", "", 0}},
		{&e.PlanAcceptLate, Effect{"PlanAcceptLate", "factor on that chance for an offer 30 or more days after the due date", "", 0}},
		{&e.PlanKeptEarly, Effect{"PlanKeptEarly", "added to the chance that a plan offered early is kept", "", 0}},
		{&e.ServiceStop, Effect{"ServiceStop", "an announced stop of service makes a non-payer headed for collection pay", "", 0}},
		{&e.DunningLeave, Effect{"DunningLeave", "added to the month's chance of leaving of a loyal customer who gets a standard dunning letter or a firm step", "", 0}},
		{&e.CollectionLeave, Effect{"CollectionLeave", "added to the month's chance of leaving after a hand-over to collection", "", 0}},
		{&e.InstallmentReminder, Effect{"InstallmentReminder", "a reminder before an installment saves one the customer would have missed", "", 0}},
		{&e.CallFaster, Effect{"CallFaster", "a personal call halves a nudged payer's delay (1 = halved)", "", 0}},
		{&e.UnremindedDelay, Effect{"UnremindedDelay", "most extra days a customer short of money pays later when nobody reminded them", "", 0}},
	}
}

// List returns every effect with its value, in a fixed order.
func (e Effects) List() []Effect {
	fs := e.fields()
	out := make([]Effect, len(fs))
	for i, f := range fs {
		out[i] = f.Effect
		out[i].Value = *f.p
	}
	return out
}

// Halved returns e with every assumed effect halved (the sourced ones
// kept): the first scenario of `duewise simulate --sensitivity`. Factors
// (RetryBehind, PlanAcceptLate) are halved like the others: half the
// chance.
func (e Effects) Halved() Effects {
	for _, f := range e.fields() {
		if f.Assumed() {
			*f.p /= 2
		}
	}
	return e
}

// Validate reports the first effect that is not a probability (or, for
// UnremindedDelay, not a number of days from 0 to 120).
func (e Effects) Validate() error {
	for _, f := range e.fields() {
		limit := 1.0
		if f.p == &e.UnremindedDelay {
			limit = 120
		}
		if !(*f.p >= 0 && *f.p <= limit) {
			return fmt.Errorf("effect %s: %v, want 0..%v", f.Name, *f.p, limit)
		}
	}
	return nil
}
