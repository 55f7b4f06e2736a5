package synth

import (
	"math"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/duewise/duewise/datasets/rowfile"
	"github.com/duewise/duewise/datasets/rowfile/rowfiletest"
)

// TestLearnable fits a logistic regression on point-in-time history
// signals (only what a credit manager knows when an invoice is issued) and
// checks that it ranks invoices almost as well as the true hazard, and
// clearly better than static customer attributes alone: the world's
// signals carry real, learnable information.
func TestLearnable(t *testing.T) {
	c := testConfig(t, 12000, 24)
	generate(t, c)
	end := c.Start.AddDate(0, c.Months, 0)
	ts := func(s string) int64 { v, _ := time.Parse(time.RFC3339, s); return v.Unix() }
	ds := func(s string) int64 { v, _ := time.Parse(time.DateOnly, s); return v.Unix() }
	const day = 86400

	type inv struct {
		issued, due int64
		amount      float64
		paidFull    int64 // when payments first cover the amount; MaxInt64 never
		row         int
	}
	invs := map[string][]*inv{} // per customer, in issue order
	byID := map[string]*inv{}
	it := rowfiletest.ReadTable(t, c.Out, "invoices")
	for i, r := range it.Rows {
		a, _ := strconv.ParseFloat(it.Get(r, "amount"), 64)
		v := &inv{issued: ds(it.Get(r, "issued_at")), due: ds(it.Get(r, "due_at")), amount: a, paidFull: math.MaxInt64, row: i}
		invs[r[2]] = append(invs[r[2]], v)
		byID[r[1]] = v
	}
	pt := rowfiletest.ReadTable(t, c.Out, "payments")
	type pay struct {
		at  int64
		amt float64
	}
	pays := map[string][]pay{}
	for _, r := range pt.Rows {
		a, _ := strconv.ParseFloat(pt.Get(r, "amount"), 64)
		pays[pt.Get(r, "invoice_id")] = append(pays[pt.Get(r, "invoice_id")], pay{ts(pt.Get(r, "paid_at")), a})
	}
	for id, ps := range pays {
		slices.SortFunc(ps, func(a, b pay) int { return int(a.at - b.at) })
		sum := 0.0
		for _, p := range ps {
			if sum += p.amt; sum >= byID[id].amount-0.005 {
				byID[id].paidFull = p.at
				break
			}
		}
	}
	times := func(table, col, filterCol, filter string) map[string][]int64 {
		tb := rowfiletest.ReadTable(t, c.Out, table)
		m := map[string][]int64{}
		for _, r := range tb.Rows {
			if filterCol == "" || tb.Get(r, filterCol) == filter {
				m[tb.Get(r, "customer_id")] = append(m[tb.Get(r, "customer_id")], ts(tb.Get(r, col)))
			}
		}
		return m
	}
	failed := times("direct_debits", "attempted_at", "status", "failed")
	reminded := times("reminders", "sent_at", "", "")
	moved := times("customer_events", "occurred_at", "kind", "address_change")
	contacted := times("customer_events", "occurred_at", "kind", "contact")
	count := func(xs []int64, from, to int64) float64 {
		n := 0.0
		for _, x := range xs {
			if x >= from && x < to {
				n++
			}
		}
		return n
	}
	truth := rowfiletest.ReadTable(t, c.Out, rowfile.TruthTable)
	cu := rowfiletest.ReadTable(t, c.Out, "customers")

	var full, static [][]float64
	var y, hz []float64
	for _, r := range cu.Rows {
		id := r[1]
		created := ds(cu.Get(r, "created_at"))
		monthly, _ := strconv.ParseFloat(cu.Get(r, "monthly_amount"), 64)
		attrs := []float64{
			b2f(cu.Get(r, "channel") == "offline"), b2f(cu.Get(r, "customer_type") == "business"),
			b2f(cu.Get(r, "payment_method") == "direct_debit"), b2f(cu.Get(r, "payment_method") == "bank_transfer"),
			b2f(cu.Get(r, "segment") == "publishing"), b2f(cu.Get(r, "segment") == "insurance"),
			b2f(cu.Get(r, "segment") == "telecom"), math.Log(monthly),
		}
		for k, v := range invs[id] {
			if time.Unix(v.due+30*day, 0).After(end) {
				continue
			}
			tIss := v.issued
			var late, open30, prior float64
			for _, p := range invs[id][:k] {
				if p.due+day <= tIss {
					prior++
					if p.paidFull >= p.due+day {
						late++
					}
				}
				if p.due+30*day <= tIss && p.paidFull > tIss {
					open30 = 1
				}
			}
			iss := time.Unix(tIss, 0).UTC()
			x := append(slices.Clone(attrs),
				b2f(iss.Month() == time.December), b2f(tIss-created < 180*day), math.Log(v.amount/monthly),
			)
			static = append(static, x)
			full = append(full, append(slices.Clone(x),
				late/math.Max(prior, 1), b2f(prior == 0), open30,
				math.Log1p(count(failed[id], tIss-90*day, tIss)), math.Log1p(count(reminded[id], tIss-90*day, tIss)),
				b2f(count(moved[id], tIss-60*day, tIss) > 0), b2f(count(contacted[id], tIss-60*day, tIss) > 0),
			))
			y = append(y, b2f(v.paidFull >= v.due+30*day))
			h, _ := strconv.ParseFloat(truth.Get(truth.Rows[v.row], "hazard"), 64)
			hz = append(hz, h)
		}
	}
	aucTruth := auc(hz, y)
	aucStatic := auc(fitLogistic(static, y), y)
	pFull := fitLogistic(full, y)
	aucFull := auc(pFull, y)
	t.Logf("%d invoices: AUC true hazard %.3f, history model %.3f, static attributes %.3f", len(y), aucTruth, aucFull, aucStatic)
	if aucTruth < aucFull-0.01 {
		t.Errorf("a model beats the true hazard: %.3f vs %.3f", aucFull, aucTruth)
	}
	if aucFull < aucTruth-0.1 {
		t.Errorf("history model AUC %.3f far below the true hazard's %.3f: signals carry too little", aucFull, aucTruth)
	}
	if aucFull < aucStatic+0.05 {
		t.Errorf("history adds little: %.3f vs static %.3f", aucFull, aucStatic)
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// fitLogistic fits a ridge-regularised logistic regression with an
// intercept by Newton's method and returns the in-sample probabilities.
func fitLogistic(x [][]float64, y []float64) []float64 {
	p := len(x[0]) + 1
	w := make([]float64, p)
	row := func(i int) []float64 { return append([]float64{1}, x[i]...) }
	pred := make([]float64, len(y))
	for iter := 0; iter < 12; iter++ {
		g := make([]float64, p)
		h := make([][]float64, p)
		for j := range h {
			h[j] = make([]float64, p)
			h[j][j] = 1e-3 * float64(len(y))
		}
		for i := range y {
			r := row(i)
			z := 0.0
			for j, v := range r {
				z += w[j] * v
			}
			pi := 1 / (1 + math.Exp(-z))
			pred[i] = pi
			for j, vj := range r {
				g[j] += (y[i] - pi) * vj
				for k := j; k < p; k++ {
					h[j][k] += pi * (1 - pi) * vj * r[k]
				}
			}
		}
		for j := range p {
			g[j] -= 1e-3 * float64(len(y)) * w[j]
			for k := 0; k < j; k++ {
				h[j][k] = h[k][j]
			}
		}
		step := solve(h, g)
		for j := range w {
			w[j] += step[j]
		}
	}
	return pred
}

// solve solves a x = b by Gaussian elimination with partial pivoting.
func solve(a [][]float64, b []float64) []float64 {
	n := len(b)
	for c := 0; c < n; c++ {
		piv := c
		for r := c + 1; r < n; r++ {
			if math.Abs(a[r][c]) > math.Abs(a[piv][c]) {
				piv = r
			}
		}
		a[c], a[piv] = a[piv], a[c]
		b[c], b[piv] = b[piv], b[c]
		for r := c + 1; r < n; r++ {
			f := a[r][c] / a[c][c]
			for k := c; k < n; k++ {
				a[r][k] -= f * a[c][k]
			}
			b[r] -= f * b[c]
		}
	}
	x := make([]float64, n)
	for r := n - 1; r >= 0; r-- {
		s := b[r]
		for k := r + 1; k < n; k++ {
			s -= a[r][k] * x[k]
		}
		x[r] = s / a[r][r]
	}
	return x
}

// auc is the area under the ROC curve of scores for labels y (ties count
// half), by the rank-sum formula.
func auc(score, y []float64) float64 {
	idx := make([]int, len(score))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int {
		switch {
		case score[a] < score[b]:
			return -1
		case score[a] > score[b]:
			return 1
		}
		return 0
	})
	var rankSum, pos float64
	for i := 0; i < len(idx); {
		j := i
		for j < len(idx) && score[idx[j]] == score[idx[i]] {
			j++
		}
		avg := float64(i+j+1) / 2
		for k := i; k < j; k++ {
			if y[idx[k]] == 1 {
				rankSum += avg
				pos++
			}
		}
		i = j
	}
	neg := float64(len(y)) - pos
	return (rankSum - pos*(pos+1)/2) / (pos * neg)
}
