package api

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/duewise/duewise/model"
	"github.com/duewise/duewise/warehouse/warehousetest"
)

// The generator and the runtime its code imports, pinned.
const (
	oapiCodegen = "github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen@v2.4.1"
	oapiRuntime = "github.com/oapi-codegen/runtime@v1.9.0"
)

// TestGeneratedClient generates a Go client with oapi-codegen from the
// document a real server serves at /openapi.json and calls every
// operation of the document through it against that server
// (testdata/genclient): each must answer 2xx and decode into the
// client's types.
func TestGeneratedClient(t *testing.T) {
	if testing.Short() {
		t.Skip("downloads and builds the client generator")
	}
	f := setup(t, warehousetest.Server(t))
	sv := f.start(t, opts{})
	resp, err := http.Get(sv.url + "/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET /openapi.json: %d %v", resp.StatusCode, err)
	}

	dir := t.TempDir()
	t.Run("redocly lint", func(t *testing.T) { redoclyLint(t, doc) })
	prog, err := os.ReadFile("testdata/genclient/main.go")
	if err != nil {
		t.Fatal(err)
	}
	c := f.customersA[0]
	bodies, _ := json.Marshal(map[string]any{
		"inlineRisk":     map[string]any{"signals": map[string]any{"tenure_days": 100, "late_share_365d": 0.2}},
		"batchRisk":      map[string]any{"customer_ids": []string{c, f.customersA[1]}},
		"onboardingRisk": onboardingBody(),
		"invoiceRisk":    map[string]any{"customer_id": c, "amount": 80, "terms_days": 14},
		"events": map[string]any{"customer_events": []any{map[string]any{"event_id": "gen-1", "customer_id": c,
			"occurred_at": "2026-01-02T10:00:00Z", "kind": "contact", "detail": "generated client"}}},
	})
	for name, b := range map[string][]byte{"openapi.json": doc, "main.go": prog, "bodies.json": bodies,
		"go.mod": []byte("module genclient\n\ngo 1.26\n")} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	goCmd(t, dir, "run", oapiCodegen, "-generate", "types,client", "-package", "main", "-o", "client.gen.go", "openapi.json")
	goCmd(t, dir, "get", oapiRuntime)
	goCmd(t, dir, "mod", "tidy")
	out := goCmd(t, dir, "run", ".", "-url", sv.url, "-key", f.keyAdmin, "-customer", c,
		"-version", f.versions[model.Behaviour], "-bodies", "bodies.json")

	got := map[string]map[string]any{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		var r map[string]any
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("genclient printed %q: %v", sc.Text(), err)
		}
		got[r["op"].(string)] = r
	}
	for path, item := range f.v.doc["paths"].(map[string]any) {
		for method, op := range item.(map[string]any) {
			id, _ := op.(map[string]any)["operationId"].(string)
			r, ok := got[id]
			switch {
			case !ok:
				t.Errorf("%s %s (%s): not called by testdata/genclient", strings.ToUpper(method), path, id)
			case r["err"] != nil:
				t.Errorf("%s: the generated client failed: %v", id, r["err"])
			case r["status"].(float64) >= 300 || r["decoded"] != true:
				t.Errorf("%s: status %v, decoded %v", id, r["status"], r["decoded"])
			}
		}
	}
}

// RedoclyEnv names the environment variable with the path of the redocly
// command (`make test` installs the pinned @redocly/cli and sets it).
const RedoclyEnv = "DUEWISE_REDOCLY"

// redoclyLint lints doc with redocly and the repository's redocly.yaml:
// no error, no warning. Without DUEWISE_REDOCLY it is skipped, except
// under CI (CI=true), where it fails.
func redoclyLint(t *testing.T, doc []byte) {
	bin := os.Getenv(RedoclyEnv)
	if bin == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not set: run the tests through `make test` (it installs @redocly/cli)", RedoclyEnv)
		}
		t.Skipf("%s is not set: `make test` installs @redocly/cli and sets it", RedoclyEnv)
	}
	p := filepath.Join(t.TempDir(), "openapi.json")
	if err := os.WriteFile(p, doc, 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := filepath.Abs("../../redocly.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "lint", "--config", cfg, "--format", "stylish", p)
	cmd.Env = append(os.Environ(), "REDOCLY_TELEMETRY=off", "REDOCLY_SUPPRESS_UPDATE_NOTICE=true")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Your API description is valid") || strings.Contains(string(out), "You have") {
		t.Fatalf("redocly lint of the served /openapi.json: %v\n%s", err, out)
	}
}

// goCmd runs the go command in dir and returns its standard output.
func goCmd(t *testing.T, dir string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return out
}
