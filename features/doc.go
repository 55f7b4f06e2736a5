// Package features turns the raw payment history (the data contract of
// package datasets) into point-in-time correct payment-behaviour signals,
// survival labels ("whether and when the customer falls behind"), training
// snapshots and the online feature table features_latest.
//
// Every pipeline is ClickHouse SQL kept in sql/*.sql and embedded in the
// binary; one text runs on chDB 26.5 and on ClickHouse server 18.16. The
// reference date T of a signal means "the customer as known at 00:00 UTC on
// T": only events strictly before that moment count. Compute evaluates the
// same definitions in plain Go on one customer's history, for inline API
// requests; a test holds it equal to the SQL.
//
// See docs/features.md for every signal's definition and rationale.
package features
