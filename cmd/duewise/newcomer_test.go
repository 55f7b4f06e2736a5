package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// newCLI returns the shared binary on a fresh embedded store in a fresh
// folder, with DUEWISE_* settings of the test's own environment removed and
// env added.
func newCLI(t *testing.T, env ...string) (*cli, string) {
	t.Helper()
	lib, _ := filepath.Abs("../../third_party/chdb/libchdb.so")
	work := t.TempDir()
	var clean []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "DUEWISE_") {
			clean = append(clean, kv)
		}
	}
	clean = append(clean, "DUEWISE_LIBCHDB="+lib, "DUEWISE_MODELS="+filepath.Join(work, "models"))
	return &cli{bin: sharedBinary(t), store: filepath.Join(work, "store"), env: append(clean, env...)}, work
}

// fails runs a command that must fail and returns its stderr.
func (c *cli) fails(t *testing.T, dir string, args ...string) string {
	t.Helper()
	out, errOut, code := c.run(t, dir, args...)
	if code == 0 {
		t.Fatalf("duewise %s: exit 0, want an error\n%s", strings.Join(args, " "), out)
	}
	return errOut
}

// tty runs a command that must succeed on a terminal (util-linux script
// gives it one) and returns what it wrote there, stdout and stderr.
func (c *cli) tty(t *testing.T, dir string, args ...string) string {
	t.Helper()
	script, err := exec.LookPath("script")
	if err != nil {
		t.Skipf("no script(1) to give the command a terminal: %v", err)
	}
	line := shellQuote(c.bin) + " --store " + shellQuote(c.store)
	for _, a := range args {
		line += " " + shellQuote(a)
	}
	cmd := exec.Command(script, "-qec", line, "/dev/null")
	cmd.Dir, cmd.Env = dir, c.env
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("duewise %s on a terminal: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.ReplaceAll(string(out), "\r\n", "\n")
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// hasBar reports whether a terminal's output holds the final progress bar
// of name: drawn over with \r, at 100%, with the count and the time taken.
func hasBar(out, name, count string) bool {
	i := strings.LastIndex(out, "\r"+name+" ")
	if i < 0 {
		return false
	}
	last := out[i:]
	last = last[:strings.IndexByte(last+"\n", '\n')]
	return strings.Contains(last, "100%") && strings.Contains(last, " "+count+" ") && strings.Contains(last, " in ")
}

// okWarns runs a command that must succeed and returns its stdout and
// its stderr.
func (c *cli) okWarns(t *testing.T, dir string, args ...string) (string, string) {
	t.Helper()
	out, errOut, code := c.run(t, dir, args...)
	if code != 0 {
		t.Fatalf("duewise %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
	}
	return out, errOut
}

// TestNewcomerPath runs the real binary on a store of its own.
//
// Tenants: every command takes its tenant from --tenant, else
// DUEWISE_TENANT, else the only tenant in the store (or in the snapshot,
// for train), else fails naming the tenants and how to choose;
// --all-tenants acts on every tenant where that is a real use.
//
// Warnings, not silence: a reference date after the end of the data, an
// evaluation on the model's training rows, a load that gives stored rows
// different values.
func TestNewcomerPath(t *testing.T) {
	t.Parallel() // a process and a store of its own
	c, work := newCLI(t)
	// An empty store: nothing to choose from.
	if e := c.fails(t, work, "keys", "create", "--scopes", "score"); !strings.Contains(e, "holds no data yet: give --tenant T or set DUEWISE_TENANT=T") {
		t.Errorf("keys create on an empty store: %q", e)
	}

	// One tenant, loaded from rows that name it: every command finds it.
	c.ok(t, work, "generate", "--customers", "40", "--months", "12", "--seed", "2", "--tenant", "acme", "--out", "acme")
	c.ok(t, work, "ingest", "--rejects", "rejects", "acme")
	c.ok(t, work, "features", "snapshot", "--from", "2025-03-01", "--to", "2025-09-01", "--out", "acme.parquet")
	out := c.ok(t, work, "train", "--snapshots", "acme.parquet", "--epochs", "1", "--hidden", "4", "--batch", "64", "--out", "models")
	version := strings.TrimSpace(c.ok(t, work, "models", "list", "--format", "ids"))
	if !strings.HasPrefix(version, "behaviour-") || strings.Contains(version, "\n") {
		t.Fatalf("models list without a tenant: %q (train said %s)", version, out)
	}
	if out := c.ok(t, work, "models", "show", version); !strings.Contains(out, "tenant           acme") {
		t.Errorf("the model was not trained for the snapshot's only tenant:\n%s", out)
	}
	c.ok(t, work, "models", "promote", version)
	// The world ends on 2025-11-01: its last events are of 2025-10-31.
	const afterData = "lies after the end of the data"
	if out, e := c.okWarns(t, work, "features", "refresh", "--as-of", "2025-11-01"); !strings.Contains(out, "refreshed 40 customers") || strings.Contains(e, afterData) {
		t.Errorf("refresh: %s%s", out, e)
	}
	if _, e := c.okWarns(t, work, "features", "refresh"); !strings.Contains(e, "--as-of "+afterData) || !strings.Contains(e, "use --as-of 2025-11-01") || !strings.Contains(e, "end_of_data=2025-10-31") {
		t.Errorf("refresh as of today, a year after the data: %q", e)
	}
	if out, e := c.okWarns(t, work, "features", "show", "--customer", "C00000001", "--as-of", "2025-11-05"); !strings.Contains(out, "acme") || !strings.Contains(e, "--as-of "+afterData) || !strings.Contains(e, "days_after=5") {
		t.Errorf("features show: %s%s", out, e)
	}
	if _, e := c.okWarns(t, work, "evaluate", "--model", filepath.Join("models", version+".model"), "--snapshots", "acme.parquet"); !strings.Contains(e, "this is the snapshot the model was trained on") || !strings.Contains(e, "training_rows=") {
		t.Errorf("evaluate on the training snapshot: %q", e)
	}
	// Loading a file again changes nothing; a file with other values for
	// stored ids says so.
	if out, e := c.okWarns(t, work, "ingest", "acme/invoices.csv"); strings.Contains(e, "WARN") || !strings.Contains(out, "changed") {
		t.Errorf("the same invoices again: %s%s", out, e)
	}
	inv, _ := os.ReadFile(filepath.Join(work, "acme", "invoices.csv"))
	lines := strings.Split(string(inv), "\n")
	for i := 1; i <= 3; i++ {
		cells := strings.Split(lines[i], ",")
		cells[5] = "999.99" // amount
		lines[i] = strings.Join(cells, ",")
	}
	os.MkdirAll(filepath.Join(work, "fix"), 0o755)
	os.WriteFile(filepath.Join(work, "fix", "invoices.csv"), []byte(strings.Join(lines, "\n")), 0o644)
	if _, e := c.okWarns(t, work, "ingest", "fix/invoices.csv"); !strings.Contains(e, "replaced stored rows") || !strings.Contains(e, "changed=3 ") || !strings.Contains(e, `example="invoice_id I000000`) {
		t.Errorf("changed invoices: %q", e)
	}
	key := c.ok(t, work, "keys", "create", "--scopes", "score", "--name", "k")
	if !strings.Contains(key, "for tenant acme") {
		t.Errorf("keys create: %s", key)
	}
	if out := c.tty(t, work, "score", "--all", "--out", "scores.csv"); !strings.Contains(out, "scored 40 customers") || !hasBar(out, "score --all", "40 customers") {
		t.Errorf("score --all: %q", out)
	}
	if _, e := c.okWarns(t, work, "score", "--all", "--out", "scores.csv"); strings.Contains(e, "\r") {
		t.Errorf("score --all without a terminal draws a bar: %q", e)
	}
	// A file without a tenant column goes to the only tenant.
	os.WriteFile(filepath.Join(work, "customer_events.csv"), []byte("event_id,customer_id,occurred_at,kind,detail\nE-1,C00000001,2025-10-01T10:00:00Z,contact,\n"), 0o644)
	c.ok(t, work, "ingest", "customer_events.csv")
	if got := c.ok(t, work, "sql", "--format", "csv", "SELECT tenant FROM customer_events FINAL WHERE event_id = 'E-1'"); got != "tenant\nacme\n" {
		t.Errorf("rows without a tenant column: %q", got)
	}

	// Two tenants: a command that needs one names them and says how to choose.
	c.ok(t, work, "generate", "--customers", "30", "--months", "12", "--seed", "3", "--tenant", "demo", "--out", "demo")
	c.ok(t, work, "ingest", "--rejects", "rejects", "demo")
	for _, args := range [][]string{
		{"models", "list"},
		{"keys", "create", "--scopes", "score"},
		{"features", "show", "--customer", "C00000001"},
		{"ingest", "customer_events.csv"},
	} {
		e := c.fails(t, work, args...)
		if !strings.Contains(e, "holds 2 tenants (acme, demo): choose one with --tenant T or DUEWISE_TENANT=T") || strings.Contains(e, "--all-tenants") {
			t.Errorf("%v with two tenants: %q", args, e)
		}
	}
	if e := c.fails(t, work, "features", "refresh", "--as-of", "2025-11-01"); !strings.Contains(e, "(acme, demo)") || !strings.Contains(e, "or --all-tenants for every tenant") {
		t.Errorf("refresh with two tenants: %q", e)
	}
	// On a terminal, long commands draw a progress bar (stderr); elsewhere
	// they do not.
	if out := c.tty(t, work, "features", "refresh", "--as-of", "2025-11-01", "--all-tenants"); !strings.Contains(out, "refreshed 70 customers") ||
		!hasBar(out, "features refresh", "70 customers") {
		t.Errorf("refresh --all-tenants on a terminal: %q", out)
	}
	if out := c.ok(t, work, "keys", "list", "--all-tenants"); !strings.Contains(out, "acme") {
		t.Errorf("keys list --all-tenants: %s", out)
	}
	if out := c.ok(t, work, "score", "--all", "--all-tenants", "--out", "all.csv"); !strings.Contains(out, "scored 40 customers") {
		t.Errorf("score --all --all-tenants (only acme has a model): %s", out)
	}
	// DUEWISE_TENANT picks one; --tenant wins over it.
	envDemo := &cli{bin: c.bin, store: c.store, env: append(append([]string(nil), c.env...), "DUEWISE_TENANT=demo")}
	if out := envDemo.ok(t, work, "models", "list"); strings.Contains(out, version) {
		t.Errorf("models list of tenant demo shows acme's model:\n%s", out)
	}
	if out := envDemo.ok(t, work, "models", "list", "--tenant", "acme"); !strings.Contains(out, version) {
		t.Errorf("--tenant acme over DUEWISE_TENANT=demo:\n%s", out)
	}

	// train: the snapshot's tenants.
	if out := c.tty(t, work, "features", "snapshot", "--all-tenants", "--from", "2025-03-01", "--to", "2025-12-01", "--out", "both.parquet"); !strings.Contains(out, "--to "+afterData) ||
		!hasBar(out, "features snapshot", "70 customers") {
		t.Errorf("snapshot past the data: %q", out)
	}
	if e := c.fails(t, work, "train", "--snapshots", "both.parquet", "--epochs", "1", "--hidden", "4", "--batch", "64", "--out", "models"); !strings.Contains(e, "the snapshot both.parquet holds 2 tenants (acme, demo)") || !strings.Contains(e, "--all-tenants") {
		t.Errorf("train on two tenants: %q", e)
	}
	if e := c.fails(t, work, "train", "--snapshots", "acme.parquet", "--tenant", "demo", "--epochs", "1", "--hidden", "4", "--batch", "64", "--out", "models"); !strings.Contains(e, "tenant demo: the snapshot acme.parquet holds rows of acme only") {
		t.Errorf("train for a tenant the snapshot lacks: %q", e)
	}
	out = c.tty(t, work, "train", "--snapshots", "both.parquet", "--all-tenants", "--epochs", "2", "--hidden", "4", "--batch", "64", "--out", "any")
	if !hasBar(out, "train", "2 epochs") || !strings.Contains(out, "\r\x1b[Kepoch   2/2") {
		t.Errorf("train on a terminal: %q", out)
	}
	v := strings.TrimSpace(out[strings.Index(out, "model written to any/")+len("model written to any/"):])
	v = v[:strings.Index(v, ".model")]
	if out := c.ok(t, work, "models", "show", "--registry", "any", "--tenant", "demo", v); !strings.Contains(out, "tenant           any") {
		t.Errorf("a model for any tenant:\n%s", out)
	}
}
