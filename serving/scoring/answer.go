package scoring

import (
	"math"
	"strconv"
	"time"

	"github.com/duewise/duewise/model"
	"github.com/duewise/duewise/serving/online"
	"github.com/duewise/duewise/serving/policy"
)

// Probabilities are P(falling behind within h days) per horizon.
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

// RiskAnswer is the answer of the risk endpoints. A plain value.
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
	// Signals are the signals computed from an inline history (only then).
	Signals map[string]any `json:"signals,omitempty"`
	// Risk is the unrounded score the audit trail records: the 90-day
	// risk (for the invoice model the probability of paying late).
	Risk float64 `json:"-"`
	// ShadowVersion and ShadowRisk are the challenger's score of the same
	// request (Config.Shadow), for the audit only.
	ShadowVersion string  `json:"-"`
	ShadowRisk    float64 `json:"-"`
}

// TopReasons is the number of reasons in an answer.
const TopReasons = 5

// inputBufs are the model inputs of one prediction, on the stack for
// models of up to 96 inputs.
type inputBufs struct {
	num [96]float64
	cat [96]string
}

// inputs returns l's inputs from v, in b when they fit.
func (b *inputBufs) inputs(l *loaded, v *Values) ([]float64, []string) {
	n := len(l.a.Features)
	num, cat := b.num[:0], b.cat[:0]
	if n <= len(b.num) {
		num, cat = b.num[:n], b.cat[:n]
	} else {
		num, cat = make([]float64, n), make([]string, n)
	}
	l.inputs(v, num, cat)
	return num, cat
}

// risk is l's risk of v (Prediction.Risk90), without reasons: a shadow
// model's score.
func (s *Core) risk(l *loaded, v *Values) float64 {
	var b inputBufs
	num, cat := b.inputs(l, v)
	var p model.Prediction
	l.scorer.Predict(num, cat, &p)
	return p.Risk90
}

// prediction scores v with l: the model's prediction and its reasons.
func (s *Core) prediction(l *loaded, v *Values, lang string) (model.Prediction, []Reason, []string) {
	var b inputBufs
	num, cat := b.inputs(l, v)
	var p model.Prediction
	var atBuf [TopReasons]model.Attribution
	ats := l.scorer.PredictExplain(num, cat, &p, TopReasons, atBuf[:0])
	reasons := make([]Reason, 0, len(ats))
	var codes []string
	for _, at := range ats {
		code, text := model.ReasonFor(l.attrs[at.Feature], at, lang)
		reasons = append(reasons, Reason{Code: code, Text: text, Direction: model.Direction(at), Weight: round(at.Weight)})
		if at.Weight > 0 {
			codes = append(codes, code)
		}
	}
	return p, reasons, codes
}

// score runs the model, the explanation and the policy for one customer
// and counts the score.
func (s *Core) score(l *loaded, v *Values, customer string, asOf time.Time, status, lang string) (RiskAnswer, model.Prediction) {
	ans, p := s.decide(l, v, customer, asOf, status, lang)
	l.scored(p.Band)
	return ans, p
}

// decide is score without counting it (the change feed's comparisons).
func (s *Core) decide(l *loaded, v *Values, customer string, asOf time.Time, status, lang string) (RiskAnswer, model.Prediction) {
	p, reasons, codes := s.prediction(l, v, lang)
	if status == "behind" && l.a.Kind == model.Behaviour {
		behindNow(&p)
	}
	ans := RiskAnswer{CustomerID: customer, AsOf: asOf.Format(time.DateOnly), Status: status,
		Probabilities: Probabilities{round(p.P[0]), round(p.P[1]), round(p.P[2]), round(p.P[3]), round(p.P[4])},
		ExpectedDays:  math.Round(p.ExpectedDays*10) / 10, Band: p.Band, Reasons: reasons,
		Model: ModelRef{Kind: string(l.a.Kind), Version: l.entry.Version}}
	sit := s.situation(v, &p, string(l.a.Kind), status, lang, codes)
	res := s.cfg.Policy.Evaluate(&sit)
	ans.Actions, ans.RulesFired = res.Actions, res.RulesFired
	ans.Risk = p.Risk90
	if sh := l.shadow; sh != nil {
		ans.ShadowVersion, ans.ShadowRisk = sh.entry.Version, s.risk(sh, v)
		if status == "behind" && l.a.Kind == model.Behaviour {
			ans.ShadowRisk = 1 // as behindNow states it for the served model
		}
	}
	return ans, p
}

// behindNow states the prediction for a customer who has already fallen
// behind: the event has happened, so the probability of being behind
// within every horizon is 1, the expected time until it is 0 and the band
// the highest. (The behaviour model never saw such customers in training,
// so its own numbers for them are an extrapolation.) The reasons still
// show what drives the model's risk up.
func behindNow(p *model.Prediction) {
	for i := range p.P {
		p.P[i] = 1
	}
	p.ExpectedDays, p.Risk90, p.Band = 0, 1, "E"
}

func round(x float64) float64 { return math.Round(x*1e6) / 1e6 }

// tidy returns the shortest decimal of a value stored as float32 (the
// online table's precision), so that 241.04 does not show as
// 241.0399932861328; other values are returned as they are.
func tidy(x float64) float64 {
	if math.IsNaN(x) || float64(float32(x)) != x {
		return x
	}
	t, err := strconv.ParseFloat(strconv.FormatFloat(x, 'g', -1, 32), 64)
	if err != nil {
		return x
	}
	return t
}

// situation maps a prediction and the signals onto what the policy reads.
func (s *Core) situation(v *Values, p *model.Prediction, kind, status, lang string, reasons []string) policy.Situation {
	ix := &s.cat.ix
	n := func(i int) float64 { return tidy(v.Num[i]) }
	sit := policy.NewSituation()
	sit.Kind, sit.Lang, sit.P, sit.ExpectedDays, sit.Band, sit.Status, sit.Reasons = kind, lang, p.P, p.ExpectedDays, p.Band, status, reasons
	if kind == string(model.Invoice) {
		sit.PLate = p.PLate
	}
	if inv := v.Num[ix.invoices365]; !math.IsNaN(inv) {
		sit.LateInvoices12m = 0
		if share := v.Num[ix.lateShare365]; !math.IsNaN(share) {
			sit.LateInvoices12m = math.Round(inv * share)
		}
	}
	sit.TenureMonths = math.Round(v.Num[ix.tenure]/(365.0/12)*10) / 10
	if att := v.Num[ix.ddAttempts]; !math.IsNaN(att) {
		sit.DDFailures12m = 0
		if share := v.Num[ix.ddFailedShare]; !math.IsNaN(share) {
			sit.DDFailures12m = math.Round(att * share)
		}
	}
	if d := v.Num[ix.ddDaysSince]; !math.IsNaN(d) && d <= 30 {
		sit.DDFailed = true
		sit.DDFailureReason = v.Cat[ix.lastDDReason]
		if sit.DDFailureReason == "" {
			// Without the reason of the last failure, name it only when
			// every failure of the year had the same reason.
			switch f := sit.DDFailures12m; {
			case f > 0 && v.Num[ix.ddInsufficient] == f:
				sit.DDFailureReason = "AM04"
			case f > 0 && v.Num[ix.ddClosed] == f:
				sit.DDFailureReason = "AC04"
			}
		}
	}
	if a, b := v.Num[ix.lateMean90], v.Num[ix.lateMean365]; !math.IsNaN(a) && !math.IsNaN(b) {
		sit.LatenessTrendDays = math.Round((tidy(a)-tidy(b))*100) / 100
	}
	sit.LateShareTrend = n(ix.lateShareTrend)
	sit.AddressChange180d = v.Num[ix.address180] > 0
	sit.BrokenArrangements12m = n(ix.broken730)
	sit.ArrangementActive = v.Num[ix.arrangementActive] > 0
	sit.DisputesOpen = n(ix.disputesOpen)
	sit.Collections12m = n(ix.collections365)
	sit.FinalNotices12m = n(ix.finalNotices365)
	sit.OverdueAmount = n(ix.overdueAmount)
	sit.OverdueDays = n(ix.overdueDays)
	sit.DaysToDue = n(ix.daysToDue)
	sit.MonthlyAmount = n(ix.monthly)
	sit.InvoiceAmount = n(ix.invoiceAmount)
	sit.CreditLimit = n(ix.creditLimit)
	sit.Channel, sit.PaymentMethod, sit.CustomerType = v.Cat[ix.channel], v.Cat[ix.method], v.Cat[ix.customerType]
	sit.Segment, sit.Country = v.Cat[ix.segment], v.Cat[ix.country]
	return sit
}

// signalsOf returns v's signals by name (numbers, null or strings), for
// answers to inline histories.
func (s *Core) signalsOf(v *Values) map[string]any {
	out := make(map[string]any, len(v.Num)+len(v.Cat))
	for i, name := range s.cat.num {
		if name == sigDaysToDue || name == sigInvoiceAmount || name == sigInvoiceTerms {
			continue
		}
		if x := v.Num[i]; math.IsNaN(x) {
			out[name] = nil
		} else {
			out[name] = x
		}
	}
	for i, name := range s.cat.cat {
		out[name] = v.Cat[i]
	}
	return out
}

// Customers returns the ids of tenant's customers in the online features
// (none before they are loaded).
func (s *Core) Customers(tenant string) []string {
	t := s.online.Current()
	if t == nil {
		return nil
	}
	ids := make([]string, 0, t.Customers(tenant))
	t.Each(tenant, func(_, id string, _ online.Row) bool { ids = append(ids, id); return true })
	return ids
}

// EachSignals calls fn with the signals of tenant's customers in the
// online features, as an inline record would send them (missing ones left
// out), until fn returns false.
func (s *Core) EachSignals(tenant string, fn func(id string, asOf time.Time, signals map[string]any) bool) {
	m := s.tmap.Load()
	if m == nil {
		return
	}
	m.t.Each(tenant, func(_, id string, r online.Row) bool {
		v := s.cat.NewValues()
		m.fromRow(r, &v)
		sig := s.signalsOf(&v)
		for k, x := range sig {
			if f, ok := x.(float64); ok {
				sig[k] = tidy(f)
			}
			if x == nil || x == "" {
				delete(sig, k)
			}
		}
		return fn(id, r.AsOf, sig)
	})
}
