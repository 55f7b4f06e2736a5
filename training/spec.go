package training

import (
	"math"
	"slices"
	"sort"

	"github.com/duewise/duewise/features"
	"github.com/duewise/duewise/model"
)

// minCategoryRows is the number of training rows a category needs to get
// its own input, and maxCategories the most categories a feature keeps
// (the most frequent); the others encode like an unknown value (all
// zeros). The cap keeps high-cardinality columns such as postcode_area
// from dominating the input width.
const (
	minCategoryRows = 20
	maxCategories   = 30
)

// zeroShare is the share of training rows at zero from which a numeric
// input encodes zero like NULL (model.Feature.ZeroAsNull).
const zeroShare = 0.3

// fitFeatures derives each input's encoding from the training rows only:
// numeric inputs are standardized (after sign(x)·log(1+|x|) for
// heavy-tailed ones) with a NULL indicator when any training value is
// NULL; an input that is zero in at least zeroShare of the rows encodes
// zero like NULL and is standardized over its non-zero values (trees
// split "none" from "some" for free; a network standardizing a mostly-zero
// column squeezes the values that matter into a corner of its range, and
// measurably ranks worse); categorical inputs get a one-hot block over their frequent
// categories. Constant inputs carry no information and are left out.
//
// direction (nil: none) gives each numeric column's declared direction.
// A monotone input records it and its Baseline (the mean of its non-NULL
// training values), and its frequent zeros get a zero indicator, a Floor
// and Baseline 0 instead of encoding like NULL (see model.Feature); when
// it also has negative values, zero is not the lowest value and it gets
// neither. A monotone input whose NULL means the event never happened
// (features.NullMeansNever) encodes NULL at the safe end of its order
// (model.Feature.NullAs), with no NULL indicator. Signals that are not model inputs (features.ModelInput) are
// left out.
//
// attrs (nil: none) marks the columns that are attributes of the tenant's
// own (model.Feature.Attribute); a missing value of a categorical one
// counts as the category model.MissingCategory.
func fitFeatures(d *Dataset, rows []int, direction func(name string) model.RiskDirection, attrs map[string]*model.Attribute) []model.Feature {
	var fs []model.Feature
	vals, abs := make([]float64, 0, len(rows)), make([]float64, 0, len(rows))
	for j, name := range d.NumNames {
		if !features.ModelInput(name) {
			continue
		}
		vals = vals[:0]
		nulls, zeros, negative, sum := 0, 0, false, 0.0
		for _, r := range rows {
			v := d.Num[j][r]
			if math.IsNaN(v) || math.IsInf(v, 0) {
				nulls++
				continue
			}
			if v == 0 {
				zeros++
			}
			negative = negative || v < 0
			sum += v
			vals = append(vals, v)
		}
		f := model.Feature{Name: name, Type: model.Numeric, NullIndicator: nulls > 0, Attribute: attrs[name]}
		if direction != nil {
			if f.Direction = direction(name); f.Direction.Monotone() && len(vals) > 0 {
				b := sum / float64(len(vals))
				f.Baseline = &b
			}
		}
		mono := f.Direction.Monotone()
		if float64(zeros) >= zeroShare*float64(len(rows)) && !(mono && negative) {
			if mono {
				f.ZeroIndicator, f.Baseline = true, new(float64)
			} else {
				f.ZeroAsNull, f.NullIndicator = true, true
			}
			vals = slices.DeleteFunc(vals, func(v float64) bool { return v == 0 })
		}
		if len(vals) == 0 {
			continue // always NULL or zero
		}
		slices.Sort(vals)
		if f.ZeroIndicator {
			floor := vals[len(vals)/100]
			f.Floor = &floor
			for i := range vals[:len(vals)/100] {
				vals[i] = floor
			}
		}
		if mono {
			// A monotone network extrapolates in a straight line: beyond
			// the training range the risk would keep falling (days since
			// the last late payment, on later dates than any training
			// row) or rising without evidence. It stays flat there.
			lo, hi := vals[0], vals[len(vals)-1]
			if f.Floor == nil {
				f.Floor = &lo
			}
			f.Ceiling = &hi
		}
		if mono && f.NullIndicator && features.NullMeansNever(name) {
			// NULL is "never": the safe end of the order (longer ago than
			// any training value, or no failure).
			f.NullAs, f.NullIndicator = model.NullAsFloor, false
			if f.Direction == model.DecreasesRisk {
				f.NullAs = model.NullAsCeiling
			}
		}
		lo, hi := vals[0], vals[len(vals)-1]
		if lo == hi && !f.NullIndicator && !f.ZeroIndicator && f.NullAs == "" {
			continue // constant
		}
		// Heavy tail: a magnitude far above the median magnitude.
		abs = abs[:0]
		for _, v := range vals {
			abs = append(abs, math.Abs(v))
		}
		slices.Sort(abs)
		med, top := abs[len(abs)/2], abs[len(abs)-1]
		f.Log = top > 20 && top > 10*(med+1)
		var s, s2 float64
		for _, v := range vals {
			if f.Log {
				v = math.Copysign(math.Log1p(math.Abs(v)), v)
			}
			s += v
			s2 += v * v
		}
		n := float64(len(vals))
		f.Mean = s / n
		f.Std = math.Sqrt(math.Max(0, s2/n-f.Mean*f.Mean))
		if !(f.Std > 1e-9) {
			f.Std = 1
		}
		fs = append(fs, f)
	}
	for j, name := range d.CatNames {
		if !features.ModelInput(name) {
			continue
		}
		probe := model.Feature{Attribute: attrs[name]}
		count := map[string]int{}
		for _, r := range rows {
			if v := probe.CategoryOf(d.Cat[j][r]); v != "" {
				count[v]++
			}
		}
		var cats []string
		for c, n := range count {
			if n >= minCategoryRows {
				cats = append(cats, c)
			}
		}
		if len(cats) < 2 && (len(cats) == 0 || count[cats[0]] == len(rows)) {
			continue // constant or empty
		}
		sort.Slice(cats, func(a, b int) bool {
			if count[cats[a]] != count[cats[b]] {
				return count[cats[a]] > count[cats[b]]
			}
			return cats[a] < cats[b]
		})
		if len(cats) > maxCategories {
			cats = cats[:maxCategories]
		}
		sort.Strings(cats)
		fs = append(fs, model.Feature{Name: name, Type: model.Categorical, Categories: cats, Attribute: attrs[name]})
	}
	return fs
}

// columns maps each feature to its column in d: the index into d.Num or
// d.Cat.
func columns(d *Dataset, fs []model.Feature) []int {
	idx := make([]int, len(fs))
	for i, f := range fs {
		names := d.NumNames
		if f.Type == model.Categorical {
			names = d.CatNames
		}
		idx[i] = slices.Index(names, f.Name)
	}
	return idx
}

// encoder encodes the rows of a Dataset for a feature list.
type encoder struct {
	fs    []model.Feature
	cols  []int
	width int
}

func newEncoder(d *Dataset, fs []model.Feature) *encoder {
	return &encoder{fs: fs, cols: columns(d, fs), width: model.EncodedWidth(fs)}
}

// row fills num and cat (indexed by feature) from row r of d.
func (e *encoder) row(d *Dataset, r int, num []float64, cat []string) {
	for i, f := range e.fs {
		c := e.cols[i]
		if c < 0 {
			num[i], cat[i] = math.NaN(), ""
			continue
		}
		if f.Type == model.Categorical {
			cat[i] = f.CategoryOf(d.Cat[c][r])
		} else {
			num[i] = d.Num[c][r]
		}
	}
}

// matrix encodes rows of d into a row-major float32 matrix.
func (e *encoder) matrix(d *Dataset, rows []int) []float32 {
	x := make([]float32, len(rows)*e.width)
	num := make([]float64, len(e.fs))
	cat := make([]string, len(e.fs))
	for i, r := range rows {
		e.row(d, r, num, cat)
		model.Encode(e.fs, num, cat, x[i*e.width:(i+1)*e.width])
	}
	return x
}
