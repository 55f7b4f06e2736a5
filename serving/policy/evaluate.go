package policy

import (
	"math"
	"slices"
	"strings"
)

// Action is one recommended preventive action. A plain value.
type Action struct {
	Type           string   `json:"type"`
	When           WhenSpec `json:"when"`
	Channel        string   `json:"channel"`
	Tone           string   `json:"tone"`
	MessageKey     string   `json:"message_key"`
	Why            Why      `json:"why"`
	ExpectedEffect string   `json:"expected_effect"`
	// Details are figures computed for the action (statutory collection
	// costs, claim value lost, deposit), when the action asks for them.
	Details map[string]float64 `json:"details,omitempty"`
	// Params are values for the message template: fixed ones from the
	// policy (e.g. include: pay_link) and computed ones (the SEPA code of
	// a failed debit and what it means).
	Params map[string]string `json:"params,omitempty"`
}

// Why says which rule recommended an action and the values of the signals
// that made its condition hold.
type Why struct {
	Rule    string         `json:"rule"`
	Signals map[string]any `json:"signals"`
}

// Result is the policy's answer for a behaviour or invoice score.
type Result struct {
	Actions    []Action `json:"actions"`
	RulesFired []string `json:"rules_fired"`
}

// OnboardingAdvice is the policy's answer for a prospect: the decision,
// whether the prospect is worth acquisition spend, and why. The actions
// and the rules that fired are in Result.
type OnboardingAdvice struct {
	Decision              string `json:"decision"`
	WorthAcquisitionSpend bool   `json:"worth_acquisition_spend"`
	// Why names the onboarding rule that decided and its signals.
	Why Why `json:"why"`
	// Acquisition shows the values of the signals the acquisition
	// condition tests, whether it held or not.
	Acquisition Why `json:"acquisition"`
	// ExpectedValue is the prospect's expected value over the first year
	// and AcquisitionCost what acquiring it through its channel costs
	// (Policy.ExpectedValue, onboarding.value of the policy); Value holds
	// the parts of the expected value.
	ExpectedValue   float64      `json:"expected_value"`
	AcquisitionCost float64      `json:"acquisition_cost"`
	Value           ValueFigures `json:"value"`
	Result          Result       `json:"-"`
}

// Evaluate returns the actions for s from the behaviour/invoice rules: the
// actions of every rule that fires, in rule order, until a final rule, at
// most MaxActions. Safe for concurrent use.
func (p *Policy) Evaluate(s *Situation) Result {
	res := Result{Actions: []Action{}, RulesFired: []string{}}
	kind := s.Kind
	if kind == "" {
		kind = "behaviour"
	}
	for i := range p.Rules {
		r := &p.Rules[i]
		if len(r.Kinds) > 0 && !slices.Contains(r.Kinds, kind) {
			continue
		}
		why, ok := r.When.eval(s)
		if !ok {
			continue
		}
		res.RulesFired = append(res.RulesFired, r.Name)
		p.addActions(&res, r, why, s)
		if r.Final {
			break
		}
	}
	return res
}

// addActions appends the actions of rule r whose own condition holds, up
// to MaxActions.
func (p *Policy) addActions(res *Result, r *Rule, why map[string]any, s *Situation) {
	for k := range r.Actions {
		a := &r.Actions[k]
		if len(res.Actions) >= p.MaxActions {
			return
		}
		w := why
		if a.If != nil {
			extra, ok := a.If.eval(s)
			if !ok {
				continue
			}
			if len(extra) > 0 {
				w = make(map[string]any, len(why)+len(extra))
				for k, v := range why {
					w[k] = v
				}
				for k, v := range extra {
					w[k] = v
				}
			}
		}
		res.Actions = append(res.Actions, p.action(a, r.Name, w, s))
	}
}

// EvaluateOnboarding returns the onboarding decision for a prospect: the
// first onboarding rule that fires (the last rule should always fire; when
// none does the decision is refer_to_person) and whether the prospect is
// worth acquisition spend. Safe for concurrent use.
func (p *Policy) EvaluateOnboarding(s *Situation) OnboardingAdvice {
	adv := OnboardingAdvice{Decision: "refer_to_person", Result: Result{Actions: []Action{}, RulesFired: []string{}},
		Why: Why{Rule: "", Signals: map[string]any{}}}
	adv.ExpectedValue, adv.Value = p.ExpectedValue(s)
	adv.AcquisitionCost = p.AcquisitionCostOf(s.Channel)
	s.ExpectedValue, s.AcquisitionCost = adv.ExpectedValue, adv.AcquisitionCost
	for i := range p.Onboarding.Rules {
		r := &p.Onboarding.Rules[i]
		why, ok := r.When.eval(s)
		if !ok {
			continue
		}
		adv.Decision = r.Decision
		adv.Why = Why{Rule: r.Name, Signals: why}
		adv.Result.RulesFired = append(adv.Result.RulesFired, r.Name)
		p.addActions(&adv.Result, r, why, s)
		break
	}
	_, adv.WorthAcquisitionSpend = p.Onboarding.Acquisition.eval(s)
	adv.Acquisition = Why{Rule: "acquisition", Signals: p.Onboarding.Acquisition.values(s)}
	if adv.WorthAcquisitionSpend {
		adv.Result.RulesFired = append(adv.Result.RulesFired, "acquisition")
	}
	return adv
}

func (p *Policy) action(a *ActionSpec, rule string, why map[string]any, s *Situation) Action {
	out := Action{
		Type: a.Type, When: a.When, Channel: resolveChannel(a.Channel, s.Channel), Tone: a.Tone,
		MessageKey: p.messageKey(a.MessageKey, s), ExpectedEffect: a.ExpectedEffect, Why: Why{Rule: rule, Signals: why},
	}
	if len(a.Params) > 0 {
		out.Params = make(map[string]string, len(a.Params)+2)
		for k, v := range a.Params {
			out.Params[k] = v
		}
	}
	amount := s.OverdueAmount
	if math.IsNaN(amount) {
		amount = 0
	}
	switch a.Compute {
	case "wik_costs":
		out.Details = map[string]float64{"overdue_amount": amount, "wik_collection_costs_max": p.WIK.Costs(amount)}
	case "claim_value":
		days := s.OverdueDays
		if math.IsNaN(days) {
			days = 0
		}
		now, later := p.ClaimDecay.Lost(days), p.ClaimDecay.Lost(days+91)
		out.Details = map[string]float64{
			"overdue_amount":          amount,
			"claim_value_lost_now":    round4(now),
			"claim_value_lost_in_3m":  round4(later),
			"expected_recovery_now":   math.Round(amount*(1-now)*100) / 100,
			"expected_recovery_in_3m": math.Round(amount*(1-later)*100) / 100,
		}
	case "sepa_reason":
		code := s.DDFailureReason
		if code == "" {
			code = "unknown"
		}
		text, _ := SEPAReason(code, s.Lang)
		if out.Params == nil {
			out.Params = make(map[string]string, 2)
		}
		out.Params["sepa_code"], out.Params["sepa_reason"] = code, text
	case "deposit_or_limit":
		out.Details = map[string]float64{}
		if m := s.MonthlyAmount; !math.IsNaN(m) {
			out.Details["deposit"] = math.Round(m*p.Onboarding.DepositMonths*100) / 100
		}
		if l := s.CreditLimit; !math.IsNaN(l) {
			out.Details["credit_limit"] = math.Round(l*p.Onboarding.LimitFactor*100) / 100
		}
	}
	return out
}

func round4(f float64) float64 { return math.Round(f*1e4) / 1e4 }

// resolveChannel picks the concrete channel: digital_or_letter is e-mail or
// SMS for online customers and a letter for offline ones.
func resolveChannel(spec, customerChannel string) string {
	if spec != "digital_or_letter" {
		return spec
	}
	if customerChannel == "offline" {
		return "letter"
	}
	return "email_or_sms"
}

// eval reports whether c holds for s and, when it does, the values of the
// signals that made it hold. Most rules do not hold for most customers, so
// it tests first and collects the values only for a condition that holds.
func (c *Condition) eval(s *Situation) (map[string]any, bool) {
	if !c.holds(s, nil) {
		return nil, false
	}
	why := make(map[string]any, len(c.All)+len(c.Any))
	c.holds(s, why)
	return why, true
}

// holds reports whether c holds for s, recording in why (when not nil) the
// values of the predicates of All and Any that hold.
func (c *Condition) holds(s *Situation, why map[string]any) bool {
	for i := range c.All {
		if !c.All[i].eval(s, why) {
			return false
		}
	}
	if len(c.Any) > 0 {
		hit := false
		for i := range c.Any {
			if c.Any[i].eval(s, why) {
				hit = true
				if why == nil {
					break
				}
			}
		}
		if !hit {
			return false
		}
	}
	for i := range c.None {
		if c.None[i].eval(s, nil) {
			return false
		}
	}
	return true
}

// values returns the current values of every signal c tests.
func (c *Condition) values(s *Situation) map[string]any {
	out := map[string]any{}
	for _, g := range [][]Predicate{c.All, c.Any, c.None} {
		for i := range g {
			pr := &g[i]
			v := pr.sig.get(s)
			switch pr.sig.kind {
			case kindNumber:
				if !math.IsNaN(v.num) {
					out[pr.sig.name] = math.Round(v.num*1e6) / 1e6
				}
			case kindText:
				out[pr.sig.name] = v.str
			case kindFlag:
				out[pr.sig.name] = v.flag
			case kindList:
				out[pr.sig.name] = v.list
			}
		}
	}
	return out
}

// eval tests the predicate; when it holds and why is not nil, the signal's
// actual value is recorded in why.
func (pr *Predicate) eval(s *Situation, why map[string]any) bool {
	v := pr.sig.get(s)
	var ok bool
	switch pr.sig.kind {
	case kindNumber:
		ok = compare(v.num, pr.Op, pr.v.num)
	case kindText:
		switch pr.Op {
		case "eq":
			ok = v.str == pr.v.str
		case "ne":
			ok = v.str != pr.v.str
		case "in":
			ok = slices.Contains(pr.set, v.str)
		case "not_in":
			ok = !slices.Contains(pr.set, v.str)
		}
	case kindList:
		ok = slices.Contains(v.list, pr.v.str)
	case kindFlag:
		ok = v.flag == pr.v.flag
	}
	if !ok || why == nil {
		return ok
	}
	switch pr.sig.kind {
	case kindNumber:
		why[pr.sig.name] = math.Round(v.num*1e6) / 1e6
	case kindText:
		why[pr.sig.name] = v.str
	case kindList:
		why[pr.sig.name] = pr.v.str
	case kindFlag:
		why[pr.sig.name] = v.flag
	}
	return true
}

// compare never holds for an unknown (NaN) number.
func compare(a float64, op string, b float64) bool {
	if math.IsNaN(a) {
		return false
	}
	switch op {
	case "eq":
		return a == b
	case "ne":
		return a != b
	case "lt":
		return a < b
	case "lte":
		return a <= b
	case "gt":
		return a > b
	case "gte":
		return a >= b
	}
	return false
}

// placeholders returns the names between braces in key, e.g. "x.{a}" -> a.
func placeholders(key string) []string {
	var out []string
	for {
		i := strings.IndexByte(key, '{')
		if i < 0 {
			return out
		}
		j := strings.IndexByte(key[i:], '}')
		if j < 0 {
			return append(out, key[i+1:])
		}
		out = append(out, key[i+1:i+j])
		key = key[i+j+1:]
	}
}

// messageKey fills the {signal} placeholders of key with s's values
// ("unknown" when empty).
func (p *Policy) messageKey(key string, s *Situation) string {
	if !strings.Contains(key, "{") {
		return key
	}
	for _, name := range placeholders(key) {
		sig, _ := findSignal(p.signals, name)
		v := sig.get(s).str
		if v == "" {
			v = "unknown"
		}
		key = strings.ReplaceAll(key, "{"+name+"}", v)
	}
	return key
}
