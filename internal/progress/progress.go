// Package progress reports the advance of a long task: on a terminal, a
// bar rewritten in place with the count, the rate and the time left; on
// anything else (a pipe, a log file, a command run through `duewise
// serve`), a log line every few seconds. It is the one progress display of
// duewise: file ingestion, feature snapshots and refreshes, `score --all`
// and training use it.
//
//	bar := progress.Start(progress.Config{Name: "features refresh", Unit: "customers",
//		Total: n, Terminal: progress.Terminal(os.Stderr), Log: log})
//	for ... { bar.Add(k) }
//	bar.Stop()
package progress

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Config describes a task to report on. A plain value.
type Config struct {
	// Name labels the task on the bar (a file, "features refresh").
	Name string
	// Unit names what Add counts ("rows", "customers", "epochs"); the bar
	// and the log lines show the count and its rate per second.
	Unit string
	// Total is the amount of work in the unit of the position (Add's
	// count, or Reach's position when it is used); 0 means unknown: no
	// percentage and no time left.
	Total int64
	// Terminal, when set, receives the bar: one line rewritten with \r,
	// ended with a newline by Stop. Use Terminal(os.Stderr) to set it only
	// on a terminal.
	Terminal io.Writer
	// Log receives a line every Every when there is no Terminal; nil
	// discards. Message (default "progress") is the line's message and
	// Attrs its first key/value pairs.
	Log     *slog.Logger
	Message string
	Attrs   []any
	// Every is the interval between reports: 0 means 200 ms on a terminal
	// and 5 s to the log.
	Every time.Duration
}

// Bar reports the advance of one task until Stop. Its methods are safe for
// concurrent use.
type Bar struct {
	cfg     Config
	start   time.Time
	count   atomic.Int64
	pos     atomic.Int64
	total   atomic.Int64
	reached atomic.Bool // Reach was called: the position is not the count
	done    chan struct{}
	stopped sync.Once
	wg      sync.WaitGroup
	mu      sync.Mutex // serializes the terminal's writes
	drawn   bool       // the bar is on the terminal's current line
}

// Terminal returns w when it is a terminal (a character device), else nil:
// the value for Config.Terminal.
func Terminal(w io.Writer) io.Writer {
	f, ok := w.(*os.File)
	if !ok {
		return nil
	}
	st, err := f.Stat()
	if err != nil || st.Mode()&os.ModeCharDevice == 0 {
		return nil
	}
	return f
}

// Start begins reporting on a task.
func Start(cfg Config) *Bar {
	if cfg.Every <= 0 {
		cfg.Every = 5 * time.Second
		if cfg.Terminal != nil {
			cfg.Every = 200 * time.Millisecond
		}
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Message == "" {
		cfg.Message = "progress"
	}
	b := &Bar{cfg: cfg, start: time.Now(), done: make(chan struct{})}
	b.total.Store(cfg.Total)
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		t := time.NewTicker(cfg.Every)
		defer t.Stop()
		for {
			select {
			case <-b.done:
				b.report(true)
				return
			case <-t.C:
				b.report(false)
			}
		}
	}()
	return b
}

// Add records n more units done.
func (b *Bar) Add(n int64) { b.count.Add(n) }

// Reach records the position reached, in Total's unit, when it is not the
// count of Add (a file load counts rows but knows its position in bytes).
func (b *Bar) Reach(pos int64) {
	b.reached.Store(true)
	b.pos.Store(pos)
}

// Above writes text (whole lines) to w, which shares the terminal with
// the bar: the bar's line is cleared first and drawn again below. Without
// a terminal it is a plain write.
func (b *Bar) Above(w io.Writer, text string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.cfg.Terminal != nil && b.drawn {
		fmt.Fprint(b.cfg.Terminal, "\r\x1b[K")
		b.drawn = false
	}
	_, err := io.WriteString(w, text)
	if b.cfg.Terminal != nil {
		b.draw(b.read(), false)
	}
	return err
}

// SetTotal changes the amount of work (0 = unknown).
func (b *Bar) SetTotal(n int64) { b.total.Store(n) }

// Stop ends the report: on a terminal the bar is drawn a last time and
// ended with a newline. Safe to call more than once.
func (b *Bar) Stop() {
	b.stopped.Do(func() {
		close(b.done)
		b.wg.Wait()
	})
}

// state is one reading of the bar.
type state struct {
	count, pos, total int64
	elapsed           time.Duration
}

func (b *Bar) read() state {
	s := state{count: b.count.Load(), total: b.total.Load(), elapsed: time.Since(b.start)}
	s.pos = s.count
	if b.reached.Load() {
		s.pos = b.pos.Load()
	}
	return s
}

// fraction is the share of the work done, or -1 when the total is unknown.
func (s state) fraction() float64 {
	if s.total <= 0 {
		return -1
	}
	return min(1, max(0, float64(s.pos)/float64(s.total)))
}

// rate is the count per second.
func (s state) rate() float64 {
	if sec := s.elapsed.Seconds(); sec > 0 {
		return float64(s.count) / sec
	}
	return 0
}

// left estimates the time to finish from the pace so far; ok is false
// when it cannot be told yet.
func (s state) left() (time.Duration, bool) {
	f := s.fraction()
	if f <= 0 || s.elapsed < time.Second/2 {
		return 0, false
	}
	return time.Duration(float64(s.elapsed) * (1 - f) / f), true
}

func (b *Bar) report(final bool) {
	s := b.read()
	if b.cfg.Terminal == nil {
		if !final {
			b.logLine(s)
		}
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.draw(s, final)
}

// draw writes the bar over the terminal's current line; b.mu is held.
func (b *Bar) draw(s state, final bool) {
	end := ""
	if final {
		end = "\n"
	}
	// \x1b[K clears what a longer earlier line left on the right.
	fmt.Fprintf(b.cfg.Terminal, "\r%s\x1b[K%s", line(b.cfg.Name, b.cfg.Unit, s, final), end)
	b.drawn = !final
}

func (b *Bar) logLine(s state) {
	attrs := append(append([]any(nil), b.cfg.Attrs...), b.cfg.Unit, s.count, b.cfg.Unit+"_per_s", int64(s.rate()))
	if f := s.fraction(); f >= 0 {
		attrs = append(attrs, "percent", float64(int64(1000*f))/10)
	}
	if d, ok := s.left(); ok {
		attrs = append(attrs, "eta", d.Round(time.Second).String())
	}
	attrs = append(attrs, "elapsed", s.elapsed.Round(time.Second).String())
	b.cfg.Log.Info(b.cfg.Message, attrs...)
}

// barWidth is the number of cells of the bar.
const barWidth = 30

// line draws the bar: name [=====>     ]  45%  1,234 rows  567 rows/s  ETA 0:12
// (at the end, the time taken instead of the time left).
func line(name, unit string, s state, final bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-28s ", name)
	if f := s.fraction(); f >= 0 {
		n := int(f * barWidth)
		b.WriteString("[" + strings.Repeat("=", n))
		if n < barWidth {
			b.WriteString(">" + strings.Repeat(" ", barWidth-n-1))
		}
		fmt.Fprintf(&b, "] %3.0f%% ", 100*f)
	}
	fmt.Fprintf(&b, "%12s %s %10s %s/s", Thousands(s.count), unit, Thousands(int64(s.rate())), unit)
	switch d, ok := s.left(); {
	case final:
		b.WriteString("  in " + clock(s.elapsed))
	case ok:
		b.WriteString("  ETA " + clock(d))
	default:
		b.WriteString("  ETA  --:--")
	}
	return b.String()
}

// clock formats d as m:ss or h:mm:ss.
func clock(d time.Duration) string {
	sec := int64(d.Round(time.Second) / time.Second)
	if sec >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", sec/3600, sec/60%60, sec%60)
	}
	return fmt.Sprintf("%2d:%02d", sec/60, sec%60)
}

// Thousands formats n with comma separators, e.g. 1,234,567.
func Thousands(n int64) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}
