package model

import (
	"math"
	"reflect"
	"testing"
)

func TestEncodeNumeric(t *testing.T) {
	tests := []struct {
		name string
		f    Feature
		v    float64
		want []float32
	}{
		{"plain", Feature{Mean: 1, Std: 2}, 5, []float32{2}},
		{"std zero counts as one", Feature{Mean: 1}, 5, []float32{4}},
		{"log", Feature{Log: true, Std: 1}, math.E - 1, []float32{1}},
		{"signed log", Feature{Log: true, Std: 1}, 1 - math.E, []float32{-1}},
		{"present with indicator", Feature{Mean: 1, Std: 2, NullIndicator: true}, 5, []float32{2, 0}},
		{"NULL", Feature{Mean: 1, Std: 2, NullIndicator: true}, math.NaN(), []float32{0, 1}},
		{"infinite is NULL", Feature{Mean: 1, Std: 2, NullIndicator: true}, math.Inf(1), []float32{0, 1}},
		{"zero is a value", Feature{Mean: 1, Std: 2, NullIndicator: true}, 0, []float32{-0.5, 0}},
		{"zero as NULL", Feature{Mean: 4, Std: 2, NullIndicator: true, ZeroAsNull: true}, 0, []float32{0, 1}},
		{"non-zero with zero as NULL", Feature{Mean: 4, Std: 2, NullIndicator: true, ZeroAsNull: true}, 8, []float32{2, 0}},
		{"NULL as the ceiling", Feature{Mean: 10, Std: 5, NullAs: NullAsCeiling, Ceiling: ptr(300), Direction: DecreasesRisk}, math.NaN(), []float32{58}},
		{"a value under NULL as the ceiling", Feature{Mean: 10, Std: 5, NullAs: NullAsCeiling, Ceiling: ptr(300), Direction: DecreasesRisk}, 20, []float32{2}},
		{"NULL as the floor", Feature{Mean: 0.5, Std: 0.25, NullAs: NullAsFloor, Floor: ptr(0.25), Direction: IncreasesRisk}, math.NaN(), []float32{-1}},
		{"NULL as the floor is zero with a zero indicator", Feature{Mean: 0.5, Std: 0.25, NullAs: NullAsFloor, Floor: ptr(0.25), ZeroIndicator: true, Direction: IncreasesRisk}, math.NaN(), []float32{-1, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.f.Name, tt.f.Type = "x", Numeric
			fs := []Feature{tt.f}
			got := make([]float32, EncodedWidth(fs))
			Encode(fs, []float64{tt.v}, nil, got)
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Encode(%v) = %v, want %v", tt.v, got, tt.want)
			}
		})
	}
}

func ptr(v float64) *float64 { return &v }
