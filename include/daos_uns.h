/*
 * daos_uns.h -- libduns, the unified namespace: links between file-system paths and
 * DAOS containers (an extended attribute "user.daos" on the path), and parsing of
 * direct paths such as daos://pool/cont/rel or /pool/cont/rel.
 * duns_* functions return 0 or a positive errno.
 * Part of the daos-rs C interface; matches DAOS API 2.8 (struct duns_attr_t is 480
 * bytes on x86_64, with DAOS's field offsets).
 */
#ifndef DAOS_RS_DAOS_UNS_H
#define DAOS_RS_DAOS_UNS_H

#include <stdbool.h>
#include <uuid/uuid.h>
#include <daos_types.h>
#include <daos_prop.h>
#include <daos_obj_class.h>
#include <daos_cont.h>

#if defined(__cplusplus)
extern "C" {
#endif

/** duns_attr_t::da_flags. */
enum {
	/** path is a direct /pool/cont/rel path (UUIDs) without daos:// */
	DUNS_NO_PREFIX         = (1 << 0),
	/** look only at the last component of the path */
	DUNS_NO_REVERSE_LOOKUP = (1 << 1),
	/** do not read extended attributes: treat the path as direct */
	DUNS_NO_CHECK_PATH     = (1 << 2),
};

/** Where a path leads in DAOS (filled by duns_resolve_path, read by duns_create_path). */
struct duns_attr_t {
	daos_cont_layout_t da_type;       /**< container layout (DAOS_PROP_CO_LAYOUT_*) */
	daos_oclass_id_t   da_oclass_id;  /**< create: default object class */
	daos_size_t        da_chunk_size; /**< create: default chunk size (POSIX) */
	daos_prop_t       *da_props;      /**< create: extra container properties */
	uint32_t           da_flags;      /**< DUNS_* */
	char               da_pool[DAOS_PROP_LABEL_MAX_LEN + 1]; /**< pool label or UUID string */
	char               da_cont[DAOS_PROP_LABEL_MAX_LEN + 1]; /**< container label or UUID */
	char              *da_sys;        /**< system name, or NULL */
	char              *da_rel_path;   /**< remainder of the path (malloc'ed) or NULL */
	bool               da_on_lustre;
	bool               da_no_prefix;  /**< deprecated */
	uuid_t             da_puuid;      /**< deprecated: pool UUID */
	uuid_t             da_cuuid;      /**< deprecated: container UUID */
	daos_oclass_id_t   da_dir_oclass_id;
	daos_oclass_id_t   da_file_oclass_id;
	char               da_hints[DAOS_CONT_HINT_MAX_LEN];
};

/** Extended attribute holding the link, its maximum length, and its format. */
#define DUNS_XATTR_NAME       "user.daos"
#define DUNS_MAX_XATTR_LEN    170
#define DUNS_XATTR_FMT        "DAOS.%s://%36s/%36s"
#define DUNS_LUSTRE_XATTR_FMT "%36s/%36s"

/** Create a container of type attrp->da_type in \a poh and link it at \a path. */
int duns_create_path(daos_handle_t poh, const char *path, struct duns_attr_t *attrp);
/**
 * Resolve \a path to a pool and container.  ENODATA if no link is found, EOPNOTSUPP
 * if the file system has no extended attributes.  Release with duns_destroy_attr.
 */
int duns_resolve_path(const char *path, struct duns_attr_t *attr);
/** Destroy the container linked at \a path and remove the link. */
int duns_destroy_path(daos_handle_t poh, const char *path);
/** Parse a link value (DUNS_XATTR_FMT) of \a len bytes. */
int duns_parse_attr(char *str, daos_size_t len, struct duns_attr_t *attr);
/** Set attrp->da_sys to a copy of \a sys. */
int duns_set_sys_name(struct duns_attr_t *attrp, const char *sys);
/** Free what duns_resolve_path allocated in \a attrp. */
void duns_destroy_attr(struct duns_attr_t *attrp);
/** Link existing container \a cont of \a poh at \a path. */
int duns_link_cont(daos_handle_t poh, const char *cont, const char *path);

#if defined(__cplusplus)
}
#endif

#endif /* DAOS_RS_DAOS_UNS_H */
