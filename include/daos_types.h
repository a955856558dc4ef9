/*
 * daos_types.h -- types shared by the whole DAOS API: sizes, offsets, handles,
 * iteration anchors, epochs, container info, events, object IDs, system info.
 * Part of the daos-rs C interface; matches DAOS API 2.8 (names, sizes, offsets,
 * values).  Like DAOS's, it includes <uuid/uuid.h>, <cart/types.h> and <daos_errno.h>.
 */
#ifndef DAOS_RS_DAOS_TYPES_H
#define DAOS_RS_DAOS_TYPES_H

#include <ctype.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#ifndef PATH_MAX
#include <linux/limits.h>
#endif

#include <uuid/uuid.h>
#include <cart/types.h>
#include <daos_errno.h>

#if defined(__cplusplus)
extern "C" {
#endif

/** Longest DAOS system name, without the NUL. */
#define DAOS_SYS_NAME_MAX        15
/** Longest string in struct daos_sys_info, without the NUL. */
#define DAOS_SYS_INFO_STRING_MAX 63
/** Buffer size for a UUID in text form, NUL included. */
#define DAOS_UUID_STR_SIZE       37
/** Longest pool/container attribute name. */
#define DAOS_ATTR_NAME_MAX       511

typedef uint64_t daos_size_t;
typedef uint64_t daos_off_t;

/** Size of a hashed key (SHA-256). */
#define DAOS_HKEY_MAX 32

/* ---- iteration anchor ------------------------------------------------------ */

typedef enum {
	DAOS_ANCHOR_TYPE_ZERO = 0,
	DAOS_ANCHOR_TYPE_HKEY = 1,
	DAOS_ANCHOR_TYPE_KEY  = 2,
	/** enumeration is finished */
	DAOS_ANCHOR_TYPE_EOF  = 3,
} daos_anchor_type_t;

#define DAOS_ANCHOR_BUF_MAX 104

/** Opaque enumeration position; all zero means "start". 120 bytes. */
typedef struct {
	uint16_t da_type;        /**< daos_anchor_type_t */
	uint16_t da_shard;       /**< private */
	uint32_t da_flags;       /**< private */
	uint64_t da_sub_anchors; /**< private */
	uint8_t  da_buf[DAOS_ANCHOR_BUF_MAX]; /**< private */
} daos_anchor_t;

#if defined(__cplusplus)
#define DAOS_ANCHOR_INIT {}
#else
#define DAOS_ANCHOR_INIT                                                                     \
	{ .da_type = DAOS_ANCHOR_TYPE_ZERO, .da_shard = 0, .da_flags = 0,                     \
	  .da_sub_anchors = 0, .da_buf = { 0 } }
#endif

/* ---- handles ------------------------------------------------------------------ */

/** Handle of a pool, container, object, transaction, event queue...; 0 is invalid. */
typedef struct {
	uint64_t cookie;
} daos_handle_t;

#if defined(__cplusplus)
#define DAOS_HDL_INVAL (daos_handle_t{0})
#else
#define DAOS_HDL_INVAL ((daos_handle_t){0})
#endif
/** "No transaction": each operation is its own transaction. */
#define DAOS_TX_NONE DAOS_HDL_INVAL

static inline bool
daos_handle_is_inval(daos_handle_t hdl)
{
	return hdl.cookie == 0;
}

static inline bool
daos_handle_is_valid(daos_handle_t hdl)
{
	return hdl.cookie != 0;
}

/** Pool connect modes (mutually exclusive). */
#define DAOS_PC_RO    (1U << 0)
#define DAOS_PC_RW    (1U << 1)
#define DAOS_PC_EX    (1U << 2)
#define DAOS_PC_NBITS 3
#define DAOS_PC_MASK  ((1U << DAOS_PC_NBITS) - 1)

/* ---- epochs ---------------------------------------------------------------------- */

typedef uint64_t daos_epoch_t;

typedef struct {
	daos_epoch_t epr_lo; /**< low bound, inclusive */
	daos_epoch_t epr_hi; /**< high bound, inclusive */
} daos_epoch_range_t;

#define DAOS_EPOCH_MAX (~0ULL)

/* ---- container info ------------------------------------------------------------- */

/** Returned by daos_cont_open/daos_cont_query. 48 bytes. */
typedef struct {
	uuid_t       ci_uuid;
	daos_epoch_t ci_lsnapshot; /**< latest persistent snapshot */
	uint32_t     ci_nhandles;  /**< open handles */
	uint32_t     ci_nsnapshots;
	uint64_t     ci_md_otime;  /**< last open time (HLC) */
	uint64_t     ci_md_mtime;  /**< last modification time (HLC) */
} daos_cont_info_t;

/** Distribution and attribute keys are plain iovs. */
typedef d_iov_t daos_key_t;

/* ---- events ------------------------------------------------------------------------ */

/**
 * Completion event of a non-blocking call; the result lands in ev_error.
 * Applications embed it in their own structures; it must not be moved while in use.
 * 176 bytes.
 */
typedef struct daos_event {
	int ev_error;
	struct {
		uint64_t space[20];
	} ev_private;
	uint64_t ev_debug;
} daos_event_t;

/** daos_eq_poll/daos_event_test timeouts (microseconds, or these). */
#define DAOS_EQ_WAIT   -1
#define DAOS_EQ_NOWAIT 0

typedef enum {
	DAOS_EQR_COMPLETED = (1),
	DAOS_EQR_WAITING   = (1 << 1),
	DAOS_EQR_ALL       = (DAOS_EQR_COMPLETED | DAOS_EQR_WAITING),
} daos_eq_query_t;

typedef enum {
	DAOS_EVS_READY,
	DAOS_EVS_RUNNING,
	DAOS_EVS_COMPLETED,
	DAOS_EVS_ABORTED,
} daos_ev_status_t;

/** Pool targets, each a (rank, target index) pair. */
struct d_tgt_list {
	d_rank_t *tl_ranks;
	int32_t  *tl_tgts;
	uint32_t  tl_nr;
};

struct daos_eq;

/** Handle types, kept in the low 4 bits of a DAOS cookie. */
enum {
	DAOS_HTYPE_EQ    = 1,
	DAOS_HTYPE_POOL  = 3,
	DAOS_HTYPE_CO    = 5,
	DAOS_HTYPE_OBJ   = 7,
	DAOS_HTYPE_ARRAY = 9,
	DAOS_HTYPE_TX    = 11,
	DAOS_HTYPE_KV    = 13,
};

/* ---- object IDs ---------------------------------------------------------------------- */

/**
 * 128-bit object ID.  The upper 32 bits of \a hi belong to DAOS (type, redundancy,
 * group count, see daos_obj.h); the other 96 bits belong to the application.
 */
typedef struct {
	uint64_t lo;
	uint64_t hi;
} daos_obj_id_t;

/* ---- system information ---------------------------------------------------------------- */

/** An engine rank and the URI clients reach it at. */
struct daos_rank_uri {
	uint32_t dru_rank;
	char    *dru_uri;
};

/** System information returned by daos_mgmt_get_sys_info(). */
struct daos_sys_info {
	char                  dsi_system_name[DAOS_SYS_INFO_STRING_MAX + 1];
	char                  dsi_fabric_provider[DAOS_SYS_INFO_STRING_MAX + 1];
	char                  dsi_agent_path[PATH_MAX];
	uint32_t              dsi_nr_ranks;
	struct daos_rank_uri *dsi_ranks;
	uint32_t              dsi_nr_ms_ranks;
	uint32_t             *dsi_ms_ranks;
};

/** True if \a uuid is a UUID in canonical text form (36 characters, hex and dashes). */
static inline bool
daos_is_valid_uuid_string(const char *uuid)
{
	int i;

	if (uuid == NULL)
		return false;
	for (i = 0; i < 36; i++) {
		char c = uuid[i];

		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (c != '-')
				return false;
		} else if (c == '\0' || !isxdigit((unsigned char)c)) {
			return false;
		}
	}
	return uuid[36] == '\0';
}

#if defined(__cplusplus)
}
#endif

#endif /* DAOS_RS_DAOS_TYPES_H */
