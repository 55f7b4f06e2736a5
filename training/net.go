package training

import (
	"fmt"
	"math"
	"math/rand"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/duewise/duewise/model"
)

// weights are the parameters of the network in the artifact's layout:
// W[l] row-major in×out, B[l] of length out. Signs[l] are the signs of
// layer l's units in a monotone network (nil otherwise; see
// model.Layer.Signs).
type weights struct {
	In, Out []int
	W, B    [][]float32
	Signs   [][]int8
}

// initWeights draws He-uniform weights from a seeded source (Gorgonia's
// own initialisers seed from the clock) and sets the output biases to the
// logit of each interval's training hazard, so that training starts from
// the Kaplan-Meier-like baseline. With signs (see layerSigns), the
// weights are then given the signs of the monotone construction for
// inputs of signs inSigns, keeping their magnitudes (the weights that
// must be zero are zero).
func initWeights(inSigns []int8, hidden []int, k int, baseHazard []float64, seed int64, signs [][]int8) *weights {
	rng := rand.New(rand.NewSource(seed))
	in := len(inSigns)
	sizes := append(append([]int{in}, hidden...), k)
	w := &weights{Signs: signs}
	for l := 0; l+1 < len(sizes); l++ {
		fi, fo := sizes[l], sizes[l+1]
		lim := math.Sqrt(6 / float64(fi))
		if l+2 == len(sizes) {
			lim = math.Sqrt(1 / float64(fi)) // small output layer
		}
		ws := make([]float32, fi*fo)
		for i := range ws {
			ws[i] = float32((rng.Float64()*2 - 1) * lim)
		}
		bs := make([]float32, fo)
		if l+2 == len(sizes) {
			for j := range bs {
				h := math.Min(math.Max(baseHazard[j], 1e-4), 1-1e-4)
				bs[j] = float32(math.Log(h / (1 - h)))
			}
		}
		w.In, w.Out = append(w.In, fi), append(w.Out, fo)
		w.W, w.B = append(w.W, ws), append(w.B, bs)
	}
	for l, c := range constraints(inSigns, signs) {
		signed(w.W[l], c) // the construction's signs, magnitudes kept
		for i, k := range c {
			if k == nonNeg || k == nonPos {
				w.W[l][i] *= monotoneInitScale
			}
		}
	}
	return w
}

func (w *weights) clone() *weights {
	c := &weights{In: w.In, Out: w.Out, Signs: w.Signs}
	for l := range w.W {
		c.W = append(c.W, append([]float32(nil), w.W[l]...))
		c.B = append(c.B, append([]float32(nil), w.B[l]...))
	}
	return c
}

// layers exports w as artifact layers.
func (w *weights) layers() []model.Layer {
	ls := make([]model.Layer, len(w.W))
	for l := range w.W {
		act := model.ReLU
		if l == len(w.W)-1 {
			act = model.Identity
		}
		ls[l] = model.Layer{In: w.In[l], Out: w.Out[l], W: append([]float32(nil), w.W[l]...), B: append([]float32(nil), w.B[l]...), Activation: act}
		if w.Signs != nil {
			ls[l].Signs = append([]int8(nil), w.Signs[l]...)
		}
	}
	return ls
}

// net is one Gorgonia graph of the hazard network for a fixed batch size:
// logits = MLP(x), loss = sum(mask * (softplus(logits) - y*logits)) /
// sum(mask), the masked binary cross-entropy of the person-period
// likelihood. A net and its VM belong to one goroutine.
type net struct {
	g          *G.ExprGraph
	x, y, mask *G.Node
	logits     *G.Node
	loss       *G.Node
	params     G.Nodes
	vm         G.VM
	lossVal    G.Value
	logitVal   G.Value
	batch      int
}

// newNet builds the graph with w's current values. With train, it adds the
// loss and its gradients.
func newNet(w *weights, batch int, train bool) (*net, error) {
	n := &net{g: G.NewGraph(), batch: batch}
	in, k := w.In[0], w.Out[len(w.Out)-1]
	n.x = G.NewMatrix(n.g, tensor.Float32, G.WithShape(batch, in), G.WithName("x"))
	h := n.x
	for l := range w.W {
		W := G.NewMatrix(n.g, tensor.Float32, G.WithShape(w.In[l], w.Out[l]), G.WithName(fmt.Sprintf("w%d", l)),
			G.WithValue(tensor.New(tensor.WithShape(w.In[l], w.Out[l]), tensor.WithBacking(append([]float32(nil), w.W[l]...)))))
		B := G.NewMatrix(n.g, tensor.Float32, G.WithShape(1, w.Out[l]), G.WithName(fmt.Sprintf("b%d", l)),
			G.WithValue(tensor.New(tensor.WithShape(1, w.Out[l]), tensor.WithBacking(append([]float32(nil), w.B[l]...)))))
		n.params = append(n.params, W, B)
		var err error
		if h, err = G.Mul(h, W); err != nil {
			return nil, fmt.Errorf("build network: %w", err)
		}
		if h, err = G.BroadcastAdd(h, B, nil, []byte{0}); err != nil {
			return nil, fmt.Errorf("build network: %w", err)
		}
		if l < len(w.W)-1 {
			if h, err = G.Rectify(h); err != nil {
				return nil, fmt.Errorf("build network: %w", err)
			}
		}
	}
	n.logits = h
	G.Read(n.logits, &n.logitVal)
	if !train {
		n.vm = G.NewTapeMachine(n.g)
		return n, nil
	}
	n.y = G.NewMatrix(n.g, tensor.Float32, G.WithShape(batch, k), G.WithName("y"))
	n.mask = G.NewMatrix(n.g, tensor.Float32, G.WithShape(batch, k), G.WithName("mask"))
	sp, err := G.Softplus(n.logits)
	if err != nil {
		return nil, fmt.Errorf("build loss: %w", err)
	}
	yl, err := G.HadamardProd(n.y, n.logits)
	if err != nil {
		return nil, fmt.Errorf("build loss: %w", err)
	}
	bce, err := G.Sub(sp, yl)
	if err != nil {
		return nil, fmt.Errorf("build loss: %w", err)
	}
	mb, err := G.HadamardProd(n.mask, bce)
	if err != nil {
		return nil, fmt.Errorf("build loss: %w", err)
	}
	num, err := G.Sum(mb)
	if err != nil {
		return nil, fmt.Errorf("build loss: %w", err)
	}
	den, err := G.Sum(n.mask)
	if err != nil {
		return nil, fmt.Errorf("build loss: %w", err)
	}
	if n.loss, err = G.Div(num, den); err != nil {
		return nil, fmt.Errorf("build loss: %w", err)
	}
	G.Read(n.loss, &n.lossVal)
	if _, err := G.Grad(n.loss, n.params...); err != nil {
		return nil, fmt.Errorf("differentiate loss: %w", err)
	}
	n.vm = G.NewTapeMachine(n.g, G.BindDualValues(n.params...))
	return n, nil
}

// step runs one minibatch (x batch×in, y and mask batch×k, row-major) and
// applies solver; it returns the batch loss.
func (n *net) step(x, y, mask []float32, solver G.Solver) (float64, error) {
	in, k := n.x.Shape()[1], n.y.Shape()[1]
	if err := G.Let(n.x, tensor.New(tensor.WithShape(n.batch, in), tensor.WithBacking(x))); err != nil {
		return 0, err
	}
	if err := G.Let(n.y, tensor.New(tensor.WithShape(n.batch, k), tensor.WithBacking(y))); err != nil {
		return 0, err
	}
	if err := G.Let(n.mask, tensor.New(tensor.WithShape(n.batch, k), tensor.WithBacking(mask))); err != nil {
		return 0, err
	}
	defer n.vm.Reset()
	if err := n.vm.RunAll(); err != nil {
		return 0, fmt.Errorf("run minibatch: %w", err)
	}
	if err := solver.Step(G.NodesToValueGrads(n.params)); err != nil {
		return 0, fmt.Errorf("adam step: %w", err)
	}
	return float64(n.lossVal.Data().(float32)), nil
}

// forward computes the logits of one batch (x batch×in) into dst.
func (n *net) forward(x []float32, dst []float32) error {
	in := n.x.Shape()[1]
	if err := G.Let(n.x, tensor.New(tensor.WithShape(n.batch, in), tensor.WithBacking(x))); err != nil {
		return err
	}
	defer n.vm.Reset()
	if err := n.vm.RunAll(); err != nil {
		return fmt.Errorf("run forward pass: %w", err)
	}
	copy(dst, n.logitVal.Data().([]float32))
	return nil
}

// export copies the graph's current weights and biases into w.
func (n *net) export(w *weights) {
	for l := range w.W {
		copy(w.W[l], n.params[2*l].Value().Data().([]float32))
		copy(w.B[l], n.params[2*l+1].Value().Data().([]float32))
	}
}

// close releases the VM.
func (n *net) close() {
	if c, ok := n.vm.(interface{ Close() error }); ok {
		c.Close()
	}
}
