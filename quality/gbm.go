package quality

import (
	"bufio"
	"bytes"
	"context"
	_ "embed"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/duewise/duewise/model"
	"github.com/duewise/duewise/training"
	"github.com/duewise/duewise/training/metrics"
)

// gbmScript fits the synthetic benchmark's reference (reference_gbm.py:
// scikit-learn HistGradientBoostingClassifier with and without
// monotonic_cst). Embedded so that the binary runs it from anywhere; it is
// written into the run's work dir next to the rows it reads.
//
//go:embed reference_gbm.py
var gbmScript []byte

// gbmHorizon is the horizon, in days, of the reference's label.
const gbmHorizon = 90

// Splits of the rows file the script reads.
const (
	gbmTrain = "train" // fitted
	gbmValid = "valid" // early stopping
	gbmTest  = "test"  // scored; in the AUC when labelled
	gbmScore = "score" // scored only
)

// errNoSklearn is gbmFit's error when no python3 with scikit-learn runs:
// the reference is then reported as not computed.
var errNoSklearn = errors.New("no python3 with scikit-learn (Debian: apt-get install python3-sklearn; make deps installs it)")

// pythons are the interpreters tried, in order: the one on PATH, then
// Debian's, into which apt installs python3-sklearn (a python3 on PATH
// from pyenv or a virtualenv may lack it).
var pythons = []string{"python3", "/usr/bin/python3"}

// GBMFit is one fit of the reference.
type GBMFit struct {
	// AUC is the 90-day AUC on the labelled test rows (the rows of
	// duewise's AUC).
	AUC float64 `json:"auc"`
	// Trees is the number of trees (scikit-learn stopped early on a random
	// tenth of the rows); FittedTrees the same, as the script reports it.
	Trees       int     `json:"trees"`
	FittedTrees int     `json:"fitted_trees"`
	Seconds     float64 `json:"seconds"`
}

// GBMReference is the synthetic benchmark's reference: scikit-learn
// gradient boosting trained on the rows, inputs and labels duewise's
// model was trained on, scored on the same test rows, with the model's
// declared directions as monotonic_cst (Constrained) and without (Free).
// The target is judged against the better of the two. A plain value.
type GBMReference struct {
	// NotComputed says why the reference is missing ("" when computed);
	// the other fields are then zero.
	NotComputed string `json:"not_computed,omitempty"`
	Python      string `json:"python,omitempty"`
	SKLearn     string `json:"sklearn,omitempty"`
	Rows        struct {
		Train      int `json:"train"`
		Valid      int `json:"valid"`
		Test       int `json:"test"`
		TestBehind int `json:"test_behind"`
		Scored     int `json:"scored"`
	} `json:"rows"`
	Inputs      int    `json:"inputs"`
	Increasing  int    `json:"increasing"`
	Decreasing  int    `json:"decreasing"`
	Constrained GBMFit `json:"constrained"`
	Free        GBMFit `json:"free"`
}

// Best returns the better test AUC of the two fits and which one it is.
func (g *GBMReference) Best() (float64, string) {
	if g.Free.AUC > g.Constrained.AUC {
		return g.Free.AUC, "free"
	}
	return g.Constrained.AUC, "constrained"
}

// gbmRows are the rows of one fit: the model's inputs, duewise's
// training and validation rows with the labels known at training time,
// and the rows to score. extra, when set, are scored only.
type gbmRows struct {
	features         []model.Feature
	train            *training.Dataset
	trainRows, valid []int
	test, extra      *training.Dataset
	seed             int64
}

// gbmLabel is a row's label at gbmHorizon as metrics.AUC counts it: "1"
// for an event at or before the horizon, "0" for a row event-free after
// it, "" for a row censored at or before it (neither).
func gbmLabel(d *training.Dataset, i int) string {
	switch {
	case d.Event[i] == 1 && d.Duration[i] <= gbmHorizon:
		return "1"
	case d.Duration[i] > gbmHorizon:
		return "0"
	}
	return ""
}

// write writes spec.json and rows.csv into dir (the script's input).
func (g gbmRows) write(dir string) error {
	type input struct {
		Name      string `json:"name"`
		Type      string `json:"type"`
		Direction int8   `json:"direction"`
	}
	spec := struct {
		Seed    int64   `json:"seed"`
		Horizon int     `json:"horizon_days"`
		Inputs  []input `json:"inputs"`
	}{Seed: g.seed, Horizon: gbmHorizon}
	header := []string{"split", "label"}
	for _, f := range g.features {
		spec.Inputs = append(spec.Inputs, input{Name: f.Name, Type: string(f.Type), Direction: f.Direction.Sign()})
		header = append(header, f.Name)
	}
	raw, err := json.Marshal(spec)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "spec.json"), raw, 0o644); err != nil {
		return err
	}
	f, err := os.Create(filepath.Join(dir, "rows.csv"))
	if err != nil {
		return err
	}
	defer f.Close()
	w := csv.NewWriter(bufio.NewWriterSize(f, 1<<20))
	if err := w.Write(header); err != nil {
		return err
	}
	put := func(d *training.Dataset, rows []int, split string, label bool) error {
		cols, cat := gbmColumns(d, g.features)
		rec := make([]string, len(header))
		for _, i := range rows {
			rec[0], rec[1] = split, ""
			if label {
				rec[1] = gbmLabel(d, i)
			}
			for j, c := range cols {
				switch {
				case c < 0:
					return fmt.Errorf("model input %q is not a column of the snapshots", g.features[j].Name)
				case cat[j]:
					rec[2+j] = d.Cat[c][i]
				default:
					rec[2+j] = ""
					if v := d.Num[c][i]; v == v { // NaN (NULL) stays empty
						rec[2+j] = strconv.FormatFloat(v, 'g', -1, 64)
					}
				}
			}
			if err := w.Write(rec); err != nil {
				return err
			}
		}
		return nil
	}
	all := func(d *training.Dataset) []int {
		rows := make([]int, d.Len())
		for i := range rows {
			rows[i] = i
		}
		return rows
	}
	if err := put(g.train, g.trainRows, gbmTrain, true); err != nil {
		return err
	}
	if err := put(g.train, g.valid, gbmValid, true); err != nil {
		return err
	}
	if err := put(g.test, all(g.test), gbmTest, true); err != nil {
		return err
	}
	if g.extra != nil {
		if err := put(g.extra, all(g.extra), gbmScore, false); err != nil {
			return err
		}
	}
	w.Flush()
	if err := errors.Join(w.Error(), f.Sync()); err != nil {
		return err
	}
	return nil
}

// gbmColumns returns the column of d of each feature (-1 when absent)
// and whether it is categorical.
func gbmColumns(d *training.Dataset, fs []model.Feature) ([]int, []bool) {
	cols, cat := make([]int, len(fs)), make([]bool, len(fs))
	for j, f := range fs {
		names := d.NumNames
		if cat[j] = f.Type == model.Categorical; cat[j] {
			names = d.CatNames
		}
		cols[j] = slices.Index(names, f.Name)
	}
	return cols, cat
}

// gbmFit writes the rows into dir, runs reference_gbm.py on them with
// python (the first of pythons that imports sklearn when ""), and returns its result and the
// predictions of the test rows, then the extra rows (constrained, free).
// It returns errNoSklearn (wrapped) when no interpreter with
// scikit-learn runs (none found, python not found, or the script's exit
// code 3).
func gbmFit(ctx context.Context, python, dir string, rows gbmRows) (*GBMReference, [2][]float64, error) {
	var preds [2][]float64
	if python == "" {
		python = findPython(ctx, "sklearn")
		if python == "" {
			return nil, preds, errNoSklearn
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, preds, err
	}
	script := filepath.Join(dir, "reference_gbm.py")
	if err := os.WriteFile(script, gbmScript, 0o644); err != nil {
		return nil, preds, err
	}
	if err := rows.write(dir); err != nil {
		return nil, preds, fmt.Errorf("write the reference's rows: %w", err)
	}
	out := filepath.Join(dir, "predictions.csv")
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, python, script, filepath.Join(dir, "spec.json"), filepath.Join(dir, "rows.csv"), out)
	// One OpenMP thread: on two shared cores its spinning threads took
	// most of an hour where one thread takes minutes.
	cmd.Env = append(os.Environ(), "OMP_NUM_THREADS=1", "OPENBLAS_NUM_THREADS=1")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) && ee.ExitCode() == 3 || errors.Is(err, exec.ErrNotFound) || errors.Is(err, fs.ErrNotExist) {
			return nil, preds, fmt.Errorf("%s: %w: %s", python, errNoSklearn, bytes.TrimSpace(stderr.Bytes()))
		}
		return nil, preds, fmt.Errorf("%s %s: %w: %s", python, script, err, bytes.TrimSpace(stderr.Bytes()))
	}
	g := &GBMReference{Python: python}
	if err := json.Unmarshal(stdout.Bytes(), g); err != nil {
		return nil, preds, fmt.Errorf("%s: output %q: %w", script, stdout.String(), err)
	}
	n := rows.test.Len()
	if rows.extra != nil {
		n += rows.extra.Len()
	}
	var err error
	if preds, err = readGBMPredictions(out, n); err != nil {
		return nil, preds, err
	}
	return g, preds, nil
}

// findPython returns the first of pythons that imports modules (e.g.
// "sklearn, pandas"), or "".
func findPython(ctx context.Context, modules string) string {
	for _, p := range pythons {
		if exec.CommandContext(ctx, p, "-c", "import "+modules).Run() == nil {
			return p
		}
	}
	return ""
}

// readGBMPredictions reads the script's predictions file: a header
// "constrained,free", then n rows.
func readGBMPredictions(path string, n int) ([2][]float64, error) {
	var preds [2][]float64
	f, err := os.Open(path)
	if err != nil {
		return preds, err
	}
	defer f.Close()
	r := csv.NewReader(bufio.NewReader(f))
	r.FieldsPerRecord = 2
	recs, err := r.ReadAll()
	if err != nil {
		return preds, fmt.Errorf("%s: %w", path, err)
	}
	if len(recs) != n+1 || !slices.Equal(recs[0], []string{"constrained", "free"}) {
		return preds, fmt.Errorf("%s: %d lines, header %v: want %d rows after the header constrained,free", path, len(recs), recs[0], n)
	}
	for k := range preds {
		preds[k] = make([]float64, n)
		for i, rec := range recs[1:] {
			if preds[k][i], err = strconv.ParseFloat(rec[k], 64); err != nil {
				return preds, fmt.Errorf("%s:%d:%d: %w", path, i+2, k+1, err)
			}
		}
	}
	return preds, nil
}

// gbmReferences returns the two fits' test predictions as references at
// gbmHorizon (nil at the other horizons) to evaluate next to the model.
func gbmReferences(preds [2][]float64) []training.Reference {
	h := slices.Index(metrics.Horizons, gbmHorizon)
	refs := []training.Reference{
		{Name: "scikit-learn gradient boosting with monotonic_cst (the declared directions), same rows and inputs"},
		{Name: "scikit-learn gradient boosting without constraints, same rows and inputs"},
	}
	for k := range refs {
		refs[k].Risk = make([][]float64, len(metrics.Horizons))
		refs[k].Risk[h] = preds[k]
	}
	return refs
}

// gbmChecks are the synthetic target, judged against the better of the
// reference's two fits, and the lines of each fit. When the reference was
// not computed, the target is not met and says why.
func gbmChecks(auc float64, g *GBMReference) []Check {
	if g.NotComputed != "" {
		return []Check{{Metric: "AUC behind within 90 days", Duewise: auc,
			Reference: "not computed: " + g.NotComputed,
			Target:    fmt.Sprintf("within %.2f of scikit-learn gradient boosting on the same rows: not judged", SyntheticMaxGap), Pass: false}}
	}
	best, which := g.Best()
	return []Check{
		{Metric: "AUC behind within 90 days", Duewise: auc,
			Reference: fmt.Sprintf("%.4f (scikit-learn gradient boosting on the same rows and inputs, the better of: with monotonic_cst %.4f, without %.4f)", best, g.Constrained.AUC, g.Free.AUC),
			Target:    fmt.Sprintf(">= reference - %.2f = %.4f", SyntheticMaxGap, best-SyntheticMaxGap), Pass: auc >= best-SyntheticMaxGap},
		{Metric: "AUC gap to the reference (90d)", Duewise: best - auc, Reference: "0 (" + which + " fit)", Pass: true},
		{Metric: "AUC 90d, scikit-learn gradient boosting with monotonic_cst (declared directions)", Duewise: g.Constrained.AUC,
			Reference: fmt.Sprintf("%d trees, %d increasing and %d decreasing of %d inputs, scikit-learn %s", g.Constrained.Trees, g.Increasing, g.Decreasing, g.Inputs, g.SKLearn), Pass: true},
		{Metric: "AUC 90d, scikit-learn gradient boosting without constraints", Duewise: g.Free.AUC,
			Reference: fmt.Sprintf("%d trees", g.Free.Trees), Pass: true},
	}
}
