package training

import (
	"slices"

	"github.com/duewise/duewise/features"
	"github.com/duewise/duewise/model"
	"github.com/duewise/duewise/training/metrics"
)

// AttributeGroup compares a model's mean 90-day probability with the
// observed (Kaplan-Meier) rate, and its AUC, per value of one customer
// attribute: the fairness tables of the report and of the quality
// benchmark. A plain value.
type AttributeGroup struct {
	Attribute string `json:"attribute"`
	// Input reports whether the model uses the attribute.
	Input  bool              `json:"input"`
	Values []metrics.Segment `json:"values"`
}

// ByAttribute computes an AttributeGroup for every customer attribute
// (the static categorical columns of d: segment, customer type, channel,
// payment method, country, and postcode_area by its country and first
// character, the region), whether or not a uses it, on the labelled rows
// r (Labelled) of d's rows (nil = all).
func ByAttribute(a *model.Artifact, d *Dataset, rows []int, r *metrics.Rows) []AttributeGroup {
	if rows == nil {
		rows = indexes(d.Len())
	}
	used := map[string]bool{}
	for _, f := range a.Features {
		used[f.Name] = true
	}
	sub := *r
	var out []AttributeGroup
	for j, name := range d.CatNames {
		if s, ok := features.Lookup(name); ok && s.Window != "static" {
			continue // a behaviour signal (last_dd_failure_reason), not a customer attribute
		}
		sub.Segment = make([]string, len(rows))
		for i, row := range rows {
			sub.Segment[i] = d.Cat[j][row]
		}
		label := name
		if name == "postcode_area" {
			country := slices.Index(d.CatNames, "country")
			for i, row := range rows {
				v := d.Cat[j][row]
				if v != "" {
					v = v[:1]
				}
				if country >= 0 {
					v = d.Cat[country][row] + " " + v
				}
				sub.Segment[i] = v
			}
			label = "postcode_area (country, first character)"
		}
		out = append(out, AttributeGroup{Attribute: label, Input: used[name], Values: metrics.BySegment(&sub, nil)})
	}
	return out
}
