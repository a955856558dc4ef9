#!/bin/sh
# Compile every public header alone, as the first include of a C and of a C++
# translation unit, with warnings as errors; then check that all headers can be
# included together and leave free the names that DAOS clients define themselves.
# Usage: include/check-headers.sh   (from anywhere; needs gcc, g++ and uuid-dev)
set -u
dir=$(cd "$(dirname "$0")" && pwd)
cc=${CC:-gcc}
cxx=${CXX:-g++}
cflags="-std=c11 -Wall -Wextra -Werror -fsyntax-only -I$dir"
cxxflags="-std=c++17 -Wall -Wextra -Werror -fsyntax-only -I$dir"
fail=0
err=$(mktemp)
trap 'rm -f "$err"' EXIT

check() { # name, compiler, flags, language, source
	if printf '%s\n' "$5" | $2 $3 -x "$4" - 2>"$err"; then
		printf 'ok    %-4s %s\n' "$4" "$1"
	else
		printf 'FAIL  %-4s %s\n' "$4" "$1"
		sed 's/^/      /' "$err"
		fail=1
	fi
}

headers=$(cd "$dir" && find . -name '*.h' | sed 's|^\./||' | sort)
for h in $headers; do
	check "$h" "$cc" "$cflags" c "#include <$h>"
	check "$h" "$cxx" "$cxxflags" c++ "#include <$h>"
done

all=$(for h in $headers; do printf '#include <%s>\n' "$h"; done)
# Names that vol-daos, ROMIO and others define themselves; the headers must not.
client_names='
typedef d_iov_t daos_iov_t;
typedef d_sg_list_t daos_sg_list_t;
#define daos_iov_set d_iov_set
#define daos_rank_list_free d_rank_list_free
#define DAOS_OF_AKEY_HASHED 0
#define DAOS_OF_DKEY_HASHED 0
typedef struct { const void *iov_buf; size_t iov_buf_len; size_t iov_len; } d_const_iov_t;
static inline void daos_const_iov_set(d_const_iov_t *i, const void *b, size_t s)
{ i->iov_buf = b; i->iov_buf_len = s; i->iov_len = s; }
#define D_GOTO_ERROR(x) x
#define D_DONE_ERROR(x) x
#define D_GOTO_DONE(x) x
#define D_FUNC_LEAVE return
#define D_FUNC_LEAVE_API return
#ifndef DAOS_SUPER_MAGIC
#define DAOS_SUPER_MAGIC 0xDA05AD10
#endif
'
check "all headers + client-defined names" "$cc" "$cflags" c "$all$client_names"
check "all headers + client-defined names" "$cxx" "$cxxflags" c++ "$all$client_names"

if [ $fail -ne 0 ]; then
	echo "check-headers: FAILED"
	exit 1
fi
echo "check-headers: all headers compile alone in C11 and C++17"
