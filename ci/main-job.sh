#!/usr/bin/env bash
# The main job: one command from a fresh machine to real data in and out of daos-rs.
#
# Installs what is missing (libfabric), builds in release mode, starts the embedded default
# system (one engine on 127.0.0.1, per-run data under target/main-job), creates a pool and a
# POSIX container, copies a real directory tree in (the Rust toolchain's own files: at least
# 1 GiB and 10,000 files), copies it back out, checks every file's SHA-256, prints files/s and
# MB/s each way, and stops the system cleanly.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bin="$root/target/release"
. "$root/ci/system.sh"
system_env "$root/target/main-job"

step() { printf '\n== %s\n' "$*"; }

step "installing what this machine lacks"
"$root/ci/install-deps.sh"

step "building (release)"
cargo build --release --workspace --bins

step "choosing the data set"
sources=()
files=0
bytes=0
add_source() {
    local dir="$1"
    [ -d "$dir" ] || return 0
    local n b
    n=$(find "$dir" -type f 2>/dev/null | wc -l)
    b=$(du -sb "$dir" 2>/dev/null | cut -f1)
    sources+=("$dir")
    files=$((files + n))
    bytes=$((bytes + b))
}
add_source "$(rustc --print sysroot)"
# If the toolchain is small (a minimal install), add more real trees until the job moves at
# least 1 GiB and 10,000 files.
for extra in "$HOME/.cargo/registry/src" /usr/share/doc /usr/lib /usr/share; do
    if [ "$files" -ge 10000 ] && [ "$bytes" -ge $((1 << 30)) ]; then break; fi
    add_source "$extra"
done
echo "sources: ${sources[*]}"
echo "files: $files, bytes: $bytes"
if [ "$files" -lt 10000 ] || [ "$bytes" -lt $((1 << 30)) ]; then
    echo "not enough data found for the job (need 1 GiB and 10,000 files)" >&2
    exit 1
fi

step "starting the embedded default system"
start_system
cat "$work/server.out"
"$bin/dmg" system query

step "creating a pool and a POSIX container"
pool_size=$(( (bytes * 3 / 2 + (4 << 30)) / 1000000000 + 1 ))G
"$bin/dmg" pool create --size="$pool_size" tank
"$bin/daos" container create tank data --type POSIX

step "copying in"
out_dir="$work/out"
mkdir -p "$out_dir"
for src in "${sources[@]}"; do
    name=$(basename "$src")
    "$bin/daos" filesystem copy --src "$src" --dst "daos://tank/data/$name" | tee "$work/copy-in-$name.txt"
done

step "copying out"
for src in "${sources[@]}"; do
    name=$(basename "$src")
    "$bin/daos" filesystem copy --src "daos://tank/data/$name" --dst "$out_dir/$name" | tee "$work/copy-out-$name.txt"
done

step "verifying every file's SHA-256"
verify() {
    local src="$1" dst="$2"
    (cd "$src" && find . -type f -print0 | sort -z | xargs -0 sha256sum) > "$work/sums-src.txt"
    (cd "$dst" && find . -type f -print0 | sort -z | xargs -0 sha256sum) > "$work/sums-dst.txt"
    if ! cmp -s "$work/sums-src.txt" "$work/sums-dst.txt"; then
        diff "$work/sums-src.txt" "$work/sums-dst.txt" | head -20
        echo "MISMATCH between $src and $dst" >&2
        exit 1
    fi
    wc -l < "$work/sums-src.txt"
}
checked=0
for src in "${sources[@]}"; do
    name=$(basename "$src")
    n=$(verify "$src" "$out_dir/$name")
    checked=$((checked + n))
done
echo "all $checked files match"

step "results"
python3 - "$work" <<'PY'
import glob, re, sys
work = sys.argv[1]
for way in ("in", "out"):
    files = bytes_ = 0
    secs = 0.0
    for path in glob.glob(f"{work}/copy-{way}-*.txt"):
        text = open(path).read()
        files += int(re.search(r"Files:\s+(\d+)", text).group(1))
        m = re.search(r"Bytes:\s+([0-9.]+) (\w+) in ([0-9.]+) s", text)
        scale = {"B": 1, "kB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12}[m.group(2)]
        bytes_ += float(m.group(1)) * scale
        secs += float(m.group(3))
    print(f"copy {way:>3}: {files} files, {bytes_/1e9:.2f} GB in {secs:.1f} s: "
          f"{files/secs:,.0f} files/s, {bytes_/1e6/secs:,.1f} MB/s")
PY
"$bin/dmg" pool query tank | sed -n '1,12p'

step "stopping the system"
stop_system
trap - EXIT
# The pool's files and the copied-out tree are gigabytes; the logs and figures stay.
rm -rf "$work/home" "$work/out"
tail -n 2 "$work/server.out"
echo "main job done"
