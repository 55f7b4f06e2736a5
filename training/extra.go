package training

import (
	"fmt"
	"slices"
	"strings"

	"github.com/duewise/duewise/features"
	"github.com/duewise/duewise/model"
)

// ExtraColumns returns the input columns of d that are not signals of the
// catalog (features.Lookup): a tenant's declared attributes, or any other
// column an analyst brings in a snapshot file.
func ExtraColumns(d *Dataset) []string {
	var out []string
	for _, names := range [][]string{d.NumNames, d.CatNames} {
		for _, n := range names {
			if _, ok := features.Lookup(n); !ok {
				out = append(out, n)
			}
		}
	}
	return out
}

// extraInputs returns the columns the model must leave out (Exclude, and
// the extra columns that Inputs does not name) and, for an onboarding
// model, the attribute description of each extra column: the declared
// label, range and values (Attributes), or the column's name as its label.
func (o *Options) extraInputs(d *Dataset) ([]string, map[string]*model.Attribute, error) {
	extra := ExtraColumns(d)
	exclude := slices.Clone(o.Exclude)
	if o.Inputs != nil {
		for _, n := range o.Inputs {
			if !slices.Contains(extra, n) {
				if slices.Contains(d.NumNames, n) || slices.Contains(d.CatNames, n) {
					return nil, nil, fmt.Errorf("inputs: %q is a signal of the catalog, not an extra column (extra columns: %s)", n, strings.Join(extra, ", "))
				}
				return nil, nil, fmt.Errorf("inputs: %q is not a column of the snapshot (extra columns: %s)", n, strings.Join(extra, ", "))
			}
		}
		for _, n := range extra {
			if !slices.Contains(o.Inputs, n) {
				exclude = append(exclude, n)
			}
		}
	}
	if o.Kind != model.Onboarding {
		return exclude, nil, nil
	}
	attrs := map[string]*model.Attribute{}
	for _, n := range extra {
		at := &model.Attribute{Label: model.Label{EN: n, NL: n}}
		for _, a := range o.Attributes {
			if a.Name == n {
				at = &model.Attribute{Label: model.Label{EN: a.Label.EN, NL: a.Label.NL}, Min: a.Min, Max: a.Max, Values: a.Values}
			}
		}
		attrs[n] = at
	}
	return exclude, attrs, nil
}
