//! PagerDuty Events API v2 decoder: the body of `POST /v2/enqueue` (a `trigger`, `acknowledge`
//! or `resolve` event) → exactly one [`AlertEvent`].
//!
//! Owns: the mapping from an Events API v2 event to the event model — kind, time, severity,
//! labels, annotations, and the alert's identity ([`Fingerprint`]). Also reads Change Events
//! (`/v2/change/enqueue` bodies: `payload` but no `event_action`): a deploy or rollout, which
//! becomes an [`EventKind::Change`] about the service or team it names (see [`change`]), never
//! an alert.
//!
//! Also reads Events API v1 bodies (`service_key`, `event_type`, `incident_key`), the older
//! dialect of the same API (see [`v1`]).
//!
//! Must not: do I/O or read the clock (a missing time comes from [`Ctx::received_at`]); panic
//! on any input; decide what an event means for an incident (the engine owns dedup and
//! linking); and never put the `routing_key` — an integration credential — into labels,
//! annotations or error messages. Unknown fields are ignored: these are third-party payloads.
//!
//! # Identity
//!
//! The fingerprint must be the same for a trigger and its later acknowledge/resolve, which
//! carry nothing but `routing_key` and `dedup_key`. So:
//!
//! * with a `dedup_key`: FNV-1a over `{dedup_key, routing_key}` (what PagerDuty itself keys an
//!   alert by: a dedup key is scoped to its integration);
//! * without one (PagerDuty then invents a key we never see, so no ack/resolve can be matched
//!   anyway): over the present subset of `{alertname, class, component, group, routing_key,
//!   source}`, where `alertname` is `payload.class` when given, else `payload.summary`.
//!
//! `custom_details` never enter the fingerprint (they carry values: `load avg`, `ping time`),
//! and neither does the summary when a class exists (summaries often embed values too:
//! "DISK at 99%"). A trigger without a class has only its summary to name it, so a summary
//! that embeds a changing number gives a new identity per value — send a `class` or a
//! `dedup_key` to avoid that. The routing key only enters through the 64-bit hash.
//!
//! # Labels
//!
//! For a trigger: the `custom_details` string entries that name where the alert is, not what
//! it measured — the configured service/team/severity label names and [`PLACE_DETAILS`]
//! (`env`, `region`, `cluster`, `namespace`, `host`, …). Other details (`run_id`,
//! `response_time_ms`, `load avg`) change from send to send, so they stay out of the labels
//! a record carries. Then the derived `alertname`,
//! `source`, `component`, `group`, `class` and `severity` (raw string), which win over a
//! custom detail of the same name. Empty values are treated as absent. Acknowledge and
//! resolve events have no labels and an empty alertname.

use std::borrow::Cow;

/// `custom_details` keys that say where an alert is (kept as labels when they are strings).
pub const PLACE_DETAILS: &[&str] = &[
    "env",
    "environment",
    "region",
    "zone",
    "datacenter",
    "cluster",
    "namespace",
    "host",
    "hostname",
    "instance",
    "job",
    "app",
];
use std::fmt;
use std::marker::PhantomData;

use serde::de::{Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

use super::{from_json, Ctx, DecodeError, Decoded, Text};
use crate::event::{
    Actor, AlertEvent, Annotations, DedupKey, EventKind, EventTime, Fingerprint, Labels, Severity,
    Source, Str,
};

/// Longest slice of an input value quoted back in an error message.
const QUOTE_MAX_CHARS: usize = 64;

/// Decodes one Events API v2 event, appending one event to `out` (nothing on error).
pub fn decode(
    bytes: &[u8],
    ctx: &Ctx<'_>,
    out: &mut Vec<AlertEvent>,
) -> Result<Decoded, DecodeError> {
    let body: Body<'_> = from_json(bytes)?;
    let event = to_event(&body, ctx)?;
    let change = event.kind == EventKind::Change;
    out.push(event);
    Ok(Decoded {
        events: usize::from(!change),
        ignored: 0,
        truncated: 0,
        changes: usize::from(change),
    })
}

// ---------------------------------------------------------------------------------------------
// Wire types (borrowed; every field optional so the checks below give the precise error).

#[derive(Deserialize)]
struct Body<'a> {
    #[serde(borrow)]
    event_action: Option<Text<'a>>,
    // Events API v1 (`/generic/2010-04-15/create_event.json`), see [`v1`].
    #[serde(borrow)]
    event_type: Option<Text<'a>>,
    #[serde(borrow)]
    service_key: Option<Text<'a>>,
    #[serde(borrow)]
    incident_key: Option<Text<'a>>,
    #[serde(borrow)]
    description: Option<Text<'a>>,
    #[serde(borrow)]
    details: Option<Details<'a>>,
    #[serde(borrow)]
    client: Option<Text<'a>>,
    #[serde(borrow)]
    routing_key: Option<Text<'a>>,
    #[serde(borrow)]
    dedup_key: Option<Text<'a>>,
    #[serde(borrow)]
    payload: Option<Payload<'a>>,
    #[serde(borrow)]
    links: Option<Vec<Link<'a>>>,
}

#[derive(Deserialize)]
struct Payload<'a> {
    #[serde(borrow)]
    summary: Option<Text<'a>>,
    #[serde(borrow)]
    source: Option<Text<'a>>,
    #[serde(borrow)]
    severity: Option<Text<'a>>,
    #[serde(borrow)]
    timestamp: Option<Text<'a>>,
    #[serde(borrow)]
    component: Option<Text<'a>>,
    #[serde(borrow)]
    group: Option<Text<'a>>,
    #[serde(borrow)]
    class: Option<Text<'a>>,
    #[serde(borrow)]
    custom_details: Option<Details<'a>>,
}

#[derive(Deserialize)]
struct Link<'a> {
    #[serde(borrow)]
    href: Option<Text<'a>>,
    #[serde(borrow)]
    text: Option<Text<'a>>,
}

/// `payload.custom_details`: the scalar entries of an object, in document order. Anything else
/// (PagerDuty also accepts a bare string there) yields no entries rather than an error.
#[derive(Default)]
struct Details<'a>(Vec<(Cow<'a, str>, Scalar<'a>)>);

impl<'a> Details<'a> {
    /// The last string value under `name` (JSON's "last duplicate wins").
    fn text(&self, name: &str) -> Option<&str> {
        self.0.iter().rev().find_map(|(k, v)| match v {
            Scalar::Text(s) if k == name && !s.is_empty() => Some(s.as_ref()),
            _ => None,
        })
    }
}

/// One `custom_details` value: a string (kept borrowed), or something that is not a label
/// value (number, bool, null, object, array).
enum Scalar<'a> {
    Text(Cow<'a, str>),
    Skip,
}

impl<'de: 'a, 'a> Deserialize<'de> for Details<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(DetailsVisitor(PhantomData))
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Scalar<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ScalarVisitor(PhantomData))
    }
}

struct DetailsVisitor<'a>(PhantomData<&'a ()>);

impl<'de: 'a, 'a> Visitor<'de> for DetailsVisitor<'a> {
    type Value = Details<'a>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object of custom details")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut v = Vec::new();
        while let Some(Text(k)) = map.next_key::<Text<'a>>()? {
            let value = map.next_value::<Scalar<'a>>()?;
            v.push((k, value));
        }
        Ok(Details(v))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Details::default())
    }

    fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(Details::default())
    }

    fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Details::default())
    }

    fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(Details::default())
    }

    fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(Details::default())
    }

    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(Details::default())
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        Ok(Details::default())
    }
}

struct ScalarVisitor<'a>(PhantomData<&'a ()>);

impl<'de: 'a, 'a> Visitor<'de> for ScalarVisitor<'a> {
    type Value = Scalar<'a>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_borrowed_str<E: serde::de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Scalar::Text(Cow::Borrowed(v)))
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Scalar::Text(Cow::Owned(v.to_owned())))
    }

    fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Scalar::Text(Cow::Owned(v)))
    }

    // Numbers and bools are measurements, never label values: skipped without formatting.
    fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Scalar::Skip)
    }

    fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(Scalar::Skip)
    }

    fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(Scalar::Skip)
    }

    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(Scalar::Skip)
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        Ok(Scalar::Skip)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Scalar::Skip)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Scalar::Skip)
    }
}

// ---------------------------------------------------------------------------------------------
// Mapping.

fn to_event(b: &Body<'_>, ctx: &Ctx<'_>) -> Result<AlertEvent, DecodeError> {
    let action = match &b.event_action {
        // Alertmanager writes `"event_action": ""` into its v1 messages too.
        _ if b.event_type.is_some() && present(&b.event_action).is_none() => return v1(b, ctx),
        Some(a) => a.as_str(),
        None if is_change_event(b) => return change(b, routing_key_of(b)?, ctx),
        None => return Err(DecodeError::missing("event_action")),
    };
    let kind = kind_of("event_action", action)?;
    let routing_key = routing_key_of(b)?;
    match kind {
        EventKind::Firing => trigger(b, routing_key, ctx),
        _ => ack_or_resolve(required(&b.dedup_key, "dedup_key")?, kind, routing_key, ctx),
    }
}

/// An Events API v1 event: `service_key` (the integration key, as `routing_key` is in v2),
/// `event_type`, `incident_key` (the dedup key), `description` (the summary) and `details`.
/// PagerDuty still takes them, and so do the tools that never moved on: Alertmanager's
/// PagerDuty receiver sends them whenever it is configured with a `service_key` instead of
/// a `routing_key`, Nagios and Zabbix plugins, scripts. An incident keyed by v1 events is
/// the same alert as one keyed by v2 events with that key on that integration (PagerDuty
/// keys both by integration and key), so the identity is the v2 one. v1 has no timestamp
/// and no severity: the time is the arrival, the severity one of `[labels] severity` among
/// the details, else the default (PagerDuty gives v1 incidents the service's urgency).
fn v1(b: &Body<'_>, ctx: &Ctx<'_>) -> Result<AlertEvent, DecodeError> {
    let action = required(&b.event_type, "event_type")?;
    let kind = kind_of("event_type", action)?;
    // Checked for presence only, like `routing_key`: a credential, never quoted back.
    let service_key = required(&b.service_key, "service_key")?;
    let incident_key = present(&b.incident_key);
    if kind != EventKind::Firing {
        let key = required(&b.incident_key, "incident_key")?;
        return ack_or_resolve(key, kind, service_key, ctx);
    }
    let description = required(&b.description, "description")?;
    let time = ctx
        .received_at
        .ok_or_else(|| DecodeError::missing("timestamp"))?;
    let empty = Details::default();
    let details = b.details.as_ref().unwrap_or(&empty);
    let alertname = details
        .text("alertname")
        .unwrap_or_else(|| without_status_tag(description));
    let mut pairs = place_labels(details, ctx);
    pairs.push((Str::const_new("alertname"), Str::from(alertname)));
    let client = present(&b.client);
    if let Some(c) = client {
        pairs.push((Str::const_new("source"), Str::from(c)));
    }
    let labels = Labels::from_vec(pairs);
    let severity = ctx
        .opts
        .severity_labels
        .iter()
        .find_map(|n| labels.get(n))
        .and_then(Severity::parse_loose)
        .unwrap_or(ctx.opts.default_severity);
    let fingerprint = match incident_key {
        Some(k) => keyed_fingerprint(k, service_key),
        None => Fingerprint::of_sorted([("alertname", alertname), ("routing_key", service_key)]),
    };
    let runbook = details
        .text("runbook_url")
        .or_else(|| details.text("runbook"));
    Ok(AlertEvent {
        source: Source::PagerDutyV2,
        kind: EventKind::Firing,
        time,
        fingerprint,
        source_id: None,
        dedup_key: incident_key.map(|k| DedupKey(Str::from(k))),
        alertname: Str::from(alertname),
        annotations: Annotations {
            summary: Some(description.to_owned()),
            description: details.text("description").map(str::to_owned),
            runbook: runbook.map(str::to_owned),
        },
        severity,
        service: ctx.opts.service_of(&labels),
        team: ctx.opts.team_of(&labels),
        labels,
        actor: None,
        ends_at: None,
        sender: None,
        group: None,
        listed: None,
    })
}

/// A summary without the status tag Alertmanager's and Grafana's default titles start with
/// (`[FIRING:2] `, `[RESOLVED] `, `[FIRING:1, RESOLVED:1] `): the count changes from one
/// notification to the next, and a name taken from the summary must not.
fn without_status_tag(summary: &str) -> &str {
    let Some(rest) = summary.strip_prefix('[') else {
        return summary;
    };
    let Some(end) = rest.find(']') else {
        return summary;
    };
    let tag = &rest[..end];
    let is_status = tag.split(',').all(|part| {
        let (word, count) = match part.trim().split_once(':') {
            Some((w, n)) => (w, Some(n)),
            None => (part.trim(), None),
        };
        matches!(word, "FIRING" | "RESOLVED")
            && count.is_none_or(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
    });
    let rest = rest[end + 1..].trim_start();
    if is_status && !rest.is_empty() {
        rest
    } else {
        summary
    }
}

/// What an event's action (`field`: v2's `event_action`, v1's `event_type`) asks for.
fn kind_of(field: &str, action: &str) -> Result<EventKind, DecodeError> {
    match action {
        "trigger" => Ok(EventKind::Firing),
        "acknowledge" => Ok(EventKind::Acknowledged),
        "resolve" => Ok(EventKind::Resolved),
        other => Err(DecodeError::invalid(
            field,
            format!(
                "expected `trigger`, `acknowledge` or `resolve`, got {:?}",
                quote(other)
            ),
        )),
    }
}

/// Checked for presence only: the value is a credential and is never quoted back.
fn routing_key_of<'s>(b: &'s Body<'_>) -> Result<&'s str, DecodeError> {
    match &b.routing_key {
        None => Err(DecodeError::missing("routing_key")),
        Some(r) if r.as_str().trim().is_empty() => {
            Err(DecodeError::invalid("routing_key", "must not be empty"))
        }
        Some(r) => Ok(r.as_str()),
    }
}

/// A Change Event (`/v2/change/enqueue`): a deploy or rollout, kept as context for the
/// clusters of the service or team it is about. That is, in order: a configured service
/// (or team) label among its `custom_details`, else what its routing key is configured to
/// page (`[pagerduty] service_routing_keys` / `team_routing_keys`: PagerDuty itself shows a
/// change on the service whose integration received it). With neither it is about nothing
/// noisegate can tell, and the engine only counts it.
fn change(b: &Body<'_>, routing_key: &str, ctx: &Ctx<'_>) -> Result<AlertEvent, DecodeError> {
    let (p, summary) = payload_and_summary(b)?;
    let time = event_time(p, ctx)?;
    let empty = Details::default();
    let details = p.custom_details.as_ref().unwrap_or(&empty);
    let mut pairs = place_labels(details, ctx);
    let source = present(&p.source);
    if let Some(src) = source {
        pairs.push((Str::const_new("source"), Str::from(src)));
    }
    let labels = Labels::from_vec(pairs);
    let key_hash = super::routing_key_hash(routing_key);
    let scope = ctx
        .opts
        .routing_scopes
        .iter()
        .find(|s| s.key_hash == key_hash);
    let service = ctx
        .opts
        .service_of(&labels)
        .or_else(|| scope.and_then(|s| s.service.clone()));
    let team = ctx
        .opts
        .team_of(&labels)
        .or_else(|| scope.and_then(|s| s.team.clone()));
    // A retried change is the same change: same text, source, time and integration.
    let stamp = p.timestamp.as_ref().map_or("", Text::as_str);
    let mut id = vec![("routing_key", routing_key), ("summary", summary)];
    if let Some(src) = source {
        id.push(("source", src));
    }
    id.push(("timestamp", stamp));
    let link = b
        .links
        .as_deref()
        .and_then(|l| l.iter().find_map(|l| present(&l.href)));
    Ok(AlertEvent {
        source: Source::PagerDutyV2,
        kind: EventKind::Change,
        time,
        fingerprint: Fingerprint::of_sorted(id),
        source_id: None,
        dedup_key: None,
        alertname: Str::default(),
        labels,
        // The change's first link (its build, its pull request) travels in the one link
        // field an event has.
        annotations: Annotations {
            summary: Some(summary.to_owned()),
            description: None,
            runbook: link.map(str::to_owned),
        },
        severity: Severity::Info,
        service,
        team,
        actor: None,
        ends_at: None,
        sender: None,
        group: None,
        listed: None,
    })
}

/// `payload.timestamp`, else the receive time.
fn event_time(p: &Payload<'_>, ctx: &Ctx<'_>) -> Result<EventTime, DecodeError> {
    match &p.timestamp {
        Some(t) => EventTime::parse_lenient(t.as_str()).ok_or_else(|| {
            DecodeError::invalid(
                "payload.timestamp",
                format!("not an ISO 8601 / RFC 3339 time: {:?}", quote(t.as_str())),
            )
        }),
        None => ctx
            .received_at
            .ok_or_else(|| DecodeError::missing("payload.timestamp")),
    }
}

/// The `custom_details` string entries that say where something is (see the module doc).
fn place_labels(details: &Details<'_>, ctx: &Ctx<'_>) -> Vec<(Str, Str)> {
    let opts = ctx.opts;
    let mut pairs: Vec<(Str, Str)> = Vec::with_capacity(details.0.len() + 6);
    for (k, v) in &details.0 {
        let key = k.as_ref();
        let wanted = PLACE_DETAILS.contains(&key)
            || opts.service_labels.iter().any(|n| n == key)
            || opts.team_labels.iter().any(|n| n == key)
            || opts.severity_labels.iter().any(|n| n == key);
        if !wanted {
            continue;
        }
        match v {
            Scalar::Text(s) if !s.is_empty() => pairs.push((Str::from(key), Str::from(s.as_ref()))),
            _ => continue,
        }
    }
    pairs
}

/// A Change Event has a `payload` but no `event_action`, and (unlike a malformed alert) the
/// change-event shape: `links` or a `payload.summary`.
fn is_change_event(b: &Body<'_>) -> bool {
    match &b.payload {
        Some(p) => b.links.is_some() || p.summary.is_some(),
        None => false,
    }
}

fn ack_or_resolve(
    dedup_key: &str,
    kind: EventKind,
    routing_key: &str,
    ctx: &Ctx<'_>,
) -> Result<AlertEvent, DecodeError> {
    let actor = (kind == EventKind::Resolved).then_some(Actor::Automation);
    // Acknowledge/resolve bodies carry no timestamp: they happen when they arrive.
    let time = ctx
        .received_at
        .ok_or_else(|| DecodeError::missing("timestamp"))?;
    Ok(AlertEvent {
        source: Source::PagerDutyV2,
        kind,
        time,
        fingerprint: keyed_fingerprint(dedup_key, routing_key),
        source_id: None,
        dedup_key: Some(DedupKey(Str::from(dedup_key))),
        alertname: Str::default(),
        labels: Labels::new(),
        annotations: Annotations::default(),
        severity: ctx.opts.default_severity,
        service: None,
        team: None,
        // A resolve comes from the tool that raised the alert. An acknowledge through the
        // Events API is a person acting through a tool (chat-ops, a runbook button): who
        // exactly is unknown, so no actor is claimed.
        actor,
        ends_at: None,
        sender: None,
        group: None,
        listed: None,
    })
}

/// The `payload` and its `summary`, which triggers and changes both require.
fn payload_and_summary<'s, 'a>(b: &'s Body<'a>) -> Result<(&'s Payload<'a>, &'s str), DecodeError> {
    let p = b
        .payload
        .as_ref()
        .ok_or_else(|| DecodeError::missing("payload"))?;
    Ok((p, required(&p.summary, "payload.summary")?))
}

fn trigger(b: &Body<'_>, routing_key: &str, ctx: &Ctx<'_>) -> Result<AlertEvent, DecodeError> {
    let (p, summary) = payload_and_summary(b)?;
    let source = required(&p.source, "payload.source")?;
    let severity_raw = required(&p.severity, "payload.severity")?;
    let severity = Severity::parse_loose(severity_raw).ok_or_else(|| {
        DecodeError::invalid(
            "payload.severity",
            format!(
                "expected `critical`, `error`, `warning` or `info`, got {:?}",
                quote(severity_raw)
            ),
        )
    })?;
    let time = event_time(p, ctx)?;
    let component = present(&p.component);
    let group = present(&p.group);
    let class = present(&p.class);
    let dedup_key = present(&b.dedup_key);
    let alertname = class.unwrap_or_else(|| without_status_tag(summary));

    let empty = Details::default();
    let details = p.custom_details.as_ref().unwrap_or(&empty);

    let mut pairs = place_labels(details, ctx);
    // Pushed last so they win over a custom detail of the same name.
    pairs.push((Str::const_new("alertname"), Str::from(alertname)));
    pairs.push((Str::const_new("source"), Str::from(source)));
    pairs.push((Str::const_new("severity"), Str::from(severity_raw)));
    for (name, value) in [("component", component), ("group", group), ("class", class)] {
        if let Some(v) = value {
            pairs.push((Str::const_new(name), Str::from(v)));
        }
    }
    let labels = Labels::from_vec(pairs);

    let fingerprint = match dedup_key {
        Some(k) => keyed_fingerprint(k, routing_key),
        None => {
            // Sorted by name, as `of_sorted` requires.
            let mut id: Vec<(&str, &str)> = Vec::with_capacity(6);
            id.push(("alertname", alertname));
            for (name, value) in [
                ("class", class),
                ("component", component),
                ("group", group),
                ("routing_key", Some(routing_key)),
                ("source", Some(source)),
            ] {
                if let Some(v) = value {
                    id.push((name, v));
                }
            }
            Fingerprint::of_sorted(id)
        }
    };

    let runbook = details
        .text("runbook_url")
        .or_else(|| details.text("runbook"))
        .or_else(|| runbook_link(b.links.as_deref()));
    let annotations = Annotations {
        summary: Some(summary.to_owned()),
        description: details.text("description").map(str::to_owned),
        runbook: runbook.map(str::to_owned),
    };

    let service = ctx
        .opts
        .service_of(&labels)
        .or_else(|| component.map(Str::from));
    let team = ctx.opts.team_of(&labels);

    Ok(AlertEvent {
        source: Source::PagerDutyV2,
        kind: EventKind::Firing,
        time,
        fingerprint,
        source_id: None,
        dedup_key: dedup_key.map(|k| DedupKey(Str::from(k))),
        alertname: Str::from(alertname),
        labels,
        annotations,
        severity,
        service,
        team,
        actor: None,
        ends_at: None,
        sender: None,
        group: None,
        listed: None,
    })
}

/// The identity of an alert that has a dedup key (names sorted: `dedup_key` < `routing_key`).
fn keyed_fingerprint(dedup_key: &str, routing_key: &str) -> Fingerprint {
    Fingerprint::of_sorted([("dedup_key", dedup_key), ("routing_key", routing_key)])
}

/// The href of the first link whose text mentions a runbook.
fn runbook_link<'s>(links: Option<&'s [Link<'_>]>) -> Option<&'s str> {
    links?.iter().find_map(|l| {
        let text = l.text.as_ref()?.as_str().as_bytes();
        let href = l.href.as_ref()?.as_str();
        let mentions = text
            .windows(b"runbook".len())
            .any(|w| w.eq_ignore_ascii_case(b"runbook"));
        (mentions && !href.is_empty()).then_some(href)
    })
}

/// A required string field: absent → `MissingField`, blank → `InvalidValue`.
fn required<'s>(v: &'s Option<Text<'_>>, field: &str) -> Result<&'s str, DecodeError> {
    match v {
        None => Err(DecodeError::missing(field)),
        Some(t) if t.as_str().trim().is_empty() => {
            Err(DecodeError::invalid(field, "must not be empty"))
        }
        Some(t) => Ok(t.as_str()),
    }
}

/// An optional string field; empty counts as absent.
fn present<'s>(v: &'s Option<Text<'_>>) -> Option<&'s str> {
    v.as_ref().map(Text::as_str).filter(|s| !s.is_empty())
}

/// At most [`QUOTE_MAX_CHARS`] characters of an input value, for error messages.
fn quote(s: &str) -> &str {
    match s.char_indices().nth(QUOTE_MAX_CHARS) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::{DecodeOptions, Format};

    const RECEIVED: EventTime = EventTime(1_700_000_000_000);

    fn fx(p: &str) -> Vec<u8> {
        let path = format!("{}/../shared/fixtures/{p}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    /// The docs' trigger example is JSONC: drop its leading `/* ... */` comment.
    fn docs_trigger() -> Vec<u8> {
        let raw = fx(
            "pagerduty-developer-docs/events-api-v2/trigger_events_01_example_request_payloads_trigger.jsonc",
        );
        let text = String::from_utf8(raw).expect("fixture is UTF-8");
        let start = text.find("/*").expect("leading comment");
        let end = text.find("*/").expect("comment end") + 2;
        assert!(text[..start].trim().is_empty());
        text.as_bytes()[end..].to_vec()
    }

    fn run_with(
        bytes: &[u8],
        opts: &DecodeOptions,
        received_at: Option<EventTime>,
    ) -> Result<AlertEvent, DecodeError> {
        let ctx = Ctx { opts, received_at };
        let mut out = Vec::new();
        let r = decode(bytes, &ctx, &mut out);
        match r {
            Ok(d) => {
                let change = usize::from(out[0].kind == EventKind::Change);
                assert_eq!(
                    d,
                    Decoded {
                        events: 1 - change,
                        ignored: 0,
                        truncated: 0,
                        changes: change
                    }
                );
                assert_eq!(out.len(), 1);
                Ok(out.remove(0))
            }
            Err(e) => {
                assert!(out.is_empty(), "nothing appended on error");
                Err(e)
            }
        }
    }

    fn run(bytes: &[u8]) -> Result<AlertEvent, DecodeError> {
        run_with(bytes, &DecodeOptions::default(), Some(RECEIVED))
    }

    fn time(s: &str) -> EventTime {
        EventTime::parse_rfc3339(s).expect("test time")
    }

    fn labels(ev: &AlertEvent) -> Vec<(&str, &str)> {
        ev.labels.iter().collect()
    }

    fn assert_no_routing_key(ev: &AlertEvent, key: &str) {
        assert!(ev.labels.get("routing_key").is_none());
        assert!(ev.labels.iter().all(|(_, v)| !v.contains(key)), "{ev:?}");
        let a = &ev.annotations;
        for s in [&a.summary, &a.description, &a.runbook]
            .into_iter()
            .flatten()
        {
            assert!(!s.contains(key));
        }
    }

    const MIN_TRIGGER: &str = r#"{"routing_key":"R0123456789abcdef0123456789abcdef","event_action":"trigger",
        "payload":{"summary":"s","source":"h","severity":"error","timestamp":"2024-05-01T12:00:00Z"}}"#;

    fn with(base: &str, from: &str, to: &str) -> Vec<u8> {
        assert!(base.contains(from), "{from}");
        base.replacen(from, to, 1).into_bytes()
    }

    #[test]
    fn docs_trigger_example() {
        let ev = run(&docs_trigger()).expect("decodes");
        assert_eq!(ev.source, Source::PagerDutyV2);
        assert_eq!(ev.kind, EventKind::Firing);
        assert_eq!(ev.time, time("2015-07-17T08:42:58.315Z"));
        assert_eq!(ev.severity, Severity::Info);
        assert_eq!(ev.alertname, "deploy");
        assert_eq!(ev.dedup_key, Some(DedupKey("samplekeyhere".into())));
        assert_eq!(ev.actor, None);
        assert_eq!(ev.source_id, None);
        assert_eq!(
            labels(&ev),
            vec![
                ("alertname", "deploy"),
                ("class", "deploy"),
                ("component", "postgres"),
                ("group", "prod-datapipe"),
                ("severity", "info"),
                (
                    "source",
                    "monitoringtool:cloudvendor:central-region-dc-01:852559987:cluster/api-stats-prod-003"
                ),
            ]
        );
        assert_eq!(
            ev.annotations.summary.as_deref(),
            Some("Example alert on host1.example.com")
        );
        assert_eq!(ev.annotations.description, None);
        assert_eq!(ev.annotations.runbook, None, "link text is not a runbook");
        assert_eq!(
            ev.service.as_deref(),
            Some("postgres"),
            "component fallback"
        );
        assert_eq!(ev.team, None);
        assert_eq!(
            ev.fingerprint,
            Fingerprint::of_sorted([
                ("dedup_key", "samplekeyhere"),
                ("routing_key", "samplekeyhere")
            ])
        );
        assert_no_routing_key(&ev, "samplekeyhere");
    }

    #[test]
    fn schema_enqueue_example() {
        let ev = run(&fx("pagerduty-api-schema/enqueue_example_event.json")).expect("decodes");
        assert_eq!(ev.kind, EventKind::Firing);
        assert_eq!(ev.severity, Severity::Critical);
        assert_eq!(ev.time, time("2015-07-17T08:42:58.315Z"));
        assert_eq!(ev.alertname, "disk");
        assert_eq!(ev.dedup_key, Some(DedupKey("srv01/mysql".into())));
        assert_eq!(
            ev.labels.get("free space"),
            None,
            "a measurement, not a label"
        );
        assert_eq!(
            ev.labels.get("load avg"),
            None,
            "a measurement, not a label"
        );
        assert_eq!(ev.labels.get("source"), Some("prod-datapipe03.example.com"));
        assert_eq!(ev.labels.get("severity"), Some("critical"));
        assert_eq!(ev.service.as_deref(), Some("mysql"));
        assert_eq!(
            ev.annotations.summary.as_deref(),
            Some("DISK at 99% on machine prod-datapipe03.example.com")
        );
        assert_no_routing_key(&ev, "e93facc04764012d7bfb002500d5d1a6");
    }

    #[test]
    fn docs_acknowledge_and_resolve() {
        let ack = run(&fx(
            "pagerduty-developer-docs/events-api-v2/trigger_events_02_example_request_payloads_acknowledge.json",
        ))
        .expect("ack decodes");
        let res = run(&fx(
            "pagerduty-developer-docs/events-api-v2/trigger_events_03_example_request_payloads_resolve.json",
        ))
        .expect("resolve decodes");
        assert_eq!(ack.kind, EventKind::Acknowledged);
        assert_eq!(res.kind, EventKind::Resolved);
        assert_eq!(ack.actor, None, "an ack's actor is unknown");
        assert_eq!(res.actor, Some(Actor::Automation));
        for ev in [&ack, &res] {
            assert_eq!(ev.time, RECEIVED, "no timestamp: received_at");
            assert_eq!(ev.dedup_key, Some(DedupKey("dedupkeyhere".into())));
            assert_eq!(ev.alertname, "");
            assert!(ev.labels.is_empty());
            assert_eq!(ev.severity, DecodeOptions::default().default_severity);
            assert_eq!(ev.service, None);
        }
        assert_eq!(ack.fingerprint, res.fingerprint);
    }

    #[test]
    fn trigger_and_its_ack_resolve_share_a_fingerprint() {
        // The docs' trigger uses other keys than the docs' ack/resolve: align them.
        let trig = String::from_utf8(docs_trigger()).expect("utf-8");
        let trig = trig
            .replacen(
                r#""routing_key": "samplekeyhere""#,
                r#""routing_key": "routingkeyhere""#,
                1,
            )
            .replacen(
                r#""dedup_key": "samplekeyhere""#,
                r#""dedup_key": "dedupkeyhere""#,
                1,
            );
        let fire = run(trig.as_bytes()).expect("trigger");
        let ack = run(&fx(
            "pagerduty-developer-docs/events-api-v2/trigger_events_02_example_request_payloads_acknowledge.json",
        ))
        .expect("ack");
        let res = run(&fx(
            "pagerduty-developer-docs/events-api-v2/trigger_events_03_example_request_payloads_resolve.json",
        ))
        .expect("resolve");
        assert_eq!(fire.dedup_key, ack.dedup_key);
        assert_eq!(fire.fingerprint, ack.fingerprint);
        assert_eq!(fire.fingerprint, res.fingerprint);

        // The same dedup key on another integration is another alert.
        let moved = String::from_utf8(fx(
            "pagerduty-developer-docs/events-api-v2/trigger_events_03_example_request_payloads_resolve.json",
        ))
        .expect("utf-8")
        .replacen("routingkeyhere", "otherintegration", 1);
        let moved = run(moved.as_bytes()).expect("resolve");
        assert_ne!(moved.fingerprint, res.fingerprint);
    }

    #[test]
    fn change_events_are_changes_about_what_they_name() {
        // PagerDuty's published examples name no service: a change about nothing we know.
        for p in [
            "pagerduty-developer-docs/events-api-v2/change_events_01_example_request_payload.json",
            "pagerduty-api-schema/change_enqueue_example_build-change-event.json",
            "pagerduty-api-schema/change_enqueue_example_git-change-event.json",
        ] {
            let ev = run(&fx(p)).unwrap_or_else(|e| panic!("{p}: {e}"));
            assert_eq!(ev.kind, EventKind::Change, "{p}");
            assert_eq!(
                (ev.service.as_deref(), ev.team.as_deref()),
                (None, None),
                "{p}"
            );
            assert!(ev.annotations.summary.is_some(), "{p}");
            assert!(
                ev.annotations
                    .runbook
                    .as_deref()
                    .is_some_and(|l| l.starts_with("https://")),
                "{p}"
            );
            assert_eq!(ev.time.to_rfc3339()[4..], *"-07-17T08:42:58.315Z", "{p}");
        }
        // A service among its details names it; so does the routing key it was sent to, as
        // PagerDuty shows a change on the service of the integration that received it.
        let body = |details: &str, key: &str| {
            format!(
                r#"{{"routing_key":"{key}","payload":{{"summary":"Deploy checkout v2.3.1",
                "timestamp":"2026-12-07T10:00:00Z","source":"argo","custom_details":{details}}},
                "links":[{{"href":"https://ci.example/run/42","text":"run"}}]}}"#
            )
        };
        let ev = run(body(
            r#"{"service":"checkout","team":"payments","sha":"abc"}"#,
            "k1",
        )
        .as_bytes())
        .unwrap();
        assert_eq!(ev.service.as_deref(), Some("checkout"));
        assert_eq!(ev.team.as_deref(), Some("payments"));
        assert_eq!(ev.labels.get("source"), Some("argo"));
        assert_eq!(
            ev.labels.get("sha"),
            None,
            "measurements and ids are not labels"
        );
        assert_eq!(
            ev.annotations.runbook.as_deref(),
            Some("https://ci.example/run/42")
        );
        let opts = DecodeOptions {
            routing_scopes: vec![crate::decode::RoutingScope {
                key_hash: crate::decode::routing_key_hash("R-search-key"),
                service: Some("search".into()),
                team: Some("discovery".into()),
            }],
            ..DecodeOptions::default()
        };
        let ev = run_with(body("{}", "R-search-key").as_bytes(), &opts, None).unwrap();
        assert_eq!(
            (ev.service.as_deref(), ev.team.as_deref()),
            (Some("search"), Some("discovery"))
        );
        let ev = run_with(body("{}", "another-key").as_bytes(), &opts, None).unwrap();
        assert_eq!((ev.service.as_deref(), ev.team.as_deref()), (None, None));
        // A retried send is the same change; another time is another change.
        let again = run(body("{}", "k1").as_bytes()).unwrap();
        assert_eq!(
            run(body("{}", "k1").as_bytes()).unwrap().fingerprint,
            again.fingerprint
        );
        let later = body("{}", "k1").replace("10:00:00Z", "11:00:00Z");
        assert_ne!(
            run(later.as_bytes()).unwrap().fingerprint,
            again.fingerprint
        );
        // The routing key is a credential: never in labels or text.
        assert!(!format!("{again:?}").contains("k1\""));
        // Without a time of its own, a change happened when it arrived.
        let no_time = body("{}", "k1").replace(r#""timestamp":"2026-12-07T10:00:00Z","#, "");
        assert_eq!(run(no_time.as_bytes()).unwrap().time, RECEIVED);
        assert!(matches!(
            run_with(no_time.as_bytes(), &DecodeOptions::default(), None),
            Err(DecodeError::MissingField { .. })
        ));
        // Still refused with a reason: no summary, no routing key.
        let no_summary = body("{}", "k1").replace(r#""summary":"Deploy checkout v2.3.1","#, "");
        assert!(run(no_summary.as_bytes()).is_err());
        let no_key = body("{}", "k1").replace(r#""routing_key":"k1","#, "");
        assert_eq!(
            run(no_key.as_bytes()),
            Err(DecodeError::missing("routing_key"))
        );
    }

    #[test]
    fn custom_details_feed_service_team_and_annotations() {
        let body = br#"{
            "routing_key": "R0123456789abcdef0123456789abcdef",
            "event_action": "trigger",
            "dedup_key": "checkout/latency",
            "unknown_top_level": {"x": [1, 2]},
            "payload": {
                "summary": "p99 latency \"high\" at 812ms",
                "source": "checkout-7f9c",
                "severity": "warning",
                "class": "HighLatency",
                "custom_details": {
                    "service": "checkout",
                    "team": "payments",
                    "runbook_url": "https://runbooks.example.com/latency",
                    "description": "p99 above 500ms for 10m",
                    "replicas": 3,
                    "ratio": -0.5,
                    "canary": false,
                    "nested": {"a": "b"},
                    "list": ["x"],
                    "nothing": null,
                    "empty": "",
                    "alertname": "spoofed",
                    "routing_key": "R0123456789abcdef0123456789abcdef"
                },
                "unknown_in_payload": true
            },
            "links": [{"href": "https://example.com/other-runbook", "text": "Runbook"}]
        }"#;
        let ev = run(body).expect("decodes");
        assert_eq!(ev.time, RECEIVED, "no payload.timestamp: received_at");
        assert_eq!(ev.alertname, "HighLatency");
        assert_eq!(
            ev.labels.get("alertname"),
            Some("HighLatency"),
            "derived wins"
        );
        assert_eq!(ev.labels.get("service"), Some("checkout"));
        assert_eq!(ev.labels.get("team"), Some("payments"));
        // Measurements and free-form details are not labels: they change between sends.
        for absent in [
            "replicas",
            "ratio",
            "canary",
            "description",
            "nested",
            "list",
            "nothing",
            "empty",
            "routing_key",
        ] {
            assert_eq!(ev.labels.get(absent), None, "{absent}");
        }
        assert_eq!(ev.service.as_deref(), Some("checkout"));
        assert_eq!(ev.team.as_deref(), Some("payments"));
        assert_eq!(
            ev.annotations.runbook.as_deref(),
            Some("https://runbooks.example.com/latency"),
            "custom_details.runbook_url wins over links"
        );
        assert_eq!(
            ev.annotations.description.as_deref(),
            Some("p99 above 500ms for 10m")
        );
        assert_eq!(
            ev.annotations.summary.as_deref(),
            Some("p99 latency \"high\" at 812ms")
        );
        assert_eq!(ev.severity, Severity::Warning);
        assert_no_routing_key(&ev, "R0123456789abcdef0123456789abcdef");
    }

    #[test]
    fn runbook_from_links() {
        let body = with(
            MIN_TRIGGER,
            r#""severity":"error","#,
            r#""severity":"error","custom_details":"free text details","#,
        );
        let body = String::from_utf8(body).expect("utf-8").replacen(
            r#""trigger","#,
            r#""trigger","links":[{"href":"https://a.example"},{"href":"https://b.example","text":"Dashboard"},{"href":"https://rb.example/x","text":"Open the RUNBOOK"}],"#,
            1,
        );
        let ev = run(body.as_bytes()).expect("decodes");
        assert_eq!(
            ev.annotations.runbook.as_deref(),
            Some("https://rb.example/x")
        );
        assert_eq!(
            labels(&ev).len(),
            3,
            "string custom_details ignored: {ev:?}"
        );
    }

    #[test]
    fn fingerprint_without_dedup_key_ignores_values() {
        let a = r#"{"routing_key":"rk1","event_action":"trigger","payload":{"summary":"DISK at 99%","source":"db1",
            "severity":"critical","class":"disk","component":"mysql","custom_details":{"free":"1%"}}}"#;
        let fa = run(a.as_bytes()).expect("a").fingerprint;
        let b = with(a, "DISK at 99%", "DISK at 97%");
        let b = String::from_utf8(b).expect("utf-8").replacen("1%", "3%", 1);
        assert_eq!(
            run(b.as_bytes()).expect("b").fingerprint,
            fa,
            "class present: summary and details do not count"
        );
        assert_eq!(
            fa,
            Fingerprint::of_sorted([
                ("alertname", "disk"),
                ("class", "disk"),
                ("component", "mysql"),
                ("routing_key", "rk1"),
                ("source", "db1"),
            ])
        );
        let c = with(a, r#""rk1""#, r#""rk2""#);
        assert_ne!(run(&c).expect("c").fingerprint, fa, "other integration");
        let d = with(a, r#""source":"db1""#, r#""source":"db2""#);
        assert_ne!(run(&d).expect("d").fingerprint, fa, "other source");
        // Without a class the summary is the name, so it is part of the identity.
        let e = with(a, r#","class":"disk""#, "");
        let e2 = String::from_utf8(e.clone())
            .expect("utf-8")
            .replacen("99%", "97%", 1);
        let (fe, fe2) = (run(&e).expect("e"), run(e2.as_bytes()).expect("e2"));
        assert_eq!(fe.alertname, "DISK at 99%");
        assert_ne!(fe.fingerprint, fe2.fingerprint);
    }

    #[test]
    fn strings_are_borrowed_from_the_input() {
        let body: Body<'_> = from_json(MIN_TRIGGER.as_bytes()).expect("parses");
        let s = body
            .payload
            .as_ref()
            .and_then(|p| p.summary.as_ref())
            .expect("summary");
        assert!(matches!(s.0, Cow::Borrowed(_)));
        let body: Body<'_> =
            from_json(br#"{"payload":{"custom_details":{"k":"v"}}}"#).expect("parses");
        let d = body
            .payload
            .and_then(|p| p.custom_details)
            .expect("details");
        assert!(matches!(
            d.0[0],
            (Cow::Borrowed("k"), Scalar::Text(Cow::Borrowed("v")))
        ));
    }

    #[test]
    fn timestamps() {
        let ev = run(MIN_TRIGGER.as_bytes()).expect("decodes");
        assert_eq!(ev.time, time("2024-05-01T12:00:00Z"));
        let plus0000 = with(
            MIN_TRIGGER,
            "2024-05-01T12:00:00Z",
            "2024-05-01T14:00:00.250+0200",
        );
        assert_eq!(
            run(&plus0000).expect("+0200").time,
            time("2024-05-01T12:00:00.250Z")
        );
        let bad = with(MIN_TRIGGER, "2024-05-01T12:00:00Z", "yesterday at noon");
        match run(&bad) {
            Err(DecodeError::InvalidValue { field, detail }) => {
                assert_eq!(field, "payload.timestamp");
                assert!(detail.contains("yesterday at noon"), "{detail}");
            }
            other => panic!("{other:?}"),
        }
        let none = with(MIN_TRIGGER, r#","timestamp":"2024-05-01T12:00:00Z""#, "");
        assert_eq!(run(&none).expect("received_at").time, RECEIVED);
        assert_eq!(
            run_with(&none, &DecodeOptions::default(), None),
            Err(DecodeError::missing("payload.timestamp"))
        );
        let ack = fx(
            "pagerduty-developer-docs/events-api-v2/trigger_events_02_example_request_payloads_acknowledge.json",
        );
        assert_eq!(
            run_with(&ack, &DecodeOptions::default(), None),
            Err(DecodeError::missing("timestamp"))
        );
    }

    #[test]
    fn precise_errors() {
        let missing_rk = with(
            MIN_TRIGGER,
            r#""routing_key":"R0123456789abcdef0123456789abcdef","#,
            "",
        );
        assert_eq!(run(&missing_rk), Err(DecodeError::missing("routing_key")));
        let empty_rk = with(MIN_TRIGGER, "R0123456789abcdef0123456789abcdef", " ");
        assert_eq!(
            run(&empty_rk),
            Err(DecodeError::invalid("routing_key", "must not be empty"))
        );
        let bad_sev = with(
            MIN_TRIGGER,
            r#""severity":"error""#,
            r#""severity":"catastrophic""#,
        );
        match run(&bad_sev) {
            Err(DecodeError::InvalidValue { field, detail }) => {
                assert_eq!(field, "payload.severity");
                assert!(detail.contains("catastrophic"), "{detail}");
            }
            other => panic!("{other:?}"),
        }
        let wrong_type = with(MIN_TRIGGER, r#""summary":"s""#, r#""summary":5"#);
        match run(&wrong_type) {
            Err(DecodeError::WrongType { path, .. }) => assert_eq!(path, "payload.summary"),
            other => panic!("{other:?}"),
        }
        let links_type = with(
            MIN_TRIGGER,
            r#""trigger","#,
            r#""trigger","links":{"href":"x"},"#,
        );
        match run(&links_type) {
            Err(DecodeError::WrongType { path, .. }) => assert_eq!(path, "links"),
            other => panic!("{other:?}"),
        }
        let truncated = &MIN_TRIGGER.as_bytes()[..MIN_TRIGGER.len() - 10];
        assert!(matches!(
            run(truncated),
            Err(DecodeError::TruncatedJson { .. })
        ));
        assert!(matches!(
            run(b"{\"event_action\": }"),
            Err(DecodeError::InvalidJson { .. })
        ));
        assert_eq!(run(b""), Err(DecodeError::Empty));
        assert!(matches!(run(b"[]"), Err(DecodeError::WrongType { .. })));
        let bad_action = with(MIN_TRIGGER, r#""trigger""#, r#""fire""#);
        match run(&bad_action) {
            Err(DecodeError::InvalidValue { field, detail }) => {
                assert_eq!(field, "event_action");
                assert!(detail.contains("\"fire\""), "{detail}");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            run(br#"{"routing_key":"rk"}"#),
            Err(DecodeError::missing("event_action"))
        );
        for field in ["summary", "source", "severity"] {
            let v = if field == "severity" {
                "error"
            } else if field == "source" {
                "h"
            } else {
                "s"
            };
            let body = with(MIN_TRIGGER, &format!(r#""{field}":"{v}","#), "");
            assert_eq!(
                run(&body),
                Err(DecodeError::missing(format!("payload.{field}"))),
                "{field}"
            );
        }
        assert_eq!(
            run(br#"{"routing_key":"rk","event_action":"trigger"}"#),
            Err(DecodeError::missing("payload"))
        );
        assert_eq!(
            run(br#"{"routing_key":"rk","event_action":"resolve"}"#),
            Err(DecodeError::missing("dedup_key"))
        );
        assert_eq!(
            run(br#"{"routing_key":"rk","event_action":"acknowledge","dedup_key":""}"#),
            Err(DecodeError::invalid("dedup_key", "must not be empty"))
        );
        // Huge values are not echoed back whole.
        let long = "x".repeat(10_000);
        let body = with(MIN_TRIGGER, r#""trigger""#, &format!("{long:?}"));
        let msg = run(&body).expect_err("invalid").to_string();
        assert!(msg.len() < 200, "{msg}");
    }

    /// What Alertmanager's PagerDuty receiver sends when it is configured with a
    /// `service_key` (its `notifyV1`): `event_action` and `payload` are written empty.
    const AM_V1_TRIGGER: &str = r#"{"service_key":"S0123456789abcdef0123456789abcdef",
        "incident_key":"6a4b1b7e3f8c9d2e","event_type":"trigger",
        "description":"[FIRING:2] DatabaseDown db (critical)","event_action":"","payload":null,
        "client":"Alertmanager","client_url":"http://am:9093/#/alerts?receiver=pd",
        "details":{"firing":"Labels:\n - alertname = DatabaseDown\n","num_firing":"2",
                   "num_resolved":"0","resolved":""}}"#;

    #[test]
    fn events_api_v1_triggers_acknowledges_and_resolves() {
        let key = "S0123456789abcdef0123456789abcdef";
        let ev = run(AM_V1_TRIGGER.as_bytes()).expect("v1 trigger");
        assert_eq!(ev.kind, EventKind::Firing);
        assert_eq!(ev.time, RECEIVED, "v1 has no timestamp: the arrival");
        assert_eq!(
            ev.alertname, "DatabaseDown db (critical)",
            "no [FIRING:2] in the name"
        );
        assert_eq!(
            ev.annotations.summary.as_deref(),
            Some("[FIRING:2] DatabaseDown db (critical)")
        );
        assert_eq!(ev.dedup_key, Some(DedupKey("6a4b1b7e3f8c9d2e".into())));
        assert_eq!(ev.severity, DecodeOptions::default().default_severity);
        assert_eq!(ev.labels.get("source"), Some("Alertmanager"));
        assert_no_routing_key(&ev, key);
        // The same key on the same integration is the same alert, whichever API version
        // the acknowledge or resolve comes through.
        let v2_ack = format!(
            r#"{{"routing_key":"{key}","event_action":"acknowledge","dedup_key":"6a4b1b7e3f8c9d2e"}}"#
        );
        assert_eq!(
            run(v2_ack.as_bytes()).expect("v2 ack").fingerprint,
            ev.fingerprint
        );
        for (event_type, kind) in [
            ("acknowledge", EventKind::Acknowledged),
            ("resolve", EventKind::Resolved),
        ] {
            let body = format!(
                r#"{{"service_key":"{key}","event_type":"{event_type}","incident_key":"6a4b1b7e3f8c9d2e","description":"x"}}"#
            );
            let e = run(body.as_bytes()).expect("v1 ack/resolve");
            assert_eq!(
                (e.kind, e.fingerprint),
                (kind, ev.fingerprint),
                "{event_type}"
            );
        }
        // A Nagios-style trigger: no incident key, severity and place in the details.
        let nagios = format!(
            r#"{{"service_key":"{key}","event_type":"trigger","description":"CRITICAL: disk /var 97% on web-3",
                "client":"Nagios","details":{{"severity":"critical","host":"web-3","service":"web","pct":97}}}}"#
        );
        let ev = run(nagios.as_bytes()).expect("nagios");
        assert_eq!(ev.severity, Severity::Critical);
        assert_eq!(ev.service.as_deref(), Some("web"));
        assert_eq!(ev.labels.get("host"), Some("web-3"));
        assert_eq!(ev.dedup_key, None);
        assert_eq!(
            labels(&ev).len(),
            5,
            "alertname, host, service, severity, source: {:?}",
            labels(&ev)
        );
    }

    #[test]
    fn events_api_v1_errors_name_the_field() {
        let key = "S0123456789abcdef0123456789abcdef";
        let body = |fields: &str| format!(r#"{{"service_key":"{key}",{fields}}}"#);
        assert_eq!(
            run(body(r#""event_type":"trigger""#).as_bytes()),
            Err(DecodeError::missing("description"))
        );
        assert_eq!(
            run(body(r#""event_type":"resolve""#).as_bytes()),
            Err(DecodeError::missing("incident_key"))
        );
        assert_eq!(
            run(body(r#""event_type":"page","description":"x""#).as_bytes()),
            Err(DecodeError::invalid(
                "event_type",
                "expected `trigger`, `acknowledge` or `resolve`, got \"page\""
            ))
        );
        let no_key = r#"{"event_type":"trigger","description":"x"}"#;
        assert_eq!(
            run(no_key.as_bytes()),
            Err(DecodeError::missing("service_key"))
        );
        let blank = r#"{"service_key":" ","event_type":"trigger","description":"x"}"#;
        assert_eq!(
            run(blank.as_bytes()),
            Err(DecodeError::invalid("service_key", "must not be empty"))
        );
        // Replay has no arrival time for the first line; it retries with the stream's.
        assert_eq!(
            run_with(AM_V1_TRIGGER.as_bytes(), &DecodeOptions::default(), None),
            Err(DecodeError::missing("timestamp"))
        );
        // Sniffed as the Events API, with or without Alertmanager's empty `event_action`.
        assert_eq!(
            crate::decode::sniff(AM_V1_TRIGGER.as_bytes()),
            Ok(Format::PagerDutyV2)
        );
        assert_eq!(
            crate::decode::sniff(no_key.replace("{", r#"{"service_key":"k","#).as_bytes()),
            Ok(Format::PagerDutyV2)
        );
    }

    #[test]
    fn a_name_taken_from_a_summary_drops_the_status_tag() {
        for (summary, name) in [
            ("[FIRING:1] DatabaseDown db", "DatabaseDown db"),
            ("[FIRING:12] DatabaseDown db", "DatabaseDown db"),
            ("[RESOLVED] DatabaseDown db", "DatabaseDown db"),
            ("[FIRING:1, RESOLVED:2] DatabaseDown", "DatabaseDown"),
            ("[FIRING:x] DatabaseDown", "[FIRING:x] DatabaseDown"),
            ("[prod] DatabaseDown", "[prod] DatabaseDown"),
            ("[FIRING:1]", "[FIRING:1]"),
            ("[FIRING:1", "[FIRING:1"),
            ("DatabaseDown", "DatabaseDown"),
            ("", ""),
        ] {
            assert_eq!(without_status_tag(summary), name, "{summary:?}");
        }
        // A v2 trigger without a class is named by its summary, the same for every count.
        let with = |summary: &str| {
            MIN_TRIGGER.replace(r#""summary":"s""#, &format!(r#""summary":"{summary}""#))
        };
        let a = run(with("[FIRING:1] DiskFull web").as_bytes()).expect("decodes");
        let b = run(with("[FIRING:3] DiskFull web").as_bytes()).expect("decodes");
        assert_eq!(a.alertname, "DiskFull web");
        assert_eq!(
            a.fingerprint, b.fingerprint,
            "one alert, whatever the count"
        );
    }

    #[test]
    fn never_panics_on_prefixes_and_garbage() {
        let full = fx("pagerduty-api-schema/enqueue_example_event.json");
        for n in 0..full.len() {
            let _ = run(&full[..n]);
        }
        for junk in [
            &b"null"[..],
            b"{}",
            b"\"x\"",
            b"{\"payload\":null}",
            b"\xff\xfe",
            b"{\"payload\":{\"custom_details\":[{},1]}}",
        ] {
            assert!(run(junk).is_err());
        }
    }
}
