//! Engine tests in virtual time: a tiny harness pushes events and advances the watermark;
//! a 5-minute quiet period costs nothing.

use super::*;
use crate::config::Config;
use crate::event::{Annotations, DedupKey, Labels, Severity, Str};
use crate::record::{PageAction, ResolvedBy};

const MIN: i64 = 60_000;

struct H {
    e: Engine,
    out: Vec<Output>,
}

impl H {
    fn new() -> Self {
        Self::with(|_| {})
    }
    fn with(f: impl FnOnce(&mut EngineConfig)) -> Self {
        let mut cfg = Config::default().engine;
        f(&mut cfg);
        H {
            e: Engine::new(Arc::new(cfg)),
            out: Vec::new(),
        }
    }
    fn push(&mut self, ev: AlertEvent) -> &mut Self {
        self.e.handle_event(&ev);
        self.drain();
        self
    }
    fn advance_to(&mut self, t: i64) -> &mut Self {
        self.e.handle_watermark(EventTime(t));
        self.drain();
        self
    }
    fn finish(&mut self) -> &mut Self {
        self.e.finish();
        self.drain();
        self
    }
    fn drain(&mut self) {
        while let Some(o) = self.e.poll_output() {
            self.out.push(o);
        }
    }
    fn pages(&self) -> Vec<&Page> {
        self.out
            .iter()
            .filter_map(|o| match o {
                Output::Page(p) => Some(p),
                _ => None,
            })
            .collect()
    }
    fn records(&self) -> Vec<&ClusterRecord> {
        self.out
            .iter()
            .filter_map(|o| match o {
                Output::Record(r) => Some(r),
                _ => None,
            })
            .collect()
    }
}

fn alert(name: &str, sev: Severity, kind: EventKind, t: i64) -> AlertEvent {
    let labels = Labels::from_pairs([
        ("alertname", name),
        ("severity", sev.as_str()),
        ("service", "api"),
    ]);
    AlertEvent {
        source: Source::Alertmanager,
        kind,
        time: EventTime(t),
        fingerprint: labels.fingerprint(),
        source_id: None,
        dedup_key: None,
        alertname: Str::from(name),
        severity: sev,
        service: Some("api".into()),
        team: Some("payments".into()),
        annotations: Annotations {
            summary: Some(format!("{name} is bad")),
            ..Default::default()
        },
        labels,
        actor: None,
        ends_at: None,
    }
}

fn fire(name: &str, sev: Severity, t: i64) -> AlertEvent {
    alert(name, sev, EventKind::Firing, t)
}

fn resolve(name: &str, sev: Severity, t: i64) -> AlertEvent {
    alert(name, sev, EventKind::Resolved, t)
}

fn lifecycle(kind: EventKind, key: &str, actor: Actor, t: i64) -> AlertEvent {
    let labels = Labels::from_pairs([("incident_id", key)]);
    AlertEvent {
        source: Source::PagerDutyV3,
        kind,
        time: EventTime(t),
        fingerprint: labels.fingerprint(),
        source_id: Some(key.into()),
        dedup_key: Some(DedupKey(key.into())),
        alertname: Str::default(),
        severity: Severity::Warning,
        service: None,
        team: None,
        annotations: Annotations::default(),
        labels,
        actor: Some(actor),
        ends_at: None,
    }
}

#[test]
fn repeats_are_absorbed_and_page_once() {
    let mut h = H::new();
    for i in 0..5 {
        h.push(fire("Down", Severity::Critical, i * MIN));
    }
    assert_eq!(h.pages().len(), 1);
    assert_eq!(h.e.stats().deduplicated, 4);
    h.push(resolve("Down", Severity::Critical, 10 * MIN));
    h.advance_to(14 * MIN);
    assert!(h.records().is_empty(), "still inside the quiet period");
    h.advance_to(15 * MIN);
    let pages = h.pages();
    assert_eq!(pages.len(), 2);
    assert_eq!(pages[0].event_action, PageAction::Trigger);
    assert_eq!(pages[1].event_action, PageAction::Resolve);
    assert_eq!(pages[0].dedup_key, pages[1].dedup_key);
    let r = h.records();
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].alerts[0].events, 6);
    assert_eq!(r[0].raw_events, 6);
    assert_eq!(r[0].closed_at, Some(EventTime(15 * MIN)));
    assert_eq!(r[0].resolved_at, Some(EventTime(10 * MIN)));
    assert_eq!(r[0].resolved_by, Some(ResolvedBy::Auto));
    assert_eq!(r[0].paged_at, Some(EventTime(0)));
    assert_eq!(r[0].decision, Decision::Page);
    assert_eq!(r[0].cluster_id, pages[0].dedup_key);
}

#[test]
fn refire_within_quiet_is_a_flap_not_a_new_page() {
    let mut h = H::new();
    h.push(fire("Flappy", Severity::Error, 0))
        .push(resolve("Flappy", Severity::Error, MIN))
        .advance_to(2 * MIN)
        .push(fire("Flappy", Severity::Error, 3 * MIN))
        .push(resolve("Flappy", Severity::Error, 4 * MIN))
        .advance_to(30 * MIN);
    assert_eq!(h.pages().len(), 2, "one trigger, one resolve");
    let r = h.records();
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].alerts[0].flaps, 1);
    assert_eq!(r[0].resolved_at, Some(EventTime(4 * MIN)));
}

#[test]
fn firing_after_close_opens_a_new_cluster() {
    let mut h = H::new();
    h.push(fire("X", Severity::Critical, 0))
        .push(resolve("X", Severity::Critical, MIN))
        .advance_to(10 * MIN)
        .push(fire("X", Severity::Critical, 20 * MIN))
        .finish();
    let r = h.records();
    assert_eq!(r.len(), 2);
    assert_ne!(r[0].cluster_id, r[1].cluster_id);
    assert_eq!(r[1].closed_at, None, "still open at end of input");
    assert_eq!(
        h.pages()
            .iter()
            .filter(|p| p.event_action == PageAction::Trigger)
            .count(),
        2
    );
}

#[test]
fn severity_routes_without_score_engine() {
    let mut h = H::new();
    h.push(fire("W", Severity::Warning, 0))
        .push(fire("I", Severity::Info, 0))
        .push(fire("E", Severity::Error, 0))
        .finish();
    let mut d: Vec<_> = h
        .records()
        .iter()
        .map(|r| (r.alerts[0].alertname.clone(), r.decision))
        .collect();
    d.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        d,
        vec![
            ("E".into(), Decision::Page),
            ("I".into(), Decision::Suppress),
            ("W".into(), Decision::Ticket)
        ]
    );
    assert_eq!(h.pages().len(), 1);
    let r = h.records();
    assert!(r.iter().all(|r| !r.reasons.is_empty()));
}

#[test]
fn acks_link_by_cluster_id_fingerprint_and_source_key() {
    // By the cluster id (PagerDuty echoing our dedup_key back).
    let mut h = H::new();
    h.push(fire("A", Severity::Critical, 0));
    let id = h.pages()[0].dedup_key.0.clone();
    h.push(lifecycle(
        EventKind::Acknowledged,
        &id,
        Actor::Human,
        2 * MIN,
    ))
    .push(lifecycle(EventKind::Resolved, &id, Actor::Human, 5 * MIN))
    .finish();
    let r = h.records()[0];
    assert_eq!(r.acked_at, Some(EventTime(2 * MIN)));
    assert_eq!(r.resolved_at, Some(EventTime(5 * MIN)));
    assert_eq!(r.resolved_by, Some(ResolvedBy::Human));
    assert_eq!(h.e.stats().lifecycle_linked, 2);

    // By the alert fingerprint.
    let mut h = H::new();
    let ev = fire("B", Severity::Warning, 0);
    let fp = ev.fingerprint.to_string();
    h.push(ev)
        .push(lifecycle(EventKind::Acknowledged, &fp, Actor::Human, MIN))
        .finish();
    assert_eq!(h.records()[0].acked_at, Some(EventTime(MIN)));

    // By an earlier trigger's own dedup key.
    let mut h = H::new();
    let mut ev = fire("C", Severity::Critical, 0);
    ev.dedup_key = Some(DedupKey("srv-42/disk".into()));
    h.push(ev)
        .push(lifecycle(
            EventKind::Acknowledged,
            "srv-42/disk",
            Actor::Human,
            MIN,
        ))
        .push(lifecycle(
            EventKind::Acknowledged,
            "unknown-key",
            Actor::Human,
            MIN,
        ))
        .finish();
    assert_eq!(h.records()[0].acked_at, Some(EventTime(MIN)));
    assert_eq!(h.e.stats().lifecycle_unlinked, 1);
}

#[test]
fn resolve_first_is_recorded_never_paged() {
    let mut h = H::new();
    h.push(resolve("Gone", Severity::Critical, 0))
        .advance_to(10 * MIN);
    assert!(h.pages().is_empty());
    let r = h.records();
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].decision, Decision::Ticket);
}

#[test]
fn watermark_never_goes_back_and_is_idempotent() {
    let mut h = H::new();
    h.push(fire("A", Severity::Critical, 0))
        .push(resolve("A", Severity::Critical, MIN))
        .advance_to(6 * MIN)
        .advance_to(6 * MIN)
        .advance_to(2 * MIN);
    assert_eq!(h.records().len(), 1);
    assert_eq!(h.e.watermark(), EventTime(6 * MIN));
    assert_eq!(h.e.poll_timeout(), None);
}

#[test]
fn cap_sheds_least_recent_clusters_but_keeps_their_records() {
    let mut h = H::with(|c| c.max_active_alerts = 10);
    for i in 0..30 {
        h.push(fire(&format!("A{i}"), Severity::Warning, i * MIN));
    }
    assert!(h.e.active_alerts() <= 10);
    h.finish();
    let r = h.records();
    assert_eq!(r.len(), 30, "no alert lost from the records");
    assert_eq!(h.e.stats().clusters_shed, 20);
}

#[test]
fn replay_is_deterministic() {
    let run = || {
        let mut h = H::new();
        for i in 0..50 {
            let name = format!("R{}", i % 7);
            h.push(fire(&name, Severity::Critical, i * MIN));
            if i % 5 == 0 {
                h.push(resolve(&name, Severity::Critical, i * MIN + 1));
            }
            h.advance_to(i * MIN - MIN);
        }
        h.finish();
        serde_json::to_string(&h.records()).unwrap() + &serde_json::to_string(&h.pages()).unwrap()
    };
    assert_eq!(run(), run());
}

#[test]
fn pagerduty_incident_id_links_sub_resource_events() {
    let mut h = H::new();
    h.push(fire("A", Severity::Critical, 0));
    let id = h.pages()[0].dedup_key.0.clone();
    // The first webhook carries the incident key (our cluster id) and the incident id.
    let mut esc = lifecycle(
        EventKind::Lifecycle(crate::event::LifecycleAction::Escalated),
        &id,
        Actor::Human,
        MIN,
    );
    esc.source_id = Some("Q3B15VLMF3ASBD".into());
    // A later sub-resource event names only the incident id.
    let mut ack = lifecycle(
        EventKind::Acknowledged,
        "Q3B15VLMF3ASBD",
        Actor::Human,
        2 * MIN,
    );
    ack.source_id = Some("Q3B15VLMF3ASBD".into());
    h.push(esc).push(ack).finish();
    assert_eq!(h.records()[0].acked_at, Some(EventTime(2 * MIN)));
    assert_eq!(h.e.stats().lifecycle_unlinked, 0);
}

#[test]
fn point_in_time_alerts_expire_unless_sent_again() {
    let mut h = H::new();
    let with_end = |t: i64| {
        let mut e = fire("OOMKilled", Severity::Error, t);
        e.ends_at = Some(EventTime(t + 5 * MIN));
        e
    };
    // Sent again at +3 min: the expiry moves to +8 min.
    h.push(with_end(0))
        .push(with_end(3 * MIN))
        .advance_to(7 * MIN);
    assert!(h.records().is_empty());
    assert_eq!(h.e.stats().expired, 0);
    h.advance_to(8 * MIN);
    assert_eq!(h.e.stats().expired, 1);
    h.advance_to(13 * MIN);
    let r = h.records();
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].resolved_at, Some(EventTime(8 * MIN)));
    assert_eq!(r[0].resolved_by, Some(ResolvedBy::Auto));
    assert_eq!(r[0].closed_at, Some(EventTime(13 * MIN)));
    assert_eq!(h.pages().len(), 2, "trigger and resolve");
}
