package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Scopes a key may hold.
const (
	ScopeScore  = "score"
	ScopeEvents = "events"
	ScopeAdmin  = "admin"
)

// AllScopes lists the scopes in documentation order.
var AllScopes = []string{ScopeScore, ScopeEvents, ScopeAdmin}

const prefix = "dwk_"

// Key is a stored API key: everything but the secret. A plain value.
type Key struct {
	ID        string     `json:"id"`
	Tenant    string     `json:"tenant"`
	Name      string     `json:"name"`
	Scopes    []string   `json:"scopes"`
	Hash      string     `json:"-"` // hex SHA-256 of the whole key
	CreatedAt time.Time  `json:"created_at"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
}

// Has reports whether the key holds scope.
func (k Key) Has(scope string) bool { return slices.Contains(k.Scopes, scope) }

// ParseScopes splits "score,events" into scopes, rejecting unknown ones and
// an empty list.
func ParseScopes(s string) ([]string, error) {
	var out []string
	for _, p := range strings.Split(s, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		if !slices.Contains(AllScopes, p) {
			return nil, fmt.Errorf("scope %q is not one of %s", p, strings.Join(AllScopes, ", "))
		}
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("at least one scope is required (%s)", strings.Join(AllScopes, ", "))
	}
	return out, nil
}

// NewKey makes a new random key for tenant and returns the secret token (to
// show once) and the Key to store.
func NewKey(tenant, name string, scopes []string, now time.Time) (string, Key, error) {
	if strings.TrimSpace(tenant) == "" {
		return "", Key{}, errors.New("new key: tenant is required")
	}
	if len(scopes) == 0 {
		return "", Key{}, errors.New("new key: at least one scope is required")
	}
	var id [6]byte
	var secret [32]byte
	if _, err := rand.Read(id[:]); err != nil {
		return "", Key{}, fmt.Errorf("new key: %w", err)
	}
	if _, err := rand.Read(secret[:]); err != nil {
		return "", Key{}, fmt.Errorf("new key: %w", err)
	}
	k := Key{ID: hex.EncodeToString(id[:]), Tenant: tenant, Name: name, Scopes: slices.Clone(scopes), CreatedAt: now.UTC().Truncate(time.Second)}
	token := prefix + k.ID + "_" + base64.RawURLEncoding.EncodeToString(secret[:])
	k.Hash = Hash(token)
	return token, k, nil
}

// Hash returns the hex SHA-256 of a token.
func Hash(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// splitToken returns the key id of a well-formed token.
func splitToken(token string) (string, bool) {
	rest, ok := strings.CutPrefix(token, prefix)
	if !ok {
		return "", false
	}
	id, secret, ok := strings.Cut(rest, "_")
	if !ok || len(id) != 12 || len(secret) != 43 {
		return "", false
	}
	return id, true
}

// matches compares token's hash with the stored hash in constant time.
func (k Key) matches(token string) bool {
	return subtle.ConstantTimeCompare([]byte(Hash(token)), []byte(k.Hash)) == 1
}
