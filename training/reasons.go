package training

import (
	"cmp"
	"fmt"
	"runtime"
	"slices"
	"sync"

	"github.com/duewise/duewise/model"
)

// ReasonCount is how often one reason code is among the top reasons of
// the rows explained. A plain value.
type ReasonCount struct {
	Code string `json:"code"`
	// Increases and Decreases count the rows where it is among the top
	// reasons with a weight that raises, or lowers, the 90-day risk; First
	// those where it is the first reason.
	Increases int `json:"increases"`
	Decreases int `json:"decreases"`
	First     int `json:"first"`
}

// ReasonStats are the reason codes of a model's answers on a set of rows.
type ReasonStats struct {
	Rows  int           `json:"rows"`
	Top   int           `json:"top"`
	Codes []ReasonCount `json:"codes"` // most frequent first
}

// Reasons explains rows of d (nil = all) with a as the API does (the top
// reasons of each answer, model.Scorer.PredictExplain and model.Reason)
// and counts the reason codes. It uses every core.
func Reasons(a *model.Artifact, d *Dataset, rows []int, top int) (ReasonStats, error) {
	if rows == nil {
		rows = indexes(d.Len())
	}
	sc, err := model.NewScorer(a)
	if err != nil {
		return ReasonStats{}, err
	}
	enc := newEncoder(d, a.Features)
	if i := slices.IndexFunc(enc.cols, func(c int) bool { return c < 0 }); i >= 0 {
		return ReasonStats{}, fmt.Errorf("reasons: model feature %q is not a column of the snapshots", a.Features[i].Name)
	}
	workers := min(runtime.GOMAXPROCS(0), max(1, len(rows)/1000))
	parts := make([]map[string]*ReasonCount, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			counts := map[string]*ReasonCount{}
			num, cat := make([]float64, len(a.Features)), make([]string, len(a.Features))
			var p model.Prediction
			buf := make([]model.Attribution, 0, top)
			for _, r := range rows[w*len(rows)/workers : (w+1)*len(rows)/workers] {
				enc.row(d, r, num, cat)
				for k, at := range sc.PredictExplain(num, cat, &p, top, buf[:0]) {
					code, _ := model.Reason(at, "en")
					c := counts[code]
					if c == nil {
						c = &ReasonCount{Code: code}
						counts[code] = c
					}
					if at.Weight > 0 {
						c.Increases++
					} else {
						c.Decreases++
					}
					if k == 0 {
						c.First++
					}
				}
			}
			parts[w] = counts
		}()
	}
	wg.Wait()
	all := map[string]*ReasonCount{}
	for _, part := range parts {
		for code, c := range part {
			t := all[code]
			if t == nil {
				t = &ReasonCount{Code: code}
				all[code] = t
			}
			t.Increases, t.Decreases, t.First = t.Increases+c.Increases, t.Decreases+c.Decreases, t.First+c.First
		}
	}
	out := ReasonStats{Rows: len(rows), Top: top}
	for _, c := range all {
		out.Codes = append(out.Codes, *c)
	}
	slices.SortFunc(out.Codes, func(x, y ReasonCount) int {
		return cmp.Or(cmp.Compare(y.Increases+y.Decreases, x.Increases+x.Decreases), cmp.Compare(x.Code, y.Code))
	})
	return out, nil
}
