//! Alerts as Prometheus sends them to Alertmanager: the body of `POST /api/v2/alerts`, a
//! JSON array of `{labels, annotations, startsAt, endsAt, generatorURL}`. Alertmanager's
//! `GET /api/v2/alerts` lists alerts in the same shape (plus `fingerprint`, `status`,
//! `receivers`, `updatedAt`), so a snapshot taken with `curl` or `amtool` reads the same
//! way; so does one such alert object alone (replay splits a top-level array into its
//! elements, see `replay::framing`).
//!
//! This is what lets Prometheus page through noisegate without an Alertmanager in between:
//! point `alerting.alertmanagers` at noisegate's HTTP listener.
//!
//! Owns: the alert layout and what `endsAt` means. Prometheus has no resolve message: a
//! firing alert is re-sent every `resend_delay` with `endsAt` a few evaluation intervals
//! ahead, and an alert is resolved once its `endsAt` has passed without a re-send (as
//! Alertmanager's own API treats it). So `endsAt` becomes the event's expiry and the engine
//! resolves the alert when event time passes it; an alert whose `endsAt` is not after its
//! `startsAt` (or, when the receive time is known, not after that) is resolved at once.
//! Event time is `startsAt`, as for Alertmanager's webhook. Does not own the fingerprint,
//! nor the severity/service/team label names.

use serde::de::IgnoredAny;

use super::alertmanager::Via;
use super::{from_json, Ctx, DecodeError, Decoded};
use crate::event::{AlertEvent, EventKind, Source};

/// A webhook alert's status is a string and Alertmanager's API's an object: neither is
/// read, `endsAt` says it (see the module doc).
type Alert<'a> = super::alertmanager::Alert<'a, IgnoredAny>;

pub fn decode(
    bytes: &[u8],
    ctx: &Ctx<'_>,
    out: &mut Vec<AlertEvent>,
) -> Result<Decoded, DecodeError> {
    // A list or a lone alert, parsed as what its first byte says, so errors stay precise.
    let alerts = match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'[') => from_json::<Vec<Alert<'_>>>(bytes)?,
        _ => vec![from_json::<Alert<'_>>(bytes)?],
    };
    let opts = ctx.opts;
    let mark = out.len();
    out.reserve(alerts.len());
    for (i, a) in alerts.into_iter().enumerate() {
        let (starts, ends) = match a.times(i) {
            Ok(t) => t,
            Err(e) => {
                out.truncate(mark);
                return Err(e);
            }
        };
        let Some(time) = starts.or(ctx.received_at) else {
            out.truncate(mark);
            return Err(DecodeError::missing(format!("alerts[{i}].startsAt")));
        };
        let now = ctx.received_at.map_or(time, |r| r.max(time));
        // (kind, event time, expiry)
        let (kind, time, ends_at) = match ends {
            Some(e) if e <= now => (EventKind::Resolved, e.max(time), None),
            e => (EventKind::Firing, time, e),
        };
        out.push(a.into_event(
            opts,
            Source::Prometheus,
            kind,
            time,
            ends_at,
            Via::default(),
        ));
    }
    Ok(Decoded {
        events: out.len() - mark,
        ignored: 0,
        truncated: 0,
        changes: 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::{sniff::sniff, DecodeOptions, Format};
    use crate::event::{Actor, EventTime, Labels, Severity};

    fn run(bytes: &str, received_at: Option<&str>) -> Result<Vec<AlertEvent>, DecodeError> {
        let opts = DecodeOptions::default();
        let ctx = Ctx {
            opts: &opts,
            received_at: received_at.map(|t| EventTime::parse_rfc3339(t).unwrap()),
        };
        let mut out = Vec::new();
        decode(bytes.as_bytes(), &ctx, &mut out).map(|_| out)
    }

    /// Prometheus' notifier body: `endsAt` ahead for a firing alert (valid until then unless
    /// re-sent), the resolve time for a resolved one.
    const POSTED: &str = r#"[
      {"labels":{"alertname":"DatabaseDown","service":"db","severity":"critical"},
       "annotations":{"summary":"db is down"},
       "startsAt":"2026-11-03T02:00:00Z","endsAt":"2026-11-03T02:04:00Z",
       "generatorURL":"http://prometheus:9090/graph?g0.expr=up%3D%3D0"},
      {"labels":{"alertname":"DiskFull","service":"db","severity":"warning"},
       "annotations":{},
       "startsAt":"2026-11-03T01:00:00Z","endsAt":"2026-11-03T01:59:00Z",
       "generatorURL":""}
    ]"#;

    #[test]
    fn prometheus_posts_are_sniffed_and_firing_until_ends_at() {
        assert_eq!(sniff(POSTED.as_bytes()), Ok(Format::Prometheus));
        let ev = run(POSTED, None).unwrap();
        assert_eq!(ev.len(), 2);
        let a = &ev[0];
        assert_eq!(a.kind, EventKind::Firing);
        assert_eq!(a.source, Source::Prometheus);
        assert_eq!(a.time.to_rfc3339(), "2026-11-03T02:00:00.000Z");
        assert_eq!(
            a.ends_at.map(|t| t.to_rfc3339()).as_deref(),
            Some("2026-11-03T02:04:00.000Z")
        );
        assert_eq!(a.severity, Severity::Critical);
        assert_eq!(a.service.as_deref(), Some("db"));
        assert_eq!(a.annotations.summary.as_deref(), Some("db is down"));
        assert_eq!(
            a.fingerprint,
            Labels::from_vec(vec![
                ("alertname".into(), "DatabaseDown".into()),
                ("service".into(), "db".into()),
                ("severity".into(), "critical".into()),
            ])
            .fingerprint()
        );
        // Without a receive time the second is also firing until its endsAt (the engine
        // resolves it then); received after its endsAt, it is resolved at once.
        assert_eq!(ev[1].kind, EventKind::Firing);
        let ev = run(POSTED, Some("2026-11-03T02:00:30Z")).unwrap();
        assert_eq!(ev[0].kind, EventKind::Firing);
        let r = &ev[1];
        assert_eq!(r.kind, EventKind::Resolved);
        assert_eq!(r.actor, Some(Actor::Automation));
        assert_eq!(r.time.to_rfc3339(), "2026-11-03T01:59:00.000Z");
        assert_eq!(r.ends_at, None);
    }

    #[test]
    fn an_alertmanager_api_listing_reads_the_same_one_alert_at_a_time() {
        // One element of `GET /api/v2/alerts` (as replay gives an array's elements).
        let one = r#"{"annotations":{"summary":"db is down"},"endsAt":"2026-11-03T02:04:00.000Z",
          "fingerprint":"5f2e1a3b4c5d6e7f","receivers":[{"name":"pager"}],
          "startsAt":"2026-11-03T02:00:00.000Z",
          "status":{"inhibitedBy":[],"silencedBy":[],"state":"active"},
          "updatedAt":"2026-11-03T02:00:30.000Z","generatorURL":"",
          "labels":{"alertname":"DatabaseDown","service":"db","severity":"critical"}}"#;
        assert_eq!(sniff(one.as_bytes()), Ok(Format::Prometheus));
        let ev = run(one, None).unwrap();
        assert_eq!(ev.len(), 1);
        assert_eq!(ev[0].source_id.as_deref(), Some("5f2e1a3b4c5d6e7f"));
        assert_eq!(ev[0].fingerprint, run(POSTED, None).unwrap()[0].fingerprint);
        // Go's zero endsAt: firing with no expiry, as a webhook's firing alert.
        let open = one.replace("2026-11-03T02:04:00.000Z", "0001-01-01T00:00:00Z");
        let ev = run(&open, None).unwrap();
        assert_eq!(ev[0].kind, EventKind::Firing);
        assert_eq!(ev[0].ends_at, None);
    }

    #[test]
    fn bad_alerts_are_errors_naming_the_field() {
        let e = run(
            r#"[{"labels":{"alertname":"A"},"startsAt":"2026-11-03T02:00:00Z"},
                       {"labels":{"alertname":"B"},"startsAt":"yesterday"}]"#,
            None,
        )
        .unwrap_err();
        assert!(e.to_string().contains("alerts[1].startsAt"), "{e}");
        let e = run(r#"[{"labels":{"alertname":"A"}}]"#, None).unwrap_err();
        assert_eq!(e.reason(), "missing_field");
        let e = run(r#"[{"startsAt":"2026-11-03T02:00:00Z"}]"#, None).unwrap_err();
        assert_eq!(e.reason(), "missing_field");
        assert!(run("[]", None).unwrap().is_empty());
        assert_eq!(run("[1]", None).unwrap_err().reason(), "wrong_type");
    }
}
