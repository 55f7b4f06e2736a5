package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
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
