package training

import (
	"strings"
	"testing"

	"github.com/duewise/duewise/datasets"
	"github.com/duewise/duewise/model"
)

func TestExtraInputs(t *testing.T) {
	d := &Dataset{NumNames: []string{"tenure_days", "bureau_score", "deposit"}, CatNames: []string{"segment", "income_band"}}
	if got := ExtraColumns(d); strings.Join(got, ",") != "bureau_score,deposit,income_band" {
		t.Fatalf("extra columns %v", got)
	}
	decl := []datasets.Attribute{{Name: "bureau_score", Type: datasets.AttrNumeric, Label: datasets.Label{EN: "bureau score", NL: "bureauscore"}, Direction: datasets.DecreasesRisk}}
	o := Options{Kind: model.Onboarding, Inputs: []string{"bureau_score", "income_band"}, Attributes: decl, Exclude: []string{"postcode_area"}}
	exclude, attrs, err := o.extraInputs(d)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(exclude, ",") != "postcode_area,deposit" {
		t.Errorf("exclude %v: want postcode_area and the extra column not in Inputs", exclude)
	}
	if attrs["bureau_score"].Label.NL != "bureauscore" || attrs["income_band"].Label.EN != "income_band" || attrs["tenure_days"] != nil {
		t.Errorf("attributes %v", attrs)
	}
	if o.direction("bureau_score") != model.DecreasesRisk {
		t.Errorf("declared direction: %v", o.direction("bureau_score"))
	}
	for _, tc := range []struct {
		inputs []string
		want   string
	}{
		{[]string{"shoe_size"}, `inputs: "shoe_size" is not a column of the snapshot (extra columns: bureau_score, deposit, income_band)`},
		{[]string{"tenure_days"}, `inputs: "tenure_days" is a signal of the catalog, not an extra column`},
	} {
		o.Inputs = tc.inputs
		if _, _, err := o.extraInputs(d); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("inputs %v: %v, want %q", tc.inputs, err, tc.want)
		}
	}
	o = Options{Kind: model.Behaviour}
	if _, attrs, err := o.extraInputs(d); err != nil || attrs != nil {
		t.Errorf("behaviour model: attributes %v, %v", attrs, err)
	}
}
