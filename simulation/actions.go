package simulation

import (
	rf "github.com/duewise/duewise/datasets/rowfile"
	"github.com/duewise/duewise/datasets/synth"
	"github.com/duewise/duewise/features"
	"github.com/duewise/duewise/serving/policy"
	"github.com/duewise/duewise/serving/scoring"
)

// actionPolicy is a creditor who follows duewise's recommended actions:
// the standard process (reminders, 14-day letter, collection, debit
// retries), with what a policy file (the default one, or a user's in the
// format of `duewise serve --policy`) recommends at every decision on top
// of it, scored by a behaviour model trained on the world's earlier
// months. Safe for concurrent use.
type actionPolicy struct {
	name   string
	tenant string
	local  *scoring.Local
}

func (p *actionPolicy) Name() string { return p.name }

func (p *actionPolicy) Start(c *rf.Customer) synth.Decider {
	return &decider{p: p, std: synth.Standard.Start(c)}
}

// worldActions maps the action types of duewise's policies to what the
// world knows how to respond to. A type it does not name is a contact
// that costs its channel and changes nothing (synth.Contact).
var worldActions = map[string]synth.ActionKind{
	"reminder":                       synth.Reminder,
	"second_reminder":                synth.SecondReminder,
	"reminder_before_due_date":       synth.PreDueReminder,
	"personal_reminder":              synth.PersonalReminder,
	"direct_debit_follow_up":         synth.DebitFollowUp,
	"wik_14_day_letter":              synth.FinalNotice,
	"final_notice":                   synth.FinalNotice,
	"hand_over_to_collection":        synth.HandOver,
	"retry_direct_debit":             synth.RetryDebit,
	"offer_payment_plan":             synth.OfferPlan,
	"announce_service_stop":          synth.ServiceStop,
	"proactive_personal_contact":     synth.ProactiveCall,
	"request_new_mandate":            synth.NewMandate,
	"personal_contact_about_refusal": synth.Contact,
}

// skipDunning is the action type that suppresses the standard dunning
// reminder due at the decision (rule loyal_late_once).
const skipDunning = "skip_standard_dunning"

// cycle is how long the creditor waits before repeating a customer-level
// action (a plan offer, a proactive call, the stop of service): one
// billing cycle. A CRM acts on the monthly cycle; it does not repeat an
// offer at every decision of the month, even when every score
// recommends it.
const cycle rf.Time = 30 * 86400

// decider executes the policy for one customer: it keeps the customer's
// history in features' shape (updated with the new rows at each
// decision), what was done per invoice (an invoice-level action is done
// once per invoice) and when each customer-level action was last done.
type decider struct {
	p       *actionPolicy
	std     synth.Decider
	h       history
	done    map[string]uint32  // invoice id -> bit set of the action kinds done
	letters map[string]rf.Time // invoice id -> when its 14-day letter went
	last    [32]rf.Time        // customer-level action kind -> when last done

	// the signals of the last decision, reused by a decision on the same
	// day with the same rows
	row    features.Row
	rowKey [10]int64
}

func (x *decider) Decide(d *synth.Decision, out []synth.Action) []synth.Action {
	base := x.std.Decide(d, nil)
	row := x.signals(d)
	amount := float64(d.Invoice.Amount) / 100
	toDue := float64(d.Invoice.DueAt - d.At.Date())
	res, _ := x.p.local.Evaluate(row, toDue, amount)
	skip := false
	var recs []synth.Action
	for _, a := range res.Actions {
		if a.Type == skipDunning {
			skip = true
			continue
		}
		recs = x.world(recs, a, d)
	}
	for _, a := range base {
		if skip && (a.Kind == synth.Reminder || a.Kind == synth.SecondReminder) {
			continue
		}
		out = x.once(out, a, d)
	}
	for _, a := range recs {
		out = x.once(out, a, d)
	}
	return out
}

// signals computes the customer's signals at the decision: every row
// written by then counts (features.Compute at the next day's 00:00, over
// a history that holds nothing later than the decision).
func (x *decider) signals(d *synth.Decision) *features.Row {
	h := &d.History
	ended, resolved := 0, 0
	for _, a := range h.Arrangements {
		if a.EndedAt != rf.NoTime {
			ended++
		}
	}
	for _, r := range h.Disputes {
		if r.ResolvedAt != rf.NoTime {
			resolved++
		}
	}
	key := [10]int64{int64(d.At.Date()), int64(len(h.Invoices)), int64(len(h.Payments)), int64(len(h.DirectDebits)), int64(len(h.Reminders)),
		int64(len(h.Arrangements)), int64(len(h.Disputes)), int64(len(h.Events)), int64(ended), int64(resolved)}
	if key == x.rowKey && x.row.Names != nil {
		return &x.row
	}
	x.h.update(x.p.tenant, h)
	asOf := (d.At.Date() + 1).Time()
	row, err := features.Compute(&x.h.h, asOf, features.DefaultThreshold)
	if err != nil {
		// The customer exists at every decision (it has an invoice); a
		// failure here is a bug, and the zero row scores as unknown.
		row = features.Row{Status: "ok"}
	}
	x.row, x.rowKey = row, key
	return &x.row
}

// world appends the world's actions for recommended action a.
func (x *decider) world(out []synth.Action, a policy.Action, d *synth.Decision) []synth.Action {
	kind, ok := worldActions[a.Type]
	channel := a.Channel
	switch channel {
	case "email_or_sms":
		channel = synth.Email
	case "none":
		channel = ""
	}
	if !ok {
		if channel == "" {
			return out // an internal step with no contact: nothing the world sees
		}
		kind = synth.Contact
	}
	w := synth.Action{Kind: kind, At: x.when(a.When, d, &d.Invoice), Channel: channel}
	if kind == synth.Contact {
		w.Detail = a.Type
	}
	switch kind {
	case synth.DebitFollowUp, synth.RetryDebit, synth.NewMandate:
		// About the latest failed debit's invoice, while it is unpaid.
		inv, ok := failedDebit(&d.History)
		if !ok {
			return out
		}
		w.Invoice = inv
		return append(out, w)
	case synth.FinalNotice, synth.HandOver:
	default:
		return append(out, w)
	}
	// Escalation is about every overdue claim of the customer, each on
	// its own dates.
	for _, inv := range overdue(&d.History, d.At) {
		w.Invoice, w.At = inv.ID, x.when(a.When, d, &inv)
		out = append(out, w)
	}
	return out
}

// when places an action: offset days from its anchor (now, or the due or
// issue date of invoice inv); 0 means at once.
func (x *decider) when(w policy.WhenSpec, d *synth.Decision, inv *rf.Invoice) rf.Time {
	var at rf.Time
	switch w.Anchor {
	case "due_date":
		at = (inv.DueAt + rf.Date(w.OffsetDays)).At(9, 0, 0)
	case "issue_date":
		at = (inv.IssuedAt + rf.Date(w.OffsetDays)).At(9, 0, 0)
	default:
		at = d.At + rf.Time(w.OffsetDays)*86400
	}
	if at <= d.At {
		return 0
	}
	return at
}

// letterTerm is the least time between a 14-day letter and the hand-over
// of its claim: the statutory 14 days and one for the post, as the world
// counts it (collection costs are chargeable after it).
const letterTerm = 15 * 86400

// failedDebit returns the invoice of the customer's latest failed or
// reversed debit, when it is not paid in full.
func failedDebit(h *synth.History) (string, bool) {
	id := ""
	var at rf.Time
	for _, dd := range h.DirectDebits {
		if (dd.Status == "failed" || dd.Status == "reversed") && dd.AttemptedAt >= at {
			id, at = dd.InvoiceID, dd.AttemptedAt
		}
	}
	if id == "" {
		return "", false
	}
	var paid rf.Cents
	for _, p := range h.Payments {
		if p.InvoiceID == id {
			paid += p.Amount
		}
	}
	for _, inv := range h.Invoices {
		if inv.ID == id {
			return id, paid < inv.Amount
		}
	}
	return "", false
}

// overdue returns the customer's invoices past due at t and not paid in
// full, and not handed over to collection.
func overdue(h *synth.History, t rf.Time) []rf.Invoice {
	paid := map[string]rf.Cents{}
	for _, p := range h.Payments {
		paid[p.InvoiceID] += p.Amount
	}
	handed := map[string]bool{}
	for _, r := range h.Reminders {
		if r.Stage == "collection" {
			handed[r.InvoiceID] = true
		}
	}
	var out []rf.Invoice
	for _, inv := range h.Invoices {
		if inv.DueAt < t.Date() && paid[inv.ID] < inv.Amount && !handed[inv.ID] {
			out = append(out, inv)
		}
	}
	return out
}

// once appends a unless it was done already: an invoice-level action once
// per invoice, a customer-level one once per billing cycle. Dunning only
// moves forward (no reminder after the 14-day letter), and a hand-over
// waits for the 14-day letter's term.
func (x *decider) once(out []synth.Action, a synth.Action, d *synth.Decision) []synth.Action {
	if a.Kind.CustomerLevel() {
		if l := x.last[a.Kind]; l != 0 && d.At-l < cycle {
			return out
		}
		x.last[a.Kind] = d.At
		return append(out, a)
	}
	id := a.Invoice
	if id == "" {
		id = d.Invoice.ID
	}
	if x.done == nil {
		x.done = map[string]uint32{}
	}
	bit := uint32(1) << a.Kind
	if x.done[id]&bit != 0 {
		return out
	}
	if (a.Kind == synth.Reminder || a.Kind == synth.SecondReminder) && x.done[id]&(1<<synth.FinalNotice) != 0 {
		return out // dunning only moves forward: no reminder after the 14-day letter
	}
	x.done[id] |= bit
	at := max(a.At, d.At+1)
	switch a.Kind {
	case synth.FinalNotice:
		if x.letters == nil {
			x.letters = map[string]rf.Time{}
		}
		x.letters[id] = at
	case synth.HandOver:
		// Never before the 14-day letter's term has passed.
		if l, ok := x.letters[id]; ok && at < l+letterTerm {
			a.At = l + letterTerm
		}
	}
	return append(out, a)
}
