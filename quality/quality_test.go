package quality

import (
	"bufio"
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/duewise/duewise/training"
	"github.com/duewise/duewise/warehouse"
	"github.com/duewise/duewise/warehouse/warehousetest"
)

// small are network options that keep the end-to-end tests to seconds.
func small() training.Options {
	return training.Options{Hidden: []int{16}, Epochs: 20, Patience: 3, Ensemble: 1}
}

// sharedData returns the path of a public dataset in ../shared/data
// beside the repository; it skips the test when the file is absent, and
// fails it under CI=true.
func sharedData(t *testing.T, name string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("..", "..", "shared", "data", name))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("public dataset missing under CI: %v", err)
		}
		t.Skipf("public dataset %s not available: %v", name, err)
	}
	return p
}

// checkResult checks what every benchmark result must hold and that it
// saves and reads back.
func checkResult(t *testing.T, res *Result, dataset string) {
	t.Helper()
	if res.Dataset != dataset || len(res.Checks) < 2 || len(res.Reports) == 0 || len(res.Steps) < 4 || res.Protocol == "" {
		t.Fatalf("incomplete result: %+v", res)
	}
	for _, c := range res.Checks {
		if math.IsNaN(c.Duewise) || math.IsInf(c.Duewise, 0) || c.Reference == "" {
			t.Errorf("check %+v", c)
		}
	}
	for _, in := range res.Inputs {
		for _, p := range []string{"sex", "age", "marriage", "education", "postcode_area"} {
			if strings.EqualFold(in, p) {
				t.Errorf("input %q used", in)
			}
		}
	}
	var b strings.Builder
	if err := res.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"metric", "duewise", "reference", "target", res.Checks[0].Metric} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, b.String())
		}
	}
	jp, tp, err := res.Save(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(jp)
	if err != nil {
		t.Fatal(err)
	}
	var back Result
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	if len(back.Checks) != len(res.Checks) || back.Checks[0] != res.Checks[0] {
		t.Errorf("saved checks %+v, want %+v", back.Checks, res.Checks)
	}
	if txt, err := os.ReadFile(tp); err != nil || !strings.Contains(string(txt), "calibration at 90 days") {
		t.Errorf("text report: %v\n%s", err, txt)
	}
	t.Logf("\n%s", b.String())
}

// TestSyntheticEndToEnd runs the synthetic benchmark on a small world on
// both backends: generate, load, snapshots, train, evaluate against the
// true hazards.
func TestSyntheticEndToEnd(t *testing.T) {
	probed := false // the reference's monotone fit is probed on the first backend only (the same world)
	warehousetest.Each(t, func(t *testing.T, e warehouse.Engine) {
		cfg := DefaultConfig()
		cfg.Dataset, cfg.Customers, cfg.Seed, cfg.WorkDir, cfg.Train = Synthetic, 800, 3, t.TempDir(), small()
		cfg.Tenant = warehousetest.Tenant(t)
		res, err := Run(context.Background(), e, cfg)
		if err != nil {
			t.Fatal(err)
		}
		checkResult(t, res, Synthetic)
		auc := res.Checks[0].Duewise
		if !(auc > 0.6) {
			t.Fatalf("AUC %.3f", auc)
		}
		checkGBM(t, res, cfg.WorkDir, !probed)
		probed = true
		// The true risk at the snapshot date is reported as the Bayes
		// bound; the hazards of truth.csv known then and those of later
		// invoices (which see the future) next to it, the latter ranking
		// better than the former.
		var risk, known, later, bound float64
		for _, o := range res.Reports[0].Report.Others {
			switch {
			case strings.HasPrefix(o.Name, "true risk at the snapshot date"):
				risk = o.AUC["90d"]
			case strings.HasPrefix(o.Name, "true hazards known at the snapshot date"):
				known = o.AUC["90d"]
			case strings.HasPrefix(o.Name, "true hazards with those of later invoices"):
				later = o.AUC["90d"]
			}
		}
		for _, c := range res.Checks {
			if strings.HasPrefix(c.Metric, "AUC gap to the true risk at the snapshot date") {
				bound = c.Duewise + auc
			}
		}
		if !(risk > 0.7) || math.Abs(risk-bound) > 1e-9 || !(known > 0.6) || !(later > known) {
			t.Fatalf("true risk %.4f (reported as the bound: %.4f), hazards known at the snapshot date %.4f, future-seeing %.4f (want above them)", risk, bound, known, later)
		}
		// Fairness tables: every attribute, postcode_area among them but
		// not an input; each group's rows add up to the test rows.
		if len(res.Groups) != 6 {
			t.Fatalf("%d attribute tables, want 6", len(res.Groups))
		}
		for _, g := range res.Groups {
			n := 0
			for _, v := range g.Values {
				n += v.Rows
			}
			if n != res.Reports[0].Report.Rows || strings.HasPrefix(g.Attribute, "postcode_area") == g.Input {
				t.Errorf("group %s: %d rows of %d, input %v", g.Attribute, n, res.Reports[0].Report.Rows, g.Input)
			}
		}
		// The same seed gives the same figures (a store that is kept:
		// the second load changes nothing).
		cfg.WorkDir = t.TempDir()
		again, err := Run(context.Background(), e, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if again.Checks[0] != res.Checks[0] || again.Checks[2] != res.Checks[2] {
			t.Fatalf("not reproducible: %+v vs %+v", again.Checks[:3], res.Checks[:3])
		}
	})
}

// TestIBMEndToEnd runs the IBM benchmark on the real file (2,466
// invoices) with a small network.
func TestIBMEndToEnd(t *testing.T) {
	path := sharedData(t, "WA_Fn-UseC_-Accounts-Receivable.csv")
	cfg := DefaultConfig()
	cfg.Dataset, cfg.Data, cfg.WorkDir, cfg.Train = IBMAR, path, t.TempDir(), small()
	cfg.Train.BatchSize = 64
	cfg.Tenant = warehousetest.Tenant(t)
	res, err := Run(context.Background(), warehousetest.Embedded(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	checkResult(t, res, IBMAR)
	// 1,728 invoices up to the 70% quantile (2013-05-06), 738 after.
	if !strings.Contains(res.Protocol, "(2013-05-06)") || !strings.Contains(res.Protocol, "tested on the 738 invoices") {
		t.Errorf("split: %s", res.Protocol)
	}
	if own, hist := res.Checks[1].Duewise, res.Checks[0].Duewise; !(hist > 0.8) || !(hist > own+0.1) {
		t.Fatalf("AUC with history %.3f, invoice-only %.3f: history must help", hist, own)
	}
}

// TestUCIEndToEnd runs the UCI benchmark on the first 4,000 card holders
// of the real file with 2 folds.
func TestUCIEndToEnd(t *testing.T) {
	src := sharedData(t, "UCI_Credit_Card.csv")
	sub := filepath.Join(t.TempDir(), "uci-head.csv")
	head(t, src, sub, 4001)
	cfg := DefaultConfig()
	cfg.Dataset, cfg.Data, cfg.WorkDir, cfg.Folds, cfg.Train = UCI, sub, t.TempDir(), 2, small()
	cfg.Tenant = warehousetest.Tenant(t)
	res, err := Run(context.Background(), warehousetest.Embedded(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	checkResult(t, res, UCI)
	if len(res.Reports) != 2 || !(res.Checks[0].Duewise > 0.7) || !(res.Checks[0].SD > 0) {
		t.Fatalf("folds %d, AUC %.3f ± %.3f", len(res.Reports), res.Checks[0].Duewise, res.Checks[0].SD)
	}
	// Every card holder is predicted exactly once, out of fold.
	seen := map[string]bool{}
	for _, p := range res.Predictions {
		if seen[p.CustomerID] || p.Fold < 1 || p.Fold > 2 || !(p.Risk > 0 && p.Risk < 1) {
			t.Fatalf("prediction %+v (seen %v)", p, seen[p.CustomerID])
		}
		seen[p.CustomerID] = true
	}
	if len(seen) != 4000 {
		t.Fatalf("%d card holders predicted, want 4000", len(seen))
	}
}

// head copies the first n lines of src to dst.
func head(t *testing.T, src, dst string, n int) {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	var b strings.Builder
	sc := bufio.NewScanner(in)
	for i := 0; i < n && sc.Scan(); i++ {
		b.WriteString(sc.Text() + "\n")
	}
	if err := os.WriteFile(dst, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestQuantileDay(t *testing.T) {
	tests := []struct {
		days []int32
		q    float64
		want int32
	}{
		{[]int32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 0.7, 7}, // pos 6.3 -> 7.3 -> 7
		{[]int32{10, 0, 20}, 0.5, 10},
		{[]int32{0, 10}, 0.7, 7},
		{[]int32{5}, 0.7, 5},
		{[]int32{3, 3, 3, 9}, 1, 9},
	}
	for _, tt := range tests {
		if got := quantileDay(tt.days, tt.q); got != tt.want {
			t.Errorf("quantileDay(%v, %v) = %d, want %d", tt.days, tt.q, got, tt.want)
		}
	}
}

func TestFoldsByCustomer(t *testing.T) {
	customers := []string{"a", "b", "a", "c", "d", "e", "b", "f", "g", "h", "i", "j"}
	f1 := foldsByCustomer(customers, 3, 7)
	if !slices.EqualFunc(f1, foldsByCustomer(customers, 3, 7), slices.Equal[[]int]) {
		t.Fatal("folds differ for the same seed")
	}
	seen := map[int]bool{}
	foldOf := map[string]int{}
	for f, rows := range f1 {
		if len(rows) < 3 {
			t.Errorf("fold %d has %d rows", f, len(rows))
		}
		for _, r := range rows {
			if seen[r] {
				t.Fatalf("row %d in two folds", r)
			}
			seen[r] = true
			if g, ok := foldOf[customers[r]]; ok && g != f {
				t.Fatalf("customer %s in folds %d and %d", customers[r], g, f)
			}
			foldOf[customers[r]] = f
		}
	}
	if len(seen) != len(customers) {
		t.Fatalf("%d of %d rows in a fold", len(seen), len(customers))
	}
}

func TestLabelledInvoices(t *testing.T) {
	d := &training.Dataset{AsOf: []int32{100, 100, 110, 120}, NumNames: []string{"invoice_terms_days"},
		Num: [][]float64{{30, 14, 30, math.NaN()}}}
	rows, pending := labelledInvoices(d, 130)
	// due 130 (known: due on the end day), 114, 140 (pending), 120 (no terms: due at issue).
	if !slices.Equal(rows, []int{0, 1, 3}) || pending != 1 {
		t.Fatalf("rows %v pending %d", rows, pending)
	}
}

func TestApplyUCILabels(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "labels.csv")
	os.WriteFile(p, []byte("tenant,customer_id,as_of,event\nu,1,2005-10-01,1\nu,2,2005-10-01,0\n"), 0o600)
	d := &training.Dataset{CustomerID: []string{"2", "1"}, Duration: []int32{0, 0}, Event: []uint8{1, 0}}
	if err := applyUCILabels(d, p); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(d.Event, []uint8{0, 1}) || !slices.Equal(d.Duration, []int32{31, 30}) {
		t.Fatalf("events %v durations %v", d.Event, d.Duration)
	}
	d.CustomerID[0] = "3"
	if err := applyUCILabels(d, p); err == nil || !strings.Contains(err.Error(), "no label for customer 3") {
		t.Fatalf("missing label: %v", err)
	}
	os.WriteFile(p, []byte("tenant,customer_id,as_of,event\nu,1,2005-10-01,yes\n"), 0o600)
	if err := applyUCILabels(d, p); err == nil || !strings.Contains(err.Error(), `labels.csv:2: event "yes"`) {
		t.Fatalf("bad label: %v", err)
	}
}

// TestTruthRisk checks Truth.Risk against values worked out by hand.
func TestTruthRisk(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "truth.csv"), []byte("tenant,customer_id,month,hazard,state\n"+
		"w,C1,2026-01-01,0.1,healthy\nw,C1,2026-02-01,0.5,strained\nw,C2,2026-01-01,0.2,healthy\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "invoices.csv"), []byte("tenant,invoice_id,customer_id,issued_at,due_at,amount,currency\n"+
		"w,I1,C1,2026-01-05,2026-01-19,10,EUR\nw,I2,C1,2026-02-05,2026-02-19,10,EUR\nw,I3,C2,2026-01-20,2026-02-03,10,EUR\n"), 0o600)
	tr, err := ReadTruth(dir, 30)
	if err != nil {
		t.Fatal(err)
	}
	at := func(s string) time.Time { v, _ := time.Parse(time.DateOnly, s); return v }
	// Behind days: I1 2026-02-18 (0.1), I2 2026-03-21 (0.5), I3 2026-03-05 (0.2).
	tests := []struct {
		cust    string
		asOf    string
		horizon int
		want    float64
	}{
		{"C1", "2026-02-01", 30, 0.1},              // only I1 (17 days)
		{"C1", "2026-02-01", 90, 1 - 0.9*0.5},      // I1 and I2
		{"C1", "2026-02-19", 30, 0.5},              // I1's day has passed; I2 on day 30: included
		{"C1", "2026-02-18", 0, 0.1},               // the behind day itself
		{"C1", "2026-03-22", 365, 0},               // both passed
		{"C2", "2026-01-01", 90, 0.2},              // C2's own invoice
		{"C1", "2025-12-01", 79, 1 - 0.9},          // I1 on day 79, I2 on day 110
		{"C1", "2025-12-01", 110, 1 - 0.9*(1-0.5)}, // both
	}
	for _, tt := range tests {
		got, ok := tr.Risk("w", tt.cust, at(tt.asOf), tt.horizon)
		if !ok || math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("Risk(%s, %s, %d) = %v, %v; want %v", tt.cust, tt.asOf, tt.horizon, got, ok, tt.want)
		}
	}
	if _, ok := tr.Risk("w", "C9", at("2026-01-01"), 90); ok {
		t.Error("unknown customer reported as known")
	}
	// Known at the snapshot date: an invoice issued later takes the hazard
	// of the latest one issued by then (I1 before I2's issue date), or of
	// the first invoice when none was issued yet.
	for _, tt := range []struct {
		cust    string
		asOf    string
		horizon int
		want    float64
	}{
		{"C1", "2026-02-01", 90, 1 - 0.9*0.9},  // I2 not issued yet: I1's 0.1 for it
		{"C1", "2026-02-10", 90, 1 - 0.9*0.5},  // both issued: their own hazards
		{"C1", "2026-02-19", 30, 0.5},          // only I2, issued
		{"C1", "2025-12-01", 110, 1 - 0.9*0.9}, // nothing issued: the first invoice's 0.1 for both
		{"C2", "2026-01-01", 90, 0.2},          // nothing issued: its first (and only) invoice
		{"C1", "2026-03-22", 365, 0},           // both passed
	} {
		got, ok := tr.RiskKnownAt("w", tt.cust, at(tt.asOf), tt.horizon)
		if !ok || math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("RiskKnownAt(%s, %s, %d) = %v, %v; want %v", tt.cust, tt.asOf, tt.horizon, got, ok, tt.want)
		}
	}
	os.WriteFile(filepath.Join(dir, "truth.csv"), []byte("tenant,customer_id,month,hazard,state\nw,C1,2026-01-01,1.5,healthy\n"), 0o600)
	if _, err := ReadTruth(dir, 30); err == nil || !strings.Contains(err.Error(), "truth.csv:2: hazard") {
		t.Fatalf("bad hazard: %v", err)
	}
}

func TestConfigValidate(t *testing.T) {
	ok := DefaultConfig()
	ok.Dataset, ok.Data, ok.WorkDir = UCI, "x.csv", "w"
	tests := []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"valid", func(*Config) {}, ""},
		{"unknown dataset", func(c *Config) { c.Dataset = "mnist" }, `dataset "mnist"`},
		{"no source file", func(c *Config) { c.Data = "" }, "source file"},
		{"no work dir", func(c *Config) { c.WorkDir = "" }, "work dir"},
		{"one fold", func(c *Config) { c.Folds = 1 }, "folds 1"},
		{"tiny world", func(c *Config) { c.Dataset, c.Customers = Synthetic, 10 }, "at least 100 customers"},
		{"short world", func(c *Config) { c.Dataset, c.Months = Synthetic, 15 }, "16 months"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ok
			tt.edit(&c)
			err := c.Validate()
			if (tt.want == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Validate() = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestResultTable(t *testing.T) {
	r := &Result{Dataset: "x", Checks: []Check{
		{Metric: "AUC", Duewise: 0.81, SD: 0.01, Reference: "0.80", Target: ">= 0.80", Pass: true},
		{Metric: "gap", Duewise: 0.03, Reference: "0", Target: "<= 0.02", Pass: false},
		{Metric: "info", Duewise: 0.5, Reference: "-", Pass: true},
	}}
	if r.Passed() || !slices.Equal(r.Failed(), []string{"gap"}) {
		t.Fatalf("passed %v failed %v", r.Passed(), r.Failed())
	}
	var b strings.Builder
	r.WriteText(&b)
	for _, want := range []string{"0.8100 ± 0.0100", "FAIL", "targets missed: gap"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("missing %q in\n%s", want, b.String())
		}
	}
	if m, sd := meanSD([]float64{1, 2, 3, 4}); m != 2.5 || math.Abs(sd-math.Sqrt(1.25)) > 1e-12 {
		t.Errorf("meanSD = %v, %v", m, sd)
	}
}
