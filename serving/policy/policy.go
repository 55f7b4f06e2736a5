package policy

import (
	_ "embed"
	"fmt"
	"os"
	"slices"
	"strings"
)

//go:embed default.yaml
var defaultYAML []byte

// DefaultYAML returns the text of the embedded default policy.
func DefaultYAML() []byte { return slices.Clone(defaultYAML) }

// Tones, channels, anchors, kinds and onboarding decisions a policy may use.
var (
	Tones     = []string{"friendly", "neutral", "firm"}
	Channels  = []string{"email", "sms", "email_or_sms", "letter", "phone", "digital_or_letter", "none"}
	Anchors   = []string{"now", "due_date", "issue_date"}
	Kinds     = []string{"behaviour", "invoice", "onboarding"}
	Decisions = []string{"accept", "accept_with_direct_debit", "accept_with_deposit_or_lower_limit", "refer_to_person"}
	Computes  = []string{"wik_costs", "claim_value", "sepa_reason", "deposit_or_limit"}
	Ops       = []string{"eq", "ne", "lt", "lte", "gt", "gte", "in", "not_in", "contains", "is"}
)

// Policy is a loaded, validated policy. Immutable after Load; safe for
// concurrent use.
type Policy struct {
	// Version is the policy file's version (for audit and responses).
	Version string `yaml:"version"`
	// MaxActions caps the actions of one answer (default 4).
	MaxActions int `yaml:"max_actions"`
	// Rules apply to the behaviour and invoice models, in order.
	Rules []Rule `yaml:"rules"`
	// Onboarding holds the onboarding decision rules.
	Onboarding Onboarding `yaml:"onboarding"`
	// WIK is the statutory collection-cost scale used by wik_costs.
	WIK WIK `yaml:"wik"`
	// ClaimDecay is the value overdue claims lose with age.
	ClaimDecay ClaimDecay `yaml:"claim_decay"`

	source  string
	signals []signal
}

// Rule is one practice: when its condition holds, its actions are
// recommended.
type Rule struct {
	Name string `yaml:"name"`
	Doc  string `yaml:"doc"`
	// Kinds limits the rule to answers of these model kinds; empty means
	// behaviour and invoice.
	Kinds []string  `yaml:"kinds"`
	When  Condition `yaml:"when"`
	// Actions are recommended in order when the rule fires.
	Actions []ActionSpec `yaml:"actions"`
	// Final stops the evaluation of later rules when this one fires.
	Final bool `yaml:"final"`
	// Decision is the onboarding decision (onboarding rules only).
	Decision string `yaml:"decision"`
}

// Condition holds when every All predicate holds, at least one Any
// predicate holds (if there are any) and no None predicate holds.
type Condition struct {
	All  []Predicate `yaml:"all"`
	Any  []Predicate `yaml:"any"`
	None []Predicate `yaml:"none"`
}

// Predicate compares one signal with a value.
type Predicate struct {
	Signal string `yaml:"signal"`
	Op     string `yaml:"op"`
	Value  any    `yaml:"value"`

	sig signal
	v   value
	set []string
}

// ActionSpec is an action template of a rule.
type ActionSpec struct {
	Type           string   `yaml:"type"`
	When           WhenSpec `yaml:"when"`
	Channel        string   `yaml:"channel"`
	Tone           string   `yaml:"tone"`
	MessageKey     string   `yaml:"message_key"`
	ExpectedEffect string   `yaml:"expected_effect"`
	// Compute adds figures to the action: wik_costs (statutory collection
	// costs on the overdue amount), claim_value (value lost with age),
	// sepa_reason (the failed debit's SEPA code and what it means) or
	// deposit_or_limit (a deposit or a lower credit limit for a prospect).
	Compute string `yaml:"compute"`
	// If, when set, must also hold for this action to be recommended (an
	// action of a rule that only applies to some customers).
	If *Condition `yaml:"if"`
	// Params are fixed parameters handed to the message template, e.g.
	// {include: pay_link}.
	Params map[string]string `yaml:"params"`
}

// WhenSpec places an action in time: OffsetDays days after (negative:
// before) Anchor.
type WhenSpec struct {
	Anchor     string `yaml:"anchor" json:"anchor"`
	OffsetDays int    `yaml:"offset_days" json:"offset_days"`
}

// Onboarding holds the onboarding decision rules (first that fires wins)
// and the condition under which a prospect is worth acquisition spend.
type Onboarding struct {
	Rules       []Rule    `yaml:"rules"`
	Acquisition Condition `yaml:"acquisition"`
	// DepositMonths is the deposit asked by deposit_or_limit, in months of
	// the expected monthly amount (default 2).
	DepositMonths float64 `yaml:"deposit_months"`
	// LimitFactor scales a business prospect's requested credit limit in
	// deposit_or_limit (default 0.5).
	LimitFactor float64 `yaml:"limit_factor"`
	// Value is the expected-value model of a prospect: the signals
	// expected_value, acquisition_cost and expected_profit that the
	// acquisition condition tests (see Policy.ExpectedValue).
	Value Value `yaml:"value"`
}

// Source names where the policy was loaded from ("default" or a path).
func (p *Policy) Source() string { return p.source }

// Default returns the embedded default policy.
func Default() (*Policy, error) { return Parse("default.yaml", defaultYAML) }

// LoadFile reads and validates a policy file; an empty path means Default.
func LoadFile(path string) (*Policy, error) {
	if path == "" {
		return Default()
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load policy: %w", err)
	}
	return Parse(path, b)
}

// Parse decodes and validates policy text; name is used in errors
// (name:line:column: field.path: message).
func Parse(name string, b []byte) (*Policy, error) {
	doc, err := decode(name, b)
	if err != nil {
		return nil, err
	}
	p := doc.p
	p.source = name
	p.signals = signals()
	if p.MaxActions == 0 {
		p.MaxActions = 4
	}
	if p.Onboarding.DepositMonths == 0 {
		p.Onboarding.DepositMonths = 2
	}
	if p.Onboarding.LimitFactor == 0 {
		p.Onboarding.LimitFactor = 0.5
	}
	if err := p.validate(doc); err != nil {
		return nil, err
	}
	return p, nil
}

func oneOf(v string, allowed []string) error {
	if slices.Contains(allowed, v) {
		return nil
	}
	return fmt.Errorf("%q is not one of %s", v, strings.Join(allowed, ", "))
}
