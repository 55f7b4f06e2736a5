package scoring

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/duewise/duewise/datasets"
	"github.com/duewise/duewise/features"
	"github.com/duewise/duewise/model"
	"github.com/duewise/duewise/serving/online"
	"github.com/duewise/duewise/serving/policy"
)

// View pins what a request scores with: a tenant's active model of one
// kind and, for customer lookups, the online features. A batch scores all
// its records with one View, so that a model switch in the middle does not
// mix models. Safe for concurrent use (immutable).
type View struct {
	s      *Core
	tenant string
	l      *loaded
	t      *online.Table
	m      *tableMap
}

// View returns the View of tenant's active model of kind, with the online
// features when lookups is set. Without such a model, or without the
// features, it returns an ErrUnavailable error.
func (s *Core) View(tenant string, kind model.Kind, lookups bool) (*View, error) {
	l := s.models.get(tenant, string(kind))
	if l == nil {
		return nil, unavailable("no active %s model for this tenant (train one and run duewise models promote VERSION)", kind)
	}
	v := &View{s: s, tenant: tenant, l: l}
	if lookups {
		var err error
		if v.t, v.m, err = s.table(); err != nil {
			return nil, err
		}
	}
	return v, nil
}

// Customer scores the tenant's customer id from the online features, with
// reasons in lang ("en" or "nl"); buf is reused for the signals (see
// Catalog.NewValues; the zero value works). An unknown customer is an
// ErrNotFound error about field.
func (v *View) Customer(id, field, lang string, buf *Values) (RiskAnswer, error) {
	r, found := v.t.Lookup(v.tenant, id)
	if !found {
		return RiskAnswer{}, notFound(field, "customer %q not found in the online features of this tenant", id)
	}
	*buf = v.s.cat.Reset(*buf)
	v.m.fromRow(r, buf)
	ans, _ := v.s.score(v.l, buf, id, r.AsOf, r.Status, lang)
	return ans, nil
}

// Customer scores one of tenant's customers with its active behaviour
// model (View then View.Customer).
func (s *Core) Customer(tenant, id, lang string) (RiskAnswer, error) {
	v, err := s.View(tenant, model.Behaviour, true)
	if err != nil {
		return RiskAnswer{}, err
	}
	var buf Values
	return v.Customer(id, "id", lang, &buf)
}

// Inline is a customer described in a request: by its signals or by its
// history (in the data-contract shape). A plain value.
type Inline struct {
	CustomerID string
	// AsOf is the reference date, YYYY-MM-DD; empty is today.
	AsOf string
	// Signals are the signals, when HasSignals.
	Signals    Values
	HasSignals bool
	// History is the customer's history, nil when absent.
	History *features.History
}

// Inline scores rec with the View's model; field paths of errors are
// under prefix ("" or "records[3].").
func (v *View) Inline(rec *Inline, prefix, lang string) (RiskAnswer, error) {
	s := v.s
	asOf, err := parseDate(rec.AsOf, prefix+"as_of", s.today())
	if err != nil {
		return RiskAnswer{}, err
	}
	vals := s.cat.NewValues()
	var status string
	switch {
	case rec.History != nil && rec.HasSignals:
		return RiskAnswer{}, Invalid(prefix+"signals", "send either signals or history, not both")
	case rec.History != nil:
		h := rec.History
		if rec.CustomerID != "" && h.Customer.CustomerID != "" && rec.CustomerID != h.Customer.CustomerID {
			return RiskAnswer{}, Invalid(prefix+"history.customer.customer_id", "%q differs from customer_id %q", h.Customer.CustomerID, rec.CustomerID)
		}
		row, err := features.Compute(h, asOf, s.cfg.Threshold)
		if err != nil {
			return RiskAnswer{}, Invalid(prefix+"history", "%v", err)
		}
		s.cat.fromComputed(&row, &vals)
		status = row.Status
		if rec.CustomerID == "" {
			rec.CustomerID = h.Customer.CustomerID
		}
	case rec.HasSignals:
		if err := s.cat.checkSignals(&rec.Signals, prefix); err != nil {
			return RiskAnswer{}, err
		}
		vals = rec.Signals
		status = "ok"
		if d := vals.Num[s.cat.ix.overdueDays]; d >= float64(s.cfg.Threshold) {
			status = "behind"
		}
	default:
		return RiskAnswer{}, Invalid(prefix+"signals", "send the customer's signals or its history")
	}
	ans, _ := s.score(v.l, &vals, rec.CustomerID, asOf, status, lang)
	if rec.History != nil {
		ans.Signals = s.signalsOf(&vals)
	}
	return ans, nil
}

// Onboarding is a prospect's onboarding attributes. A plain value.
type Onboarding struct {
	ProspectID    string   `json:"prospect_id"`
	CustomerType  string   `json:"customer_type"`
	Segment       string   `json:"segment"`
	Channel       string   `json:"channel"`
	PaymentMethod string   `json:"payment_method"`
	Country       string   `json:"country"`
	PostcodeArea  string   `json:"postcode_area"`
	MonthlyAmount *float64 `json:"monthly_amount"`
	CreditLimit   *float64 `json:"credit_limit"`
	// Attributes are the tenant's declared attributes of the prospect,
	// name -> value (a number or a string; null or absent = missing).
	Attributes map[string]json.RawMessage `json:"attributes"`
}

// OnboardingAnswer is the onboarding model's answer plus the advice.
type OnboardingAnswer struct {
	RiskAnswer
	Advice policy.OnboardingAdvice `json:"advice"`
}

func (req *Onboarding) check() error {
	for _, ch := range []struct {
		field, val string
		allowed    []string
	}{
		{"customer_type", req.CustomerType, datasets.CustomerTypes},
		{"channel", req.Channel, datasets.Channels},
		{"payment_method", req.PaymentMethod, datasets.PaymentMethods},
	} {
		if !slices.Contains(ch.allowed, ch.val) {
			what := fmt.Sprintf("%q", ch.val)
			if ch.val == "" {
				what = "missing"
			}
			return Invalid(ch.field, "%s, want one of %s", what, strings.Join(ch.allowed, ", "))
		}
	}
	if req.Country != "" && (len(req.Country) != 2 || strings.ToUpper(req.Country) != req.Country) {
		return Invalid("country", "%q, want an ISO 3166 alpha-2 code such as NL", req.Country)
	}
	if req.MonthlyAmount == nil || !(*req.MonthlyAmount >= 0) {
		return Invalid("monthly_amount", "required, a number >= 0")
	}
	if err := checkNumber("monthly_amount", *req.MonthlyAmount); err != nil {
		return err
	}
	if req.CreditLimit != nil && !(*req.CreditLimit >= 0) {
		return Invalid("credit_limit", "must be >= 0")
	}
	if req.CreditLimit != nil {
		return checkNumber("credit_limit", *req.CreditLimit)
	}
	return nil
}

// Onboarding scores a prospect with tenant's onboarding model.
func (s *Core) Onboarding(tenant string, req *Onboarding, lang string) (OnboardingAnswer, error) {
	if err := req.check(); err != nil {
		return OnboardingAnswer{}, err
	}
	vw, err := s.View(tenant, model.Onboarding, false)
	if err != nil {
		return OnboardingAnswer{}, err
	}
	l := vw.l
	today := s.today()
	ix := &s.cat.ix
	v := s.cat.NewValues()
	v.Num[ix.monthly], v.Num[ix.tenure] = *req.MonthlyAmount, 0
	v.Num[s.cat.numIdx["as_of_month"]] = float64(today.Month())
	if req.CreditLimit != nil {
		v.Num[ix.creditLimit] = *req.CreditLimit
	}
	if err := l.attributeValues(req.Attributes, &v); err != nil {
		return OnboardingAnswer{}, err
	}
	v.Cat[ix.customerType], v.Cat[ix.segment], v.Cat[ix.channel] = req.CustomerType, req.Segment, req.Channel
	v.Cat[ix.method], v.Cat[ix.country], v.Cat[s.cat.catIdx["postcode_area"]] = req.PaymentMethod, req.Country, req.PostcodeArea
	p, reasons, codes := s.prediction(l, &v, lang)
	ans := RiskAnswer{CustomerID: req.ProspectID, AsOf: today.Format(time.DateOnly), Status: "ok",
		Probabilities: Probabilities{round(p.P[0]), round(p.P[1]), round(p.P[2]), round(p.P[3]), round(p.P[4])},
		ExpectedDays:  math.Round(p.ExpectedDays*10) / 10, Band: p.Band, Reasons: reasons,
		Model: ModelRef{Kind: string(l.a.Kind), Version: l.entry.Version}, Risk: p.Risk90}
	sit := s.situation(&v, &p, string(model.Onboarding), "ok", lang, codes)
	adv := s.cfg.Policy.EvaluateOnboarding(&sit)
	ans.Actions, ans.RulesFired = adv.Result.Actions, adv.Result.RulesFired
	l.scored(p.Band)
	return OnboardingAnswer{RiskAnswer: ans, Advice: adv}, nil
}

// Invoice is an invoice about to be issued. A plain value.
type Invoice struct {
	CustomerID string   `json:"customer_id"`
	Amount     *float64 `json:"amount"`
	IssuedAt   string   `json:"issued_at"`
	DueAt      string   `json:"due_at"`
	TermsDays  *int     `json:"terms_days"`
}

// InvoiceAnswer is the invoice model's answer.
type InvoiceAnswer struct {
	RiskAnswer
	InvoiceAmount float64 `json:"invoice_amount"`
	IssuedAt      string  `json:"issued_at"`
	DueAt         string  `json:"due_at"`
	// PLate is the probability that the invoice is not paid by its due
	// date; ExpectedDaysLate the expected days late (within 365).
	PLate             float64 `json:"p_late"`
	ExpectedDaysLate  float64 `json:"expected_days_late"`
	ReminderBeforeDue bool    `json:"reminder_before_due"`
	// ReminderDaysBeforeDue says how many days before the due date, when
	// a reminder is advised.
	ReminderDaysBeforeDue int `json:"reminder_days_before_due,omitempty"`
}

// dates checks the invoice and returns its issue and due dates.
func (req *Invoice) dates(today time.Time) (issued, due time.Time, err error) {
	if req.CustomerID == "" {
		return issued, due, Invalid("customer_id", "required")
	}
	if req.Amount == nil || !(*req.Amount > 0) {
		return issued, due, Invalid("amount", "required, a number > 0")
	}
	if err := checkNumber("amount", *req.Amount); err != nil {
		return issued, due, err
	}
	if issued, err = parseDate(req.IssuedAt, "issued_at", today); err != nil {
		return issued, due, err
	}
	switch {
	case req.DueAt != "" && req.TermsDays != nil:
		return issued, due, Invalid("terms_days", "send due_at or terms_days, not both")
	case req.DueAt != "":
		if due, err = parseDate(req.DueAt, "due_at", time.Time{}); err != nil {
			return issued, due, err
		}
		if due.Before(issued) || due.Sub(issued) > 365*24*time.Hour {
			return issued, due, Invalid("due_at", "%s, want a date 0 to 365 days after issued_at %s", req.DueAt, issued.Format(time.DateOnly))
		}
	case req.TermsDays != nil:
		if *req.TermsDays < 0 || *req.TermsDays > 365 {
			return issued, due, Invalid("terms_days", "%d, want 0 to 365", *req.TermsDays)
		}
		due = issued.AddDate(0, 0, *req.TermsDays)
	default:
		return issued, due, Invalid("terms_days", "send due_at or terms_days (0..365)")
	}
	return issued, due, nil
}

// Invoice scores an invoice of one of tenant's customers with its invoice
// model.
func (s *Core) Invoice(tenant string, req *Invoice, lang string) (InvoiceAnswer, error) {
	issued, due, err := req.dates(s.today())
	if err != nil {
		return InvoiceAnswer{}, err
	}
	vw, err := s.View(tenant, model.Invoice, true)
	if err != nil {
		return InvoiceAnswer{}, err
	}
	r, found := vw.t.Lookup(tenant, req.CustomerID)
	if !found {
		return InvoiceAnswer{}, notFound("customer_id", "customer %q not found in the online features of this tenant", req.CustomerID)
	}
	v := s.cat.NewValues()
	vw.m.fromRow(r, &v)
	v.Num[s.cat.ix.invoiceAmount] = *req.Amount
	v.Num[s.cat.numIdx[sigInvoiceTerms]] = due.Sub(issued).Hours() / 24
	v.Num[s.cat.ix.daysToDue] = due.Sub(s.today()).Hours() / 24
	ans, p := s.score(vw.l, &v, req.CustomerID, r.AsOf, r.Status, lang)
	ans.Risk = p.PLate
	out := InvoiceAnswer{RiskAnswer: ans, InvoiceAmount: *req.Amount, IssuedAt: issued.Format(time.DateOnly), DueAt: due.Format(time.DateOnly),
		PLate: round(p.PLate), ExpectedDaysLate: math.Round(p.ExpectedDays*10) / 10}
	for _, a := range ans.Actions {
		if a.When.Anchor == "due_date" && a.When.OffsetDays < 0 {
			out.ReminderBeforeDue, out.ReminderDaysBeforeDue = true, -a.When.OffsetDays
		}
	}
	return out, nil
}
