package auth

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/duewise/duewise/warehouse"
)

//go:embed sql/001_api_keys.sql
var keysDDL string

// Migrations create the API key table serving_api_keys.
func Migrations() []warehouse.Migration {
	return []warehouse.Migration{{Component: "auth", Version: 1, Name: "serving_api_keys table", Statements: []string{keysDDL}}}
}

// Store keeps API keys (hashes only) in the warehouse. As safe for
// concurrent use as its engine.
type Store struct {
	eng warehouse.Engine
	now func() time.Time
}

// NewStore returns a key store on eng.
func NewStore(eng warehouse.Engine) *Store { return &Store{eng: eng, now: time.Now} }

// ErrNoKey is returned when revoking an unknown key.
var ErrNoKey = errors.New("no such API key")

// Create makes a key for tenant with scopes, stores its hash and returns
// the secret token (shown once) and the stored key.
func (s *Store) Create(ctx context.Context, tenant, name string, scopes []string) (string, Key, error) {
	token, k, err := NewKey(tenant, name, scopes, s.now())
	if err != nil {
		return "", Key{}, err
	}
	return token, k, s.put(ctx, k)
}

func (s *Store) put(ctx context.Context, k Key) error {
	revoked, revokedAt := uint8(0), time.Unix(0, 0).UTC()
	if k.RevokedAt != nil {
		revoked, revokedAt = 1, k.RevokedAt.UTC().Truncate(time.Second)
	}
	err := s.eng.Exec(ctx, `INSERT INTO serving_api_keys (key_id, tenant, name, scopes, hash, created_at, revoked, revoked_at, _version)
SELECT {id:String}, {tenant:String}, {name:String}, {scopes:String}, {hash:String}, {created:DateTime}, {revoked:UInt8}, {revoked_at:DateTime}, {v:UInt64}`,
		warehouse.Params{"id": k.ID, "tenant": k.Tenant, "name": k.Name, "scopes": strings.Join(k.Scopes, ","), "hash": k.Hash,
			"created": k.CreatedAt.UTC().Truncate(time.Second), "revoked": revoked, "revoked_at": revokedAt, "v": uint64(s.now().UnixNano())})
	if err != nil {
		return fmt.Errorf("store API key %s: %w", k.ID, err)
	}
	return nil
}

// List returns the keys of tenant ("" = all), revoked ones included,
// ordered by creation.
func (s *Store) List(ctx context.Context, tenant string) ([]Key, error) {
	rr, err := s.eng.Query(ctx, `SELECT key_id, tenant, name, scopes, hash, created_at, revoked, revoked_at
FROM serving_api_keys FINAL WHERE {tenant:String} = '' OR tenant = {tenant:String} ORDER BY created_at, key_id`, warehouse.Params{"tenant": tenant})
	if err != nil {
		return nil, fmt.Errorf("list API keys: %w", err)
	}
	defer rr.Release()
	var out []Key
	var k Key
	var scopes string
	var revoked bool
	var revokedAt time.Time
	err = warehouse.Scan(rr, func() error {
		k.Scopes, k.RevokedAt = strings.Split(scopes, ","), nil
		if revoked {
			at := revokedAt
			k.RevokedAt = &at
		}
		out = append(out, k)
		return nil
	}, &k.ID, &k.Tenant, &k.Name, &scopes, &k.Hash, &k.CreatedAt, &revoked, &revokedAt)
	if err != nil {
		return nil, fmt.Errorf("list API keys: %w", err)
	}
	return out, nil
}

// Revoke revokes key id.
func (s *Store) Revoke(ctx context.Context, id string) (Key, error) {
	ks, err := s.List(ctx, "")
	if err != nil {
		return Key{}, err
	}
	for _, k := range ks {
		if k.ID == id {
			now := s.now().UTC().Truncate(time.Second)
			k.RevokedAt = &now
			return k, s.put(ctx, k)
		}
	}
	return Key{}, fmt.Errorf("revoke %q: %w", id, ErrNoKey)
}
