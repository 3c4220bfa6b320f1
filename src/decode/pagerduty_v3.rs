//! PagerDuty webhook v3 decoder: one `{"event": {...}}` delivery → one [`AlertEvent`] about
//! the incident it names.
//!
//! Owns: the mapping of `incident.*` event types to [`EventKind`] (acknowledged and resolved
//! are their own kinds, every other step — including `incident.triggered`, usually the echo of
//! a page we sent — is a [`EventKind::Lifecycle`], unknown ones kept by name); who acted
//! (`agent.type`: a `user_reference` is a human, any other agent a machine); and finding the
//! incident, which sub-resource events (`incident.annotated`, `incident.responder.*`,
//! `incident.status_update_published`, ...) carry under `data.incident` while `data.id` is the
//! note's / status update's own id.
//!
//! Must not: do I/O or read the clock (every event has `occurred_at`); panic on any input;
//! verify signatures (the HTTP layer owns `X-PagerDuty-Signature`); decide what a lifecycle
//! step means (the engine does); or decode legacy v2 webhooks (`{"messages": [...]}`: their
//! own decoder, `pagerduty_webhook_v2.rs`, shares [`Incident`]). Non-incident events (`service.updated`, `pagey.ping`) are refused as
//! `Unsupported`. Unknown fields are ignored: these are third-party payloads.
//!
//! # Keys
//!
//! * `fingerprint` = FNV-1a over `{incident_id}`: the same for every event of one incident.
//! * `source_id` = the incident id (`PQ1K5C8`, `Q3B15VLMF3ASBD`).
//! * `dedup_key` = the incident's `incident_key` when the payload has it, else the incident id.
//!   An incident opened through the Events API has the event's `dedup_key` as its
//!   `incident_key` — for our pages, our cluster id — which is how an ack or resolve finds its
//!   way back. The key is at `data.incident_key`, and only on events whose `data` is the full
//!   incident (recent deliveries; older ones omit it). Sub-resource events carry only an
//!   incident reference, so their `dedup_key` is the incident id: join on `source_id` to tie
//!   them to the incident's key.
//!
//! Labels are `incident_id`, `service`, `urgency` and `priority` where present; severity comes
//! from the priority name (`P1` → critical, ...), else the urgency (`high` → error, `low` →
//! warning), else the configured default.

use serde::Deserialize;

use super::{from_json, Ctx, DecodeError, Decoded, Format, Text};
use crate::event::{
    Actor, AlertEvent, Annotations, DedupKey, EventKind, EventTime, Fingerprint, Labels,
    LifecycleAction, Severity, Source, Str,
};

/// Longest slice of an input value quoted back in an error message.
const QUOTE_MAX_CHARS: usize = 64;

/// Decodes one webhook v3 delivery, appending one event to `out` (nothing on error).
pub fn decode(
    bytes: &[u8],
    ctx: &Ctx<'_>,
    out: &mut Vec<AlertEvent>,
) -> Result<Decoded, DecodeError> {
    // First only the event type (everything else skipped), so that a non-incident event is
    // refused as unsupported whatever its `data` looks like.
    let head: Head<'_> = from_json(bytes)?;
    let head = head.event.ok_or_else(|| DecodeError::missing("event"))?;
    let event_type = head
        .event_type
        .ok_or_else(|| DecodeError::missing("event.event_type"))?;
    let kind = kind_of(event_type.as_str()).ok_or_else(|| DecodeError::Unsupported {
        format: Format::PagerDutyV3,
        detail: format!(
            "event type {:?} is not an incident event",
            quote(event_type.as_str())
        ),
    })?;

    let envelope: Envelope<'_> = from_json(bytes)?;
    let event = envelope
        .event
        .ok_or_else(|| DecodeError::missing("event"))?;
    let ev = to_event(&event, kind, ctx)?;
    out.push(ev);
    Ok(Decoded {
        events: 1,
        ignored: 0,
        truncated: 0,
        changes: 0,
    })
}

// ---------------------------------------------------------------------------------------------
// Wire types (borrowed; every field optional so the checks below give the precise error).

#[derive(Deserialize)]
struct Head<'a> {
    #[serde(borrow)]
    event: Option<HeadEvent<'a>>,
}

#[derive(Deserialize)]
struct HeadEvent<'a> {
    #[serde(borrow)]
    event_type: Option<Text<'a>>,
}

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(borrow)]
    event: Option<Event<'a>>,
}

#[derive(Deserialize)]
struct Event<'a> {
    #[serde(borrow)]
    occurred_at: Option<Text<'a>>,
    #[serde(borrow)]
    agent: Option<Reference<'a>>,
    #[serde(borrow)]
    data: Option<Data<'a>>,
}

/// `event.data`: a full incident (`type: "incident"`) or a sub-resource that names its
/// incident in `incident`.
#[derive(Deserialize)]
struct Data<'a> {
    #[serde(borrow)]
    id: Option<Text<'a>>,
    #[serde(borrow, rename = "type")]
    kind: Option<Text<'a>>,
    #[serde(borrow)]
    incident_key: Option<Text<'a>>,
    #[serde(borrow)]
    title: Option<Text<'a>>,
    #[serde(borrow)]
    urgency: Option<Text<'a>>,
    #[serde(borrow)]
    service: Option<Reference<'a>>,
    #[serde(borrow)]
    priority: Option<Reference<'a>>,
    #[serde(borrow)]
    teams: Option<Vec<Option<Reference<'a>>>>,
    #[serde(borrow)]
    incident: Option<Reference<'a>>,
}

/// PagerDuty's `*_reference` objects (`{id, type, summary, self, html_url}`), as far as used.
#[derive(Deserialize)]
struct Reference<'a> {
    #[serde(borrow)]
    id: Option<Text<'a>>,
    #[serde(borrow, rename = "type")]
    kind: Option<Text<'a>>,
    #[serde(borrow)]
    summary: Option<Text<'a>>,
    #[serde(borrow)]
    incident_key: Option<Text<'a>>,
}

// ---------------------------------------------------------------------------------------------
// Mapping.

/// `incident.*` event type → kind; `None` for a non-incident event.
fn kind_of(event_type: &str) -> Option<EventKind> {
    use LifecycleAction as L;
    let step = event_type.strip_prefix("incident.")?;
    Some(match step {
        "acknowledged" => EventKind::Acknowledged,
        "resolved" => EventKind::Resolved,
        "triggered" => EventKind::Lifecycle(L::Triggered),
        "unacknowledged" => EventKind::Lifecycle(L::Unacknowledged),
        "reopened" => EventKind::Lifecycle(L::Reopened),
        "reassigned" => EventKind::Lifecycle(L::Reassigned),
        "escalated" => EventKind::Lifecycle(L::Escalated),
        "delegated" => EventKind::Lifecycle(L::Delegated),
        "priority_updated" => EventKind::Lifecycle(L::PriorityUpdated),
        "annotated" => EventKind::Lifecycle(L::Annotated),
        "responder.added" => EventKind::Lifecycle(L::ResponderAdded),
        "responder.replied" => EventKind::Lifecycle(L::ResponderReplied),
        "status_update_published" => EventKind::Lifecycle(L::StatusUpdatePublished),
        _ => EventKind::Lifecycle(L::Other(Str::from(event_type))),
    })
}

fn to_event(ev: &Event<'_>, kind: EventKind, ctx: &Ctx<'_>) -> Result<AlertEvent, DecodeError> {
    let occurred_at = ev
        .occurred_at
        .as_ref()
        .ok_or_else(|| DecodeError::missing("event.occurred_at"))?
        .as_str();
    let time = EventTime::parse_lenient(occurred_at).ok_or_else(|| {
        DecodeError::invalid(
            "event.occurred_at",
            format!("not an RFC 3339 time: {:?}", quote(occurred_at)),
        )
    })?;

    let data = ev
        .data
        .as_ref()
        .ok_or_else(|| DecodeError::missing("event.data"))?;
    let is_incident = data.kind.as_ref().is_some_and(|k| k.as_str() == "incident");
    // The full incident, or the reference a sub-resource event carries.
    let (id, id_field, key, name) = if is_incident {
        (&data.id, "event.data.id", &data.incident_key, &data.title)
    } else if let Some(r) = &data.incident {
        (&r.id, "event.data.incident.id", &r.incident_key, &r.summary)
    } else {
        (&None, "event.data.id", &None, &None)
    };
    let incident_id = match id {
        None => return Err(DecodeError::missing(id_field)),
        Some(t) if t.as_str().trim().is_empty() => {
            return Err(DecodeError::invalid(id_field, "empty incident id"))
        }
        Some(t) => t.as_str(),
    };
    let actor = ev
        .agent
        .as_ref()
        .and_then(|a| a.kind.as_ref())
        .map(|t| actor_of(t.as_str()));
    let incident = Incident {
        id: incident_id,
        key: present(key),
        title: present(name),
        service: data.service.as_ref().and_then(|s| present(&s.summary)),
        priority: data.priority.as_ref().and_then(|p| present(&p.summary)),
        urgency: present(&data.urgency),
        team: data
            .teams
            .iter()
            .flatten()
            .flatten()
            .find_map(|t| present(&t.summary)),
    };
    Ok(incident.event(Source::PagerDutyV3, kind, time, actor, ctx))
}

/// What a PagerDuty webhook says about the incident it names, whichever webhook version
/// carried it: the one mapping to an [`AlertEvent`], shared with the legacy v2 decoder
/// (`pagerduty_webhook_v2.rs`) so that both versions name an incident the same way.
pub(super) struct Incident<'s> {
    /// Incident id; not empty.
    pub id: &'s str,
    pub key: Option<&'s str>,
    pub title: Option<&'s str>,
    pub service: Option<&'s str>,
    pub priority: Option<&'s str>,
    pub urgency: Option<&'s str>,
    pub team: Option<&'s str>,
}

impl Incident<'_> {
    pub(super) fn event(
        &self,
        source: Source,
        kind: EventKind,
        time: EventTime,
        actor: Option<Actor>,
        ctx: &Ctx<'_>,
    ) -> AlertEvent {
        let alertname = self.title.unwrap_or("");
        let mut labels = Labels::new();
        labels.insert("incident_id", self.id);
        for (name, value) in [
            ("service", self.service),
            ("urgency", self.urgency),
            ("priority", self.priority),
        ] {
            if let Some(v) = value {
                labels.insert(name, v);
            }
        }
        let severity = self
            .priority
            .and_then(Severity::parse_loose)
            .or(match self.urgency {
                Some("high") => Some(Severity::Error),
                Some("low") => Some(Severity::Warning),
                _ => None,
            })
            .unwrap_or(ctx.opts.default_severity);
        AlertEvent {
            source,
            kind,
            time,
            fingerprint: Fingerprint::of_sorted([("incident_id", self.id)]),
            source_id: Some(Str::from(self.id)),
            dedup_key: Some(DedupKey(Str::from(self.key.unwrap_or(self.id)))),
            alertname: Str::from(alertname),
            labels,
            annotations: Annotations {
                summary: (!alertname.is_empty()).then(|| alertname.to_owned()),
                description: None,
                runbook: None,
            },
            severity,
            service: self.service.map(Str::from),
            team: self.team.map(Str::from),
            actor,
            ends_at: None,
            sender: None,
            group: None,
            listed: None,
        }
    }
}

/// A PagerDuty agent reference's `type`: a user is a human, any other agent (an
/// integration, an automation action, the service's auto-resolve) a machine.
pub(super) fn actor_of(reference_type: &str) -> Actor {
    if reference_type == "user_reference" {
        Actor::Human
    } else {
        Actor::Automation
    }
}

/// An optional string field; empty counts as absent.
pub(super) fn present<'s>(v: &'s Option<Text<'_>>) -> Option<&'s str> {
    v.as_ref().map(Text::as_str).filter(|s| !s.is_empty())
}

/// At most [`QUOTE_MAX_CHARS`] characters of an input value, for error messages.
pub(super) fn quote(s: &str) -> &str {
    match s.char_indices().nth(QUOTE_MAX_CHARS) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::DecodeOptions;

    fn fx(p: &str) -> Vec<u8> {
        let path = format!("{}/../shared/fixtures/{p}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    fn run(bytes: &[u8]) -> Result<AlertEvent, DecodeError> {
        let opts = DecodeOptions::default();
        let ctx = Ctx {
            opts: &opts,
            received_at: None,
        };
        let mut out = Vec::new();
        match decode(bytes, &ctx, &mut out) {
            Ok(d) => {
                assert_eq!(
                    d,
                    Decoded {
                        events: 1,
                        ignored: 0,
                        truncated: 0,
                        changes: 0
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

    fn zulip(name: &str) -> AlertEvent {
        run(&fx(&format!("zulip-webhook-fixtures/pagerduty/{name}")))
            .unwrap_or_else(|e| panic!("{name}: {e}"))
    }

    fn time(s: &str) -> EventTime {
        EventTime::parse_rfc3339(s).expect("test time")
    }

    fn lc(a: LifecycleAction) -> EventKind {
        EventKind::Lifecycle(a)
    }

    /// A minimal delivery around `data`.
    fn envelope(event_type: &str, agent: &str, data: &str) -> Vec<u8> {
        format!(
            r#"{{"event":{{"id":"01X","event_type":"{event_type}","resource_type":"incident",
            "occurred_at":"2024-05-01T12:00:00.000Z","agent":{agent},"client":null,"data":{data}}}}}"#
        )
        .into_bytes()
    }

    const INCIDENT: &str =
        r#"{"id":"PABC123","type":"incident","title":"Disk full","urgency":"low"}"#;

    #[test]
    fn every_zulip_fixture_decodes() {
        use LifecycleAction as L;
        let expected = [
            ("acknowledged_v3.json", EventKind::Acknowledged, "PQ1K5C8"),
            ("annotated_v3.json", lc(L::Annotated), "Q3B15VLMF3ASBD"),
            ("delegated_v3.json", lc(L::Delegated), "Q3B15VLMF3ASBD"),
            ("escalate_v3.json", lc(L::Escalated), "Q3B15VLMF3ASBD"),
            (
                "priority_updated_v3.json",
                lc(L::PriorityUpdated),
                "Q3B15VLMF3ASBD",
            ),
            ("reassigned_v3.json", lc(L::Reassigned), "PIQUG8X"),
            ("reopened_v3.json", lc(L::Reopened), "Q05XJA8GDXGOB3"),
            ("resolved_v3.json", EventKind::Resolved, "PCPZE64"),
            (
                "responder_added.json",
                lc(L::ResponderAdded),
                "Q3B15VLMF3ASBD",
            ),
            (
                "responder_replied_v3.json",
                lc(L::ResponderReplied),
                "Q3B15VLMF3ASBD",
            ),
            (
                "status_updated_v3.json",
                lc(L::StatusUpdatePublished),
                "Q3B15VLMF3ASBD",
            ),
            ("triggered_v3.json", lc(L::Triggered), "PFQZPSY"),
            ("unacknowledged_v3.json", lc(L::Unacknowledged), "PQ1K5C8"),
            (
                "unsupported_v3.json",
                lc(L::Other("incident.unsupported".into())),
                "PIQUG8X",
            ),
        ];
        let dir = format!(
            "{}/../shared/fixtures/zulip-webhook-fixtures/pagerduty",
            env!("CARGO_MANIFEST_DIR")
        );
        let mut files: Vec<String> = std::fs::read_dir(&dir)
            .expect("fixture dir")
            .map(|e| {
                e.expect("dir entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        files.sort();
        assert_eq!(files.len(), expected.len(), "{files:?}");
        for (name, kind, incident) in expected {
            assert!(files.iter().any(|f| f == name), "{name}");
            let ev = zulip(name);
            assert_eq!(ev.source, Source::PagerDutyV3, "{name}");
            assert_eq!(ev.kind, kind, "{name}");
            assert_eq!(ev.source_id.as_deref(), Some(incident), "{name}");
            assert_eq!(ev.labels.get("incident_id"), Some(incident), "{name}");
            assert_eq!(
                ev.fingerprint,
                Fingerprint::of_sorted([("incident_id", incident)]),
                "{name}"
            );
            assert_eq!(ev.actor, Some(Actor::Human), "{name}: all by a user");
        }
    }

    #[test]
    fn acknowledged_by_a_user() {
        let ev = zulip("acknowledged_v3.json");
        assert_eq!(ev.kind, EventKind::Acknowledged);
        assert_eq!(ev.actor, Some(Actor::Human));
        assert_eq!(ev.time, time("2021-06-04T13:55:30.394Z"));
        assert_eq!(ev.source_id.as_deref(), Some("PQ1K5C8"));
        // This (2021) delivery has no incident_key: the incident id stands in.
        assert_eq!(ev.dedup_key, Some(DedupKey("PQ1K5C8".into())));
        assert_eq!(ev.alertname, "Test Incident");
        assert_eq!(ev.annotations.summary.as_deref(), Some("Test Incident"));
        assert_eq!(
            ev.labels.iter().collect::<Vec<_>>(),
            vec![
                ("incident_id", "PQ1K5C8"),
                ("service", "pig208"),
                ("urgency", "high")
            ]
        );
        assert_eq!(ev.service.as_deref(), Some("pig208"));
        assert_eq!(ev.team, None, "teams: []");
        assert_eq!(ev.severity, Severity::Error, "no priority, urgency high");
        // Same incident, same identity as its unacknowledge.
        assert_eq!(ev.fingerprint, zulip("unacknowledged_v3.json").fingerprint);
    }

    #[test]
    fn incident_key_is_the_dedup_key() {
        let ev = zulip("escalate_v3.json");
        assert_eq!(
            ev.dedup_key,
            Some(DedupKey("d387d7bd2e0a4294a5307339dfe1669a".into()))
        );
        assert_eq!(ev.source_id.as_deref(), Some("Q3B15VLMF3ASBD"));
        assert_eq!(ev.time, time("2026-04-01T02:08:04.642Z"));
        assert_eq!(ev.labels.get("priority"), Some("P1"));
        assert_eq!(ev.severity, Severity::Critical, "P1");
        assert_eq!(ev.service.as_deref(), Some("Default Service"));

        let ev = zulip("priority_updated_v3.json");
        assert_eq!(ev.labels.get("priority"), Some("P2"));
        assert_eq!(ev.severity, Severity::Error, "P2");

        let ev = zulip("reopened_v3.json");
        assert_eq!(
            ev.dedup_key,
            Some(DedupKey("07261e18031d41268a16c774c1892cae".into()))
        );
        assert_eq!(ev.labels.get("urgency"), Some("low"));
        assert_eq!(ev.severity, Severity::Warning, "P3");
    }

    #[test]
    fn sub_resource_events_name_their_incident() {
        // data.id is the note / status update's own id; the incident is data.incident.id.
        let note = zulip("annotated_v3.json");
        assert_eq!(note.kind, lc(LifecycleAction::Annotated));
        assert_eq!(note.source_id.as_deref(), Some("Q3B15VLMF3ASBD"));
        assert_ne!(note.source_id.as_deref(), Some("PEMJB6G"));
        assert_eq!(note.alertname, "Critical: Checkout API High Latency");
        assert_eq!(note.time, time("2026-04-01T02:18:59.674Z"));
        // No incident_key on a sub-resource: the incident id stands in.
        assert_eq!(note.dedup_key, Some(DedupKey("Q3B15VLMF3ASBD".into())));
        assert_eq!(note.labels.len(), 1);

        let status = zulip("status_updated_v3.json");
        assert_eq!(status.source_id.as_deref(), Some("Q3B15VLMF3ASBD"));
        assert_eq!(status.severity, DecodeOptions::default().default_severity);

        // All seven events of incident Q3B15VLMF3ASBD share one identity.
        let fp = note.fingerprint;
        for name in [
            "escalate_v3.json",
            "delegated_v3.json",
            "priority_updated_v3.json",
            "status_updated_v3.json",
            "responder_added.json",
            "responder_replied_v3.json",
        ] {
            assert_eq!(zulip(name).fingerprint, fp, "{name}");
        }
    }

    #[test]
    fn docs_event_data_types_name_their_incident() {
        let cases = [
            ("event_data_incident.json", "PGR0VU2"),
            ("event_data_incident_note.json", "PGR0VU2"),
            ("event_data_incident_responder.json", "PGR0VU2"),
            ("event_data_incident_status_update.json", "PGR0VU2"),
            ("event_data_incident_conference_bridge.json", "PGR0VU2"),
            ("event_data_incident_field_values.json", "PBAZLIU"),
            ("event_data_incident_action_invocation.json", "PBAZLIU"),
            ("event_data_incident_workflow_instance.json", "PBAZLIU"),
            // Its own id is PGR0VU2 too: the incident reference must win.
            ("event_data_incident_task.json", "Q0SDD3HB6SGFTI"),
        ];
        for (file, id) in cases {
            let data = fx(&format!("pagerduty-developer-docs/webhooks-v3/{file}"));
            let data = String::from_utf8(data).expect("utf-8");
            let ev = run(&envelope("incident.annotated", "null", &data))
                .unwrap_or_else(|e| panic!("{file}: {e}"));
            assert_eq!(ev.source_id.as_deref(), Some(id), "{file}");
            assert_eq!(ev.actor, None, "{file}: agent null");
        }
        // Role assignments name the incident only inside a list: not an incident reference.
        let data =
            fx("pagerduty-developer-docs/webhooks-v3/event_data_incident_role_assignment.json");
        let data = String::from_utf8(data).expect("utf-8");
        assert_eq!(
            run(&envelope("incident.role.assigned", "null", &data)),
            Err(DecodeError::missing("event.data.id"))
        );
    }

    #[test]
    fn go_pagerduty_body() {
        let ev = run(&fx("go-pagerduty/webhookv3_test_body.json")).expect("decodes");
        assert_eq!(ev.kind, lc(LifecycleAction::PriorityUpdated));
        assert_eq!(ev.time, time("2021-04-26T17:36:27.458Z"));
        assert_eq!(ev.actor, Some(Actor::Human));
        assert_eq!(ev.source_id.as_deref(), Some("PGR0VU2"));
        assert_eq!(ev.dedup_key, Some(DedupKey("PGR0VU2".into())));
        assert_eq!(ev.alertname, "A little bump in the road");
        assert_eq!(ev.service.as_deref(), Some("API Service"));
        assert_eq!(ev.team.as_deref(), Some("Engineering"));
        assert_eq!(ev.severity, Severity::Critical);
    }

    #[test]
    fn docs_envelopes() {
        let ev = run(&fx(
            "pagerduty-developer-docs/webhooks-v3/envelope_incident.priority_updated.json",
        ))
        .expect("decodes");
        assert_eq!(ev.kind, lc(LifecycleAction::PriorityUpdated));
        assert_eq!(ev.time, time("2020-10-02T18:45:22.169Z"));
        assert_eq!(
            ev.dedup_key,
            Some(DedupKey("d3640fbd41094207a1c11e58e46b1662".into()))
        );
        assert_eq!(ev.source_id.as_deref(), Some("PGR0VU2"));
        assert_eq!(ev.team.as_deref(), Some("Engineering"));
        assert_eq!(
            ev.labels.iter().collect::<Vec<_>>(),
            vec![
                ("incident_id", "PGR0VU2"),
                ("priority", "P1"),
                ("service", "API Service"),
                ("urgency", "high"),
            ]
        );

        match run(&fx(
            "pagerduty-developer-docs/webhooks-v3/envelope_service.updated.json",
        )) {
            Err(DecodeError::Unsupported { format, detail }) => {
                assert_eq!(format, Format::PagerDutyV3);
                assert!(detail.contains("service.updated"), "{detail}");
                assert!(detail.contains("is not an incident event"), "{detail}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn actors() {
        let agent = |a: &str| run(&envelope("incident.resolved", a, INCIDENT)).map(|e| e.actor);
        assert_eq!(
            agent(r#"{"id":"PU1","type":"user_reference","summary":"Ann"}"#),
            Ok(Some(Actor::Human))
        );
        assert_eq!(
            agent(r#"{"id":"PS1","type":"service_reference"}"#),
            Ok(Some(Actor::Automation))
        );
        assert_eq!(
            agent(r#"{"id":"PI1","type":"integration_reference"}"#),
            Ok(Some(Actor::Automation))
        );
        assert_eq!(agent("null"), Ok(None));
        let no_agent = String::from_utf8(envelope("incident.resolved", "null", INCIDENT))
            .expect("utf-8")
            .replacen(r#""agent":null,"#, "", 1);
        assert_eq!(run(no_agent.as_bytes()).map(|e| e.actor), Ok(None));
    }

    #[test]
    fn kinds_and_severity_defaults() {
        let ev = run(&envelope("incident.resolved", "null", INCIDENT)).expect("decodes");
        assert_eq!(ev.kind, EventKind::Resolved);
        assert_eq!(ev.time, time("2024-05-01T12:00:00Z"));
        assert_eq!(ev.severity, Severity::Warning, "urgency low");
        assert_eq!(ev.dedup_key, Some(DedupKey("PABC123".into())));
        let ev = run(&envelope(
            "incident.workflow.started",
            "null",
            r#"{"id":"P1","type":"incident"}"#,
        ))
        .expect("decodes");
        assert_eq!(
            ev.kind,
            lc(LifecycleAction::Other("incident.workflow.started".into()))
        );
        assert_eq!(ev.alertname, "");
        assert_eq!(ev.annotations.summary, None);
        assert_eq!(ev.service, None);
        assert_eq!(ev.severity, DecodeOptions::default().default_severity);
    }

    #[test]
    fn precise_errors() {
        assert_eq!(
            run(&fx(
                "pagerduty-developer-docs/webhooks-v2-legacy/incident_trigger.json"
            )),
            Err(DecodeError::missing("event"))
        );
        assert_eq!(
            run(br#"{"event":null}"#),
            Err(DecodeError::missing("event"))
        );
        assert_eq!(
            run(br#"{"event":{"occurred_at":"2024-05-01T12:00:00Z"}}"#),
            Err(DecodeError::missing("event.event_type"))
        );
        match run(br#"{"event":{"event_type":5}}"#) {
            Err(DecodeError::WrongType { path, .. }) => assert_eq!(path, "event.event_type"),
            other => panic!("{other:?}"),
        }
        // A ping is not an incident, whatever its data looks like.
        assert!(matches!(
            run(br#"{"event":{"event_type":"pagey.ping","data":["anything"]}}"#),
            Err(DecodeError::Unsupported {
                format: Format::PagerDutyV3,
                ..
            })
        ));
        let no_time = String::from_utf8(envelope("incident.resolved", "null", INCIDENT))
            .expect("utf-8")
            .replacen(r#""occurred_at":"2024-05-01T12:00:00.000Z","#, "", 1);
        assert_eq!(
            run(no_time.as_bytes()),
            Err(DecodeError::missing("event.occurred_at"))
        );
        let bad_time = String::from_utf8(envelope("incident.resolved", "null", INCIDENT))
            .expect("utf-8")
            .replacen("2024-05-01T12:00:00.000Z", "last tuesday", 1);
        match run(bad_time.as_bytes()) {
            Err(DecodeError::InvalidValue { field, detail }) => {
                assert_eq!(field, "event.occurred_at");
                assert!(detail.contains("last tuesday"), "{detail}");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            run(&envelope(
                "incident.resolved",
                "null",
                r#"{"type":"incident"}"#
            )),
            Err(DecodeError::missing("event.data.id"))
        );
        assert_eq!(
            run(&envelope(
                "incident.resolved",
                "null",
                r#"{"id":"PN1","type":"incident_note"}"#
            )),
            Err(DecodeError::missing("event.data.id"))
        );
        assert_eq!(
            run(&envelope(
                "incident.annotated",
                "null",
                r#"{"id":"PN1","type":"incident_note","incident":{"type":"incident_reference"}}"#
            )),
            Err(DecodeError::missing("event.data.incident.id"))
        );
        assert_eq!(
            run(&envelope("incident.resolved", "null", "null")),
            Err(DecodeError::missing("event.data"))
        );
        match run(&envelope(
            "incident.resolved",
            "null",
            r#"{"id":"P1","type":"incident","service":"svc"}"#,
        )) {
            Err(DecodeError::WrongType { path, .. }) => assert_eq!(path, "event.data.service"),
            other => panic!("{other:?}"),
        }
        let full = fx("zulip-webhook-fixtures/pagerduty/acknowledged_v3.json");
        assert!(matches!(
            run(&full[..full.len() / 2]),
            Err(DecodeError::TruncatedJson { .. })
        ));
        assert_eq!(run(b" "), Err(DecodeError::Empty));
    }

    #[test]
    fn never_panics_on_prefixes_and_garbage() {
        let full = fx("zulip-webhook-fixtures/pagerduty/responder_added.json");
        for n in 0..full.len() {
            let _ = run(&full[..n]);
        }
        for junk in [
            &b"null"[..],
            b"[]",
            b"{}",
            b"{\"event\":[]}",
            b"{\"event\":{\"event_type\":\"incident.\"}}",
            b"\xff",
        ] {
            assert!(run(junk).is_err());
        }
    }
}
