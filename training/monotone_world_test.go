package training

import (
	"context"
	"math"
	"testing"

	"github.com/duewise/duewise/datasets"
	"github.com/duewise/duewise/datasets/synth"
	"github.com/duewise/duewise/features"
	"github.com/duewise/duewise/model"
	"github.com/duewise/duewise/training/metrics"
	"github.com/duewise/duewise/warehouse"
	"github.com/duewise/duewise/warehouse/warehousetest"
)

// worldSnapshots generates a small synthetic world, loads it into the
// embedded store and returns its snapshots of every model kind, computed
// by package features: real rows, as `duewise features snapshot` writes
// them.
func worldSnapshots(t *testing.T, customers int) map[model.Kind]*Dataset {
	t.Helper()
	ctx := context.Background()
	gen := synth.DefaultConfig()
	gen.Customers, gen.Months, gen.Seed, gen.Out = customers, 24, 11, t.TempDir()
	gen.Tenant = warehousetest.Tenant(t)
	if _, err := synth.Generate(ctx, gen); err != nil {
		t.Fatal(err)
	}
	e := warehousetest.Embedded(t)
	if _, err := warehouse.Migrate(ctx, e, append(datasets.Migrations(), features.Migrations()...)); err != nil {
		t.Fatal(err)
	}
	lc := datasets.DefaultLoaderConfig()
	lc.Tenant, lc.RejectsDir = gen.Tenant, t.TempDir()
	l, err := datasets.NewLoader(e, lc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.LoadPaths(ctx, []string{gen.Out}); err != nil {
		t.Fatal(err)
	}
	from, to := gen.Start.AddDate(0, 6, 0), gen.Start.AddDate(0, gen.Months-3, 0)
	out := map[model.Kind]*Dataset{}
	for kind, level := range map[model.Kind]string{model.Behaviour: features.LevelCustomer, model.Invoice: features.LevelInvoice, model.Onboarding: features.LevelOnboarding} {
		rr, err := features.Snapshot(ctx, e, features.SnapshotOptions{Tenant: gen.Tenant, From: from, To: to, Every: "1mo", Level: level})
		if err != nil {
			t.Fatal(err)
		}
		d, err := Load(rr)
		rr.Release()
		if err != nil {
			t.Fatal(err)
		}
		out[kind] = d
	}
	return out
}

// TestMonotoneModelsOnRealRows trains a model of every kind on the
// snapshots of a generated world and checks, on every row: the model is
// monotone by construction (its file validates), the monotonicity audit
// finds no violation, and every reason of a monotone input has the
// direction that its declared direction and the side of its baseline
// give (a customer above the baseline of invoices 30+ days late gets
// "increases_risk", one with none "decreases_risk"). The same training
// without the constraints violates the audit: the test can fail.
func TestMonotoneModelsOnRealRows(t *testing.T) {
	world := worldSnapshots(t, 1500)
	for _, kind := range []model.Kind{model.Behaviour, model.Invoice, model.Onboarding} {
		t.Run(string(kind), func(t *testing.T) {
			d := world[kind]
			opt := Options{Kind: kind, Hidden: []int{16, 8}, Epochs: 10, BatchSize: 256, Seed: 3}
			res, err := Train(context.Background(), d, opt)
			if err != nil {
				t.Fatal(err)
			}
			a := res.Artifact
			if !a.Monotone() {
				t.Fatalf("%s model has no monotone input: %+v", kind, a.Features)
			}
			if _, err := model.Unmarshal("trained", mustMarshal(t, a)); err != nil {
				t.Fatalf("trained model does not validate: %v", err)
			}
			checks, err := Audit(a, d, nil)
			if err != nil {
				t.Fatal(err)
			}
			if v := metrics.MonotoneViolations(checks); v != 0 || len(checks) == 0 {
				t.Fatalf("audit: %d violations over %d checks: %+v", v, len(checks), checks)
			}
			checked := checkReasonDirections(t, a, d)
			t.Logf("%s: %d rows, %d audited inputs, %d monotone reasons checked", kind, d.Len(), len(checks), checked)
		})
	}
	t.Run("unconstrained", func(t *testing.T) {
		d := world[model.Behaviour]
		res, err := Train(context.Background(), d, Options{Hidden: []int{16, 8}, Epochs: 10, BatchSize: 256, Seed: 3, Unconstrained: true})
		if err != nil {
			t.Fatal(err)
		}
		checks, err := Audit(res.Artifact, d, nil)
		if err != nil {
			t.Fatal(err)
		}
		if metrics.MonotoneViolations(checks) == 0 {
			t.Fatal("the unconstrained model passed the audit: the audit cannot fail")
		}
	})
}

// checkReasonDirections explains every row of d and checks the direction
// of every reason of a monotone input against the side of its baseline;
// it returns the number of reasons checked.
func checkReasonDirections(t *testing.T, a *model.Artifact, d *Dataset) int {
	t.Helper()
	sc, err := model.NewScorer(a)
	if err != nil {
		t.Fatal(err)
	}
	enc := newEncoder(d, a.Features)
	num, cat := make([]float64, len(a.Features)), make([]string, len(a.Features))
	byName := map[string]*model.Feature{}
	for i := range a.Features {
		byName[a.Features[i].Name] = &a.Features[i]
	}
	checked, bad := 0, 0
	var ats []model.Attribution
	for r := range d.Len() {
		enc.row(d, r, num, cat)
		ats = sc.Explain(num, cat, 0, ats)
		for _, at := range ats {
			f := byName[at.Feature]
			if !f.Direction.Monotone() || math.IsNaN(at.Value) || at.Value == *f.Baseline || at.Weight == 0 {
				continue
			}
			want := model.IncreasesRisk
			if (at.Value > *f.Baseline) != (f.Direction == model.IncreasesRisk) {
				want = model.DecreasesRisk
			}
			checked++
			if got := model.Direction(at); got != string(want) {
				if bad++; bad <= 5 {
					t.Errorf("row %d: %s = %v (baseline %v, %s): reason %s, want %s (weight %g)", r, at.Feature, at.Value, *f.Baseline, f.Direction, got, want, at.Weight)
				}
			}
		}
	}
	if bad > 0 {
		t.Fatalf("%d of %d monotone reasons disagree with their direction", bad, checked)
	}
	if checked == 0 {
		t.Fatal("no monotone reason checked")
	}
	return checked
}

func mustMarshal(t *testing.T, a *model.Artifact) []byte {
	t.Helper()
	b, err := model.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
