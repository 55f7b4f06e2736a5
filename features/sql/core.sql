-- core: one row per (tenant, customer_id, as_of) of the key set __KEYS__
-- (a subquery with columns tenant, customer_id, ds Array(Date)), with the
-- customer's status at as_of ('ok' | 'behind'), whether its contract ended
-- before as_of (departed), every signal of the catalog and the label
-- (duration_days, event). See docs/features.md.
-- Parameters: {thr:Int32} days after due that count as behind,
-- {eod:Date} end of the data, plus those of __KEYS__ and __TENANT__.
-- {known:Int32} is 0 or 1 days. Time semantics: an event dated d (a
-- Date, or the UTC day of a DateTime) is known at as_of when
-- d < as_of + known; a window "Nd" is [as_of + known - N, as_of + known).
-- Snapshots and refreshes --as-of a date use 0 (the state at 00:00 UTC
-- on as_of); the live refresh of `duewise serve` and of `features
-- refresh` without --as-of uses 1: as_of is today and today's events
-- known so far count (a debit that failed an hour ago), while due dates
-- are still compared with as_of (an invoice due today is not overdue
-- before the day has ended).
SELECT
    tenant, customer_id, as_of,
    if(i_behind > 0, 'behind', 'ok') AS status,
    toUInt8(e_dep_before > 0) AS departed,
    segment, customer_type, channel, payment_method, country, postcode_area,
    substring(e_dd_last_fail_key, 11, 16) AS last_dd_failure_reason,

    CAST(toInt32(as_of - created_at) AS Nullable(Float64)) AS tenure_days,
    CAST(i_n365 AS Nullable(Float64)) AS invoices_365d,
    if(i_n365 = 0, NULL, i_late365 / i_n365) AS late_share_365d,
    if(i_n365 = 0, NULL, i_latesum365 / i_n365) AS days_late_mean_365d,
    if(i_n365 = 0, NULL, toFloat64(i_latemax365)) AS days_late_max_365d,
    CAST(i_dpd30_365 AS Nullable(Float64)) AS invoices_30dpd_365d,
    CAST(i_od_n AS Nullable(Float64)) AS open_overdue_count,
    CAST(i_od_c / 100 AS Nullable(Float64)) AS open_overdue_amount,
    CAST(if(i_od_n = 0, 0, i_od_old) AS Nullable(Float64)) AS oldest_overdue_days,
    if(i_has_late = 0, NULL, toFloat64(toInt32(as_of - i_last_late_due))) AS days_since_last_late,
    CAST(e_dd_failed90 AS Nullable(Float64)) AS dd_failed_90d,
    CAST(e_dd_am04_365 AS Nullable(Float64)) AS dd_insufficient_funds_365d,
    CAST(e_dd_ac_365 AS Nullable(Float64)) AS dd_account_closed_365d,
    CAST(e_rem90 AS Nullable(Float64)) AS reminders_90d,
    CAST(e_final365 AS Nullable(Float64)) AS final_notices_365d,
    if(i_rem_n365 = 0, NULL, i_rem_resp365 / i_rem_n365) AS paid_after_first_reminder_share_365d,
    CAST(e_arr_broken730 AS Nullable(Float64)) AS arrangements_broken_730d,
    CAST(e_arr_active > 0 AS Nullable(Float64)) AS arrangement_active,
    CAST(e_disp_open AS Nullable(Float64)) AS disputes_open,
    CAST(e_addr180 AS Nullable(Float64)) AS address_changes_180d,
    if(i_pd_n < 2, NULL, sqrt(greatest(0, (i_pd_s2 - i_pd_s * i_pd_s / i_pd_n) / i_pd_n))) AS payment_day_std_365d,
    CAST(c_monthly_c / 100 AS Nullable(Float64)) AS monthly_amount,

    if(i_n90 = 0, NULL, i_late90 / i_n90) AS late_share_90d,
    if(i_n90 = 0, NULL, i_latesum90 / i_n90) AS days_late_mean_90d,
    if(i_n90 = 0, NULL, i_late90 / i_n90 - i_late365 / i_n365) AS late_share_trend,
    if(i_n365 = 0, NULL, i_partial365 / i_n365) AS partial_payment_share_365d,
    CAST(i_open_n AS Nullable(Float64)) AS open_invoices_count,
    CAST(i_open_c / 100 AS Nullable(Float64)) AS open_amount,
    if(c_monthly_c <= 0, NULL, i_od_c / c_monthly_c) AS overdue_to_monthly,
    if(i_n365 = 0, NULL, i_amt365 / i_n365 / 100) AS invoice_amount_mean_365d,
    CAST(e_dd_n365 AS Nullable(Float64)) AS dd_attempts_365d,
    if(e_dd_n365 = 0, NULL, e_dd_failed365 / e_dd_n365) AS dd_failed_share_365d,
    if(e_dd_has_fail = 0, NULL, toFloat64(toInt32(as_of - e_dd_last_fail))) AS days_since_last_dd_failure,
    CAST(e_rem365 AS Nullable(Float64)) AS reminders_365d,
    if(e_rem_has = 0, NULL, toFloat64(toInt32(as_of - e_rem_last))) AS days_since_last_reminder,
    CAST(e_coll365 AS Nullable(Float64)) AS collections_365d,
    CAST(i_collpay730 AS Nullable(Float64)) AS collection_payments_730d,
    CAST(e_arr730 AS Nullable(Float64)) AS arrangements_730d,
    CAST(e_disp365 AS Nullable(Float64)) AS disputes_365d,
    CAST(e_pmc365 AS Nullable(Float64)) AS payment_method_changes_365d,
    CAST(e_contact90 AS Nullable(Float64)) AS contacts_90d,
    CAST(e_complaint365 AS Nullable(Float64)) AS complaints_365d,
    if(c_has_credit = 0, NULL, c_credit_c / 100) AS credit_limit,
    if(c_has_credit = 0 OR c_credit_c <= 0, NULL, i_open_c / c_credit_c) AS credit_utilisation,
    if(i_due_n = 0, NULL, toFloat64(i_last_due_key % 1000000)) AS last_due_days_late,
    CAST(toMonth(as_of) AS Nullable(Float64)) AS as_of_month,
    CAST(e_rem_stage30 AS Nullable(Float64)) AS reminder_stage_30d,
    if(i_pm90_n = 0, NULL, i_pm90_s / i_pm90_n) AS payment_day_mean_90d,
    if(i_pm365_n = 0, NULL, i_pm365_s / i_pm365_n) AS payment_day_mean_365d,
    if(i_has_ontime = 0, NULL, toFloat64(toInt32(as_of - i_last_ontime))) AS days_since_last_on_time,
    if(e_addr_has = 0, NULL, toFloat64(toInt32(as_of - e_addr_last))) AS days_since_last_address_change,
    if(i_last_pay_key = 0, NULL, toFloat64(i_last_pay_key % 1000000 - 500000)) AS last_payment_day,

    toUInt8(i_next_n > 0 AND i_next <= {eod:Date}) AS event,
    toInt32(if(event = 1, toInt32(i_next - as_of),
        greatest(0, toInt32(if(e_dep_after_n > 0 AND e_dep_after < {eod:Date}, e_dep_after, {eod:Date}) - as_of)))) AS duration_days
FROM
(
    SELECT tenant, customer_id, as_of, created_at, segment, customer_type, channel, payment_method, country, postcode_area,
           c_monthly_c, c_credit_c, c_has_credit,
           i_n365, i_late365, i_latesum365, i_latemax365, i_dpd30_365, i_n90, i_late90, i_latesum90,
           i_od_n, i_od_c, i_od_old, i_has_late, i_last_late_due, i_rem_n365, i_rem_resp365,
           i_pd_n, i_pd_s, i_pd_s2, i_partial365, i_open_n, i_open_c, i_amt365, i_collpay730,
           i_behind, i_next_n, i_next, i_due_n, i_last_due_key,
           i_pm90_n, i_pm90_s, i_pm365_n, i_pm365_s, i_has_ontime, i_last_ontime, i_last_pay_key
    FROM
    (
        SELECT tenant, customer_id, as_of, created_at, customer_type, segment, channel, payment_method, country, postcode_area,
               c_monthly_c, c_credit_c, c_has_credit
        FROM
        (
            SELECT tenant, customer_id, created_at, customer_type, segment, channel, payment_method, country, postcode_area,
                   c_monthly_c, c_credit_c, c_has_credit, ds
            FROM
            (
                SELECT tenant, customer_id, created_at, customer_type, segment, channel, payment_method, country, postcode_area,
                       toInt64(monthly_amount * 100) AS c_monthly_c,
                       toInt64(assumeNotNull(credit_limit) * 100) AS c_credit_c,
                       toUInt8(isNotNull(credit_limit)) AS c_has_credit
                FROM customers FINAL
                WHERE __TENANT__
            ) AS l5
            ALL INNER JOIN (__KEYS__) AS k6 USING (tenant, customer_id)
        )
        ARRAY JOIN ds AS as_of
        WHERE as_of >= created_at
    ) AS l7
    ANY LEFT JOIN
    (
        SELECT tenant, customer_id, as_of,
               countIf(w365) AS i_n365,
               countIf(w365 AND late > 0) AS i_late365,
               sumIf(late, w365) AS i_latesum365,
               maxIf(late, w365) AS i_latemax365,
               countIf(w365 AND late >= 30) AS i_dpd30_365,
               countIf(w90) AS i_n90,
               countIf(w90 AND late > 0) AS i_late90,
               sumIf(late, w90) AS i_latesum90,
               countIf(overdue) AS i_od_n,
               sumIf(amount_c - paid_c, overdue) AS i_od_c,
               maxIf(toInt32(as_of - due_at), overdue) AS i_od_old,
               countIf(due_at < as_of AND late > 0) AS i_has_late,
               maxIf(due_at, due_at < as_of AND late > 0) AS i_last_late_due,
               countIf(w365 AND reminded) AS i_rem_n365,
               countIf(w365 AND reminded AND full_t AND full_ts >= rem_ts AND toUInt32(full_ts) <= toUInt32(rem_ts) + 1209600) AS i_rem_resp365,
               countIf(w365 AND full_t) AS i_pd_n,
               sumIf(toInt64(pay_day), w365 AND full_t) AS i_pd_s,
               sumIf(toInt64(pay_day) * toInt64(pay_day), w365 AND full_t) AS i_pd_s2,
               countIf(w365 AND (n_paid >= 2 OR (paid_c > 0 AND paid_c < amount_c))) AS i_partial365,
               countIf(issued_at < kn AND NOT full_t) AS i_open_n,
               sumIf(amount_c - paid_c, issued_at < kn AND NOT full_t) AS i_open_c,
               sumIf(amount_c, w365) AS i_amt365,
               sum(n_coll730) AS i_collpay730,
               countIf(due_at < as_of) AS i_due_n,
               maxIf(toInt64(due_at - toDate('1970-01-01')) * 1000000 + late, due_at < as_of) AS i_last_due_key,
               countIf(full_t AND full_d >= kn - 90) AS i_pm90_n,
               sumIf(toInt64(pay_day), full_t AND full_d >= kn - 90) AS i_pm90_s,
               countIf(full_t AND full_d >= kn - 365) AS i_pm365_n,
               sumIf(toInt64(pay_day), full_t AND full_d >= kn - 365) AS i_pm365_s,
               countIf(due_at < as_of AND late = 0) AS i_has_ontime,
               maxIf(due_at, due_at < as_of AND late = 0) AS i_last_ontime,
               maxIf(toInt64(full_d - toDate('1970-01-01')) * 1000000 + 500000 + pay_day, full_t) AS i_last_pay_key,
               countIf(overdue AND toInt32(as_of - due_at) >= {thr:Int32}) AS i_behind,
               countIf(goes_behind) AS i_next_n,
               minIf(behind_at, goes_behind) AS i_next
        FROM
        (
            SELECT tenant, customer_id, as_of, as_of + {known:Int32} AS kn, issued_at, due_at, amount_c, full_ts, rem_ts, full_d,
                   full_i > 0 AND full_d < kn AS full_t,
                   if(p_last < kn, p_sum, arraySum(arrayFilter((c, d) -> d < as_of + {known:Int32}, p_c, p_d))) AS paid_c,
                   if(p_last < kn, p_n, arrayCount(d -> d < as_of + {known:Int32}, p_d)) AS n_paid,
                   if(p_ncoll = 0, 0, arrayCount((d, k) -> k = 1 AND d >= as_of + {known:Int32} - 730 AND d < as_of + {known:Int32}, p_d, p_coll)) AS n_coll730,
                   toInt32(if(full_t, greatest(0, toInt32(full_d - due_at)), greatest(0, toInt32(as_of - due_at)))) AS late,
                   toInt32(full_d - due_at) AS pay_day,
                   due_at >= as_of - 365 AND due_at < as_of AS w365,
                   due_at >= as_of - 90 AND due_at < as_of AS w90,
                   due_at < as_of AND NOT full_t AS overdue,
                   has_rem = 1 AND toDate(rem_ts) < kn AS reminded,
                   due_at + {thr:Int32} AS behind_at,
                   behind_at >= as_of AND NOT (full_i > 0 AND full_d < behind_at) AS goes_behind
            FROM
            (
                SELECT tenant, customer_id, issued_at, due_at, amount_c, p_d, p_c, p_coll, p_last, p_sum, p_n, p_ncoll, full_i, full_ts, full_d, has_rem, rem_ts, ds
                FROM (__INV__) AS li
                ALL INNER JOIN (__KEYS__) AS k8 USING (tenant, customer_id)
            )
            ARRAY JOIN ds AS as_of
        )
        GROUP BY tenant, customer_id, as_of
    ) AS r9 USING (tenant, customer_id, as_of)
) AS l10
ANY LEFT JOIN
(
    SELECT tenant, customer_id, as_of, as_of + {known:Int32} AS ke,
           countIf(src = 1 AND (a = 'failed' OR a = 'reversed') AND d1 >= ke - 90 AND d1 < ke) AS e_dd_failed90,
           countIf(src = 1 AND b = 'AM04' AND d1 >= ke - 365 AND d1 < ke) AS e_dd_am04_365,
           countIf(src = 1 AND (b = 'AC04' OR b = 'AC06') AND d1 >= ke - 365 AND d1 < ke) AS e_dd_ac_365,
           countIf(src = 1 AND d1 >= ke - 365 AND d1 < ke) AS e_dd_n365,
           countIf(src = 1 AND (a = 'failed' OR a = 'reversed') AND d1 >= ke - 365 AND d1 < ke) AS e_dd_failed365,
           countIf(src = 1 AND (a = 'failed' OR a = 'reversed') AND d1 < ke) AS e_dd_has_fail,
           maxIf(d1, src = 1 AND (a = 'failed' OR a = 'reversed') AND d1 < ke) AS e_dd_last_fail,
           maxIf(concat(toString(d1), b), src = 1 AND (a = 'failed' OR a = 'reversed') AND d1 < ke) AS e_dd_last_fail_key,
           countIf(src = 2 AND d1 >= ke - 90 AND d1 < ke) AS e_rem90,
           countIf(src = 2 AND d1 >= ke - 365 AND d1 < ke) AS e_rem365,
           countIf(src = 2 AND a = 'final_notice' AND d1 >= ke - 365 AND d1 < ke) AS e_final365,
           countIf(src = 2 AND a = 'collection' AND d1 >= ke - 365 AND d1 < ke) AS e_coll365,
           countIf(src = 2 AND d1 < ke) AS e_rem_has,
           maxIf(d1, src = 2 AND d1 < ke) AS e_rem_last,
           maxIf(multiIf(a = 'reminder', 1, a = 'second_reminder', 2, a = 'final_notice', 3, a = 'collection', 4, 0),
                 src = 2 AND d1 >= ke - 30 AND d1 < ke) AS e_rem_stage30,
           countIf(src = 3 AND a = 'broken' AND has2 = 1 AND d2 >= ke - 730 AND d2 < ke) AS e_arr_broken730,
           countIf(src = 3 AND d1 < ke AND NOT (has2 = 1 AND d2 < ke)) AS e_arr_active,
           countIf(src = 3 AND d1 >= ke - 730 AND d1 < ke) AS e_arr730,
           countIf(src = 4 AND d1 < ke AND NOT (has2 = 1 AND d2 < ke)) AS e_disp_open,
           countIf(src = 4 AND d1 >= ke - 365 AND d1 < ke) AS e_disp365,
           countIf(src = 5 AND a = 'address_change' AND d1 >= ke - 180 AND d1 < ke) AS e_addr180,
           countIf(src = 5 AND a = 'address_change' AND d1 < ke) AS e_addr_has,
           maxIf(d1, src = 5 AND a = 'address_change' AND d1 < ke) AS e_addr_last,
           countIf(src = 5 AND a = 'payment_method_change' AND d1 >= ke - 365 AND d1 < ke) AS e_pmc365,
           countIf(src = 5 AND a = 'contact' AND d1 >= ke - 90 AND d1 < ke) AS e_contact90,
           countIf(src = 5 AND a = 'complaint' AND d1 >= ke - 365 AND d1 < ke) AS e_complaint365,
           countIf(src = 6 AND d1 < ke) AS e_dep_before,
           countIf(src = 6 AND d1 >= ke) AS e_dep_after_n,
           minIf(d1, src = 6 AND d1 >= ke) AS e_dep_after
    FROM
    (
        SELECT tenant, customer_id, src, d1, has2, d2, a, b, ds
        FROM
        (
            SELECT tenant, customer_id, toUInt8(1) AS src, toDate(attempted_at) AS d1, toUInt8(0) AS has2, toDate(attempted_at) AS d2,
                   status AS a, reason AS b
            FROM direct_debits FINAL WHERE __TENANT__
            UNION ALL
            SELECT tenant, customer_id, toUInt8(2) AS src, toDate(sent_at) AS d1, toUInt8(0) AS has2, toDate(sent_at) AS d2,
                   stage AS a, channel AS b
            FROM reminders FINAL WHERE __TENANT__
            UNION ALL
            SELECT tenant, customer_id, toUInt8(3) AS src, toDate(agreed_at) AS d1, toUInt8(isNotNull(ended_at)) AS has2,
                   toDate(assumeNotNull(ended_at)) AS d2, status AS a, '' AS b
            FROM arrangements FINAL WHERE __TENANT__
            UNION ALL
            SELECT tenant, customer_id, toUInt8(4) AS src, toDate(opened_at) AS d1, toUInt8(isNotNull(resolved_at)) AS has2,
                   toDate(assumeNotNull(resolved_at)) AS d2, outcome AS a, '' AS b
            FROM disputes FINAL WHERE __TENANT__
            UNION ALL
            SELECT tenant, customer_id,
                   toUInt8(if(kind = 'contract_change' AND startsWith(lower(detail), 'contract ended'), 6, 5)) AS src,
                   toDate(occurred_at) AS d1, toUInt8(0) AS has2, toDate(occurred_at) AS d2, kind AS a, detail AS b
            FROM customer_events FINAL WHERE __TENANT__
        ) AS l11
        ALL INNER JOIN (__KEYS__) AS k12 USING (tenant, customer_id)
    )
    ARRAY JOIN ds AS as_of
    GROUP BY tenant, customer_id, as_of
) AS r13 USING (tenant, customer_id, as_of)
