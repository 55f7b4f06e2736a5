package policy

import (
	"math"
	"slices"
)

// Situation is what the policy knows about one customer (or prospect, or
// invoice) when it recommends actions: the model's answer and the signals
// that describe the customer's payment behaviour. Unknown numbers are NaN;
// a condition on an unknown number never holds. A plain value.
type Situation struct {
	// Kind is the model kind that scored: "behaviour", "invoice" or
	// "onboarding".
	Kind string
	// Lang is the language of texts in actions ("en" or "nl"; default en).
	Lang string
	// P are the probabilities of falling behind within model.Horizons
	// (30, 60, 90, 180, 365 days).
	P [5]float64
	// PLate is the invoice model's probability that the invoice at hand
	// is not paid by its due date (NaN for the other kinds).
	PLate        float64
	ExpectedDays float64
	Band         string
	// Reasons are the codes of the model's reasons.
	Reasons []string
	// Status is "ok" or "behind" (already behind on payments).
	Status string

	// LateInvoices12m counts invoices paid (or still open) after their due
	// date in the last 12 months.
	LateInvoices12m float64
	// TenureMonths is how long the customer has been a customer.
	TenureMonths float64
	// DDFailed reports a failed or reversed direct debit in the last 30
	// days; DDFailureReason is its SEPA reason code (AM04, MD06...).
	DDFailed        bool
	DDFailureReason string
	// DDFailures12m counts failed or reversed direct debits in 12 months.
	DDFailures12m float64
	// LatenessTrendDays is the change in average days late, recent
	// invoices against earlier ones (> 0 means paying later and later).
	LatenessTrendDays float64
	// LateShareTrend is the share of invoices paid late in the last 90
	// days minus that share over 12 months (> 0: more often late lately).
	LateShareTrend float64
	// AddressChange180d reports an address change in the last 180 days.
	AddressChange180d bool
	// BrokenArrangements12m counts payment plans broken in the last 24
	// months (the signal's window; the name is kept for policy files).
	BrokenArrangements12m float64
	// ArrangementActive reports a payment plan in force.
	ArrangementActive bool
	// DisputesOpen counts open disputes.
	DisputesOpen float64
	// Collections12m counts hand-overs to collection, FinalNotices12m
	// final notices (14-day letters), both in the last 12 months.
	Collections12m  float64
	FinalNotices12m float64
	// OverdueAmount is the open amount past its due date; OverdueDays the
	// age in days of the oldest open overdue invoice (0 when none).
	OverdueAmount float64
	OverdueDays   float64
	// DaysToDue is the number of days until the due date of the invoice
	// at hand (negative after it), NaN when there is none.
	DaysToDue float64
	// Channel is "online" or "offline"; PaymentMethod, CustomerType,
	// Segment and Country come from the customer record.
	Channel       string
	PaymentMethod string
	CustomerType  string
	Segment       string
	Country       string
	// MonthlyAmount is the expected recurring amount; InvoiceAmount the
	// amount of the invoice at hand (NaN when none); CreditLimit the
	// customer's (or prospect's requested) credit limit (NaN when none).
	MonthlyAmount float64
	InvoiceAmount float64
	CreditLimit   float64
	// ExpectedValue and AcquisitionCost are a prospect's expected value
	// over the first year and the acquisition cost of its channel
	// (Policy.ExpectedValue); EvaluateOnboarding sets them, NaN elsewhere.
	ExpectedValue   float64
	AcquisitionCost float64
}

// ExpectedRevenue12m is the billing a customer is expected to pay in the
// next 12 months before falling behind: the monthly amount times the
// expected months (of 12) until falling behind. NaN when unknown.
func (s *Situation) ExpectedRevenue12m() float64 {
	return s.MonthlyAmount * s.ExpectedDays / (365.0 / 12)
}

// ExpectedProfit is ExpectedValue minus AcquisitionCost.
func (s *Situation) ExpectedProfit() float64 { return s.ExpectedValue - s.AcquisitionCost }

// NewSituation returns a Situation whose numbers are all unknown (NaN).
func NewSituation() Situation {
	n := math.NaN()
	return Situation{
		P: [5]float64{n, n, n, n, n}, PLate: n, ExpectedDays: n,
		LateInvoices12m: n, TenureMonths: n, DDFailures12m: n, LatenessTrendDays: n, LateShareTrend: n,
		BrokenArrangements12m: n, DisputesOpen: n, Collections12m: n, FinalNotices12m: n,
		OverdueAmount: n, OverdueDays: n, DaysToDue: n,
		MonthlyAmount: n, InvoiceAmount: n, CreditLimit: n, ExpectedValue: n, AcquisitionCost: n,
	}
}

// valueKind is the type of a signal in conditions.
type valueKind int

const (
	kindNumber valueKind = iota + 1
	kindText
	kindFlag
	kindList
)

func (k valueKind) String() string {
	switch k {
	case kindNumber:
		return "number"
	case kindText:
		return "text"
	case kindFlag:
		return "true/false"
	case kindList:
		return "list of codes"
	}
	return "unknown"
}

// signal is one named input of conditions; exactly one of the accessors
// matching kind is set.
type signal struct {
	name string
	kind valueKind
	num  func(s *Situation) *float64
	calc func(s *Situation) float64 // derived number (read-only)
	str  func(s *Situation) *string
	flag func(s *Situation) *bool
	doc  string
}

type value struct {
	num  float64
	str  string
	flag bool
	list []string
}

func (g signal) get(s *Situation) value {
	switch g.kind {
	case kindNumber:
		if g.calc != nil {
			return value{num: g.calc(s)}
		}
		return value{num: *g.num(s)}
	case kindText:
		return value{str: *g.str(s)}
	case kindFlag:
		return value{flag: *g.flag(s)}
	}
	return value{list: s.Reasons}
}

func numSig(name string, f func(s *Situation) *float64, doc string) signal {
	return signal{name: name, kind: kindNumber, num: f, doc: doc}
}

func textSig(name string, f func(s *Situation) *string, doc string) signal {
	return signal{name: name, kind: kindText, str: f, doc: doc}
}

func flagSig(name string, f func(s *Situation) *bool, doc string) signal {
	return signal{name: name, kind: kindFlag, flag: f, doc: doc}
}

// signals returns the catalogue of names a condition may test, in the
// order of docs/actions.md.
func signals() []signal {
	return []signal{
		textSig("kind", func(s *Situation) *string { return &s.Kind }, "model kind: behaviour, invoice or onboarding"),
		numSig("p30", func(s *Situation) *float64 { return &s.P[0] }, "probability of falling behind within 30 days"),
		numSig("p60", func(s *Situation) *float64 { return &s.P[1] }, "... within 60 days"),
		numSig("p90", func(s *Situation) *float64 { return &s.P[2] }, "... within 90 days"),
		numSig("p180", func(s *Situation) *float64 { return &s.P[3] }, "... within 180 days"),
		numSig("p365", func(s *Situation) *float64 { return &s.P[4] }, "... within 365 days"),
		numSig("p_late", func(s *Situation) *float64 { return &s.PLate }, "invoice model: probability that the invoice is not paid by its due date"),
		numSig("expected_days", func(s *Situation) *float64 { return &s.ExpectedDays }, "expected days until falling behind (invoice: expected days late)"),
		textSig("band", func(s *Situation) *string { return &s.Band }, "risk band A (low) .. E (high)"),
		{name: "reasons", kind: kindList, doc: "codes of the model's reasons"},
		textSig("status", func(s *Situation) *string { return &s.Status }, "ok or behind"),
		numSig("late_invoices_12m", func(s *Situation) *float64 { return &s.LateInvoices12m }, "invoices paid late in the last 12 months"),
		numSig("tenure_months", func(s *Situation) *float64 { return &s.TenureMonths }, "months since the customer relationship started"),
		flagSig("dd_failed", func(s *Situation) *bool { return &s.DDFailed }, "a direct debit failed or was reversed in the last 30 days"),
		textSig("dd_failure_reason", func(s *Situation) *string { return &s.DDFailureReason }, "SEPA reason code of that failure (AM04 = insufficient funds)"),
		numSig("dd_failures_12m", func(s *Situation) *float64 { return &s.DDFailures12m }, "failed or reversed direct debits in 12 months"),
		numSig("lateness_trend_days", func(s *Situation) *float64 { return &s.LatenessTrendDays }, "average days late in the last 90 days minus that over 12 months"),
		numSig("late_share_trend", func(s *Situation) *float64 { return &s.LateShareTrend }, "share of invoices late in the last 90 days minus that over 12 months"),
		flagSig("address_change_180d", func(s *Situation) *bool { return &s.AddressChange180d }, "address changed in the last 180 days"),
		numSig("broken_arrangements_12m", func(s *Situation) *float64 { return &s.BrokenArrangements12m }, "payment plans broken in the last 24 months"),
		flagSig("arrangement_active", func(s *Situation) *bool { return &s.ArrangementActive }, "a payment plan is in force"),
		numSig("disputes_open", func(s *Situation) *float64 { return &s.DisputesOpen }, "open disputes"),
		numSig("collections_12m", func(s *Situation) *float64 { return &s.Collections12m }, "hand-overs to collection in the last 12 months"),
		numSig("final_notices_12m", func(s *Situation) *float64 { return &s.FinalNotices12m }, "final notices (14-day letters) in the last 12 months"),
		numSig("overdue_amount", func(s *Situation) *float64 { return &s.OverdueAmount }, "open amount past its due date"),
		numSig("overdue_days", func(s *Situation) *float64 { return &s.OverdueDays }, "age in days of the oldest open overdue invoice"),
		numSig("days_to_due", func(s *Situation) *float64 { return &s.DaysToDue }, "days until the due date of the invoice at hand"),
		textSig("channel", func(s *Situation) *string { return &s.Channel }, "online or offline"),
		textSig("payment_method", func(s *Situation) *string { return &s.PaymentMethod }, "direct_debit, bank_transfer, card or pay_link"),
		textSig("customer_type", func(s *Situation) *string { return &s.CustomerType }, "consumer or business"),
		textSig("segment", func(s *Situation) *string { return &s.Segment }, "line of business"),
		textSig("country", func(s *Situation) *string { return &s.Country }, "ISO 3166 country code"),
		numSig("monthly_amount", func(s *Situation) *float64 { return &s.MonthlyAmount }, "expected recurring amount per month"),
		numSig("invoice_amount", func(s *Situation) *float64 { return &s.InvoiceAmount }, "amount of the invoice at hand"),
		numSig("credit_limit", func(s *Situation) *float64 { return &s.CreditLimit }, "credit limit (at onboarding: the one requested)"),
		{name: "expected_revenue_12m", kind: kindNumber, calc: (*Situation).ExpectedRevenue12m, doc: "monthly amount times the expected months (of 12) until falling behind"},
		numSig("expected_value", func(s *Situation) *float64 { return &s.ExpectedValue }, "onboarding: the prospect's expected value over the first year (onboarding.value; docs/actions.md)"),
		numSig("acquisition_cost", func(s *Situation) *float64 { return &s.AcquisitionCost }, "onboarding: the acquisition cost of the prospect's channel (onboarding.value.acquisition_cost)"),
		{name: "expected_profit", kind: kindNumber, calc: (*Situation).ExpectedProfit, doc: "onboarding: expected_value minus acquisition_cost"},
	}
}

// Signal describes one signal conditions may test.
type Signal struct {
	Name, Type, Doc string
}

// Signals returns the catalogue of signals conditions may test.
func Signals() []Signal {
	ss := signals()
	out := make([]Signal, len(ss))
	for i, s := range ss {
		out[i] = Signal{Name: s.name, Type: s.kind.String(), Doc: s.doc}
	}
	return out
}

// SignalNames returns the names conditions may test, in catalogue order.
func SignalNames() []string {
	ss := signals()
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = s.name
	}
	return out
}

func findSignal(ss []signal, name string) (signal, bool) {
	i := slices.IndexFunc(ss, func(s signal) bool { return s.name == name })
	if i < 0 {
		return signal{}, false
	}
	return ss[i], true
}
