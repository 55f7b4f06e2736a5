package scoring

import (
	"math"
	"time"

	"github.com/duewise/duewise/features"
	"github.com/duewise/duewise/serving/online"
)

// Catalog names every signal an answer can use and gives each a dense
// index, so that the hot path fills and reads slices instead of maps: the
// features catalog (numeric and categorical), the invoice signals, and
// what only the policy reads (days_to_due, last_dd_failure_reason).
// Immutable; safe for concurrent use.
type Catalog struct {
	num, cat       []string
	numIdx, catIdx map[string]int
	// inline lists the names an inline record may send; inlineIdx maps
	// them to a numeric position (>= 0) or -1-position of a categorical.
	inline    map[string]bool
	inlineIdx map[string]int
	ix        policyIndex
}

// policyIndex holds the catalog positions the policy mapping reads.
type policyIndex struct {
	invoices365, lateShare365, tenure, ddDaysSince, ddFailed90, ddInsufficient, ddClosed int
	ddAttempts, ddFailedShare, lateMean90, lateMean365, lateShareTrend, address180       int
	broken730, arrangementActive, disputesOpen, collections365, finalNotices365          int
	overdueAmount, overdueDays, daysToDue, monthly, invoiceAmount, creditLimit           int
	channel, method, customerType, segment, country, lastDDReason                        int
}

// Extra signals the API knows beyond the features catalog.
const (
	sigDaysToDue     = "days_to_due"
	sigInvoiceAmount = "invoice_amount"
	sigInvoiceTerms  = "invoice_terms_days"
)

// NewCatalog returns the catalog of every signal duewise knows.
func NewCatalog() *Catalog {
	c := &Catalog{numIdx: map[string]int{}, catIdx: map[string]int{}, inline: map[string]bool{}}
	addNum := func(n string) {
		if _, ok := c.numIdx[n]; !ok {
			c.numIdx[n] = len(c.num)
			c.num = append(c.num, n)
		}
	}
	addCat := func(n string) {
		if _, ok := c.catIdx[n]; !ok {
			c.catIdx[n] = len(c.cat)
			c.cat = append(c.cat, n)
		}
	}
	for _, s := range append(features.Catalog(), features.InvoiceSignals()...) {
		if s.Kind == features.Categorical {
			addCat(s.Name)
		} else {
			addNum(s.Name)
		}
		c.inline[s.Name] = true
	}
	addNum(sigDaysToDue)
	c.inlineIdx = map[string]int{}
	for name := range c.inline {
		if i, ok := c.numIdx[name]; ok {
			c.inlineIdx[name] = i
		} else {
			c.inlineIdx[name] = -1 - c.catIdx[name]
		}
	}
	n := func(name string) int {
		i, ok := c.numIdx[name]
		if !ok {
			panic("scoring: signal " + name + " is not in the features catalog")
		}
		return i
	}
	k := func(name string) int {
		i, ok := c.catIdx[name]
		if !ok {
			panic("scoring: attribute " + name + " is not in the features catalog")
		}
		return i
	}
	c.ix = policyIndex{
		invoices365: n("invoices_365d"), lateShare365: n("late_share_365d"), tenure: n("tenure_days"),
		ddDaysSince: n("days_since_last_dd_failure"), ddFailed90: n("dd_failed_90d"), ddInsufficient: n("dd_insufficient_funds_365d"),
		ddClosed: n("dd_account_closed_365d"), ddAttempts: n("dd_attempts_365d"), ddFailedShare: n("dd_failed_share_365d"),
		lateMean90: n("days_late_mean_90d"), lateMean365: n("days_late_mean_365d"), lateShareTrend: n("late_share_trend"),
		address180: n("address_changes_180d"), broken730: n("arrangements_broken_730d"), arrangementActive: n("arrangement_active"),
		disputesOpen: n("disputes_open"), collections365: n("collections_365d"), finalNotices365: n("final_notices_365d"),
		overdueAmount: n("open_overdue_amount"), overdueDays: n("oldest_overdue_days"), daysToDue: n(sigDaysToDue),
		monthly: n("monthly_amount"), invoiceAmount: n(sigInvoiceAmount), creditLimit: n("credit_limit"),
		channel: k("channel"), method: k("payment_method"), customerType: k("customer_type"), segment: k("segment"),
		country: k("country"), lastDDReason: k("last_dd_failure_reason"),
	}
	return c
}

// Values are one customer's signals by catalog position: Num[i] is the
// numeric signal i (NaN is NULL), Cat[j] the categorical attribute j. A
// plain value.
type Values struct {
	Num []float64
	Cat []string
	// AttrNum and AttrCat are the tenant attributes of a prospect
	// (numeric and categorical), by name; nil when none.
	AttrNum map[string]float64
	AttrCat map[string]string
}

// Reset returns v with every signal missing, or new values when v does
// not fit the catalog (e.g. the zero value).
func (c *Catalog) Reset(v Values) Values {
	if len(v.Num) != len(c.num) || len(v.Cat) != len(c.cat) {
		return c.NewValues()
	}
	for i := range v.Num {
		v.Num[i] = math.NaN()
	}
	clear(v.Cat)
	return v
}

// NewValues returns values with every signal missing.
func (c *Catalog) NewValues() Values {
	v := Values{Num: make([]float64, len(c.num)), Cat: make([]string, len(c.cat))}
	for i := range v.Num {
		v.Num[i] = math.NaN()
	}
	return v
}

// Inline returns where an inline record's signal called name goes: a
// numeric position (>= 0) or -1-position of a categorical attribute; false
// for a name an inline record may not send.
func (c *Catalog) Inline(name string) (int, bool) {
	j, ok := c.inlineIdx[name]
	return j, ok
}

// Name returns the name of the signal at an Inline position.
func (c *Catalog) Name(j int) string {
	if j < 0 {
		return c.cat[-1-j]
	}
	return c.num[j]
}

// tableMap maps the columns of one online table onto catalog positions
// (-1: a column the catalog does not know).
type tableMap struct {
	t        *online.Table
	num, cat []int
}

func (c *Catalog) mapTable(t *online.Table) *tableMap {
	m := &tableMap{t: t, num: make([]int, len(t.NumNames)), cat: make([]int, len(t.CatNames))}
	for i, n := range t.NumNames {
		m.num[i] = -1
		if j, ok := c.numIdx[n]; ok {
			m.num[i] = j
		}
	}
	for i, n := range t.CatNames {
		m.cat[i] = -1
		if j, ok := c.catIdx[n]; ok {
			m.cat[i] = j
		}
	}
	return m
}

// fromRow fills v from an online row.
func (m *tableMap) fromRow(r online.Row, v *Values) {
	for i, j := range m.num {
		if j >= 0 {
			v.Num[j] = float64(r.Num[i])
		}
	}
	for i, j := range m.cat {
		if j >= 0 {
			v.Cat[j] = r.Cat(i)
		}
	}
}

// fromComputed fills v from features.Compute's row.
func (c *Catalog) fromComputed(r *features.Row, v *Values) {
	for i, n := range r.Names {
		if j, ok := c.numIdx[n]; ok {
			v.Num[j] = r.Values[i]
		}
	}
	for i, n := range r.CategoricalNames {
		if j, ok := c.catIdx[n]; ok {
			v.Cat[j] = r.Categorical[i]
		}
	}
}

// parseDate reads an optional YYYY-MM-DD date; empty means def.
func parseDate(s, field string, def time.Time) (time.Time, error) {
	if s == "" {
		return def, nil
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return time.Time{}, Invalid(field, "%q is not a date: want YYYY-MM-DD", s)
	}
	return t, nil
}

// MaxMagnitude is the largest absolute value a number of a request may
// have (a signal, an amount): a billion days or euros, far beyond any real
// customer, and small enough that the model's arithmetic stays finite. A
// larger number (or an infinite one) is an ErrInvalid error naming it.
const MaxMagnitude = 1e9

// checkNumber checks one number of a request against MaxMagnitude.
func checkNumber(field string, x float64) error {
	if outOfRange(x) {
		return Invalid(field, "%g is out of range: want a number from -1e9 to 1e9", x)
	}
	return nil
}

func outOfRange(x float64) bool { return math.IsInf(x, 0) || math.Abs(x) > MaxMagnitude }

// checkSignals checks every numeric signal of v (NaN is missing). The
// field's path is spelled only for a value out of range: building it for
// every signal was 7% of a batch's CPU (BenchmarkBatchInline profile).
func (c *Catalog) checkSignals(v *Values, prefix string) error {
	for i, x := range v.Num {
		if !math.IsNaN(x) && outOfRange(x) {
			return checkNumber(prefix+"signals."+c.num[i], x)
		}
	}
	return nil
}
