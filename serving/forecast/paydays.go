package forecast

import (
	"errors"
	"fmt"
	"math"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"

	"github.com/duewise/duewise/model"
	"github.com/duewise/duewise/warehouse"
)

// payDays writes into pw the probability that an invoice issued on day
// issued and due on day due, unpaid at the start of day from, is paid in
// full in each week from that day (pw[w]: days from+7w .. from+7w+6).
//
// The invoice model gives the survival of the days after the due date:
// surv[k] = S(grid[k]) = P(paid more than grid[k] days after the due date),
// S at the last boundary 0 being P(not paid by the due date). Between
// boundaries the hazard is constant (log S linear); after the last one it
// stays that of the last interval. An invoice paid on time is paid k days
// before its due date with the tenant's share onTime[k] (among k = 0 ..
// its terms). P(paid by day t) is then F(t) = (1 - S(0)) G(due - t) up to
// the due date, G(m) the share paid m or more days before it, and 1 -
// S(t - due) after it; the payment day given that the invoice is unpaid at
// from is F's increments over 1 - F(from - 1).
func payDays(grid, surv []float64, onTime onTimeDays, issued, due, from int32, pw []float64) {
	terms := max(0, int(due-issued))
	var onTimeAll float64
	for k := 0; k <= terms && k < len(onTime); k++ {
		onTimeAll += onTime[k]
	}
	late := lastZero(grid)
	s0 := surv[late]
	// paidBy is F(t) for a day t.
	paidBy := func(t int32) float64 {
		switch {
		case t < issued:
			return 0
		case t <= due:
			m := int(due - t)
			if onTimeAll == 0 {
				if m == 0 {
					return 1 - s0
				}
				return 0
			}
			var g float64
			for k := m; k <= terms && k < len(onTime); k++ {
				g += onTime[k]
			}
			return (1 - s0) * g / onTimeAll
		default:
			return 1 - survivalAfterDue(grid, surv, late, float64(t-due))
		}
	}
	known := 1 - paidBy(from-1)
	prev := paidBy(from - 1)
	for w := range pw {
		next := paidBy(from + int32(7*w) + 6)
		if known <= 0 {
			pw[w] = 0
		} else {
			pw[w] = math.Max(0, (next-prev)/known)
		}
		prev = next
	}
}

// lastZero is the index of the last grid boundary at 0 days (S(0)).
func lastZero(grid []float64) int {
	k := 0
	for i, g := range grid {
		if g == 0 {
			k = i
		}
	}
	return k
}

// survivalAfterDue is S(h) for h > 0 days after the due date: log-linear
// between the grid's boundaries from late on, the last interval's hazard
// beyond the last boundary.
func survivalAfterDue(grid, surv []float64, late int, h float64) float64 {
	n := len(grid) - 1
	for j := late; j < n; j++ {
		if h <= grid[j+1] {
			return logLinear(grid[j], grid[j+1], surv[j], surv[j+1], h)
		}
	}
	return logLinear(grid[n-1], grid[n], surv[n-1], surv[n], h)
}

// logLinear interpolates (or extrapolates) S at h between (a, sa) and (b,
// sb) with log S linear in h.
func logLinear(a, b, sa, sb, h float64) float64 {
	if sa <= 0 || sb <= 0 || b <= a {
		return sb
	}
	return sa * math.Pow(sb/sa, (h-a)/(b-a))
}

// columns maps the columns of a signals record (features.Signals) onto
// a model's inputs: dest holds, per column, where warehouse.Scan puts its
// value (nil: not read).
type columns struct {
	customer  string
	departed  bool      // the contract ended before the date
	num       []float64 // the model's inputs by feature position
	cat       []string
	dest      []any
	amountIdx int // invoice_amount and invoice_terms_days, set per invoice
	termsIdx  int
}

// newColumns finds every feature of fs in schema; invoice_amount and
// invoice_terms_days come with each invoice and are no column.
func newColumns(schema *arrow.Schema, fs []model.Feature) (*columns, error) {
	c := &columns{num: make([]float64, len(fs)), cat: make([]string, len(fs)), dest: make([]any, schema.NumFields()), amountIdx: -1, termsIdx: -1}
	byName := map[string]int{}
	for i, f := range schema.Fields() {
		byName[f.Name] = i
	}
	for _, n := range []string{"customer_id", "departed"} {
		if _, ok := byName[n]; !ok {
			return nil, fmt.Errorf("signals: no column %s", n)
		}
	}
	c.dest[byName["customer_id"]], c.dest[byName["departed"]] = &c.customer, &c.departed
	for i, f := range fs {
		switch f.Name {
		case "invoice_amount":
			c.amountIdx = i
			continue
		case "invoice_terms_days":
			c.termsIdx = i
			continue
		}
		col, ok := byName[f.Name]
		if !ok {
			return nil, fmt.Errorf("model input %q is not a signal of features.Signals", f.Name)
		}
		if f.Type == model.Categorical {
			c.dest[col] = &c.cat[i]
		} else {
			c.dest[col] = &c.num[i]
		}
	}
	if c.amountIdx < 0 || c.termsIdx < 0 {
		return nil, errors.New("the model has no input invoice_amount or invoice_terms_days: not an invoice model")
	}
	return c, nil
}

// scan calls fn for every row of rec with c's fields set to the row's
// values.
func (c *columns) scan(rec arrow.Record, fn func() error) error {
	rr, err := array.NewRecordReader(rec.Schema(), []arrow.Record{rec})
	if err != nil {
		return err
	}
	defer rr.Release()
	return warehouse.Scan(rr, fn, c.dest...)
}
