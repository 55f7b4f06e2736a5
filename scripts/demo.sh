#!/usr/bin/env bash
# `make run`: builds a demo payment world, loads it into the embedded store,
# computes features, trains the three models, creates an API key and serves
# the API on 127.0.0.1:8080.
set -euo pipefail
cd "$(dirname "$0")/.."
dw=bin/duewise
export DUEWISE_STORE=${DUEWISE_STORE:-.duewise/store}
demo=.duewise/demo
tenant=demo
step() { printf '\n==> %s\n' "$*"; }

rm -rf "$demo" "$DUEWISE_STORE" .duewise/models
mkdir -p "$demo"

step "generate a demo world: 3,000 customers over 24 months"
$dw generate --customers 3000 --months 24 --seed 7 --tenant "$tenant" --out "$demo/world"

step "ingest it into the embedded store ($DUEWISE_STORE)"
$dw ingest --tenant "$tenant" --rejects "$demo/rejects" "$demo/world"

end=$($dw sql --format csv "SELECT max(issued_at) FROM invoices FINAL WHERE tenant = '$tenant'" | tail -n 1 | tr -d '"')
first=$($dw sql --format csv "SELECT addMonths(toStartOfMonth(min(issued_at)), 6) FROM invoices FINAL WHERE tenant = '$tenant'" | tail -n 1 | tr -d '"')
last=$($dw sql --format csv "SELECT addMonths(toStartOfMonth(toDate('$end')), -3) FROM system.one" | tail -n 1 | tr -d '"')

step "training snapshots, monthly from $first to $last"
$dw features snapshot --tenant "$tenant" --from "$first" --to "$last" --every 1mo --out "$demo/behaviour.parquet"
$dw features snapshot --tenant "$tenant" --level onboarding --from "$first" --to "$last" --every 1mo --out "$demo/onboarding.parquet"
$dw features snapshot --tenant "$tenant" --level invoice --from "$first" --to "$last" --every 1mo --out "$demo/invoice.parquet"

step "train the behaviour, onboarding and invoice models"
for kind in behaviour onboarding invoice; do
	$dw train --kind "$kind" --snapshots "$demo/$kind.parquet" --seed 1 --out .duewise/models
done
for v in $($dw models list --format ids); do $dw models promote --tenant "$tenant" "$v"; done

step "online features as of the end of the data"
$dw features refresh --tenant "$tenant" --as-of "$end"

step "an API key for tenant $tenant"
key=$($dw keys create --tenant "$tenant" --scopes score,events,admin --name demo --quiet)
customer=$($dw sql --format csv "SELECT customer_id FROM features_latest FINAL WHERE tenant = '$tenant' ORDER BY customer_id LIMIT 1" | tail -n 1 | tr -d '"')

cat <<MSG

duewise is starting on http://127.0.0.1:8080 (Ctrl-C stops it). Try:

  curl -s -H 'Authorization: Bearer $key' 'http://127.0.0.1:8080/v1/customers/$customer/risk?lang=en'

  curl -s -H 'Authorization: Bearer $key' -H 'Content-Type: application/json' \\
    -d '{"customer_type":"consumer","segment":"energy","channel":"online","payment_method":"bank_transfer","country":"NL","postcode_area":"1012","monthly_amount":85}' \\
    http://127.0.0.1:8080/v1/onboarding/risk

  curl -s -H 'Authorization: Bearer $key' -H 'Content-Type: application/json' \\
    -d '{"customer_ids":["$customer"]}' http://127.0.0.1:8080/v1/risk/batch

More: docs/api.md. Metrics: http://127.0.0.1:8080/metrics
MSG
exec $dw serve --addr 127.0.0.1:8080
