//! How long a sender may go between re-sends of a firing alert, learned from being wrong.
//!
//! The engine takes a firing alert as over once its sender has not sent it again for
//! `engine.max_resend_interval` (4 h 5 min: Alertmanager's default `repeat_interval` plus
//! `group_interval`). A sender configured to repeat less often (kube-prometheus ships
//! `repeat_interval: 12h`) re-sends a standing alert after the engine has already ended it:
//! its page resolved while the problem went on, and a new cluster for the same episode later.
//! The re-send proves the mistake, since it carries the episode's own start. This module
//! remembers the episodes that silence ended, and when one is heard again raises the silence
//! the engine judges by to the gap it just saw, so the mistake is made once per sender
//! configuration, not once per standing alert.
//!
//! Owns the remembered episodes (bounded: by age and by count, shedding the oldest) and the
//! learned interval. Must not: decide what the engine does with a re-sent alert (`mod.rs`
//! revives it), read the wall clock (gaps are in the engine's observed time), or lower the
//! configured interval (a sender that repeats more often is simply heard more often).

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use crate::event::{EventTime, Fingerprint};

/// The most the learned interval may grow to: Alertmanager's notification log keeps what it
/// sent for `--data.retention` (120 h by default), so it repeats a firing alert at least that
/// often whatever `repeat_interval` says; plus its `group_interval`. A longer gap (a sender
/// down for days) teaches nothing more.
pub const MAX_LEARNED_MS: i64 = 120 * 3_600_000 + 5 * 60_000;

/// Slack added to a gap seen: a sender's re-sends drift by up to its `group_interval`.
const SLACK_MS: i64 = 5 * 60_000;

/// How often (observed time) episodes too old to teach anything are forgotten: with
/// `send_resolved: false` every episode ends by silence, and most are never heard again.
const PRUNE_EVERY_MS: i64 = 3_600_000;

/// An episode that silence ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct Ended {
    episode_start: EventTime,
    /// Observed time (ms) when it was last heard before the judgement.
    heard_observed: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ResendInterval {
    /// The longest gap between re-sends seen so far, plus slack (ms of observed time); 0
    /// before any.
    learned_ms: i64,
    ended: FxHashMap<Fingerprint, Ended>,
    /// Observed time of the last pruning by age.
    pruned_at: i64,
}

impl ResendInterval {
    /// The silence to judge by: the configured one, or the learned one if longer. A
    /// configured 0 (the judgement turned off) stays off.
    pub fn silence_ms(&self, configured_ms: i64) -> i64 {
        if configured_ms <= 0 {
            0
        } else {
            configured_ms.max(self.learned_ms)
        }
    }

    /// Remembers that silence ended `fp`'s episode starting `episode_start`, last heard at
    /// observed time `heard_observed`. Keeps at most `cap` episodes; returns how many were
    /// shed to stay within it (the oldest).
    pub fn ended(
        &mut self,
        fp: Fingerprint,
        episode_start: EventTime,
        heard_observed: i64,
        observed_now: i64,
        cap: usize,
    ) -> u64 {
        self.ended.insert(
            fp,
            Ended {
                episode_start,
                heard_observed,
            },
        );
        if self.ended.len() <= cap && observed_now.saturating_sub(self.pruned_at) < PRUNE_EVERY_MS {
            return 0;
        }
        // Too old to teach anything first, then, over the cap, the oldest.
        self.pruned_at = observed_now;
        self.ended
            .retain(|_, e| observed_now.saturating_sub(e.heard_observed) <= MAX_LEARNED_MS);
        let over = self.ended.len().saturating_sub(cap);
        if over == 0 {
            return 0;
        }
        let mut by_age: Vec<(i64, Fingerprint)> = self
            .ended
            .iter()
            .map(|(fp, e)| (e.heard_observed, *fp))
            .collect();
        by_age.sort_unstable();
        for (_, fp) in by_age.into_iter().take(over) {
            self.ended.remove(&fp);
        }
        over as u64
    }

    /// A firing re-send of `fp` stamped with its episode's start: if silence ended that very
    /// episode, the sender went longer between re-sends than the engine allowed. Learns the
    /// gap (at observed time `observed_now`) and returns `true`: the alert still fires.
    pub fn resent(&mut self, fp: Fingerprint, start: EventTime, observed_now: i64) -> bool {
        if self.ended.is_empty() {
            return false;
        }
        match self.ended.get(&fp) {
            Some(e) if e.episode_start == start => {
                let gap = observed_now.saturating_sub(e.heard_observed);
                self.learned_ms = self
                    .learned_ms
                    .max(gap.saturating_add(SLACK_MS).min(MAX_LEARNED_MS));
                self.ended.remove(&fp);
                true
            }
            _ => false,
        }
    }

    /// `fp` was reported resolved at `at`: if that ends the episode silence ended, a
    /// firing of it delivered later is a stale copy. Forgets it.
    pub fn resolved(&mut self, fp: Fingerprint, at: EventTime) {
        if self.ended.get(&fp).is_some_and(|e| at >= e.episode_start) {
            self.ended.remove(&fp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: i64 = 3_600_000;

    #[test]
    fn a_re_send_of_an_ended_episode_teaches_its_gap() {
        let mut r = ResendInterval::default();
        let fp = Fingerprint(7);
        assert_eq!(r.silence_ms(4 * H), 4 * H);
        r.ended(fp, EventTime(0), 0, 4 * H, 10);
        // Another episode of the same alert teaches nothing.
        assert!(!r.resent(fp, EventTime(1), 12 * H));
        assert!(r.resent(fp, EventTime(0), 12 * H));
        assert_eq!(r.silence_ms(4 * H), 12 * H + SLACK_MS);
        // Reported resolved after it was judged over: a later copy of it is stale.
        r.ended(fp, EventTime(0), 0, 4 * H, 10);
        r.resolved(fp, EventTime(5 * H));
        assert!(!r.resent(fp, EventTime(0), 13 * H));
        // Learned once: the episode is forgotten.
        assert!(!r.resent(fp, EventTime(0), 13 * H));
        // Never below what is configured, never on when turned off, never past the cap.
        assert_eq!(r.silence_ms(24 * H), 24 * H);
        assert_eq!(r.silence_ms(0), 0);
        r.ended(fp, EventTime(5), 0, 0, 10);
        assert!(r.resent(fp, EventTime(5), 30 * 24 * H));
        assert_eq!(r.learned_ms, MAX_LEARNED_MS);
    }

    #[test]
    fn remembers_at_most_its_cap_shedding_the_oldest() {
        let mut r = ResendInterval::default();
        let mut shed = 0;
        for i in 0..5u64 {
            shed += r.ended(Fingerprint(i), EventTime(0), i as i64 * H, 5 * H, 3);
        }
        assert_eq!(shed, 2);
        assert_eq!(r.ended.len(), 3);
        assert!(!r.resent(Fingerprint(0), EventTime(0), 6 * H), "shed");
        assert!(r.resent(Fingerprint(4), EventTime(0), 6 * H), "kept");
        // Episodes older than anything the interval may grow to are forgotten as time goes.
        r.ended(Fingerprint(9), EventTime(0), 200 * H, 200 * H, 3);
        assert_eq!(r.ended.len(), 1);
    }
}
