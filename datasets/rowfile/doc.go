// Package rowfile holds typed rows of every data-contract table (see
// datasets.Tables) and writes them as contract files: CSV with a header, or
// Parquet with ClickHouse-compatible column types. The synthetic world
// (datasets/synth) and the public-dataset importers (datasets/public) both
// write through it, so the two produce byte-identical formatting.
package rowfile
