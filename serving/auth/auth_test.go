package auth

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow/go/v15/arrow/array"

	"github.com/duewise/duewise/warehouse"
	"github.com/duewise/duewise/warehouse/warehousetest"
)

func TestParseScopes(t *testing.T) {
	cases := []struct {
		in   string
		want []string
		err  string
	}{
		{"score", []string{"score"}, ""},
		{" score, events ,admin", []string{"score", "events", "admin"}, ""},
		{"score,score", []string{"score"}, ""},
		{"", nil, "at least one scope"},
		{"score,root", nil, `scope "root" is not one of score, events, admin`},
	}
	for _, c := range cases {
		got, err := ParseScopes(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("ParseScopes(%q) error %v, want %q", c.in, err, c.err)
			}
			continue
		}
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("ParseScopes(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
}

func TestKeyring(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tok, k, err := NewKey("acme", "crm", []string{ScopeScore}, now)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(tok, "dwk_"+k.ID+"_") || len(tok) != 4+12+1+43 || strings.Contains(k.Hash, tok) || k.Hash != Hash(tok) {
		t.Fatalf("token %q, key %+v", tok, k)
	}
	tok2, k2, _ := NewKey("other", "x", []string{ScopeAdmin}, now)
	revokedAt := now
	tok3, k3, _ := NewKey("acme", "old", []string{ScopeScore}, now)
	k3.RevokedAt = &revokedAt
	r := NewKeyring(k, k2, k3)
	if r.Len() != 2 {
		t.Fatalf("%d active keys, want 2", r.Len())
	}
	got, err := r.Authenticate(tok)
	if err != nil || got.Tenant != "acme" || !got.Has(ScopeScore) || got.Has(ScopeAdmin) {
		t.Fatalf("Authenticate = %+v, %v", got, err)
	}
	if got, err := r.Authenticate(tok2); err != nil || got.Tenant != "other" {
		t.Fatalf("second key: %+v, %v", got, err)
	}
	for name, bad := range map[string]string{
		"empty": "", "revoked": tok3, "wrong secret": tok[:len(tok)-1] + "x", "no prefix": strings.TrimPrefix(tok, "dwk_"),
		"short id": "dwk_abc_" + strings.Repeat("a", 43), "unknown id": "dwk_000000000000_" + tok[len(tok)-43:], "another key's id": "dwk_" + k2.ID + tok[len("dwk_")+12:],
	} {
		if _, err := r.Authenticate(bad); err != ErrUnauthenticated {
			t.Errorf("%s: %v", name, err)
		}
	}
	r.Add(k3) // a revoked key stays out
	if _, err := r.Authenticate(tok3); err == nil {
		t.Error("revoked key added back")
	}
}

func TestLimiter(t *testing.T) {
	now := time.Unix(1000, 0)
	l := NewLimiter(2, 3, func() time.Time { return now })
	for i := range 3 {
		if ok, _ := l.Allow("a"); !ok {
			t.Fatalf("request %d within the burst refused", i)
		}
	}
	ok, wait := l.Allow("a")
	if ok || wait != 500*time.Millisecond {
		t.Fatalf("4th request: %v, wait %v; want refused, 500ms", ok, wait)
	}
	if ok, _ := l.Allow("b"); !ok {
		t.Fatal("another key shares the bucket")
	}
	now = now.Add(500 * time.Millisecond)
	if ok, _ := l.Allow("a"); !ok {
		t.Fatal("refilled token refused")
	}
	now = now.Add(time.Hour)
	for i := range 3 {
		if ok, _ := l.Allow("a"); !ok {
			t.Fatalf("after an hour, request %d refused (bucket capped at the burst)", i)
		}
	}
	if ok, _ := l.Allow("a"); ok {
		t.Fatal("bucket grew beyond the burst")
	}
	if ok, _ := NewLimiter(0, 0, nil).Allow("x"); !ok {
		t.Fatal("rate 0 should not limit")
	}
	if blocked, _ := l.Blocked("a"); !blocked {
		t.Fatal("an empty bucket is not blocked")
	}
	if blocked, _ := l.Blocked("c"); blocked {
		t.Fatal("an unknown key is blocked")
	}
	now = now.Add(time.Second)
	if blocked, _ := l.Blocked("a"); blocked {
		t.Fatal("a refilled bucket is blocked")
	}
	if blocked, _ := l.Blocked("a"); blocked {
		t.Fatal("Blocked took a token")
	}
}

// TestStore keeps keys in both backends: only the hash is stored, revoking
// is kept, listing is per tenant.
func TestStore(t *testing.T) {
	warehousetest.Each(t, func(t *testing.T, e warehouse.Engine) {
		ctx := context.Background()
		if _, err := warehouse.Migrate(ctx, e, Migrations()); err != nil {
			t.Fatal(err)
		}
		tenant := warehousetest.Tenant(t)
		s := NewStore(e)
		tok, k, err := s.Create(ctx, tenant, "crm", []string{ScopeScore, ScopeEvents})
		if err != nil {
			t.Fatal(err)
		}
		_, k2, _ := s.Create(ctx, tenant+"_other", "x", []string{ScopeAdmin})
		ks, err := s.List(ctx, tenant)
		if err != nil || len(ks) != 1 || ks[0].ID != k.ID || !slices.Equal(ks[0].Scopes, k.Scopes) || ks[0].Hash != Hash(tok) || ks[0].RevokedAt != nil {
			t.Fatalf("List = %+v, %v", ks, err)
		}
		rr, err := e.Query(ctx, "SELECT concat(key_id, tenant, name, scopes, hash) FROM serving_api_keys WHERE tenant = {t:String}", warehouse.Params{"t": tenant})
		if err != nil {
			t.Fatal(err)
		}
		for rr.Next() {
			c := rr.Record().Column(0).(*array.String)
			for i := range c.Len() {
				if strings.Contains(c.Value(i), tok[len(tok)-43:]) {
					t.Fatal("the key's secret is stored")
				}
			}
		}
		rr.Release()
		if _, err := s.Revoke(ctx, k.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Revoke(ctx, "nope"); err == nil {
			t.Error("revoking an unknown key worked")
		}
		ks, _ = s.List(ctx, "")
		var found int
		for _, x := range ks {
			switch x.ID {
			case k.ID:
				found++
				if x.RevokedAt == nil {
					t.Error("revoked key listed as active")
				}
			case k2.ID:
				found++
			}
		}
		if found != 2 {
			t.Errorf("List(all) found %d of the 2 keys", found)
		}
		r := NewKeyring(ks...)
		if _, err := r.Authenticate(tok); err == nil {
			t.Error("revoked key authenticates after a reload")
		}
	})
}
