package simulation

import (
	"sort"
	"strings"
	"time"

	"github.com/duewise/duewise/features"
)

// label is the survival label of docs/features.md ("Labels: whether and
// when") for h at T with the data known up to the day eod: the customer
// falls behind on the first day due_at + threshold (>= T) on which one of
// its invoices is not paid in full before that day; event when that day
// is at or before eod, else censored at eod or at the first departure on
// or after T. ok is false when there is no training row: the customer
// did not exist at T, departed before it, or is already behind at T. The
// same rules as features/sql/core.sql, in Go for the simulation's
// in-process training (TestLabelsMatchSQL holds them equal).
func label(h *features.History, T, eod time.Time, threshold int) (duration int32, event uint8, ok bool) {
	t, e := dayNum(T), dayNum(eod)
	if dayNum(h.Customer.CreatedAt.Time) > t {
		return 0, 0, false
	}
	depAfter := int32(-1)
	for _, ev := range h.Events {
		if ev.Kind != "contract_change" || !strings.HasPrefix(strings.ToLower(ev.Detail), "contract ended") {
			continue
		}
		d := dayNum(ev.OccurredAt)
		if d < t {
			return 0, 0, false
		}
		if depAfter < 0 || d < depAfter {
			depAfter = d
		}
	}
	full := paidInFull(h)
	next := int32(-1)
	for _, inv := range h.Invoices {
		due := dayNum(inv.DueAt.Time)
		fd, paid := full[inv.InvoiceID]
		if due < t && (!paid || fd >= t) && t-due >= int32(threshold) {
			return 0, 0, false // behind at T
		}
		at := due + int32(threshold)
		if at >= t && !(paid && fd < at) && (next < 0 || at < next) {
			next = at
		}
	}
	if next >= 0 && next <= e {
		return next - t, 1, true
	}
	end := e
	if depAfter >= 0 && depAfter < e {
		end = depAfter
	}
	return max(0, end-t), 0, true
}

// paidInFull returns the day each invoice of h was paid in full: when its
// payments, in time order, first cover its amount.
func paidInFull(h *features.History) map[string]int32 {
	amount := make(map[string]features.Amount, len(h.Invoices))
	for _, inv := range h.Invoices {
		amount[inv.InvoiceID] = inv.Amount
	}
	ps := make([]features.Payment, len(h.Payments))
	copy(ps, h.Payments)
	sort.SliceStable(ps, func(i, j int) bool { return ps[i].PaidAt.Before(ps[j].PaidAt) })
	paid := map[string]features.Amount{}
	full := map[string]int32{}
	for _, p := range ps {
		if _, done := full[p.InvoiceID]; done {
			continue
		}
		paid[p.InvoiceID] += p.Amount
		if a, ok := amount[p.InvoiceID]; ok && paid[p.InvoiceID] >= a {
			full[p.InvoiceID] = dayNum(p.PaidAt)
		}
	}
	return full
}

func dayNum(t time.Time) int32 {
	u := t.Unix()
	d := u / 86400
	if u < 0 && u%86400 != 0 {
		d--
	}
	return int32(d)
}
