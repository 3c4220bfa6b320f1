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
//! configuration, not once per standing alert. A standing alert re-sent after a longer gap
//! than judged, with nothing ended in between (its receiver reports ends, below), teaches
//! the same.
//!
//! Learning from the mistake still costs every standing alert of the first repeat period its
//! page. Most receivers need no guess at all: one with `send_resolved: true` (the default of
//! Alertmanager's webhook and PagerDuty receivers, and of Grafana's contact points) reports
//! every end, so its silence means "no change", not "over". A receiver heard sending a
//! resolve is remembered as one that reports ends, and its alerts are judged by the longest
//! silence any Alertmanager keeps ([`MAX_LEARNED_MS`]): the judgement stays a safety net
//! for a lost notification, not a guess at the repeat interval. Receivers that never sent a
//! resolve (`send_resolved: false`) keep the configured or learned interval.
//!
//! Owns the remembered episodes (bounded: by age and by count, shedding the oldest), the
//! learned interval and the receivers that report ends (bounded by count, shedding the one
//! heard resolving longest ago). Must not: decide what the engine does with a re-sent alert
//! (`mod.rs` revives it), read the wall clock (gaps are in the engine's observed time), or
//! lower the configured interval (a sender that repeats more often is simply heard more
//! often).

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use super::cap::shed_oldest;
use crate::event::{EventTime, Fingerprint, SenderId};

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

/// The most receivers remembered as reporting ends. A deployment has tens; the cap only
/// bounds what a stream of made-up receiver names could cost.
pub const MAX_RESOLVING_SENDERS: usize = 4096;

/// An episode that silence ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct Ended {
    episode_start: EventTime,
    /// Observed time (ms) when it was last heard before the judgement.
    heard_observed: i64,
    /// Ended because its group's notification left it out (`roster.rs`), not for silence:
    /// a re-send of it revives it but says nothing about how often its sender repeats.
    #[serde(default)]
    left_out: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ResendInterval {
    /// The longest gap between re-sends seen so far, plus slack (ms of observed time); 0
    /// before any.
    learned_ms: i64,
    ended: FxHashMap<Fingerprint, Ended>,
    /// Observed time of the last pruning by age.
    pruned_at: i64,
    /// Receivers heard sending a resolve (`send_resolved: true`), and the observed time of
    /// the last one.
    #[serde(default)]
    resolving: FxHashMap<SenderId, i64>,
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

    /// The silence to judge an alert of `sender` by: for a receiver that reports ends, the
    /// longest any sender goes between re-sends (unless more is configured); else
    /// [`Self::silence_ms`].
    pub fn silence_for(&self, sender: Option<SenderId>, configured_ms: i64) -> i64 {
        let reports_ends = sender.is_some_and(|s| self.resolving.contains_key(&s));
        if reports_ends && configured_ms > 0 {
            configured_ms.max(MAX_LEARNED_MS)
        } else {
            self.silence_ms(configured_ms)
        }
    }

    /// How many receivers are known to report ends.
    pub fn resolving_senders(&self) -> usize {
        self.resolving.len()
    }

    /// `sender` sent a resolve at observed time `observed_now`: it reports ends. Returns how
    /// many receivers were forgotten to stay within [`MAX_RESOLVING_SENDERS`] (the one heard
    /// resolving longest ago).
    pub fn sender_resolved(&mut self, sender: SenderId, observed_now: i64) -> u64 {
        self.resolving.insert(sender, observed_now);
        shed_oldest(&mut self.resolving, MAX_RESOLVING_SENDERS, 0, |at| *at)
    }

    /// Remembers that silence ended `fp`'s episode starting `episode_start`, last heard at
    /// observed time `heard_observed`. Keeps at most `cap` episodes; returns how many were
    /// shed to stay within it (the oldest). `left_out`: its group's notification left it out
    /// (it was not silence, so a re-send of it teaches no interval).
    pub fn ended(
        &mut self,
        fp: Fingerprint,
        episode_start: EventTime,
        heard_observed: i64,
        observed_now: i64,
        cap: usize,
        left_out: bool,
    ) -> u64 {
        self.ended.insert(
            fp,
            Ended {
                episode_start,
                heard_observed,
                left_out,
            },
        );
        if self.ended.len() <= cap && observed_now.saturating_sub(self.pruned_at) < PRUNE_EVERY_MS {
            return 0;
        }
        // Too old to teach anything first, then, over the cap, the oldest.
        self.pruned_at = observed_now;
        self.ended
            .retain(|_, e| observed_now.saturating_sub(e.heard_observed) <= MAX_LEARNED_MS);
        shed_oldest(&mut self.ended, cap, 0, |e| e.heard_observed)
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
                if !e.left_out {
                    self.learn(observed_now.saturating_sub(e.heard_observed));
                }
                self.ended.remove(&fp);
                true
            }
            _ => false,
        }
    }

    /// A firing alert was sent again with its episode's start after `gap_ms` of observed
    /// time unheard: if that is longer than the silence judged by, its sender repeats less
    /// often than judged, and the interval grows to the gap (plus slack). Never shrinks.
    pub fn heard_after(&mut self, gap_ms: i64, configured_ms: i64) {
        if configured_ms > 0 && gap_ms > self.silence_ms(configured_ms) {
            self.learn(gap_ms);
        }
    }

    fn learn(&mut self, gap_ms: i64) {
        self.learned_ms = self
            .learned_ms
            .max(gap_ms.saturating_add(SLACK_MS).min(MAX_LEARNED_MS));
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
        r.ended(fp, EventTime(0), 0, 4 * H, 10, false);
        // Another episode of the same alert teaches nothing.
        assert!(!r.resent(fp, EventTime(1), 12 * H));
        assert!(r.resent(fp, EventTime(0), 12 * H));
        assert_eq!(r.silence_ms(4 * H), 12 * H + SLACK_MS);
        // Reported resolved after it was judged over: a later copy of it is stale.
        r.ended(fp, EventTime(0), 0, 4 * H, 10, false);
        r.resolved(fp, EventTime(5 * H));
        assert!(!r.resent(fp, EventTime(0), 13 * H));
        // Learned once: the episode is forgotten.
        assert!(!r.resent(fp, EventTime(0), 13 * H));
        // Never below what is configured, never on when turned off, never past the cap.
        assert_eq!(r.silence_ms(24 * H), 24 * H);
        assert_eq!(r.silence_ms(0), 0);
        r.ended(fp, EventTime(5), 0, 0, 10, false);
        assert!(r.resent(fp, EventTime(5), 30 * 24 * H));
        assert_eq!(r.learned_ms, MAX_LEARNED_MS);
    }

    #[test]
    fn remembers_at_most_its_cap_shedding_the_oldest() {
        let mut r = ResendInterval::default();
        let mut shed = 0;
        for i in 0..5u64 {
            shed += r.ended(Fingerprint(i), EventTime(0), i as i64 * H, 5 * H, 3, false);
        }
        assert_eq!(shed, 2);
        assert_eq!(r.ended.len(), 3);
        assert!(!r.resent(Fingerprint(0), EventTime(0), 6 * H), "shed");
        assert!(r.resent(Fingerprint(4), EventTime(0), 6 * H), "kept");
        // Episodes older than anything the interval may grow to are forgotten as time goes.
        r.ended(Fingerprint(9), EventTime(0), 200 * H, 200 * H, 3, false);
        assert_eq!(r.ended.len(), 1);
    }

    fn sender(n: u32) -> SenderId {
        SenderId(std::num::NonZeroU32::new(n).expect("non-zero"))
    }

    #[test]
    fn a_receiver_heard_resolving_is_judged_by_the_longest_silence() {
        let mut r = ResendInterval::default();
        assert_eq!(r.silence_for(Some(sender(1)), 4 * H), 4 * H);
        assert_eq!(r.silence_for(None, 4 * H), 4 * H);
        assert_eq!(r.sender_resolved(sender(1), 0), 0);
        assert_eq!(r.silence_for(Some(sender(1)), 4 * H), MAX_LEARNED_MS);
        assert_eq!(
            r.silence_for(Some(sender(2)), 4 * H),
            4 * H,
            "another receiver"
        );
        assert_eq!(r.silence_for(None, 4 * H), 4 * H);
        // More configured is kept; turned off stays off.
        assert_eq!(r.silence_for(Some(sender(1)), 200 * H), 200 * H);
        assert_eq!(r.silence_for(Some(sender(1)), 0), 0);
    }

    #[test]
    fn receivers_heard_resolving_are_capped_shedding_the_one_heard_longest_ago() {
        let mut r = ResendInterval::default();
        let mut shed = 0;
        for i in 0..MAX_RESOLVING_SENDERS as u32 + 2 {
            // Receiver 1 keeps resolving; the others once each.
            shed += r.sender_resolved(sender(i + 2), i64::from(i));
            shed += r.sender_resolved(sender(1), i64::from(i));
        }
        assert_eq!(shed, 3);
        assert_eq!(r.resolving_senders(), MAX_RESOLVING_SENDERS);
        assert_eq!(r.silence_for(Some(sender(1)), H), MAX_LEARNED_MS, "kept");
        assert_eq!(r.silence_for(Some(sender(2)), H), H, "shed first");
    }

    #[test]
    fn a_re_send_after_a_longer_gap_than_judged_teaches_it_without_an_ended_episode() {
        let mut r = ResendInterval::default();
        r.heard_after(4 * H, 4 * H);
        assert_eq!(
            r.silence_ms(4 * H),
            4 * H,
            "not longer than judged: nothing learned"
        );
        r.heard_after(12 * H, 4 * H);
        assert_eq!(r.silence_ms(4 * H), 12 * H + SLACK_MS);
        r.heard_after(6 * H, 4 * H);
        assert_eq!(r.silence_ms(4 * H), 12 * H + SLACK_MS, "never shrinks");
        r.heard_after(30 * 24 * H, 4 * H);
        assert_eq!(r.silence_ms(4 * H), MAX_LEARNED_MS, "capped");
        let mut off = ResendInterval::default();
        off.heard_after(12 * H, 0);
        assert_eq!(off.learned_ms, 0, "the judgement turned off learns nothing");
    }
}
