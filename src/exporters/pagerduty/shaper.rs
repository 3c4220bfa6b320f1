//! The PagerDuty sink's queue and rate shaping, sans I/O: which event goes out next, when, and
//! what happens after an answer. Owns per-routing-key lanes, the sliding rate window, retry
//! backoff and coalescing. It never sends, sleeps or reads a clock: the shell in
//! [`super`] passes `now` in and performs the requests this hands out.
//!
//! Policy, per routing key (PagerDuty rate-limits per integration key):
//! - **At most `limit` requests in any window of `per`** (a sliding log, not a token bucket:
//!   a bucket allows `capacity + rate` in one window, which would overshoot PagerDuty's limit
//!   in exactly the storm this exists for). Every attempt counts, failed ones too.
//! - **One request in flight per key**, so a resolve never overtakes its trigger.
//! - **Triggers outrank** updates and resolves: a new incident matters more than tidying an
//!   old one.
//! - **Coalescing**: a queued, unsent event absorbs later events of the same `dedup_key` —
//!   a re-trigger replaces a queued trigger's body, a resolve replaces a queued update (the
//!   update is moot once resolved), a second resolve joins the first. A queued first trigger
//!   is never cancelled by its resolve: the engine decided to page, so PagerDuty hears about
//!   the incident, then its resolve.
//! - **Retries**: 429, 5xx, 408 and transport errors put the event back at the head of its
//!   lane, blocked for `max(Retry-After, backoff)`; backoff is exponential with jitter, capped.
//!   Other 4xx are permanent rejections: reported, never retried.
//!
//! Nothing is dropped here: every event enqueued ends as delivered, rejected or coalesced
//! into another, and its waiters are handed back so the service can count it done.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::{Duration, Instant};

use rand::{Rng as _, SeedableRng as _};

use crate::record::PageAction;

/// Shaping settings (validated config).
#[derive(Debug, Clone)]
pub struct ShaperConfig {
    /// Requests allowed per routing key within `per`.
    pub limit: u32,
    pub per: Duration,
    /// First retry delay; doubles per attempt up to `backoff_max`.
    pub backoff_base: Duration,
    pub backoff_max: Duration,
}

/// How a request ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// 2xx: PagerDuty has the event.
    Delivered,
    /// A 4xx other than 408/429: the event itself is wrong; retrying cannot help.
    Rejected,
    /// 429 (`throttled`), 5xx, 408 or a transport error: try again later, no sooner than
    /// `retry_after` when the server said so.
    Retry {
        retry_after: Option<Duration>,
        throttled: bool,
    },
}

/// One event waiting to be sent. `W` is whatever the shell needs to report completion.
#[derive(Debug)]
pub struct Item<W> {
    pub dedup_key: String,
    pub action: PageAction,
    /// The request body (PagerDuty Events v2 JSON).
    pub body: Vec<u8>,
    /// Everyone to tell when this ends: one per event coalesced into it.
    pub waiters: Vec<W>,
    pub queued_at: Instant,
    /// Sent attempts so far.
    pub attempts: u32,
    /// A first trigger (outranks the rest) rather than an update or resolve.
    first: bool,
}

/// A request handed to the shell: send `item.body` to PagerDuty, then call
/// [`Shaper::on_result`] with this back.
#[derive(Debug)]
pub struct Attempt<W> {
    pub routing_key: String,
    pub item: Item<W>,
}

/// Counters the shell exports.
#[derive(Debug, Default, Clone, PartialEq, serde::Serialize)]
pub struct ShaperStats {
    pub enqueued: u64,
    pub delivered: u64,
    pub rejected: u64,
    pub coalesced: u64,
    pub retries: u64,
    pub throttled: u64,
    /// Events that could not go out at once because their key's rate window was full or
    /// the key was backing off (counted once per event).
    pub delayed: u64,
}

struct Lane<W> {
    /// Send times within the last `per`.
    window: VecDeque<Instant>,
    blocked_until: Option<Instant>,
    /// Consecutive failures (for backoff).
    failures: u32,
    busy: bool,
    triggers: VecDeque<u64>,
    others: VecDeque<u64>,
    items: HashMap<u64, Item<W>>,
    /// Unsent items by dedup key: (queued trigger, queued update/resolve).
    unsent: HashMap<String, (Option<u64>, Option<u64>)>,
    /// Items already counted as delayed.
    delayed: std::collections::HashSet<u64>,
}

impl<W> Default for Lane<W> {
    fn default() -> Self {
        Lane {
            window: VecDeque::new(),
            blocked_until: None,
            failures: 0,
            busy: false,
            triggers: VecDeque::new(),
            others: VecDeque::new(),
            items: HashMap::new(),
            unsent: HashMap::new(),
            delayed: Default::default(),
        }
    }
}

impl<W> Lane<W> {
    fn queued(&self) -> usize {
        self.items.len()
    }

    /// When this lane may send next (ignoring `busy`).
    fn free_at(&self, cfg: &ShaperConfig, now: Instant) -> Instant {
        let window = if self.window.len() >= cfg.limit as usize {
            self.window[self.window.len() - cfg.limit as usize] + cfg.per
        } else {
            now
        };
        window.max(self.blocked_until.unwrap_or(now)).max(now)
    }

    fn trim(&mut self, per: Duration, now: Instant) {
        while self.window.front().is_some_and(|t| *t + per <= now) {
            self.window.pop_front();
        }
    }
}

pub struct Shaper<W> {
    cfg: ShaperConfig,
    lanes: BTreeMap<String, Lane<W>>,
    next_id: u64,
    queued: usize,
    rng: rand_chacha::ChaCha8Rng,
    stats: ShaperStats,
}

impl<W> Shaper<W> {
    pub fn new(cfg: ShaperConfig, seed: u64) -> Shaper<W> {
        Shaper {
            cfg,
            lanes: BTreeMap::new(),
            next_id: 0,
            queued: 0,
            rng: rand_chacha::ChaCha8Rng::seed_from_u64(seed),
            stats: ShaperStats::default(),
        }
    }

    pub fn stats(&self) -> &ShaperStats {
        &self.stats
    }

    /// Events queued, in flight not included.
    pub fn queued(&self) -> usize {
        self.queued
    }

    /// When the oldest queued event was queued.
    pub fn oldest(&self) -> Option<Instant> {
        self.lanes
            .values()
            .flat_map(|l| l.items.values().map(|i| i.queued_at))
            .min()
    }

    /// Queues one event. Returns `true` when it was coalesced into an event already queued.
    pub fn enqueue(
        &mut self,
        routing_key: &str,
        dedup_key: &str,
        action: PageAction,
        body: Vec<u8>,
        waiter: W,
        now: Instant,
    ) -> bool {
        self.stats.enqueued += 1;
        let lane = self.lanes.entry(routing_key.to_string()).or_default();
        let (q_trigger, q_other) = lane.unsent.get(dedup_key).copied().unwrap_or_default();
        let target = match action {
            PageAction::Trigger => q_trigger.or(q_other.filter(|id| {
                lane.items
                    .get(id)
                    .is_some_and(|i| i.action == PageAction::Trigger)
            })),
            PageAction::Resolve => q_other,
        };
        if let Some(item) = target.and_then(|id| lane.items.get_mut(&id)) {
            // Same key still unsent: the newest body says it all (a re-trigger's payload, or
            // a resolve superseding an update), and its waiters ride along. A resolve never
            // lands on a first trigger: those are indexed apart and never its target.
            item.body = body;
            item.action = action;
            item.waiters.push(waiter);
            self.stats.coalesced += 1;
            return true;
        }
        let id = self.next_id;
        self.next_id += 1;
        // A trigger is "first" unless its key has a resolve waiting ahead of it (then order
        // matters more than rank: it goes behind the resolve).
        let first = action == PageAction::Trigger && q_other.is_none();
        let entry = lane.unsent.entry(dedup_key.to_string()).or_default();
        if first {
            entry.0 = Some(id);
            lane.triggers.push_back(id);
        } else {
            entry.1 = Some(id);
            lane.others.push_back(id);
        }
        lane.items.insert(
            id,
            Item {
                dedup_key: dedup_key.to_string(),
                action,
                body,
                waiters: vec![waiter],
                queued_at: now,
                attempts: 0,
                first,
            },
        );
        self.queued += 1;
        false
    }

    /// The next request that may go out now, if any. Call until `None` after every change.
    pub fn poll_send(&mut self, now: Instant) -> Option<Attempt<W>> {
        let cfg = &self.cfg;
        let mut chosen = None;
        for (key, lane) in self.lanes.iter_mut() {
            if lane.busy || lane.items.is_empty() {
                continue;
            }
            lane.trim(cfg.per, now);
            if lane.free_at(cfg, now) > now {
                let ids: Vec<u64> = lane.items.keys().copied().collect();
                for id in ids {
                    if lane.delayed.insert(id) {
                        self.stats.delayed += 1;
                    }
                }
                continue;
            }
            chosen = Some(key.clone());
            break;
        }
        let key = chosen?;
        let lane = self.lanes.get_mut(&key)?;
        let id = lane
            .triggers
            .pop_front()
            .or_else(|| lane.others.pop_front())?;
        let item = lane.items.remove(&id)?;
        lane.delayed.remove(&id);
        if let Some(e) = lane.unsent.get_mut(&item.dedup_key) {
            if e.0 == Some(id) {
                e.0 = None;
            }
            if e.1 == Some(id) {
                e.1 = None;
            }
            if *e == (None, None) {
                lane.unsent.remove(&item.dedup_key);
            }
        }
        lane.busy = true;
        lane.window.push_back(now);
        self.queued -= 1;
        Some(Attempt {
            routing_key: key,
            item: Item {
                attempts: item.attempts + 1,
                ..item
            },
        })
    }

    /// Takes a request's outcome. Returns the waiters of an event that has ended (delivered
    /// or rejected); a retried event goes back to the head of its lane.
    pub fn on_result(
        &mut self,
        attempt: Attempt<W>,
        outcome: Outcome,
        now: Instant,
    ) -> Option<(Outcome, Vec<W>)> {
        let lane = self.lanes.entry(attempt.routing_key.clone()).or_default();
        lane.busy = false;
        match outcome {
            Outcome::Delivered | Outcome::Rejected => {
                lane.failures = 0;
                lane.blocked_until = None;
                if outcome == Outcome::Delivered {
                    self.stats.delivered += 1;
                } else {
                    self.stats.rejected += 1;
                }
                Some((outcome, attempt.item.waiters))
            }
            Outcome::Retry {
                retry_after,
                throttled,
            } => {
                self.stats.retries += 1;
                if throttled {
                    self.stats.throttled += 1;
                }
                lane.failures = lane.failures.saturating_add(1);
                // Full jitter over the upper half: spreads retries of many instances without
                // ever retrying sooner than half the nominal backoff.
                let exp = self
                    .cfg
                    .backoff_base
                    .saturating_mul(1u32 << lane.failures.saturating_sub(1).min(20))
                    .min(self.cfg.backoff_max);
                let jittered = exp.mul_f64(self.rng.random_range(0.5..=1.0));
                let wait = jittered.max(retry_after.unwrap_or_default());
                lane.blocked_until = Some(now + wait);
                let id = self.next_id;
                self.next_id += 1;
                let item = attempt.item;
                let entry = lane.unsent.entry(item.dedup_key.clone()).or_default();
                // Back to the head of its queue. It stays findable for coalescing only when
                // no newer event of its key took that place meanwhile (order then matters).
                if item.first {
                    entry.0.get_or_insert(id);
                    lane.triggers.push_front(id);
                } else {
                    entry.1.get_or_insert(id);
                    lane.others.push_front(id);
                }
                lane.items.insert(id, item);
                self.queued += 1;
                None
            }
        }
    }

    /// The earliest moment a queued event could be sent (for the shell's timer); `None` when
    /// nothing is waiting on time alone.
    pub fn next_wakeup(&self, now: Instant) -> Option<Instant> {
        self.lanes
            .values()
            .filter(|l| !l.busy && l.queued() > 0)
            .map(|l| l.free_at(&self.cfg, now))
            .min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(limit: u32, per_s: u64) -> ShaperConfig {
        ShaperConfig {
            limit,
            per: Duration::from_secs(per_s),
            backoff_base: Duration::from_secs(1),
            backoff_max: Duration::from_secs(60),
        }
    }

    fn drain(s: &mut Shaper<u32>, now: Instant) -> Vec<Attempt<u32>> {
        let mut v = Vec::new();
        while let Some(a) = s.poll_send(now) {
            v.push(a);
        }
        v
    }

    #[test]
    fn never_more_than_limit_in_any_window() {
        let t0 = Instant::now();
        let mut s = Shaper::new(cfg(5, 60), 1);
        for i in 0..40u32 {
            s.enqueue("rk", &format!("k{i}"), PageAction::Trigger, vec![], i, t0);
        }
        let mut sends = Vec::new();
        let mut now = t0;
        while s.queued() > 0 {
            while let Some(a) = s.poll_send(now) {
                sends.push(now);
                s.on_result(a, Outcome::Delivered, now);
            }
            match s.next_wakeup(now) {
                Some(w) => now = w.max(now + Duration::from_millis(1)),
                None => break,
            }
        }
        assert_eq!(sends.len(), 40);
        for (i, t) in sends.iter().enumerate() {
            let in_window = sends[i..]
                .iter()
                .take_while(|u| **u < *t + Duration::from_secs(60))
                .count();
            assert!(
                in_window <= 5,
                "{in_window} sends within a minute of send {i}"
            );
        }
        // 40 at 5/min needs 7 more windows after the first.
        assert!(now >= t0 + Duration::from_secs(7 * 60), "{:?}", now - t0);
        assert_eq!(s.stats().delivered, 40);
        assert_eq!(s.stats().delayed, 35);
    }

    #[test]
    fn triggers_outrank_resolves_and_a_resolve_never_overtakes_its_trigger() {
        let t0 = Instant::now();
        let mut s = Shaper::new(cfg(1, 60), 1);
        s.enqueue("rk", "a", PageAction::Trigger, b"ta".to_vec(), 0, t0);
        let a = s.poll_send(t0).expect("first goes at once");
        s.enqueue("rk", "a", PageAction::Resolve, b"ra".to_vec(), 1, t0);
        s.enqueue("rk", "b", PageAction::Trigger, b"tb".to_vec(), 2, t0);
        s.enqueue("rk", "b", PageAction::Resolve, b"rb".to_vec(), 3, t0);
        s.enqueue("rk", "c", PageAction::Trigger, b"tc".to_vec(), 4, t0);
        s.on_result(a, Outcome::Delivered, t0);
        let mut order = Vec::new();
        let mut now = t0;
        while s.queued() > 0 {
            now = s.next_wakeup(now).expect("something waits");
            for a in drain(&mut s, now) {
                order.push(String::from_utf8(a.item.body.clone()).unwrap_or_default());
                s.on_result(a, Outcome::Delivered, now);
            }
        }
        assert_eq!(order, ["tb", "tc", "ra", "rb"]);
    }

    #[test]
    fn queued_events_of_one_key_coalesce_but_a_first_trigger_is_never_cancelled() {
        let t0 = Instant::now();
        let mut s = Shaper::new(cfg(1, 60), 1);
        s.enqueue("rk", "busy", PageAction::Trigger, vec![], 0, t0);
        let inflight = s.poll_send(t0).expect("sent");
        // "x": first trigger, a re-trigger (update) and a resolve, all queued.
        assert!(!s.enqueue("rk", "x", PageAction::Trigger, b"t1".to_vec(), 1, t0));
        assert!(s.enqueue("rk", "x", PageAction::Trigger, b"t2".to_vec(), 2, t0));
        assert!(!s.enqueue("rk", "x", PageAction::Resolve, b"r1".to_vec(), 3, t0));
        assert!(s.enqueue("rk", "x", PageAction::Resolve, b"r2".to_vec(), 4, t0));
        assert_eq!(s.queued(), 2);
        s.on_result(inflight, Outcome::Delivered, t0);
        let mut now = t0;
        let mut got = Vec::new();
        while s.queued() > 0 {
            now = s.next_wakeup(now).expect("waits");
            for a in drain(&mut s, now) {
                let body = String::from_utf8(a.item.body.clone()).unwrap_or_default();
                let (_, w) = s.on_result(a, Outcome::Delivered, now).expect("ends");
                got.push((body, w));
            }
        }
        assert_eq!(
            got,
            [
                ("t2".to_string(), vec![1, 2]),
                ("r2".to_string(), vec![3, 4])
            ]
        );
        assert_eq!(s.stats().coalesced, 2);
    }

    #[test]
    fn retries_back_off_honour_retry_after_and_keep_order() {
        let t0 = Instant::now();
        let mut s = Shaper::new(cfg(100, 60), 7);
        s.enqueue("rk", "a", PageAction::Trigger, b"a".to_vec(), 0, t0);
        s.enqueue("rk", "b", PageAction::Trigger, b"b".to_vec(), 1, t0);
        let a = s.poll_send(t0).expect("a");
        assert!(s.poll_send(t0).is_none(), "one in flight per key");
        let retry = Outcome::Retry {
            retry_after: Some(Duration::from_secs(30)),
            throttled: true,
        };
        assert!(s.on_result(a, retry, t0).is_none());
        assert!(s.poll_send(t0 + Duration::from_secs(29)).is_none());
        let wake = s.next_wakeup(t0).expect("blocked until");
        assert_eq!(wake, t0 + Duration::from_secs(30));
        let a = s.poll_send(wake).expect("a again, before b");
        assert_eq!(a.item.body, b"a");
        assert_eq!(a.item.attempts, 2);
        // Without Retry-After: backoff keeps growing from the 429's (second failure: 2 s
        // nominal, third: 4 s, each jittered to at least half).
        let r = Outcome::Retry {
            retry_after: None,
            throttled: false,
        };
        s.on_result(a, r.clone(), wake);
        let w1 = s.next_wakeup(wake).expect("backoff") - wake;
        let a = s.poll_send(wake + w1).expect("a third time");
        s.on_result(a, r, wake + w1);
        let w2 = s.next_wakeup(wake + w1).expect("backoff") - (wake + w1);
        assert!(
            w1 >= Duration::from_secs(1) && w1 <= Duration::from_secs(2),
            "{w1:?}"
        );
        assert!(
            w2 >= Duration::from_secs(2) && w2 <= Duration::from_secs(4),
            "{w2:?}"
        );
        assert_eq!(s.stats().throttled, 1);
        assert_eq!(s.stats().retries, 3);
    }

    #[test]
    fn keys_are_shaped_independently() {
        let t0 = Instant::now();
        let mut s = Shaper::new(cfg(1, 60), 1);
        for (i, rk) in ["a", "b", "c"].iter().enumerate() {
            s.enqueue(rk, "k", PageAction::Trigger, vec![], i as u32, t0);
            s.enqueue(rk, "k2", PageAction::Trigger, vec![], 10 + i as u32, t0);
        }
        let sent = drain(&mut s, t0);
        assert_eq!(sent.len(), 3, "one per key at once");
        for a in sent {
            s.on_result(a, Outcome::Delivered, t0);
        }
        assert!(drain(&mut s, t0 + Duration::from_secs(59)).is_empty());
        assert_eq!(drain(&mut s, t0 + Duration::from_secs(60)).len(), 3);
    }
}
