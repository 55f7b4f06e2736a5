package datasets

import "github.com/duewise/duewise/internal/progress"

// startProgress reports a file load's advance (internal/progress): a bar
// on cfg.Progress (a terminal), or a log line every few seconds. The
// position is how far into the file the loaded rows reach.
func (l *Loader) startProgress(j fileJob, src source) *progress.Bar {
	return progress.Start(progress.Config{Name: j.path, Unit: "rows", Total: src.size(),
		Terminal: l.cfg.Progress, Log: l.log, Message: "loading", Attrs: []any{"file", j.path}})
}
