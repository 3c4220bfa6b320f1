//! Engine invariants over random event streams: nothing is lost from the records, replay
//! is deterministic, and re-sending a firing event changes no decision, not even when the
//! copy is delivered after the alert resolved.

use std::sync::Arc;

use noisegate::config::Config;
use noisegate::engine::resend::MAX_LEARNED_MS;
use noisegate::engine::{Engine, Output};
use noisegate::event::{
    AlertEvent, Annotations, EventKind, EventTime, GroupKey, Labels, Listing, SenderId, Severity,
    Source,
};
use noisegate::record::{ClusterRecord, Page};
use proptest::prelude::*;

fn ev(alert: u8, sev: u8, firing: bool, t: i64) -> AlertEvent {
    let sev = [
        Severity::Info,
        Severity::Warning,
        Severity::Error,
        Severity::Critical,
    ][(sev % 4) as usize];
    let name = format!("Alert{}", alert % 12);
    // Services and peers exercise the topology, peer, co-onset and late-symptom links.
    let service = [None, Some("api"), Some("db"), Some("web"), Some("cache")][(alert % 5) as usize];
    let mut pairs = vec![
        ("alertname", name.as_str()),
        ("severity", sev.as_str()),
        ("instance", ["a", "b"][(alert / 12 % 2) as usize]),
    ];
    if let Some(s) = service {
        pairs.push(("service", s));
    }
    if alert % 7 == 0 {
        pairs.push(("peer.service", "db"));
    }
    let labels = Labels::from_pairs(pairs);
    AlertEvent {
        source: Source::Alertmanager,
        kind: if firing {
            EventKind::Firing
        } else {
            EventKind::Resolved
        },
        time: EventTime(t),
        fingerprint: labels.fingerprint(),
        source_id: None,
        dedup_key: None,
        alertname: name.into(),
        severity: sev,
        service: service.map(Into::into),
        team: None,
        annotations: Annotations::default(),
        labels,
        actor: None,
        // Some alerts are point-in-time (they expire unless sent again).
        ends_at: (firing && alert % 3 == 0).then_some(EventTime(t + 300_000)),
        sender: None,
        group: None,
        listed: None,
    }
}

/// A deploy to one of the services (or, with none, to a team no alert has), at `t` give or
/// take a few minutes: a change tool's clock is its own.
fn change(alert: u8, t: i64) -> AlertEvent {
    let service = [None, Some("api"), Some("db"), Some("web"), Some("cache")][(alert % 5) as usize];
    let summary = format!("deploy {alert}");
    let labels = Labels::from_pairs([("source", "ci")]);
    AlertEvent {
        source: Source::PagerDutyV2,
        kind: EventKind::Change,
        time: EventTime(t + (i64::from(alert % 11) - 5) * 60_000),
        fingerprint: Labels::from_pairs([("summary", summary.as_str())]).fingerprint(),
        source_id: None,
        dedup_key: None,
        alertname: Default::default(),
        severity: Severity::Info,
        service: service.map(Into::into),
        team: service.is_none().then(|| "ops".into()),
        annotations: Annotations {
            summary: Some(summary),
            ..Default::default()
        },
        labels,
        actor: None,
        ends_at: None,
        sender: None,
        group: None,
        listed: None,
    }
}

fn stream() -> impl Strategy<Value = Vec<AlertEvent>> {
    prop::collection::vec(
        (
            any::<u8>(),
            any::<u8>(),
            prop::bool::weighted(0.7),
            0i64..120_000,
            prop::bool::weighted(0.05),
        ),
        1..300,
    )
    .prop_map(|v| {
        let mut t = 1_700_000_000_000i64;
        v.into_iter()
            .map(|(a, s, f, dt, c)| {
                t += dt;
                if c {
                    change(a, t)
                } else {
                    ev(a, s, f, t)
                }
            })
            .collect()
    })
}

/// The same streams as notifications of three groups of one receiver: every alert event is
/// sent in its group, and about one firing in four ends a notification listing the group's
/// alerts that fired among the last twenty events (so later listings leave some out).
fn grouped_stream() -> impl Strategy<Value = Vec<AlertEvent>> {
    (stream(), any::<u64>()).prop_map(|(mut v, salt)| {
        let sender = SenderId::of(Source::Alertmanager, "team", "http://am:9093");
        let group = |e: &AlertEvent| GroupKey(e.fingerprint.0 % 3);
        for e in v.iter_mut().filter(|e| e.kind != EventKind::Change) {
            e.sender = Some(sender);
            e.group = Some(group(e));
        }
        for i in 0..v.len() {
            let picked = (salt ^ i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 62 == 0;
            if v[i].kind != EventKind::Firing || !picked {
                continue;
            }
            let g = group(&v[i]);
            let fps = v[i.saturating_sub(20)..=i]
                .iter()
                .filter(|e| e.kind == EventKind::Firing && e.group == Some(g))
                .map(|e| e.fingerprint)
                .collect();
            v[i].listed = Some(Listing::new(fps));
        }
        v
    })
}

fn alerts_only(events: &[AlertEvent]) -> Vec<AlertEvent> {
    events
        .iter()
        .filter(|e| e.kind != EventKind::Change)
        .cloned()
        .collect()
}

fn run(events: &[AlertEvent], batch: usize) -> (Vec<ClusterRecord>, Vec<Page>, u64) {
    let mut cfg = Config::default().engine;
    let deps = [("web", vec!["api"]), ("api", vec!["db", "cache"])]
        .into_iter()
        .map(|(s, d)| (s.to_string(), d.into_iter().map(String::from).collect()))
        .collect();
    cfg.correlation.topology = noisegate::config::Topology::build(&deps, 1);
    let mut e = Engine::new(Arc::new(cfg));
    let (mut recs, mut pages) = (Vec::new(), Vec::new());
    let mut drain = |e: &mut Engine| {
        while let Some(o) = e.poll_output() {
            match o {
                Output::Record(r) => recs.push(r),
                Output::Page(p) => pages.push(p),
            }
        }
    };
    for chunk in events.chunks(batch) {
        e.handle_events(chunk);
        drain(&mut e);
    }
    e.handle_watermark(EventTime(i64::MAX));
    e.finish();
    drain(&mut e);
    let alert_events = e.stats().alert_events;
    (recs, pages, alert_events)
}

/// Pages as JSON with the duplicate-rate reason's value blanked.
fn without_duplicate_rate(pages: &[Page]) -> Vec<serde_json::Value> {
    pages
        .iter()
        .map(|p| {
            let mut v = serde_json::to_value(p).unwrap();
            if let Some(reasons) = v
                .pointer_mut("/payload/custom_details/reasons")
                .and_then(|r| r.as_array_mut())
            {
                for r in reasons {
                    if r["feature"] == "duplicate_rate" {
                        r["value"] = serde_json::Value::Null;
                    }
                }
            }
            v
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn no_event_lost_from_the_records(events in stream()) {
        let (recs, _, n) = run(&events, 16);
        let events = alerts_only(&events);
        prop_assert_eq!(n, events.len() as u64);
        let raw: u64 = recs.iter().map(|r| r.raw_events).sum();
        let per_alert: u64 = recs.iter().flat_map(|r| &r.alerts).map(|a| a.events).sum();
        prop_assert_eq!(raw, n);
        prop_assert_eq!(per_alert, n);
        for e in &events {
            prop_assert!(recs.iter().any(|r| r.alerts.iter().any(|a| a.fingerprint == e.fingerprint)));
        }
        // Each cluster id is written once.
        let mut ids: Vec<_> = recs.iter().map(|r| r.cluster_id.clone()).collect();
        ids.sort();
        ids.dedup();
        prop_assert_eq!(ids.len(), recs.len());
    }

    #[test]
    fn replay_is_deterministic_whatever_the_batching(events in stream(), b in 1usize..64) {
        let a = run(&events, 16);
        let again = run(&events, 16);
        prop_assert_eq!(serde_json::to_string(&a.0).unwrap(), serde_json::to_string(&again.0).unwrap());
        prop_assert_eq!(serde_json::to_string(&a.1).unwrap(), serde_json::to_string(&again.1).unwrap());
        // Nothing depends on how input is batched: time comes from events only.
        let other = run(&events, b);
        prop_assert_eq!(serde_json::to_string(&a.0).unwrap(), serde_json::to_string(&other.0).unwrap());
        prop_assert_eq!(serde_json::to_string(&a.1).unwrap(), serde_json::to_string(&other.1).unwrap());
    }

    /// Alerts ended because a later notification of their group left them out are still
    /// in exactly the records, and the records do not depend on batching.
    #[test]
    fn with_group_listings_nothing_is_lost_and_replay_is_deterministic(
        events in grouped_stream(),
        b in 1usize..64,
    ) {
        let (recs, pages, n) = run(&events, 16);
        prop_assert_eq!(n, alerts_only(&events).len() as u64);
        prop_assert_eq!(recs.iter().map(|r| r.raw_events).sum::<u64>(), n);
        for e in alerts_only(&events) {
            prop_assert!(recs.iter().any(|r| r.alerts.iter().any(|a| a.fingerprint == e.fingerprint)));
        }
        let other = run(&events, b);
        prop_assert_eq!(serde_json::to_string(&recs).unwrap(), serde_json::to_string(&other.0).unwrap());
        prop_assert_eq!(serde_json::to_string(&pages).unwrap(), serde_json::to_string(&other.1).unwrap());
    }

    #[test]
    fn changes_decide_nothing(events in stream()) {
        // Changes are context: without them, every page and record is the same but for the
        // changes it shows.
        let (mut r1, p1, _) = run(&events, 16);
        let (r2, p2, _) = run(&alerts_only(&events), 16);
        for r in &mut r1 {
            r.changes.clear();
        }
        prop_assert_eq!(serde_json::to_string(&r1).unwrap(), serde_json::to_string(&r2).unwrap());
        let strip = |p: &[Page]| {
            p.iter()
                .map(|p| {
                    let mut v = serde_json::to_value(p).unwrap();
                    if let Some(d) = v.pointer_mut("/payload/custom_details").and_then(|d| d.as_object_mut()) {
                        d.remove("recent_changes");
                    }
                    v
                })
                .collect::<Vec<_>>()
        };
        prop_assert_eq!(strip(&p1), strip(&p2));
    }

    #[test]
    fn resending_a_firing_event_changes_no_decision(events in stream(), pick in any::<prop::sample::Index>()) {
        let i = pick.index(events.len());
        prop_assume!(events[i].kind == EventKind::Firing);
        let mut dup = events.clone();
        dup.insert(i + 1, events[i].clone());
        let (r1, p1, _) = run(&events, 1);
        let (r2, p2, _) = run(&dup, 1);
        // A page reports its cluster's duplicate rate among its reasons, which a re-send
        // changes by definition (its weight is 0, so it changes no score or decision).
        prop_assert_eq!(without_duplicate_rate(&p1), without_duplicate_rate(&p2));
        let key = |r: &Vec<ClusterRecord>| r.iter().map(|c| (c.cluster_id.clone(), c.decision, c.paged_at, c.closed_at)).collect::<Vec<_>>();
        prop_assert_eq!(key(&r1), key(&r2));
    }

    /// Two inputs out of step, or a retried notification: a firing delivered again after its
    /// alert resolved (within half an hour of event time of that resolve, in its cluster or
    /// after it closed) belongs to an episode that is over.
    #[test]
    fn a_firing_delivered_after_its_alerts_resolve_changes_no_decision(
        events in stream(),
        pick in any::<prop::sample::Index>(),
        later in any::<prop::sample::Index>(),
    ) {
        // (firing, its alert's next resolve) pairs among events without an end of their own.
        let pairs: Vec<(usize, usize)> = events
            .iter()
            .enumerate()
            .filter(|(_, e)| e.kind == EventKind::Firing && e.ends_at.is_none())
            .filter_map(|(i, e)| {
                events[i + 1..]
                    .iter()
                    .position(|x| x.fingerprint == e.fingerprint && x.kind == EventKind::Resolved)
                    .map(|k| (i, i + 1 + k))
            })
            .collect();
        prop_assume!(!pairs.is_empty());
        let (i, j) = pairs[pick.index(pairs.len())];
        let e = &events[i];
        let horizon = events[j].time.as_millis() + 30 * 60_000;
        let within = events[j + 1..].iter().take_while(|x| x.time.as_millis() <= horizon).count();
        let at = j + 1 + later.index(within + 1);
        let mut late = events.clone();
        late.insert(at, e.clone());
        let (r1, p1, _) = run(&events, 1);
        let (r2, p2, _) = run(&late, 1);
        prop_assert_eq!(without_duplicate_rate(&p1), without_duplicate_rate(&p2));
        let key = |r: &Vec<ClusterRecord>| r.iter().map(|c| (c.cluster_id.clone(), c.decision, c.paged_at, c.closed_at, c.alerts.len())).collect::<Vec<_>>();
        prop_assert_eq!(key(&r1), key(&r2));
    }
}

/// The longest an Alertmanager goes between two notifications of a firing alert, as the
/// shipped `engine.max_resend_interval` (4 h 5 min)...
const RESEND_MS: i64 = 245 * 60_000;
/// ...of which a `group_interval` (5 min) is slack: the engine counts a jump of its clock as
/// that much observed time, so an alert sent again within the rest (Alertmanager's
/// `repeat_interval`, 4 h) is safe however its clock lags.
const REPEAT_MS: i64 = 240 * 60_000;

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    /// Real time passes; the engine's clock follows it only when an event stamped as sent
    /// arrives (`catch_up`), and otherwise stands still, as through a night of nothing but
    /// re-sends, which carry their alert's start. An alert re-sent every `repeat_interval` of
    /// real time is never taken as over, however the clock stands still or jumps; once it
    /// is no longer sent and the clock runs on, it is.
    #[test]
    fn an_alert_re_sent_every_repeat_interval_is_never_taken_as_over(
        steps in prop::collection::vec(
            (prop_oneof![Just(0i64), 0i64..600_000, 0i64..REPEAT_MS], prop::bool::weighted(0.5)),
            1..200,
        ),
    ) {
        let mut e = Engine::new(Arc::new(Config::default().engine));
        let start = 1_700_000_000_000i64;
        let alert = ev(1, 3, true, start);
        e.handle_event(&alert);
        let (mut real, mut last_sent) = (start, start);
        for (dt, catch_up) in steps {
            if real + dt - last_sent > REPEAT_MS {
                e.handle_event(&alert);
                last_sent = real;
            }
            real += dt;
            if catch_up {
                e.handle_watermark(EventTime(real));
            }
            while e.poll_output().is_some() {}
        }
        prop_assert_eq!(e.stats().unreported_resolves, 0);
        prop_assert_eq!(e.active_alerts(), 1);
        // No longer sent: the clock runs on a minute at a time.
        for _ in 0..(RESEND_MS / 60_000 + 10) {
            real += 60_000;
            e.handle_watermark(EventTime(real));
            while e.poll_output().is_some() {}
        }
        prop_assert_eq!(e.stats().unreported_resolves, 1);
    }

    /// A receiver heard sending a resolve reports every end. An alert of it re-sent at any
    /// `repeat_interval` Alertmanager can have (up to its notification log's 120 h), while
    /// the clock runs or stands still for a while, is never taken as over and never opens a
    /// second cluster; once no longer sent, it is over after 120 h 5 min of running clock.
    #[test]
    fn an_alert_of_a_receiver_that_sends_resolves_is_never_ended_by_its_repeat_interval(
        repeat in 10 * 60_000..(MAX_LEARNED_MS - 5 * 60_000),
        periods in prop::collection::vec((1usize..200, prop::bool::weighted(0.8)), 1..30),
    ) {
        const TICK: i64 = 300_000;
        let mut e = Engine::new(Arc::new(Config::default().engine));
        let sender = Some(SenderId::of(Source::Alertmanager, "pagerduty", "http://am:9093"));
        let from = |mut a: AlertEvent| {
            a.sender = sender;
            a
        };
        let start = 1_700_000_000_000i64;
        // Another alert of the receiver fires and resolves first.
        e.handle_event(&from(ev(2, 1, true, start - 600_000)));
        e.handle_event(&from(ev(2, 1, false, start - 300_000)));
        let alert = from(ev(1, 3, true, start));
        e.handle_event(&alert);
        let opened = e.stats().clusters_opened;
        let (mut real, mut last_sent) = (start, start);
        for (ticks, clock_runs) in periods {
            for _ in 0..ticks {
                real += TICK;
                if real - last_sent >= repeat {
                    // Sent with its start, heard at whatever the clock then is.
                    e.handle_event(&alert);
                    last_sent = real;
                }
                if clock_runs {
                    e.handle_watermark(EventTime(real));
                }
                while e.poll_output().is_some() {}
            }
        }
        prop_assert_eq!(e.stats().unreported_resolves, 0);
        prop_assert_eq!(e.stats().clusters_opened, opened);
        // No longer sent: the clock runs on.
        for _ in 0..(MAX_LEARNED_MS / TICK + 2) {
            real += TICK;
            e.handle_watermark(EventTime(real));
            while e.poll_output().is_some() {}
        }
        prop_assert_eq!(e.stats().unreported_resolves, 1);
    }
}
