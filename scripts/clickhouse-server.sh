#!/usr/bin/env bash
# Starts or stops a ClickHouse server (Debian's clickhouse-server) as a plain
# process on a free 127.0.0.1 port, with the config in scripts/clickhouse and
# a temporary data folder.
#
#   scripts/clickhouse-server.sh start   # prints DUEWISE_TEST_CLICKHOUSE=clickhouse://127.0.0.1:PORT/duewise_test
#   scripts/clickhouse-server.sh stop
#
# State (data folder, pid) lives in $DUEWISE_CH_STATE (default .duewise/clickhouse-test).
set -euo pipefail
cd "$(dirname "$0")/.."
state=${DUEWISE_CH_STATE:-$PWD/.duewise/clickhouse-test}

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

start() {
	command -v clickhouse-server >/dev/null || { echo "clickhouse-server is not installed (make deps installs it)" >&2; exit 1; }
	stop >/dev/null 2>&1 || true
	rm -rf "$state"
	mkdir -p "$state"/{data,log,tmp,user_files,format_schemas,conf}
	local port; port=$(free_port)
	sed -e "s#@DATA@#$state/data#g" -e "s#@PORT@#$port#g" scripts/clickhouse/config.xml >"$state/conf/config.xml"
	sed -i -e "s#$state/data/log#$state/log#g" -e "s#$state/data/tmp#$state/tmp#g" "$state/conf/config.xml"
	cp scripts/clickhouse/users.xml "$state/conf/users.xml"
	nohup clickhouse-server --config-file="$state/conf/config.xml" >"$state/log/stdout.log" 2>&1 &
	echo $! >"$state/pid"
	for _ in $(seq 1 100); do
		if clickhouse-client --port "$port" --query "SELECT 1" >/dev/null 2>&1; then
			clickhouse-client --port "$port" --query "CREATE DATABASE IF NOT EXISTS duewise_test"
			echo "DUEWISE_TEST_CLICKHOUSE=clickhouse://127.0.0.1:$port/duewise_test"
			return 0
		fi
		if ! kill -0 "$(cat "$state/pid")" 2>/dev/null; then break; fi
		sleep 0.2
	done
	echo "clickhouse-server did not start; its logs:" >&2
	tail -n 30 "$state"/log/*.log >&2 || true
	exit 1
}

stop() {
	[[ -f $state/pid ]] || return 0
	local pid; pid=$(cat "$state/pid")
	kill "$pid" 2>/dev/null || true
	for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	kill -9 "$pid" 2>/dev/null || true
	rm -rf "$state"
}

case ${1:-} in
start) start ;;
stop) stop ;;
*) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
