package policy

import (
	"math"
	"strings"
	"testing"
)

// TestExpectedValue checks the formula of docs/actions.md on numbers
// worked out by hand, with the default policy's value parameters and no
// discount.
func TestExpectedValue(t *testing.T) {
	p := defaultPolicy(t)
	p.Onboarding.Value.DiscountRate = 0
	s := NewSituation()
	s.MonthlyAmount, s.Channel = 100, "offline"
	// P(behind within t) = t/1000: S(t) = 1 - t/1000 at every horizon.
	s.P = [5]float64{0.03, 0.06, 0.09, 0.18, 0.365}
	ev, f := p.ExpectedValue(&s)
	// Months paid: 12 - sum of t_m/1000 = 12 - 30.4167 x 72 / 1000 = 9.81.
	// Revenue: 0.3 x 100 x 9.81 = 294.30. Claim lost: 2 x 100 x lost(180
	// days = 5.914 months: 0.13 + 0.23 x 2.914/3 = 0.35341) = 70.68, on
	// 36.5% of prospects: 25.80. Costs: 0.365 x (15 + 0.4 x 40) = 11.32.
	want := ValueFigures{HorizonDays: 365, PBehind: 0.365, ExpectedMonths: 9.81, ExpectedRevenue: 294.30, ExpectedLoss: 25.80, ExpectedCosts: 11.32}
	near := func(a, b float64) bool { return math.Abs(a-b) < 0.011 }
	if f.HorizonDays != want.HorizonDays || !near(f.PBehind, want.PBehind) || !near(f.ExpectedMonths, want.ExpectedMonths) ||
		!near(f.ExpectedRevenue, want.ExpectedRevenue) || !near(f.ExpectedLoss, want.ExpectedLoss) || !near(f.ExpectedCosts, want.ExpectedCosts) {
		t.Errorf("figures %+v, want %+v", f, want)
	}
	if !near(ev, 294.30-25.80-11.32) {
		t.Errorf("expected value %v, want %v", ev, 294.30-25.80-11.32)
	}
	if c := p.AcquisitionCostOf(s.Channel); c != 150 {
		t.Errorf("offline acquisition cost %v", c)
	}
	// Discounting lowers the value; a riskier prospect is worth less.
	p.Onboarding.Value.DiscountRate = 0.05
	if d, _ := p.ExpectedValue(&s); !(d < ev) {
		t.Errorf("discounted %v, undiscounted %v", d, ev)
	}
	risky := s
	risky.P = [5]float64{0.1, 0.2, 0.3, 0.5, 0.7}
	if r, _ := p.ExpectedValue(&risky); !(r < ev) {
		t.Errorf("risky %v, safer %v", r, ev)
	}
	// Unknown numbers give NaN, not a made-up value.
	unknown := NewSituation()
	if u, _ := p.ExpectedValue(&unknown); !math.IsNaN(u) {
		t.Errorf("unknown situation: %v", u)
	}
}

func TestValueValidation(t *testing.T) {
	y := strings.Replace(string(defaultYAML), "    margin: 0.3 ", "    margin: 1.5 ", 1)
	y = strings.Replace(y, "      offline: 150\n", "      offline: 150\n      shop: 10\n", 1)
	_, err := Parse("p.yaml", []byte(y))
	for _, want := range []string{"onboarding.value.margin", "onboarding.value.acquisition_cost.shop"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v, want it to name %s", err, want)
		}
	}
}
