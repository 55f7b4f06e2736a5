package main

import (
	"github.com/spf13/cobra"

	"github.com/duewise/duewise/internal/progress"
)

// startBar starts the progress display of a long command
// (internal/progress): a bar with the time left on stderr when it is a
// terminal, a log line every few seconds otherwise (a pipe, a log file, a
// command run through `duewise serve`).
func (g *globals) startBar(cmd *cobra.Command, name, unit string, total int64) *progress.Bar {
	return progress.Start(progress.Config{Name: name, Unit: unit, Total: total,
		Terminal: progress.Terminal(cmd.ErrOrStderr()), Log: g.log, Message: name})
}

// reportTo adapts a bar to the (done, total) callbacks of package features.
func reportTo(b *progress.Bar) func(done, total int64) {
	var last int64
	return func(done, total int64) {
		b.SetTotal(total)
		b.Add(done - last)
		last = done
	}
}
