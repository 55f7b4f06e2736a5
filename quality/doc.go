// Package quality runs the whole duewise path (import, features,
// snapshots, training, evaluation) on a public or synthetic dataset and
// compares the model's quality with reference figures: the contract of
// `duewise benchmark quality`. See docs/benchmarks.md.
package quality
