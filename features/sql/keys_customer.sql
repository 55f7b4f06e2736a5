-- keys for behaviour snapshots and refresh: every customer with all the
-- reference dates (core.sql drops the dates before created_at).
SELECT tenant, customer_id, {dates:Array(Date)} AS ds
FROM customers FINAL
WHERE __TENANT__ AND ({customer:String} = '' OR customer_id = {customer:String})
