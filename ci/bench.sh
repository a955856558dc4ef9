#!/usr/bin/env bash
# Benchmark: starts the embedded default system (release build), creates a pool, runs daos_perf
# (1 MiB update/fetch bandwidth, 4 KiB IOPS at QD1 and QD16, 4 KiB fetch latency, each beside a
# raw libfabric and raw O_DIRECT baseline measured in the same run), and stops the system.
# Extra arguments go to daos_perf (for example `--seconds 5 --oclass S1`).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
work="$root/target/bench"
export DAOS_RS_HOME="$work/home"
export DAOS_RS_RUNTIME_DIR="$work/run"
export DAOS_AGENT_DRPC_DIR="$work/run/agent"
bin="$root/target/release"

"$root/ci/install-deps.sh" >/dev/null
cargo build --release --workspace --bins

rm -rf "$work"
mkdir -p "$work"
"$bin/daos_server" start > "$work/server.out" 2>&1 &
server=$!
stop_server() {
    if kill -0 "$server" 2>/dev/null; then
        kill -TERM "$server"
        wait "$server" || true
    fi
}
trap stop_server EXIT
for _ in $(seq 1 300); do
    if grep -q "ready:" "$work/server.out" 2>/dev/null && [ -S "$DAOS_AGENT_DRPC_DIR/daos_agent.sock" ]; then break; fi
    if ! kill -0 "$server" 2>/dev/null; then cat "$work/server.out"; exit 1; fi
    sleep 0.1
done
"$bin/dmg" pool create --size=4G bench >/dev/null
"$bin/daos_perf" --pool bench --dir "$DAOS_RS_HOME" "$@"
