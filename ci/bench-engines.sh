#!/usr/bin/env bash
# Benchmarks that need several engines: a three-engine system (two targets each) on local
# files (release build, ofi+tcp on lo), a pool over all of them, then daos_perf with the
# arguments given, for example:
#   ci/bench-engines.sh --rebuild-rank 2 [--rebuild-bytes N]
#       writes RP_2G1 data (default 1 GiB), excludes rank 2 with dmg, reads the rebuild's
#       bytes and duration from `dmg pool query`, and measures the file system's raw 1 MiB
#       O_DIRECT+O_DSYNC write rate in the same run (also ci/bench-rebuild.sh);
#   ci/bench-engines.sh --classes S1,RP_2G1,EC_4P2G1
#       1 MiB update and fetch bandwidth of each class beside S1, measured before and after
#       the others (EC_4P2 places its six shards on six targets of three engines).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bin="$root/target/release"
. "$root/ci/system.sh"
system_env "$root/target/bench-engines"

"$root/ci/install-deps.sh" >/dev/null
cargo build --release --workspace --bins

rm -rf "$work"
mkdir -p "$work"
config="$work/daos_server.yml"
cat > "$config" <<YAML
name: daos_server
port: 10001
provider: ofi+tcp
socket_dir: $work/run/server
control_log_file: $work/server.log
transport_config:
  allow_insecure: true
engines:
YAML
for rank in 0 1 2; do
    cat >> "$config" <<YAML
- targets: 2
  fabric_iface: lo
  fabric_iface_port: $((31416 + rank * 10))
  log_file: $work/engine$rank.log
  storage:
  - class: ram
    scm_mount: $work/scm$rank
    scm_size: 1
  - class: file
    bdev_list: [$work/bdev$rank]
    bdev_size: 4
YAML
done

start_configured --config "$config" --agent
"$bin/dmg" pool create --size=9G bench >/dev/null
"$bin/daos_perf" --pool bench --dir "$work" "$@"
stop_system
trap - EXIT
# The engines' storage is gigabytes; the logs stay.
rm -rf "$work"/scm* "$work"/bdev*
