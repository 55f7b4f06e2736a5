package synth

import (
	"context"
	"fmt"
	"reflect"
	"slices"

	rf "github.com/duewise/duewise/datasets/rowfile"
)

// At returns h as it was known at t: the rows written at or before t, an
// arrangement that ended later still active, a dispute resolved later
// still open. It rebuilds, from the final files, what a decision at t
// could know. The result shares no slice with h.
func (h History) At(t rf.Time) History {
	keep := func(ts rf.Time) bool { return ts <= t }
	out := History{Customer: h.Customer}
	for _, r := range h.Invoices {
		if keep(r.IssuedAt.At(0, 0, 0)) {
			out.Invoices = append(out.Invoices, r)
		}
	}
	for _, r := range h.Payments {
		if keep(r.PaidAt) {
			out.Payments = append(out.Payments, r)
		}
	}
	for _, r := range h.DirectDebits {
		if keep(r.AttemptedAt) {
			out.DirectDebits = append(out.DirectDebits, r)
		}
	}
	for _, r := range h.Reminders {
		if keep(r.SentAt) {
			out.Reminders = append(out.Reminders, r)
		}
	}
	for _, r := range h.Arrangements {
		if !keep(r.AgreedAt) {
			continue
		}
		if r.EndedAt != rf.NoTime && !keep(r.EndedAt) {
			r.Status, r.EndedAt = "active", rf.NoTime
		}
		out.Arrangements = append(out.Arrangements, r)
	}
	for _, r := range h.Disputes {
		if !keep(r.OpenedAt) {
			continue
		}
		if r.ResolvedAt != rf.NoTime && !keep(r.ResolvedAt) {
			r.ResolvedAt, r.Outcome = rf.NoTime, ""
		}
		out.Disputes = append(out.Disputes, r)
	}
	for _, r := range h.Events {
		if keep(r.OccurredAt) {
			out.Events = append(out.Events, r)
		}
	}
	return out
}

// clone returns a deep copy of h.
func (h History) clone() History {
	c := *h.Customer
	return History{Customer: &c, Invoices: slices.Clone(h.Invoices), Payments: slices.Clone(h.Payments), DirectDebits: slices.Clone(h.DirectDebits),
		Reminders: slices.Clone(h.Reminders), Arrangements: slices.Clone(h.Arrangements), Disputes: slices.Clone(h.Disputes), Events: slices.Clone(h.Events)}
}

// logged is one decision as the world made it.
type logged struct {
	d    Decision
	acts []Action
}

// CheckPointInTime checks that cfg's policy decides only on what is known
// at each decision, on the first customers of cfg's world (all of them
// when customers is 0 or more than cfg.Customers). For every customer it
// records each decision (the history the world gave, the actions taken),
// then replays the decisions on a fresh Decider of the policy with the
// history rebuilt from the customer's final rows as known at the
// decision's moment (History.At) and the world's hidden state swapped for
// a twin's (the same customer in a world of another seed). The check
// fails when the world gave a decision a history other than the rebuilt
// one (a future row, or a later version of a row), or when a replayed
// decision differs: the policy used something the record does not hold,
// such as the customer's hidden state or what happens later. A policy
// that reads only its Decision passes.
func CheckPointInTime(ctx context.Context, cfg Config, customers int) error {
	if err := cfg.validateWorld(); err != nil {
		return fmt.Errorf("check point in time: %w", err)
	}
	if customers <= 0 || customers > cfg.Customers {
		customers = cfg.Customers
	}
	cal := newCalendar(cfg)
	twinCfg := cfg
	twinCfg.Seed = ^cfg.Seed
	twin := newSim(newCalendar(twinCfg))
	s := newSim(cal)
	var log []logged
	s.onDecide = func(d *Decision, acts []Action) {
		c := *d
		c.History = d.History.clone()
		log = append(log, logged{d: c, acts: slices.Clone(acts)})
	}
	var b, tb rf.Batch
	for idx := range customers {
		if err := ctx.Err(); err != nil {
			return err
		}
		log = log[:0]
		b.Reset()
		tb.Reset()
		s.customer(idx, &b)
		twin.customer(idx, &tb)
		final := History{Customer: &b.Customers[0], Invoices: b.Invoices, Payments: b.Payments, DirectDebits: b.DirectDebits,
			Reminders: b.Reminders, Arrangements: b.Arrangements, Disputes: b.Disputes, Events: b.CustomerEvents}
		std, pol := Standard.Start(final.Customer), cal.policy.Start(final.Customer)
		var buf []Action
		for _, l := range log {
			d := l.d
			known := final.At(d.At)
			if !reflect.DeepEqual(normal(d.History), normal(known)) {
				return fmt.Errorf("check point in time: customer %s, %s decision at %s about %s: the world's history differs from the one known then (a row from the future, or a later version of a row)",
					final.Customer.ID, d.Kind, d.At.Std().Format("2006-01-02 15:04:05"), d.Invoice.ID)
			}
			d.History, d.w = known, twin
			dec := ternary(d.At >= cal.policyFrom, pol, std)
			buf = dec.Decide(&d, buf[:0])
			if !slices.Equal(buf, l.acts) {
				return fmt.Errorf("check point in time: policy %s, customer %s, %s decision at %s about %s: decided %v, but %v on what was known then: it used something it could not know",
					cal.policy.Name(), final.Customer.ID, d.Kind, d.At.Std().Format("2006-01-02 15:04:05"), d.Invoice.ID, names(l.acts), names(buf))
			}
		}
	}
	return nil
}

// normal makes empty and nil slices compare equal.
func normal(h History) History {
	n := func(v reflect.Value) {
		if v.Kind() == reflect.Slice && v.Len() == 0 && !v.IsNil() {
			v.Set(reflect.Zero(v.Type()))
		}
	}
	rv := reflect.ValueOf(&h).Elem()
	for i := range rv.NumField() {
		n(rv.Field(i))
	}
	return h
}

func names(acts []Action) []string {
	out := make([]string, len(acts))
	for i, a := range acts {
		out[i] = a.Kind.String()
		if a.Invoice != "" {
			out[i] += "(" + a.Invoice + ")"
		}
	}
	return out
}
