CREATE TABLE IF NOT EXISTS serving_api_keys
(
    key_id String,
    tenant String,
    name String,
    scopes String,
    hash String,
    created_at DateTime('UTC'),
    revoked UInt8,
    revoked_at DateTime('UTC'),
    _version UInt64
)
ENGINE = ReplacingMergeTree(_version)
ORDER BY key_id
