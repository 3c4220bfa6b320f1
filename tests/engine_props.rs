//! Engine invariants over random event streams: nothing is lost from the records, replay
//! is deterministic, and re-sending a firing event changes no decision.

use std::sync::Arc;

use noisegate::config::Config;
use noisegate::engine::{Engine, Output};
use noisegate::event::{AlertEvent, Annotations, EventKind, EventTime, Labels, Severity, Source};
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
    let labels = Labels::from_pairs([
        ("alertname", name.as_str()),
        ("severity", sev.as_str()),
        ("instance", ["a", "b"][(alert / 12 % 2) as usize]),
    ]);
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
        service: None,
        team: None,
        annotations: Annotations::default(),
        labels,
        actor: None,
        // Some alerts are point-in-time (they expire unless sent again).
        ends_at: (firing && alert % 3 == 0).then_some(EventTime(t + 300_000)),
    }
}

fn stream() -> impl Strategy<Value = Vec<AlertEvent>> {
    prop::collection::vec(
        (
            any::<u8>(),
            any::<u8>(),
            prop::bool::weighted(0.7),
            0i64..120_000,
        ),
        1..300,
    )
    .prop_map(|v| {
        let mut t = 1_700_000_000_000i64;
        v.into_iter()
            .map(|(a, s, f, dt)| {
                t += dt;
                ev(a, s, f, t)
            })
            .collect()
    })
}

fn run(events: &[AlertEvent], batch: usize) -> (Vec<ClusterRecord>, Vec<Page>, u64) {
    let cfg = Config::default().engine;
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

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn no_event_lost_from_the_records(events in stream()) {
        let (recs, _, n) = run(&events, 16);
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

    #[test]
    fn resending_a_firing_event_changes_no_decision(events in stream(), pick in any::<prop::sample::Index>()) {
        let i = pick.index(events.len());
        prop_assume!(events[i].kind == EventKind::Firing);
        let mut dup = events.clone();
        dup.insert(i + 1, events[i].clone());
        let (r1, p1, _) = run(&events, 1);
        let (r2, p2, _) = run(&dup, 1);
        prop_assert_eq!(p1, p2);
        let key = |r: &Vec<ClusterRecord>| r.iter().map(|c| (c.cluster_id.clone(), c.decision, c.paged_at, c.closed_at)).collect::<Vec<_>>();
        prop_assert_eq!(key(&r1), key(&r2));
    }
}
