//! TODO sniff
use super::{DecodeError, Format};
pub fn sniff(_bytes: &[u8]) -> Result<Format, DecodeError> {
    Err(DecodeError::UnknownFormat { detail: "not implemented".into() })
}
