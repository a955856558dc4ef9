/*
 * daos_errno.h -- DAOS error numbers (DER_*), their names and descriptions.
 * All libdaos/libgurt calls return 0 or a negated DER value (-DER_NONEXIST == -1005).
 * Part of the daos-rs C interface; matches DAOS API 2.8 (names and numbering).
 *
 * The two X-macros below list every code in numbering order as
 * ACTION(name, description).  Unlike DAOS, whose rows carry the description as bare
 * tokens, the description here is a string literal, so it can hold any character.
 * The rows are generated from the Rust table crates/daos-types/src/der.rs (Der::ALL);
 * libdaos/capi/tests/errno_header.rs checks that they stay equal.
 */
#ifndef DAOS_RS_DAOS_ERRNO_H
#define DAOS_RS_DAOS_ERRNO_H

#if defined(__cplusplus)
extern "C" {
#endif

/* clang-format off */

/** GURT codes, numbered from DER_ERR_GURT_BASE + 1. */
#define D_FOREACH_GURT_ERR(ACTION) \
	/* 1001 */ ACTION(DER_NO_PERM, "No permission") \
	/* 1002 */ ACTION(DER_NO_HDL, "Invalid handle") \
	/* 1003 */ ACTION(DER_INVAL, "Invalid parameters") \
	/* 1004 */ ACTION(DER_EXIST, "Entity already exists") \
	/* 1005 */ ACTION(DER_NONEXIST, "The specified entity does not exist") \
	/* 1006 */ ACTION(DER_UNREACH, "Unreachable node") \
	/* 1007 */ ACTION(DER_NOSPACE, "No space on storage target") \
	/* 1008 */ ACTION(DER_ALREADY, "Operation already performed") \
	/* 1009 */ ACTION(DER_NOMEM, "Out of memory") \
	/* 1010 */ ACTION(DER_NOSYS, "Function not implemented") \
	/* 1011 */ ACTION(DER_TIMEDOUT, "Time out") \
	/* 1012 */ ACTION(DER_BUSY, "Device or resource busy") \
	/* 1013 */ ACTION(DER_AGAIN, "Try again") \
	/* 1014 */ ACTION(DER_PROTO, "Incompatible protocol") \
	/* 1015 */ ACTION(DER_UNINIT, "Not initialized") \
	/* 1016 */ ACTION(DER_TRUNC, "Buffer too short") \
	/* 1017 */ ACTION(DER_OVERFLOW, "Data too long for defined data type or buffer size") \
	/* 1018 */ ACTION(DER_CANCELED, "Operation canceled") \
	/* 1019 */ ACTION(DER_OOG, "Out-Of-Group or member list") \
	/* 1020 */ ACTION(DER_HG, "Transport layer mercury error") \
	/* 1021 */ ACTION(DER_UNREG, "RPC or protocol version not registered") \
	/* 1022 */ ACTION(DER_ADDRSTR_GEN, "Failed to generate an address string") \
	/* 1023 */ ACTION(DER_PMIX, "PMIx layer error") \
	/* 1024 */ ACTION(DER_IVCB_FORWARD, "IV callback - cannot handle locally") \
	/* 1025 */ ACTION(DER_MISC, "Miscellaneous error") \
	/* 1026 */ ACTION(DER_BADPATH, "Bad path name") \
	/* 1027 */ ACTION(DER_NOTDIR, "Not a directory") \
	/* 1028 */ ACTION(DER_CORPC_INCOMPLETE, "Collective RPC failed") \
	/* 1029 */ ACTION(DER_NO_RAS_RANK, "No rank is subscribed to RAS") \
	/* 1030 */ ACTION(DER_NOTATTACH, "Service group not attached") \
	/* 1031 */ ACTION(DER_MISMATCH, "Version mismatch") \
	/* 1032 */ ACTION(DER_EXCLUDED, "Rank excluded") \
	/* 1033 */ ACTION(DER_NOREPLY, "User-provided RPC handler didn't send reply back") \
	/* 1034 */ ACTION(DER_DOS, "Denial-of-service") \
	/* 1035 */ ACTION(DER_BAD_TARGET, "Incorrect target for the RPC") \
	/* 1036 */ ACTION(DER_GRPVER, "Group versioning mismatch") \
	/* 1037 */ ACTION(DER_HLC_SYNC, "HLC synchronization error") \
	/* 1038 */ ACTION(DER_NO_SHMEM, "No shared memory available") \
	/* 1039 */ ACTION(DER_ADD_METRIC_FAILED, "Failed to add metric") \
	/* 1040 */ ACTION(DER_DURATION_MISMATCH, "Duration start/end mismatch") \
	/* 1041 */ ACTION(DER_OP_NOT_PERMITTED, "Operation not permitted") \
	/* 1042 */ ACTION(DER_EXCEEDS_PATH_LEN, "Path name exceeds permitted length") \
	/* 1043 */ ACTION(DER_METRIC_NOT_FOUND, "Metric not found") \
	/* 1044 */ ACTION(DER_SHMEM_PERMS, "Invalid shared memory permissions") \
	/* 1045 */ ACTION(DER_HG_FATAL, "Fatal transport layer mercury error") \
	/* 1046 */ ACTION(DER_QUOTA_LIMIT, "Quota limit reached")

/** DAOS codes, numbered from DER_ERR_DAOS_BASE + 1. */
#define D_FOREACH_DAOS_ERR(ACTION) \
	/* 2001 */ ACTION(DER_IO, "Generic I/O error") \
	/* 2002 */ ACTION(DER_FREE_MEM, "Memory free error") \
	/* 2003 */ ACTION(DER_ENOENT, "Entry not found") \
	/* 2004 */ ACTION(DER_NOTYPE, "Unknown object type") \
	/* 2005 */ ACTION(DER_NOSCHEMA, "Unknown object schema") \
	/* 2006 */ ACTION(DER_NOLOCAL, "Object is not local") \
	/* 2007 */ ACTION(DER_STALE, "Stale resource version") \
	/* 2008 */ ACTION(DER_NOTLEADER, "Not service leader") \
	/* 2009 */ ACTION(DER_TGT_CREATE, "Target create error") \
	/* 2010 */ ACTION(DER_EP_RO, "Epoch is read-only") \
	/* 2011 */ ACTION(DER_EP_OLD, "Epoch is too old, all data have been recycled") \
	/* 2012 */ ACTION(DER_KEY2BIG, "Key is too large") \
	/* 2013 */ ACTION(DER_REC2BIG, "Record is too large") \
	/* 2014 */ ACTION(DER_IO_INVAL, "IO buffers can't match object extents") \
	/* 2015 */ ACTION(DER_EQ_BUSY, "Event queue is busy") \
	/* 2016 */ ACTION(DER_DOMAIN, "Domain of cluster component can't match") \
	/* 2017 */ ACTION(DER_SHUTDOWN, "Service should shut down") \
	/* 2018 */ ACTION(DER_INPROGRESS, "Operation now in progress") \
	/* 2019 */ ACTION(DER_NOTAPPLICABLE, "Not applicable") \
	/* 2020 */ ACTION(DER_NOTREPLICA, "Not a service replica") \
	/* 2021 */ ACTION(DER_CSUM, "Checksum error") \
	/* 2022 */ ACTION(DER_DF_INVAL, "Invalid data format") \
	/* 2023 */ ACTION(DER_DF_INCOMPT, "Incompatible data format") \
	/* 2024 */ ACTION(DER_REC_SIZE, "Record size error") \
	/* 2025 */ ACTION(DER_TX_RESTART, "Used to indicate a transaction should restart") \
	/* 2026 */ ACTION(DER_DATA_LOSS, "Data lost or not recoverable") \
	/* 2027 */ ACTION(DER_OP_CANCELED, "Operation canceled") \
	/* 2028 */ ACTION(DER_TX_BUSY, "TX is not committed") \
	/* 2029 */ ACTION(DER_AGENT_INCOMPAT, "Agent is incompatible with libdaos") \
	/* 2030 */ ACTION(DER_NEED_TX, "Needs to be handled via distributed transaction") \
	/* 2031 */ ACTION(DER_RF, "Failures exceed RF") \
	/* 2032 */ ACTION(DER_FETCH_AGAIN, "Re-fetch again") \
	/* 2033 */ ACTION(DER_TX_UNCERTAIN, "TX status is uncertain") \
	/* 2034 */ ACTION(DER_AGENT_COMM, "Agent communication error") \
	/* 2035 */ ACTION(DER_ID_MISMATCH, "ID mismatch") \
	/* 2036 */ ACTION(DER_TGT_RETRY, "Retry with other target") \
	/* 2037 */ ACTION(DER_NOTSUPPORTED, "Operation not supported") \
	/* 2038 */ ACTION(DER_CONTROL_INCOMPAT, "Control protocol version mismatch") \
	/* 2039 */ ACTION(DER_NO_SERVICE, "No service available") \
	/* 2040 */ ACTION(DER_TX_ID_REUSED, "The TX ID may be reused") \
	/* 2041 */ ACTION(DER_UPDATE_AGAIN, "Re-update again") \
	/* 2042 */ ACTION(DER_NVME_IO, "NVMe I/O error") \
	/* 2043 */ ACTION(DER_NO_CERT, "Unable to access one or more certificates") \
	/* 2044 */ ACTION(DER_BAD_CERT, "Invalid x509 certificate") \
	/* 2045 */ ACTION(DER_VOS_PARTIAL_UPDATE, "VOS partial update error") \
	/* 2046 */ ACTION(DER_CHKPT_BUSY, "Checkpointing is busy") \
	/* 2047 */ ACTION(DER_DIV_BY_ZERO, "Division by zero") \
	/* 2048 */ ACTION(DER_OVERLOAD_RETRY, "Server is overloaded, retry later") \
	/* 2049 */ ACTION(DER_NOT_RESUME, "Check engine is not resumable") \
	/* 2050 */ ACTION(DER_CONT_NONEXIST, "Container does not exist") \
	/* 2051 */ ACTION(DER_CONT_DESTROYING, "Container is being destroyed") \
	/* 2052 */ ACTION(DER_IGNORE, "Ignore the error")

/* clang-format on */

/** Each contiguous range of codes and its base value. */
#define D_FOREACH_ERR_RANGE(ACTION) \
	ACTION(GURT, 1000)          \
	ACTION(DAOS, 2000)

/** Helpers to expand the rows into enumerators, names and descriptions. */
#define D_DEFINE_ERRNO(name, desc)   name,
#define D_DEFINE_ERRSTR(name, desc)  #name,
#define D_DEFINE_ERRDESC(name, desc) desc,
#define D_DEFINE_RANGE_ERRNO(name, base) \
	DER_ERR_##name##_BASE = (base), D_FOREACH_##name##_ERR(D_DEFINE_ERRNO)

/** The error numbers (positive values). */
enum daos_errno {
	DER_SUCCESS = 0,
	D_FOREACH_ERR_RANGE(D_DEFINE_RANGE_ERRNO)
	/** value reported for a code outside the table */
	DER_UNKNOWN = (DER_ERR_GURT_BASE + 500000),
};

/** Old name of DER_EXCLUDED. */
#define DER_EVICTED DER_EXCLUDED

/** Symbolic name of \a errnum ("DER_NONEXIST"); either sign is accepted. */
const char *
d_errstr(int errnum);

/** Human-readable description of \a errnum. */
const char *
d_errdesc(int errnum);

#ifndef DF_RC
/** printf format and arguments for a return code: name(value): 'description' */
#define DF_RC     "%s(%d): '%s'"
#define DP_RC(rc) d_errstr(rc), rc, d_errdesc(rc)
#endif

#if defined(__cplusplus)
}
#endif

#endif /* DAOS_RS_DAOS_ERRNO_H */
