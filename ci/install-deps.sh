#!/usr/bin/env bash
# Installs the system packages daos-rs builds and runs with, if they are missing:
# libfabric (headers and library); for the C build cmake and pkg-config; for the C API
# tests libuuid's headers, MPICH and valgrind; ISA-L for erasure coding; iproute2 for the
# partition tests (engines in network namespaces).
# Uses sudo when not root. Safe to run repeatedly.
set -euo pipefail

packages=(libfabric-dev libfabric-bin cmake pkg-config uuid-dev libmpich-dev mpich valgrind libisal-dev iproute2)
missing=()
for p in "${packages[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
    sudo="sudo"
fi
echo "installing: ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
