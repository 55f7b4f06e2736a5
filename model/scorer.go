package model

import (
	"fmt"
	"math"
	"sync"
)

// Prediction is one row's prediction. It is owned by the caller and reused
// across calls: Predict overwrites every field and reuses Survival's backing
// array when it is large enough.
type Prediction struct {
	// Survival holds S at the grid boundaries: Survival[k] = S(Grid[k]),
	// with Survival[0] = S(0-) = 1 and Survival[k] = prod_{i<k}(1-h_i).
	Survival []float64
	// P holds the horizon probabilities for Horizons (30, 60, 90, 180 and
	// 365 days): 1-S(h) for behaviour and onboarding models (P(behind
	// within h)), S(h) for invoice models (P(still unpaid h days after the
	// due date)). Both are risks: higher is worse.
	P [5]float64
	// PLate is S(0) = P(not paid by the due date) for invoice models, and
	// 0 for the other kinds.
	PLate float64
	// ExpectedDays is the restricted mean of the integral of S over
	// [0, 365] with S linear between boundaries: the expected days until
	// falling behind within 365 (behaviour/onboarding), or the expected days
	// late within 365 (invoice).
	ExpectedDays float64
	// Risk90 is the 90-day risk the band is taken from: P[2] for behaviour
	// and onboarding models, PLate for invoice models.
	Risk90 float64
	// Band is the risk band "A" (lowest) to "E" from the artifact's
	// BandThresholds on Risk90.
	Band string
}

// Scorer computes predictions from an Artifact in plain Go. It is safe for
// concurrent use and does not allocate per row in steady state. The
// artifact must not be modified after NewScorer.
type Scorer struct {
	a        *Artifact
	width    int // encoded input width
	maxWidth int // widest layer output or input
	k        int // number of grid intervals (= logits)
	horizon  [5]int
	lateIdx  int // boundary index of S(0) for invoice models, else -1
	risk     int // boundary index of the 90-day risk
	invoice  bool
	offsets  []int            // encoded offset of each feature
	catIndex []map[string]int // category -> position, nil for numeric features
	owner    []int            // feature index of each encoded input
	ref      []float32        // attribution baseline (Reference or zeros)
	refRisk  float64          // Risk90 at ref
	ig       *igModel         // integratedGradients' precomputed data
	igPool   sync.Pool        // *igScratch
	pool     sync.Pool        // *scratch
}

// scratch is the per-call working memory of a Scorer.
type scratch struct {
	x      []float32
	a, b   []float32
	logits []float32
}

// NewScorer validates a and returns a Scorer for it.
func NewScorer(a *Artifact) (*Scorer, error) {
	if a == nil {
		return nil, fmt.Errorf("new scorer: %w: nil artifact", ErrInvalid)
	}
	if err := a.Validate(); err != nil {
		return nil, fmt.Errorf("new scorer: %w", err)
	}
	s := &Scorer{
		a:       a,
		width:   EncodedWidth(a.Features),
		k:       len(a.Grid) - 1,
		invoice: a.Kind == Invoice,
		lateIdx: -1,
	}
	s.maxWidth = s.width
	for _, l := range a.Layers {
		s.maxWidth = max(s.maxWidth, l.Out)
	}
	for i, h := range Horizons {
		s.horizon[i] = boundaryIndex(a.Grid, float64(h))
	}
	s.risk = s.horizon[2]
	if s.invoice {
		s.lateIdx = boundaryIndex(a.Grid, 0)
		s.risk = s.lateIdx
	}
	s.offsets = make([]int, len(a.Features))
	s.catIndex = make([]map[string]int, len(a.Features))
	s.owner = make([]int, 0, s.width)
	off := 0
	for i := range a.Features {
		f := &a.Features[i]
		s.offsets[i] = off
		if f.Type == Categorical {
			m := make(map[string]int, len(f.Categories))
			for j, c := range f.Categories {
				m[c] = j
			}
			s.catIndex[i] = m
		}
		for range f.width() {
			s.owner = append(s.owner, i)
		}
		off += f.width()
	}
	s.ref = a.Reference
	if len(s.ref) == 0 {
		s.ref = make([]float32, s.width)
	}
	s.ig = newIGModel(s)
	s.pool.New = func() any {
		return &scratch{
			x:      make([]float32, s.width),
			a:      make([]float32, s.maxWidth),
			b:      make([]float32, s.maxWidth),
			logits: make([]float32, s.k),
		}
	}
	var p Prediction
	s.PredictEncoded(s.ref, &p)
	s.refRisk = p.Risk90
	return s, nil
}

// Artifact returns the scorer's artifact, which must not be modified.
func (s *Scorer) Artifact() *Artifact { return s.a }

// Width returns the encoded input width, the length Logits expects of x.
func (s *Scorer) Width() int { return s.width }

// Intervals returns the number of grid intervals, the length of Logits' dst.
func (s *Scorer) Intervals() int { return s.k }

// Encode is Encode for the scorer's features, with map lookups for the
// categories. It does not allocate and is safe for concurrent use.
func (s *Scorer) Encode(num []float64, cat []string, dst []float32) {
	if len(dst) != s.width {
		panic(fmt.Sprintf("model: Scorer.Encode: dst has %d entries, want %d", len(dst), s.width))
	}
	fs := s.a.Features
	for i := range fs {
		f := &fs[i]
		off := s.offsets[i]
		if f.Type == Categorical {
			block := dst[off : off+len(f.Categories)]
			clear(block)
			if j, ok := s.catIndex[i][cat[i]]; ok {
				block[j] = 1
			}
			continue
		}
		EncodeNumeric(f, num[i], dst[off:])
	}
}

// Logits computes the hazard logits (one per grid interval) of the encoded
// input x (Width() values) into dst (Intervals() values): a dense forward
// pass with ReLU hidden layers and an identity output layer, in float32. It
// panics when the lengths are wrong. It does not allocate in steady state
// and is safe for concurrent use.
func (s *Scorer) Logits(x []float32, dst []float32) {
	if len(x) != s.width || len(dst) != s.k {
		panic(fmt.Sprintf("model: Scorer.Logits: got x[%d], dst[%d]; want x[%d], dst[%d]", len(x), len(dst), s.width, s.k))
	}
	sc := s.pool.Get().(*scratch)
	s.forward(x, sc, dst, nil)
	s.pool.Put(sc)
}

// forward runs the network on x into dst using sc.a and sc.b, and copies
// the first layer's pre-activation into z1 unless it is nil.
func (s *Scorer) forward(x []float32, sc *scratch, dst, z1 []float32) {
	in := x
	for li := range s.a.Layers {
		l := &s.a.Layers[li]
		var out []float32
		switch {
		case li == len(s.a.Layers)-1:
			out = dst
		case li%2 == 0:
			out = sc.a[:l.Out]
		default:
			out = sc.b[:l.Out]
		}
		dense(l, in, out)
		if li == 0 && z1 != nil {
			copy(z1, out)
		}
		if l.Activation == ReLU {
			for j, v := range out {
				if v < 0 {
					out[j] = 0
				}
			}
		}
		in = out
	}
}

// dense computes out = in·W + B for layer l, skipping zero inputs. It
// adds four rows of W at a time, so that out is loaded and stored once
// per four inputs.
func dense(l *Layer, in, out []float32) {
	copy(out, l.B)
	n := l.Out
	var rows [4][]float32
	var xs [4]float32
	c := 0
	for i, xi := range in {
		if xi == 0 {
			continue
		}
		rows[c], xs[c] = l.W[i*n:i*n+n], xi
		c++
		if c < 4 {
			continue
		}
		c = 0
		r0, r1, r2, r3 := rows[0][:len(out)], rows[1][:len(out)], rows[2][:len(out)], rows[3][:len(out)]
		x0, x1, x2, x3 := xs[0], xs[1], xs[2], xs[3]
		for j := range out {
			out[j] += x0*r0[j] + x1*r1[j] + x2*r2[j] + x3*r3[j]
		}
	}
	for k := range c {
		row, xi := rows[k][:len(out)], xs[k]
		for j, w := range row {
			out[j] += xi * w
		}
	}
}

// Predict computes the full prediction of one raw row into p. num and cat
// are indexed by feature position as in Encode. It does not allocate in
// steady state (once p.Survival has grown) and is safe for concurrent use.
func (s *Scorer) Predict(num []float64, cat []string, p *Prediction) {
	sc := s.pool.Get().(*scratch)
	s.Encode(num, cat, sc.x)
	s.forward(sc.x, sc, sc.logits, nil)
	s.FromLogits(sc.logits, p)
	s.pool.Put(sc)
}

// PredictEncoded is Predict for an already encoded input x (Width() values).
func (s *Scorer) PredictEncoded(x []float32, p *Prediction) {
	sc := s.pool.Get().(*scratch)
	s.forward(x, sc, sc.logits, nil)
	s.FromLogits(sc.logits, p)
	s.pool.Put(sc)
}

// FromLogits turns hazard logits (Intervals() values, e.g. from a Gorgonia
// forward pass) into a prediction: hazards, survival at the boundaries,
// horizon probabilities, PLate, restricted-mean expected days and band. It
// does not allocate once p.Survival has grown and is safe for concurrent use.
func (s *Scorer) FromLogits(logits []float32, p *Prediction) {
	if len(logits) != s.k {
		panic(fmt.Sprintf("model: Scorer.FromLogits: got %d logits, want %d", len(logits), s.k))
	}
	n := s.k + 1
	if cap(p.Survival) < n {
		p.Survival = make([]float64, n)
	}
	surv := p.Survival[:n]
	p.Survival = surv
	surv[0] = 1
	for j, l := range logits {
		// 1-sigmoid(l) = sigmoid(-l), exact for large |l|.
		surv[j+1] = surv[j] / (1 + math.Exp(float64(l)))
	}
	g := s.a.Grid
	area := 0.0
	for j := 0; j < s.k; j++ {
		area += (g[j+1] - g[j]) * (surv[j] + surv[j+1]) / 2
	}
	p.ExpectedDays = area
	for i, k := range s.horizon {
		if s.invoice {
			p.P[i] = surv[k]
		} else {
			p.P[i] = 1 - surv[k]
		}
	}
	if s.invoice {
		p.PLate = surv[s.lateIdx]
		p.Risk90 = p.PLate
	} else {
		p.PLate = 0
		p.Risk90 = p.P[2]
	}
	p.Band = Band(p.Risk90, s.a.BandThresholds)
}

// Band returns the risk band "A" to "E" of risk r for four increasing
// thresholds: A below t[0], B in [t[0], t[1]), ..., E at or above t[3].
func Band(r float64, t [4]float64) string {
	switch {
	case r < t[0]:
		return "A"
	case r < t[1]:
		return "B"
	case r < t[2]:
		return "C"
	case r < t[3]:
		return "D"
	default:
		return "E"
	}
}
