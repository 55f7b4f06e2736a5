-- End of the data: the latest date of any event in the raw tables (of one
-- tenant, or all when {tenant:String} is empty).
SELECT max(d) AS eod
FROM
(
    SELECT max(created_at) AS d FROM customers FINAL WHERE __TENANT__
    UNION ALL SELECT max(issued_at) AS d FROM invoices FINAL WHERE __TENANT__
    UNION ALL SELECT max(toDate(paid_at)) AS d FROM payments FINAL WHERE __TENANT__
    UNION ALL SELECT max(toDate(attempted_at)) AS d FROM direct_debits FINAL WHERE __TENANT__
    UNION ALL SELECT max(toDate(sent_at)) AS d FROM reminders FINAL WHERE __TENANT__
    UNION ALL SELECT max(greatest(toDate(agreed_at), toDate(assumeNotNull(ended_at)))) AS d FROM arrangements FINAL WHERE __TENANT__
    UNION ALL SELECT max(greatest(toDate(opened_at), toDate(assumeNotNull(resolved_at)))) AS d FROM disputes FINAL WHERE __TENANT__
    UNION ALL SELECT max(toDate(occurred_at)) AS d FROM customer_events FINAL WHERE __TENANT__
)
