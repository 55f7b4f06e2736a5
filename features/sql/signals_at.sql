-- Signals at one reference date of every customer (or one): status,
-- departed and every catalog signal, without labels.
SELECT tenant, customer_id, as_of, status, departed, __SIGNALS__
FROM (__CORE__)
ORDER BY tenant, customer_id, as_of
