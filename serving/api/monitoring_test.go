package api

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"
)

// checkMonitoring checks deploy/grafana/duewise.json and
// deploy/prometheus/alerts.yml against the metrics a real server exposes
// (metrics, the body of its /metrics): every duewise_ series a panel or a
// rule reads is one the server has, the dashboard shows what operators
// need, and the rules pass `promtool check rules` and their unit tests
// (`promtool test rules`; DUEWISE_PROMTOOL, which `make test` sets, else
// promtool on the PATH).
func checkMonitoring(t *testing.T, metrics []byte) {
	served := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^# TYPE (\S+) (\S+)$`).FindAllSubmatch(metrics, -1) {
		name := string(m[1])
		served[name] = true
		if string(m[2]) == "histogram" {
			for _, suffix := range []string{"_bucket", "_sum", "_count"} {
				served[name+suffix] = true
			}
		}
	}
	series := regexp.MustCompile(`\bduewise_[a-z0-9_]+`)
	check := func(where, expr string) []string {
		names := series.FindAllString(expr, -1)
		for _, n := range names {
			if !served[n] {
				t.Errorf("%s reads %s, which the server does not expose", where, n)
			}
		}
		return names
	}

	b, err := os.ReadFile("../../deploy/grafana/duewise.json")
	if err != nil {
		t.Fatal(err)
	}
	type target struct {
		Expr string `json:"expr"`
	}
	var dash struct {
		Panels []struct {
			Title   string   `json:"title"`
			Type    string   `json:"type"`
			Targets []target `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatalf("deploy/grafana/duewise.json: %v", err)
	}
	read := map[string]bool{}
	for _, p := range dash.Panels {
		if p.Type == "row" {
			continue
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			for _, n := range check("panel "+p.Title, tg.Expr) {
				read[n] = true
			}
		}
	}
	// What the operators asked for: requests, latency quantiles, errors by
	// status, 429s, feature age, refresh duration, drift, the audit spool,
	// the warehouse.
	for _, need := range []string{"duewise_http_requests_total", "duewise_http_request_duration_seconds_bucket", "duewise_online_features_age_seconds",
		"duewise_refresh_full_duration_seconds_bucket", "duewise_event_to_score_seconds_bucket", "duewise_drift_psi", "duewise_score_drift_psi",
		"duewise_audit_spool_bytes", "duewise_audit_records_total", "duewise_warehouse_up"} {
		if !read[need] {
			t.Errorf("the dashboard shows no %s", need)
		}
	}
	limited := false
	for _, p := range dash.Panels {
		limited = limited || slices.ContainsFunc(p.Targets, func(tg target) bool { return strings.Contains(tg.Expr, `status="429"`) })
	}
	if !limited {
		t.Error("the dashboard has no panel of 429s")
	}

	rules := "../../deploy/prometheus/alerts.yml"
	b, err = os.ReadFile(rules)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Groups []struct {
			Rules []struct {
				Alert string `yaml:"alert"`
				Expr  string `yaml:"expr"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("%s: %v", rules, err)
	}
	for _, g := range doc.Groups {
		for _, r := range g.Rules {
			check("alert "+r.Alert, r.Expr)
		}
	}
	promtool := os.Getenv("DUEWISE_PROMTOOL")
	if promtool == "" {
		if promtool, err = exec.LookPath("promtool"); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatal("no promtool: run the tests through `make test` (it takes promtool out of Debian's prometheus package and sets DUEWISE_PROMTOOL)")
			}
			t.Skip("no promtool (make promtool, or apt-get install prometheus)")
		}
	}
	for _, args := range [][]string{{"check", "rules", "alerts.yml"}, {"test", "rules", "alerts_test.yml"}} {
		cmd := exec.Command(promtool, args...)
		cmd.Dir = filepath.Dir(rules)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}
