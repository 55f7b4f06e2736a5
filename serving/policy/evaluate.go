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
	// costs, claim value lost), when the action asks for them.
	Details map[string]float64 `json:"details,omitempty"`
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

// OnboardingAdvice is the policy's answer for a prospect.
type OnboardingAdvice struct {
	Decision              string   `json:"decision"`
	WorthAcquisitionSpend bool     `json:"worth_acquisition_spend"`
	Why                   Why      `json:"why"`
	Actions               []Action `json:"actions"`
	RulesFired            []string `json:"rules_fired"`
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
		for k := range r.Actions {
			if len(res.Actions) < p.MaxActions {
				res.Actions = append(res.Actions, p.action(&r.Actions[k], r.Name, why, s))
			}
		}
		if r.Final {
			break
		}
	}
	return res
}

// EvaluateOnboarding returns the onboarding decision for a prospect: the
// first onboarding rule that fires (the last rule should always fire; when
// none does the decision is refer_to_person) and whether the prospect is
// worth acquisition spend. Safe for concurrent use.
func (p *Policy) EvaluateOnboarding(s *Situation) OnboardingAdvice {
	adv := OnboardingAdvice{Decision: "refer_to_person", Actions: []Action{}, RulesFired: []string{}, Why: Why{Rule: "", Signals: map[string]any{}}}
	for i := range p.Onboarding.Rules {
		r := &p.Onboarding.Rules[i]
		why, ok := r.When.eval(s)
		if !ok {
			continue
		}
		adv.Decision = r.Decision
		adv.Why = Why{Rule: r.Name, Signals: why}
		adv.RulesFired = append(adv.RulesFired, r.Name)
		for k := range r.Actions {
			if len(adv.Actions) < p.MaxActions {
				adv.Actions = append(adv.Actions, p.action(&r.Actions[k], r.Name, why, s))
			}
		}
		break
	}
	if _, ok := p.Onboarding.Acquisition.eval(s); ok {
		adv.WorthAcquisitionSpend = true
		adv.RulesFired = append(adv.RulesFired, "acquisition")
	}
	return adv
}

func (p *Policy) action(a *ActionSpec, rule string, why map[string]any, s *Situation) Action {
	out := Action{
		Type: a.Type, When: a.When, Channel: resolveChannel(a.Channel, s.Channel), Tone: a.Tone,
		MessageKey: p.messageKey(a.MessageKey, s), ExpectedEffect: a.ExpectedEffect, Why: Why{Rule: rule, Signals: why},
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
			"overdue_amount":         amount,
			"claim_value_lost_now":   round4(now),
			"claim_value_lost_in_3m": round4(later),
			"expected_recovery_now":  math.Round(amount*(1-now)*100) / 100,
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
// signals that made it hold.
func (c *Condition) eval(s *Situation) (map[string]any, bool) {
	why := map[string]any{}
	for i := range c.All {
		if !c.All[i].eval(s, why) {
			return nil, false
		}
	}
	if len(c.Any) > 0 {
		hit := false
		for i := range c.Any {
			if c.Any[i].eval(s, why) {
				hit = true
			}
		}
		if !hit {
			return nil, false
		}
	}
	for i := range c.None {
		if c.None[i].eval(s, nil) {
			return nil, false
		}
	}
	return why, true
}

// eval tests the predicate; when it holds and why is not nil, the signal's
// actual value is recorded in why.
func (pr *Predicate) eval(s *Situation, why map[string]any) bool {
	v := pr.sig.get(s)
	var ok bool
	var actual any
	switch pr.sig.kind {
	case kindNumber:
		ok, actual = compare(v.num, pr.Op, pr.v.num), v.num
	case kindText:
		actual = v.str
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
		ok, actual = slices.Contains(v.list, pr.v.str), pr.v.str
	case kindFlag:
		ok, actual = v.flag == pr.v.flag, v.flag
	}
	if ok && why != nil {
		why[pr.sig.name] = actual
	}
	return ok
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
