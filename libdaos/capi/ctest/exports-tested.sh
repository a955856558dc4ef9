#!/bin/sh
# exports-tested.sh LIBDAOS CTEST_SOURCE_DIR
#
# Fails, naming them, if any function libdaos exports (nm -D --defined-only, type T) is not
# used in the code (comments do not count) of a C test source (*.c, *.h) in
# CTEST_SOURCE_DIR, so that every exported function stays covered by a C test.
# Environment: NM (default nm).
set -u
LC_ALL=C
export LC_ALL

ALLOWED_UNTESTED="" # names exported on purpose without a C test (none)

if [ $# -ne 2 ]; then
	echo "usage: $0 LIBDAOS CTEST_SOURCE_DIR" >&2
	exit 2
fi
lib=$1
srcdir=$2
nm=${NM:-nm}
if [ ! -f "$lib" ]; then
	echo "exports-tested: $lib not found" >&2
	exit 2
fi
if [ ! -d "$srcdir" ]; then
	echo "exports-tested: $srcdir is not a directory" >&2
	exit 2
fi

tmp=${TMPDIR:-/tmp}/exports-tested.$$
mkdir "$tmp" || exit 2
trap 'rm -rf "$tmp"' EXIT
trap 'exit 2' HUP INT TERM

# The exported functions.
if ! "$nm" -D --defined-only "$lib" >"$tmp/nm"; then
	echo "exports-tested: $nm -D --defined-only $lib failed" >&2
	exit 2
fi
awk '$2 == "T" { name = $3; sub(/@.*/, "", name); print name }' "$tmp/nm" | sort -u \
	>"$tmp/exports"
nexports=$(wc -l <"$tmp/exports")
if [ "$nexports" -eq 0 ]; then
	echo "exports-tested: no exported functions found in $lib" >&2
	exit 2
fi

# The identifiers in the test sources, comments removed (string literals kept: names looked
# up with dlsym count).
nsources=0
for f in "$srcdir"/*.c "$srcdir"/*.h; do
	[ -f "$f" ] && nsources=$((nsources + 1))
done
if [ "$nsources" -eq 0 ]; then
	echo "exports-tested: no *.c or *.h files in $srcdir" >&2
	exit 2
fi
for f in "$srcdir"/*.c "$srcdir"/*.h; do
	[ -f "$f" ] || continue
	awk -v sq="'" '
	BEGIN { state = "code" }
	{
		line = $0
		out = ""
		n = length(line)
		for (i = 1; i <= n; i++) {
			c = substr(line, i, 1)
			c2 = substr(line, i, 2)
			if (state == "block") {
				if (c2 == "*/") { state = "code"; i++; out = out " " }
				continue
			}
			if (state == "str" || state == "chr") {
				out = out c
				if (c == "\\") { out = out substr(line, i + 1, 1); i++ }
				else if ((state == "str" && c == "\"") || (state == "chr" && c == sq))
					state = "code"
				continue
			}
			if (c2 == "/*") { state = "block"; i++; continue }
			if (c2 == "//") break
			if (c == "\"") state = "str"
			else if (c == sq) state = "chr"
			out = out c
		}
		# a string or character literal does not go on past its line
		if (state == "str" || state == "chr")
			state = "code"
		print out
	}' "$f"
done | tr -cs 'A-Za-z0-9_' '\n' | sort -u >"$tmp/idents"

# Exported, not used by a test, not allowed.
comm -23 "$tmp/exports" "$tmp/idents" >"$tmp/untested"
: >"$tmp/missing"
while IFS= read -r name; do
	allowed=no
	for a in $ALLOWED_UNTESTED; do
		[ "$a" = "$name" ] && allowed=yes
	done
	if [ "$allowed" = yes ]; then
		echo "exports-tested: $name is untested (allowed exception)"
	else
		echo "$name" >>"$tmp/missing"
	fi
done <"$tmp/untested"
for a in $ALLOWED_UNTESTED; do
	grep -qx "$a" "$tmp/untested" ||
		echo "exports-tested: allowed exception $a is tested or no longer exported:" \
			"remove it from ALLOWED_UNTESTED"
done

nmissing=$(wc -l <"$tmp/missing")
if [ "$nmissing" -ne 0 ]; then
	echo "exports-tested: $nmissing of $nexports functions exported by $lib are not used" \
		"by any C test in $srcdir:"
	sed 's/^/  /' "$tmp/missing"
	exit 1
fi
echo "exports-tested: all $nexports functions exported by $lib are used by the C tests" \
	"($nsources sources)"
exit 0
