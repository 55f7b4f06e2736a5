// Package synth simulates a synthetic payment world: customers of a
// creditor with hidden financial states (healthy, strained, hardship,
// moving, recovering, chronic) that drive every observable event in the
// data contract (invoices, payments, direct debits, dunning, arrangements,
// disputes, customer events), plus truth.csv with the true monthly hazard of
// falling behind. The simulation is deterministic for a seed, whatever the
// number of CPUs. See docs/synthetic-world.md for the model.
package synth
