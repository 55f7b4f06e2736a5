package features

import (
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
	num := NumericNames()
	vals := make([]float64, len(num))
	idx := make(map[string]int, len(num))
	for i, n := range num {
		idx[n] = i
		vals[i] = math.NaN()
	}
	set := func(name string, v float64) { vals[idx[name]] = v }
	cnt := func(name string, n int64) { vals[idx[name]] = float64(n) }

	// Per invoice: payments sorted by time, the first reminder.
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
	var (
		n365, late365, latesum365, latemax365, dpd30, n90, late90, latesum90 int64
		odN, odC, odOld, hasLate, lastLateDue, remN, remResp                 int64
		pdN, pdS, pdS2, partial, openN, openC, amt365, collPay, behind       int64
		dueN, lastDue, lastDueLate                                           int64
		pm90N, pm90S, pm365N, pm365S, onTimeN, lastOnTime                    int64
		payN, lastPaid, lastPayDay                                           int64
	)
	for _, inv := range h.Invoices {
		ps := pays[inv.InvoiceID]
		slices.SortFunc(ps, func(a, b pay) int {
			switch {
			case a.ts != b.ts:
				return cmpInt(a.ts, b.ts)
			case a.c != b.c:
				return cmpInt(a.c, b.c)
			case a.coll != b.coll:
				if !a.coll {
					return -1
				}
				return 1
			}
			return 0
		})
		amount := int64(inv.Amount)
		var cum int64
		fullI := -1
		for i, p := range ps {
			cum += p.c
			if cum >= amount {
				fullI = i
				break
			}
		}
		var fullTS int64
		var fullD int32
		if fullI >= 0 {
			fullTS, fullD = ps[fullI].ts, ps[fullI].day
		}
		due, issued := inv.DueAt.days(), inv.IssuedAt.days()
		fullT := fullI >= 0 && fullD < T
		var paidC, nPaid int64
		for _, p := range ps {
			if p.day < T {
				paidC += p.c
				nPaid++
			}
			if p.coll && p.day >= T-730 && p.day < T {
				collPay++
			}
		}
		var late int64
		if fullT {
			late = int64(max(0, fullD-due))
		} else {
			late = int64(max(0, T-due))
		}
		w365 := due >= T-365 && due < T
		w90 := due >= T-90 && due < T
		overdue := due < T && !fullT
		remTS, hasRem := firstRem[inv.InvoiceID]
		reminded := hasRem && dayOf(time.Unix(remTS, 0)) < T
		if w365 {
			n365++
			latesum365 += late
			latemax365 = max(latemax365, late)
			amt365 += amount
			if late > 0 {
				late365++
			}
			if late >= 30 {
				dpd30++
			}
			if reminded {
				remN++
				if fullT && fullTS >= remTS && fullTS <= remTS+14*secondsPerDay {
					remResp++
				}
			}
			if fullT {
				pdN++
				d := int64(fullD - due)
				pdS += d
				pdS2 += d * d
			}
			if nPaid >= 2 || (paidC > 0 && paidC < amount) {
				partial++
			}
		}
		if w90 {
			n90++
			latesum90 += late
			if late > 0 {
				late90++
			}
		}
		if overdue {
			odN++
			odC += amount - paidC
			odOld = max(odOld, int64(T-due))
			if int64(T-due) >= int64(threshold) {
				behind++
			}
		}
		if due < T {
			// the latest due date wins; on a tie, the larger lateness
			if dueN == 0 || int64(due) > lastDue || (int64(due) == lastDue && late > lastDueLate) {
				lastDue, lastDueLate = int64(due), late
			}
			dueN++
		}
		if fullT {
			// the latest full payment wins; on a tie, the later payment day
			if payN == 0 || int64(fullD) > lastPaid || (int64(fullD) == lastPaid && int64(fullD-due) > lastPayDay) {
				lastPaid, lastPayDay = int64(fullD), int64(fullD-due)
			}
			payN++
		}
		if fullT && fullD >= T-90 {
			pm90N++
			pm90S += int64(fullD - due)
		}
		if fullT && fullD >= T-365 {
			pm365N++
			pm365S += int64(fullD - due)
		}
		if due < T && late == 0 {
			onTimeN++
			lastOnTime = max(lastOnTime, int64(due))
		}
		if due < T && late > 0 {
			hasLate++
			lastLateDue = max(lastLateDue, int64(due))
		}
		if issued < T && !fullT {
			openN++
			openC += amount - paidC
		}
	}

	set("tenure_days", float64(T-c.CreatedAt.days()))
	cnt("invoices_365d", n365)
	if n365 > 0 {
		set("late_share_365d", float64(late365)/float64(n365))
		set("days_late_mean_365d", float64(latesum365)/float64(n365))
		set("days_late_max_365d", float64(latemax365))
		set("partial_payment_share_365d", float64(partial)/float64(n365))
		set("invoice_amount_mean_365d", float64(amt365)/float64(n365)/100)
	}
	cnt("invoices_30dpd_365d", dpd30)
	cnt("open_overdue_count", odN)
	set("open_overdue_amount", float64(odC)/100)
	if odN > 0 {
		cnt("oldest_overdue_days", odOld)
	} else {
		set("oldest_overdue_days", 0)
	}
	if hasLate > 0 {
		cnt("days_since_last_late", int64(T)-lastLateDue)
	}
	if remN > 0 {
		set("paid_after_first_reminder_share_365d", float64(remResp)/float64(remN))
	}
	if pdN >= 2 {
		n := float64(pdN)
		set("payment_day_std_365d", math.Sqrt(max(0, (float64(pdS2)-float64(pdS*pdS)/n)/n)))
	}
	monthly := int64(c.MonthlyAmount)
	set("monthly_amount", float64(monthly)/100)
	if n90 > 0 {
		set("late_share_90d", float64(late90)/float64(n90))
		set("days_late_mean_90d", float64(latesum90)/float64(n90))
		set("late_share_trend", float64(late90)/float64(n90)-float64(late365)/float64(n365))
	}
	cnt("open_invoices_count", openN)
	set("open_amount", float64(openC)/100)
	if monthly > 0 {
		set("overdue_to_monthly", float64(odC)/float64(monthly))
	}
	cnt("collection_payments_730d", collPay)
	if c.CreditLimit != nil {
		set("credit_limit", float64(*c.CreditLimit)/100)
		if *c.CreditLimit > 0 {
			set("credit_utilisation", float64(openC)/float64(*c.CreditLimit))
		}
	}
	if dueN > 0 {
		cnt("last_due_days_late", lastDueLate)
	}
	set("as_of_month", float64(day(asOf).Month()))
	if pm90N > 0 {
		set("payment_day_mean_90d", float64(pm90S)/float64(pm90N))
	}
	if pm365N > 0 {
		set("payment_day_mean_365d", float64(pm365S)/float64(pm365N))
	}
	if onTimeN > 0 {
		cnt("days_since_last_on_time", int64(T)-lastOnTime)
	}
	if payN > 0 {
		cnt("last_payment_day", lastPayDay)
	}

	in := func(d int32, n int32) bool { return d >= T-n && d < T }
	failed := func(s string) bool { return s == "failed" || s == "reversed" }
	var ddFailed90, ddAM04, ddAC, ddN, ddFailed365, ddHasFail int64
	ddLastFail := int32(0)
	ddLastReason := ""
	for _, d := range h.DirectDebits {
		dd := dayOf(d.AttemptedAt)
		if failed(d.Status) && in(dd, 90) {
			ddFailed90++
		}
		if d.Reason == "AM04" && in(dd, 365) {
			ddAM04++
		}
		if (d.Reason == "AC04" || d.Reason == "AC06") && in(dd, 365) {
			ddAC++
		}
		if in(dd, 365) {
			ddN++
			if failed(d.Status) {
				ddFailed365++
			}
		}
		if failed(d.Status) && dd < T {
			// The reason of the latest failure by day; of two on the
			// same day, the alphabetically last (as core.sql).
			if ddHasFail == 0 || dd > ddLastFail || (dd == ddLastFail && d.Reason > ddLastReason) {
				ddLastReason = d.Reason
			}
			ddHasFail++
			ddLastFail = max(ddLastFail, dd)
		}
	}
	cnt("dd_failed_90d", ddFailed90)
	cnt("dd_insufficient_funds_365d", ddAM04)
	cnt("dd_account_closed_365d", ddAC)
	cnt("dd_attempts_365d", ddN)
	if ddN > 0 {
		set("dd_failed_share_365d", float64(ddFailed365)/float64(ddN))
	}
	if ddHasFail > 0 {
		cnt("days_since_last_dd_failure", int64(T-ddLastFail))
	}

	var rem90, rem365, final365, coll365, remHas, stage30 int64
	remLast := int32(0)
	for _, r := range h.Reminders {
		d := dayOf(r.SentAt)
		if in(d, 90) {
			rem90++
		}
		if in(d, 30) {
			stage30 = max(stage30, int64(slices.Index(dunningStages, r.Stage)+1))
		}
		if in(d, 365) {
			rem365++
			switch r.Stage {
			case "final_notice":
				final365++
			case "collection":
				coll365++
			}
		}
		if d < T {
			remHas++
			remLast = max(remLast, d)
		}
	}
	cnt("reminders_90d", rem90)
	cnt("reminders_365d", rem365)
	cnt("final_notices_365d", final365)
	cnt("collections_365d", coll365)
	cnt("reminder_stage_30d", stage30)
	if remHas > 0 {
		cnt("days_since_last_reminder", int64(T-remLast))
	}

	var broken730, active, arr730 int64
	for _, a := range h.Arrangements {
		d1 := dayOf(a.AgreedAt)
		ended := a.EndedAt != nil && dayOf(*a.EndedAt) < T
		if a.Status == "broken" && a.EndedAt != nil && in(dayOf(*a.EndedAt), 730) {
			broken730++
		}
		if d1 < T && !ended {
			active++
		}
		if in(d1, 730) {
			arr730++
		}
	}
	cnt("arrangements_broken_730d", broken730)
	set("arrangement_active", b2f(active > 0))
	cnt("arrangements_730d", arr730)

	var dispOpen, disp365 int64
	for _, d := range h.Disputes {
		d1 := dayOf(d.OpenedAt)
		if d1 < T && !(d.ResolvedAt != nil && dayOf(*d.ResolvedAt) < T) {
			dispOpen++
		}
		if in(d1, 365) {
			disp365++
		}
	}
	cnt("disputes_open", dispOpen)
	cnt("disputes_365d", disp365)

	var addr180, pmc365, contact90, complaint365, addrN int64
	addrLast := int32(0)
	departed := false
	for _, e := range h.Events {
		d := dayOf(e.OccurredAt)
		if e.Kind == "address_change" && d < T {
			addrN++
			addrLast = max(addrLast, d)
		}
		if isDeparture(e.Kind, e.Detail) {
			departed = departed || d < T
			continue
		}
		switch {
		case e.Kind == "address_change" && in(d, 180):
			addr180++
		case e.Kind == "payment_method_change" && in(d, 365):
			pmc365++
		case e.Kind == "contact" && in(d, 90):
			contact90++
		case e.Kind == "complaint" && in(d, 365):
			complaint365++
		}
	}
	cnt("address_changes_180d", addr180)
	if addrN > 0 {
		cnt("days_since_last_address_change", int64(T-addrLast))
	}
	cnt("payment_method_changes_365d", pmc365)
	cnt("contacts_90d", contact90)
	cnt("complaints_365d", complaint365)

	status := "ok"
	if behind > 0 {
		status = "behind"
	}
	return Row{
		Tenant: c.Tenant, CustomerID: c.CustomerID, AsOf: day(asOf), Status: status, Departed: departed,
		Names: num, Values: vals, CategoricalNames: CategoricalNames(),
		Categorical: []string{c.Segment, c.CustomerType, c.Channel, c.PaymentMethod, c.Country, c.PostcodeArea, ddLastReason},
	}, nil
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

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
