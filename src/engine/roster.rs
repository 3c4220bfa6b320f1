//! What each notification group last listed, and which alerts a later notification of the
//! group leaves out.
//!
//! Alertmanager (and Grafana, which runs its notifier) sends a group's whole state in every
//! notification: each alert in the aggregation group, firing or resolved, unless the receiver's
//! `max_alerts` truncated it. An alert drops out of the group only once it is over: resolved
//! and reported, or, under `send_resolved: false`, resolved (its resolve is filtered out of
//! the notification); or when a silence or an inhibition mutes it, which for paging is as
//! good as over. So an alert one notification listed as firing and the next one of the same
//! receiver and group leaves out has stopped firing there. Under `send_resolved: false` that
//! is the only word of its end short of silence (`resend.rs`, 4 h 5 min and up), and the
//! group's next notification comes as soon as anything else in it changes.
//!
//! Whole groups only: a forwarder that splits each notification into one message per alert
//! (keeping the notification's fields), or hand-made notifications that reuse one group key
//! for unrelated alerts, would make every message leave out the alerts of the others. So a
//! receiver's listings are acted on only once it has shown that its notifications carry
//! their group's state forward: a changed listing of one of its groups repeated an alert of
//! the group's listing before it (`{A}` then `{A, B}`). Alertmanager shows that as soon as
//! an alert joins a group with one still firing; a split or made-up stream does not.
//!
//! Copies: an HA pair whose members share an external URL sends the same group twice, and a
//! delayed copy of an older notification lists alerts as they were then. A listing equal to
//! one of the last few of its group, other than the latest, that arrives within a minute of
//! the latest is taken as such a copy and changes nothing (Alertmanager notifies a group at
//! most every `group_interval`, 5 min by default; its HA peers within seconds of each other).
//! Later, it is the group back as it was: `{A}`, `{A, B}`, `{A}` is B over.
//!
//! A wrong inference is not final either: the engine remembers the episode as one silence
//! ended (`resend.rs`), so a re-send of it revives it, without teaching the re-send interval.
//!
//! Owns the last listing per (receiver, group), bounded by count ([`MAX_ROSTERS`], shedding
//! the group listed longest ago) and pruned hourly of groups none of whose alerts fires any
//! more; and the receivers known to send whole groups (bounded like the resolving receivers
//! of `resend.rs`). Must not: end alerts (`mod.rs` does, as it does for silence), or read
//! the wall clock (times are the engine's observed time).

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use super::cap::shed_oldest;
use super::resend::MAX_RESOLVING_SENDERS;
use crate::event::{Fingerprint, GroupKey, Listing, SenderId};

/// The most groups whose last listing is kept. A deployment has hundreds to thousands of
/// groups firing at once; under grouping by a per-alert label (`group_by: [pod]`) there is
/// one per alert, and a cap by alerts would cost ~100 bytes per active alert. Past it, the
/// groups listed longest ago are forgotten: their alerts' ends are judged by silence again.
pub const MAX_ROSTERS: usize = 65_536;

/// The most receivers remembered as carrying their groups forward: as many as `resend.rs`
/// remembers sending resolves (a deployment has tens; the cap bounds made-up names).
const MAX_CARRYING_RECEIVERS: usize = MAX_RESOLVING_SENDERS;

/// How many earlier listings of a group are remembered to recognise a copy.
const RECENT: usize = 3;

/// Within how long of a group's latest listing an equal copy of an earlier one is a copy.
const COPY_WINDOW_MS: i64 = 60_000;

/// How often (observed time) groups whose alerts are all over are forgotten: a group whose
/// alerts all resolve under `send_resolved: false` is never notified again.
const PRUNE_EVERY_MS: i64 = 3_600_000;

/// The last listing of one group by one receiver. Kept to 40 bytes: under fine grouping
/// there is one per few alerts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Roster {
    listed: Listing,
    /// Observed time of that listing, in seconds (what the copy window needs).
    observed_s: u32,
    /// Hashes of the latest listings, newest first (0: none); 32 bits tell a group's few
    /// recent listings apart.
    recent: [u32; RECENT],
}

fn seconds(observed_ms: i64) -> u32 {
    u32::try_from(observed_ms.max(0) / 1000).unwrap_or(u32::MAX)
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Rosters {
    groups: FxHashMap<u64, Roster>,
    /// Observed time of the last pruning.
    pruned_at: i64,
    /// Receivers whose notifications were seen carrying their group's state forward, and
    /// when last (observed seconds).
    #[serde(default)]
    whole: FxHashMap<SenderId, u32>,
}

fn key(sender: SenderId, group: GroupKey) -> u64 {
    // The group key is already a digest; folding the receiver in keeps one word per group.
    group.0 ^ u64::from(sender.0.get()).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

fn hash(l: &Listing) -> u32 {
    use std::hash::{Hash, Hasher};
    let mut h = rustc_hash::FxHasher::default();
    l.fingerprints().hash(&mut h);
    let h = h.finish();
    // 0 marks an empty slot.
    ((h ^ (h >> 32)) as u32).max(1)
}

impl Rosters {
    pub fn len(&self) -> usize {
        self.groups.len()
    }

    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// `sender` listed `listed` for `group` at observed time `observed_now`. Returns the
    /// alerts its previous listing had and this one does not (none for a group's first
    /// listing, for a copy of an earlier one, and for a receiver not yet seen carrying a
    /// group's state forward). Keeps at most `cap` groups; the second value is how many groups and
    /// receivers were shed (the ones listed longest ago; groups in batches of a sixteenth of
    /// the cap, so a map kept at its cap does not sort itself on every new group).
    pub fn listed(
        &mut self,
        sender: SenderId,
        group: GroupKey,
        listed: &Listing,
        observed_now: i64,
        cap: usize,
    ) -> (Vec<Fingerprint>, u64) {
        let h = hash(listed);
        let k = key(sender, group);
        let now_s = seconds(observed_now);
        let mut shed = 0;
        let left = match self.groups.get_mut(&k) {
            Some(r) if r.recent[0] == h => {
                r.observed_s = now_s;
                Vec::new()
            }
            Some(r)
                if r.recent[1..].contains(&h)
                    && i64::from(now_s.saturating_sub(r.observed_s)) * 1000 < COPY_WINDOW_MS =>
            {
                Vec::new()
            }
            Some(r) => {
                let (kept, left): (Vec<Fingerprint>, Vec<Fingerprint>) = r
                    .listed
                    .fingerprints()
                    .iter()
                    .partition(|&&fp| listed.contains(fp));
                if !kept.is_empty() {
                    self.whole.insert(sender, now_s);
                    shed += shed_oldest(&mut self.whole, MAX_CARRYING_RECEIVERS, 0, |t| *t);
                }
                let left = if self.whole.contains_key(&sender) {
                    left
                } else {
                    Vec::new()
                };
                r.recent.rotate_right(1);
                r.recent[0] = h;
                r.listed = listed.clone();
                r.observed_s = now_s;
                left
            }
            None => {
                let mut recent = [0; RECENT];
                recent[0] = h;
                self.groups.insert(
                    k,
                    Roster {
                        listed: listed.clone(),
                        observed_s: now_s,
                        recent,
                    },
                );
                Vec::new()
            }
        };
        shed += shed_oldest(&mut self.groups, cap, cap / 16, |r| r.observed_s);
        (left, shed)
    }

    /// Hourly: forgets the groups none of whose listed alerts `fires`.
    pub fn prune(&mut self, observed_now: i64, fires: impl Fn(Fingerprint) -> bool) {
        if observed_now.saturating_sub(self.pruned_at) < PRUNE_EVERY_MS {
            return;
        }
        self.pruned_at = observed_now;
        self.groups
            .retain(|_, r| r.listed.fingerprints().iter().any(|&fp| fires(fp)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sender(n: u32) -> SenderId {
        SenderId(std::num::NonZeroU32::new(n).expect("non-zero"))
    }

    fn listing(fps: &[u64]) -> Listing {
        Listing::new(fps.iter().map(|&f| Fingerprint(f)).collect())
    }

    fn left(r: Vec<Fingerprint>) -> Vec<u64> {
        r.iter().map(|f| f.0).collect()
    }

    #[test]
    fn what_the_next_listing_leaves_out_is_reported_once() {
        let mut r = Rosters::default();
        let (s, g) = (sender(1), GroupKey(7));
        assert_eq!(
            left(r.listed(s, g, &listing(&[1, 2]), 0, 10).0),
            Vec::<u64>::new()
        );
        assert_eq!(
            left(r.listed(s, g, &listing(&[2, 1, 3]), 5, 10).0),
            Vec::<u64>::new()
        );
        assert_eq!(left(r.listed(s, g, &listing(&[3]), 9, 10).0), vec![1, 2]);
        assert_eq!(
            left(r.listed(s, g, &listing(&[3]), 12, 10).0),
            Vec::<u64>::new()
        );
        // Another receiver's or another group's listing is its own.
        assert_eq!(
            left(r.listed(sender(2), g, &listing(&[9]), 13, 10).0),
            Vec::<u64>::new()
        );
        assert_eq!(
            left(r.listed(s, GroupKey(8), &listing(&[9]), 13, 10).0),
            Vec::<u64>::new()
        );
        assert_eq!(left(r.listed(s, g, &listing(&[4]), 14, 10).0), vec![3]);
    }

    #[test]
    fn a_receiver_not_seen_carrying_a_group_forward_is_not_judged_by_its_listings() {
        // A forwarder splitting each notification into one message per alert: each message
        // "leaves out" the others. Nothing is inferred until one of the receiver's groups
        // repeats an alert in a changed listing.
        let mut r = Rosters::default();
        let (s, g) = (sender(1), GroupKey(7));
        for (i, fp) in [1, 2, 1, 2].into_iter().enumerate() {
            let at = i as i64 * 300_000;
            assert_eq!(
                left(r.listed(s, g, &listing(&[fp]), at, 10).0),
                Vec::<u64>::new()
            );
        }
        // Another group of the receiver shows it sends whole groups; from then on it counts.
        let _ = r.listed(s, GroupKey(8), &listing(&[5]), 1_100_000, 10);
        let _ = r.listed(s, GroupKey(8), &listing(&[5, 6]), 1_200_000, 10);
        let _ = r.listed(s, g, &listing(&[2, 1]), 1_500_000, 10);
        assert_eq!(
            left(r.listed(s, g, &listing(&[1]), 1_800_000, 10).0),
            vec![2]
        );
    }

    #[test]
    fn a_group_key_reused_for_unrelated_alerts_is_not_a_group_state() {
        // Hand-made notifications with one fixed key: no listing repeats an alert of the one
        // before it, so none is read as the group's state.
        let mut r = Rosters::default();
        let (s, g) = (sender(1), GroupKey(7));
        for (i, fps) in [&[1][..], &[2, 3], &[4]].into_iter().enumerate() {
            let at = i as i64 * 300_000;
            assert_eq!(
                left(r.listed(s, g, &listing(fps), at, 10).0),
                Vec::<u64>::new()
            );
        }
        // Once a listing carries an alert forward, the receiver's groups are read as states.
        let _ = r.listed(s, g, &listing(&[4, 9]), 900_000, 10);
        assert_eq!(
            left(r.listed(s, g, &listing(&[9]), 1_200_000, 10).0),
            vec![4]
        );
    }

    #[test]
    fn a_delayed_copy_of_an_earlier_listing_changes_nothing() {
        let mut r = Rosters::default();
        let (s, g) = (sender(1), GroupKey(7));
        let _ = r.listed(s, g, &listing(&[1]), 0, 10);
        let _ = r.listed(s, g, &listing(&[1, 2]), 1, 10);
        assert_eq!(
            left(r.listed(s, g, &listing(&[1]), 2, 10).0),
            Vec::<u64>::new(),
            "a copy"
        );
        // The copy did not replace the latest: 2 is still known as listed.
        assert_eq!(left(r.listed(s, g, &listing(&[1, 3]), 3, 10).0), vec![2]);
    }

    #[test]
    fn a_group_back_as_it_was_a_notification_later_is_not_a_copy() {
        let mut r = Rosters::default();
        let (s, g) = (sender(1), GroupKey(7));
        let _ = r.listed(s, g, &listing(&[1]), 0, 10);
        let _ = r.listed(s, g, &listing(&[1, 2]), 300_000, 10);
        assert_eq!(left(r.listed(s, g, &listing(&[1]), 600_000, 10).0), vec![2]);
    }

    #[test]
    fn capped_shedding_the_group_listed_longest_ago_and_pruned_of_groups_that_are_over() {
        let mut r = Rosters::default();
        let mut shed = 0;
        for i in 0..5u64 {
            shed += r
                .listed(sender(1), GroupKey(i), &listing(&[i]), i as i64 * 60_000, 3)
                .1;
        }
        assert_eq!((shed, r.len()), (2, 3));
        assert_eq!(
            left(
                r.listed(sender(1), GroupKey(0), &listing(&[9]), 6 * 60_000, 3)
                    .0
            ),
            Vec::<u64>::new(),
            "shed: its listing is forgotten"
        );
        r.prune(2 * PRUNE_EVERY_MS, |fp| fp.0 == 4);
        assert_eq!(r.len(), 1);
    }
}
