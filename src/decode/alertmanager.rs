//! Alertmanager webhook (version 4) decoder: one notification → one event per alert.
//!
//! Also the parser for Grafana's unified-alerting webhook, which has the same shape plus
//! extra fields (see `grafana.rs`). Owns: the webhook body layout, status → kind, which
//! timestamp is the event time, annotation names. Does not own: the fingerprint algorithm
//! (`event.rs`), severity/service/team label names (`DecodeOptions`).
//!
//! Event time: a firing alert's `startsAt`; a resolved alert's `endsAt` (Alertmanager sets it
//! to the resolve time). Alertmanager re-sends a firing alert every `group_interval` with
//! the same `startsAt`, so re-sends carry the time the alert began, not the time they were
//! sent: the engine treats them as repeats, which is what they are.
//!
//! The last event of a notification that names its group and was not truncated carries the
//! group's [`Listing`]: every alert in it, so the engine can tell which alerts a later
//! notification of the group leaves out.
//!
//! The `fingerprint` in the payload is kept as the event's `source_id` but never trusted as
//! identity: ours is computed from the labels (real-world payloads with edited labels carry
//! stale fingerprints), and for untouched Alertmanager payloads the two are equal.

use std::fmt;

use serde::de::{self, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};

use super::{from_json, Ctx, DecodeError, Decoded, Format, Text};
use crate::event::{
    Actor, AlertEvent, Annotations, EventKind, EventTime, GroupKey, Labels, Listing, SenderId,
    Source, Str,
};

/// A JSON object of string → string, collected straight into label pairs without an
/// intermediate map (short names and values stay inline in `Str`).
#[derive(Default)]
pub(crate) struct LabelMap(pub Vec<(Str, Str)>);

impl<'de> Deserialize<'de> for LabelMap {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = LabelMap;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of string labels")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<LabelMap, A::Error> {
                let mut v = Vec::with_capacity(m.size_hint().unwrap_or(8).min(64));
                while let Some((k, val)) = m.next_entry::<Str, Str>()? {
                    v.push((k, val));
                }
                Ok(LabelMap(v))
            }
        }
        d.deserialize_map(V)
    }
}

/// The annotations noisegate uses; every other annotation is ignored without being copied.
#[derive(Deserialize, Default)]
pub(crate) struct AnnotationFields<'a> {
    #[serde(borrow, default)]
    summary: Option<Text<'a>>,
    /// Older rule sets put the one-line text here.
    #[serde(borrow, default)]
    message: Option<Text<'a>>,
    #[serde(borrow, default)]
    description: Option<Text<'a>>,
    #[serde(borrow, default)]
    runbook_url: Option<Text<'a>>,
    #[serde(borrow, default)]
    runbook: Option<Text<'a>>,
}

impl AnnotationFields<'_> {
    pub(super) fn into_annotations(self) -> Annotations {
        Annotations {
            summary: self.summary.or(self.message).map(Text::into_owned),
            description: self.description.map(Text::into_owned),
            runbook: self.runbook_url.or(self.runbook).map(Text::into_owned),
        }
    }
}

/// Who sent a notification's alerts and in which group; neither is known of alerts that
/// Prometheus posts itself.
#[derive(Clone, Copy, Default)]
pub(super) struct Via {
    pub(super) sender: Option<SenderId>,
    pub(super) group: Option<GroupKey>,
}

/// One alert as Alertmanager lays it out, in its webhook and in its API. `S` is what its
/// `status` is read as: the webhook's `"firing"`/`"resolved"`, or nothing at all where the
/// API has an object there (`prometheus.rs`).
#[derive(Deserialize)]
pub(super) struct Alert<'a, S> {
    #[serde(default = "Option::default")]
    pub(super) status: Option<S>,
    pub(super) labels: LabelMap,
    #[serde(borrow, default)]
    pub(super) annotations: Option<AnnotationFields<'a>>,
    #[serde(borrow, default, rename = "startsAt")]
    pub(super) starts_at: Option<Text<'a>>,
    #[serde(borrow, default, rename = "endsAt")]
    pub(super) ends_at: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub(super) fingerprint: Option<Text<'a>>,
}

impl<S> Alert<'_, S> {
    /// The event of this alert; a resolve is the automation's (a human acknowledges
    /// elsewhere).
    pub(super) fn into_event(
        self,
        opts: &super::DecodeOptions,
        source: Source,
        kind: EventKind,
        time: EventTime,
        ends_at: Option<EventTime>,
        via: Via,
    ) -> AlertEvent {
        let labels = Labels::from_vec(self.labels.0);
        let actor = (kind == EventKind::Resolved).then_some(Actor::Automation);
        AlertEvent {
            source,
            kind,
            time,
            fingerprint: labels.fingerprint(),
            source_id: self.fingerprint.map(|f| Str::from(&*f)),
            dedup_key: None,
            alertname: labels.get("alertname").map(Str::from).unwrap_or_default(),
            severity: opts.severity_of(&labels),
            service: opts.service_of(&labels),
            team: opts.team_of(&labels),
            annotations: self
                .annotations
                .map(AnnotationFields::into_annotations)
                .unwrap_or_default(),
            labels,
            actor,
            ends_at,
            sender: via.sender,
            group: via.group,
            listed: None,
        }
    }

    /// `startsAt` and `endsAt` of alert `i`, Go's zero time read as unset.
    pub(super) fn times(
        &self,
        i: usize,
    ) -> Result<(Option<EventTime>, Option<EventTime>), DecodeError> {
        let parse = |field: &str, t: &Option<Text<'_>>| {
            t.as_deref()
                .map(|s| parse_time(field, i, s))
                .transpose()
                .map(|t| t.filter(|t| !is_unset(*t)))
        };
        Ok((
            parse("startsAt", &self.starts_at)?,
            parse("endsAt", &self.ends_at)?,
        ))
    }
}

#[derive(Deserialize)]
struct Notification<'a> {
    /// Group status; the fallback for alerts that carry none (seen in hand-written bodies).
    #[serde(borrow, default)]
    status: Option<Text<'a>>,
    #[serde(borrow)]
    alerts: Vec<Alert<'a, Text<'a>>>,
    /// How many alerts the sender left out (`max_alerts`); anything but a count reads as 0,
    /// so a field we only report on never costs the alerts that did arrive.
    #[serde(
        default,
        rename = "truncatedAlerts",
        deserialize_with = "lenient_count"
    )]
    truncated: usize,
    /// Which receiver sent it, and from where: the sender whose `send_resolved` the engine
    /// learns. Anything but a string reads as absent, like `truncatedAlerts`.
    #[serde(borrow, default, deserialize_with = "lenient_text")]
    receiver: Option<Text<'a>>,
    #[serde(
        borrow,
        default,
        rename = "externalURL",
        deserialize_with = "lenient_text"
    )]
    external_url: Option<Text<'a>>,
    /// The group the notification is about (see [`GroupKey`]).
    #[serde(
        borrow,
        default,
        rename = "groupKey",
        deserialize_with = "lenient_text"
    )]
    group_key: Option<Text<'a>>,
    /// How many labels the group is by: all of a lone alert's, and the group can never hold
    /// another (`group_by: ['...']`). Anything but an object reads as 0.
    #[serde(default, rename = "groupLabels", deserialize_with = "lenient_len")]
    group_labels: usize,
}

impl Notification<'_> {
    fn sender(&self, source: Source) -> SenderId {
        SenderId::of(
            source,
            self.receiver.as_deref().unwrap_or_default(),
            self.external_url.as_deref().unwrap_or_default(),
        )
    }
}

fn lenient_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Text<'de>>, D::Error> {
    de::DeserializeSeed::deserialize(LenientText, d)
}

/// A string, or `None` for any other JSON value (which is still parsed, so a malformed body
/// is refused as before).
struct LenientText;

impl<'de> de::DeserializeSeed<'de> for LenientText {
    type Value = Option<Text<'de>>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum StrOrAny<'a> {
            Str(#[serde(borrow)] Text<'a>),
            Any(IgnoredAny),
        }
        Ok(match StrOrAny::deserialize(d)? {
            StrOrAny::Str(t) => Some(t),
            StrOrAny::Any(_) => None,
        })
    }
}

fn lenient_len<'de, D: Deserializer<'de>>(d: D) -> Result<usize, D::Error> {
    de::DeserializeSeed::deserialize(LenientLen, d)
}

/// The number of entries of an object, or 0 for any other JSON value (which is still
/// parsed, so a malformed body is refused as before). Counts without building anything.
struct LenientLen;

impl<'de> de::DeserializeSeed<'de> for LenientLen {
    type Value = usize;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<usize, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for LenientLen {
    type Value = usize;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<usize, A::Error> {
        let mut n = 0;
        while m.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {
            n += 1;
        }
        Ok(n)
    }
    fn visit_seq<A: de::SeqAccess<'de>>(self, mut s: A) -> Result<usize, A::Error> {
        while s.next_element::<IgnoredAny>()?.is_some() {}
        Ok(0)
    }
    fn visit_bool<E>(self, _: bool) -> Result<usize, E> {
        Ok(0)
    }
    fn visit_i64<E>(self, _: i64) -> Result<usize, E> {
        Ok(0)
    }
    fn visit_u64<E>(self, _: u64) -> Result<usize, E> {
        Ok(0)
    }
    fn visit_f64<E>(self, _: f64) -> Result<usize, E> {
        Ok(0)
    }
    fn visit_str<E>(self, _: &str) -> Result<usize, E> {
        Ok(0)
    }
    fn visit_unit<E>(self) -> Result<usize, E> {
        Ok(0)
    }
}

fn lenient_count<'de, D: Deserializer<'de>>(d: D) -> Result<usize, D::Error> {
    de::DeserializeSeed::deserialize(LenientCount, d)
}

struct LenientCount;

impl<'de> de::DeserializeSeed<'de> for LenientCount {
    type Value = usize;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<usize, D::Error> {
        let v = serde_json::Value::deserialize(d)?;
        Ok(v.as_u64()
            .map_or(0, |n| usize::try_from(n).unwrap_or(usize::MAX)))
    }
}

/// Alertmanager's "no end time" is Go's zero time; anything before 1970 means "unset".
fn is_unset(t: EventTime) -> bool {
    t.as_millis() <= 0
}

fn parse_time(field: &str, i: usize, s: &str) -> Result<EventTime, DecodeError> {
    EventTime::parse_lenient(s).ok_or_else(|| {
        DecodeError::invalid(
            format!("alerts[{i}].{field}"),
            format!("{s:?} is not an RFC 3339 time"),
        )
    })
}

pub fn decode(
    bytes: &[u8],
    ctx: &Ctx<'_>,
    out: &mut Vec<AlertEvent>,
) -> Result<Decoded, DecodeError> {
    decode_webhook(bytes, ctx, out, Source::Alertmanager)
}

/// A notification parsed on the one-pass path of `decode_auto` (see `sniff::decode_fast`),
/// with what sniffing needs to know of its top-level keys: `grafana` is set by the keys
/// that make a body with `alerts` Grafana's (`orgId`, `title`, `state`, `message`, or
/// `version: "1"`). Stricter than the derived `Notification` (a `version` must parse as a
/// JSON value, as sniffing parses it; an OTLP key refuses the body, OTLP would win the
/// sniff), never looser, so whatever it accepts the two-pass path decodes the same way.
struct Sniffed<'a> {
    n: Notification<'a>,
    grafana: bool,
}

impl<'de> Deserialize<'de> for Sniffed<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Sniffed<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an Alertmanager or Grafana webhook body")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Sniffed<'de>, A::Error> {
                let mut status: Option<Option<Text<'de>>> = None;
                let mut alerts: Option<Vec<Alert<'de, Text<'de>>>> = None;
                let mut grafana_key = false;
                let mut version_one = false;
                let mut truncated = None;
                let mut receiver = None;
                let mut external_url = None;
                let mut group_key = None;
                let mut group_labels = None;
                while let Some(key) = m.next_key::<Text<'de>>()? {
                    match key.as_str() {
                        "status" if status.is_none() => status = Some(m.next_value()?),
                        "alerts" if alerts.is_none() => alerts = Some(m.next_value()?),
                        "truncatedAlerts" if truncated.is_none() => {
                            truncated = Some(m.next_value_seed(LenientCount)?)
                        }
                        "receiver" if receiver.is_none() => {
                            receiver = Some(m.next_value_seed(LenientText)?)
                        }
                        "externalURL" if external_url.is_none() => {
                            external_url = Some(m.next_value_seed(LenientText)?)
                        }
                        "groupKey" if group_key.is_none() => {
                            group_key = Some(m.next_value_seed(LenientText)?)
                        }
                        "groupLabels" if group_labels.is_none() => {
                            group_labels = Some(m.next_value_seed(LenientLen)?)
                        }
                        // As the derived `Notification` refuses them (the error is its).
                        "status" | "alerts" | "truncatedAlerts" | "receiver" | "externalURL"
                        | "groupKey" | "groupLabels" => {
                            return Err(de::Error::custom("duplicate field"))
                        }
                        "orgId" | "title" | "state" | "message" => {
                            grafana_key = true;
                            m.next_value::<IgnoredAny>()?;
                        }
                        "version" => {
                            let v: serde_json::Value = m.next_value()?;
                            version_one = v.as_str() == Some("1");
                        }
                        "resourceLogs" | "resource_logs" => {
                            return Err(de::Error::custom("an OTLP logs key"))
                        }
                        _ => {
                            m.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                let alerts = alerts.ok_or_else(|| de::Error::missing_field("alerts"))?;
                Ok(Sniffed {
                    n: Notification {
                        status: status.flatten(),
                        alerts,
                        truncated: truncated.unwrap_or(0),
                        receiver: receiver.flatten(),
                        external_url: external_url.flatten(),
                        group_key: group_key.flatten(),
                        group_labels: group_labels.unwrap_or(0),
                    },
                    grafana: grafana_key || version_one,
                })
            }
        }
        d.deserialize_map(V)
    }
}

/// The one-pass path for a body whose format is not known yet: parses valid UTF-8 `text`
/// once, tells Alertmanager from Grafana by its top-level keys, decodes. `None` when it
/// cannot (not this format, or any error): the caller then takes the two-pass path, which
/// gives the precise error. On `None`, `out` may hold partial events for the caller to cut.
pub(crate) fn decode_sniffed(
    text: &str,
    ctx: &Ctx<'_>,
    out: &mut Vec<AlertEvent>,
) -> Option<(Format, Decoded)> {
    let Sniffed { n, grafana } = serde_json::from_str(text).ok()?;
    let (format, source) = if grafana {
        (Format::Grafana, Source::Grafana)
    } else {
        (Format::Alertmanager, Source::Alertmanager)
    };
    let d = map_notification(n, ctx, out, source).ok()?;
    Some((format, d))
}

/// Decodes an Alertmanager-shaped webhook body; `source` tells which product sent it.
pub(crate) fn decode_webhook(
    bytes: &[u8],
    ctx: &Ctx<'_>,
    out: &mut Vec<AlertEvent>,
    source: Source,
) -> Result<Decoded, DecodeError> {
    let n: Notification<'_> = from_json(bytes)?;
    map_notification(n, ctx, out, source)
}

/// A parsed notification → events.
fn map_notification(
    n: Notification<'_>,
    ctx: &Ctx<'_>,
    out: &mut Vec<AlertEvent>,
    source: Source,
) -> Result<Decoded, DecodeError> {
    let opts = ctx.opts;
    let mark = out.len();
    let via = Via {
        sender: Some(n.sender(source)),
        // Once per notification: every alert in it shares the group.
        group: n
            .group_key
            .as_deref()
            .filter(|g| !g.is_empty())
            .map(GroupKey::of),
    };
    out.reserve(n.alerts.len());
    for (i, a) in n.alerts.into_iter().enumerate() {
        let status = a.status.as_deref().or(n.status.as_deref());
        let kind = match status {
            Some("firing") => EventKind::Firing,
            Some("resolved") => EventKind::Resolved,
            Some(other) => {
                out.truncate(mark);
                return Err(DecodeError::invalid(
                    format!("alerts[{i}].status"),
                    format!("{other:?}, expected \"firing\" or \"resolved\""),
                ));
            }
            None => {
                out.truncate(mark);
                return Err(DecodeError::missing(format!("alerts[{i}].status")));
            }
        };
        let (starts, ends) = match a.times(i) {
            Ok(t) => t,
            Err(e) => {
                out.truncate(mark);
                return Err(e);
            }
        };
        let time = match kind {
            EventKind::Resolved => ends.or(ctx.received_at).or(starts),
            _ => starts.or(ctx.received_at),
        };
        let Some(time) = time else {
            out.truncate(mark);
            return Err(DecodeError::missing(format!(
                "alerts[{i}].{}",
                if kind == EventKind::Resolved {
                    "endsAt"
                } else {
                    "startsAt"
                }
            )));
        };
        out.push(a.into_event(opts, source, kind, time, None, via));
    }
    // The whole group, unless the sender cut it short: what it leaves out next time is over.
    // Not a group by every label of its one alert: nothing else can ever be in it.
    let lone = match &out[mark..] {
        [one] => n.group_labels >= one.labels.len(),
        _ => false,
    };
    if n.truncated == 0 && via.group.is_some() && !lone {
        let listed = Listing::new(out[mark..].iter().map(|e| e.fingerprint).collect());
        if let Some(last) = out[mark..].last_mut() {
            last.listed = Some(listed);
        }
    }
    Ok(Decoded {
        events: out.len() - mark,
        ignored: 0,
        truncated: n.truncated,
        changes: 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::DecodeOptions;
    use crate::event::{Fingerprint, SenderId, Severity};

    fn fixture(p: &str) -> Vec<u8> {
        let path = format!("{}/../shared/fixtures/{p}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    fn run(bytes: &[u8]) -> Result<Vec<AlertEvent>, DecodeError> {
        let opts = DecodeOptions::default();
        let ctx = Ctx {
            opts: &opts,
            received_at: None,
        };
        let mut out = Vec::new();
        decode(bytes, &ctx, &mut out).map(|_| out)
    }

    /// `field` of each event of `b` decoded on the sniffing path, which must agree with the
    /// declared one.
    fn on_both_paths<T: PartialEq + fmt::Debug>(
        b: &[u8],
        field: impl Fn(&AlertEvent) -> T,
    ) -> Vec<T> {
        let opts = DecodeOptions::default();
        let ctx = Ctx {
            opts: &opts,
            received_at: None,
        };
        let mut auto = Vec::new();
        crate::decode::decode_auto(b, &ctx, &mut auto).unwrap();
        let mut alone = Vec::new();
        decode(b, &ctx, &mut alone).unwrap();
        let got: Vec<T> = auto.iter().map(&field).collect();
        assert_eq!(got, alone.iter().map(&field).collect::<Vec<_>>());
        got
    }

    #[test]
    fn zulip_single_alert() {
        let ev = run(&fixture(
            "zulip-webhook-fixtures/alertmanager/single_alert.json",
        ))
        .unwrap();
        assert_eq!(ev.len(), 1);
        let e = &ev[0];
        assert_eq!(e.fingerprint.to_string(), "a1bc48475b20e73d");
        assert_eq!(e.source_id.as_deref(), Some("a1bc48475b20e73d"));
        // Hand-edited upstream: status resolved with Go's zero endsAt, so the time falls
        // back to startsAt.
        assert_eq!(e.kind, EventKind::Resolved);
        assert_eq!(e.severity, Severity::Critical);
        assert_eq!(e.alertname, "High CPU Temperature");
        assert_eq!(e.time.to_rfc3339(), "2020-02-06T00:17:58.432Z");
        assert!(e.annotations.summary.is_some());
    }

    #[test]
    fn tolerant_of_missing_per_alert_status_and_offsets() {
        // No per-alert status, no fingerprint, a -05:00 offset.
        let ev = run(&fixture("prometheus-msteams/prom_post_request.json")).unwrap();
        assert_eq!(ev.len(), 1);
        assert!(ev[0].source_id.is_none());
        assert!(ev[0].time.as_millis() > 0);
    }

    #[test]
    fn alerts_the_sender_left_out_are_counted_and_a_bad_count_costs_nothing() {
        let opts = DecodeOptions::default();
        let ctx = Ctx {
            opts: &opts,
            received_at: None,
        };
        let body = |count: &str| {
            format!(
                r#"{{"receiver":"r","status":"firing","truncatedAlerts":{count},"alerts":[{{"status":"firing",
                "labels":{{"alertname":"A"}},"annotations":{{}},"startsAt":"2024-01-01T00:00:00Z"}}]}}"#
            )
        };
        for (count, want) in [("3", 3), ("0", 0), ("null", 0), ("\"3\"", 0), ("-1", 0)] {
            let b = body(count);
            // The one-pass path (sniffing) and the decoder alone agree.
            let mut out = Vec::new();
            let (f, d) = crate::decode::decode_auto(b.as_bytes(), &ctx, &mut out).unwrap();
            assert_eq!(
                (f, d.events, d.truncated),
                (Format::Alertmanager, 1, want),
                "{count}"
            );
            let mut out = Vec::new();
            let d = decode(b.as_bytes(), &ctx, &mut out).unwrap();
            assert_eq!((d.events, d.truncated), (1, want), "{count}");
        }
        // Grafana's webhook carries the same field (this published example left one out).
        let mut out = Vec::new();
        let g = fixture("zulip-webhook-fixtures/grafana/alert_v8.json");
        let (f, d) = crate::decode::decode_auto(&g, &ctx, &mut out).unwrap();
        assert_eq!((f, d.truncated), (Format::Grafana, 1));
        // Said twice, it is refused by both paths alike (found by `tests/decode_props.rs`).
        let twice = body("1").replacen(
            "\"truncatedAlerts\":1",
            "\"truncatedAlerts\":1,\"truncatedAlerts\":2",
            1,
        );
        let mut out = Vec::new();
        let auto = crate::decode::decode_auto(twice.as_bytes(), &ctx, &mut out);
        let mut out2 = Vec::new();
        let sniffed = crate::decode::sniff(twice.as_bytes()).and_then(|f| {
            crate::decode::decode(f, twice.as_bytes(), &ctx, &mut out2).map(|d| (f, d))
        });
        assert!(auto.is_err(), "{auto:?}");
        assert_eq!(auto, sniffed);
    }

    #[test]
    fn alerts_name_the_receiver_that_sent_them_on_both_paths() {
        let opts = DecodeOptions::default();
        let ctx = Ctx {
            opts: &opts,
            received_at: None,
        };
        let body = |head: &str| {
            format!(
                r#"{{{head}"status":"firing","alerts":[{{"status":"firing",
                "labels":{{"alertname":"A"}},"startsAt":"2024-01-01T00:00:00Z"}}]}}"#
            )
        };
        let sender_of = |b: &str| {
            let mut auto = Vec::new();
            crate::decode::decode_auto(b.as_bytes(), &ctx, &mut auto).unwrap();
            let mut alone = Vec::new();
            decode(b.as_bytes(), &ctx, &mut alone).unwrap();
            assert_eq!(auto[0].sender, alone[0].sender, "{b}");
            auto[0].sender.expect("every notification names a sender")
        };
        let am = |r: &str, u: &str| SenderId::of(Source::Alertmanager, r, u);
        let pd = sender_of(&body(r#""receiver":"pd","externalURL":"http://am:9093","#));
        assert_eq!(pd, am("pd", "http://am:9093"));
        assert_ne!(
            pd,
            sender_of(&body(
                r#""receiver":"slack","externalURL":"http://am:9093","#
            ))
        );
        assert_ne!(
            pd,
            sender_of(&body(
                r#""receiver":"pd","externalURL":"http://am-eu:9093","#
            ))
        );
        // Missing, or not a string: an unnamed sender, and the alerts still decode.
        assert_eq!(sender_of(&body("")), am("", ""));
        assert_eq!(
            sender_of(&body(r#""receiver":7,"externalURL":null,"#)),
            am("", "")
        );
        // Said twice, refused by both paths alike.
        let twice = body(r#""receiver":"a","receiver":"b","#);
        let mut out = Vec::new();
        assert!(crate::decode::decode_auto(twice.as_bytes(), &ctx, &mut out).is_err());
        assert!(decode(twice.as_bytes(), &ctx, &mut out).is_err());
        // Grafana's contact point is a sender of its own.
        let g = fixture("zulip-webhook-fixtures/grafana/alert_v8.json");
        let mut out = Vec::new();
        crate::decode::decode_auto(&g, &ctx, &mut out).unwrap();
        assert!(out
            .iter()
            .all(|e| e.sender.is_some() && e.source == Source::Grafana));
    }

    /// The group key as Alertmanager's PagerDuty integration hashes it into the group's
    /// `dedup_key` (the digests here are Python's `hashlib.sha256`; the first is the
    /// `dedup_key` a real Alertmanager sent for this group).
    #[test]
    fn alerts_carry_their_groups_pagerduty_key_on_both_paths() {
        let opts = DecodeOptions::default();
        let ctx = Ctx {
            opts: &opts,
            received_at: None,
        };
        let groups_of = |b: &[u8]| on_both_paths(b, |e| e.group);
        let body = |head: &str| {
            format!(
                r#"{{{head}"status":"firing","alerts":[{{"status":"firing",
                "labels":{{"alertname":"A"}},"startsAt":"2024-01-01T00:00:00Z"}}]}}"#
            )
        };
        let pd = |key: &str| Some(GroupKey::from_pagerduty_key(key).expect("a PagerDuty key"));
        assert_eq!(
            groups_of(body(r#""groupKey":"{}:{alertname=\"DatabaseDown\"}","#).as_bytes()),
            [pd(
                "3821961fee9ba99325d36ab961f8d3d09611051672e0d48ae0196730938bfd49"
            )]
        );
        // Every alert of a notification is in its group; Grafana's groups hash the same way.
        assert_eq!(
            groups_of(&fixture("zulip-webhook-fixtures/alertmanager/alert.json")),
            vec![pd("dba6ceac946f3055d492a2f4474f7c1ddaecee5035b50d15b7ac7a26fb7448a5"); 2]
        );
        assert_eq!(
            groups_of(&fixture("zulip-webhook-fixtures/grafana/alert-9.json")),
            [pd(
                "47a1078e731d527d0fb1628c86ee217ddeec35cd89a348ef558e897ac28a547b"
            )]
        );
        // Only a key of that shape names a group.
        for not_one in ["dba6ceac946f3055", "ng-0123456789abcdef-1", &"g".repeat(64)] {
            assert_eq!(GroupKey::from_pagerduty_key(not_one), None, "{not_one}");
        }
        // None, empty or not a string: no group, and the alerts still decode.
        for head in ["", r#""groupKey":"","#, r#""groupKey":5,"#] {
            assert_eq!(groups_of(body(head).as_bytes()), [None], "{head}");
        }
        let twice = body(r#""groupKey":"a","groupKey":"b","#);
        let mut out = Vec::new();
        assert!(crate::decode::decode_auto(twice.as_bytes(), &ctx, &mut out).is_err());
        assert!(decode(twice.as_bytes(), &ctx, &mut out).is_err());
    }

    /// The last event of a whole notification lists every alert in it (firing or resolved),
    /// on both paths; a truncated one, or one without a group, lists nothing.
    #[test]
    fn a_whole_notification_of_a_group_lists_its_alerts_on_its_last_event() {
        let listings = |b: &[u8]| {
            let l = on_both_paths(b, |e| e.listed.clone());
            (l, on_both_paths(b, |e| e.fingerprint))
        };
        let body = |head: &str| {
            format!(
                r#"{{{head}"status":"firing","alerts":[{{"status":"firing",
                "labels":{{"alertname":"A","pod":"p2"}},"startsAt":"2024-01-01T00:00:00Z"}},
                {{"status":"resolved","labels":{{"alertname":"A","pod":"p1"}},
                "startsAt":"2024-01-01T00:00:00Z","endsAt":"2024-01-01T00:01:00Z"}}]}}"#
            )
        };
        let (l, fps) = listings(body(r#""groupKey":"{}:{alertname=\"A\"}","#).as_bytes());
        assert_eq!(l[0], None);
        let listed = l[1].as_ref().expect("the last event lists the group");
        let mut want = fps.clone();
        want.sort();
        assert_eq!(listed.fingerprints(), &want[..]);
        for head in [
            "",
            r#""groupKey":"","#,
            r#""groupKey":"{}:{}","truncatedAlerts":3,"#,
        ] {
            assert_eq!(listings(body(head).as_bytes()).0, [None, None], "{head}");
        }
        // A lone alert: listed if its group is by fewer labels than it has, not if by all of
        // them (`group_by: ['...']`, a group nothing else can join).
        let lone = |group_labels: &str| {
            format!(
                r#"{{"groupKey":"k","groupLabels":{group_labels},"status":"firing",
                "alerts":[{{"status":"firing","labels":{{"alertname":"A","pod":"p2"}},
                "startsAt":"2024-01-01T00:00:00Z"}}]}}"#
            )
        };
        assert!(listings(lone(r#"{"pod":"p2"}"#).as_bytes()).0[0].is_some());
        for not_an_object in ["7", "null", r#"["pod"]"#, r#""pod""#, "true"] {
            let l = listings(lone(not_an_object).as_bytes()).0;
            assert!(l[0].is_some(), "{not_an_object}: unknown, so listed");
        }
        assert_eq!(
            listings(lone(r#"{"alertname":"A","pod":"p2"}"#).as_bytes()).0,
            [None]
        );
        // Real notifications: Alertmanager's and Grafana's.
        for f in [
            "zulip-webhook-fixtures/alertmanager/alert.json",
            "zulip-webhook-fixtures/grafana/alert-9.json",
        ] {
            let (l, fps) = listings(&fixture(f));
            let last = l.last().cloned().flatten().expect(f);
            assert!(fps.iter().all(|&fp| last.contains(fp)), "{f}");
            assert!(l[..l.len() - 1].iter().all(Option::is_none), "{f}");
        }
    }

    #[test]
    fn resolved_uses_ends_at() {
        let body = br#"{"version":"4","status":"resolved","alerts":[{"status":"resolved",
            "labels":{"alertname":"A","severity":"warning"},"annotations":{},
            "startsAt":"2024-01-01T00:00:00Z","endsAt":"2024-01-01T00:05:00Z"}]}"#;
        let ev = run(body).unwrap();
        assert_eq!(ev[0].kind, EventKind::Resolved);
        assert_eq!(ev[0].time.to_rfc3339(), "2024-01-01T00:05:00.000Z");
        assert_eq!(ev[0].actor, Some(Actor::Automation));
        assert_eq!(
            ev[0].fingerprint,
            Fingerprint::of_sorted([("alertname", "A"), ("severity", "warning")])
        );
    }

    #[test]
    fn bad_inputs_have_precise_reasons() {
        let e = run(br#"{"alerts":[{"status":"firing","startsAt":"2024-01-01T00:00:00Z"}]}"#)
            .unwrap_err();
        assert_eq!(e, DecodeError::missing("alerts[0].labels"));
        let e = run(br#"{"alerts":[{"status":"firing","labels":{"a":1},"startsAt":"2024-01-01T00:00:00Z"}]}"#).unwrap_err();
        assert!(
            matches!(e, DecodeError::WrongType { ref path, .. } if path == "alerts[0].labels.a"),
            "{e:?}"
        );
        let e = run(
            br#"{"alerts":[{"status":"pending","labels":{},"startsAt":"2024-01-01T00:00:00Z"}]}"#,
        )
        .unwrap_err();
        assert_eq!(e.reason(), "invalid_value");
        let e =
            run(br#"{"alerts":[{"status":"firing","labels":{},"startsAt":"soon"}]}"#).unwrap_err();
        assert!(e.to_string().contains("alerts[0].startsAt"), "{e}");
        let e = run(br#"{"alerts":[{"status":"firing","labels":{}}]}"#).unwrap_err();
        assert_eq!(e, DecodeError::missing("alerts[0].startsAt"));
        assert_eq!(
            run(br#"{"alerts":[{"status":"fir"#).unwrap_err().reason(),
            "truncated_json"
        );
        assert_eq!(
            run(br#"{"status":"firing"}"#).unwrap_err(),
            DecodeError::missing("alerts")
        );
    }

    #[test]
    fn escaped_strings_are_unescaped() {
        let body = br#"{"alerts":[{"status":"firing","labels":{"alertname":"A\u00e9\n"},"startsAt":"2024-01-01T00:00:00Z"}]}"#;
        let ev = run(body).unwrap();
        assert_eq!(ev[0].alertname, "A\u{e9}\n");
    }
}
