package simulation

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/duewise/duewise/datasets"
	rf "github.com/duewise/duewise/datasets/rowfile"
	"github.com/duewise/duewise/datasets/synth"
	"github.com/duewise/duewise/features"
	"github.com/duewise/duewise/serving/policy"
	"github.com/duewise/duewise/serving/scoring"
	"github.com/duewise/duewise/warehouse"
	"github.com/duewise/duewise/warehouse/warehousetest"
)

// world returns a small world whose horizon starts after warm months.
func world(customers, months, warm int) synth.Config {
	c := synth.DefaultConfig()
	c.Customers, c.Months, c.Seed, c.Tenant = customers, months, 5, "simtest"
	c.PolicyFrom = c.Start.AddDate(0, warm, 0)
	return c
}

// finals returns the final rows of every customer of cfg's world.
func finals(t *testing.T, cfg synth.Config) []synth.History {
	t.Helper()
	var out []synth.History
	err := synth.Simulate(context.Background(), cfg, func(c *synth.Chunk) error {
		for _, h := range histories(c.Rows) {
			// The chunk is reused: keep copies (At copies every row).
			cu := *h.Customer
			cp := h.At(rf.Time(1) << 62)
			cp.Customer = &cu
			out = append(out, cp)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestLabelsMatchSQL holds the in-process training rows (label and the
// rows that exist) equal to the SQL snapshot of the same world, loaded
// into the embedded store (docs/features.md, Labels).
func TestLabelsMatchSQL(t *testing.T) {
	ctx := context.Background()
	e := warehousetest.Embedded(t)
	tenant := warehousetest.Tenant(t)
	cfg := world(600, 16, 12)
	cfg.Out, cfg.Tenant = t.TempDir(), tenant
	if _, err := synth.Generate(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	if _, err := warehouse.Migrate(ctx, e, append(datasets.Migrations(), features.Migrations()...)); err != nil {
		t.Fatal(err)
	}
	lc := datasets.DefaultLoaderConfig()
	lc.Tenant = tenant
	ld, err := datasets.NewLoader(e, lc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ld.LoadPaths(ctx, []string{cfg.Out}); err != nil {
		t.Fatal(err)
	}
	dates := trainingDates(cfg.Start, 12)
	eod := cfg.PolicyFrom.AddDate(0, 0, -1)
	rr, err := features.Snapshot(ctx, e, features.SnapshotOptions{Tenant: tenant, From: dates[0], To: dates[len(dates)-1], Every: "1mo", EndOfData: eod})
	if err != nil {
		t.Fatal(err)
	}
	type key struct {
		id string
		at time.Time
	}
	type lab struct {
		dur int64
		ev  uint8
	}
	sql := map[key]lab{}
	var id string
	var at time.Time
	var l lab
	fields := rr.Schema().Fields()
	dest := make([]any, len(fields))
	for i, f := range fields {
		switch f.Name {
		case "customer_id":
			dest[i] = &id
		case "as_of":
			dest[i] = &at
		case "duration_days":
			dest[i] = &l.dur
		case "event":
			dest[i] = &l.ev
		}
	}
	if err := warehouse.Scan(rr, func() error { sql[key{id, at}] = l; return nil }, dest...); err != nil {
		t.Fatal(err)
	}
	rr.Release()
	goRows := map[key]lab{}
	for _, h := range finals(t, cfg) {
		fh := convert(tenant, &h)
		for _, T := range dates {
			if _, dur, ev, ok := snapshot(fh, T, eod); ok {
				goRows[key{fh.Customer.CustomerID, T}] = lab{int64(dur), ev}
			}
		}
	}
	if len(sql) < 1000 {
		t.Fatalf("only %d SQL rows", len(sql))
	}
	events := 0
	for k, want := range sql {
		got, ok := goRows[k]
		if !ok {
			t.Fatalf("%s at %s: a SQL row, none in Go", k.id, k.at.Format(time.DateOnly))
		}
		if got != want {
			t.Fatalf("%s at %s: Go label %+v, SQL %+v", k.id, k.at.Format(time.DateOnly), got, want)
		}
		events += int(want.ev)
	}
	if len(goRows) != len(sql) {
		t.Fatalf("%d Go rows, %d SQL rows", len(goRows), len(sql))
	}
	if events == 0 || events == len(sql) {
		t.Fatalf("%d events of %d rows", events, len(sql))
	}
}

// TestTrainingSeesOnlyThePast: the in-simulation model's training rows are
// the same whether the rows after the horizon exist or not; they are built
// from the histories as known the moment the horizon starts, with the
// labels known the day before.
func TestTrainingSeesOnlyThePast(t *testing.T) {
	cfg := world(800, 16, 12)
	d, err := trainingSet(context.Background(), cfg, cfg.Customers)
	if err != nil {
		t.Fatal(err)
	}
	full := newDataset()
	eod := cfg.PolicyFrom.AddDate(0, 0, -1)
	for _, h := range finals(t, cfg) {
		addRows(full, convert(cfg.Tenant, &h), trainingDates(cfg.Start, 12), eod)
	}
	full.Segment = full.Cat[indexOf(full.CatNames, "segment")]
	if d.Len() < 1000 || d.Fingerprint() != full.Fingerprint() {
		t.Fatalf("%d training rows from the past, %d with the future: fingerprints %s vs %s", d.Len(), full.Len(), d.Fingerprint(), full.Fingerprint())
	}
}

// defaultPolicy returns duewise's default action policy with a model
// trained on cfg's world before its horizon.
func defaultPolicy(t *testing.T, cfg synth.Config) *actionPolicy {
	t.Helper()
	tr, err := trainModel(context.Background(), cfg, cfg.Customers, nil)
	if err != nil {
		t.Fatal(err)
	}
	rules, err := policy.Default()
	if err != nil {
		t.Fatal(err)
	}
	l, err := scoring.NewLocal(tr.artifact, rules)
	if err != nil {
		t.Fatal(err)
	}
	return &actionPolicy{name: "default", tenant: cfg.Tenant, local: l}
}

// TestDefaultPolicyIsPointInTime: duewise's default policy, with its
// model, its signals computed in process and its execution rules, decides
// the same on the history rebuilt from the final files as known at each
// decision and with a twin's hidden state (synth.CheckPointInTime).
func TestDefaultPolicyIsPointInTime(t *testing.T) {
	cfg := world(1500, 16, 12)
	cfg.Policy = defaultPolicy(t, cfg)
	if err := synth.CheckPointInTime(context.Background(), cfg, 250); err != nil {
		t.Fatal(err)
	}
}

// TestRunDeterministic: the same configuration gives the same figures, and
// the report has every metric per policy with an interval around its
// mean.
func TestRunDeterministic(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Customers, cfg.Months, cfg.HorizonMonths, cfg.Runs, cfg.Bootstrap = 1200, 14, 4, 2, 40
	a, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if string(ja) != string(jb) {
		t.Fatalf("two runs differ:\n%s\n%s", ja, jb)
	}
	if len(a.Policies) != 3 || a.Policies[0].Policy != "none" || a.Policies[2].Policy != "default" {
		t.Fatalf("policies %+v", a.Policies)
	}
	for _, p := range a.Policies {
		for _, m := range Metrics {
			e, ok := p.Metrics[m]
			if !ok || !(e.CI95[0] <= e.Mean && e.Mean <= e.CI95[1]) {
				t.Errorf("%s %s: %+v", p.Policy, m, e)
			}
		}
		if (p.VsStandard == nil) != (p.Policy == "standard") {
			t.Errorf("%s: vs standard %v", p.Policy, p.VsStandard)
		}
	}
	none, std := a.Policies[0].Metrics, a.Policies[1].Metrics
	if none["contacts"].Mean != 0 || std["contacts"].Mean == 0 || none["collected"].Mean >= std["collected"].Mean {
		t.Errorf("none: %+v; standard: %+v", none, std)
	}
	if !reflect.DeepEqual(Metrics, []string{"collected", "written_off", "collection_costs", "contact_costs", "net_collected",
		"customers_kept", "customer_value_kept", "contacts", "dunned_good_payers", "dso_days"}) {
		t.Errorf("metrics %v", Metrics)
	}
}
