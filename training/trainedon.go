package training

import (
	"encoding/json"
	"slices"
	"time"

	"github.com/duewise/duewise/model"
)

// trainedOnParam is the key of Artifact.Params that holds TrainedOn: a
// parameter, not a field of the artifact, so that model files stay
// readable by builds that predate it and files that predate it stay
// readable.
const trainedOnParam = "trained_on"

// TrainedOn describes the rows a model was fitted on (not its validation
// rows), so that an evaluation on them can be told apart from one on new
// rows. A plain value.
type TrainedOn struct {
	// Fingerprint is Dataset.Fingerprint of the training rows alone.
	Fingerprint string `json:"fingerprint"`
	Rows        int    `json:"rows"`
	// Tenants are the tenants of the training rows.
	Tenants []string `json:"tenants"`
	// From and To are the first and last as_of of the training rows
	// (YYYY-MM-DD).
	From string `json:"as_of_from"`
	To   string `json:"as_of_to"`
	// RandomSplit is set when the validation rows were a random share of
	// the customers at the same dates (a snapshot with one as_of date), so
	// that rows of those dates are not all training rows.
	RandomSplit bool `json:"random_split,omitempty"`
}

// recordTrainedOn writes what the training rows of d are into a's Params.
func recordTrainedOn(a *model.Artifact, d *Dataset, rows []int, splitAsOf time.Time) {
	t := TrainedOn{Fingerprint: d.Subset(rows).Fingerprint(), Rows: len(rows), RandomSplit: splitAsOf.IsZero()}
	seen := map[string]bool{}
	lo, hi := int32(1<<31-1), int32(-1<<31)
	for _, r := range rows {
		if !seen[d.Tenant[r]] {
			seen[d.Tenant[r]] = true
			t.Tenants = append(t.Tenants, d.Tenant[r])
		}
		lo, hi = min(lo, d.AsOf[r]), max(hi, d.AsOf[r])
	}
	slices.Sort(t.Tenants)
	if len(rows) > 0 {
		t.From, t.To = dayString(lo), dayString(hi)
	}
	if a.Params == nil {
		a.Params = map[string]any{}
	}
	a.Params[trainedOnParam] = t
}

// ModelTrainedOn returns what a was trained on, and false for a model
// trained before this was recorded.
func ModelTrainedOn(a *model.Artifact) (TrainedOn, bool) {
	v, ok := a.Params[trainedOnParam]
	if !ok {
		return TrainedOn{}, false
	}
	if t, ok := v.(TrainedOn); ok {
		return t, true
	}
	// Read from a file: a JSON object.
	var t TrainedOn
	b, err := json.Marshal(v)
	if err != nil || json.Unmarshal(b, &t) != nil || t.From == "" {
		return TrainedOn{}, false
	}
	return t, true
}

// Overlap says how far an evaluation's rows are a model's training rows.
// A plain value.
type Overlap struct {
	// Same is set when the rows are the very snapshot the model was
	// trained on (its validation rows included).
	Same bool
	// Rows is the number of rows that are, or may be, training rows: of a
	// training tenant and as_of within the training dates.
	Rows int
	// Of is the number of rows evaluated.
	Of int
	// Known reports whether the model records its training rows (models
	// trained before it did only allow Same).
	Known     bool
	TrainedOn TrainedOn
}

// TrainingOverlap compares the rows of d with the rows a was trained on.
// A time split makes the count exact for the model's own snapshot;
// otherwise rows of the training tenants and dates are counted, which are
// training rows when they are the same customers.
func TrainingOverlap(a *model.Artifact, d *Dataset) Overlap {
	o := Overlap{Of: d.Len(), Same: a.DataFingerprint != "" && d.Fingerprint() == a.DataFingerprint}
	t, ok := ModelTrainedOn(a)
	o.Known, o.TrainedOn = ok, t
	if !ok {
		if o.Same {
			o.Rows = d.Len()
		}
		return o
	}
	from, err1 := time.Parse(time.DateOnly, t.From)
	to, err2 := time.Parse(time.DateOnly, t.To)
	if err1 != nil || err2 != nil {
		return o
	}
	lo, hi := int32(from.Unix()/86400), int32(to.Unix()/86400)
	for i := range d.Len() {
		if d.AsOf[i] >= lo && d.AsOf[i] <= hi && (len(t.Tenants) == 0 || slices.Contains(t.Tenants, d.Tenant[i])) {
			o.Rows++
		}
	}
	return o
}

// dayString formats days since 1970-01-01 as YYYY-MM-DD.
func dayString(days int32) string {
	return time.Unix(int64(days)*86400, 0).UTC().Format(time.DateOnly)
}
