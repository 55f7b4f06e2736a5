package api

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/duewise/duewise/features"
	"github.com/duewise/duewise/model"
)

// validator checks JSON values against the schemas of openapi.json: the
// subset the document uses (type, required, properties,
// additionalProperties, enum, items, $ref, allOf, nullable, minimum,
// maximum, maxItems).
type validator struct{ doc map[string]any }

func newValidator(t *testing.T) *validator {
	var doc map[string]any
	if err := json.Unmarshal(openAPI, &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	return &validator{doc: doc}
}

func (v *validator) resolve(ref string) map[string]any {
	cur := any(v.doc)
	for _, p := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
		cur = cur.(map[string]any)[p]
	}
	return cur.(map[string]any)
}

// response returns the schema of path/method/status for content type ct.
func (v *validator) response(path, method string, status int, ct string) (map[string]any, error) {
	op, ok := v.doc["paths"].(map[string]any)[path].(map[string]any)[strings.ToLower(method)].(map[string]any)
	if !ok {
		return nil, fmt.Errorf("openapi: no operation %s %s", method, path)
	}
	resp, ok := op["responses"].(map[string]any)[fmt.Sprint(status)].(map[string]any)
	if !ok {
		return nil, fmt.Errorf("openapi: %s %s does not document status %d", method, path, status)
	}
	if ref, ok := resp["$ref"].(string); ok {
		resp = v.resolve(ref)
	}
	media, ok := resp["content"].(map[string]any)[ct].(map[string]any)
	if !ok {
		return nil, fmt.Errorf("openapi: %s %s %d has no %s content", method, path, status, ct)
	}
	return media["schema"].(map[string]any), nil
}

// check validates the JSON value x against schema s at path p.
func (v *validator) check(s map[string]any, x any, p string) error {
	if ref, ok := s["$ref"].(string); ok {
		return v.check(v.resolve(ref), x, p)
	}
	if all, ok := s["allOf"].([]any); ok {
		for _, sub := range all {
			if err := v.check(sub.(map[string]any), x, p); err != nil {
				return err
			}
		}
		return nil
	}
	if x == nil {
		if s["nullable"] == true || s["type"] == nil {
			return nil
		}
		return fmt.Errorf("%s: null, want %v", p, s["type"])
	}
	if enum, ok := s["enum"].([]any); ok {
		found := false
		for _, e := range enum {
			found = found || e == x
		}
		if !found {
			return fmt.Errorf("%s: %v not in %v", p, x, enum)
		}
	}
	switch s["type"] {
	case "object":
		m, ok := x.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: want an object, got %T", p, x)
		}
		props, _ := s["properties"].(map[string]any)
		for _, r := range asList(s["required"]) {
			if _, ok := m[r.(string)]; !ok {
				return fmt.Errorf("%s: missing required field %q", p, r)
			}
		}
		for k, val := range m {
			if ps, ok := props[k].(map[string]any); ok {
				if err := v.check(ps, val, p+"."+k); err != nil {
					return err
				}
				continue
			}
			switch ap := s["additionalProperties"].(type) {
			case bool:
				if !ap {
					return fmt.Errorf("%s: undocumented field %q", p, k)
				}
			case map[string]any:
				if err := v.check(ap, val, p+"."+k); err != nil {
					return err
				}
			}
		}
	case "array":
		a, ok := x.([]any)
		if !ok {
			return fmt.Errorf("%s: want an array, got %T", p, x)
		}
		if mx, ok := s["maxItems"].(float64); ok && float64(len(a)) > mx {
			return fmt.Errorf("%s: %d items > %v", p, len(a), mx)
		}
		if it, ok := s["items"].(map[string]any); ok {
			for i, e := range a {
				if err := v.check(it, e, fmt.Sprintf("%s[%d]", p, i)); err != nil {
					return err
				}
			}
		}
	case "string":
		if _, ok := x.(string); !ok {
			return fmt.Errorf("%s: want a string, got %T", p, x)
		}
	case "number", "integer":
		f, ok := x.(float64)
		if !ok {
			return fmt.Errorf("%s: want a number, got %T", p, x)
		}
		if s["type"] == "integer" && f != float64(int64(f)) {
			return fmt.Errorf("%s: want an integer, got %v", p, f)
		}
		if mn, ok := s["minimum"].(float64); ok && f < mn {
			return fmt.Errorf("%s: %v < minimum %v", p, f, mn)
		}
		if mx, ok := s["maximum"].(float64); ok && f > mx {
			return fmt.Errorf("%s: %v > maximum %v", p, f, mx)
		}
	case "boolean":
		if _, ok := x.(bool); !ok {
			return fmt.Errorf("%s: want a boolean, got %T", p, x)
		}
	}
	return nil
}

func asList(x any) []any {
	l, _ := x.([]any)
	return l
}

func TestValidatorCatchesMistakes(t *testing.T) {
	v := newValidator(t)
	s := v.resolve("#/components/schemas/Reason")
	good := map[string]any{"code": "X", "text": "t", "direction": "increases_risk", "weight": 0.1}
	if err := v.check(s, good, "$"); err != nil {
		t.Fatal(err)
	}
	for name, bad := range map[string]map[string]any{
		"missing": {"code": "X", "text": "t", "direction": "increases_risk"},
		"enum":    {"code": "X", "text": "t", "direction": "up", "weight": 0.1},
		"type":    {"code": 1.0, "text": "t", "direction": "increases_risk", "weight": 0.1},
		"extra":   {"code": "X", "text": "t", "direction": "increases_risk", "weight": 0.1, "x": 1.0},
	} {
		if err := v.check(s, bad, "$"); err == nil {
			t.Errorf("%s: accepted %v", name, bad)
		}
	}
}

// TestEverySignalHasAReason checks that every signal of the features
// catalog has its own reason code and texts.
func TestEverySignalHasAReason(t *testing.T) {
	sigs := append(features.Catalog(), features.InvoiceSignals()...)
	for _, s := range sigs {
		code, text := model.Reason(model.Attribution{Feature: s.Name, Value: 1, Category: map[bool]string{true: "x"}[s.Kind == features.Categorical]}, "nl")
		if strings.HasPrefix(code, "OTHER_") || text == "" {
			t.Errorf("signal %s has no reason code", s.Name)
		}
	}
}
