package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/duewise/duewise/cmd/duewise/internal/admin"
	"github.com/duewise/duewise/warehouse/warehousetest"
)

// TestScoreAllTable writes the nightly scores into a warehouse table on
// both backends.
func TestScoreAllTable(t *testing.T) {
	for _, backend := range backends(t) {
		t.Run(backend, func(t *testing.T) {
			tenant := warehousetest.Tenant(t)
			work := t.TempDir()
			steps := [][]string{
				{"generate", "--customers", "80", "--months", "12", "--seed", "9", "--tenant", tenant, "--out", filepath.Join(work, "world")},
				{"ingest", "--tenant", tenant, "--rejects", filepath.Join(work, "rejects"), filepath.Join(work, "world")},
				{"features", "snapshot", "--tenant", tenant, "--from", "2025-03-01", "--to", "2025-09-01", "--every", "1mo", "--out", filepath.Join(work, "snap.parquet")},
				{"train", "--snapshots", filepath.Join(work, "snap.parquet"), "--tenant", tenant, "--epochs", "2", "--hidden", "8", "--out", filepath.Join(work, "models")},
				{"features", "refresh", "--tenant", tenant, "--as-of", "2025-11-01"},
			}
			for _, st := range steps {
				b := backend
				if st[0] == "generate" || st[0] == "train" {
					b = "chdb"
				}
				if out, err := run(t, b, st...); err != nil {
					t.Fatalf("%v: %v\n%s", st, err, out)
				}
			}
			ids, err := run(t, backend, "models", "list", "--registry", filepath.Join(work, "models"), "--tenant", tenant, "--format", "ids")
			if err != nil {
				t.Fatal(err)
			}
			if out, err := run(t, backend, "models", "promote", "--registry", filepath.Join(work, "models"), "--tenant", tenant, strings.TrimSpace(ids)); err != nil {
				t.Fatalf("promote: %v %s", err, out)
			}
			table := "scores_" + strings.ReplaceAll(tenant, "-", "_")
			out, err := run(t, backend, "score", "--all", "--registry", filepath.Join(work, "models"), "--tenant", tenant, "--table", table)
			if err != nil || !strings.Contains(out, "scored 80 customers") {
				t.Fatalf("score --all --table: %v %s", err, out)
			}
			out, err = run(t, backend, "sql", "--format", "csv", "SELECT count() AS n, countIf(band IN ('A','B','C','D','E') AND p_365d >= p_30d AND reasons LIKE '[{%') AS good FROM "+table+" WHERE tenant = '"+tenant+"'")
			if err != nil || strings.TrimSpace(out) != "n,good\n80,80" {
				t.Errorf("scores table: %v %q", err, out)
			}
		})
	}
}

// binary returns the duewise binary, built once per test process
// (sharedBinary).
func binary(t *testing.T) string { return sharedBinary(t) }

// cli runs the binary in dir and returns stdout, stderr and the exit code.
type cli struct {
	bin, store string
	env        []string
}

func (c *cli) run(t *testing.T, dir string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(c.bin, append([]string{"--store", c.store}, args...)...)
	cmd.Dir, cmd.Env = dir, c.env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

func (c *cli) ok(t *testing.T, dir string, args ...string) string {
	t.Helper()
	out, errOut, code := c.run(t, dir, args...)
	if code != 0 {
		t.Fatalf("duewise %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

// TestCommandsWhileServing runs the real binary: `duewise serve` holds an
// embedded store, and keys, ingest, models, sql and score --all on the
// same store still work, through the server; what cannot work says why.
func TestCommandsWhileServing(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	lib, _ := filepath.Abs("../../third_party/chdb/libchdb.so")
	work := t.TempDir()
	c := &cli{bin: binary(t), store: filepath.Join(work, "store"),
		env: append(os.Environ(), "DUEWISE_LIBCHDB="+lib, "DUEWISE_MODELS="+filepath.Join(work, "models"), "DUEWISE_TENANT=cli")}
	c.ok(t, work, "generate", "--customers", "150", "--months", "12", "--seed", "4", "--tenant", "cli", "--out", "world")
	c.ok(t, work, "ingest", "--tenant", "cli", "--rejects", "rejects", "world")
	c.ok(t, work, "features", "snapshot", "--tenant", "cli", "--from", "2025-03-01", "--to", "2025-09-01", "--every", "1mo", "--out", "snap.parquet")
	c.ok(t, work, "train", "--snapshots", "snap.parquet", "--tenant", "cli", "--epochs", "2", "--hidden", "8", "--out", "models")
	c.ok(t, work, "features", "refresh", "--tenant", "cli", "--as-of", "2025-11-01")
	version := strings.TrimSpace(c.ok(t, work, "models", "list", "--format", "ids"))
	if strings.Count(version, "\n") != 0 || !strings.HasPrefix(version, "behaviour-") {
		t.Fatalf("models: %q", version)
	}

	// Serve the store.
	serve := exec.Command(c.bin, "--store", c.store, "serve", "--addr", "127.0.0.1:0")
	serve.Dir, serve.Env = work, c.env
	var serveLog bytes.Buffer
	serve.Stdout, serve.Stderr = &serveLog, &serveLog
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- serve.Wait() }()
	defer func() {
		serve.Process.Kill()
		<-exited
	}()
	var st admin.State
	for deadline := time.Now().Add(30 * time.Second); ; {
		b, err := os.ReadFile(filepath.Join(c.store, admin.StateFile))
		if err == nil && json.Unmarshal(b, &st) == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve wrote no %s:\n%s", admin.StateFile, serveLog.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if fi, _ := os.Stat(filepath.Join(c.store, admin.StateFile)); fi.Mode().Perm() != 0o600 {
		t.Errorf("%s has mode %v, want 0600", admin.StateFile, fi.Mode().Perm())
	}
	get := func(key, path string) (int, string) {
		req, _ := http.NewRequest("GET", "http://"+st.API+path, nil)
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}

	// keys create goes through the server; the key works at once.
	out, errOut, code := c.run(t, work, "keys", "create", "--tenant", "cli", "--scopes", "score,admin", "--quiet")
	key := strings.TrimSpace(out)
	if code != 0 || !strings.HasPrefix(key, "dwk_") || !strings.Contains(errOut, "through it") {
		t.Fatalf("keys create: %d %q %q", code, out, errOut)
	}
	if code, body := get(key, "/v1/models"); code != 200 || !strings.Contains(body, `"serving":{}`) {
		t.Fatalf("new key: %d %s", code, body)
	}
	if !strings.Contains(c.ok(t, work, "keys", "list", "--tenant", "cli"), "score,admin") {
		t.Error("keys list does not show the key")
	}

	// ingest with a relative path from another folder, good and bad rows.
	sub := filepath.Join(work, "crm")
	os.MkdirAll(sub, 0o755)
	os.WriteFile(filepath.Join(sub, "customer_events.csv"), []byte("event_id,customer_id,occurred_at,kind,detail\n"+
		"CE-1,C00000001,2025-10-30T10:00:00Z,contact,asked for a delay\n"+
		"CE-2,C00000001,not a time,contact,\n"), 0o644)
	out, errOut, code = c.run(t, sub, "ingest", "--tenant", "cli", "customer_events.csv")
	if code != 2 || !strings.Contains(out, "customer_events.csv:3: occurred_at") {
		t.Fatalf("ingest through the server: exit %d\n%s%s", code, out, errOut)
	}
	if _, err := os.Stat(filepath.Join(sub, "customer_events.rejects.csv")); err != nil {
		t.Errorf("rejects file beside the file: %v", err)
	}
	if got := c.ok(t, work, "sql", "--format", "csv", "SELECT count() AS n FROM customer_events FINAL WHERE event_id LIKE 'CE-%'"); strings.TrimSpace(got) != "n\n1" {
		t.Errorf("sql through the server: %q", got)
	}
	if _, errOut, code := c.run(t, work, "sql", "SELECT nope"); code != 1 || !strings.Contains(errOut, "nope") {
		t.Errorf("bad sql: exit %d %q", code, errOut)
	}

	// models promote and score --all.
	if out := c.ok(t, work, "models", "promote", version); !strings.Contains(out, "is now the active behaviour model") {
		t.Errorf("promote: %s", out)
	}
	if code, body := get(key, "/v1/models"); code != 200 || !strings.Contains(body, `"serving":{"behaviour":"`+version+`"}`) {
		t.Errorf("models after promote: %d %s", code, body)
	}
	if code, body := get(key, "/v1/customers/C00000001/risk"); code != 200 || !strings.Contains(body, version) {
		t.Errorf("customer after promote: %d %s", code, body)
	}
	out = c.ok(t, work, "score", "--all", "--out", "scores.csv")
	b, err := os.ReadFile(filepath.Join(work, "scores.csv"))
	if err != nil || !strings.Contains(out, "scored 150 customers") || bytes.Count(b, []byte("\ncli,C0")) != 150 {
		t.Errorf("score --all: %s (%d bytes, %v)", out, len(b), err)
	}
	c.ok(t, work, "score", "--all", "--out", "scores.ndjson", "--lang", "nl")
	b, _ = os.ReadFile(filepath.Join(work, "scores.ndjson"))
	var first map[string]any
	if lines := bytes.Split(bytes.TrimSpace(b), []byte("\n")); len(lines) != 150 || json.Unmarshal(lines[0], &first) != nil || first["tenant"] != "cli" || first["customer_id"] != "C00000001" {
		t.Errorf("score --all ndjson: %d bytes, first %v", len(b), first)
	}

	// keys revoke takes effect at once.
	id := strings.Split(key, "_")[1]
	c.ok(t, work, "keys", "revoke", id)
	if code, _ := get(key, "/v1/customers/C00000001/risk"); code != 401 {
		t.Errorf("revoked key: %d", code)
	}

	// A second server on the same store is refused, clearly.
	if _, errOut, code := c.run(t, work, "serve", "--addr", "127.0.0.1:0"); code != 1 || !strings.Contains(errOut, "already served") {
		t.Errorf("second serve: exit %d %q", code, errOut)
	}

	// A server that holds a store but does not answer: a clear message.
	dead := filepath.Join(work, "dead")
	os.MkdirAll(dead, 0o755)
	os.WriteFile(filepath.Join(dead, admin.StateFile), []byte(fmt.Sprintf(`{"pid": %d, "api": "127.0.0.1:1", "admin": "127.0.0.1:1", "token": "x"}`, os.Getpid())), 0o600)
	c2 := *c
	c2.store = dead
	if _, errOut, code := c2.run(t, work, "keys", "list"); code != 1 || !strings.Contains(errOut, "does not answer") || !strings.Contains(errOut, "stop that server") {
		t.Errorf("unreachable server: exit %d %q", code, errOut)
	}

	// SIGTERM: the server drains, exits 0 and removes its state file;
	// then the store opens directly again.
	serve.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-exited:
		exited <- err
		if err != nil {
			t.Fatalf("serve exited with %v:\n%s", err, serveLog.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatal("serve did not stop")
	}
	if _, err := os.Stat(filepath.Join(c.store, admin.StateFile)); !os.IsNotExist(err) {
		t.Errorf("%s left behind: %v", admin.StateFile, err)
	}
	if out, errOut, code := c.run(t, work, "keys", "list"); code != 0 || strings.Contains(errOut, "through") || !strings.Contains(out, id) {
		t.Errorf("keys list after the server stopped: %d %q %q", code, out, errOut)
	}
	if strings.Contains(serveLog.String(), "asked for a delay") {
		t.Error("the server log holds row content")
	}
	_ = context.Background
}
