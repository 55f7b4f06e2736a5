package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestImportApplicationsThenTrain drives `duewise datasets import
// applications` as an analyst would: a file with bad rows is converted
// (exit code 2, file:line:column messages, protected columns named, the
// good rows written), and `duewise train --kind onboarding` trains on it.
func TestImportApplicationsThenTrain(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "apps.csv")
	var b strings.Builder
	b.WriteString("app_id,applied,amount,product,Age,outcome\n")
	for i := range 400 {
		outcome := "repaid"
		if i%4 == 0 || (i%7 == 0 && i%2 == 0) {
			outcome = "behind"
		}
		product := []string{"loan", "card", "lease"}[i%3]
		fmt.Fprintf(&b, "A%d,2024-%02d-%02d,%d,%s,%d,%s\n", i, 1+i%12, 1+i%28, 100+(i%4)*500+i, product, 20+i%50, outcome)
	}
	b.WriteString("A1,2024-05-01,10,loan,30,repaid\n") // line 402: duplicate id
	b.WriteString("A900,May 1,10,loan,30,repaid\n")    // line 403: bad date
	if err := os.WriteFile(src, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	rows := filepath.Join(dir, "apps.parquet")
	out, err := run(t, "chdb", "datasets", "import", "applications", src, "--id", "app_id", "--date", "applied", "--outcome", "outcome=behind", "--follow-up-days", "180", "--out", rows)
	var ee *exitError
	if !errors.As(err, &ee) || ee.code != 2 {
		t.Fatalf("bad rows: err %v, want exit code 2\n%s", err, out)
	}
	for _, want := range []string{
		src + `:402:1: app_id: duplicate id "A1" (first on line 3)`,
		src + `:403:2: applied: "May 1" is not a date`,
		"400 written to " + rows,
		"note: 1 protected attributes left out (never model inputs): Age (age)",
		"inputs: 1 numeric, 1 categorical",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	out, err = run(t, "chdb", "train", "--kind", "onboarding", "--snapshots", rows, "--tenant", "applications", "--epochs", "5", "--batch", "64", "--out", filepath.Join(dir, "models"))
	if err != nil {
		t.Fatalf("train: %v\n%s", err, out)
	}
	if !strings.Contains(out, "training a onboarding model on 400 rows x 2 inputs") {
		t.Fatalf("train output:\n%s", out)
	}
}
