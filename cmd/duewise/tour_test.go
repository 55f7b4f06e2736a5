package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// tourBlock returns the shell lines of the README's 5-minute tour.
func tourBlock(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	i := strings.Index(s, "## A 5-minute tour")
	if i < 0 {
		t.Fatal("README.md has no '## A 5-minute tour'")
	}
	s = s[i:]
	start := strings.Index(s, "```sh\n")
	if start < 0 {
		t.Fatal("the tour has no ```sh block")
	}
	s = s[start+len("```sh\n"):]
	end := strings.Index(s, "```")
	if end < 0 {
		t.Fatal("the tour's block does not end")
	}
	return s[:end]
}

// TestReadmeTour runs the README's tour, as written, with bash in a fresh
// folder (bin/duewise is the test's build), on a smaller world, its folder
// and port moved so that runs side by side do not meet: every command must
// succeed and the last must answer the customer's risk. The edits are
// checked to apply, so that a changed tour cannot skip them silently.
func TestReadmeTour(t *testing.T) {
	t.Parallel() // a process and a store of its own
	bin := sharedBinary(t)
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("no curl")
	}
	work := t.TempDir()
	os.MkdirAll(filepath.Join(work, "bin"), 0o755)
	if err := os.Symlink(bin, filepath.Join(work, "bin", "duewise")); err != nil {
		t.Fatal(err)
	}
	tour := tourBlock(t)
	port := strings.TrimPrefix(freeAddr(t), "127.0.0.1:")
	for _, r := range []struct{ old, new string }{
		{"make build", ": make build"}, // built by the test
		{"/tmp/duewise-tour", filepath.Join(work, "tour")},
		{"--customers 2000", "--customers 300"},
		{"127.0.0.1:8081", "127.0.0.1:" + port},
	} {
		if !strings.Contains(tour, r.old) {
			t.Fatalf("the tour no longer holds %q: update this test with it", r.old)
		}
		tour = strings.ReplaceAll(tour, r.old, r.new)
	}
	lib, _ := filepath.Abs("../../third_party/chdb/libchdb.so")
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "DUEWISE_") {
			env = append(env, kv)
		}
	}
	cmd := exec.Command("bash", "-euo", "pipefail", "-c", tour)
	cmd.Dir, cmd.Env = work, append(env, "DUEWISE_LIBCHDB="+lib)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(5 * time.Minute):
		err = context.DeadlineExceeded
	}
	syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // a server left running by a failed step
	if err != nil {
		t.Fatalf("the tour failed: %v\nstdout:\n%s\nstderr:\n%s", err, out.String(), errb.String())
	}
	// The last line of output is the customer's risk.
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	var risk struct {
		CustomerID string `json:"customer_id"`
		Band       string `json:"band"`
		Model      struct {
			Version string `json:"version"`
		} `json:"model"`
	}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &risk); err != nil || risk.CustomerID != "C00000001" || risk.Band == "" || !strings.HasPrefix(risk.Model.Version, "behaviour-") {
		t.Errorf("the tour's last answer %q: %v", lines[len(lines)-1], err)
	}
	for _, want := range []string{"refreshed 300 customers as of 2026-11-01", "is now the active behaviour model of tenant tour", "AUC", "cash-in forecast of tenant tour made on 2026-08-03", "backtest on the"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the tour's output lacks %q:\n%s", want, out.String())
		}
	}
	// No warning: the tour runs as of its data, and evaluates on dates
	// the model was not trained on.
	if strings.Contains(errb.String(), "level=WARN") {
		t.Errorf("the tour warns:\n%s", errb.String())
	}
}
