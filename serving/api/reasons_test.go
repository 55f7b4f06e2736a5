package api

import (
	"strings"
	"testing"

	"github.com/duewise/duewise/features"
	"github.com/duewise/duewise/model"
)

// TestEverySignalHasAReason holds every signal a model can be trained on
// to a stable reason code with its own English and Dutch texts (not the
// generic OTHER_ fallback), so that no answer shows a raw feature name.
func TestEverySignalHasAReason(t *testing.T) {
	for _, s := range append(features.Catalog(), features.InvoiceSignals()...) {
		for _, lang := range []string{"en", "nl"} {
			code, text := model.Reason(model.Attribution{Feature: s.Name, Value: 2, Category: map[bool]string{true: "x"}[s.Kind == features.Categorical]}, lang)
			if strings.HasPrefix(code, "OTHER_") || strings.Contains(text, s.Name+" = ") {
				t.Errorf("%s (%s): no reason text: %s %q", s.Name, lang, code, text)
			}
		}
	}
}
