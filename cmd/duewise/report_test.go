package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestReportInBrowser makes the model report of two trained models with
// the real binary, renders it in headless Chromium (Debian's chromium, that
// `make test` installs) and checks the page the browser built: every chart
// is there with its drawing, its numbers are those `duewise evaluate`
// prints for the same rows, and the screenshot shows drawn charts.
func TestReportInBrowser(t *testing.T) {
	browser := chromium(t)
	c, work, versions := twoModels(t)
	c.ok(t, work, "evaluate", "--model", "models/"+versions[0]+".model", "--snapshots", "test.parquet", "--out", "ev")
	// The first model as a file, the second as a registry version.
	c.ok(t, work, "report", "--model", "models/"+versions[0]+".model", "--compare", versions[1], "--snapshots", "test.parquet", "--out", "report.html")
	c.ok(t, work, "report", "--model", versions[0], "--snapshots", "test.parquet", "--format", "json", "--out", "report.json")
	if e := c.fails(t, work, "report", "--model", "no-such-model", "--snapshots", "test.parquet", "--out", "x.html"); !strings.Contains(e, "no-such-model is no file and no version in the registry") {
		t.Errorf("an unknown model: %q", e)
	}
	if _, err := os.Stat(filepath.Join(work, "x.html")); err == nil {
		t.Error("a failed report left a file")
	}

	page := filepath.Join(work, "report.html")
	dom := runBrowser(t, browser, work, "--dump-dom", "file://"+page)
	for _, id := range []string{"roc-30d", "roc-60d", "roc-90d", "calibration", "survival-band-0", "survival-band-1", "survival-segment-0",
		"auc-by-horizon", "brier-by-horizon", "reasons-0", "reasons-1", "drift-0", "drift-1"} {
		i := strings.Index(dom, `id="`+id+`"`)
		if i < 0 {
			t.Errorf("the page has no chart %s", id)
			continue
		}
		fig := dom[i:]
		if end := strings.Index(fig, "</figure>"); end > 0 {
			fig = fig[:end]
		}
		if !strings.Contains(fig, "<svg") || !(strings.Contains(fig, "<path") || strings.Contains(fig, "<polyline") || strings.Contains(fig, "<rect")) {
			t.Errorf("chart %s draws nothing: %.300s", id, fig)
		}
	}
	for _, id := range []string{"metrics", "difference-table", "monotonicity-table-0", "segment-table-0", "drift-table-0", "calibration-table-0"} {
		if !strings.Contains(dom, `id="`+id+`"`) {
			t.Errorf("the page has no table %s", id)
		}
	}
	var ev struct {
		Model struct {
			AUC   map[string]float64 `json:"auc"`
			Brier map[string]float64 `json:"brier"`
		} `json:"model"`
	}
	b, err := os.ReadFile(filepath.Join(work, "ev", "metrics.json"))
	if err != nil || json.Unmarshal(b, &ev) != nil || len(ev.Model.AUC) == 0 {
		t.Fatalf("evaluate's metrics.json: %v %s", err, b)
	}
	for metric, byHorizon := range map[string]map[string]float64{"auc": ev.Model.AUC, "brier": ev.Model.Brier} {
		for h, want := range byHorizon {
			cell := fmt.Sprintf(`data-model="%s" data-metric="%s" data-horizon="%s" data-value="%.4f"`, versions[0], metric, h, want)
			if !strings.Contains(dom, cell) {
				t.Errorf("the page does not show evaluate's %s at %s: no %s", metric, h, cell)
			}
		}
	}
	var js struct {
		Rows   int `json:"rows"`
		Models []struct {
			Version string `json:"version"`
		} `json:"models"`
	}
	if b, err := os.ReadFile(filepath.Join(work, "report.json")); err != nil || json.Unmarshal(b, &js) != nil || js.Rows == 0 || len(js.Models) != 1 || js.Models[0].Version != versions[0] {
		t.Errorf("report --format json: %v %+v", err, js)
	}

	shot := filepath.Join(work, "shot.png")
	runBrowser(t, browser, work, "--window-size=1280,2400", "--screenshot="+shot, "file://"+page)
	f, err := os.Open(shot)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	if colours, inked := inkOf(img); colours < 16 || inked < 0.02 {
		t.Errorf("the screenshot shows %d colours, %.3f of it not white: no charts drawn", colours, inked)
	}
}

// twoModels makes a world of 400 customers over 18 months in a fresh
// store, training rows of 2025 (train.parquet) and test rows of the first
// half of 2026 (test.parquet), and two behaviour models trained on them.
func twoModels(t *testing.T) (*cli, string, []string) {
	c, work := newCLI(t)
	c.ok(t, work, "generate", "--customers", "400", "--months", "18", "--seed", "5", "--tenant", "demo", "--out", "world")
	c.ok(t, work, "ingest", "world")
	c.ok(t, work, "features", "snapshot", "--from", "2025-03-01", "--to", "2025-12-01", "--every", "1mo", "--out", "train.parquet")
	c.ok(t, work, "features", "snapshot", "--from", "2026-01-01", "--to", "2026-06-01", "--every", "1mo", "--out", "test.parquet")
	var versions []string
	for _, epochs := range []string{"2", "4"} {
		out := c.ok(t, work, "train", "--snapshots", "train.parquet", "--epochs", epochs, "--hidden", "8", "--batch", "128", "--out", "models")
		_, after, ok := strings.Cut(out, "model written to models/")
		if !ok {
			t.Fatalf("train printed %q", out)
		}
		versions = append(versions, strings.TrimSuffix(strings.Fields(after)[0], ".model"))
	}
	return c, work, versions
}

// TestModelsCompareAndRollback compares two models on a snapshot file and
// on the customers of the audit (the same customers and day, so the same
// numbers), and rolls promotions back step by step.
func TestModelsCompareAndRollback(t *testing.T) {
	if testing.Short() {
		t.Skip("trains models")
	}
	c, work, v := twoModels(t)
	out := c.ok(t, work, "models", "compare", v[0], "models/"+v[1]+".model", "--snapshots", "test.parquet")
	for _, want := range []string{"A = " + v[0], "B = " + v[1], "90d", "A - B [95%]", "Harrell C"} {
		if !strings.Contains(out, want) {
			t.Errorf("models compare prints no %q:\n%s", want, out)
		}
	}
	// Every customer scored on 2026-02-01 (as the server's audit records
	// them): the rows are those of the snapshot of that day.
	c.ok(t, work, "sql", "INSERT INTO score_audit (tenant, customer_id, kind, scored_at) SELECT tenant, customer_id, 'behaviour', toDateTime('2026-02-01 10:00:00') FROM customers FINAL")
	c.ok(t, work, "sql", "INSERT INTO score_audit (tenant, customer_id, kind, scored_at) SELECT tenant, customer_id, 'behaviour', toDateTime('2025-06-01 10:00:00') FROM customers FINAL")
	c.ok(t, work, "features", "snapshot", "--from", "2026-02-01", "--to", "2026-02-01", "--every", "1mo", "--out", "day.parquet")
	type comparison struct {
		Rows        int `json:"rows"`
		Differences []struct {
			Horizon string `json:"horizon"`
			AUC     struct {
				A, B, Diff float64
				Valid      bool
			} `json:"auc"`
		} `json:"differences"`
	}
	var fromFile, fromAudit comparison
	for p, args := range map[*comparison][]string{&fromFile: {"--snapshots", "day.parquet"}, &fromAudit: {"--from-audit", "--since", "2026-01-15"}} {
		out := c.ok(t, work, append([]string{"models", "compare", v[0], v[1], "--format", "json"}, args...)...)
		if err := json.Unmarshal([]byte(out), p); err != nil {
			t.Fatalf("models compare %v: %v\n%s", args, err, out)
		}
	}
	if fromAudit.Rows == 0 || fromAudit.Rows != fromFile.Rows || len(fromAudit.Differences) != len(fromFile.Differences) {
		t.Fatalf("from the audit %d rows, from the snapshot of that day %d", fromAudit.Rows, fromFile.Rows)
	}
	for i, d := range fromAudit.Differences {
		if f := fromFile.Differences[i]; d.AUC.Valid != f.AUC.Valid || math.Abs(d.AUC.A-f.AUC.A) > 1e-9 || math.Abs(d.AUC.B-f.AUC.B) > 1e-9 {
			t.Errorf("%s: from the audit %+v, from the snapshot %+v", d.Horizon, d.AUC, f.AUC)
		}
	}
	// Without A and B: the served model and its shadow, as the audit
	// records them (serve --shadow).
	if e := c.fails(t, work, "models", "compare", "--from-audit", "--since", "2026-01-15"); !strings.Contains(e, "no behaviour scores with a shadow model") {
		t.Errorf("no shadow scores: %q", e)
	}
	c.ok(t, work, "sql", "INSERT INTO score_audit (tenant, customer_id, kind, scored_at, model_version, shadow_version) SELECT tenant, customer_id, 'behaviour', toDateTime('2026-02-01 11:00:00'), '"+v[0]+"', '"+v[1]+"' FROM customers FINAL")
	var fromShadow comparison
	if out := c.ok(t, work, "models", "compare", "--from-audit", "--since", "2026-01-15", "--format", "json"); json.Unmarshal([]byte(out), &fromShadow) != nil ||
		fromShadow.Rows != fromAudit.Rows || len(fromShadow.Differences) == 0 || fromShadow.Differences[2] != fromAudit.Differences[2] {
		t.Errorf("the served model against its shadow: %s", out)
	}
	if e := c.fails(t, work, "models", "compare", v[0], v[1], "--from-audit", "--since", "2027-01-01"); !strings.Contains(e, "no behaviour scores") {
		t.Errorf("no scores since: %q", e)
	}
	if e := c.fails(t, work, "models", "compare", v[0], v[1]); !strings.Contains(e, "--snapshots FILE, or --from-audit") {
		t.Errorf("no rows: %q", e)
	}

	// Promote A, then B; rollback gives A, then nothing earlier.
	c.ok(t, work, "models", "promote", v[0])
	c.ok(t, work, "models", "promote", v[1])
	if out := c.ok(t, work, "models", "rollback", "behaviour"); !strings.Contains(out, v[0]+" is again the active behaviour model") {
		t.Errorf("rollback: %q", out)
	}
	if out := c.ok(t, work, "models", "list"); !regexp.MustCompile(v[0] + `\s+behaviour\s+\S+ \S+\s+active`).MatchString(out) {
		t.Errorf("after the rollback: %s", out)
	}
	if e := c.fails(t, work, "models", "rollback", "behaviour"); !strings.Contains(e, "no earlier active model recorded") {
		t.Errorf("rollback past the first promotion: %q", e)
	}
	if out := c.ok(t, work, "models", "history", "behaviour"); strings.Count(out, "\n") != 4 || !strings.Contains(out, "rollback") {
		t.Errorf("history: %q", out)
	}
}

// chromium returns the path of the browser: missing, the test is skipped,
// except under CI (CI=true), where `make test` must have installed it.
func chromium(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("trains models and runs a browser")
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("no chromium: `make test` installs Debian's chromium")
	}
	t.Skip("no chromium (apt-get install chromium)")
	return ""
}

// runBrowser runs headless Chromium with args in a fresh profile and
// returns its standard output.
func runBrowser(t *testing.T, browser, dir string, args ...string) string {
	t.Helper()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
		"--disable-sync", "--no-first-run", "--user-data-dir=" + t.TempDir()}
	cmd := exec.Command(browser, append(base, args...)...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return string(out)
}

// inkOf returns the distinct colours of img and the share of its pixels
// that are not white.
func inkOf(img image.Image) (colours int, inked float64) {
	seen := map[uint32]bool{}
	r := img.Bounds()
	n := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			cr, cg, cb, _ := img.At(x, y).RGBA()
			seen[cr>>11<<10|cg>>11<<5|cb>>11] = true
			if cr < 0xf000 || cg < 0xf000 || cb < 0xf000 {
				n++
			}
		}
	}
	return len(seen), float64(n) / float64(r.Dx()*r.Dy())
}
