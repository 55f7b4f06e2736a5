// Package forecast forecasts the cash a tenant receives per week, from
// the invoices open at the forecast day and those its customers are
// expected to be billed, with the invoice model, and backtests the
// forecast against what came in.
//
// Everything a forecast made at day D uses was known before D: invoices
// issued before D, payments received before D, the customers' signals as
// of D (features.Signals), and the model. The intervals come from the
// same forecast made at earlier days whose weeks had all passed before D,
// against what came in then (docs/forecast.md).
package forecast

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/apache/arrow/go/v15/arrow"

	"github.com/duewise/duewise/features"
	"github.com/duewise/duewise/model"
	"github.com/duewise/duewise/warehouse"
)

// Defaults and bounds of Options.
const (
	DefaultWeeks = 13
	MaxWeeks     = 52
	// DefaultOrigins is how many earlier forecasts calibrate the
	// intervals: made every OriginStep days before the latest one whose
	// weeks all passed before the forecast day.
	DefaultOrigins = 4
	MaxOrigins     = 12
	OriginStep     = 28
	// Level is the coverage the intervals aim at.
	Level = 0.80
	// cycleDays is how far back the billing cycle and the on-time payment
	// days are read.
	cycleDays = 365
)

// Options select a forecast. A plain value.
type Options struct {
	// Tenant is required.
	Tenant string
	// From is the forecast day: the forecast knows what happened before
	// it, and its first week starts on it.
	From time.Time
	// Weeks is how many weeks are forecast (0 = DefaultWeeks).
	Weeks int
	// Origins is how many earlier forecasts calibrate the intervals
	// (0..MaxOrigins; 0: none, the intervals then hold only the chance
	// of each invoice's payment day; callers default it to DefaultOrigins).
	Origins int
	// Threshold is the days after due that count as behind in the signals
	// (0 = features.DefaultThreshold).
	Threshold int
	// EndOfData is the last day of the tenant's data: weeks that end on or
	// before it get what came in (zero: read from the warehouse).
	EndOfData time.Time
}

// Week is one forecast week. Amounts are in the invoices' currency.
type Week struct {
	Start string `json:"start"` // first day, YYYY-MM-DD
	End   string `json:"end"`   // last day, included
	// Expected is the expected cash received in the week, Low and High
	// its 80% interval.
	Expected float64 `json:"expected"`
	Low      float64 `json:"low"`
	High     float64 `json:"high"`
	// FromOpen and FromNew split Expected into the invoices open at the
	// forecast day and those expected to be issued after it.
	FromOpen float64 `json:"from_open"`
	FromNew  float64 `json:"from_new"`
	// Actual is what came in, when the week lies in the data (backtest).
	Actual *float64 `json:"actual,omitempty"`
}

// Backtest compares the forecast's weeks that lie in the data with what
// came in.
type Backtest struct {
	Weeks int `json:"weeks"`
	// MAPE is the mean absolute percentage error of Expected against
	// Actual over those weeks, in percent.
	MAPE float64 `json:"mape"`
	// Coverage is the share of those weeks whose Actual lies in [Low,
	// High].
	Coverage float64 `json:"coverage"`
	// Bias is the sum of Expected over the sum of Actual, minus 1.
	Bias float64 `json:"bias"`
}

// Forecast is the cash-in forecast of one tenant made at one day.
type Forecast struct {
	Tenant string  `json:"tenant"`
	From   string  `json:"from"`
	Model  string  `json:"model"`
	Level  float64 `json:"level"`
	// Intervals says where the intervals come from: "calibrated on N
	// earlier forecasts" or "payment-day chance only".
	Intervals        string    `json:"intervals"`
	OpenInvoices     int       `json:"open_invoices"`
	OpenAmount       float64   `json:"open_amount"`
	ExpectedInvoices int       `json:"expected_invoices"`
	Weeks            []Week    `json:"weeks"`
	Backtest         *Backtest `json:"backtest,omitempty"`
	// Calibration lists the earlier forecasts the intervals rest on.
	Calibration []Origin `json:"calibration,omitempty"`
}

// Origin is one earlier forecast of the calibration.
type Origin struct {
	From     string  `json:"from"`
	Expected float64 `json:"expected"`
	Actual   float64 `json:"actual"`
	MAPE     float64 `json:"mape"`
}

// ErrNoModel is Cash's error for a model that is not an invoice model.
var ErrNoModel = errors.New("the cash-in forecast needs an invoice model")

// Cash forecasts the cash tenant receives per week from opt.From, with
// the invoice model a, reading the tenant's data from eng. Its intervals
// are calibrated on the same forecast made at earlier days (Options.Origins)
// whose weeks all passed before opt.From and lie in the data; weeks that
// lie in the data get what came in and a Backtest. As concurrency-safe as
// eng.
func Cash(ctx context.Context, eng warehouse.Engine, a *model.Artifact, opt Options) (*Forecast, error) {
	if a == nil || a.Kind != model.Invoice {
		return nil, ErrNoModel
	}
	if err := opt.normalize(); err != nil {
		return nil, err
	}
	sc, err := model.NewScorer(a)
	if err != nil {
		return nil, fmt.Errorf("cash forecast: %w", err)
	}
	eod := opt.EndOfData
	if eod.IsZero() {
		if eod, err = features.EndOfData(ctx, eng, opt.Tenant); err != nil {
			return nil, fmt.Errorf("cash forecast: %w", err)
		}
	}
	f := &Forecast{Tenant: opt.Tenant, From: opt.From.Format(time.DateOnly), Model: a.Version, Level: Level}
	pt, err := point(ctx, eng, sc, opt, opt.From)
	if err != nil {
		return nil, err
	}
	f.OpenInvoices, f.OpenAmount, f.ExpectedInvoices = pt.open, round2(pt.openAmount), pt.expected
	// Relative errors of the earlier forecasts, by week ahead: their
	// weeks end before the forecast day and within the data (a forecast
	// made after the data ends is calibrated on the data's last weeks).
	var rel [][]float64
	base := opt.From
	if end := eod.AddDate(0, 0, 1); end.Before(base) {
		base = end
	}
	for k := range opt.Origins {
		o := base.AddDate(0, 0, -7*opt.Weeks-OriginStep*k)
		past, err := point(ctx, eng, sc, opt, o)
		if err != nil {
			return nil, fmt.Errorf("cash forecast: calibration at %s: %w", o.Format(time.DateOnly), err)
		}
		if past.open == 0 && past.expected == 0 {
			break // before the tenant's data
		}
		act, err := actuals(ctx, eng, opt.Tenant, o, opt.Weeks)
		if err != nil {
			return nil, err
		}
		org := Origin{From: o.Format(time.DateOnly)}
		r := make([]float64, opt.Weeks)
		for w := range opt.Weeks {
			org.Expected += past.mean[w]
			org.Actual += act[w]
			r[w] = math.NaN() // a week without forecast cash says nothing of the error
			if past.mean[w] > 0 {
				r[w] = act[w]/past.mean[w] - 1
			}
			org.MAPE += math.Abs(relErr(past.mean[w], act[w])) / float64(opt.Weeks) * 100
		}
		org.Expected, org.Actual, org.MAPE = round2(org.Expected), round2(org.Actual), round2(org.MAPE)
		f.Calibration = append(f.Calibration, org)
		rel = append(rel, r)
	}
	if len(rel) > 0 {
		f.Intervals = fmt.Sprintf("calibrated on %d earlier forecasts", len(rel))
	} else {
		f.Intervals = "payment-day chance only"
	}
	act, err := actuals(ctx, eng, opt.Tenant, opt.From, opt.Weeks)
	if err != nil {
		return nil, err
	}
	z := normalQuantile(0.5 + Level/2)
	var bt Backtest
	var sumE, sumA float64
	for w := range opt.Weeks {
		start := opt.From.AddDate(0, 0, 7*w)
		end := start.AddDate(0, 0, 6)
		m, sd := pt.mean[w], math.Sqrt(pt.variance[w])
		lo, hi := m-z*sd, m+z*sd
		if len(rel) > 0 {
			q := errorBand(rel, w)
			lo, hi = min(lo, m*(1-q)), max(hi, m*(1+q))
		}
		wk := Week{Start: start.Format(time.DateOnly), End: end.Format(time.DateOnly), Expected: round2(m),
			Low: round2(max(0, lo)), High: round2(hi), FromOpen: round2(pt.fromOpen[w]), FromNew: round2(m - pt.fromOpen[w])}
		if !end.After(eod) {
			a := round2(act[w])
			wk.Actual = &a
			bt.Weeks++
			bt.MAPE += math.Abs(relErr(m, act[w]))
			if a >= wk.Low && a <= wk.High {
				bt.Coverage++
			}
			sumE, sumA = sumE+m, sumA+act[w]
		}
		f.Weeks = append(f.Weeks, wk)
	}
	if bt.Weeks > 0 {
		bt.MAPE = round2(bt.MAPE / float64(bt.Weeks) * 100)
		bt.Coverage = round2(bt.Coverage / float64(bt.Weeks))
		bt.Bias = round4(relErr(sumE, sumA))
		f.Backtest = &bt
	}
	return f, nil
}

func (o *Options) normalize() error {
	if o.Tenant == "" {
		return errors.New("cash forecast: a tenant is required")
	}
	if o.From.IsZero() {
		return errors.New("cash forecast: the forecast day is required")
	}
	o.From = time.Date(o.From.Year(), o.From.Month(), o.From.Day(), 0, 0, 0, 0, time.UTC)
	if o.Weeks == 0 {
		o.Weeks = DefaultWeeks
	}
	if o.Weeks < 1 || o.Weeks > MaxWeeks {
		return fmt.Errorf("cash forecast: weeks %d: want 1..%d", o.Weeks, MaxWeeks)
	}
	if o.Origins < 0 || o.Origins > MaxOrigins {
		return fmt.Errorf("cash forecast: origins %d: want 0..%d", o.Origins, MaxOrigins)
	}
	return nil
}

// relErr is forecast/actual - 1 (0 when both are 0, +1 when only the
// actual is).
func relErr(forecast, actual float64) float64 {
	if actual == 0 {
		if forecast == 0 {
			return 0
		}
		return 1
	}
	return forecast/actual - 1
}

// errorBand returns the Level quantile of the calibration's absolute
// errors of what came in relative to the forecast (rel: actual/expected -
// 1 per origin and week, NaN where nothing was expected) at week w and its
// neighbours (w-2..w+2), pooled over the origins: the interval is the
// forecast times 1 -/+ it. Absolute errors, because the earlier forecasts
// may have erred on one side for a reason that has passed (a season the
// history did not cover yet); the band must not inherit that side.
func errorBand(rel [][]float64, w int) float64 {
	var xs []float64
	for _, r := range rel {
		for v := max(0, w-2); v <= min(len(r)-1, w+2); v++ {
			if !math.IsNaN(r[v]) {
				xs = append(xs, math.Abs(r[v]))
			}
		}
	}
	slices.Sort(xs)
	return quantile(xs, Level)
}

// quantile is the q-quantile of sorted xs, linear between order
// statistics.
func quantile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	p := q * float64(len(xs)-1)
	i := int(p)
	if i >= len(xs)-1 {
		return xs[len(xs)-1]
	}
	return xs[i] + (p-float64(i))*(xs[i+1]-xs[i])
}

// normalQuantile is the standard normal quantile function.
func normalQuantile(p float64) float64 { return math.Sqrt2 * math.Erfinv(2*p-1) }

func round2(v float64) float64 { return math.Round(v*100) / 100 }
func round4(v float64) float64 { return math.Round(v*1e4) / 1e4 }

// actuals returns the cash received in each of weeks weeks from day d.
func actuals(ctx context.Context, eng warehouse.Engine, tenant string, d time.Time, weeks int) ([]float64, error) {
	out := make([]float64, weeks)
	rr, err := eng.Query(ctx, actualSQL, warehouse.Params{"tenant": tenant, "d": d, "dt": d, "end": d.AddDate(0, 0, 7*weeks)})
	if err != nil {
		return nil, fmt.Errorf("cash forecast: payments from %s: %w", d.Format(time.DateOnly), err)
	}
	defer rr.Release()
	var w int
	var cents int64
	err = warehouse.Scan(rr, func() error {
		if w >= 0 && w < weeks {
			out[w] = float64(cents) / 100
		}
		return nil
	}, &w, &cents)
	if err != nil {
		return nil, fmt.Errorf("cash forecast: payments from %s: %w", d.Format(time.DateOnly), err)
	}
	return out, nil
}

// invoice is one invoice of a customer as known at the forecast day.
type invoice struct {
	issued, due  int32 // days since 1970-01-01
	amount, paid int64 // cents
}

// customerBills are a customer's invoices known at the forecast day, in
// issue order.
type customerBills []invoice

// expected is an invoice expected to be issued after the forecast day.
type expected struct {
	issued, due int32
	amount      int64
}

// next returns the invoices bills' customer is expected to be issued in
// [from, to): its billing cycle (the median days between its invoices of
// the last year, or gap when it has fewer than two) continued from its
// last invoice (by calendar month for a monthly cycle), with the median
// amount of its last three invoices moved
// by the season (s) from its last invoice's month to the expected one's,
// and the terms of its last. A customer whose next invoice was due more
// than half a cycle before from is taken to be billed no more.
func (b customerBills) next(from, to int32, gap int32, s season) []expected {
	var cyc []invoice
	for _, v := range b {
		if v.issued >= from-cycleDays {
			cyc = append(cyc, v)
		}
	}
	if len(cyc) == 0 {
		return nil
	}
	if g := medianGap(cyc); g > 0 {
		gap = g
	}
	last := cyc[len(cyc)-1]
	amounts := make([]int64, 0, 3)
	for _, v := range cyc[max(0, len(cyc)-3):] {
		amounts = append(amounts, v.amount)
	}
	slices.Sort(amounts)
	amount := amounts[len(amounts)/2]
	terms := last.due - last.issued
	// The k-th issue date after the last: a calendar month on (the same
	// day of the month) for cycles of 28 to 31 days, else k cycles on.
	at := func(k int) int32 { return last.issued + int32(k)*gap }
	if gap >= 28 && gap <= 31 {
		at = func(k int) int32 { return addMonths(last.issued, k) }
	}
	k := 1
	if at(k) < from-gap/2 {
		return nil
	}
	for at(k) < from {
		k++
	}
	var out []expected
	for ; at(k) < to; k++ {
		t := at(k)
		a := int64(math.Round(float64(amount) * s.factor(last.issued, t)))
		out = append(out, expected{issued: t, due: t + terms, amount: a})
	}
	return out
}

// addMonths is day (days since 1970-01-01) k calendar months on, on the
// same day of the month or the month's last day.
func addMonths(day int32, k int) int32 {
	t := time.Unix(int64(day)*86400, 0).UTC()
	first := time.Date(t.Year(), t.Month()+time.Month(k), 1, 0, 0, 0, 0, time.UTC)
	last := first.AddDate(0, 1, -1).Day()
	return int32(time.Date(first.Year(), first.Month(), min(t.Day(), last), 0, 0, 0, 0, time.UTC).Unix() / 86400)
}

// medianGap is the median of the days between consecutive invoices (0 for
// fewer than two), bounded to a week..a year.
func medianGap(vs []invoice) int32 {
	if len(vs) < 2 {
		return 0
	}
	gaps := make([]int32, 0, len(vs)-1)
	for i := 1; i < len(vs); i++ {
		if g := vs[i].issued - vs[i-1].issued; g > 0 {
			gaps = append(gaps, g)
		}
	}
	if len(gaps) == 0 {
		return 0
	}
	slices.Sort(gaps)
	return min(max(gaps[len(gaps)/2], 7), 366)
}

// pointForecast is the expected cash per week and its variance from the
// payment-day chance of each invoice (independent invoices).
type pointForecast struct {
	mean, variance, fromOpen []float64
	open, expected           int
	openAmount               float64
}

// point forecasts the cash received per week from day d: the invoices
// open at d and those expected to be issued, each with the distribution
// of its payment day (payDays) from the invoice model scored on its
// customer's signals at d.
func point(ctx context.Context, eng warehouse.Engine, sc *model.Scorer, opt Options, d time.Time) (*pointForecast, error) {
	day := int32(d.Unix() / 86400)
	bills, err := readBills(ctx, eng, opt.Tenant, d)
	if err != nil {
		return nil, err
	}
	onTime, err := readOnTime(ctx, eng, opt.Tenant, d)
	if err != nil {
		return nil, err
	}
	gap := tenantGap(bills)
	sea, err := readSeason(ctx, eng, opt.Tenant, d)
	if err != nil {
		return nil, err
	}
	pf := &pointForecast{mean: make([]float64, opt.Weeks), variance: make([]float64, opt.Weeks), fromOpen: make([]float64, opt.Weeks)}
	if len(bills) == 0 {
		return pf, nil
	}
	a := sc.Artifact()
	var pred model.Prediction
	pw := make([]float64, opt.Weeks)
	end := day + int32(7*opt.Weeks)
	add := func(amount float64, open bool) {
		for w, p := range pw {
			pf.mean[w] += amount * p
			pf.variance[w] += amount * amount * p * (1 - p)
			if open {
				pf.fromOpen[w] += amount * p
			}
		}
	}
	err = features.Signals(ctx, eng, features.RefreshOptions{AsOf: d, Tenant: opt.Tenant, Threshold: opt.Threshold}, func(rec arrow.Record) error {
		c, err := newColumns(rec.Schema(), a.Features)
		if err != nil {
			return err
		}
		var days onTimeDays
		score := func(issued, due int32, amount int64) {
			c.num[c.amountIdx] = float64(amount) / 100
			c.num[c.termsIdx] = float64(due - issued)
			sc.Predict(c.num, c.cat, &pred)
			payDays(a.Grid, pred.Survival, days, issued, due, day, pw)
		}
		buf := make(onTimeDays, 0, len(onTime.tenant))
		return c.scan(rec, func() error {
			b := bills[c.customer]
			days = onTime.of(c.customer, buf)
			for _, v := range b {
				if v.paid >= v.amount {
					continue
				}
				score(v.issued, v.due, v.amount)
				open := float64(v.amount-v.paid) / 100
				pf.open++
				pf.openAmount += open
				add(open, true)
			}
			if c.departed {
				return nil
			}
			for _, e := range b.next(day, end, gap, sea) {
				score(e.issued, e.due, e.amount)
				pf.expected++
				add(float64(e.amount)/100, false)
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("cash forecast at %s: %w", d.Format(time.DateOnly), err)
	}
	return pf, nil
}

// readBills reads, per customer, the invoices of invoicesSQL as known at d.
func readBills(ctx context.Context, eng warehouse.Engine, tenant string, d time.Time) (map[string]customerBills, error) {
	rr, err := eng.Query(ctx, invoicesSQL, warehouse.Params{"tenant": tenant, "d": d, "dt": d, "cycle_from": d.AddDate(0, 0, -cycleDays)})
	if err != nil {
		return nil, fmt.Errorf("cash forecast: invoices at %s: %w", d.Format(time.DateOnly), err)
	}
	defer rr.Release()
	out := map[string]customerBills{}
	var cust, id string
	var issued, due time.Time
	var v invoice
	err = warehouse.Scan(rr, func() error {
		v.issued, v.due = int32(issued.Unix()/86400), int32(due.Unix()/86400)
		out[cust] = append(out[cust], v)
		return nil
	}, &cust, &id, &issued, &due, &v.amount, &v.paid)
	if err != nil {
		return nil, fmt.Errorf("cash forecast: invoices at %s: %w", d.Format(time.DateOnly), err)
	}
	return out, nil
}

// onTimeDays is the distribution of the days before the due date on which
// invoices paid on time are paid: share[k] for k days before.
type onTimeDays []float64

// onTimePrior is the weight, in invoices, of the tenant's days in a
// customer's own (onTimeProfile.of): a customer with a few on-time
// invoices keeps much of the tenant's; one with a year of them, its own.
const onTimePrior = 2

// dayCount is how many invoices were paid k days before their due date.
type dayCount struct{ k, n int32 }

// onTimeProfile holds the days before the due date on which invoices were
// paid on time: the tenant's, and each customer's own counts.
type onTimeProfile struct {
	tenant    onTimeDays
	customers map[string][]dayCount
}

// of returns customer's distribution in buf (reused): its own counts
// with the tenant's shares as a prior of onTimePrior invoices. Habits
// differ: a direct debit is collected on the due date, some customers pay
// on receipt.
func (p *onTimeProfile) of(customer string, buf onTimeDays) onTimeDays {
	own := p.customers[customer]
	if len(own) == 0 {
		return p.tenant
	}
	buf = append(buf[:0], p.tenant...)
	var n float64
	for _, c := range own {
		n += float64(c.n)
	}
	for k := range buf {
		buf[k] *= onTimePrior / (n + onTimePrior)
	}
	for _, c := range own {
		buf[c.k] += float64(c.n) / (n + onTimePrior)
	}
	return buf
}

// readOnTime reads onTimeSQL at d; with no on-time payment known, every
// on-time invoice is taken to be paid on its due date.
func readOnTime(ctx context.Context, eng warehouse.Engine, tenant string, d time.Time) (*onTimeProfile, error) {
	rr, err := eng.Query(ctx, onTimeSQL, warehouse.Params{"tenant": tenant, "d": d, "dt": d, "cycle_from": d.AddDate(0, 0, -cycleDays)})
	if err != nil {
		return nil, fmt.Errorf("cash forecast: on-time payments at %s: %w", d.Format(time.DateOnly), err)
	}
	defer rr.Release()
	p := &onTimeProfile{customers: map[string][]dayCount{}}
	var cust string
	var k, n int64
	counts := make([]float64, cycleDays+1)
	var total float64
	last := 0
	err = warehouse.Scan(rr, func() error {
		if k >= 0 && k <= cycleDays {
			p.customers[cust] = append(p.customers[cust], dayCount{int32(k), int32(n)})
			counts[k] += float64(n)
			total += float64(n)
			last = max(last, int(k))
		}
		return nil
	}, &cust, &k, &n)
	if err != nil {
		return nil, fmt.Errorf("cash forecast: on-time payments at %s: %w", d.Format(time.DateOnly), err)
	}
	if total == 0 {
		p.tenant = onTimeDays{1}
		return p, nil
	}
	p.tenant = make(onTimeDays, last+1)
	for k := range p.tenant {
		p.tenant[k] = counts[k] / total
	}
	return p, nil
}

// tenantGap is the most common billing cycle of the tenant's customers
// (the median of their median gaps; 30 days when none has two invoices),
// for customers with a single invoice.
func tenantGap(bills map[string]customerBills) int32 {
	var gaps []int32
	for _, b := range bills {
		if g := medianGap(b); g > 0 {
			gaps = append(gaps, g)
		}
	}
	if len(gaps) == 0 {
		return 30
	}
	slices.Sort(gaps)
	return gaps[len(gaps)/2]
}

// season is the tenant's mean invoice amount per month (months since
// year 0) of the two years before the forecast day.
type season map[int]float64

// monthOf is the month index of a day since 1970-01-01.
func monthOf(day int32) int {
	t := time.Unix(int64(day)*86400, 0).UTC()
	return t.Year()*12 + int(t.Month()) - 1
}

// factor is how much the amounts billed in the month of day to differ
// from those billed in the month of day from, as the same months a year
// earlier show (1 when the year before is not in the data).
func (s season) factor(from, to int32) float64 {
	a, okA := s[monthOf(from)-12]
	b, okB := s[monthOf(to)-12]
	if !okA || !okB || a <= 0 || b <= 0 {
		return 1
	}
	return b / a
}

// readSeason reads seasonSQL at d.
func readSeason(ctx context.Context, eng warehouse.Engine, tenant string, d time.Time) (season, error) {
	rr, err := eng.Query(ctx, seasonSQL, warehouse.Params{"tenant": tenant, "d": d, "season_from": d.AddDate(-2, 0, 0)})
	if err != nil {
		return nil, fmt.Errorf("cash forecast: amounts per month before %s: %w", d.Format(time.DateOnly), err)
	}
	defer rr.Release()
	out := season{}
	var m time.Time
	var mean float64
	err = warehouse.Scan(rr, func() error {
		out[m.Year()*12+int(m.Month())-1] = mean
		return nil
	}, &m, &mean)
	if err != nil {
		return nil, fmt.Errorf("cash forecast: amounts per month before %s: %w", d.Format(time.DateOnly), err)
	}
	return out, nil
}
