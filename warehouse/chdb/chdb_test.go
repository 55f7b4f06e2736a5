//go:build cgo

package chdb

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// TestGoPanicsSurviveConnect checks that chdb_connect did not take over the
// Go runtime's signal handlers: a nil dereference must stay a recoverable
// Go panic instead of killing the process.
func TestGoPanicsSurviveConnect(t *testing.T) {
	dir := t.TempDir()
	e, err := Open(context.Background(), Config{Path: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	recovered := func() (r any) {
		defer func() { r = recover() }()
		var p *int
		return *p
	}()
	if recovered == nil || !strings.Contains(recovered.(error).Error(), "nil pointer") {
		t.Fatalf("recovered %v, want a nil pointer runtime error", recovered)
	}
	// A second store in the same process is refused with a clear error;
	// the same store is shared.
	if _, err := Open(context.Background(), Config{Path: filepath.Join(dir, "other")}); err == nil || !strings.Contains(err.Error(), "one store per process") {
		t.Errorf("second store: got %v", err)
	}
	e2, err := Open(context.Background(), Config{Path: dir})
	if err != nil {
		t.Fatal(err)
	}
	e2.Close()
	if err := e.Exec(context.Background(), "SELECT 1", nil); err != nil {
		t.Errorf("first engine after the second closed: %v", err)
	}
}

func TestFindLibErrors(t *testing.T) {
	if _, err := FindLib("/no/such/libchdb.so"); err == nil || !strings.Contains(err.Error(), "/no/such/libchdb.so") {
		t.Errorf("explicit missing library: got %v", err)
	}
	if p, err := FindLib(""); err != nil || filepath.Base(p) != LibName {
		t.Errorf("search from the source tree: %q, %v", p, err)
	}
}
