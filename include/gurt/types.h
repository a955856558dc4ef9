/*
 * gurt/types.h -- basic buffer and rank types shared by all DAOS headers
 * (I/O vectors, scatter/gather lists, ranks, rank lists, strings).
 * Part of the daos-rs C interface; matches DAOS API 2.8 (names, layouts, values).
 */
#ifndef DAOS_RS_GURT_TYPES_H
#define DAOS_RS_GURT_TYPES_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <uuid/uuid.h>

#if defined(__cplusplus)
extern "C" {
#endif

/** Memory segment: buffer, its capacity, and the bytes that are valid. 24 bytes. */
typedef struct {
	void   *iov_buf;     /**< start of the buffer */
	size_t  iov_buf_len; /**< capacity of the buffer */
	size_t  iov_len;     /**< bytes of data in the buffer */
} d_iov_t;

/** List of memory segments. 16 bytes. */
typedef struct {
	uint32_t  sg_nr;     /**< number of entries in sg_iovs */
	uint32_t  sg_nr_out; /**< number of entries filled by the library */
	d_iov_t  *sg_iovs;   /**< the segments */
} d_sg_list_t;

/** Server rank. */
typedef uint32_t d_rank_t;

/** List of ranks. 16 bytes. */
typedef struct {
	d_rank_t *rl_ranks; /**< the ranks */
	uint32_t  rl_nr;    /**< number of ranks */
} d_rank_list_t;

/** Inclusive range of ranks. */
typedef struct {
	d_rank_t lo;
	d_rank_t hi;
} d_rank_range_t;

/** List of rank ranges. */
typedef struct {
	d_rank_range_t *rrl_ranges;
	uint32_t        rrl_nr;
} d_rank_range_list_t;

/** NUL-terminated strings. */
typedef char       *d_string_t;
typedef const char *d_const_string_t;

/** UUID wrapped in a struct so it can be passed and assigned by value. */
struct d_uuid {
	uuid_t uuid;
};

/** Point an iov at a buffer of \a size bytes, all of them valid. */
static inline void
d_iov_set(d_iov_t *iov, void *buf, size_t size)
{
	iov->iov_buf     = buf;
	iov->iov_buf_len = size;
	iov->iov_len     = size;
}

#if defined(__cplusplus)
}
#endif

#endif /* DAOS_RS_GURT_TYPES_H */
