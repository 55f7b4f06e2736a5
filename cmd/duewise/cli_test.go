package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/duewise/duewise/warehouse/warehousetest"
)

// storeDir is the one chDB store of this test process (chDB allows one
// store per process).
var storeDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "duewise-cli-")
	if err != nil {
		panic(err)
	}
	storeDir = filepath.Join(dir, "store")
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// run runs the duewise command line with args against the backend and
// returns what it printed on stdout.
func run(t *testing.T, backend string, args ...string) (string, error) {
	t.Helper()
	root := newRootCmd()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	global := []string{"--store", storeDir, "--log-level", "error"}
	if backend == "server" {
		global = append(global, "--clickhouse", os.Getenv(warehousetest.ServerEnv))
	}
	root.SetArgs(append(args, global...))
	err := root.ExecuteContext(context.Background())
	return out.String(), err
}

func backends(t *testing.T) []string {
	b := []string{"chdb"}
	if os.Getenv(warehousetest.ServerEnv) != "" {
		b = append(b, "server")
	} else if os.Getenv("CI") == "true" {
		t.Fatalf("%s is not set under CI", warehousetest.ServerEnv)
	}
	return b
}

// TestGenerateIngestQuery drives the CLI as a user would: generate a
// world, ingest it twice (the second time changes no counts), query it,
// and ingest a file with bad rows (exit code 2, file:line messages, good
// rows still loaded).
func TestGenerateIngestQuery(t *testing.T) {
	for _, backend := range backends(t) {
		t.Run(backend, func(t *testing.T) {
			tenant := warehousetest.Tenant(t)
			world := t.TempDir()
			if _, err := run(t, "chdb", "generate", "--customers", "60", "--months", "6", "--seed", "3", "--tenant", tenant, "--out", world); err != nil {
				t.Fatal(err)
			}
			count := func() string {
				out, err := run(t, backend, "sql", "--format", "csv", "SELECT count() AS n FROM invoices FINAL WHERE tenant = '"+tenant+"'")
				if err != nil {
					t.Fatal(err)
				}
				return strings.TrimSpace(out)
			}
			for i := 0; i < 2; i++ {
				out, err := run(t, backend, "ingest", "--tenant", tenant, "--rejects", t.TempDir(), world)
				if err != nil {
					t.Fatalf("ingest %d: %v\n%s", i, err, out)
				}
				if !strings.Contains(out, "total") {
					t.Errorf("ingest %d printed no summary:\n%s", i, out)
				}
			}
			n := count()
			if !strings.HasPrefix(n, "n\n") || n == "n\n0" {
				t.Fatalf("invoices after two loads: %q", n)
			}
			bad := filepath.Join(t.TempDir(), "invoices.csv")
			os.WriteFile(bad, []byte("invoice_id,customer_id,issued_at,due_at,amount,currency\n"+
				"B1,C1,2025-01-01,2025-01-15,10.00,EUR\n"+
				"B2,C1,2025-01-01,2024-12-15,10.00,EUR\n"+
				"B3,C1,2025-01-01,2025-01-15,-4,EUR\n"), 0o644)
			out, err := run(t, backend, "ingest", "--tenant", tenant, bad)
			var ee *exitError
			if !errors.As(err, &ee) || ee.code != 2 {
				t.Fatalf("bad rows: err %v, want exit code 2\n%s", err, out)
			}
			for _, want := range []string{bad + ":3: due_at", bad + ":4: amount"} {
				if !strings.Contains(out, want) {
					t.Errorf("output lacks %q:\n%s", want, out)
				}
			}
			if _, err := os.Stat(filepath.Join(filepath.Dir(bad), "invoices.rejects.csv")); err != nil {
				t.Errorf("rejects file: %v", err)
			}
			out, err = run(t, backend, "sql", "--format", "json", "SELECT invoice_id, amount FROM invoices FINAL WHERE tenant = '"+tenant+"' AND invoice_id LIKE 'B%'")
			if err != nil || strings.TrimSpace(out) != `{"amount":10.00,"invoice_id":"B1"}` {
				t.Errorf("good row of the bad file: %q, %v", out, err)
			}
		})
	}
}

func TestSQLErrors(t *testing.T) {
	if _, err := run(t, "chdb", "sql", "--format", "xml", "SELECT 1"); err == nil || !strings.Contains(err.Error(), "--format") {
		t.Errorf("bad format: %v", err)
	}
	if _, err := run(t, "chdb", "sql", "SELECT nope FROM system.one"); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("bad query: %v", err)
	}
}

// TestPureGoBuild builds the binary without cgo: it works against a
// ClickHouse server and says that the embedded store needs the cgo build.
func TestPureGoBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dsn := os.Getenv(warehousetest.ServerEnv)
	if dsn == "" {
		backends(t) // fails under CI
		t.Skipf("%s is not set", warehousetest.ServerEnv)
	}
	bin := filepath.Join(t.TempDir(), "duewise")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("CGO_ENABLED=0 go build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "--clickhouse", dsn, "sql", "--format", "csv", "SELECT 40 + 2 AS n").CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "n\n42" {
		t.Errorf("pure-Go binary on the ClickHouse server: %v\n%s", err, out)
	}
	out, err = exec.Command(bin, "--store", filepath.Join(t.TempDir(), "store"), "sql", "SELECT 1").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "needs the cgo build") || !strings.Contains(string(out), "--clickhouse") {
		t.Errorf("pure-Go binary on an embedded store: %v\n%s", err, out)
	}
}
