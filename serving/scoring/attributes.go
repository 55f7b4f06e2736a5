package scoring

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/duewise/duewise/datasets"
	"github.com/duewise/duewise/model"
)

// declaredAttributes reads a's model.AttributesParam (none: nil).
func declaredAttributes(a *model.Artifact) ([]datasets.Attribute, error) {
	raw, ok := a.Params[model.AttributesParam]
	if !ok {
		return nil, nil
	}
	b, err := json.Marshal(raw)
	if err != nil {
		return nil, fmt.Errorf("params.%s: %w", model.AttributesParam, err)
	}
	var out []datasets.Attribute
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("params.%s: %w", model.AttributesParam, err)
	}
	return out, nil
}

// attributeValues checks a request's attributes (field attributes: name ->
// JSON value) against the model's and puts them into v. A name must be an
// attribute the model takes or one declared with it (which the model does
// not use: checked, then ignored); a value must be of the attribute's type
// (a number, or a string) and in its declared range or values; null is a
// missing value. Errors name the field path, attributes.<name>.
func (l *loaded) attributeValues(in map[string]json.RawMessage, v *Values) error {
	if len(in) == 0 {
		return nil
	}
	v.AttrNum, v.AttrCat = map[string]float64{}, map[string]string{}
	for _, name := range slices.Sorted(maps.Keys(in)) {
		field := "attributes." + name
		raw := in[name]
		f, used := l.attrs[name]
		var decl *datasets.Attribute
		for i := range l.declared {
			if l.declared[i].Name == name {
				decl = &l.declared[i]
			}
		}
		if !used && decl == nil {
			return Invalid(field, "unknown attribute (this tenant's onboarding model takes %s)", l.attributeNames())
		}
		if string(raw) == "null" {
			continue
		}
		numeric := decl != nil && decl.Type == datasets.AttrNumeric || decl == nil && f.Type == model.Numeric
		if numeric {
			var x float64
			if raw[0] == '"' || json.Unmarshal(raw, &x) != nil {
				return Invalid(field, "want a number, got %s", raw)
			}
			if err := checkNumber(field, x); err != nil {
				return err
			}
			if decl != nil {
				if err := decl.InRange(x); err != nil {
					return Invalid(field, "%v", err)
				}
			}
			if used {
				v.AttrNum[name] = x
			}
			continue
		}
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return Invalid(field, "want a string, got %s", raw)
		}
		if decl != nil {
			if _, _, _, err := decl.ParseValue(s); err != nil {
				return Invalid(field, "%v", err)
			}
		} else if f.Attribute.Values != nil && s != "" && !slices.Contains(f.Attribute.Values, s) {
			return Invalid(field, "invalid value %q: want one of %s", s, strings.Join(f.Attribute.Values, ", "))
		}
		if used {
			v.AttrCat[name] = s
		}
	}
	return nil
}

// attributeNames lists the attributes a request may send.
func (l *loaded) attributeNames() string {
	names := slices.Collect(maps.Keys(l.attrs))
	for _, d := range l.declared {
		if !slices.Contains(names, d.Name) {
			names = append(names, d.Name)
		}
	}
	if len(names) == 0 {
		return "none"
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}
