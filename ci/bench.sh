#!/usr/bin/env bash
# Benchmark: starts the embedded default system (release build), creates a pool, runs daos_perf
# (1 MiB update/fetch bandwidth, 4 KiB IOPS at QD1 and QD16, 4 KiB fetch latency, each beside a
# raw libfabric and raw O_DIRECT baseline measured in the same run), and stops the system.
# Extra arguments go to daos_perf (for example `--seconds 5 --oclass S1`).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bin="$root/target/release"
. "$root/ci/system.sh"
system_env "$root/target/bench"

"$root/ci/install-deps.sh" >/dev/null
cargo build --release --workspace --bins

start_system
"$bin/dmg" pool create --size=4G bench >/dev/null
"$bin/daos_perf" --pool bench --dir "$DAOS_RS_HOME" "$@"
