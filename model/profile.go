package model

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sort"
)

// ProfileParam is the key of Artifact.Params that holds the model's
// training Profile: a parameter, not a field of the artifact, so that
// model files stay readable by builds that predate it (as trained_on).
const ProfileParam = "profile"

// Profile is the distribution of a model's inputs and of its score on the
// rows it was trained on: what drift is measured against (the population
// stability index of the report and of the serving drift gauges). A plain
// value; safe for concurrent reads.
type Profile struct {
	// Rows is the number of training rows profiled.
	Rows int `json:"rows"`
	// Inputs are the model's features, in Features order.
	Inputs []Histogram `json:"inputs"`
	// Score is the distribution of Prediction.Risk90 (behaviour and
	// onboarding: P(behind within 90 days); invoice: p_late).
	Score Histogram `json:"score"`
}

// Histogram is the binned distribution of one value. A numeric value
// falls into bin i when it is at most Edges[i] and above Edges[i-1] (bin
// len(Edges) holds the values above the last edge); a categorical value
// into the bin of its category in Categories, else the "other" bin
// len(Categories). The last share is that of the missing values (NULL, or
// an empty category). Shares add up to 1. Edges are compared in float32,
// the online table's precision, so that a value equal to an edge lands in
// the same bin whether it was stored as float64 (a snapshot) or float32
// (features in memory). A plain value.
type Histogram struct {
	Name       string      `json:"name"`
	Type       FeatureType `json:"type"`
	Edges      []float64   `json:"edges,omitempty"`
	Categories []string    `json:"categories,omitempty"`
	Shares     []float64   `json:"shares"`
}

// Bins returns the number of bins, the missing values' included.
func (h *Histogram) Bins() int {
	if h.Type == Categorical {
		return len(h.Categories) + 2
	}
	return len(h.Edges) + 2
}

// Missing returns the index of the missing values' bin.
func (h *Histogram) Missing() int { return h.Bins() - 1 }

// Bin returns the bin of numeric value x (NaN is missing).
func (h *Histogram) Bin(x float64) int {
	if math.IsNaN(x) {
		return h.Missing()
	}
	v := float32(x)
	return sort.Search(len(h.Edges), func(i int) bool { return v <= float32(h.Edges[i]) })
}

// BinCategory returns the bin of categorical value s ("" is missing).
func (h *Histogram) BinCategory(s string) int {
	if s == "" {
		return h.Missing()
	}
	if i := slices.Index(h.Categories, s); i >= 0 {
		return i
	}
	return len(h.Categories)
}

// NewNumericHistogram bins xs (NaN is missing) at their deciles: the
// distinct values at the 10th, 20th, ... 90th percentiles of the known
// values, so that a mostly-zero count gets few bins (0, then the rest).
func NewNumericHistogram(name string, xs []float64) Histogram {
	known := make([]float64, 0, len(xs))
	for _, x := range xs {
		if !math.IsNaN(x) {
			known = append(known, float64(float32(x)))
		}
	}
	slices.Sort(known)
	h := Histogram{Name: name, Type: Numeric}
	for q := 1; q < 10 && len(known) > 0; q++ {
		e := known[min(len(known)-1, q*len(known)/10)]
		if len(h.Edges) == 0 || e > h.Edges[len(h.Edges)-1] {
			h.Edges = append(h.Edges, e)
		}
	}
	counts := make([]float64, h.Bins())
	for _, x := range xs {
		counts[h.Bin(x)]++
	}
	h.Shares = shares(counts)
	return h
}

// NewCategoricalHistogram bins values over categories (the model's own,
// so that a category it never saw counts as "other").
func NewCategoricalHistogram(name string, categories, values []string) Histogram {
	h := Histogram{Name: name, Type: Categorical, Categories: slices.Clone(categories)}
	counts := make([]float64, h.Bins())
	for _, v := range values {
		counts[h.BinCategory(v)]++
	}
	h.Shares = shares(counts)
	return h
}

// shares divides counts by their sum (all zeros when empty).
func shares(counts []float64) []float64 {
	var n float64
	for _, c := range counts {
		n += c
	}
	out := make([]float64, len(counts))
	if n > 0 {
		for i, c := range counts {
			out[i] = c / n
		}
	}
	return out
}

// psiFloor is the share an empty bin counts with in PSI (the usual
// convention: a bin empty on one side would otherwise make it infinite).
const psiFloor = 1e-4

// PSI is the population stability index of counts (per bin, as
// Histogram.Bins) against the histogram's shares: sum over bins of
// (actual - expected) * ln(actual / expected), with empty bins counted as
// psiFloor. Below 0.1 is usually read as stable, 0.1-0.25 as a moderate
// shift, above 0.25 as a major one. NaN when counts is empty.
func (h *Histogram) PSI(counts []float64) float64 {
	if len(counts) != len(h.Shares) {
		return math.NaN()
	}
	var n float64
	for _, c := range counts {
		n += c
	}
	if n == 0 {
		return math.NaN()
	}
	var psi float64
	for i, c := range counts {
		a, e := max(c/n, psiFloor), max(h.Shares[i], psiFloor)
		psi += (a - e) * math.Log(a/e)
	}
	return psi
}

// Validate checks that every histogram has as many shares as bins and
// increasing edges.
func (p *Profile) Validate() error {
	for i := range p.Inputs {
		if err := p.Inputs[i].validate(); err != nil {
			return fmt.Errorf("profile: inputs[%d] (%s): %w", i, p.Inputs[i].Name, err)
		}
	}
	if err := p.Score.validate(); err != nil {
		return fmt.Errorf("profile: score: %w", err)
	}
	return nil
}

func (h *Histogram) validate() error {
	if h.Type != Numeric && h.Type != Categorical {
		return fmt.Errorf("type %q", h.Type)
	}
	if len(h.Shares) != h.Bins() {
		return fmt.Errorf("%d shares for %d bins", len(h.Shares), h.Bins())
	}
	for i := 1; i < len(h.Edges); i++ {
		if !(h.Edges[i] > h.Edges[i-1]) {
			return fmt.Errorf("edges not increasing at %d", i)
		}
	}
	return nil
}

// ProfileOf returns the training profile a records, and false for a model
// trained before profiles were recorded (or with a malformed one).
func ProfileOf(a *Artifact) (*Profile, bool) {
	v, ok := a.Params[ProfileParam]
	if !ok {
		return nil, false
	}
	if p, ok := v.(*Profile); ok {
		return p, true
	}
	// Read from a file: a JSON object.
	b, err := json.Marshal(v)
	if err != nil {
		return nil, false
	}
	var p Profile
	if json.Unmarshal(b, &p) != nil || p.Validate() != nil || len(p.Inputs) != len(a.Features) {
		return nil, false
	}
	for i, h := range p.Inputs {
		if h.Name != a.Features[i].Name {
			return nil, false
		}
	}
	return &p, true
}
