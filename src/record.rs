//! The records noisegate emits — the project's stable public interface.
//!
//! [`ClusterRecord`] (one per cluster, `clusters.ndjson` / the `clusters` topic) and [`Page`]
//! (a PagerDuty Events API v2 event, `pages.ndjson` / the `pages` topic). JSON field names
//! and meanings are fixed; `proto/noisegate/v1/records.proto` is the same schema in
//! protobuf, and [`proto`] holds the generated types and the conversions. Nothing here
//! decides anything: the engine fills these in.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::event::{Actor, EventTime, Fingerprint, Labels, Severity};

/// Generated protobuf types for `proto/noisegate/v1/records.proto`.
pub mod proto {
    #![allow(clippy::all, missing_docs)]
    include!(concat!(env!("OUT_DIR"), "/noisegate.v1.rs"));
}

/// A cluster's id. Derived from its input (first alert's fingerprint and event time), never
/// from randomness or the wall clock, so replays and restarts name clusters the same way.
/// It is also the PagerDuty `dedup_key` of the cluster's page.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ClusterId(pub String);

impl ClusterId {
    /// `ng-<fingerprint>-<first event time in ms, hex>`: readable, unique per alert episode.
    pub fn derive(first: Fingerprint, at: EventTime) -> ClusterId {
        ClusterId(format!("ng-{first}-{:x}", at.as_millis()))
    }

    /// Whether a key has the shape of an id noisegate issues.
    pub fn looks_like(s: &str) -> bool {
        s.strip_prefix("ng-")
            .and_then(|r| r.split_once('-'))
            .is_some_and(|(fp, t)| {
                Fingerprint::parse_hex(fp).is_some()
                    && !t.is_empty()
                    && t.bytes().all(|b| b.is_ascii_hexdigit())
            })
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ClusterId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What happens to a cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// Wake someone: sent to PagerDuty.
    Page,
    /// Needs a look in working hours: sent to the ticket/digest stream.
    Ticket,
    /// Recorded and counted only.
    Suppress,
}

impl Decision {
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Page => "page",
            Decision::Ticket => "ticket",
            Decision::Suppress => "suppress",
        }
    }
}

/// The features a score is made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Feature {
    Severity,
    Flapping,
    Transient,
    DuplicateRate,
    BlastRadius,
    AfterHours,
    ActionableRate,
}

impl Feature {
    pub fn as_str(self) -> &'static str {
        match self {
            Feature::Severity => "severity",
            Feature::Flapping => "flapping",
            Feature::Transient => "transient",
            Feature::DuplicateRate => "duplicate_rate",
            Feature::BlastRadius => "blast_radius",
            Feature::AfterHours => "after_hours",
            Feature::ActionableRate => "actionable_rate",
        }
    }
}

/// One feature's part in a score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reason {
    pub feature: Feature,
    pub value: f64,
    pub contribution: f64,
}

/// Who resolved a cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResolvedBy {
    Human,
    Auto,
}

impl From<Actor> for ResolvedBy {
    fn from(a: Actor) -> Self {
        match a {
            Actor::Human => ResolvedBy::Human,
            Actor::Automation => ResolvedBy::Auto,
        }
    }
}

/// One alert (label set) inside a cluster.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertSummary {
    pub fingerprint: Fingerprint,
    pub alertname: String,
    pub labels: Labels,
    pub first_seen: EventTime,
    pub last_seen: EventTime,
    /// Raw events folded into this alert (firing repeats and its resolve).
    pub events: u64,
    /// Resolve → fire transitions seen.
    pub flaps: u32,
    /// The id the sending system knows this alert by, when it is not `fingerprint`: the
    /// `dedup_key` of a PagerDuty Events v2 trigger, Grafana's own fingerprint. Joins the
    /// record with that system's history. Absent for Alertmanager alerts (their fingerprint
    /// is this one) and OTLP log records (they carry none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_id: Option<String>,
}

/// One cluster: one probable incident. Serialised as one line of `clusters.ndjson`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClusterRecord {
    pub cluster_id: ClusterId,
    pub opened_at: EventTime,
    pub closed_at: Option<EventTime>,
    pub decision: Decision,
    pub score: f64,
    pub reasons: Vec<Reason>,
    pub alerts: Vec<AlertSummary>,
    pub raw_events: u64,
    pub services: Vec<String>,
    pub team: Option<String>,
    pub severity: Severity,
    pub paged_at: Option<EventTime>,
    pub acked_at: Option<EventTime>,
    pub resolved_at: Option<EventTime>,
    pub resolved_by: Option<ResolvedBy>,
    /// Pages of other clusters that merged into this one after they had paged (each was
    /// resolved as folded into this cluster's page). Total triggers for this incident:
    /// `folded_pages + (paged_at is set)`.
    #[serde(default)]
    pub folded_pages: u32,
    /// Changes (deploys, rollouts: PagerDuty Change Events) to its services or team from
    /// `engine.change_lookback` before it opened until it closed, oldest first: what an
    /// on-call engineer asks first. Context only: a change never moves the score.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<ChangeRef>,
}

/// One change as records and pages show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeRef {
    pub time: EventTime,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    pub summary: String,
    /// The change event's `source` (a CI system, a deploy tool).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Its first link (the build, the pull request).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
}

/// PagerDuty Events API v2 `event_action` noisegate sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PageAction {
    Trigger,
    Resolve,
}

/// The `payload` of a trigger.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PagePayload {
    pub summary: String,
    pub source: String,
    pub severity: Severity,
    pub timestamp: EventTime,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub component: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub class: Option<String>,
    pub custom_details: serde_json::Value,
}

/// A PagerDuty Events API v2 event, exactly the body PagerDuty's `/v2/enqueue` accepts.
/// `dedup_key` is always the cluster id, so re-sending after a crash or a replay never opens a
/// second incident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Page {
    pub routing_key: String,
    pub event_action: PageAction,
    pub dedup_key: ClusterId,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payload: Option<PagePayload>,
    pub client: String,
}

fn ts(t: EventTime) -> prost_types::Timestamp {
    let ms = t.as_millis();
    prost_types::Timestamp {
        seconds: ms.div_euclid(1000),
        nanos: (ms.rem_euclid(1000) * 1_000_000) as i32,
    }
}

fn severity_proto(s: Severity) -> proto::Severity {
    match s {
        Severity::Info => proto::Severity::Info,
        Severity::Warning => proto::Severity::Warning,
        Severity::Error => proto::Severity::Error,
        Severity::Critical => proto::Severity::Critical,
    }
}

impl From<&ClusterRecord> for proto::ClusterRecord {
    fn from(r: &ClusterRecord) -> Self {
        proto::ClusterRecord {
            cluster_id: r.cluster_id.0.clone(),
            opened_at: Some(ts(r.opened_at)),
            closed_at: r.closed_at.map(ts),
            decision: match r.decision {
                Decision::Page => proto::Decision::Page,
                Decision::Ticket => proto::Decision::Ticket,
                Decision::Suppress => proto::Decision::Suppress,
            } as i32,
            score: r.score,
            reasons: r
                .reasons
                .iter()
                .map(|x| proto::Reason {
                    feature: x.feature.as_str().to_string(),
                    value: x.value,
                    contribution: x.contribution,
                })
                .collect(),
            alerts: r
                .alerts
                .iter()
                .map(|a| proto::AlertSummary {
                    fingerprint: a.fingerprint.to_string(),
                    alertname: a.alertname.clone(),
                    labels: a
                        .labels
                        .iter()
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .collect(),
                    first_seen: Some(ts(a.first_seen)),
                    last_seen: Some(ts(a.last_seen)),
                    events: a.events,
                    flaps: a.flaps,
                    source_id: a.source_id.clone(),
                })
                .collect(),
            raw_events: r.raw_events,
            services: r.services.clone(),
            team: r.team.clone(),
            severity: severity_proto(r.severity) as i32,
            paged_at: r.paged_at.map(ts),
            acked_at: r.acked_at.map(ts),
            resolved_at: r.resolved_at.map(ts),
            resolved_by: match r.resolved_by {
                None => proto::ResolvedBy::Unspecified,
                Some(ResolvedBy::Human) => proto::ResolvedBy::Human,
                Some(ResolvedBy::Auto) => proto::ResolvedBy::Auto,
            } as i32,
            folded_pages: r.folded_pages,
            changes: r
                .changes
                .iter()
                .map(|c| proto::Change {
                    time: Some(ts(c.time)),
                    service: c.service.clone(),
                    team: c.team.clone(),
                    summary: c.summary.clone(),
                    source: c.source.clone(),
                    link: c.link.clone(),
                })
                .collect(),
        }
    }
}

impl From<&Page> for proto::Page {
    fn from(p: &Page) -> Self {
        proto::Page {
            routing_key: p.routing_key.clone(),
            event_action: match p.event_action {
                PageAction::Trigger => "trigger",
                PageAction::Resolve => "resolve",
            }
            .to_string(),
            dedup_key: p.dedup_key.0.clone(),
            payload: p.payload.as_ref().map(|x| proto::PagePayload {
                summary: x.summary.clone(),
                source: x.source.clone(),
                severity: x.severity.as_str().to_string(),
                timestamp: x.timestamp.to_rfc3339(),
                component: x.component.clone(),
                group: x.group.clone(),
                class: x.class.clone(),
                custom_details_json: x.custom_details.to_string(),
            }),
            client: p.client.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;

    fn sample() -> ClusterRecord {
        let labels = Labels::from_pairs([("alertname", "A"), ("service", "api")]);
        ClusterRecord {
            cluster_id: ClusterId::derive(labels.fingerprint(), EventTime(1_700_000_000_123)),
            opened_at: EventTime(1_700_000_000_123),
            closed_at: None,
            decision: Decision::Page,
            score: 0.9,
            reasons: vec![Reason {
                feature: Feature::Severity,
                value: 1.0,
                contribution: 0.9,
            }],
            alerts: vec![AlertSummary {
                fingerprint: labels.fingerprint(),
                alertname: "A".into(),
                labels,
                first_seen: EventTime(1_700_000_000_123),
                last_seen: EventTime(1_700_000_060_000),
                events: 3,
                flaps: 0,
                source_id: Some("checkout/latency".into()),
            }],
            raw_events: 3,
            services: vec!["api".into()],
            team: None,
            severity: Severity::Critical,
            paged_at: Some(EventTime(1_700_000_000_123)),
            acked_at: None,
            resolved_at: None,
            resolved_by: None,
            folded_pages: 0,
            changes: vec![ChangeRef {
                time: EventTime(1_699_999_900_000),
                service: Some("api".into()),
                team: None,
                summary: "Deploy api v2".into(),
                source: Some("argo".into()),
                link: None,
            }],
        }
    }

    #[test]
    fn json_shape_is_the_public_schema() {
        let v = serde_json::to_value(sample()).unwrap();
        for k in [
            "cluster_id",
            "opened_at",
            "closed_at",
            "decision",
            "score",
            "reasons",
            "alerts",
            "raw_events",
            "services",
            "team",
            "severity",
            "paged_at",
            "acked_at",
            "resolved_at",
            "resolved_by",
        ] {
            assert!(v.get(k).is_some(), "missing {k}");
        }
        assert_eq!(v["decision"], "page");
        assert_eq!(v["opened_at"], "2023-11-14T22:13:20.123Z");
        assert_eq!(v["alerts"][0]["labels"]["service"], "api");
        assert_eq!(v["reasons"][0]["feature"], "severity");
        assert_eq!(v["changes"][0]["summary"], "Deploy api v2");
        assert!(v["changes"][0].get("link").is_none());
        assert!(v["resolved_by"].is_null());
        let back: ClusterRecord = serde_json::from_value(v).unwrap();
        assert_eq!(back, sample());
    }

    #[test]
    fn proto_round_trip() {
        let p = proto::ClusterRecord::from(&sample());
        let bytes = p.encode_to_vec();
        let q = proto::ClusterRecord::decode(bytes.as_slice()).unwrap();
        assert_eq!(q.cluster_id, sample().cluster_id.0);
        assert_eq!(q.opened_at.unwrap().nanos, 123_000_000);
        assert_eq!(
            q.alerts[0].labels.get("service").map(String::as_str),
            Some("api")
        );
        assert_eq!(q.changes[0].summary, "Deploy api v2");
        assert_eq!(q.changes[0].service.as_deref(), Some("api"));
        assert_eq!(
            q.changes[0].time.as_ref().map(|t| t.seconds),
            Some(1_699_999_900)
        );
    }

    #[test]
    fn cluster_ids_are_recognisable() {
        let id = sample().cluster_id;
        assert!(ClusterId::looks_like(id.as_str()), "{id}");
        assert!(!ClusterId::looks_like("a1bc48475b20e73d"));
        assert!(!ClusterId::looks_like("ng-zz-1"));
    }
}
