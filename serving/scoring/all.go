package scoring

import (
	"context"
	"fmt"

	"github.com/duewise/duewise/internal/ordered"
	"github.com/duewise/duewise/model"
	"github.com/duewise/duewise/serving/online"
)

// All scores every customer of tenant ("" = every tenant with an active
// behaviour model) in the online features with its tenant's active
// behaviour model, reasons in lang and the policy's recommended actions,
// on Workers goroutines. Each answer is passed to encode on the worker
// that made it (so that the output is formatted in parallel too), and what
// encode returns to emit, in tenant and customer order. It is the nightly
// batch behind `duewise score --all`; the caller records its output. It
// returns the number of customers emitted.
func (s *Core) All(ctx context.Context, tenant, lang string, encode func(tenant string, a *RiskAnswer) (any, error), emit func(any) error) (int, error) {
	m := s.tmap.Load()
	if m == nil {
		return 0, fmt.Errorf("score all: online features not loaded: %v", s.online.Err())
	}
	t := m.t
	tenants := []string{tenant}
	if tenant == "" {
		tenants = nil
		for _, tn := range t.Tenants() {
			if s.models.get(tn, string(model.Behaviour)) != nil {
				tenants = append(tenants, tn)
			}
		}
	}
	total := 0
	for _, tn := range tenants {
		n, err := s.allOf(ctx, m, tn, lang, encode, emit)
		total += n
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// allOf is All for one tenant.
func (s *Core) allOf(ctx context.Context, m *tableMap, tenant, lang string, encode func(tenant string, a *RiskAnswer) (any, error), emit func(any) error) (int, error) {
	t := m.t
	l := s.models.get(tenant, string(model.Behaviour))
	if l == nil {
		return 0, fmt.Errorf("score all: no active behaviour model for tenant %q", tenant)
	}
	type row struct {
		id string
		r  online.Row
	}
	rows := make([]row, 0, t.Customers(tenant))
	t.Each(tenant, func(_, id string, r online.Row) bool { rows = append(rows, row{id, r}); return true })
	type chunk struct {
		out []any
		err error
	}
	bufs := make([]Values, s.cfg.Workers)
	total := 0
	err := ordered.Run(ctx, ordered.Config{Workers: s.cfg.Workers}, ordered.Chunks(len(rows), 256), func(w int, rg ordered.Range) chunk {
		bufs[w] = s.cat.Reset(bufs[w])
		c := chunk{out: make([]any, 0, rg.Hi-rg.Lo)}
		for i := rg.Lo; i < rg.Hi; i++ {
			m.fromRow(rows[i].r, &bufs[w])
			a, _ := s.score(l, &bufs[w], rows[i].id, rows[i].r.AsOf, rows[i].r.Status, lang)
			x, err := encode(tenant, &a)
			if err != nil {
				c.err = err
				return c
			}
			c.out = append(c.out, x)
		}
		return c
	}, func(c chunk) error {
		if c.err != nil {
			return c.err
		}
		for _, x := range c.out {
			if err := emit(x); err != nil {
				return err
			}
			total++
		}
		return nil
	})
	return total, err
}
