//! Grafana legacy (dashboard) alerting webhook decoder: one notification → one event.
//!
//! Before unified alerting (Grafana ≤ 8 by default, removed in 11), a panel's alert rule
//! notified its webhook channels with one flat body per state change:
//! `{"ruleId", "ruleName", "state", "title", "message", "tags", "evalMatches", "ruleUrl",
//! "dashboardId", "panelId", "orgId", "imageUrl"}`. The rule, not a series, is the alert:
//! `evalMatches` lists the series that matched, which say what is wrong, not which alert it
//! is.
//!
//! * Identity: labels `alertname` (`ruleName`), `rule_id` (`ruleId`, which tells apart two
//!   rules of one name) and the rule's `tags` (Grafana's only place for labels, so a
//!   `severity` or `service` tag is read as one). Our fingerprint over them.
//! * State: `alerting` and `no_data` fire; `ok` resolves; `pending` and `paused` are not a
//!   change anyone is paged for, counted as ignored; anything else refuses the body naming
//!   `state`.
//! * Time: the body carries none, so the event is as of its arrival ([`Ctx::received_at`]:
//!   the HTTP request, the Kafka message, replay's clock). Grafana sends it as the state
//!   changes, and again only as a reminder, so repeats are deduplicated by identity, as for
//!   PagerDuty; its episodes are not named by a start ([`Source::GrafanaLegacy`]).
//! * Annotations: `message` (else `title`) is the summary; `evalMatches` as `metric = value`
//!   pairs the description.
//!
//! Must not: read the clock, or guess a time the body does not give.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Deserialize;

use super::{from_json, Ctx, DecodeError, Decoded, Text};
use crate::event::{Actor, AlertEvent, Annotations, EventKind, Labels, Source, Str};

/// The most `evalMatches` shown in the description: they are examples, and a panel over a
/// fleet can match thousands.
const MAX_MATCHES_SHOWN: usize = 10;

#[derive(Deserialize)]
struct Body<'a> {
    #[serde(borrow, rename = "ruleName", default)]
    rule_name: Option<Text<'a>>,
    #[serde(rename = "ruleId", default)]
    rule_id: Option<serde_json::Value>,
    #[serde(borrow, default)]
    state: Option<Text<'a>>,
    #[serde(borrow, default)]
    title: Option<Text<'a>>,
    #[serde(borrow, default)]
    message: Option<Text<'a>>,
    #[serde(default)]
    tags: Option<BTreeMap<String, serde_json::Value>>,
    #[serde(rename = "evalMatches", default)]
    eval_matches: Option<Vec<EvalMatch>>,
}

#[derive(Deserialize)]
struct EvalMatch {
    #[serde(default)]
    metric: Option<String>,
    #[serde(default)]
    value: Option<serde_json::Value>,
}

/// A JSON scalar as label text (numbers as Grafana prints them); `None` for anything else.
fn scalar(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

pub fn decode(
    bytes: &[u8],
    ctx: &Ctx<'_>,
    out: &mut Vec<AlertEvent>,
) -> Result<Decoded, DecodeError> {
    let b: Body<'_> = from_json(bytes)?;
    let name = b
        .rule_name
        .as_deref()
        .filter(|n| !n.is_empty())
        .ok_or_else(|| DecodeError::missing("ruleName"))?;
    let kind = match b.state.as_deref() {
        Some("alerting" | "no_data") => EventKind::Firing,
        Some("ok") => EventKind::Resolved,
        Some("pending" | "paused") => {
            return Ok(Decoded {
                ignored: 1,
                ..Decoded::default()
            })
        }
        Some(other) => {
            return Err(DecodeError::invalid(
                "state",
                format!(
                "{other:?}, expected \"alerting\", \"ok\", \"no_data\", \"pending\" or \"paused\""
            ),
            ))
        }
        None => return Err(DecodeError::missing("state")),
    };
    let time = ctx.received_at.ok_or_else(|| {
        DecodeError::missing("a time (legacy Grafana webhooks carry none; it is taken on arrival)")
    })?;
    let mut pairs: Vec<(Str, Str)> = b
        .tags
        .iter()
        .flatten()
        .filter_map(|(k, v)| Some((Str::from(k.as_str()), Str::from(scalar(v)?))))
        .collect();
    if let Some(id) = b.rule_id.as_ref().and_then(scalar) {
        pairs.push((Str::const_new("rule_id"), Str::from(id)));
    }
    pairs.push((Str::const_new("alertname"), Str::from(name)));
    let labels = Labels::from_vec(pairs);
    let mut description = String::new();
    for m in b.eval_matches.iter().flatten().take(MAX_MATCHES_SHOWN) {
        let value = m
            .value
            .as_ref()
            .and_then(scalar)
            .unwrap_or_else(|| "null".into());
        let sep = if description.is_empty() { "" } else { ", " };
        let _ = write!(
            description,
            "{sep}{} = {value}",
            m.metric.as_deref().unwrap_or("")
        );
    }
    let summary = b
        .message
        .as_deref()
        .filter(|m| !m.is_empty())
        .or(b.title.as_deref())
        .filter(|s| !s.is_empty())
        .map(str::to_string);
    let opts = ctx.opts;
    let actor = (kind == EventKind::Resolved).then_some(Actor::Automation);
    out.push(AlertEvent {
        source: Source::GrafanaLegacy,
        kind,
        time,
        fingerprint: labels.fingerprint(),
        source_id: None,
        dedup_key: None,
        alertname: Str::from(name),
        severity: opts.severity_of(&labels),
        service: opts.service_of(&labels),
        team: opts.team_of(&labels),
        annotations: Annotations {
            summary,
            description: (!description.is_empty()).then_some(description),
            runbook: None,
        },
        labels,
        actor,
        ends_at: None,
        sender: None,
        group: None,
        listed: None,
    });
    Ok(Decoded {
        events: 1,
        ..Decoded::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::DecodeOptions;
    use crate::event::{EventTime, Severity};

    const AT: EventTime = EventTime(1_700_000_000_000);

    fn run(body: &str) -> Result<(Vec<AlertEvent>, Decoded), DecodeError> {
        let opts = DecodeOptions::default();
        let ctx = Ctx {
            opts: &opts,
            received_at: Some(AT),
        };
        let mut out = Vec::new();
        decode(body.as_bytes(), &ctx, &mut out).map(|d| (out, d))
    }

    /// Grafana's documented example body (legacy alerting, webhook notifier).
    const DOCS: &str = r#"{
      "dashboardId":1,
      "evalMatches":[{"value":1,"metric":"Count","tags":{}}],
      "imageUrl":"https://grafana.com/static/assets/img/blog/mixed_styles.png",
      "message":"Notification Message",
      "orgId":1,
      "panelId":2,
      "ruleId":1,
      "ruleName":"Panel Title alert",
      "ruleUrl":"http://localhost:3000/d/hZ7BuVbWz/test-dashboard?fullscreen\u0026edit\u0026tab=alert\u0026panelId=2\u0026orgId=1",
      "state":"alerting",
      "tags":{"tag name":"tag value"},
      "title":"[Alerting] Panel Title alert"
    }"#;

    #[test]
    fn the_documented_body_is_one_firing_alert_as_of_its_arrival() {
        let (evs, d) = run(DOCS).expect("decodes");
        assert_eq!((d.events, d.ignored), (1, 0));
        let e = &evs[0];
        assert_eq!(
            (e.source, e.kind.clone(), e.time),
            (Source::GrafanaLegacy, EventKind::Firing, AT)
        );
        assert_eq!(&*e.alertname, "Panel Title alert");
        assert_eq!(
            e.labels.iter().collect::<Vec<_>>(),
            vec![
                ("alertname", "Panel Title alert"),
                ("rule_id", "1"),
                ("tag name", "tag value")
            ]
        );
        assert_eq!(
            e.annotations.summary.as_deref(),
            Some("Notification Message")
        );
        assert_eq!(e.annotations.description.as_deref(), Some("Count = 1"));
        // No severity tag: the configured default (error).
        assert_eq!(
            e.severity,
            DecodeOptions::default().severity_of(&Labels::new())
        );
        assert_eq!((e.sender, e.group, &e.listed), (None, None, &None));
    }

    /// The documented body's one event with its `state` replaced by `state`.
    fn in_state(state: &str) -> AlertEvent {
        let body = DOCS.replace(r#""state":"alerting""#, &format!(r#""state":"{state}""#));
        run(&body).expect(state).0.remove(0)
    }

    #[test]
    fn ok_resolves_the_same_alert_and_pending_or_paused_change_nothing() {
        let fire = in_state("alerting");
        let ok = in_state("ok");
        assert_eq!(
            (ok.kind, ok.fingerprint),
            (EventKind::Resolved, fire.fingerprint)
        );
        assert_eq!(ok.actor, Some(Actor::Automation));
        let no_data = in_state("no_data");
        assert_eq!(
            (no_data.kind, no_data.fingerprint),
            (EventKind::Firing, fire.fingerprint)
        );
        for state in ["pending", "paused"] {
            let (evs, d) = run(&DOCS.replace("alerting", state)).expect("ignored");
            assert!(evs.is_empty(), "{state}");
            assert_eq!((d.events, d.ignored), (0, 1), "{state}");
        }
    }

    #[test]
    fn tags_name_severity_and_service_and_another_rule_is_another_alert() {
        let tagged = DOCS.replace(
            r#""tags":{"tag name":"tag value"}"#,
            r#""tags":{"severity":"critical","service":"checkout"}"#,
        );
        let e = run(&tagged).expect("decodes").0.remove(0);
        assert_eq!(e.severity, Severity::Critical);
        assert_eq!(e.service.as_deref(), Some("checkout"));
        let other = run(&DOCS.replace(r#""ruleId":1"#, r#""ruleId":2"#))
            .expect("decodes")
            .0
            .remove(0);
        let first = run(DOCS).expect("decodes").0.remove(0);
        assert_ne!(other.fingerprint, first.fingerprint);
        // The summary falls back to the title; many matches are cut to a few.
        let matches: Vec<String> = (0..30)
            .map(|i| format!(r#"{{"metric":"host{i}","value":{i}.5}}"#))
            .collect();
        let body = DOCS
            .replace(r#""message":"Notification Message","#, "")
            .replace(
                r#""evalMatches":[{"value":1,"metric":"Count","tags":{}}]"#,
                &format!(r#""evalMatches":[{}]"#, matches.join(",")),
            );
        let e = run(&body).expect("decodes").0.remove(0);
        assert_eq!(
            e.annotations.summary.as_deref(),
            Some("[Alerting] Panel Title alert")
        );
        let d = e.annotations.description.expect("matches shown");
        assert!(d.starts_with("host0 = 0.5, host1 = 1.5"), "{d}");
        assert_eq!(d.matches(" = ").count(), MAX_MATCHES_SHOWN);
    }

    /// Through the engine: a reminder hours later is the same alert, not a new episode or a
    /// sign the first one ended, and `ok` ends it.
    #[test]
    fn reminders_are_repeats_and_ok_closes_the_incident() {
        use crate::engine::{Engine, Output};
        let opts = DecodeOptions::default();
        let mut engine = Engine::new(std::sync::Arc::new(crate::config::Config::default().engine));
        let hour = 3_600_000;
        for (body, at) in [
            (DOCS.to_string(), 0),
            (DOCS.to_string(), 5 * hour),
            (
                DOCS.replace(r#""state":"alerting""#, r#""state":"ok""#),
                6 * hour,
            ),
        ] {
            let ctx = Ctx {
                opts: &opts,
                received_at: Some(EventTime(AT.as_millis() + at)),
            };
            let mut out = Vec::new();
            decode(body.as_bytes(), &ctx, &mut out).expect("decodes");
            engine.handle_events(&out);
        }
        engine.handle_watermark(EventTime(AT.as_millis() + 7 * hour));
        let mut records = Vec::new();
        while let Some(o) = engine.poll_output() {
            if let Output::Record(r) = o {
                records.push(r);
            }
        }
        assert_eq!(records.len(), 1, "one incident, closed");
        assert_eq!(records[0].alerts.len(), 1);
        assert_eq!(records[0].raw_events, 3);
        assert_eq!(
            engine.stats().unreported_resolves,
            0,
            "never judged by silence"
        );
    }

    #[test]
    fn errors_name_the_field() {
        assert_eq!(
            run(&DOCS.replace(r#""ruleName":"Panel Title alert","#, "")).err(),
            Some(DecodeError::missing("ruleName"))
        );
        let bad = run(&DOCS.replace("alerting", "exploded")).expect_err("refused");
        assert!(bad.to_string().contains("`state`"), "{bad}");
        assert_eq!(
            run(&DOCS.replace(r#""state":"alerting","#, "")).err(),
            Some(DecodeError::missing("state"))
        );
        let opts = DecodeOptions::default();
        let ctx = Ctx {
            opts: &opts,
            received_at: None,
        };
        let mut out = Vec::new();
        let no_time = decode(DOCS.as_bytes(), &ctx, &mut out).expect_err("no time");
        assert!(
            no_time.to_string().contains("taken on arrival"),
            "{no_time}"
        );
        assert!(out.is_empty());
        assert!(run("[1]").is_err());
        assert!(run(r#"{"ruleName": 5, "state": "ok"}"#).is_err());
    }
}
