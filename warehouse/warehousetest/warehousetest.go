// Package warehousetest opens the two warehouse backends for tests: the
// embedded chDB store (one per test process, since chDB allows one store
// per process) and the ClickHouse server named by the environment variable
// DUEWISE_TEST_CLICKHOUSE (scripts/test.sh starts one and sets it).
//
// Tests that share a backend keep apart by tenant: each test writes and
// reads its own tenant names.
package warehousetest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/duewise/duewise/warehouse"
	"github.com/duewise/duewise/warehouse/chserver"
	"github.com/duewise/duewise/warehouse/connect"
)

// ServerEnv names the environment variable with the test server's DSN.
const ServerEnv = "DUEWISE_TEST_CLICKHOUSE"

var store struct {
	once sync.Once
	dir  string
	err  error
}

// storeDir returns this test process's chDB store directory
// (DUEWISE_TEST_STORE when set).
func storeDir() (string, error) {
	store.once.Do(func() {
		if d := os.Getenv("DUEWISE_TEST_STORE"); d != "" {
			store.dir = d
			return
		}
		store.dir, store.err = os.MkdirTemp("", "duewise-chdb-")
	})
	return store.dir, store.err
}

// Embedded returns an engine on this test process's chDB store, closed
// when tb ends.
func Embedded(tb testing.TB) warehouse.Engine {
	tb.Helper()
	dir, err := storeDir()
	if err != nil {
		tb.Fatal(err)
	}
	e, err := connect.Open(context.Background(), connect.Config{Store: filepath.Join(dir, "store")})
	if err != nil {
		tb.Fatalf("open embedded store: %v", err)
	}
	tb.Cleanup(func() { e.Close() })
	return e
}

// Server returns an engine on the ClickHouse server of DUEWISE_TEST_CLICKHOUSE,
// closed when tb ends. Without the variable the test is skipped, except
// under CI (CI=true), where it fails: CI must test both backends.
func Server(tb testing.TB) warehouse.Engine {
	tb.Helper()
	dsn := os.Getenv(ServerEnv)
	if dsn == "" {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("%s is not set: run the tests through `make test` (scripts/test.sh starts a ClickHouse server)", ServerEnv)
		}
		tb.Skipf("%s is not set: `make test` starts a ClickHouse server and sets it", ServerEnv)
	}
	e, err := chserver.Open(context.Background(), chserver.Config{DSN: dsn})
	if err != nil {
		tb.Fatalf("open ClickHouse server: %v", err)
	}
	tb.Cleanup(func() { e.Close() })
	return e
}

// Each runs fn as a subtest on each backend: "chdb" and "server".
func Each(t *testing.T, fn func(t *testing.T, e warehouse.Engine)) {
	t.Helper()
	for _, b := range []struct {
		name string
		open func(testing.TB) warehouse.Engine
	}{{"chdb", Embedded}, {"server", Server}} {
		t.Run(b.name, func(t *testing.T) { fn(t, b.open(t)) })
	}
}

// Tenant returns a tenant name unique to this test run, for isolation on
// a shared backend.
func Tenant(tb testing.TB) string {
	tenantSeq.mu.Lock()
	tenantSeq.n++
	n := tenantSeq.n
	tenantSeq.mu.Unlock()
	return fmt.Sprintf("t%d_%d_%d", time.Now().UnixNano(), os.Getpid(), n)
}

var tenantSeq struct {
	mu sync.Mutex
	n  int
}
