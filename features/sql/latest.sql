-- Latest: the online feature table, deduplicated, of one tenant (or all).
SELECT *
FROM features_latest FINAL
WHERE __TENANT__
ORDER BY tenant, customer_id
