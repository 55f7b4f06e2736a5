package registry

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/duewise/duewise/model"
	"github.com/duewise/duewise/warehouse"
	"github.com/duewise/duewise/warehouse/warehousetest"
)

// tiny writes a small valid artifact of kind with bias b into dir.
func tiny(t *testing.T, dir string, kind model.Kind, b float32, created time.Time) string {
	t.Helper()
	grid := []float64{0, 30, 60, 90, 180, 365}
	if kind == model.Invoice {
		grid = []float64{0, 0, 30, 60, 90, 180, 365}
	}
	k := len(grid) - 1
	a := &model.Artifact{Kind: kind, CreatedAt: created, Features: []model.Feature{{Name: "x", Type: model.Numeric, Mean: 0, Std: 1}},
		Grid: grid, Layers: []model.Layer{{In: 1, Out: k, W: make([]float32, k), B: make([]float32, k), Activation: model.Identity}},
		BandThresholds: [4]float64{0.1, 0.2, 0.3, 0.4}}
	for j := range a.Layers[0].B {
		a.Layers[0].B[j] = b
	}
	b2, err := model.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, a.Version+".model")
	if err := os.WriteFile(p, b2, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRegistry(t *testing.T) {
	warehousetest.Each(t, func(t *testing.T, e warehouse.Engine) {
		ctx := context.Background()
		if _, err := warehouse.Migrate(ctx, e, Migrations()); err != nil {
			t.Fatal(err)
		}
		tenant := warehousetest.Tenant(t)
		dir, out := t.TempDir(), t.TempDir()
		t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		p1 := tiny(t, out, model.Behaviour, -3, t0)
		p2 := tiny(t, out, model.Behaviour, -2, t0.Add(time.Hour))
		p3 := tiny(t, dir, model.Invoice, -1, t0)
		r := New(dir, e)
		e1, err := r.Add(ctx, tenant, p1)
		if err != nil {
			t.Fatal(err)
		}
		e2, err := r.Add(ctx, tenant, p2)
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Sync(ctx, tenant); err != nil { // registers p3, already in dir
			t.Fatal(err)
		}
		es, err := r.List(ctx, tenant)
		if err != nil || len(es) != 3 {
			t.Fatalf("list: %v, %d entries: %+v", err, len(es), es)
		}
		if _, err := r.Promote(ctx, tenant, e1.Version); err != nil {
			t.Fatal(err)
		}
		if _, err := r.Promote(ctx, tenant, e2.Version); err != nil {
			t.Fatal(err)
		}
		inv := filepath.Base(p3)
		if _, err := r.Promote(ctx, tenant, inv[:len(inv)-len(".model")]); err != nil {
			t.Fatal(err)
		}
		act, err := r.Active(ctx, tenant)
		if err != nil {
			t.Fatal(err)
		}
		kinds := map[string]string{}
		for _, a := range act {
			kinds[a.Kind] = a.Version
		}
		if len(act) != 2 || kinds["behaviour"] != e2.Version {
			t.Fatalf("active = %+v, want the second behaviour model and the invoice model", act)
		}
		// Rollback.
		if _, err := r.Promote(ctx, tenant, e1.Version); err != nil {
			t.Fatal(err)
		}
		act, _ = r.Active(ctx, tenant)
		for _, a := range act {
			if a.Kind == "behaviour" && a.Version != e1.Version {
				t.Fatalf("after rollback active behaviour = %s, want %s", a.Version, e1.Version)
			}
		}
		// Rollback walks down the promotions: e1, e2, e1 were promoted, so
		// it goes back to e2, then e1, then there is nothing before.
		p4 := tiny(t, dir, model.Behaviour, -1.5, t0.Add(2*time.Hour))
		if err := r.Sync(ctx, tenant); err != nil {
			t.Fatal(err)
		}
		e4 := filepath.Base(p4)
		e4 = e4[:len(e4)-len(".model")]
		if _, err := r.Promote(ctx, tenant, e4); err != nil {
			t.Fatal(err)
		}
		for i, want := range []string{e1.Version, e2.Version, e1.Version} {
			got, err := r.Rollback(ctx, tenant, "behaviour")
			if err != nil || got.Version != want {
				t.Fatalf("rollback %d: %s, %v; want %s", i+1, got.Version, err, want)
			}
			act, _ = r.Active(ctx, tenant)
			for _, a := range act {
				if a.Kind == "behaviour" && a.Version != want {
					t.Fatalf("rollback %d: active %s, want %s", i+1, a.Version, want)
				}
			}
		}
		if _, err := r.Rollback(ctx, tenant, "behaviour"); !errors.Is(err, ErrNoRollback) {
			t.Fatalf("rollback past the first promotion: %v", err)
		}
		hist, err := r.History(ctx, tenant, "behaviour")
		if err != nil || len(hist) != 7 || hist[0].Version != e1.Version || hist[0].Previous != "" || hist[6].Action != ActionRollback || hist[6].Previous != e2.Version {
			t.Fatalf("history %v: %+v", err, hist)
		}
		if _, err := r.Rollback(ctx, tenant, "invoice"); !errors.Is(err, ErrNoRollback) {
			t.Fatalf("rollback of a kind promoted once: %v", err)
		}
		// Another tenant sees nothing.
		if es, _ := r.List(ctx, tenant+"-other"); len(es) != 0 {
			t.Fatalf("other tenant sees %d models", len(es))
		}
		// A corrupt file is refused at promotion.
		f := filepath.Join(dir, e2.File)
		b, _ := os.ReadFile(f)
		b[len(b)-5] ^= 1
		os.WriteFile(f, b, 0o644)
		if _, err := r.Promote(ctx, tenant, e2.Version); !errors.Is(err, model.ErrInvalid) {
			t.Fatalf("promote corrupt = %v, want ErrInvalid", err)
		}
		if _, err := r.Promote(ctx, tenant, "nope"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("promote unknown = %v", err)
		}
	})
}
