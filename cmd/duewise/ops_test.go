package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/duewise/duewise/warehouse/warehousetest"
)

// runSplit runs the command line in-process like run, with stdout and
// stderr apart and the log level left at its default (info).
func runSplit(t *testing.T, backend string, env map[string]string, args ...string) (string, string, error) {
	t.Helper()
	for k, v := range env {
		t.Setenv(k, v)
	}
	root := newRootCmd()
	var out, errb bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errb)
	global := []string{"--store", storeDir}
	if backend == "server" {
		global = append(global, "--clickhouse", os.Getenv(warehousetest.ServerEnv))
	}
	root.SetArgs(append(args, global...))
	err := root.ExecuteContext(context.Background())
	return out.String(), errb.String(), err
}

var builtBinary struct {
	once sync.Once
	dir  string
	err  error
	out  []byte
}

// sharedBinary builds the duewise binary once per test process (with
// -ldflags as the Makefile sets them) and returns its path.
func sharedBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary")
	}
	b := &builtBinary
	b.once.Do(func() {
		b.dir, b.err = os.MkdirTemp("", "duewise-bin-")
		if b.err != nil {
			return
		}
		cmd := exec.Command("go", "build", "-ldflags", "-X main.version=v9.8.7-test -X main.commit=0123456789abcdef0123456789abcdef01234567 -X main.buildDate=2026-12-07T09:30:00Z",
			"-o", filepath.Join(b.dir, "duewise"), ".")
		b.out, b.err = cmd.CombinedOutput()
	})
	if b.err != nil {
		t.Fatalf("go build: %v\n%s", b.err, b.out)
	}
	return filepath.Join(b.dir, "duewise")
}

// TestSQLDateTimeISO: duewise sql prints DateTime (UInt32 seconds on the
// wire) and DateTime64 as ISO 8601 in every format, leaves UInt32 and Date
// alone, and prints NULL as empty (table, CSV) or null (JSON).
func TestSQLDateTimeISO(t *testing.T) {
	q := "SELECT toDateTime('2026-12-07 09:30:00', 'UTC') AS t, toUInt32(5) AS u, toDate('2026-12-07') AS d, " +
		"toDateTime('2026-12-07 09:30:00', 'Europe/Amsterdam') AS ams, CAST(NULL AS Nullable(DateTime('UTC'))) AS nothing"
	for _, backend := range backends(t) {
		t.Run(backend, func(t *testing.T) {
			for format, want := range map[string]string{
				"csv":  "t,u,d,ams,nothing\n2026-12-07T09:30:00Z,5,2026-12-07,2026-12-07T09:30:00+01:00,\n",
				"json": `{"ams":"2026-12-07T09:30:00+01:00","d":"2026-12-07","nothing":null,"t":"2026-12-07T09:30:00Z","u":5}` + "\n",
			} {
				out, err := run(t, backend, "sql", "--format", format, q+";")
				if err != nil || out != want {
					t.Errorf("--format %s: %v\n got %q\nwant %q", format, err, out, want)
				}
			}
			out, err := run(t, backend, "sql", q)
			if err != nil || !strings.Contains(out, "2026-12-07T09:30:00Z  5") {
				t.Errorf("table: %v\n%s", err, out)
			}
			// Statements DESCRIBE does not take still print.
			if out, err := run(t, backend, "sql", "SHOW TABLES"); err != nil || !strings.Contains(out, "invoices") {
				t.Errorf("SHOW TABLES: %v\n%s", err, out)
			}
		})
	}
	// DateTime64 (chDB only: ClickHouse 18.16 lacks it) is an Arrow timestamp.
	out, err := run(t, "chdb", "sql", "--format", "csv", "SELECT toDateTime64('2026-12-07 09:30:00.125', 3, 'UTC') AS t")
	if err != nil || out != "t\n2026-12-07T09:30:00.125Z\n" {
		t.Errorf("DateTime64: %v %q", err, out)
	}
}

// TestLogFormat: --log-format json makes every log line a JSON object,
// text makes key=value lines, anything else is refused.
func TestLogFormat(t *testing.T) {
	world := t.TempDir()
	_, errOut, err := runSplit(t, "chdb", nil, "--log-format", "json", "generate", "--customers", "5", "--months", "2", "--out", world)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(errOut), "\n")
	for _, l := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil || m["level"] != "INFO" || m["msg"] == "" {
			t.Errorf("log line %q is not a JSON log record: %v", l, err)
		}
	}
	if len(lines) == 0 || !strings.Contains(errOut, `"msg":"generated synthetic world"`) {
		t.Errorf("json log: %q", errOut)
	}
	_, errOut, err = runSplit(t, "chdb", nil, "--log-format", "text", "generate", "--customers", "5", "--months", "2", "--out", world)
	if err != nil || !strings.Contains(errOut, `level=INFO msg="generated synthetic world"`) {
		t.Errorf("text log: %v %q", err, errOut)
	}
	if _, _, err := runSplit(t, "chdb", nil, "--log-format", "xml", "version"); err == nil || !strings.Contains(err.Error(), "--log-format") {
		t.Errorf("--log-format xml: %v", err)
	}
}

// TestVersion runs the real binary: the values the Makefile links in, and
// a plain `go build` falls back to the toolchain's build information.
func TestVersion(t *testing.T) {
	bin := sharedBinary(t)
	out, err := exec.Command(bin, "version").CombinedOutput()
	if err != nil {
		t.Fatalf("version: %v\n%s", err, out)
	}
	for _, want := range []string{"duewise v9.8.7-test\n", "commit      0123456789abcdef0123456789abcdef01234567", "build date  2026-12-07T09:30:00Z", "go          go1."} {
		if !strings.Contains(string(out), want) {
			t.Errorf("version output lacks %q:\n%s", want, out)
		}
	}
	out, err = exec.Command(bin, "version", "--format", "json").Output()
	var b build
	if err != nil || json.Unmarshal(out, &b) != nil || b.Version != "v9.8.7-test" || b.Commit == "" || !strings.HasPrefix(b.GoVersion, "go1.") || b.BuildDate != "2026-12-07T09:30:00Z" {
		t.Errorf("version --format json: %v %s", err, out)
	}
	if got := b.codeVersion(); got != "v9.8.7-test (0123456789ab)" {
		t.Errorf("code version recorded in models: %q", got)
	}
	// Without -ldflags: "dev" unless the toolchain stamped a version.
	plain := filepath.Join(t.TempDir(), "duewise")
	if out, err := exec.Command("go", "build", "-o", plain, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err = exec.Command(plain, "version", "--format", "json").Output()
	if err != nil || json.Unmarshal(out, &b) != nil || b.Version == "" || b.GoVersion == "" {
		t.Errorf("plain build: %v %s", err, out)
	}
}

// TestGenerateEnd: --end D ends the world on D (nothing at or after it,
// the months counted back from it, any day of the month), --end
// 2026-11-01 is the default world byte for byte, and today is today.
func TestGenerateEnd(t *testing.T) {
	dir := t.TempDir()
	gen := func(name string, args ...string) string {
		t.Helper()
		out := filepath.Join(dir, name)
		if _, err := run(t, "chdb", append([]string{"generate", "--customers", "20", "--months", "4", "--seed", "5", "--out", out}, args...)...); err != nil {
			t.Fatal(err)
		}
		return out
	}
	a, b := gen("start", "--start", "2026-07"), gen("end", "--end", "2026-11-01")
	for _, f := range []string{"customers.csv", "invoices.csv", "payments.csv", "truth.csv"} {
		x, _ := os.ReadFile(filepath.Join(a, f))
		y, _ := os.ReadFile(filepath.Join(b, f))
		if len(x) == 0 || !bytes.Equal(x, y) {
			t.Errorf("%s: --end 2026-11-01 differs from --start 2026-07 over 4 months", f)
		}
	}
	// A world ending on the 31st: every dated event before it, the first
	// of its 4 months from 2025-12-01 (2026-03-31 less 4 months is
	// "2025-11-31", which Go and the calendar take as 2025-12-01).
	c := gen("31", "--end", "2026-03-31")
	first, last := "9999", ""
	for _, f := range []string{"customers.csv", "invoices.csv", "payments.csv", "direct_debits.csv", "reminders.csv", "customer_events.csv"} {
		b, err := os.ReadFile(filepath.Join(c, f))
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		header := strings.Split(lines[0], ",")
		for _, l := range lines[1:] {
			cells := strings.Split(l, ",")
			for j, h := range header {
				if j < len(cells) && strings.HasSuffix(h, "_at") && h != "due_at" && cells[j] != "" {
					day := cells[j][:10]
					last = max(last, day)
					if f != "customers.csv" {
						first = min(first, day)
					}
				}
			}
		}
	}
	if last >= "2026-03-31" || last < "2026-03-20" || first != "2025-12-01" {
		t.Errorf("world ending 2026-03-31: events from %s to %s", first, last)
	}
	if _, err := run(t, "chdb", "generate", "--out", filepath.Join(dir, "x"), "--start", "2025-01", "--end", "today"); err == nil || !strings.Contains(err.Error(), "--start and --end") {
		t.Errorf("--start with --end: %v", err)
	}
	if _, err := run(t, "chdb", "generate", "--out", filepath.Join(dir, "x"), "--end", "tomorrow"); err == nil || !strings.Contains(err.Error(), "want YYYY-MM-DD or today") {
		t.Errorf("--end tomorrow: %v", err)
	}
	now := time.Date(2026, 12, 7, 14, 13, 0, 0, time.FixedZone("CET", 3600))
	if d, err := parseEnd("today", now); err != nil || d != time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC) {
		t.Errorf("today at %v: %v %v", now, d, err)
	}
}
