package main

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/duewise/duewise/simulation"
)

// TestSimulate drives `duewise simulate` as a user would: JSON of the
// documented shape, the same figures as a table, and --out worlds that
// `duewise ingest` loads and `duewise sql` checks against the figures.
func TestSimulate(t *testing.T) {
	dir := t.TempDir()
	args := []string{"simulate", "--customers", "1000", "--months", "14", "--seed", "3", "--horizon-months", "4",
		"--policy", "none", "--policy", "standard", "--policy", "default", "--bootstrap", "40", "--tenant", "simcli"}
	out, progress, err := runSplit(t, "chdb", nil, append(args, "--format", "json", "--out", dir)...)
	if err != nil {
		t.Fatalf("%v\n%s", err, progress)
	}
	var res map[string]any
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if res["seed"] != 3.0 || res["customers"] != 1000.0 || res["months"] != 14.0 || res["runs"] != 1.0 {
		t.Errorf("header %v", res)
	}
	metrics := map[string]map[string]any{}
	for _, p := range res["policies"].([]any) {
		pm := p.(map[string]any)
		ms := pm["metrics"].(map[string]any)
		for _, m := range simulation.Metrics {
			e, ok := ms[m].(map[string]any)
			ci, _ := e["ci95"].([]any)
			if !ok || len(ci) != 2 || e["mean"] == nil {
				t.Fatalf("%s: metric %s is %v, want {mean, ci95: [lo, hi]}", pm["policy"], m, ms[m])
			}
		}
		metrics[pm["policy"].(string)] = ms
	}
	if len(metrics) != 3 || metrics["default"] == nil {
		t.Fatalf("policies %v", res["policies"])
	}
	table, _, err := runSplit(t, "chdb", nil, args...)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"collected (EUR)", "customers_kept (share)", "dso_days (days)", "difference from standard (paired)", "actions per run"} {
		if !strings.Contains(table, want) {
			t.Errorf("table lacks %q:\n%s", want, table)
		}
	}
	for _, p := range []string{"none", "standard", "default"} {
		for _, f := range []string{"customers.csv", "invoices.csv", "payments.csv", "reminders.csv", "truth.csv"} {
			if _, err := os.Stat(filepath.Join(dir, p, f)); err != nil {
				t.Fatalf("--out: %v", err)
			}
		}
	}
	// The standard world's figures, checked with duewise sql: the money
	// received in the horizon (2025-09-01 .. 2026-01-01), and the contacts
	// (one per moment and channel for reminders, one per creditor event).
	if _, _, err := runSplit(t, "chdb", nil, "ingest", "--tenant", "simcli", "--rejects", t.TempDir(), filepath.Join(dir, "standard")); err != nil {
		t.Fatal(err)
	}
	q := func(sql string) float64 {
		t.Helper()
		out, _, err := runSplit(t, "chdb", nil, "sql", "--format", "csv", sql)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		v, err := strconv.ParseFloat(lines[len(lines)-1], 64)
		if err != nil {
			t.Fatalf("%q: %v", out, err)
		}
		return v
	}
	window := "BETWEEN toDateTime('2025-09-01 00:00:00', 'UTC') AND toDateTime('2025-12-31 23:59:59', 'UTC')"
	collected := q("SELECT toFloat64(sum(amount)) FROM payments FINAL WHERE tenant = 'simcli' AND paid_at " + window)
	if want := metrics["standard"]["collected"].(map[string]any)["mean"].(float64); math.Abs(collected-want) > 0.005 || collected == 0 {
		t.Errorf("collected: sql %v, simulate %v", collected, want)
	}
	contacts := q("SELECT (SELECT count() FROM (SELECT DISTINCT customer_id, sent_at, channel FROM reminders FINAL WHERE tenant = 'simcli' AND stage != 'collection' AND sent_at " + window + ")) + " +
		"(SELECT count() FROM customer_events FINAL WHERE tenant = 'simcli' AND startsWith(detail, 'creditor: ') AND occurred_at " + window + ")")
	if want := metrics["standard"]["contacts"].(map[string]any)["mean"].(float64); contacts != want || contacts == 0 {
		t.Errorf("contacts: sql %v, simulate %v", contacts, want)
	}
}

// TestGeneratePolicy: generate writes the standard world by default and
// another policy's with --policy; a bad policy file is refused with its
// place.
func TestGeneratePolicy(t *testing.T) {
	std, none := t.TempDir(), t.TempDir()
	for dir, p := range map[string]string{std: "standard", none: "none"} {
		if _, _, err := runSplit(t, "chdb", nil, "generate", "--customers", "200", "--months", "8", "--policy", p, "--out", dir); err != nil {
			t.Fatal(err)
		}
	}
	a, _ := os.ReadFile(filepath.Join(std, "reminders.csv"))
	b, _ := os.ReadFile(filepath.Join(none, "reminders.csv"))
	if bytes.Count(a, []byte("\n")) <= bytes.Count(b, []byte("\n")) {
		t.Errorf("standard wrote %d reminder lines, none %d: want more", bytes.Count(a, []byte("\n")), bytes.Count(b, []byte("\n")))
	}
	bad := filepath.Join(t.TempDir(), "p.yaml")
	os.WriteFile(bad, []byte("rules:\n  - name: r\n    finall: true\n"), 0o644)
	_, _, err := runSplit(t, "chdb", nil, "generate", "--customers", "20", "--months", "24", "--policy", bad, "--out", t.TempDir())
	if err == nil || !strings.Contains(err.Error(), bad+":3:5") {
		t.Errorf("bad policy file: %v", err)
	}
}
