package model

import "time"

// Kind names what a model predicts.
type Kind string

// The three model kinds, trained by the same code.
const (
	// Behaviour predicts whether and when a customer falls behind, from the
	// full payment-behaviour signals.
	Behaviour Kind = "behaviour"
	// Onboarding predicts the same from what is known at onboarding only.
	Onboarding Kind = "onboarding"
	// Invoice predicts, at an invoice's issue date, whether and when it will
	// be paid after its due date.
	Invoice Kind = "invoice"
)

// Horizons are the days at which every model reports P(event within h).
// Each is a boundary of every model's interval grid.
var Horizons = [5]int{30, 60, 90, 180, 365}

// FeatureType tells how a Feature is encoded.
type FeatureType string

// Feature types.
const (
	Numeric     FeatureType = "numeric"
	Categorical FeatureType = "categorical"
)

// Feature is one model input and its encoding. A numeric feature becomes
// (x-Mean)/Std, and 0 when NULL; with NullIndicator an extra input is 1 when
// the value is NULL and 0 otherwise. A categorical feature becomes a one-hot
// block over Categories; an unknown or empty value encodes as all zeros.
// Encoded inputs are laid out in Features order.
type Feature struct {
	Name          string      `json:"name"`
	Type          FeatureType `json:"type"`
	Mean          float64     `json:"mean,omitempty"`
	Std           float64     `json:"std,omitempty"`
	NullIndicator bool        `json:"null_indicator,omitempty"`
	Categories    []string    `json:"categories,omitempty"`
}

// Layer is one dense layer: out = act(in·W + B), W row-major In×Out.
// Activation is "relu" for hidden layers and "identity" for the output
// layer, whose Out equals the number of grid intervals: the logits of the
// discrete hazards.
type Layer struct {
	In         int       `json:"in"`
	Out        int       `json:"out"`
	W          []float32 `json:"w"`
	B          []float32 `json:"b"`
	Activation string    `json:"activation"`
}

// Artifact is a trained model: everything needed to score, explain and audit
// it, readable without Gorgonia. Its file format is described in Write.
type Artifact struct {
	FormatVersion int       `json:"format_version"`
	Version       string    `json:"version"`
	Kind          Kind      `json:"kind"`
	Tenant        string    `json:"tenant"`
	CreatedAt     time.Time `json:"created_at"`
	CodeVersion   string    `json:"code_version"`
	Features      []Feature `json:"features"`
	// Grid holds the interval boundaries in days: Grid[0] = 0 and the last
	// is 365; interval j is (Grid[j], Grid[j+1]].
	Grid   []float64 `json:"grid"`
	Layers []Layer   `json:"layers"`
	// BandThresholds are four increasing cut points on P(event within 90d):
	// below the first is band A, at or above the last is band E.
	BandThresholds [4]float64 `json:"band_thresholds"`
	// Reference is the encoded baseline input for attributions (the
	// training population's mean encoding).
	Reference       []float32      `json:"reference"`
	DataFingerprint string         `json:"data_fingerprint"`
	Metrics         map[string]any `json:"metrics,omitempty"`
}
