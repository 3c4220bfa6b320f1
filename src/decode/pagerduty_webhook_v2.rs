//! PagerDuty legacy (v2) webhook decoder: one `{"messages": [...]}` delivery → one
//! [`AlertEvent`] per message about an incident.
//!
//! PagerDuty ended support for v2 webhooks in October 2022, but their deliveries live on in
//! the places people keep history: request-bin captures, Kafka topics and archives a team
//! fed for years. Those are what `replay` and `tune --history` are given, and the
//! acknowledgements in them are the outcomes the engine learns from, so they are decoded,
//! not refused. A v2 message and a v3 event about the same incident decode to the same
//! identity (see [`Incident`]): history that spans the migration joins up.
//!
//! Owns: the `messages[]` layout; the mapping of v2 event names (`incident.acknowledge`,
//! `incident.resolve`, ...) to [`EventKind`]; which time and which actor a message carries.
//!
//! Must not: do I/O or read the clock; panic on any input; decide what a lifecycle step means
//! (the engine does). A message about anything but an incident (v2 sent none, but the format
//! never promised it) is skipped and counted as ignored; any malformed message refuses the
//! whole delivery, as one bad alert refuses an Alertmanager notification, so nothing is half
//! applied. Unknown fields are ignored: these are third-party payloads.
//!
//! # Time and actor
//!
//! The time is the message's `created_on` (when the step happened), else the time of the log
//! entry that caused it. The actor is that log entry's `agent` (a `user_reference` is a
//! human), else the incident's `last_status_change_by`, which for an acknowledge or resolve is
//! who did it.

use serde::Deserialize;

use super::pagerduty_v3::{actor_of, present, quote, Incident};
use super::{from_json, Ctx, DecodeError, Decoded, Format, Text};
use crate::event::{AlertEvent, EventKind, EventTime, LifecycleAction, Source, Str};

/// Decodes one delivery, appending one event per incident message to `out` (nothing on
/// error).
pub fn decode(
    bytes: &[u8],
    ctx: &Ctx<'_>,
    out: &mut Vec<AlertEvent>,
) -> Result<Decoded, DecodeError> {
    let body: Body<'_> = from_json(bytes)?;
    let messages = body
        .messages
        .ok_or_else(|| DecodeError::missing("messages"))?;
    if messages.is_empty() {
        return Err(DecodeError::invalid(
            "messages",
            "empty: no message to decode",
        ));
    }
    let mark = out.len();
    let mut ignored = 0;
    for (i, m) in messages.iter().enumerate() {
        match to_event(m, i, ctx) {
            Ok(Some(ev)) => out.push(ev),
            Ok(None) => ignored += 1,
            Err(e) => {
                out.truncate(mark);
                return Err(e);
            }
        }
    }
    let events = out.len() - mark;
    if events == 0 {
        return Err(DecodeError::Unsupported {
            format: Format::PagerDutyWebhookV2,
            detail: format!("none of the {ignored} messages is about an incident"),
        });
    }
    Ok(Decoded {
        events,
        ignored,
        truncated: 0,
        changes: 0,
    })
}

// ---------------------------------------------------------------------------------------------
// Wire types (borrowed; every field optional so the checks below give the precise error).

#[derive(Deserialize)]
struct Body<'a> {
    #[serde(borrow)]
    messages: Option<Vec<Message<'a>>>,
}

#[derive(Deserialize)]
struct Message<'a> {
    #[serde(borrow)]
    event: Option<Text<'a>>,
    #[serde(borrow)]
    created_on: Option<Text<'a>>,
    #[serde(borrow)]
    incident: Option<IncidentObject<'a>>,
    #[serde(borrow)]
    log_entries: Option<Vec<Option<LogEntry<'a>>>>,
}

/// The REST API's incident object, as far as used.
#[derive(Deserialize)]
struct IncidentObject<'a> {
    #[serde(borrow)]
    id: Option<Text<'a>>,
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
    last_status_change_by: Option<Reference<'a>>,
}

#[derive(Deserialize)]
struct LogEntry<'a> {
    #[serde(borrow)]
    created_at: Option<Text<'a>>,
    #[serde(borrow)]
    agent: Option<Reference<'a>>,
}

/// A reference or a full object (`{id, type, summary, name, ...}`), as far as used. A v2
/// incident embeds its service whole, with a `name`; references carry only `summary`.
#[derive(Deserialize)]
struct Reference<'a> {
    #[serde(borrow, rename = "type")]
    kind: Option<Text<'a>>,
    #[serde(borrow)]
    summary: Option<Text<'a>>,
    #[serde(borrow)]
    name: Option<Text<'a>>,
}

impl Reference<'_> {
    fn title(&self) -> Option<&str> {
        present(&self.summary).or_else(|| present(&self.name))
    }
}

// ---------------------------------------------------------------------------------------------
// Mapping.

/// `incident.*` event name → kind; `None` for a message about anything else. The names are
/// v2's imperatives (`acknowledge`), v3 has participles (`acknowledged`).
fn kind_of(event: &str) -> Option<EventKind> {
    use LifecycleAction as L;
    let step = event.strip_prefix("incident.")?;
    Some(match step {
        "acknowledge" => EventKind::Acknowledged,
        "resolve" => EventKind::Resolved,
        "trigger" => EventKind::Lifecycle(L::Triggered),
        "unacknowledge" => EventKind::Lifecycle(L::Unacknowledged),
        "assign" => EventKind::Lifecycle(L::Reassigned),
        "escalate" => EventKind::Lifecycle(L::Escalated),
        "delegate" => EventKind::Lifecycle(L::Delegated),
        "annotate" => EventKind::Lifecycle(L::Annotated),
        _ => EventKind::Lifecycle(L::Other(Str::from(event))),
    })
}

fn to_event(m: &Message<'_>, i: usize, ctx: &Ctx<'_>) -> Result<Option<AlertEvent>, DecodeError> {
    let field = |name: &str| format!("messages[{i}].{name}");
    let event = m
        .event
        .as_ref()
        .ok_or_else(|| DecodeError::missing(field("event")))?;
    let Some(kind) = kind_of(event.as_str()) else {
        return Ok(None);
    };
    let entry = m.log_entries.iter().flatten().flatten().next();

    let (at, at_field) = match (&m.created_on, entry.and_then(|e| e.created_at.as_ref())) {
        (Some(t), _) => (t.as_str(), field("created_on")),
        (None, Some(t)) => (t.as_str(), field("log_entries[0].created_at")),
        (None, None) => return Err(DecodeError::missing(field("created_on"))),
    };
    let time = EventTime::parse_lenient(at).ok_or_else(|| {
        DecodeError::invalid(&at_field, format!("not an RFC 3339 time: {:?}", quote(at)))
    })?;

    let inc = m
        .incident
        .as_ref()
        .ok_or_else(|| DecodeError::missing(field("incident")))?;
    let id = match &inc.id {
        None => return Err(DecodeError::missing(field("incident.id"))),
        Some(t) if t.as_str().trim().is_empty() => {
            return Err(DecodeError::invalid(
                field("incident.id"),
                "empty incident id",
            ))
        }
        Some(t) => t.as_str(),
    };
    let actor = entry
        .and_then(|e| e.agent.as_ref())
        .or(inc.last_status_change_by.as_ref())
        .and_then(|a| a.kind.as_ref())
        .map(|t| actor_of(t.as_str()));
    let incident = Incident {
        id,
        key: present(&inc.incident_key),
        title: present(&inc.title),
        service: inc.service.as_ref().and_then(Reference::title),
        priority: inc.priority.as_ref().and_then(Reference::title),
        urgency: present(&inc.urgency),
        team: inc
            .teams
            .iter()
            .flatten()
            .flatten()
            .find_map(Reference::title),
    };
    Ok(Some(incident.event(
        Source::PagerDutyV3,
        kind,
        time,
        actor,
        ctx,
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::{pagerduty_v3, DecodeOptions};
    use crate::event::{Actor, Severity};

    fn fx(p: &str) -> Vec<u8> {
        let path = format!("{}/../shared/fixtures/{p}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    fn legacy(name: &str) -> Vec<u8> {
        fx(&format!(
            "pagerduty-developer-docs/webhooks-v2-legacy/{name}"
        ))
    }

    fn run(bytes: &[u8]) -> Result<(Decoded, Vec<AlertEvent>), DecodeError> {
        let opts = DecodeOptions::default();
        let ctx = Ctx {
            opts: &opts,
            received_at: None,
        };
        let mut out = Vec::new();
        match decode(bytes, &ctx, &mut out) {
            Ok(d) => {
                assert_eq!(d.events, out.len());
                Ok((d, out))
            }
            Err(e) => {
                assert!(out.is_empty(), "nothing appended on error");
                Err(e)
            }
        }
    }

    fn one(bytes: &[u8]) -> AlertEvent {
        let (d, mut out) = run(bytes).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((d.events, d.ignored), (1, 0));
        out.remove(0)
    }

    fn time(s: &str) -> EventTime {
        EventTime::parse_rfc3339(s).expect("test time")
    }

    #[test]
    fn the_documented_deliveries_decode_to_their_steps() {
        let cases = [
            (
                "incident_trigger.json",
                EventKind::Lifecycle(LifecycleAction::Triggered),
                "2017-09-26T15:14:36Z",
            ),
            (
                "incident_acknowledge.json",
                EventKind::Acknowledged,
                "2017-09-26T15:15:17Z",
            ),
            (
                "incident_assign.json",
                EventKind::Lifecycle(LifecycleAction::Reassigned),
                "2017-09-26T15:16:05Z",
            ),
            (
                "incident_resolve.json",
                EventKind::Resolved,
                "2017-09-26T15:18:09Z",
            ),
        ];
        let mut fps = Vec::new();
        for (name, kind, at) in cases {
            let ev = one(&legacy(name));
            assert_eq!(ev.kind, kind, "{name}");
            assert_eq!(ev.time, time(at), "{name}");
            assert_eq!(ev.source, Source::PagerDutyV3, "{name}");
            assert_eq!(ev.actor, Some(Actor::Human), "{name}: a user acted");
            assert_eq!(ev.source_id.as_deref(), Some("PRORDTY"), "{name}");
            // No incident_key (the incident was opened by hand): the id is the key.
            assert_eq!(ev.dedup_key.as_ref().map(|k| k.as_str()), Some("PRORDTY"));
            assert_eq!(ev.alertname, "My new incident");
            assert_eq!(ev.service.as_deref(), Some("Production XDB Cluster"));
            assert_eq!(ev.team.as_deref(), Some("Engineering"));
            assert_eq!(ev.labels.get("urgency"), Some("high"));
            assert_eq!(ev.severity, Severity::Error, "high urgency, no priority");
            fps.push(ev.fingerprint);
        }
        fps.dedup();
        assert_eq!(fps.len(), 1, "one incident, one identity");
    }

    /// The same incident seen through a v3 webhook has the same identity, so history that
    /// spans the migration from v2 to v3 webhooks joins up.
    #[test]
    fn a_v2_message_and_a_v3_event_about_one_incident_agree() {
        let v2 = String::from_utf8(legacy("incident_acknowledge.json")).expect("utf-8");
        let v2 = v2.replace(
            "\"incident_key\": null",
            "\"incident_key\": \"ng-4a1f0c2b9d3e5f60\"",
        );
        let v2 = one(v2.as_bytes());
        let v3 = r#"{"event":{"id":"01","event_type":"incident.acknowledged","resource_type":"incident",
            "occurred_at":"2017-09-26T15:15:17Z","agent":{"id":"P553OPV","type":"user_reference"},
            "data":{"id":"PRORDTY","type":"incident","title":"My new incident","urgency":"high",
              "incident_key":"ng-4a1f0c2b9d3e5f60",
              "service":{"id":"PN49J75","type":"service_reference","summary":"Production XDB Cluster"},
              "teams":[{"id":"P4SI59S","type":"team_reference","summary":"Engineering"}]}}}"#;
        let opts = DecodeOptions::default();
        let ctx = Ctx {
            opts: &opts,
            received_at: None,
        };
        let mut out = Vec::new();
        pagerduty_v3::decode(v3.as_bytes(), &ctx, &mut out).expect("v3 decodes");
        assert_eq!(v2, out[0]);
    }

    fn message(event: &str, extra: &str) -> String {
        format!(
            r#"{{"event":"{event}","created_on":"2020-01-02T03:04:05Z",{extra}
               "incident":{{"id":"PABC123","incident_key":"k-1","title":"Disk full",
               "urgency":"low","priority":{{"id":"P1","type":"priority","name":"P2","summary":"P2"}},
               "service":{{"id":"S","type":"service","name":"billing"}}}}}}"#
        )
    }

    #[test]
    fn every_message_of_a_delivery_is_an_event_and_other_messages_are_counted() {
        let body = format!(
            r#"{{"messages":[{},{},{}]}}"#,
            message("incident.acknowledge", ""),
            message("service.updated", ""),
            message("incident.resolve", ""),
        );
        let (d, out) = run(body.as_bytes()).expect("decodes");
        assert_eq!((d.events, d.ignored), (2, 1));
        assert_eq!(out[0].kind, EventKind::Acknowledged);
        assert_eq!(out[1].kind, EventKind::Resolved);
        let ev = &out[0];
        assert_eq!(ev.dedup_key.as_ref().map(|k| k.as_str()), Some("k-1"));
        assert_eq!(
            ev.service.as_deref(),
            Some("billing"),
            "a full service object's name"
        );
        assert_eq!(ev.severity, Severity::Error, "P2 → error, before urgency");
        assert_eq!(ev.actor, None, "no log entry, no status change: unknown");
        assert_eq!(
            run(format!(r#"{{"messages":[{}]}}"#, message("service.updated", "")).as_bytes()),
            Err(DecodeError::Unsupported {
                format: Format::PagerDutyWebhookV2,
                detail: "none of the 1 messages is about an incident".into()
            })
        );
    }

    #[test]
    fn the_actor_is_the_log_entry_agent_else_the_last_status_change() {
        let by = |extra: &str| {
            one(format!(r#"{{"messages":[{}]}}"#, message("incident.resolve", extra)).as_bytes())
                .actor
        };
        let entry = |t: &str| {
            format!(r#""log_entries":[{{"type":"resolve_log_entry","agent":{{"type":"{t}"}}}}],"#)
        };
        assert_eq!(by(&entry("user_reference")), Some(Actor::Human));
        assert_eq!(by(&entry("service_reference")), Some(Actor::Automation));
        let status = |t: &str| {
            message("incident.resolve", "").replace(
                r#""urgency":"low""#,
                &format!(r#""urgency":"low","last_status_change_by":{{"type":"{t}"}}"#),
            )
        };
        let ev = one(format!(r#"{{"messages":[{}]}}"#, status("service_reference")).as_bytes());
        assert_eq!(
            ev.actor,
            Some(Actor::Automation),
            "auto-resolved by the service"
        );
        let ev = one(format!(r#"{{"messages":[{}]}}"#, status("user_reference")).as_bytes());
        assert_eq!(ev.actor, Some(Actor::Human));
    }

    #[test]
    fn the_log_entry_time_stands_in_for_a_missing_created_on() {
        let m = message(
            "incident.acknowledge",
            r#""log_entries":[{"created_at":"2020-01-02T03:09:00+00:00"}],"#,
        )
        .replace(r#""created_on":"2020-01-02T03:04:05Z","#, "");
        let ev = one(format!(r#"{{"messages":[{m}]}}"#).as_bytes());
        assert_eq!(ev.time, time("2020-01-02T03:09:00Z"));
    }

    #[test]
    fn a_bad_message_refuses_the_delivery_and_says_which() {
        let good = message("incident.acknowledge", "");
        let err = |body: String| run(body.as_bytes()).expect_err("refused");
        assert_eq!(err(r#"{"messages":[]}"#.into()).reason(), "invalid_value");
        assert_eq!(
            err(r#"{"messages":null}"#.into()),
            DecodeError::missing("messages")
        );
        let no_id = good.replace(r#""id":"PABC123","#, "");
        assert_eq!(
            err(format!(r#"{{"messages":[{good},{no_id}]}}"#)),
            DecodeError::missing("messages[1].incident.id")
        );
        let bad_time = good.replace("2020-01-02T03:04:05Z", "yesterday");
        assert_eq!(
            err(format!(r#"{{"messages":[{bad_time}]}}"#)),
            DecodeError::invalid(
                "messages[0].created_on",
                "not an RFC 3339 time: \"yesterday\""
            )
        );
        let no_event = good.replace(r#""event":"incident.acknowledge","#, "");
        assert_eq!(
            err(format!(r#"{{"messages":[{no_event}]}}"#)),
            DecodeError::missing("messages[0].event")
        );
        let e = err(format!(
            r#"{{"messages":[{}]}}"#,
            good.replace(r#""k-1""#, "7")
        ));
        assert_eq!(e.reason(), "wrong_type");
        assert!(e.to_string().contains("incident_key"), "{e}");
    }

    #[test]
    fn never_panics_on_prefixes_and_garbage() {
        let body = legacy("incident_acknowledge.json");
        for n in 0..body.len() {
            let _ = run(&body[..n]);
        }
        for junk in [
            &b"{\"messages\":[1,2]}"[..],
            b"{\"messages\":{}}",
            b"[]",
            b"\xff",
        ] {
            assert!(run(junk).is_err());
        }
    }
}
