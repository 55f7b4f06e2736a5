#!/usr/bin/env bash
# Runs every fuzz target of the repository for FUZZTIME each (default 5s),
# one after the other (go test -fuzz takes one target at a time). Needs a
# ClickHouse server (the targets run a real server on it): without
# DUEWISE_TEST_CLICKHOUSE it starts one, as scripts/test.sh does.
#
#   scripts/fuzz.sh                 (make fuzz; make test runs it too)
#   FUZZTIME=2m scripts/fuzz.sh     (longer)
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ -z ${DUEWISE_TEST_CLICKHOUSE:-} ]]; then
	export DUEWISE_CH_STATE=${DUEWISE_CH_STATE:-$(mktemp -d "${TMPDIR:-/tmp}/duewise-ch.XXXXXX")}
	dsn=$(scripts/clickhouse-server.sh start)
	trap 'scripts/clickhouse-server.sh stop >/dev/null 2>&1 || true' EXIT
	export "${dsn?}"
fi
time=${FUZZTIME:-5s}
for pkg in ./serving/api ./datasets; do
	for target in $(go test -list '^Fuzz' "$pkg" | grep '^Fuzz'); do
		echo "fuzz $pkg $target for $time" >&2
		go test -run '^$' -fuzz "^${target}\$" -fuzztime "$time" "$pkg"
	done
done
