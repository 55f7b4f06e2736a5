package quality

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/duewise/duewise/training"
)

// checkGBM checks the synthetic benchmark's reference in res (run with
// work dir dir): without python3 and scikit-learn the target is not met
// and says why (a failure under CI=true, where make deps installs them);
// with them, the JSON of the script, the same AUCs as duewise's metric on
// its predictions, the target against the better fit, and (when probe) a
// monotone fit that respects its constraints on stepped test rows.
func checkGBM(t *testing.T, res *Result, dir string, probe bool) {
	t.Helper()
	g := res.GBM
	if g == nil {
		t.Fatal("no gradient-boosting reference in the result")
	}
	if g.NotComputed != "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("reference not computed under CI: %s", g.NotComputed)
		}
		if c := res.Checks[0]; c.Pass || !strings.HasPrefix(c.Reference, "not computed: ") || !strings.Contains(c.Target, "not judged") {
			t.Fatalf("target without its reference: %+v", c)
		}
		t.Logf("reference not computed (its report checked): %s", g.NotComputed)
		return
	}
	if g.Rows.Train == 0 || g.Rows.Valid == 0 || g.Rows.Test == 0 || g.Rows.TestBehind == 0 || g.Inputs != len(res.Inputs) || g.Increasing < 10 || g.SKLearn == "" {
		t.Fatalf("reference %+v (inputs %d)", g, len(res.Inputs))
	}
	for _, f := range []GBMFit{g.Constrained, g.Free} {
		if !(f.AUC > 0.6 && f.AUC < 1) || f.Trees < 1 || f.Trees > f.FittedTrees {
			t.Fatalf("fit %+v", f)
		}
	}
	// duewise's own AUC on the script's predictions: the same rows and
	// labels, so the same figure.
	rep := res.Reports[0].Report
	for _, o := range rep.Others {
		for name, want := range map[string]float64{"with monotonic_cst": g.Constrained.AUC, "without constraints": g.Free.AUC} {
			if strings.HasPrefix(o.Name, "scikit-learn gradient boosting "+name) && math.Abs(o.AUC["90d"]-want) > 1e-9 {
				t.Errorf("%s: AUC %.6f by duewise's metric, %.6f by the script", o.Name, o.AUC["90d"], want)
			}
		}
	}
	best := math.Max(g.Constrained.AUC, g.Free.AUC)
	auc := res.Checks[0].Duewise
	if c := res.Checks[0]; c.Pass != (auc >= best-SyntheticMaxGap) || !strings.HasPrefix(c.Reference, strconv.FormatFloat(best, 'f', 4, 64)) {
		t.Fatalf("target %+v, want judged against %.4f", c, best)
	}
	if gap := res.Checks[1]; math.Abs(gap.Duewise-(best-auc)) > 1e-12 {
		t.Fatalf("gap %+v, want %.4f", gap, best-auc)
	}
	if probe {
		checkMonotoneFit(t, filepath.Join(dir, "gbm"), g.Python)
	}
}

// checkMonotoneFit runs the script again on the rows it was given, with
// scored-only copies of test rows in which one input takes a step in its
// risky direction, and checks that the constrained fit's risk never falls
// there (the free fit's falls are logged).
func checkMonotoneFit(t *testing.T, dir, python string) {
	t.Helper()
	var spec struct {
		Inputs []struct {
			Name, Type string
			Direction  int
		}
	}
	raw, err := os.ReadFile(filepath.Join(dir, "spec.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &spec); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(dir, "rows.csv"))
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	// Pairs of scored rows: a test row, then the same row with input j
	// stepped by 0.5 + 25% of its value in its risky direction (up for
	// increases_risk, down for decreases_risk; NULL stays).
	type pair struct{ input, sign int }
	var pairs []pair
	out := recs
	for _, rec := range recs[1:] {
		if rec[0] != gbmTest || len(pairs) >= 4000 {
			continue
		}
		for j, in := range spec.Inputs {
			if in.Type != "numeric" || in.Direction == 0 || rec[2+j] == "" {
				continue
			}
			v, err := strconv.ParseFloat(rec[2+j], 64)
			if err != nil {
				t.Fatal(err)
			}
			base := append([]string{gbmScore, ""}, rec[2:]...)
			step := append([]string(nil), base...)
			step[2+j] = strconv.FormatFloat(v+float64(in.Direction)*(0.5+0.25*math.Abs(v)), 'g', -1, 64)
			out = append(out, base, step)
			pairs = append(pairs, pair{j, in.Direction})
		}
	}
	if len(pairs) < 100 {
		t.Fatalf("%d stepped rows", len(pairs))
	}
	probe := filepath.Join(dir, "probe.csv")
	pf, err := os.Create(probe)
	if err != nil {
		t.Fatal(err)
	}
	if err := csv.NewWriter(pf).WriteAll(out); err != nil {
		t.Fatal(err)
	}
	pf.Close()
	preds := filepath.Join(dir, "probe-predictions.csv")
	cmd := exec.Command(python, filepath.Join(dir, "reference_gbm.py"), filepath.Join(dir, "spec.json"), probe, preds)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	tests := 0
	for _, rec := range recs[1:] {
		if rec[0] == gbmTest {
			tests++
		}
	}
	p, err := readGBMPredictions(preds, tests+2*len(pairs))
	if err != nil {
		t.Fatal(err)
	}
	falls := [2]int{}
	for k, pr := range pairs {
		for m := range p {
			base, step := p[m][tests+2*k], p[m][tests+2*k+1]
			if step < base-1e-12 { // a step in the risky direction
				falls[m]++
				if m == 0 {
					t.Errorf("monotone fit: %s stepped towards risk (%+d) lowers the risk from %.6f to %.6f", spec.Inputs[pr.input].Name, pr.sign, base, step)
				}
			}
		}
	}
	t.Logf("%d stepped rows: the risk falls on %d with monotonic_cst, %d without", len(pairs), falls[0], falls[1])
}

// TestGBMChecks: the target is judged against the better of the two fits,
// and is not met, saying why, when the reference was not computed.
func TestGBMChecks(t *testing.T) {
	for _, tc := range []struct {
		name        string
		g           GBMReference
		auc         float64
		pass        bool
		ref, target string
	}{
		{"constrained better", GBMReference{Constrained: GBMFit{AUC: 0.80}, Free: GBMFit{AUC: 0.79}}, 0.785, true, "0.8000 ", "= 0.7800"},
		{"free better, missed", GBMReference{Constrained: GBMFit{AUC: 0.79}, Free: GBMFit{AUC: 0.81}}, 0.785, false, "0.8100 ", "= 0.7900"},
		{"free better, met", GBMReference{Constrained: GBMFit{AUC: 0.79}, Free: GBMFit{AUC: 0.81}}, 0.79, true, "0.8100 ", "= 0.7900"},
		{"not computed", GBMReference{NotComputed: "no python3"}, 0.9, false, "not computed: no python3", "not judged"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cs := gbmChecks(tc.auc, &tc.g)
			c := cs[0]
			if c.Pass != tc.pass || c.Duewise != tc.auc || !strings.HasPrefix(c.Reference, tc.ref) || !strings.Contains(c.Target, tc.target) {
				t.Fatalf("%+v", c)
			}
			if tc.g.NotComputed == "" {
				best, _ := tc.g.Best()
				if len(cs) != 4 || math.Abs(cs[1].Duewise-(best-tc.auc)) > 1e-12 {
					t.Fatalf("%+v", cs)
				}
			}
		})
	}
}

// TestGBMMissingPython: an interpreter that is missing, or lacks
// scikit-learn (the script's exit code 3, played by a shell script), is
// reported as the reference not computed, not as a failed benchmark.
func TestGBMMissingPython(t *testing.T) {
	dir := t.TempDir()
	noSklearn := filepath.Join(dir, "python-without-sklearn")
	if err := os.WriteFile(noSklearn, []byte("#!/bin/sh\necho 'No module named sklearn' >&2\nexit 3\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, python := range []string{filepath.Join(dir, "no-python3"), noSklearn} {
		_, _, err := gbmFit(context.Background(), python, t.TempDir(), gbmRows{train: &training.Dataset{}, test: &training.Dataset{}})
		if !errors.Is(err, errNoSklearn) {
			t.Fatalf("%s: err %v, want errNoSklearn", python, err)
		}
	}
}
