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
test "$(cat "$prefix/lib64/daos/API_VERSION")" = "2.8.0"
readelf -d "$prefix/lib64/libdaos.so.2" | grep -q 'SONAME.*libdaos.so.2'
# Each C library links on its own (as DAOS users link them) and resolves into libdaos.so.2.
probe="$root/target/cmake-build/link-probe"
while read -r lib decl call; do
    printf '#include <string.h>\n%s;\nint main(void) { return !(%s); }\n' "${decl//\~/ }" "$call" > "$probe.c"
    gcc -Wl,--no-copy-dt-needed-entries "$probe.c" -o "$probe" -L"$prefix/lib64" -l"$lib" -Wl,-rpath,"$prefix/lib64"
    "$probe" || { echo "lib$lib: $call failed" >&2; exit 1; }
done <<'PROBES'
daos const~char~*d_errstr(int) strcmp(d_errstr(-1005),"DER_NONEXIST")==0
gurt const~char~*d_errstr(int) strcmp(d_errstr(-1005),"DER_NONEXIST")==0
dfs int~dfs_fini(void) dfs_fini()==22
duns int~duns_resolve_path(const~char~*,void~*) duns_resolve_path(0,0)==22
daos_common int~daos_fini(void) daos_fini()==-1015
PROBES
echo "installed into $prefix/lib64: $(ls "$prefix/lib64" | tr '\n' ' ')"

echo
echo "all tests passed"
