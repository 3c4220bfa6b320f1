//! Dedup: which open cluster, if any, already holds an alert, and what a new event for it is.
//!
//! Keyed by our label-set fingerprint, never by wall-clock windows: a repeat is a repeat
//! however long after the first it arrives, as long as the alert's cluster is open. Owns the
//! fingerprint → cluster index and the judgements of an event against its alert's episode
//! (stale, or the start of an episode whose predecessor ended unreported); does not own
//! cluster contents (`cluster.rs`) or what the engine does with a judgement (`mod.rs`).
//!
//! Delivery order is not trusted: two inputs or partitions run out of step and senders
//! retry, so an event may arrive after a later state of its alert.

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use super::cluster::{AlertState, ClusterKey};
use crate::event::{AlertEvent, EventTime, Fingerprint, Source};

/// A firing event delivered after the resolve of the episode it belongs to: that episode
/// is over. Taking it as a re-fire would leave the alert firing with nothing left to
/// resolve it. An event with an end of its own (a log record, Prometheus' `endsAt`) is not
/// stale: re-fired, it resolves itself.
pub fn is_stale_firing(a: &AlertState, ev: &AlertEvent) -> bool {
    ev.ends_at.is_none() && a.resolved_at.is_some_and(|r| ev.time < r)
}

/// A resolve of an earlier episode, delivered after the current one began.
pub fn is_stale_resolve(a: &AlertState, ev: &AlertEvent) -> bool {
    ev.time < a.episode_start
}

/// Whether a firing event's time is its episode's start, kept by every re-send
/// (Alertmanager's, Grafana's and Prometheus' `startsAt`): a later one is a later episode.
/// Log records and PagerDuty events are stamped when they are sent.
pub fn starts_name_episodes(source: Source) -> bool {
    matches!(
        source,
        Source::Alertmanager | Source::Grafana | Source::Prometheus
    )
}

/// A firing alert sent again with a later start, unheard for longer than `silence_ms` (the
/// longest a sender goes between re-sends): the sender saw the episode we know end and a new
/// one begin, and the resolve never reached us (a receiver with `send_resolved: false`, a
/// lost notification). Returns when the old episode is taken to have ended: when it was last
/// heard firing. Within `silence_ms`, a later start is the same problem: Alertmanager sends
/// only the firing alert when one resolves and fires again between two notifications.
pub fn unreported_end(a: &AlertState, ev: &AlertEvent, silence_ms: i64) -> Option<EventTime> {
    (silence_ms > 0
        && starts_name_episodes(ev.source)
        && a.is_firing()
        && ev.time > a.episode_start
        && ev.time > a.heard.saturating_add_ms(silence_ms))
    .then_some(a.heard)
}

/// Index of the alerts in open clusters.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct AlertIndex {
    by_fingerprint: FxHashMap<Fingerprint, ClusterKey>,
}

impl AlertIndex {
    pub fn get(&self, fp: Fingerprint) -> Option<ClusterKey> {
        self.by_fingerprint.get(&fp).copied()
    }

    pub fn insert(&mut self, fp: Fingerprint, key: ClusterKey) {
        self.by_fingerprint.insert(fp, key);
    }

    pub fn remove(&mut self, fp: Fingerprint) {
        self.by_fingerprint.remove(&fp);
    }

    pub fn len(&self) -> usize {
        self.by_fingerprint.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_fingerprint.is_empty()
    }
}
