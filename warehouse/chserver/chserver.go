// Package chserver is the ClickHouse server backend of warehouse.Engine,
// through clickhouse-go/v2 over the native protocol. It returns the same
// Arrow schemas as the embedded backend: String as utf8, Date as date32,
// DateTime as uint32 seconds, Decimal(P, S) as decimal128(P, S), Nullable
// as a nullable field, Array(T) as a list.
//
// It works with ClickHouse 18.16 (the oldest server duewise supports) and
// later.
package chserver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"syscall"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"

	"github.com/duewise/duewise/warehouse"
)

// Config configures Open.
type Config struct {
	// DSN is clickhouse://[user[:password]@]host:port/database[?options],
	// the native protocol (usually port 9000). The database is created when
	// missing.
	DSN string
	// BatchRows is the number of rows per Arrow record of a query result
	// (default 65,536).
	BatchRows int
	// Log receives debug lines; nil discards.
	Log *slog.Logger
}

// Engine is a warehouse.Engine on a ClickHouse server. Safe for concurrent
// use (a pool of connections).
type Engine struct {
	conn      driver.Conn
	batchRows int
	log       *slog.Logger
	mem       memory.Allocator
}

var _ warehouse.Engine = (*Engine)(nil)

// Open connects to the server of cfg.DSN and creates its database when
// missing.
func Open(ctx context.Context, cfg Config) (*Engine, error) {
	u, err := url.Parse(cfg.DSN)
	if err != nil || u.Scheme != "clickhouse" || u.Host == "" {
		return nil, fmt.Errorf("chserver: DSN %q: want clickhouse://host:port/database", redact(cfg.DSN))
	}
	db := strings.Trim(u.Path, "/")
	if db == "" {
		db = "default"
	}
	if !validIdent(db) {
		return nil, fmt.Errorf("chserver: DSN %q: database name %q is not a plain identifier", redact(cfg.DSN), db)
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	bare := *u
	bare.Path = "/default"
	boot, err := dial(ctx, bare.String())
	if err != nil {
		return nil, err
	}
	err = boot.Exec(ctx, "CREATE DATABASE IF NOT EXISTS "+db)
	boot.Close()
	if err != nil {
		return nil, fmt.Errorf("chserver: create database %s: %w", db, err)
	}
	conn, err := dial(ctx, cfg.DSN)
	if err != nil {
		return nil, err
	}
	n := cfg.BatchRows
	if n <= 0 {
		n = 1 << 16
	}
	return &Engine{conn: conn, batchRows: n, log: log, mem: memory.DefaultAllocator}, nil
}

func dial(ctx context.Context, dsn string) (driver.Conn, error) {
	opt, err := clickhouse.ParseDSN(dsn)
	if err != nil {
		return nil, fmt.Errorf("chserver: DSN %q: %w", redact(dsn), err)
	}
	opt.Protocol = clickhouse.Native
	if opt.DialTimeout == 0 {
		opt.DialTimeout = 5 * time.Second
	}
	conn, err := clickhouse.Open(opt)
	if err != nil {
		return nil, fmt.Errorf("chserver: open %s: %w", redact(dsn), err)
	}
	if err := conn.Ping(ctx); err != nil {
		conn.Close()
		return nil, fmt.Errorf("chserver: connect to %s: %w", redact(dsn), err)
	}
	return conn, nil
}

// brokenConn reports whether err is a connection the client had already
// closed or the server dropped, rather than an answer of the server.
// The driver does not always wrap the network error, hence the text test.
func brokenConn(err error) bool {
	if err == nil {
		return false
	}
	return errors.Is(err, net.ErrClosed) || errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) || strings.Contains(err.Error(), "use of closed network connection")
}

// redact hides the password of a DSN.
func redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.User == nil {
		return dsn
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

func validIdent(s string) bool {
	for i, r := range s {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && r >= '0' && r <= '9') {
			return false
		}
	}
	return s != ""
}

// Backend returns "server".
func (e *Engine) Backend() string { return "server" }

// Close closes the connection pool.
func (e *Engine) Close() error { return e.conn.Close() }

// Exec runs one statement that returns no rows.
func (e *Engine) Exec(ctx context.Context, sql string, p warehouse.Params) error {
	q, err := warehouse.Bind(sql, p)
	if err != nil {
		return err
	}
	start := time.Now()
	err = e.conn.Exec(ctx, q)
	e.log.Debug("server exec", "took", time.Since(start), "err", err)
	if err != nil {
		return fmt.Errorf("chserver: %w", err)
	}
	return nil
}

// Query runs one statement and returns its rows as Arrow record batches of
// up to BatchRows rows. The result is read completely before Query returns.
func (e *Engine) Query(ctx context.Context, sql string, p warehouse.Params) (array.RecordReader, error) {
	q, err := warehouse.Bind(sql, p)
	if err != nil {
		return nil, err
	}
	rows, err := e.conn.Query(ctx, q)
	if brokenConn(err) && ctx.Err() == nil {
		// A pooled connection that an earlier cancelled statement closed:
		// a read is safe to send again, on a fresh connection.
		e.log.Debug("server query on a closed connection; retrying", "err", err)
		rows, err = e.conn.Query(ctx, q)
	}
	if err != nil {
		return nil, fmt.Errorf("chserver: %w", err)
	}
	defer rows.Close()
	cts := rows.ColumnTypes()
	fields := make([]arrow.Field, len(cts))
	apps := make([]appender, len(cts))
	for i, ct := range cts {
		dt, nullable, app, err := columnType(ct.DatabaseTypeName())
		if err != nil {
			return nil, fmt.Errorf("chserver: column %s: %w", ct.Name(), err)
		}
		fields[i] = arrow.Field{Name: ct.Name(), Type: dt, Nullable: nullable}
		apps[i] = app
	}
	schema := arrow.NewSchema(fields, nil)
	b := array.NewRecordBuilder(e.mem, schema)
	defer b.Release()
	dest := make([]any, len(cts))
	for i, ct := range cts {
		dest[i] = newScanDest(ct.ScanType())
	}
	var recs []arrow.Record
	release := func() {
		for _, r := range recs {
			r.Release()
		}
	}
	n := 0
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			release()
			return nil, fmt.Errorf("chserver: scan: %w", err)
		}
		for i := range dest {
			if err := apps[i](b.Field(i), deref(dest[i])); err != nil {
				release()
				return nil, fmt.Errorf("chserver: column %s: %w", cts[i].Name(), err)
			}
		}
		if n++; n == e.batchRows {
			recs = append(recs, b.NewRecord())
			n = 0
		}
	}
	if err := rows.Err(); err != nil {
		release()
		return nil, fmt.Errorf("chserver: %w", err)
	}
	if n > 0 || len(recs) == 0 {
		recs = append(recs, b.NewRecord())
	}
	rr, err := array.NewRecordReader(schema, recs)
	release()
	if err != nil {
		return nil, fmt.Errorf("chserver: %w", err)
	}
	return rr, nil
}

// Insert appends rec to table with one native-protocol batch.
func (e *Engine) Insert(ctx context.Context, table string, rec arrow.Record) error {
	if rec.NumRows() == 0 {
		return nil
	}
	cols := make([]string, rec.NumCols())
	for i, f := range rec.Schema().Fields() {
		cols[i] = "`" + f.Name + "`"
	}
	stmt := "INSERT INTO " + table + " (" + strings.Join(cols, ", ") + ")"
	batch, err := e.conn.PrepareBatch(ctx, stmt)
	if brokenConn(err) && ctx.Err() == nil {
		// No row was sent yet: the same batch goes on a fresh connection.
		e.log.Debug("server insert on a closed connection; retrying", "err", err)
		batch, err = e.conn.PrepareBatch(ctx, stmt)
	}
	if err != nil {
		return fmt.Errorf("chserver: insert into %s: %w", table, err)
	}
	types := batch.Columns()
	for i, col := range rec.Columns() {
		vals, err := goSlice(col)
		if i < len(types) {
			vals = asTarget(vals, string(types[i].Type()))
		}
		if err != nil {
			batch.Abort()
			return fmt.Errorf("chserver: insert into %s, column %s: %w", table, rec.Schema().Field(i).Name, err)
		}
		if err := batch.Column(i).Append(vals); err != nil {
			batch.Abort()
			return fmt.Errorf("chserver: insert into %s, column %s: %w", table, rec.Schema().Field(i).Name, err)
		}
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("chserver: insert into %s: %w", table, err)
	}
	return nil
}

var errUnsupported = errors.New("unsupported type")
