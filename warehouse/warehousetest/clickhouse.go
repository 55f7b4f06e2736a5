package warehousetest

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/duewise/duewise/warehouse/chserver"
)

// ClickHouse is a dedicated ClickHouse server process for one test.
type ClickHouse struct {
	dir, conf string
	port      int
	cmd       *exec.Cmd
}

// StartClickHouse runs clickhouse-server with the project's test config
// (scripts/clickhouse, found from the test's folder two levels below the
// repository) on a free port; it is stopped when the test ends. Tests
// stop and start it to play an outage.
func StartClickHouse(t *testing.T) *ClickHouse {
	t.Helper()
	bin, err := exec.LookPath("clickhouse-server")
	if err != nil {
		t.Skip("clickhouse-server is not installed (make deps installs it)")
	}
	_ = bin
	dir := t.TempDir()
	for _, d := range []string{"log", "tmp", "user_files", "format_schemas", "conf"} {
		os.MkdirAll(filepath.Join(dir, d), 0o755)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	tmpl, err := os.ReadFile("../../scripts/clickhouse/config.xml")
	if err != nil {
		t.Fatal(err)
	}
	conf := strings.NewReplacer("@DATA@", dir, "@PORT@", strconv.Itoa(port)).Replace(string(tmpl))
	users, err := os.ReadFile("../../scripts/clickhouse/users.xml")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "conf", "users.xml"), users, 0o644)
	ch := &ClickHouse{dir: dir, conf: filepath.Join(dir, "conf", "config.xml"), port: port}
	os.WriteFile(ch.conf, []byte(conf), 0o644)
	ch.Run(t)
	t.Cleanup(func() { ch.Stop(t) })
	return ch
}

// DSN is the server's DSN (database default).
func (c *ClickHouse) DSN() string { return fmt.Sprintf("clickhouse://127.0.0.1:%d/default", c.port) }

// Run starts the server and waits until it answers.
func (c *ClickHouse) Run(t *testing.T) {
	t.Helper()
	c.cmd = exec.Command("clickhouse-server", "--config-file="+c.conf)
	c.cmd.Stdout, c.cmd.Stderr = io.Discard, io.Discard
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if e, err := chserver.Open(context.Background(), chserver.Config{DSN: c.DSN()}); err == nil {
			err = e.Exec(context.Background(), "SELECT 1", nil)
			e.Close()
			if err == nil {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("clickhouse-server on port %d did not start (logs in %s)", c.port, c.dir)
}

// Stop ends the server (SIGTERM, then SIGKILL) and waits for it.
func (c *ClickHouse) Stop(t *testing.T) {
	if c.cmd == nil || c.cmd.Process == nil {
		return
	}
	c.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { c.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		c.cmd.Process.Kill()
		<-done
	}
	c.cmd = nil
}
