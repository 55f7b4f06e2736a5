package auth

import (
	"errors"
	"sync/atomic"
)

// ErrUnauthenticated means the key is missing, malformed, unknown, wrong
// or revoked; callers answer 401 and never say which.
var ErrUnauthenticated = errors.New("missing or invalid API key")

// Keyring is the in-memory set of active keys, replaced as a whole by
// Replace. Safe for concurrent use; Authenticate never blocks on I/O.
type Keyring struct {
	keys atomic.Pointer[map[string]Key]
}

// NewKeyring returns a keyring holding keys (revoked ones are ignored).
func NewKeyring(keys ...Key) *Keyring {
	r := &Keyring{}
	r.Replace(keys)
	return r
}

// Replace swaps in a new set of keys.
func (r *Keyring) Replace(keys []Key) {
	m := make(map[string]Key, len(keys))
	for _, k := range keys {
		if k.RevokedAt == nil {
			m[k.ID] = k
		}
	}
	r.keys.Store(&m)
}

// Add adds or replaces one key (a revoked key is removed).
func (r *Keyring) Add(k Key) {
	for {
		old := r.keys.Load()
		m := make(map[string]Key, len(*old)+1)
		for id, v := range *old {
			m[id] = v
		}
		if k.RevokedAt == nil {
			m[k.ID] = k
		} else {
			delete(m, k.ID)
		}
		if r.keys.CompareAndSwap(old, &m) {
			return
		}
	}
}

// Len returns the number of active keys.
func (r *Keyring) Len() int { return len(*r.keys.Load()) }

// Authenticate returns the key of token, or ErrUnauthenticated.
func (r *Keyring) Authenticate(token string) (Key, error) {
	id, ok := splitToken(token)
	if !ok {
		return Key{}, ErrUnauthenticated
	}
	k, ok := (*r.keys.Load())[id]
	if !ok || !k.matches(token) {
		return Key{}, ErrUnauthenticated
	}
	return k, nil
}
