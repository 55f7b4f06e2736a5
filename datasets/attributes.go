package datasets

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"

	"github.com/duewise/duewise/internal/yamlfile"
	"github.com/duewise/duewise/warehouse"
)

// Attribute types: a number, or a category from a declared set.
const (
	AttrNumeric  = "numeric"
	AttrCategory = "category"
)

// Attribute directions, for the monotone constraints of the models that
// use the attribute (numeric attributes only).
const (
	IncreasesRisk = "increases_risk"
	DecreasesRisk = "decreases_risk"
	NoDirection   = "none"
)

// Label is an attribute's name as people read it, in English and Dutch:
// the reasons of a score name the attribute by it.
type Label struct {
	EN string `json:"en" yaml:"en"`
	NL string `json:"nl" yaml:"nl"`
}

// Attribute is one declared customer attribute of a tenant: an extra
// column of its customers files and events, a model input of its
// onboarding models. A plain value.
type Attribute struct {
	Name  string `json:"name" yaml:"name"`
	Type  string `json:"type" yaml:"type"`
	Label Label  `json:"label" yaml:"label"`
	// Direction is how a higher value moves the risk (numeric only):
	// increases_risk, decreases_risk or none.
	Direction string `json:"direction" yaml:"direction"`
	// Min and Max bound a numeric attribute (both optional, inclusive).
	Min *float64 `json:"min,omitempty" yaml:"min"`
	Max *float64 `json:"max,omitempty" yaml:"max"`
	// Values are a category attribute's allowed values.
	Values []string `json:"values,omitempty" yaml:"values"`
}

// AttributeSchema is one version of a tenant's declared attributes. A
// plain value.
type AttributeSchema struct {
	Tenant     string      `json:"tenant"`
	Version    int         `json:"version"`
	DeclaredAt time.Time   `json:"declared_at"`
	Source     string      `json:"source"`
	Attributes []Attribute `json:"attributes"`
}

// Attribute returns the declared attribute called name.
func (s *AttributeSchema) Attribute(name string) (*Attribute, bool) {
	for i := range s.Attributes {
		if s.Attributes[i].Name == name {
			return &s.Attributes[i], true
		}
	}
	return nil, false
}

// Names returns the declared attribute names, in declaration order.
func (s *AttributeSchema) Names() []string {
	n := make([]string, len(s.Attributes))
	for i, a := range s.Attributes {
		n[i] = a.Name
	}
	return n
}

// attrNameRe is the form of an attribute name: a column name of every
// file format and of ClickHouse without quoting.
var attrNameRe = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)

// maxAttributes bounds the attributes of one declaration, and
// maxCategoryValues the values of one category.
const (
	maxAttributes     = 100
	maxCategoryValues = 1000
)

// reservedAttr are names an attribute cannot take: the columns of every
// snapshot file besides the signals.
var reservedAttr = []string{"as_of", "duration_days", "event", "status", "refreshed_at", "invoice_id", "prospect_id", "attributes", VersionColumn}

// ParseValue checks one value of a (a file cell or a JSON value's text;
// "" is missing, which every attribute allows) and returns it as a number
// (numeric) or as text (category). Safe for concurrent use.
func (a *Attribute) ParseValue(s string) (num float64, str string, missing bool, err error) {
	if s == "" {
		return math.NaN(), "", true, nil
	}
	if a.Type == AttrCategory {
		if !slices.Contains(a.Values, s) {
			return 0, "", false, fmt.Errorf("invalid value %q: want one of %s", s, strings.Join(a.Values, ", "))
		}
		return math.NaN(), s, false, nil
	}
	v, perr := strconv.ParseFloat(s, 64)
	if perr != nil || math.IsInf(v, 0) || math.IsNaN(v) {
		return 0, "", false, fmt.Errorf("invalid number %q", s)
	}
	if err := a.InRange(v); err != nil {
		return 0, "", false, err
	}
	return v, "", false, nil
}

// InRange checks a numeric value against Min and Max.
func (a *Attribute) InRange(v float64) error {
	if (a.Min != nil && v < *a.Min) || (a.Max != nil && v > *a.Max) {
		return fmt.Errorf("%s out of the declared range %s", strconv.FormatFloat(v, 'g', -1, 64), a.RangeText())
	}
	return nil
}

// RangeText spells Min and Max as an interval, e.g. [0, 1000].
func (a *Attribute) RangeText() string {
	lo, hi := "-inf", "+inf"
	if a.Min != nil {
		lo = strconv.FormatFloat(*a.Min, 'g', -1, 64)
	}
	if a.Max != nil {
		hi = strconv.FormatFloat(*a.Max, 'g', -1, 64)
	}
	return "[" + lo + ", " + hi + "]"
}

// attributesFile is the form of an attributes.yaml file.
type attributesFile struct {
	Attributes []Attribute `yaml:"attributes"`
}

// ParseAttributes reads a declaration file (named file in errors):
//
//	attributes:
//	  - name: bureau_score
//	    type: numeric
//	    label: {en: bureau score, nl: bureauscore}
//	    direction: decreases_risk
//	    min: 0
//	    max: 1000
//	  - name: income_band
//	    type: category
//	    label: {en: income band, nl: inkomensklasse}
//	    direction: none
//	    values: [low, middle, high]
//
// Every problem is reported, each as a *yamlfile.Error at
// file:line:column and field path (attributes[1].direction), joined.
func ParseAttributes(file string, b []byte) ([]Attribute, error) {
	f, err := parser.ParseBytes(b, 0)
	if err != nil {
		return nil, yamlfile.Syntax(file, err)
	}
	if len(f.Docs) != 1 || f.Docs[0].Body == nil {
		return nil, &yamlfile.Error{File: file, Msg: "want one YAML document with a list under attributes:"}
	}
	var doc attributesFile
	if err := yaml.NodeToValue(f.Docs[0].Body, &doc, yaml.Strict()); err != nil {
		return nil, yamlfile.Syntax(file, err)
	}
	pos := map[string]*token.Token{}
	indexYAML(f.Docs[0].Body, "", pos)
	at := func(path, msg string) error {
		tk := pos[path]
		for p := path; tk == nil && p != ""; { // the nearest enclosing field that has a position
			if i := strings.LastIndexAny(p, ".["); i > 0 {
				p = p[:i]
			} else {
				p = ""
			}
			tk = pos[p]
		}
		return yamlfile.At(file, tk, path, msg)
	}
	if len(doc.Attributes) == 0 {
		return nil, at("attributes", "want a list of at least one attribute")
	}
	var errs []error
	if len(doc.Attributes) > maxAttributes {
		errs = append(errs, at("attributes", fmt.Sprintf("%d attributes: at most %d", len(doc.Attributes), maxAttributes)))
	}
	seen := map[string]int{}
	for i := range doc.Attributes {
		a := &doc.Attributes[i]
		p := "attributes[" + strconv.Itoa(i) + "]"
		for _, pr := range a.check() {
			errs = append(errs, at(p+"."+pr.Column, pr.Reason))
		}
		if j, dup := seen[a.Name]; dup && a.Name != "" {
			errs = append(errs, at(p+".name", fmt.Sprintf("%q declared twice (also attributes[%d])", a.Name, j)))
		}
		seen[a.Name] = i
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return doc.Attributes, nil
}

// check returns the problems of one declaration, each naming its field.
func (a *Attribute) check() []Problem {
	var ps []Problem
	bad := func(field, format string, args ...any) {
		ps = append(ps, Problem{Column: field, Reason: fmt.Sprintf(format, args...)})
	}
	customers, _ := TableByName("customers")
	_, contract := customers.Column(a.Name)
	switch {
	case !attrNameRe.MatchString(a.Name):
		bad("name", "%q: want lower-case letters, digits and _, starting with a letter (at most 63)", a.Name)
	case contract:
		bad("name", "%q is a column of the customers table already", a.Name)
	case slices.Contains(reservedAttr, a.Name):
		bad("name", "%q is reserved (a snapshot or request field)", a.Name)
	default:
		if p, ok := Protected(a.Name); ok {
			bad("name", "%q looks like a protected attribute (%s): it must not be a model input", a.Name, p)
		}
	}
	if strings.TrimSpace(a.Label.EN) == "" {
		bad("label.en", "required: the English label reasons name the attribute by")
	}
	if strings.TrimSpace(a.Label.NL) == "" {
		bad("label.nl", "required: the Dutch label reasons name the attribute by")
	}
	if a.Direction == "" {
		a.Direction = NoDirection
	}
	if !slices.Contains([]string{IncreasesRisk, DecreasesRisk, NoDirection}, a.Direction) {
		bad("direction", "%q: want increases_risk, decreases_risk or none", a.Direction)
	}
	switch a.Type {
	case AttrNumeric:
		if len(a.Values) > 0 {
			bad("values", "a numeric attribute takes min and max, not values")
		}
		if a.Min != nil && a.Max != nil && *a.Min > *a.Max {
			bad("max", "%v is below min %v", *a.Max, *a.Min)
		}
	case AttrCategory:
		if a.Direction != NoDirection {
			bad("direction", "a category has no order: want none (or a numeric attribute)")
		}
		if a.Min != nil || a.Max != nil {
			bad("min", "a category attribute takes values, not min and max")
		}
		if len(a.Values) == 0 {
			bad("values", "required: the allowed values of the category")
		}
		if len(a.Values) > maxCategoryValues {
			bad("values", "%d values: at most %d", len(a.Values), maxCategoryValues)
		}
		for k, v := range a.Values {
			switch {
			case v == "":
				bad("values["+strconv.Itoa(k)+"]", "empty value (a missing value needs no declaration)")
			case slices.Index(a.Values, v) < k:
				bad("values["+strconv.Itoa(k)+"]", "%q given twice", v)
			}
		}
	default:
		bad("type", "%q: want numeric or category", a.Type)
	}
	return ps
}

// indexYAML records the token of every field path under n.
func indexYAML(n ast.Node, path string, pos map[string]*token.Token) {
	switch n := n.(type) {
	case *ast.MappingNode:
		for _, mv := range n.Values {
			indexYAML(mv, path, pos)
		}
	case *ast.MappingValueNode:
		key := n.Key.GetToken().Value
		p := key
		if path != "" {
			p = path + "." + key
		}
		pos[p] = n.Key.GetToken()
		indexYAML(n.Value, p, pos)
	case *ast.SequenceNode:
		for i, v := range n.Values {
			p := path + "[" + strconv.Itoa(i) + "]"
			tk := v.GetToken()
			if m, ok := v.(*ast.MappingNode); ok && len(m.Values) > 0 {
				tk = m.Values[0].Key.GetToken() // the item's first key, not its first value
			}
			if tk != nil {
				pos[p] = tk
			}
			indexYAML(v, p, pos)
		}
	}
}

// DeclarationsTable holds every version of every tenant's declared
// attributes; AttributesTable the attribute values of customers, one row
// per customer, attribute and date known (known_at: the customer row's
// created_at), so that the same SQL reads them on both engines (no Map
// type on ClickHouse 18.16).
const (
	DeclarationsTable = "attribute_declarations"
	AttributesTable   = "customer_attributes"
)

var attributeTablesSQL = []string{
	"CREATE TABLE IF NOT EXISTS " + DeclarationsTable + " (tenant String, version UInt32, declared_at DateTime('UTC'), source String, attributes String)" +
		" ENGINE = ReplacingMergeTree ORDER BY (tenant, version)",
	"CREATE TABLE IF NOT EXISTS " + AttributesTable + " (tenant String, customer_id String, name String, known_at Date," +
		" num_value Nullable(Float64), str_value String, schema_version UInt32, " + VersionColumn + " UInt64)" +
		" ENGINE = ReplacingMergeTree(" + VersionColumn + ") ORDER BY (tenant, customer_id, name, known_at) SETTINGS " + storageSettings,
}

// ErrNoAttributes is returned for a tenant (or version) without declared
// attributes.
var ErrNoAttributes = errors.New("no declared attributes")

// DeclareAttributes stores attrs as the next version of tenant's declared
// attributes (source names the file, for the record) and returns it. Two
// declarations of one tenant at the same moment may get the same version:
// declare from one place. As concurrency-safe as e.
func DeclareAttributes(ctx context.Context, e warehouse.Engine, tenant, source string, attrs []Attribute) (AttributeSchema, error) {
	if tenant == "" {
		return AttributeSchema{}, errors.New("declare attributes: a tenant is required")
	}
	for i := range attrs {
		if ps := attrs[i].check(); len(ps) > 0 {
			return AttributeSchema{}, fmt.Errorf("declare attributes: attributes[%d].%s", i, ps[0])
		}
	}
	if err := createAttributeTables(ctx, e); err != nil {
		return AttributeSchema{}, err
	}
	all, err := AttributeSchemas(ctx, e, tenant)
	if err != nil {
		return AttributeSchema{}, err
	}
	s := AttributeSchema{Tenant: tenant, Version: 1, DeclaredAt: time.Now().UTC().Truncate(time.Second), Source: source, Attributes: attrs}
	if len(all) > 0 {
		s.Version = all[len(all)-1].Version + 1
	}
	body, err := json.Marshal(attrs)
	if err != nil {
		return AttributeSchema{}, fmt.Errorf("declare attributes: %w", err)
	}
	err = e.Exec(ctx, "INSERT INTO "+DeclarationsTable+" (tenant, version, declared_at, source, attributes) SELECT {tenant:String}, {version:UInt32}, {at:DateTime}, {source:String}, {body:String}",
		warehouse.Params{"tenant": tenant, "version": uint32(s.Version), "at": s.DeclaredAt, "source": source, "body": string(body)})
	if err != nil {
		return AttributeSchema{}, fmt.Errorf("declare attributes of %s: %w", tenant, err)
	}
	return s, nil
}

func createAttributeTables(ctx context.Context, e warehouse.Engine) error {
	for _, s := range attributeTablesSQL {
		if err := e.Exec(ctx, s, nil); err != nil {
			return fmt.Errorf("create the attribute tables: %w", err)
		}
	}
	return nil
}

// AttributeSchemas returns every version of tenant's declared attributes,
// oldest first (none: an empty list). As concurrency-safe as e.
func AttributeSchemas(ctx context.Context, e warehouse.Engine, tenant string) ([]AttributeSchema, error) {
	if err := createAttributeTables(ctx, e); err != nil {
		return nil, err
	}
	rr, err := e.Query(ctx, "SELECT toUInt32(version) AS version, declared_at, source, attributes FROM "+DeclarationsTable+" FINAL WHERE tenant = {tenant:String} ORDER BY version",
		warehouse.Params{"tenant": tenant})
	if err != nil {
		return nil, fmt.Errorf("read the attributes of %s: %w", tenant, err)
	}
	defer rr.Release()
	var out []AttributeSchema
	var s AttributeSchema
	var version uint32
	var body string
	err = warehouse.Scan(rr, func() error {
		s.Tenant, s.Version, s.DeclaredAt = tenant, int(version), s.DeclaredAt.UTC()
		s.Attributes = nil
		if err := json.Unmarshal([]byte(body), &s.Attributes); err != nil {
			return fmt.Errorf("version %d: %w", version, err)
		}
		out = append(out, s)
		return nil
	}, &version, &s.DeclaredAt, &s.Source, &body)
	if err != nil {
		return nil, fmt.Errorf("read the attributes of %s: %w", tenant, err)
	}
	return out, nil
}

// LatestAttributes returns tenant's current declared attributes; an
// ErrNoAttributes error when it declared none. As concurrency-safe as e.
func LatestAttributes(ctx context.Context, e warehouse.Engine, tenant string) (AttributeSchema, error) {
	all, err := AttributeSchemas(ctx, e, tenant)
	if err != nil {
		return AttributeSchema{}, err
	}
	if len(all) == 0 {
		return AttributeSchema{}, fmt.Errorf("tenant %q: %w (duewise attributes declare --tenant %s --file attributes.yaml)", tenant, ErrNoAttributes, tenant)
	}
	return all[len(all)-1], nil
}
