package metrics

import (
	"fmt"
	"strings"
)

// MonotoneTolerance is the fall of the 90-day risk, for a step of an input
// in its risky direction, that the monotonicity audit counts as a
// violation.
const MonotoneTolerance = 0.0005

// MonotoneCheck is the monotonicity audit of one input with a declared
// direction: on how many rows a realistic step of the input in its risky
// direction (Step) lowered the 90-day risk by more than
// MonotoneTolerance. A plain value.
type MonotoneCheck struct {
	Input     string `json:"input"`
	Direction string `json:"direction"`
	Step      string `json:"step"`
	// Rows are the rows audited: those whose value is known and can take
	// the step (a share already at 1 cannot rise).
	Rows       int     `json:"rows"`
	Violations int     `json:"violations"`
	Share      float64 `json:"share"`
	// WorstFall is the largest fall of the 90-day risk seen (0 when the
	// risk never fell).
	WorstFall float64 `json:"worst_fall"`
}

// Observe counts one audited row whose 90-day risk moved from base to
// risk after the step.
func (c *MonotoneCheck) Observe(base, risk float64) {
	c.Rows++
	if fall := base - risk; fall > 0 {
		c.WorstFall = max(c.WorstFall, fall)
		if fall > MonotoneTolerance {
			c.Violations++
		}
	}
}

// MonotoneViolations is the number of violating rows over all checks.
func MonotoneViolations(cs []MonotoneCheck) int {
	n := 0
	for _, c := range cs {
		n += c.Violations
	}
	return n
}

// writeMonotone writes the audit table.
func writeMonotone(b *strings.Builder, cs []MonotoneCheck) {
	if len(cs) == 0 {
		return
	}
	nw := len("input")
	for _, c := range cs {
		nw = max(nw, len(c.Input))
	}
	fmt.Fprintf(b, "\nmonotonicity audit: rows where a step in the risky direction lowers the 90-day risk by more than %g: %d\n", MonotoneTolerance, MonotoneViolations(cs))
	fmt.Fprintf(b, "%-*s %-15s %-24s %8s %10s %8s %10s\n", nw, "input", "direction", "step", "rows", "violations", "share", "worst fall")
	for _, c := range cs {
		fmt.Fprintf(b, "%-*s %-15s %-24s %8d %10d %7.2f%% %10.4f\n", nw, c.Input, c.Direction, c.Step, c.Rows, c.Violations, 100*c.Share, c.WorstFall)
	}
}
