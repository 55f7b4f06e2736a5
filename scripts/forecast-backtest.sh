#!/usr/bin/env bash
# Backtests `duewise forecast cash` on a synthetic world (docs/forecast.md,
# docs/benchmarks.md): for each forecast day D, an invoice model trained
# only on what was known before D (invoices issued from 13 months to 2
# months before D, labels censored the day before D), then the 13-week
# forecast made at D against what came in. Prints one line per D and
# leaves each forecast's JSON in OUT.
#
#   scripts/forecast-backtest.sh CUSTOMERS SEED OUT D1 [D2 ...]
#   e.g. scripts/forecast-backtest.sh 100000 1 /tmp/fcb 2026-01-26 2026-04-27 2026-07-27
#
# The world ends on the last day of the month before today; days D whose
# 13 weeks end after it are forecasts without a backtest.
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
	$dw --store "$store" features snapshot --tenant demo --level invoice --from "$from" --to "$to" --end-of-data "$eod" --out "$out/inv-$d.parquet" >/dev/null
	rm -rf "$out/model-$d"
	$dw --store "$store" train --kind invoice --tenant demo --snapshots "$out/inv-$d.parquet" --seed 1 --out "$out/model-$d" >/dev/null
	m=$(ls "$out/model-$d"/*.model)
	$dw --store "$store" forecast cash --tenant demo --registry "$out/registry" --from "$d" --weeks 13 --model "$m" --format json >"$out/forecast-$d.json"
	python3 -c '
import json, sys
f = json.load(open(sys.argv[1]))
b = f.get("backtest") or {}
e = sum(w["expected"] for w in f["weeks"]); a = sum(w.get("actual") or 0 for w in f["weeks"])
print(f"{f[\"from\"]}  open {f[\"open_invoices\"]} ({f[\"open_amount\"]:.0f})  expected {e:.0f}  came in {a:.0f}  weeks {b.get(\"weeks\", 0)}  MAPE {b.get(\"mape\", float(\"nan\")):.2f}%  coverage {b.get(\"coverage\", float(\"nan\")):.2f}  bias {100*b.get(\"bias\", float(\"nan\")):+.2f}%  ({f[\"intervals\"]})")
' "$out/forecast-$d.json"
done
