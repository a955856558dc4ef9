/*
 * daos_pool.h -- storage pools: pool/target information (daos_pool_info_t,
 * space and rebuild status, DPI_* query bits), connect/disconnect, query,
 * attributes, container listing and filtering, handle sharing.
 * daos_pool_connect is a macro for the versioned symbol daos_pool_connect2, as in DAOS.
 * Part of the daos-rs C interface; matches DAOS API 2.8 (layouts, values, signatures).
 */
#ifndef DAOS_RS_DAOS_POOL_H
#define DAOS_RS_DAOS_POOL_H

#define daos_pool_connect daos_pool_connect2

#include <inttypes.h>
#include <sys/types.h>
#include <uuid/uuid.h>
#include <daos_types.h>
#include <daos_prop.h>

#if defined(__cplusplus)
extern "C" {
#endif

/** State of a storage target. */
typedef enum {
	DAOS_TS_UNKNOWN,
	DAOS_TS_DOWN_OUT, /**< unavailable */
	DAOS_TS_DOWN,     /**< unavailable, may need rebuild */
	DAOS_TS_UP,
	DAOS_TS_UP_IN,    /**< up and in use */
	DAOS_TS_NEW,      /**< being added to the pool map */
	DAOS_TS_DRAIN,    /**< being drained */
} daos_target_state_t;

typedef struct {
	int foo; /**< placeholder */
} daos_target_perf_t;

/** Storage tiers. */
enum daos_media_type_t {
	DAOS_MEDIA_SCM = 0,
	DAOS_MEDIA_NVME,
	DAOS_MEDIA_MAX
};

/** Space of a target or pool, per tier, in bytes. */
struct daos_space {
	uint64_t s_total[DAOS_MEDIA_MAX];
	uint64_t s_free[DAOS_MEDIA_MAX];
};

/** Information on one target (daos_pool_query_target). */
typedef struct {
	uint32_t            ta_padding;
	daos_target_state_t ta_state;
	daos_target_perf_t  ta_perf;
	struct daos_space   ta_space;
} daos_target_info_t;

/** Pool space. 88 bytes. */
struct daos_pool_space {
	struct daos_space ps_space;                     /**< all live targets together */
	uint64_t          ps_free_min[DAOS_MEDIA_MAX];  /**< least free on one target */
	uint64_t          ps_free_max[DAOS_MEDIA_MAX];  /**< most free on one target */
	uint64_t          ps_free_mean[DAOS_MEDIA_MAX]; /**< mean free per target */
	uint32_t          ps_ntargets;
	uint32_t          ps_padding;
};

enum daos_rebuild_state_t {
	DRS_IN_PROGRESS = 0,
	DRS_NOT_STARTED = 1,
	DRS_COMPLETED   = 2,
};

/** rs_flags bits. */
enum daos_rebuild_status_flag {
	DAOS_RSF_DEGRADED = (1 << 0),
};

/** Rebuild status of a pool. 56 bytes. */
struct daos_rebuild_status {
	uint32_t rs_version; /**< pool map version being (or last) rebuilt */
	uint32_t rs_seconds;
	int32_t  rs_errno;
	union {
		int32_t rs_state; /**< enum daos_rebuild_state_t */
		int32_t rs_done;
	};
	uint16_t rs_max_supported_layout_ver;
	uint8_t  rs_flags; /**< daos_rebuild_status_flag bits */
	uint8_t  rs_reserved_;
	int32_t  rs_fail_rank;
	uint64_t rs_toberb_obj_nr;
	uint64_t rs_obj_nr;
	uint64_t rs_rec_nr;
	uint64_t rs_size;
};

/** pi_bits: what daos_pool_query/daos_pool_connect should return beyond the basics. */
enum daos_pool_info_bit {
	DPI_SPACE                  = 1ULL << 0,
	DPI_REBUILD_STATUS         = 1ULL << 1,
	DPI_ENGINES_ENABLED        = 1ULL << 2,
	DPI_ENGINES_DISABLED       = 1ULL << 3,
	DPI_ENGINES_DEAD           = 1ULL << 4,
	DPI_REBUILD_MAX_LAYOUT_VER = 1ULL << 5,
	DPI_SELF_HEAL_POLICY       = 1ULL << 6,
	DPI_ALL                    = -1,
};

/** Pool information. 192 bytes; pi_bits is read on input. */
typedef struct {
	uuid_t                     pi_uuid;
	uint32_t                   pi_ntargets;
	uint32_t                   pi_nnodes;
	uint32_t                   pi_ndisabled;
	uint32_t                   pi_map_ver;
	uint32_t                   pi_leader;
	uint64_t                   pi_bits;
	struct daos_pool_space     pi_space;
	struct daos_rebuild_status pi_rebuild_st;
} daos_pool_info_t;

/** Entry of daos_pool_list_cont(). */
struct daos_pool_cont_info {
	uuid_t pci_uuid;
	char   pci_label[DAOS_PROP_LABEL_MAX_LEN + 1];
};

/** Entry of daos_pool_filter_cont(). */
struct daos_pool_cont_info2 {
	struct daos_pool_cont_info pci_id;
	daos_cont_info_t           pci_cinfo;
	void                      *pci_reserved[2];
};

#define DAOS_SYS_NAME_MAX_LEN 127

/**
 * Connect to the pool named by label or UUID string \a pool in system \a sys
 * (NULL: default).  (Called as daos_pool_connect.)
 */
int daos_pool_connect2(const char *pool, const char *sys, unsigned int flags,
		       daos_handle_t *poh, daos_pool_info_t *info, daos_event_t *ev);
/** Disconnect; -DER_BUSY while container handles are open on it. */
int daos_pool_disconnect(daos_handle_t poh, daos_event_t *ev);
/** Serialise a pool handle; with iov_buf NULL only sets iov_buf_len; -DER_TRUNC if short. */
int daos_pool_local2global(daos_handle_t poh, d_iov_t *glob);
int daos_pool_global2local(d_iov_t glob, daos_handle_t *poh);
/** Query information, engine ranks and/or properties (dpp_nr == 0: all properties). */
int daos_pool_query(daos_handle_t poh, d_rank_list_t **ranks, daos_pool_info_t *info,
		    daos_prop_t *pool_prop, daos_event_t *ev);
int daos_pool_query_target(daos_handle_t poh, uint32_t tgt, d_rank_t rank,
			   daos_target_info_t *info, daos_event_t *ev);
int daos_pool_list_attr(daos_handle_t poh, char *buffer, size_t *size, daos_event_t *ev);
int daos_pool_get_attr(daos_handle_t poh, int n, char const *const names[],
		       void *const buffers[], size_t sizes[], daos_event_t *ev);
int daos_pool_set_attr(daos_handle_t poh, int n, char const *const names[],
		       void const *const values[], size_t const sizes[], daos_event_t *ev);
int daos_pool_del_attr(daos_handle_t poh, int n, char const *const names[], daos_event_t *ev);
/** List containers; \a *ncont in: capacity of \a cbuf, out: count. -DER_TRUNC if short. */
int daos_pool_list_cont(daos_handle_t poh, daos_size_t *ncont, struct daos_pool_cont_info *cbuf,
			daos_event_t *ev);
int daos_pool_stop_svc(daos_handle_t poh, daos_event_t *ev);

/** Comparison of a container metadata value with a filter value. */
enum daos_pool_cont_filter_func {
	PCF_FUNC_EQ = 0,
	PCF_FUNC_NE,
	PCF_FUNC_LT,
	PCF_FUNC_LE,
	PCF_FUNC_GT,
	PCF_FUNC_GE,
	PCF_FUNC_MAX
};

static inline const char *
daos_pool_cont_filter_func_str(enum daos_pool_cont_filter_func f)
{
	switch (f) {
	case PCF_FUNC_EQ:
		return "==";
	case PCF_FUNC_NE:
		return "!=";
	case PCF_FUNC_LT:
		return "<";
	case PCF_FUNC_LE:
		return "<=";
	case PCF_FUNC_GT:
		return ">";
	case PCF_FUNC_GE:
		return ">=";
	default:
		return "UNKNOWN";
	}
}

/** Container metadata a filter can test. */
enum daos_pool_cont_filter_key {
	PCF_KEY_MD_OTIME = 0,
	PCF_KEY_MD_MTIME,
	PCF_KEY_NUM_SNAPSHOTS,
	PCF_KEY_NUM_HANDLES,
	PCF_KEY_MAX
};

static inline const char *
daos_pool_cont_filter_key_str(enum daos_pool_cont_filter_key k)
{
	switch (k) {
	case PCF_KEY_MD_OTIME:
		return "md_open_time";
	case PCF_KEY_MD_MTIME:
		return "md_modify_time";
	case PCF_KEY_NUM_SNAPSHOTS:
		return "num_snapshots";
	case PCF_KEY_NUM_HANDLES:
		return "num_handles";
	default:
		return "UNKNOWN";
	}
}

/** One condition of a container filter. */
typedef struct daos_pool_cont_filter_part {
	uint32_t pcfp_func; /**< enum daos_pool_cont_filter_func */
	uint32_t pcfp_key;  /**< enum daos_pool_cont_filter_key */
	union {
		uint64_t   pcfp_val64;
		d_string_t pcfp_valstr;
	};
} daos_pool_cont_filter_part_t;

enum daos_pool_cont_filter_combine {
	PCF_COMBINE_LOGICAL_AND = 0,
	PCF_COMBINE_LOGICAL_OR,
};

/** A container filter: conditions combined with AND or OR. */
typedef struct daos_pool_cont_filter {
	uint32_t                           pcf_combine_func;
	uint32_t                           pcf_nparts;
	struct daos_pool_cont_filter_part **pcf_parts;
} daos_pool_cont_filter_t;

#define DAOS_POOL_CONT_FILTER_MAX_NPARTS (8)

int daos_pool_cont_filter_init(daos_pool_cont_filter_t *filt, uint32_t combine_func);
int daos_pool_cont_filter_add(daos_pool_cont_filter_t *filt, daos_pool_cont_filter_part_t *part);
void daos_pool_cont_filter_fini(daos_pool_cont_filter_t *filt);
int daos_pool_filter_cont(daos_handle_t poh, daos_pool_cont_filter_t *filter, daos_size_t *ncont,
			  struct daos_pool_cont_info2 *cbuf, daos_event_t *ev);
/** A user's permissions (daos_acl_perm bits) from a pool's ACL/owner properties. */
int daos_pool_get_perms(daos_prop_t *pool_prop, uid_t uid, gid_t *gids, size_t nr_gids,
			uint64_t *perms);

#if defined(__cplusplus)
}
#endif

#endif /* DAOS_RS_DAOS_POOL_H */
