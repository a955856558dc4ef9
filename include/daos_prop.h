/*
 * daos_prop.h -- pool and container properties: property ids (DAOS_PROP_PO_*,
 * DAOS_PROP_CO_*), their value constants, daos_prop_t and the property helpers.
 * Part of the daos-rs C interface; matches DAOS API 2.8 (ids, values, layouts).
 */
#ifndef DAOS_RS_DAOS_PROP_H
#define DAOS_RS_DAOS_PROP_H

#include <ctype.h>
#include <daos_types.h>

#if defined(__cplusplus)
extern "C" {
#endif

/** Pool property ids; valid ids lie strictly between MIN and MAX. */
enum daos_pool_props {
	DAOS_PROP_PO_MIN = 0,
	DAOS_PROP_PO_LABEL,             /* 1: string label */
	DAOS_PROP_PO_ACL,               /* 2: struct daos_acl * */
	DAOS_PROP_PO_SPACE_RB,          /* 3: % of space reserved for rebuild */
	DAOS_PROP_PO_SELF_HEAL,         /* 4: DAOS_SELF_HEAL_* bits */
	DAOS_PROP_PO_RECLAIM,           /* 5: DAOS_RECLAIM_* */
	DAOS_PROP_PO_OWNER,             /* 6: "user@[domain]" */
	DAOS_PROP_PO_OWNER_GROUP,       /* 7: "group@[domain]" */
	DAOS_PROP_PO_SVC_LIST,          /* 8: d_rank_list_t * */
	DAOS_PROP_PO_EC_CELL_SZ,        /* 9 */
	DAOS_PROP_PO_DATA_THRESH,       /* 10 */
	DAOS_PROP_PO_REDUN_FAC,         /* 11 */
	DAOS_PROP_PO_EC_PDA,            /* 12 */
	DAOS_PROP_PO_RP_PDA,            /* 13 */
	DAOS_PROP_PO_GLOBAL_VERSION,    /* 14 */
	DAOS_PROP_PO_UPGRADE_STATUS,    /* 15 */
	DAOS_PROP_PO_SCRUB_MODE,        /* 16: DAOS_SCRUB_MODE_* */
	DAOS_PROP_PO_SCRUB_FREQ,        /* 17: seconds */
	DAOS_PROP_PO_SCRUB_THRESH,      /* 18 */
	DAOS_PROP_PO_SVC_REDUN_FAC,     /* 19 */
	DAOS_PROP_PO_OBJ_VERSION,       /* 20 */
	DAOS_PROP_PO_PERF_DOMAIN,       /* 21 */
	DAOS_PROP_PO_CHECKPOINT_MODE,   /* 22 */
	DAOS_PROP_PO_CHECKPOINT_FREQ,   /* 23 */
	DAOS_PROP_PO_CHECKPOINT_THRESH, /* 24 */
	DAOS_PROP_PO_REINT_MODE,        /* 25 */
	DAOS_PROP_PO_SVC_OPS_ENABLED,   /* 26 */
	DAOS_PROP_PO_SVC_OPS_ENTRY_AGE, /* 27 */
	DAOS_PROP_PO_MAX,               /* 28 */
};

#define DAOS_PROP_PO_NUM (DAOS_PROP_PO_MAX - DAOS_PROP_PO_MIN - 1)

#define DAOS_PROP_PO_EC_CELL_SZ_MIN (1UL << 10)
#define DAOS_PROP_PO_EC_CELL_SZ_MAX (1UL << 30)

#define DAOS_PROP_PO_REDUN_FAC_MAX     4
#define DAOS_PROP_PO_REDUN_FAC_DEFAULT 0

static inline bool
daos_rf_is_valid(unsigned long long rf)
{
	return rf <= DAOS_PROP_PO_REDUN_FAC_MAX;
}

#define DAOS_PROP_PDA_MAX           ((uint32_t)-1)
#define DAOS_PROP_PO_RP_PDA_DEFAULT DAOS_PROP_PDA_MAX
#define DAOS_PROP_PO_EC_PDA_DEFAULT ((uint32_t)1)

enum {
	DAOS_UPGRADE_STATUS_NOT_STARTED = 0,
	DAOS_UPGRADE_STATUS_IN_PROGRESS = 1,
	DAOS_UPGRADE_STATUS_COMPLETED   = 2,
	DAOS_UPGRADE_STATUS_FAILED      = 3,
};

#define DAOS_PROP_PO_SVC_REDUN_FAC_MAX     4
#define DAOS_PROP_PO_SVC_REDUN_FAC_DEFAULT 2

static inline bool
daos_svc_rf_is_valid(uint64_t svc_rf)
{
	return svc_rf <= DAOS_PROP_PO_SVC_REDUN_FAC_MAX;
}

/** Performance-domain levels. */
enum {
	DAOS_PROP_PERF_DOMAIN_ROOT  = 255,
	DAOS_PROP_PERF_DOMAIN_GROUP = 3,
};

#define DAOS_PROP_PO_PERF_DOMAIN_DEFAULT DAOS_PROP_PERF_DOMAIN_ROOT
#define DAOS_PROP_CO_PERF_DOMAIN_DEFAULT DAOS_PROP_PERF_DOMAIN_ROOT

/** Space reclaim strategies. */
enum {
	DAOS_RECLAIM_DISABLED = 0,
	DAOS_RECLAIM_LAZY,
	DAOS_RECLAIM_SNAPSHOT,
	DAOS_RECLAIM_BATCH,
	DAOS_RECLAIM_TIME,
};

/** Reintegration modes. */
enum {
	DAOS_REINT_MODE_DATA_SYNC    = 0,
	DAOS_REINT_MODE_NO_DATA_SYNC = 1,
};

#define DAOS_PROP_PO_REINT_MODE_DEFAULT DAOS_REINT_MODE_DATA_SYNC

/** Checksum scrubbing schedules. */
enum {
	DAOS_SCRUB_MODE_OFF     = 0,
	DAOS_SCRUB_MODE_LAZY    = 1,
	DAOS_SCRUB_MODE_TIMED   = 2,
	DAOS_SCRUB_MODE_INVALID = 3,
};

#define DAOS_PROP_PO_SCRUB_MODE_DEFAULT   DAOS_SCRUB_MODE_OFF
#define DAOS_PROP_PO_SCRUB_FREQ_DEFAULT   604800
#define DAOS_PROP_PO_SCRUB_THRESH_DEFAULT 0

/** Checkpoint strategies (MD-on-SSD pools). */
enum {
	DAOS_CHECKPOINT_DISABLED = 0,
	DAOS_CHECKPOINT_TIMED,
	DAOS_CHECKPOINT_LAZY,
};

#define DAOS_PROP_PO_CHECKPOINT_MODE_DEFAULT   DAOS_CHECKPOINT_TIMED
#define DAOS_PROP_PO_CHECKPOINT_FREQ_DEFAULT   5
#define DAOS_PROP_PO_CHECKPOINT_FREQ_MIN       1
#define DAOS_PROP_PO_CHECKPOINT_FREQ_MAX       (1 << 20)
#define DAOS_PROP_PO_CHECKPOINT_THRESH_DEFAULT 50
#define DAOS_PROP_PO_CHECKPOINT_THRESH_MAX     75
#define DAOS_PROP_PO_CHECKPOINT_THRESH_MIN     10

/** Self-healing bits. */
#define DAOS_SELF_HEAL_AUTO_EXCLUDE (1U << 0)
#define DAOS_SELF_HEAL_AUTO_REBUILD (1U << 1)

/** Container property ids; valid ids lie strictly between MIN and MAX. */
enum daos_cont_props {
	DAOS_PROP_CO_MIN = 0x1000,
	DAOS_PROP_CO_LABEL,              /* 4097: string label */
	DAOS_PROP_CO_LAYOUT_TYPE,        /* 4098: DAOS_PROP_CO_LAYOUT_* */
	DAOS_PROP_CO_LAYOUT_VER,         /* 4099 */
	DAOS_PROP_CO_CSUM,               /* 4100: DAOS_PROP_CO_CSUM_* */
	DAOS_PROP_CO_CSUM_CHUNK_SIZE,    /* 4101 */
	DAOS_PROP_CO_CSUM_SERVER_VERIFY, /* 4102 */
	DAOS_PROP_CO_REDUN_FAC,          /* 4103: DAOS_PROP_CO_REDUN_RF* */
	DAOS_PROP_CO_REDUN_LVL,          /* 4104 */
	DAOS_PROP_CO_SNAPSHOT_MAX,       /* 4105 */
	DAOS_PROP_CO_ACL,                /* 4106: struct daos_acl * */
	DAOS_PROP_CO_COMPRESS,           /* 4107 */
	DAOS_PROP_CO_ENCRYPT,            /* 4108 */
	DAOS_PROP_CO_OWNER,              /* 4109 */
	DAOS_PROP_CO_OWNER_GROUP,        /* 4110 */
	DAOS_PROP_CO_DEDUP,              /* 4111 */
	DAOS_PROP_CO_DEDUP_THRESHOLD,    /* 4112 */
	DAOS_PROP_CO_ROOTS,              /* 4113: struct daos_prop_co_roots * */
	DAOS_PROP_CO_STATUS,             /* 4114: see DAOS_PROP_CO_STATUS_VAL */
	DAOS_PROP_CO_ALLOCED_OID,        /* 4115 */
	DAOS_PROP_CO_EC_CELL_SZ,         /* 4116 */
	DAOS_PROP_CO_EC_PDA,             /* 4117 */
	DAOS_PROP_CO_RP_PDA,             /* 4118 */
	DAOS_PROP_CO_GLOBAL_VERSION,     /* 4119 */
	DAOS_PROP_CO_SCRUBBER_DISABLED,  /* 4120 */
	DAOS_PROP_CO_OBJ_VERSION,        /* 4121 */
	DAOS_PROP_CO_PERF_DOMAIN,        /* 4122 */
	DAOS_PROP_CO_MAX,                /* 4123 */
};

/** Value of DAOS_PROP_CO_ROOTS: the container's first-class objects. 64 bytes. */
struct daos_prop_co_roots {
	daos_obj_id_t cr_oids[4];
};

#define DAOS_PROP_CO_NUM (DAOS_PROP_CO_MAX - DAOS_PROP_CO_MIN - 1)

typedef uint16_t daos_cont_layout_t;

/** Container layouts (DAOS_PROP_CO_LAYOUT_TYPE). */
enum {
	DAOS_PROP_CO_LAYOUT_UNKNOWN,
	DAOS_PROP_CO_LAYOUT_UNKOWN = DAOS_PROP_CO_LAYOUT_UNKNOWN,
	DAOS_PROP_CO_LAYOUT_POSIX,
	DAOS_PROP_CO_LAYOUT_HDF5,
	DAOS_PROP_CO_LAYOUT_PYTHON,
	DAOS_PROP_CO_LAYOUT_SPARK,
	DAOS_PROP_CO_LAYOUT_DATABASE,
	DAOS_PROP_CO_LAYOUT_ROOT,
	DAOS_PROP_CO_LAYOUT_SEISMIC,
	DAOS_PROP_CO_LAYOUT_METEO,
	DAOS_PROP_CO_LAYOUT_MAX
};

/** Checksum types. */
enum {
	DAOS_PROP_CO_CSUM_OFF,
	DAOS_PROP_CO_CSUM_CRC16,
	DAOS_PROP_CO_CSUM_CRC32,
	DAOS_PROP_CO_CSUM_CRC64,
	DAOS_PROP_CO_CSUM_SHA1,
	DAOS_PROP_CO_CSUM_SHA256,
	DAOS_PROP_CO_CSUM_SHA512,
	DAOS_PROP_CO_CSUM_ADLER32
};

enum {
	DAOS_PROP_CO_CSUM_SV_OFF,
	DAOS_PROP_CO_CSUM_SV_ON
};

enum {
	DAOS_PROP_CO_DEDUP_OFF,
	DAOS_PROP_CO_DEDUP_MEMCMP,
	DAOS_PROP_CO_DEDUP_HASH
};

enum {
	DAOS_PROP_CO_COMPRESS_OFF,
	DAOS_PROP_CO_COMPRESS_LZ4,
	DAOS_PROP_CO_COMPRESS_DEFLATE,
	DAOS_PROP_CO_COMPRESS_DEFLATE1,
	DAOS_PROP_CO_COMPRESS_DEFLATE2,
	DAOS_PROP_CO_COMPRESS_DEFLATE3,
	DAOS_PROP_CO_COMPRESS_DEFLATE4,
};

enum {
	DAOS_PROP_CO_ENCRYPT_OFF,
	DAOS_PROP_CO_ENCRYPT_AES_XTS128,
	DAOS_PROP_CO_ENCRYPT_AES_XTS256,
	DAOS_PROP_CO_ENCRYPT_AES_CBC128,
	DAOS_PROP_CO_ENCRYPT_AES_CBC192,
	DAOS_PROP_CO_ENCRYPT_AES_CBC256,
	DAOS_PROP_CO_ENCRYPT_AES_GCM128,
	DAOS_PROP_CO_ENCRYPT_AES_GCM256
};

/** Redundancy factors. */
enum {
	DAOS_PROP_CO_REDUN_RF0,
	DAOS_PROP_CO_REDUN_RF1,
	DAOS_PROP_CO_REDUN_RF2,
	DAOS_PROP_CO_REDUN_RF3,
	DAOS_PROP_CO_REDUN_RF4,
};

/** Fault-domain levels. */
enum {
	DAOS_PROP_CO_REDUN_MIN  = 1,
	DAOS_PROP_CO_REDUN_RANK = 1,
	DAOS_PROP_CO_REDUN_NODE = 2,
	DAOS_PROP_CO_REDUN_MAX  = 254,
};

#define DAOS_PROP_CO_REDUN_DEFAULT DAOS_PROP_CO_REDUN_NODE

/** Container health. */
enum {
	DAOS_PROP_CO_HEALTHY,
	DAOS_PROP_CO_UNCLEAN,
};

#define DAOS_PROP_CO_CLEAR (0x1)

struct daos_co_status {
	uint16_t dcs_status; /**< DAOS_PROP_CO_HEALTHY / DAOS_PROP_CO_UNCLEAN */
	uint16_t dcs_flags;  /**< DAOS_PROP_CO_CLEAR */
	uint32_t dcs_pm_ver; /**< pool map version of the status */
};

/** Pack a container status into a DAOS_PROP_CO_STATUS value. */
#define DAOS_PROP_CO_STATUS_VAL(status, flag, pm_ver)                                         \
	((((uint64_t)(flag)) << 48) | (((uint64_t)(status) & 0xFFFF) << 32) |                  \
	 ((uint64_t)(pm_ver)))

static inline uint64_t
daos_prop_co_status_2_val(struct daos_co_status *co_status)
{
	return DAOS_PROP_CO_STATUS_VAL(co_status->dcs_status, co_status->dcs_flags,
				       co_status->dcs_pm_ver);
}

static inline void
daos_prop_val_2_co_status(uint64_t val, struct daos_co_status *co_status)
{
	co_status->dcs_flags  = (uint16_t)(val >> 48);
	co_status->dcs_status = (uint16_t)((val >> 32) & 0xFFFF);
	co_status->dcs_pm_ver = (uint32_t)(val & 0xFFFFFFFF);
}

/** dpe_flags bit: the entry carries no value. */
enum {
	DAOS_PROP_ENTRY_NOT_SET = (1 << 0),
};

/** One property. 16 bytes, value at offset 8. */
struct daos_prop_entry {
	uint32_t dpe_type;   /**< DAOS_PROP_PO_* or DAOS_PROP_CO_* */
	uint16_t dpe_flags;  /**< DAOS_PROP_ENTRY_NOT_SET */
	uint16_t dpe_reserv;
	union {
		uint64_t   dpe_val;
		d_string_t dpe_str;
		void      *dpe_val_ptr;
	};
};

#define DAOS_PROP_ENTRIES_MAX_NR    (128)
#define DAOS_PROP_LABEL_MAX_LEN     (127)
#define DAOS_PROP_MAX_LABEL_BUF_LEN (DAOS_PROP_LABEL_MAX_LEN + 1)

#define DAOS_PROP_CO_LABEL_DEFAULT "container_label_not_set"
#define DAOS_PROP_PO_LABEL_DEFAULT "pool_label_not_set"

/**
 * True if \a label is a valid pool/container label: 1 to DAOS_PROP_LABEL_MAX_LEN
 * characters from [A-Za-z0-9._:-], and not shaped like a UUID.
 */
static inline bool
daos_label_is_valid(const char *label)
{
	int  len;
	bool maybe_uuid = false;

	if (label == NULL)
		return false;
	for (len = 0; len <= DAOS_PROP_LABEL_MAX_LEN && label[len] != '\0'; len++) {
		char c = label[len];

		if (c == '-')
			maybe_uuid = true;
		else if (!isalnum((unsigned char)c) && c != '.' && c != '_' && c != ':')
			return false;
	}
	if (len == 0 || len > DAOS_PROP_LABEL_MAX_LEN)
		return false;
	if (maybe_uuid && len == 36 && daos_is_valid_uuid_string(label))
		return false;
	return true;
}

#define DAOS_PROP_POLICYSTR_MAX_LEN (127)
#define DAOS_PROP_POLICYSTR_DEFAULT "type=io_size"

/** Performance-domain names follow the label rules. */
static inline bool
daos_perf_domain_is_valid(const char *perf_domain)
{
	return daos_label_is_valid(perf_domain);
}

/** A property list. 16 bytes. */
typedef struct {
	uint32_t                dpp_nr;     /**< number of entries */
	uint32_t                dpp_reserv;
	struct daos_prop_entry *dpp_entries;
} daos_prop_t;

/** Allocate a list of \a entries_nr entries (0 allowed). NULL on failure. */
daos_prop_t *daos_prop_alloc(uint32_t entries_nr);
/** Free the entries (and their string/pointer values) but not \a prop itself. */
void daos_prop_fini(daos_prop_t *prop);
/** Free the entries and \a prop. */
void daos_prop_free(daos_prop_t *prop);
/** Parse "name:value;name:value;" (creation-time properties) into a new list. */
int daos_prop_from_str(const char *str, daos_size_t len, daos_prop_t **prop);
/** Merge \a new_prop over \a old_prop into a new list. */
int daos_prop_merge2(daos_prop_t *old_prop, daos_prop_t *new_prop, daos_prop_t **out_prop);
daos_prop_t *daos_prop_merge(daos_prop_t *old_prop, daos_prop_t *new_prop);
/** The entry of type \a type, or NULL. */
struct daos_prop_entry *daos_prop_entry_get(daos_prop_t *prop, uint32_t type);
int daos_prop_set_str(daos_prop_t *prop, uint32_t type, const char *str, daos_size_t len);
int daos_prop_entry_set_str(struct daos_prop_entry *entry, const char *str, daos_size_t len);
int daos_prop_set_ptr(daos_prop_t *prop, uint32_t type, const void *ptr, daos_size_t size);
int daos_prop_entry_set_ptr(struct daos_prop_entry *entry, const void *ptr, daos_size_t size);
int daos_prop_entry_dup_ptr(struct daos_prop_entry *entry_dst, struct daos_prop_entry *entry_src,
			    size_t len);
int daos_prop_entry_cmp_acl(struct daos_prop_entry *entry1, struct daos_prop_entry *entry2);
int daos_prop_entry_dup_co_roots(struct daos_prop_entry *dst, struct daos_prop_entry *src);
bool daos_prop_has_str(struct daos_prop_entry *entry);
bool daos_prop_has_ptr(struct daos_prop_entry *entry);

static inline bool
daos_prop_is_set(struct daos_prop_entry *entry)
{
	return (entry->dpe_flags & DAOS_PROP_ENTRY_NOT_SET) == 0;
}

/** Case-insensitive equality of two NUL-terminated strings. */
static inline bool
daos_prop_str_ieq_(const char *a, const char *b)
{
	for (; *a != '\0' && *b != '\0'; a++, b++)
		if (tolower((unsigned char)*a) != tolower((unsigned char)*b))
			return false;
	return *a == *b;
}

/** Container layout from its name ("POSIX", "HDF5", "PYTHON", ...); UNKNOWN otherwise. */
static inline void
daos_parse_ctype(const char *string, daos_cont_layout_t *type)
{
	static const char *const names[] = {"unknown", "POSIX",  "HDF5",    "PYTHON", "SPARK",
					    "DATABASE", "ROOT", "SEISMIC", "METEO"};
	unsigned int i;

	*type = DAOS_PROP_CO_LAYOUT_UNKNOWN;
	for (i = 1; i < sizeof(names) / sizeof(names[0]); i++)
		if (daos_prop_str_ieq_(string, names[i]))
			*type = (daos_cont_layout_t)i;
}

/** Name of a container layout; \a string must hold at least 10 bytes. */
static inline void
daos_unparse_ctype(daos_cont_layout_t ctype, char *string)
{
	static const char *const names[] = {"unknown", "POSIX",  "HDF5",    "PYTHON", "SPARK",
					    "DATABASE", "ROOT", "SEISMIC", "METEO"};
	const char *name = ctype < sizeof(names) / sizeof(names[0]) ? names[ctype] : "unknown";

	strcpy(string, name);
}

#if defined(__cplusplus)
}
#endif

#endif /* DAOS_RS_DAOS_PROP_H */
