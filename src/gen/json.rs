//! A tiny JSON value that keeps object keys in insertion order, so generated payloads have
//! the field order their real producers use (serde_json's `Value` sorts keys), plus the time
//! formats the producers print.

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

/// A JSON value with ordered objects.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum J {
    Null,
    Bool(bool),
    I(i64),
    F(f64),
    S(String),
    A(Vec<J>),
    O(Vec<(String, J)>),
}

impl J {
    /// Compact JSON text.
    pub(crate) fn line(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| String::from("{}"))
    }

    /// A JSON object of string values (labels, annotations), in the order given.
    pub(crate) fn map<K: AsRef<str>, V: AsRef<str>>(pairs: &[(K, V)]) -> J {
        J::O(
            pairs
                .iter()
                .map(|(k, v)| (k.as_ref().to_string(), J::S(v.as_ref().to_string())))
                .collect(),
        )
    }
}

impl Serialize for J {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            J::Null => s.serialize_unit(),
            J::Bool(b) => s.serialize_bool(*b),
            J::I(i) => s.serialize_i64(*i),
            J::F(f) => s.serialize_f64(*f),
            J::S(x) => s.serialize_str(x),
            J::A(v) => {
                let mut q = s.serialize_seq(Some(v.len()))?;
                for e in v {
                    q.serialize_element(e)?;
                }
                q.end()
            }
            J::O(v) => {
                let mut m = s.serialize_map(Some(v.len()))?;
                for (k, e) in v {
                    m.serialize_entry(k, e)?;
                }
                m.end()
            }
        }
    }
}

impl From<&str> for J {
    fn from(v: &str) -> J {
        J::S(v.to_string())
    }
}
impl From<String> for J {
    fn from(v: String) -> J {
        J::S(v)
    }
}
impl From<&String> for J {
    fn from(v: &String) -> J {
        J::S(v.clone())
    }
}
impl From<i64> for J {
    fn from(v: i64) -> J {
        J::I(v)
    }
}
impl From<u32> for J {
    fn from(v: u32) -> J {
        J::I(v as i64)
    }
}
impl From<usize> for J {
    fn from(v: usize) -> J {
        J::I(v as i64)
    }
}
impl From<f64> for J {
    fn from(v: f64) -> J {
        J::F(v)
    }
}
impl From<bool> for J {
    fn from(v: bool) -> J {
        J::Bool(v)
    }
}
impl From<Vec<J>> for J {
    fn from(v: Vec<J>) -> J {
        J::A(v)
    }
}
impl<T: Into<J>> From<Option<T>> for J {
    fn from(v: Option<T>) -> J {
        v.map_or(J::Null, Into::into)
    }
}

/// `obj! { "key" => value, ... }`: an ordered JSON object.
macro_rules! obj {
    ($($k:expr => $v:expr),* $(,)?) => {
        $crate::gen::json::J::O(vec![$((String::from($k), $crate::gen::json::J::from($v))),*])
    };
}

/// `2026-11-02T09:15:30.123Z`
pub(crate) fn ts_ms(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|d| d.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
        .unwrap_or_default()
}

/// `2026-11-02T09:15:30Z`
pub(crate) fn ts_s(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|d| d.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

/// Go's RFC 3339 with nanoseconds, as Alertmanager prints times: the millisecond time plus
/// `sub` (0..1e6) nanoseconds, e.g. `2026-11-02T09:15:30.123456789Z`.
pub(crate) fn ts_ns(ms: i64, sub: u64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|d| {
            format!(
                "{}.{:03}{:06}Z",
                d.format("%Y-%m-%dT%H:%M:%S"),
                ms.rem_euclid(1000),
                sub % 1_000_000
            )
        })
        .unwrap_or_default()
}

/// The PagerDuty Events API examples' style: `2026-11-02T09:15:30.123+0000`.
pub(crate) fn ts_pd(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|d| d.format("%Y-%m-%dT%H:%M:%S%.3f+0000").to_string())
        .unwrap_or_default()
}
