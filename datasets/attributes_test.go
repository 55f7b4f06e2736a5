package datasets

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/duewise/duewise/warehouse"
	"github.com/duewise/duewise/warehouse/warehousetest"
)

// testAttributes is a declaration with a numeric and a category
// attribute.
const testAttributes = `attributes:
  - name: bureau_score
    type: numeric
    label: {en: bureau score, nl: bureauscore}
    direction: decreases_risk
    min: 0
    max: 1000
  - name: income_band
    type: category
    label: {en: income band, nl: inkomensklasse}
    values: [low, middle, high]
`

func TestParseAttributes(t *testing.T) {
	attrs, err := ParseAttributes("a.yaml", []byte(testAttributes))
	if err != nil {
		t.Fatal(err)
	}
	if len(attrs) != 2 || attrs[0].Direction != DecreasesRisk || attrs[1].Direction != NoDirection || *attrs[0].Max != 1000 || attrs[1].Label.NL != "inkomensklasse" {
		t.Fatalf("parsed %+v", attrs)
	}
	for _, tc := range []struct{ name, yaml, want string }{
		{"syntax", "attributes: [\n", "a.yaml:1:"},
		{"unknown key", "attributes:\n  - name: x\n    typ: numeric\n", "a.yaml:3:5"},
		{"empty", "attributes: []\n", "a.yaml:1:1: attributes: want a list of at least one attribute"},
		{"bad type", "attributes:\n  - name: deposit\n    type: money\n    label: {en: deposit, nl: borg}\n", "a.yaml:3:5: attributes[0].type: \"money\": want numeric or category"},
		{"direction", "attributes:\n  - name: deposit\n    type: numeric\n    label: {en: deposit, nl: borg}\n    direction: up\n", "a.yaml:5:5: attributes[0].direction: \"up\": want increases_risk, decreases_risk or none"},
		{"no label", "attributes:\n  - name: deposit\n    type: numeric\n", "a.yaml:2:5: attributes[0].label.en: required"},
		{"protected", "attributes:\n  - name: age_band\n    type: category\n    label: {en: a, nl: b}\n    values: [x]\n", "a.yaml:2:5: attributes[0].name: \"age_band\" looks like a protected attribute (age)"},
		{"contract column", "attributes:\n  - name: segment\n    type: category\n    label: {en: a, nl: b}\n    values: [x]\n", "attributes[0].name: \"segment\" is a column of the customers table already"},
		{"range", "attributes:\n  - name: deposit\n    type: numeric\n    label: {en: a, nl: b}\n    min: 5\n    max: 1\n", "a.yaml:6:5: attributes[0].max: 1 is below min 5"},
		{"category values", "attributes:\n  - name: product\n    type: category\n    label: {en: a, nl: b}\n    direction: increases_risk\n", "attributes[0].values: required"},
		{"twice", "attributes:\n  - name: deposit\n    type: numeric\n    label: {en: a, nl: b}\n  - name: deposit\n    type: numeric\n    label: {en: a, nl: b}\n", "a.yaml:5:5: attributes[1].name: \"deposit\" declared twice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseAttributes("a.yaml", []byte(tc.yaml))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

// declare declares testAttributes for tenant.
func declare(t *testing.T, e warehouse.Engine, tenant string) AttributeSchema {
	t.Helper()
	attrs, err := ParseAttributes("a.yaml", []byte(testAttributes))
	if err != nil {
		t.Fatal(err)
	}
	s, err := DeclareAttributes(context.Background(), e, tenant, "a.yaml", attrs)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestDeclareVersions(t *testing.T) {
	warehousetest.Each(t, func(t *testing.T, e warehouse.Engine) {
		ctx := context.Background()
		tenant := newTenant(t)
		if _, err := LatestAttributes(ctx, e, tenant); !errors.Is(err, ErrNoAttributes) {
			t.Fatalf("no declaration: %v", err)
		}
		if s := declare(t, e, tenant); s.Version != 1 {
			t.Fatalf("first version %d", s.Version)
		}
		if s := declare(t, e, tenant); s.Version != 2 {
			t.Fatalf("second version %d", s.Version)
		}
		all, err := AttributeSchemas(ctx, e, tenant)
		if err != nil || len(all) != 2 || all[1].Version != 2 || all[1].Source != "a.yaml" || len(all[1].Attributes) != 2 || *all[1].Attributes[0].Max != 1000 {
			t.Fatalf("versions %+v: %v", all, err)
		}
		if other, _ := AttributeSchemas(ctx, e, newTenant(t)); len(other) != 0 {
			t.Fatalf("another tenant sees %+v", other)
		}
	})
}

func TestLoadCustomersWithAttributes(t *testing.T) {
	warehousetest.Each(t, func(t *testing.T, e warehouse.Engine) {
		ctx := context.Background()
		tenant, l := tenantLoader(t, e)
		dir := t.TempDir()
		header := "customer_id,created_at,customer_type,segment,channel,payment_method,country,monthly_amount,bureau_score,income_band\n"
		body := "C1,2025-01-01,consumer,energy,online,direct_debit,NL,50.00,712,low\n" +
			"C2,2025-01-02,consumer,energy,online,direct_debit,NL,50.00,,\n" +
			"C3,2025-01-03,consumer,energy,online,direct_debit,NL,50.00,1200,middle\n" +
			"C4,2025-01-04,consumer,energy,online,direct_debit,NL,50.00,abc,rich\n"
		p := writeFile(t, dir, "customers.csv", header+body)
		if _, err := l.LoadPaths(ctx, []string{p}); err == nil || !strings.Contains(err.Error(), `unknown columns "bureau_score", "income_band"`) {
			t.Fatalf("undeclared columns: %v", err)
		}
		declare(t, e, tenant)
		sum, err := l.LoadPaths(ctx, []string{p})
		if err != nil {
			t.Fatal(err)
		}
		want := []string{p + ":4: bureau_score: 1200 out of the declared range [0, 1000]",
			p + `:5: bureau_score: invalid number "abc"; income_band: invalid value "rich": want one of low, middle, high`}
		if f := sum.Files[0]; f.Loaded != 2 || f.Rejected != 2 || !slices.Equal(f.Problems, want) {
			t.Fatalf("summary %+v, want problems %q", f, want)
		}
		got := query(t, e, "SELECT customer_id, name, toString(known_at), ifNull(toString(num_value), 'NULL'), str_value FROM customer_attributes FINAL WHERE tenant = {tenant:String} ORDER BY customer_id, name", warehouse.Params{"tenant": tenant})
		wantRows := [][]string{{"C1", "bureau_score", "2025-01-01", "712", ""}, {"C1", "income_band", "2025-01-01", "NULL", "low"},
			{"C2", "bureau_score", "2025-01-02", "NULL", ""}, {"C2", "income_band", "2025-01-02", "NULL", ""}}
		if !slices.EqualFunc(got, wantRows, slices.Equal) {
			t.Fatalf("stored %q, want %q", got, wantRows)
		}
		if n := finalCount(t, e, "customers", tenant); n != "2" {
			t.Fatalf("%s customers stored, want 2", n)
		}

		res, err := l.LoadRows(ctx, "customers", []json.RawMessage{
			json.RawMessage(`{"customer_id":"C9","created_at":"2025-02-01","customer_type":"consumer","segment":"energy","channel":"online","payment_method":"card","country":"NL","monthly_amount":20,"bureau_score":455.5,"income_band":"high"}`),
			json.RawMessage(`{"customer_id":"C10","created_at":"2025-02-01","customer_type":"consumer","segment":"energy","channel":"online","payment_method":"card","country":"NL","monthly_amount":20,"bureau_score":-1}`),
			json.RawMessage(`{"customer_id":"C11","created_at":"2025-02-01","customer_type":"consumer","segment":"energy","channel":"online","payment_method":"card","country":"NL","monthly_amount":20,"shoe_size":44}`),
		})
		if err != nil {
			t.Fatal(err)
		}
		if !res[0].Accepted || res[1].Accepted || res[1].Reason != "rows[1].bureau_score: -1 out of the declared range [0, 1000]" || res[2].Reason != "rows[2].shoe_size: unknown column" {
			t.Fatalf("results %+v", res)
		}
		got = query(t, e, "SELECT name, ifNull(toString(num_value), 'NULL'), str_value FROM customer_attributes FINAL WHERE tenant = {tenant:String} AND customer_id = 'C9' ORDER BY name", warehouse.Params{"tenant": tenant})
		if !slices.EqualFunc(got, [][]string{{"bureau_score", "455.5", ""}, {"income_band", "NULL", "high"}}, slices.Equal) {
			t.Fatalf("C9 stored %q", got)
		}
	})
}
