package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestNotebooks executes every notebook in notebooks/ with Debian's
// jupyter-nbconvert (that `make test` installs with pandas, scikit-learn
// and matplotlib) against the binary of this build: a notebook that
// raises, or whose checks fail, fails the test.
func TestNotebooks(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the notebooks")
	}
	jupyter, err := exec.LookPath("jupyter")
	if err == nil {
		err = exec.Command(jupyter, "nbconvert", "--version").Run()
	}
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("no jupyter nbconvert (%v): `make test` installs Debian's jupyter-nbconvert", err)
		}
		t.Skipf("no jupyter nbconvert (%v): apt-get install jupyter-nbconvert python3-ipykernel python3-pandas python3-sklearn python3-matplotlib", err)
	}
	notebooks, err := filepath.Glob("../../notebooks/*.ipynb")
	if err != nil || len(notebooks) == 0 {
		t.Fatalf("no notebooks: %v", err)
	}
	// The test's own DUEWISE_ settings removed, the store and the models
	// are each notebook's own.
	c, _ := newCLI(t, "PYDEVD_DISABLE_FILE_VALIDATION=1", "MPLBACKEND=Agg")
	env := append(c.env, "DUEWISE_BIN="+c.bin)
	for _, nb := range notebooks {
		t.Run(strings.TrimSuffix(filepath.Base(nb), ".ipynb"), func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command(jupyter, "nbconvert", "--to", "notebook", "--execute", "--ExecutePreprocessor.timeout=900",
				"--output-dir", t.TempDir(), filepath.Base(nb))
			cmd.Dir = filepath.Dir(nb)
			cmd.Env = env
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("%s: %v\n%s", nb, err, out)
			}
		})
	}
}
