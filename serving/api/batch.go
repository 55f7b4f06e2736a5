package api

import (
	"context"
	"fmt"
	"sort"
)

// ScoreAll scores every customer of tenant ("" = every tenant with an
// active behaviour model) in the online features with the active
// behaviour model, reasons in lang and the policy's actions, and calls fn
// per customer in customer order within each tenant. It is the nightly
// batch behind `duewise score --all`.
func (s *Server) ScoreAll(ctx context.Context, tenant, lang string, fn func(tenant string, a *RiskAnswer) error) (int, error) {
	t := s.online.Current()
	if t == nil {
		return 0, fmt.Errorf("score all: online features not loaded: %v", s.online.Err())
	}
	tenants := []string{tenant}
	if tenant == "" {
		tenants = nil
		for tn := range s.models.all() {
			tenants = append(tenants, tn)
		}
		sort.Strings(tenants)
	}
	n := 0
	for _, tn := range tenants {
		l := s.models.get(tn, "behaviour")
		if l == nil {
			return n, fmt.Errorf("score all: no active behaviour model for tenant %q", tn)
		}
		var ids []string
		t.Customers(tn, func(_, c string) bool { ids = append(ids, c); return true })
		sort.Strings(ids)
		for _, id := range ids {
			if n%1024 == 0 {
				if err := ctx.Err(); err != nil {
					return n, err
				}
			}
			r, _ := t.Lookup(tn, id)
			a := s.score(l, rowValues(t, r), id, r.AsOf, r.Status, lang, topReasons)
			if err := fn(tn, &a); err != nil {
				return n, err
			}
			n++
		}
	}
	return n, nil
}
