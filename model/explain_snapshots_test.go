package model

import (
	"math"
	"math/rand/v2"
	"os"
	"sort"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"

	"github.com/duewise/duewise/features"
)

// TestExplainAccuracyOnSnapshots measures the explanations of a trained
// model on real rows against the exact integral (1,024 plain midpoint
// steps): how often the top reason, the top three reasons and their order
// agree, and the mean relative L1 error of the per-feature weights. The
// figures of docs/model-card.md come from it:
//
//	DUEWISE_BENCH_MODEL=$PWD/$(ls .duewise/models/behaviour-*.model | head -1) \
//	DUEWISE_BENCH_SNAPSHOTS=$PWD/.duewise/demo/behaviour.parquet \
//	go test ./model -run ExplainAccuracyOnSnapshots -v -timeout 20m
//
// (after `make run`; about 90 s).
func TestExplainAccuracyOnSnapshots(t *testing.T) {
	modelPath, snapPath := os.Getenv("DUEWISE_BENCH_MODEL"), os.Getenv("DUEWISE_BENCH_SNAPSHOTS")
	if modelPath == "" || snapPath == "" {
		t.Skip("set DUEWISE_BENCH_MODEL and DUEWISE_BENCH_SNAPSHOTS")
	}
	a, err := Read(modelPath)
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewScorer(a)
	if err != nil {
		t.Fatal(err)
	}
	rows := snapshotRows(t, snapPath, s, 1500)
	perFeature := func(g []float64) []float64 {
		out := make([]float64, len(a.Features))
		for i, f := range a.Features {
			for j := s.offsets[i]; j < s.offsets[i]+f.width(); j++ {
				out[i] += g[j]
			}
		}
		return out
	}
	exact := make([][]float64, len(rows))
	for i, x := range rows {
		exact[i] = perFeature(directIG(s, x, 1024, false))
	}
	sc := s.newIGScratch()
	for _, m := range []struct {
		name string
		ig   func(x []float32) []float64
	}{
		{"duewise (fractional)", func(x []float32) []float64 { return s.integratedGradients(x, sc, nil) }},
		{"plain, same steps", func(x []float32) []float64 { return directIG(s, x, igSteps, false) }},
		{"plain, 32 steps", func(x []float32) []float64 { return directIG(s, x, 32, false) }},
		{"plain, 64 steps", func(x []float32) []float64 { return directIG(s, x, 64, false) }},
		{"fractional, 16 steps", func(x []float32) []float64 { return directIG(s, x, 16, true) }},
	} {
		var top1, set3, order3, err float64
		for i, x := range rows {
			got, want := perFeature(m.ig(x)), exact[i]
			g, w := top3(got), top3(want)
			if g[0] == w[0] {
				top1++
			}
			if g == w {
				order3++
			}
			sort.Ints(g[:])
			sort.Ints(w[:])
			if g == w {
				set3++
			}
			err += relL1(got, want)
		}
		n := float64(len(rows))
		t.Logf("%-22s top reason %.1f%%  top 3 %.1f%%  top 3 in order %.1f%%  relative L1 error %.4f", m.name, 100*top1/n, 100*set3/n, 100*order3/n, err/n)
	}
}

// top3 returns the indices of the three largest |a[i]|, largest first.
func top3(a []float64) [3]int {
	idx := make([]int, len(a))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(i, j int) bool { return math.Abs(a[idx[i]]) > math.Abs(a[idx[j]]) })
	return [3]int{idx[0], idx[1], idx[2]}
}

// snapshotRows reads n random rows of a snapshot file, encoded for s.
func snapshotRows(t *testing.T, path string, s *Scorer, n int) [][]float32 {
	rr, err := features.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer rr.Release()
	var num [][]float64
	var cat [][]string
	for rr.Next() {
		rec := rr.Record()
		for r := range int(rec.NumRows()) {
			nr, cr := make([]float64, len(s.a.Features)), make([]string, len(s.a.Features))
			for i, f := range s.a.Features {
				idx := rec.Schema().FieldIndices(f.Name)
				if len(idx) == 0 {
					t.Fatalf("%s: no column %s", path, f.Name)
				}
				nr[i], cr[i] = cell(rec.Column(idx[0]), r)
			}
			num, cat = append(num, nr), append(cat, cr)
		}
	}
	rng := rand.New(rand.NewPCG(1, 1))
	var rows [][]float32
	for range min(n, len(num)) {
		i := rng.IntN(len(num))
		x := make([]float32, s.Width())
		s.Encode(num[i], cat[i], x)
		rows = append(rows, x)
	}
	return rows
}

// cell reads row r of a numeric or string column (NaN, "" when null).
func cell(col arrow.Array, r int) (float64, string) {
	if col.IsNull(r) {
		return math.NaN(), ""
	}
	switch c := col.(type) {
	case *array.String:
		return 0, c.Value(r)
	case *array.Float64:
		return c.Value(r), ""
	case *array.Float32:
		return float64(c.Value(r)), ""
	case *array.Int64:
		return float64(c.Value(r)), ""
	case *array.Int32:
		return float64(c.Value(r)), ""
	case *array.Int16:
		return float64(c.Value(r)), ""
	case *array.Int8:
		return float64(c.Value(r)), ""
	case *array.Uint64:
		return float64(c.Value(r)), ""
	case *array.Uint32:
		return float64(c.Value(r)), ""
	case *array.Uint16:
		return float64(c.Value(r)), ""
	case *array.Uint8:
		return float64(c.Value(r)), ""
	}
	return math.NaN(), ""
}
