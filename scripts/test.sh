#!/usr/bin/env bash
# Runs `go test "$@"` with a real ClickHouse server (Debian's 18.16) started
# as a plain process on a free 127.0.0.1 port, and stops it afterwards. Each
# run has a server and data folder of its own (DUEWISE_CH_STATE, default a
# new temporary folder, removed at the end), so that runs side by side do
# not disturb each other.
set -euo pipefail
cd "$(dirname "$0")/.."
export DUEWISE_CH_STATE=${DUEWISE_CH_STATE:-$(mktemp -d "${TMPDIR:-/tmp}/duewise-ch.XXXXXX")}
dsn=$(scripts/clickhouse-server.sh start)
trap 'scripts/clickhouse-server.sh stop >/dev/null 2>&1 || true' EXIT
export "${dsn?}"
echo "testing against embedded chDB and ${dsn}" >&2
go test "$@"
