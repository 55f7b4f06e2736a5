// Package policy turns a risk score and a customer's situation into a short,
// ordered list of recommended preventive actions.
//
// The policy is data: a YAML file (the defaults are embedded, see
// default.yaml and docs/actions.md) of rules. Each rule has a condition over
// named signals of a Situation (scores per horizon, band, reason codes,
// timing, late history, direct-debit failures, hardship signs, channel,
// open overdue amount and age) and the actions to recommend when it holds.
// Load validates a file strictly: unknown fields, unknown signals, wrong
// value types and bad enumerations are errors naming file:line:column and the
// field path. Evaluate is pure and allocation-light; a *Policy is immutable
// after Load and safe for concurrent use.
package policy
