package training

import (
	"cmp"
	"fmt"
	"runtime"
	"slices"
	"strings"
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
// reasons of each answer, model.Scorer.PredictExplain and model.ReasonFor)
// and counts the reason codes. It uses every core.
func Reasons(a *model.Artifact, d *Dataset, rows []int, top int) (ReasonStats, error) {
	if rows == nil {
		rows = indexes(d.Len())
	}
	sc, enc, byName, err := explainer(a, d)
	if err != nil {
		return ReasonStats{}, err
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
					code, _ := model.ReasonFor(byName[at.Feature], at, "en")
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

// explainer returns what Reasons and ReasonTexts explain d's rows with:
// a's scorer, the encoder of d's columns into a's features (an error when
// d lacks one) and a's features by name (for model.ReasonFor).
func explainer(a *model.Artifact, d *Dataset) (*model.Scorer, *encoder, map[string]*model.Feature, error) {
	sc, err := model.NewScorer(a)
	if err != nil {
		return nil, nil, nil, err
	}
	enc := newEncoder(d, a.Features)
	if i := slices.IndexFunc(enc.cols, func(c int) bool { return c < 0 }); i >= 0 {
		return nil, nil, nil, fmt.Errorf("reasons: model feature %q is not a column of the snapshots", a.Features[i].Name)
	}
	byName := make(map[string]*model.Feature, len(a.Features))
	for i := range a.Features {
		byName[a.Features[i].Name] = &a.Features[i]
	}
	return sc, enc, byName, nil
}

// ReasonTexts returns the top reasons of every row of d as the API words
// them (model.Scorer.PredictExplain and model.ReasonFor, in lang), each
// row's as "CODE: text" joined by "; ", for the reasons column of
// duewise score.
func ReasonTexts(a *model.Artifact, d *Dataset, top int, lang string) ([]string, error) {
	sc, enc, byName, err := explainer(a, d)
	if err != nil {
		return nil, err
	}
	num, cat := make([]float64, len(a.Features)), make([]string, len(a.Features))
	var p model.Prediction
	buf := make([]model.Attribution, 0, top)
	out := make([]string, d.Len())
	var parts []string
	for r := range d.Len() {
		enc.row(d, r, num, cat)
		parts = parts[:0]
		for _, at := range sc.PredictExplain(num, cat, &p, top, buf[:0]) {
			code, text := model.ReasonFor(byName[at.Feature], at, lang)
			parts = append(parts, code+": "+text)
		}
		out[r] = strings.Join(parts, "; ")
	}
	return out, nil
}
