package simulation

import (
	"time"

	rf "github.com/duewise/duewise/datasets/rowfile"
	"github.com/duewise/duewise/datasets/synth"
	"github.com/duewise/duewise/features"
)

// history is one customer's history in features' shape, kept up to date
// with the world's rows by converting only the rows written since the
// last update (arrangements and disputes, which change in place, are
// converted again each time). Not safe for concurrent use.
type history struct {
	h features.History
	n [5]int // rows converted: invoices, payments, debits, reminders, events
}

func date(d rf.Date) features.Date { return features.Date{Time: d.Time()} }

func ts(t rf.Time) time.Time { return t.Std() }

func optTS(t rf.Time) *time.Time {
	if t == rf.NoTime {
		return nil
	}
	v := t.Std()
	return &v
}

// update brings h up to s, the world's rows of the same customer (which
// only grow, apart from arrangements and disputes).
func (h *history) update(tenant string, s *synth.History) {
	if h.h.Customer.CustomerID == "" {
		c := s.Customer
		h.h.Customer = features.Customer{Tenant: tenant, CustomerID: c.ID, CreatedAt: date(c.CreatedAt), CustomerType: c.Type,
			Segment: c.Segment, Channel: c.Channel, PaymentMethod: c.PaymentMethod, Country: c.Country, PostcodeArea: c.PostcodeArea,
			MonthlyAmount: features.Amount(c.MonthlyAmount)}
		if c.CreditLimit != rf.NoCents {
			l := features.Amount(c.CreditLimit)
			h.h.Customer.CreditLimit = &l
		}
	}
	id := h.h.Customer.CustomerID
	for _, r := range s.Invoices[h.n[0]:] {
		h.h.Invoices = append(h.h.Invoices, features.Invoice{Tenant: tenant, InvoiceID: r.ID, CustomerID: id, IssuedAt: date(r.IssuedAt),
			DueAt: date(r.DueAt), Amount: features.Amount(r.Amount), Currency: r.Currency})
	}
	for _, r := range s.Payments[h.n[1]:] {
		h.h.Payments = append(h.h.Payments, features.Payment{Tenant: tenant, PaymentID: r.ID, InvoiceID: r.InvoiceID, CustomerID: id,
			PaidAt: ts(r.PaidAt), Amount: features.Amount(r.Amount), Method: r.Method})
	}
	for _, r := range s.DirectDebits[h.n[2]:] {
		h.h.DirectDebits = append(h.h.DirectDebits, features.DirectDebit{Tenant: tenant, AttemptID: r.ID, InvoiceID: r.InvoiceID, CustomerID: id,
			AttemptedAt: ts(r.AttemptedAt), Status: r.Status, Reason: r.Reason})
	}
	for _, r := range s.Reminders[h.n[3]:] {
		h.h.Reminders = append(h.h.Reminders, features.Reminder{Tenant: tenant, ReminderID: r.ID, InvoiceID: r.InvoiceID, CustomerID: id,
			SentAt: ts(r.SentAt), Stage: r.Stage, Channel: r.Channel})
	}
	for _, r := range s.Events[h.n[4]:] {
		h.h.Events = append(h.h.Events, features.CustomerEvent{Tenant: tenant, EventID: r.ID, CustomerID: id,
			OccurredAt: ts(r.OccurredAt), Kind: r.Kind, Detail: r.Detail})
	}
	h.n = [5]int{len(s.Invoices), len(s.Payments), len(s.DirectDebits), len(s.Reminders), len(s.Events)}
	h.h.Arrangements = h.h.Arrangements[:0]
	for _, r := range s.Arrangements {
		h.h.Arrangements = append(h.h.Arrangements, features.Arrangement{Tenant: tenant, ArrangementID: r.ID, CustomerID: id,
			AgreedAt: ts(r.AgreedAt), Installments: r.Installments, Amount: features.Amount(r.Amount), Status: r.Status, EndedAt: optTS(r.EndedAt)})
	}
	h.h.Disputes = h.h.Disputes[:0]
	for _, r := range s.Disputes {
		h.h.Disputes = append(h.h.Disputes, features.Dispute{Tenant: tenant, DisputeID: r.ID, InvoiceID: r.InvoiceID, CustomerID: id,
			OpenedAt: ts(r.OpenedAt), ResolvedAt: optTS(r.ResolvedAt), Outcome: r.Outcome})
	}
}

// convert returns s in features' shape.
func convert(tenant string, s *synth.History) *features.History {
	var h history
	h.update(tenant, s)
	return &h.h
}
