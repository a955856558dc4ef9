//! Object classes: redundancy scheme plus group count, with DAOS's numeric ids and names.
//!
//! Follows `daos_obj_class.h` (DAOS API 2.8): an explicit-layout class id is
//! `(redundancy << 24) | groups`, where `groups == 0xFFFF` means "as many as there are
//! targets" (the `X` suffix). Names are exact and case-sensitive, without the `OC_` prefix:
//! `"S1"`, `"SX"`, `"RP_2G1"`, `"RP_3GX"`, `"EC_4P2G1"`, `"EC_16P3GX"`.

/// `daos_oclass_id_t`.
pub type OclassId = u32;

/// `OC_UNKNOWN`: let the library choose from the container's redundancy factor.
pub const OC_UNKNOWN: OclassId = 0;
/// `OC_REDUN_SHIFT`.
pub const OC_REDUN_SHIFT: u32 = 24;
/// `MAX_NUM_GROUPS`: the group count that means "all targets".
pub const GROUPS_MAX: u32 = 0xFFFF;
/// `MAX_OBJ_CLASS_NAME_LEN`, including the terminating NUL.
pub const OCLASS_NAME_LEN_MAX: usize = 24;

/// Group counts DAOS predefines a named class for.
const GROUP_CHOICES: [u32; 9] = [1, 2, 4, 6, 8, 12, 16, 32, GROUPS_MAX];

/// Replication factors with a `OR_RP_<n>` id, in id order starting at `OR_RP_2 = 8`.
const RP_FACTORS: [u32; 13] = [2, 3, 4, 5, 6, 8, 12, 16, 24, 32, 48, 64, 128];

/// Erasure-code schemes `(data, parity)` with a `OR_RS_<k>P<p>` id, in id order starting at
/// `OR_RS_2P1 = 32`.
pub const EC_SCHEMES: [(u32, u32); 11] = [
    (2, 1),
    (2, 2),
    (4, 1),
    (4, 2),
    (8, 1),
    (8, 2),
    (16, 1),
    (16, 2),
    (4, 3),
    (8, 3),
    (16, 3),
];

/// `OR_RP_1`: plain striping, no redundancy.
pub const OR_RP_1: u32 = 1;
/// `OR_RP_2`, the first replication id.
pub const OR_RP_2: u32 = 8;
/// `OR_RS_2P1`, the first erasure-code id.
pub const OR_RS_2P1: u32 = 32;

/// The redundancy part of an object class (`enum daos_obj_redun`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Redundancy {
    /// No redundancy: one shard per group (`S<n>`).
    None,
    /// `replicas` full copies per group (`RP_<n>`).
    Replicated {
        /// Copies per group.
        replicas: u32,
    },
    /// Reed-Solomon with `data` data cells and `parity` parity cells per group (`EC_<k>P<p>`).
    ErasureCoded {
        /// Data cells per stripe.
        data: u32,
        /// Parity cells per stripe.
        parity: u32,
    },
}

impl Redundancy {
    /// The 8-bit redundancy id (`OR_*`).
    pub fn id(self) -> u32 {
        match self {
            Redundancy::None => OR_RP_1,
            Redundancy::Replicated { replicas } => {
                let index = RP_FACTORS.iter().position(|r| *r == replicas).unwrap_or(0);
                OR_RP_2 + index as u32
            }
            Redundancy::ErasureCoded { data, parity } => {
                let index = EC_SCHEMES
                    .iter()
                    .position(|s| *s == (data, parity))
                    .unwrap_or(0);
                OR_RS_2P1 + index as u32
            }
        }
    }

    /// The scheme for an 8-bit redundancy id, if DAOS defines it.
    pub fn from_id(id: u32) -> Option<Redundancy> {
        if id == OR_RP_1 {
            return Some(Redundancy::None);
        }
        if (OR_RP_2..OR_RP_2 + RP_FACTORS.len() as u32).contains(&id) {
            return Some(Redundancy::Replicated {
                replicas: RP_FACTORS[(id - OR_RP_2) as usize],
            });
        }
        if (OR_RS_2P1..OR_RS_2P1 + EC_SCHEMES.len() as u32).contains(&id) {
            let (data, parity) = EC_SCHEMES[(id - OR_RS_2P1) as usize];
            return Some(Redundancy::ErasureCoded { data, parity });
        }
        None
    }

    /// Shards in one redundancy group.
    pub fn group_size(self) -> u32 {
        match self {
            Redundancy::None => 1,
            Redundancy::Replicated { replicas } => replicas,
            Redundancy::ErasureCoded { data, parity } => data + parity,
        }
    }

    /// How many shards of a group may be lost without losing data.
    pub fn fault_tolerance(self) -> u32 {
        match self {
            Redundancy::None => 0,
            Redundancy::Replicated { replicas } => replicas - 1,
            Redundancy::ErasureCoded { parity, .. } => parity,
        }
    }
}

/// An explicit-layout object class: a redundancy scheme and a group count.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ObjectClass {
    /// The redundancy scheme of each group.
    pub redundancy: Redundancy,
    /// Number of redundancy groups; [`GROUPS_MAX`] means one per available target.
    pub groups: u32,
}

impl ObjectClass {
    /// `OC_S1`.
    pub const S1: ObjectClass = ObjectClass {
        redundancy: Redundancy::None,
        groups: 1,
    };
    /// `OC_SX`.
    pub const SX: ObjectClass = ObjectClass {
        redundancy: Redundancy::None,
        groups: GROUPS_MAX,
    };

    /// The numeric id (`OBJ_CLASS_DEF(redun, groups)`).
    pub fn id(self) -> OclassId {
        (self.redundancy.id() << OC_REDUN_SHIFT) | (self.groups & GROUPS_MAX)
    }

    /// The class for an explicit-layout id, or `None` for `OC_UNKNOWN`, the predefined
    /// auto-sized classes and undefined values.
    pub fn from_id(id: OclassId) -> Option<ObjectClass> {
        let redundancy = Redundancy::from_id(id >> OC_REDUN_SHIFT)?;
        let groups = id & GROUPS_MAX;
        if groups == 0 || id >> OC_REDUN_SHIFT > 0xFF {
            return None;
        }
        Some(ObjectClass { redundancy, groups })
    }

    /// DAOS's name for the class (`daos_oclass_id2name`).
    pub fn name(self) -> String {
        let groups = if self.groups == GROUPS_MAX {
            "X".to_string()
        } else {
            self.groups.to_string()
        };
        match self.redundancy {
            Redundancy::None => format!("S{groups}"),
            Redundancy::Replicated { replicas } => format!("RP_{replicas}G{groups}"),
            Redundancy::ErasureCoded { data, parity } => format!("EC_{data}P{parity}G{groups}"),
        }
    }

    /// The class for a DAOS name (`daos_oclass_name2id`): exact, case-sensitive, no `OC_`.
    pub fn from_name(name: &str) -> Option<ObjectClass> {
        let parse_groups = |text: &str| -> Option<u32> {
            let groups = if text == "X" {
                GROUPS_MAX
            } else {
                text.parse().ok()?
            };
            GROUP_CHOICES.contains(&groups).then_some(groups)
        };
        if let Some(rest) = name.strip_prefix("RP_") {
            let (replicas, groups) = rest.split_once('G')?;
            let replicas: u32 = replicas.parse().ok()?;
            if !RP_FACTORS.contains(&replicas) || replicas.to_string().len() != rest.find('G')? {
                return None;
            }
            let class = ObjectClass {
                redundancy: Redundancy::Replicated { replicas },
                groups: parse_groups(groups)?,
            };
            return (class.name() == name).then_some(class);
        }
        if let Some(rest) = name.strip_prefix("EC_") {
            let (data, rest) = rest.split_once('P')?;
            let (parity, groups) = rest.split_once('G')?;
            let scheme = (data.parse().ok()?, parity.parse().ok()?);
            if !EC_SCHEMES.contains(&scheme) {
                return None;
            }
            let class = ObjectClass {
                redundancy: Redundancy::ErasureCoded {
                    data: scheme.0,
                    parity: scheme.1,
                },
                groups: parse_groups(groups)?,
            };
            return (class.name() == name).then_some(class);
        }
        if let Some(groups) = name.strip_prefix('S') {
            let class = ObjectClass {
                redundancy: Redundancy::None,
                groups: parse_groups(groups)?,
            };
            return (class.name() == name).then_some(class);
        }
        None
    }

    /// Every named class, for listings (`daos_oclass_names_list`).
    pub fn all_named() -> Vec<ObjectClass> {
        let mut classes = Vec::new();
        for groups in GROUP_CHOICES {
            classes.push(ObjectClass {
                redundancy: Redundancy::None,
                groups,
            });
        }
        for replicas in RP_FACTORS {
            for groups in GROUP_CHOICES {
                classes.push(ObjectClass {
                    redundancy: Redundancy::Replicated { replicas },
                    groups,
                });
            }
        }
        for (data, parity) in EC_SCHEMES {
            for groups in GROUP_CHOICES {
                classes.push(ObjectClass {
                    redundancy: Redundancy::ErasureCoded { data, parity },
                    groups,
                });
            }
        }
        classes
    }
}

/// `daos_oclass_name2id`: the id for a name, or [`OC_UNKNOWN`] when it is not a class name.
pub fn name_to_id(name: &str) -> OclassId {
    ObjectClass::from_name(name).map_or(OC_UNKNOWN, ObjectClass::id)
}

/// `daos_oclass_id2name`: the name for an id, if it is an explicit-layout class.
pub fn id_to_name(id: OclassId) -> Option<String> {
    ObjectClass::from_id(id).map(ObjectClass::name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_match_daos() {
        let check = |name: &str, id: u32| {
            assert_eq!(name_to_id(name), id, "{name}");
            assert_eq!(id_to_name(id).as_deref(), Some(name), "{id:#x}");
        };
        check("S1", 0x0100_0001);
        check("S2", 0x0100_0002);
        check("SX", 0x0100_FFFF);
        check("RP_2G1", 0x0800_0001);
        check("RP_2GX", 0x0800_FFFF);
        check("RP_3G1", 0x0900_0001);
        check("EC_2P1G1", 0x2000_0001);
        check("EC_2P1GX", 0x2000_FFFF);
        check("EC_4P2G1", 0x2300_0001);
        check("EC_16P3GX", 0x2A00_FFFF);
    }

    #[test]
    fn names_are_exact() {
        for bad in [
            "s1", "OC_S1", "S3", "RP_7G1", "EC_3P1G1", "RP_2G", "EC_4P2", "", "SXX", "RP_02G1",
        ] {
            assert_eq!(name_to_id(bad), OC_UNKNOWN, "{bad}");
        }
        assert_eq!(id_to_name(0), None);
        assert_eq!(id_to_name(51), None);
    }

    #[test]
    fn every_named_class_round_trips() {
        for class in ObjectClass::all_named() {
            assert_eq!(ObjectClass::from_name(&class.name()), Some(class));
            assert_eq!(ObjectClass::from_id(class.id()), Some(class));
            assert!(class.name().len() < OCLASS_NAME_LEN_MAX);
        }
    }
}
