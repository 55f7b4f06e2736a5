package model

import (
	"errors"
	"fmt"
	"math"
	"time"
)

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

// Valid reports whether k is one of the three model kinds.
func (k Kind) Valid() bool {
	return k == Behaviour || k == Onboarding || k == Invoice
}

// Horizons are the days at which every model reports P(event within h).
// Each is a boundary of every model's interval grid.
var Horizons = [5]int{30, 60, 90, 180, 365}

// MaxDays is the last boundary of every grid: predictions cover 365 days.
const MaxDays = 365

// FeatureType tells how a Feature is encoded.
type FeatureType string

// Feature types.
const (
	Numeric     FeatureType = "numeric"
	Categorical FeatureType = "categorical"
)

// Feature is one model input and its encoding. A numeric feature becomes
// (x-Mean)/Std, with x first replaced by sign(x)·log(1+|x|) when Log is set
// (for heavy-tailed counts, amounts and days), and 0 when NULL; with NullIndicator an extra input is 1 when
// the value is NULL and 0 otherwise. With ZeroAsNull a zero encodes like a
// NULL: for inputs that are mostly zero (no overdue invoice, no failed
// debit), Mean and Std then describe the values that do occur and the
// indicator is the network's switch for "none". A categorical feature becomes a one-hot
// block over Categories; an unknown or empty value encodes as all zeros.
// Encoded inputs are laid out in Features order.
//
// A numeric feature with a Direction is monotone: the network is built so
// that its risk never moves against the direction (see InputSigns and
// Layer.Signs). Its zeros, when frequent, get a ZeroIndicator instead of
// ZeroAsNull: an extra input that is 1 when the value is exactly 0, while
// the value input encodes 0 like the lowest values (Floor, the 1st
// percentile of the non-zero training values: lower values encode as
// Floor), so that both inputs move the same way as the value grows and
// the indicator carries the step from none to some. Baseline is the raw
// value its attributions are measured from (Artifact.Reference holds the
// encoding: for a zero-indicator feature, Baseline 0 with the indicator at
// the training share of zeros, so that any value above 0 is above it).
// NullAs, on a monotone feature whose NULL means the event never happened
// (the days since a customer's latest failed debit, when there was none),
// encodes NULL at the safe end of the order instead of through a NULL
// indicator: as its Ceiling ("ceiling": longer ago than any value) or its
// lowest value ("floor": 0 with a zero indicator, else Floor), so that the
// customer's first such event moves the risk along the direction.
type Feature struct {
	Name          string        `json:"name"`
	Type          FeatureType   `json:"type"`
	Mean          float64       `json:"mean,omitempty"`
	Std           float64       `json:"std,omitempty"`
	NullIndicator bool          `json:"null_indicator,omitempty"`
	ZeroAsNull    bool          `json:"zero_as_null,omitempty"`
	ZeroIndicator bool          `json:"zero_indicator,omitempty"`
	Log           bool          `json:"log,omitempty"`
	Categories    []string      `json:"categories,omitempty"`
	Floor         *float64      `json:"floor,omitempty"`
	Ceiling       *float64      `json:"ceiling,omitempty"`
	Direction     RiskDirection `json:"direction,omitempty"`
	Baseline      *float64      `json:"baseline,omitempty"`
	NullAs        string        `json:"null_as,omitempty"`
	// Attribute, when set, marks an input that is not a signal of the
	// catalog: an attribute of the tenant's own (a declared attribute, or
	// an extra column of the snapshot file the model was trained on). A
	// request supplies it by name (POST /v1/onboarding/risk, field
	// attributes), and reasons name it by its label.
	Attribute *Attribute `json:"attribute,omitempty"`
}

// Attribute describes an input that is a tenant's own attribute: its
// label and, when declared, its allowed range or values. A plain value.
type Attribute struct {
	Label Label `json:"label"`
	// Min and Max bound a numeric attribute (inclusive; nil = open).
	Min *float64 `json:"min,omitempty"`
	Max *float64 `json:"max,omitempty"`
	// Values are a categorical attribute's allowed values (nil = any).
	Values []string `json:"values,omitempty"`
}

// Label is a name as people read it, in English and Dutch.
type Label struct {
	EN string `json:"en"`
	NL string `json:"nl"`
}

// In returns the label in lang ("nl", else English).
func (l Label) In(lang string) string {
	if lang == "nl" && l.NL != "" {
		return l.NL
	}
	return l.EN
}

// AttributesParam is the artifact parameter (Artifact.Params) that holds
// the declared attributes an onboarding model was trained with (the
// declarations of package datasets, those it does not use included), so
// that a server checks a request's attributes without reading the
// warehouse.
const AttributesParam = "attributes"

// MissingCategory is the category a categorical attribute's missing value
// (an empty string) takes, so that a model can tell "not given" apart from
// the values it did not see often enough in training, which, like values
// never seen, encode as all zeros (the "other" bucket). It is a category
// of the feature only when training saw enough missing values.
const MissingCategory = "(missing)"

// CategoryOf returns the category value v of f stands for: v, or
// MissingCategory for an empty value of an attribute. Safe for concurrent
// use.
func (f *Feature) CategoryOf(v string) string {
	if v == "" && f.Attribute != nil {
		return MissingCategory
	}
	return v
}

// Values of Feature.NullAs.
const (
	NullAsCeiling = "ceiling"
	NullAsFloor   = "floor"
)

// Activation names of Layer.Activation.
const (
	ReLU     = "relu"
	Identity = "identity"
)

// Layer is one dense layer: out = act(in·W + B), W row-major In×Out.
// Activation is "relu" for hidden layers and "identity" for the output
// layer, whose Out equals the number of grid intervals: the logits of the
// discrete hazards. Signs, in a monotone model, gives each output unit's
// sign (+1 rises, -1 falls with every monotone input, 0 depends on none);
// Validate checks every weight against it (see InputSigns).
type Layer struct {
	In         int       `json:"in"`
	Out        int       `json:"out"`
	W          []float32 `json:"w"`
	B          []float32 `json:"b"`
	Activation string    `json:"activation"`
	Signs      []int8    `json:"signs,omitempty"`
}

// FormatVersion is the artifact format version this build writes and reads.
const FormatVersion = 1

// Artifact is a trained model: everything needed to score, explain and audit
// it, readable without Gorgonia. Its file format is described in Write.
// An Artifact is plain data; it is not safe to modify concurrently with use.
type Artifact struct {
	// FormatVersion is the artifact format version; Write sets it.
	FormatVersion int `json:"format_version"`
	// Version identifies the model: "<kind>-<YYYYMMDDhhmmss>-<8 hex>",
	// the hex being the start of ContentHash. Write assigns it when empty.
	Version string `json:"version"`
	Kind    Kind   `json:"kind"`
	// Tenant is the tenant the model was trained for ("" = all tenants).
	Tenant    string    `json:"tenant"`
	CreatedAt time.Time `json:"created_at"`
	// CodeVersion is the duewise version (e.g. git describe) that trained it.
	CodeVersion string    `json:"code_version"`
	Features    []Feature `json:"features"`
	// Grid holds the interval boundaries in days: Grid[0] = 0 and the last
	// is 365. Interval 0 is [0, Grid[1]] and interval j > 0 is
	// (Grid[j], Grid[j+1]]. Only Grid[1] may equal Grid[0] (the invoice
	// grid's "paid on or before the due date" interval [0, 0]).
	Grid   []float64 `json:"grid"`
	Layers []Layer   `json:"layers"`
	// BandThresholds are four increasing cut points on the 90-day risk
	// (behaviour/onboarding: P(behind within 90d); invoice: p_late): below
	// the first is band A, at or above the last is band E.
	BandThresholds [4]float64 `json:"band_thresholds"`
	// Reference is the encoded baseline input for attributions (the
	// training population's mean encoding). Empty means all zeros.
	Reference []float32 `json:"reference"`
	// DataFingerprint identifies the training data (e.g. SHA-256 of the
	// snapshot file, or of its rows).
	DataFingerprint string `json:"data_fingerprint"`
	// Seed is the random seed training used.
	Seed int64 `json:"seed,omitempty"`
	// Params holds the training hyperparameters (hidden sizes, learning
	// rate, epochs, ...), for the model card and reproducibility.
	Params map[string]any `json:"params,omitempty"`
	// Metrics holds the evaluation results (e.g. a metrics.Report per data
	// split and the baselines), as the trainer recorded them.
	Metrics map[string]any `json:"metrics,omitempty"`
}

// ErrInvalid is wrapped by every error that reports a structurally invalid
// artifact.
var ErrInvalid = errors.New("model: invalid artifact")

// invalid returns an ErrInvalid error naming the field path.
func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// Validate checks that a is structurally sound: a known kind, uniquely named
// and well-formed features, a grid from 0 to 365 containing the horizons,
// layer dimensions that chain from EncodedWidth(Features) to len(Grid)-1
// outputs, weights of the declared sizes, increasing band thresholds and a
// Reference of the encoded width (or empty). Errors name the field path and
// wrap ErrInvalid. Validate is safe for concurrent use.
func (a *Artifact) Validate() error {
	if !a.Kind.Valid() {
		return invalid("kind %q: want behaviour, onboarding or invoice", a.Kind)
	}
	if len(a.Features) == 0 {
		return invalid("features: empty")
	}
	seen := make(map[string]int, len(a.Features))
	for i := range a.Features {
		f := &a.Features[i]
		if f.Name == "" {
			return invalid("features[%d].name: empty", i)
		}
		if j, dup := seen[f.Name]; dup {
			return invalid("features[%d].name %q: duplicate of features[%d]", i, f.Name, j)
		}
		seen[f.Name] = i
		if at := f.Attribute; at != nil && (at.Label.EN == "" || at.Label.NL == "") {
			return invalid("features[%d] (%s).attribute.label: want an English and a Dutch label", i, f.Name)
		}
		if err := f.validateNullAs(i); err != nil {
			return err
		}
		switch f.Type {
		case Numeric:
			if err := f.validateMonotone(i); err != nil {
				return err
			}
			if !(f.Std > 0) || math.IsInf(f.Std, 0) {
				return invalid("features[%d] (%s).std = %v: want a finite number > 0", i, f.Name, f.Std)
			}
			if math.IsNaN(f.Mean) || math.IsInf(f.Mean, 0) {
				return invalid("features[%d] (%s).mean = %v: want a finite number", i, f.Name, f.Mean)
			}
		case Categorical:
			if f.Direction.Monotone() {
				return invalid("features[%d] (%s).direction %q: a categorical feature has no direction", i, f.Name, f.Direction)
			}
			if len(f.Categories) == 0 {
				return invalid("features[%d] (%s).categories: empty", i, f.Name)
			}
			cs := make(map[string]bool, len(f.Categories))
			for j, c := range f.Categories {
				if c == "" {
					return invalid("features[%d] (%s).categories[%d]: empty", i, f.Name, j)
				}
				if cs[c] {
					return invalid("features[%d] (%s).categories[%d] %q: duplicate", i, f.Name, j, c)
				}
				cs[c] = true
			}
		default:
			return invalid("features[%d] (%s).type %q: want numeric or categorical", i, f.Name, f.Type)
		}
	}
	if err := validateGrid(a.Grid, a.Kind); err != nil {
		return err
	}
	if len(a.Layers) == 0 {
		return invalid("layers: empty")
	}
	in := EncodedWidth(a.Features)
	for i := range a.Layers {
		l := &a.Layers[i]
		if l.In != in {
			if i == 0 {
				return invalid("layers[0].in = %d: want %d (the encoded width of the features)", l.In, in)
			}
			return invalid("layers[%d].in = %d: want %d (layers[%d].out)", i, l.In, in, i-1)
		}
		if l.Out <= 0 {
			return invalid("layers[%d].out = %d: want > 0", i, l.Out)
		}
		if len(l.W) != l.In*l.Out {
			return invalid("layers[%d].w has %d weights: want in*out = %d", i, len(l.W), l.In*l.Out)
		}
		if len(l.B) != l.Out {
			return invalid("layers[%d].b has %d biases: want out = %d", i, len(l.B), l.Out)
		}
		last := i == len(a.Layers)-1
		switch {
		case last && l.Activation != Identity:
			return invalid("layers[%d].activation %q: the output layer must be %q", i, l.Activation, Identity)
		case !last && l.Activation != ReLU:
			return invalid("layers[%d].activation %q: hidden layers must be %q", i, l.Activation, ReLU)
		}
		for j, w := range l.W {
			if !finite32(w) {
				return invalid("layers[%d].w[%d] = %v: not finite", i, j, w)
			}
		}
		for j, b := range l.B {
			if !finite32(b) {
				return invalid("layers[%d].b[%d] = %v: not finite", i, j, b)
			}
		}
		in = l.Out
	}
	if k := len(a.Grid) - 1; in != k {
		return invalid("layers[%d].out = %d: want %d (one logit per grid interval)", len(a.Layers)-1, in, k)
	}
	for i, t := range a.BandThresholds {
		if !(t > 0 && t < 1) {
			return invalid("band_thresholds[%d] = %v: want a probability in (0, 1)", i, t)
		}
		if i > 0 && !(t > a.BandThresholds[i-1]) {
			return invalid("band_thresholds[%d] = %v: want > band_thresholds[%d] = %v", i, t, i-1, a.BandThresholds[i-1])
		}
	}
	if err := a.validateSigns(); err != nil {
		return err
	}
	if w := EncodedWidth(a.Features); len(a.Reference) != 0 && len(a.Reference) != w {
		return invalid("reference has %d values: want %d (the encoded width) or none", len(a.Reference), w)
	}
	for j, r := range a.Reference {
		if !finite32(r) {
			return invalid("reference[%d] = %v: not finite", j, r)
		}
	}
	return nil
}

// validateGrid checks the interval grid.
func validateGrid(g []float64, kind Kind) error {
	if len(g) < 2 {
		return invalid("grid has %d boundaries: want at least 2", len(g))
	}
	if g[0] != 0 {
		return invalid("grid[0] = %v: want 0", g[0])
	}
	if g[len(g)-1] != MaxDays {
		return invalid("grid[%d] = %v: want %d", len(g)-1, g[len(g)-1], MaxDays)
	}
	for j := 1; j < len(g); j++ {
		if math.IsNaN(g[j]) || g[j] < g[j-1] || (g[j] == g[j-1] && j != 1) {
			return invalid("grid[%d] = %v after grid[%d] = %v: boundaries must increase (only grid[1] may equal 0)", j, g[j], j-1, g[j-1])
		}
	}
	if kind == Invoice && g[1] != 0 {
		return invalid("grid[1] = %v: an invoice grid starts [0, 0, ...] (interval 0 = paid on or before the due date)", g[1])
	}
	for _, h := range Horizons {
		if boundaryIndex(g, float64(h)) < 0 {
			return invalid("grid %v: horizon %d is not a boundary", g, h)
		}
	}
	return nil
}

// boundaryIndex returns the last index k with g[k] == d, or -1.
func boundaryIndex(g []float64, d float64) int {
	for k := len(g) - 1; k >= 0; k-- {
		if g[k] == d {
			return k
		}
	}
	return -1
}

// finite32 reports whether v is neither NaN nor infinite.
func finite32(v float32) bool {
	return !math.IsNaN(float64(v)) && !math.IsInf(float64(v), 0)
}
