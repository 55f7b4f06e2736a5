// Package auth holds duewise's API keys: per-tenant keys with scopes
// (score, events, admin), sent as "Authorization: Bearer <key>".
//
// A key is "dwk_<id>_<secret>": a public 12-hex-digit id and 32 random bytes
// (256 bits) of secret. Only the SHA-256 of the whole key is stored (in the
// ClickHouse table serving_api_keys); a plain hash is enough because the key
// is high-entropy random, not a password, so brute force over the hash is
// infeasible and no slow KDF is needed. The presented key's hash is compared
// with the stored one in constant time. The Keyring holds the keys in
// memory (refreshed from the Store) so that authentication never queries
// ClickHouse; the Limiter is a token bucket per key (golang.org/x/time/rate).
package auth
