package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestCRMExample runs the example against a real `duewise serve` on a
// small world that ends this month: it posts a failed direct debit, sees
// the customer in the change feed with the follow-up to do now, and a
// second run resumes from the saved cursor without repeating it.
func TestCRMExample(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs duewise")
	}
	work := t.TempDir()
	bin := filepath.Join(work, "duewise")
	if out, err := exec.Command("go", "build", "-o", bin, "../../cmd/duewise").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	lib, _ := filepath.Abs("../../third_party/chdb/libchdb.so")
	store := filepath.Join(work, "store")
	env := append(os.Environ(), "DUEWISE_LIBCHDB="+lib, "DUEWISE_MODELS="+filepath.Join(work, "models"), "DUEWISE_TENANT=crm", "DUEWISE_STORE="+store)
	dw := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Dir, cmd.Env = work, env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("duewise %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	now := time.Now().UTC()
	start := time.Date(now.Year(), now.Month()-11, 1, 0, 0, 0, 0, time.UTC) // 12 months up to this one
	dw("generate", "--customers", "150", "--months", "12", "--seed", "4", "--tenant", "crm", "--start", start.Format("2006-01"), "--out", "world")
	dw("ingest", "--tenant", "crm", "--rejects", "rejects", "world")
	dw("features", "snapshot", "--tenant", "crm", "--from", start.AddDate(0, 3, 0).Format(time.DateOnly),
		"--to", start.AddDate(0, 9, 0).Format(time.DateOnly), "--every", "1mo", "--out", "snap.parquet")
	dw("train", "--snapshots", "snap.parquet", "--tenant", "crm", "--epochs", "2", "--hidden", "8", "--out", "models")
	dw("features", "refresh", "--tenant", "crm")
	dw("models", "promote", "--tenant", "crm", strings.TrimSpace(dw("models", "list", "--tenant", "crm", "--format", "ids")))
	key := strings.TrimSpace(dw("keys", "create", "--tenant", "crm", "--scopes", "score,events", "--quiet"))
	customer, invoice := firstDebitCustomer(t, dw)

	serve := exec.Command(bin, "serve", "--addr", "127.0.0.1:0")
	serve.Dir, serve.Env = work, env
	var log bytes.Buffer
	serve.Stdout, serve.Stderr = &log, &log
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { serve.Process.Kill(); serve.Wait() })
	var st struct{ API string }
	for deadline := time.Now().Add(60 * time.Second); st.API == ""; time.Sleep(50 * time.Millisecond) {
		if b, err := os.ReadFile(filepath.Join(store, "serve.json")); err == nil {
			json.Unmarshal(b, &st)
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not start:\n%s", log.String())
		}
	}

	events := filepath.Join(work, "events.json")
	os.WriteFile(events, fmt.Appendf(nil, `{"direct_debits": [{"attempt_id": "CRM-1", "invoice_id": %q, "customer_id": %q, "attempted_at": %q, "status": "failed", "reason": "AM04"}]}`,
		invoice, customer, now.Add(-time.Hour).Format(time.RFC3339)), 0o644)
	cfg := config{url: "http://" + st.API, key: key, cursorFile: filepath.Join(work, "cursor.txt"), once: true}
	// The first run reads the changes of the days before too; it starts
	// from the oldest.
	var out bytes.Buffer
	cfg.post = events
	if err := run(context.Background(), cfg, &out); err != nil {
		t.Fatal(err)
	}
	cfg.post = ""
	want := customer + ": "
	for deadline := time.Now().Add(30 * time.Second); !strings.Contains(out.String(), want); time.Sleep(500 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no change of %s in the feed after 30 s:\n%s\nserver:\n%s", customer, out.String(), log.String())
		}
		if err := run(context.Background(), cfg, &out); err != nil {
			t.Fatal(err)
		}
	}
	line := out.String()[strings.Index(out.String(), want):]
	line = line[:strings.IndexByte(line, '\n')]
	if !strings.Contains(out.String(), "posted "+events+": 1 rows accepted, 0 rejected") || !strings.Contains(line, "do now: direct_debit_follow_up") {
		t.Errorf("the example's output:\n%s", out.String())
	}
	// Resumed from the saved cursor: the change is not read again.
	var again bytes.Buffer
	if err := run(context.Background(), cfg, &again); err != nil || strings.Contains(again.String(), want) {
		t.Errorf("second run: %v\n%s", err, again.String())
	}
}

// firstDebitCustomer returns a customer paying by direct debit, not
// behind, and one of its invoices.
func firstDebitCustomer(t *testing.T, dw func(...string) string) (string, string) {
	out := dw("sql", "--format", "csv", `SELECT customer_id, max(invoice_id) FROM invoices FINAL WHERE customer_id IN
 (SELECT customer_id FROM features_latest FINAL WHERE status = 'ok' AND payment_method = 'direct_debit') GROUP BY customer_id ORDER BY customer_id LIMIT 1`)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	f := strings.Split(strings.ReplaceAll(lines[len(lines)-1], `"`, ""), ",")
	if len(lines) < 2 || len(f) != 2 {
		t.Fatalf("no direct-debit customer: %q", out)
	}
	return f[0], f[1]
}
