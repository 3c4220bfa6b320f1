//! The metrics of one system (noisegate or the baseline) against the truth. Both systems are
//! reduced to the same input — clusters (with their pages and raw event counts) and the
//! alert spans they hold — so the numbers are computed by one piece of code.

use rustc_hash::FxHashMap;
use serde::Serialize;

use super::truth::{Truth, ALWAYS, NEVER};
use crate::event::{EventTime, Fingerprint};

/// Length of an on-call shift.
pub const SHIFT_MS: i64 = 12 * 3600 * 1000;
/// Examples of unmatched alerts / episodes kept in the report.
const EXAMPLES: usize = 10;

/// One cluster of a system.
#[derive(Debug, Clone, Default)]
pub struct ClusterIn {
    pub name: String,
    /// Its first page, if it paged.
    pub first_page: Option<i64>,
    /// Pages (triggers) it sent.
    pub pages: u64,
    /// Raw alert events folded into it.
    pub raw_events: u64,
}

/// An alert (fingerprint) seen in a cluster over `[first, last]`.
#[derive(Debug, Clone, Copy)]
pub struct Span {
    pub cluster: u32,
    pub fp: u64,
    /// The [`key_of`](super::truth::key_of) of the sender's own id for the alert, when that
    /// is not our fingerprint: tried when the truth does not know the fingerprint.
    pub sender: Option<u64>,
    pub first: i64,
    pub last: i64,
}

/// What a system produced, in the shape the metrics need.
#[derive(Debug, Clone, Default)]
pub struct SystemIn {
    pub clusters: Vec<ClusterIn>,
    pub spans: Vec<Span>,
    /// Every page sent (event time).
    pub page_times: Vec<i64>,
}

/// The shifts the data spans: `[first, first + count)` in units of [`SHIFT_MS`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Shifts {
    pub first: i64,
    pub count: i64,
}

impl Shifts {
    /// The 12 h shifts (starting 00:00 and 12:00 UTC) covering every time in `times`.
    pub fn covering(times: impl IntoIterator<Item = i64>) -> Shifts {
        let mut lo = i64::MAX;
        let mut hi = i64::MIN;
        for t in times {
            if t == NEVER || t == ALWAYS {
                continue;
            }
            let s = t.div_euclid(SHIFT_MS);
            lo = lo.min(s);
            hi = hi.max(s);
        }
        if lo > hi {
            Shifts::default()
        } else {
            Shifts {
                first: lo,
                count: hi - lo + 1,
            }
        }
    }
}

/// `num / den`, with both kept.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct Ratio {
    pub num: u64,
    pub den: u64,
    pub value: Option<f64>,
}

impl Ratio {
    pub fn new(num: u64, den: u64) -> Ratio {
        Ratio {
            num,
            den,
            value: (den > 0).then(|| num as f64 / den as f64),
        }
    }
}

/// `1 - pages / raw alert events` over a set of clusters.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Compression {
    pub clusters: u64,
    pub pages: u64,
    pub raw_alert_events: u64,
    pub compression: Option<f64>,
}

impl Compression {
    fn new(clusters: u64, pages: u64, raw: u64) -> Compression {
        Compression {
            clusters,
            pages,
            raw_alert_events: raw,
            compression: (raw > 0).then(|| 1.0 - pages as f64 / raw as f64),
        }
    }
}

/// How the system's alerts matched truth episodes.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Matching {
    /// Alert spans in the system's clusters (record alerts; baseline: firing intervals).
    pub alerts: u64,
    pub unmatched_alerts: u64,
    pub episodes: u64,
    pub matched_episodes: u64,
    pub unmatched_episodes: u64,
    /// Matched episodes found in more than one cluster (a split).
    pub episodes_in_several_clusters: u64,
    pub unmatched_alert_examples: Vec<String>,
    pub unmatched_episode_examples: Vec<String>,
}

/// Clustering quality over matched episodes.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Grouping {
    /// Items: matched episodes (each in the cluster where it was first seen).
    pub episodes: u64,
    /// Pairs of episodes in the same cluster / in the same incident / in both.
    pub pairs_same_cluster: u64,
    pub pairs_same_incident: u64,
    pub pairs_both: u64,
    pub pairwise_precision: Option<f64>,
    pub pairwise_recall: Option<f64>,
    pub pairwise_f1: Option<f64>,
    pub bcubed_precision: Option<f64>,
    pub bcubed_recall: Option<f64>,
    pub bcubed_f1: Option<f64>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ShiftStats {
    pub shifts: u64,
    pub mean: Option<f64>,
    pub max: u64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Latency {
    /// Paged actionable incidents (the recall numerator).
    pub incidents: u64,
    /// Of those, incidents whose first page predates their first alert (a cluster that
    /// paged earlier took them in); their time to page counts as 0.
    pub paged_before_first_alert: u64,
    pub p50_seconds: Option<f64>,
    pub p99_seconds: Option<f64>,
}

/// Every metric of one system.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SystemMetrics {
    pub clusters: u64,
    pub paged_clusters: u64,
    pub pages: u64,
    pub raw_alert_events: u64,
    /// `1 - pages / raw_alert_events`.
    pub compression: Option<f64>,
    /// The same over clusters holding an episode of a `scenario == "storm"` incident
    /// (`None` when the truth has no storm incidents).
    pub storm: Option<Compression>,
    /// Actionable incidents paged before their first ack / actionable incidents.
    pub recall: Ratio,
    /// Actionable incidents whose first page came only at or after the first ack.
    pub paged_after_ack: u64,
    /// Paged clusters holding an episode of an actionable incident / paged clusters.
    pub page_precision: Ratio,
    pub grouping: Grouping,
    pub pages_per_shift: ShiftStats,
    /// First alert of the incident → its first page, over paged actionable incidents.
    pub time_to_page: Latency,
    /// The actionable incidents the recall did not count, in truth order: what a team
    /// checks first when it evaluates on its own labelled traffic.
    pub missed: Vec<Missed>,
    pub matching: Matching,
}

/// An actionable incident that was not paged before its first acknowledgement.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Missed {
    pub incident_id: String,
    pub first_alert: Option<EventTime>,
    pub first_ack: Option<EventTime>,
    /// Its first page, when that came only at or after the first ack.
    pub paged_at: Option<EventTime>,
    /// The clusters (or baseline groups) its alerts were in, by first alert, at most
    /// [`MISSED_CLUSTERS`].
    pub clusters: Vec<String>,
}

/// Most clusters listed per missed incident.
pub const MISSED_CLUSTERS: usize = 5;

fn f1(p: Option<f64>, r: Option<f64>) -> Option<f64> {
    match (p, r) {
        (Some(p), Some(r)) if p + r > 0.0 => Some(2.0 * p * r / (p + r)),
        (Some(_), Some(_)) => Some(0.0),
        _ => None,
    }
}

fn pairs(n: u64) -> u64 {
    n * n.saturating_sub(1) / 2
}

/// Nearest-rank percentile (`p` in 0..=100) of sorted values.
pub fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// Pairwise and B-cubed scores from a (cluster, incident) contingency table.
pub fn grouping(table: &FxHashMap<(u32, u32), u64>) -> Grouping {
    let mut rows: FxHashMap<u32, u64> = FxHashMap::default();
    let mut cols: FxHashMap<u32, u64> = FxHashMap::default();
    let mut n = 0u64;
    let mut both = 0u64;
    for (&(c, i), &k) in table {
        *rows.entry(c).or_default() += k;
        *cols.entry(i).or_default() += k;
        n += k;
        both += pairs(k);
    }
    let same_cluster: u64 = rows.values().map(|&a| pairs(a)).sum();
    let same_incident: u64 = cols.values().map(|&b| pairs(b)).sum();
    let (mut bp, mut br) = (0.0f64, 0.0f64);
    for (&(c, i), &k) in table {
        let k2 = (k * k) as f64;
        bp += k2 / rows[&c] as f64;
        br += k2 / cols[&i] as f64;
    }
    let pp = (same_cluster > 0).then(|| both as f64 / same_cluster as f64);
    let pr = (same_incident > 0).then(|| both as f64 / same_incident as f64);
    let bcp = (n > 0).then(|| bp / n as f64);
    let bcr = (n > 0).then(|| br / n as f64);
    Grouping {
        episodes: n,
        pairs_same_cluster: same_cluster,
        pairs_same_incident: same_incident,
        pairs_both: both,
        pairwise_precision: pp,
        pairwise_recall: pr,
        pairwise_f1: f1(pp, pr),
        bcubed_precision: bcp,
        bcubed_recall: bcr,
        bcubed_f1: f1(bcp, bcr),
    }
}

fn episode_name(t: &Truth, e: u32) -> String {
    let ep = &t.episodes[e as usize];
    let from = if ep.start == ALWAYS {
        "any time".to_string()
    } else {
        format!("from {}", EventTime(ep.start))
    };
    format!(
        "{} {} {from}",
        t.incidents[ep.incident as usize].id,
        t.alert_name(ep.fp),
    )
}

/// Computes every metric of `sys` against `truth`. `slack` is the matching slack in ms.
pub fn compute(truth: &Truth, sys: &SystemIn, slack: i64, shifts: Shifts) -> SystemMetrics {
    // Match spans to episodes: (episode, cluster, first seen there).
    let mut hits: Vec<(u32, u32, i64)> = Vec::with_capacity(sys.spans.len());
    let mut out = Vec::new();
    let mut unmatched_alerts = 0u64;
    let mut unmatched_alert_examples = Vec::new();
    for s in &sys.spans {
        truth.match_alert(s.fp, s.first, s.last, slack, &mut out);
        if let (true, Some(k)) = (out.is_empty(), s.sender) {
            truth.match_alert(k, s.first, s.last, slack, &mut out);
        }
        if out.is_empty() {
            unmatched_alerts += 1;
            if unmatched_alert_examples.len() < EXAMPLES {
                unmatched_alert_examples.push(format!(
                    "{} {} {}..{}",
                    sys.clusters[s.cluster as usize].name,
                    Fingerprint(s.fp),
                    EventTime(s.first),
                    EventTime(s.last)
                ));
            }
        }
        hits.extend(out.iter().map(|&e| (e, s.cluster, s.first)));
    }
    // One hit per (episode, cluster), the earliest.
    hits.sort_unstable();
    hits.dedup_by(|b, a| a.0 == b.0 && a.1 == b.1);

    let n_clusters = sys.clusters.len();
    let mut cluster_actionable = vec![false; n_clusters];
    let mut cluster_storm = vec![false; n_clusters];
    let mut incident_page: Vec<Option<i64>> = vec![None; truth.incidents.len()];
    // (incident, first seen, cluster) for the actionable ones, to name what held a miss.
    let mut actionable_hits: Vec<(u32, i64, u32)> = Vec::new();
    let mut episode_seen = vec![false; truth.episodes.len()];
    let mut table: FxHashMap<(u32, u32), u64> = FxHashMap::default();
    let mut split = 0u64;
    let mut i = 0;
    while i < hits.len() {
        let e = hits[i].0;
        let mut j = i;
        while j < hits.len() && hits[j].0 == e {
            j += 1;
        }
        let group = &hits[i..j];
        let inc_idx = truth.episodes[e as usize].incident;
        let inc = &truth.incidents[inc_idx as usize];
        episode_seen[e as usize] = true;
        if group.len() > 1 {
            split += 1;
        }
        for &(_, c, first) in group {
            if inc.actionable {
                actionable_hits.push((inc_idx, first, c));
            }
            let c = c as usize;
            cluster_actionable[c] |= inc.actionable;
            cluster_storm[c] |= inc.storm;
            if let Some(p) = sys.clusters[c].first_page {
                // A page covers this incident from when its alert was in the paged cluster:
                // a page sent earlier for something else only counts from the moment the
                // incident's alert joined it.
                let p = p.max(first);
                let slot = &mut incident_page[inc_idx as usize];
                *slot = Some(slot.map_or(p, |q| q.min(p)));
            }
        }
        // The episode's cluster for grouping: where it was seen first.
        let home = group
            .iter()
            .min_by_key(|&&(_, c, first)| (first, c))
            .map_or(0, |h| h.1);
        *table.entry((home, inc_idx)).or_default() += 1;
        i = j;
    }
    let matched_episodes = episode_seen.iter().filter(|&&s| s).count() as u64;
    let unmatched_episode_examples = episode_seen
        .iter()
        .enumerate()
        .filter(|(_, &s)| !s)
        .take(EXAMPLES)
        .map(|(e, _)| episode_name(truth, e as u32))
        .collect();

    let pages: u64 = sys.clusters.iter().map(|c| c.pages).sum();
    let raw: u64 = sys.clusters.iter().map(|c| c.raw_events).sum();
    let paged_clusters = sys.clusters.iter().filter(|c| c.pages > 0).count() as u64;
    let storm = (truth.storm_incidents() > 0).then(|| {
        let (mut n, mut p, mut r) = (0u64, 0u64, 0u64);
        for (c, _) in sys.clusters.iter().zip(&cluster_storm).filter(|(_, &s)| s) {
            n += 1;
            p += c.pages;
            r += c.raw_events;
        }
        Compression::new(n, p, r)
    });

    actionable_hits.sort_unstable();
    let mut missed = Vec::new();
    let mut actionable = 0u64;
    let mut paged = 0u64;
    let mut after_ack = 0u64;
    let mut latencies: Vec<f64> = Vec::new();
    let mut early = 0u64;
    for (idx, (inc, page)) in truth.incidents.iter().zip(&incident_page).enumerate() {
        if !inc.actionable {
            continue;
        }
        actionable += 1;
        let Some(p) = page.filter(|&p| inc.first_ack.is_none_or(|a| p < a)) else {
            after_ack += page.is_some() as u64;
            // Its hits, sorted by (incident, first seen): the clusters in the order its
            // alerts reached them.
            let from = actionable_hits.partition_point(|h| h.0 < idx as u32);
            let mut clusters: Vec<String> = Vec::new();
            for &(_, _, c) in actionable_hits[from..]
                .iter()
                .take_while(|h| h.0 == idx as u32)
            {
                let name = &sys.clusters[c as usize].name;
                if clusters.len() < MISSED_CLUSTERS && !clusters.contains(name) {
                    clusters.push(name.clone());
                }
            }
            missed.push(Missed {
                incident_id: inc.id.clone(),
                first_alert: inc.first_alert.map(EventTime),
                first_ack: inc.first_ack.map(EventTime),
                paged_at: page.map(EventTime),
                clusters,
            });
            continue;
        };
        paged += 1;
        let start = inc.first_alert.or(inc.started_at).unwrap_or(p);
        early += (p < start) as u64;
        latencies.push((p - start).max(0) as f64 / 1000.0);
    }
    latencies.sort_unstable_by(f64::total_cmp);

    let precise = sys
        .clusters
        .iter()
        .zip(&cluster_actionable)
        .filter(|(c, &a)| c.pages > 0 && a)
        .count() as u64;

    let mut per_shift = vec![0u64; shifts.count.max(0) as usize];
    for &t in &sys.page_times {
        let s = t.div_euclid(SHIFT_MS) - shifts.first;
        if let Some(slot) = usize::try_from(s).ok().and_then(|s| per_shift.get_mut(s)) {
            *slot += 1;
        }
    }

    SystemMetrics {
        clusters: n_clusters as u64,
        paged_clusters,
        pages,
        raw_alert_events: raw,
        compression: Compression::new(n_clusters as u64, pages, raw).compression,
        storm,
        recall: Ratio::new(paged, actionable),
        paged_after_ack: after_ack,
        page_precision: Ratio::new(precise, paged_clusters),
        grouping: grouping(&table),
        pages_per_shift: ShiftStats {
            shifts: per_shift.len() as u64,
            mean: (!per_shift.is_empty())
                .then(|| sys.page_times.len() as f64 / per_shift.len() as f64),
            max: per_shift.iter().copied().max().unwrap_or(0),
        },
        time_to_page: Latency {
            incidents: latencies.len() as u64,
            paged_before_first_alert: early,
            p50_seconds: percentile(&latencies, 50.0),
            p99_seconds: percentile(&latencies, 99.0),
        },
        missed,
        matching: Matching {
            alerts: sys.spans.len() as u64,
            unmatched_alerts,
            episodes: truth.episodes.len() as u64,
            matched_episodes,
            unmatched_episodes: truth.episodes.len() as u64 - matched_episodes,
            episodes_in_several_clusters: split,
            unmatched_alert_examples,
            unmatched_episode_examples,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contingency_scores_by_hand() {
        // Clusters {a,a,b} and {b,c}: incidents a (2), b (2), c (1).
        let mut t = FxHashMap::default();
        t.insert((0, 0), 2);
        t.insert((0, 1), 1);
        t.insert((1, 1), 1);
        t.insert((1, 2), 1);
        let g = grouping(&t);
        assert_eq!(g.episodes, 5);
        assert_eq!(
            (g.pairs_same_cluster, g.pairs_same_incident, g.pairs_both),
            (4, 2, 1)
        );
        assert_eq!(g.pairwise_precision, Some(0.25));
        assert_eq!(g.pairwise_recall, Some(0.5));
        // B-cubed precision: (4/3 + 1/3 + 1/2 + 1/2) / 5 = 8/15; recall: (2 + 1/2 + 1/2 + 1) / 5 = 4/5.
        assert!((g.bcubed_precision.unwrap() - 8.0 / 15.0).abs() < 1e-12);
        assert!((g.bcubed_recall.unwrap() - 0.8).abs() < 1e-12);
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 50.0), Some(50.0));
        assert_eq!(percentile(&v, 99.0), Some(99.0));
        assert_eq!(percentile(&[3.0, 7.0], 50.0), Some(3.0));
        assert_eq!(percentile(&[3.0, 7.0], 99.0), Some(7.0));
        assert_eq!(percentile(&[], 50.0), None);
    }

    #[test]
    fn shifts_start_at_midnight_and_noon() {
        let h = 3600 * 1000;
        let s = Shifts::covering([11 * h, 13 * h, 25 * h, NEVER]);
        assert_eq!((s.first, s.count), (0, 3));
    }
}
