package model

import (
	"errors"
	"math"
	"testing"
)

func TestReasonForAttribute(t *testing.T) {
	attr := &Attribute{Label: Label{EN: "bureau score", NL: "bureauscore"}}
	num := &Feature{Name: "bureau_score", Type: Numeric, Attribute: attr}
	cat := &Feature{Name: "income_band", Type: Categorical, Attribute: &Attribute{Label: Label{EN: "income band", NL: "inkomensklasse"}}}
	for _, tc := range []struct {
		f              *Feature
		a              Attribution
		lang, code, tx string
	}{
		{num, Attribution{Feature: "bureau_score", Value: 640}, "en", "ATTRIBUTE_BUREAU_SCORE", "bureau score 640"},
		{num, Attribution{Feature: "bureau_score", Value: 0.125}, "nl", "ATTRIBUTE_BUREAU_SCORE", "bureauscore 0.13"},
		{num, Attribution{Feature: "bureau_score", Value: math.NaN()}, "nl", "ATTRIBUTE_BUREAU_SCORE", "bureauscore onbekend"},
		{cat, Attribution{Feature: "income_band", Category: "low"}, "en", "ATTRIBUTE_INCOME_BAND", "income band: low"},
		{cat, Attribution{Feature: "income_band", Category: MissingCategory}, "en", "ATTRIBUTE_INCOME_BAND", "income band unknown"},
		{nil, Attribution{Feature: "monthly_amount", Value: 80}, "en", "MONTHLY_AMOUNT", "monthly amount 80.00"},
	} {
		code, text := ReasonFor(tc.f, tc.a, tc.lang)
		if code != tc.code || text != tc.tx {
			t.Errorf("%+v %s: %s %q, want %s %q", tc.a, tc.lang, code, text, tc.code, tc.tx)
		}
	}
	if got := cat.CategoryOf(""); got != MissingCategory {
		t.Errorf("missing category of an attribute: %q", got)
	}
	if got := (&Feature{Name: "segment", Type: Categorical}).CategoryOf(""); got != "" {
		t.Errorf("missing category of a signal: %q", got)
	}
}

func TestValidateAttributeLabel(t *testing.T) {
	a := testArtifact()
	a.Features[0].Attribute = &Attribute{Label: Label{EN: "x"}}
	if err := a.Validate(); !errors.Is(err, ErrInvalid) {
		t.Fatalf("attribute without a Dutch label: %v", err)
	}
}
