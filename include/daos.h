/*
 * daos.h -- the DAOS client API: includes every public libdaos header and declares
 * library set-up (daos_init, daos_fini, daos_reinit).
 * Part of the daos-rs C interface; matches DAOS API 2.8.
 */
#ifndef DAOS_RS_DAOS_H
#define DAOS_RS_DAOS_H

#include <daos_version.h>
#include <daos_types.h>
#include <daos_errno.h>
#include <daos_event.h>
#include <daos_obj_class.h>
#include <daos_prop.h>
#include <daos_obj.h>
#include <daos_array.h>
#include <daos_kv.h>
#include <daos_security.h>
#include <daos_cont.h>
#include <daos_pool.h>
#include <daos_mgmt.h>
#include <daos_api.h>

#if defined(__cplusplus)
extern "C" {
#endif

/** Initialise the library; reference counted, so matching daos_fini calls are needed. */
int daos_init(void);
/** Drop one daos_init reference; -DER_UNINIT without a matching daos_init. */
int daos_fini(void);
/** Re-initialise in a child process after fork(). */
int daos_reinit(void);

#if defined(__cplusplus)
}
#endif

#endif /* DAOS_RS_DAOS_H */
