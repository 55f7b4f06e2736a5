package policy

import (
	"math"
	"slices"
	"strings"

	"github.com/duewise/duewise/datasets"
)

// Value is the policy's model of what a prospect is worth over the first
// year (the model's 365-day horizon), set under onboarding.value: see
// ExpectedValue. A plain value.
type Value struct {
	// Margin is the share of the billing that is contribution margin:
	// what a paying customer's revenue leaves to pay back its acquisition.
	Margin float64 `yaml:"margin"`
	// AcquisitionCost is what acquiring one customer costs, per channel
	// (online, offline).
	AcquisitionCost map[string]float64 `yaml:"acquisition_cost"`
	// ExposureMonths is the unpaid billing, in months of the monthly
	// amount, of a customer who falls behind (an invoice 30 days past due
	// and the next one).
	ExposureMonths float64 `yaml:"exposure_months"`
	// RecoveryDays is the age at which a claim of a customer who fell
	// behind is recovered: it has lost ClaimDecay.Lost(RecoveryDays) of its
	// value by then (13% at 3 months, 36% at 6, 57% at 1 year, 91% at 2).
	RecoveryDays float64 `yaml:"recovery_days"`
	// ContactCost is the cost of the reminders, letters and calls to a
	// customer who falls behind.
	ContactCost float64 `yaml:"contact_cost"`
	// CollectionCost is the cost of handing a claim to collection (the
	// part the creditor bears), paid for CollectionShare of the customers
	// who fall behind.
	CollectionCost  float64 `yaml:"collection_cost"`
	CollectionShare float64 `yaml:"collection_share"`
	// DiscountRate is the yearly rate future money is discounted at (0:
	// none), so that a loss or a month of revenue counts less the later it
	// comes.
	DiscountRate float64 `yaml:"discount_rate"`
}

// ValueFigures are the parts of a prospect's expected value, in the
// currency of its monthly amount, over HorizonDays. A plain value.
type ValueFigures struct {
	HorizonDays int `json:"horizon_days"`
	// PBehind is the probability of falling behind within the horizon.
	PBehind float64 `json:"p_behind"`
	// ExpectedMonths are the months the prospect is expected to pay
	// before falling behind (of 12).
	ExpectedMonths float64 `json:"expected_months"`
	// ExpectedRevenue is the margin on the billing of those months.
	ExpectedRevenue float64 `json:"expected_revenue"`
	// ExpectedLoss is the value lost on the claims of falling behind.
	ExpectedLoss float64 `json:"expected_loss"`
	// ExpectedCosts are the contact and collection costs.
	ExpectedCosts float64 `json:"expected_costs"`
}

// valueHorizons are the days at which Situation.P holds the probability
// of falling behind (model.Horizons).
var valueHorizons = [5]float64{30, 60, 90, 180, 365}

// monthDays is the length of an average month.
const monthDays = 365.0 / 12

// ExpectedValue returns what a prospect of situation s is worth over the
// first year, and its parts. With S(t) = 1 - P(behind within t), linear
// between the horizons 0, 30, 60, 90, 180 and 365 days, and the discount
// d(t) = (1 + DiscountRate)^(-t/365):
//
//	revenue = Margin x monthly x sum over months m = 1..12 of S(t_m) d(t_m), t_m = (m - 1/2) x 365/12
//	loss    = sum over horizon intervals k of q_k x d(t_k + RecoveryDays) x ExposureMonths x monthly x lost(RecoveryDays)
//	costs   = sum over k of q_k x d(t_k) x (ContactCost + CollectionShare x CollectionCost)
//	value   = revenue - loss - costs
//
// where q_k = P(behind within the interval) and t_k its middle, and
// lost is ClaimDecay.Lost. It is NaN when the monthly amount or the
// probabilities are unknown. Safe for concurrent use.
func (p *Policy) ExpectedValue(s *Situation) (float64, ValueFigures) {
	v := &p.Onboarding.Value
	f := ValueFigures{HorizonDays: int(valueHorizons[len(valueHorizons)-1])}
	monthly := s.MonthlyAmount
	if math.IsNaN(monthly) || slices.ContainsFunc(s.P[:], math.IsNaN) {
		n := math.NaN()
		f.PBehind, f.ExpectedMonths, f.ExpectedRevenue, f.ExpectedLoss, f.ExpectedCosts = n, n, n, n, n
		return n, f
	}
	disc := func(days float64) float64 { return math.Pow(1+v.DiscountRate, -days/365) }
	// survival at t from the horizon probabilities, made non-increasing.
	surv := func(t float64) float64 {
		prevT, prevS := 0.0, 1.0
		for i, h := range valueHorizons {
			sh := min(prevS, 1-s.P[i])
			if t <= h {
				return prevS + (sh-prevS)*(t-prevT)/(h-prevT)
			}
			prevT, prevS = h, sh
		}
		return prevS
	}
	for m := range 12 {
		t := (float64(m) + 0.5) * monthDays
		st := surv(t)
		f.ExpectedMonths += st
		f.ExpectedRevenue += v.Margin * monthly * st * disc(t)
	}
	claim := v.ExposureMonths * monthly * p.ClaimDecay.Lost(v.RecoveryDays)
	perCase := v.ContactCost + v.CollectionShare*v.CollectionCost
	prevT, prevS := 0.0, 1.0
	for _, h := range valueHorizons {
		sh := surv(h)
		q, mid := prevS-sh, (prevT+h)/2
		f.ExpectedLoss += q * disc(mid+v.RecoveryDays) * claim
		f.ExpectedCosts += q * disc(mid) * perCase
		prevT, prevS = h, sh
	}
	f.PBehind = 1 - prevS
	f.PBehind, f.ExpectedMonths = round4(f.PBehind), math.Round(f.ExpectedMonths*100)/100
	f.ExpectedRevenue, f.ExpectedLoss, f.ExpectedCosts = cents(f.ExpectedRevenue), cents(f.ExpectedLoss), cents(f.ExpectedCosts)
	return cents(f.ExpectedRevenue - f.ExpectedLoss - f.ExpectedCosts), f
}

// AcquisitionCostOf returns the acquisition cost of a prospect who came
// through channel (0 when the policy names none for it).
func (p *Policy) AcquisitionCostOf(channel string) float64 {
	return p.Onboarding.Value.AcquisitionCost[strings.ToLower(channel)]
}

func cents(x float64) float64 { return math.Round(x*100) / 100 }

// validateValue checks onboarding.value.
func (p *Policy) validateValue(ps *problems) {
	v := &p.Onboarding.Value
	frac := func(path string, x float64) {
		if x < 0 || x > 1 {
			ps.add(path, "must be a fraction between 0 and 1, got %v", x)
		}
	}
	nonNeg := func(path string, x float64) {
		if x < 0 || math.IsNaN(x) || math.IsInf(x, 0) {
			ps.add(path, "must be a number >= 0, got %v", x)
		}
	}
	frac("onboarding.value.margin", v.Margin)
	frac("onboarding.value.collection_share", v.CollectionShare)
	nonNeg("onboarding.value.exposure_months", v.ExposureMonths)
	nonNeg("onboarding.value.recovery_days", v.RecoveryDays)
	nonNeg("onboarding.value.contact_cost", v.ContactCost)
	nonNeg("onboarding.value.collection_cost", v.CollectionCost)
	if v.DiscountRate < 0 || v.DiscountRate > 1 {
		ps.add("onboarding.value.discount_rate", "must be a yearly rate between 0 and 1, got %v", v.DiscountRate)
	}
	for ch, c := range v.AcquisitionCost {
		if !slices.Contains(datasets.Channels, ch) {
			ps.add("onboarding.value.acquisition_cost."+ch, "unknown channel: want %s", strings.Join(datasets.Channels, " or "))
		}
		nonNeg("onboarding.value.acquisition_cost."+ch, c)
	}
}
