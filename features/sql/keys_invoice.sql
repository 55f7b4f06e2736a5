-- keys for invoice snapshots: per customer, the issue dates of its invoices
-- issued in [from, to].
SELECT tenant, customer_id, groupUniqArray(issued_at) AS ds
FROM invoices FINAL
WHERE __TENANT__ AND issued_at >= {from:Date} AND issued_at <= {to:Date}
GROUP BY tenant, customer_id
