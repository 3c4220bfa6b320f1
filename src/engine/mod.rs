//! The engine: a pure, deterministic, event-time state machine from [`AlertEvent`]s to
//! pages and cluster records. No I/O, no wall clock, no randomness: time comes only from
//! event timestamps and the watermark the caller passes in, so live mode and replay run the
//! same code and a replay is exact.
//!
//! Call order (sans-I/O, as in quinn-proto):
//! 1. [`Engine::handle_event`] / [`Engine::handle_events`] for each decoded event;
//! 2. [`Engine::handle_watermark`] when the caller knows time has moved on without events
//!    (an idle input in live mode; end of input in replay). The engine also advances its own
//!    watermark to the newest event time minus `allowed_lateness` before each event, so its
//!    decisions depend on event times only, never on how input was batched. The watermark
//!    never goes back; handling the same watermark twice does nothing;
//! 3. [`Engine::poll_output`] until `None`, publishing each [`Output`];
//! 4. at end of input (replay only), [`Engine::finish`], then drain outputs again.
//!
//! [`Engine::poll_timeout`] tells the next event time at which something is due.
//!
//! Stages: dedup (`dedup.rs`) → cluster lifecycle (`cluster.rs`) → route (`route.rs`);
//! lifecycle linking of acks/resolves in `link.rs`. This first engine keeps one cluster per
//! alert episode and routes by severity; correlation, flapping, holds and scoring come next
//! and replace the insides, not this interface.

pub mod cluster;
pub mod dedup;
pub mod link;
pub mod route;

use std::collections::{BTreeSet, VecDeque};
use std::sync::Arc;

use rustc_hash::FxHashMap;

use crate::config::EngineConfig;
use crate::event::{Actor, AlertEvent, EventKind, EventTime, Source};
use crate::record::{ClusterRecord, Decision, Page};
use cluster::{ClusterKey, ClusterState};
use dedup::AlertIndex;
use link::LinkIndex;

/// What the engine asks its adapter to do.
#[must_use = "outputs must be published"]
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// Send to PagerDuty (or the pages topic). Publish it before committing the input that
    /// produced it; re-sending after a crash is safe (same `dedup_key`).
    Page(Page),
    /// A cluster closed (or was still open at end of input: `closed_at` is null): write its
    /// record. Publish before committing the input that closed it.
    Record(ClusterRecord),
}

/// Counters the engine keeps; adapters publish them (metrics, summary). Plain numbers, no
/// metrics library in the engine.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct EngineStats {
    /// Every event handled.
    pub events: u64,
    /// Firing/resolved events about an alert (not lifecycle).
    pub alert_events: u64,
    /// Firing repeats of an alert already firing: absorbed, nothing emitted.
    pub deduplicated: u64,
    /// Alerts that fired again within their cluster's quiet period.
    pub refires: u64,
    /// Point-in-time alerts resolved because they were not sent again before `ends_at`.
    pub expired: u64,
    /// Events older than the watermark when they arrived (still handled), repeats excepted.
    pub late: u64,
    /// Ack/resolve/lifecycle events linked to a cluster.
    pub lifecycle_linked: u64,
    /// Ack/resolve/lifecycle events naming nothing open (late, or for another system's incident).
    pub lifecycle_unlinked: u64,
    pub clusters_opened: u64,
    pub clusters_closed: u64,
    /// Clusters closed early because `engine.max_active_alerts` was reached.
    pub clusters_shed: u64,
    pub pages_triggered: u64,
    pub pages_resolved: u64,
}

/// What a timer does when the watermark passes it. Timers are data: one ordered index, and
/// a popped timer that no longer matches its target's state is stale and skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Timer {
    /// Resolve a point-in-time alert that was not sent again.
    Expire(ClusterKey, crate::event::Fingerprint),
    /// Close a cluster whose alerts are all resolved and whose quiet period has passed.
    Close(ClusterKey),
}

/// The engine. See the module doc for the call order.
pub struct Engine {
    cfg: Arc<EngineConfig>,
    clusters: FxHashMap<ClusterKey, ClusterState>,
    alerts: AlertIndex,
    links: LinkIndex,
    /// Deadlines in event time. Stale entries are skipped when popped.
    timers: BTreeSet<(EventTime, Timer)>,
    next_key: ClusterKey,
    watermark: EventTime,
    outputs: VecDeque<Output>,
    stats: EngineStats,
}

impl Engine {
    pub fn new(cfg: Arc<EngineConfig>) -> Self {
        Engine {
            cfg,
            clusters: FxHashMap::default(),
            alerts: AlertIndex::default(),
            links: LinkIndex::default(),
            timers: BTreeSet::new(),
            next_key: 0,
            watermark: EventTime::MIN,
            outputs: VecDeque::new(),
            stats: EngineStats::default(),
        }
    }

    pub fn stats(&self) -> &EngineStats {
        &self.stats
    }

    /// Alerts currently tracked in open clusters.
    pub fn active_alerts(&self) -> usize {
        self.alerts.len()
    }

    pub fn open_clusters(&self) -> usize {
        self.clusters.len()
    }

    pub fn watermark(&self) -> EventTime {
        self.watermark
    }

    pub fn handle_events(&mut self, evs: &[AlertEvent]) {
        for ev in evs {
            self.handle_event(ev);
        }
    }

    pub fn handle_event(&mut self, ev: &AlertEvent) {
        self.stats.events += 1;
        let late = ev.time < self.watermark;
        let repeats = self.stats.deduplicated;
        let wm = EventTime(
            ev.time
                .as_millis()
                .saturating_sub(self.cfg.allowed_lateness_ms),
        );
        if wm > self.watermark {
            self.handle_watermark(wm);
        }
        match ev.kind {
            EventKind::Firing => self.on_firing(ev),
            EventKind::Resolved => {
                // PagerDuty resolves name an incident; they resolve an alert only when their
                // identity (dedup key) is one we track as an alert.
                let pd = matches!(ev.source, Source::PagerDutyV2 | Source::PagerDutyV3);
                if pd && self.alerts.get(ev.fingerprint).is_none() {
                    self.on_incident(ev);
                } else {
                    self.on_alert_resolved(ev);
                }
            }
            EventKind::Acknowledged | EventKind::Lifecycle(_) => self.on_incident(ev),
        }
        // A repeat carries its alert's start time (Alertmanager re-sends keep `startsAt`), so
        // it is "late" by design; only events that changed something count.
        if late && self.stats.deduplicated == repeats {
            self.stats.late += 1;
        }
    }

    /// Advances event time: closes clusters whose quiet period has passed.
    pub fn handle_watermark(&mut self, now: EventTime) {
        if now < self.watermark {
            return;
        }
        self.watermark = now;
        while let Some(&(due, timer)) = self.timers.first() {
            if due > now {
                break;
            }
            self.timers.pop_first();
            match timer {
                Timer::Close(key) => {
                    let still_due = self
                        .clusters
                        .get(&key)
                        .is_some_and(|c| c.close_at == Some(due));
                    if still_due {
                        self.close(key, due, true);
                    }
                }
                Timer::Expire(key, fp) => self.expire(key, fp, due),
            }
        }
    }

    /// The next event time at which a timer is due, if any.
    pub fn poll_timeout(&self) -> Option<EventTime> {
        self.timers.first().map(|&(t, _)| t)
    }

    /// A point-in-time alert was not sent again before its `ends_at`: it resolved then.
    fn expire(&mut self, key: ClusterKey, fp: crate::event::Fingerprint, due: EventTime) {
        let Some(c) = self.clusters.get_mut(&key) else {
            return;
        };
        let Some(a) = c.alert_mut(fp) else {
            return;
        };
        if !a.is_firing() || a.expires_at != Some(due) {
            return;
        }
        a.resolved_at = Some(due);
        a.expires_at = None;
        self.stats.expired += 1;
        self.schedule_close_if_resolved(key, due, Some(Actor::Automation));
    }

    fn schedule_expiry(&mut self, key: ClusterKey, ev: &AlertEvent) {
        if let Some(t) = ev.ends_at {
            self.timers.insert((t, Timer::Expire(key, ev.fingerprint)));
        }
    }

    pub fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// End of input: emits a record for every cluster still open (with `closed_at` null),
    /// oldest first. No resolves are sent for them: their alerts have not resolved.
    pub fn finish(&mut self) {
        let mut open: Vec<(EventTime, ClusterKey)> = self
            .clusters
            .iter()
            .map(|(k, c)| (c.opened_at, *k))
            .collect();
        open.sort_unstable();
        for (_, key) in open {
            if let Some(c) = self.clusters.remove(&key) {
                self.forget(&c);
                self.outputs.push_back(Output::Record(c.to_record(None)));
            }
        }
        self.timers.clear();
    }

    fn on_firing(&mut self, ev: &AlertEvent) {
        self.stats.alert_events += 1;
        let Some(key) = self.alerts.get(ev.fingerprint) else {
            self.open_cluster(ev);
            return;
        };
        let Some(c) = self.clusters.get_mut(&key) else {
            return;
        };
        if let Some(due) = c.close_at.filter(|&due| due <= ev.time) {
            // Its cluster was due to close before this event happened (the watermark lags by
            // the allowed lateness): close it as of then, and this is a new episode.
            self.close(key, due, true);
            self.open_cluster(ev);
            return;
        }
        c.touch(ev.time);
        let Some(a) = c.alert_mut(ev.fingerprint) else {
            return;
        };
        a.events += 1;
        a.last_seen = a.last_seen.max(ev.time);
        a.expires_at = match (a.expires_at, ev.ends_at) {
            (Some(old), Some(new)) => Some(old.max(new)),
            (_, new) => new,
        };
        let rearm = a.expires_at.is_some() && a.expires_at == ev.ends_at;
        if a.is_firing() {
            self.stats.deduplicated += 1;
            if rearm {
                self.schedule_expiry(key, ev);
            }
            return;
        }
        // Fired again within the quiet period: the same incident, not a new page.
        a.resolved_at = None;
        a.flaps += 1;
        self.stats.refires += 1;
        c.close_at = None;
        if c.resolved_by == Some(crate::record::ResolvedBy::Auto) {
            c.resolved_at = None;
            c.resolved_by = None;
        }
        if rearm {
            self.schedule_expiry(key, ev);
        }
    }

    fn on_alert_resolved(&mut self, ev: &AlertEvent) {
        self.stats.alert_events += 1;
        let Some(key) = self.alerts.get(ev.fingerprint) else {
            // Resolved before we saw it fire (e.g. started before noisegate did): it still
            // goes on the record, already resolved, and never pages.
            let key = self.open_cluster(ev);
            if let Some(c) = self.clusters.get_mut(&key) {
                if let Some(a) = c.alert_mut(ev.fingerprint) {
                    a.resolved_at = Some(ev.time);
                }
                self.schedule_close_if_resolved(key, ev.time, ev.actor);
            }
            return;
        };
        if let Some(c) = self.clusters.get_mut(&key) {
            c.touch(ev.time);
            if let Some(a) = c.alert_mut(ev.fingerprint) {
                a.events += 1;
                a.last_seen = a.last_seen.max(ev.time);
                if a.is_firing() {
                    a.resolved_at = Some(ev.time);
                } else {
                    self.stats.deduplicated += 1;
                }
            }
        }
        self.schedule_close_if_resolved(key, ev.time, ev.actor);
    }

    fn schedule_close_if_resolved(&mut self, key: ClusterKey, t: EventTime, by: Option<Actor>) {
        let Some(c) = self.clusters.get_mut(&key) else {
            return;
        };
        if !c.all_resolved() || c.close_at.is_some() {
            return;
        }
        c.mark_resolved(t, Some(by.unwrap_or(Actor::Automation)));
        let due = t.saturating_add_ms(self.cfg.close_quiet_ms);
        c.close_at = Some(due);
        self.timers.insert((due, Timer::Close(key)));
    }

    fn on_incident(&mut self, ev: &AlertEvent) {
        let Some(key) = self.links.find(ev, &self.alerts) else {
            self.stats.lifecycle_unlinked += 1;
            return;
        };
        let Some(c) = self.clusters.get_mut(&key) else {
            self.stats.lifecycle_unlinked += 1;
            return;
        };
        self.stats.lifecycle_linked += 1;
        if ev.source == Source::PagerDutyV3 {
            if let Some(id) = &ev.source_id {
                let id = crate::event::DedupKey(id.clone());
                self.links.add_source_key(key, &id);
            }
        }
        match ev.kind {
            EventKind::Acknowledged => {
                c.acked_at = Some(c.acked_at.map_or(ev.time, |t| t.min(ev.time)));
            }
            EventKind::Resolved => c.mark_resolved(ev.time, ev.actor),
            EventKind::Firing | EventKind::Lifecycle(_) => {}
        }
    }

    fn open_cluster(&mut self, ev: &AlertEvent) -> ClusterKey {
        let key = self.next_key;
        self.next_key += 1;
        let mut c = ClusterState::open(ev);
        let (mut decision, score, reasons) = route::decide(&self.cfg, ev.severity);
        if ev.kind != EventKind::Firing && decision == Decision::Page {
            // Nothing to wake anyone for: it is over. Leave a ticket instead.
            decision = Decision::Ticket;
        }
        c.decision = decision;
        c.score = score;
        c.reasons = reasons;
        if decision == Decision::Page {
            c.paged_at = Some(ev.time);
            self.outputs
                .push_back(Output::Page(route::trigger(&self.cfg, &c, ev)));
            self.stats.pages_triggered += 1;
        }
        self.links.add_cluster(key, &c.id);
        if let Some(dk) = &ev.dedup_key {
            self.links.add_source_key(key, dk);
        }
        self.alerts.insert(ev.fingerprint, key);
        self.clusters.insert(key, c);
        if ev.kind == EventKind::Firing {
            self.schedule_expiry(key, ev);
        }
        self.stats.clusters_opened += 1;
        if self.alerts.len() > self.cfg.max_active_alerts {
            self.shed();
        }
        key
    }

    /// Removes a cluster's index entries.
    fn forget(&mut self, c: &ClusterState) {
        for a in &c.alerts {
            self.alerts.remove(a.fingerprint);
        }
        self.links.remove_cluster(&c.id);
    }

    fn close(&mut self, key: ClusterKey, at: EventTime, send_resolve: bool) {
        let Some(c) = self.clusters.remove(&key) else {
            return;
        };
        self.forget(&c);
        if send_resolve && c.paged_at.is_some() {
            self.outputs
                .push_back(Output::Page(route::resolve(&self.cfg, &c)));
            self.stats.pages_resolved += 1;
        }
        self.stats.clusters_closed += 1;
        self.outputs
            .push_back(Output::Record(c.to_record(Some(at))));
    }

    /// Over the alert cap: close the least recently active 1 % of clusters (at least one) at
    /// the current watermark. Records are still written; no resolve is sent, since their
    /// alerts may still be firing. Batching keeps the cost amortised O(1) per alert.
    fn shed(&mut self) {
        let mut by_age: Vec<(EventTime, ClusterKey)> = self
            .clusters
            .iter()
            .map(|(k, c)| (c.last_activity, *k))
            .collect();
        let n = (by_age.len() / 100).max(1).min(by_age.len());
        if n < by_age.len() {
            by_age.select_nth_unstable(n);
        }
        let mut victims: Vec<_> = by_age[..n].to_vec();
        victims.sort_unstable();
        let at = self.watermark.max(EventTime(0));
        for (_, key) in victims {
            self.close(key, at, false);
            self.stats.clusters_shed += 1;
        }
    }
}

#[cfg(test)]
mod tests;
