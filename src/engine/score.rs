//! Scoring: a cluster's features, its score in [0, 1] with each feature's contribution, and
//! the decision thresholds. score = sigmoid(bias + Σ weightᶠ · valueᶠ); contributions are in
//! log-odds (`weight × value`), so they add up to the score's logit minus the bias. Pure:
//! everything it needs is passed in.

use super::cluster::ClusterState;
use super::rules::RuleBook;
use crate::config::EngineConfig;
use crate::event::{EventTime, Severity};
use crate::record::{Decision, Feature, Reason};

/// Feature values of one cluster, each in [0, 1].
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Features {
    pub severity: f64,
    pub flapping: f64,
    pub transient: f64,
    pub duplicate_rate: f64,
    pub blast_radius: f64,
    pub after_hours: f64,
    pub actionable_rate: f64,
}

pub fn severity_value(s: Severity) -> f64 {
    match s {
        Severity::Critical => 1.0,
        Severity::Error => 0.75,
        Severity::Warning => 0.4,
        Severity::Info => 0.1,
    }
}

fn log_share(n: usize, full: f64) -> f64 {
    ((1.0 + n as f64).ln() / (1.0 + full).ln()).min(1.0)
}

/// Whether a still-firing alert of this severity counts as transient as its rule's history
/// expects (see [`features`]): critical alerts page at once unless `hold.critical_may_wait`,
/// and `hold.learn = false` turns the expectation off.
pub fn expects_transience(cfg: &EngineConfig, s: Severity) -> bool {
    cfg.hold.learn && (s < Severity::Critical || cfg.hold.critical_may_wait)
}

pub fn features(
    c: &ClusterState,
    rules: &RuleBook,
    cfg: &EngineConfig,
    now: EventTime,
) -> Features {
    let n = c.alerts.len().max(1) as f64;
    let flapping = c.alerts.iter().filter(|a| a.flapping).count() as f64 / n;
    // An alert that resolved quickly is transient; one still firing is as likely to be as
    // its rule's history says for an episode this old (the decision must be made from what
    // is known now, and a rule whose failures nearly all clear by themselves within minutes
    // is the textbook alert nobody needs to be woken for).
    let cap = cfg.hold.max_ms;
    let strength = cfg.score.prior.strength;
    let transient = c
        .alerts
        .iter()
        .map(|a| {
            if a.transient {
                1.0
            } else if a.is_firing() && expects_transience(cfg, a.severity) {
                rules.get(a.rule).map_or(0.0, |r| {
                    r.transient_share(now.as_millis() - a.episode_start.as_millis(), cap, strength)
                })
            } else {
                0.0
            }
        })
        .sum::<f64>()
        / n;
    let episodes: u64 = c.alerts.iter().map(|a| 1 + a.flaps as u64).sum();
    let duplicate_rate = if c.raw_events > 0 {
        (c.raw_events.saturating_sub(episodes)) as f64 / c.raw_events as f64
    } else {
        0.0
    };
    let blast_radius =
        0.5 * log_share(c.activity.len(), 10.0) + 0.5 * log_share(c.alerts.len(), 100.0);
    let after_hours = if cfg
        .hours
        .for_team(c.team.as_deref())
        .is_after_hours(c.opened_at)
    {
        1.0
    } else {
        0.0
    };
    let actionable_rate = actionable_rate(c, rules, cfg);
    Features {
        severity: severity_value(c.severity),
        flapping,
        transient,
        duplicate_rate,
        blast_radius,
        after_hours,
        actionable_rate,
    }
}

/// The learned actionable rate of the cluster: of its most actionable service.
///
/// Distinct rules firing on one service corroborate each other: a pod crash-looping *and*
/// not ready, or a deploy's error-rate warning *and* its stuck rollout, is likelier to need a
/// person than either alone. So a service's rate is the chance that at least one of its
/// rules' alerts is acted on, each rule at its learned rate (noisy-OR over its distinct
/// rules; many pods of one rule are one rule). Across services the strongest counts, not
/// their combination: symptoms on other services are usually consequences, and blast radius
/// already counts them. Alerts without a service stand alone. With
/// `score.corroborate = false`, the most actionable single rule. The first 64 distinct
/// (rule, service) pairs are plenty.
fn actionable_rate(c: &ClusterState, rules: &RuleBook, cfg: &EngineConfig) -> f64 {
    let prior = cfg.score.prior;
    let mut seen: [(u64, u64); 64] = [(0, 0); 64];
    let mut n_seen = 0;
    // (service, its combined rate) of the services seen, in a fixed array: no allocation.
    let mut by_service: [(Option<&str>, f64); 64] = [(None, 0.0); 64];
    let mut n_services = 0;
    let mut best: f64 = 0.0;
    for a in &c.alerts {
        if n_seen >= seen.len() {
            break;
        }
        let k = (a.rule.0, a.pair.map_or(0, |p| p.0));
        if seen[..n_seen].contains(&k) {
            continue;
        }
        seen[n_seen] = k;
        n_seen += 1;
        let r = rules.actionable_rate(a.rule, a.pair, prior);
        let service = a.service.as_deref().filter(|_| cfg.score.corroborate);
        let combined = match service {
            None => r,
            Some(s) => match by_service[..n_services]
                .iter_mut()
                .find(|(x, _)| *x == Some(s))
            {
                Some((_, v)) => {
                    *v = 1.0 - (1.0 - *v) * (1.0 - r);
                    *v
                }
                None => {
                    by_service[n_services] = (Some(s), r);
                    n_services += 1;
                    r
                }
            },
        };
        best = best.max(combined);
    }
    best
}

/// The score and its reasons, one per feature, in a fixed order.
pub fn score(f: &Features, cfg: &EngineConfig) -> (f64, Vec<Reason>) {
    let w = &cfg.score.weights;
    let parts = [
        (Feature::Severity, f.severity, w.severity),
        (Feature::Flapping, f.flapping, w.flapping),
        (Feature::Transient, f.transient, w.transient),
        (Feature::DuplicateRate, f.duplicate_rate, w.duplicate_rate),
        (Feature::BlastRadius, f.blast_radius, w.blast_radius),
        (Feature::AfterHours, f.after_hours, w.after_hours),
        (
            Feature::ActionableRate,
            f.actionable_rate,
            w.actionable_rate,
        ),
    ];
    let mut logit = cfg.score.bias;
    let reasons = parts
        .iter()
        .map(|&(feature, value, weight)| {
            let contribution = weight * value;
            logit += contribution;
            Reason {
                feature,
                value: round4(value),
                contribution: round4(contribution),
            }
        })
        .collect();
    (round4(1.0 / (1.0 + (-logit).exp())), reasons)
}

/// Four decimals are plenty for people and keep records byte-stable across platforms.
fn round4(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

/// Computes the cluster's score and reasons from its current state, stores them on it, and
/// returns the score.
pub fn rescore(c: &mut ClusterState, rules: &RuleBook, cfg: &EngineConfig, now: EventTime) -> f64 {
    let (s, reasons) = score(&features(c, rules, cfg, now), cfg);
    c.score = s;
    c.reasons = reasons;
    s
}

/// What a cluster that did not page becomes.
pub fn unpaged_decision(score: f64, cfg: &EngineConfig) -> Decision {
    if score >= cfg.score.ticket_threshold {
        Decision::Ticket
    } else {
        Decision::Suppress
    }
}
