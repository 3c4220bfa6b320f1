//! Flapping: hysteresis on an alert's state changes. An alert enters flapping after more than
//! `max_transitions` changes (fire → resolve, resolve → fire) within `window`, and leaves it
//! after `quiet` with no change. State is per fingerprint and outlives clusters, because a
//! flapping alert is exactly one that keeps coming back after its cluster closed. Owns that
//! state and its bounds; decides nothing about pages. The same history remembers when each
//! alert last resolved, so a firing delivered after its resolve, once the cluster has closed,
//! is still known for the stale event it is.

use std::collections::VecDeque;

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use super::cap::shed_oldest;
use crate::config::FlapConfig;
use crate::event::{EventTime, Fingerprint};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct FlapState {
    /// Recent change times, oldest first; at most `max_transitions + 1` kept.
    changes: VecDeque<EventTime>,
    flapping: bool,
    last_change: EventTime,
    /// When it last resolved (the epoch: not within this history).
    #[serde(default)]
    last_resolve: EventTime,
}

impl FlapState {
    fn change(&mut self, t: EventTime, cfg: &FlapConfig) -> bool {
        self.changes.push_back(t);
        while self.changes.len() > cfg.max_transitions as usize + 1 {
            self.changes.pop_front();
        }
        while self
            .changes
            .front()
            .is_some_and(|&f| t.as_millis() - f.as_millis() > cfg.window_ms)
        {
            self.changes.pop_front();
        }
        self.last_change = self.last_change.max(t);
        if self.changes.len() > cfg.max_transitions as usize {
            self.flapping = true;
        }
        self.flapping
    }

    fn is_flapping(&mut self, now: EventTime, cfg: &FlapConfig) -> bool {
        if self.flapping && now.as_millis() - self.last_change.as_millis() >= cfg.quiet_ms {
            self.flapping = false;
            self.changes.clear();
        }
        self.flapping
    }
}

/// Flap state of every alert that changed state recently. Bounded: entries quiet for longer
/// than `window + quiet` carry no information and are pruned; beyond `cap` the oldest go.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct FlapTracker {
    states: FxHashMap<Fingerprint, FlapState>,
    last_prune: EventTime,
    /// Entries dropped by the cap (not by ageing).
    pub shed: u64,
}

impl FlapTracker {
    /// Records a state change; returns whether the alert is now flapping.
    pub fn change(&mut self, fp: Fingerprint, t: EventTime, cfg: &FlapConfig) -> bool {
        self.states.entry(fp).or_default().change(t, cfg)
    }

    /// Records a resolve (a state change) at `t`; returns whether the alert is now flapping.
    pub fn resolved(&mut self, fp: Fingerprint, t: EventTime, cfg: &FlapConfig) -> bool {
        let s = self.states.entry(fp).or_default();
        s.last_resolve = s.last_resolve.max(t);
        s.change(t, cfg)
    }

    /// Whether the alert resolved after `t` (as far as this history goes back): a firing
    /// stamped `t` belongs to an episode that is over.
    pub fn resolved_after(&self, fp: Fingerprint, t: EventTime) -> bool {
        self.states.get(&fp).is_some_and(|s| s.last_resolve > t)
    }

    /// Records a state change only for an alert with history (one that was seen before and
    /// comes back); returns whether it is now flapping.
    pub fn change_if_known(&mut self, fp: Fingerprint, t: EventTime, cfg: &FlapConfig) -> bool {
        match self.states.get_mut(&fp) {
            Some(s) => s.change(t, cfg),
            None => false,
        }
    }

    pub fn is_flapping(&mut self, fp: Fingerprint, now: EventTime, cfg: &FlapConfig) -> bool {
        self.states
            .get_mut(&fp)
            .is_some_and(|s| s.is_flapping(now, cfg))
    }

    pub fn len(&self) -> usize {
        self.states.len()
    }

    pub fn is_empty(&self) -> bool {
        self.states.is_empty()
    }

    /// Drops what can no longer matter; cheap to call often (works at most once per window).
    pub fn prune(&mut self, now: EventTime, cfg: &FlapConfig, cap: usize) {
        if now.as_millis() - self.last_prune.as_millis() < cfg.window_ms && self.states.len() <= cap
        {
            return;
        }
        self.last_prune = now;
        let horizon = cfg.window_ms.saturating_add(cfg.quiet_ms);
        self.states
            .retain(|_, s| now.as_millis() - s.last_change.as_millis() <= horizon);
        self.shed += shed_oldest(&mut self.states, cap, 0, |s| s.last_change);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60_000;

    #[test]
    fn hysteresis() {
        let cfg = FlapConfig {
            max_transitions: 4,
            window_ms: 60 * MIN,
            quiet_ms: 30 * MIN,
        };
        let mut t = FlapTracker::default();
        let fp = Fingerprint(7);
        for i in 0..4 {
            assert!(!t.change(fp, EventTime(i * 5 * MIN), &cfg), "change {i}");
        }
        assert!(
            t.change(fp, EventTime(20 * MIN), &cfg),
            "fifth change within the hour"
        );
        assert!(t.is_flapping(fp, EventTime(49 * MIN), &cfg));
        assert!(
            !t.is_flapping(fp, EventTime(50 * MIN), &cfg),
            "quiet for 30 min"
        );
        // Changes spread wider than the window never flap.
        let fp2 = Fingerprint(8);
        for i in 0..10 {
            assert!(!t.change(fp2, EventTime(i * 20 * MIN), &cfg));
        }
    }
}
