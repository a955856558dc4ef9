#!/usr/bin/env bash
# Runs every test: formatting, lints, unit and property tests, integration tests against real
# engines over real libfabric, and the CMake install. This is what CI runs (.ci/run).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

step() { printf '\n== %s\n' "$*"; }

step "installing what this machine lacks"
"$root/ci/install-deps.sh"

step "formatting"
cargo fmt --all -- --check

step "building every program (integration tests run them)"
cargo build --workspace --bins --locked

step "lints"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "tests"
if cargo nextest --version >/dev/null 2>&1; then
    cargo nextest run --workspace --locked --no-fail-fast
else
    cargo test --workspace --locked --no-fail-fast
fi

step "CMake build and install"
prefix="$root/target/cmake-prefix"
rm -rf "$prefix"
cmake -S . -B target/cmake-build -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build target/cmake-build
cmake --install target/cmake-build --prefix "$prefix" >/dev/null
for program in daos_server daos_engine daos_agent dmg daos daos_perf; do
    "$prefix/bin/$program" --version >/dev/null
done
echo "installed into $prefix/bin: $(ls "$prefix/bin" | tr '\n' ' ')"

echo
echo "all tests passed"
