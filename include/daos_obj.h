/*
 * daos_obj.h -- the DAOS object API: object ID layout and inline helpers, object
 * types, conditional-operation flags, open modes, I/O descriptors (daos_iod_t,
 * daos_recx_t, daos_iom_t, daos_key_desc_t), class hints, object open/close/punch/
 * fetch/update/list/query and the object-ID table (OIT).
 * Part of the daos-rs C interface; matches DAOS API 2.8 (names, bit layout,
 * struct layouts, signatures).
 */
#ifndef DAOS_RS_DAOS_OBJ_H
#define DAOS_RS_DAOS_OBJ_H

/* Calls compile against the versioned symbol, as in DAOS. */
#define daos_obj_generate_oid daos_obj_generate_oid2

#include <daos_types.h>
#include <daos_event.h>
#include <daos_obj_class.h>
#include <daos_prop.h>

#if defined(__cplusplus)
extern "C" {
#endif

#if defined(__cplusplus)
#define DAOS_OBJ_NIL (daos_obj_id_t{0, 0})
#else
#define DAOS_OBJ_NIL ((daos_obj_id_t){0})
#endif

/*
 * Layout of the upper 32 bits of daos_obj_id_t::hi, reserved for DAOS:
 *   bits 63..56  object type (enum daos_otype_t)
 *   bits 55..48  redundancy method (enum daos_obj_redun, OR_*)
 *   bits 47..32  number of redundancy groups (0xFFFF = as many as possible)
 */
#define OID_FMT_INTR_BITS  32
#define OID_FMT_TYPE_BITS  8
#define OID_FMT_CLASS_BITS 8
#define OID_FMT_META_BITS  16

#define OID_FMT_TYPE_SHIFT  (64 - OID_FMT_TYPE_BITS)
#define OID_FMT_CLASS_SHIFT (OID_FMT_TYPE_SHIFT - OID_FMT_CLASS_BITS)
#define OID_FMT_META_SHIFT  (OID_FMT_CLASS_SHIFT - OID_FMT_META_BITS)

#define OID_FMT_TYPE_MAX  ((1ULL << OID_FMT_TYPE_BITS) - 1)
#define OID_FMT_CLASS_MAX ((1ULL << OID_FMT_CLASS_BITS) - 1)
#define OID_FMT_META_MAX  ((1ULL << OID_FMT_META_BITS) - 1)

#define OID_FMT_TYPE_MASK  (OID_FMT_TYPE_MAX << OID_FMT_TYPE_SHIFT)
#define OID_FMT_CLASS_MASK (OID_FMT_CLASS_MAX << OID_FMT_CLASS_SHIFT)
#define OID_FMT_META_MASK  (OID_FMT_META_MAX << OID_FMT_META_SHIFT)

/** Object types. */
enum daos_otype_t {
	DAOS_OT_MULTI_HASHED  = 0,  /**< multi-level KV, hashed dkeys and akeys (default) */
	DAOS_OT_OIT           = 1,  /**< object-ID table of a snapshot */
	DAOS_OT_DKEY_UINT64   = 2,  /**< integer dkeys */
	DAOS_OT_AKEY_UINT64   = 3,  /**< integer akeys */
	DAOS_OT_MULTI_UINT64  = 4,  /**< integer dkeys and akeys */
	DAOS_OT_DKEY_LEXICAL  = 5,  /**< lexically ordered dkeys */
	DAOS_OT_AKEY_LEXICAL  = 6,  /**< lexically ordered akeys */
	DAOS_OT_MULTI_LEXICAL = 7,  /**< lexically ordered dkeys and akeys */
	DAOS_OT_KV_HASHED     = 8,  /**< flat KV, hashed dkey */
	DAOS_OT_KV_UINT64     = 9,  /**< flat KV, integer dkey */
	DAOS_OT_KV_LEXICAL    = 10, /**< flat KV, lexical dkey */
	DAOS_OT_ARRAY         = 11, /**< array with attributes stored in the object */
	DAOS_OT_ARRAY_ATTR    = 12, /**< array with attributes kept by the user */
	DAOS_OT_ARRAY_BYTE    = 13, /**< byte array without metadata (DFS files) */
	DAOS_OT_OIT_V2        = 14, /**< object-ID table, second version */
	DAOS_OT_MAX           = 14,
};

static inline bool
daos_otype_t_is_valid(enum daos_otype_t type)
{
	return type <= DAOS_OT_MAX;
}

static inline bool
daos_pa_domain_is_valid(uint32_t pa_domain)
{
	return pa_domain == DAOS_PROP_CO_REDUN_NODE || pa_domain == DAOS_PROP_CO_REDUN_RANK;
}

/** Object type encoded in \a oid. */
static inline enum daos_otype_t
daos_obj_id2type(daos_obj_id_t oid)
{
	return (enum daos_otype_t)((oid.hi & OID_FMT_TYPE_MASK) >> OID_FMT_TYPE_SHIFT);
}

/** Redundancy method encoded in \a oid. */
static inline enum daos_obj_redun
daos_obj_id2ord(daos_obj_id_t oid)
{
	return (enum daos_obj_redun)((oid.hi & OID_FMT_CLASS_MASK) >> OID_FMT_CLASS_SHIFT);
}

/** Number of redundancy groups encoded in \a oid. */
static inline uint32_t
daos_obj_id2grp_nr(daos_obj_id_t oid)
{
	return (uint32_t)((oid.hi & OID_FMT_META_MASK) >> OID_FMT_META_SHIFT);
}

/** Object class of \a oid: (redundancy << OC_REDUN_SHIFT) | group count. */
static inline daos_oclass_id_t
daos_obj_id2class(daos_obj_id_t oid)
{
	return ((daos_oclass_id_t)daos_obj_id2ord(oid) << OC_REDUN_SHIFT) |
	       daos_obj_id2grp_nr(oid);
}

static inline bool
daos_is_dkey_lexical_type(enum daos_otype_t type)
{
	return type == DAOS_OT_DKEY_LEXICAL || type == DAOS_OT_MULTI_LEXICAL ||
	       type == DAOS_OT_KV_LEXICAL;
}

static inline bool
daos_is_dkey_lexical(daos_obj_id_t oid)
{
	return daos_is_dkey_lexical_type(daos_obj_id2type(oid));
}

static inline bool
daos_is_akey_lexical_type(enum daos_otype_t type)
{
	return type == DAOS_OT_AKEY_LEXICAL || type == DAOS_OT_MULTI_LEXICAL;
}

static inline bool
daos_is_akey_lexical(daos_obj_id_t oid)
{
	return daos_is_akey_lexical_type(daos_obj_id2type(oid));
}

static inline bool
daos_is_dkey_uint64_type(enum daos_otype_t type)
{
	return type == DAOS_OT_MULTI_UINT64 || type == DAOS_OT_DKEY_UINT64 ||
	       type == DAOS_OT_KV_UINT64 || type == DAOS_OT_ARRAY || type == DAOS_OT_ARRAY_ATTR ||
	       type == DAOS_OT_ARRAY_BYTE;
}

static inline bool
daos_is_dkey_uint64(daos_obj_id_t oid)
{
	return daos_is_dkey_uint64_type(daos_obj_id2type(oid));
}

static inline bool
daos_is_akey_uint64_type(enum daos_otype_t type)
{
	return type == DAOS_OT_MULTI_UINT64 || type == DAOS_OT_AKEY_UINT64;
}

static inline bool
daos_is_akey_uint64(daos_obj_id_t oid)
{
	return daos_is_akey_uint64_type(daos_obj_id2type(oid));
}

static inline bool
daos_is_array_type(enum daos_otype_t type)
{
	return type == DAOS_OT_ARRAY || type == DAOS_OT_ARRAY_ATTR || type == DAOS_OT_ARRAY_BYTE;
}

static inline bool
daos_is_array(daos_obj_id_t oid)
{
	return daos_is_array_type(daos_obj_id2type(oid));
}

static inline bool
daos_is_kv_type(enum daos_otype_t type)
{
	return type == DAOS_OT_KV_HASHED || type == DAOS_OT_KV_UINT64 ||
	       type == DAOS_OT_KV_LEXICAL;
}

static inline bool
daos_is_kv(daos_obj_id_t oid)
{
	return daos_is_kv_type(daos_obj_id2type(oid));
}

static inline bool
daos_obj_id_is_nil(daos_obj_id_t oid)
{
	return oid.hi == 0 && oid.lo == 0;
}

/**
 * Step the application-owned low 32 bits of \a oid->hi to the next value of a
 * cycle that visits all 2^32 values (a prime stride), clearing the DAOS bits.
 */
static inline void
daos_obj_oid_cycle(daos_obj_id_t *oid)
{
	oid->hi = (oid->hi + 999999937ULL) & 0xFFFFFFFFULL;
}

/** Bits of the I/O flags reserved for conditional operations. */
#define IO_FLAGS_COND_BITS 8

/** Conditional operations (flags of update/fetch/punch). */
enum {
	DAOS_COND_PUNCH       = (1 << 0), /**< punch only if the key exists */
	DAOS_COND_DKEY_INSERT = (1 << 1), /**< insert dkey only if absent */
	DAOS_COND_DKEY_UPDATE = (1 << 2), /**< update dkey only if present */
	DAOS_COND_DKEY_FETCH  = (1 << 3), /**< fetch dkey only if present */
	DAOS_COND_AKEY_INSERT = (1 << 4), /**< insert akey only if absent */
	DAOS_COND_AKEY_UPDATE = (1 << 5), /**< update akey only if present */
	DAOS_COND_AKEY_FETCH  = (1 << 6), /**< fetch akey only if present */
	DAOS_COND_PER_AKEY    = (1 << 7), /**< per-akey conditions come from iod_flags */
	DAOS_COND_MASK        = ((1 << IO_FLAGS_COND_BITS) - 1),
};

/** Object attributes returned by daos_obj_query(). */
struct daos_obj_attr {
	d_rank_t                 oa_rank;
	struct daos_oclass_attr *oa_oa;
};

/** Object open modes. */
enum {
	DAOS_OO_RO      = (1 << 1),
	DAOS_OO_RW      = (1 << 2),
	DAOS_OO_EXCL    = (1 << 3),
	DAOS_OO_IO_RAND = (1 << 4),
	DAOS_OO_IO_SEQ  = (1 << 5),
};

/** Extent of records: rx_nr records starting at index rx_idx. 16 bytes. */
typedef struct {
	uint64_t rx_idx;
	uint64_t rx_nr;
} daos_recx_t;

/** Kind of value under an akey. */
typedef enum {
	DAOS_IOD_NONE   = 0,
	DAOS_IOD_SINGLE = 1, /**< one value, replaced as a whole */
	DAOS_IOD_ARRAY  = 2, /**< array of equal-sized records */
} daos_iod_type_t;

/** I/O descriptor: what to access under one akey. 64 bytes. */
typedef struct {
	daos_key_t      iod_name;  /**< akey */
	daos_iod_type_t iod_type;
	daos_size_t     iod_size;  /**< value or record size; DAOS_REC_ANY on fetch to learn it */
	uint64_t        iod_flags; /**< per-akey conditions (with DAOS_COND_PER_AKEY) */
	uint32_t        iod_nr;    /**< entries in iod_recxs (1 for a single value) */
	daos_recx_t    *iod_recxs;
} daos_iod_t;

/** iom_flags: return the full list of extents in iom_recxs. */
#define DAOS_IOMF_DETAIL (0x1U)

/** Map of the extents actually present, returned by a fetch. 64 bytes. */
typedef struct {
	daos_iod_type_t iom_type;
	uint32_t        iom_nr;     /**< entries allocated in iom_recxs */
	uint32_t        iom_nr_out; /**< extents found */
	uint32_t        iom_flags;  /**< DAOS_IOMF_* */
	daos_size_t     iom_size;
	daos_recx_t     iom_recx_lo;
	daos_recx_t     iom_recx_hi;
	daos_recx_t    *iom_recxs;
} daos_iom_t;

/** Record size "unknown": a fetch returns the size in iod_size. */
enum {
	DAOS_REC_ANY = 0,
};

/** Flags of daos_obj_query_key(). */
enum {
	DAOS_GET_MAX  = (1 << 0),
	DAOS_GET_MIN  = (1 << 1),
	DAOS_GET_DKEY = (1 << 2),
	DAOS_GET_AKEY = (1 << 3),
	DAOS_GET_RECX = (1 << 4),
};

/** Key descriptor of an enumeration; keys are packed back to back in the sgl. 16 bytes. */
typedef struct {
	daos_size_t kd_key_len;
	uint32_t    kd_val_type;
} daos_key_desc_t;

/** Object-class hints for daos_obj_generate_oid(). */
#define DAOS_OCH_RDD_BITS    4
#define DAOS_OCH_SHD_BITS    6
#define DAOS_OCH_RDD_SHIFT   0
#define DAOS_OCH_SHD_SHIFT   DAOS_OCH_RDD_BITS
#define DAOS_OCH_RDD_MAX_VAL ((1ULL << DAOS_OCH_RDD_BITS) - 1)
#define DAOS_OCH_SHD_MAX_VAL ((1ULL << DAOS_OCH_SHD_BITS) - 1)
#define DAOS_OCH_RDD_MASK    (DAOS_OCH_RDD_MAX_VAL << DAOS_OCH_RDD_SHIFT)
#define DAOS_OCH_SHD_MASK    (DAOS_OCH_SHD_MAX_VAL << DAOS_OCH_SHD_SHIFT)

enum {
	DAOS_OCH_RDD_DEF  = (1 << 0), /**< redundancy from the container's RF */
	DAOS_OCH_RDD_NO   = (1 << 1), /**< no redundancy */
	DAOS_OCH_RDD_RP   = (1 << 2), /**< replication */
	DAOS_OCH_RDD_EC   = (1 << 3), /**< erasure code */
	DAOS_OCH_SHD_DEF  = (1 << 4), /**< default sharding */
	DAOS_OCH_SHD_TINY = (1 << 5), /**< one group */
	DAOS_OCH_SHD_REG  = (1 << 6),
	DAOS_OCH_SHD_HI   = (1 << 7),
	DAOS_OCH_SHD_EXT  = (1 << 8),
	DAOS_OCH_SHD_MAX  = (1 << 9), /**< all targets */
};

/**
 * Encode type and class into the DAOS bits of \a oid (whose low 96 bits the caller
 * has set).  \a cid OC_UNKNOWN lets the library choose from the container's
 * properties and \a hints.  (Called as daos_obj_generate_oid.)
 */
int daos_obj_generate_oid2(daos_handle_t coh, daos_obj_id_t *oid, enum daos_otype_t type,
			   daos_oclass_id_t cid, daos_oclass_hints_t hints, uint32_t args);

/** As daos_obj_generate_oid, but for a redundancy factor and a pool handle. */
int daos_obj_generate_oid_by_rf(daos_handle_t poh, uint64_t rf_factor, daos_obj_id_t *oid,
				enum daos_otype_t type, daos_oclass_id_t cid,
				daos_oclass_hints_t hints, uint32_t args, uint32_t pa_domain);

/** The class the library would choose for \a type and \a hints in container \a coh. */
int daos_obj_get_oclass(daos_handle_t coh, enum daos_otype_t type, daos_oclass_hints_t hints,
			uint32_t args, daos_oclass_id_t *cid);

int daos_obj_open(daos_handle_t coh, daos_obj_id_t oid, unsigned int mode, daos_handle_t *oh,
		  daos_event_t *ev);
int daos_obj_close(daos_handle_t oh, daos_event_t *ev);
/** Punch the whole object. */
int daos_obj_punch(daos_handle_t oh, daos_handle_t th, uint64_t flags, daos_event_t *ev);
int daos_obj_punch_dkeys(daos_handle_t oh, daos_handle_t th, uint64_t flags, unsigned int nr,
			 daos_key_t *dkeys, daos_event_t *ev);
int daos_obj_punch_akeys(daos_handle_t oh, daos_handle_t th, uint64_t flags, daos_key_t *dkey,
			 unsigned int nr, daos_key_t *akeys, daos_event_t *ev);
int daos_obj_query(daos_handle_t oh, struct daos_obj_attr *oa, d_rank_list_t *ranks,
		   daos_event_t *ev);

/**
 * Fetch \a nr akeys of \a dkey.  An iod_size of DAOS_REC_ANY returns the size;
 * a buffer too small gives -DER_REC2BIG; an absent record gives iov_len 0.
 */
int daos_obj_fetch(daos_handle_t oh, daos_handle_t th, uint64_t flags, daos_key_t *dkey,
		   unsigned int nr, daos_iod_t *iods, d_sg_list_t *sgls, daos_iom_t *ioms,
		   daos_event_t *ev);
int daos_obj_update(daos_handle_t oh, daos_handle_t th, uint64_t flags, daos_key_t *dkey,
		    unsigned int nr, daos_iod_t *iods, d_sg_list_t *sgls, daos_event_t *ev);

/** Enumerate dkeys; -DER_KEY2BIG (with kds[0].kd_key_len) if one does not fit. */
int daos_obj_list_dkey(daos_handle_t oh, daos_handle_t th, uint32_t *nr, daos_key_desc_t *kds,
		       d_sg_list_t *sgl, daos_anchor_t *anchor, daos_event_t *ev);
int daos_obj_list_akey(daos_handle_t oh, daos_handle_t th, daos_key_t *dkey, uint32_t *nr,
		       daos_key_desc_t *kds, d_sg_list_t *sgl, daos_anchor_t *anchor,
		       daos_event_t *ev);
int daos_obj_list_recx(daos_handle_t oh, daos_handle_t th, daos_key_t *dkey, daos_key_t *akey,
		       daos_size_t *size, uint32_t *nr, daos_recx_t *recxs,
		       daos_epoch_range_t *eprs, daos_anchor_t *anchor, bool incr_order,
		       daos_event_t *ev);
int daos_obj_query_key(daos_handle_t oh, daos_handle_t th, uint64_t flags, daos_key_t *dkey,
		       daos_key_t *akey, daos_recx_t *recx, daos_event_t *ev);
int daos_obj_query_max_epoch(daos_handle_t oh, daos_handle_t th, daos_epoch_t *epoch,
			     daos_event_t *ev);
int daos_obj_verify(daos_handle_t coh, daos_obj_id_t oid, daos_epoch_t epoch);
int daos_obj_anchor_split(daos_handle_t oh, uint32_t *nr, daos_anchor_t *anchors);
int daos_obj_anchor_set(daos_handle_t oh, uint32_t index, daos_anchor_t *anchor);
int daos_obj_key2anchor(daos_handle_t oh, daos_handle_t th, daos_key_t *dkey, daos_key_t *akey,
			daos_anchor_t *anchor, daos_event_t *ev);

/* ---- object-ID table of a snapshot ---- */

int daos_oit_open(daos_handle_t coh, daos_epoch_t epoch, daos_handle_t *oh, daos_event_t *ev);
int daos_oit_close(daos_handle_t oh, daos_event_t *ev);
int daos_oit_list(daos_handle_t oh, daos_obj_id_t *oids, uint32_t *oids_nr,
		  daos_anchor_t *anchor, daos_event_t *ev);

#define DAOS_OIT_MARKER_MAX_LEN (32)

int daos_oit_mark(daos_handle_t oh, daos_obj_id_t oid, d_iov_t *marker, daos_event_t *ev);
int daos_oit_list_unmarked(daos_handle_t oh, daos_obj_id_t *oids, uint32_t *oids_nr,
			   daos_anchor_t *anchor, daos_event_t *ev);

/** Filter for daos_oit_list_filter(): >0 keep, 0 skip, <0 stop with that error. */
typedef int(daos_oit_filter_cb)(daos_obj_id_t oid, d_iov_t *marker);

int daos_oit_list_filter(daos_handle_t oh, daos_obj_id_t *oids, uint32_t *oids_nr,
			 daos_anchor_t *anchor, daos_oit_filter_cb filter, daos_event_t *ev);

#if defined(__cplusplus)
}
#endif

#endif /* DAOS_RS_DAOS_OBJ_H */
