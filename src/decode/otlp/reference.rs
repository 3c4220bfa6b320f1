//! The reference protobuf path: prost decodes the whole request, then the shared mapping
//! runs over borrowed views of it. Simple and obviously right, but it allocates every string
//! of the message; [`super::wire`] must give the same result and is what production uses.

use std::borrow::Cow;

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value::Value, AnyValue, KeyValue};
use prost::Message;

use super::map::{Mapper, Pos, Record};
use super::{AnyVal, Attr};
use crate::decode::{Ctx, DecodeError, Decoded};
use crate::event::AlertEvent;

/// prost's verdict on the bytes, with a hint when they look like a gRPC frame.
pub(crate) fn parse(bytes: &[u8]) -> Result<ExportLogsServiceRequest, DecodeError> {
    ExportLogsServiceRequest::decode(bytes).map_err(|e| {
        let mut detail = e.to_string();
        if looks_like_grpc_frame(bytes) {
            detail.push_str(
                " (the payload starts with a 5-byte gRPC length prefix: strip the framing \
                 before decoding)",
            );
        }
        DecodeError::InvalidProtobuf { detail }
    })
}

/// A gRPC message frame: a compressed flag (0 or 1), then the big-endian length of the rest.
fn looks_like_grpc_frame(bytes: &[u8]) -> bool {
    match bytes {
        [0 | 1, a, b, c, d, rest @ ..] => {
            u32::from_be_bytes([*a, *b, *c, *d]) as usize == rest.len()
        }
        _ => false,
    }
}

pub(crate) fn any(v: Option<&AnyValue>) -> AnyVal<'_> {
    match v.and_then(|v| v.value.as_ref()) {
        None | Some(Value::StringValueStrindex(_)) => AnyVal::Null,
        Some(Value::StringValue(s)) => AnyVal::Str(Cow::Borrowed(s)),
        Some(Value::BoolValue(b)) => AnyVal::Bool(*b),
        Some(Value::IntValue(i)) => AnyVal::Int(*i),
        Some(Value::DoubleValue(d)) => AnyVal::Double(*d),
        Some(Value::BytesValue(b)) => AnyVal::Bytes(Cow::Borrowed(b)),
        Some(Value::ArrayValue(a)) => {
            AnyVal::Array(a.values.iter().map(|v| any(Some(v))).collect())
        }
        Some(Value::KvlistValue(l)) => AnyVal::Kvlist(l.values.iter().map(attr).collect()),
    }
}

pub(crate) fn attr(kv: &KeyValue) -> Attr<'_> {
    Attr {
        key: Cow::Borrowed(&kv.key),
        val: any(kv.value.as_ref()),
    }
}

/// Maps a decoded request. Appends events in record order; stops at the first error (the
/// caller truncates).
pub(crate) fn map(
    req: &ExportLogsServiceRequest,
    ctx: &Ctx<'_>,
    out: &mut Vec<AlertEvent>,
) -> Result<Decoded, DecodeError> {
    let mut m = Mapper::new(ctx);
    let mut rec_attrs: Vec<Attr<'_>> = Vec::new();
    for (ri, rl) in req.resource_logs.iter().enumerate() {
        let res_attrs: Vec<Attr<'_>> = rl
            .resource
            .iter()
            .flat_map(|r| r.attributes.iter().map(attr))
            .collect();
        let mut prep = m.resource(&res_attrs);
        for (si, sl) in rl.scope_logs.iter().enumerate() {
            for (li, lr) in sl.log_records.iter().enumerate() {
                rec_attrs.clear();
                rec_attrs.extend(lr.attributes.iter().map(attr));
                let body = match lr.body.as_ref().and_then(|b| b.value.as_ref()) {
                    Some(Value::StringValue(s)) => Some(s.as_str()),
                    _ => None,
                };
                let rec = Record {
                    attrs: &rec_attrs,
                    time_unix_nano: lr.time_unix_nano,
                    observed_time_unix_nano: lr.observed_time_unix_nano,
                    severity_number: lr.severity_number,
                    severity_text: &lr.severity_text,
                    body,
                    event_name: &lr.event_name,
                };
                let pos = Pos {
                    resource: ri,
                    scope: si,
                    record: li,
                };
                m.record(&mut prep, &rec, pos, out)?;
            }
        }
    }
    Ok(m.decoded)
}

/// The whole reference path: prost decode, then map.
#[cfg(test)]
pub(crate) fn decode(
    bytes: &[u8],
    ctx: &Ctx<'_>,
    out: &mut Vec<AlertEvent>,
) -> Result<Decoded, DecodeError> {
    let req = parse(bytes)?;
    let mark = out.len();
    let r = map(&req, ctx, out);
    if r.is_err() {
        out.truncate(mark);
    }
    r
}
