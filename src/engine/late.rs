//! Late acknowledgements: an outcome heard after its cluster closed still teaches.
//!
//! A cluster that closes resolved and unacknowledged teaches its rules "not actioned". But
//! the acknowledgement may only be late in reaching noisegate: the PagerDuty webhook topic
//! lags the alerts topic after a restart (a consumer catches up on both backlogs at its own
//! pace), or a webhook is retried for minutes. A PagerDuty v3 webhook carries when the
//! acknowledgement happened, so when one arrives for a cluster that closed, and says a
//! person acknowledged it before it resolved, the lesson was wrong: its weight moves from
//! "not actioned" to "actioned", as if the acknowledgement had arrived in time.
//!
//! Owns the record of recent negative lessons and the keys that name them (cluster id,
//! the sender's keys, alert fingerprints), as [`super::link::LinkIndex`] names open
//! clusters. Decides nothing about pages. Bounded: lessons older than
//! `score.feedback_window` are forgotten, at most [`MAX_LESSONS`] are kept (the oldest shed
//! first, counted), each named by at most [`MAX_KEYS`] keys.

use std::collections::VecDeque;

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use super::rules::{PairKey, RuleBook, RuleKey};
use crate::event::{AlertEvent, EventTime};

/// Negative lessons kept for correction.
pub const MAX_LESSONS: usize = 5_000;
/// Keys kept per lesson: the cluster id and the senders' keys first, then fingerprints. A
/// late acknowledgement naming one alert of a storm by fingerprint is rare; a checkpoint
/// that carries every storm alert's fingerprint for days is not.
pub const MAX_KEYS: usize = 16;

/// What one closed cluster taught as "not actioned".
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Lesson {
    /// Sequence number (the index key), so a shed lesson's keys can be told from newer ones.
    seq: u64,
    pub closed_at: EventTime,
    /// An acknowledgement at or before this would have made it "actioned".
    pub resolved_at: EventTime,
    pub rules: Vec<(RuleKey, f64)>,
    pub pairs: Vec<(PairKey, f64)>,
    /// The strings that name the cluster (its id, its sender's keys, its fingerprints).
    keys: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct LateLessons {
    lessons: VecDeque<Lesson>,
    by_key: FxHashMap<String, u64>,
    next: u64,
}

impl LateLessons {
    /// Records what a cluster closing at `closed_at` taught as "not actioned".
    pub fn record(
        &mut self,
        closed_at: EventTime,
        resolved_at: EventTime,
        rules: Vec<(RuleKey, f64)>,
        pairs: Vec<(PairKey, f64)>,
        keys: Vec<String>,
    ) -> u64 {
        let mut keys = keys;
        keys.truncate(MAX_KEYS);
        let seq = self.next;
        self.next += 1;
        for k in &keys {
            self.by_key.insert(k.clone(), seq);
        }
        self.lessons.push_back(Lesson {
            seq,
            closed_at,
            resolved_at,
            rules,
            pairs,
            keys,
        });
        let mut shed = 0;
        while self.lessons.len() > MAX_LESSONS {
            self.drop_oldest();
            shed += 1;
        }
        shed
    }

    /// Forgets lessons that closed before `before`.
    pub fn expire(&mut self, before: EventTime) {
        while self.lessons.front().is_some_and(|l| l.closed_at < before) {
            self.drop_oldest();
        }
    }

    fn drop_oldest(&mut self) {
        if let Some(l) = self.lessons.pop_front() {
            for k in &l.keys {
                if self.by_key.get(k) == Some(&l.seq) {
                    self.by_key.remove(k);
                }
            }
        }
    }

    /// A person's acknowledgement that named no open cluster: if it names a recent lesson
    /// and happened before that cluster resolved, the lesson is reversed in `rules` (and
    /// forgotten, so it is reversed once). Returns whether it was.
    pub fn correct(&mut self, ev: &AlertEvent, rules: &mut RuleBook) -> bool {
        let fp = ev.fingerprint.to_string();
        let seq = [
            ev.dedup_key.as_ref().map(|k| k.as_str()),
            ev.source_id.as_deref(),
            Some(fp.as_str()),
        ]
        .into_iter()
        .flatten()
        .find_map(|k| self.by_key.get(k).copied());
        let Some(seq) = seq else {
            return false;
        };
        // Sequence numbers grow from front to back.
        let Ok(i) = self.lessons.binary_search_by_key(&seq, |l| l.seq) else {
            return false;
        };
        if ev.time > self.lessons[i].resolved_at {
            return false;
        }
        let Some(l) = self.lessons.remove(i) else {
            return false;
        };
        for k in &l.keys {
            if self.by_key.get(k) == Some(&l.seq) {
                self.by_key.remove(k);
            }
        }
        for (r, w) in l.rules {
            rules.reverse_outcome(r, w);
        }
        for (p, w) in l.pairs {
            rules.reverse_pair_outcome(p, w);
        }
        true
    }

    pub fn len(&self) -> usize {
        self.lessons.len()
    }

    pub fn is_empty(&self) -> bool {
        self.lessons.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lessons_and_their_keys_stay_bounded() {
        let mut l = LateLessons::default();
        let keys = |i: usize| (0..40).map(|k| format!("{i}-{k}")).collect::<Vec<_>>();
        let mut shed = 0;
        for i in 0..MAX_LESSONS + 3 {
            let t = EventTime(i as i64);
            shed += l.record(t, t, vec![(RuleKey(1), 1.0)], Vec::new(), keys(i));
        }
        assert_eq!((l.len(), shed), (MAX_LESSONS, 3));
        assert_eq!(
            l.by_key.len(),
            MAX_LESSONS * MAX_KEYS,
            "shed lessons' keys go too"
        );
        l.expire(EventTime(MAX_LESSONS as i64));
        assert_eq!(l.len(), 3);
        assert_eq!(l.by_key.len(), 3 * MAX_KEYS);
    }
}
