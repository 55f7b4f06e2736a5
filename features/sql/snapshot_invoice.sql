-- Invoice snapshot: one row per invoice issued in [from, to], at its
-- issued_at, with the customer's signals as of that date (__CORE__ keyed by
-- the issue dates), the invoice's amount and terms, and the label of the
-- invoice model: days from due_at until paid in full (event = 1) or until
-- the end of the data (event = 0, censored). An invoice still unpaid at the
-- end of the data and due after it has no label yet (neither on time nor
-- late) and is left out.
SELECT tenant, customer_id, invoice_id, as_of, __SIGNALS__,
       CAST(v_amount_c / 100 AS Nullable(Float64)) AS invoice_amount,
       CAST(toInt32(v_due - as_of) AS Nullable(Float64)) AS invoice_terms_days,
       toInt32(if(v_paid = 1, greatest(0, toInt32(v_full_d - v_due)), greatest(0, toInt32({eod:Date} - v_due)))) AS duration_days,
       toUInt8(v_paid) AS event
FROM
(
    SELECT tenant, customer_id, invoice_id, issued_at AS as_of, due_at AS v_due, amount_c AS v_amount_c,
           toUInt8(full_i > 0 AND full_d <= {eod:Date}) AS v_paid, full_d AS v_full_d
    FROM (__INV__)
    WHERE issued_at >= {from:Date} AND issued_at <= {to:Date} AND (v_paid = 1 OR due_at <= {eod:Date})
) AS l14
ALL INNER JOIN
(
    SELECT tenant, customer_id, as_of, __SIGNALS__
    FROM (__CORE__)
) AS r15 USING (tenant, customer_id, as_of)
ORDER BY tenant, customer_id, as_of, invoice_id
