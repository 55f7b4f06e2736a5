#!/usr/bin/env bash
# Backtests `duewise forecast cash` on a synthetic world (docs/forecast.md,
# docs/benchmarks.md): for each forecast day D, an invoice model trained
# only on what was known before D (invoices issued from 13 months to 2
# months before D, labels censored the day before D), then the 13-week
# forecast made at D against what came in. Prints one line per D and
# leaves each forecast's JSON in OUT. A second run on the same OUT keeps
# the world and the models, and forecasts again.
#
#   scripts/forecast-backtest.sh CUSTOMERS SEED OUT D1 [D2 ...]
#   e.g. scripts/forecast-backtest.sh 100000 1 /tmp/fcb 2026-01-26 2026-04-27 2026-07-27
#
# Days D whose 13 weeks end after the world's data are forecasts with a
# shorter backtest or none.
set -euo pipefail
cd "$(dirname "$0")/.."
customers=$1 seed=$2 out=$3
shift 3
dw=${DUEWISE_BIN:-$PWD/bin/duewise}
export DUEWISE_LIBCHDB=${DUEWISE_LIBCHDB:-$PWD/third_party/chdb/libchdb.so}
mkdir -p "$out"
world=$out/world store=$out/store
if [[ ! -d $store ]]; then
	$dw generate --customers "$customers" --months 24 --seed "$seed" --tenant demo --out "$world" >/dev/null
	$dw --store "$store" ingest --tenant demo --rejects "$out/rejects" "$world" >/dev/null
fi
for d in "$@"; do
	from=$(date -u -d "$d -13 months" +%F) to=$(date -u -d "$d -2 months" +%F) eod=$(date -u -d "$d -1 day" +%F)
	if ! ls "$out/model-$d"/*.model >/dev/null 2>&1; then # a model of an earlier run is kept
		$dw --store "$store" features snapshot --tenant demo --level invoice --from "$from" --to "$to" --end-of-data "$eod" --out "$out/inv-$d.parquet" >/dev/null
		$dw --store "$store" train --kind invoice --tenant demo --snapshots "$out/inv-$d.parquet" --seed 1 --out "$out/model-$d" >/dev/null
		rm -f "$out/inv-$d.parquet"
	fi
	m=$(ls "$out/model-$d"/*.model)
	$dw --store "$store" forecast cash --tenant demo --registry "$out/registry" --from "$d" --weeks 13 --model "$m" --format json >"$out/forecast-$d.json"
	python3 -c '
import json, sys
f = json.load(open(sys.argv[1]))
b = f.get("backtest") or {}
nan = float("nan")
e = sum(w["expected"] for w in f["weeks"])
a = sum(w.get("actual") or 0 for w in f["weeks"])
print("%s  open %d (%.0f)  expected %.0f  came in %.0f  weeks %d  MAPE %.2f%%  coverage %.2f  bias %+.2f%%  (%s)" % (
    f["from"], f["open_invoices"], f["open_amount"], e, a, b.get("weeks", 0), b.get("mape", nan), b.get("coverage", nan), 100 * b.get("bias", nan), f["intervals"]))
' "$out/forecast-$d.json"
done
