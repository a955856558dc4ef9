/*
 * daos_cont.h -- containers: open flags (DAOS_COO_*), create/open/close/destroy,
 * query, properties, ACLs, attributes, OID allocation, snapshots, handle sharing.
 * daos_cont_create/open/destroy are macros for the versioned symbols ...2, as in DAOS.
 * Part of the daos-rs C interface; matches DAOS API 2.8.
 */
#ifndef DAOS_RS_DAOS_CONT_H
#define DAOS_RS_DAOS_CONT_H

#define daos_cont_open    daos_cont_open2
#define daos_cont_destroy daos_cont_destroy2
#define daos_cont_create  daos_cont_create2

#include <daos_types.h>
#include <daos_prop.h>
#include <daos_security.h>

#if defined(__cplusplus)
extern "C" {
#endif

/** Container open flags. */
#define DAOS_COO_RO         (1U << 0) /**< read only */
#define DAOS_COO_RW         (1U << 1) /**< read and write */
#define DAOS_COO_EX         (1U << 2) /**< exclusive read and write */
#define DAOS_COO_FORCE      (1U << 3) /**< skip the redundancy health check */
#define DAOS_COO_RO_MDSTATS (1U << 4) /**< do not update open/modify times */
#define DAOS_COO_EVICT      (1U << 5) /**< evict the caller's other handles */
#define DAOS_COO_EVICT_ALL  (1U << 6) /**< evict all other handles */
#define DAOS_COO_NEW_LAYOUT (1U << 7)
#define DAOS_COO_NBITS      (8)
#define DAOS_COO_MASK       ((1U << DAOS_COO_NBITS) - 1)
#define DAOS_COO_IO_BASE_MASK (DAOS_COO_RO | DAOS_COO_RW | DAOS_COO_EX)

/** Capacity of object-class hint strings (dfs_attr_t, struct duns_attr_t). */
#define DAOS_CONT_HINT_MAX_LEN 128

/** Parse "1:2:5" style rank lists (also declared in daos_api.h); free with d_rank_list_free(). */
d_rank_list_t *daos_rank_list_parse(const char *str, const char *sep);

/** Serialise an open container handle for another process (two-pass size protocol). */
int daos_cont_local2global(daos_handle_t coh, d_iov_t *glob);
/** Open a handle serialised by daos_cont_local2global. */
int daos_cont_global2local(daos_handle_t poh, d_iov_t glob, daos_handle_t *coh);

/**
 * Create a container.  Its UUID is generated and returned in \a *uuid if non-NULL
 * (the task API, daos_cont_create_t, can pass a chosen one).  A root OID is put into
 * DAOS_PROP_CO_ROOTS when the caller gives none.  (Called as daos_cont_create.)
 */
int daos_cont_create2(daos_handle_t poh, uuid_t *uuid, daos_prop_t *cont_prop, daos_event_t *ev);
int daos_cont_create_with_label(daos_handle_t poh, const char *label, daos_prop_t *cont_prop,
				uuid_t *uuid, daos_event_t *ev);
/** Open the container named by label or UUID string \a cont. (Called as daos_cont_open.) */
int daos_cont_open2(daos_handle_t poh, const char *cont, unsigned int flags, daos_handle_t *coh,
		    daos_cont_info_t *info, daos_event_t *ev);
int daos_cont_close(daos_handle_t coh, daos_event_t *ev);
/** Destroy a container; \a force destroys it even while open. (Called as daos_cont_destroy.) */
int daos_cont_destroy2(daos_handle_t poh, const char *cont, int force, daos_event_t *ev);
/**
 * Query information and properties.  A \a cont_prop with dpp_nr == 0 is filled with
 * all properties; otherwise the listed types are filled.  Free with daos_prop_free.
 */
int daos_cont_query(daos_handle_t coh, daos_cont_info_t *info, daos_prop_t *cont_prop,
		    daos_event_t *ev);
int daos_cont_get_acl(daos_handle_t coh, daos_prop_t **acl_prop, daos_event_t *ev);
int daos_cont_set_prop(daos_handle_t coh, daos_prop_t *prop, daos_event_t *ev);
int daos_cont_status_clear(daos_handle_t coh, daos_event_t *ev);
int daos_cont_overwrite_acl(daos_handle_t coh, struct daos_acl *acl, daos_event_t *ev);
int daos_cont_update_acl(daos_handle_t coh, struct daos_acl *acl, daos_event_t *ev);
int daos_cont_delete_acl(daos_handle_t coh, enum daos_acl_principal_type type, d_string_t name,
			 daos_event_t *ev);
int daos_cont_set_owner(daos_handle_t coh, d_string_t user, d_string_t group, daos_event_t *ev);
int daos_cont_set_owner_no_check(daos_handle_t coh, d_string_t user, uid_t uid, d_string_t group,
				 gid_t gid, daos_event_t *ev);
int daos_cont_list_attr(daos_handle_t coh, char *buffer, size_t *size, daos_event_t *ev);
int daos_cont_get_attr(daos_handle_t coh, int n, char const *const names[],
		       void *const buffers[], size_t sizes[], daos_event_t *ev);
int daos_cont_set_attr(daos_handle_t coh, int n, char const *const names[],
		       void const *const values[], size_t const sizes[], daos_event_t *ev);
int daos_cont_del_attr(daos_handle_t coh, int n, char const *const names[], daos_event_t *ev);
/** Reserve \a num_oids unique 64-bit values starting at \a *oid. */
int daos_cont_alloc_oids(daos_handle_t coh, daos_size_t num_oids, uint64_t *oid,
			 daos_event_t *ev);
int daos_cont_aggregate(daos_handle_t coh, daos_epoch_t epoch, daos_event_t *ev);
int daos_cont_rollback(daos_handle_t coh, daos_epoch_t epoch, daos_event_t *ev);
int daos_cont_subscribe(daos_handle_t coh, daos_epoch_t *epoch, daos_event_t *ev);

#define DAOS_SNAPSHOT_MAX_LEN 128

int daos_cont_create_snap(daos_handle_t coh, daos_epoch_t *epoch, char *name, daos_event_t *ev);

enum daos_snapshot_opts {
	DAOS_SNAP_OPT_CR  = (1 << 0), /**< create a snapshot */
	DAOS_SNAP_OPT_OIT = (1 << 1), /**< build its object-ID table */
};

int daos_cont_create_snap_opt(daos_handle_t coh, daos_epoch_t *epoch, char *name,
			      enum daos_snapshot_opts opts, daos_event_t *ev);
int daos_cont_list_snap(daos_handle_t coh, int *nr, daos_epoch_t *epochs, char **names,
			daos_anchor_t *anchor, daos_event_t *ev);
int daos_cont_destroy_snap(daos_handle_t coh, daos_epoch_range_t epr, daos_event_t *ev);
int daos_cont_snap_oit_oid_get(daos_handle_t coh, daos_epoch_t epoch, daos_obj_id_t *oid,
			       daos_event_t *ev);
/** A user's permissions (daos_acl_perm bits) from a container's ACL/owner properties. */
int daos_cont_get_perms(daos_prop_t *cont_prop, uid_t uid, gid_t *gids, size_t nr_gids,
			uint64_t *perms);

#if defined(__cplusplus)
}
#endif

#endif /* DAOS_RS_DAOS_CONT_H */
