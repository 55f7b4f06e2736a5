#!/usr/bin/env bash
# Runs one benchmark command under the benchmark lock, in a session of its
# own whose scheduling group has the highest priority (autogroup nice -20),
# so that CPU-bound jobs of other sessions (a training run) take almost
# none of the cores while it runs. Measurements in docs/benchmarks.md say
# when they were made this way.
#
#   scripts/bench-prio.sh CMD [ARGS...]
set -euo pipefail
exec flock /tmp/duewise-bench.lock setsid -w bash -c 'echo -20 > /proc/self/autogroup 2>/dev/null || echo "bench-prio: no autogroup priority (not root?)" >&2; exec nice -n -20 "$@"' _ "$@"
