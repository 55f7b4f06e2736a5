#!/usr/bin/env bash
# Builds the store of the API benchmarks (docs/benchmarks.md, section API):
# the synthetic world of 1,000,000 customers ending today (seed 1) in an
# embedded store, its online features, and the three models of `make run` (trained on the
# 25,000-customer demo world with the same commands) promoted for tenant
# demo. Takes the benchmark lock while it loads the CPU.
#
#   scripts/bench-store.sh [STORE] [MODELS]   # default /tmp/store1m /tmp/models1m
set -euo pipefail
cd "$(dirname "$0")/.."
store=${1:-/tmp/store1m}
models=${2:-/tmp/models1m}
work=$(mktemp -d "${TMPDIR:-/tmp}/duewise-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
dw=$PWD/bin/duewise
export DUEWISE_LIBCHDB=$PWD/third_party/chdb/libchdb.so
rm -rf "$store" "$models"
flock /tmp/duewise-bench.lock bash -euo pipefail -c '
dw=$1 store=$2 models=$3 work=$4
demo=$work/demo
$dw generate --customers 25000 --months 24 --seed 7 --tenant demo --out "$demo/world"
$dw --store "$demo/store" ingest --tenant demo --rejects "$demo/rejects" "$demo/world" >/dev/null
end=$($dw --store "$demo/store" sql --format csv "SELECT max(issued_at) FROM invoices FINAL WHERE tenant = '"'"'demo'"'"'" | tail -n 1 | tr -d "\"")
first=$($dw --store "$demo/store" sql --format csv "SELECT addMonths(toStartOfMonth(min(issued_at)), 6) FROM invoices FINAL WHERE tenant = '"'"'demo'"'"'" | tail -n 1 | tr -d "\"")
start=$($dw --store "$demo/store" sql --format csv "SELECT toStartOfMonth(min(issued_at)) FROM invoices FINAL WHERE tenant = '"'"'demo'"'"'" | tail -n 1 | tr -d "\"")
last=$($dw --store "$demo/store" sql --format csv "SELECT addMonths(toStartOfMonth(toDate('"'"'$end'"'"')), -3) FROM system.one" | tail -n 1 | tr -d "\"")
for kind in behaviour onboarding invoice; do
	level=$kind from=$first; [[ $kind == behaviour ]] && level=customer; [[ $kind == onboarding ]] && from=$start # as scripts/demo.sh
	$dw --store "$demo/store" features snapshot --tenant demo --level "$level" --from "$from" --to "$last" --every 1mo --out "$demo/$kind.parquet"
	$dw --store "$demo/store" train --kind "$kind" --tenant demo --snapshots "$demo/$kind.parquet" --seed 1 --out "$models"
done
$dw generate --customers 1000000 --months 24 --seed 1 --tenant demo --end today --out "$work/world1m" # online features describe today
$dw --store "$store" ingest --tenant demo --rejects "$work/rejects" "$work/world1m" >/dev/null
$dw --store "$store" features refresh --tenant demo
for v in $($dw --store "$store" models list --registry "$models" --tenant demo --format ids); do
	$dw --store "$store" models promote --registry "$models" --tenant demo "$v"
done
' _ "$dw" "$store" "$models" "$work"
echo "bench store $store, models $models"
