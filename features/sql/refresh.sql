-- Refresh: the latest signals of every customer at one reference date into
-- features_latest (a ReplacingMergeTree by (tenant, customer_id), version
-- refreshed_at), with status 'ok' or 'behind'.
INSERT INTO features_latest (tenant, customer_id, as_of, status, refreshed_at, __SIGNALS__)
SELECT tenant, customer_id, as_of, status, {now:DateTime} AS refreshed_at, __SIGNALS__
FROM (__CORE__)
