/*
 * cart/types.h -- the few CaRT transport types that public DAOS headers and
 * clients name.  daos-rs has no CaRT; this header exists so that programs which
 * include it (daos_types.h does, as in DAOS) compile.
 * Part of the daos-rs C interface; matches DAOS API 2.8.
 */
#ifndef DAOS_RS_CART_TYPES_H
#define DAOS_RS_CART_TYPES_H

#include <stdint.h>
#include <gurt/types.h>

#if defined(__cplusplus)
extern "C" {
#endif

/** Name of a process group (a DAOS system name). */
typedef char    *crt_group_id_t;
/** Opaque communication context. */
typedef void    *crt_context_t;
/** RPC opcode. */
typedef uint32_t crt_opcode_t;
/** Status of an RPC. */
typedef int      crt_status_t;

#if defined(__cplusplus)
}
#endif

#endif /* DAOS_RS_CART_TYPES_H */
