/*
 * gurt/common.h -- common gurt helpers: allocation macros (D_ALLOC*, D_REALLOC*,
 * D_STRNDUP, D_FREE), container_of, assertions, D_GOTO, environment readers
 * (d_getenv_*), hash functions and rank-list utilities.
 * Part of the daos-rs C interface; matches DAOS API 2.8 (names and signatures).
 * The allocation macros expand to plain calloc/malloc/realloc/strndup/free, so
 * memory they return may be released with free() and vice versa.
 */
#ifndef DAOS_RS_GURT_COMMON_H
#define DAOS_RS_GURT_COMMON_H

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gurt/types.h>
#include <gurt/list.h>
#include <gurt/debug.h>
#include <daos_errno.h>

#if defined(__cplusplus)
extern "C" {
#endif

/* ---- branch hints, sizes ---------------------------------------------------- */

#ifndef likely
#define likely(x)   __builtin_expect(!!(x), 1)
#endif
#ifndef unlikely
#define unlikely(x) __builtin_expect(!!(x), 0)
#endif

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(arr) (sizeof(arr) / sizeof((arr)[0]))
#endif

#define D_ALIGNUP(x, a) (((x) + ((a) - 1)) & ~((a) - 1))

#ifndef MIN
#define MIN(a, b) (((a) < (b)) ? (a) : (b))
#endif
#ifndef MAX
#define MAX(a, b) (((a) > (b)) ? (a) : (b))
#endif
#if !defined(__cplusplus)
#ifndef min
#define min(x, y) ((x) < (y) ? (x) : (y))
#endif
#ifndef max
#define max(x, y) ((x) > (y) ? (x) : (y))
#endif
#endif
#ifndef min_t
#define min_t(type, x, y) ((type)(x) < (type)(y) ? (type)(x) : (type)(y))
#endif
#ifndef max_t
#define max_t(type, x, y) ((type)(x) > (type)(y) ? (type)(x) : (type)(y))
#endif

/** The structure that embeds \a ptr as its field \a member. */
#if !defined(container_of)
#define container_of(ptr, type, member) \
	((type *)((char *)(ptr) - offsetof(type, member)))
#endif

/* ---- assertions and control flow --------------------------------------------- */

#define D_ASSERT(e) assert(e)
#define D_ASSERTF(cond, fmt, ...) \
	do { if (!(cond)) { D_FATAL(fmt, ##__VA_ARGS__); assert(cond); } } while (0)
#if defined(__cplusplus)
#define D_CASSERT(cond, ...) static_assert(cond, "" __VA_ARGS__)
#else
#define D_CASSERT(cond, ...) _Static_assert(cond, "" __VA_ARGS__)
#endif

/** Evaluate \a rc (typically an assignment) and jump to \a label. */
#define D_GOTO(label, rc) do { ((void)(rc)); goto label; } while (0)

/* ---- allocation ---------------------------------------------------------------- */

#define D_ALLOC(ptr, size) \
	do { (ptr) = (__typeof__(ptr))calloc(1, (size_t)(size)); } while (0)
#define D_ALLOC_NZ(ptr, size) \
	do { (ptr) = (__typeof__(ptr))malloc((size_t)(size)); } while (0)
#define D_ALLOC_PTR(ptr)    D_ALLOC(ptr, sizeof(*(ptr)))
#define D_ALLOC_PTR_NZ(ptr) D_ALLOC_NZ(ptr, sizeof(*(ptr)))
#define D_ALLOC_ARRAY(ptr, count) \
	do { (ptr) = (__typeof__(ptr))calloc((size_t)(count), sizeof(*(ptr))); } while (0)
#define D_ALLOC_ARRAY_NZ(ptr, count) \
	do { (ptr) = (__typeof__(ptr))malloc((size_t)(count) * sizeof(*(ptr))); } while (0)

/**
 * Resize \a oldptr to \a size bytes into \a newptr.  Bytes past \a oldsize are
 * zeroed.  On success \a oldptr is set to NULL; on failure \a newptr is NULL and
 * \a oldptr is untouched.
 */
#define D_REALLOC(newptr, oldptr, oldsize, size)                                              \
	do {                                                                                  \
		size_t _d_old = (size_t)(oldsize);                                            \
		size_t _d_new = (size_t)(size);                                               \
		(newptr) = (__typeof__(newptr))realloc((oldptr), _d_new);                      \
		if ((newptr) != NULL) {                                                       \
			if (_d_new > _d_old)                                                  \
				memset((char *)(newptr) + _d_old, 0, _d_new - _d_old);        \
			(oldptr) = NULL;                                                      \
		}                                                                             \
	} while (0)
/** As D_REALLOC but the new bytes are left uninitialised. */
#define D_REALLOC_NZ(newptr, oldptr, size)                                                    \
	do {                                                                                  \
		(newptr) = (__typeof__(newptr))realloc((oldptr), (size_t)(size));              \
		if ((newptr) != NULL)                                                         \
			(oldptr) = NULL;                                                      \
	} while (0)
#define D_REALLOC_ARRAY(newptr, oldptr, oldcount, count) \
	D_REALLOC(newptr, oldptr, (size_t)(oldcount) * sizeof(*(oldptr)), \
		  (size_t)(count) * sizeof(*(oldptr)))
#define D_REALLOC_ARRAY_NZ(newptr, oldptr, count) \
	D_REALLOC_NZ(newptr, oldptr, (size_t)(count) * sizeof(*(oldptr)))

/** Free \a ptr and set it to NULL. */
#define D_FREE(ptr) do { free((void *)(ptr)); (ptr) = NULL; } while (0)

/** Copy at most \a n bytes of \a s into new NUL-terminated memory (like strndup). */
static inline char *
d_strndup_(const char *s, size_t n)
{
	const char *end = (const char *)memchr(s, '\0', n);
	size_t      len = end != NULL ? (size_t)(end - s) : n;
	char       *dup = (char *)malloc(len + 1);

	if (dup != NULL) {
		memcpy(dup, s, len);
		dup[len] = '\0';
	}
	return dup;
}

/** Duplicate at most \a n bytes of \a s (NUL-terminated) into \a ptr. */
#define D_STRNDUP(ptr, s, n) do { (ptr) = d_strndup_((s), (size_t)(n)); } while (0)
/** Duplicate a string held in a fixed-size array. */
#define D_STRNDUP_S(ptr, s) D_STRNDUP(ptr, s, sizeof(s))

/** Format into newly allocated memory (freed with D_FREE). */
static inline char *
d_asprintf_(const char *fmt, ...)
{
	va_list ap;
	char   *buf;
	int     len;

	va_start(ap, fmt);
	len = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (len < 0)
		return NULL;
	buf = (char *)malloc((size_t)len + 1);
	if (buf == NULL)
		return NULL;
	va_start(ap, fmt);
	vsnprintf(buf, (size_t)len + 1, fmt, ap);
	va_end(ap);
	return buf;
}
#define D_ASPRINTF(ptr, ...) do { (ptr) = d_asprintf_(__VA_ARGS__); } while (0)

/* ---- locks ------------------------------------------------------------------------ */

#define D_MUTEX_INIT(m, attr) pthread_mutex_init((m), (attr))
#define D_MUTEX_DESTROY(m)    pthread_mutex_destroy(m)
#define D_MUTEX_LOCK(m)       do { int _d_rc = pthread_mutex_lock(m); (void)_d_rc; D_ASSERT(_d_rc == 0); } while (0)
#define D_MUTEX_UNLOCK(m)     do { int _d_rc = pthread_mutex_unlock(m); (void)_d_rc; D_ASSERT(_d_rc == 0); } while (0)
#define D_RWLOCK_INIT(l, attr) pthread_rwlock_init((l), (attr))
#define D_RWLOCK_DESTROY(l)    pthread_rwlock_destroy(l)
#define D_RWLOCK_RDLOCK(l)     do { int _d_rc = pthread_rwlock_rdlock(l); (void)_d_rc; D_ASSERT(_d_rc == 0); } while (0)
#define D_RWLOCK_WRLOCK(l)     do { int _d_rc = pthread_rwlock_wrlock(l); (void)_d_rc; D_ASSERT(_d_rc == 0); } while (0)
#define D_RWLOCK_UNLOCK(l)     do { int _d_rc = pthread_rwlock_unlock(l); (void)_d_rc; D_ASSERT(_d_rc == 0); } while (0)

/* ---- environment ---------------------------------------------------------------------- */

/** Copy the value of \a name into \a str_val (capacity \a str_size). -DER_NONEXIST if unset. */
int d_getenv_str(char *str_val, size_t str_size, const char *name);
/** Return a newly allocated copy of \a name's value in \a *str_val (free with d_freeenv_str). */
int d_agetenv_str(char **str_val, const char *name);
/** Free a string returned by d_agetenv_str and set it to NULL. */
void d_freeenv_str(char **str_val);
/**
 * Read a boolean: unset leaves \a *bool_val untouched and returns -DER_NONEXIST;
 * integer 0 is false, any other value true.
 */
int d_getenv_bool(const char *name, bool *bool_val);
int d_getenv_char(const char *name, char *char_val);
int d_getenv_int(const char *name, unsigned int *int_val);
int d_getenv_uint(const char *name, unsigned int *uint_val);
int d_getenv_uint32_t(const char *name, uint32_t *uint32_val);
int d_getenv_uint64_t(const char *name, uint64_t *uint64_val);
int d_setenv(const char *name, const char *value, int overwrite);
int d_unsetenv(const char *name);

/* ---- hashing ------------------------------------------------------------------------------ */

/** DJB2 string hash (seed 5381, h = h * 33 + c) over \a len bytes. */
uint32_t d_hash_string_u32(const char *string, unsigned int len);
/** MurmurHash64A of \a key_len bytes. */
uint64_t d_hash_murmur64(const unsigned char *key, unsigned int key_len, unsigned int seed);
uint64_t d_hash_mix64(uint64_t key);
uint32_t d_hash_mix96(uint32_t a, uint32_t b, uint32_t c);
uint32_t d_hash_jump(uint64_t key, uint32_t num_buckets);

/* ---- rank lists ---------------------------------------------------------------------------- */

d_rank_list_t *d_rank_list_alloc(uint32_t size);
d_rank_list_t *d_rank_list_realloc(d_rank_list_t *ptr, uint32_t size);
void d_rank_list_free(d_rank_list_t *rank_list);
int d_rank_list_copy(d_rank_list_t *dst, d_rank_list_t *src);
int d_rank_list_dup(d_rank_list_t **dst, const d_rank_list_t *src);
int d_rank_list_dup_sort_uniq(d_rank_list_t **dst, const d_rank_list_t *src);
void d_rank_list_sort(d_rank_list_t *rank_list);
bool d_rank_list_find(d_rank_list_t *rank_list, d_rank_t rank, int *idx);
int d_rank_list_del(d_rank_list_t *rank_list, d_rank_t rank);
int d_rank_list_append(d_rank_list_t *rank_list, d_rank_t rank);
bool d_rank_list_identical(d_rank_list_t *rank_list1, d_rank_list_t *rank_list2);
bool d_rank_in_rank_list(d_rank_list_t *rank_list, d_rank_t rank);
/** Render as "[r1,r2,...]"; free the result with D_FREE/free. */
char *d_rank_list_to_str(d_rank_list_t *rank_list);

/* ---- scatter/gather helpers --------------------------------------------------------------- */

static inline int
d_sgl_init(d_sg_list_t *sgl, unsigned int nr)
{
	sgl->sg_nr_out = 0;
	sgl->sg_nr     = nr;
	if (nr == 0) {
		sgl->sg_iovs = NULL;
		return 0;
	}
	D_ALLOC_ARRAY(sgl->sg_iovs, nr);
	return sgl->sg_iovs == NULL ? -DER_NOMEM : 0;
}

static inline void
d_sgl_fini(d_sg_list_t *sgl, bool free_iovs)
{
	uint32_t i;

	if (sgl == NULL || sgl->sg_iovs == NULL)
		return;
	if (free_iovs)
		for (i = 0; i < sgl->sg_nr; i++)
			D_FREE(sgl->sg_iovs[i].iov_buf);
	D_FREE(sgl->sg_iovs);
	sgl->sg_nr_out = 0;
	sgl->sg_nr     = 0;
}

#if defined(__cplusplus)
}
#endif

#endif /* DAOS_RS_GURT_COMMON_H */
