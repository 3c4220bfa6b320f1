//! Per-rule statistics, the noise leaders, and what to change about them.
//!
//! Owns the thresholds that turn numbers into advice ([`FLAP_MIN`], …) and the wording of
//! each recommendation with its evidence. Pure: records in, values out; no rendering.

use std::collections::BTreeMap;

use rustc_hash::FxHashMap;
use serde::Serialize;

use super::compute::{
    auto_resolved_before_ack, is_actionable, CoFire, Durations, NoiseLeaders, ReportOptions,
    RuleStats, TRANSIENT_MS,
};
use super::config::Oncall;
use super::fmt_secs;
use crate::record::{ClusterRecord, Decision};

/// Flapping advice needs at least this many flaps and this rate (transitions per hour).
pub const FLAP_MIN: u32 = 3;
pub const FLAP_RATE_MIN: f64 = 2.0;
/// `for:` advice: at least this many pages, most of them transient, at most a quarter
/// actioned (a longer `for:` delays the real pages too).
pub const TRANSIENT_PAGES_MIN: u32 = 2;
/// Demote advice: at least this many pages, none actioned.
pub const NEVER_ACTIONED_PAGES_MIN: u32 = 3;
/// Merge advice: in at least this many clusters, 90 % of them with the same other rule.
pub const COFIRE_CLUSTERS_MIN: u32 = 3;
pub const COFIRE_SHARE: f64 = 0.9;
/// Delete advice looks back this far (and only when the input reaches that far back).
pub const DELETE_LOOKBACK_MS: i64 = 30 * 24 * 3_600_000;

/// What to do about a rule.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Action {
    /// Add or extend the rule's `for:` to this many minutes: it fires briefly and resolves
    /// by itself.
    AddFor { minutes: u32 },
    /// Fix the flapping: hysteresis in the expression, or `keep_firing_for`.
    FixFlapping { flaps_per_hour: f64 },
    /// Raise the threshold or route it as a ticket: it pages and nobody acts.
    DemoteToTicket,
    /// Merge with (or inhibit by) the rule it always fires with.
    MergeWith {
        alertname: String,
        service: Option<String>,
    },
    /// No human action in 30 days.
    Delete,
}

#[derive(Debug, Clone, Serialize)]
pub struct Recommendation {
    pub alertname: String,
    pub service: Option<String>,
    pub action: Action,
    /// The change, in one line.
    pub change: String,
    /// The numbers behind it.
    pub evidence: String,
}

/// A rule's name as shown: `Alert` (svc `service`).
pub fn rule_label(alertname: &str, service: Option<&str>) -> String {
    match service {
        Some(s) => format!("{alertname} (svc {s})"),
        None => alertname.to_string(),
    }
}

#[derive(Default)]
struct RuleAcc {
    stats: RuleStats,
    firing: Option<Durations>,
    span_ms: i64,
    short_max_ms: i64,
    co: FxHashMap<usize, u32>,
    teams: BTreeMap<String, u32>,
}

/// The alert's service as `[labels]` resolves it (so an exporter's `service` label is not
/// taken for the failing service), else the cluster's first.
fn service_of<'a>(
    opts: &ReportOptions,
    r: &'a ClusterRecord,
    a: &'a crate::record::AlertSummary,
) -> Option<&'a str> {
    opts.decode
        .service_in(&a.labels)
        .or_else(|| r.services.first().map(String::as_str))
}

/// Statistics for every rule seen in the period, sorted by alertname then service.
pub fn rule_stats(
    records: &[ClusterRecord],
    oncall: &Oncall,
    opts: &ReportOptions,
) -> Vec<RuleStats> {
    let period = &opts.period;
    let (from, to) = (period.from(), period.to());
    let lookback = to.0.saturating_sub(DELETE_LOOKBACK_MS);
    let in_team = |r: &ClusterRecord| {
        opts.team
            .as_deref()
            .is_none_or(|t| r.team.as_deref() == Some(t))
    };
    // The input reaches 30 days back only if it has records in the look-back's first week
    // (one stray old record is not 30 days of history).
    let first_week = lookback + 7 * 24 * 3_600_000;
    let reaches_30d = records
        .iter()
        .filter(|r| in_team(r))
        .any(|r| r.opened_at.0 >= lookback && r.opened_at.0 < first_week);

    let mut index: FxHashMap<String, usize> = FxHashMap::default();
    let mut accs: Vec<RuleAcc> = Vec::new();
    let mut key = String::new();
    let mut ids: Vec<usize> = Vec::new();
    for r in records.iter().filter(|r| in_team(r)) {
        let opened_in = r.opened_at >= from && r.opened_at < to;
        let paged_in = r.paged_at.filter(|&p| p >= from && p < to);
        let in_30d = reaches_30d && r.opened_at.0 >= lookback && r.opened_at < to;
        if !opened_in && paged_in.is_none() && !in_30d {
            continue;
        }
        // Rule of each alert; the first-firing alert's rule owns the page.
        ids.clear();
        let mut primary: Option<(crate::event::EventTime, usize, i64)> = None;
        for a in &r.alerts {
            let svc = service_of(opts, r, a);
            key.clear();
            key.push_str(&a.alertname);
            key.push('\u{1f}');
            key.push_str(svc.unwrap_or(""));
            let id = match index.get(key.as_str()) {
                Some(&i) => i,
                None => {
                    index.insert(key.clone(), accs.len());
                    accs.push(RuleAcc {
                        stats: RuleStats {
                            alertname: a.alertname.clone(),
                            service: svc.map(str::to_string),
                            ..RuleStats::default()
                        },
                        ..RuleAcc::default()
                    });
                    accs.len() - 1
                }
            };
            let dur = (a.last_seen.0 - a.first_seen.0).max(0);
            if opened_in {
                let acc = &mut accs[id];
                acc.stats.raw_events += a.events;
                acc.stats.firings += 1;
                if dur < TRANSIENT_MS {
                    acc.stats.short_firings += 1;
                    acc.short_max_ms = acc.short_max_ms.max(dur);
                }
                acc.firing.get_or_insert_with(Durations::new).record_ms(dur);
                acc.stats.flaps += a.flaps;
                acc.span_ms += dur;
            }
            match primary {
                Some((t, _, _)) if t <= a.first_seen => {
                    if let Some(p) = primary.as_mut().filter(|p| p.1 == id) {
                        p.2 = p.2.max(dur);
                    }
                }
                _ => primary = Some((a.first_seen, id, dur)),
            }
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        if opened_in {
            for &i in &ids {
                let acc = &mut accs[i];
                acc.stats.clusters += 1;
                match r.decision {
                    Decision::Ticket => acc.stats.tickets += 1,
                    Decision::Suppress => acc.stats.suppressed += 1,
                    Decision::Page => {}
                }
                *acc.teams
                    .entry(r.team.clone().unwrap_or_default())
                    .or_default() += 1;
                for &j in &ids {
                    if j != i {
                        *acc.co.entry(j).or_default() += 1;
                    }
                }
            }
        }
        if in_30d {
            for &i in &ids {
                let s = &mut accs[i].stats;
                *s.clusters_30d.get_or_insert(0) += 1;
                *s.human_acks_30d.get_or_insert(0) += u32::from(r.acked_at.is_some());
            }
        }
        if let (Some(at), Some((_, p, dur))) = (paged_in, primary) {
            let rot = oncall.for_team(r.team.as_deref());
            let s = &mut accs[p].stats;
            s.pages += 1;
            s.actionable_pages += u32::from(is_actionable(r));
            let auto = auto_resolved_before_ack(r);
            s.auto_resolved_pages += u32::from(auto);
            s.transient_pages += u32::from(auto && dur < TRANSIENT_MS);
            s.after_hours_pages += u32::from(rot.work.is_after_hours(at));
            s.sleep_pages += u32::from(rot.is_sleep(at));
        }
    }

    let names: Vec<(String, Option<String>)> = accs
        .iter()
        .map(|a| (a.stats.alertname.clone(), a.stats.service.clone()))
        .collect();
    let mut out: Vec<RuleStats> = accs
        .into_iter()
        .map(|mut a| {
            let s = &mut a.stats;
            s.actionable_rate =
                (s.pages > 0).then(|| f64::from(s.actionable_pages) / f64::from(s.pages));
            s.noise = s.pages - s.actionable_pages;
            if let Some(f) = &a.firing {
                let st = f.stats();
                s.firing_p50_s = st.p50_s;
                s.firing_p90_s = st.p90_s;
            }
            if s.firings > 0 {
                let hours = (a.span_ms as f64 / 3_600_000.0).max(1.0);
                s.flaps_per_hour = Some(f64::from(s.flaps) / hours);
            }
            // Most frequent partner; ties go to the smaller name, so output is stable.
            s.co_fires_with =
                a.co.iter()
                    .max_by(|x, y| x.1.cmp(y.1).then_with(|| names[*y.0].cmp(&names[*x.0])))
                    .map(|(&j, &c)| CoFire {
                        alertname: names[j].0.clone(),
                        service: names[j].1.clone(),
                        clusters: c,
                    });
            s.team = a
                .teams
                .iter()
                .max_by(|x, y| x.1.cmp(y.1).then_with(|| y.0.cmp(x.0)))
                .map(|(t, _)| t.clone())
                .filter(|t| !t.is_empty());
            a.stats
        })
        // Rules only seen in the 30-day look-back are not part of this period.
        .filter(|s| s.clusters > 0 || s.pages > 0)
        .collect();
    out.sort_by(|a, b| (&a.alertname, &a.service).cmp(&(&b.alertname, &b.service)));
    out
}

/// Top N by noise (then pages, then name) and by raw volume.
pub fn leaders(rules: &[RuleStats], n: usize) -> NoiseLeaders {
    let mut by_noise: Vec<RuleStats> = rules.iter().filter(|r| r.pages > 0).cloned().collect();
    by_noise.sort_by(|a, b| b.noise.cmp(&a.noise).then(b.pages.cmp(&a.pages)));
    by_noise.truncate(n);
    let mut by_volume: Vec<RuleStats> = rules.to_vec();
    by_volume.sort_by_key(|r| std::cmp::Reverse(r.raw_events));
    by_volume.truncate(n);
    NoiseLeaders {
        by_noise,
        by_volume,
    }
}

/// Rules that flap, most transitions per hour first.
pub fn flapping(rules: &[RuleStats], n: usize) -> Vec<RuleStats> {
    let mut v: Vec<RuleStats> = rules.iter().filter(|r| r.flaps > 0).cloned().collect();
    v.sort_by(|a, b| {
        b.flaps_per_hour
            .unwrap_or(0.0)
            .total_cmp(&a.flaps_per_hour.unwrap_or(0.0))
            .then(b.flaps.cmp(&a.flaps))
    });
    v.truncate(n);
    v
}

/// Rules with firings under 5 minutes, most such firings first.
pub fn transient(rules: &[RuleStats], n: usize) -> Vec<RuleStats> {
    let mut v: Vec<RuleStats> = rules
        .iter()
        .filter(|r| r.short_firings > 0)
        .cloned()
        .collect();
    v.sort_by_key(|r| std::cmp::Reverse(r.short_firings));
    v.truncate(n);
    v
}

/// Recommendations for the noise leaders (both lists, each rule once, noisiest first).
pub fn recommend(leaders: &NoiseLeaders) -> Vec<Recommendation> {
    let mut seen: Vec<(&str, Option<&str>)> = Vec::new();
    let mut out = Vec::new();
    for r in leaders.by_noise.iter().chain(&leaders.by_volume) {
        let k = (r.alertname.as_str(), r.service.as_deref());
        if seen.contains(&k) {
            continue;
        }
        seen.push(k);
        out.extend(for_rule(r));
    }
    out
}

fn pct(a: u32, b: u32) -> String {
    if b == 0 {
        "–".into()
    } else {
        format!("{:.0}%", 100.0 * f64::from(a) / f64::from(b))
    }
}

/// The advice for one rule: at most one change to the rule itself (flapping, then `for:`,
/// then delete, then demote — the most specific fix first) and possibly a merge.
pub fn for_rule(r: &RuleStats) -> Vec<Recommendation> {
    let mut out = Vec::new();
    let mk = |action: Action, change: String, evidence: String| Recommendation {
        alertname: r.alertname.clone(),
        service: r.service.clone(),
        action,
        change,
        evidence,
    };
    let median = r.firing_p50_s.map(fmt_secs).unwrap_or_else(|| "–".into());
    let pages_line = format!(
        "{} pages, {} actioned ({}), {} auto-resolved before ack",
        r.pages,
        r.actionable_pages,
        pct(r.actionable_pages, r.pages),
        r.auto_resolved_pages
    );
    let rate = r.flaps_per_hour.unwrap_or(0.0);
    if r.flaps >= FLAP_MIN && rate >= FLAP_RATE_MIN {
        out.push(mk(
            Action::FixFlapping {
                flaps_per_hour: (rate * 10.0).round() / 10.0,
            },
            "fix the flapping: add hysteresis to the expression or `keep_firing_for: 10m`".into(),
            format!(
                "{} fire/resolve transitions over {} firings ({rate:.1} per firing hour); {pages_line}",
                r.flaps, r.firings
            ),
        ));
    } else if r.pages >= TRANSIENT_PAGES_MIN
        && r.transient_pages * 2 > r.pages
        && r.actionable_pages * 4 <= r.pages
    {
        // Long enough to outlast the observed short firings: the longest under-5-minute firing
        // rounded up to the minute, plus one, between 2 and 10 minutes.
        let p90 = r.firing_p90_s.unwrap_or(0).min(TRANSIENT_MS as u64 / 1000);
        let minutes = ((p90.div_ceil(60)) as u32 + 1).clamp(2, 10);
        out.push(mk(
            Action::AddFor { minutes },
            format!("add or extend `for: {minutes}m`"),
            format!(
                "{pages_line}; {}/{} pages fired under 5 min and resolved by themselves; median firing {median}; {}/{} firings under 5 min",
                r.transient_pages, r.pages, r.short_firings, r.firings
            ),
        ));
    } else if r.human_acks_30d == Some(0) && r.clusters_30d.unwrap_or(0) > 0 {
        out.push(mk(
            Action::Delete,
            "delete the rule (or make it a dashboard panel)".into(),
            format!(
                "no human acknowledgement in 30 days over {} clusters; this period: {pages_line}, {} raw events",
                r.clusters_30d.unwrap_or(0),
                r.raw_events
            ),
        ));
    } else if r.pages >= NEVER_ACTIONED_PAGES_MIN && r.actionable_pages == 0 {
        out.push(mk(
            Action::DemoteToTicket,
            "raise the threshold or route it as a ticket (severity: warning)".into(),
            format!(
                "{pages_line}; never actioned this period; {} after hours, {} in sleep hours; median firing {median}",
                r.after_hours_pages, r.sleep_pages
            ),
        ));
    }
    if let Some(c) = &r.co_fires_with {
        if r.clusters >= COFIRE_CLUSTERS_MIN
            && f64::from(c.clusters) >= COFIRE_SHARE * f64::from(r.clusters)
        {
            let other = rule_label(&c.alertname, c.service.as_deref());
            out.push(mk(
                Action::MergeWith {
                    alertname: c.alertname.clone(),
                    service: c.service.clone(),
                },
                format!("merge with `{other}`, or inhibit it while `{other}` fires"),
                format!(
                    "{}/{} of its clusters also contain `{other}`",
                    c.clusters, r.clusters
                ),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule() -> RuleStats {
        RuleStats {
            alertname: "KubePodCrashLooping".into(),
            service: Some("checkout".into()),
            pages: 14,
            firings: 14,
            clusters: 14,
            ..RuleStats::default()
        }
    }

    #[test]
    fn transient_pages_get_a_for_clause_with_evidence() {
        let r = RuleStats {
            transient_pages: 12,
            auto_resolved_pages: 12,
            short_firings: 12,
            firing_p50_s: Some(190),
            firing_p90_s: Some(250),
            ..rule()
        };
        let recs = for_rule(&r);
        assert_eq!(recs.len(), 1);
        assert_eq!(recs[0].action, Action::AddFor { minutes: 6 });
        assert!(recs[0].change.contains("`for: 6m`"), "{}", recs[0].change);
        assert!(
            recs[0].evidence.contains("14 pages, 0 actioned")
                && recs[0].evidence.contains("12/14 pages fired under 5 min")
                && recs[0].evidence.contains("median firing 3m10s"),
            "{}",
            recs[0].evidence
        );
    }

    #[test]
    fn never_actioned_is_demoted_and_co_firing_is_merged() {
        let r = RuleStats {
            co_fires_with: Some(CoFire {
                alertname: "KubeNodeNotReady".into(),
                service: None,
                clusters: 13,
            }),
            ..rule()
        };
        let recs = for_rule(&r);
        assert_eq!(recs[0].action, Action::DemoteToTicket);
        assert!(matches!(recs[1].action, Action::MergeWith { .. }));
        assert!(
            recs[1].evidence.starts_with("13/14"),
            "{}",
            recs[1].evidence
        );
        // Actioned pages: no advice.
        let ok = RuleStats {
            actionable_pages: 10,
            ..rule()
        };
        assert!(for_rule(&ok).is_empty());
    }
}
