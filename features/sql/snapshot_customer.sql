-- Behaviour snapshot: one training row per (customer, as_of) of the reference
-- dates, without customers already behind at as_of or whose contract
-- ended before it. __SIGNALS__ is the catalog's column list.
SELECT tenant, customer_id, as_of, __SIGNALS__, duration_days, event
FROM (__CORE__)
WHERE status = 'ok' AND departed = 0
ORDER BY tenant, customer_id, as_of
