package datasets

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// progress reports a file load's advance: a bar with rows/s on
// cfg.Progress (a terminal), or a log line every few seconds.
type progress struct {
	rows atomic.Int64
	pos  atomic.Int64 // how far into the source the loaded rows reach
	done chan struct{}
	wg   sync.WaitGroup
}

func (l *Loader) startProgress(j fileJob, src source) *progress {
	p := &progress{done: make(chan struct{})}
	every := 5 * time.Second
	if l.cfg.Progress != nil {
		every = 200 * time.Millisecond
	}
	start := time.Now()
	report := func(final bool) {
		rows := p.rows.Load()
		el := time.Since(start).Seconds()
		rate := 0.0
		if el > 0 {
			rate = float64(rows) / el
		}
		done, total := p.pos.Load(), src.size()
		if l.cfg.Progress == nil {
			if !final {
				l.log.Info("loading", "file", j.path, "rows", rows, "rows_per_s", int64(rate), "percent", percent(done, total))
			}
			return
		}
		const width = 30
		bar := strings.Repeat(" ", width)
		pct := ""
		if total > 0 {
			f := min(1, float64(done)/float64(total))
			n := int(f * width)
			bar = strings.Repeat("=", n) + strings.Repeat(" ", width-n)
			pct = fmt.Sprintf("%3.0f%%", 100*f)
		}
		end := ""
		if final {
			end = "\n"
		}
		fmt.Fprintf(l.cfg.Progress, "\r%-28s [%s] %4s %12s rows %10s rows/s%s", j.path, bar, pct, thousands(rows), thousands(int64(rate)), end)
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-p.done:
				report(true)
				return
			case <-t.C:
				report(false)
			}
		}
	}()
	return p
}

func (p *progress) stop() {
	close(p.done)
	p.wg.Wait()
}

func percent(done, total int64) float64 {
	if total <= 0 {
		return 0
	}
	return float64(int64(1000*float64(done)/float64(total))) / 10
}

// thousands formats n with comma separators, e.g. 1,234,567.
func thousands(n int64) string {
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
