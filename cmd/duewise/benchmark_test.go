package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBenchmarkQuality drives `duewise benchmark quality` on a small
// synthetic world: the table, the saved reports and the exit status.
func TestBenchmarkQuality(t *testing.T) {
	out := t.TempDir()
	stdout, err := run(t, "chdb", "benchmark", "quality", "--dataset", "synthetic", "--customers", "400", "--seed", "2",
		"--hidden", "8", "--tenant", "bench-cli-synthetic", "--out", out)
	var ee *exitError
	switch {
	case err == nil:
	case errors.As(err, &ee) && ee.code == 3 && strings.Contains(err.Error(), "quality targets missed on synthetic"):
	default:
		t.Fatalf("benchmark: %v\n%s", err, stdout)
	}
	for _, want := range []string{"metric", "duewise", "reference", "target", "AUC behind within 90 days", "true hazards", "saved "} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
	for _, f := range []string{"quality-synthetic.json", "quality-synthetic.txt"} {
		if st, err := os.Stat(filepath.Join(out, f)); err != nil || st.Size() == 0 {
			t.Errorf("%s: %v", f, err)
		}
	}
	if _, err := run(t, "chdb", "benchmark", "quality", "--dataset", "mnist"); err == nil || !strings.Contains(err.Error(), `dataset "mnist"`) {
		t.Errorf("unknown dataset: %v", err)
	}
	if _, err := run(t, "chdb", "benchmark", "quality", "--dataset", "uci", "--data", filepath.Join(out, "missing.csv")); err == nil || !strings.Contains(err.Error(), "missing.csv") {
		t.Errorf("missing file: %v", err)
	}
}
