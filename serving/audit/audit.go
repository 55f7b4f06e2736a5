// Package audit is the audit trail of duewise's scores: one row per score
// served, so that any automated decision can be explained later (GDPR
// Art. 22): who asked (tenant, key, request), about whom (customer), which
// model and version, the score, band, reasons, rules fired, and when.
//
// A record is first written to a local spool, an append-only file (a
// write-ahead log), before Record returns, so that the API answers only
// once its audit record would survive the process's end, kill -9
// included, and an outage of the warehouse; the spool is fsync'd every
// SyncEvery (100 ms by default) in the background, so that a power loss
// or an OS crash takes at most the records answered within that window
// (docs/api.md, "Audit"). A writer then inserts the spooled records into
// the warehouse table score_audit in large batches and deletes what is
// written; while the warehouse is down the spool grows, up to a size
// limit past which records are refused (ErrFull), and a restarted process
// replays it. Records carry an id, so that a batch whose insert may have
// landed before a crash is not written twice.
package audit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/duewise/duewise/warehouse"
)

// Table is the warehouse table of the audit trail.
const Table = "score_audit"

// Migrations create the audit table.
func Migrations() []warehouse.Migration {
	return []warehouse.Migration{
		{Component: "audit", Version: 1, Name: "score_audit table", Statements: []string{`
CREATE TABLE IF NOT EXISTS score_audit
(
    tenant String,
    key_id String,
    request_id String,
    customer_id String,
    model_version String,
    risk_90d Float64,
    band String,
    reasons String,
    scored_at DateTime
)
ENGINE = MergeTree
ORDER BY (tenant, customer_id, scored_at)`}},
		{Component: "audit", Version: 2, Name: "score_audit model kind and rules fired", Statements: []string{
			`ALTER TABLE score_audit ADD COLUMN kind String, ADD COLUMN rules_fired String`}},
		{Component: "audit", Version: 3, Name: "score_audit record id", Statements: []string{
			`ALTER TABLE score_audit ADD COLUMN audit_id String`}},
		{Component: "audit", Version: 4, Name: "score_audit shadow model", Statements: []string{
			`ALTER TABLE score_audit ADD COLUMN shadow_version String, ADD COLUMN shadow_risk_90d Float64`}},
	}
}

// Reason is one reason of a score as the trail keeps it: its code and
// signed weight (the texts follow from the codes).
type Reason struct {
	Code   string
	Weight float64
}

// Record is one score served. A plain value.
type Record struct {
	Tenant, KeyID, RequestID string
	// Kind and ModelVersion name the model; Customer whom it scored
	// ("prospect:ID" for onboarding).
	Kind, Customer, ModelVersion string
	// Risk is the 90-day risk (for the invoice model the probability of
	// paying late); it must be a finite number.
	Risk       float64
	Band       string
	Reasons    []Reason
	RulesFired []string
	// At is when it was scored; zero is now.
	At time.Time
	// ShadowVersion names the challenger that scored the same request
	// without answering it (serve --shadow), ShadowRisk its risk; "" when
	// there is none.
	ShadowVersion string
	ShadowRisk    float64
}

// Warehouse is what the trail needs of the warehouse: Insert to write the
// records, Query to find, after a crash or a failed insert, which of them
// are already written. warehouse.Engine has both.
type Warehouse interface {
	Insert(ctx context.Context, table string, rec arrow.Record) error
	Query(ctx context.Context, sql string, p warehouse.Params) (array.RecordReader, error)
}

// Config configures Open. Warehouse and Dir are required.
type Config struct {
	Warehouse Warehouse
	// Dir is the spool folder (created when missing). One process at a
	// time may use it.
	Dir string
	// MaxBytes bounds the spool; 0 = DefaultMaxBytes.
	MaxBytes int64
	// Every is how often spooled records are written to the warehouse (or
	// sooner, when Batch are waiting); 0 = 5 s and 50,000.
	Every time.Duration
	Batch int
	// SyncEvery is how often the spool is fsync'd: records answered
	// within it are lost by a power loss or an OS crash (never by the
	// process's end); 0 = DefaultSyncEvery.
	SyncEvery time.Duration
	// Metrics receives the trail's metrics; nil registers none.
	Metrics prometheus.Registerer
	Log     *slog.Logger
}

// DefaultMaxBytes is the default spool limit: about a million records,
// hours of a busy server's scores while the warehouse is down.
const DefaultMaxBytes = 256 << 20

// Validate checks the configuration.
func (c Config) Validate() error {
	switch {
	case c.Warehouse == nil || c.Dir == "":
		return errors.New("audit: Warehouse and Dir are required")
	case c.MaxBytes < 0 || c.Every < 0 || c.Batch < 0 || c.SyncEvery < 0:
		return errors.New("audit: MaxBytes, Every, Batch and SyncEvery must not be negative")
	}
	return nil
}

// ErrFull is returned by Record when the spool has reached its limit.
var ErrFull = errors.New("audit: spool full")

func fullError(dir string, size, limit int64) error {
	return fmt.Errorf("%w: %s holds %d bytes of its %d-byte limit: the audit records of earlier scores could not be written to the warehouse; scores are refused until they are (check the warehouse, or raise --audit-spool-max)", ErrFull, dir, size, limit)
}
