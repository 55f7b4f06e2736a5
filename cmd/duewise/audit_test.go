package main

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/duewise/duewise/warehouse/warehousetest"
)

// server is a running `duewise serve` process.
type server struct {
	cmd  *exec.Cmd
	url  string
	log  bytes.Buffer
	done chan error
}

func startServe(t *testing.T, bin string, env []string, dsn, spool string) *server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	s := &server{url: "http://" + addr, done: make(chan error, 1)}
	s.cmd = exec.Command(bin, "--clickhouse", dsn, "serve", "--addr", addr, "--audit-spool", spool)
	s.cmd.Env = env
	s.cmd.Stdout, s.cmd.Stderr = &s.log, &s.log
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { s.done <- s.cmd.Wait() }()
	until := time.Now().Add(60 * time.Second)
	for {
		if resp, err := http.Get(s.url + "/healthz"); err == nil {
			resp.Body.Close()
			return s
		}
		select {
		case err := <-s.done:
			t.Fatalf("serve exited: %v\n%s", err, s.log.String())
		default:
		}
		if time.Now().After(until) {
			t.Fatalf("serve did not start:\n%s", s.log.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// score sends n inline scores and returns how many were answered 200.
func (s *server) score(t *testing.T, key, prefix string, n int) int {
	t.Helper()
	ok := 0
	for i := range n {
		body := fmt.Sprintf(`{"customer_id":"%s-%d","signals":{"tenure_days":%d,"late_share_365d":0.2}}`, prefix, i, 100+i)
		req, _ := http.NewRequest("POST", s.url+"/v1/risk", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == 200 {
			ok++
		}
	}
	return ok
}

func (s *server) stop(t *testing.T, sig syscall.Signal) {
	t.Helper()
	s.cmd.Process.Signal(sig)
	select {
	case <-s.done:
	case <-time.After(60 * time.Second):
		t.Fatalf("serve did not stop:\n%s", s.log.String())
	}
}

// TestAuditSurvivesOutagesAndCrashes runs the real binary on a ClickHouse
// server of its own: every score answered 200 has its audit row, once,
// across a kill -9 while the warehouse is up and an outage ended by
// SIGTERM and a restart.
func TestAuditSurvivesOutagesAndCrashes(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	ch := warehousetest.StartClickHouse(t)
	work := t.TempDir()
	tenant := "audit"
	bin := binary(t)
	env := append(os.Environ(), "DUEWISE_MODELS="+filepath.Join(work, "models"))
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, append([]string{"--clickhouse", ch.DSN()}, args...)...)
		cmd.Dir, cmd.Env = work, env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("duewise %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	run("generate", "--customers", "80", "--months", "12", "--seed", "9", "--tenant", tenant, "--out", "world")
	run("ingest", "--tenant", tenant, "--rejects", "rejects", "world")
	run("features", "snapshot", "--tenant", tenant, "--from", "2025-03-01", "--to", "2025-09-01", "--every", "1mo", "--out", "snap.parquet")
	run("train", "--snapshots", "snap.parquet", "--tenant", tenant, "--epochs", "2", "--hidden", "8", "--out", "models")
	run("features", "refresh", "--tenant", tenant, "--as-of", "2025-11-01")
	run("models", "promote", "--tenant", tenant, strings.TrimSpace(run("models", "list", "--tenant", tenant, "--format", "ids")))
	key := strings.TrimSpace(run("keys", "create", "--tenant", tenant, "--scopes", "score", "--name", "audit", "--quiet"))
	spool := filepath.Join(work, "spool")

	answered := 0
	s := startServe(t, bin, env, ch.DSN(), spool)
	answered += s.score(t, key, "up", 50)
	s.stop(t, syscall.SIGKILL) // before the trail's first write to the warehouse

	s = startServe(t, bin, env, ch.DSN(), spool)
	ch.Stop(t)
	answered += s.score(t, key, "down", 300)
	s.stop(t, syscall.SIGTERM) // the warehouse is still down: the records stay spooled

	ch.Run(t)
	s = startServe(t, bin, env, ch.DSN(), spool)
	defer s.stop(t, syscall.SIGTERM)
	if answered != 350 {
		t.Fatalf("%d of 350 scores answered (inline scoring works while the warehouse is down)", answered)
	}
	until := time.Now().Add(60 * time.Second)
	var got string
	for time.Now().Before(until) {
		got = strings.TrimSpace(run("sql", "--format", "csv", "SELECT count() AS n, uniqExact(audit_id) AS ids FROM score_audit WHERE tenant = '"+tenant+"'"))
		if got == "n,ids\n350,350" {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	if got != "n,ids\n350,350" {
		t.Fatalf("audit rows for 350 answers: %q\n%s", got, s.log.String())
	}
}
