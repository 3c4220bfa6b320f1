//! Engine tests in virtual time: a tiny harness pushes events and advances the watermark;
//! a 5-minute quiet period costs nothing.

use super::*;
use crate::config::Config;
use crate::event::{Annotations, DedupKey, GroupKey, Labels, SenderId, Severity, Str};
use crate::record::{Feature, PageAction, ResolvedBy};

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
    /// A person acknowledges the newest page (through PagerDuty, which names it by its
    /// dedup_key, our cluster id) at `t`.
    fn ack_newest_page(&mut self, t: i64) -> &mut Self {
        let id = self
            .pages()
            .last()
            .expect("a page to acknowledge")
            .dedup_key
            .0
            .clone();
        self.push(lifecycle(EventKind::Acknowledged, &id, Actor::Human, t))
    }
    /// PagerDuty triggers sent so far (resolves not counted).
    fn triggers(&self) -> usize {
        self.pages()
            .iter()
            .filter(|p| p.event_action == PageAction::Trigger)
            .count()
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

/// An alert on its own service (`svc-<name>`), so tests correlate only when they mean to.
fn alert(name: &str, sev: Severity, kind: EventKind, t: i64) -> AlertEvent {
    alert_on(name, &format!("svc-{name}"), &[], sev, kind, t)
}

fn alert_on(
    name: &str,
    service: &str,
    extra: &[(&str, &str)],
    sev: Severity,
    kind: EventKind,
    t: i64,
) -> AlertEvent {
    let mut pairs: Vec<(&str, &str)> = vec![
        ("alertname", name),
        ("severity", sev.as_str()),
        ("service", service),
    ];
    pairs.extend_from_slice(extra);
    let labels = Labels::from_pairs(pairs);
    AlertEvent {
        source: Source::Alertmanager,
        kind,
        time: EventTime(t),
        fingerprint: labels.fingerprint(),
        source_id: None,
        dedup_key: None,
        alertname: Str::from(name),
        severity: sev,
        service: Some(service.into()),
        team: Some("payments".into()),
        annotations: Annotations {
            summary: Some(format!("{name} is bad")),
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

/// One outage on service `api`: error alerts of rules `names` firing a second apart (each
/// first passed to `sender`, which may set how its sender knows it), a human acknowledging
/// `ack_key` at 2 minutes, every alert resolving at 10, the cluster closed by 30.
fn acknowledged_outage(
    names: &[&str],
    ack_key: &str,
    sender: impl Fn(usize, &mut AlertEvent),
) -> H {
    let mut h = H::new();
    let ev = |name, kind, t| alert_on(name, "api", &[], Severity::Error, kind, t);
    for (i, name) in names.iter().enumerate() {
        let mut fire = ev(name, EventKind::Firing, i as i64 * 1000);
        sender(i, &mut fire);
        h.push(fire);
    }
    assert!(h.records().is_empty(), "nothing closed while it fires");
    h.push(lifecycle(
        EventKind::Acknowledged,
        ack_key,
        Actor::Human,
        2 * MIN,
    ));
    for name in names {
        h.push(ev(name, EventKind::Resolved, 10 * MIN));
    }
    h.advance_to(30 * MIN);
    h
}

/// The outcomes the rule `name` at `sev` has counted as acted on.
fn actioned(h: &H, name: &str, sev: Severity) -> f64 {
    h.e.st
        .rules
        .get(RuleKey::of(name, sev))
        .expect("the rule has statistics")
        .outcomes
        .actioned
}

/// The value a record's `reasons` give `feature`.
fn reason(r: &ClusterRecord, feature: Feature) -> f64 {
    r.reasons
        .iter()
        .find(|x| x.feature == feature)
        .expect("every record carries every feature")
        .value
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
        sender: None,
        group: None,
        listed: None,
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
    h.advance_to(15 * MIN);
    assert!(
        h.records().is_empty(),
        "quiet period over, but within the allowed lateness"
    );
    h.advance_to(16 * MIN);
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
    // Critical, so that it pages at once (no hold) and the refire has a page to fold into.
    h.push(fire("Flappy", Severity::Critical, 0))
        .push(resolve("Flappy", Severity::Critical, MIN))
        .advance_to(2 * MIN)
        .push(fire("Flappy", Severity::Critical, 3 * MIN))
        .push(resolve("Flappy", Severity::Critical, 4 * MIN))
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
    // Acknowledged, so that what it teaches keeps the second one paging too.
    h.push(fire("X", Severity::Critical, 0))
        .ack_newest_page(MIN / 2)
        .push(resolve("X", Severity::Critical, MIN))
        .advance_to(10 * MIN)
        .push(fire("X", Severity::Critical, 20 * MIN))
        .finish();
    let r = h.records();
    assert_eq!(r.len(), 2);
    assert_ne!(r[0].cluster_id, r[1].cluster_id);
    assert_eq!(r[1].closed_at, None, "still open at end of input");
    assert_eq!(h.triggers(), 2);
}

#[test]
fn score_decides_page_ticket_suppress_with_reasons() {
    let mut h = H::new();
    h.push(fire("Warn", Severity::Warning, 0))
        .push(fire("Inform", Severity::Info, 0))
        .push(fire("Err", Severity::Error, 0))
        // Past the 2-minute hold of a new warning rule (and any hold an error may be given).
        .advance_to(3 * MIN)
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
            ("Err".into(), Decision::Page),
            ("Inform".into(), Decision::Suppress),
            ("Warn".into(), Decision::Ticket)
        ]
    );
    assert_eq!(h.pages().len(), 1);
    for r in h.records() {
        assert_eq!(r.reasons.len(), 7, "every feature explained");
        let logit: f64 = h.e.cfg.score.bias + r.reasons.iter().map(|x| x.contribution).sum::<f64>();
        let s = 1.0 / (1.0 + (-logit).exp());
        assert!(
            (s - r.score).abs() < 1e-3,
            "score {} vs reasons {s}",
            r.score
        );
    }
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

/// Where Alertmanager pages PagerDuty itself (noisegate trialled beside it), its incident
/// is keyed by the notification group: the acknowledgement names the group's key, and finds
/// the cluster of the group's alerts. Another group's key finds nothing.
#[test]
fn an_ack_naming_an_alertmanager_group_links_to_that_groups_alerts() {
    // The digests as Alertmanager's PagerDuty integration sends them (Python's hashlib).
    let group = r#"{}:{alertname="DiskFull"}"#;
    let group_pd_key = "17c4e445d234645c9e547ff6d32a864af0ebdadcd1902771c24c8d366637ff41";
    let other_pd_key = "90d1a92d5602d22a4a7ffa93e6ee82f6c5681a9723aaca4c76a06a2f346424f2";
    let mut h = H::new();
    let mut ev = fire("DiskFull", Severity::Warning, 0);
    ev.group = Some(GroupKey::of(group));
    h.push(ev)
        .push(lifecycle(
            EventKind::Acknowledged,
            other_pd_key,
            Actor::Human,
            MIN,
        ))
        .push(lifecycle(
            EventKind::Acknowledged,
            group_pd_key,
            Actor::Human,
            2 * MIN,
        ))
        .push(resolve("DiskFull", Severity::Warning, 5 * MIN))
        .advance_to(30 * MIN);
    assert!(h.pages().is_empty(), "a new rule's warning does not page");
    let r = h.records();
    assert_eq!(r[0].acked_at, Some(EventTime(2 * MIN)));
    assert_eq!(h.e.stats().lifecycle_linked, 1);
    assert_eq!(h.e.stats().lifecycle_unlinked, 1);
    assert_eq!(
        actioned(&h, "DiskFull", Severity::Warning),
        1.0,
        "people act on it"
    );
}

#[test]
fn resolve_first_is_recorded_never_paged() {
    let mut h = H::new();
    h.push(resolve("Gone", Severity::Critical, 0))
        .advance_to(10 * MIN);
    assert!(h.pages().is_empty());
    let r = h.records();
    assert_eq!(r.len(), 1);
    assert_ne!(r[0].decision, Decision::Page);
}

#[test]
fn watermark_never_goes_back_and_is_idempotent() {
    let mut h = H::new();
    h.push(fire("A", Severity::Critical, 0))
        .push(resolve("A", Severity::Critical, MIN))
        .advance_to(7 * MIN)
        .advance_to(7 * MIN)
        .advance_to(2 * MIN);
    assert_eq!(h.records().len(), 1);
    assert_eq!(h.e.now(), EventTime(7 * MIN));
    assert_eq!(h.e.watermark(), EventTime(6 * MIN));
    assert_eq!(h.e.poll_timeout(), None);
}

#[test]
fn cap_sheds_least_recent_clusters_but_keeps_their_records() {
    let mut h = H::with(|c| {
        c.max_active_alerts = 10;
        c.correlation.text_similarity = 1.0;
    });
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
    h.advance_to(14 * MIN);
    let r = h.records();
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].resolved_at, Some(EventTime(8 * MIN)));
    assert_eq!(r[0].resolved_by, Some(ResolvedBy::Auto));
    assert_eq!(r[0].closed_at, Some(EventTime(13 * MIN)));
    assert_eq!(h.pages().len(), 2, "trigger and resolve");
}

#[test]
fn a_prometheus_alert_resolves_at_the_end_it_was_last_sent_with() {
    // Prometheus re-sends a firing alert with `endsAt` ahead of it and, once it resolved,
    // with the resolve time: an earlier end that must win, where a log record's would not.
    let mut h = H::new();
    let sent = |ends: i64| {
        let mut e = fire("DatabaseDown", Severity::Critical, 0);
        e.source = Source::Prometheus;
        e.ends_at = Some(EventTime(ends));
        e
    };
    h.push(sent(4 * MIN))
        .push(sent(5 * MIN))
        .push(sent(2 * MIN))
        .advance_to(3 * MIN);
    assert_eq!(h.e.stats().expired, 1, "resolved at +2 min, not +5");
    h.advance_to(20 * MIN);
    let r = h.records();
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].resolved_at, Some(EventTime(2 * MIN)));
    assert_eq!(r[0].resolved_by, Some(ResolvedBy::Auto));
}

// ---- delivery out of order, resolves never sent -------------------------------------------

#[test]
fn a_firing_delivered_after_its_episodes_resolve_changes_nothing() {
    // A retried notification (or another partition's copy) of the firing, delivered after
    // the resolve: taken as a re-fire, it would leave the alert firing for good.
    let mut h = H::new();
    h.push(fire("DiskFull", Severity::Critical, 0))
        .push(resolve("DiskFull", Severity::Critical, 5 * MIN))
        .push(fire("DiskFull", Severity::Critical, 0))
        .advance_to(20 * MIN);
    assert_eq!(h.e.stats().stale_events, 1);
    assert_eq!(h.e.active_alerts(), 0);
    let r = h.records();
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].resolved_at, Some(EventTime(5 * MIN)));
    assert_eq!(r[0].alerts[0].flaps, 0);
    assert_eq!(h.triggers(), 1);
    assert_eq!(h.pages().len(), 2, "trigger and resolve");
}

#[test]
fn a_firing_delivered_after_its_resolve_and_its_clusters_close_opens_nothing() {
    // Delivered ten minutes late, after its cluster closed: it would open a cluster that
    // nothing ever resolves (its resolve was already used).
    let mut h = H::new();
    h.push(fire("DiskFull", Severity::Critical, 0))
        .push(resolve("DiskFull", Severity::Critical, 2 * MIN))
        .advance_to(12 * MIN);
    assert_eq!(h.records().len(), 1, "closed");
    h.push(fire("DiskFull", Severity::Critical, MIN))
        .advance_to(60 * MIN);
    assert_eq!(h.e.stats().stale_events, 1);
    assert_eq!(h.e.active_alerts(), 0);
    assert_eq!(h.e.stats().clusters_opened, 1);
    // A firing stamped after the resolve is a new episode, however late it comes.
    h.push(fire("DiskFull", Severity::Critical, 3 * MIN));
    assert_eq!(h.e.stats().clusters_opened, 2);
}

#[test]
fn a_resolve_of_an_earlier_episode_delivered_late_leaves_the_new_one_firing() {
    let mut h = H::new();
    h.push(fire("DiskFull", Severity::Critical, 0))
        .push(resolve("DiskFull", Severity::Critical, 2 * MIN))
        .push(fire("DiskFull", Severity::Critical, 10 * MIN))
        // The first episode's resolve again, a retry delivered late.
        .push(resolve("DiskFull", Severity::Critical, 2 * MIN))
        .advance_to(40 * MIN);
    assert_eq!(h.e.stats().stale_events, 1);
    assert_eq!(h.e.active_alerts(), 1, "the second episode still fires");
    assert_eq!(
        h.records().len(),
        1,
        "only the first episode's cluster closed"
    );
    assert_eq!(h.e.stats().clusters_opened, 2);
}

/// The alert `DiskFull` as Alertmanager re-sends it: `startsAt` is its episode's start,
/// whenever the notification is sent (`sent`, which moves the engine's clock).
fn resent(h: &mut H, starts: i64, sent: i64) {
    h.advance_to(sent);
    h.push(fire("DiskFull", Severity::Critical, starts));
}

#[test]
fn an_alert_back_with_a_later_start_after_a_long_silence_ended_its_episode_unreported() {
    // A receiver with send_resolved: false: the episode that began at 0 was last sent at
    // +1 h; six hours later the alert is sent with a new start. It must not still be the
    // cluster of six hours ago.
    let mut h = H::new();
    resent(&mut h, 0, 0);
    resent(&mut h, 0, 60 * MIN);
    resent(&mut h, 360 * MIN, 360 * MIN);
    h.advance_to(400 * MIN);
    assert_eq!(h.e.stats().unreported_resolves, 1);
    let r = h.records();
    assert_eq!(r.len(), 1, "the first episode's cluster closed");
    assert_eq!(
        r[0].resolved_at,
        Some(EventTime(60 * MIN)),
        "when last heard"
    );
    assert_eq!(r[0].resolved_by, Some(ResolvedBy::Auto));
    assert_eq!(
        h.e.stats().clusters_opened,
        2,
        "the new episode is a new incident"
    );
    assert_eq!(h.e.active_alerts(), 1);
    // How long the episode lasted is unknown: no hold is learned from it.
    let rule =
        h.e.st
            .rules
            .get(RuleKey::of("DiskFull", Severity::Critical))
            .expect("the rule has statistics");
    assert_eq!(rule.episodes, 0, "{rule:?}");
}

#[test]
fn a_later_start_within_the_resend_interval_is_still_the_same_incident() {
    // Resolved and fired again between two notifications (Alertmanager then sends only the
    // firing one): the gap is at most a group interval, so nothing says it is a new incident.
    let mut h = H::new();
    resent(&mut h, 0, 0);
    resent(&mut h, 0, 5 * MIN);
    resent(&mut h, 8 * MIN, 10 * MIN);
    h.advance_to(30 * MIN);
    assert_eq!(h.e.stats().unreported_resolves, 0);
    assert!(h.records().is_empty());
    assert_eq!(h.e.stats().clusters_opened, 1);
    assert_eq!(h.triggers(), 1);
}

#[test]
fn a_delayed_copy_of_an_earlier_notification_is_no_news_of_the_current_episode() {
    let mut h = H::with(|c| c.max_resend_interval_ms = 60 * MIN);
    resent(&mut h, 0, 0);
    resent(&mut h, 0, 10 * MIN);
    // The episode that began at 0 ended unreported; a new one began at +2 h.
    resent(&mut h, 120 * MIN, 120 * MIN);
    assert_eq!(h.e.stats().unreported_resolves, 1);
    // A copy of the +10 min notification arrives at +3 h: the new episode was not heard.
    resent(&mut h, 0, 180 * MIN);
    // Sent again with yet another start at +3 h 30: more than an hour after +2 h.
    resent(&mut h, 210 * MIN, 210 * MIN);
    assert_eq!(h.e.stats().unreported_resolves, 2);
}

/// The clock runs from `from` to `to` in one-minute steps (other traffic, not this alert).
fn clock_runs(h: &mut H, from: i64, to: i64) {
    let mut t = from;
    while t < to {
        t = (t + MIN).min(to);
        h.advance_to(t);
    }
}

const RESEND: i64 = 245 * MIN;

#[test]
fn an_alert_its_sender_stopped_sending_is_over_as_of_when_last_heard() {
    // A receiver with send_resolved: false, and the alert never comes back: sent at 0 and
    // at +1 h, then nothing while the clock runs on. Its sender would have sent it again
    // within the resend interval (4 h 5 min) if it still fired.
    let mut h = H::new();
    resent(&mut h, 0, 0);
    resent(&mut h, 0, 60 * MIN);
    clock_runs(&mut h, 60 * MIN, 60 * MIN + RESEND - MIN);
    assert_eq!(h.e.stats().unreported_resolves, 0, "not yet: {}", h.e.now());
    assert!(h.records().is_empty());
    clock_runs(
        &mut h,
        60 * MIN + RESEND - MIN,
        60 * MIN + RESEND + 10 * MIN,
    );
    assert_eq!(h.e.stats().unreported_resolves, 1);
    let r = h.records();
    assert_eq!(r.len(), 1, "its cluster closed, so its record is written");
    assert_eq!(
        r[0].resolved_at,
        Some(EventTime(60 * MIN)),
        "when last heard"
    );
    assert_eq!(r[0].resolved_by, Some(ResolvedBy::Auto));
    assert_eq!(h.e.active_alerts(), 0, "its memory is freed");
    let rule =
        h.e.st
            .rules
            .get(RuleKey::of("DiskFull", Severity::Critical))
            .expect("the rule has statistics");
    assert_eq!(rule.episodes, 0, "its length is unknown: no hold learned");
    assert_eq!(h.e.resend_interval_ms(), RESEND, "nothing learned yet");
}

#[test]
fn an_alert_sent_again_after_its_silence_was_judged_still_fires_and_the_silence_grows() {
    // kube-prometheus' Alertmanager repeats every 12 hours, not 4: a standing alert is judged
    // over after 4 h 5 min, then sent again, with its episode's start, at 12 h. It never
    // stopped firing: it is revived, and from then on silence is judged by the gap seen, so
    // the next 12-hour gaps end nothing.
    let mut h = H::new();
    resent(&mut h, 0, 0);
    clock_runs(&mut h, 0, 12 * 60 * MIN);
    assert_eq!(
        h.e.stats().unreported_resolves,
        1,
        "judged over at 4 h 5 min"
    );
    assert_eq!(h.e.active_alerts(), 0);
    let pages = h.triggers();
    resent(&mut h, 0, 12 * 60 * MIN);
    assert_eq!(h.e.stats().resent_after_unheard, 1);
    assert_eq!(h.e.active_alerts(), 1, "firing again: it never stopped");
    assert!(
        h.e.resend_interval_ms() >= 12 * 60 * MIN,
        "{}",
        h.e.resend_interval_ms()
    );
    // (Whether it pages again is the score's: nobody acknowledged its first page.)
    let opened = h.e.stats().clusters_opened;
    assert_eq!(opened, 2, "its cluster closed when it was judged over");
    let mut t = 12 * 60 * MIN;
    for _ in 0..4 {
        clock_runs(&mut h, t, t + 12 * 60 * MIN);
        t += 12 * 60 * MIN;
        resent(&mut h, 0, t);
    }
    assert_eq!(h.e.stats().unreported_resolves, 1, "no second mistake");
    assert_eq!(h.e.active_alerts(), 1);
    assert_eq!(h.e.stats().clusters_opened, opened, "nor a cluster more");
    assert!(h.triggers() <= pages + 1, "nor a page more");
    // Once its sender stops, it is over after the learned interval.
    clock_runs(&mut h, t, t + 13 * 60 * MIN);
    assert_eq!(h.e.stats().unreported_resolves, 2);
    assert_eq!(h.e.active_alerts(), 0);
    let ids: Vec<_> = h.records().iter().map(|r| r.cluster_id.clone()).collect();
    assert_eq!(ids.len(), 2);
    assert_ne!(ids[0], ids[1], "the revived cluster has an id of its own");
    // Restored from a snapshot, the engine keeps what it learned.
    let bytes = h.e.snapshot().expect("snapshot");
    let e = Engine::restore(h.e.cfg.clone(), &bytes).expect("restore");
    assert_eq!(e.resend_interval_ms(), h.e.resend_interval_ms());
}

/// An Alertmanager notification's alert through receiver `receiver`.
fn via(receiver: &str, mut ev: AlertEvent) -> AlertEvent {
    ev.sender = Some(SenderId::of(ev.source, receiver, "https://am.example"));
    ev
}

#[test]
fn a_receiver_that_sends_resolves_is_not_taken_for_over_by_its_silence() {
    // kube-prometheus again (12 h repeats), but the receiver has `send_resolved: true`, the
    // default: once it has been heard sending a resolve, its silence means "no change". A
    // standing alert of it is never ended between re-sends, from its first 12 hours on, and
    // pages once. Another receiver that has sent no resolve is still judged at 4 h 5 min.
    let mut h = H::new();
    h.push(via("pd", fire("Blip", Severity::Warning, 0)));
    h.push(via("pd", resolve("Blip", Severity::Warning, MIN)));
    assert_eq!(h.e.resolving_senders(), 1);
    h.advance_to(2 * MIN);
    h.push(via("pd", fire("DiskFull", Severity::Critical, 2 * MIN)));
    h.push(via("quiet", fire("Down", Severity::Critical, 2 * MIN)));
    let mut t = 2 * MIN;
    for _ in 0..4 {
        clock_runs(&mut h, t, t + 12 * 60 * MIN);
        t += 12 * 60 * MIN;
        h.push(via("pd", fire("DiskFull", Severity::Critical, 2 * MIN)));
    }
    assert_eq!(
        h.e.stats().unreported_resolves,
        1,
        "only the other receiver's alert, judged at 4 h 5 min"
    );
    assert_eq!(h.e.stats().resent_after_unheard, 0, "nothing to revive");
    assert_eq!(h.e.active_alerts(), 1, "the standing alert fires on");
    let disk_pages = h
        .pages()
        .iter()
        .filter(|p| {
            p.payload
                .as_ref()
                .is_some_and(|x| x.summary.contains("DiskFull"))
        })
        .count();
    assert_eq!(disk_pages, 1);
    // Its resolve, when it comes, ends it as any resolve does.
    h.push(via("pd", resolve("DiskFull", Severity::Critical, t + MIN)));
    clock_runs(&mut h, t + MIN, t + 30 * MIN);
    assert_eq!(h.e.active_alerts(), 0);
    assert_eq!(h.e.stats().unreported_resolves, 1);
    // Survives a restart.
    let bytes = h.e.snapshot().expect("snapshot");
    let e = Engine::restore(h.e.cfg.clone(), &bytes).expect("restore");
    assert_eq!(e.resolving_senders(), 1);
}

#[test]
fn a_receiver_that_sends_resolves_still_ends_an_alert_unheard_for_longer_than_any_sender_waits() {
    // A lost resolve: the alert is never sent again. It is over once unheard for longer than
    // any Alertmanager goes between re-sends (its notification log's 120 h, plus 5 min).
    let mut h = H::new();
    h.push(via("pd", fire("Blip", Severity::Warning, 0)));
    h.push(via("pd", resolve("Blip", Severity::Warning, MIN)));
    h.push(via("pd", fire("DiskFull", Severity::Critical, 2 * MIN)));
    let longest = resend::MAX_LEARNED_MS;
    let mut t = 2 * MIN;
    while t < 2 * MIN + longest - 10 * MIN {
        clock_runs(&mut h, t, t + 60 * MIN);
        t += 60 * MIN;
    }
    assert_eq!(h.e.stats().unreported_resolves, 0, "not yet at {t}");
    clock_runs(&mut h, t, 2 * MIN + longest + 10 * MIN);
    assert_eq!(h.e.stats().unreported_resolves, 1);
    assert_eq!(h.e.active_alerts(), 0);
}

#[test]
fn an_alert_revived_in_its_open_cluster_goes_on_as_the_same_episode() {
    // Two disks of one service in one cluster; the second is re-sent every hour and keeps
    // the cluster open. The first is sent once, judged over after 4 h 5 min, and re-sent
    // with its start at 12 h: revived where it was, as the episode it never left.
    let mut h = H::new();
    let disk = |instance: &str, starts: i64| {
        alert_on(
            "DiskFull",
            "db",
            &[("instance", instance)],
            Severity::Critical,
            EventKind::Firing,
            starts,
        )
    };
    h.push(disk("a", 0));
    h.push(disk("b", 0));
    assert_eq!(h.e.stats().clusters_opened, 1);
    let mut t = 0;
    while t < 12 * 60 * MIN {
        clock_runs(&mut h, t, t + 60 * MIN);
        t += 60 * MIN;
        h.push(disk("b", 0));
    }
    assert_eq!(
        h.e.stats().unreported_resolves,
        1,
        "the first disk, judged over"
    );
    h.push(disk("a", 0));
    assert_eq!(h.e.stats().resent_after_unheard, 1);
    assert_eq!(h.e.stats().stale_events, 0, "not taken for a stale copy");
    assert_eq!(h.e.stats().refires, 0, "nor for a flap");
    assert_eq!(h.e.stats().clusters_opened, 1, "in the cluster it was in");
    assert_eq!(h.e.active_alerts(), 2);
    h.e.finish();
    h.drain();
    let r = h.records();
    assert_eq!(r.len(), 1);
    assert!(
        r[0].alerts.iter().all(|a| a.flaps == 0),
        "{:?}",
        r[0].alerts
    );
}

#[test]
fn an_alert_sent_again_within_the_resend_interval_stays_firing() {
    // Re-sent every 4 hours (Alertmanager's repeat_interval) for a day, the clock running.
    let mut h = H::new();
    let mut t = 0;
    resent(&mut h, 0, 0);
    while t < 24 * 60 * MIN {
        clock_runs(&mut h, t, t + 240 * MIN);
        t += 240 * MIN;
        resent(&mut h, 0, t);
    }
    clock_runs(&mut h, t, t + 4 * 60 * MIN);
    assert_eq!(h.e.stats().unreported_resolves, 0);
    assert_eq!(h.e.active_alerts(), 1);
    assert!(h.records().is_empty());
    assert_eq!(h.triggers(), 1);
}

#[test]
fn re_sends_heard_while_the_clock_stood_still_keep_an_alert_alive() {
    // A capture of standing alerts overnight: re-sends carry the alert's start, so nothing
    // moves the clock until the morning's first new alert, ten hours on. The night was not
    // observed: the alert was heard at the old clock, and is not taken as over.
    let mut h = H::new();
    resent(&mut h, 0, 0);
    for _ in 0..3 {
        h.push(fire("DiskFull", Severity::Critical, 0));
    }
    h.push(fire("NodeDown", Severity::Critical, 600 * MIN));
    clock_runs(&mut h, 600 * MIN, 600 * MIN + 3 * 60 * MIN);
    assert_eq!(h.e.stats().unreported_resolves, 0);
    assert_eq!(h.e.active_alerts(), 2);
    // Silent from then on, it is over after the resend interval of observed time.
    clock_runs(&mut h, 780 * MIN, 600 * MIN + RESEND + 5 * MIN);
    assert_eq!(
        h.e.stats().unreported_resolves,
        2,
        "both alerts, unheard since"
    );
}

#[test]
fn a_zero_resend_interval_never_ends_an_episode_unheard() {
    let mut h = H::with(|c| c.max_resend_interval_ms = 0);
    resent(&mut h, 0, 0);
    clock_runs(&mut h, 0, 24 * 60 * MIN);
    resent(&mut h, 20 * 60 * MIN, 24 * 60 * MIN);
    assert_eq!(h.e.stats().unreported_resolves, 0);
    assert_eq!(h.e.active_alerts(), 1);
    assert!(h.records().is_empty());
}

// ---- correlation ---------------------------------------------------------------------------

fn topo_cfg(c: &mut EngineConfig) {
    let mut deps = std::collections::BTreeMap::new();
    deps.insert("api".to_string(), vec!["postgres".to_string()]);
    deps.insert("frontend".to_string(), vec!["api".to_string()]);
    deps.insert("search".to_string(), vec!["elastic".to_string()]);
    c.correlation.topology = crate::config::Topology::build(&deps, 1);
}

#[test]
fn same_rule_on_many_pods_is_one_cluster_one_page() {
    let mut h = H::new();
    for i in 0..50 {
        let pod = format!("api-{i}");
        h.push(alert_on(
            "KubePodCrashLooping",
            "api",
            &[("pod", &pod)],
            Severity::Critical,
            EventKind::Firing,
            i * 1000,
        ));
    }
    h.finish();
    assert_eq!(h.records().len(), 1);
    assert_eq!(h.records()[0].alerts.len(), 50);
    assert_eq!(h.pages().len(), 1, "page first, fold later");
    assert_eq!(h.e.stats().correlated, 49);
}

#[test]
fn topology_neighbours_join_within_the_window_only() {
    // (Late symptoms of a failure still firing are a separate test.)
    let mut h = H::with(|c| {
        topo_cfg(c);
        c.correlation.late_symptom_window_ms = 0;
    });
    h.push(alert_on(
        "PostgresDown",
        "postgres",
        &[],
        Severity::Critical,
        EventKind::Firing,
        0,
    ))
    .push(alert_on(
        "ApiErrors",
        "api",
        &[],
        Severity::Error,
        EventKind::Firing,
        2 * MIN,
    ))
    // frontend is two hops from postgres but one from api, which is now in the cluster.
    .push(alert_on(
        "FrontendSlow",
        "frontend",
        &[],
        Severity::Warning,
        EventKind::Firing,
        4 * MIN,
    ))
    // Unrelated service: its own cluster.
    .push(alert_on(
        "SearchDown",
        "search",
        &[],
        Severity::Critical,
        EventKind::Firing,
        5 * MIN,
    ))
    // A neighbour, but 11 minutes after the last join: a new cluster.
    .push(alert_on(
        "ApiLatency",
        "api",
        &[],
        Severity::Error,
        EventKind::Firing,
        15 * MIN + 1,
    ))
    .finish();
    let r = h.records();
    assert_eq!(r.len(), 3);
    let sizes: Vec<usize> = r.iter().map(|c| c.alerts.len()).collect();
    assert_eq!(sizes, vec![3, 1, 1]);
    assert_eq!(r[0].services, vec!["api", "frontend", "postgres"]);
}

/// An alert with no service label: only text can link it.
fn serviceless(name: &str, instance: &str, summary: &str, t: i64) -> AlertEvent {
    let labels = Labels::from_pairs([
        ("alertname", name),
        ("instance", instance),
        ("mountpoint", "/data"),
    ]);
    AlertEvent {
        source: Source::Alertmanager,
        kind: EventKind::Firing,
        time: EventTime(t),
        fingerprint: labels.fingerprint(),
        source_id: None,
        dedup_key: None,
        alertname: Str::from(name),
        severity: Severity::Warning,
        service: None,
        team: None,
        annotations: Annotations {
            summary: Some(summary.into()),
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

#[test]
fn text_similarity_links_alerts_without_shared_labels() {
    let mut h = H::new();
    h.push(serviceless(
        "NodeFilesystemAlmostFull",
        "10.0.0.1:9100",
        "Filesystem on /data is 91% full",
        0,
    ))
    .push(serviceless(
        "NodeFilesystemAlmostFull",
        "10.0.7.3:9100",
        "Filesystem on /data is 97% full",
        MIN,
    ))
    .push(serviceless(
        "NodeClockSkewDetected",
        "10.0.0.9:9100",
        "Clock skew detected on node",
        2 * MIN,
    ))
    .finish();
    let sizes: Vec<usize> = h.records().iter().map(|r| r.alerts.len()).collect();
    assert_eq!(
        sizes,
        vec![2, 1],
        "same text once numbers are stripped; different text apart"
    );
    let mut h = H::with(|c| c.correlation.text_similarity = 1.0);
    h.push(serviceless(
        "NodeFilesystemAlmostFull",
        "10.0.0.1:9100",
        "Filesystem on /data is 91% full",
        0,
    ))
    .push(serviceless(
        "NodeFilesystemAlmostFull",
        "10.0.7.3:9100",
        "Filesystem on /data is 97% full",
        MIN,
    ))
    .finish();
    assert_eq!(h.records().len(), 2, "text links off");
}

#[test]
fn an_alert_linking_two_clusters_merges_them() {
    let mut h = H::with(|c| {
        topo_cfg(c);
        c.correlation.text_similarity = 1.0;
    });
    h.push(alert_on(
        "PostgresDown",
        "postgres",
        &[],
        Severity::Error,
        EventKind::Firing,
        0,
    ))
    .push(alert_on(
        "FrontendSlow",
        "frontend",
        &[],
        Severity::Warning,
        EventKind::Firing,
        MIN,
    ))
    // api neighbours both postgres and frontend, and fails loudly: it links to both.
    .push(alert_on(
        "ApiErrors",
        "api",
        &[],
        Severity::Error,
        EventKind::Firing,
        2 * MIN,
    ))
    .finish();
    let r = h.records();
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].alerts.len(), 3);
    assert_eq!(h.e.stats().merges, 1);
    assert_eq!(r[0].opened_at, EventTime(0));
}

#[test]
fn clusters_have_a_size_cap() {
    let mut h = H::with(|c| c.correlation.max_alerts_per_cluster = 10);
    for i in 0..25 {
        let pod = format!("p{i}");
        h.push(alert_on(
            "Crash",
            "api",
            &[("pod", &pod)],
            Severity::Warning,
            EventKind::Firing,
            i * 1000,
        ));
    }
    h.finish();
    let sizes: Vec<usize> = h.records().iter().map(|r| r.alerts.len()).collect();
    assert_eq!(sizes, vec![10, 10, 5]);
}

// ---- flapping and holds --------------------------------------------------------------------

#[test]
fn a_flapping_alert_does_not_page_on_each_transition() {
    let mut h = H::new();
    // Fires for a minute every 7 minutes: each episode outlives the 5-minute quiet period, so
    // without hysteresis each would be a new cluster and a new page.
    for i in 0..8 {
        let t = i * 7 * MIN;
        h.push(fire("Flaky", Severity::Error, t))
            .push(resolve("Flaky", Severity::Error, t + MIN));
    }
    h.advance_to(200 * MIN);
    let triggers = h.pages().iter().filter(|p| p.payload.is_some()).count();
    assert!(triggers <= 3, "{triggers} pages for one flapping alert");
    let last = h.records().last().cloned().unwrap();
    let flap = last
        .reasons
        .iter()
        .find(|r| r.feature == crate::record::Feature::Flapping)
        .unwrap();
    assert_eq!(flap.value, 1.0, "the record says it was flapping");
    assert!(h.e.stats().flapping_transitions > 0);
}

#[test]
fn a_flapping_alert_is_one_cluster_until_it_has_been_quiet() {
    let mut h = H::new();
    // Fires for a minute every 7 minutes, twelve times. Each gap (6 min) outlasts the 5-minute
    // close quiet period, so the first two episodes close clusters of their own; from the third
    // fire on the alert has made more than 4 changes within the hour (resolve 1, fire 7,
    // resolve 8, fire 14, resolve 15) and is flapping, which holds its cluster open for the
    // 30-minute flap quiet period: episodes 3..=12 are one cluster, one record.
    for i in 0..12 {
        let t = i * 7 * MIN;
        h.push(fire("Flaky", Severity::Error, t))
            .push(resolve("Flaky", Severity::Error, t + MIN));
    }
    let last_resolve = 11 * 7 * MIN + MIN;
    h.advance_to(last_resolve + 30 * MIN);
    assert_eq!(
        h.records().len(),
        2,
        "still open within the flap quiet period"
    );
    h.advance_to(last_resolve + 31 * MIN); // past the allowed lateness
    let r = h.records();
    assert_eq!(r.len(), 3, "{r:#?}");
    let flapping = r[2];
    assert_eq!(flapping.opened_at, EventTime(14 * MIN));
    assert_eq!(flapping.resolved_at, Some(EventTime(last_resolve)));
    assert_eq!(flapping.closed_at, Some(EventTime(last_resolve + 30 * MIN)));
    assert_eq!(flapping.alerts.len(), 1);
    assert_eq!(flapping.alerts[0].flaps, 9, "episodes 4..=12 re-joined it");
    assert_eq!(reason(flapping, Feature::Flapping), 1.0);
    assert_eq!(reason(r[0], Feature::Flapping), 0.0);
    // What its rule learned is what twelve clusters of their own would have taught: each
    // episode ended by itself, unacknowledged (two closed clusters, nine episodes ended
    // inside the held one, and its close).
    let rule =
        h.e.st
            .rules
            .get(RuleKey::of("Flaky", Severity::Error))
            .unwrap();
    assert_eq!(rule.outcomes.not_actioned, 12.0);
    assert_eq!(rule.outcomes.actioned, 0.0);
    // The same alert flapping again after its quiet period is a new problem.
    h.push(fire("Flaky", Severity::Error, last_resolve + 40 * MIN))
        .finish();
    assert_eq!(h.records().len(), 4);
}

#[test]
fn a_flapping_alert_does_not_hold_open_an_incident_that_is_over() {
    let mut h = H::new();
    let flaky = |kind, t| alert_on("Flaky", "svc-x", &[], Severity::Error, kind, t);
    let down = |kind, t| alert_on("Down", "svc-x", &[], Severity::Critical, kind, t);
    // Flapping from its third episode on (as above); a critical outage on the same service
    // joins its cluster at 14.5 min and is over at 16.
    for i in 0..12 {
        let t = i * 7 * MIN;
        h.push(flaky(EventKind::Firing, t))
            .push(flaky(EventKind::Resolved, t + MIN));
        if i == 2 {
            h.push(down(EventKind::Firing, t + MIN / 2))
                .push(down(EventKind::Resolved, t + 2 * MIN));
        }
    }
    h.advance_to(200 * MIN);
    let r = h.records();
    let outage = r
        .iter()
        .find(|r| r.alerts.iter().any(|a| a.alertname == "Down"))
        .unwrap();
    assert_eq!(
        outage.alerts.len(),
        2,
        "it joined the flapping alert's cluster"
    );
    assert_eq!(
        outage.closed_at,
        Some(EventTime(21 * MIN)),
        "closed the usual quiet period after its last resolve, not held by the flap"
    );
    // The flapping alert's later episodes are one cluster of their own.
    assert_eq!(r.len(), 4, "{r:#?}");
    assert_eq!(r[3].alerts[0].flaps, 8);
}

#[test]
fn warnings_are_held_and_transients_never_page() {
    let mut h = H::with(|c| c.score.bias = -2.5); // make a lone warning page-worthy
                                                  // Resolves after 1 minute: within its 2-minute hold.
    h.push(fire("Blip", Severity::Warning, 0))
        .push(resolve("Blip", Severity::Warning, MIN))
        .advance_to(10 * MIN);
    assert!(h.pages().is_empty());
    assert_eq!(h.e.stats().resolved_in_hold, 1);
    // Lasts: pages exactly when its hold ends.
    h.push(fire("Real", Severity::Warning, 20 * MIN))
        .advance_to(25 * MIN);
    let p = h.pages();
    assert_eq!(p.len(), 1);
    assert_eq!(
        p[0].payload.as_ref().unwrap().timestamp,
        EventTime(22 * MIN)
    );
    // The blip's record: never paged; recorded as transient.
    let blip = h.records()[0].clone();
    assert_ne!(blip.decision, Decision::Page);
    assert!(blip.paged_at.is_none());
    let tr = blip
        .reasons
        .iter()
        .find(|r| r.feature == crate::record::Feature::Transient)
        .unwrap();
    assert_eq!(tr.value, 1.0);
}

#[test]
fn holds_are_learned_per_rule() {
    let mut h = H::with(|c| c.score.bias = -2.5);
    // Ten 20-second blips of the same warning: history says it resolves by itself.
    for i in 0..10 {
        let t = i * 30 * MIN;
        h.push(fire("Blippy", Severity::Warning, t)).push(resolve(
            "Blippy",
            Severity::Warning,
            t + 20_000,
        ));
    }
    let rule =
        h.e.st
            .rules
            .get(RuleKey::of("Blippy", Severity::Warning))
            .unwrap()
            .clone();
    assert_eq!(rule.learned_hold(&h.e.cfg.hold), Some(30_000));
    // And a warning that never resolves quickly loses its default hold once learned.
    for i in 0..10 {
        let t = 400 * MIN + i * 30 * MIN;
        h.push(fire("Sticky", Severity::Warning, t)).push(resolve(
            "Sticky",
            Severity::Warning,
            t + 20 * MIN,
        ));
    }
    let rule =
        h.e.st
            .rules
            .get(RuleKey::of("Sticky", Severity::Warning))
            .unwrap()
            .clone();
    assert_eq!(rule.learned_hold(&h.e.cfg.hold), Some(0));
}

#[test]
fn acknowledged_rules_learn_a_higher_actionable_rate() {
    let mut h = H::new();
    for i in 0..6 {
        let t = i * 60 * MIN;
        let ev = fire("Needy", Severity::Warning, t);
        let fp = ev.fingerprint.to_string();
        h.push(ev)
            .push(lifecycle(
                EventKind::Acknowledged,
                &fp,
                Actor::Human,
                t + 5 * MIN,
            ))
            .push(resolve("Needy", Severity::Warning, t + 20 * MIN));
    }
    h.advance_to(1000 * MIN);
    let needy = RuleKey::of("Needy", Severity::Warning);
    let prior = h.e.cfg.score.prior;
    assert!(h.e.st.rules.actionable_rate(needy, None, prior) > 0.8);
    // Now a lone warning of that rule pages (after its hold), where a new rule would not.
    h.push(fire("Needy", Severity::Warning, 1100 * MIN))
        .push(fire("Unknown", Severity::Warning, 1100 * MIN))
        .advance_to(1110 * MIN);
    let triggers: Vec<_> = h
        .pages()
        .iter()
        .filter_map(|p| p.payload.as_ref())
        .map(|p| p.class.clone())
        .collect();
    assert!(triggers.contains(&Some("Needy".into())), "{triggers:?}");
    assert!(!triggers.contains(&Some("Unknown".into())), "{triggers:?}");
}

#[test]
fn snapshot_restore_continues_identically() {
    let events: Vec<AlertEvent> = (0..60)
        .flat_map(|i| {
            let name = ["Alpha", "Bravo", "Charlie"][i as usize % 3];
            let pod = format!("p{}", i % 5);
            let t = i * 90_000;
            let mut v = vec![alert_on(
                name,
                "api",
                &[("pod", &pod)],
                Severity::Error,
                EventKind::Firing,
                t,
            )];
            if i % 4 == 0 {
                v.push(alert_on(
                    name,
                    "api",
                    &[("pod", &pod)],
                    Severity::Error,
                    EventKind::Resolved,
                    t + 30_000,
                ));
            }
            v
        })
        .collect();
    let run_all = |cut: usize| {
        let cfg = Arc::new(Config::default().engine);
        let mut e = Engine::new(cfg.clone());
        let mut out = Vec::new();
        for (i, ev) in events.iter().enumerate() {
            if i == cut {
                let snap = e.snapshot().unwrap();
                e = Engine::restore(cfg.clone(), &snap).unwrap();
            }
            e.handle_event(ev);
            while let Some(o) = e.poll_output() {
                out.push(o);
            }
        }
        e.handle_watermark(EventTime(i64::MAX));
        e.finish();
        while let Some(o) = e.poll_output() {
            out.push(o);
        }
        out
    };
    let whole = run_all(usize::MAX);
    assert!(!whole.is_empty());
    for cut in [0, 1, 17, 40, 75] {
        assert_eq!(run_all(cut), whole, "cut at {cut}");
    }
}

#[test]
fn after_hours_follow_the_teams_timezone() {
    let mut h = H::with(|c| {
        c.hours.teams.insert(
            "payments".into(),
            crate::config::Hours {
                tz: chrono_tz::America::New_York,
                start_min: 9 * 60,
                end_min: 17 * 60,
                days: [true, true, true, true, true, false, false],
            },
        );
    });
    // Monday 2026-11-02 15:00 UTC = 10:00 in New York (EST): business hours.
    let t = EventTime::parse_rfc3339("2026-11-02T15:00:00Z")
        .unwrap()
        .as_millis();
    h.push(fire("Day", Severity::Error, t));
    // 23:00 UTC = 18:00 in New York: after hours.
    h.push(fire("Night", Severity::Error, t + 8 * 60 * MIN))
        .finish();
    let after: Vec<(String, f64)> = h
        .records()
        .iter()
        .map(|r| {
            let v = r
                .reasons
                .iter()
                .find(|x| x.feature == crate::record::Feature::AfterHours)
                .unwrap()
                .value;
            (r.alerts[0].alertname.clone(), v)
        })
        .collect();
    assert_eq!(after, vec![("Day".into(), 0.0), ("Night".into(), 1.0)]);
}

#[test]
fn neighbours_warnings_alone_do_not_snowball() {
    let mut h = H::with(|c| {
        topo_cfg(c);
        c.correlation.text_similarity = 1.0;
    });
    // Unrelated warnings on neighbouring services: no service is failing loudly.
    h.push(alert_on(
        "PostgresSlowQueries",
        "postgres",
        &[],
        Severity::Warning,
        EventKind::Firing,
        0,
    ))
    .push(alert_on(
        "ApiLatency",
        "api",
        &[],
        Severity::Warning,
        EventKind::Firing,
        MIN,
    ))
    .push(alert_on(
        "FrontendBundleSize",
        "frontend",
        &[],
        Severity::Warning,
        EventKind::Firing,
        2 * MIN,
    ))
    .finish();
    assert_eq!(h.records().len(), 3);
}

#[test]
fn two_fresh_pages_of_one_cascade_fold_into_one() {
    let mut h = H::with(|c| {
        topo_cfg(c);
        c.correlation.text_similarity = 1.0;
    });
    // postgres and frontend fail within seconds: not neighbours, two clusters, two pages.
    h.push(alert_on(
        "PostgresDown",
        "postgres",
        &[],
        Severity::Critical,
        EventKind::Firing,
        0,
    ))
    .push(alert_on(
        "FrontendDown",
        "frontend",
        &[],
        Severity::Critical,
        EventKind::Firing,
        1000,
    ));
    assert_eq!(h.pages().len(), 2);
    // api, between them, links both: the younger page is resolved, one incident remains.
    h.push(alert_on(
        "ApiDown",
        "api",
        &[],
        Severity::Critical,
        EventKind::Firing,
        5000,
    ))
    .finish();
    let pages = h.pages();
    assert_eq!(pages.len(), 3);
    assert_eq!(pages[2].event_action, PageAction::Resolve);
    assert_eq!(pages[2].dedup_key, pages[1].dedup_key);
    let r = h.records();
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].alerts.len(), 3);
    assert_eq!(r[0].cluster_id, pages[0].dedup_key);
    assert_eq!(r[0].folded_pages, 1);
    assert_eq!(h.e.stats().pages_folded, 1);
}

// ---- causal links, co-onset, learned rates --------------------------------------------------

#[test]
fn a_failing_dependency_links_what_depends_on_it_while_it_fails() {
    let mut h = H::with(topo_cfg);
    h.push(alert_on(
        "PostgresDown",
        "postgres",
        &[],
        Severity::Critical,
        EventKind::Firing,
        0,
    ))
    // Keep the cluster taking in alerts (a same-rule alert on another pod).
    .push(alert_on(
        "PostgresDown",
        "postgres",
        &[("pod", "pg-1")],
        Severity::Critical,
        EventKind::Firing,
        9 * MIN,
    ))
    // 18 minutes after postgres went down, its dependent starts crash-looping (a warning):
    // postgres is still down, so it explains the crash loop.
    .push(alert_on(
        "KubePodCrashLooping",
        "api",
        &[],
        Severity::Warning,
        EventKind::Firing,
        18 * MIN,
    ))
    .finish();
    let r = h.records();
    assert_eq!(
        r.len(),
        1,
        "{:?}",
        r.iter().map(|c| &c.services).collect::<Vec<_>>()
    );
    assert_eq!(r[0].services, vec!["api", "postgres"]);
}

#[test]
fn a_failing_caller_does_not_explain_its_dependencys_warnings() {
    let mut h = H::with(topo_cfg);
    // api (which depends on postgres) fails; a postgres warning is not its symptom.
    h.push(alert_on(
        "ApiErrors",
        "api",
        &[],
        Severity::Error,
        EventKind::Firing,
        0,
    ))
    .push(alert_on(
        "PostgresSlowQueries",
        "postgres",
        &[],
        Severity::Warning,
        EventKind::Firing,
        2 * MIN,
    ))
    // ... while a warning on what depends on api is.
    .push(alert_on(
        "FrontendSlow",
        "frontend",
        &[],
        Severity::Warning,
        EventKind::Firing,
        3 * MIN,
    ))
    .finish();
    let sizes: Vec<(usize, Vec<String>)> = h
        .records()
        .iter()
        .map(|c| (c.alerts.len(), c.services.clone()))
        .collect();
    assert_eq!(
        sizes,
        vec![
            (2, vec!["api".to_string(), "frontend".to_string()]),
            (1, vec!["postgres".to_string()])
        ]
    );
}

#[test]
fn a_loud_alert_links_only_to_neighbours_still_firing() {
    let mut h = H::with(topo_cfg);
    h.push(alert_on(
        "PostgresSlowQueries",
        "postgres",
        &[],
        Severity::Warning,
        EventKind::Firing,
        0,
    ))
    .push(alert_on(
        "PostgresSlowQueries",
        "postgres",
        &[],
        Severity::Warning,
        EventKind::Resolved,
        MIN,
    ))
    // A blip that already resolved explains nothing that starts later.
    .push(alert_on(
        "ApiErrors",
        "api",
        &[],
        Severity::Error,
        EventKind::Firing,
        3 * MIN,
    ))
    .finish();
    assert_eq!(h.records().len(), 2);
}

#[test]
fn same_service_alerts_with_the_same_onset_are_one_problem() {
    let crash = |t| {
        alert_on(
            "KubePodCrashLooping",
            "cart",
            &[("pod", "cart-1")],
            Severity::Warning,
            EventKind::Firing,
            t,
        )
    };
    let not_ready = |t| {
        alert_on(
            "KubePodNotReady",
            "cart",
            &[("pod", "cart-1")],
            Severity::Warning,
            EventKind::Firing,
            t,
        )
    };
    let mut h = H::new();
    h.push(crash(0)).push(not_ready(5_000)).finish();
    assert_eq!(h.records().len(), 1, "same minute: linked");
    let mut h = H::new();
    h.push(crash(0)).push(not_ready(5 * MIN)).finish();
    assert_eq!(
        h.records().len(),
        2,
        "two warnings minutes apart: not linked"
    );
    let mut h = H::with(|c| c.correlation.onset_window_ms = 0);
    h.push(crash(0)).push(not_ready(5_000)).finish();
    assert_eq!(h.records().len(), 2, "link off");
}

#[test]
fn a_rule_seen_only_in_acknowledged_outages_comes_to_page_alone() {
    const HOUR: i64 = 60 * MIN;
    // Three acknowledged outages on one service, each a crash-looping pod among nine other
    // rules: every rule gets a tenth of each outcome, so the crash-loop rule has 0.3 of an
    // outcome of evidence, all of it "acted on". Then a pod crash-loops alone.
    let lone_crash_loop = |strength: f64| {
        let mut h = H::with(|c| {
            c.score.prior.strength = strength;
            c.score.weights.after_hours = 0.0;
        });
        let on_cart = |name: &str, sev: Severity, kind: EventKind, t: i64| {
            alert_on(name, "cart", &[("pod", "cart-1")], sev, kind, t)
        };
        let rules = ["KubePodCrashLooping"]
            .into_iter()
            .map(|n| (n.to_string(), Severity::Warning))
            .chain((1..10).map(|i| (format!("Symptom{i}"), Severity::Error)))
            .collect::<Vec<_>>();
        for outage in 0..3 {
            let t = outage * 4 * HOUR;
            for (i, (name, sev)) in rules.iter().enumerate() {
                h.push(on_cart(name, *sev, EventKind::Firing, t + i as i64 * 1000));
            }
            // The errors page (after their hold, if the config gives errors one).
            h.advance_to(t + 3 * MIN).ack_newest_page(t + 5 * MIN);
            for (name, sev) in &rules {
                h.push(on_cart(name, *sev, EventKind::Resolved, t + 30 * MIN));
            }
        }
        h.advance_to(12 * HOUR);
        assert_eq!(h.triggers(), 3, "each outage pages once");
        h.push(on_cart(
            "KubePodCrashLooping",
            Severity::Warning,
            EventKind::Firing,
            13 * HOUR,
        ))
        .advance_to(13 * HOUR + 10 * MIN)
        .finish();
        let lone = *h.records().last().unwrap();
        assert_eq!(lone.alerts.len(), 1);
        let rate = reason(lone, Feature::ActionableRate);
        (lone.decision, (rate * 100.0).round() / 100.0)
    };
    // Jeffreys' prior (the default, one pseudo-outcome): 0.3 of evidence moves the rate to
    // (0.3 + 0.5) / 1.3 = 0.62 and the lone warning pages. Under Beta(1, 1) (two
    // pseudo-outcomes) it stays at 1.3 / 2.3 = 0.57: a ticket.
    let default_strength = H::new().e.cfg.score.prior.strength;
    assert_eq!(lone_crash_loop(default_strength), (Decision::Page, 0.62));
    assert_eq!(lone_crash_loop(2.0), (Decision::Ticket, 0.57));
}

#[test]
fn distinct_rules_on_one_service_corroborate_each_other() {
    let warn = |name: &str, svc: &str, pod: &str, t: i64| {
        alert_on(
            name,
            svc,
            &[("pod", pod)],
            Severity::Warning,
            EventKind::Firing,
            t,
        )
    };
    let rate_and_decision = |h: &H| {
        let r = h.records()[0];
        (reason(r, Feature::ActionableRate), r.decision)
    };
    // A pod crash-looping and not ready, two rules never seen (0.5 each): at least one of
    // them is acted on with 1 - 0.5 × 0.5 = 0.75, enough for two warnings to page.
    let mut h = H::new();
    h.push(warn("KubePodCrashLooping", "cart", "cart-1", 0))
        .push(warn("KubePodNotReady", "cart", "cart-1", 5_000))
        .advance_to(5 * MIN)
        .finish();
    assert_eq!(h.records().len(), 1);
    assert_eq!(rate_and_decision(&h), (0.75, Decision::Page));

    // Without corroboration it is the single most actionable rule: a ticket.
    let mut h = H::with(|c| c.score.corroborate = false);
    h.push(warn("KubePodCrashLooping", "cart", "cart-1", 0))
        .push(warn("KubePodNotReady", "cart", "cart-1", 5_000))
        .advance_to(5 * MIN)
        .finish();
    assert_eq!(rate_and_decision(&h), (0.5, Decision::Ticket));

    // Many pods of one rule are one rule, not corroboration.
    let mut h = H::new();
    for (i, pod) in ["cart-1", "cart-2", "cart-3"].iter().enumerate() {
        h.push(warn("KubePodCrashLooping", "cart", pod, i as i64 * 1000));
    }
    h.advance_to(5 * MIN).finish();
    assert_eq!(h.records().len(), 1);
    assert_eq!(rate_and_decision(&h), (0.5, Decision::Ticket));
}

#[test]
fn a_critical_rule_nobody_acts_on_stops_paging_alone() {
    let mut h = H::new();
    // Twenty one-minute failures of a critical synthetic check, none acknowledged.
    for i in 0..20 {
        let t = i * 60 * MIN;
        h.push(fire("SyntheticCheck", Severity::Critical, t))
            .push(resolve("SyntheticCheck", Severity::Critical, t + MIN));
    }
    h.advance_to(20 * 60 * MIN);
    let before = h.triggers();
    assert!(before < 10, "history overrules severity: {before} pages");
    h.push(fire("SyntheticCheck", Severity::Critical, 21 * 60 * MIN))
        .advance_to(21 * 60 * MIN + 10 * MIN);
    assert_eq!(
        h.triggers(),
        before,
        "a known-noisy critical alone does not page"
    );
    // The same rule name at another severity is another rule, with its own history.
    let rate = |sev| {
        h.e.st.rules.actionable_rate(
            RuleKey::of("SyntheticCheck", sev),
            None,
            h.e.cfg.score.prior,
        )
    };
    assert!(rate(Severity::Critical) < 0.15);
    assert_eq!(rate(Severity::Error), 0.5);
}

#[test]
fn silence_teaches_only_while_acknowledgements_are_heard() {
    const HOUR: i64 = 60 * MIN;
    // (Business hours aside: the same score at any hour.)
    let half_hour = |c: &mut EngineConfig| {
        c.score.feedback_window_ms = 30 * MIN;
        c.score.weights.after_hours = 0.0;
    };
    let fail = |h: &mut H, name: &str, sev: Severity, t: i64| {
        h.push(fire(name, sev, t)).push(resolve(name, sev, t + MIN));
    };
    let rate = |h: &H, name: &str, sev: Severity| {
        h.e.st
            .rules
            .actionable_rate(RuleKey::of(name, sev), None, h.e.cfg.score.prior)
    };

    // No acknowledgement ever arrives (the PagerDuty webhook is not wired up). The engine
    // presumes feedback works for the window from its first outcome, then stops learning
    // from silence: a critical rule failing every hour keeps paging instead of being
    // learned away.
    let mut h = H::with(half_hour);
    for i in 0..20 {
        fail(&mut h, "DatabaseDown", Severity::Critical, i * HOUR);
    }
    h.advance_to(21 * HOUR);
    assert_eq!(h.triggers(), 20);
    assert_eq!(
        h.e.stats().outcomes_unheard,
        19,
        "only the first closed within half an hour of the first"
    );
    let prior = h.e.cfg.score.prior;
    let after_one = prior.strength * prior.rate / (prior.strength + 1.0);
    assert!((rate(&h, "DatabaseDown", Severity::Critical) - after_one).abs() < 1e-9);

    // `feedback_window = 0`: silence always teaches, and it stops paging.
    let mut h = H::with(|c| {
        c.score.feedback_window_ms = 0;
        c.score.weights.after_hours = 0.0;
    });
    for i in 0..20 {
        fail(&mut h, "DatabaseDown", Severity::Critical, i * HOUR);
    }
    h.advance_to(21 * HOUR);
    assert!(h.triggers() < 10, "{}", h.triggers());
    assert_eq!(h.e.stats().outcomes_unheard, 0);

    // Acknowledgements arrive, but only through noisegate's pages (their dedup_key is a
    // cluster id). Past the first window, a paged cluster nobody acknowledged teaches; one
    // that did not page could not have been acknowledged and teaches nothing.
    let mut h = H::with(half_hour);
    for i in 0..24 {
        let t = i * HOUR;
        h.push(fire("Real", Severity::Critical, t))
            .ack_newest_page(t + MIN)
            .push(resolve("Real", Severity::Critical, t + 2 * MIN));
        if i >= 4 {
            fail(&mut h, "Noisy", Severity::Critical, t + 10 * MIN);
            fail(&mut h, "Quiet", Severity::Warning, t + 10 * MIN);
        }
    }
    h.advance_to(25 * HOUR);
    let noisy_pages = h.triggers() - 24;
    assert!(noisy_pages < 10, "{noisy_pages}");
    assert!(rate(&h, "Noisy", Severity::Critical) < 0.2);
    assert_eq!(rate(&h, "Quiet", Severity::Warning), 0.5);
    assert_eq!(
        h.e.stats().outcomes_unheard as usize,
        20 + (20 - noisy_pages),
        "every Quiet cluster, and Noisy's once it stopped paging"
    );
}

#[test]
fn a_cluster_is_one_outcome_shared_by_its_rules_but_the_acknowledged_ones() {
    // One acknowledged cluster holding four rules on one service.
    let fp = alert_on("A", "api", &[], Severity::Error, EventKind::Firing, 0)
        .fingerprint
        .to_string();
    let h = acknowledged_outage(&["A", "B", "C", "D"], &fp, |_, _| {});
    assert_eq!(h.records().len(), 1);
    let actioned = |name| actioned(&h, name, Severity::Error);
    assert_eq!(
        actioned("A"),
        1.0,
        "the acknowledged alert's rule: the whole outcome"
    );
    assert!((actioned("B") - 0.25).abs() < 1e-9, "the others share it");
}

#[test]
fn a_late_symptom_of_a_failure_still_firing_joins_it_without_reopening_it() {
    let mut h = H::with(topo_cfg);
    h.push(alert_on(
        "ApiErrors",
        "api",
        &[],
        Severity::Error,
        EventKind::Firing,
        0,
    ))
    // 16 minutes later (past the 10-minute join window) api's pods start crash-looping:
    // api is still failing, so this is the same incident.
    .push(alert_on(
        "KubePodCrashLooping",
        "api",
        &[("pod", "api-1")],
        Severity::Warning,
        EventKind::Firing,
        16 * MIN,
    ))
    // Its own dependent's warning a minute later does not chain in through it.
    .push(alert_on(
        "FrontendSlow",
        "frontend",
        &[],
        Severity::Warning,
        EventKind::Firing,
        17 * MIN,
    ))
    // Past the late-symptom window: a new cluster.
    .push(alert_on(
        "KubePodNotReady",
        "api",
        &[("pod", "api-2")],
        Severity::Warning,
        EventKind::Firing,
        50 * MIN,
    ))
    .finish();
    let sizes: Vec<usize> = h.records().iter().map(|c| c.alerts.len()).collect();
    assert_eq!(sizes, vec![2, 1, 1]);
    let mut h = H::with(|c| {
        topo_cfg(c);
        c.correlation.late_symptom_window_ms = 0;
    });
    h.push(alert_on(
        "ApiErrors",
        "api",
        &[],
        Severity::Error,
        EventKind::Firing,
        0,
    ))
    .push(alert_on(
        "KubePodCrashLooping",
        "api",
        &[("pod", "api-1")],
        Severity::Warning,
        EventKind::Firing,
        16 * MIN,
    ))
    .finish();
    assert_eq!(h.records().len(), 2, "late symptoms off");
}

#[test]
fn a_late_arrival_is_linked_by_what_was_firing_when_it_started() {
    // Alertmanager delivers a new alert up to a group_interval after it started. The crash
    // loop started at 16 min, while api's errors were still firing (they resolved at 17 min),
    // but arrives at 19 min: it is still that failure's late symptom.
    let run = |arrives_with: i64, started: i64| {
        let mut h = H::with(topo_cfg);
        h.push(alert_on(
            "ApiErrors",
            "api",
            &[],
            Severity::Error,
            EventKind::Firing,
            0,
        ))
        .push(alert_on(
            "ApiErrors",
            "api",
            &[],
            Severity::Error,
            EventKind::Resolved,
            17 * MIN,
        ))
        // Something else moves the clock on before the crash loop's notification arrives.
        .push(alert(
            "Unrelated",
            Severity::Warning,
            EventKind::Firing,
            arrives_with,
        ))
        .push(alert_on(
            "KubePodCrashLooping",
            "api",
            &[("pod", "api-1")],
            Severity::Warning,
            EventKind::Firing,
            started,
        ))
        .finish();
        h.records()
            .iter()
            .find(|r| r.alerts.iter().any(|a| a.alertname == "ApiErrors"))
            .map(|r| r.alerts.len())
    };
    assert_eq!(run(19 * MIN, 16 * MIN), Some(2), "started while api failed");
    assert_eq!(
        run(19 * MIN, 18 * MIN),
        Some(1),
        "started after api recovered"
    );
}

#[test]
fn an_alert_naming_its_peer_links_to_that_peers_failure() {
    // "checkout" is not in the topology; its timeouts name the service they were calling.
    let timeout = |t: i64| {
        alert_on(
            "UpstreamTimeout",
            "checkout",
            &[("peer.service", "postgres")],
            Severity::Error,
            EventKind::Firing,
            t,
        )
    };
    let db_down = |t: i64| {
        alert_on(
            "PostgresDown",
            "postgres",
            &[],
            Severity::Critical,
            EventKind::Firing,
            t,
        )
    };
    // The peer fails first: the caller's symptom joins it.
    let mut h = H::with(topo_cfg);
    h.push(db_down(0)).push(timeout(MIN)).finish();
    assert_eq!(h.records().len(), 1, "symptom naming its failing peer");
    // The symptom first: the peer's failure joins the cluster that observed the edge.
    let mut h = H::with(topo_cfg);
    h.push(timeout(0)).push(db_down(MIN)).finish();
    assert_eq!(
        h.records().len(),
        1,
        "failure of a peer named in the cluster"
    );
    // Without peer labels the two stay apart (no topology edge between them).
    let mut h = H::with(|c| {
        topo_cfg(c);
        c.correlation.peer_labels.clear();
    });
    h.push(db_down(0)).push(timeout(MIN)).finish();
    assert_eq!(h.records().len(), 2, "peer labels off");
}

#[test]
fn a_rule_that_usually_clears_by_itself_pages_only_once_it_outlasts_that() {
    let run = |sev: Severity, may_wait: bool| {
        // Scored on severity and transience alone (no learned actionable rate), so the
        // test isolates this feature: nobody acting would lower the score as well.
        let mut h = H::with(|c| {
            c.hold.critical_may_wait = may_wait;
            c.score.weights.actionable_rate = 0.0;
            c.score.bias = -2.5;
        });
        // Ten 50-second failures of a critical check, an hour apart, each clearing by
        // itself.
        for i in 0..10 {
            let t = i * 60 * MIN;
            h.push(fire("CheckFailed", sev, t))
                .push(resolve("CheckFailed", sev, t + 50_000));
        }
        h.advance_to(11 * 60 * MIN);
        let history = h.triggers();
        // Then it fails and does not clear.
        let t1 = 12 * 60 * MIN;
        h.push(fire("CheckFailed", sev, t1));
        let at_once = h.triggers() > history;
        h.advance_to(t1 + 2 * MIN);
        let within_2m = h.triggers() > history;
        (history, at_once, within_2m)
    };
    // An error alert is judged this way by default once its rule has history (the
    // severity's fixed hold covers only rules without).
    let (history, at_once, within_2m) = run(Severity::Error, false);
    assert!(history < 10, "{history}");
    assert!(!at_once && within_2m);
    // A critical one only when the config says it may wait.
    let (history, at_once, within_2m) = run(Severity::Critical, true);
    assert!(
        history < 10,
        "its history taught it to wait: {history} pages"
    );
    assert!(!at_once, "it may clear like the others");
    assert!(
        within_2m,
        "it outlived its quick resolutions: paged, no event needed"
    );
    let (history, at_once, _) = run(Severity::Critical, false);
    assert_eq!(history, 10, "critical pages at once by default");
    assert!(at_once);
}

#[test]
fn a_fresh_engine_starts_from_rules_learned_elsewhere() {
    // Five earlier lone crash loops, each acted on by a person (what a replay of last
    // week's traffic and acknowledgements teaches).
    let mut book = crate::engine::rules::RuleBook::default();
    let rule = RuleKey::of("KubePodCrashLooping", Severity::Warning);
    for _ in 0..5 {
        book.outcome(rule, true, 1.0, EventTime(0));
    }
    let crash = |t: i64| fire("KubePodCrashLooping", Severity::Warning, t);
    let mut warm = H::with(|c| c.initial_rules = Some(Arc::new(book.clone())));
    warm.push(crash(0)).advance_to(5 * MIN);
    assert_eq!(warm.pages().len(), 1, "pages once its hold is over");
    let mut cold = H::new();
    cold.push(crash(0)).advance_to(5 * MIN);
    assert!(
        cold.pages().is_empty(),
        "a warning of a rule never seen does not page"
    );
    // A restored engine keeps its own statistics, whatever the config says.
    let snap = cold.e.snapshot().unwrap();
    let cfg = Arc::new({
        let mut c = Config::default().engine;
        c.initial_rules = Some(Arc::new(book));
        c
    });
    let restored = Engine::restore(cfg, &snap).unwrap();
    assert_eq!(restored.rules_json().unwrap(), cold.e.rules_json().unwrap());
}

#[test]
fn an_ack_naming_the_senders_own_fingerprint_links_and_credits_that_alert() {
    // Grafana fingerprints over labels its webhook does not show, so its id for an alert is
    // not ours; history exported from Grafana acknowledges by that id.
    let h = acknowledged_outage(&["A", "B"], "000000000000abc0", |i, ev| {
        ev.source = Source::Grafana;
        ev.source_id = Some(format!("{:016x}", 0xabc0 + i).into());
        assert_ne!(ev.source_id.as_deref(), Some(&*ev.fingerprint.to_string()));
    });
    assert_eq!(h.e.stats().lifecycle_linked, 1);
    let r = h.records();
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].acked_at, Some(EventTime(2 * MIN)));
    let actioned = |name| actioned(&h, name, Severity::Error);
    assert_eq!(actioned("A"), 1.0, "the alert the ack named");
    assert!((actioned("B") - 0.5).abs() < 1e-9, "B shares it");
}

/// A change event (a deploy) to `service` / `team` at `t`.
fn change(summary: &str, service: Option<&str>, team: Option<&str>, t: i64) -> AlertEvent {
    let labels = Labels::from_pairs([("source", "argo")]);
    AlertEvent {
        source: Source::PagerDutyV2,
        kind: EventKind::Change,
        time: EventTime(t),
        fingerprint: Labels::from_pairs([("summary", summary)]).fingerprint(),
        source_id: None,
        dedup_key: None,
        alertname: Str::default(),
        labels,
        annotations: Annotations {
            summary: Some(summary.into()),
            runbook: Some("https://ci.example/1".into()),
            ..Default::default()
        },
        severity: Severity::Info,
        service: service.map(Str::from),
        team: team.map(Str::from),
        actor: None,
        ends_at: None,
        sender: None,
        group: None,
        listed: None,
    }
}

#[test]
fn a_page_and_its_record_show_the_recent_changes_to_its_service_and_team() {
    let t0 = 1_000 * MIN;
    let mut h = H::new();
    h.push(change(
        "deploy api v1",
        Some("svc-Api5xx"),
        None,
        t0 - 90 * MIN,
    )) // too old
    .push(change(
        "deploy api v2",
        Some("svc-Api5xx"),
        None,
        t0 - 5 * MIN,
    ))
    .push(change(
        "deploy search",
        Some("svc-other"),
        None,
        t0 - 4 * MIN,
    ))
    .push(change("feature flag", None, Some("payments"), t0 - 3 * MIN))
    .push(change("who knows", None, None, t0 - 2 * MIN));
    // Changes move no clock and open nothing.
    assert!(h.out.is_empty());
    assert_eq!(h.e.now(), EventTime::MIN);
    h.push(alert("Api5xx", Severity::Critical, EventKind::Firing, t0));
    let pages = h.pages();
    assert_eq!(pages.len(), 1);
    let details = &pages[0].payload.as_ref().unwrap().custom_details;
    let shown: Vec<&str> = details["recent_changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["summary"].as_str().unwrap())
        .collect();
    assert_eq!(shown, ["deploy api v2", "feature flag"]);
    assert_eq!(details["recent_changes"][0]["link"], "https://ci.example/1");
    // A rollback while it is open shows on the record too.
    h.push(change(
        "rollback api",
        Some("svc-Api5xx"),
        None,
        t0 + 2 * MIN,
    ))
    .push(alert(
        "Api5xx",
        Severity::Critical,
        EventKind::Resolved,
        t0 + 3 * MIN,
    ))
    .finish();
    let r = h.records();
    assert_eq!(r.len(), 1);
    let shown: Vec<&str> = r[0].changes.iter().map(|c| c.summary.as_str()).collect();
    assert_eq!(shown, ["deploy api v2", "feature flag", "rollback api"]);
    let s = h.e.stats();
    assert_eq!((s.changes, s.changes_unscoped), (6, 1));
    // Nothing else about the cluster depends on them.
    let mut plain = H::new();
    plain
        .push(alert("Api5xx", Severity::Critical, EventKind::Firing, t0))
        .push(alert(
            "Api5xx",
            Severity::Critical,
            EventKind::Resolved,
            t0 + 3 * MIN,
        ))
        .finish();
    let mut without = r[0].clone();
    without.changes.clear();
    assert_eq!(&without, plain.records()[0]);
}

#[test]
fn clusters_without_changes_look_as_before() {
    let mut h = H::new();
    h.push(change("deploy search", Some("svc-other"), None, 0))
        .push(alert("Api5xx", Severity::Critical, EventKind::Firing, MIN))
        .finish();
    let p = &h.pages()[0].payload.as_ref().unwrap().custom_details;
    assert!(p.get("recent_changes").is_none());
    let line = serde_json::to_string(h.records()[0]).unwrap();
    assert!(!line.contains("changes"), "{line}");
}

#[test]
fn changes_survive_a_snapshot() {
    let mut h = H::new();
    h.push(change(
        "deploy api v2",
        Some("svc-Api5xx"),
        Some("payments"),
        0,
    ))
    .push(alert("Other", Severity::Warning, EventKind::Firing, MIN));
    let bytes = h.e.snapshot().expect("a snapshot with changes");
    let cfg = Arc::new(Config::default().engine);
    let mut r = H {
        e: Engine::restore(cfg, &bytes).unwrap(),
        out: Vec::new(),
    };
    for x in [&mut h, &mut r] {
        x.push(alert(
            "Api5xx",
            Severity::Critical,
            EventKind::Firing,
            2 * MIN,
        ))
        .finish();
    }
    assert_eq!(h.out, r.out);
    // Each cluster of the team shows the change once, though it names service and team.
    let shown: Vec<usize> = h.records().iter().map(|c| c.changes.len()).collect();
    assert_eq!(shown, [1, 1]);
}

/// The learned outcomes of `name` (critical) as (actioned, not actioned).
fn outcomes_of(h: &H, name: &str) -> (f64, f64) {
    let o =
        h.e.st
            .rules
            .get(RuleKey::of(name, Severity::Critical))
            .map(|r| r.outcomes)
            .unwrap_or_default();
    (o.actioned, o.not_actioned)
}

/// A critical `Api5xx` page at `t0`, resolved by its monitor three minutes in, closed
/// unacknowledged; returns its cluster id (what PagerDuty's acknowledgement names).
fn closed_unacknowledged(h: &mut H, t0: i64) -> String {
    h.push(alert("Api5xx", Severity::Critical, EventKind::Firing, t0));
    let id = h.pages()[0].dedup_key.0.clone();
    h.push(alert(
        "Api5xx",
        Severity::Critical,
        EventKind::Resolved,
        t0 + 3 * MIN,
    ))
    .advance_to(t0 + 30 * MIN);
    id
}

fn human_ack(id: &str, t: i64) -> AlertEvent {
    lifecycle(EventKind::Acknowledged, id, Actor::Human, t)
}

#[test]
fn an_acknowledgement_that_arrives_after_its_cluster_closed_still_teaches() {
    let t0 = 100 * MIN;
    // In time: acknowledged a minute in, resolved three minutes in.
    let mut on_time = H::new();
    on_time.push(alert("Api5xx", Severity::Critical, EventKind::Firing, t0));
    on_time.ack_newest_page(t0 + MIN);
    on_time
        .push(alert(
            "Api5xx",
            Severity::Critical,
            EventKind::Resolved,
            t0 + 3 * MIN,
        ))
        .advance_to(t0 + 30 * MIN);
    assert_eq!(outcomes_of(&on_time, "Api5xx"), (1.0, 0.0));
    // Late: the same acknowledgement reaches the engine after the cluster closed (the
    // webhook topic lagging the alerts topic). It happened before the resolve, so the
    // "not actioned" the close taught is reversed.
    let mut late = H::new();
    let id = closed_unacknowledged(&mut late, t0);
    assert_eq!(outcomes_of(&late, "Api5xx"), (0.0, 1.0));
    late.push(human_ack(&id, t0 + MIN));
    assert_eq!(
        outcomes_of(&late, "Api5xx"),
        outcomes_of(&on_time, "Api5xx")
    );
    assert_eq!(late.e.stats().late_acks_corrected, 1);
    // Once only.
    late.push(human_ack(&id, t0 + MIN));
    assert_eq!(outcomes_of(&late, "Api5xx"), (1.0, 0.0));
    // It survives a snapshot.
    let mut again = H::new();
    let id = closed_unacknowledged(&mut again, t0);
    let bytes = again.e.snapshot().unwrap();
    let mut restored = H {
        e: Engine::restore(Arc::new(Config::default().engine), &bytes).unwrap(),
        out: Vec::new(),
    };
    restored.push(human_ack(&id, t0 + MIN));
    assert_eq!(outcomes_of(&restored, "Api5xx"), (1.0, 0.0));
}

#[test]
fn a_late_acknowledgement_after_the_resolve_or_by_automation_teaches_nothing_new() {
    let t0 = 100 * MIN;
    let mut h = H::new();
    let id = closed_unacknowledged(&mut h, t0);
    // Acknowledged after it had resolved: "not actioned" stands, as it would in time.
    h.push(human_ack(&id, t0 + 5 * MIN));
    // An integration's acknowledgement is not a person acting.
    h.push(lifecycle(
        EventKind::Acknowledged,
        &id,
        Actor::Automation,
        t0 + MIN,
    ));
    assert_eq!(outcomes_of(&h, "Api5xx"), (0.0, 1.0));
    assert_eq!(h.e.stats().late_acks_corrected, 0);
    // Past the feedback window the lesson is forgotten: a much later close expires it.
    let window = Config::default().engine.score.feedback_window_ms;
    h.push(alert(
        "Other",
        Severity::Critical,
        EventKind::Firing,
        t0 + window + 60 * MIN,
    ))
    .push(alert(
        "Other",
        Severity::Critical,
        EventKind::Resolved,
        t0 + window + 61 * MIN,
    ))
    .advance_to(t0 + window + 90 * MIN);
    h.push(human_ack(&id, t0 + MIN));
    assert_eq!(outcomes_of(&h, "Api5xx"), (0.0, 1.0));
}

/// One complete notification of group `group` by receiver `receiver` at `t`: every alert it
/// lists (pod `pods[i]` of rule `Slow` on service `api`, firing since `starts[i]`), the last
/// carrying the listing, as the Alertmanager decoder hands them over.
fn notify(h: &mut H, receiver: &str, group: &str, t: i64, pods: &[(&str, i64)]) {
    h.advance_to(t);
    let evs: Vec<AlertEvent> = pods
        .iter()
        .map(|&(pod, start)| {
            let mut ev = via(receiver, slow_on(pod, start));
            ev.group = Some(GroupKey::of(group));
            ev
        })
        .collect();
    let listed = Listing::new(evs.iter().map(|e| e.fingerprint).collect());
    let n = evs.len();
    for (i, mut ev) in evs.into_iter().enumerate() {
        if i + 1 == n {
            ev.listed = Some(listed.clone());
        }
        h.push(ev);
    }
}

/// Rule `Slow` firing on pod `pod` of service `api` since `start`.
fn slow_on(pod: &str, start: i64) -> AlertEvent {
    alert_on(
        "Slow",
        "api",
        &[("pod", pod)],
        Severity::Warning,
        EventKind::Firing,
        start,
    )
}

fn slow(pod: &str) -> Fingerprint {
    slow_on(pod, 0).fingerprint
}

/// When the current episode of alert `fp` resolved (`None`: it fires).
fn resolved_at(h: &H, fp: Fingerprint) -> Option<EventTime> {
    let key = h.e.st.alerts.get(fp).expect("tracked");
    h.e.st.clusters[&key]
        .alert(fp)
        .expect("in its cluster")
        .resolved_at
}

#[test]
fn an_alert_its_groups_next_notification_leaves_out_is_over_as_of_when_last_heard() {
    // `send_resolved: false`: Alertmanager leaves a resolved alert out of the group's next
    // notification instead of reporting it. Pod a stops at about 4 min; the group is
    // notified again at 6 min, when pod c fires, without it. Before, pod a fired on until
    // its silence was judged, 4 h 5 min later.
    let mut h = H::new();
    notify(&mut h, "team", "g", 0, &[("a", 0)]);
    notify(&mut h, "team", "g", MIN, &[("a", 0), ("b", MIN)]);
    notify(&mut h, "team", "g", 6 * MIN, &[("b", MIN), ("c", 6 * MIN)]);
    assert_eq!(h.e.stats().left_out, 1);
    assert_eq!(h.e.stats().unreported_resolves, 1);
    assert_eq!(h.e.group_rosters(), 1);
    // Nothing else goes: b and c fire on, and so does the cluster.
    clock_runs(&mut h, 6 * MIN, 60 * MIN);
    assert!(h.records().is_empty());
    // b and c are left out in their turn (d fires), and the group's old alerts end with them.
    notify(&mut h, "team", "g", 61 * MIN, &[("d", 61 * MIN)]);
    assert_eq!(h.e.stats().left_out, 3);
    // a was last heard at 1 min, b and c at 6 min: that is when they are taken as over.
    assert_eq!(resolved_at(&h, slow("a")), Some(EventTime(MIN)));
    assert_eq!(resolved_at(&h, slow("b")), Some(EventTime(6 * MIN)));
    assert_eq!(resolved_at(&h, slow("c")), Some(EventTime(6 * MIN)));
    assert_eq!(resolved_at(&h, slow("d")), None, "still firing");
}

#[test]
fn a_left_out_alert_sent_again_is_revived_and_teaches_no_re_send_interval() {
    // A member of an HA pair whose notification lacked an alert it had not received yet: the
    // inference was wrong. The next notification lists the alert with its own start again.
    let mut h = H::new();
    notify(&mut h, "team", "g", 0, &[("a", 0), ("b", 0)]);
    notify(&mut h, "team", "g", 5 * MIN, &[("b", 0)]);
    assert_eq!(h.e.stats().left_out, 1);
    notify(&mut h, "team", "g", 10 * MIN, &[("a", 0), ("b", 0)]);
    assert_eq!(h.e.stats().resent_after_unheard, 1, "revived");
    assert_eq!(
        h.e.resend_interval_ms(),
        h.e.cfg.max_resend_interval_ms,
        "the gap was no re-send interval"
    );
    assert_eq!(resolved_at(&h, slow("a")), None, "firing again");
    h.finish();
    assert_eq!(h.records().len(), 1, "one incident all along");
}

#[test]
fn only_a_newer_listing_of_the_same_receiver_and_group_ends_an_alert() {
    let mut h = H::new();
    notify(&mut h, "team", "g", 0, &[("a", 0), ("b", 0)]);
    // A delayed copy of an earlier notification (HA peers sharing a URL) within the minute.
    notify(&mut h, "team", "g", MIN, &[("a", 0), ("b", 0), ("c", MIN)]);
    notify(&mut h, "team", "g", MIN + 20_000, &[("a", 0), ("b", 0)]);
    // Another group's and another receiver's notifications say nothing about this group.
    notify(&mut h, "team", "h", 2 * MIN, &[("y", 0)]);
    notify(&mut h, "other", "g", 3 * MIN, &[("z", 3 * MIN)]);
    assert_eq!(h.e.stats().left_out, 0);
    // The same alert sent by another receiver since: that receiver's to judge.
    notify(&mut h, "other", "g2", 4 * MIN, &[("b", 0)]);
    notify(&mut h, "team", "g", 9 * MIN, &[("c", MIN)]);
    assert_eq!(
        h.e.stats().left_out,
        1,
        "a only: b was last heard from the other receiver"
    );
    // A truncated notification carries no listing, and an alert without a group none either.
    let mut lone = via("team", fire("Lone", Severity::Warning, 10 * MIN));
    lone.listed = Some(Listing::new(vec![lone.fingerprint]));
    h.push(lone);
    assert_eq!(h.e.stats().left_out, 1);
    assert_eq!(
        h.e.group_rosters(),
        4,
        "(team, g), (team, h), (other, g), (other, g2)"
    );
}

#[test]
fn an_alert_keeps_its_rules_name_once_and_reads_it_from_older_state() {
    let ev = fire("Down", Severity::Critical, 0);
    let a = cluster::AlertState::new(&ev, 0);
    assert_eq!(a.alertname(), "Down");
    let json = serde_json::to_value(&a).expect("serialises");
    assert!(json.get("alertname").is_none(), "not twice: {json}");
    // A name that is not the label (no decoder makes one today) is kept.
    let mut odd = ev.clone();
    odd.alertname = Str::from("Other");
    assert_eq!(cluster::AlertState::new(&odd, 0).alertname(), "Other");
    // State written by a build that kept the name as well still reads.
    let mut old = json;
    old["alertname"] = "Down".into();
    let back: cluster::AlertState = serde_json::from_value(old).expect("older state reads");
    assert_eq!(back.alertname(), "Down");
}
