//! TODO: OTLP logs decoder.
use super::{Ctx, DecodeError, Decoded};
use crate::event::AlertEvent;

pub fn decode_proto(_bytes: &[u8], _ctx: &Ctx<'_>, _out: &mut Vec<AlertEvent>) -> Result<Decoded, DecodeError> {
    Err(DecodeError::UnknownFormat { detail: "not implemented".into() })
}
pub fn decode_json(_bytes: &[u8], _ctx: &Ctx<'_>, _out: &mut Vec<AlertEvent>) -> Result<Decoded, DecodeError> {
    Err(DecodeError::UnknownFormat { detail: "not implemented".into() })
}
