package api

import (
	"math"
	"time"

	"github.com/duewise/duewise/model"
	"github.com/duewise/duewise/serving/policy"
)

// Probabilities are P(event within h) per horizon.
type Probabilities struct {
	D30  float64 `json:"30d"`
	D60  float64 `json:"60d"`
	D90  float64 `json:"90d"`
	D180 float64 `json:"180d"`
	D365 float64 `json:"365d"`
}

// Reason is one explained driver of a score.
type Reason struct {
	Code      string  `json:"code"`
	Text      string  `json:"text"`
	Direction string  `json:"direction"` // increases_risk | decreases_risk
	Weight    float64 `json:"weight"`    // signed contribution to the 90-day risk
}

// ModelRef names the model that scored.
type ModelRef struct {
	Kind    string `json:"kind"`
	Version string `json:"version"`
}

// RiskAnswer is the answer of the risk endpoints.
type RiskAnswer struct {
	CustomerID    string          `json:"customer_id"`
	AsOf          string          `json:"as_of"`
	Status        string          `json:"status"`
	Probabilities Probabilities   `json:"probabilities"`
	ExpectedDays  float64         `json:"expected_days"`
	Band          string          `json:"band"`
	Reasons       []Reason        `json:"reasons"`
	Actions       []policy.Action `json:"actions"`
	RulesFired    []string        `json:"rules_fired"`
	Model         ModelRef        `json:"model"`
}

// values is a customer's signals by name.
type values struct {
	num map[string]float64
	cat map[string]string
}

func (v values) n(name string) float64 {
	if x, ok := v.num[name]; ok {
		return x
	}
	return math.NaN()
}

// score runs the model, the explanation and the policy.
func (s *Server) score(l *loaded, v values, customer string, asOf time.Time, status, lang string, top int) RiskAnswer {
	a := l.a
	num, cat := make([]float64, len(a.Features)), make([]string, len(a.Features))
	inputs(a, num, cat, func(n string) (float64, bool) { x, ok := v.num[n]; return x, ok }, func(n string) (string, bool) { x, ok := v.cat[n]; return x, ok })
	var p model.Prediction
	l.scorer.Predict(num, cat, &p)
	ans := RiskAnswer{CustomerID: customer, AsOf: asOf.Format(time.DateOnly), Status: status,
		Probabilities: Probabilities{round(p.P[0]), round(p.P[1]), round(p.P[2]), round(p.P[3]), round(p.P[4])},
		ExpectedDays:  math.Round(p.ExpectedDays*10) / 10, Band: p.Band, Reasons: []Reason{},
		Model: ModelRef{Kind: string(a.Kind), Version: a.Version}}
	var codes []string
	if top > 0 {
		for _, at := range l.scorer.Explain(num, cat, top, nil) {
			code, text := model.Reason(at, lang)
			ans.Reasons = append(ans.Reasons, Reason{Code: code, Text: text, Direction: model.Direction(at), Weight: round(at.Weight)})
			if at.Weight > 0 {
				codes = append(codes, code)
			}
		}
	}
	sit := situation(v, &p, string(a.Kind), status, codes)
	res := s.cfg.Policy.Evaluate(&sit)
	ans.Actions, ans.RulesFired = res.Actions, res.RulesFired
	s.met.scores.WithLabelValues(string(a.Kind), a.Version, p.Band).Inc()
	return ans
}

func round(x float64) float64 { return math.Round(x*1e6) / 1e6 }

// situation maps a prediction and the signals onto what the policy reads.
func situation(v values, p *model.Prediction, kind, status string, reasons []string) policy.Situation {
	s := policy.NewSituation()
	s.Kind, s.P, s.ExpectedDays, s.Band, s.Status, s.Reasons = kind, p.P, p.ExpectedDays, p.Band, status, reasons
	if n, share := v.n("invoices_365d"), v.n("late_share_365d"); !math.IsNaN(n) {
		s.LateInvoices12m = 0
		if !math.IsNaN(share) {
			s.LateInvoices12m = math.Round(n * share)
		}
	}
	s.TenureMonths = v.n("tenure_days") / 30.44
	if d := v.n("days_since_last_dd_failure"); !math.IsNaN(d) && d <= 30 {
		s.DDFailed = true
	} else if v.n("dd_failed_90d") > 0 && math.IsNaN(d) {
		s.DDFailed = true
	}
	s.DDFailureReason = v.cat["last_dd_failure_reason"]
	if s.DDFailureReason == "" && s.DDFailed {
		switch {
		case v.n("dd_insufficient_funds_365d") > 0:
			s.DDFailureReason = "AM04"
		case v.n("dd_account_closed_365d") > 0:
			s.DDFailureReason = "AC04"
		}
	}
	if att, share := v.n("dd_attempts_365d"), v.n("dd_failed_share_365d"); !math.IsNaN(att) {
		s.DDFailures12m = 0
		if !math.IsNaN(share) {
			s.DDFailures12m = math.Round(att * share)
		}
	}
	if a, b := v.n("days_late_mean_90d"), v.n("days_late_mean_365d"); !math.IsNaN(a) && !math.IsNaN(b) {
		s.LatenessTrendDays = a - b
	}
	s.AddressChange90d = v.n("address_changes_180d") > 0
	s.BrokenArrangements12m = v.n("arrangements_broken_730d")
	s.OverdueAmount = v.n("open_overdue_amount")
	s.OverdueDays = v.n("oldest_overdue_days")
	s.DaysToDue = v.n("days_to_due")
	s.Channel, s.PaymentMethod, s.CustomerType, s.Segment = v.cat["channel"], v.cat["payment_method"], v.cat["customer_type"], v.cat["segment"]
	s.MonthlyAmount = v.n("monthly_amount")
	s.InvoiceAmount = v.n("invoice_amount")
	return s
}
