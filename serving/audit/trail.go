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
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Trail is the audit trail: Record spools records, Run writes them to
// the warehouse. Safe for concurrent use.
//
// The spool is a write-ahead log with a group commit on a timer: Record
// writes its records' frames to the current segment file (one write(2),
// so that they are in the page cache, which a killed process does not
// lose) and returns; a goroutine fsyncs the segment every SyncEvery, so
// that a power loss or an OS crash loses at most the records answered
// within the last interval (and the fsync in progress). An fsync on the
// answer's path cost a p99 of 0.73-1.7 s at 2,000 requests/s on the
// build machine (docs/benchmarks.md): ext4 commits its journal on fsync,
// and ClickHouse's merges fill it.
type Trail struct {
	cfg  Config
	log  *slog.Logger
	lock *os.File
	boot string        // this process's record id prefix
	seq  atomic.Uint64 // record ids given

	flushMu sync.Mutex // one Flush at a time
	syncMu  sync.Mutex // one fsync at a time; taken before mu, never held by Record

	mu      sync.Mutex
	written uint64 // records written to the spool by this process
	synced  uint64 // of those, the records made durable by an fsync
	syncErr error  // the last fsync's failure; nil once one succeeds
	cur     *segment
	sealed  []*segment // oldest first
	bytes   int64      // in every segment file
	pending int        // records in every segment
	closed  bool
	// replayed counts the records found in the spool at Open.
	replayed int

	wake     chan struct{}
	stop     chan struct{} // closed by Close: ends the syncer
	stopOnce sync.Once
	syncDone chan struct{}
	met      trailMetrics
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
	records     *prometheus.CounterVec
	syncSeconds prometheus.Histogram
	syncErrors  prometheus.Counter
}

// DefaultSyncEvery is how often the spool is fsync'd by default: the
// window of answered records that a power loss may take.
const DefaultSyncEvery = 100 * time.Millisecond

// Open opens the spool in cfg.Dir, replays the records a previous process
// left there (they are written by the next Flush) and returns the trail,
// whose fsyncs run in the background until Close.
func Open(cfg Config) (*Trail, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	t := &Trail{cfg: cfg, log: cfg.Log, boot: hex.EncodeToString(b[:]), wake: make(chan struct{}, 1),
		stop: make(chan struct{}), syncDone: make(chan struct{})}
	if err := t.lockDir(); err != nil {
		return nil, err
	}
	if err := t.replay(); err != nil {
		t.unlock()
		return nil, err
	}
	n := 1
	if k := len(t.sealed); k > 0 {
		n = t.sealed[k-1].n + 1
	}
	s, err := t.openSegment(n)
	if err != nil {
		t.unlock()
		return nil, err
	}
	t.cur = s
	t.registerMetrics(cfg.Metrics)
	go t.syncLoop()
	return t, nil
}

func (c Config) withDefaults() Config {
	if c.MaxBytes == 0 {
		c.MaxBytes = DefaultMaxBytes
	}
	if c.Every == 0 {
		c.Every = 5 * time.Second
	}
	if c.Batch == 0 {
		c.Batch = 50_000
	}
	if c.SyncEvery == 0 {
		c.SyncEvery = DefaultSyncEvery
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	if c.Metrics == nil {
		c.Metrics = prometheus.NewRegistry()
	}
	return c
}

func (t *Trail) registerMetrics(reg prometheus.Registerer) {
	f := promauto.With(reg)
	t.met.records = f.NewCounterVec(prometheus.CounterOpts{Name: "duewise_audit_records_total",
		Help: "Audit records by outcome: spooled (written to the local spool before the answer); replayed (found in the spool at start); written (to the warehouse); retried (a write that failed and will be tried again); dropped (refused: the spool is full or cannot be written, and the score was not answered)."}, []string{"outcome"})
	for _, o := range []string{"spooled", "replayed", "written", "retried", "dropped"} {
		t.met.records.WithLabelValues(o)
	}
	t.met.records.WithLabelValues("replayed").Add(float64(t.replayed))
	t.met.syncSeconds = f.NewHistogram(prometheus.HistogramOpts{Name: "duewise_audit_spool_fsync_seconds",
		Help: "Time of one fsync of the audit spool (every --audit-sync-every while records come in).", Buckets: prometheus.ExponentialBuckets(0.0001, 4, 9)})
	t.met.syncErrors = f.NewCounter(prometheus.CounterOpts{Name: "duewise_audit_spool_fsync_errors_total",
		Help: "Failed fsyncs of the audit spool; scores are refused until an fsync succeeds again."})
	f.NewGaugeFunc(prometheus.GaugeOpts{Name: "duewise_audit_pending",
		Help: "Audit records spooled and not yet written to the warehouse."}, func() float64 { return float64(t.Pending()) })
	f.NewGaugeFunc(prometheus.GaugeOpts{Name: "duewise_audit_spool_unsynced",
		Help: "Audit records written to the spool (they survive kill -9) and not yet fsync'd (a power loss may take them)."}, func() float64 {
		t.mu.Lock()
		defer t.mu.Unlock()
		return float64(t.written - t.synced)
	})
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

// Record writes recs to the spool and returns: from then on they survive
// the process's end, kill -9 included, and a power loss once the next
// fsync (within SyncEvery) is done. It returns ErrFull (wrapped) when the
// spool is at its limit and another error when it cannot be written or
// its last fsync failed; then none of recs is kept, and the caller must
// not answer the scores.
func (t *Trail) Record(ctx context.Context, recs ...Record) error {
	if len(recs) == 0 {
		return nil
	}
	rows := make([]row, len(recs))
	now := time.Now().UTC()
	for i := range recs {
		for _, x := range []float64{recs[i].Risk, recs[i].ShadowRisk} {
			if math.IsNaN(x) || math.IsInf(x, 0) {
				return fmt.Errorf("audit: record of %s: risk %v is not a finite number", recs[i].Customer, x)
			}
		}
		rows[i] = newRow(&recs[i], now)
	}
	// Ids are taken before the frames are encoded, outside mu; frames may
	// reach the file out of id order (unwritten takes the range).
	first := t.seq.Add(uint64(len(rows))) - uint64(len(rows))
	frames := make([]byte, 0, 256*len(rows))
	for i := range rows {
		rows[i].id = recordID(t.boot, first+uint64(i)+1)
		frames = appendFrame(frames, &rows[i])
	}
	if err := t.append(rows, frames); err != nil {
		t.met.records.WithLabelValues("dropped").Add(float64(len(recs)))
		return err
	}
	t.met.records.WithLabelValues("spooled").Add(float64(len(recs)))
	return nil
}

// append writes frames, those of rows, to the current segment.
func (t *Trail) append(rows []row, frames []byte) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case t.closed:
		return errors.New("audit: trail closed")
	case t.syncErr != nil:
		return t.syncErr
	case t.bytes+int64(len(frames)) > t.cfg.MaxBytes:
		return fullError(t.cfg.Dir, t.bytes, t.cfg.MaxBytes)
	}
	s := t.cur
	if _, err := s.f.Write(frames); err != nil {
		s.f.Truncate(s.size) // drop a torn frame, so that later frames stay readable
		s.f.Seek(s.size, 0)
		return fmt.Errorf("audit: write the spool %s: %w", s.path, err)
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
	return nil
}

// syncLoop fsyncs the current segment every SyncEvery until Close.
func (t *Trail) syncLoop() {
	defer close(t.syncDone)
	tk := time.NewTicker(t.cfg.SyncEvery)
	defer tk.Stop()
	for {
		select {
		case <-t.stop:
			return
		case <-tk.C:
			t.sync()
		}
	}
}

// sync fsyncs the current segment when records were written to it since
// the last fsync: one fsync for every record written by then (group
// commit). Record never waits for it.
func (t *Trail) sync() {
	t.syncMu.Lock()
	defer t.syncMu.Unlock()
	t.mu.Lock()
	f, target := t.cur.f, t.written
	idle := f == nil || t.synced >= target
	t.mu.Unlock()
	if idle {
		return
	}
	t.noteSync(target, t.fsync(f))
}

// fsync syncs f, timed.
func (t *Trail) fsync(f *os.File) error {
	start := time.Now()
	err := f.Sync()
	t.met.syncSeconds.Observe(time.Since(start).Seconds())
	return err
}

// noteSync notes the outcome of an fsync that covered the records written
// up to target. Called with syncMu held.
func (t *Trail) noteSync(target uint64, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err != nil {
		t.met.syncErrors.Inc()
		t.syncErr = fmt.Errorf("audit: fsync the spool %s: %w (scores are refused until an fsync succeeds)", t.cfg.Dir, err)
		t.log.Error("audit spool fsync failed", "err", err)
		return
	}
	t.syncErr = nil
	t.synced = max(t.synced, target)
}

// recordID is boot, a dash and seq as 12 hex digits (fmt's "%s-%012x",
// written by hand: it runs for every score).
func recordID(boot string, seq uint64) string {
	if seq >= 1<<48 {
		return fmt.Sprintf("%s-%012x", boot, seq)
	}
	b := make([]byte, len(boot)+13)
	copy(b, boot)
	b[len(boot)] = '-'
	for i := len(b) - 1; i > len(boot); i-- {
		b[i] = "0123456789abcdef"[seq&15]
		seq >>= 4
	}
	return string(b)
}

// openSegment creates spool file n, empty, and makes its name durable.
func (t *Trail) openSegment(n int) (*segment, error) {
	path := filepath.Join(t.cfg.Dir, fmt.Sprintf("%012d.spool", n))
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("audit: spool: %w", err)
	}
	if err := syncDir(t.cfg.Dir); err != nil {
		f.Close()
		return nil, err
	}
	return &segment{n: n, path: path, f: f}, nil
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

// rotate seals the current segment, when it holds records, and starts a
// new one. Record waits only for the swap, not for the files' fsyncs.
func (t *Trail) rotate() error {
	t.syncMu.Lock()
	defer t.syncMu.Unlock()
	t.mu.Lock()
	old := t.cur
	empty := len(old.rows) == 0
	t.mu.Unlock()
	if empty {
		return nil
	}
	next, err := t.openSegment(old.n + 1)
	if err != nil {
		return err
	}
	t.mu.Lock()
	t.cur = next
	t.sealed = append(t.sealed, old)
	target := t.written
	t.mu.Unlock()
	// old takes no more writes: every record written by now is in it or
	// in an earlier segment, already synced.
	err = t.fsync(old.f)
	old.f.Close()
	old.f = nil
	t.noteSync(target, err)
	return err
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

// Close writes what is spooled (within ctx), fsyncs and closes the
// spool; records that could not be written stay in it for the next Open.
// The trail refuses records after Close.
func (t *Trail) Close(ctx context.Context) error {
	err := t.Flush(ctx)
	t.stopOnce.Do(func() { close(t.stop) })
	<-t.syncDone
	t.syncMu.Lock()
	defer t.syncMu.Unlock()
	t.mu.Lock()
	defer t.mu.Unlock()
	t.closed = true
	if s := t.cur; s.f != nil {
		if serr := s.f.Sync(); serr != nil && err == nil {
			err = fmt.Errorf("audit: fsync the spool: %w", serr)
		}
		s.f.Close()
		s.f = nil
		if len(s.rows) == 0 {
			os.Remove(s.path)
		}
	}
	t.unlock()
	return err
}
