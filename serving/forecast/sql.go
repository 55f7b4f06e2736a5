package forecast

// The statements of the forecast. Each reads only what was known before
// the forecast day {d} (invoices issued before it, payments received
// before it), except actualSQL, which reads what came in after it, for the
// backtest. Amounts are in cents, as features/sql/inv.sql computes them.

// paidBeforeSQL: per invoice, the cents paid before {dt} and the day of
// the last of those payments.
const paidBeforeSQL = `
    SELECT tenant, invoice_id, toInt64(sum(toInt64(round(amount * 100)))) AS paid_c, max(toDate(paid_at)) AS paid_d
    FROM payments FINAL
    WHERE tenant = {tenant:String} AND paid_at < {dt:DateTime}
    GROUP BY tenant, invoice_id
`

// invoicesSQL: per customer, the invoices issued in the year before {d}
// (their issue dates, amounts and terms give the billing cycle) and every
// invoice still open at {d} whatever its age, with the cents paid before
// {d}.
const invoicesSQL = `
SELECT customer_id, invoice_id, issued_at, due_at, amount_c, paid_c
FROM
(
    SELECT tenant, customer_id, invoice_id, issued_at, due_at, toInt64(round(amount * 100)) AS amount_c
    FROM invoices FINAL
    WHERE tenant = {tenant:String} AND issued_at < {d:Date}
) AS i1
ALL LEFT JOIN
(` + paidBeforeSQL + `) AS p2 USING (tenant, invoice_id)
WHERE issued_at >= {cycle_from:Date} OR paid_c < amount_c
ORDER BY customer_id, issued_at, invoice_id`

// onTimeSQL: per customer, how many of its invoices due in the year
// before {d} that were paid in full on or before the due date were
// settled k days before it (the day of the payment that completed them),
// as known at {d}.
const onTimeSQL = `
SELECT customer_id, toInt32(due_at - paid_d) AS days_before, toInt64(count()) AS n
FROM
(
    SELECT tenant, customer_id, invoice_id, due_at, toInt64(round(amount * 100)) AS amount_c
    FROM invoices FINAL
    WHERE tenant = {tenant:String} AND due_at >= {cycle_from:Date} AND due_at < {d:Date}
) AS i1
ALL INNER JOIN
(` + paidBeforeSQL + `) AS p2 USING (tenant, invoice_id)
WHERE paid_c >= amount_c AND paid_d <= due_at
GROUP BY customer_id, days_before
ORDER BY customer_id, days_before`

// actualSQL: the cents received per week from {d} on, {weeks} weeks.
const actualSQL = `
SELECT toInt32(intDiv(toInt32(toDate(paid_at) - {d:Date}), 7)) AS week, toInt64(sum(toInt64(round(amount * 100)))) AS cents
FROM payments FINAL
WHERE tenant = {tenant:String} AND paid_at >= {dt:DateTime} AND paid_at < {end:DateTime}
GROUP BY week
ORDER BY week`

// seasonSQL: the mean invoice amount per calendar month of the two years
// before {d}, in cents: the season of the amounts billed.
const seasonSQL = `
SELECT toStartOfMonth(issued_at) AS month, toFloat64(avg(toInt64(round(amount * 100)))) AS mean_c
FROM invoices FINAL
WHERE tenant = {tenant:String} AND issued_at < {d:Date} AND issued_at >= {season_from:Date}
GROUP BY month
ORDER BY month`
