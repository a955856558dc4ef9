/*
 * daos_mgmt.h -- client-side management calls: pool listing, system information,
 * debug parameters.
 * Part of the daos-rs C interface; matches DAOS API 2.8.
 */
#ifndef DAOS_RS_DAOS_MGMT_H
#define DAOS_RS_DAOS_MGMT_H

#include <daos_types.h>

#if defined(__cplusplus)
extern "C" {
#endif

/** One pool, as returned by daos_mgmt_list_pools(). */
typedef struct {
	uuid_t         mgpi_uuid;
	d_string_t     mgpi_label;
	d_rank_list_t *mgpi_svc;   /**< service replica ranks */
	d_rank_list_t *mgpi_ranks; /**< engine ranks */
} daos_mgmt_pool_info_t;

/** List the pools of system \a group; \a *npools in: capacity, out: count. */
int daos_mgmt_list_pools(const char *group, daos_size_t *npools, daos_mgmt_pool_info_t *pools,
			 daos_event_t *ev);
/** System information for \a sys (NULL: default); release with daos_mgmt_put_sys_info. */
int daos_mgmt_get_sys_info(const char *sys, struct daos_sys_info **sys_info);
void daos_mgmt_put_sys_info(struct daos_sys_info *sys_info);
/** Set an engine debug parameter (rank -1: all engines). */
int daos_debug_set_params(const char *grp, d_rank_t rank, unsigned int key_id, uint64_t value,
			  uint64_t value_extra, daos_event_t *ev);
/** Write a marker into the engine logs. */
int daos_debug_add_mark(const char *mark);

#if defined(__cplusplus)
}
#endif

#endif /* DAOS_RS_DAOS_MGMT_H */
