//! Zero-copy protobuf walker for `ExportLogsServiceRequest`.
//!
//! Reads the wire format straight from the input slice: keys and string values are borrowed,
//! nothing is allocated for fields the mapping does not read, and each record's attributes
//! go into one reused scratch vector. Only array/kvlist attribute values build a small tree.
//!
//! It accepts exactly what prost accepts, so a message never means one thing here and
//! another in the reference path: every field the schema knows is checked for its wire
//! type, every string (also the skipped ones: schema URLs, scope names, entity refs) for
//! UTF-8, lengths against the enclosing message, unknown fields are skipped the way
//! `prost::encoding::skip_field` does (groups included), and the depth counter mirrors
//! prost's `DecodeContext` (limit 100, checked on entering a message and on skipping).
//! Repeated occurrences of a singular message field merge as in protobuf (a `resource` in
//! two parts, a `KeyValue.value` sent twice: a later oneof member replaces an earlier one,
//! a later `arrayValue` extends an earlier one); a `resource` after the `scopeLogs` is
//! still applied to them (two passes over each `ResourceLogs`, the second one cheap).
//!
//! Errors carry no text: on [`WalkError::Malformed`] the caller asks prost for its reason.

use std::borrow::Cow;

use prost::encoding::{decode_key, decode_varint, WireType};

use super::map::{Mapper, Pos, Record, ResourcePrep};
use super::{AnyVal, Attr};
use crate::decode::{Ctx, DecodeError, Decoded};
use crate::event::AlertEvent;

#[derive(Debug)]
pub(crate) enum WalkError {
    /// Not a valid encoding (prost would refuse it too).
    Malformed,
    /// Valid so far, but a record cannot be mapped (unknown status, no time).
    Map(DecodeError),
}

use WalkError::Malformed;

type R<T> = Result<T, WalkError>;

/// prost's `RECURSION_LIMIT`.
const RECURSION_LIMIT: u32 = 100;

/// `prost::encoding::decode_key`, with the one-byte case (tags 1..=15) inline.
#[inline(always)]
fn key(buf: &mut &[u8]) -> R<(u32, WireType)> {
    if let Some((&b, rest)) = buf.split_first().filter(|(&b, _)| b < 0x80) {
        let wt = WireType::try_from(u64::from(b & 7)).map_err(|_| Malformed)?;
        if b >> 3 == 0 {
            return Err(Malformed);
        }
        *buf = rest;
        return Ok((u32::from(b >> 3), wt));
    }
    decode_key(buf).map_err(|_| Malformed)
}

/// `prost::encoding::decode_varint`, with the one-byte case inline.
#[inline(always)]
fn varint(buf: &mut &[u8]) -> R<u64> {
    if let Some((&b, rest)) = buf.split_first().filter(|(&b, _)| b < 0x80) {
        *buf = rest;
        return Ok(u64::from(b));
    }
    decode_varint(buf).map_err(|_| Malformed)
}

#[inline(always)]
fn expect(wt: WireType, want: WireType) -> R<()> {
    if wt == want {
        Ok(())
    } else {
        Err(Malformed)
    }
}

#[inline(always)]
fn advance<'a>(buf: &mut &'a [u8], n: u64) -> R<&'a [u8]> {
    if n > buf.len() as u64 {
        return Err(Malformed);
    }
    let (head, tail) = buf.split_at(n as usize);
    *buf = tail;
    Ok(head)
}

/// A length-delimited payload (the length prefix is read here).
#[inline(always)]
fn delimited<'a>(buf: &mut &'a [u8]) -> R<&'a [u8]> {
    let n = varint(buf)?;
    advance(buf, n)
}

#[inline(always)]
fn bytes_field<'a>(wt: WireType, buf: &mut &'a [u8]) -> R<&'a [u8]> {
    expect(wt, WireType::LengthDelimited)?;
    delimited(buf)
}

#[inline(always)]
fn string_field<'a>(wt: WireType, buf: &mut &'a [u8]) -> R<&'a str> {
    std::str::from_utf8(bytes_field(wt, buf)?).map_err(|_| Malformed)
}

#[inline(always)]
fn varint_field(wt: WireType, buf: &mut &[u8]) -> R<u64> {
    expect(wt, WireType::Varint)?;
    varint(buf)
}

#[inline(always)]
fn fixed64_field(wt: WireType, buf: &mut &[u8]) -> R<u64> {
    expect(wt, WireType::SixtyFourBit)?;
    let b = advance(buf, 8)?;
    let mut a = [0u8; 8];
    a.copy_from_slice(b);
    Ok(u64::from_le_bytes(a))
}

#[inline(always)]
fn fixed32_field(wt: WireType, buf: &mut &[u8]) -> R<()> {
    expect(wt, WireType::ThirtyTwoBit)?;
    advance(buf, 4).map(|_| ())
}

/// A nested message field: its body, after prost's wire-type and recursion checks. `c` is
/// the depth budget of the enclosing message's fields; the body's fields get `c - 1`.
#[inline(always)]
fn message_field<'a>(wt: WireType, buf: &mut &'a [u8], c: u32) -> R<&'a [u8]> {
    expect(wt, WireType::LengthDelimited)?;
    if c == 0 {
        return Err(Malformed);
    }
    delimited(buf)
}

/// `prost::encoding::skip_field`.
fn skip(wt: WireType, tag: u32, buf: &mut &[u8], c: u32) -> R<()> {
    if c == 0 {
        return Err(Malformed);
    }
    match wt {
        WireType::Varint => varint(buf).map(|_| ()),
        WireType::ThirtyTwoBit => advance(buf, 4).map(|_| ()),
        WireType::SixtyFourBit => advance(buf, 8).map(|_| ()),
        WireType::LengthDelimited => delimited(buf).map(|_| ()),
        WireType::StartGroup => loop {
            let (t, w) = key(buf)?;
            if w == WireType::EndGroup {
                return if t == tag { Ok(()) } else { Err(Malformed) };
            }
            skip(w, t, buf, c - 1)?;
        },
        WireType::EndGroup => Err(Malformed),
    }
}

/// Merges one `AnyValue` body into `state`. With `keep == false` (values nobody reads)
/// arrays and kvlists are validated but not built.
fn any_value<'a>(state: &mut AnyVal<'a>, mut b: &'a [u8], c: u32, keep: bool) -> R<()> {
    while !b.is_empty() {
        let (tag, wt) = key(&mut b)?;
        match tag {
            1 => *state = AnyVal::Str(Cow::Borrowed(string_field(wt, &mut b)?)),
            2 => *state = AnyVal::Bool(varint_field(wt, &mut b)? != 0),
            3 => *state = AnyVal::Int(varint_field(wt, &mut b)? as i64),
            4 => *state = AnyVal::Double(f64::from_bits(fixed64_field(wt, &mut b)?)),
            5 => {
                let m = message_field(wt, &mut b, c)?;
                if !matches!(state, AnyVal::Array(_)) {
                    *state = AnyVal::Array(Vec::new());
                }
                if let AnyVal::Array(items) = state {
                    array_value(items, m, c - 1, keep)?;
                }
            }
            6 => {
                let m = message_field(wt, &mut b, c)?;
                if !matches!(state, AnyVal::Kvlist(_)) {
                    *state = AnyVal::Kvlist(Vec::new());
                }
                if let AnyVal::Kvlist(kvs) = state {
                    kvlist_value(kvs, m, c - 1, keep)?;
                }
            }
            7 => *state = AnyVal::Bytes(Cow::Borrowed(bytes_field(wt, &mut b)?)),
            // string_value_strindex: an index into a profiles dictionary; nothing to show.
            8 => {
                varint_field(wt, &mut b)?;
                *state = AnyVal::Null;
            }
            _ => skip(wt, tag, &mut b, c)?,
        }
    }
    Ok(())
}

fn array_value<'a>(items: &mut Vec<AnyVal<'a>>, mut b: &'a [u8], c: u32, keep: bool) -> R<()> {
    while !b.is_empty() {
        let (tag, wt) = key(&mut b)?;
        match tag {
            1 => {
                let m = message_field(wt, &mut b, c)?;
                let mut v = AnyVal::Null;
                any_value(&mut v, m, c - 1, keep)?;
                if keep {
                    items.push(v);
                }
            }
            _ => skip(wt, tag, &mut b, c)?,
        }
    }
    Ok(())
}

fn kvlist_value<'a>(kvs: &mut Vec<Attr<'a>>, mut b: &'a [u8], c: u32, keep: bool) -> R<()> {
    while !b.is_empty() {
        let (tag, wt) = key(&mut b)?;
        match tag {
            1 => {
                let m = message_field(wt, &mut b, c)?;
                let kv = key_value(m, c - 1, keep)?;
                if keep {
                    kvs.push(kv);
                }
            }
            _ => skip(wt, tag, &mut b, c)?,
        }
    }
    Ok(())
}

fn key_value<'a>(b: &'a [u8], c: u32, keep: bool) -> R<Attr<'a>> {
    let mut kv = Attr {
        key: Cow::Borrowed(""),
        val: AnyVal::Null,
    };
    key_value_into(&mut kv, b, c, keep)?;
    Ok(kv)
}

/// Parses a `KeyValue` into `kv`, which starts empty.
fn key_value_into<'a>(kv: &mut Attr<'a>, mut b: &'a [u8], c: u32, keep: bool) -> R<()> {
    while !b.is_empty() {
        let (tag, wt) = key(&mut b)?;
        match tag {
            1 => kv.key = Cow::Borrowed(string_field(wt, &mut b)?),
            2 => {
                let m = message_field(wt, &mut b, c)?;
                any_value(&mut kv.val, m, c - 1, keep)?;
            }
            3 => {
                varint_field(wt, &mut b)?;
            }
            _ => skip(wt, tag, &mut b, c)?,
        }
    }
    Ok(())
}

/// Parses a `KeyValue` straight into a new last element of `attrs` (no 56-byte copy from
/// the stack per attribute: this is the walker's hottest store).
fn push_key_value<'a>(attrs: &mut Vec<Attr<'a>>, b: &'a [u8], c: u32) -> R<()> {
    attrs.push(Attr {
        key: Cow::Borrowed(""),
        val: AnyVal::Null,
    });
    match attrs.last_mut() {
        Some(kv) => key_value_into(kv, b, c, true),
        None => Ok(()),
    }
}

/// `InstrumentationScope`: validated, not read.
fn scope(mut b: &[u8], c: u32) -> R<()> {
    while !b.is_empty() {
        let (tag, wt) = key(&mut b)?;
        match tag {
            1 | 2 => {
                string_field(wt, &mut b)?;
            }
            3 => {
                let m = message_field(wt, &mut b, c)?;
                key_value(m, c - 1, false)?;
            }
            4 => {
                varint_field(wt, &mut b)?;
            }
            _ => skip(wt, tag, &mut b, c)?,
        }
    }
    Ok(())
}

/// `EntityRef`: validated, not read.
fn entity_ref(mut b: &[u8], c: u32) -> R<()> {
    while !b.is_empty() {
        let (tag, wt) = key(&mut b)?;
        match tag {
            1..=4 => {
                string_field(wt, &mut b)?;
            }
            _ => skip(wt, tag, &mut b, c)?,
        }
    }
    Ok(())
}

/// `Resource`: appends its attributes.
fn resource<'a>(mut b: &'a [u8], c: u32, attrs: &mut Vec<Attr<'a>>) -> R<()> {
    while !b.is_empty() {
        let (tag, wt) = key(&mut b)?;
        match tag {
            1 => {
                let m = message_field(wt, &mut b, c)?;
                push_key_value(attrs, m, c - 1)?;
            }
            2 => {
                varint_field(wt, &mut b)?;
            }
            3 => {
                let m = message_field(wt, &mut b, c)?;
                entity_ref(m, c - 1)?;
            }
            _ => skip(wt, tag, &mut b, c)?,
        }
    }
    Ok(())
}

struct Walk<'o, 'c, 'a> {
    m: Mapper<'c>,
    out: &'o mut Vec<AlertEvent>,
    /// The current record's attributes (reused: one allocation per message).
    rec: Vec<Attr<'a>>,
}

impl<'a> Walk<'_, '_, 'a> {
    fn log_record(
        &mut self,
        mut b: &'a [u8],
        c: u32,
        prep: &mut ResourcePrep<'_, '_>,
        pos: Pos,
    ) -> R<()> {
        self.rec.clear();
        let mut time = 0;
        let mut observed = 0;
        let mut severity_number = 0;
        let mut severity_text = "";
        let mut body = AnyVal::Null;
        let mut event_name = "";
        while !b.is_empty() {
            let (tag, wt) = key(&mut b)?;
            match tag {
                1 => time = fixed64_field(wt, &mut b)?,
                2 => severity_number = varint_field(wt, &mut b)? as i32,
                3 => severity_text = string_field(wt, &mut b)?,
                5 => {
                    let m = message_field(wt, &mut b, c)?;
                    any_value(&mut body, m, c - 1, false)?;
                }
                6 => {
                    let m = message_field(wt, &mut b, c)?;
                    push_key_value(&mut self.rec, m, c - 1)?;
                }
                7 => {
                    varint_field(wt, &mut b)?;
                }
                8 => fixed32_field(wt, &mut b)?,
                9 | 10 => {
                    bytes_field(wt, &mut b)?;
                }
                11 => observed = fixed64_field(wt, &mut b)?,
                12 => event_name = string_field(wt, &mut b)?,
                _ => skip(wt, tag, &mut b, c)?,
            }
        }
        let rec = Record {
            attrs: &self.rec,
            time_unix_nano: time,
            observed_time_unix_nano: observed,
            severity_number,
            severity_text,
            body: match &body {
                AnyVal::Str(s) => Some(&**s),
                _ => None,
            },
            event_name,
        };
        self.m
            .record(prep, &rec, pos, self.out)
            .map_err(WalkError::Map)
    }

    fn scope_logs(
        &mut self,
        mut b: &'a [u8],
        c: u32,
        prep: &mut ResourcePrep<'_, '_>,
        mut pos: Pos,
    ) -> R<()> {
        pos.record = 0;
        while !b.is_empty() {
            let (tag, wt) = key(&mut b)?;
            match tag {
                1 => {
                    let m = message_field(wt, &mut b, c)?;
                    scope(m, c - 1)?;
                }
                2 => {
                    let m = message_field(wt, &mut b, c)?;
                    self.log_record(m, c - 1, prep, pos)?;
                    pos.record += 1;
                }
                3 => {
                    string_field(wt, &mut b)?;
                }
                _ => skip(wt, tag, &mut b, c)?,
            }
        }
        Ok(())
    }

    fn resource_logs(&mut self, body: &'a [u8], c: u32, mut pos: Pos) -> R<()> {
        // Pass 1: the resource (wherever it is, in however many parts), and the framing of
        // everything else.
        let mut attrs: Vec<Attr<'a>> = Vec::new();
        let mut b = body;
        while !b.is_empty() {
            let (tag, wt) = key(&mut b)?;
            match tag {
                1 => {
                    let m = message_field(wt, &mut b, c)?;
                    resource(m, c - 1, &mut attrs)?;
                }
                2 => {
                    message_field(wt, &mut b, c)?;
                }
                3 => {
                    string_field(wt, &mut b)?;
                }
                _ => skip(wt, tag, &mut b, c)?,
            }
        }
        let mut prep = self.m.resource(&attrs);
        // Pass 2: the scopes and their records.
        pos.scope = 0;
        let mut b = body;
        while !b.is_empty() {
            let (tag, wt) = key(&mut b)?;
            match tag {
                2 => {
                    let m = message_field(wt, &mut b, c)?;
                    self.scope_logs(m, c - 1, &mut prep, pos)?;
                    pos.scope += 1;
                }
                // Checked in pass 1.
                1 | 3 => {
                    bytes_field(wt, &mut b)?;
                }
                _ => skip(wt, tag, &mut b, c)?,
            }
        }
        Ok(())
    }
}

/// Walks one request, appending events. On error `out` may hold a partial result (the
/// caller truncates).
pub(crate) fn decode(
    bytes: &[u8],
    ctx: &Ctx<'_>,
    out: &mut Vec<AlertEvent>,
) -> Result<Decoded, WalkError> {
    let mut w = Walk {
        m: Mapper::new(ctx),
        out,
        rec: Vec::new(),
    };
    let c = RECURSION_LIMIT;
    let mut b = bytes;
    let mut pos = Pos::default();
    while !b.is_empty() {
        let (tag, wt) = key(&mut b)?;
        match tag {
            1 => {
                let m = message_field(wt, &mut b, c)?;
                w.resource_logs(m, c - 1, pos)?;
                pos.resource += 1;
            }
            _ => skip(wt, tag, &mut b, c)?,
        }
    }
    Ok(w.m.decoded)
}
