-- Refresh of given customers: the latest signals of the customers that
-- events touched, in features_latest's columns and in customer order. The
-- caller writes them into features_latest (and into the server's memory).
SELECT tenant, customer_id, as_of, status, {now:DateTime} AS refreshed_at, __SIGNALS__
FROM (__CORE__)
ORDER BY tenant, customer_id
