package api

import (
	"context"
	"encoding/json"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/duewise/duewise/serving/policy"
	"github.com/duewise/duewise/serving/scoring"
)

// sameAsEncodingJSON fails unless appendLine writes exactly what
// encoding/json writes for line.
func sameAsEncodingJSON(t *testing.T, line *BatchLine) {
	t.Helper()
	want, err := json.Marshal(line)
	if err != nil {
		want, _ = json.Marshal(BatchLine{Index: line.Index, Error: "encode answer: " + err.Error(), ErrorStatus: 500})
	}
	want = append(want, '\n')
	if got := appendLine([]byte("prefix"), line); string(got) != "prefix"+string(want) {
		t.Fatalf("appendLine wrote\n%s\nencoding/json writes\n%s", got[len("prefix"):], want)
	}
}

func TestAppendLineMatchesEncodingJSON(t *testing.T) {
	answer := func(edit func(a *scoring.RiskAnswer)) *scoring.RiskAnswer {
		a := &scoring.RiskAnswer{CustomerID: "C1", AsOf: "2026-10-28", Status: "ok",
			Probabilities: scoring.Probabilities{D30: 0.000191, D60: 0.013154, D90: 0.036618, D180: 0.101921, D365: 1}, ExpectedDays: 323.9, Band: "B",
			Reasons: []scoring.Reason{{Code: "OPEN_INVOICES", Text: "2 invoices open", Direction: "increases_risk", Weight: 0.012704},
				{Code: "TENURE", Text: "klant sinds 4332 dagen", Direction: "decreases_risk", Weight: -0.008767}},
			Actions: []policy.Action{{Type: "direct_debit_follow_up", When: policy.WhenSpec{Anchor: "due_date", OffsetDays: -3},
				Channel: "email", Tone: "neutral", MessageKey: "direct_debit_failed.AM04",
				Why:            policy.Why{Rule: "failed_direct_debit", Signals: map[string]any{"dd_failed": true, "p90": 0.25, "reason": "AM04", "n": 3, "none": nil}},
				ExpectedEffect: "paid within days", Details: map[string]float64{"wik_costs": 40, "claim_value_lost": 0.13},
				Params: map[string]string{"sepa_code": "AM04", "include": "pay_link"}},
				{Type: "skip_standard_dunning", Channel: "none", Tone: "friendly", Why: policy.Why{Rule: "loyal_late_once"}}},
			RulesFired: []string{"failed_direct_debit", "loyal_late_once"},
			Model:      scoring.ModelRef{Kind: "behaviour", Version: "behaviour-20261126012403-dd908502"}}
		if edit != nil {
			edit(a)
		}
		return a
	}
	for _, tc := range []struct {
		name string
		line BatchLine
	}{
		{"answer", BatchLine{Index: 7, RiskAnswer: answer(nil)}},
		{"nil and empty lists", BatchLine{RiskAnswer: answer(func(a *scoring.RiskAnswer) { a.Reasons, a.Actions, a.RulesFired = nil, []policy.Action{}, []string{} })}},
		{"signals of an inline history", BatchLine{Index: 3, RiskAnswer: answer(func(a *scoring.RiskAnswer) {
			a.Signals = map[string]any{"late_share_365d": 0.5, "segment": "energy", "tenure_days": 400.0, "zero": 0.0, "nothing": nil,
				"tiny": 1e-7, "huge": 1e21, "neg": -2.5e-9, "list": []string{"a"}}
		})}},
		{"escaping", BatchLine{Index: 1, RiskAnswer: answer(func(a *scoring.RiskAnswer) {
			a.CustomerID = "<a&b>\"q\"\\ \x01\t\n\r\b\f é \u2028\u2029 \xff end"
			a.Reasons[0].Text = "🙂 \x7f"
		})}},
		{"floats", BatchLine{RiskAnswer: answer(func(a *scoring.RiskAnswer) {
			a.Probabilities = scoring.Probabilities{D30: 0, D60: math.Copysign(0, -1), D90: 5e-324, D180: 1e-6, D365: 0.999999}
			a.ExpectedDays = 1e20
			a.Reasons[0].Weight = -1.5e-8
		})}},
		{"not a number", BatchLine{Index: 9, RiskAnswer: answer(func(a *scoring.RiskAnswer) { a.ExpectedDays = math.NaN() })}},
		{"infinity in a detail", BatchLine{Index: 9, RiskAnswer: answer(func(a *scoring.RiskAnswer) { a.Actions[0].Details["x"] = math.Inf(1) })}},
		{"error", BatchLine{Index: 2, Error: `records[2].signals.x: unknown signal "<x>"`, Field: "records[2].signals.x", ErrorStatus: 400, ID: "C9"}},
		{"not found", BatchLine{Index: 4, Error: "customer \"NOBODY\" not found", ErrorStatus: 404, ID: "NOBODY"}},
	} {
		t.Run(tc.name, func(t *testing.T) { sameAsEncodingJSON(t, &tc.line) })
	}
}

// encodesLikeEncodingJSON holds appendLine to encoding/json on every
// answer of the nightly batch of tenant, in both languages.
func encodesLikeEncodingJSON(t *testing.T, s *Server, tenant string) {
	for _, lang := range []string{"en", "nl"} {
		actions := 0
		n, err := s.core.All(context.Background(), tenant, lang, func(_ string, a *scoring.RiskAnswer) (any, error) {
			actions += len(a.Actions)
			sameAsEncodingJSON(t, &BatchLine{Index: actions, RiskAnswer: a})
			return nil, nil
		}, func(any) error { return nil })
		if err != nil || n == 0 || actions == 0 {
			t.Fatalf("%s: %d answers with %d actions: %v", lang, n, actions, err)
		}
	}
}

// TestAppendFloatMatchesEncodingJSON compares appendFloat with
// encoding/json on rounded and unrounded numbers of every magnitude.
func TestAppendFloatMatchesEncodingJSON(t *testing.T) {
	rng := rand.New(rand.NewPCG(10, 11))
	fs := []float64{0, math.Copysign(0, -1), 1, -1, 0.5, 1e-6, -1e-6, 0.000001, 0.0000015, 999999999.999999, 1e9, 123456.7, 1e21, 1e-7, 0.1, 0.2, 0.3}
	for range 200000 {
		x := (rng.Float64() - 0.5) * math.Pow(10, float64(rng.IntN(24)-12))
		fs = append(fs, x, math.Round(x*1e6)/1e6, math.Round(x*10)/10) // unrounded, as answers round, one decimal
	}
	for _, f := range fs {
		want, _ := json.Marshal(f)
		got, err := appendFloat(nil, f)
		if err != nil || string(got) != string(want) {
			t.Fatalf("%v: appendFloat %s (%v), encoding/json %s", f, got, err, want)
		}
	}
}
