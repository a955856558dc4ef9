/*
 * daos_kv.h -- flat key-value objects with string keys: open/close/destroy,
 * put/get/remove/list, and the DAOS_COND_KEY_* condition aliases.
 * Part of the daos-rs C interface; matches DAOS API 2.8.
 */
#ifndef DAOS_RS_DAOS_KV_H
#define DAOS_RS_DAOS_KV_H

#include <daos_types.h>
#include <daos_obj.h>

#if defined(__cplusplus)
extern "C" {
#endif

/** Conditional flags for the KV calls. */
#define DAOS_COND_KEY_INSERT DAOS_COND_DKEY_INSERT /**< put: fail with -DER_EXIST if present */
#define DAOS_COND_KEY_UPDATE DAOS_COND_DKEY_UPDATE /**< put: fail with -DER_NONEXIST if absent */
#define DAOS_COND_KEY_GET    DAOS_COND_DKEY_FETCH  /**< get: fail with -DER_NONEXIST if absent */
#define DAOS_COND_KEY_REMOVE DAOS_COND_PUNCH       /**< remove: fail with -DER_NONEXIST if absent */

int daos_kv_open(daos_handle_t coh, daos_obj_id_t oid, unsigned int mode, daos_handle_t *oh,
		 daos_event_t *ev);
int daos_kv_close(daos_handle_t oh, daos_event_t *ev);
int daos_kv_destroy(daos_handle_t oh, daos_handle_t th, daos_event_t *ev);
/** Store \a size bytes (0 allowed) under \a key. */
int daos_kv_put(daos_handle_t oh, daos_handle_t th, uint64_t flags, const char *key,
		daos_size_t size, const void *buf, daos_event_t *ev);
/**
 * Read the value of \a key; \a buf NULL only returns the size.  A buffer smaller
 * than the value gives -DER_REC2BIG with the needed size in \a *size.
 */
int daos_kv_get(daos_handle_t oh, daos_handle_t th, uint64_t flags, const char *key,
		daos_size_t *size, void *buf, daos_event_t *ev);
int daos_kv_remove(daos_handle_t oh, daos_handle_t th, uint64_t flags, const char *key,
		   daos_event_t *ev);
/** Enumerate keys, packed back to back (not NUL-terminated) in \a sgl. */
int daos_kv_list(daos_handle_t oh, daos_handle_t th, uint32_t *nr, daos_key_desc_t *kds,
		 d_sg_list_t *sgl, daos_anchor_t *anchor, daos_event_t *ev);

#if defined(__cplusplus)
}
#endif

#endif /* DAOS_RS_DAOS_KV_H */
