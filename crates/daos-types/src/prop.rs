//! Pool and container properties (`daos_prop.h`, DAOS API 2.8).
//!
//! A property list is a sequence of `(type, value)` entries, as `daos_prop_t` is. The type
//! numbers are DAOS's; values are numbers, strings or a small structured value (the root
//! object ids of `DAOS_PROP_CO_ROOTS`). [`parse_container_properties`] reads the
//! `k:v,k:v` form the `daos` tool takes (`--properties rd_fac:1,cksum:crc32`).

use crate::der::Der;
use crate::error::{Error, Result};
use crate::oid::ObjectId;

/// Pool property: label.
pub const PO_LABEL: u32 = 1;
/// Pool property: access control list.
pub const PO_ACL: u32 = 2;
/// Pool property: space reserved for rebuild, percent.
pub const PO_SPACE_RB: u32 = 3;
/// Pool property: self-healing policy flags.
pub const PO_SELF_HEAL: u32 = 4;
/// Pool property: space reclaim strategy.
pub const PO_RECLAIM: u32 = 5;
/// Pool property: owner user.
pub const PO_OWNER: u32 = 6;
/// Pool property: owner group.
pub const PO_OWNER_GROUP: u32 = 7;
/// Pool property: pool service replica ranks.
pub const PO_SVC_LIST: u32 = 8;
/// Pool property: default EC cell size, bytes.
pub const PO_EC_CELL_SZ: u32 = 9;
/// Pool property: redundancy factor.
pub const PO_REDUN_FAC: u32 = 10;
/// Pool property: the pool service's redundancy factor (`svc_rf`): it keeps `2 * svc_rf + 1`
/// replicas where the pool has enough engines.
pub const PO_SVC_REDUN_FAC: u32 = 19;
/// Default of [`PO_SVC_REDUN_FAC`] (DAOS's `DAOS_PROP_PO_SVC_REDUN_FAC_DEFAULT`).
pub const PO_SVC_REDUN_FAC_DEFAULT: u64 = 2;
/// Largest [`PO_SVC_REDUN_FAC`].
pub const PO_SVC_REDUN_FAC_MAX: u64 = 4;

/// First container property id.
pub const CO_MIN: u32 = 0x1000;
/// Container property: label.
pub const CO_LABEL: u32 = 0x1001;
/// Container property: layout type (`POSIX`, `HDF5`, `PYTHON`…).
pub const CO_LAYOUT_TYPE: u32 = 0x1002;
/// Container property: layout version.
pub const CO_LAYOUT_VER: u32 = 0x1003;
/// Container property: checksum type.
pub const CO_CSUM: u32 = 0x1004;
/// Container property: checksum chunk size, bytes.
pub const CO_CSUM_CHUNK_SIZE: u32 = 0x1005;
/// Container property: verify checksums on the server at update.
pub const CO_CSUM_SERVER_VERIFY: u32 = 0x1006;
/// Container property: redundancy factor (`rd_fac`).
pub const CO_REDUN_FAC: u32 = 0x1007;
/// Container property: redundancy level (fault domain level).
pub const CO_REDUN_LVL: u32 = 0x1008;
/// Container property: maximum snapshots kept.
pub const CO_SNAPSHOT_MAX: u32 = 0x1009;
/// Container property: access control list.
pub const CO_ACL: u32 = 0x100A;
/// Container property: compression (reserved).
pub const CO_COMPRESS: u32 = 0x100B;
/// Container property: encryption (reserved).
pub const CO_ENCRYPT: u32 = 0x100C;
/// Container property: owner user.
pub const CO_OWNER: u32 = 0x100D;
/// Container property: owner group.
pub const CO_OWNER_GROUP: u32 = 0x100E;
/// Container property: deduplication.
pub const CO_DEDUP: u32 = 0x100F;
/// Container property: deduplication threshold.
pub const CO_DEDUP_THRESHOLD: u32 = 0x1010;
/// Container property: root object ids (4 oids).
pub const CO_ROOTS: u32 = 0x1011;
/// Container property: status.
pub const CO_STATUS: u32 = 0x1012;
/// Container property: highest allocated object id.
pub const CO_ALLOCED_OID: u32 = 0x1013;
/// Container property: EC cell size, bytes.
pub const CO_EC_CELL_SZ: u32 = 0x1014;
/// Container property: EC performance domain affinity.
pub const CO_EC_PDA: u32 = 0x1015;
/// Container property: replication performance domain affinity.
pub const CO_RP_PDA: u32 = 0x1016;
/// Container property: global version.
pub const CO_GLOBAL_VERSION: u32 = 0x1017;
/// Container property: scrubber disabled.
pub const CO_SCRUBBER_DISABLED: u32 = 0x1018;
/// Container property: object version.
pub const CO_OBJ_VERSION: u32 = 0x1019;
/// Container property: performance domain.
pub const CO_PERF_DOMAIN: u32 = 0x101A;
/// One past the last container property id.
pub const CO_MAX: u32 = 0x101B;

/// `DAOS_PROP_CO_LAYOUT_*`.
pub mod layout {
    /// Unknown layout.
    pub const UNKNOWN: u64 = 0;
    /// DFS POSIX namespace.
    pub const POSIX: u64 = 1;
    /// HDF5 (vol-daos).
    pub const HDF5: u64 = 2;
    /// pydaos containers.
    pub const PYTHON: u64 = 3;
    /// Spark.
    pub const SPARK: u64 = 4;
    /// Database.
    pub const DATABASE: u64 = 5;
    /// Root.
    pub const ROOT: u64 = 6;
    /// Seismic.
    pub const SEISMIC: u64 = 7;
    /// Meteo.
    pub const METEO: u64 = 8;

    /// The layout value for a `--type` name (case-insensitive), as the `daos` tool takes it.
    pub fn from_name(name: &str) -> Option<u64> {
        Some(match name.to_ascii_uppercase().as_str() {
            "UNKNOWN" => UNKNOWN,
            "POSIX" => POSIX,
            "HDF5" => HDF5,
            "PYTHON" => PYTHON,
            "SPARK" => SPARK,
            "DATABASE" => DATABASE,
            "ROOT" => ROOT,
            "SEISMIC" => SEISMIC,
            "METEO" => METEO,
            _ => return None,
        })
    }

    /// The name of a layout value.
    pub fn name(value: u64) -> &'static str {
        match value {
            POSIX => "POSIX",
            HDF5 => "HDF5",
            PYTHON => "PYTHON",
            SPARK => "SPARK",
            DATABASE => "DATABASE",
            ROOT => "ROOT",
            SEISMIC => "SEISMIC",
            METEO => "METEO",
            _ => "unknown",
        }
    }
}

/// Checksum algorithms (`DAOS_PROP_CO_CSUM_*`). DAOS's `crc32` is CRC-32C (ISA-L
/// `crc32_iscsi`), and so is ours.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum ChecksumType {
    /// No checksums.
    Off = 0,
    /// CRC-16 (not implemented by this engine).
    Crc16 = 1,
    /// CRC-32C.
    Crc32 = 2,
    /// CRC-64 (not implemented by this engine).
    Crc64 = 3,
    /// SHA-1 (not implemented by this engine).
    Sha1 = 4,
    /// SHA-256 (not implemented by this engine).
    Sha256 = 5,
    /// SHA-512 (not implemented by this engine).
    Sha512 = 6,
    /// Adler-32 (not implemented by this engine).
    Adler32 = 7,
}

impl ChecksumType {
    /// The type for its property value.
    pub fn from_value(value: u64) -> Option<ChecksumType> {
        use ChecksumType::*;
        Some(match value {
            0 => Off,
            1 => Crc16,
            2 => Crc32,
            3 => Crc64,
            4 => Sha1,
            5 => Sha256,
            6 => Sha512,
            7 => Adler32,
            _ => return None,
        })
    }

    /// The name the `daos` tool uses (`cksum:crc32`).
    pub fn name(self) -> &'static str {
        use ChecksumType::*;
        match self {
            Off => "off",
            Crc16 => "crc16",
            Crc32 => "crc32",
            Crc64 => "crc64",
            Sha1 => "sha1",
            Sha256 => "sha256",
            Sha512 => "sha512",
            Adler32 => "adler32",
        }
    }

    /// Whether this engine can compute and verify this algorithm.
    pub fn is_supported(self) -> bool {
        matches!(self, ChecksumType::Off | ChecksumType::Crc32)
    }
}

/// Default checksum chunk size (`cksum_size`), bytes.
pub const CSUM_CHUNK_SIZE_DEFAULT: u64 = 32 * 1024;
/// Default EC cell size in DAOS 2.8, bytes.
pub const EC_CELL_SIZE_DEFAULT: u64 = 128 * 1024;

/// A property value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PropValue {
    /// A number (`dpe_val`).
    Number(u64),
    /// A string (`dpe_str`), such as a label or owner.
    Text(String),
    /// The four root object ids of `DAOS_PROP_CO_ROOTS` (`struct daos_prop_co_roots`).
    Roots([ObjectId; 4]),
    /// An opaque value, such as an ACL.
    Bytes(Vec<u8>),
}

/// One property entry (`struct daos_prop_entry`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Prop {
    /// The property type (`dpe_type`).
    pub kind: u32,
    /// The value.
    pub value: PropValue,
}

/// A property list (`daos_prop_t`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Props {
    entries: Vec<Prop>,
}

impl Props {
    /// An empty list.
    pub fn new() -> Props {
        Props::default()
    }

    /// The entries, in insertion order.
    pub fn entries(&self) -> &[Prop] {
        &self.entries
    }

    /// The entry of a type, if present.
    pub fn get(&self, kind: u32) -> Option<&PropValue> {
        self.entries
            .iter()
            .find(|p| p.kind == kind)
            .map(|p| &p.value)
    }

    /// A numeric entry, if present and numeric.
    pub fn number(&self, kind: u32) -> Option<u64> {
        match self.get(kind)? {
            PropValue::Number(n) => Some(*n),
            _ => None,
        }
    }

    /// A text entry, if present and textual.
    pub fn text(&self, kind: u32) -> Option<&str> {
        match self.get(kind)? {
            PropValue::Text(s) => Some(s),
            _ => None,
        }
    }

    /// The root oids, if present.
    pub fn roots(&self) -> Option<[ObjectId; 4]> {
        match self.get(kind_roots())? {
            PropValue::Roots(roots) => Some(*roots),
            _ => None,
        }
    }

    /// Sets (replaces or appends) an entry.
    pub fn set(&mut self, kind: u32, value: PropValue) {
        match self.entries.iter_mut().find(|p| p.kind == kind) {
            Some(entry) => entry.value = value,
            None => self.entries.push(Prop { kind, value }),
        }
    }

    /// Sets an entry only if it is absent.
    pub fn set_default(&mut self, kind: u32, value: PropValue) {
        if self.get(kind).is_none() {
            self.entries.push(Prop { kind, value });
        }
    }

    /// Removes an entry.
    pub fn remove(&mut self, kind: u32) {
        self.entries.retain(|p| p.kind != kind);
    }

    /// Appends an entry without checking for duplicates (decoders use this, then validate).
    pub fn push(&mut self, prop: Prop) {
        self.entries.push(prop);
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

const fn kind_roots() -> u32 {
    CO_ROOTS
}

/// The name DAOS's tools print for a container property type.
pub fn container_property_name(kind: u32) -> &'static str {
    match kind {
        CO_LABEL => "label",
        CO_LAYOUT_TYPE => "layout_type",
        CO_LAYOUT_VER => "layout_version",
        CO_CSUM => "cksum",
        CO_CSUM_CHUNK_SIZE => "cksum_size",
        CO_CSUM_SERVER_VERIFY => "srv_cksum",
        CO_REDUN_FAC => "rd_fac",
        CO_REDUN_LVL => "rd_lvl",
        CO_SNAPSHOT_MAX => "max_snapshot",
        CO_ACL => "acl",
        CO_COMPRESS => "compression",
        CO_ENCRYPT => "encryption",
        CO_OWNER => "owner",
        CO_OWNER_GROUP => "group",
        CO_DEDUP => "dedup",
        CO_DEDUP_THRESHOLD => "dedup_threshold",
        CO_ROOTS => "roots",
        CO_STATUS => "status",
        CO_ALLOCED_OID => "alloc_oid",
        CO_EC_CELL_SZ => "ec_cell_sz",
        CO_EC_PDA => "ec_pda",
        CO_RP_PDA => "rp_pda",
        CO_GLOBAL_VERSION => "global_version",
        CO_SCRUBBER_DISABLED => "scrubber_disabled",
        CO_OBJ_VERSION => "obj_version",
        CO_PERF_DOMAIN => "perf_domain",
        _ => "unknown",
    }
}

fn parse_size(text: &str) -> Option<u64> {
    crate::size::parse_size(text).ok()
}

fn parse_on_off(text: &str) -> Option<u64> {
    match text {
        "on" | "true" | "1" => Some(1),
        "off" | "false" | "0" => Some(0),
        _ => None,
    }
}

/// Parses `k:v[,k:v…]` container properties as `daos container create --properties` does.
///
/// Known keys: `label`, `cksum` (`off|crc32`), `cksum_size`, `srv_cksum` (`on|off`), `rd_fac`
/// (0–4), `rd_lvl` (1 rank, 2 node), `max_snapshot`, `ec_cell_sz`, `dedup`, `compression`,
/// `encryption` (the last three must be `off`: they are reserved in DAOS too).
/// Errors: `-DER_INVAL` naming the bad entry.
pub fn parse_container_properties(text: &str) -> Result<Props> {
    let mut props = Props::new();
    for item in text.split(',').filter(|s| !s.trim().is_empty()) {
        let (key, value) = item
            .split_once(':')
            .ok_or_else(|| Error::new(Der::Inval, format!("property {item:?} is not key:value")))?;
        let (key, value) = (key.trim(), value.trim());
        let bad = || {
            Error::new(
                Der::Inval,
                format!("bad value {value:?} for property {key:?}"),
            )
        };
        let (kind, parsed) = match key {
            "label" => {
                crate::label::check_label(value)?;
                (CO_LABEL, PropValue::Text(value.to_string()))
            }
            "cksum" => {
                let csum = [ChecksumType::Off, ChecksumType::Crc32]
                    .into_iter()
                    .find(|c| c.name() == value)
                    .ok_or_else(|| {
                        Error::new(
                            Der::Notsupported,
                            format!("checksum {value:?} is not supported (use off or crc32)"),
                        )
                    })?;
                (CO_CSUM, PropValue::Number(csum as u64))
            }
            "cksum_size" => (
                CO_CSUM_CHUNK_SIZE,
                PropValue::Number(parse_size(value).ok_or_else(bad)?),
            ),
            "srv_cksum" => (
                CO_CSUM_SERVER_VERIFY,
                PropValue::Number(parse_on_off(value).ok_or_else(bad)?),
            ),
            "rd_fac" => {
                let rf: u64 = value.parse().map_err(|_| bad())?;
                if rf > 4 {
                    return Err(bad());
                }
                (CO_REDUN_FAC, PropValue::Number(rf))
            }
            "rd_lvl" => {
                let lvl: u64 = value.parse().map_err(|_| bad())?;
                if !(1..=2).contains(&lvl) {
                    return Err(bad());
                }
                (CO_REDUN_LVL, PropValue::Number(lvl))
            }
            "max_snapshot" => (
                CO_SNAPSHOT_MAX,
                PropValue::Number(value.parse().map_err(|_| bad())?),
            ),
            "ec_cell_sz" => (
                CO_EC_CELL_SZ,
                PropValue::Number(parse_size(value).ok_or_else(bad)?),
            ),
            "dedup" | "compression" | "encryption" => {
                if value != "off" {
                    return Err(Error::new(
                        Der::Notsupported,
                        format!("property {key} is reserved and only 'off' is accepted"),
                    ));
                }
                let kind = match key {
                    "dedup" => CO_DEDUP,
                    "compression" => CO_COMPRESS,
                    _ => CO_ENCRYPT,
                };
                (kind, PropValue::Number(0))
            }
            _ => {
                return Err(Error::new(
                    Der::Inval,
                    format!("unknown container property {key:?}"),
                ))
            }
        };
        props.set(kind, parsed);
    }
    Ok(props)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_match_daos() {
        assert_eq!(CO_LABEL, 4097);
        assert_eq!(CO_LAYOUT_TYPE, 4098);
        assert_eq!(CO_REDUN_FAC, 4103);
        assert_eq!(CO_ACL, 4106);
        assert_eq!(CO_OWNER, 4109);
        assert_eq!(CO_ROOTS, 4113);
        assert_eq!(CO_STATUS, 4114);
        assert_eq!(CO_MAX, 4123);
    }

    #[test]
    fn parses_daos_tool_syntax() {
        let props =
            parse_container_properties("rd_fac:1,cksum:crc32,cksum_size:64KiB,label:my.cont")
                .unwrap();
        assert_eq!(props.number(CO_REDUN_FAC), Some(1));
        assert_eq!(props.number(CO_CSUM), Some(ChecksumType::Crc32 as u64));
        assert_eq!(props.number(CO_CSUM_CHUNK_SIZE), Some(65536));
        assert_eq!(props.text(CO_LABEL), Some("my.cont"));
        assert_eq!(
            parse_container_properties("rd_fac:9").unwrap_err().der(),
            Der::Inval
        );
        assert_eq!(
            parse_container_properties("cksum:sha1").unwrap_err().der(),
            Der::Notsupported
        );
        assert_eq!(
            parse_container_properties("bogus:1").unwrap_err().der(),
            Der::Inval
        );
        assert_eq!(
            parse_container_properties("nocolon").unwrap_err().der(),
            Der::Inval
        );
    }
}
