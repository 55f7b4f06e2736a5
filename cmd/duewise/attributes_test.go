package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/duewise/duewise/warehouse/warehousetest"
)

// attributesYAML declares a bureau score (lower is riskier) and an
// income band.
const attributesYAML = `attributes:
  - name: bureau_score
    type: numeric
    label: {en: bureau score, nl: bureauscore}
    direction: decreases_risk
    min: 0
    max: 1000
  - name: income_band
    type: category
    label: {en: income band, nl: inkomensklasse}
    direction: none
    values: [low, middle, high]
`

// TestAttributesEndToEnd drives a tenant's own attributes through the
// real binary on both backends, as a tenant would: declare them, ingest a
// customers file that carries them (a bad value rejected at
// file:line, the good rows kept), take the onboarding snapshot, train an
// onboarding model on it, score the snapshot, and score a prospect through
// POST /v1/onboarding/risk, where the attribute is a reason named by its
// label in English and Dutch; bad attributes are 400s naming the field.
func TestAttributesEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	for _, backend := range backends(t) {
		t.Run(backend, func(t *testing.T) { attributesEndToEnd(t, backend) })
	}
}

func attributesEndToEnd(t *testing.T, backend string) {
	lib, _ := filepath.Abs("../../third_party/chdb/libchdb.so")
	work := t.TempDir()
	tenant := warehousetest.Tenant(t)
	c := &cli{bin: binary(t), store: filepath.Join(work, "store"),
		env: append(os.Environ(), "DUEWISE_LIBCHDB="+lib, "DUEWISE_MODELS="+filepath.Join(work, "models"))}
	var global []string
	if backend == "server" {
		global = []string{"--clickhouse", os.Getenv(warehousetest.ServerEnv)}
	}
	ok := func(args ...string) string { t.Helper(); return c.ok(t, work, append(global, args...)...) }
	ok("generate", "--customers", "400", "--months", "18", "--seed", "5", "--tenant", tenant, "--out", "world")
	ok("ingest", "--tenant", tenant, "--rejects", "rejects", "world")
	snap := []string{"features", "snapshot", "--tenant", tenant, "--level", "onboarding", "--from", "2000-01-01", "--to", "2030-01-01"}
	ok(append(snap, "--out", "before.parquet")...)
	before, err := loadSnapshots(filepath.Join(work, "before.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(before.NumNames) + len(before.CatNames); slices.Contains(before.NumNames, "bureau_score") || n == 0 {
		t.Fatalf("snapshot before declaring: %v %v", before.NumNames, before.CatNames)
	}

	// Declare: a bad file first.
	writeWork(t, work, "bad.yaml", "attributes:\n  - name: bureau_score\n    type: numeric\n    label: {en: bureau score, nl: bureauscore}\n    direction: lower\n")
	if _, errOut, code := c.run(t, work, append(global, "attributes", "declare", "--tenant", tenant, "--file", "bad.yaml")...); code == 0 ||
		!strings.Contains(errOut, `bad.yaml:5:5: attributes[0].direction: "lower": want increases_risk, decreases_risk or none`) {
		t.Fatalf("bad declaration: exit %d\n%s", code, errOut)
	}
	writeWork(t, work, "attributes.yaml", attributesYAML)
	if out := ok("attributes", "declare", "--tenant", tenant, "--file", "attributes.yaml"); !strings.Contains(out, "declared version 1") {
		t.Fatalf("declare: %s", out)
	}
	if out := ok("attributes", "show", "--tenant", tenant); !strings.Contains(out, "bureau_score  numeric   decreases_risk  [0, 1000]") {
		t.Fatalf("show:\n%s", out)
	}

	// The customers file again, with the attributes: a low bureau score
	// for the customers that fell behind.
	behind := map[string]bool{}
	for i, id := range before.CustomerID {
		behind[id] = before.Event[i] == 1
	}
	rows := readCSV(t, filepath.Join(work, "world", "customers.csv"))
	rng := rand.New(rand.NewPCG(5, 5))
	rows[0] = append(rows[0], "bureau_score", "income_band")
	for i := 1; i < len(rows); i++ {
		score := 620 + rng.IntN(380)
		if behind[rows[i][slices.Index(rows[0], "customer_id")]] {
			score = 150 + rng.IntN(350)
		}
		rows[i] = append(rows[i], fmt.Sprint(score), []string{"low", "middle", "high"}[rng.IntN(3)])
	}
	bad := slices.Clone(rows[1])
	bad[len(bad)-2] = "1200"
	rows = append(rows, bad)
	writeCSV(t, filepath.Join(work, "attrs", "customers.csv"), rows)
	out, errOut, code := c.run(t, work, append(global, "ingest", "--tenant", tenant, "--rejects", "rejects", filepath.Join("attrs", "customers.csv"))...)
	if code != 2 || !strings.Contains(out+errOut, fmt.Sprintf("customers.csv:%d: bureau_score: 1200 out of the declared range [0, 1000]", len(rows))) {
		t.Fatalf("ingest with attributes: exit %d\n%s%s", code, out, errOut)
	}

	ok(append(snap, "--out", "after.parquet")...)
	after, err := loadSnapshots(filepath.Join(work, "after.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(after.NumNames, "bureau_score") || !slices.Contains(after.CatNames, "income_band") || after.Len() != before.Len() {
		t.Fatalf("snapshot after: %d rows (before %d), %v %v", after.Len(), before.Len(), after.NumNames, after.CatNames)
	}
	out = ok("train", "--kind", "onboarding", "--snapshots", "after.parquet", "--tenant", tenant, "--epochs", "30", "--hidden", "16", "--batch", "64", "--out", "models")
	if !strings.Contains(out, "model written to") || !regexp.MustCompile(`(?m)^bureau_score\s+decreases_risk\s+-\S+ \(0\.1 sd\)\s+\d+\s+0\s`).MatchString(out) {
		t.Fatalf("train (want bureau_score in the monotonicity audit, without violations):\n%s", out)
	}
	version := strings.TrimSpace(ok("models", "list", "--tenant", tenant, "--format", "ids"))
	ok("models", "promote", "--tenant", tenant, version)
	modelFile, _ := filepath.Glob(filepath.Join(work, "models", version+".model"))
	if len(modelFile) != 1 {
		t.Fatalf("model file of %s not found", version)
	}
	if out := ok("score", "--model", modelFile[0], "--snapshots", "after.parquet", "--reasons", "3", "--lang", "nl", "--out", "scores.csv"); !strings.Contains(out, fmt.Sprintf("wrote %d predictions", after.Len())) {
		t.Fatalf("score: %s", out)
	}
	scores := readCSV(t, filepath.Join(work, "scores.csv"))
	named := 0
	for _, r := range scores[1:] {
		if strings.Contains(r[len(r)-1], "ATTRIBUTE_BUREAU_SCORE: bureauscore ") {
			named++
		}
	}
	if scores[0][len(scores[0])-1] != "reasons" || named < len(scores)/4 {
		t.Errorf("score --reasons: column %q, the bureau score among the top 3 reasons of %d of %d rows", scores[0][len(scores[0])-1], named, len(scores)-1)
	}
	key := strings.TrimSpace(ok("keys", "create", "--tenant", tenant, "--scopes", "score", "--quiet"))

	url := serveAttributes(t, c, work, global)
	post := func(lang string, body map[string]any) (int, map[string]any) {
		t.Helper()
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest("POST", url+"/v1/onboarding/risk?lang="+lang, bytes.NewReader(b))
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, m
	}
	prospect := func(attrs map[string]any) map[string]any {
		return map[string]any{"prospect_id": "P1", "customer_type": "consumer", "segment": "energy", "channel": "online", "payment_method": "bank_transfer",
			"country": "NL", "monthly_amount": 80, "attributes": attrs}
	}
	var risks []float64
	for _, lang := range []string{"en", "nl"} {
		code, m := post(lang, prospect(map[string]any{"bureau_score": 180, "income_band": "low"}))
		if code != 200 {
			t.Fatalf("onboarding %s: %d %v", lang, code, m)
		}
		want := map[string]string{"en": "bureau score 180", "nl": "bureauscore 180"}[lang]
		found := false
		for _, r := range m["reasons"].([]any) {
			r := r.(map[string]any)
			found = found || (r["code"] == "ATTRIBUTE_BUREAU_SCORE" && r["text"] == want && r["direction"] == "increases_risk")
		}
		if !found {
			t.Errorf("%s reasons %v: want ATTRIBUTE_BUREAU_SCORE %q raising the risk", lang, m["reasons"], want)
		}
		risks = append(risks, m["probabilities"].(map[string]any)["90d"].(float64))
	}
	_, high := post("en", prospect(map[string]any{"bureau_score": 950, "income_band": nil}))
	if r := high["probabilities"].(map[string]any)["90d"].(float64); !(r < risks[0]) {
		t.Errorf("p_90d %v at bureau score 950, %v at 180: want lower", r, risks[0])
	}
	for _, tc := range []struct {
		attrs map[string]any
		field string
	}{
		{map[string]any{"shoe_size": 44}, "attributes.shoe_size"},
		{map[string]any{"bureau_score": "high"}, "attributes.bureau_score"},
		{map[string]any{"bureau_score": 1001}, "attributes.bureau_score"},
		{map[string]any{"income_band": "rich"}, "attributes.income_band"},
		{map[string]any{"income_band": 3}, "attributes.income_band"},
	} {
		if code, m := post("en", prospect(tc.attrs)); code != 400 || m["field"] != tc.field {
			t.Errorf("attributes %v: %d %v, want 400 naming %s", tc.attrs, code, m, tc.field)
		}
	}
}

// serveAttributes starts `duewise serve` on a free port until the test
// ends and returns its URL.
func serveAttributes(t *testing.T, c *cli, work string, global []string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(c.bin, append(append([]string{"--store", c.store}, global...), "serve", "--addr", addr, "--audit-spool", filepath.Join(work, "spool"))...)
	cmd.Dir, cmd.Env = work, c.env
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
		}
	})
	until := time.Now().Add(60 * time.Second)
	for {
		if resp, err := http.Get("http://" + addr + "/healthz"); err == nil {
			resp.Body.Close()
			return "http://" + addr
		}
		select {
		case err := <-done:
			t.Fatalf("serve exited: %v\n%s", err, log.String())
		default:
		}
		if time.Now().After(until) {
			t.Fatalf("serve did not start:\n%s", log.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func writeWork(t *testing.T, dir, name, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func writeCSV(t *testing.T, path string, rows [][]string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	w.WriteAll(rows)
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}
