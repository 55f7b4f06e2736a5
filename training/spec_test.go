package training

import (
	"math"
	"slices"
	"testing"

	"github.com/duewise/duewise/features"
	"github.com/duewise/duewise/model"
)

// fitColumn fits the features of a dataset whose one numeric column x
// holds vals, on all its rows.
func fitColumn(vals []float64) []model.Feature {
	d := &Dataset{NumNames: []string{"x"}, Num: [][]float64{vals}}
	return fitFeatures(d, indexes(len(vals)), nil, nil)
}

// TestFitFeaturesLogTail: a heavy-tailed input is log-compressed before it
// is standardized, whatever its sign (payment days run from a week early
// to months late); a light-tailed one is not; the mean and standard
// deviation are those of the transformed values.
func TestFitFeaturesLogTail(t *testing.T) {
	tests := []struct {
		name string
		vals []float64
		log  bool
	}{
		{"non-negative, heavy tail", []float64{0, 1, 1, 2, 3, 250}, true},
		{"signed, heavy tail", []float64{-6, -5, -3, -1, 0, 2, 45}, true},
		{"signed, heavy negative tail", []float64{-300, -1, 0, 1, 2}, true},
		{"light tail", []float64{-6, -5, -3, -1, 0, 2, 9}, false},
		{"large but not far above the median", []float64{100, 120, 150, 180, 400}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := fitColumn(tt.vals)
			if len(fs) != 1 || fs[0].Log != tt.log {
				t.Fatalf("features %+v, want one with Log = %v", fs, tt.log)
			}
			var s float64
			for _, v := range tt.vals {
				if tt.log {
					v = math.Copysign(math.Log1p(math.Abs(v)), v)
				}
				s += v
			}
			if mean := s / float64(len(tt.vals)); math.Abs(fs[0].Mean-mean) > 1e-12 {
				t.Fatalf("mean %v, want %v (of the transformed values)", fs[0].Mean, mean)
			}
		})
	}
}

// TestFitFeaturesZeroAsNull: an input that is zero in at least zeroShare of
// the training rows encodes zero like NULL and is standardized over its
// non-zero values; a mostly-zero 0/1 flag is kept (its indicator carries
// it), not dropped as constant; an input with few zeros is unchanged.
func TestFitFeaturesZeroAsNull(t *testing.T) {
	nan := math.NaN()
	tests := []struct {
		name       string
		vals       []float64
		keep, zero bool
		mean       float64
	}{
		{"mostly zero", []float64{0, 0, 0, 0, 2, 4, 6, nan}, true, true, 4},
		{"zero exactly at the share", []float64{0, 0, 0, 1, 2, 3, 4, 5, 6, 8}, true, true, 29.0 / 7},
		{"0/1 flag", []float64{0, 0, 0, 1, 1}, true, true, 1},
		{"few zeros", []float64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, true, false, 4.5},
		{"all zero", []float64{0, 0, 0, nan}, false, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := fitColumn(tt.vals)
			if len(fs) != map[bool]int{true: 1}[tt.keep] {
				t.Fatalf("features %+v, want kept = %v", fs, tt.keep)
			}
			if !tt.keep {
				return
			}
			f := fs[0]
			if f.ZeroAsNull != tt.zero || (tt.zero && !f.NullIndicator) {
				t.Fatalf("ZeroAsNull %v NullIndicator %v, want ZeroAsNull %v with an indicator", f.ZeroAsNull, f.NullIndicator, tt.zero)
			}
			if math.Abs(f.Mean-tt.mean) > 1e-12 {
				t.Fatalf("mean %v, want %v", f.Mean, tt.mean)
			}
		})
	}
}

// TestFitFeaturesNullMeansNever: the monotone inputs whose NULL means the
// worsening event never happened encode NULL at the safe end of their
// order (a days-since at its ceiling, a failure share at its lowest
// value), and the signals an event moves in no declared direction are not
// inputs; a model of the same columns without directions keeps its NULL
// indicators.
func TestFitFeaturesNullMeansNever(t *testing.T) {
	nan := math.NaN()
	d := &Dataset{
		NumNames: []string{"days_since_last_dd_failure", "dd_failed_share_365d", "dd_attempts_365d", "late_share_365d"},
		Num: [][]float64{
			{nan, 3, 40, 200, nan, 15},
			{nan, 0, 0, 0.5, 1, 0},
			{0, 4, 6, 12, 12, 9},
			{nan, 0.1, 0.2, 0.3, 0.4, 0.5},
		},
		CatNames: []string{"last_dd_failure_reason"},
		Cat:      [][]string{slices.Repeat([]string{"AM04"}, 6)},
	}
	byName := func(fs []model.Feature) map[string]model.Feature {
		m := map[string]model.Feature{}
		for _, f := range fs {
			m[f.Name] = f
		}
		return m
	}
	fs := byName(fitFeatures(d, indexes(6), func(name string) model.RiskDirection {
		s, _ := features.Lookup(name)
		return model.RiskDirection(s.Direction)
	}, nil))
	if f := fs["days_since_last_dd_failure"]; f.NullAs != model.NullAsCeiling || f.NullIndicator || f.Ceiling == nil || *f.Ceiling != 200 {
		t.Errorf("days_since_last_dd_failure: %+v, want NULL at the ceiling 200", f)
	}
	if f := fs["dd_failed_share_365d"]; f.NullAs != model.NullAsFloor || f.NullIndicator || !f.ZeroIndicator {
		t.Errorf("dd_failed_share_365d: %+v, want NULL at the floor (zero)", f)
	}
	if f := fs["late_share_365d"]; f.NullAs != "" || !f.NullIndicator {
		t.Errorf("late_share_365d (NULL = no invoices, not never): %+v", f)
	}
	for _, n := range []string{"dd_attempts_365d", "last_dd_failure_reason"} {
		if _, ok := fs[n]; ok {
			t.Errorf("%s is an input", n)
		}
	}
	free := byName(fitFeatures(d, indexes(6), nil, nil))
	if f := free["days_since_last_dd_failure"]; f.NullAs != "" || !f.NullIndicator {
		t.Errorf("without directions: %+v", f)
	}
}
