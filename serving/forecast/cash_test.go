package forecast_test

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/duewise/duewise/datasets"
	"github.com/duewise/duewise/datasets/synth"
	"github.com/duewise/duewise/features"
	"github.com/duewise/duewise/model"
	"github.com/duewise/duewise/serving/forecast"
	"github.com/duewise/duewise/training"
	"github.com/duewise/duewise/warehouse"
	"github.com/duewise/duewise/warehouse/warehousetest"
)

// world loads a synthetic world of tenant into e and returns the end of
// its data.
func world(t *testing.T, e warehouse.Engine, tenant string) (*datasets.Loader, time.Time) {
	t.Helper()
	ctx := context.Background()
	if _, err := warehouse.Migrate(ctx, e, append(datasets.Migrations(), features.Migrations()...)); err != nil {
		t.Fatal(err)
	}
	sc := synth.DefaultConfig()
	sc.Customers, sc.Months, sc.Seed, sc.Tenant, sc.Out = 800, 20, 5, tenant, t.TempDir()
	if _, err := synth.Generate(ctx, sc); err != nil {
		t.Fatal(err)
	}
	ld, err := datasets.NewLoader(e, datasets.DefaultLoaderConfig())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ld.LoadPaths(ctx, []string{sc.Out}); err != nil {
		t.Fatal(err)
	}
	eod, err := features.EndOfData(ctx, e, tenant)
	if err != nil {
		t.Fatal(err)
	}
	return ld, eod
}

// invoiceModel trains a small invoice model on what was known before d.
func invoiceModel(t *testing.T, e warehouse.Engine, tenant string, d time.Time) *model.Artifact {
	t.Helper()
	rr, err := features.Snapshot(context.Background(), e, features.SnapshotOptions{Tenant: tenant, Level: features.LevelInvoice,
		From: d.AddDate(0, -12, 0), To: d.AddDate(0, -2, 0), EndOfData: d.AddDate(0, 0, -1)})
	if err != nil {
		t.Fatal(err)
	}
	defer rr.Release()
	ds, err := training.Load(rr)
	if err != nil {
		t.Fatal(err)
	}
	res, err := training.Train(context.Background(), ds, training.Options{Kind: model.Invoice, Hidden: []int{8}, Epochs: 3, BatchSize: 256, Seed: 1, Tenant: tenant})
	if err != nil {
		t.Fatal(err)
	}
	return res.Artifact
}

// TestCash forecasts 13 weeks that lie in the data of a synthetic world
// with a model trained before them, on both backends: the forecast is
// near what came in, its parts add up, and rows dated on or after the
// forecast day change nothing but what came in.
func TestCash(t *testing.T) {
	warehousetest.Each(t, func(t *testing.T, e warehouse.Engine) {
		ctx := context.Background()
		tenant := warehousetest.Tenant(t)
		ld, eod := world(t, e, tenant)
		d := eod.AddDate(0, 0, -7*13)
		a := invoiceModel(t, e, tenant, d)
		opt := forecast.Options{Tenant: tenant, From: d, Weeks: 13, Origins: forecast.DefaultOrigins}
		f, err := forecast.Cash(ctx, e, a, opt)
		if err != nil {
			t.Fatal(err)
		}
		if len(f.Weeks) != 13 || f.Backtest == nil || f.Backtest.Weeks != 13 {
			t.Fatalf("weeks %d, backtest %+v: want 13 weeks in the data", len(f.Weeks), f.Backtest)
		}
		if f.OpenInvoices == 0 || f.ExpectedInvoices == 0 || len(f.Calibration) == 0 {
			t.Fatalf("open %d, expected %d, calibration %v: want some of each", f.OpenInvoices, f.ExpectedInvoices, f.Calibration)
		}
		var sumE, sumA float64
		for i, w := range f.Weeks {
			if !(w.Low <= w.Expected && w.Expected <= w.High) || math.Abs(w.FromOpen+w.FromNew-w.Expected) > 0.02 {
				t.Errorf("week %d: %+v: want low <= expected <= high, from_open + from_new = expected", i+1, w)
			}
			sumE, sumA = sumE+w.Expected, sumA+*w.Actual
		}
		// 800 customers' cash per week varies by about 10%: the 13 weeks'
		// total within 15%, the weekly error under 25%.
		if math.Abs(sumE/sumA-1) > 0.15 || f.Backtest.MAPE > 25 {
			t.Errorf("expected %.0f against %.0f came in, MAPE %.1f%%", sumE, sumA, f.Backtest.MAPE)
		}
		t.Logf("%s: %d open (%.0f), %d expected; expected %.0f, came in %.0f; backtest %+v; %s", e.Backend(), f.OpenInvoices, f.OpenAmount, f.ExpectedInvoices, sumE, sumA, *f.Backtest, f.Intervals)

		// Point in time: an invoice issued on d and a payment on d of an
		// invoice open at d change what came in, nothing else.
		var cust, inv string
		var amount float64
		rr, err := e.Query(ctx, "SELECT customer_id, invoice_id, toFloat64(amount) FROM invoices FINAL WHERE tenant = {tenant:String} AND issued_at < {d:Date} AND due_at >= {d:Date} "+
			"AND invoice_id NOT IN (SELECT invoice_id FROM payments FINAL WHERE tenant = {tenant:String}) ORDER BY invoice_id LIMIT 1", warehouse.Params{"tenant": tenant, "d": d})
		if err != nil {
			t.Fatal(err)
		}
		err = warehouse.ScanOne(rr, &cust, &inv, &amount)
		rr.Release()
		if err != nil {
			t.Fatalf("an invoice open at %s and never paid: %v", d.Format(time.DateOnly), err)
		}
		dir := t.TempDir()
		ds := d.Format(time.DateOnly)
		write(t, filepath.Join(dir, "invoices.csv"), "tenant,invoice_id,customer_id,issued_at,due_at,amount,currency\n"+
			fmt.Sprintf("%s,LATE-1,%s,%s,%s,99999.00,EUR\n", tenant, cust, ds, d.AddDate(0, 0, 14).Format(time.DateOnly)))
		write(t, filepath.Join(dir, "payments.csv"), "tenant,payment_id,invoice_id,customer_id,paid_at,amount,method\n"+
			fmt.Sprintf("%s,LATE-P1,%s,%s,%sT08:00:00Z,%.2f,bank_transfer\n", tenant, inv, cust, ds, amount))
		if _, err := ld.LoadPaths(ctx, []string{dir}); err != nil {
			t.Fatal(err)
		}
		g, err := forecast.Cash(ctx, e, a, opt)
		if err != nil {
			t.Fatal(err)
		}
		for i := range f.Weeks {
			w, v := f.Weeks[i], g.Weeks[i]
			wantActual := *w.Actual
			if i == 0 {
				wantActual += amount
			}
			if w.Expected != v.Expected || w.Low != v.Low || w.High != v.High || math.Abs(*v.Actual-wantActual) > 0.011 {
				t.Errorf("week %d after rows dated %s: %+v (actual %.2f), want %+v with actual %.2f", i+1, ds, v, *v.Actual, w, wantActual)
			}
		}
		if g.OpenInvoices != f.OpenInvoices || g.OpenAmount != f.OpenAmount {
			t.Errorf("open after rows dated %s: %d (%.2f), want %d (%.2f)", ds, g.OpenInvoices, g.OpenAmount, f.OpenInvoices, f.OpenAmount)
		}

		// A forecast made after the data ends: no week in the data, and
		// the calibration's weeks are the data's last ones.
		later := eod.AddDate(0, 0, 30)
		h, err := forecast.Cash(ctx, e, a, forecast.Options{Tenant: tenant, From: later, Weeks: 4, Origins: 2})
		if err != nil {
			t.Fatal(err)
		}
		if h.Backtest != nil || len(h.Calibration) != 2 || h.Weeks[0].Actual != nil {
			t.Fatalf("after the data: backtest %+v, calibration %+v", h.Backtest, h.Calibration)
		}
		for _, o := range h.Calibration {
			from, _ := time.Parse(time.DateOnly, o.From)
			if last := from.AddDate(0, 0, 7*4-1); last.After(eod) || o.Actual <= 0 {
				t.Errorf("calibration forecast of %s: its weeks end %s, after the data's end %s, or nothing came in (%.2f)", o.From, last.Format(time.DateOnly), eod.Format(time.DateOnly), o.Actual)
			}
		}
	})
}

// TestCashRefuses: a model of another kind, bad weeks, no tenant.
func TestCashRefuses(t *testing.T) {
	e := warehousetest.Embedded(t)
	ctx := context.Background()
	day := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	inv := &model.Artifact{Kind: model.Invoice}
	for _, tc := range []struct {
		name string
		a    *model.Artifact
		opt  forecast.Options
	}{
		{"behaviour model", &model.Artifact{Kind: model.Behaviour}, forecast.Options{Tenant: "t", From: day}},
		{"no model", nil, forecast.Options{Tenant: "t", From: day}},
		{"no tenant", inv, forecast.Options{From: day}},
		{"no day", inv, forecast.Options{Tenant: "t"}},
		{"53 weeks", inv, forecast.Options{Tenant: "t", From: day, Weeks: 53}},
		{"13 origins", inv, forecast.Options{Tenant: "t", From: day, Origins: 13}},
	} {
		if _, err := forecast.Cash(ctx, e, tc.a, tc.opt); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
}

func write(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}
