package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
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
	t.Parallel() // a process and a store of its own
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
	if last >= "2026-03-31" || last < "2026-03-20" || first < "2025-12-01" || first > "2025-12-10" {
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

// fileText reads a file that a process writes, as text.
type fileText string

func (f fileText) String() string {
	b, _ := os.ReadFile(string(f))
	return string(b)
}

// freeAddr returns a free 127.0.0.1 address.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestServeConfigAndMetrics runs the real binary: serve takes its settings
// from --config (global flags too), a flag on the command line wins over
// the file, a bad file stops it with every problem at file:line:column,
// and /metrics carries duewise_build_info, go_* and process_*.
func TestServeConfigAndMetrics(t *testing.T) {
	t.Parallel() // a process and a store of its own
	c, work := newCLI(t)
	bad := filepath.Join(work, "bad.yaml")
	os.WriteFile(bad, []byte("addr: 127.0.0.1:0\nrate: fast\nno-such-flag: 1\ndrain: [1s]\n"), 0o644)
	_, e, code := c.run(t, work, "serve", "--config", bad)
	for _, want := range []string{bad + ":2:7: rate: invalid value \"fast\" for a float64 flag", bad + ":3:1: no-such-flag: unknown key", bad + ":4:8: drain: want one value, not a list"} {
		if code != 1 || !strings.Contains(e, want) {
			t.Errorf("bad config: exit %d, stderr lacks %q:\n%s", code, want, e)
		}
	}

	addr := freeAddr(t)
	cfg := filepath.Join(work, "duewise.yaml")
	os.WriteFile(cfg, []byte("# settings\naddr: 127.0.0.1:1   # the command line's --addr wins\nlog-format: json\nrate: 5\nreload: 1h\nprocs: 3\n"), 0o644)
	serve := exec.Command(c.bin, "--store", c.store, "serve", "--config", cfg, "--addr", addr)
	serve.Dir, serve.Env = work, c.env
	logFile, err := os.Create(filepath.Join(work, "serve.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	serve.Stdout, serve.Stderr = logFile, logFile
	log := fileText(filepath.Join(work, "serve.log"))
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- serve.Wait() }()
	defer func() {
		serve.Process.Signal(syscall.SIGTERM)
		<-done
	}()
	var metrics string
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if resp, err := http.Get("http://" + addr + "/metrics"); err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			metrics = string(b)
			break
		}
		select {
		case err := <-done:
			done <- err
			t.Fatalf("serve exited: %v\n%s", err, log.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve does not answer on %s:\n%s", addr, log.String())
		}
	}
	for _, want := range []string{
		`duewise_build_info{goversion="` + runtime.Version() + `",revision="0123456789abcdef0123456789abcdef01234567",version="v9.8.7-test"} 1`,
		"\ngo_goroutines ", "\ngo_memstats_heap_alloc_bytes ", "\nprocess_resident_memory_bytes ", "\nprocess_open_fds ",
		"\ngo_sched_gomaxprocs_threads 3\n", // procs from the config file
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	// The file set the log format: every line is JSON.
	for _, l := range strings.Split(strings.TrimSpace(log.String()), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) != nil {
			t.Errorf("log line %q is not JSON (log-format from the config file)", l)
		}
	}
	if !strings.Contains(log.String(), `"msg":"serving","addr":"`+addr+`"`) {
		t.Errorf("serve did not listen on the command line's --addr:\n%s", log.String())
	}
}

// TestDeploy checks deploy/: the systemd unit parses, is hardened and
// starts serve with the example config (systemd-analyze verify where
// there is one), and the example config loads through serve's real loader.
func TestDeploy(t *testing.T) {
	t.Parallel() // a process and a store of its own
	unit, err := os.ReadFile("../../deploy/duewise.service")
	if err != nil {
		t.Fatal(err)
	}
	sections := map[string]map[string][]string{}
	var cur string
	for i, l := range strings.Split(string(unit), "\n") {
		l = strings.TrimSpace(l)
		switch {
		case l == "" || strings.HasPrefix(l, "#") || strings.HasPrefix(l, ";"):
		case strings.HasPrefix(l, "[") && strings.HasSuffix(l, "]"):
			cur = l[1 : len(l)-1]
			sections[cur] = map[string][]string{}
		default:
			k, v, ok := strings.Cut(l, "=")
			if !ok || cur == "" {
				t.Fatalf("duewise.service:%d: %q is not key=value in a section", i+1, l)
			}
			sections[cur][k] = append(sections[cur][k], v)
		}
	}
	svc := sections["Service"]
	want := map[string]string{
		"ExecStart": "/usr/local/bin/duewise serve --config /etc/duewise/duewise.yaml", "DynamicUser": "yes", "StateDirectory": "duewise",
		"NoNewPrivileges": "yes", "ProtectSystem": "strict", "ProtectHome": "yes", "PrivateTmp": "yes", "CapabilityBoundingSet": "",
		"RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX", "SystemCallFilter": "@system-service", "KillSignal": "SIGTERM",
	}
	for k, v := range want {
		if got := svc[k]; len(got) != 1 || got[0] != v {
			t.Errorf("[Service] %s = %q, want %q", k, got, v)
		}
	}
	if sections["Install"]["WantedBy"] == nil || sections["Unit"]["Description"] == nil {
		t.Errorf("[Unit] Description or [Install] WantedBy missing: %v", sections)
	}
	// The drain must end before systemd kills the process.
	stop, err := time.ParseDuration(svc["TimeoutStopSec"][0])
	if err != nil {
		t.Fatalf("TimeoutStopSec: %v", err)
	}

	// The example config through serve's loader, as serve reads it.
	root := newRootCmd()
	serve, _, err := root.Find([]string{"serve"})
	if err != nil {
		t.Fatal(err)
	}
	fs := serve.Flags()
	fs.AddFlagSet(root.PersistentFlags())
	if err := fs.Parse([]string{"--rate", "7"}); err != nil {
		t.Fatal(err)
	}
	if err := applyConfig(fs, "../../deploy/duewise.yaml"); err != nil {
		t.Fatalf("deploy/duewise.yaml: %v", err)
	}
	for k, v := range map[string]string{"addr": "127.0.0.1:8080", "store": "/var/lib/duewise/store", "registry": "/var/lib/duewise/models",
		"log-format": "json", "audit-spool-max": "1073741824", "stale-grace": "15m0s", "rate": "7"} {
		if got := fs.Lookup(k).Value.String(); got != v {
			t.Errorf("after deploy/duewise.yaml, --%s = %q, want %q", k, got, v)
		}
	}
	drain, _ := time.ParseDuration(fs.Lookup("drain").Value.String())
	if drain+30*time.Second > stop {
		t.Errorf("drain %v leaves less than 30 s of TimeoutStopSec %v for the audit spool", drain, stop)
	}

	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Logf("no systemd-analyze: the unit was checked by parsing only")
		return
	}
	// verify wants ExecStart's binary to exist: point it at a real one.
	bin := sharedBinary(t)
	tmp := filepath.Join(t.TempDir(), "duewise.service")
	os.WriteFile(tmp, []byte(strings.Replace(string(unit), "ExecStart=/usr/local/bin/duewise", "ExecStart="+bin, 1)), 0o644)
	out, err := exec.Command(analyze, "verify", "--man=no", tmp).CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}
