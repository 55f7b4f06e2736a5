//go:build cgo

// Package chdb is the embedded ClickHouse backend of warehouse.Engine: chDB
// (ClickHouse 26.5 as a library) on an on-disk store, through a small cgo
// binding that loads libchdb.so at run time with dlopen.
//
// chDB allows one store per process and one query at a time per
// connection, so Open shares one connection per process (counted; the last
// Close closes it) and Engine serialises queries. Another process opening
// the same store fails on chDB's lock.
//
// Finding libchdb.so: Config.Lib when set, else, in order, the directory of
// the running executable, <exe dir>/../lib/duewise, /usr/local/lib/duewise,
// /usr/lib/duewise, and third_party/chdb/libchdb.so in the current
// directory or any parent of it or of the executable (a source checkout
// after `make chdb`).
package chdb

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/cdata"
	"github.com/apache/arrow/go/v15/arrow/ipc"

	"github.com/duewise/duewise/warehouse"
)

// LibName is the file name of the chDB library.
const LibName = "libchdb.so"

// Config configures Open.
type Config struct {
	// Path is the store directory (created when missing).
	Path string
	// Lib is the path of libchdb.so; empty means search (see package doc).
	Lib string
	// Log receives debug lines; nil discards.
	Log *slog.Logger
}

// session settings applied to the connection: UTC everywhere, Arrow
// strings as utf8, no dictionaries, so both backends return the same
// Arrow schemas; and the query analyzer of the ClickHouse versions before
// 24.3, the one whose rules the server backend (18.16) follows. Measured
// reason (the features pipeline of 3 customers on a store of 1,000,000,
// which reads one granule per table): the newer analyzer spends 1.5-2.5 s
// of CPU planning the statement, the older one 0.32 s; every query of the
// test suites gives the same answers under both.
var sessionSettings = []string{
	"SET enable_analyzer = 0",
	"SET session_timezone = 'UTC'",
	"SET output_format_arrow_string_as_string = 1",
	"SET output_format_arrow_low_cardinality_as_dictionary = 0",
	"SET output_format_arrow_fixed_string_as_fixed_byte_array = 0",
}

// process holds the one chDB connection this process may have.
var process struct {
	mu   sync.Mutex
	path string
	refs int
	c    *conn
	qmu  sync.Mutex // one query at a time
}

// Engine is a warehouse.Engine on chDB. Safe for concurrent use; queries
// run one at a time.
type Engine struct {
	closed atomic.Bool
	log    *slog.Logger
	seq    atomic.Uint64
}

var _ warehouse.Engine = (*Engine)(nil)

// Open opens (creating it if needed) the store at cfg.Path. A process can
// have one store open at a time; opening the same path again shares the
// connection.
func Open(ctx context.Context, cfg Config) (*Engine, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if cfg.Path == "" {
		return nil, errors.New("chdb: empty store path")
	}
	abs, err := filepath.Abs(cfg.Path)
	if err != nil {
		return nil, fmt.Errorf("chdb: store path %s: %w", cfg.Path, err)
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	process.mu.Lock()
	defer process.mu.Unlock()
	if process.refs > 0 {
		if process.path != abs {
			return nil, fmt.Errorf("chdb: this process already has store %s open; chDB allows one store per process", process.path)
		}
		process.refs++
		return &Engine{log: log}, nil
	}
	lib, err := FindLib(cfg.Lib)
	if err != nil {
		return nil, err
	}
	if err := load(lib); err != nil {
		return nil, fmt.Errorf("chdb: %w", err)
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return nil, fmt.Errorf("chdb: create store %s: %w", abs, err)
	}
	start := time.Now()
	c, err := connect([]string{"clickhouse", "--path=" + abs})
	if err != nil {
		return nil, fmt.Errorf("chdb: open store %s: %w", abs, err)
	}
	for _, s := range sessionSettings {
		if _, err := c.query([]byte(s), "TabSeparated"); err != nil {
			c.close()
			return nil, fmt.Errorf("chdb: open store %s: %s: %w", abs, s, err)
		}
	}
	log.Debug("chdb store opened", "path", abs, "lib", lib, "took", time.Since(start))
	process.path, process.refs, process.c = abs, 1, c
	return &Engine{log: log}, nil
}

// FindLib returns the path of libchdb.so: explicit when not empty and
// present, else the first hit of the search described in the package doc.
func FindLib(explicit string) (string, error) {
	if explicit != "" {
		if _, err := os.Stat(explicit); err != nil {
			return "", fmt.Errorf("chdb: library %s: %w", explicit, err)
		}
		return explicit, nil
	}
	var dirs []string
	if exe, err := os.Executable(); err == nil {
		if r, err := filepath.EvalSymlinks(exe); err == nil {
			exe = r
		}
		d := filepath.Dir(exe)
		dirs = append(dirs, d, filepath.Join(d, "..", "lib", "duewise"))
		dirs = append(dirs, upwards(d)...)
	}
	dirs = append(dirs, "/usr/local/lib/duewise", "/usr/lib/duewise")
	if wd, err := os.Getwd(); err == nil {
		dirs = append(dirs, upwards(wd)...)
	}
	for _, d := range dirs {
		p := filepath.Join(d, LibName)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("chdb: %s not found (looked next to the executable, in /usr/local/lib/duewise, /usr/lib/duewise and third_party/chdb of the working tree); run `make chdb` or pass its path (--libchdb, env DUEWISE_LIBCHDB)", LibName)
}

// upwards lists third_party/chdb under dir and each of its parents.
func upwards(dir string) []string {
	var out []string
	for {
		out = append(out, filepath.Join(dir, "third_party", "chdb"))
		p := filepath.Dir(dir)
		if p == dir {
			return out
		}
		dir = p
	}
}

// Backend returns "chdb".
func (e *Engine) Backend() string { return "chdb" }

// Close releases this Engine; the last Close of the process closes the
// connection.
func (e *Engine) Close() error {
	if e.closed.Swap(true) {
		return nil
	}
	process.mu.Lock()
	defer process.mu.Unlock()
	process.refs--
	if process.refs == 0 {
		process.qmu.Lock()
		process.c.close()
		process.c, process.path = nil, ""
		process.qmu.Unlock()
	}
	return nil
}

// run runs one statement under the query lock.
func (e *Engine) run(ctx context.Context, sql []byte, format string) ([]byte, error) {
	if e.closed.Load() {
		return nil, warehouse.ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	process.qmu.Lock()
	defer process.qmu.Unlock()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	start := time.Now()
	out, err := process.c.query(sql, format)
	e.log.Debug("chdb query", "took", time.Since(start), "bytes", len(out), "sql", abbreviate(sql))
	return out, err
}

// Exec runs one statement that returns no rows.
func (e *Engine) Exec(ctx context.Context, sql string, p warehouse.Params) error {
	q, err := warehouse.Bind(sql, p)
	if err != nil {
		return err
	}
	if _, err := e.run(ctx, []byte(q), "TabSeparated"); err != nil {
		return fmt.Errorf("chdb: %w", err)
	}
	return nil
}

// Query runs one statement and returns its result as Arrow record batches.
func (e *Engine) Query(ctx context.Context, sql string, p warehouse.Params) (array.RecordReader, error) {
	q, err := warehouse.Bind(sql, p)
	if err != nil {
		return nil, err
	}
	out, err := e.run(ctx, []byte(q), "ArrowStream")
	if err != nil {
		return nil, fmt.Errorf("chdb: %w", err)
	}
	if len(out) == 0 {
		return emptyReader(), nil
	}
	r, err := ipc.NewReader(bytes.NewReader(out))
	if err != nil {
		return nil, fmt.Errorf("chdb: read arrow result: %w", err)
	}
	return r, nil
}

// Insert appends rec to table through chDB's Arrow scan: the record is
// exported over the Arrow C data interface, registered as
// arrowstream(name) and inserted with INSERT ... SELECT.
func (e *Engine) Insert(ctx context.Context, table string, rec arrow.Record) error {
	if rec.NumRows() == 0 {
		return nil
	}
	if e.closed.Load() {
		return warehouse.ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	cols := make([]string, rec.NumCols())
	for i, f := range rec.Schema().Fields() {
		cols[i] = "`" + f.Name + "`"
	}
	list := strings.Join(cols, ", ")
	name := fmt.Sprintf("duewise_in_%d_%d", os.Getpid(), e.seq.Add(1))
	rdr, err := array.NewRecordReader(rec.Schema(), []arrow.Record{rec})
	if err != nil {
		return fmt.Errorf("chdb: insert into %s: %w", table, err)
	}
	defer rdr.Release()
	stream := allocStream()
	defer freeC(stream)
	cs := (*cdata.CArrowArrayStream)(stream)
	cdata.ExportRecordReader(rdr, cs)

	process.qmu.Lock()
	defer process.qmu.Unlock()
	defer func() {
		// chDB releases the stream when it is done with it; release it
		// here when it did not (a failed registration or query).
		releaseStream(stream)
	}()
	if err := process.c.scan(name, stream); err != nil {
		return fmt.Errorf("chdb: insert into %s: %w", table, err)
	}
	defer process.c.unregister(name)
	q := "INSERT INTO " + table + " (" + list + ") SELECT " + list + " FROM arrowstream(" + name + ")"
	if _, err := process.c.query([]byte(q), "TabSeparated"); err != nil {
		return fmt.Errorf("chdb: insert into %s: %w", table, err)
	}
	return nil
}

func emptyReader() array.RecordReader {
	r, _ := array.NewRecordReader(arrow.NewSchema(nil, nil), nil)
	return r
}

func abbreviate(sql []byte) string {
	const max = 200
	s := strings.Join(strings.Fields(string(sql[:min(len(sql), 4*max)])), " ")
	if len(s) > max {
		return s[:max] + "..."
	}
	return s
}
