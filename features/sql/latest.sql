-- Latest: the online feature table, deduplicated, of one tenant (or all).
SELECT tenant, customer_id, as_of, status, refreshed_at, __SIGNALS__
FROM features_latest FINAL
WHERE __TENANT__
ORDER BY tenant, customer_id
