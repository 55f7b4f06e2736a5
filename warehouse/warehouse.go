// Package warehouse is duewise's storage contract: one Engine interface over
// ClickHouse, with two backends (embedded chDB in warehouse/chdb and a
// ClickHouse server in warehouse/chserver), the versioned schema and the
// parameter binding that lets the same SQL text run on both.
//
// Data flows upward from here: datasets, features, model and serving all
// talk to ClickHouse through an Engine and never import a backend directly.
package warehouse

import (
	"context"
	"errors"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
)

// Params are the named values of a query. A query names them in ClickHouse's
// own syntax, {name:Type} (for example {tenant:String} or {as_of:Date}); the
// engine binds them client-side as correctly quoted literals, because the
// ClickHouse 18.16 server has no server-side parameters.
type Params map[string]any

// Engine runs SQL on one ClickHouse backend. Implementations are safe for
// concurrent use; a backend that can run one query at a time (chDB)
// serialises them internally.
type Engine interface {
	// Exec runs one statement that returns no rows. An INSERT must take
	// its rows from a SELECT (INSERT ... SELECT), not from VALUES: over
	// the native protocol the server would wait for a data block.
	Exec(ctx context.Context, sql string, p Params) error
	// Query runs one statement and returns its result as Arrow record
	// batches. The caller releases the reader.
	Query(ctx context.Context, sql string, p Params) (array.RecordReader, error)
	// Insert appends the rows of rec to table; rec's field names are the
	// column names. Columns of the table not in rec take their defaults.
	Insert(ctx context.Context, table string, rec arrow.Record) error
	// Backend names the backend ("chdb" or "server") for logs and metrics.
	Backend() string
	// Close releases the engine.
	Close() error
}

// ErrClosed is returned by an Engine used after Close.
var ErrClosed = errors.New("warehouse: engine closed")
