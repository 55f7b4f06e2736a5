package simulation

import (
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"

	rf "github.com/duewise/duewise/datasets/rowfile"
	"github.com/duewise/duewise/datasets/synth"
	"github.com/duewise/duewise/serving/policy"
)

// Metrics are the names of the figures reported per policy, in report
// order (the contract of `duewise simulate`, docs/simulation.md).
var Metrics = []string{"collected", "written_off", "collection_costs", "contact_costs", "net_collected",
	"customers_kept", "customer_value_kept", "contacts", "dunned_good_payers", "dso_days"}

// Costs are what the creditor pays per contact, by channel, in EUR.
type Costs struct {
	Letter, Email, SMS, Phone float64
}

// DefaultCosts: a letter EUR 1.60 (PostNL's stamp for a domestic letter
// is EUR 1.40 from 1 January 2026, plus EUR 0.20 of printing and envelope,
// an assumption), an e-mail EUR 0.01, an SMS EUR 0.08 and a call EUR 4.00
// (five minutes of a collector at about EUR 48 an hour): assumptions.
func DefaultCosts() Costs { return Costs{Letter: 1.60, Email: 0.01, SMS: 0.08, Phone: 4.00} }

func (c Costs) of(channel string) float64 {
	switch channel {
	case synth.Letter:
		return c.Letter
	case synth.Email:
		return c.Email
	case synth.SMS:
		return c.SMS
	case synth.Phone:
		return c.Phone
	}
	return 0
}

// tenureMonths is the horizon over which a kept customer's value counts:
// five years (an assumption).
const tenureMonths = 60

// expectedTenure is the expected number of months, of the next
// tenureMonths, a customer who leaves with monthly probability p stays.
func expectedTenure(p float64) float64 {
	if p <= 0 {
		return tenureMonths
	}
	q := 1 - p
	return q * (1 - math.Pow(q, tenureMonths)) / p
}

// The columns of one customer's contribution to the metrics.
const (
	cCollected = iota
	cWrittenOff
	cCollectionCosts
	cContactCosts
	cContacts
	cDunned
	cActive
	cKept
	cValue
	cReceivable
	cBilled
	numColumns
)

// accounts is the contribution of every customer of one policy's world
// in one run, column by column, and the actions it took.
type accounts struct {
	col     [numColumns][]float64
	actions [synth.NumActionKinds]float64
}

// add appends one customer's ledger. Collection costs are the statutory
// (WIK) costs on the principal of each claim the agency recovered in the
// window (it works for no cure, no pay) that could not be charged to the
// customer.
func (a *accounts) add(l *synth.Ledger, costs Costs, wik policy.WIK, from, end rf.Time) {
	var c [numColumns]float64
	c[cCollected] = l.Collected.Float()
	c[cWrittenOff] = l.WrittenOff.Float()
	for _, cl := range l.Claims {
		if !cl.Chargeable && cl.RecoveredAt != rf.NoTime && cl.RecoveredAt >= from && cl.RecoveredAt < end {
			c[cCollectionCosts] += wik.Costs(cl.Principal.Float())
		}
	}
	for ch, n := range l.Contacts {
		c[cContactCosts] += float64(n) * costs.of(ch)
		c[cContacts] += float64(n)
	}
	c[cDunned] = float64(l.DunnedGoodPayers)
	if l.ActiveAtStart {
		c[cActive] = 1
		if l.ActiveAtEnd {
			c[cKept] = 1
			c[cValue] = l.MonthlyAmount.Float() * expectedTenure(l.LeaveRate)
		}
	}
	c[cReceivable] = l.ReceivableDays
	c[cBilled] = l.Billed.Float() * 100
	for j := range c {
		a.col[j] = append(a.col[j], c[j])
	}
	for k, n := range l.Actions {
		a.actions[k] += float64(n)
	}
}

func (a *accounts) len() int { return len(a.col[cCollected]) }

// metrics computes every metric from column sums.
func metricsOf(s *[numColumns]float64) []float64 {
	collected, contact, coll := s[cCollected], s[cContactCosts], s[cCollectionCosts]
	kept, dso := math.NaN(), math.NaN()
	if s[cActive] > 0 {
		kept = s[cKept] / s[cActive]
	}
	if s[cBilled] > 0 {
		dso = s[cReceivable] / s[cBilled]
	}
	return []float64{collected, s[cWrittenOff], coll, contact, collected - contact - coll, kept, s[cValue], s[cContacts], s[cDunned], dso}
}

// Estimate is a metric's mean over the runs with its 95% interval (the
// 2.5th and 97.5th percentiles of the bootstrap over customers).
type Estimate struct {
	Mean float64    `json:"mean"`
	CI95 [2]float64 `json:"ci95"`
}

// estimates returns, for every policy (runs[p][r] are the accounts of
// policy p in run r, the same customers in every policy of a run), each
// metric's estimate, and the paired difference of every policy from
// policy ref (-1: none). The bootstrap resamples the customers of each run
// (the same draws for every policy, so that differences are paired) B
// times, deterministically for seed.
func estimates(runs [][]*accounts, ref int, B int, seed uint64) (est, diff [][]Estimate) {
	P, R := len(runs), len(runs[0])
	point := make([][]float64, P) // [policy][metric]
	for p := range P {
		point[p] = make([]float64, len(Metrics))
		for r := range R {
			var s [numColumns]float64
			for j := range s {
				for _, v := range runs[p][r].col[j] {
					s[j] += v
				}
			}
			for m, v := range metricsOf(&s) {
				point[p][m] += v / float64(R)
			}
		}
	}
	boot := make([][][]float64, P) // [policy][metric][replicate]
	for p := range boot {
		boot[p] = make([][]float64, len(Metrics))
		for m := range boot[p] {
			boot[p][m] = make([]float64, B)
		}
	}
	var wg sync.WaitGroup
	next := make(chan int)
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var idx []int
			for b := range next {
				rng := rand.New(rand.NewPCG(seed, uint64(b)))
				for r := range R {
					n := runs[0][r].len()
					idx = idx[:0]
					for range n {
						idx = append(idx, rng.IntN(n))
					}
					for p := range P {
						var s [numColumns]float64
						for j := range s {
							col := runs[p][r].col[j]
							for _, i := range idx {
								s[j] += col[i]
							}
						}
						for m, v := range metricsOf(&s) {
							boot[p][m][b] += v / float64(R)
						}
					}
				}
			}
		}()
	}
	for b := range B {
		next <- b
	}
	close(next)
	wg.Wait()
	interval := func(xs []float64) [2]float64 {
		s := slices.Clone(xs)
		slices.Sort(s)
		q := func(f float64) float64 { return s[int(math.Round(f*float64(len(s)-1)))] }
		return [2]float64{q(0.025), q(0.975)}
	}
	est, diff = make([][]Estimate, P), make([][]Estimate, P)
	for p := range P {
		est[p] = make([]Estimate, len(Metrics))
		for m := range Metrics {
			est[p][m] = Estimate{Mean: point[p][m], CI95: interval(boot[p][m])}
		}
		if ref < 0 || p == ref {
			continue
		}
		diff[p] = make([]Estimate, len(Metrics))
		for m := range Metrics {
			d := make([]float64, B)
			for b := range d {
				d[b] = boot[p][m][b] - boot[ref][m][b]
			}
			diff[p][m] = Estimate{Mean: point[p][m] - point[ref][m], CI95: interval(d)}
		}
	}
	return est, diff
}
