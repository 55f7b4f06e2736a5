-- Latest: the online feature table, deduplicated, of one tenant (or all).
-- One reading thread: chDB 26.5 can stall for good in reads with more than
-- one stream (docs/warehouse.md), and this read runs inside the server at
-- every reload; a CI run's test stalled in it on 2026-12-08 under load.
SELECT tenant, customer_id, as_of, status, refreshed_at, __SIGNALS__
FROM features_latest FINAL
WHERE __TENANT__
ORDER BY tenant, customer_id
SETTINGS max_threads = 1
