/*
 * daos_version.h -- version of the DAOS client API these headers provide, and
 * of the DAOS release they correspond to.
 * Part of the daos-rs C interface; matches DAOS API 2.8.
 */
#ifndef DAOS_RS_DAOS_VERSION_H
#define DAOS_RS_DAOS_VERSION_H

#if defined(__cplusplus)
extern "C" {
#endif

/** Client API version (what clients test with CHECK_DAOS_API_VERSION). */
#define DAOS_API_VERSION_MAJOR 2
#define DAOS_API_VERSION_MINOR 8
#define DAOS_API_VERSION_FIX   0

/** Version of the DAOS release whose API this is. */
#define DAOS_VERSION_MAJOR 2
#define DAOS_VERSION_MINOR 8
#define DAOS_VERSION_FIX   0

/** Fill in the API version of the library actually loaded. 0 or -DER_INVAL. */
int daos_version_get(int *major, int *minor, int *fix);

#if defined(__cplusplus)
}
#endif

#endif /* DAOS_RS_DAOS_VERSION_H */
