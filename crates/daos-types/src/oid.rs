//! Object ids (`daos_obj_id_t`) and their reserved bits.
//!
//! Layout (`daos_obj.h`, DAOS API 2.8): the user owns `lo` and the low 32 bits of `hi`;
//! `hi` bits 63..56 hold the object type, 55..48 the redundancy id and 47..32 the group count.
//! The header inlines (`daos_obj_id2type`, `daos_obj_id2class`, …) read these bits in client
//! code, so the encoding here must stay bit-exact.

use crate::oclass::{ObjectClass, OclassId, GROUPS_MAX, OC_REDUN_SHIFT};
use std::fmt;

/// `OID_FMT_TYPE_SHIFT`.
pub const OID_TYPE_SHIFT: u32 = 56;
/// `OID_FMT_CLASS_SHIFT`.
pub const OID_CLASS_SHIFT: u32 = 48;
/// `OID_FMT_META_SHIFT`.
pub const OID_META_SHIFT: u32 = 32;

/// `daos_obj_id_t`: 128 bits, `lo` first.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct ObjectId {
    /// Low 64 bits, owned by the user.
    pub lo: u64,
    /// High 64 bits: reserved encoding above bit 32, user bits below.
    pub hi: u64,
}

/// `enum daos_otype_t`: how an object's keys are typed and ordered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum ObjectType {
    /// Hashed dkeys and akeys (`DAOS_OT_MULTI_HASHED`).
    MultiHashed = 0,
    /// Object index table (`DAOS_OT_OIT`).
    Oit = 1,
    /// Unsigned 64-bit dkeys (`DAOS_OT_DKEY_UINT64`).
    DkeyUint64 = 2,
    /// Unsigned 64-bit akeys (`DAOS_OT_AKEY_UINT64`).
    AkeyUint64 = 3,
    /// Unsigned 64-bit dkeys and akeys (`DAOS_OT_MULTI_UINT64`).
    MultiUint64 = 4,
    /// Lexically ordered dkeys (`DAOS_OT_DKEY_LEXICAL`).
    DkeyLexical = 5,
    /// Lexically ordered akeys (`DAOS_OT_AKEY_LEXICAL`).
    AkeyLexical = 6,
    /// Lexically ordered dkeys and akeys (`DAOS_OT_MULTI_LEXICAL`).
    MultiLexical = 7,
    /// Flat key-value store with hashed keys (`DAOS_OT_KV_HASHED`).
    KvHashed = 8,
    /// Flat key-value store with 64-bit keys (`DAOS_OT_KV_UINT64`).
    KvUint64 = 9,
    /// Flat key-value store with lexical keys (`DAOS_OT_KV_LEXICAL`).
    KvLexical = 10,
    /// Array with attributes kept in the object (`DAOS_OT_ARRAY`).
    Array = 11,
    /// Array whose attributes live elsewhere (`DAOS_OT_ARRAY_ATTR`).
    ArrayAttr = 12,
    /// Byte array (`DAOS_OT_ARRAY_BYTE`), as DFS files use.
    ArrayByte = 13,
    /// Object index table, version 2 (`DAOS_OT_OIT_V2`).
    OitV2 = 14,
}

/// How a key space is ordered, which decides enumeration order and anchors.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyOrder {
    /// By a stable 64-bit hash of the key bytes.
    Hashed,
    /// As unsigned 64-bit integers (keys are 8 little-endian bytes).
    Uint64,
    /// Lexically, byte by byte.
    Lexical,
}

impl ObjectType {
    /// The type for its numeric value.
    pub fn from_u8(value: u8) -> Option<ObjectType> {
        use ObjectType::*;
        Some(match value {
            0 => MultiHashed,
            1 => Oit,
            2 => DkeyUint64,
            3 => AkeyUint64,
            4 => MultiUint64,
            5 => DkeyLexical,
            6 => AkeyLexical,
            7 => MultiLexical,
            8 => KvHashed,
            9 => KvUint64,
            10 => KvLexical,
            11 => Array,
            12 => ArrayAttr,
            13 => ArrayByte,
            14 => OitV2,
            _ => return None,
        })
    }

    /// Ordering of dkeys (`daos_is_dkey_uint64` / `daos_is_dkey_lexical`).
    pub fn dkey_order(self) -> KeyOrder {
        use ObjectType::*;
        match self {
            DkeyUint64 | MultiUint64 | KvUint64 | Array | ArrayAttr | ArrayByte => KeyOrder::Uint64,
            DkeyLexical | MultiLexical | KvLexical => KeyOrder::Lexical,
            _ => KeyOrder::Hashed,
        }
    }

    /// Ordering of akeys (`daos_is_akey_uint64` / `daos_is_akey_lexical`).
    pub fn akey_order(self) -> KeyOrder {
        use ObjectType::*;
        match self {
            AkeyUint64 | MultiUint64 => KeyOrder::Uint64,
            AkeyLexical | MultiLexical => KeyOrder::Lexical,
            _ => KeyOrder::Hashed,
        }
    }

    /// Whether the object is an array (`daos_is_array`).
    pub fn is_array(self) -> bool {
        matches!(
            self,
            ObjectType::Array | ObjectType::ArrayAttr | ObjectType::ArrayByte
        )
    }

    /// Whether the object is a flat KV (`daos_is_kv`).
    pub fn is_kv(self) -> bool {
        matches!(
            self,
            ObjectType::KvHashed | ObjectType::KvUint64 | ObjectType::KvLexical
        )
    }
}

impl ObjectId {
    /// An id from its two halves.
    pub const fn new(lo: u64, hi: u64) -> ObjectId {
        ObjectId { lo, hi }
    }

    /// Sets the reserved bits as `daos_obj_generate_oid` does: keeps `lo` and the low 32 bits
    /// of `hi`, then encodes type, redundancy id and (clamped) group count.
    pub fn encode(self, otype: ObjectType, class: ObjectClass) -> ObjectId {
        let mut hi = self.hi & 0xFFFF_FFFF;
        hi |= (otype as u64) << OID_TYPE_SHIFT;
        hi |= u64::from(class.redundancy.id() & 0xFF) << OID_CLASS_SHIFT;
        hi |= u64::from(class.groups.min(GROUPS_MAX)) << OID_META_SHIFT;
        ObjectId { lo: self.lo, hi }
    }

    /// The object type bits (`daos_obj_id2type`); `None` for undefined values.
    pub fn object_type(self) -> Option<ObjectType> {
        ObjectType::from_u8((self.hi >> OID_TYPE_SHIFT) as u8)
    }

    /// The redundancy id bits (`daos_obj_id2ord`).
    pub fn redundancy_id(self) -> u32 {
        ((self.hi >> OID_CLASS_SHIFT) & 0xFF) as u32
    }

    /// The group count bits (`daos_obj_id2grp_nr`).
    pub fn group_count(self) -> u32 {
        ((self.hi >> OID_META_SHIFT) & 0xFFFF) as u32
    }

    /// The class id (`daos_obj_id2class`): `(ord << 24) | grp_nr`.
    pub fn class_id(self) -> OclassId {
        (self.redundancy_id() << OC_REDUN_SHIFT) | self.group_count()
    }

    /// The decoded class, if the reserved bits name one.
    pub fn class(self) -> Option<ObjectClass> {
        ObjectClass::from_id(self.class_id())
    }

    /// Whether this is `DAOS_OBJ_NIL`.
    pub fn is_nil(self) -> bool {
        self.lo == 0 && self.hi == 0
    }
}

impl fmt::Display for ObjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // DAOS prints oids as `hi.lo` (DF_OID).
        write!(f, "{}.{}", self.hi, self.lo)
    }
}

impl fmt::Debug for ObjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#x}.{:#x}", self.hi, self.lo)
    }
}

impl std::str::FromStr for ObjectId {
    type Err = crate::Error;

    fn from_str(text: &str) -> crate::Result<ObjectId> {
        let bad = || crate::Error::new(crate::Der::Inval, format!("bad object id {text:?}"));
        let (hi, lo) = text.split_once('.').ok_or_else(bad)?;
        Ok(ObjectId {
            hi: hi.parse().map_err(|_| bad())?,
            lo: lo.parse().map_err(|_| bad())?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_is_bit_exact() {
        let oid = ObjectId::new(7, 0xDEAD_BEEF).encode(ObjectType::ArrayByte, ObjectClass::SX);
        assert_eq!(oid.lo, 7);
        assert_eq!(oid.hi & 0xFFFF_FFFF, 0xDEAD_BEEF);
        assert_eq!(oid.hi >> 56, 13);
        assert_eq!((oid.hi >> 48) & 0xFF, 1);
        assert_eq!((oid.hi >> 32) & 0xFFFF, 0xFFFF);
        assert_eq!(oid.class_id(), 0x0100_FFFF);
        assert_eq!(oid.object_type(), Some(ObjectType::ArrayByte));
        assert_eq!(oid.class(), Some(ObjectClass::SX));
        // Re-encoding replaces the reserved bits and keeps user bits.
        let again = oid.encode(ObjectType::KvHashed, ObjectClass::S1);
        assert_eq!(again.hi & 0xFFFF_FFFF, 0xDEAD_BEEF);
        assert_eq!(again.class_id(), 0x0100_0001);
    }

    #[test]
    fn key_orders_follow_types() {
        assert_eq!(ObjectType::ArrayByte.dkey_order(), KeyOrder::Uint64);
        assert_eq!(ObjectType::ArrayByte.akey_order(), KeyOrder::Hashed);
        assert_eq!(ObjectType::MultiLexical.akey_order(), KeyOrder::Lexical);
        assert_eq!(ObjectType::KvHashed.dkey_order(), KeyOrder::Hashed);
    }

    #[test]
    fn display_round_trips() {
        let oid = ObjectId::new(42, 1 << 60);
        assert_eq!(oid.to_string().parse::<ObjectId>().unwrap(), oid);
    }
}
