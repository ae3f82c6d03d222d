//! The one error type of the testbed: a message saying what failed and why.

use std::fmt;

/// Why a testbed could not be built or a host operation failed.
#[derive(Debug)]
pub struct Error(pub(crate) String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "testbed: {}", self.0)
    }
}

impl std::error::Error for Error {}

pub(crate) type Result<T> = std::result::Result<T, Error>;

/// Shorthand for building an [`Error`] from anything printable.
pub(crate) fn err(message: impl Into<String>) -> Error {
    Error(message.into())
}
