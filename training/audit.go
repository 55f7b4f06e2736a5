package training

import (
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"

	"github.com/duewise/duewise/features"
	"github.com/duewise/duewise/model"
	"github.com/duewise/duewise/training/metrics"
)

// auditStep is the realistic step of one input in its risky direction.
type auditStep struct {
	feature int     // index in the model's features
	sign    float64 // +1: the risky direction is up, -1: down
	unit    string  // features.Unit*
	label   string
	// size, when > 0, is the step of an input the catalog does not know
	// (a tenant attribute): a tenth of its training standard deviation.
	size float64
}

// next returns the value after the step from v on a row whose monthly
// amount is monthly (NaN when unknown), and whether the step can be taken
// (it changes the value): see stepSize. Shares and flags stay within
// [0, 1], stages within 0..features.MaxStage, counts and amounts at or
// above 0, and days and ratios do not cross below 0 from a value at or
// above it.
func (s auditStep) next(v, monthly float64) (float64, bool) {
	d, ok := stepSize(s.unit, monthly)
	if s.size > 0 {
		d, ok = s.size, true
	}
	if !ok {
		return 0, false
	}
	lo, hi := math.Inf(-1), math.Inf(1)
	switch s.unit {
	case features.UnitShare, features.UnitFlag:
		lo, hi = 0, 1
	case features.UnitStage:
		lo, hi = 0, features.MaxStage
	case features.UnitCount, features.UnitAmount:
		lo = 0
	default:
		lo = min(v, 0)
	}
	n := min(max(v+s.sign*d, lo), hi)
	return n, n != v
}

// stepSize is the realistic step of a unit: 1 for counts, stages, flags
// and days, 10% of the row's monthly amount for amounts (none when it is
// unknown), 0.1 for shares and ratios; none for months and categories.
func stepSize(unit string, monthly float64) (float64, bool) {
	switch unit {
	case features.UnitCount, features.UnitStage, features.UnitFlag, features.UnitDays:
		return 1, true
	case features.UnitAmount:
		return 0.1 * monthly, monthly > 0
	case features.UnitShare, features.UnitRatio:
		return 0.1, true
	}
	return 0, false
}

// stepLabel spells a step for the audit table.
func stepLabel(unit string, sign float64) string {
	sg := "+"
	if sign < 0 {
		sg = "-"
	}
	switch unit {
	case features.UnitDays:
		return sg + "1 day"
	case features.UnitAmount:
		return sg + "10% of monthly amount"
	case features.UnitShare, features.UnitRatio:
		return sg + "0.1"
	}
	return sg + "1"
}

// Audit is the monotonicity audit of a on rows of d (nil = all): for every
// numeric input with a declared direction (the model's own, else the
// signal catalog's, so that unconstrained models are audited against the
// same directions) and a unit with a realistic step, the rows whose known
// value, moved one step in the risky direction with everything else held,
// lowers the 90-day risk (Prediction.Risk90) by more than
// metrics.MonotoneTolerance. NULL values have no place in the order and
// are not audited. It uses every core. Safe for concurrent use.
func Audit(a *model.Artifact, d *Dataset, rows []int) ([]metrics.MonotoneCheck, error) {
	if rows == nil {
		rows = indexes(d.Len())
	}
	sc, err := model.NewScorer(a)
	if err != nil {
		return nil, err
	}
	steps := auditSteps(a.Features)
	evs, evChecks := eventChecks(a.Features)
	if len(steps) == 0 && len(evs) == 0 {
		return nil, nil
	}
	enc := newEncoder(d, a.Features)
	if i := slices.IndexFunc(enc.cols, func(c int) bool { return c < 0 }); i >= 0 {
		return nil, fmt.Errorf("monotonicity audit: model feature %q is not a column of the snapshots", a.Features[i].Name)
	}
	monthly := slices.Index(d.NumNames, "monthly_amount")
	workers := min(runtime.GOMAXPROCS(0), max(1, len(rows)/1000))
	parts := make([][]metrics.MonotoneCheck, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			part := rows[w*len(rows)/workers : (w+1)*len(rows)/workers]
			parts[w] = auditRows(sc, enc, d, part, steps, monthly)
			ev := slices.Clone(evChecks)
			auditEventRows(sc, enc, d, part, evs, ev)
			parts[w] = append(parts[w], ev...)
		}()
	}
	wg.Wait()
	out := parts[0]
	for _, p := range parts[1:] {
		for i := range out {
			out[i].Rows += p[i].Rows
			out[i].Violations += p[i].Violations
			out[i].WorstFall = max(out[i].WorstFall, p[i].WorstFall)
		}
	}
	for i := range out {
		if out[i].Rows > 0 {
			out[i].Share = float64(out[i].Violations) / float64(out[i].Rows)
		}
	}
	return out, nil
}

// auditSteps returns the audited inputs of fs.
func auditSteps(fs []model.Feature) []auditStep {
	var steps []auditStep
	for i, f := range fs {
		if f.Type != model.Numeric {
			continue
		}
		sig, known := features.Lookup(f.Name)
		if !known && f.Attribute != nil && f.Direction.Monotone() && !f.Log && f.Std > 0 {
			s := auditStep{feature: i, sign: float64(f.Direction.Sign()), size: 0.1 * f.Std}
			s.label = fmt.Sprintf("%+.3g (0.1 sd)", s.sign*s.size)
			steps = append(steps, s)
			continue
		}
		dir := f.Direction
		if !dir.Monotone() && known {
			dir = model.RiskDirection(sig.Direction)
		}
		if !dir.Monotone() || !known {
			continue
		}
		s := auditStep{feature: i, sign: float64(dir.Sign()), unit: sig.Unit}
		if _, ok := stepSize(s.unit, 1); !ok {
			continue // no realistic step (a month, a category)
		}
		s.label = stepLabel(s.unit, s.sign)
		steps = append(steps, s)
	}
	return steps
}

// auditRows audits rows and returns one check per step (Share unset).
func auditRows(sc *model.Scorer, enc *encoder, d *Dataset, rows []int, steps []auditStep, monthly int) []metrics.MonotoneCheck {
	fs := sc.Artifact().Features
	out := make([]metrics.MonotoneCheck, len(steps))
	for i, s := range steps {
		out[i] = metrics.MonotoneCheck{Input: fs[s.feature].Name, Direction: string(model.IncreasesRisk), Step: s.label}
		if s.sign < 0 {
			out[i].Direction = string(model.DecreasesRisk)
		}
	}
	num, cat := make([]float64, len(fs)), make([]string, len(fs))
	var p model.Prediction
	for _, r := range rows {
		enc.row(d, r, num, cat)
		m := math.NaN()
		if monthly >= 0 {
			m = d.Num[monthly][r]
		}
		sc.Predict(num, cat, &p)
		base := p.Risk90
		for i, s := range steps {
			v := num[s.feature]
			if math.IsNaN(v) || math.IsInf(v, 0) {
				continue
			}
			n, ok := s.next(v, m)
			if !ok {
				continue
			}
			num[s.feature] = n
			sc.Predict(num, cat, &p)
			num[s.feature] = v
			out[i].Observe(base, p.Risk90)
		}
	}
	return out
}
