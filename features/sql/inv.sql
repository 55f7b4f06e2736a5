-- inv: one row per invoice (deduplicated with FINAL), independent of any
-- reference date: the invoice's payments as arrays sorted by time (p_ts,
-- p_d = day, p_c = cents, p_coll = 1 when paid through a collection
-- agency), full_i = 1-based index of the payment that brought the
-- cumulative amount to the invoice amount (0 = never), its time full_ts
-- (lambdas capture no column: ClickHouse 18.16 prunes captured columns)
-- and day full_d, and the first reminder (has_rem, rem_ts).
-- Included by core.sql and snapshot_invoice.sql through __INV__.
SELECT tenant, customer_id, invoice_id, issued_at, due_at, amount_c,
       p_d, p_c, p_coll, full_i, full_ts, full_d, has_rem, rem_ts
FROM
(
    SELECT tenant, customer_id, invoice_id, issued_at, due_at, amount_c,
           arrayMap(x -> x.1, p) AS p_ts,
           arrayMap(x -> x.2, p) AS p_d,
           arrayMap(x -> x.3, p) AS p_c,
           arrayMap(x -> x.4, p) AS p_coll,
           arrayFirstIndex(x -> x >= 0, arrayCumSum(arrayConcat([-amount_c], p_c))) AS full_k,
           if(full_k = 0, 0, full_k - 1) AS full_i,
           p_ts[greatest(full_i, 1)] AS full_ts,
           p_d[greatest(full_i, 1)] AS full_d
    FROM
    (
        SELECT tenant, invoice_id, customer_id, issued_at, due_at, toInt64(amount * 100) AS amount_c
        FROM invoices FINAL
        WHERE __TENANT__
    ) AS l1
    ANY LEFT JOIN
    (
        SELECT tenant, invoice_id,
               arraySort(groupArray((paid_at, toDate(paid_at), toInt64(amount * 100), toUInt8(method = 'collection_agency')))) AS p
        FROM payments FINAL
        WHERE __TENANT__
        GROUP BY tenant, invoice_id
    ) AS r2 USING (tenant, invoice_id)
) AS l3
ANY LEFT JOIN
(
    SELECT tenant, invoice_id, min(sent_at) AS rem_ts, toUInt8(1) AS has_rem
    FROM reminders FINAL
    WHERE __TENANT__
    GROUP BY tenant, invoice_id
) AS r4 USING (tenant, invoice_id)
