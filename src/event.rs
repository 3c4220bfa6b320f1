//! The one data model between decoders and the engine: [`AlertEvent`] and its parts.
//!
//! Every wire format decodes into these types and nothing else crosses into the engine.
//! Everything here is plain data: no I/O, no clock, no config lookups. Decoders own the
//! mapping from their format to these types; the engine owns what the events mean.

use std::fmt;
use std::str::FromStr;

use compact_str::CompactString;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Short strings (label names and values, ids) are stored inline up to 24 bytes, so a typical
/// label set costs no heap allocation per string.
pub type Str = CompactString;

/// Which wire format an event came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Source {
    Alertmanager,
    Grafana,
    #[serde(rename = "pagerduty-v2")]
    PagerDutyV2,
    #[serde(rename = "pagerduty-v3")]
    PagerDutyV3,
    Otlp,
    /// Alerts posted by Prometheus (or listed by Alertmanager's API) without a webhook.
    Prometheus,
    /// Grafana's legacy (dashboard) alerting webhook: one rule per body, no start time.
    #[serde(rename = "grafana-legacy")]
    GrafanaLegacy,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Alertmanager => "alertmanager",
            Source::Grafana => "grafana",
            Source::PagerDutyV2 => "pagerduty-v2",
            Source::PagerDutyV3 => "pagerduty-v3",
            Source::Otlp => "otlp",
            Source::Prometheus => "prometheus",
            Source::GrafanaLegacy => "grafana-legacy",
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What happened. `Firing` and `Resolved` are about one alert instance (its fingerprint);
/// `Acknowledged` and `Lifecycle` are about an incident named by [`AlertEvent::dedup_key`];
/// `Change` is about a service ([`AlertEvent::service`], [`AlertEvent::team`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// The alert is firing (first time or a repeat: the engine tells them apart).
    Firing,
    /// The alert stopped firing, or the incident named by the dedup key was resolved.
    Resolved,
    /// Someone (see [`AlertEvent::actor`]) acknowledged the incident named by the dedup key.
    Acknowledged,
    /// Any other incident lifecycle step (escalated, reassigned, annotated, ...).
    Lifecycle(LifecycleAction),
    /// A change to a service (a deploy, a config rollout: a PagerDuty Change Event). Not an
    /// alert: context the engine shows on the clusters of the service or team it names.
    Change,
}

impl EventKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            EventKind::Firing => "firing",
            EventKind::Resolved => "resolved",
            EventKind::Acknowledged => "acknowledged",
            EventKind::Lifecycle(_) => "lifecycle",
            EventKind::Change => "change",
        }
    }
}

/// Incident lifecycle steps other than acknowledge/resolve, named after PagerDuty's v3
/// webhook event types; `Other` keeps an unknown type's name so nothing is lost.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LifecycleAction {
    /// PagerDuty opened an incident (usually the echo of a page we sent).
    Triggered,
    Unacknowledged,
    Reopened,
    Reassigned,
    Escalated,
    Delegated,
    PriorityUpdated,
    Annotated,
    ResponderAdded,
    ResponderReplied,
    StatusUpdatePublished,
    Other(Str),
}

/// Who performed a lifecycle action: a person, or a machine (monitoring resolving its own
/// alert, an integration, an auto-resolve timeout).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Actor {
    Human,
    Automation,
}

/// Normalised severity, ordered from least to most severe so `max()` is the worst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Info,
    Warning,
    Error,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
            Severity::Critical => "critical",
        }
    }

    /// Maps the many spellings found in real rule sets (Prometheus `severity` labels,
    /// PagerDuty, syslog, Opsgenie-style P1..P5, SEV1..SEV4) to a [`Severity`].
    /// Returns `None` for anything unrecognised so the caller can apply its default.
    pub fn parse_loose(s: &str) -> Option<Severity> {
        let t = s.trim();
        let mut buf = [0u8; 16];
        if t.len() > buf.len() {
            return None;
        }
        for (d, c) in buf.iter_mut().zip(t.bytes()) {
            *d = c.to_ascii_lowercase();
        }
        let l = &buf[..t.len()];
        Some(match l {
            b"critical" | b"crit" | b"fatal" | b"emergency" | b"emerg" | b"alert" | b"page"
            | b"disaster" | b"p1" | b"sev1" | b"sev-1" | b"sev0" | b"sev-0" | b"p0" | b"high"
            | b"urgent" | b"blocker" => Severity::Critical,
            b"error" | b"err" | b"major" | b"p2" | b"sev2" | b"sev-2" | b"severe" => {
                Severity::Error
            }
            b"warning" | b"warn" | b"minor" | b"medium" | b"moderate" | b"average" | b"p3"
            | b"sev3" | b"sev-3" | b"ticket" => Severity::Warning,
            b"info" | b"informational" | b"information" | b"notice" | b"low" | b"none"
            | b"debug" | b"trace" | b"ok" | b"p4" | b"p5" | b"sev4" | b"sev-4" | b"sev5"
            | b"trivial" => Severity::Info,
            _ => return None,
        })
    }

    /// OpenTelemetry `SeverityNumber` (1..=24) to severity; 0 (unspecified) and out-of-range
    /// values give `None`.
    pub fn from_otel_number(n: i32) -> Option<Severity> {
        match n {
            1..=12 => Some(Severity::Info),
            13..=16 => Some(Severity::Warning),
            17..=20 => Some(Severity::Error),
            21..=24 => Some(Severity::Critical),
            _ => None,
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Event time in milliseconds since the Unix epoch (UTC). Millisecond resolution is finer
/// than any alerting source's evaluation interval and keeps the value in one `i64`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct EventTime(pub i64);

impl EventTime {
    pub const MIN: EventTime = EventTime(i64::MIN);
    pub const MAX: EventTime = EventTime(i64::MAX);

    pub fn from_millis(ms: i64) -> Self {
        EventTime(ms)
    }

    pub fn as_millis(self) -> i64 {
        self.0
    }

    pub fn from_unix_nanos(ns: u64) -> Self {
        EventTime((ns / 1_000_000) as i64)
    }

    /// Parses RFC 3339 (any offset; converted to UTC). Go's zero time
    /// `0001-01-01T00:00:00Z`, which Alertmanager uses for "no end", parses like any other.
    pub fn parse_rfc3339(s: &str) -> Option<Self> {
        chrono::DateTime::parse_from_rfc3339(s)
            .ok()
            .map(|t| EventTime(t.timestamp_millis()))
    }

    /// RFC 3339, or the near-misses real producers send: an offset without a colon
    /// (`+0000`, as in PagerDuty's own examples) or no offset at all (taken as UTC).
    pub fn parse_lenient(s: &str) -> Option<Self> {
        if let Some(t) = Self::parse_rfc3339(s) {
            return Some(t);
        }
        if let Ok(t) = chrono::DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f%z") {
            return Some(EventTime(t.timestamp_millis()));
        }
        chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
            .ok()
            .map(|t| EventTime(t.and_utc().timestamp_millis()))
    }

    /// RFC 3339 in UTC with millisecond precision, e.g. `2024-05-01T12:00:00.000Z`.
    pub fn to_rfc3339(self) -> String {
        match chrono::DateTime::from_timestamp_millis(self.0) {
            Some(t) => t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            None => String::from("invalid-time"),
        }
    }

    pub fn saturating_add_ms(self, ms: i64) -> Self {
        EventTime(self.0.saturating_add(ms))
    }
}

impl fmt::Display for EventTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

/// RFC 3339 text; times outside the calendar range (the engine's "minus infinity" before any
/// event) as plain milliseconds, which deserialisation also accepts.
impl Serialize for EventTime {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match chrono::DateTime::from_timestamp_millis(self.0) {
            Some(t) => s.collect_str(&t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
            None => s.serialize_i64(self.0),
        }
    }
}

impl<'de> Deserialize<'de> for EventTime {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = EventTime;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an RFC 3339 time")
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<EventTime, E> {
                EventTime::parse_rfc3339(s)
                    .ok_or_else(|| E::custom(format!("not an RFC 3339 time: {s:?}")))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<EventTime, E> {
                Ok(EventTime(v))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<EventTime, E> {
                i64::try_from(v)
                    .map(EventTime)
                    .map_err(|_| E::custom("time out of range"))
            }
        }
        d.deserialize_any(V)
    }
}

/// The Alertmanager / Prometheus label-set fingerprint: FNV-1a 64 over the labels sorted by
/// name, each name and value followed by the byte 0xff. Printed as 16 lowercase hex digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Fingerprint(pub u64);

const FNV_OFFSET: u64 = 14_695_981_039_346_656_037;
const FNV_PRIME: u64 = 1_099_511_628_211;
const SEP: u8 = 0xff;

#[inline]
fn fnv1a(mut h: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        h ^= b as u64;
        h = h.wrapping_mul(FNV_PRIME);
    }
    h
}

/// FNV-1a 64 of `bytes`: the fingerprint's hash, also used wherever the project needs a
/// stable, seedless hash (text signatures, holdout splits, generated ids).
#[inline]
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    fnv1a(FNV_OFFSET, bytes)
}

/// Which sender an alert came through, where the payload says: an Alertmanager's or
/// Grafana's receiver (`receiver` and `externalURL`). `send_resolved` is set per receiver,
/// so this is the grain at which the engine learns whether silence can mean "over" (see
/// `engine::resend`). A 32-bit hash: a deployment has tens of receivers, not thousands, and
/// a collision only shares what two receivers are known to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SenderId(pub std::num::NonZeroU32);

impl SenderId {
    /// The sender a `source` notification names by its receiver and external URL (either may
    /// be empty).
    pub fn of(source: Source, receiver: &str, external_url: &str) -> SenderId {
        let mut h = fnv1a(FNV_OFFSET, source.as_str().as_bytes());
        h = fnv1a(h, &[SEP]);
        h = fnv1a(h, receiver.as_bytes());
        h = fnv1a(h, &[SEP]);
        h = fnv1a(h, external_url.as_bytes());
        let folded = (h ^ (h >> 32)) as u32;
        SenderId(std::num::NonZeroU32::new(folded).unwrap_or(std::num::NonZeroU32::MIN))
    }
}

/// An Alertmanager or Grafana notification group (the webhook's `groupKey`), known by the
/// SHA-256 their PagerDuty integrations send as the group's `dedup_key` (Alertmanager's
/// `notify.Key.Hash`, which Grafana's alerting shares). An incident such an integration
/// opened names its group by that key, so where Alertmanager pages PagerDuty itself
/// (noisegate trialled beside it, or some routes not moved yet) the incident's
/// acknowledgement can still find the alerts it was about. Kept as the digest's first 64
/// bits, which is all the matching needs: the link index then holds one word per group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct GroupKey(pub u64);

impl GroupKey {
    pub fn of(group_key: &str) -> GroupKey {
        use sha2::Digest;
        let digest = sha2::Sha256::digest(group_key.as_bytes());
        let mut first = [0u8; 8];
        first.copy_from_slice(&digest[..8]);
        GroupKey(u64::from_be_bytes(first))
    }

    /// The group a PagerDuty key names, if it has the shape of such a key (64 hex digits).
    pub fn from_pagerduty_key(key: &str) -> Option<GroupKey> {
        if key.len() != 64 || !key.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        u64::from_str_radix(&key[..16], 16).ok().map(GroupKey)
    }
}

/// Every alert one notification of a group listed (firing or resolved), as our fingerprints:
/// sorted, without repeats. Alertmanager and Grafana send the whole group each time (unless
/// they truncated it), and leave an alert out only once it is over (resolved and reported,
/// or, under `send_resolved: false`, just resolved) or muted; so an alert a later
/// notification of the same group leaves out is no longer firing there (`engine/roster.rs`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "Vec<Fingerprint>", into = "Vec<Fingerprint>")]
pub struct Listing(Box<[Fingerprint]>);

impl Listing {
    pub fn new(mut fps: Vec<Fingerprint>) -> Listing {
        fps.sort_unstable();
        fps.dedup();
        Listing(fps.into_boxed_slice())
    }

    pub fn fingerprints(&self) -> &[Fingerprint] {
        &self.0
    }

    pub fn contains(&self, fp: Fingerprint) -> bool {
        self.0.binary_search(&fp).is_ok()
    }
}

impl From<Vec<Fingerprint>> for Listing {
    fn from(fps: Vec<Fingerprint>) -> Self {
        Listing::new(fps)
    }
}

impl From<Listing> for Vec<Fingerprint> {
    fn from(l: Listing) -> Self {
        l.0.into_vec()
    }
}

impl Fingerprint {
    /// Fingerprint of label pairs that are already sorted by name (as [`Labels`] keeps them).
    pub fn of_sorted<'a, I>(pairs: I) -> Fingerprint
    where
        I: IntoIterator<Item = (&'a str, &'a str)>,
    {
        let mut h = FNV_OFFSET;
        for (k, v) in pairs {
            h = fnv1a(h, k.as_bytes());
            h = fnv1a(h, &[SEP]);
            h = fnv1a(h, v.as_bytes());
            h = fnv1a(h, &[SEP]);
        }
        Fingerprint(h)
    }

    pub fn of_labels(labels: &Labels) -> Fingerprint {
        Fingerprint::of_sorted(labels.iter())
    }

    /// Parses exactly 16 hex digits (either case).
    pub fn parse_hex(s: &str) -> Option<Fingerprint> {
        if s.len() != 16 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        u64::from_str_radix(s, 16).ok().map(Fingerprint)
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

impl FromStr for Fingerprint {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Fingerprint::parse_hex(s).ok_or_else(|| format!("not a 16-hex-digit fingerprint: {s:?}"))
    }
}

impl Serialize for Fingerprint {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Fingerprint {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A label set: unique names, kept sorted by name (byte order), so fingerprinting and
/// comparison need no extra sort.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Labels(Vec<(Str, Str)>);

impl Labels {
    pub fn new() -> Self {
        Labels(Vec::new())
    }

    /// Builds a label set from pairs in any order; on a repeated name the last value wins.
    pub fn from_pairs<I, K, V>(pairs: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<Str>,
        V: Into<Str>,
    {
        let mut v: Vec<(Str, Str)> = pairs
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        Self::normalise(&mut v);
        Labels(v)
    }

    /// Takes ownership of a vector of pairs, sorting and de-duplicating it in place.
    pub fn from_vec(mut v: Vec<(Str, Str)>) -> Self {
        Self::normalise(&mut v);
        Labels(v)
    }

    fn normalise(v: &mut Vec<(Str, Str)>) {
        // Stable sort keeps input order among equal names, so "last wins" is well defined.
        v.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
        let mut i = v.len();
        while i > 1 {
            i -= 1;
            if v[i - 1].0 == v[i].0 {
                v.remove(i - 1);
            }
        }
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .binary_search_by(|(k, _)| k.as_bytes().cmp(name.as_bytes()))
            .ok()
            .map(|i| self.0[i].1.as_str())
    }

    /// Sets a label, keeping the set sorted.
    pub fn insert(&mut self, name: impl Into<Str>, value: impl Into<Str>) {
        let name = name.into();
        match self
            .0
            .binary_search_by(|(k, _)| k.as_bytes().cmp(name.as_bytes()))
        {
            Ok(i) => self.0[i].1 = value.into(),
            Err(i) => self.0.insert(i, (name, value.into())),
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn fingerprint(&self) -> Fingerprint {
        Fingerprint::of_labels(self)
    }
}

impl Serialize for Labels {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.iter())
    }
}

impl<'de> Deserialize<'de> for Labels {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let m = std::collections::BTreeMap::<Str, Str>::deserialize(d)?;
        Ok(Labels(m.into_iter().collect()))
    }
}

/// The human-facing text of an alert. Only the three fields the product uses are kept;
/// other annotations stay in the raw payload (dead letters and the source keep them).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Annotations {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runbook: Option<String>,
}

/// A key that names an incident across systems: a PagerDuty `dedup_key` / incident key, a
/// cluster id noisegate issued, or an alert fingerprint. The engine decides which it is.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DedupKey(pub Str);

impl DedupKey {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DedupKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One alert event, whatever format it came in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertEvent {
    pub source: Source,
    pub kind: EventKind,
    /// When it happened at the source (startsAt / endsAt / timestamp / occurred_at).
    pub time: EventTime,
    /// Our label-set fingerprint of the alert instance (never copied from the payload).
    pub fingerprint: Fingerprint,
    /// The source's own id for this alert or incident, when it has one (Alertmanager's or
    /// Grafana's `fingerprint`, PagerDuty's incident id), kept for cross-referencing.
    pub source_id: Option<Str>,
    /// The incident key this event names or carries (PagerDuty `dedup_key`, incident key).
    pub dedup_key: Option<DedupKey>,
    /// The rule's name (`alertname` label, PagerDuty class/summary, OTLP `event.name`).
    pub alertname: Str,
    pub labels: Labels,
    pub annotations: Annotations,
    pub severity: Severity,
    pub service: Option<Str>,
    pub team: Option<Str>,
    /// Who acted, for resolve/acknowledge/lifecycle events when the source says.
    pub actor: Option<Actor>,
    /// For a firing event: when the alert counts as resolved unless it is sent again (like
    /// Alertmanager's `resolve_timeout`). Set for sources that send point-in-time alerts
    /// without a resolve (an OTLP log record with no status); `None` means "until resolved".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ends_at: Option<EventTime>,
    /// The receiver that sent it, for senders that name one (Alertmanager, Grafana).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sender: Option<SenderId>,
    /// The notification group it was sent in, for senders that group (Alertmanager,
    /// Grafana).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<GroupKey>,
    /// On the last event of a complete notification of a group: every alert it listed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listed: Option<Listing>,
}

impl AlertEvent {
    /// Takes the event as of `t` instead of its stamp, when the stamp came from a clock known
    /// to be wrong. Its expiry moves with it: it was reckoned from the same clock.
    pub fn restamp(&mut self, t: EventTime) {
        let by = t.as_millis().saturating_sub(self.time.as_millis());
        self.time = t;
        self.ends_at = self.ends_at.map(|e| e.saturating_add_ms(by));
    }

    /// The id the sending system knows the alert by, when that is not our fingerprint: a
    /// PagerDuty trigger's `dedup_key`, Grafana's fingerprint (over labels its webhook does
    /// not show), or an Alertmanager fingerprint of relabelled labels. An untouched
    /// Alertmanager alert's fingerprint is ours, so it is not named twice.
    pub fn sender_id(&self) -> Option<&str> {
        let id = self
            .source_id
            .as_deref()
            .or(self.dedup_key.as_ref().map(|k| &*k.0))?;
        (Fingerprint::parse_hex(id) != Some(self.fingerprint)).then_some(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_matches_prometheus_vectors() {
        assert_eq!(Labels::new().fingerprint().to_string(), "cbf29ce484222325");
        let l = Labels::from_pairs([("name", "garland, briggs"), ("fear", "love is not enough")]);
        assert_eq!(l.fingerprint().0, 5_799_056_148_416_392_346);
        assert_eq!(l.fingerprint().to_string(), "507a62d79ee76c9a");
    }

    #[test]
    fn labels_sorted_and_last_wins() {
        let l = Labels::from_pairs([("b", "1"), ("a", "2"), ("b", "3")]);
        assert_eq!(l.iter().collect::<Vec<_>>(), vec![("a", "2"), ("b", "3")]);
        let mut l = l;
        l.insert("ab", "x");
        assert_eq!(l.get("ab"), Some("x"));
        assert_eq!(
            l.iter().map(|(k, _)| k).collect::<Vec<_>>(),
            vec!["a", "ab", "b"]
        );
    }

    #[test]
    fn severity_spellings() {
        assert_eq!(Severity::parse_loose("CRITICAL"), Some(Severity::Critical));
        assert_eq!(Severity::parse_loose("warn"), Some(Severity::Warning));
        assert_eq!(Severity::parse_loose("P2"), Some(Severity::Error));
        // The SRE book's page/ticket split: a ticket is worth a look, not a page.
        assert_eq!(Severity::parse_loose("ticket"), Some(Severity::Warning));
        assert_eq!(Severity::parse_loose("page"), Some(Severity::Critical));
        assert_eq!(Severity::parse_loose("whatever"), None);
        assert_eq!(Severity::from_otel_number(13), Some(Severity::Warning));
        assert_eq!(Severity::from_otel_number(0), None);
        assert!(Severity::Critical > Severity::Warning);
    }

    #[test]
    fn time_round_trip() {
        let t = EventTime::parse_rfc3339("2020-02-06T00:17:58.432911368Z").unwrap();
        assert_eq!(t.to_rfc3339(), "2020-02-06T00:17:58.432Z");
        let t2 = EventTime::parse_rfc3339("2020-02-05T19:17:58.432-05:00").unwrap();
        assert_eq!(t, t2);
        assert!(EventTime::parse_rfc3339("0001-01-01T00:00:00Z").is_some());
        assert!(EventTime::parse_rfc3339("yesterday").is_none());
        assert_eq!(
            EventTime::parse_lenient("2015-07-17T08:42:58.315+0000"),
            EventTime::parse_rfc3339("2015-07-17T08:42:58.315Z")
        );
        assert_eq!(
            EventTime::parse_lenient("2015-07-17T08:42:58"),
            EventTime::parse_rfc3339("2015-07-17T08:42:58Z")
        );
    }

    #[test]
    fn fingerprint_hex_parse() {
        assert_eq!(
            Fingerprint::parse_hex("a1bc48475b20e73d").map(|f| f.to_string()),
            Some("a1bc48475b20e73d".into())
        );
        assert!(Fingerprint::parse_hex("a1bc48475b20e73").is_none());
        assert!(Fingerprint::parse_hex("g1bc48475b20e73d").is_none());
    }
}
