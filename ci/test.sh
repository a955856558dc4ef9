#!/usr/bin/env bash
# Runs every test: formatting, lints, unit and property tests, integration tests against real
# engines over real libfabric, the CMake install, and the C API tests (ctest). This is what CI
# runs (.ci/run).
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

step "CMake build and install (programs, C libraries, headers)"
prefix="$root/target/cmake-prefix"
rm -rf "$prefix"
cmake -S . -B target/cmake-build -DCMAKE_BUILD_TYPE=Debug -DDAOS_RS_TESTS=ON >/dev/null
cmake --build target/cmake-build
cmake --install target/cmake-build --prefix "$prefix" >/dev/null
for program in daos_server daos_engine daos_agent dmg daos daos_perf; do
    "$prefix/bin/$program" --version >/dev/null
done
echo "installed into $prefix/bin: $(ls "$prefix/bin" | tr '\n' ' ')"
test "$(cat "$prefix/lib64/daos/API_VERSION")" = "2.8.0"
readelf -d "$prefix/lib64/libdaos.so.2" | grep -q 'SONAME.*libdaos.so.2'
echo "installed into $prefix/lib64: $(ls "$prefix/lib64" | tr '\n' ' ')"
# A DAOS program builds against the installed tree with DAOS's own link line.
installed="$root/target/cmake-build/simple_dfs-installed"
cc examples/c/simple_dfs.c -I "$prefix/include" -L "$prefix/lib64" -Wl,-rpath,"$prefix/lib64" \
    -ldaos -ldfs -lduns -lgurt -ldaos_common -luuid -o "$installed"
! ldd "$installed" | grep -q "not found"

step "C API tests (ctest: headers, layouts, each library linked alone, C programs against a real system, under ASan and valgrind, MPICH)"
ctest --test-dir target/cmake-build --output-on-failure -j2

echo
echo "all tests passed"
