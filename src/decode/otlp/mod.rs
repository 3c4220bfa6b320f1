//! OTLP logs decoder: one `ExportLogsServiceRequest` (protobuf or OTLP/JSON) → one event per
//! log record that names an alert rule.
//!
//! Owns: the OTLP message layout, which attributes mean what ([`super::OtlpMapping`] names
//! them), attribute value → label text, status → kind, which timestamp is the event time.
//! Does not own: the fingerprint algorithm (`event.rs`), the label filter and the
//! severity/service/team label names ([`super::DecodeOptions`]).
//!
//! Three front ends feed one mapping (`map::Mapper`), so they cannot disagree on meaning:
//!
//! * `wire`: the production protobuf path, a zero-copy walker over the bytes that borrows
//!   keys and strings and builds labels directly. It validates exactly what prost validates
//!   (wire types, lengths, UTF-8 of every string field, prost's recursion limit), including
//!   in the parts it otherwise skips, so a message is accepted iff prost would accept it.
//! * `reference`: prost decode + the same mapping. The walker's oracle in tests, and the
//!   source of the error text when a message is malformed.
//! * `json`: OTLP/JSON through serde, borrowing from the input; errors via
//!   [`super::from_json`], so they carry a path.
//!
//! Per record (see [`super::OtlpMapping`] for the attribute names):
//!
//! * Rule name: the first `alertname_attributes` name present; else the LogRecord
//!   `event_name` field. None: the record is not an alert, counted in [`Decoded::ignored`].
//! * Status (`status_attributes`): firing/alerting/active/triggered/open/problem → firing,
//!   resolved/ok/inactive/normal/closed/recovered → resolved, acknowledged/ack →
//!   acknowledged (any case); absent → firing; anything else refuses the message with
//!   `InvalidValue` naming the record and attribute.
//! * Severity: `severityNumber`, else `severityText`, else the severity label, else the
//!   configured default. Time: `timeUnixNano`, else `observedTimeUnixNano`, else
//!   `Ctx::received_at`, else `MissingField`.
//! * Annotations: `summary` (else a string body), `description`, `runbook_url` (else
//!   `runbook`). `source_id`: `alert.fingerprint` (else `fingerprint`); `dedup_key`:
//!   `dedup_key`.
//!
//! Attribute rules (all of them, in one place):
//!
//! * An attribute is looked up in the record's attributes first, then in the resource's. A
//!   list of names (rule name, status, `runbook_url`/`runbook`, `alert.fingerprint`/
//!   `fingerprint`) is searched in the record first, in name order; only if no name is in the
//!   record is the resource searched. A repeated key: the last occurrence wins (as for labels).
//! * An attribute without a value or with an empty string counts as absent for these
//!   lookups (an empty `alertname` does not make a record an alert).
//! * Labels: resource attributes, then record attributes (record wins), those the label
//!   filter admits, minus the status attributes (the status flips between firing and
//!   resolved and must not change the fingerprint) and the annotation attributes (`summary`,
//!   `description`, `runbook_url`, `runbook`). Attributes without a value are left out.
//!   Finally `alertname` is set to the rule name.
//! * Values as text: strings as they are; ints in decimal; doubles in the shortest decimal
//!   that round-trips, without exponent (`5012.5`, `3`; `NaN`, `+Inf`, `-Inf`, as the
//!   Collector's `AsString` prints them); bools `true`/`false`; bytes lowercase hex;
//!   arrays and kvlists compact JSON (inside it ints are numbers, bytes hex strings,
//!   non-finite doubles strings, values-less entries `null`).

use std::borrow::Cow;
use std::fmt::Write as _;

use compact_str::ToCompactString;

use super::{Ctx, DecodeError, Decoded, Format};
use crate::event::{AlertEvent, Str};

mod json;
mod map;
mod reference;
mod wire;

/// Decodes a protobuf `ExportLogsServiceRequest` (Kafka `otlp_proto`, OTLP/gRPC and
/// OTLP/HTTP bodies, already decompressed and without gRPC framing). A message is valid iff
/// prost decodes it; an invalid one gets prost's reason. On error `out` is left as it was.
pub fn decode_proto(
    bytes: &[u8],
    ctx: &Ctx<'_>,
    out: &mut Vec<AlertEvent>,
) -> Result<Decoded, DecodeError> {
    let mark = out.len();
    match wire::decode(bytes, ctx, out) {
        Ok(d) => Ok(d),
        Err(e) => {
            out.truncate(mark);
            // The slow path: let prost say what is wrong with the bytes. A mapping error only
            // stands if the whole message is well-formed (the walker stops at the first bad
            // record; prost-then-map would have refused a malformed tail first).
            match reference::parse(bytes) {
                Err(invalid) => Err(invalid),
                Ok(req) => match e {
                    wire::WalkError::Map(e) => Err(e),
                    // The walker refused what prost accepts: a walker bug. Serve the message
                    // from the reference path rather than dead-letter good data.
                    wire::WalkError::Malformed => {
                        debug_assert!(false, "walker refused a message prost accepts");
                        let r = reference::map(&req, ctx, out);
                        if r.is_err() {
                            out.truncate(mark);
                        }
                        r
                    }
                },
            }
        }
    }
}

/// Decodes an OTLP/JSON `ExportLogsServiceRequest` (camelCase or proto field names, 64-bit
/// ints as strings or numbers, hex trace/span ids ignored). On error `out` is left as it was.
pub fn decode_json(
    bytes: &[u8],
    ctx: &Ctx<'_>,
    out: &mut Vec<AlertEvent>,
) -> Result<Decoded, DecodeError> {
    let mark = out.len();
    let r = json::decode(bytes, ctx, out);
    if r.is_err() {
        out.truncate(mark);
    }
    r
}

/// The one-pass path of `decode_auto` for OTLP/JSON (see `sniff::decode_fast`, which
/// restores `out` on `None`): `Some` only if the request decodes and sniffing would call it
/// OTLP/JSON, with exactly what [`decode_json`] gives.
pub(crate) fn decode_json_sniffed(
    text: &str,
    ctx: &Ctx<'_>,
    out: &mut Vec<AlertEvent>,
) -> Option<Decoded> {
    json::decode_sniffed(text, ctx, out)
}

/// An OTLP `AnyValue`, borrowing from the input where it can. `Null` is "no value" (an
/// unset oneof, a `KeyValue` without value, or a profiles-only `string_value_strindex`).
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) enum AnyVal<'a> {
    #[default]
    Null,
    Str(Cow<'a, str>),
    Bool(bool),
    Int(i64),
    Double(f64),
    Bytes(Cow<'a, [u8]>),
    Array(Vec<AnyVal<'a>>),
    Kvlist(Vec<Attr<'a>>),
}

/// An OTLP `KeyValue`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Attr<'a> {
    pub key: Cow<'a, str>,
    pub val: AnyVal<'a>,
}

impl AnyVal<'_> {
    /// Present for attribute lookups: has a value and is not the empty string.
    fn is_present(&self) -> bool {
        match self {
            AnyVal::Null => false,
            AnyVal::Str(s) => !s.is_empty(),
            _ => true,
        }
    }

    /// The value as label text; `None` for no value.
    fn to_label(&self) -> Option<Str> {
        Some(match self {
            AnyVal::Null => return None,
            AnyVal::Str(s) => Str::from(&**s),
            AnyVal::Bool(true) => Str::const_new("true"),
            AnyVal::Bool(false) => Str::const_new("false"),
            AnyVal::Int(i) => i.to_compact_string(),
            AnyVal::Double(d) => {
                let mut s = Str::default();
                write_double(&mut s, *d);
                s
            }
            AnyVal::Bytes(b) => {
                let mut s = Str::with_capacity(b.len() * 2);
                write_hex(&mut s, b);
                s
            }
            AnyVal::Array(_) | AnyVal::Kvlist(_) => {
                let mut s = String::new();
                self.write_json(&mut s);
                Str::from(s)
            }
        })
    }

    /// The value as annotation text; `None` for no value.
    fn to_text(&self) -> Option<String> {
        match self {
            AnyVal::Str(s) => Some(String::from(&**s)),
            other => other.to_label().map(String::from),
        }
    }

    /// Compact JSON text of the value (for arrays and kvlists).
    fn write_json(&self, out: &mut String) {
        match self {
            AnyVal::Null => out.push_str("null"),
            AnyVal::Str(s) => write_json_str(out, s),
            AnyVal::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            AnyVal::Int(i) => {
                let _ = write!(out, "{i}");
            }
            AnyVal::Double(d) if d.is_finite() => write_double(out, *d),
            AnyVal::Double(d) => {
                out.push('"');
                write_double(out, *d);
                out.push('"');
            }
            AnyVal::Bytes(b) => {
                out.push('"');
                write_hex(out, b);
                out.push('"');
            }
            AnyVal::Array(items) => {
                out.push('[');
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    v.write_json(out);
                }
                out.push(']');
            }
            AnyVal::Kvlist(kvs) => {
                out.push('{');
                for (i, kv) in kvs.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write_json_str(out, &kv.key);
                    out.push(':');
                    kv.val.write_json(out);
                }
                out.push('}');
            }
        }
    }
}

/// Go's `strconv.FormatFloat(d, 'f', -1, 64)`: what the Collector's `AsString` prints.
fn write_double(out: &mut impl std::fmt::Write, d: f64) {
    let _ = if d.is_nan() {
        out.write_str("NaN")
    } else if d.is_infinite() {
        out.write_str(if d > 0.0 { "+Inf" } else { "-Inf" })
    } else {
        write!(out, "{d}")
    };
}

fn write_hex(out: &mut impl std::fmt::Write, bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for &b in bytes {
        let _ = out.write_char(HEX[(b >> 4) as usize] as char);
        let _ = out.write_char(HEX[(b & 15) as usize] as char);
    }
}

fn write_json_str(out: &mut String, s: &str) {
    out.push('"');
    let mut start = 0;
    for (i, c) in s.char_indices() {
        let esc: Option<&str> = match c {
            '"' => Some("\\\""),
            '\\' => Some("\\\\"),
            '\n' => Some("\\n"),
            '\r' => Some("\\r"),
            '\t' => Some("\\t"),
            c if (c as u32) < 0x20 => None,
            _ => continue,
        };
        out.push_str(&s[start..i]);
        match esc {
            Some(e) => out.push_str(e),
            None => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
        }
        start = i + c.len_utf8();
    }
    out.push_str(&s[start..]);
    out.push('"');
}

/// The refusal for an OTLP/JSON export of another signal.
fn other_signal(kind: &str) -> DecodeError {
    DecodeError::Unsupported {
        format: Format::OtlpJson,
        detail: format!("OTLP {kind}, not logs: only OTLP logs carry alert events"),
    }
}

#[cfg(test)]
mod tests;
