-- keys for a snapshot of given customers at given dates (SnapshotAt: the
-- days customers were scored on): the pairs {at_customers:Array(String)}
-- and {at_dates:Array(Date)}, per customer its dates (one tenant).
SELECT {tenant:String} AS tenant, kc AS customer_id, groupUniqArray(kd) AS ds
FROM
(
    SELECT tupleElement(kp, 1) AS kc, tupleElement(kp, 2) AS kd
    FROM (SELECT arrayJoin(arrayMap((c, d) -> (c, d), {at_customers:Array(String)}, {at_dates:Array(Date)})) AS kp)
)
GROUP BY kc
