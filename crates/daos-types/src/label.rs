//! Labels and the "label or UUID" strings that name pools and containers.
//!
//! Rule (`daos_label_is_valid`, `daos_prop.h`): a label is 1 to 127 characters from
//! `[A-Za-z0-9._:-]` and does not parse as a UUID. Every API that takes a pool or container
//! string accepts either form (`daos_pool_connect`, `daos_cont_open`, the CLIs).

use crate::codec::{Decoder, Encoder, Wire};
use crate::der::Der;
use crate::error::{Error, Result};
use uuid::Uuid;

/// `DAOS_PROP_LABEL_MAX_LEN`.
pub const LABEL_LEN_MAX: usize = 127;
/// `DAOS_SYS_NAME_MAX`.
pub const SYSTEM_NAME_LEN_MAX: usize = 15;
/// `DAOS_DEFAULT_SYS_NAME`.
pub const SYSTEM_NAME_DEFAULT: &str = "daos_server";

/// Whether `text` is a valid label (`daos_label_is_valid`).
pub fn is_valid_label(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= LABEL_LEN_MAX
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._:-".contains(&b))
        && Uuid::parse_str(text).is_err()
}

/// Checks a label. Errors: `-DER_INVAL` saying why.
pub fn check_label(text: &str) -> Result<()> {
    if is_valid_label(text) {
        Ok(())
    } else {
        Err(Error::new(
            Der::Inval,
            format!("invalid label {text:?}: 1-{LABEL_LEN_MAX} characters of [A-Za-z0-9._:-], not a UUID"),
        ))
    }
}

/// A pool or container named by label or by UUID.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum EntityRef {
    /// By label.
    Label(String),
    /// By UUID.
    Uuid(Uuid),
}

impl EntityRef {
    /// Parses a user string: a valid label is a label, otherwise it must be a UUID.
    ///
    /// Errors: `-DER_INVAL` if it is neither.
    pub fn parse(text: &str) -> Result<EntityRef> {
        if is_valid_label(text) {
            return Ok(EntityRef::Label(text.to_string()));
        }
        match Uuid::parse_str(text) {
            Ok(uuid) => Ok(EntityRef::Uuid(uuid)),
            Err(_) => Err(Error::new(
                Der::Inval,
                format!("{text:?} is neither a valid label nor a UUID"),
            )),
        }
    }
}

impl std::fmt::Display for EntityRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EntityRef::Label(label) => f.write_str(label),
            EntityRef::Uuid(uuid) => write!(f, "{uuid}"),
        }
    }
}

impl Wire for EntityRef {
    const ENCODED_SIZE_MIN: usize = 5;
    fn encode(&self, e: &mut Encoder) {
        match self {
            EntityRef::Label(label) => {
                e.u8(0).str(label);
            }
            EntityRef::Uuid(uuid) => {
                e.u8(1).uuid(uuid);
            }
        }
    }
    fn decode(d: &mut Decoder<'_>) -> Result<Self> {
        match d.u8("entity kind")? {
            0 => {
                let label = d.str(LABEL_LEN_MAX, "label")?;
                check_label(label)?;
                Ok(EntityRef::Label(label.to_string()))
            }
            1 => Ok(EntityRef::Uuid(d.uuid("uuid")?)),
            other => Err(Error::new(Der::Proto, format!("bad entity kind {other}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_and_uuids() {
        assert!(is_valid_label("tank"));
        assert!(is_valid_label("a.b:c-d_e"));
        assert!(!is_valid_label(""));
        assert!(!is_valid_label("has space"));
        assert!(!is_valid_label(&"x".repeat(128)));
        let uuid = "6d4d2d3c-7a54-4b8e-9c1b-0c9f2b1e7a11";
        assert!(!is_valid_label(uuid));
        assert_eq!(
            EntityRef::parse(uuid).unwrap(),
            EntityRef::Uuid(Uuid::parse_str(uuid).unwrap())
        );
        assert_eq!(
            EntityRef::parse("tank").unwrap(),
            EntityRef::Label("tank".into())
        );
        assert_eq!(
            EntityRef::parse("bad label!").unwrap_err().der(),
            Der::Inval
        );
    }
}
