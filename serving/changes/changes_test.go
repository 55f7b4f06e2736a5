package changes

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/duewise/duewise/warehouse"
	"github.com/duewise/duewise/warehouse/warehousetest"
)

func TestDiff(t *testing.T) {
	a := State{Band: "B", Status: "ok", Actions: []string{"reminder/email"}}
	for _, tc := range []struct {
		name   string
		before State
		after  State
		want   []string
	}{
		{"same", a, State{Band: "B", Status: "ok", Actions: []string{"reminder/email"}}, nil},
		{"band", a, State{Band: "C", Status: "ok", Actions: a.Actions}, []string{"band"}},
		{"status and actions", a, State{Band: "B", Status: "behind", Actions: []string{"reminder/phone"}}, []string{"status", "actions"}},
		{"new customer", State{}, a, []string{"band", "status", "actions"}},
		{"action order", State{Band: "B", Actions: []string{"x/a", "y/b"}}, State{Band: "B", Actions: []string{"y/b", "x/a"}}, []string{"actions"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Diff(tc.before, tc.after); !slices.Equal(got, tc.want) {
				t.Errorf("Diff = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestFeed writes changes and reads them back page by page on both
// backends: in order, per tenant, none before it has settled, resumable
// from any cursor, expired cursors refused, old days purged.
func TestFeed(t *testing.T) {
	warehousetest.Each(t, func(t *testing.T, e warehouse.Engine) {
		ctx := context.Background()
		if _, err := warehouse.Migrate(ctx, e, Migrations()); err != nil {
			t.Fatal(err)
		}
		now := time.Now().UTC().Add(-3 * 24 * time.Hour)
		l, err := Open(Config{Warehouse: e, Now: func() time.Time { return now }})
		if err != nil {
			t.Fatal(err)
		}
		tenant, other := warehousetest.Tenant(t), warehousetest.Tenant(t)
		b := State{Band: "B", Status: "ok", Actions: []string{"reminder/email"}}
		c := State{Band: "C", Status: "ok", Actions: []string{"reminder/email", "payment_plan_offer/phone"}}
		if err := l.Append(ctx, []Change{New(tenant, "C1", "behaviour", "v1", b, c), New(other, "X", "behaviour", "v1", b, c),
			New(tenant, "C2", "behaviour", "v1", b, b), New(tenant, "C3", "behaviour", "v1", State{}, b)}); err != nil {
			t.Fatal(err)
		}
		page, err := l.Since(ctx, tenant, "", 10)
		if err != nil || len(page.Changes) != 0 {
			t.Fatalf("before the changes settled: %+v, %v", page, err)
		}
		now = now.Add(3 * time.Second)
		if err := l.Append(ctx, []Change{New(tenant, "C1", "behaviour", "v1", c, b)}); err != nil {
			t.Fatal(err)
		}
		page, err = l.Since(ctx, tenant, "", 1)
		if err != nil || len(page.Changes) != 1 || !page.More || page.Changes[0].CustomerID != "C1" {
			t.Fatalf("first page: %+v, %v", page, err)
		}
		first := page.Changes[0]
		if !slices.Equal(first.Fields, []string{"band", "actions"}) || !slices.Equal(first.After.Actions, c.Actions) || first.Before.Band != "B" || first.Model != "v1" {
			t.Errorf("first change %+v", first)
		}
		page, err = l.Since(ctx, tenant, page.Next, 10)
		if err != nil || len(page.Changes) != 1 || page.More || page.Changes[0].CustomerID != "C3" || page.Changes[0].Before.Band != "" {
			t.Fatalf("second page (C2 did not change, C1's second change has not settled): %+v, %v", page, err)
		}
		resume := page.Next
		now = now.Add(3 * time.Second)
		page, err = l.Since(ctx, tenant, resume, 10)
		if err != nil || len(page.Changes) != 1 || page.Changes[0].CustomerID != "C1" || page.Changes[0].After.Band != "B" {
			t.Fatalf("after settling: %+v, %v", page, err)
		}
		if page, err = l.Since(ctx, tenant, page.Next, 10); err != nil || len(page.Changes) != 0 || page.Next == "" {
			t.Fatalf("at the end: %+v, %v", page, err)
		}
		if page, err = l.Since(ctx, other, "", 10); err != nil || len(page.Changes) != 1 {
			t.Fatalf("the other tenant: %+v, %v", page, err)
		}
		for _, bad := range []string{"x", "-1", "99999999999999999999"} {
			if _, err := l.Since(ctx, tenant, bad, 10); !errors.Is(err, ErrBadCursor) {
				t.Errorf("cursor %q: %v, want ErrBadCursor", bad, err)
			}
		}
		// Eight days later the first cursor has expired and its day is
		// dropped.
		now = now.Add(8 * 24 * time.Hour)
		if _, err := l.Since(ctx, tenant, first.Cursor, 10); !errors.Is(err, ErrExpired) {
			t.Errorf("an 8-day-old cursor: %v, want ErrExpired", err)
		}
		if err := l.Purge(ctx); err != nil {
			t.Fatal(err)
		}
		if page, err = l.Since(ctx, other, "", 10); err != nil || len(page.Changes) != 0 {
			t.Errorf("after the purge: %+v, %v", page, err)
		}
	})
}
