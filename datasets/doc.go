// Package datasets holds duewise's data contract (the raw payment-event
// tables), reads and validates files in that shape (CSV, Parquet, Arrow IPC,
// NDJSON), and loads them into a warehouse.Engine idempotently. Its
// subpackages generate a synthetic payment world (datasets/synth) and convert
// public datasets into the contract (datasets/public).
package datasets
