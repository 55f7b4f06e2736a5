// Package simulation runs `duewise simulate`: it compares what creditors
// do (policies) on the synthetic payment world of package synth, in which
// customers respond to actions, and reports money collected, costs and
// customers kept with 95% intervals.
//
// The built-in policies none and standard come from synth. The policy
// `default` is duewise's own recommended-action policy (serving/policy's
// embedded rules) executed on top of the standard process, scored at every
// decision by a behaviour model trained on the world's months before the
// evaluation horizon (training on a sample of customers, with the labels
// known the day before the horizon starts); a policy file in the format of
// `duewise serve --policy` runs the same way. At a decision the policy
// sees the customer's signals computed in process from the rows known
// then (features.Compute), the model's prediction (serving/scoring.Local)
// and nothing else: synth.CheckPointInTime holds every policy to it.
//
// Every policy meets the same customers and draws (common random
// numbers); runs repeat the comparison on worlds of independent seeds,
// and a bootstrap over customers gives the intervals. See
// docs/simulation.md.
package simulation
