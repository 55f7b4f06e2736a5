package api

import (
	_ "embed"
	"encoding/json"
	"fmt"

	"github.com/duewise/duewise/datasets"
	"github.com/duewise/duewise/features"
)

// openAPIBase is the hand-written part of the OpenAPI 3 document.
//
//go:embed openapi.json
var openAPIBase []byte

// openAPI is the document served at /openapi.json: openAPIBase with the
// schemas that follow from the code filled in (the signals an inline
// record may send, with their meaning; the data-contract rows of events
// and histories, with their types and allowed values), so that the
// document cannot drift from them.
var openAPI = buildOpenAPI()

// OpenAPI returns the OpenAPI 3 document of the API.
func OpenAPI() []byte { return append([]byte(nil), openAPI...) }

func buildOpenAPI() []byte {
	var doc map[string]any
	if err := json.Unmarshal(openAPIBase, &doc); err != nil {
		panic("api: openapi.json: " + err.Error())
	}
	schemas := doc["components"].(map[string]any)["schemas"].(map[string]any)
	// Signals.
	props := map[string]any{}
	sigs := append(features.Catalog(), features.InvoiceSignals()...)
	for _, s := range sigs {
		typ := "number"
		if s.Kind == features.Categorical {
			typ = "string"
		}
		p := map[string]any{"type": typ, "nullable": true, "description": fmt.Sprintf("%s (window %s)", s.Meaning, s.Window)}
		if typ == "number" {
			p["format"] = "double"
		}
		props[s.Name] = p
	}
	schemas["Signals"].(map[string]any)["properties"] = props
	// Data-contract rows.
	events := map[string]any{}
	for _, t := range datasets.Tables {
		name := "Row_" + t.Name
		schemas[name] = rowSchema(t)
		events[t.Name] = map[string]any{"type": "array", "items": map[string]any{"$ref": "#/components/schemas/" + name}}
	}
	schemas["EventsRequest"].(map[string]any)["properties"] = events
	history := map[string]any{"customer": map[string]any{"$ref": "#/components/schemas/Row_customers"}}
	for _, t := range datasets.Tables[1:] {
		history[t.Name] = map[string]any{"type": "array", "items": map[string]any{"$ref": "#/components/schemas/Row_" + t.Name}}
	}
	schemas["History"].(map[string]any)["properties"] = history
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		panic("api: openapi.json: " + err.Error())
	}
	return b
}

// rowSchema describes one data-contract row as JSON (docs/data-contract.md).
func rowSchema(t datasets.Table) map[string]any {
	props := map[string]any{}
	var required []any
	for _, c := range t.Columns {
		var s map[string]any
		switch c.Kind {
		case datasets.Enum:
			vals := make([]any, 0, len(c.Values)+1)
			for _, v := range c.Values {
				vals = append(vals, v)
			}
			if !c.Required {
				vals = append(vals, "")
			}
			s = map[string]any{"type": "string", "enum": vals}
		case datasets.Date:
			s = map[string]any{"type": "string", "format": "date"}
		case datasets.Timestamp:
			s = map[string]any{"type": "string", "format": "date-time"}
		case datasets.Amount:
			s = map[string]any{"oneOf": []any{map[string]any{"type": "string", "pattern": `^[0-9]+(\.[0-9]{1,2})?$`},
				map[string]any{"type": "number", "format": "double", "minimum": 0}},
				"description": "decimal >= 0 with at most 2 decimals, as a string or a number"}
		case datasets.Int:
			s = map[string]any{"type": "integer"}
		case datasets.Currency:
			s = map[string]any{"type": "string", "pattern": "^[A-Z]{3}$"}
		case datasets.Country:
			s = map[string]any{"type": "string", "pattern": "^[A-Z]{2}$"}
		default:
			s = map[string]any{"type": "string"}
		}
		if c.Doc != "" {
			if d, ok := s["description"].(string); ok {
				s["description"] = c.Doc + " " + d
			} else {
				s["description"] = c.Doc
			}
		}
		if !c.Required {
			nullable(s)
		}
		props[c.Name] = s
		if c.Required && c.Name != "tenant" {
			required = append(required, c.Name)
		}
	}
	row := map[string]any{"type": "object", "additionalProperties": false, "required": required, "properties": props,
		"description": t.Doc + " The tenant may be left out (it is the API key's)."}
	if t.Name == "customers" {
		// Any value: a typed, nullable schema makes oapi-codegen v2.4.1
		// generate a client that does not compile (TestGeneratedClient).
		row["additionalProperties"] = true
		row["description"] = row["description"].(string) + " Other fields are the tenant's declared attributes (duewise attributes declare): a number, a string or null, checked against the declaration."
	}
	return row
}

// nullable marks s as accepting null: itself when it has a type, else its
// first alternative only, so that null matches exactly one of a oneOf
// (OpenAPI 3.0 wants nullable beside a type).
func nullable(s map[string]any) {
	alts, ok := s["oneOf"].([]any)
	if _, typed := s["type"]; typed || !ok || len(alts) == 0 {
		s["nullable"] = true
		return
	}
	if m, ok := alts[0].(map[string]any); ok {
		m["nullable"] = true
	}
}
