package api

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// validator checks JSON values against the schemas of the served OpenAPI
// document, for the subset it uses: $ref, allOf, oneOf, type, nullable,
// enum, required, properties, additionalProperties, minProperties, items,
// maxItems, minimum, maximum, exclusiveMinimum, pattern and the formats
// date and date-time. It is stricter than JSON Schema in one way: an
// object schema with properties is closed unless it says
// additionalProperties, and allOf merges the objects it combines, so that
// an answer field the document does not describe is an error.
type validator struct {
	doc map[string]any
}

func newValidator(t testing.TB) *validator {
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

func (v *validator) deref(s map[string]any) map[string]any {
	for {
		ref, ok := s["$ref"].(string)
		if !ok {
			return s
		}
		s = v.resolve(ref)
	}
}

// operation returns the operation of a path template and method.
func (v *validator) operation(path, method string) (map[string]any, error) {
	p, ok := v.doc["paths"].(map[string]any)[path].(map[string]any)
	if !ok {
		return nil, fmt.Errorf("openapi: no path %s", path)
	}
	op, ok := p[strings.ToLower(method)].(map[string]any)
	if !ok {
		return nil, fmt.Errorf("openapi: no operation %s %s", method, path)
	}
	return op, nil
}

// response returns the documented response of path/method/status (or the
// default response) and whether it was documented explicitly.
func (v *validator) response(path, method string, status int) (map[string]any, bool, error) {
	op, err := v.operation(path, method)
	if err != nil {
		return nil, false, err
	}
	rs := op["responses"].(map[string]any)
	r, explicit := rs[fmt.Sprint(status)].(map[string]any)
	if !explicit {
		if r, _ = rs["default"].(map[string]any); r == nil {
			return nil, false, fmt.Errorf("openapi: %s %s does not document status %d", method, path, status)
		}
	}
	return v.deref(r), explicit, nil
}

// media returns the schema of content type ct of a response or request body.
func (v *validator) media(r map[string]any, ct string) (map[string]any, error) {
	m, ok := r["content"].(map[string]any)[ct].(map[string]any)
	if !ok {
		return nil, fmt.Errorf("no %s content", ct)
	}
	return m["schema"].(map[string]any), nil
}

// requestSchema returns the request body schema of path/method.
func (v *validator) requestSchema(path, method string) (map[string]any, error) {
	op, err := v.operation(path, method)
	if err != nil {
		return nil, err
	}
	rb, ok := op["requestBody"].(map[string]any)
	if !ok {
		return nil, fmt.Errorf("openapi: %s %s has no request body", method, path)
	}
	return v.media(v.deref(rb), "application/json")
}

var (
	dateRE     = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)
	patternsMu sync.Mutex
	patterns   = map[string]*regexp.Regexp{}
)

// merged flattens allOf into one object schema (union of properties and
// required); other schemas are returned as they are.
func (v *validator) merged(s map[string]any) map[string]any {
	s = v.deref(s)
	all, ok := s["allOf"].([]any)
	if !ok {
		return s
	}
	out := map[string]any{"type": "object"}
	props := map[string]any{}
	var req []any
	for _, sub := range all {
		m := v.merged(sub.(map[string]any))
		for k, p := range asMap(m["properties"]) {
			props[k] = p
		}
		req = append(req, asList(m["required"])...)
	}
	out["properties"], out["required"] = props, req
	return out
}

// check validates the JSON value x against schema s at path p.
func (v *validator) check(s map[string]any, x any, p string) error {
	s = v.merged(s)
	if x == nil && s["oneOf"] == nil { // with a oneOf, null is one alternative's (OpenAPI 3.0 wants nullable beside a type)
		if s["nullable"] == true || s["type"] == nil {
			return nil
		}
		return fmt.Errorf("%s: null, want %v", p, s["type"])
	}
	if one, ok := s["oneOf"].([]any); ok {
		var errs []string
		n := 0
		for _, sub := range one {
			if err := v.check(sub.(map[string]any), x, p); err != nil {
				errs = append(errs, err.Error())
			} else {
				n++
			}
		}
		if n != 1 {
			return fmt.Errorf("%s: matches %d of the oneOf schemas, want 1 (%s)", p, n, strings.Join(errs, "; "))
		}
		return nil
	}
	if enum, ok := s["enum"].([]any); ok && !slices.Contains(enum, x) {
		return fmt.Errorf("%s: %v not in %v", p, x, enum)
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
		if mn, ok := s["minProperties"].(float64); ok && float64(len(m)) < mn {
			return fmt.Errorf("%s: %d properties, want at least %v", p, len(m), mn)
		}
		for _, k := range sortedKeys(m) {
			val := m[k]
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
			case nil:
				if props != nil {
					return fmt.Errorf("%s: undocumented field %q", p, k)
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
		str, ok := x.(string)
		if !ok {
			return fmt.Errorf("%s: want a string, got %T", p, x)
		}
		switch s["format"] {
		case "date":
			if _, err := time.Parse(time.DateOnly, str); err != nil || !dateRE.MatchString(str) {
				return fmt.Errorf("%s: %q is not a date", p, str)
			}
		case "date-time":
			if _, err := time.Parse(time.RFC3339, str); err != nil {
				return fmt.Errorf("%s: %q is not a date-time", p, str)
			}
		}
		if pat, ok := s["pattern"].(string); ok {
			patternsMu.Lock()
			re := patterns[pat]
			if re == nil {
				re = regexp.MustCompile(pat)
				patterns[pat] = re
			}
			patternsMu.Unlock()
			if !re.MatchString(str) {
				return fmt.Errorf("%s: %q does not match %s", p, str, pat)
			}
		}
	case "number", "integer":
		f, ok := x.(float64)
		if !ok {
			return fmt.Errorf("%s: want a number, got %T", p, x)
		}
		if s["type"] == "integer" && f != float64(int64(f)) {
			return fmt.Errorf("%s: want an integer, got %v", p, f)
		}
		if mn, ok := s["minimum"].(float64); ok && (f < mn || (s["exclusiveMinimum"] == true && f == mn)) {
			return fmt.Errorf("%s: %v below the minimum %v", p, f, mn)
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

func asMap(x any) map[string]any {
	m, _ := x.(map[string]any)
	return m
}

// coverage records which documented responses the tests saw.
var coverage = struct {
	sync.Mutex
	seen map[string]bool
}{seen: map[string]bool{}}

func recordCoverage(path, method string, status int) {
	coverage.Lock()
	coverage.seen[fmt.Sprintf("%s %s %d", method, path, status)] = true
	coverage.Unlock()
}

// missingCoverage lists the responses the document names explicitly that
// no test received.
func missingCoverage(v *validator) []string {
	var out []string
	coverage.Lock()
	defer coverage.Unlock()
	for path, item := range v.doc["paths"].(map[string]any) {
		for method, op := range item.(map[string]any) {
			for code := range op.(map[string]any)["responses"].(map[string]any) {
				if code == "default" {
					continue
				}
				k := fmt.Sprintf("%s %s %s", strings.ToUpper(method), path, code)
				if !coverage.seen[k] {
					out = append(out, k)
				}
			}
		}
	}
	sort.Strings(out)
	return out
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
	// allOf merges: an onboarding answer with an undocumented field fails.
	on := v.resolve("#/components/schemas/OnboardingAnswer")
	if err := v.check(on, map[string]any{"x": 1.0}, "$"); err == nil {
		t.Error("allOf: accepted an object without the required fields")
	}
	// oneOf: a batch line is an answer or an error, not both and not neither.
	bl := v.resolve("#/components/schemas/BatchLine")
	if err := v.check(bl, map[string]any{"index": 1.0, "error": "x", "error_status": 404.0}, "$"); err != nil {
		t.Errorf("error line: %v", err)
	}
	if err := v.check(bl, map[string]any{"index": 1.0}, "$"); err == nil {
		t.Error("oneOf: accepted a line that is neither an answer nor an error")
	}
	// Formats and patterns.
	row := v.resolve("#/components/schemas/Row_invoices")
	inv := map[string]any{"invoice_id": "I1", "customer_id": "C1", "issued_at": "2025-01-01", "due_at": "2025-01-15", "amount": "12.50", "currency": "EUR"}
	if err := v.check(row, inv, "$"); err != nil {
		t.Errorf("invoice row: %v", err)
	}
	inv["due_at"], inv["currency"] = "15-01-2025", "eur"
	if err := v.check(row, inv, "$"); err == nil {
		t.Error("accepted a bad date")
	}
}
