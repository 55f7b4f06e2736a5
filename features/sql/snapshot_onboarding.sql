-- Onboarding snapshot: one row per customer created in [from, to], at its
-- created_at, with the signals known at onboarding only (__ONBOARDING__)
-- and the same label as the behaviour snapshot.
SELECT tenant, customer_id, as_of, __ONBOARDING__, duration_days, event
FROM (__CORE__)
WHERE status = 'ok' AND departed = 0
ORDER BY tenant, customer_id, as_of
