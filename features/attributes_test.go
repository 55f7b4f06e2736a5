package features

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/duewise/duewise/datasets"
	"github.com/duewise/duewise/warehouse"
	"github.com/duewise/duewise/warehouse/warehousetest"
)

// TestOnboardingSnapshotAttributes: the onboarding snapshot of a tenant
// that declared attributes has a column per attribute, with the value
// known on each row's as_of: a value known only later is not used.
func TestOnboardingSnapshotAttributes(t *testing.T) {
	warehousetest.Each(t, func(t *testing.T, e warehouse.Engine) {
		ctx := context.Background()
		tenant := fmt.Sprintf("attrsnap_%s_%d", e.Backend(), D("2025-01-01").Unix())
		loadHistories(t, e, tenant) // migrations
		attrs, err := datasets.ParseAttributes("a.yaml", []byte("attributes:\n  - name: bureau_score\n    type: numeric\n    label: {en: bureau score, nl: bureauscore}\n    direction: decreases_risk\n"+
			"  - name: income_band\n    type: category\n    label: {en: income band, nl: inkomensklasse}\n    values: [low, high]\n"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := datasets.DeclareAttributes(ctx, e, tenant, "a.yaml", attrs); err != nil {
			t.Fatal(err)
		}
		l, err := datasets.NewLoader(e, datasets.LoaderConfig{Tenant: tenant})
		if err != nil {
			t.Fatal(err)
		}
		row := `{"customer_id":"%s","created_at":"%s","customer_type":"consumer","segment":"energy","channel":"online","payment_method":"card","country":"NL","monthly_amount":20%s}`
		res, err := l.LoadRows(ctx, "customers", []json.RawMessage{
			json.RawMessage(fmt.Sprintf(row, "C1", "2025-01-10", `,"bureau_score":640,"income_band":"low"`)),
			json.RawMessage(fmt.Sprintf(row, "C2", "2025-02-10", `,"bureau_score":null`)),
			json.RawMessage(fmt.Sprintf(row, "C3", "2025-03-10", "")),
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range res {
			if !r.Accepted {
				t.Fatal(r.Reason)
			}
		}
		// A value of C1 known only after its onboarding date.
		if err := e.Exec(ctx, "INSERT INTO customer_attributes (tenant, customer_id, name, known_at, num_value, str_value, schema_version, _version) SELECT {tenant:String}, 'C1', 'bureau_score', toDate('2025-06-01'), 100, '', 1, 1",
			warehouse.Params{"tenant": tenant}); err != nil {
			t.Fatal(err)
		}
		rr, err := Snapshot(ctx, e, SnapshotOptions{Tenant: tenant, Level: LevelOnboarding, From: D("2025-01-01").Time, To: D("2025-12-31").Time, EndOfData: D("2025-12-31").Time})
		if err != nil {
			t.Fatal(err)
		}
		tb := readAll(t, rr)
		f := tb.schema.Fields()
		if n := len(f); f[n-4].Name != "bureau_score" || f[n-3].Name != "income_band" || f[n-2].Name != "duration_days" {
			t.Fatalf("schema %v: want the attributes before duration_days", tb.schema)
		}
		for _, c := range []struct {
			id          string
			score, band any
		}{{"C1", 640.0, "low"}, {"C2", nil, nil}, {"C3", nil, nil}} {
			r, ok := tb.find(c.id, D(map[string]string{"C1": "2025-01-10", "C2": "2025-02-10", "C3": "2025-03-10"}[c.id]).Time)
			if !ok || r["bureau_score"] != c.score || r["income_band"] != c.band {
				t.Errorf("%s: %v, want bureau_score %v, income_band %v", c.id, r, c.score, c.band)
			}
		}
		// Without a tenant (every tenant's rows) there are no attribute columns.
		rr, err = Snapshot(ctx, e, SnapshotOptions{Level: LevelOnboarding, From: D("2025-01-01").Time, To: D("2025-01-31").Time, EndOfData: D("2025-12-31").Time})
		if err != nil {
			t.Fatal(err)
		}
		if all := readAll(t, rr); len(all.schema.FieldIndices("bureau_score")) != 0 {
			t.Errorf("all-tenant snapshot has attribute columns: %v", all.schema)
		}
	})
}
