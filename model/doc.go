// Package model holds duewise's trained-model artifact and everything that
// works on it without Gorgonia: the input encoding shared with training, a
// plain-Go scorer that turns hazard logits into survival curves, horizon
// probabilities, expected days and risk bands, per-customer explanations by
// integrated gradients mapped to stable reason codes, and the versioned,
// checksummed artifact file format.
//
// # Predictions
//
// A model is a discrete-time (logistic-hazard) survival network over the
// interval grid Artifact.Grid = [g0=0, g1, ..., gK=365]. Interval 0 is
// [0, g1] and interval j>0 is (g_j, g_{j+1}]. The network outputs one logit
// per interval; h_j = sigmoid(logit_j) and S(g_{j+1}) = prod_{i<=j}(1-h_i).
// For behaviour and onboarding models (event = falling behind) the horizon
// probabilities are 1-S(h); for invoice models (event = paid in full) they
// are S(h), the probability that the invoice is still unpaid h days after
// its due date, and PLate = S(0). Both are monotone in h by construction.
//
// # Concurrency
//
// A Scorer is immutable after NewScorer and safe for concurrent use; it
// keeps per-call scratch space in a sync.Pool so that Predict and Logits do
// not allocate in steady state.
package model
