#!/usr/bin/env bash
# Rebuild benchmark: a three-engine system on local files (release build, ofi+tcp on lo), a
# pool over all of them, then `daos_perf --rebuild-rank 2`: it writes RP_2G1 data (default
# 1 GiB, `--rebuild-bytes N`), excludes rank 2 with dmg, reads the rebuild's bytes and duration
# from `dmg pool query`, and measures the file system's raw 1 MiB O_DIRECT+O_DSYNC write rate
# in the same run. Extra arguments go to daos_perf.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bin="$root/target/release"
. "$root/ci/system.sh"
system_env "$root/target/bench-rebuild"

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
"$bin/dmg" pool create --size=9G rebuild >/dev/null
"$bin/daos_perf" --pool rebuild --dir "$work" --rebuild-rank 2 "$@"
