-- Signals of every customer at one reference date, read and not written
-- (features_latest is left as it is): the cash-in forecast scores the
-- customers of a past or present date with them. One part of the
-- customers at a time (__TENANT__ carries the part filter), in customer
-- order, with the status and whether the contract ended before the date.
SELECT tenant, customer_id, as_of, status, departed, __SIGNALS__
FROM (__CORE__)
ORDER BY tenant, customer_id
