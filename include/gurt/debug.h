/*
 * gurt/debug.h -- logging macros (D_ERROR, D_WARN, D_INFO, D_DEBUG, ...) and
 * debug-mask bits (DB_*).  Part of the daos-rs C interface; matches the macro
 * names of DAOS API 2.8.  The expansions are deliberately simple: errors and
 * warnings go to stderr, informational and debug messages are compiled but not
 * printed (their arguments are still type-checked).
 */
#ifndef DAOS_RS_GURT_DEBUG_H
#define DAOS_RS_GURT_DEBUG_H

#include <stdio.h>
#include <stdint.h>
#include <daos_errno.h>

/** Debug-stream bits, usable as the mask argument of D_DEBUG. */
#define DB_ANY     (1ULL << 0)
#define DB_ALL     (1ULL << 0)
#define DB_TRACE   (1ULL << 1)
#define DB_MEM     (1ULL << 2)
#define DB_NET     (1ULL << 3)
#define DB_IO      (1ULL << 4)
#define DB_TEST    (1ULL << 5)
#define DB_MD      (1ULL << 6)
#define DB_PL      (1ULL << 7)
#define DB_MGMT    (1ULL << 8)
#define DB_EPC     (1ULL << 9)
#define DB_DF      (1ULL << 10)
#define DB_REBUILD (1ULL << 11)
#define DB_SEC     (1ULL << 12)
#define DB_CSUM    (1ULL << 13)
#define DB_DSMS    (1ULL << 14)
#define DB_LOG     (1ULL << 15)
#define DB_SCRUB   (1ULL << 16)

/** Log priorities, usable with D_DEBUG as well. */
#define DLOG_DBG   (1ULL << 20)
#define DLOG_INFO  (1ULL << 21)
#define DLOG_NOTE  (1ULL << 22)
#define DLOG_WARN  (1ULL << 23)
#define DLOG_ERR   (1ULL << 24)
#define DLOG_CRIT  (1ULL << 25)
#define DLOG_ALERT (1ULL << 26)
#define DLOG_EMERG (1ULL << 27)
#define DLOG_EMIT  (1ULL << 28)

/** Print a message with source location and a severity tag to stderr. */
#define D_LOG_STDERR_(tag, fmt, ...) \
	fprintf(stderr, "%s:%d %s() " tag ": " fmt, __FILE__, __LINE__, __func__, ##__VA_ARGS__)

/** Type-check the format and arguments but print nothing. */
#define D_LOG_QUIET_(fmt, ...) \
	do { if (0) fprintf(stderr, fmt, ##__VA_ARGS__); } while (0)

#define D_DEBUG(mask, fmt, ...) \
	do { (void)(mask); D_LOG_QUIET_(fmt, ##__VA_ARGS__); } while (0)
#define D_CDEBUG(cond, mask_true, mask_false, fmt, ...) \
	do { (void)(cond); (void)(mask_true); (void)(mask_false); \
	     D_LOG_QUIET_(fmt, ##__VA_ARGS__); } while (0)
#define D_TRACE_DEBUG(mask, ptr, fmt, ...) \
	do { (void)(mask); (void)(ptr); D_LOG_QUIET_(fmt, ##__VA_ARGS__); } while (0)
#define D_INFO(fmt, ...)  D_LOG_QUIET_(fmt, ##__VA_ARGS__)
#define D_NOTE(fmt, ...)  D_LOG_QUIET_(fmt, ##__VA_ARGS__)
#define D_WARN(fmt, ...)  D_LOG_STDERR_("WARN", fmt, ##__VA_ARGS__)
#define D_ERROR(fmt, ...) D_LOG_STDERR_("ERR", fmt, ##__VA_ARGS__)
#define D_CRIT(fmt, ...)  D_LOG_STDERR_("CRIT", fmt, ##__VA_ARGS__)
#define D_ALERT(fmt, ...) D_LOG_STDERR_("ALERT", fmt, ##__VA_ARGS__)
#define D_FATAL(fmt, ...) D_LOG_STDERR_("FATAL", fmt, ##__VA_ARGS__)
#define D_EMIT(fmt, ...)  D_LOG_STDERR_("EMIT", fmt, ##__VA_ARGS__)

/** Print to stdout, as DAOS's D_PRINT does. */
#define D_PRINT(fmt, ...) fprintf(stdout, fmt, ##__VA_ARGS__)

/** Variants that append the DF_RC rendering of a return code. */
#define DL_ERROR(rc, fmt, ...) \
	D_ERROR(fmt ": " DF_RC "\n", ##__VA_ARGS__, DP_RC(rc))
#define DL_WARN(rc, fmt, ...) \
	D_WARN(fmt ": " DF_RC "\n", ##__VA_ARGS__, DP_RC(rc))
#define DL_INFO(rc, fmt, ...) \
	D_INFO(fmt ": " DF_RC "\n", ##__VA_ARGS__, DP_RC(rc))
#define DL_CDEBUG(cond, mask_true, mask_false, rc, fmt, ...) \
	D_CDEBUG(cond, mask_true, mask_false, fmt ": " DF_RC "\n", ##__VA_ARGS__, DP_RC(rc))

#endif /* DAOS_RS_GURT_DEBUG_H */
