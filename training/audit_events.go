package training

import (
	"math"
	"slices"

	"github.com/duewise/duewise/model"
	"github.com/duewise/duewise/training/metrics"
)

// auditEvent is an event that worsens a customer, by what it does to the
// signals: applied to a row (every signal of the row, by name, through
// get and set), the 90-day risk must not fall. It checks what one input
// at a time cannot: that the signals an event moves together, declared or
// not, never lower the risk (a failed debit also adds an attempt and
// names a reason).
type auditEvent struct {
	name  string
	apply func(get func(string) float64, set func(string, float64))
}

// auditEvents are the events the audit applies.
var auditEvents = []auditEvent{
	{"event: a failed direct debit today (AM04)", func(get func(string) float64, set func(string, float64)) {
		att, share := orZero(get("dd_attempts_365d")), orZero(get("dd_failed_share_365d"))
		set("dd_failed_90d", orZero(get("dd_failed_90d"))+1)
		set("dd_insufficient_funds_365d", orZero(get("dd_insufficient_funds_365d"))+1)
		set("dd_failed_share_365d", (share*att+1)/(att+1))
		set("dd_attempts_365d", att+1)
		set("days_since_last_dd_failure", 0)
	}},
	{"event: a reminder today", func(get func(string) float64, set func(string, float64)) {
		set("reminders_90d", orZero(get("reminders_90d"))+1)
		set("reminders_365d", orZero(get("reminders_365d"))+1)
		set("reminder_stage_30d", max(orZero(get("reminder_stage_30d")), 1))
		set("days_since_last_reminder", 0)
	}},
	{"event: an address change today", func(get func(string) float64, set func(string, float64)) {
		set("address_changes_180d", orZero(get("address_changes_180d"))+1)
		set("days_since_last_address_change", 0)
	}},
}

func orZero(v float64) float64 {
	if math.IsNaN(v) {
		return 0
	}
	return v
}

// eventChecks returns one check per event for the model's features: only
// events that change an input of the model.
func eventChecks(fs []model.Feature) ([]auditEvent, []metrics.MonotoneCheck) {
	var evs []auditEvent
	var out []metrics.MonotoneCheck
	for _, ev := range auditEvents {
		touches := false
		ev.apply(func(string) float64 { return 0 }, func(name string, _ float64) {
			touches = touches || slices.ContainsFunc(fs, func(f model.Feature) bool { return f.Name == name })
		})
		if touches {
			evs = append(evs, ev)
			out = append(out, metrics.MonotoneCheck{Input: ev.name, Direction: string(model.IncreasesRisk), Step: "event"})
		}
	}
	return evs, out
}

// auditEventRows applies each event to each row and counts the rows whose
// 90-day risk fell by more than metrics.MonotoneTolerance into out.
func auditEventRows(sc *model.Scorer, enc *encoder, d *Dataset, rows []int, evs []auditEvent, out []metrics.MonotoneCheck) {
	fs := sc.Artifact().Features
	byName := map[string]int{}
	for i, f := range fs {
		byName[f.Name] = i
	}
	col := map[string]int{}
	for j, n := range d.NumNames {
		col[n] = j
	}
	num, cat := make([]float64, len(fs)), make([]string, len(fs))
	moved := make([]float64, len(fs))
	var p model.Prediction
	for _, r := range rows {
		enc.row(d, r, num, cat)
		sc.Predict(num, cat, &p)
		base := p.Risk90
		for i, ev := range evs {
			copy(moved, num)
			get := func(name string) float64 {
				if k, ok := byName[name]; ok {
					return moved[k]
				}
				if j, ok := col[name]; ok {
					return d.Num[j][r]
				}
				return math.NaN()
			}
			set := func(name string, v float64) {
				if k, ok := byName[name]; ok && fs[k].Type == model.Numeric {
					moved[k] = v
				}
			}
			ev.apply(get, set)
			sc.Predict(moved, cat, &p)
			out[i].Rows++
			if fall := base - p.Risk90; fall > metrics.MonotoneTolerance {
				out[i].Violations++
				out[i].WorstFall = max(out[i].WorstFall, fall)
			} else if fall > 0 {
				out[i].WorstFall = max(out[i].WorstFall, fall)
			}
		}
	}
}
