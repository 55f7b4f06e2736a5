package policy

import (
	"math"
	"sort"
)

// WIKTier is one step of the Dutch statutory collection-cost scale: Rate
// applies to the part of the principal up to UpTo (0 = no upper bound).
type WIKTier struct {
	UpTo float64 `yaml:"up_to" json:"up_to"`
	Rate float64 `yaml:"rate" json:"rate"`
}

// WIK is the statutory cap on extrajudicial collection costs (Besluit
// vergoeding voor buitengerechtelijke incassokosten): a sliding scale over
// the principal with a minimum and a maximum. A plain value.
type WIK struct {
	Tiers []WIKTier `yaml:"tiers" json:"tiers"`
	Min   float64   `yaml:"min" json:"min"`
	Max   float64   `yaml:"max" json:"max"`
}

// Costs returns the maximum collection costs allowed on principal, in the
// same currency, rounded to cents. A principal <= 0 costs nothing.
func (w WIK) Costs(principal float64) float64 {
	if !(principal > 0) {
		return 0
	}
	var total, lower float64
	for _, t := range w.Tiers {
		upper := t.UpTo
		if upper == 0 || upper > principal {
			upper = principal
		}
		if upper > lower {
			total += (upper - lower) * t.Rate
		}
		if t.UpTo == 0 || t.UpTo >= principal {
			break
		}
		lower = t.UpTo
	}
	total = math.Max(total, w.Min)
	if w.Max > 0 {
		total = math.Min(total, w.Max)
	}
	return math.Round(total*100) / 100
}

// DecayPoint says that an overdue claim of Months months has lost Lost (a
// fraction) of its value: the share a creditor can expect never to recover.
type DecayPoint struct {
	Months float64 `yaml:"months" json:"months"`
	Lost   float64 `yaml:"lost" json:"lost"`
}

// ClaimDecay is the value an overdue claim loses with its age, as points
// interpolated linearly (0 lost at 0 months; flat after the last point).
type ClaimDecay []DecayPoint

// Lost returns the fraction of value lost by a claim overdue for days days.
func (d ClaimDecay) Lost(days float64) float64 {
	if !(days > 0) || len(d) == 0 {
		return 0
	}
	m := days / 30.4375
	i := sort.Search(len(d), func(i int) bool { return d[i].Months >= m })
	if i == len(d) {
		return d[len(d)-1].Lost
	}
	prevM, prevL := 0.0, 0.0
	if i > 0 {
		prevM, prevL = d[i-1].Months, d[i-1].Lost
	}
	if d[i].Months == prevM {
		return d[i].Lost
	}
	return prevL + (d[i].Lost-prevL)*(m-prevM)/(d[i].Months-prevM)
}
