package progress

import (
	"bytes"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"
)

func TestThousands(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567", -45000: "-45,000"} {
		if got := Thousands(n); got != want {
			t.Errorf("Thousands(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestLine(t *testing.T) {
	for _, tc := range []struct {
		name  string
		s     state
		final bool
		want  []string
	}{
		{"half", state{count: 500, pos: 500, total: 1000, elapsed: 10 * time.Second}, false,
			[]string{"[===============>              ]  50% ", "500 customers", "50 customers/s", "ETA  0:10"}},
		{"unknown total", state{count: 1234, pos: 1234, elapsed: 2 * time.Second}, false,
			[]string{"1,234 customers", "617 customers/s", "ETA  --:--"}},
		{"too early to tell", state{count: 1, pos: 1, total: 1000, elapsed: time.Millisecond}, false,
			[]string{"[>", "ETA  --:--"}},
		{"done", state{count: 1000, pos: 1000, total: 1000, elapsed: 3723 * time.Second}, true,
			[]string{"[==============================] 100% ", "in 1:02:03"}},
		{"position past the total", state{count: 9, pos: 2000, total: 1000, elapsed: time.Second}, false,
			[]string{"100%"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := line("task", "customers", tc.s, tc.final)
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("line = %q, want it to contain %q", got, w)
				}
			}
			if tc.s.total == 0 && strings.Contains(got, "[") {
				t.Errorf("line %q draws a bar without a total", got)
			}
		})
	}
}

func TestTerminalBar(t *testing.T) {
	var out bytes.Buffer
	b := Start(Config{Name: "snapshot", Unit: "rows", Total: 100, Terminal: &out, Every: time.Millisecond})
	for range 10 {
		b.Add(10)
		time.Sleep(2 * time.Millisecond)
	}
	b.Stop()
	b.Stop() // twice is fine
	s := out.String()
	if !strings.HasPrefix(s, "\rsnapshot") || !strings.HasSuffix(s, "\n") || strings.Count(s, "\n") != 1 {
		t.Errorf("bar output %q: want lines rewritten with \\r and one final newline", s)
	}
	last := s[strings.LastIndex(s, "\r"):]
	if !strings.Contains(last, "100%") || !strings.Contains(last, "100 rows") || !strings.Contains(last, " in ") {
		t.Errorf("final bar %q", last)
	}
}

func TestLogLines(t *testing.T) {
	var out bytes.Buffer
	log := slog.New(slog.NewTextHandler(&out, nil))
	b := Start(Config{Name: "f.csv", Unit: "rows", Total: 1000, Log: log, Message: "loading", Attrs: []any{"file", "f.csv"}, Every: 5 * time.Millisecond})
	b.Add(40)
	b.Reach(250) // bytes of 1000
	time.Sleep(30 * time.Millisecond)
	b.Stop()
	s := out.String()
	for _, w := range []string{"msg=loading", "file=f.csv", "rows=40", "rows_per_s=", "percent=25", "elapsed=0s"} {
		if !strings.Contains(s, w) {
			t.Errorf("log %q lacks %q", s, w)
		}
	}
	if strings.Contains(s, "\r") {
		t.Errorf("log lines hold a carriage return: %q", s)
	}
}

func TestTerminal(t *testing.T) {
	if Terminal(&bytes.Buffer{}) != nil {
		t.Error("a buffer is not a terminal")
	}
	f, err := os.CreateTemp(t.TempDir(), "x")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if Terminal(f) != nil {
		t.Error("a file is not a terminal")
	}
	if tty, err := os.OpenFile("/dev/tty", os.O_WRONLY, 0); err == nil {
		defer tty.Close()
		if Terminal(tty) == nil {
			t.Error("/dev/tty is a terminal")
		}
	}
}

func TestAbove(t *testing.T) {
	var term bytes.Buffer
	b := Start(Config{Name: "train", Unit: "epochs", Total: 4, Terminal: &term, Every: time.Hour})
	b.Add(1)
	if err := b.Above(&term, "epoch 1 loss 0.5\n"); err != nil {
		t.Fatal(err)
	}
	b.Add(1)
	b.Above(&term, "epoch 2 loss 0.4\n")
	b.Stop()
	s := term.String()
	// The epoch lines sit on lines of their own, each followed by the bar.
	if !strings.HasPrefix(s, "epoch 1 loss 0.5\n\rtrain") || !strings.Contains(s, "\r\x1b[Kepoch 2 loss 0.4\n\rtrain") || strings.Count(s, "\n") != 3 {
		t.Errorf("terminal %q", s)
	}
	var plain, out bytes.Buffer
	b = Start(Config{Name: "train", Unit: "epochs", Log: slog.New(slog.NewTextHandler(&plain, nil))})
	b.Above(&out, "epoch 1\n")
	b.Stop()
	if out.String() != "epoch 1\n" {
		t.Errorf("without a terminal: %q", out.String())
	}
}
