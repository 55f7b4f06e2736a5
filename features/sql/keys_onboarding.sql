-- keys for onboarding snapshots: each customer created in [from, to], at
-- its created_at.
SELECT tenant, customer_id, [created_at] AS ds
FROM customers FINAL
WHERE __TENANT__ AND created_at >= {from:Date} AND created_at <= {to:Date}
