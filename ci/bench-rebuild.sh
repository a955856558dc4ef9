#!/usr/bin/env bash
# Rebuild benchmark (see ci/bench-engines.sh): RP_2G1 data written, rank 2 excluded, rebuild
# throughput beside the raw disk write rate. Extra arguments go to daos_perf.
exec "$(dirname "${BASH_SOURCE[0]}")/bench-engines.sh" --rebuild-rank 2 "$@"
