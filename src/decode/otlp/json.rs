//! OTLP/JSON: the protobuf JSON mapping of `ExportLogsServiceRequest`, as the OTLP spec
//! narrows it. Borrowed from the input where no escape forces a copy.
//!
//! Accepted, as the spec asks of receivers: camelCase and the proto field names
//! (`timeUnixNano` / `time_unix_nano`); 64-bit ints as strings or numbers; `null` for any
//! field (= its default). Also accepted: `severityNumber` as the enum name
//! (`"SEVERITY_NUMBER_WARN"`), `doubleValue` as `"NaN"`/`"Infinity"`/`"-Infinity"`, base64
//! `bytesValue` with or without padding, standard or URL-safe. Ignored: `traceId`,
//! `spanId`, `flags`, scopes, schema URLs and any unknown field.

use std::borrow::Cow;
use std::fmt;

use base64::alphabet;
use base64::engine::general_purpose::GeneralPurpose;
use base64::engine::{DecodePaddingMode, GeneralPurposeConfig};
use base64::Engine as _;
use serde::de::{self, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;

use super::map::{Mapper, Pos, Record};
use super::{other_signal, AnyVal, Attr};
use crate::decode::{from_json, Ctx, DecodeError, Decoded, Text};
use crate::event::AlertEvent;

/// `null` → the default value.
fn nullable<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

#[derive(Deserialize)]
struct Request<'a> {
    #[serde(
        borrow,
        default,
        rename = "resourceLogs",
        alias = "resource_logs",
        deserialize_with = "nullable"
    )]
    resource_logs: Vec<ResourceLogs<'a>>,
    #[serde(default, rename = "resourceMetrics", alias = "resource_metrics")]
    resource_metrics: Option<IgnoredAny>,
    #[serde(default, rename = "resourceSpans", alias = "resource_spans")]
    resource_spans: Option<IgnoredAny>,
    #[serde(default, rename = "resourceProfiles", alias = "resource_profiles")]
    resource_profiles: Option<IgnoredAny>,
}

#[derive(Deserialize, Default)]
struct ResourceLogs<'a> {
    #[serde(borrow, default)]
    resource: Option<Resource<'a>>,
    #[serde(
        borrow,
        default,
        rename = "scopeLogs",
        alias = "scope_logs",
        deserialize_with = "nullable"
    )]
    scope_logs: Vec<ScopeLogs<'a>>,
}

#[derive(Deserialize, Default)]
struct Resource<'a> {
    #[serde(borrow, default, deserialize_with = "nullable")]
    attributes: Vec<Attr<'a>>,
}

#[derive(Deserialize, Default)]
struct ScopeLogs<'a> {
    #[serde(
        borrow,
        default,
        rename = "logRecords",
        alias = "log_records",
        deserialize_with = "nullable"
    )]
    log_records: Vec<LogRecord<'a>>,
}

#[derive(Deserialize, Default)]
struct LogRecord<'a> {
    #[serde(default, rename = "timeUnixNano", alias = "time_unix_nano")]
    time_unix_nano: U64,
    #[serde(
        default,
        rename = "observedTimeUnixNano",
        alias = "observed_time_unix_nano"
    )]
    observed_time_unix_nano: U64,
    #[serde(default, rename = "severityNumber", alias = "severity_number")]
    severity_number: SeverityNumber,
    #[serde(borrow, default, rename = "severityText", alias = "severity_text")]
    severity_text: CowStr<'a>,
    #[serde(borrow, default)]
    body: AnyVal<'a>,
    #[serde(borrow, default, deserialize_with = "nullable")]
    attributes: Vec<Attr<'a>>,
    #[serde(borrow, default, rename = "eventName", alias = "event_name")]
    event_name: CowStr<'a>,
}

/// A string, borrowed when it has no escapes; `null` is the empty string.
#[derive(Default)]
struct CowStr<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for CowStr<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = CowStr<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Self::Value, E> {
                Ok(CowStr(Cow::Borrowed(s)))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
                Ok(CowStr(Cow::Owned(s.to_owned())))
            }
            fn visit_string<E: de::Error>(self, s: String) -> Result<Self::Value, E> {
                Ok(CowStr(Cow::Owned(s)))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(CowStr(Cow::Borrowed("")))
            }
        }
        d.deserialize_any(V)
    }
}

/// A 64-bit integer sent as a JSON string (the OTLP/JSON rule) or number; `null` is 0.
macro_rules! int64_type {
    ($name:ident, $ty:ty, $what:literal) => {
        #[derive(Default, Clone, Copy)]
        struct $name($ty);

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl Visitor<'_> for V {
                    type Value = $name;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str(concat!($what, " as a string or a number"))
                    }
                    fn visit_u64<E: de::Error>(self, v: u64) -> Result<$name, E> {
                        <$ty>::try_from(v).map($name).map_err(|_| {
                            E::custom(format!(concat!("{} is out of range for ", $what), v))
                        })
                    }
                    fn visit_i64<E: de::Error>(self, v: i64) -> Result<$name, E> {
                        <$ty>::try_from(v).map($name).map_err(|_| {
                            E::custom(format!(concat!("{} is out of range for ", $what), v))
                        })
                    }
                    fn visit_f64<E: de::Error>(self, v: f64) -> Result<$name, E> {
                        // `1e18`-style numbers: fine if integral and in range.
                        // (`MAX as f64` rounds up to a power of two: exclusive.)
                        if v.fract() == 0.0 && v >= <$ty>::MIN as f64 && v < <$ty>::MAX as f64 {
                            Ok($name(v as $ty))
                        } else {
                            Err(E::custom(format!(concat!("{} is not ", $what), v)))
                        }
                    }
                    fn visit_str<E: de::Error>(self, s: &str) -> Result<$name, E> {
                        s.trim()
                            .parse::<$ty>()
                            .map($name)
                            .map_err(|_| E::custom(format!(concat!("{:?} is not ", $what), s)))
                    }
                    fn visit_unit<E: de::Error>(self) -> Result<$name, E> {
                        Ok($name(0))
                    }
                }
                d.deserialize_any(V)
            }
        }
    };
}

int64_type!(U64, u64, "a uint64");
int64_type!(I64, i64, "an int64");

/// `SeverityNumber`: the enum's number (the OTLP/JSON rule) or its name.
#[derive(Default, Clone, Copy)]
struct SeverityNumber(i32);

impl<'de> Deserialize<'de> for SeverityNumber {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = SeverityNumber;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a SeverityNumber (0..=24) or its name")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<SeverityNumber, E> {
                i32::try_from(v)
                    .map(SeverityNumber)
                    .map_err(|_| E::custom(format!("{v} is out of range for an enum")))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<SeverityNumber, E> {
                i32::try_from(v)
                    .map(SeverityNumber)
                    .map_err(|_| E::custom(format!("{v} is out of range for an enum")))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<SeverityNumber, E> {
                severity_by_name(s)
                    .or_else(|| s.parse().ok())
                    .map(SeverityNumber)
                    .ok_or_else(|| E::custom(format!("{s:?} is not a SeverityNumber")))
            }
            fn visit_unit<E: de::Error>(self) -> Result<SeverityNumber, E> {
                Ok(SeverityNumber(0))
            }
        }
        d.deserialize_any(V)
    }
}

fn severity_by_name(s: &str) -> Option<i32> {
    const LEVELS: [&str; 6] = ["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"];
    let rest = s.strip_prefix("SEVERITY_NUMBER_")?;
    if rest == "UNSPECIFIED" {
        return Some(0);
    }
    let (level, n) = match rest.char_indices().find(|(_, c)| c.is_ascii_digit()) {
        Some((i, _)) => (&rest[..i], rest[i..].parse::<i32>().ok()?),
        None => (rest, 1),
    };
    if !(1..=4).contains(&n) {
        return None;
    }
    let base = LEVELS.iter().position(|l| *l == level)? as i32;
    Some(base * 4 + n)
}

/// A double as a JSON number or one of the strings protobuf JSON allows. Taken from the raw
/// text and parsed by `str::parse`, which rounds correctly (serde_json's default float parser
/// can be one ulp off, and the label text, hence the fingerprint, would then differ from the
/// protobuf path's for the same alert).
struct F64(Option<f64>);

impl<'de> Deserialize<'de> for F64 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = <&'de RawValue>::deserialize(d)?.get();
        let num = match raw.as_bytes().first() {
            Some(b'n') if raw == "null" => return Ok(F64(None)),
            Some(b'"') => {
                let s: CowStr<'_> = serde_json::from_str(raw).map_err(de::Error::custom)?;
                match &*s.0 {
                    "NaN" => return Ok(F64(Some(f64::NAN))),
                    "Infinity" => return Ok(F64(Some(f64::INFINITY))),
                    "-Infinity" => return Ok(F64(Some(f64::NEG_INFINITY))),
                    t => t.trim().parse::<f64>().ok().filter(|v| v.is_finite()),
                }
            }
            Some(b'-' | b'0'..=b'9') => raw.parse::<f64>().ok(),
            _ => None,
        };
        num.map(|v| F64(Some(v))).ok_or_else(|| {
            de::Error::custom(format!(
                "expected a number, \"NaN\", \"Infinity\" or \"-Infinity\", found {raw}"
            ))
        })
    }
}

/// `bytesValue`: base64 (the protobuf JSON rule), standard or URL-safe, padded or not.
struct Base64(Vec<u8>);

const PAD_ANY: GeneralPurposeConfig =
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
const STANDARD: GeneralPurpose = GeneralPurpose::new(&alphabet::STANDARD, PAD_ANY);
const URL_SAFE: GeneralPurpose = GeneralPurpose::new(&alphabet::URL_SAFE, PAD_ANY);

impl<'de> Deserialize<'de> for Base64 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = CowStr::deserialize(d)?.0;
        let engine = if s.contains(['-', '_']) {
            &URL_SAFE
        } else {
            &STANDARD
        };
        engine
            .decode(s.as_bytes())
            .map(Base64)
            .map_err(|e| de::Error::custom(format!("invalid base64: {e}")))
    }
}

#[derive(Deserialize)]
struct ArrayValue<'a> {
    #[serde(borrow, default, deserialize_with = "nullable")]
    values: Vec<AnyVal<'a>>,
}

#[derive(Deserialize)]
struct KvlistValue<'a> {
    #[serde(borrow, default, deserialize_with = "nullable")]
    values: Vec<Attr<'a>>,
}

impl<'de: 'a, 'a> Deserialize<'de> for AnyVal<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = AnyVal<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an AnyValue object (stringValue, intValue, ...)")
            }
            fn visit_unit<E: de::Error>(self) -> Result<AnyVal<'de>, E> {
                Ok(AnyVal::Null)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<AnyVal<'de>, A::Error> {
                // A oneof: the last member present wins; `null` members are unset.
                let mut v = AnyVal::Null;
                while let Some(k) = m.next_key::<CowStr<'de>>()? {
                    match &*k.0 {
                        "stringValue" | "string_value" => {
                            if let Some(s) = m.next_value::<Option<CowStr<'de>>>()? {
                                v = AnyVal::Str(s.0);
                            }
                        }
                        "boolValue" | "bool_value" => {
                            if let Some(b) = m.next_value::<Option<bool>>()? {
                                v = AnyVal::Bool(b);
                            }
                        }
                        "intValue" | "int_value" => {
                            if let Some(i) = m.next_value::<Option<I64>>()? {
                                v = AnyVal::Int(i.0);
                            }
                        }
                        "doubleValue" | "double_value" => {
                            if let Some(x) = m.next_value::<F64>()?.0 {
                                v = AnyVal::Double(x);
                            }
                        }
                        "bytesValue" | "bytes_value" => {
                            if let Some(b) = m.next_value::<Option<Base64>>()? {
                                v = AnyVal::Bytes(Cow::Owned(b.0));
                            }
                        }
                        "arrayValue" | "array_value" => {
                            if let Some(a) = m.next_value::<Option<ArrayValue<'de>>>()? {
                                v = AnyVal::Array(a.values);
                            }
                        }
                        "kvlistValue" | "kvlist_value" => {
                            if let Some(a) = m.next_value::<Option<KvlistValue<'de>>>()? {
                                v = AnyVal::Kvlist(a.values);
                            }
                        }
                        _ => {
                            m.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(v)
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Attr<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct KeyValue<'a> {
            #[serde(borrow, default)]
            key: CowStr<'a>,
            #[serde(borrow, default)]
            value: AnyVal<'a>,
        }
        let kv = KeyValue::deserialize(d)?;
        Ok(Attr {
            key: kv.key.0,
            val: kv.value,
        })
    }
}

/// A request parsed on the one-pass path of `decode_auto` (see `sniff::decode_fast`).
/// Stricter than the derived `Request`, never looser, so whatever it accepts the two-pass
/// path (sniff, then [`decode`]) decodes the same way: `resourceLogs` must be present (what
/// makes sniffing say OTLP/JSON), a `version` must parse as a JSON value (sniffing parses
/// it), and a key of another signal refuses the request (the two-pass path has the reason).
struct Sniffed<'a>(Request<'a>);

impl<'de> Deserialize<'de> for Sniffed<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Sniffed<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an OTLP/JSON logs export request")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Sniffed<'de>, A::Error> {
                let mut logs: Option<Vec<ResourceLogs<'de>>> = None;
                while let Some(key) = m.next_key::<Text<'de>>()? {
                    match key.as_str() {
                        "resourceLogs" | "resource_logs" if logs.is_none() => {
                            logs = Some(
                                m.next_value::<Option<Vec<ResourceLogs<'de>>>>()?
                                    .unwrap_or_default(),
                            );
                        }
                        "resourceLogs" | "resource_logs" => {
                            return Err(de::Error::custom("duplicate field"))
                        }
                        "resourceMetrics" | "resource_metrics" | "resourceSpans"
                        | "resource_spans" | "resourceProfiles" | "resource_profiles" => {
                            return Err(de::Error::custom("another signal"))
                        }
                        "version" => {
                            m.next_value::<serde_json::Value>()?;
                        }
                        _ => {
                            m.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                let logs = logs.ok_or_else(|| de::Error::missing_field("resourceLogs"))?;
                Ok(Sniffed(Request {
                    resource_logs: logs,
                    resource_metrics: None,
                    resource_spans: None,
                    resource_profiles: None,
                }))
            }
        }
        d.deserialize_map(V)
    }
}

/// The one-pass path for a body whose format is not known yet: valid UTF-8 `text` parsed
/// once (see [`Sniffed`]). `None` when it cannot (not OTLP logs, or any error): the caller
/// then takes the two-pass path, which gives the precise error. On `None`, `out` may hold
/// partial events for the caller to cut.
pub(crate) fn decode_sniffed(
    text: &str,
    ctx: &Ctx<'_>,
    out: &mut Vec<AlertEvent>,
) -> Option<Decoded> {
    let Sniffed(req) = serde_json::from_str(text).ok()?;
    map_request(&req, ctx, out).ok()
}

pub(crate) fn decode(
    bytes: &[u8],
    ctx: &Ctx<'_>,
    out: &mut Vec<AlertEvent>,
) -> Result<Decoded, DecodeError> {
    let req: Request<'_> = from_json(bytes)?;
    if req.resource_logs.is_empty() {
        let other = [
            (req.resource_metrics.is_some(), "metrics"),
            (req.resource_spans.is_some(), "traces"),
            (req.resource_profiles.is_some(), "profiles"),
        ];
        if let Some((_, kind)) = other.iter().find(|(present, _)| *present) {
            return Err(other_signal(kind));
        }
    }
    map_request(&req, ctx, out)
}

/// A parsed request → events.
fn map_request(
    req: &Request<'_>,
    ctx: &Ctx<'_>,
    out: &mut Vec<AlertEvent>,
) -> Result<Decoded, DecodeError> {
    let mut m = Mapper::new(ctx);
    for (ri, rl) in req.resource_logs.iter().enumerate() {
        let res_attrs = rl.resource.as_ref().map_or(&[][..], |r| &r.attributes[..]);
        let mut prep = m.resource(res_attrs);
        for (si, sl) in rl.scope_logs.iter().enumerate() {
            for (li, lr) in sl.log_records.iter().enumerate() {
                let rec = Record {
                    attrs: &lr.attributes,
                    time_unix_nano: lr.time_unix_nano.0,
                    observed_time_unix_nano: lr.observed_time_unix_nano.0,
                    severity_number: lr.severity_number.0,
                    severity_text: &lr.severity_text.0,
                    body: match &lr.body {
                        AnyVal::Str(s) => Some(&**s),
                        _ => None,
                    },
                    event_name: &lr.event_name.0,
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
