//! TODO: grafana decoder.
use super::{Ctx, DecodeError, Decoded};
use crate::event::AlertEvent;

pub fn decode(_bytes: &[u8], _ctx: &Ctx<'_>, _out: &mut Vec<AlertEvent>) -> Result<Decoded, DecodeError> {
    Err(DecodeError::UnknownFormat { detail: "not implemented".into() })
}
