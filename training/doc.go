// Package training fits duewise's discrete-time survival models with
// Gorgonia: a logistic-hazard network over an interval grid of 365 days,
// trained on the snapshot files of package features, with early stopping
// on a validation split later in time, seeded for bit-for-bit
// reproducibility, and exported as a model.Artifact that the plain-Go
// scorer serves. It also fits the baselines reported next to every model
// (logistic regression at 90 days, Kaplan-Meier per segment).
//
// Options.Ensemble trains several networks with consecutive seeds and
// merges them into one network whose hazard logits are their mean, so
// that an ensemble is served like any model. Options.Exclude keeps
// columns out of the inputs (by default postcode_area, a possible proxy
// for protected attributes); Load refuses columns named like protected
// attributes.
//
// Convention (person-period likelihood): a row with duration d falls in
// grid interval j(d), the interval that contains d. An event row
// contributes target 0 for the intervals before j(d) and 1 for j(d). A
// censored row contributes target 0 for the intervals it survived
// completely: those before j(d), and j(d) itself when d is its upper
// boundary. Durations beyond 365 days are censored at 365.
package training
