#!/usr/bin/env bash
# `make run`: builds a demo payment world, loads it into the embedded store,
# computes features, trains the three models, creates an API key and serves
# the API on 127.0.0.1:8080.
#
# Everything it writes lives under .duewise/ unless these are set:
#   DUEWISE_BIN     the duewise binary          (default bin/duewise)
#   DUEWISE_STORE   the embedded store          (default .duewise/store)
#   DUEWISE_MODELS  the model registry folder   (default .duewise/models)
#   DUEWISE_DEMO    the demo world and files    (default .duewise/demo)
#   DUEWISE_ADDR    the API's listen address    (default 127.0.0.1:8080)
#   DEMO_CUSTOMERS  customers in the demo world (default 25000: enough sign-ups
#                   for a calibrated onboarding model, ECE < 0.03; about 5 minutes)
set -euo pipefail
cd "$(dirname "$0")/.."
dw=${DUEWISE_BIN:-bin/duewise}
export DUEWISE_STORE=${DUEWISE_STORE:-.duewise/store}
export DUEWISE_MODELS=${DUEWISE_MODELS:-.duewise/models}
export DUEWISE_TENANT=demo
demo=${DUEWISE_DEMO:-.duewise/demo}
addr=${DUEWISE_ADDR:-127.0.0.1:8080}
customers=${DEMO_CUSTOMERS:-25000}
tenant=demo
step() { printf '\n==> %s\n' "$*"; }

pid=$(sed -n 's/.*"pid": *\([0-9]*\).*/\1/p' "$DUEWISE_STORE/serve.json" 2>/dev/null || true)
if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
	echo "a duewise server (pid $pid) is serving $DUEWISE_STORE; stop it first (Ctrl-C in its terminal)" >&2
	exit 1
fi
rm -rf "$demo" "$DUEWISE_STORE" "$DUEWISE_MODELS"
mkdir -p "$demo"

step "generate a demo world: $customers customers over the 24 months up to today"
$dw generate --customers "$customers" --months 24 --end today --seed 7 --tenant "$tenant" --out "$demo/world"

step "ingest it into the embedded store ($DUEWISE_STORE)"
$dw ingest --tenant "$tenant" --rejects "$demo/rejects" "$demo/world"

end=$($dw sql --format csv "SELECT max(issued_at) FROM invoices FINAL WHERE tenant = '$tenant'" | tail -n 1 | tr -d '"')
first=$($dw sql --format csv "SELECT addMonths(toStartOfMonth(min(issued_at)), 6) FROM invoices FINAL WHERE tenant = '$tenant'" | tail -n 1 | tr -d '"')
start=$($dw sql --format csv "SELECT toStartOfMonth(min(issued_at)) FROM invoices FINAL WHERE tenant = '$tenant'" | tail -n 1 | tr -d '"')
last=$($dw sql --format csv "SELECT addMonths(toStartOfMonth(toDate('$end')), -3) FROM system.one" | tail -n 1 | tr -d '"')

step "training snapshots, monthly from $first to $last"
$dw features snapshot --tenant "$tenant" --from "$first" --to "$last" --every 1mo --out "$demo/behaviour.parquet"
# Onboarding rows need no history: every customer who signed up in the world, from its first month.
$dw features snapshot --tenant "$tenant" --level onboarding --from "$start" --to "$last" --every 1mo --out "$demo/onboarding.parquet"
$dw features snapshot --tenant "$tenant" --level invoice --from "$first" --to "$last" --every 1mo --out "$demo/invoice.parquet"

step "train the behaviour, onboarding and invoice models"
for kind in behaviour onboarding invoice; do
	$dw train --kind "$kind" --tenant "$tenant" --snapshots "$demo/$kind.parquet" --seed 1 --out "$DUEWISE_MODELS" | tee "$demo/train-$kind.txt"
done
step "calibration of the served models on their held-out rows (expected calibration error, target < 0.03)"
grep -h '^held-out calibration' "$demo"/train-*.txt | sed 's/^held-out calibration of /  /' |
	awk '{ print } / ECE [0-9.]+ / { for (i = 1; i < NF; i++) if ($i == "ECE" && $(i+1) + 0 >= 0.03) print "  ^ above the 0.03 target: too few held-out rows for this model (raise DEMO_CUSTOMERS)" }' |
	tee "$demo/calibration.txt"
for v in $($dw models list --format ids); do $dw models promote "$v"; done

step "online features as of today"
$dw features refresh --tenant "$tenant"

step "an API key for tenant $tenant"
key=$($dw keys create --tenant "$tenant" --scopes score,events,admin --name demo --quiet)
customer=$($dw sql --format csv "SELECT customer_id FROM features_latest FINAL WHERE tenant = '$tenant' AND status = 'ok' ORDER BY customer_id LIMIT 1" | tail -n 1 | tr -d '"')
other=$($dw sql --format csv "SELECT customer_id FROM features_latest FINAL WHERE tenant = '$tenant' AND status = 'ok' ORDER BY customer_id LIMIT 1 OFFSET 1" | tail -n 1 | tr -d '"')
url=http://$addr
abs() { case $1 in /*) echo "$1" ;; *) echo "$PWD/$1" ;; esac; }
envline="DUEWISE_STORE=$(abs "$DUEWISE_STORE") DUEWISE_MODELS=$(abs "$DUEWISE_MODELS") DUEWISE_TENANT=$tenant"

cat <<MSG | tee "$demo/try.txt"

duewise is starting on $url (Ctrl-C stops it). Your demo API key (tenant $tenant,
scopes score, events, admin) is

  $key

Try, in another terminal:

  # a customer
  curl -s -H 'Authorization: Bearer $key' '$url/v1/customers/$customer/risk?lang=en'

  # an onboarding prospect
  curl -s -H 'Authorization: Bearer $key' -H 'Content-Type: application/json' \\
    -d '{"prospect_id":"P-1","customer_type":"consumer","segment":"energy","channel":"online","payment_method":"bank_transfer","country":"NL","postcode_area":"1012","monthly_amount":85}' \\
    $url/v1/onboarding/risk

  # a batch (NDJSON, one line per record, in input order)
  curl -s -H 'Authorization: Bearer $key' -H 'Content-Type: application/json' \\
    -d '{"customer_ids":["$customer","$other","NO-SUCH-CUSTOMER"]}' $url/v1/risk/batch

More: docs/api.md, $url/openapi.json, $url/metrics.

To use duewise on the demo's store, models and tenant from another terminal
(while it runs, commands on the store go through the server):

  cd $PWD
  export $envline
  $dw models list
MSG
exec $dw serve --addr "$addr"
