package scoring

import (
	"fmt"
	"sync"

	"github.com/duewise/duewise/features"
	"github.com/duewise/duewise/model"
	"github.com/duewise/duewise/serving/policy"
)

// Local answers risk questions in process from one behaviour model and a
// policy, without a warehouse, a registry or metrics: what the policy
// simulator (package simulation) asks at every decision of its world. It
// maps a prediction and the signals onto the policy's situation exactly
// as the API does (Core.situation), and computes the model's reasons only
// when a rule of the policy tests them. Safe for concurrent use.
type Local struct {
	c       *Core
	l       *loaded
	reasons bool
	vals    sync.Pool // *Values
}

// NewLocal returns a Local scoring with behaviour model a and policy p.
func NewLocal(a *model.Artifact, p *policy.Policy) (*Local, error) {
	if a == nil || p == nil {
		return nil, fmt.Errorf("local scoring: a model and a policy are required")
	}
	if a.Kind != model.Behaviour {
		return nil, fmt.Errorf("local scoring: a %s model, want a behaviour model", a.Kind)
	}
	c := &Core{cfg: Config{Policy: p, Threshold: features.DefaultThreshold}, cat: NewCatalog()}
	l := &loaded{a: a, in: make([]int, len(a.Features))}
	for i, f := range a.Features {
		idx, ok := c.cat.numIdx[f.Name]
		if f.Type == model.Categorical {
			idx, ok = c.cat.catIdx[f.Name]
		}
		if !ok {
			return nil, fmt.Errorf("local scoring: %w: feature %q is not a signal (docs/features.md)", errMismatch, f.Name)
		}
		l.in[i] = idx
	}
	var err error
	if l.scorer, err = model.NewScorer(a); err != nil {
		return nil, fmt.Errorf("local scoring: %w", err)
	}
	x := &Local{c: c, l: l, reasons: p.Uses("reasons")}
	x.vals.New = func() any { v := c.cat.NewValues(); return &v }
	return x, nil
}

// Evaluate returns the policy's answer for a customer whose signals row
// computed (features.Compute), about an invoice of invoiceAmount due in
// daysToDue days (NaN when there is none), with the prediction it rests
// on. A customer behind (row.Status) is certain to be behind, as in the
// API's answers.
func (x *Local) Evaluate(row *features.Row, daysToDue, invoiceAmount float64) (policy.Result, model.Prediction) {
	vp := x.vals.Get().(*Values)
	defer x.vals.Put(vp)
	v := x.c.cat.Reset(*vp)
	*vp = v
	x.c.cat.fromComputed(row, &v)
	ix := &x.c.cat.ix
	v.Num[ix.daysToDue], v.Num[ix.invoiceAmount] = daysToDue, invoiceAmount
	var p model.Prediction
	var codes []string
	if x.reasons {
		p, _, codes = x.c.prediction(x.l, &v, "en")
	} else {
		n := len(x.l.a.Features)
		num, cat := make([]float64, n), make([]string, n)
		x.l.inputs(&v, num, cat)
		x.l.scorer.Predict(num, cat, &p)
	}
	if row.Status == "behind" {
		behindNow(&p)
	}
	sit := x.c.situation(&v, &p, string(model.Behaviour), row.Status, "en", codes)
	return x.c.cfg.Policy.Evaluate(&sit), p
}
