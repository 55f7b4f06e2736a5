package audit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Trail is the audit trail: Record spools records durably, Run writes them
// to the warehouse. Safe for concurrent use.
type Trail struct {
	cfg  Config
	log  *slog.Logger
	lock *os.File
	boot string // this process's record id prefix

	flushMu sync.Mutex // one Flush at a time
	syncMu  sync.Mutex // one fsync at a time; held before mu
	synced  uint64     // records made durable, of all written

	mu      sync.Mutex
	seq     uint64 // records given an id
	written uint64 // records written to the spool by this process
	cur     *segment
	sealed  []*segment // oldest first
	bytes   int64      // in every segment file
	pending int        // records in every segment
	closed  bool
	// replayed counts the records found in the spool at Open.
	replayed int

	wake chan struct{}
	met  trailMetrics
}

// segment is one spool file and the records in it, in memory until they
// are written to the warehouse.
type segment struct {
	n    int
	path string
	f    *os.File // nil once sealed
	rows []row
	size int64
	// uncertain: an insert may have landed (a failed attempt, or records
	// replayed after a restart): check the warehouse before writing.
	uncertain bool
}

type trailMetrics struct {
	records *prometheus.CounterVec
}

// Open opens the spool in cfg.Dir, replays the records a previous process
// left there (they are written by the next Flush) and returns the trail.
func Open(cfg Config) (*Trail, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.MaxBytes == 0 {
		cfg.MaxBytes = DefaultMaxBytes
	}
	if cfg.Every == 0 {
		cfg.Every = 5 * time.Second
	}
	if cfg.Batch == 0 {
		cfg.Batch = 50_000
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Metrics == nil {
		cfg.Metrics = prometheus.NewRegistry()
	}
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	t := &Trail{cfg: cfg, log: cfg.Log, boot: hex.EncodeToString(b[:]), wake: make(chan struct{}, 1)}
	if err := t.lockDir(); err != nil {
		return nil, err
	}
	if err := t.replay(); err != nil {
		t.unlock()
		return nil, err
	}
	if err := t.newSegment(); err != nil {
		t.unlock()
		return nil, err
	}
	t.registerMetrics(cfg.Metrics)
	return t, nil
}

func (t *Trail) registerMetrics(reg prometheus.Registerer) {
	f := promauto.With(reg)
	t.met.records = f.NewCounterVec(prometheus.CounterOpts{Name: "duewise_audit_records_total",
		Help: "Audit records by outcome: spooled (made durable in the local spool); replayed (found in the spool at start); written (to the warehouse); retried (a write that failed and will be tried again); dropped (refused: the spool is full or cannot be written, and the score was not answered)."}, []string{"outcome"})
	for _, o := range []string{"spooled", "replayed", "written", "retried", "dropped"} {
		t.met.records.WithLabelValues(o)
	}
	t.met.records.WithLabelValues("replayed").Add(float64(t.replayed))
	f.NewGaugeFunc(prometheus.GaugeOpts{Name: "duewise_audit_pending",
		Help: "Audit records spooled and not yet written to the warehouse."}, func() float64 { return float64(t.Pending()) })
	f.NewGaugeFunc(prometheus.GaugeOpts{Name: "duewise_audit_spool_bytes",
		Help: "Bytes in the audit spool (see duewise_audit_spool_limit_bytes)."}, func() float64 {
		t.mu.Lock()
		defer t.mu.Unlock()
		return float64(t.bytes)
	})
	f.NewGaugeFunc(prometheus.GaugeOpts{Name: "duewise_audit_spool_limit_bytes",
		Help: "The audit spool's size limit; past it scores are refused."}, func() float64 { return float64(t.cfg.MaxBytes) })
}

// lockDir creates the spool folder and takes its lock.
func (t *Trail) lockDir() error {
	if err := os.MkdirAll(t.cfg.Dir, 0o700); err != nil {
		return fmt.Errorf("audit: spool %s: %w", t.cfg.Dir, err)
	}
	f, err := os.OpenFile(filepath.Join(t.cfg.Dir, "LOCK"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return fmt.Errorf("audit: spool %s: %w", t.cfg.Dir, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return fmt.Errorf("audit: the spool %s is in use by another process (each server needs a spool of its own: --audit-spool): %w", t.cfg.Dir, err)
	}
	t.lock = f
	return nil
}

func (t *Trail) unlock() {
	if t.lock != nil {
		t.lock.Close() // releases the flock
		t.lock = nil
	}
}

// Pending returns the number of records not yet written to the warehouse.
func (t *Trail) Pending() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.pending
}

// Record spools recs durably: it returns once they are fsync'd. It
// returns ErrFull (wrapped) when the spool is at its limit and another
// error when it cannot be written; then none of recs is kept, and the
// caller must not answer the scores.
func (t *Trail) Record(ctx context.Context, recs ...Record) error {
	if len(recs) == 0 {
		return nil
	}
	frames, rows := make([]byte, 0, 256*len(recs)), make([]row, len(recs))
	now := time.Now().UTC()
	for i := range recs {
		if math.IsNaN(recs[i].Risk) || math.IsInf(recs[i].Risk, 0) {
			return fmt.Errorf("audit: record of %s: risk %v is not a finite number", recs[i].Customer, recs[i].Risk)
		}
		rows[i] = newRow(&recs[i], now)
	}
	upTo, err := t.append(rows, frames)
	if err != nil {
		t.met.records.WithLabelValues("dropped").Add(float64(len(recs)))
		return err
	}
	if err := t.sync(upTo); err != nil {
		t.met.records.WithLabelValues("dropped").Add(float64(len(recs)))
		return err
	}
	t.met.records.WithLabelValues("spooled").Add(float64(len(recs)))
	return nil
}

// append gives rows their ids, writes their frames to the current segment
// and returns the frame count that must be durable.
func (t *Trail) append(rows []row, frames []byte) (uint64, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return 0, errors.New("audit: trail closed")
	}
	for i := range rows {
		t.seq++
		rows[i].id = recordID(t.boot, t.seq)
		frames = appendFrame(frames, &rows[i])
	}
	if t.bytes+int64(len(frames)) > t.cfg.MaxBytes {
		return 0, fullError(t.cfg.Dir, t.bytes, t.cfg.MaxBytes)
	}
	s := t.cur
	if _, err := s.f.Write(frames); err != nil {
		s.f.Truncate(s.size) // drop a torn frame, so that later frames stay readable
		s.f.Seek(s.size, 0)
		return 0, fmt.Errorf("audit: write the spool %s: %w", s.path, err)
	}
	s.size += int64(len(frames))
	s.rows = append(s.rows, rows...)
	t.bytes += int64(len(frames))
	t.pending += len(rows)
	t.written += uint64(len(rows))
	if t.pending >= t.cfg.Batch {
		select {
		case t.wake <- struct{}{}:
		default:
		}
	}
	return t.written, nil
}

// sync makes the frames up to upTo durable; concurrent callers share one
// fsync (group commit).
func (t *Trail) sync(upTo uint64) error {
	t.syncMu.Lock()
	defer t.syncMu.Unlock()
	if t.synced >= upTo {
		return nil
	}
	t.mu.Lock()
	f, target := t.cur.f, t.written
	t.mu.Unlock()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("audit: fsync the spool: %w", err)
	}
	t.synced = target
	return nil
}

func recordID(boot string, seq uint64) string { return fmt.Sprintf("%s-%012x", boot, seq) }

// newSegment opens the next spool file as the current segment. Called
// with mu held (or before the trail is shared).
func (t *Trail) newSegment() error {
	n := 1
	if t.cur != nil {
		n = t.cur.n + 1
	} else if k := len(t.sealed); k > 0 {
		n = t.sealed[k-1].n + 1
	}
	path := filepath.Join(t.cfg.Dir, fmt.Sprintf("%012d.spool", n))
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("audit: spool: %w", err)
	}
	if err := syncDir(t.cfg.Dir); err != nil {
		f.Close()
		return err
	}
	t.cur = &segment{n: n, path: path, f: f}
	return nil
}

// rotate seals the current segment, when it holds records, and starts a
// new one.
func (t *Trail) rotate() error {
	t.syncMu.Lock()
	defer t.syncMu.Unlock()
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.cur
	if len(s.rows) == 0 {
		return nil
	}
	if err := s.f.Sync(); err != nil {
		return fmt.Errorf("audit: fsync the spool: %w", err)
	}
	s.f.Close()
	s.f = nil
	t.synced = t.written
	t.sealed = append(t.sealed, s)
	return t.newSegment()
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("audit: spool: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("audit: fsync the spool folder: %w", err)
	}
	return nil
}

// Run writes the spooled records to the warehouse every Every (or when
// Batch are waiting) until ctx ends. Close writes what is left.
func (t *Trail) Run(ctx context.Context) {
	tk := time.NewTicker(t.cfg.Every)
	defer tk.Stop()
	for {
		if err := t.Flush(ctx); err != nil && ctx.Err() == nil {
			t.log.Warn("audit records not written yet, will retry", "pending", t.Pending(), "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-tk.C:
		case <-t.wake:
		}
	}
}

// Flush writes every spooled record to the warehouse, oldest segment
// first, and deletes the segments written. On failure the records stay
// spooled and the error is returned.
func (t *Trail) Flush(ctx context.Context) error {
	t.flushMu.Lock()
	defer t.flushMu.Unlock()
	if err := t.rotate(); err != nil {
		return err
	}
	for {
		t.mu.Lock()
		if len(t.sealed) == 0 {
			t.mu.Unlock()
			return nil
		}
		s := t.sealed[0]
		t.mu.Unlock()
		n, err := t.writeSegment(ctx, s)
		if err != nil {
			s.uncertain = true
			t.met.records.WithLabelValues("retried").Add(float64(len(s.rows)))
			return err
		}
		t.met.records.WithLabelValues("written").Add(float64(n))
		if err := os.Remove(s.path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("audit: remove the written spool segment: %w", err)
		}
		t.mu.Lock()
		t.sealed = t.sealed[1:]
		t.bytes -= s.size
		t.pending -= len(s.rows)
		t.mu.Unlock()
	}
}

// Close writes what is spooled (within ctx) and closes the spool; records
// that could not be written stay in it for the next Open.
func (t *Trail) Close(ctx context.Context) error {
	err := t.Flush(ctx)
	t.syncMu.Lock()
	t.mu.Lock()
	t.closed = true
	if s := t.cur; s.f != nil {
		if serr := s.f.Sync(); serr != nil && err == nil {
			err = serr
		}
		s.f.Close()
		s.f = nil
		if len(s.rows) == 0 {
			os.Remove(s.path)
		}
	}
	t.mu.Unlock()
	t.syncMu.Unlock()
	t.unlock()
	return err
}
