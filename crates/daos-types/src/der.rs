//! DAOS error numbers (`-DER_*`), as one table.
//!
//! This is the Rust form of DAOS's `D_FOREACH_GURT_ERR` / `D_FOREACH_DAOS_ERR` X-macros
//! (`daos_errno.h`, DAOS API 2.8): one row per code gives the enum variant, its positive value
//! and its description. The C header, `d_errstr` and the Python exceptions are all projected
//! from [`Der::ALL`], so a new code cannot be added to one place and missed in another.
//! Functions return these codes negated (`-DER_NONEXIST == -1005`).

macro_rules! der_codes {
    ($( $variant:ident = $value:literal, $name:literal, $desc:literal; )*) => {
        /// A DAOS error number. The value is positive; DAOS functions return it negated.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[repr(i32)]
        #[non_exhaustive]
        pub enum Der {
            $( #[doc = $desc] $variant = $value, )*
        }

        impl Der {
            /// Every code, in DAOS's declaration order.
            pub const ALL: &'static [Der] = &[$(Der::$variant,)*];

            /// The symbolic name, as `d_errstr` returns it (`"DER_NONEXIST"`).
            pub const fn name(self) -> &'static str {
                match self { $(Der::$variant => $name,)* }
            }

            /// The human-readable description, as `d_errdesc` returns it.
            pub const fn description(self) -> &'static str {
                match self { $(Der::$variant => $desc,)* }
            }

            /// The code for a positive DER value, if it is one.
            pub const fn from_value(value: i32) -> Option<Der> {
                match value { $($value => Some(Der::$variant),)* _ => None }
            }
        }
    };
}

der_codes! {
    NoPerm = 1001, "DER_NO_PERM", "No permission";
    NoHdl = 1002, "DER_NO_HDL", "Invalid handle";
    Inval = 1003, "DER_INVAL", "Invalid parameters";
    Exist = 1004, "DER_EXIST", "Entity already exists";
    Nonexist = 1005, "DER_NONEXIST", "The specified entity does not exist";
    Unreach = 1006, "DER_UNREACH", "Unreachable node";
    Nospace = 1007, "DER_NOSPACE", "No space on storage target";
    Already = 1008, "DER_ALREADY", "Operation already performed";
    Nomem = 1009, "DER_NOMEM", "Out of memory";
    Nosys = 1010, "DER_NOSYS", "Function not implemented";
    Timedout = 1011, "DER_TIMEDOUT", "Time out";
    Busy = 1012, "DER_BUSY", "Device or resource busy";
    Again = 1013, "DER_AGAIN", "Try again";
    Proto = 1014, "DER_PROTO", "Incompatible protocol";
    Uninit = 1015, "DER_UNINIT", "Not initialized";
    Trunc = 1016, "DER_TRUNC", "Buffer too short";
    Overflow = 1017, "DER_OVERFLOW", "Data too long for defined data type or buffer size";
    Canceled = 1018, "DER_CANCELED", "Operation canceled";
    Oog = 1019, "DER_OOG", "Out-Of-Group or member list";
    Hg = 1020, "DER_HG", "Transport layer mercury error";
    Unreg = 1021, "DER_UNREG", "RPC or protocol version not registered";
    AddrstrGen = 1022, "DER_ADDRSTR_GEN", "Failed to generate an address string";
    Pmix = 1023, "DER_PMIX", "PMIx layer error";
    IvcbForward = 1024, "DER_IVCB_FORWARD", "IV callback - cannot handle locally";
    Misc = 1025, "DER_MISC", "Miscellaneous error";
    Badpath = 1026, "DER_BADPATH", "Bad path name";
    Notdir = 1027, "DER_NOTDIR", "Not a directory";
    CorpcIncomplete = 1028, "DER_CORPC_INCOMPLETE", "Collective RPC failed";
    NoRasRank = 1029, "DER_NO_RAS_RANK", "No rank is subscribed to RAS";
    Notattach = 1030, "DER_NOTATTACH", "Service group not attached";
    Mismatch = 1031, "DER_MISMATCH", "Version mismatch";
    Excluded = 1032, "DER_EXCLUDED", "Rank excluded";
    Noreply = 1033, "DER_NOREPLY", "User-provided RPC handler didn't send reply back";
    Dos = 1034, "DER_DOS", "Denial-of-service";
    BadTarget = 1035, "DER_BAD_TARGET", "Incorrect target for the RPC";
    Grpver = 1036, "DER_GRPVER", "Group versioning mismatch";
    HlcSync = 1037, "DER_HLC_SYNC", "HLC synchronization error";
    NoShmem = 1038, "DER_NO_SHMEM", "No shared memory available";
    AddMetricFailed = 1039, "DER_ADD_METRIC_FAILED", "Failed to add metric";
    DurationMismatch = 1040, "DER_DURATION_MISMATCH", "Duration start/end mismatch";
    OpNotPermitted = 1041, "DER_OP_NOT_PERMITTED", "Operation not permitted";
    ExceedsPathLen = 1042, "DER_EXCEEDS_PATH_LEN", "Path name exceeds permitted length";
    MetricNotFound = 1043, "DER_METRIC_NOT_FOUND", "Metric not found";
    ShmemPerms = 1044, "DER_SHMEM_PERMS", "Invalid shared memory permissions";
    HgFatal = 1045, "DER_HG_FATAL", "Fatal transport layer mercury error";
    QuotaLimit = 1046, "DER_QUOTA_LIMIT", "Quota limit reached";
    Io = 2001, "DER_IO", "Generic I/O error";
    FreeMem = 2002, "DER_FREE_MEM", "Memory free error";
    Enoent = 2003, "DER_ENOENT", "Entry not found";
    Notype = 2004, "DER_NOTYPE", "Unknown object type";
    Noschema = 2005, "DER_NOSCHEMA", "Unknown object schema";
    Nolocal = 2006, "DER_NOLOCAL", "Object is not local";
    Stale = 2007, "DER_STALE", "Stale resource version";
    Notleader = 2008, "DER_NOTLEADER", "Not service leader";
    TgtCreate = 2009, "DER_TGT_CREATE", "Target create error";
    EpRo = 2010, "DER_EP_RO", "Epoch is read-only";
    EpOld = 2011, "DER_EP_OLD", "Epoch is too old, all data have been recycled";
    Key2big = 2012, "DER_KEY2BIG", "Key is too large";
    Rec2big = 2013, "DER_REC2BIG", "Record is too large";
    IoInval = 2014, "DER_IO_INVAL", "IO buffers can't match object extents";
    EqBusy = 2015, "DER_EQ_BUSY", "Event queue is busy";
    Domain = 2016, "DER_DOMAIN", "Domain of cluster component can't match";
    Shutdown = 2017, "DER_SHUTDOWN", "Service should shut down";
    Inprogress = 2018, "DER_INPROGRESS", "Operation now in progress";
    Notapplicable = 2019, "DER_NOTAPPLICABLE", "Not applicable";
    Notreplica = 2020, "DER_NOTREPLICA", "Not a service replica";
    Csum = 2021, "DER_CSUM", "Checksum error";
    DfInval = 2022, "DER_DF_INVAL", "Invalid data format";
    DfIncompt = 2023, "DER_DF_INCOMPT", "Incompatible data format";
    RecSize = 2024, "DER_REC_SIZE", "Record size error";
    TxRestart = 2025, "DER_TX_RESTART", "Used to indicate a transaction should restart";
    DataLoss = 2026, "DER_DATA_LOSS", "Data lost or not recoverable";
    OpCanceled = 2027, "DER_OP_CANCELED", "Operation canceled";
    TxBusy = 2028, "DER_TX_BUSY", "TX is not committed";
    AgentIncompat = 2029, "DER_AGENT_INCOMPAT", "Agent is incompatible with libdaos";
    NeedTx = 2030, "DER_NEED_TX", "Needs to be handled via distributed transaction";
    Rf = 2031, "DER_RF", "Failures exceed RF";
    FetchAgain = 2032, "DER_FETCH_AGAIN", "Re-fetch again";
    TxUncertain = 2033, "DER_TX_UNCERTAIN", "TX status is uncertain";
    AgentComm = 2034, "DER_AGENT_COMM", "Agent communication error";
    IdMismatch = 2035, "DER_ID_MISMATCH", "ID mismatch";
    TgtRetry = 2036, "DER_TGT_RETRY", "Retry with other target";
    Notsupported = 2037, "DER_NOTSUPPORTED", "Operation not supported";
    ControlIncompat = 2038, "DER_CONTROL_INCOMPAT", "Control protocol version mismatch";
    NoService = 2039, "DER_NO_SERVICE", "No service available";
    TxIdReused = 2040, "DER_TX_ID_REUSED", "The TX ID may be reused";
    UpdateAgain = 2041, "DER_UPDATE_AGAIN", "Re-update again";
    NvmeIo = 2042, "DER_NVME_IO", "NVMe I/O error";
    NoCert = 2043, "DER_NO_CERT", "Unable to access one or more certificates";
    BadCert = 2044, "DER_BAD_CERT", "Invalid x509 certificate";
    VosPartialUpdate = 2045, "DER_VOS_PARTIAL_UPDATE", "VOS partial update error";
    ChkptBusy = 2046, "DER_CHKPT_BUSY", "Checkpointing is busy";
    DivByZero = 2047, "DER_DIV_BY_ZERO", "Division by zero";
    OverloadRetry = 2048, "DER_OVERLOAD_RETRY", "Server is overloaded, retry later";
    NotResume = 2049, "DER_NOT_RESUME", "Check engine is not resumable";
    ContNonexist = 2050, "DER_CONT_NONEXIST", "Container does not exist";
    ContDestroying = 2051, "DER_CONT_DESTROYING", "Container is being destroyed";
    Ignore = 2052, "DER_IGNORE", "Ignore the error";
}

/// `DER_UNKNOWN`, the value `d_errstr` reports for a code outside the table.
pub const DER_UNKNOWN: i32 = 501_000;

impl Der {
    /// The positive numeric value.
    pub const fn value(self) -> i32 {
        self as i32
    }

    /// The value a DAOS function returns for this error (`-value`).
    pub const fn rc(self) -> i32 {
        -(self as i32)
    }

    /// The errno DFS reports for this code (`daos_der2errno`, `daos/common.h`).
    pub const fn to_errno(self) -> i32 {
        match self {
            Der::NoPerm | Der::EpRo | Der::EpOld | Der::ContDestroying => libc_errno::EPERM,
            Der::Enoent | Der::Nonexist | Der::ContNonexist => libc_errno::ENOENT,
            Der::Inval | Der::Notype | Der::Noschema | Der::Nolocal | Der::NoHdl | Der::IoInval => {
                libc_errno::EINVAL
            }
            Der::Key2big | Der::Rec2big => libc_errno::E2BIG,
            Der::Exist => libc_errno::EEXIST,
            Der::Unreach => libc_errno::EHOSTUNREACH,
            Der::Nospace => libc_errno::ENOSPC,
            Der::Already => libc_errno::EALREADY,
            Der::Dos | Der::Nomem => libc_errno::ENOMEM,
            Der::Timedout => libc_errno::ETIMEDOUT,
            Der::Busy | Der::EqBusy => libc_errno::EBUSY,
            Der::Again => libc_errno::EAGAIN,
            Der::Proto => libc_errno::EPROTO,
            Der::Io => libc_errno::EIO,
            Der::Canceled => libc_errno::ECANCELED,
            Der::Overflow => libc_errno::EOVERFLOW,
            Der::Badpath | Der::Notdir => libc_errno::ENOTDIR,
            Der::Stale => libc_errno::ESTALE,
            Der::TxRestart => libc_errno::ERESTART,
            Der::Notsupported => libc_errno::ENOTSUP,
            _ => libc_errno::EIO,
        }
    }

    /// The DER code for an errno (`daos_errno2der`, `daos/common.h`).
    pub const fn from_errno(errno: i32) -> Der {
        match errno {
            libc_errno::EPERM | libc_errno::EACCES => Der::NoPerm,
            libc_errno::ENOMEM => Der::Nomem,
            libc_errno::EDQUOT | libc_errno::ENOSPC => Der::Nospace,
            libc_errno::EEXIST => Der::Exist,
            libc_errno::ENOENT => Der::Nonexist,
            libc_errno::ECANCELED => Der::Canceled,
            libc_errno::EBUSY => Der::Busy,
            libc_errno::EOVERFLOW => Der::Overflow,
            libc_errno::EBADF => Der::NoHdl,
            libc_errno::ENOSYS => Der::Nosys,
            libc_errno::ETIMEDOUT => Der::Timedout,
            libc_errno::EAGAIN => Der::Again,
            libc_errno::EPROTO => Der::Proto,
            libc_errno::EINVAL => Der::Inval,
            libc_errno::ENOTDIR => Der::Notdir,
            libc_errno::EIO => Der::Io,
            libc_errno::ENOTSUP => Der::Notsupported,
            _ => Der::Misc,
        }
    }
}

/// The symbolic name for a return code of either sign, as `d_errstr` gives it.
pub fn errstr(rc: i32) -> &'static str {
    if rc == 0 {
        return "DER_SUCCESS";
    }
    Der::from_value(rc.saturating_abs()).map_or("DER_UNKNOWN", Der::name)
}

impl std::fmt::Display for Der {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}({}): '{}'",
            self.name(),
            self.rc(),
            self.description()
        )
    }
}

/// Linux errno values, kept here so this crate stays free of `libc`.
#[allow(missing_docs)]
pub mod libc_errno {
    pub const EPERM: i32 = 1;
    pub const ENOENT: i32 = 2;
    pub const EIO: i32 = 5;
    pub const E2BIG: i32 = 7;
    pub const EBADF: i32 = 9;
    pub const EAGAIN: i32 = 11;
    pub const ENOMEM: i32 = 12;
    pub const EACCES: i32 = 13;
    pub const EBUSY: i32 = 16;
    pub const EEXIST: i32 = 17;
    pub const EXDEV: i32 = 18;
    pub const ENOTDIR: i32 = 20;
    pub const EISDIR: i32 = 21;
    pub const EINVAL: i32 = 22;
    pub const EFBIG: i32 = 27;
    pub const ENOSPC: i32 = 28;
    pub const ENAMETOOLONG: i32 = 36;
    pub const ENOSYS: i32 = 38;
    pub const ENOTEMPTY: i32 = 39;
    pub const ELOOP: i32 = 40;
    pub const ENODATA: i32 = 61;
    pub const EOVERFLOW: i32 = 75;
    pub const ERESTART: i32 = 85;
    pub const EPROTO: i32 = 71;
    pub const ENOTSUP: i32 = 95;
    pub const EHOSTUNREACH: i32 = 113;
    pub const EALREADY: i32 = 114;
    pub const ESTALE: i32 = 116;
    pub const ETIMEDOUT: i32 = 110;
    pub const EDQUOT: i32 = 122;
    pub const ECANCELED: i32 = 125;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_follow_daos_numbering() {
        assert_eq!(Der::NoPerm.value(), 1001);
        assert_eq!(Der::QuotaLimit.value(), 1046);
        assert_eq!(Der::Io.value(), 2001);
        assert_eq!(Der::Ignore.value(), 2052);
        assert_eq!(Der::Nonexist.rc(), -1005);
        assert_eq!(Der::Csum.value(), 2021);
        // The gurt range is dense 1001..=1046 and the DAOS range 2001..=2052.
        let gurt: Vec<i32> = Der::ALL
            .iter()
            .map(|d| d.value())
            .filter(|v| *v < 2000)
            .collect();
        assert_eq!(gurt, (1001..=1046).collect::<Vec<_>>());
        let daos: Vec<i32> = Der::ALL
            .iter()
            .map(|d| d.value())
            .filter(|v| *v > 2000)
            .collect();
        assert_eq!(daos, (2001..=2052).collect::<Vec<_>>());
    }

    #[test]
    fn names_round_trip() {
        for der in Der::ALL {
            assert_eq!(Der::from_value(der.value()), Some(*der));
            assert_eq!(errstr(der.rc()), der.name());
            assert!(der.name().starts_with("DER_"));
        }
        assert_eq!(errstr(0), "DER_SUCCESS");
        assert_eq!(errstr(-77), "DER_UNKNOWN");
    }

    #[test]
    fn errno_mapping_matches_daos() {
        assert_eq!(Der::Nonexist.to_errno(), libc_errno::ENOENT);
        assert_eq!(Der::Exist.to_errno(), libc_errno::EEXIST);
        assert_eq!(Der::NoHdl.to_errno(), libc_errno::EINVAL);
        assert_eq!(Der::Csum.to_errno(), libc_errno::EIO);
        assert_eq!(Der::from_errno(libc_errno::EBADF), Der::NoHdl);
        assert_eq!(Der::from_errno(12345), Der::Misc);
    }
}
