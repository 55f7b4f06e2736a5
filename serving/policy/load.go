package policy

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"

	"github.com/duewise/duewise/internal/yamlfile"
)

// Error is one problem in a policy file, at File:Line:Column and field
// Path (e.g. rules[2].when.all[0].signal).
type Error = yamlfile.Error

// document is a decoded policy file with the position of every field.
type document struct {
	name  string
	p     *Policy
	pos   map[string]*token.Position // field path -> position
	paths map[[2]int]string          // line, column -> field path
}

func decode(name string, b []byte) (*document, error) {
	d := &document{name: name, p: &Policy{}, pos: map[string]*token.Position{}, paths: map[[2]int]string{}}
	f, err := parser.ParseBytes(b, 0)
	if err != nil {
		return nil, d.yamlError(err)
	}
	if len(f.Docs) != 1 || f.Docs[0].Body == nil {
		return nil, &Error{File: name, Msg: "want exactly one YAML document holding the policy"}
	}
	d.index(f.Docs[0].Body, "")
	if err := yaml.NodeToValue(f.Docs[0].Body, d.p, yaml.Strict()); err != nil {
		return nil, d.yamlError(err)
	}
	return d, nil
}

// index records the position of every field path under n.
func (d *document) index(n ast.Node, path string) {
	if n == nil {
		return
	}
	mark := func(p string, tk *token.Token) {
		if tk == nil || tk.Position == nil {
			return
		}
		if _, ok := d.pos[p]; !ok {
			d.pos[p] = tk.Position
		}
		d.paths[[2]int{tk.Position.Line, tk.Position.Column}] = p
	}
	switch n := n.(type) {
	case *ast.MappingNode:
		for _, mv := range n.Values {
			d.index(mv, path)
		}
	case *ast.MappingValueNode:
		key := n.Key.GetToken().Value
		p := key
		if path != "" {
			p = path + "." + key
		}
		mark(p, n.Key.GetToken())
		if n.Value != nil {
			mark(p, n.Value.GetToken())
		}
		d.index(n.Value, p)
	case *ast.SequenceNode:
		for i, v := range n.Values {
			p := path + "[" + strconv.Itoa(i) + "]"
			mark(p, v.GetToken())
			d.index(v, p)
		}
	case *ast.TagNode:
		d.index(n.Value, path)
	case *ast.AnchorNode:
		d.index(n.Value, path)
	}
}

// yamlError turns a go-yaml error into an *Error with position and path.
func (d *document) yamlError(err error) error {
	var ye yaml.Error
	if !errors.As(err, &ye) || ye.GetToken() == nil || ye.GetToken().Position == nil {
		return &Error{File: d.name, Msg: err.Error()}
	}
	pos := ye.GetToken().Position
	msg := ye.GetMessage()
	var uf *yaml.UnknownFieldError
	if errors.As(err, &uf) {
		msg = fmt.Sprintf("unknown field %q", ye.GetToken().Value)
	}
	return &Error{File: d.name, Line: pos.Line, Column: pos.Column, Path: d.paths[[2]int{pos.Line, pos.Column}], Msg: msg}
}

// problems collects validation errors with positions.
type problems struct {
	d    *document
	errs []error
}

func (ps *problems) add(path, format string, args ...any) {
	e := &Error{File: ps.d.name, Path: path, Msg: fmt.Sprintf(format, args...)}
	// Point at the field itself, or at its closest ancestor present in the
	// file (a missing field is reported where its parent is).
	for p := path; p != ""; p = parentPath(p) {
		if pos, ok := ps.d.pos[p]; ok {
			e.Line, e.Column = pos.Line, pos.Column
			break
		}
	}
	ps.errs = append(ps.errs, e)
}

func (ps *problems) check(path string, err error) {
	if err != nil {
		ps.add(path, "%v", err)
	}
}

func parentPath(p string) string {
	i := strings.LastIndexAny(p, ".[")
	if i < 0 {
		return ""
	}
	return p[:i]
}

func (p *Policy) validate(d *document) error {
	ps := &problems{d: d}
	if p.MaxActions < 1 || p.MaxActions > 20 {
		ps.add("max_actions", "must be between 1 and 20, got %d", p.MaxActions)
	}
	if len(p.Rules) == 0 {
		ps.add("rules", "at least one rule is required")
	}
	names := map[string]string{}
	checkName := func(path, name string) {
		switch {
		case name == "":
			ps.add(path+".name", "is required")
		case names[name] != "":
			ps.add(path+".name", "rule %q is already defined at %s", name, names[name])
		default:
			names[name] = path
		}
	}
	onboardingRule := false
	for i := range p.Rules {
		r := &p.Rules[i]
		path := fmt.Sprintf("rules[%d]", i)
		checkName(path, r.Name)
		for k, kind := range r.Kinds {
			ps.check(fmt.Sprintf("%s.kinds[%d]", path, k), oneOf(kind, Kinds[:2]))
		}
		if r.Decision != "" {
			ps.add(path+".decision", "only onboarding rules have a decision")
		}
		if len(r.Actions) == 0 {
			ps.add(path+".actions", "at least one action is required")
		}
		p.validateCondition(ps, path+".when", &r.When, false)
		for k := range r.Actions {
			p.validateAction(ps, fmt.Sprintf("%s.actions[%d]", path, k), &r.Actions[k], onboardingRule)
		}
	}
	if len(p.Onboarding.Rules) == 0 {
		ps.add("onboarding.rules", "at least one onboarding rule is required")
	}
	onboardingRule = true
	for i := range p.Onboarding.Rules {
		r := &p.Onboarding.Rules[i]
		path := fmt.Sprintf("onboarding.rules[%d]", i)
		checkName(path, r.Name)
		ps.check(path+".decision", oneOf(r.Decision, Decisions))
		if len(r.Kinds) > 0 {
			ps.add(path+".kinds", "onboarding rules apply to the onboarding model only; remove kinds")
		}
		p.validateCondition(ps, path+".when", &r.When, true)
		for k := range r.Actions {
			p.validateAction(ps, fmt.Sprintf("%s.actions[%d]", path, k), &r.Actions[k], onboardingRule)
		}
	}
	p.validateCondition(ps, "onboarding.acquisition", &p.Onboarding.Acquisition, true)
	if m := p.Onboarding.DepositMonths; m <= 0 || m > 24 {
		ps.add("onboarding.deposit_months", "must be more than 0 and at most 24, got %v", m)
	}
	if f := p.Onboarding.LimitFactor; f <= 0 || f > 1 {
		ps.add("onboarding.limit_factor", "must be a fraction more than 0 and at most 1, got %v", f)
	}
	p.validateMoney(ps)
	p.validateValue(ps)
	if len(ps.errs) > 0 {
		return fmt.Errorf("policy %s is invalid:\n%w", d.name, errors.Join(ps.errs...))
	}
	return nil
}

func (p *Policy) validateMoney(ps *problems) {
	if len(p.WIK.Tiers) == 0 {
		ps.add("wik.tiers", "at least one tier is required")
	}
	prev := 0.0
	for i, t := range p.WIK.Tiers {
		path := fmt.Sprintf("wik.tiers[%d]", i)
		if t.Rate < 0 || t.Rate > 1 {
			ps.add(path+".rate", "must be a fraction between 0 and 1, got %v", t.Rate)
		}
		last := i == len(p.WIK.Tiers)-1
		switch {
		case t.UpTo == 0 && !last:
			ps.add(path+".up_to", "only the last tier may be open-ended (up_to 0)")
		case t.UpTo != 0 && t.UpTo <= prev:
			ps.add(path+".up_to", "must be larger than the previous tier's up_to (%v)", prev)
		}
		prev = t.UpTo
	}
	if p.WIK.Min < 0 || (p.WIK.Max > 0 && p.WIK.Max < p.WIK.Min) {
		ps.add("wik.max", "need 0 <= min <= max, got min %v max %v", p.WIK.Min, p.WIK.Max)
	}
	prevM, prevL := 0.0, 0.0
	for i, c := range p.ClaimDecay {
		path := fmt.Sprintf("claim_decay[%d]", i)
		if c.Months <= prevM {
			ps.add(path+".months", "must increase, got %v after %v", c.Months, prevM)
		}
		if c.Lost < prevL || c.Lost > 1 {
			ps.add(path+".lost", "must be a non-decreasing fraction <= 1, got %v after %v", c.Lost, prevL)
		}
		prevM, prevL = c.Months, c.Lost
	}
}

func (p *Policy) validateAction(ps *problems, path string, a *ActionSpec, onboarding bool) {
	if a.Type == "" {
		ps.add(path+".type", "is required")
	}
	if a.MessageKey == "" {
		ps.add(path+".message_key", "is required")
	}
	for _, name := range placeholders(a.MessageKey) {
		if sig, ok := findSignal(signals(), name); !ok || sig.kind != kindText {
			ps.add(path+".message_key", "placeholder {%s} is not a text signal", name)
		}
	}
	if a.ExpectedEffect == "" {
		ps.add(path+".expected_effect", "is required")
	}
	ps.check(path+".channel", oneOf(a.Channel, Channels))
	ps.check(path+".tone", oneOf(a.Tone, Tones))
	ps.check(path+".when.anchor", oneOf(a.When.Anchor, Anchors))
	if a.Compute != "" {
		ps.check(path+".compute", oneOf(a.Compute, Computes))
	}
	if a.If != nil {
		p.validateCondition(ps, path+".if", a.If, onboarding)
	}
	for k := range a.Params {
		if k == "" || strings.ContainsAny(k, " {}") {
			ps.add(path+".params", "parameter name %q: want a word", k)
		}
	}
}

func (p *Policy) validateCondition(ps *problems, path string, c *Condition, onboarding bool) {
	groups := []struct {
		name  string
		preds []Predicate
	}{{"all", c.All}, {"any", c.Any}, {"none", c.None}}
	for _, g := range groups {
		for i := range g.preds {
			p.validatePredicate(ps, fmt.Sprintf("%s.%s[%d]", path, g.name, i), &g.preds[i])
		}
	}
}

func (p *Policy) validatePredicate(ps *problems, path string, pr *Predicate) {
	sig, ok := findSignal(p.signals, pr.Signal)
	if !ok {
		ps.add(path+".signal", "unknown signal %q (want one of %s)", pr.Signal, strings.Join(SignalNames(), ", "))
		return
	}
	pr.sig = sig
	if err := oneOf(pr.Op, Ops); err != nil {
		ps.add(path+".op", "%v", err)
		return
	}
	vp := path + ".value"
	switch sig.kind {
	case kindNumber:
		if !slices.Contains([]string{"eq", "ne", "lt", "lte", "gt", "gte"}, pr.Op) {
			ps.add(path+".op", "%s is a number: use eq, ne, lt, lte, gt or gte", sig.name)
			return
		}
		f, ok := toFloat(pr.Value)
		if !ok {
			ps.add(vp, "%s is a number: want a number, got %s", sig.name, describe(pr.Value))
			return
		}
		pr.v.num = f
	case kindText, kindList:
		want := []string{"eq", "ne", "in", "not_in"}
		if sig.kind == kindList {
			want = []string{"contains"}
		}
		if !slices.Contains(want, pr.Op) {
			ps.add(path+".op", "%s is a %s: use %s", sig.name, sig.kind, strings.Join(want, ", "))
			return
		}
		if pr.Op == "in" || pr.Op == "not_in" {
			list, ok := toStrings(pr.Value)
			if !ok {
				ps.add(vp, "%s %s wants a list of strings, got %s", sig.name, pr.Op, describe(pr.Value))
				return
			}
			pr.set = list
			return
		}
		s, ok := pr.Value.(string)
		if !ok {
			ps.add(vp, "%s %s wants a string, got %s", sig.name, pr.Op, describe(pr.Value))
			return
		}
		pr.v.str = s
	case kindFlag:
		if pr.Op != "is" {
			ps.add(path+".op", "%s is true/false: use is", sig.name)
			return
		}
		b, ok := pr.Value.(bool)
		if !ok {
			ps.add(vp, "%s is true/false: want true or false, got %s", sig.name, describe(pr.Value))
			return
		}
		pr.v.flag = b
	}
}

func toFloat(v any) (float64, bool) {
	switch v := v.(type) {
	case int:
		return float64(v), true
	case int64:
		return float64(v), true
	case uint64:
		return float64(v), true
	case float64:
		return v, !math.IsNaN(v)
	}
	return 0, false
}

func toStrings(v any) ([]string, bool) {
	list, ok := v.([]any)
	if !ok || len(list) == 0 {
		return nil, false
	}
	out := make([]string, len(list))
	for i, x := range list {
		s, ok := x.(string)
		if !ok {
			return nil, false
		}
		out[i] = s
	}
	return out, true
}

func describe(v any) string {
	if v == nil {
		return "nothing"
	}
	return fmt.Sprintf("%T %v", v, v)
}
