package online

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// TestWithCostFollowsDelta refreshes 10 customers at a time, 200 times,
// over a table of 20,000 (some of them new, some refreshed again): every
// customer reads its newest row, Each stays ordered with every customer
// once, and each With copies about its delta's rows, not the customers
// refreshed before it (merging the whole overlay per With would copy
// 200,000 rows here).
func TestWithCostFollowsDelta(t *testing.T) {
	table := func(rows []testRow) *Table {
		t.Helper()
		slices.SortFunc(rows, func(a, b testRow) int {
			return strings.Compare(a.tenant+"\x00"+a.id, b.tenant+"\x00"+b.id)
		})
		return testTable(t, rows...)
	}
	const loaded = 20000
	want := map[string]float64{} // tenant/customer -> tenure: the batch that wrote it
	var rows []testRow
	for i := range loaded {
		rows = append(rows, testRow{"a", fmt.Sprintf("C%06d", 2*i), "ok", "online", 20000, -1, 0})
		want["a/"+rows[i].id] = -1
	}
	tb := table(rows)
	rng := rand.New(rand.NewPCG(1, 2))
	var deltaRows, copied, overlaid int
	for batch := range 200 {
		seen := map[string]bool{}
		var delta []testRow
		for len(delta) < 10 {
			tn, id := "a", fmt.Sprintf("C%06d", rng.IntN(2*loaded+200)) // odd ids and those past the end are new
			if rng.IntN(20) == 0 {
				tn = "b" // a tenant the loaded rows lack
			}
			if seen[tn+"/"+id] {
				continue
			}
			seen[tn+"/"+id] = true
			delta = append(delta, testRow{tn, id, "behind", "phone", 20001, float64(batch), 0.5})
			want[tn+"/"+id] = float64(batch)
		}
		next, err := tb.With(table(delta))
		if err != nil {
			t.Fatal(err)
		}
		if next.over == nil {
			t.Fatalf("batch %d: folded with %d customers overlaid", batch, tb.Overlaid())
		}
		deltaRows += len(delta)
		copied += next.over.copied
		overlaid += tb.Overlaid()
		tb = next
	}
	if copied > 3*deltaRows {
		t.Errorf("the Withs copied %d rows for deltas of %d (a merge of the whole overlay each time: %d)", copied, deltaRows, overlaid+deltaRows)
	}
	if tb.Len() != len(want) || tb.Customers("b")+tb.Customers("a") != len(want) {
		t.Errorf("len %d, a %d, b %d; want %d customers", tb.Len(), tb.Customers("a"), tb.Customers("b"), len(want))
	}
	var prev string
	n := 0
	tb.Each("", func(tn, id string, r Row) bool {
		k := tn + "/" + id
		if k <= prev {
			t.Fatalf("Each: %s after %s", k, prev)
		}
		prev = k
		if w, ok := want[k]; !ok || float64(r.Num[0]) != w {
			t.Fatalf("Each: %s tenure %v, want %v (%v)", k, r.Num[0], w, ok)
		}
		n++
		return true
	})
	if n != len(want) {
		t.Errorf("Each gave %d customers, want %d", n, len(want))
	}
	for k, w := range want {
		tn, id := k[:1], k[2:]
		r, ok := tb.Lookup(tn, id)
		if !ok || float64(r.Num[0]) != w || (w >= 0) != (r.Status == "behind") || (w >= 0) != (r.Cat(0) == "phone") {
			t.Fatalf("%s: %v %+v, want tenure %v", k, ok, r, w)
		}
	}
	// Past 1/8 of the loaded rows, everything is folded into one table.
	var big []testRow
	for i := range loaded / 8 {
		big = append(big, testRow{"c", fmt.Sprintf("N%06d", i), "ok", "online", 20002, 7, 0})
	}
	folded, err := tb.With(table(big))
	if err != nil {
		t.Fatal(err)
	}
	if folded.over != nil || folded.Len() != len(want)+len(big) {
		t.Fatalf("fold: overlay %v, len %d, want %d", folded.over != nil, folded.Len(), len(want)+len(big))
	}
	for k, w := range want {
		if r, ok := folded.Lookup(k[:1], k[2:]); !ok || float64(r.Num[0]) != w {
			t.Fatalf("%s after the fold: %v %+v, want tenure %v", k, ok, r, w)
		}
	}
}
