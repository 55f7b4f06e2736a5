package datasets

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"

	"github.com/duewise/duewise/internal/ordered"
	"github.com/duewise/duewise/warehouse"
)

// LoaderConfig configures a Loader; zero fields take the defaults of
// DefaultLoaderConfig. A plain value.
type LoaderConfig struct {
	// Tenant, when set, is written into rows that have no tenant (no
	// column, or an empty value) and rows of any other tenant are rejected.
	Tenant string
	// Table, when set, loads every named file as this contract table
	// whatever its name, and picks only this table's files from folders.
	Table string
	// RejectsDir receives <file base>.rejects.csv and
	// <file base>.summary.json per loaded file; empty means the folder of
	// each file.
	RejectsDir string
	// Progress, when set, receives a progress bar (a terminal line
	// rewritten with \r); otherwise progress goes to Log every few seconds.
	Progress io.Writer
	// Log receives progress and summaries; nil discards.
	Log *slog.Logger
	// Workers is the number of goroutines parsing and validating in
	// parallel; 0 means GOMAXPROCS.
	Workers int
	// ChunkBytes is the size of the text read per batch (CSV, NDJSON).
	ChunkBytes int
	// ChunkRows is the number of rows per batch of Parquet and Arrow files.
	ChunkRows int
	// MaxProblems is how many reject messages a FileSummary keeps.
	MaxProblems int
	// Touched, when set, is called after each insert with the customers
	// whose rows it stored (of one tenant, each once): a running server
	// refreshes their online features. It must not block.
	Touched func(tenant string, customers []string)
	// Inserted, when set, is called after each insert, before Touched,
	// with the contract table and the rows it stored, in insert order (a
	// later row of the same id replaces an earlier one, as its _version
	// is higher): a running server applies them to the histories it holds
	// in memory. It must not keep rec after it returns, nor block.
	Inserted func(table string, rec arrow.Record)
}

// DefaultLoaderConfig returns the defaults: batches of 8 MiB of text or
// 65,536 rows, one worker per CPU, 20 messages per file summary. NewLoader
// also uses them for zero fields.
func DefaultLoaderConfig() LoaderConfig {
	return LoaderConfig{ChunkBytes: 8 << 20, ChunkRows: 1 << 16, MaxProblems: 20}
}

// Validate checks the configuration.
func (c LoaderConfig) Validate() error {
	if c.Table != "" {
		if _, ok := TableByName(c.Table); !ok {
			return fmt.Errorf("table %q is not a data-contract table (want one of %s)", c.Table, strings.Join(tableNames(), ", "))
		}
	}
	if c.Workers < 0 || c.ChunkBytes < 0 || c.ChunkRows < 0 || c.MaxProblems < 0 {
		return errors.New("loader config: Workers, ChunkBytes, ChunkRows and MaxProblems must be >= 0 (0 = default)")
	}
	if c.Tenant != "" && !utf8.ValidString(c.Tenant) {
		return errors.New("loader config: tenant is not valid UTF-8")
	}
	return nil
}

func tableNames() []string {
	n := make([]string, len(Tables))
	for i, t := range Tables {
		n[i] = t.Name
	}
	return n
}

// Counts are the figures of one load; a plain value.
type Counts struct {
	// Read is the number of data rows read.
	Read int64 `json:"rows_read"`
	// Loaded is the number of rows that passed validation and were
	// inserted.
	Loaded int64 `json:"loaded"`
	// Rejected is the number of rows that failed validation.
	Rejected int64 `json:"rejected"`
	// Duplicates is the number of loaded rows whose (tenant, id) was
	// already stored or repeated within the load: they replaced an earlier
	// version instead of adding a row.
	Duplicates int64 `json:"duplicates"`
	// Changed is the number of the duplicates whose key was stored before
	// the load with other values: stored rows the load replaced by
	// different ones.
	Changed int64 `json:"changed"`
	// Seconds is the wall time of the load.
	Seconds float64 `json:"seconds"`
	// RowsPerSecond is Read / Seconds.
	RowsPerSecond float64 `json:"rows_per_second"`
}

func (c *Counts) add(o Counts) {
	c.Read += o.Read
	c.Loaded += o.Loaded
	c.Rejected += o.Rejected
	c.Duplicates += o.Duplicates
	c.Changed += o.Changed
}

func (c *Counts) finish(d time.Duration) {
	c.Seconds = d.Seconds()
	if c.Seconds > 0 {
		c.RowsPerSecond = float64(c.Read) / c.Seconds
	}
}

// FileSummary is the outcome of loading one file; a plain value, written
// as <file base>.summary.json.
type FileSummary struct {
	// File is the path as given.
	File   string `json:"file"`
	Table  string `json:"table"`
	Format Format `json:"format"`
	Counts
	// ChangedID is the id of one of the Changed rows.
	ChangedID string `json:"changed_example,omitempty"`
	// Rejects is the rejects file, when any row was rejected.
	Rejects string `json:"rejects_file,omitempty"`
	// Problems are the first reject messages, "file:line: column: reason".
	Problems []string `json:"problems,omitempty"`
}

// Summary is the outcome of LoadPaths: per file and in total; a plain
// value.
type Summary struct {
	Files []FileSummary `json:"files"`
	Total Counts        `json:"total"`
}

// RowResult is the outcome of one row given to LoadRows; a plain value.
type RowResult struct {
	// Index is the row's position in the request.
	Index int `json:"index"`
	// ID is the row's identity column value, when it had one.
	ID string `json:"id,omitempty"`
	// Accepted reports whether the row was stored.
	Accepted bool `json:"accepted"`
	// Reason says why it was rejected, with the JSON field path, e.g.
	// "rows[3].due_at: before issued_at".
	Reason string `json:"reason,omitempty"`
}

// Loader validates contract files and rows and inserts the good rows into a
// warehouse. Rows get _version = load time in ns, so loading the same rows
// again (after a crash, or a retry) leaves one row per (tenant, id) and a
// later version replaces an earlier one. A Loader is safe for concurrent
// use.
type Loader struct {
	e   warehouse.Engine
	cfg LoaderConfig
	log *slog.Logger
	mem memory.Allocator
	st  *loaderState // shared with ForTenant copies
}

type loaderState struct {
	mu   sync.Mutex
	last uint64 // last _version handed out
	made bool   // raw tables exist
}

// NewLoader returns a Loader writing to e. The raw tables are created (if
// missing) on first use.
func NewLoader(e warehouse.Engine, cfg LoaderConfig) (*Loader, error) {
	if e == nil {
		return nil, errors.New("new loader: nil engine")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	d := DefaultLoaderConfig()
	if cfg.Workers == 0 {
		cfg.Workers = runtime.GOMAXPROCS(0)
	}
	if cfg.ChunkBytes == 0 {
		cfg.ChunkBytes = d.ChunkBytes
	}
	if cfg.ChunkRows == 0 {
		cfg.ChunkRows = d.ChunkRows
	}
	if cfg.MaxProblems == 0 {
		cfg.MaxProblems = d.MaxProblems
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Loader{e: e, cfg: cfg, log: log, mem: memory.DefaultAllocator, st: &loaderState{}}, nil
}

// ForTenant returns a Loader like l whose tenant is tenant (as
// LoaderConfig.Tenant), sharing l's engine and state: cheap enough to call
// per request of the events endpoint.
func (l *Loader) ForTenant(tenant string) (*Loader, error) {
	if !utf8.ValidString(tenant) {
		return nil, errors.New("for tenant: tenant is not valid UTF-8")
	}
	c := *l
	c.cfg.Tenant = tenant
	return &c, nil
}

func (l *Loader) ensureTables(ctx context.Context) error {
	l.st.mu.Lock()
	defer l.st.mu.Unlock()
	if l.st.made {
		return nil
	}
	if err := CreateTables(ctx, l.e); err != nil {
		return err
	}
	l.st.made = true
	return nil
}

// versions reserves n increasing _version values and returns the first.
func (l *Loader) versions(n int) uint64 {
	l.st.mu.Lock()
	defer l.st.mu.Unlock()
	v := uint64(time.Now().UnixNano())
	if v <= l.st.last {
		v = l.st.last + 1
	}
	l.st.last = v + uint64(max(n, 1)) - 1
	return v
}

// insert adds _version to rec and inserts it into table; it returns the
// versions it gave the rows.
func (l *Loader) insert(ctx context.Context, table string, rec arrow.Record) (versionRange, error) {
	n := int(rec.NumRows())
	v := l.versions(n)
	vr := versionRange{v, v + uint64(max(n, 1)) - 1}
	vb := array.NewUint64Builder(l.mem)
	defer vb.Release()
	vb.Resize(n)
	for i := 0; i < n; i++ {
		vb.UnsafeAppend(v + uint64(i))
	}
	va := vb.NewArray()
	defer va.Release()
	fields := append(slices.Clone(rec.Schema().Fields()), arrow.Field{Name: VersionColumn, Type: arrow.PrimitiveTypes.Uint64})
	cols := append(slices.Clone(rec.Columns()), va)
	full := array.NewRecord(arrow.NewSchema(fields, nil), cols, int64(n))
	defer full.Release()
	if err := l.e.Insert(ctx, table, full); err != nil {
		return vr, fmt.Errorf("insert %d rows into %s: %w", n, table, err)
	}
	if l.cfg.Inserted != nil {
		l.cfg.Inserted(table, rec)
	}
	if l.cfg.Touched != nil {
		touched(rec, l.cfg.Touched)
	}
	return vr, nil
}

// touched calls fn with the distinct customers of rec, per tenant.
func touched(rec arrow.Record, fn func(tenant string, customers []string)) {
	tc, cc := -1, -1
	for i, f := range rec.Schema().Fields() {
		switch f.Name {
		case "tenant":
			tc = i
		case customerID:
			cc = i
		}
	}
	if tc < 0 || cc < 0 {
		return
	}
	tenants, ok1 := rec.Column(tc).(*array.String)
	ids, ok2 := rec.Column(cc).(*array.String)
	if !ok1 || !ok2 {
		return
	}
	by := map[string]map[string]bool{}
	for i := range ids.Len() {
		tn := tenants.Value(i)
		if by[tn] == nil {
			by[tn] = map[string]bool{}
		}
		by[tn][ids.Value(i)] = true
	}
	for tn, set := range by {
		fn(tn, slices.Collect(maps.Keys(set)))
	}
}

// fileJob is one file to load.
type fileJob struct {
	path   string
	table  Table
	format Format
}

// plan expands paths (files or folders) into files to load, in Tables order.
func (l *Loader) plan(paths []string) ([]fileJob, error) {
	var jobs []fileJob
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if !st.IsDir() {
			j, err := l.fileJob(p, true)
			if err != nil {
				return nil, err
			}
			jobs = append(jobs, j)
			continue
		}
		ents, err := os.ReadDir(p)
		if err != nil {
			return nil, err
		}
		n := len(jobs)
		for _, e := range ents {
			fp := filepath.Join(p, e.Name())
			if e.Type()&fs.ModeSymlink != 0 { // follow links to files
				if st, err := os.Stat(fp); err != nil || !st.Mode().IsRegular() {
					continue
				}
			} else if !e.Type().IsRegular() {
				continue
			}
			if j, err := l.fileJob(fp, false); err == nil {
				jobs = append(jobs, j)
			}
		}
		if len(jobs) == n {
			return nil, fmt.Errorf("%s: no data-contract files (want e.g. invoices.csv, payments.parquet)", p)
		}
	}
	order := func(t string) int { return slices.IndexFunc(Tables, func(x Table) bool { return x.Name == t }) }
	slices.SortStableFunc(jobs, func(a, b fileJob) int { return order(a.table.Name) - order(b.table.Name) })
	return jobs, nil
}

func (l *Loader) fileJob(path string, named bool) (fileJob, error) {
	name, f, ok := ParseFileName(path)
	if f == "" {
		return fileJob{}, fmt.Errorf("%s: unknown file format (want .csv, .parquet, .arrow, .ndjson)", path)
	}
	switch {
	case l.cfg.Table != "" && (named || name == l.cfg.Table):
		name = l.cfg.Table
	case l.cfg.Table != "":
		return fileJob{}, fmt.Errorf("%s: not a %s file", path, l.cfg.Table)
	case !ok:
		return fileJob{}, fmt.Errorf("%s: cannot tell the table from the file name (want e.g. invoices.csv) and no table given", path)
	}
	t, _ := TableByName(name)
	return fileJob{path: path, table: t, format: f}, nil
}

// LoadPaths loads files and folders (every contract file inside, in Tables
// order; the table is taken from the file name). Header problems of any
// file stop the load before anything is inserted. Rejected rows do not
// make an error: they are counted, written to the rejects file and listed
// in the summary.
func (l *Loader) LoadPaths(ctx context.Context, paths []string) (Summary, error) {
	var sum Summary
	start := time.Now()
	jobs, err := l.plan(paths)
	if err != nil {
		return sum, err
	}
	for _, j := range jobs { // check every header before loading anything
		src, err := l.open(ctx, j)
		if err != nil {
			return sum, err
		}
		src.close()
	}
	if err := l.ensureTables(ctx); err != nil {
		return sum, err
	}
	for _, j := range jobs {
		fsum, err := l.loadFile(ctx, j)
		sum.Files = append(sum.Files, fsum)
		sum.Total.add(fsum.Counts)
		if err != nil {
			sum.Total.finish(time.Since(start))
			return sum, err
		}
	}
	sum.Total.finish(time.Since(start))
	return sum, nil
}

// openedSource is a source bound to its table.
type openedSource struct {
	source
	bind *binding
}

func (l *Loader) open(ctx context.Context, j fileJob) (*openedSource, error) {
	src, err := openSource(ctx, j.path, j.format, &j.table, readOptions{chunkBytes: l.cfg.ChunkBytes, chunkRows: l.cfg.ChunkRows, mem: l.mem})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", j.path, err)
	}
	t, err := l.attributeTable(ctx, j.table, src.columns())
	if err != nil {
		src.close()
		return nil, fmt.Errorf("%s: %w", j.path, err)
	}
	b, err := bind(t, src.columns(), l.cfg.Tenant)
	if err != nil {
		src.close()
		return nil, fmt.Errorf("%s: %w", j.path, err)
	}
	return &openedSource{source: src, bind: b}, nil
}

// batch is the outcome of one chunk: its good rows and its rejects.
type batch struct {
	rec     arrow.Record
	read    int
	rejects []rejected
	pos     int64 // chunk.pos
}

type rejected struct {
	loc      int
	cells    []string
	problems []Problem
}

// location is file:line (or file:row) of the rejected row.
func (r rejected) location(file string) string { return file + ":" + strconv.Itoa(r.loc) }

// message is "file:line: column: reason" (problems joined by "; ").
func (r rejected) message(file string) string {
	return r.location(file) + ": " + joinProblems(r.problems)
}

func (l *Loader) loadFile(ctx context.Context, j fileJob) (FileSummary, error) {
	start := time.Now()
	fsum := FileSummary{File: j.path, Table: j.table.Name, Format: j.format}
	fail := func(err error) (FileSummary, error) {
		fsum.finish(time.Since(start))
		return fsum, fmt.Errorf("load %s: %w", j.path, err)
	}
	src, err := l.open(ctx, j)
	if err != nil {
		return fsum, err
	}
	defer src.close()
	fl, err := l.register(ctx, j.table.Name)
	if err != nil {
		return fail(err)
	}
	defer fl.finish(ctx)
	rj, err := l.newRejects(j.path, src.columns())
	if err != nil {
		return fail(err)
	}
	prog := l.startProgress(j, src)
	err = l.pipeline(ctx, src, func(b *batch) error {
		if b.rec != nil {
			vr, err := l.store(ctx, &src.bind.table, b.rec)
			b.rec.Release()
			fl.ranges = append(fl.ranges, vr) // also on an error: the insert may have landed
			if err != nil {
				return err
			}
		}
		fsum.Read += int64(b.read)
		fsum.Loaded += int64(b.read - len(b.rejects))
		fsum.Rejected += int64(len(b.rejects))
		for _, r := range b.rejects {
			loc, msg := r.location(j.path), r.message(j.path)
			if len(fsum.Problems) < l.cfg.MaxProblems {
				fsum.Problems = append(fsum.Problems, msg)
			}
			l.log.Debug("rejected", "row", msg)
			if err := rj.write(r.cells, loc, joinProblems(r.problems)); err != nil {
				return err
			}
		}
		prog.Add(int64(b.read))
		prog.Reach(b.pos)
		return nil
	})
	prog.Stop()
	if cerr := rj.close(); err == nil {
		err = cerr
	}
	fsum.Rejects = rj.written
	if err != nil {
		return fail(err)
	}
	if fsum.Duplicates, err = fl.duplicates(ctx, fsum.Loaded); err != nil {
		return fail(err)
	}
	if fsum.Duplicates > 0 {
		if fsum.Changed, fsum.ChangedID, err = fl.changed(ctx); err != nil {
			return fail(err)
		}
	}
	fsum.finish(time.Since(start))
	if err := l.writeSummary(j.path, fsum); err != nil { // the rows are in; say so, but go on
		l.log.Warn("cannot write the load summary (set a rejects folder)", "file", j.path, "err", err)
	}
	l.log.Info("loaded", "file", j.path, "table", j.table.Name, "read", fsum.Read, "loaded", fsum.Loaded,
		"rejected", fsum.Rejected, "duplicates", fsum.Duplicates, "changed", fsum.Changed, "seconds", round(fsum.Seconds), "rows_per_s", int64(fsum.RowsPerSecond))
	return fsum, nil
}

func round(s float64) float64 { return float64(int64(s*1000)) / 1000 }

// pipeline reads chunks on one goroutine, decodes and validates them on
// cfg.Workers goroutines, and hands the batches to consume in file order on
// the calling goroutine. Memory stays bounded by the number of chunks in
// flight.
func (l *Loader) pipeline(ctx context.Context, src *openedSource, consume func(*batch) error) error {
	rbs := make([]*rowBuilder, l.cfg.Workers) // one per worker, made on first use
	defer func() {
		for _, rb := range rbs {
			if rb != nil {
				rb.release()
			}
		}
	}()
	return ordered.Run(ctx, ordered.Config{Workers: l.cfg.Workers, Window: l.cfg.Workers + 1}, src.next, func(w int, c *chunk) *batch {
		if rbs[w] == nil {
			rbs[w] = newRowBuilder(src.bind, l.mem)
		}
		b := validateRows(rbs[w], c.decode())
		b.pos = c.pos
		return b
	}, consume)
}

// validateRows checks every row, appends the good ones to rb and returns
// them as one record with the rejected rows.
func validateRows(rb *rowBuilder, rows *rawRows) *batch {
	b := &batch{read: rows.n}
	rb.reserve(rows.n)
	var buf []string
	for i := 0; i < rows.n; i++ {
		cells := rows.row(i, buf)
		buf = cells
		ps := rows.bad[i]
		if ps == nil {
			ps = rb.check(cells)
		}
		if ps != nil {
			b.rejects = append(b.rejects, rejected{loc: rows.locs[i], cells: slices.Clone(cells), problems: slices.Clone(ps)})
			continue
		}
		rb.appendRow()
	}
	b.rec = rb.record()
	return b
}

// rejectsFile writes rejected rows lazily: the file exists only when a row
// was rejected.
type rejectsFile struct {
	path    string
	header  []string
	f       *os.File
	w       *csv.Writer
	written string
}

func (l *Loader) outPath(file, suffix string) string {
	dir := l.cfg.RejectsDir
	if dir == "" {
		dir = filepath.Dir(file)
	}
	base := strings.TrimSuffix(filepath.Base(file), ".gz")
	base = strings.TrimSuffix(base, filepath.Ext(base))
	return filepath.Join(dir, base+suffix)
}

func (l *Loader) newRejects(file string, columns []string) (*rejectsFile, error) {
	p := l.outPath(file, ".rejects.csv")
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) { // stale from an earlier load
		l.log.Warn("cannot remove the rejects file of an earlier load", "file", p, "err", err)
	}
	return &rejectsFile{path: p, header: append(slices.Clone(columns), "_location", "_reason")}, nil
}

func (r *rejectsFile) write(cells []string, loc, reason string) error {
	if r.f == nil {
		if err := os.MkdirAll(filepath.Dir(r.path), 0o755); err != nil {
			return err
		}
		f, err := os.Create(r.path)
		if err != nil {
			return fmt.Errorf("rejects file (choose another folder with --rejects): %w", err)
		}
		r.f, r.w, r.written = f, csv.NewWriter(f), r.path
		if err := r.w.Write(r.header); err != nil {
			return err
		}
	}
	row := make([]string, 0, len(cells)+2)
	for _, c := range cells { // keep the file valid UTF-8 text
		row = append(row, strings.ToValidUTF8(c, "\uFFFD"))
	}
	return r.w.Write(append(row, loc, reason))
}

func (r *rejectsFile) close() error {
	if r.f == nil {
		return nil
	}
	r.w.Flush()
	err := r.w.Error()
	if cerr := r.f.Close(); err == nil {
		err = cerr
	}
	return err
}

func (l *Loader) writeSummary(file string, s FileSummary) error {
	p := l.outPath(file, ".summary.json")
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(p, append(b, '\n'), 0o644)
}
