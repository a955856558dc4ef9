/*
 * Small helpers shared by the C tests: assertions that print where and why they failed
 * (with d_errstr of a DER code or strerror of an errno) and exit 1, and names that are
 * unique to one test process so tests can run in parallel against one pool.
 */
#ifndef DAOS_RS_CTEST_UTIL_H
#define DAOS_RS_CTEST_UTIL_H

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <daos_errno.h>

/* Fails the test: prints file:line, the expression and an explanation. */
#define CT_FAIL(fmt, ...)                                                                   \
	do {                                                                                \
		fprintf(stderr, "%s:%d: FAILED: " fmt "\n", __FILE__, __LINE__, ##__VA_ARGS__);  \
		fflush(stderr);                                                             \
		exit(1);                                                                    \
	} while (0)

/* Asserts a condition. */
#define CHECK(cond)                                                                         \
	do {                                                                                \
		if (!(cond))                                                                \
			CT_FAIL("%s", #cond);                                               \
	} while (0)

/* Asserts a condition; on failure also prints a formatted message. */
#define CHECKF(cond, fmt, ...)                                                              \
	do {                                                                                \
		if (!(cond))                                                                \
			CT_FAIL("%s: " fmt, #cond, ##__VA_ARGS__);                          \
	} while (0)

/*
 * Asserts that a daos_* call (0 or negative DER code) returned `want`. (The helpers take the
 * expression's text from the outer macro so it is printed as written, not expanded.)
 */
#define CT_CHECK_RC_(expr, want, text)                                                      \
	do {                                                                                \
		int ct_rc_   = (int)(expr);                                                 \
		int ct_want_ = (int)(want);                                                 \
		if (ct_rc_ != ct_want_)                                                     \
			CT_FAIL("%s returned %d (%s), expected %d (%s)", text, ct_rc_,      \
				d_errstr(ct_rc_), ct_want_, d_errstr(ct_want_));            \
	} while (0)
#define CHECK_RC(expr, want) CT_CHECK_RC_(expr, want, #expr)

/* Asserts that a daos_* call succeeded. */
#define CHECK_OK(expr) CT_CHECK_RC_(expr, 0, #expr)

/*
 * Asserts that a daos_* call returned one of two codes (where DAOS itself and the daos-rs
 * conventions legitimately differ, e.g. DAOS's -DER_NONEXIST for a stale event queue
 * handle against -DER_NO_HDL for every stale handle).
 */
#define CHECK_RC2(expr, want1, want2)                                                       \
	do {                                                                                \
		int ct_rc_ = (int)(expr);                                                   \
		int ct_w1_ = (int)(want1), ct_w2_ = (int)(want2);                           \
		if (ct_rc_ != ct_w1_ && ct_rc_ != ct_w2_)                                   \
			CT_FAIL("%s returned %d (%s), expected %s or %s", #expr, ct_rc_,    \
				d_errstr(ct_rc_), d_errstr(ct_w1_), d_errstr(ct_w2_));      \
	} while (0)

/* Asserts that a dfs_ or duns_ call (0 or positive errno) returned `want`. */
#define CT_CHECK_ERRNO_(expr, want, text)                                                   \
	do {                                                                                \
		int ct_rc_   = (int)(expr);                                                 \
		int ct_want_ = (int)(want);                                                 \
		if (ct_rc_ != ct_want_)                                                     \
			CT_FAIL("%s returned %d (%s), expected %d (%s)", text, ct_rc_,      \
				ct_rc_ < 0 ? d_errstr(ct_rc_) : strerror(ct_rc_), ct_want_,  \
				strerror(ct_want_));                                        \
	} while (0)
#define CHECK_ERRNO(expr, want) CT_CHECK_ERRNO_(expr, want, #expr)

/* Asserts that a dfs_ or duns_ call succeeded. */
#define CHECK_DFS(expr) CT_CHECK_ERRNO_(expr, 0, #expr)

/* Prints a progress line (stdout, flushed so ctest shows it on failure). */
static inline void ct_step(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	printf("-- ");
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
	fflush(stdout);
}

/* The value of an environment variable, or `dflt` when unset or empty. */
static inline const char *ct_env(const char *name, const char *dflt)
{
	const char *v = getenv(name);

	return (v != NULL && v[0] != '\0') ? v : dflt;
}

/*
 * A tag unique to this process among the tests running at the same time against one
 * system: pid plus a per-run random part, so names never collide between tests run in
 * parallel or one after another.
 */
static inline const char *ct_tag(void)
{
	static char tag[64];

	if (tag[0] == '\0') {
		FILE *f = fopen("/dev/urandom", "r");
		unsigned int r = 0;

		if (f != NULL) {
			if (fread(&r, sizeof(r), 1, f) != 1)
				r = 0;
			fclose(f);
		}
		snprintf(tag, sizeof(tag), "%ld_%08x", (long)getpid(), r);
	}
	return tag;
}

/* A 64-bit number unique to this process (for object id low bits). */
static inline uint64_t ct_unique64(void)
{
	static uint64_t v;

	if (v == 0) {
		FILE *f = fopen("/dev/urandom", "r");

		if (f == NULL || fread(&v, sizeof(v), 1, f) != 1)
			v = ((uint64_t)getpid() << 32) | 0x5a5a;
		if (f != NULL)
			fclose(f);
		v &= ~0xffffULL; /* room for per-object counters */
		if (v == 0)
			v = 0x10000;
	}
	return v;
}

/* Deterministic test pattern: byte i of stream `seed`. */
static inline unsigned char ct_pattern(uint64_t seed, uint64_t i)
{
	uint64_t x = (seed + 1) * 0x9e3779b97f4a7c15ULL + i * 0xbf58476d1ce4e5b9ULL;

	x ^= x >> 31;
	return (unsigned char)(x ^ (x >> 17));
}

static inline void ct_fill(void *buf, size_t len, uint64_t seed, uint64_t off)
{
	unsigned char *p = (unsigned char *)buf;
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = ct_pattern(seed, off + i);
}

/* Index of the first byte that differs from the pattern, or -1. */
static inline long ct_verify(const void *buf, size_t len, uint64_t seed, uint64_t off)
{
	const unsigned char *p = (const unsigned char *)buf;
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i] != ct_pattern(seed, off + i))
			return (long)i;
	return -1;
}

#endif /* DAOS_RS_CTEST_UTIL_H */
