//! Learned per-rule statistics: how often a rule's clusters were actioned by a person (a
//! Beta(1, 1) posterior, updated online from outcomes), and how long its episodes last when
//! they resolve by themselves (for learned holds). Keyed by rule name, bounded by
//! `engine.max_rules` (least recently seen forgotten first). Decides nothing.

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use crate::config::HoldConfig;
use crate::event::EventTime;

/// Upper bounds of the quick-resolve duration buckets, in ms (up to the 5-minute cap).
const BUCKETS_MS: [i64; 8] = [
    15_000, 30_000, 60_000, 90_000, 120_000, 180_000, 240_000, 300_000,
];

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RuleStats {
    pub actioned: u32,
    pub not_actioned: u32,
    /// Episodes that ended (resolved).
    pub episodes: u32,
    /// Of those, how many resolved within the hold cap, by duration bucket.
    pub quick: [u32; 8],
    pub last_seen: EventTime,
}

impl RuleStats {
    /// Posterior mean of the actioned share under a Beta(1, 1) prior: 0.5 when unknown.
    pub fn actionable_rate(&self) -> f64 {
        (1.0 + self.actioned as f64) / (2.0 + self.actioned as f64 + self.not_actioned as f64)
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

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RuleBook {
    rules: FxHashMap<String, RuleStats>,
    /// Rules forgotten because of the cap.
    pub shed: u64,
}

impl RuleBook {
    pub fn get(&self, rule: &str) -> Option<&RuleStats> {
        self.rules.get(rule)
    }

    pub fn actionable_rate(&self, rule: &str) -> f64 {
        self.rules.get(rule).map_or(0.5, RuleStats::actionable_rate)
    }

    fn entry(&mut self, rule: &str, t: EventTime) -> &mut RuleStats {
        if !self.rules.contains_key(rule) {
            self.rules.insert(rule.to_string(), RuleStats::default());
        }
        let s = self
            .rules
            .get_mut(rule)
            .expect("inserted just above if it was missing");
        s.last_seen = s.last_seen.max(t);
        s
    }

    /// An episode of `rule` ended after `duration_ms`.
    pub fn episode(&mut self, rule: &str, duration_ms: i64, t: EventTime, cap_ms: i64) {
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

    /// A cluster holding `rule` ended: actioned by a person, or not.
    pub fn outcome(&mut self, rule: &str, actioned: bool, t: EventTime) {
        let s = self.entry(rule, t);
        if actioned {
            s.actioned = s.actioned.saturating_add(1);
        } else {
            s.not_actioned = s.not_actioned.saturating_add(1);
        }
    }

    pub fn len(&self) -> usize {
        self.rules.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Over the cap: forget the least recently seen 1 % (at least the excess).
    pub fn enforce_cap(&mut self, cap: usize) {
        if self.rules.len() <= cap {
            return;
        }
        let mut by_age: Vec<(EventTime, String)> = self
            .rules
            .iter()
            .map(|(k, s)| (s.last_seen, k.clone()))
            .collect();
        by_age.sort_unstable();
        let n = (self.rules.len() - cap).max(self.rules.len() / 100);
        for (_, k) in by_age.into_iter().take(n) {
            self.rules.remove(&k);
            self.shed += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hold_cfg() -> HoldConfig {
        HoldConfig {
            by_severity_ms: [120_000; 4],
            learn: true,
            max_ms: 300_000,
            min_history: 8,
        }
    }

    #[test]
    fn learned_hold_only_for_rules_that_usually_self_resolve() {
        let mut b = RuleBook::default();
        for i in 0..10 {
            b.episode("Blip", 20_000 + i * 1000, EventTime(0), 300_000);
            b.episode("Real", 3_600_000, EventTime(0), 300_000);
        }
        assert_eq!(
            b.get("Blip").unwrap().learned_hold(&hold_cfg()),
            Some(30_000)
        );
        assert_eq!(b.get("Real").unwrap().learned_hold(&hold_cfg()), Some(0));
        b.episode("New", 1000, EventTime(0), 300_000);
        assert_eq!(b.get("New").unwrap().learned_hold(&hold_cfg()), None);
    }

    #[test]
    fn beta_posterior() {
        let mut b = RuleBook::default();
        assert_eq!(b.actionable_rate("X"), 0.5);
        for _ in 0..8 {
            b.outcome("X", false, EventTime(0));
        }
        assert!((b.actionable_rate("X") - 0.1).abs() < 1e-9);
    }
}
