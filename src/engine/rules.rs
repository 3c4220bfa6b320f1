//! Learned per-rule statistics: how often a rule's clusters were actioned by a person, and
//! how long its episodes last when they resolve by themselves (for learned holds). Decides
//! nothing.
//!
//! A rule is its name *and severity*: rule sets commonly ship one alert name at two
//! severities (`KubePersistentVolumeFillingUp` warning at 15 % free, critical at 3 %), and
//! the two mean different things. The actionable rate is learned at two levels, each pulled
//! toward the one above by `score.prior_strength` pseudo-outcomes (empirical-Bayes back-off):
//! the configured prior (`score.prior_actionable_rate`) → the rule → the rule on one service.
//! A rule people act on for one service and ignore on another is told apart once both have
//! history; a rule or pair without history gets its parent's rate.
//!
//! Keys are 64-bit hashes of (name, severity) and (name, severity, service): no allocation
//! to look one up. Both maps are bounded by `engine.max_rules` (least recently seen forgotten
//! first, counted in `shed`).

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use super::cap::shed_oldest;
use crate::config::HoldConfig;
use crate::event::{fnv1a64, EventTime, Severity};

/// Upper bounds of the quick-resolve duration buckets, in ms (up to the 5-minute cap).
const BUCKETS_MS: [i64; 8] = [
    15_000, 30_000, 60_000, 90_000, 120_000, 180_000, 240_000, 300_000,
];

/// A rule: hash of its name and severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RuleKey(pub u64);

/// A rule on one service: hash of name, severity and service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PairKey(pub u64);

fn mix(h: u64, bytes: &[u8]) -> u64 {
    let mut h = h;
    for &b in bytes {
        h ^= b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

impl RuleKey {
    pub fn of(name: &str, severity: Severity) -> RuleKey {
        RuleKey(mix(fnv1a64(name.as_bytes()), &[0xff, severity as u8]))
    }

    /// The rule on `service` (`None`: an alert without a service, which has no pair level).
    pub fn on(self, service: Option<&str>) -> Option<PairKey> {
        service.map(|s| PairKey(mix(mix(self.0, &[0xfe]), s.as_bytes())))
    }
}

/// Where the back-off starts and how strongly each level is pulled toward its parent.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Prior {
    /// The actionable rate of a rule never seen.
    pub rate: f64,
    /// Pseudo-outcomes of the parent level's rate each level starts with.
    pub strength: f64,
}

/// Outcomes of the clusters something was in, each weighted by its share of the cluster
/// (see [`RuleBook::outcome`]).
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub struct Outcomes {
    pub actioned: f64,
    pub not_actioned: f64,
    pub last_seen: EventTime,
}

impl Outcomes {
    /// Posterior mean with `strength` pseudo-outcomes at `parent`.
    pub fn rate(&self, parent: f64, strength: f64) -> f64 {
        (self.actioned + strength * parent) / (self.actioned + self.not_actioned + strength)
    }

    /// `weight` learned as "not actioned" was actioned after all (see `late.rs`).
    fn reverse(&mut self, weight: f64) {
        let w = weight.min(self.not_actioned).max(0.0);
        self.not_actioned -= w;
        self.actioned += w;
    }

    fn add(&mut self, actioned: bool, weight: f64, t: EventTime) {
        if actioned {
            self.actioned += weight;
        } else {
            self.not_actioned += weight;
        }
        self.last_seen = self.last_seen.max(t);
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RuleStats {
    pub outcomes: Outcomes,
    /// Episodes that ended (resolved).
    pub episodes: u32,
    /// Of those, how many resolved within the hold cap, by duration bucket.
    pub quick: [u32; 8],
    pub last_seen: EventTime,
}

impl RuleStats {
    /// Posterior mean of the actioned share under the prior.
    pub fn actionable_rate(&self, prior: Prior) -> f64 {
        self.outcomes.rate(prior.rate, prior.strength)
    }

    fn quick_total(&self) -> u32 {
        self.quick.iter().sum()
    }

    /// The learned hold, once the rule has enough history: long enough to cover 90 % of its
    /// quick self-resolutions if most episodes resolve quickly, else none (0).
    pub fn learned_hold(&self, cfg: &HoldConfig) -> Option<i64> {
        if self.episodes < cfg.min_history.max(1) {
            return None;
        }
        let quick = self.quick_total();
        if quick * 2 < self.episodes {
            return Some(0);
        }
        let need = (quick as f64 * 0.9).ceil() as u32;
        let mut acc = 0;
        for (i, &n) in self.quick.iter().enumerate() {
            acc += n;
            if acc >= need {
                return Some(BUCKETS_MS[i].min(cfg.max_ms));
            }
        }
        Some(cfg.max_ms)
    }
}

impl RuleStats {
    /// The chance that an episode of this rule still firing after `elapsed_ms` resolves by
    /// itself within `cap_ms` of its start (what makes an alert transient), from the rule's
    /// ended episodes, with `strength` pseudo-episodes that were not transient (a rule with
    /// little history is not presumed transient). 0 once `elapsed_ms` reaches the cap.
    pub fn transient_share(&self, elapsed_ms: i64, cap_ms: i64, strength: f64) -> f64 {
        if elapsed_ms >= cap_ms {
            return 0.0;
        }
        let mut ended = 0u32;
        let mut quick = 0u32;
        for (&b, &n) in BUCKETS_MS.iter().zip(&self.quick) {
            if b <= elapsed_ms {
                ended = ended.saturating_add(n);
            } else if b <= cap_ms.max(BUCKETS_MS[0]) {
                quick = quick.saturating_add(n);
            }
        }
        let at_risk = self.episodes.saturating_sub(ended);
        f64::from(quick) / (f64::from(at_risk) + strength.max(0.0)).max(1.0)
    }

    /// When (ms after an episode's start) [`Self::transient_share`] drops to 0: the end of
    /// the last quick bucket it has any episode in. `None` when it has none.
    pub fn transient_horizon_ms(&self, cap_ms: i64) -> Option<i64> {
        BUCKETS_MS
            .iter()
            .zip(&self.quick)
            .rev()
            .find(|(_, &n)| n > 0)
            .map(|(&b, _)| b.min(cap_ms))
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RuleBook {
    by_rule: FxHashMap<RuleKey, RuleStats>,
    by_pair: FxHashMap<PairKey, Outcomes>,
    /// Rules and (rule, service) pairs forgotten because of the cap.
    pub shed: u64,
}

impl RuleBook {
    pub fn get(&self, rule: RuleKey) -> Option<&RuleStats> {
        self.by_rule.get(&rule)
    }

    /// The rule's learned actionable rate, on `pair`'s service when that has history: the
    /// pair's own outcomes, pulled toward what the rule did on its other services (so one
    /// outcome is never counted at both levels).
    pub fn actionable_rate(&self, rule: RuleKey, pair: Option<PairKey>, prior: Prior) -> f64 {
        let all = self
            .by_rule
            .get(&rule)
            .map(|s| s.outcomes)
            .unwrap_or_default();
        let Some(own) = pair.and_then(|p| self.by_pair.get(&p)) else {
            return all.rate(prior.rate, prior.strength);
        };
        let others = Outcomes {
            actioned: (all.actioned - own.actioned).max(0.0),
            not_actioned: (all.not_actioned - own.not_actioned).max(0.0),
            last_seen: all.last_seen,
        };
        own.rate(others.rate(prior.rate, prior.strength), prior.strength)
    }

    fn entry(&mut self, rule: RuleKey, t: EventTime) -> &mut RuleStats {
        let s = self.by_rule.entry(rule).or_default();
        s.last_seen = s.last_seen.max(t);
        s
    }

    /// An episode of `rule` ended after `duration_ms`.
    pub fn episode(&mut self, rule: RuleKey, duration_ms: i64, t: EventTime, cap_ms: i64) {
        let s = self.entry(rule, t);
        s.episodes = s.episodes.saturating_add(1);
        if duration_ms <= cap_ms.min(BUCKETS_MS[BUCKETS_MS.len() - 1]) {
            let i = BUCKETS_MS
                .iter()
                .position(|&b| duration_ms <= b)
                .unwrap_or(BUCKETS_MS.len() - 1);
            s.quick[i] = s.quick[i].saturating_add(1);
        }
    }

    /// A cluster holding `rule` ended: actioned by a person, or not. `weight` is the rule's
    /// share of the cluster (1 / its distinct rules): a cluster is one outcome, shared by
    /// the rules in it. A lone alert nobody acted on is strong evidence about its rule; one
    /// of forty rules in an acknowledged outage says little about that rule on its own.
    pub fn outcome(&mut self, rule: RuleKey, actioned: bool, weight: f64, t: EventTime) {
        self.entry(rule, t).outcomes.add(actioned, weight, t);
    }

    /// A cluster holding `rule` on one service ended (`weight` as for [`Self::outcome`], over
    /// its distinct pairs).
    pub fn pair_outcome(&mut self, pair: PairKey, actioned: bool, weight: f64, t: EventTime) {
        self.by_pair
            .entry(pair)
            .or_default()
            .add(actioned, weight, t);
    }

    /// A "not actioned" outcome of `weight` was wrong: an acknowledgement that came late
    /// says it was actioned. A rule forgotten since has nothing to correct.
    pub fn reverse_outcome(&mut self, rule: RuleKey, weight: f64) {
        if let Some(s) = self.by_rule.get_mut(&rule) {
            s.outcomes.reverse(weight);
        }
    }

    /// [`Self::reverse_outcome`] for a rule on one service.
    pub fn reverse_pair_outcome(&mut self, pair: PairKey, weight: f64) {
        if let Some(o) = self.by_pair.get_mut(&pair) {
            o.reverse(weight);
        }
    }

    /// Rules with statistics.
    pub fn len(&self) -> usize {
        self.by_rule.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_rule.is_empty()
    }

    /// Over the cap: forget the least recently seen 1 % (at least the excess), in each map.
    pub fn enforce_cap(&mut self, cap: usize) {
        // A batch of 1 % so a book kept at its cap does not sort itself on every new rule.
        let batch = self.by_rule.len() / 100;
        self.shed += shed_oldest(&mut self.by_rule, cap, batch, |s| s.last_seen);
        let batch = self.by_pair.len() / 100;
        self.shed += shed_oldest(&mut self.by_pair, cap, batch, |o| o.last_seen);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Beta(1, 1): 0.5 with the weight of two outcomes (round numbers for the sums below).
    const UNIFORM: Prior = Prior {
        rate: 0.5,
        strength: 2.0,
    };

    fn hold_cfg() -> HoldConfig {
        HoldConfig {
            by_severity_ms: [120_000; 4],
            learn: true,
            max_ms: 300_000,
            min_history: 8,
            critical_may_wait: false,
        }
    }

    fn k(name: &str) -> RuleKey {
        RuleKey::of(name, Severity::Warning)
    }

    #[test]
    fn transient_share_is_the_chance_an_episode_this_old_still_clears_quickly() {
        let mut b = RuleBook::default();
        // Eight episodes: six cleared within 2 minutes, two lasted an hour.
        for _ in 0..6 {
            b.episode(k("Flaky"), 100_000, EventTime(0), 300_000);
        }
        for _ in 0..2 {
            b.episode(k("Flaky"), 3_600_000, EventTime(0), 300_000);
        }
        let r = b.get(k("Flaky")).unwrap();
        // At its start: 6 quick of 8, with two pseudo-episodes that were not quick.
        assert!((r.transient_share(0, 300_000, 2.0) - 0.6).abs() < 1e-9);
        // Past every quick resolution it ever had: nothing says it will clear now.
        assert_eq!(r.transient_share(130_000, 300_000, 2.0), 0.0);
        assert_eq!(r.transient_horizon_ms(300_000), Some(120_000));
        // A rule with no quick episodes, or none at all, is not presumed transient.
        b.episode(k("Solid"), 3_600_000, EventTime(0), 300_000);
        assert_eq!(
            b.get(k("Solid")).unwrap().transient_share(0, 300_000, 2.0),
            0.0
        );
        assert_eq!(
            b.get(k("Solid")).unwrap().transient_horizon_ms(300_000),
            None
        );
    }

    #[test]
    fn learned_hold_only_for_rules_that_usually_self_resolve() {
        let mut b = RuleBook::default();
        for i in 0..10 {
            b.episode(k("Blip"), 20_000 + i * 1000, EventTime(0), 300_000);
            b.episode(k("Real"), 3_600_000, EventTime(0), 300_000);
        }
        assert_eq!(
            b.get(k("Blip")).unwrap().learned_hold(&hold_cfg()),
            Some(30_000)
        );
        assert_eq!(b.get(k("Real")).unwrap().learned_hold(&hold_cfg()), Some(0));
        b.episode(k("New"), 1000, EventTime(0), 300_000);
        assert_eq!(b.get(k("New")).unwrap().learned_hold(&hold_cfg()), None);
    }

    #[test]
    fn beta_posterior() {
        let mut b = RuleBook::default();
        let p = UNIFORM;
        assert_eq!(b.actionable_rate(k("X"), None, p), 0.5);
        for _ in 0..8 {
            b.outcome(k("X"), false, 1.0, EventTime(0));
        }
        assert!((b.actionable_rate(k("X"), None, p) - 0.1).abs() < 1e-9);
    }

    #[test]
    fn severities_are_different_rules() {
        let mut b = RuleBook::default();
        let warn = RuleKey::of("KubePersistentVolumeFillingUp", Severity::Warning);
        let crit = RuleKey::of("KubePersistentVolumeFillingUp", Severity::Critical);
        assert_ne!(warn, crit);
        for _ in 0..20 {
            b.outcome(warn, false, 1.0, EventTime(0));
        }
        assert_eq!(b.actionable_rate(crit, None, UNIFORM), 0.5);
    }

    #[test]
    fn a_service_backs_off_to_its_rule() {
        let mut b = RuleBook::default();
        let p = UNIFORM;
        let r = k("HighLatency");
        let (api, batch) = (r.on(Some("api")), r.on(Some("batch")));
        for _ in 0..18 {
            b.outcome(r, false, 1.0, EventTime(0));
            b.pair_outcome(batch.unwrap(), false, 1.0, EventTime(0));
        }
        for _ in 0..6 {
            b.outcome(r, true, 1.0, EventTime(0));
            b.pair_outcome(api.unwrap(), true, 1.0, EventTime(0));
        }
        let rule = b.actionable_rate(r, None, p);
        assert!((rule - 7.0 / 26.0).abs() < 1e-9, "{rule}");
        // One service only: its own outcomes over the prior, not counted twice.
        let mut c = RuleBook::default();
        c.outcome(r, false, 1.0, EventTime(0));
        c.pair_outcome(api.unwrap(), false, 1.0, EventTime(0));
        assert!((c.actionable_rate(r, api, p) - 1.0 / 3.0).abs() < 1e-9);
        // A service never seen gets the rule's rate; the others their own.
        assert_eq!(b.actionable_rate(r, r.on(Some("new")), p), rule);
        assert!(b.actionable_rate(r, api, p) > 0.75);
        assert!(b.actionable_rate(r, batch, p) < 0.1);
    }

    #[test]
    fn the_cap_forgets_the_least_recently_seen() {
        let mut b = RuleBook::default();
        for i in 0..10 {
            b.outcome(k(&format!("R{i}")), false, 1.0, EventTime(i));
        }
        b.enforce_cap(5);
        assert_eq!(b.len(), 5);
        assert!(b.get(k("R9")).is_some() && b.get(k("R0")).is_none());
        assert_eq!(b.shed, 5);
    }
}
