package features

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// Row is one customer's signals at one reference date, as Compute returns
// them. Values[i] is the numeric signal Names[i] (NaN = NULL); Names is
// NumericNames() and Categorical[i] is the attribute CategoricalNames()[i].
// A plain value.
type Row struct {
	Tenant     string
	CustomerID string
	AsOf       time.Time
	// Status is "ok" or "behind" (an invoice unpaid threshold days after
	// its due date at AsOf).
	Status string
	// Departed reports a "contract ended" event before AsOf.
	Departed         bool
	Names            []string
	Values           []float64
	CategoricalNames []string
	Categorical      []string
}

// Value returns the numeric signal called name (NaN = NULL) and whether it
// exists.
func (r *Row) Value(name string) (float64, bool) {
	if i := slices.Index(r.Names, name); i >= 0 {
		return r.Values[i], true
	}
	return math.NaN(), false
}

// Attr returns the categorical attribute called name and whether it exists.
func (r *Row) Attr(name string) (string, bool) {
	if i := slices.Index(r.CategoricalNames, name); i >= 0 {
		return r.Categorical[i], true
	}
	return "", false
}

// ErrNotCreated is returned by Compute for a reference date before the
// customer's created_at: the customer does not exist yet.
var ErrNotCreated = errors.New("features: customer created after the reference date")

const secondsPerDay = 86400

// dayOf returns the UTC day number of t.
func dayOf(t time.Time) int32 { return int32(math.Floor(float64(t.Unix()) / secondsPerDay)) }

type pay struct {
	ts   int64
	day  int32
	c    int64
	coll bool
}

// Compute evaluates every catalog signal of h's customer at asOf (its UTC
// day) in plain Go, with the definitions of sql/core.sql; threshold (0 =
// 30) decides Status. Only events strictly before 00:00 UTC of asOf count.
// Payments, debits and reminders of invoices not in h are ignored for the
// invoice-based signals, as in the SQL. Concurrency-safe (h is only read).
func Compute(h *History, asOf time.Time, threshold int) (Row, error) {
	return compute(h, asOf, threshold, 0)
}

// ComputeLive is Compute at the moment now, as the live refresh computes
// features_latest (RefreshOptions.Live): as of now's UTC day, with the
// events dated that day (those known so far) counted too, while due dates
// are still compared with that day (an invoice due today is not overdue).
func ComputeLive(h *History, now time.Time, threshold int) (Row, error) {
	return compute(h, now, threshold, 1)
}

// compute is Compute with the events of the known days from asOf's day on
// counted too (sql/core.sql's {known:Int32}).
func compute(h *History, asOf time.Time, threshold int, known int32) (Row, error) {
	if h == nil {
		return Row{}, errors.New("compute: nil history")
	}
	if threshold == 0 {
		threshold = DefaultThreshold
	}
	c := h.Customer
	T := dayOf(day(asOf))
	if c.CreatedAt.days() > T {
		return Row{}, fmt.Errorf("compute %s at %s: %w", c.CustomerID, day(asOf).Format(time.DateOnly), ErrNotCreated)
	}
	s := newSignals(T, known)
	inv := foldInvoices(h, T, known, int64(threshold))
	inv.emit(s, &c, asOf)
	ddLastReason := debitSignals(s, h.DirectDebits)
	reminderSignals(s, h.Reminders)
	arrangementSignals(s, h.Arrangements)
	disputeSignals(s, h.Disputes)
	departed := eventSignals(s, h.Events)
	status := "ok"
	if inv.behind > 0 {
		status = "behind"
	}
	return Row{
		Tenant: c.Tenant, CustomerID: c.CustomerID, AsOf: day(asOf), Status: status, Departed: departed,
		Names: s.names, Values: s.vals, CategoricalNames: CategoricalNames(),
		Categorical: []string{c.Segment, c.CustomerType, c.Channel, c.PaymentMethod, c.Country, c.PostcodeArea, ddLastReason},
	}, nil
}

// signals are the numeric values of one Row being computed at day T, NaN
// (NULL) until set; events dated before day K (T + known) are known.
type signals struct {
	T, K  int32
	names []string
	vals  []float64
	idx   map[string]int
}

func newSignals(T, known int32) *signals {
	s := &signals{T: T, K: T + known, names: NumericNames()}
	s.vals = make([]float64, len(s.names))
	s.idx = make(map[string]int, len(s.names))
	for i, n := range s.names {
		s.idx[n] = i
		s.vals[i] = math.NaN()
	}
	return s
}

func (s *signals) set(name string, v float64) { s.vals[s.idx[name]] = v }
func (s *signals) cnt(name string, n int64)   { s.vals[s.idx[name]] = float64(n) }

// in reports whether day d lies in the n days before K.
func (s *signals) in(d, n int32) bool { return d >= s.K-n && d < s.K }

// invoiceFacts is what one invoice's payments say at day T.
type invoiceFacts struct {
	amount, paidC, nPaid, late int64
	due, issued, fullD         int32
	fullTS                     int64
	fullT                      bool // paid in full before T
}

// invoiceAgg sums the invoice-based signals over a customer's invoices
// at day T, with the payments and reminders dated before day K known.
type invoiceAgg struct {
	T, K                                                                 int32
	threshold                                                            int64
	n365, late365, latesum365, latemax365, dpd30, n90, late90, latesum90 int64
	odN, odC, odOld, hasLate, lastLateDue, remN, remResp                 int64
	pdN, pdS, pdS2, partial, openN, openC, amt365, collPay, behind       int64
	dueN, lastDue, lastDueLate                                           int64
	pm90N, pm90S, pm365N, pm365S, onTimeN, lastOnTime                    int64
	payN, lastPaid, lastPayDay                                           int64
}

// foldInvoices folds h's invoices, with their payments and first
// reminders, at day T.
func foldInvoices(h *History, T, known int32, threshold int64) *invoiceAgg {
	pays := map[string][]pay{}
	for _, p := range h.Payments {
		pays[p.InvoiceID] = append(pays[p.InvoiceID], pay{ts: p.PaidAt.Unix(), day: dayOf(p.PaidAt), c: int64(p.Amount), coll: p.Method == "collection_agency"})
	}
	firstRem := map[string]int64{}
	for _, r := range h.Reminders {
		ts := r.SentAt.Unix()
		if cur, ok := firstRem[r.InvoiceID]; !ok || ts < cur {
			firstRem[r.InvoiceID] = ts
		}
	}
	a := &invoiceAgg{T: T, K: T + known, threshold: threshold}
	for _, inv := range h.Invoices {
		ps := pays[inv.InvoiceID]
		sortPays(ps)
		f := a.facts(&inv, ps)
		remTS, hasRem := firstRem[inv.InvoiceID]
		a.addWindows(&f, remTS, hasRem && dayOf(time.Unix(remTS, 0)) < a.K)
		a.addTotals(&f)
	}
	return a
}

// sortPays orders an invoice's payments by time, amount, and the
// collection agency's last.
func sortPays(ps []pay) {
	slices.SortFunc(ps, func(a, b pay) int {
		switch {
		case a.ts != b.ts:
			return cmp.Compare(a.ts, b.ts)
		case a.c != b.c:
			return cmp.Compare(a.c, b.c)
		case a.coll != b.coll:
			if !a.coll {
				return -1
			}
			return 1
		}
		return 0
	})
}

// facts reads one invoice's sorted payments (and counts the collection
// agency's).
func (a *invoiceAgg) facts(inv *Invoice, ps []pay) invoiceFacts {
	T, K := a.T, a.K
	f := invoiceFacts{amount: int64(inv.Amount), due: inv.DueAt.days(), issued: inv.IssuedAt.days()}
	var cum int64
	fullI := -1
	for i, p := range ps {
		cum += p.c
		if cum >= f.amount {
			fullI = i
			break
		}
	}
	if fullI >= 0 {
		f.fullTS, f.fullD = ps[fullI].ts, ps[fullI].day
	}
	f.fullT = fullI >= 0 && f.fullD < K
	for _, p := range ps {
		if p.day < K {
			f.paidC += p.c
			f.nPaid++
		}
		if p.coll && p.day >= K-730 && p.day < K {
			a.collPay++
		}
	}
	if f.fullT {
		f.late = int64(max(0, f.fullD-f.due))
	} else {
		f.late = int64(max(0, T-f.due))
	}
	return f
}

// addWindows adds an invoice due in the last 365 and 90 days.
func (a *invoiceAgg) addWindows(f *invoiceFacts, remTS int64, reminded bool) {
	T, due, late := a.T, f.due, f.late
	if due >= T-365 && due < T {
		a.n365++
		a.latesum365 += late
		a.latemax365 = max(a.latemax365, late)
		a.amt365 += f.amount
		if late > 0 {
			a.late365++
		}
		if late >= 30 {
			a.dpd30++
		}
		if reminded {
			a.remN++
			if f.fullT && f.fullTS >= remTS && f.fullTS <= remTS+14*secondsPerDay {
				a.remResp++
			}
		}
		if f.fullT {
			a.pdN++
			d := int64(f.fullD - due)
			a.pdS += d
			a.pdS2 += d * d
		}
		if f.nPaid >= 2 || (f.paidC > 0 && f.paidC < f.amount) {
			a.partial++
		}
	}
	if due >= T-90 && due < T {
		a.n90++
		a.latesum90 += late
		if late > 0 {
			a.late90++
		}
	}
}

// addTotals adds an invoice to the signals of all time: overdue, open,
// the latest due and payment, payment days.
func (a *invoiceAgg) addTotals(f *invoiceFacts) {
	T, K, due, late, fullD := a.T, a.K, f.due, f.late, f.fullD
	if due < T && !f.fullT {
		a.odN++
		a.odC += f.amount - f.paidC
		a.odOld = max(a.odOld, int64(T-due))
		if int64(T-due) >= a.threshold {
			a.behind++
		}
	}
	if due < T {
		// the latest due date wins; on a tie, the larger lateness
		if a.dueN == 0 || int64(due) > a.lastDue || (int64(due) == a.lastDue && late > a.lastDueLate) {
			a.lastDue, a.lastDueLate = int64(due), late
		}
		a.dueN++
	}
	if f.fullT {
		// the latest full payment wins; on a tie, the later payment day
		if a.payN == 0 || int64(fullD) > a.lastPaid || (int64(fullD) == a.lastPaid && int64(fullD-due) > a.lastPayDay) {
			a.lastPaid, a.lastPayDay = int64(fullD), int64(fullD-due)
		}
		a.payN++
	}
	if f.fullT && fullD >= K-90 {
		a.pm90N++
		a.pm90S += int64(fullD - due)
	}
	if f.fullT && fullD >= K-365 {
		a.pm365N++
		a.pm365S += int64(fullD - due)
	}
	if due < T && late == 0 {
		a.onTimeN++
		a.lastOnTime = max(a.lastOnTime, int64(due))
	}
	if due < T && late > 0 {
		a.hasLate++
		a.lastLateDue = max(a.lastLateDue, int64(due))
	}
	if f.issued < K && !f.fullT {
		a.openN++
		a.openC += f.amount - f.paidC
	}
}

// emit sets the invoice-based signals (and the customer's own: tenure,
// monthly amount, credit limit, month) from a.
func (a *invoiceAgg) emit(s *signals, c *Customer, asOf time.Time) {
	T := a.T
	s.set("tenure_days", float64(T-c.CreatedAt.days()))
	s.cnt("invoices_365d", a.n365)
	if a.n365 > 0 {
		s.set("late_share_365d", float64(a.late365)/float64(a.n365))
		s.set("days_late_mean_365d", float64(a.latesum365)/float64(a.n365))
		s.set("days_late_max_365d", float64(a.latemax365))
		s.set("partial_payment_share_365d", float64(a.partial)/float64(a.n365))
		s.set("invoice_amount_mean_365d", float64(a.amt365)/float64(a.n365)/100)
	}
	s.cnt("invoices_30dpd_365d", a.dpd30)
	s.cnt("open_overdue_count", a.odN)
	s.set("open_overdue_amount", float64(a.odC)/100)
	if a.odN > 0 {
		s.cnt("oldest_overdue_days", a.odOld)
	} else {
		s.set("oldest_overdue_days", 0)
	}
	if a.hasLate > 0 {
		s.cnt("days_since_last_late", int64(T)-a.lastLateDue)
	}
	if a.remN > 0 {
		s.set("paid_after_first_reminder_share_365d", float64(a.remResp)/float64(a.remN))
	}
	if a.pdN >= 2 {
		n := float64(a.pdN)
		s.set("payment_day_std_365d", math.Sqrt(max(0, (float64(a.pdS2)-float64(a.pdS*a.pdS)/n)/n)))
	}
	monthly := int64(c.MonthlyAmount)
	s.set("monthly_amount", float64(monthly)/100)
	if a.n90 > 0 {
		s.set("late_share_90d", float64(a.late90)/float64(a.n90))
		s.set("days_late_mean_90d", float64(a.latesum90)/float64(a.n90))
		s.set("late_share_trend", float64(a.late90)/float64(a.n90)-float64(a.late365)/float64(a.n365))
	}
	s.cnt("open_invoices_count", a.openN)
	s.set("open_amount", float64(a.openC)/100)
	if monthly > 0 {
		s.set("overdue_to_monthly", float64(a.odC)/float64(monthly))
	}
	s.cnt("collection_payments_730d", a.collPay)
	if c.CreditLimit != nil {
		s.set("credit_limit", float64(*c.CreditLimit)/100)
		if *c.CreditLimit > 0 {
			s.set("credit_utilisation", float64(a.openC)/float64(*c.CreditLimit))
		}
	}
	a.emitDays(s, asOf)
}

// emitDays sets the signals of payment days and of the latest due and
// on-time invoices.
func (a *invoiceAgg) emitDays(s *signals, asOf time.Time) {
	if a.dueN > 0 {
		s.cnt("last_due_days_late", a.lastDueLate)
	}
	s.set("as_of_month", float64(day(asOf).Month()))
	if a.pm90N > 0 {
		s.set("payment_day_mean_90d", float64(a.pm90S)/float64(a.pm90N))
	}
	if a.pm365N > 0 {
		s.set("payment_day_mean_365d", float64(a.pm365S)/float64(a.pm365N))
	}
	if a.onTimeN > 0 {
		s.cnt("days_since_last_on_time", int64(a.T)-a.lastOnTime)
	}
	if a.payN > 0 {
		s.cnt("last_payment_day", a.lastPayDay)
	}
}

// debitSignals sets the direct-debit signals and returns the reason of
// the latest failure.
func debitSignals(s *signals, dds []DirectDebit) string {
	failed := func(st string) bool { return st == "failed" || st == "reversed" }
	var ddFailed90, ddAM04, ddAC, ddN, ddFailed365, ddHasFail int64
	ddLastFail := int32(0)
	ddLastReason := ""
	for _, d := range dds {
		dd := dayOf(d.AttemptedAt)
		if failed(d.Status) && s.in(dd, 90) {
			ddFailed90++
		}
		if d.Reason == "AM04" && s.in(dd, 365) {
			ddAM04++
		}
		if (d.Reason == "AC04" || d.Reason == "AC06") && s.in(dd, 365) {
			ddAC++
		}
		if s.in(dd, 365) {
			ddN++
			if failed(d.Status) {
				ddFailed365++
			}
		}
		if failed(d.Status) && dd < s.K {
			// The reason of the latest failure by day; of two on the
			// same day, the alphabetically last (as core.sql).
			if ddHasFail == 0 || dd > ddLastFail || (dd == ddLastFail && d.Reason > ddLastReason) {
				ddLastReason = d.Reason
			}
			ddHasFail++
			ddLastFail = max(ddLastFail, dd)
		}
	}
	s.cnt("dd_failed_90d", ddFailed90)
	s.cnt("dd_insufficient_funds_365d", ddAM04)
	s.cnt("dd_account_closed_365d", ddAC)
	s.cnt("dd_attempts_365d", ddN)
	if ddN > 0 {
		s.set("dd_failed_share_365d", float64(ddFailed365)/float64(ddN))
	}
	if ddHasFail > 0 {
		s.cnt("days_since_last_dd_failure", int64(s.T-ddLastFail))
	}
	return ddLastReason
}

func reminderSignals(s *signals, rs []Reminder) {
	var rem90, rem365, final365, coll365, remHas, stage30 int64
	remLast := int32(0)
	for _, r := range rs {
		d := dayOf(r.SentAt)
		if s.in(d, 90) {
			rem90++
		}
		if s.in(d, 30) {
			stage30 = max(stage30, int64(slices.Index(dunningStages, r.Stage)+1))
		}
		if s.in(d, 365) {
			rem365++
			switch r.Stage {
			case "final_notice":
				final365++
			case "collection":
				coll365++
			}
		}
		if d < s.K {
			remHas++
			remLast = max(remLast, d)
		}
	}
	s.cnt("reminders_90d", rem90)
	s.cnt("reminders_365d", rem365)
	s.cnt("final_notices_365d", final365)
	s.cnt("collections_365d", coll365)
	s.cnt("reminder_stage_30d", stage30)
	if remHas > 0 {
		s.cnt("days_since_last_reminder", int64(s.T-remLast))
	}
}

func arrangementSignals(s *signals, as []Arrangement) {
	var broken730, active, arr730 int64
	for _, a := range as {
		d1 := dayOf(a.AgreedAt)
		ended := a.EndedAt != nil && dayOf(*a.EndedAt) < s.K
		if a.Status == "broken" && a.EndedAt != nil && s.in(dayOf(*a.EndedAt), 730) {
			broken730++
		}
		if d1 < s.K && !ended {
			active++
		}
		if s.in(d1, 730) {
			arr730++
		}
	}
	s.cnt("arrangements_broken_730d", broken730)
	s.set("arrangement_active", b2f(active > 0))
	s.cnt("arrangements_730d", arr730)
}

func disputeSignals(s *signals, ds []Dispute) {
	var dispOpen, disp365 int64
	for _, d := range ds {
		d1 := dayOf(d.OpenedAt)
		if d1 < s.K && !(d.ResolvedAt != nil && dayOf(*d.ResolvedAt) < s.K) {
			dispOpen++
		}
		if s.in(d1, 365) {
			disp365++
		}
	}
	s.cnt("disputes_open", dispOpen)
	s.cnt("disputes_365d", disp365)
}

// eventSignals sets the customer-event signals and reports whether the
// customer departed before T.
func eventSignals(s *signals, es []CustomerEvent) bool {
	var addr180, pmc365, contact90, complaint365, addrN int64
	addrLast := int32(0)
	departed := false
	for _, e := range es {
		d := dayOf(e.OccurredAt)
		if e.Kind == "address_change" && d < s.K {
			addrN++
			addrLast = max(addrLast, d)
		}
		if isDeparture(e.Kind, e.Detail) {
			departed = departed || d < s.K
			continue
		}
		switch {
		case e.Kind == "address_change" && s.in(d, 180):
			addr180++
		case e.Kind == "payment_method_change" && s.in(d, 365):
			pmc365++
		case e.Kind == "contact" && s.in(d, 90):
			contact90++
		case e.Kind == "complaint" && s.in(d, 365):
			complaint365++
		}
	}
	s.cnt("address_changes_180d", addr180)
	if addrN > 0 {
		s.cnt("days_since_last_address_change", int64(s.T-addrLast))
	}
	s.cnt("payment_method_changes_365d", pmc365)
	s.cnt("contacts_90d", contact90)
	s.cnt("complaints_365d", complaint365)
	return departed
}

// dunningStages are the reminder stages in escalation order
// (reminder_stage_30d is the 1-based position, 0 for none).
var dunningStages = []string{"reminder", "second_reminder", "final_notice", "collection"}

// isDeparture reports a customer event that ends the relationship: kind
// contract_change with a detail starting "contract ended".
func isDeparture(kind, detail string) bool {
	return kind == "contract_change" && strings.HasPrefix(asciiLower(detail), "contract ended")
}

// asciiLower lower-cases ASCII letters only, as ClickHouse's lower().
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
