package policy

import (
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func defaultPolicy(t *testing.T) *Policy {
	t.Helper()
	p, err := Default()
	if err != nil {
		t.Fatalf("default policy: %v", err)
	}
	return p
}

// situation returns a low-risk, loyal, online customer to vary per case.
func situation(edit func(s *Situation)) *Situation {
	s := NewSituation()
	s.Kind, s.Status, s.Band, s.Channel = "behaviour", "ok", "A", "online"
	s.P = [5]float64{0.01, 0.02, 0.03, 0.05, 0.08}
	s.LateInvoices12m, s.TenureMonths = 0, 36
	s.DDFailures12m, s.BrokenArrangements12m = 0, 0
	s.LatenessTrendDays, s.OverdueAmount, s.OverdueDays = 0, 0, 0
	if edit != nil {
		edit(&s)
	}
	return &s
}

func types(as []Action) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.Type
	}
	return out
}

// TestEvaluateRules checks the default policy against the practice the
// issue lists, one case per situation.
func TestEvaluateRules(t *testing.T) {
	p := defaultPolicy(t)
	cases := []struct {
		name    string
		s       *Situation
		rules   []string
		actions []string
		check   func(t *testing.T, r Result)
	}{
		{name: "low risk, nothing to do", s: situation(nil), rules: []string{}, actions: []string{}},
		{
			name:    "loyal customer late once: no dunning letter, friendly personal reminder",
			s:       situation(func(s *Situation) { s.LateInvoices12m, s.TenureMonths, s.OverdueDays, s.OverdueAmount = 1, 60, 6, 80 }),
			rules:   []string{"loyal_late_once"},
			actions: []string{"skip_standard_dunning", "personal_reminder"},
			check: func(t *testing.T, r Result) {
				// By e-mail or SMS (a letter offline): the simulation found a
				// call keeps no more customers and costs 400 times an e-mail
				// (docs/simulation.md).
				if a := r.Actions[1]; a.Tone != "friendly" || a.Channel != "email_or_sms" {
					t.Errorf("personal reminder = %+v, want a friendly e-mail or SMS", a)
				}
				if a := r.Actions[0]; a.Channel != "none" {
					t.Errorf("skip dunning = %+v, want no message", a)
				}
				if got := r.Actions[1].Why.Signals["tenure_months"]; got != 60.0 {
					t.Errorf("why.signals.tenure_months = %v, want 60", got)
				}
			},
		},
		{
			name:    "new customer late once is not loyal, but late for the first time in a year: friendly reminder, no dunning letter",
			s:       situation(func(s *Situation) { s.LateInvoices12m, s.TenureMonths, s.OverdueDays = 1, 6, 6 }),
			rules:   []string{"first_late_in_a_year"},
			actions: []string{"skip_standard_dunning", "personal_reminder"},
		},
		{
			name:    "habitual late payer: the first reminder the day after the due date, and one before it",
			s:       situation(func(s *Situation) { s.LateInvoices12m, s.Band = 6, "C" }),
			rules:   []string{"habitual_late_payer", "late_payment_history"},
			actions: []string{"reminder", "reminder_before_due_date"},
			check: func(t *testing.T, r Result) {
				if w := r.Actions[0].When; w != (WhenSpec{"due_date", 1}) {
					t.Errorf("when = %+v, want the day after the due date", w)
				}
			},
		},
		{
			name: "falling behind at two weeks: the stop of service announced instead of the second reminder",
			s: situation(func(s *Situation) {
				s.LateInvoices12m, s.OverdueDays, s.OverdueAmount, s.Band, s.Country = 2, 14, 90, "D", "NL"
				s.P[0] = 0.6
			}),
			rules:   []string{"falling_behind", "late_payment_history"},
			actions: []string{"skip_standard_dunning", "announce_service_stop", "reminder_before_due_date"},
		},
		{
			name: "falling behind at three weeks: stop of service and a payment plan, no second reminder",
			s: situation(func(s *Situation) {
				s.LateInvoices12m, s.OverdueDays, s.OverdueAmount, s.Band, s.Country = 2, 21, 90, "D", "NL"
				s.P[0] = 0.6
			}),
			rules:   []string{"falling_behind", "late_payment_history"},
			actions: []string{"skip_standard_dunning", "announce_service_stop", "offer_payment_plan", "reminder_before_due_date"},
		},
		{
			name: "three weeks overdue at a 30-day risk under 50%: the standard process",
			s: situation(func(s *Situation) {
				s.LateInvoices12m, s.OverdueDays, s.OverdueAmount, s.Band = 2, 21, 90, "C"
				s.P[0] = 0.4
			}),
			rules:   []string{"late_payment_history"},
			actions: []string{"reminder_before_due_date"},
		},
		{
			name: "falling behind in a payment plan: no firm step on top of the plan",
			s: situation(func(s *Situation) {
				s.LateInvoices12m, s.OverdueDays, s.OverdueAmount, s.ArrangementActive = 2, 21, 90, true
				s.P[0] = 0.8
			}),
			rules:   []string{"late_payment_history"},
			actions: []string{"reminder_before_due_date"},
		},
		{
			name:    "loyal customer late once a while ago, paid since: nothing to do",
			s:       situation(func(s *Situation) { s.LateInvoices12m, s.TenureMonths = 1, 60 }),
			rules:   []string{},
			actions: []string{},
		},
		{
			name:    "history of late payment: reminder before the due date",
			s:       situation(func(s *Situation) { s.LateInvoices12m = 3; s.Band = "C" }),
			rules:   []string{"late_payment_history"},
			actions: []string{"reminder_before_due_date"},
			check: func(t *testing.T, r Result) {
				if w := r.Actions[0].When; w.Anchor != "due_date" || w.OffsetDays >= 0 {
					t.Errorf("when = %+v, want before the due date", w)
				}
			},
		},
		{
			name:    "band D without late history: no call (it costs more than it brings, docs/simulation.md)",
			s:       situation(func(s *Situation) { s.Band = "D"; s.P[2] = 0.3 }),
			rules:   []string{},
			actions: []string{},
		},
		{
			name:    "offline habitual late payer: no reminder letter before the due date",
			s:       situation(func(s *Situation) { s.LateInvoices12m, s.Channel, s.Band = 3, "offline", "C" }),
			rules:   []string{},
			actions: []string{},
		},
		{
			name:    "highest risk without late history: proactive personal contact",
			s:       situation(func(s *Situation) { s.Band = "E"; s.P[2] = 0.3 }),
			rules:   []string{"risk_without_late_history"},
			actions: []string{"proactive_personal_contact"},
			check: func(t *testing.T, r Result) {
				if a := r.Actions[0]; a.Channel != "phone" || a.Tone != "friendly" {
					t.Errorf("contact = %+v, want a friendly phone call", a)
				}
			},
		},
		{
			name:    "highest risk, no late history, but overdue now: in the dunning process, no proactive call",
			s:       situation(func(s *Situation) { s.Band, s.OverdueDays, s.OverdueAmount = "E", 3, 50; s.P[2] = 0.3 }),
			rules:   []string{},
			actions: []string{},
		},
		{
			name: "failed direct debit online: pay link by e-mail or SMS naming the reason",
			s: situation(func(s *Situation) {
				s.DDFailed, s.DDFailureReason, s.DDFailures12m, s.PaymentMethod = true, "MS03", 1, "direct_debit"
			}),
			rules:   []string{"failed_direct_debit"},
			actions: []string{"direct_debit_follow_up"},
			check: func(t *testing.T, r Result) {
				a := r.Actions[0]
				if a.Channel != "email_or_sms" || a.MessageKey != "direct_debit_failed.MS03" || a.When != (WhenSpec{"now", 0}) {
					t.Errorf("follow-up = %+v", a)
				}
				if a.Params["include"] != "pay_link" || a.Params["sepa_code"] != "MS03" || a.Params["sepa_reason"] != "the bank gave no reason" {
					t.Errorf("params = %v, want a pay link and the SEPA reason explained", a.Params)
				}
			},
		},
		{
			name:    "failed direct debit offline: letter, in Dutch when asked",
			s:       situation(func(s *Situation) { s.DDFailed, s.DDFailureReason, s.Channel, s.Lang = true, "MS03", "offline", "nl" }),
			rules:   []string{"failed_direct_debit"},
			actions: []string{"direct_debit_follow_up"},
			check: func(t *testing.T, r Result) {
				if r.Actions[0].Channel != "letter" {
					t.Errorf("channel = %q, want letter for an offline customer", r.Actions[0].Channel)
				}
				if got := r.Actions[0].Params["sepa_reason"]; got != "de bank gaf geen reden" {
					t.Errorf("sepa_reason = %q", got)
				}
			},
		},
		{
			name:    "closed account: follow-up and a new mandate",
			s:       situation(func(s *Situation) { s.DDFailed, s.DDFailureReason = true, "AC04" }),
			rules:   []string{"failed_direct_debit"},
			actions: []string{"direct_debit_follow_up", "request_new_mandate"},
			check: func(t *testing.T, r Result) {
				if got := r.Actions[1].Why.Signals["dd_failure_reason"]; got != "AC04" {
					t.Errorf("why of the mandate request = %v", r.Actions[1].Why)
				}
			},
		},
		{
			name:    "refused debit: follow-up and a personal call about why",
			s:       situation(func(s *Situation) { s.DDFailed, s.DDFailureReason = true, "MD06" }),
			rules:   []string{"failed_direct_debit"},
			actions: []string{"direct_debit_follow_up", "personal_contact_about_refusal"},
		},
		{
			name: "insufficient funds: follow-up and payment plan",
			s: situation(func(s *Situation) {
				s.DDFailed, s.DDFailureReason, s.P[2], s.Band = true, "AM04", 0.2, "C"
			}),
			rules:   []string{"failed_direct_debit", "temporary_hardship"},
			actions: []string{"direct_debit_follow_up", "offer_payment_plan"},
			check: func(t *testing.T, r Result) {
				if got := r.Actions[1].Why.Signals["dd_failure_reason"]; got != "AM04" {
					t.Errorf("why.signals.dd_failure_reason = %v, want AM04", got)
				}
				if got := r.Actions[0].Params["sepa_reason"]; got != "there was not enough money on the account" {
					t.Errorf("sepa_reason = %q", got)
				}
			},
		},
		{
			name:    "rising lateness is hardship",
			s:       situation(func(s *Situation) { s.LatenessTrendDays = 9; s.P[2] = 0.15 }),
			rules:   []string{"temporary_hardship"},
			actions: []string{"offer_payment_plan"},
		},
		{
			name:    "more often late lately is hardship",
			s:       situation(func(s *Situation) { s.LateShareTrend = 0.4; s.P[2] = 0.15 }),
			rules:   []string{"temporary_hardship"},
			actions: []string{"offer_payment_plan"},
		},
		{
			name:    "recent move is hardship",
			s:       situation(func(s *Situation) { s.AddressChange180d = true; s.P[2] = 0.12 }),
			rules:   []string{"temporary_hardship"},
			actions: []string{"offer_payment_plan"},
		},
		{
			name:    "a customer already in a plan is not offered another",
			s:       situation(func(s *Situation) { s.AddressChange180d, s.ArrangementActive = true, true; s.P[2] = 0.12 }),
			rules:   []string{},
			actions: []string{},
		},
		{
			name:    "recent move of a low-risk customer is not hardship",
			s:       situation(func(s *Situation) { s.AddressChange180d = true }),
			rules:   []string{},
			actions: []string{},
		},
		{
			name: "chronic non-payment (NL): stop of service, WIK letter, collection; final",
			s: situation(func(s *Situation) {
				s.Status, s.Band, s.LateInvoices12m, s.OverdueDays, s.OverdueAmount = "behind", "E", 6, 190, 1200
				s.LatenessTrendDays, s.P[2], s.Country = 12, 0.9, "NL"
			}),
			rules:   []string{"chronic_non_payment"},
			actions: []string{"announce_service_stop", "wik_14_day_letter", "hand_over_to_collection"},
			check: func(t *testing.T, r Result) {
				if got := r.Actions[1].Details["wik_collection_costs_max"]; got != 180 {
					t.Errorf("WIK costs on 1200 = %v, want 180", got)
				}
				d := r.Actions[2].Details
				if d["claim_value_lost_now"] < 0.36 || d["claim_value_lost_in_3m"] <= d["claim_value_lost_now"] ||
					d["expected_recovery_in_3m"] >= d["expected_recovery_now"] {
					t.Errorf("claim value details = %v", d)
				}
				if r.Actions[2].When.OffsetDays < 14 {
					t.Errorf("hand-over after %d days, want after the 14-day term", r.Actions[2].When.OffsetDays)
				}
			},
		},
		{
			name: "chronic non-payment outside NL: final notice instead of the WIK letter",
			s: situation(func(s *Situation) {
				s.Status, s.OverdueDays, s.OverdueAmount, s.Collections12m, s.Country = "behind", 75, 300, 1, "BE"
			}),
			rules:   []string{"chronic_non_payment"},
			actions: []string{"announce_service_stop", "final_notice", "hand_over_to_collection"},
		},
		{
			name:    "invoice likely late: reminder before due date",
			s:       situation(func(s *Situation) { s.Kind = "invoice"; s.PLate = 0.55; s.DaysToDue = 30 }),
			rules:   []string{"invoice_likely_late"},
			actions: []string{"reminder_before_due_date"},
		},
		{
			name:    "unknown signals never fire",
			s:       func() *Situation { s := NewSituation(); return &s }(),
			rules:   []string{},
			actions: []string{},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := p.Evaluate(tc.s)
			if !slices.Equal(r.RulesFired, tc.rules) {
				t.Errorf("rules fired = %v, want %v", r.RulesFired, tc.rules)
			}
			if got := types(r.Actions); !slices.Equal(got, tc.actions) {
				t.Fatalf("actions = %v, want %v", got, tc.actions)
			}
			for _, a := range r.Actions {
				if a.Why.Rule == "" || a.MessageKey == "" || a.ExpectedEffect == "" || !slices.Contains(Tones, a.Tone) || a.When.Anchor == "" || a.Channel == "" {
					t.Errorf("incomplete action %+v", a)
				}
			}
			if tc.check != nil {
				tc.check(t, r)
			}
		})
	}
}

func TestEvaluateOnboarding(t *testing.T) {
	p := defaultPolicy(t)
	cases := []struct {
		band, customerType, method string
		p365, expectedDays         float64
		monthly                    float64
		decision                   string
		actions                    []string
		worth                      bool
	}{
		// worth: the expected value over the first year (margin 0.3 on
		// the months paid, less claim value lost and costs) above the
		// online acquisition cost of 60.
		{"A", "consumer", "bank_transfer", 0.05, 350, 50, "accept", []string{}, true},
		{"B", "consumer", "card", 0.10, 340, 5, "accept", []string{}, false},
		{"C", "consumer", "bank_transfer", 0.20, 320, 40, "accept_with_direct_debit", []string{"require_direct_debit"}, true},
		{"C", "consumer", "direct_debit", 0.20, 320, 40, "accept", []string{}, true},
		{"D", "consumer", "card", 0.35, 280, 15, "accept_with_deposit_or_lower_limit", []string{"request_deposit"}, false},
		{"D", "business", "card", 0.35, 280, 400, "accept_with_deposit_or_lower_limit", []string{"lower_credit_limit"}, true},
		{"E", "consumer", "card", 0.60, 200, 20, "refer_to_person", []string{"manual_review"}, false},
		{"D", "consumer", "card", 0.55, 200, 20, "refer_to_person", []string{"manual_review"}, false},
	}
	for _, tc := range cases {
		t.Run(tc.band+"/"+tc.customerType+"/"+tc.method, func(t *testing.T) {
			s := NewSituation()
			s.Kind, s.Band, s.MonthlyAmount, s.ExpectedDays = "onboarding", tc.band, tc.monthly, tc.expectedDays
			s.CustomerType, s.PaymentMethod, s.CreditLimit, s.Channel = tc.customerType, tc.method, 5000, "online"
			s.P = [5]float64{0.05 * tc.p365, 0.15 * tc.p365, 0.3 * tc.p365, 0.6 * tc.p365, tc.p365}
			adv := p.EvaluateOnboarding(&s)
			if adv.Decision != tc.decision || adv.WorthAcquisitionSpend != tc.worth {
				t.Errorf("advice = %s worth=%v, want %s worth=%v", adv.Decision, adv.WorthAcquisitionSpend, tc.decision, tc.worth)
			}
			if got := types(adv.Result.Actions); !slices.Equal(got, tc.actions) {
				t.Errorf("actions = %v, want %v", got, tc.actions)
			}
			if len(adv.Result.RulesFired) == 0 || adv.Result.RulesFired[0] != adv.Why.Rule {
				t.Errorf("rules fired %v, why %q", adv.Result.RulesFired, adv.Why.Rule)
			}
			if slices.Contains(adv.Result.RulesFired, "acquisition") != tc.worth {
				t.Errorf("rules fired %v, worth %v", adv.Result.RulesFired, tc.worth)
			}
			if adv.AcquisitionCost != 60 || (adv.ExpectedValue > 60) != tc.worth || adv.Acquisition.Signals["expected_profit"] != round4(adv.ExpectedValue-60) {
				t.Errorf("expected value %v, acquisition cost %v, acquisition why %v", adv.ExpectedValue, adv.AcquisitionCost, adv.Acquisition)
			}
			for _, a := range adv.Result.Actions {
				switch a.Type {
				case "request_deposit":
					if a.Details["deposit"] != 2*tc.monthly {
						t.Errorf("deposit %v, want two months of %v", a.Details, tc.monthly)
					}
				case "lower_credit_limit":
					if a.Details["credit_limit"] != 2500 {
						t.Errorf("limit %v, want half of 5000", a.Details)
					}
				}
			}
		})
	}
}

func TestMaxActions(t *testing.T) {
	text := strings.Replace(string(DefaultYAML()), "max_actions: 4", "max_actions: 1", 1)
	p, err := Parse("one.yaml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	r := p.Evaluate(situation(func(s *Situation) { s.DDFailed, s.DDFailureReason, s.P[2], s.Band = true, "AM04", 0.3, "E" }))
	// failed_direct_debit, temporary_hardship and risk_without_late_history fire
	if len(r.Actions) != 1 || len(r.RulesFired) != 3 {
		t.Errorf("got %d actions from rules %v, want 1 action from 3 rules", len(r.Actions), r.RulesFired)
	}
}

func TestWIKCosts(t *testing.T) {
	w := defaultPolicy(t).WIK
	cases := []struct{ principal, want float64 }{
		{0, 0}, {-5, 0}, {100, 40}, {266.67, 40.0}, {1000, 150}, {2500, 375}, {5000, 625},
		{10000, 875}, {200000, 2775}, {1000000, 6775}, {5000000, 6775}, {3000, 425},
	}
	for _, tc := range cases {
		if got := w.Costs(tc.principal); math.Abs(got-tc.want) > 0.005 {
			t.Errorf("Costs(%v) = %v, want %v", tc.principal, got, tc.want)
		}
	}
}

func TestClaimDecay(t *testing.T) {
	d := defaultPolicy(t).ClaimDecay
	month := 30.4375
	cases := []struct{ days, want float64 }{
		{0, 0}, {1.5 * month, 0.065}, {3 * month, 0.13}, {6 * month, 0.36}, {12 * month, 0.57},
		{24 * month, 0.91}, {48 * month, 0.91}, {9 * month, 0.465},
	}
	for _, tc := range cases {
		if got := d.Lost(tc.days); math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("Lost(%v days) = %v, want %v", tc.days, got, tc.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	good := string(DefaultYAML())
	cases := []struct {
		name string
		text string
		want []string // substrings of the error
	}{
		{"unknown field", strings.Replace(good, "    final: true\n    when:\n      all:\n        - {signal: overdue_days", "    finall: true\n    when:\n      all:\n        - {signal: overdue_days", 1),
			[]string{"rules[1].finall", `unknown field "finall"`, ":46:5"}},
		{"unknown signal", strings.Replace(good, "signal: dd_failed,", "signal: dd_failled,", 1),
			[]string{"rules[0].when.all[0].signal", `unknown signal "dd_failled"`, ":15:12"}},
		{"wrong value type", strings.Replace(good, "{signal: overdue_days, op: gte, value: 30}", "{signal: overdue_days, op: gte, value: thirty}", 1),
			[]string{"rules[1].when.all[0].value", "want a number, got string thirty"}},
		{"bad op for a flag", strings.Replace(good, "{signal: dd_failed, op: is, value: true}", "{signal: dd_failed, op: gte, value: true}", 1),
			[]string{"rules[0].when.all[0].op", "use is"}},
		{"bad tone", strings.Replace(good, "tone: firm", "tone: angry", 1),
			[]string{"rules[1].actions[0].tone", `"angry" is not one of friendly, neutral, firm`}},
		{"bad channel", strings.Replace(good, "channel: phone", "channel: pigeon", 1),
			[]string{".channel", `"pigeon" is not one of`}},
		{"unknown signal in an action's if", strings.Replace(good, "- {signal: country, op: eq, value: NL}\n        when", "- {signal: countri, op: eq, value: NL}\n        when", 1),
			[]string{"rules[1].actions[1].if.all[0].signal", `unknown signal "countri"`}},
		{"bad deposit months", strings.Replace(good, "deposit_months: 2", "deposit_months: -1", 1),
			[]string{"onboarding.deposit_months", "must be more than 0"}},
		{"bad param name", strings.Replace(good, "params: {include: pay_link}", "params: {\"a b\": pay_link}", 1),
			[]string{"rules[0].actions[0].params", `parameter name "a b"`}},
		{"duplicate rule", strings.Replace(good, "name: late_payment_history", "name: loyal_late_once", 1),
			[]string{"rules[7].name", `rule "loyal_late_once" is already defined at rules[3]`}},
		{"bad decision", strings.Replace(good, "decision: accept_with_direct_debit", "decision: maybe", 1),
			[]string{"onboarding.rules[2].decision", `"maybe" is not one of`}},
		{"bad placeholder", strings.Replace(good, "{dd_failure_reason}", "{p90}", 1),
			[]string{"rules[0].actions[0].message_key", "placeholder {p90} is not a text signal"}},
		{"wik tiers out of order", strings.Replace(good, "{up_to: 5000, rate: 0.10}", "{up_to: 2000, rate: 0.10}", 1),
			[]string{"wik.tiers[1].up_to", "must be larger"}},
		{"syntax", good + "\n  - : [\n", []string{"default.yaml:"}},
		{"type mismatch", strings.Replace(good, "max_actions: 4", "max_actions: many", 1),
			[]string{"max_actions", ":6:14"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.text == good {
				t.Fatal("test edit did not apply")
			}
			_, err := Parse("default.yaml", []byte(tc.text))
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestLoadFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "policy.yaml")
	text := strings.Replace(string(DefaultYAML()), "value: 30}", "value: 20}", 1)
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	p, err := LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if p.Source() != path {
		t.Errorf("source = %q", p.Source())
	}
	s := situation(func(s *Situation) { s.OverdueDays, s.OverdueAmount, s.LateInvoices12m = 25, 100, 5 })
	if r := p.Evaluate(s); !slices.Contains(r.RulesFired, "chronic_non_payment") {
		t.Errorf("replaced policy not used: rules %v", r.RulesFired)
	}
	if r := defaultPolicy(t).Evaluate(s); slices.Contains(r.RulesFired, "chronic_non_payment") {
		t.Errorf("default policy fired chronic at 25 days")
	}
	if _, err := LoadFile(filepath.Join(dir, "missing.yaml")); err == nil || !strings.Contains(err.Error(), "missing.yaml") {
		t.Errorf("missing file error = %v", err)
	}
}

func TestUses(t *testing.T) {
	p, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]bool{"p90": true, "dd_failure_reason": true, "country": true, "reasons": false, "p_late": true, "segment": false} {
		if got := p.Uses(name); got != want {
			t.Errorf("Uses(%q) = %v, want %v", name, got, want)
		}
	}
	q, err := Parse("r.yaml", []byte(`rules:
  - name: r
    when: {all: [{signal: reasons, op: contains, value: LATE}]}
    actions: [{type: t, when: {anchor: now}, channel: none, tone: neutral, message_key: k, expected_effect: e}]
onboarding:
  rules: [{name: o, decision: accept, when: {}, actions: []}]
wik: {tiers: [{up_to: 0, rate: 0.15}], min: 40, max: 6775}
claim_decay: [{months: 3, lost: 0.13}]
`))
	if err != nil {
		t.Fatal(err)
	}
	if !q.Uses("reasons") {
		t.Error("a rule on reasons: Uses(reasons) = false")
	}
}
