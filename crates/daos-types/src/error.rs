//! The error type every DAOS-level operation returns: a DER code plus a message.
//!
//! DAOS's C API reports only the code; we keep a message beside it so logs and CLI output say
//! *what* was wrong (`DER_NONEXIST(-1005): 'The specified entity does not exist': pool "tank"`),
//! while the C layer and the wire protocol carry just the code.

use crate::der::Der;
use std::borrow::Cow;
use std::fmt;

/// A DAOS error: the DER code and a human-readable context.
#[derive(Clone, PartialEq, Eq)]
pub struct Error {
    der: Der,
    context: Cow<'static, str>,
}

/// Result alias for DAOS-level operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An error with a message.
    pub fn new(der: Der, context: impl Into<Cow<'static, str>>) -> Error {
        Error {
            der,
            context: context.into(),
        }
    }

    /// An error with no further context.
    pub const fn bare(der: Der) -> Error {
        Error {
            der,
            context: Cow::Borrowed(""),
        }
    }

    /// The DER code.
    pub const fn der(&self) -> Der {
        self.der
    }

    /// The negative return code a DAOS C function gives for this error.
    pub const fn rc(&self) -> i32 {
        self.der.rc()
    }

    /// The errno DFS gives for this error.
    pub const fn errno(&self) -> i32 {
        self.der.to_errno()
    }

    /// The context message (may be empty).
    pub fn context(&self) -> &str {
        &self.context
    }

    /// The same code with more context prepended (`"while X: <old context>"`).
    pub fn with_context(self, outer: impl fmt::Display) -> Error {
        let context = if self.context.is_empty() {
            outer.to_string()
        } else {
            format!("{outer}: {}", self.context)
        };
        Error {
            der: self.der,
            context: Cow::Owned(context),
        }
    }

    /// Whether this is the given code.
    pub fn is(&self, der: Der) -> bool {
        self.der == der
    }
}

impl From<Der> for Error {
    fn from(der: Der) -> Error {
        Error::bare(der)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.context.is_empty() {
            write!(f, "{}", self.der)
        } else {
            write!(f, "{}: {}", self.der, self.context)
        }
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::error::Error for Error {}

impl From<std::io::Error> for Error {
    fn from(err: std::io::Error) -> Error {
        let der = match err.raw_os_error() {
            Some(errno) => Der::from_errno(errno),
            None => match err.kind() {
                std::io::ErrorKind::NotFound => Der::Nonexist,
                std::io::ErrorKind::AlreadyExists => Der::Exist,
                std::io::ErrorKind::PermissionDenied => Der::NoPerm,
                std::io::ErrorKind::InvalidInput | std::io::ErrorKind::InvalidData => Der::Inval,
                std::io::ErrorKind::TimedOut => Der::Timedout,
                std::io::ErrorKind::OutOfMemory => Der::Nomem,
                _ => Der::Io,
            },
        };
        // Errno values DAOS maps to MISC are I/O failures in this context.
        let der = if der == Der::Misc { Der::Io } else { der };
        Error::new(der, err.to_string())
    }
}

/// Shorthand: `Err(Error::new(der, msg))`.
pub fn fail<T>(der: Der, context: impl Into<Cow<'static, str>>) -> Result<T> {
    Err(Error::new(der, context))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_code_and_context() {
        let err = Error::new(Der::Nonexist, "pool \"tank\"");
        assert_eq!(
            err.to_string(),
            "DER_NONEXIST(-1005): 'The specified entity does not exist': pool \"tank\""
        );
        assert_eq!(err.rc(), -1005);
        let outer = err.with_context("connecting");
        assert!(outer.to_string().ends_with("connecting: pool \"tank\""));
    }

    #[test]
    fn io_errors_map_to_der() {
        let err: Error = std::io::Error::from_raw_os_error(28).into();
        assert_eq!(err.der(), Der::Nospace);
        let err: Error = std::io::Error::other("boom").into();
        assert_eq!(err.der(), Der::Io);
    }
}
