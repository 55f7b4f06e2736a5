package training

import (
	"math"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

func TestAverage(t *testing.T) {
	for _, tc := range []struct {
		name    string
		horizon float64
		steps   [][2]float32 // W then B of a 1x1 layer after each step
		want    [2]float32
	}{
		// decay 0.5: weights 1 and 0.5 of the two steps -> (0.5*1 + 3)/1.5
		{"two steps", 2, [][2]float32{{1, -2}, {3, 4}}, [2]float32{7.0 / 3, 2}},
		// one step: the corrected average is that step, not pulled to zero
		{"one step", 100, [][2]float32{{5, -1}}, [2]float32{5, -1}},
		// a constant is its own average whatever the horizon
		{"constant", 10, [][2]float32{{2, 2}, {2, 2}, {2, 2}}, [2]float32{2, 2}},
		// a horizon under one step is the last step, not a negative decay
		{"horizon below one step", 0.25, [][2]float32{{1, -2}, {3, 4}}, [2]float32{3, 4}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := &weights{In: []int{1}, Out: []int{1}, W: [][]float32{{9}}, B: [][]float32{{9}}}
			g := G.NewGraph()
			wv, bv := []float32{0}, []float32{0}
			params := G.Nodes{
				G.NewMatrix(g, tensor.Float32, G.WithShape(1, 1), G.WithName("w"), G.WithValue(tensor.New(tensor.WithShape(1, 1), tensor.WithBacking(wv)))),
				G.NewMatrix(g, tensor.Float32, G.WithShape(1, 1), G.WithName("b"), G.WithValue(tensor.New(tensor.WithShape(1, 1), tensor.WithBacking(bv)))),
			}
			a := newAverage(w, tc.horizon)
			for _, s := range tc.steps {
				wv[0], bv[0] = s[0], s[1]
				a.add(params)
			}
			out := w.clone()
			a.into(out)
			if math.Abs(float64(out.W[0][0]-tc.want[0])) > 1e-5 || math.Abs(float64(out.B[0][0]-tc.want[1])) > 1e-5 {
				t.Fatalf("average W %v B %v, want %v", out.W[0][0], out.B[0][0], tc.want)
			}
			if w.W[0][0] != 9 {
				t.Fatal("newAverage changed the weights it was shaped after")
			}
		})
	}
}
