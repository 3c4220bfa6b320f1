//! `noisegate eval`: scores cluster records against the ground truth written by
//! `noisegate gen --truth-out`, beside an Alertmanager-style baseline computed on the same
//! input stream ([`baseline`]).
//!
//! Matching: a cluster record's alert (`fingerprint`, `[first_seen, last_seen]`) belongs to
//! every truth episode of that fingerprint whose `[starts_at, ends_at)` overlaps it (an
//! alert that absorbed a flap spans several); if none overlaps, to the closest one within
//! [`MATCH_SLACK_MS`]. A truth that does not know the fingerprint may name the alert by its
//! sender's id instead (the record's `source_id`: a PagerDuty `dedup_key`, Grafana's
//! fingerprint); that is tried next. The baseline's alerts are matched the same way, one
//! span per firing interval. Metrics (all in [`metrics::compute`]):
//! - compression = 1 − pages / raw alert events (noisegate: records with `paged_at` plus their `folded_pages`, Σ
//!   `raw_events`; baseline: notifications with firing alerts, firing/resolved events
//!   applied); in the storm: the same over clusters holding an episode of a
//!   `scenario == "storm"` incident;
//! - recall = actionable incidents whose earliest page (over the clusters holding any of
//!   their episodes) is before `first_ack_at` (or there is no ack) / actionable incidents;
//!   the others are listed (`missed`: incident, first alert, first ack, late page if any,
//!   the clusters that held it), since they are what a team looks at first;
//! - page precision = paged clusters holding an episode of an actionable incident / paged
//!   clusters;
//! - grouping over matched episodes, each in the cluster where it was first seen:
//!   pairwise and B-cubed precision/recall/F1 from the (cluster, incident) contingency table;
//! - pages per 12 h shift (shifts start 00:00 and 12:00 UTC and cover every time in the
//!   truth, the records and the input): mean (empty shifts included) and max;
//! - time to page: first page − first alert (earliest `starts_at` of the incident's
//!   episodes), floored at 0, over the incidents the recall counts; nearest-rank p50/p99.
//!   Incidents credited with a page from before their first alert (a cluster or group that
//!   had paged earlier took them in) are counted apart (`paged_before_first_alert`).

pub mod baseline;
pub(crate) mod input;
pub mod metrics;
pub mod truth;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::anyhow;
use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::event::{EventTime, Fingerprint};
use metrics::{ClusterIn, Shifts, Span, SystemIn, SystemMetrics};
use truth::Truth;

/// Missed incidents the text report lists (the JSON has them all).
const MISSED_SHOWN: usize = 20;

/// How far apart an observed alert and a truth episode may be and still match.
pub const MATCH_SLACK_MS: i64 = 60_000;

/// What the truth holds.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TruthSummary {
    pub incidents: u64,
    pub actionable_incidents: u64,
    pub storm_incidents: u64,
    pub episodes: u64,
}

/// The shifts pages are counted in.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ShiftSpan {
    pub hours: u32,
    pub first_starts_at: Option<String>,
    pub count: u64,
}

/// The Alertmanager-style baseline: its settings, what it read, what it scored.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct BaselineReport {
    pub params: baseline::Params,
    pub input: baseline::InputStats,
    pub sent: baseline::SimStats,
    pub metrics: SystemMetrics,
}

/// The report `noisegate eval` prints (as a table) and writes (as JSON).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct EvalReport {
    pub truth_file: String,
    pub clusters_file: String,
    pub inputs: Vec<String>,
    pub match_slack_seconds: f64,
    pub truth: TruthSummary,
    pub shifts: ShiftSpan,
    pub noisegate: SystemMetrics,
    /// `None` without `--input`.
    pub baseline: Option<BaselineReport>,
}

#[derive(Deserialize)]
struct RecordLine {
    cluster_id: String,
    #[serde(default)]
    alerts: Vec<RecordAlert>,
    #[serde(default)]
    raw_events: u64,
    #[serde(default)]
    paged_at: Option<EventTime>,
    /// Pages of clusters that merged into this one after paging (each one more trigger).
    #[serde(default)]
    folded_pages: u32,
}

#[derive(Deserialize)]
struct RecordAlert {
    fingerprint: Fingerprint,
    #[serde(default)]
    source_id: Option<String>,
    first_seen: EventTime,
    last_seen: EventTime,
}

/// Reads `clusters.ndjson` into the metrics' input. Bad lines are errors naming the line.
fn load_clusters(path: &Path) -> anyhow::Result<SystemIn> {
    let name = path.display().to_string();
    let mut sys = SystemIn::default();
    input::for_each_record(path, |line_no, bytes| {
        let r: RecordLine = serde_json::from_slice(bytes)
            .map_err(|e| anyhow!("{name}:{line_no}: bad cluster record: {e}"))?;
        let c = sys.clusters.len() as u32;
        for a in &r.alerts {
            sys.spans.push(Span {
                cluster: c,
                fp: a.fingerprint.0,
                sender: a.source_id.as_deref().map(truth::key_of),
                first: a.first_seen.as_millis(),
                last: a.last_seen.as_millis(),
            });
        }
        let paged = r.paged_at.map(EventTime::as_millis);
        // Folded pages were sent around the same time as this cluster's own (within the
        // correlation window); their exact times are not in the record.
        let extra = if paged.is_some() {
            r.folded_pages as u64
        } else {
            0
        };
        for _ in 0..=extra {
            sys.page_times.extend(paged);
        }
        sys.clusters.push(ClusterIn {
            name: r.cluster_id,
            first_page: paged,
            pages: paged.is_some() as u64 + extra,
            raw_events: r.raw_events,
        });
        Ok(())
    })?;
    Ok(sys)
}

fn times_of(sys: &SystemIn) -> impl Iterator<Item = i64> + '_ {
    sys.spans
        .iter()
        .flat_map(|s| [s.first, s.last])
        .chain(sys.page_times.iter().copied())
}

/// Runs the evaluation. `inputs` empty: no baseline.
pub fn run(
    truth: &Path,
    clusters: &Path,
    inputs: &[PathBuf],
    cfg: &Config,
) -> anyhow::Result<EvalReport> {
    let t = Truth::load(truth)?;
    let ng = load_clusters(clusters)?;
    let base = if inputs.is_empty() {
        None
    } else {
        let params = baseline::Params::default();
        let (evs, keys, input) = baseline::read_inputs(inputs, cfg)?;
        let (sys, sent, ignored) = baseline::simulate(evs, keys.len(), &params);
        let mut input = input;
        input.alert_events = sys.clusters.iter().map(|c| c.raw_events).sum();
        input.other_events += ignored;
        Some((params, input, sent, sys))
    };
    let shifts = Shifts::covering(
        t.episodes
            .iter()
            .flat_map(|e| [e.start, e.end])
            .chain(times_of(&ng))
            .chain(base.iter().flat_map(|b| times_of(&b.3))),
    );
    let noisegate = metrics::compute(&t, &ng, MATCH_SLACK_MS, shifts);
    let baseline = base.map(|(params, input, sent, sys)| BaselineReport {
        params,
        input,
        sent,
        metrics: metrics::compute(&t, &sys, MATCH_SLACK_MS, shifts),
    });
    Ok(EvalReport {
        truth_file: truth.display().to_string(),
        clusters_file: clusters.display().to_string(),
        inputs: inputs.iter().map(|p| p.display().to_string()).collect(),
        match_slack_seconds: MATCH_SLACK_MS as f64 / 1000.0,
        truth: TruthSummary {
            incidents: t.incidents.len() as u64,
            actionable_incidents: t.incidents.iter().filter(|i| i.actionable).count() as u64,
            storm_incidents: t.storm_incidents() as u64,
            episodes: t.episodes.len() as u64,
        },
        shifts: ShiftSpan {
            hours: (metrics::SHIFT_MS / 3_600_000) as u32,
            first_starts_at: (shifts.count > 0)
                .then(|| EventTime(shifts.first * metrics::SHIFT_MS).to_rfc3339()),
            count: shifts.count as u64,
        },
        noisegate,
        baseline,
    })
}

fn pct(v: Option<f64>) -> String {
    v.map_or_else(|| "n/a".into(), |v| format!("{:.1}%", v * 100.0))
}

fn num(v: Option<f64>, decimals: usize) -> String {
    v.map_or_else(|| "n/a".into(), |v| format!("{v:.decimals$}"))
}

fn ratio(r: &metrics::Ratio) -> String {
    format!("{} ({}/{})", pct(r.value), r.num, r.den)
}

fn secs(v: Option<f64>) -> String {
    match v {
        None => "n/a".into(),
        Some(s) if s < 120.0 => format!("{s:.0}s"),
        Some(s) if s < 7200.0 => format!("{:.1}m", s / 60.0),
        Some(s) => format!("{:.1}h", s / 3600.0),
    }
}

fn rows(m: &SystemMetrics) -> Vec<(&'static str, String)> {
    let g = &m.grouping;
    let mm = &m.matching;
    vec![
        ("clusters", m.clusters.to_string()),
        ("pages", m.pages.to_string()),
        ("raw alert events", m.raw_alert_events.to_string()),
        ("compression", pct(m.compression)),
        (
            "compression in storm",
            match &m.storm {
                None => "n/a (no storm)".into(),
                Some(s) => format!(
                    "{} ({}/{})",
                    pct(s.compression),
                    s.pages,
                    s.raw_alert_events
                ),
            },
        ),
        ("actionable recall", ratio(&m.recall)),
        ("  paged only after ack", m.paged_after_ack.to_string()),
        ("page precision", ratio(&m.page_precision)),
        ("pairwise precision", num(g.pairwise_precision, 3)),
        ("pairwise recall", num(g.pairwise_recall, 3)),
        ("pairwise F1", num(g.pairwise_f1, 3)),
        ("B-cubed precision", num(g.bcubed_precision, 3)),
        ("B-cubed recall", num(g.bcubed_recall, 3)),
        ("B-cubed F1", num(g.bcubed_f1, 3)),
        ("pages per 12h shift (mean)", num(m.pages_per_shift.mean, 1)),
        (
            "pages per 12h shift (max)",
            m.pages_per_shift.max.to_string(),
        ),
        ("time to page p50", secs(m.time_to_page.p50_seconds)),
        ("time to page p99", secs(m.time_to_page.p99_seconds)),
        (
            "  paged before first alert",
            m.time_to_page.paged_before_first_alert.to_string(),
        ),
        (
            "matched alerts",
            format!("{}/{}", mm.alerts - mm.unmatched_alerts, mm.alerts),
        ),
        (
            "matched truth episodes",
            format!("{}/{}", mm.matched_episodes, mm.episodes),
        ),
        (
            "episodes split over clusters",
            mm.episodes_in_several_clusters.to_string(),
        ),
    ]
}

impl EvalReport {
    /// The report as an aligned text table: noisegate | baseline.
    pub fn table(&self) -> String {
        let mut s = String::new();
        let t = &self.truth;
        let _ = writeln!(
            s,
            "noisegate eval  truth: {} incidents ({} actionable, {} storm), {} alert episodes; {} shifts of {} h",
            t.incidents, t.actionable_incidents, t.storm_incidents, t.episodes,
            self.shifts.count, self.shifts.hours
        );
        let ng = rows(&self.noisegate);
        let base = self.baseline.as_ref().map(|b| rows(&b.metrics));
        let lw = ng.iter().map(|r| r.0.len()).max().unwrap_or(0);
        let head = ["noisegate", "baseline"];
        let w1 = ng
            .iter()
            .map(|r| r.1.len())
            .chain([head[0].len()])
            .max()
            .unwrap_or(0);
        let w2 = base
            .iter()
            .flatten()
            .map(|r| r.1.len())
            .chain([head[1].len()])
            .max()
            .unwrap_or(0);
        match &base {
            Some(_) => {
                let _ = writeln!(s, "  {:lw$}  {:>w1$}  {:>w2$}", "", head[0], head[1]);
            }
            None => {
                let _ = writeln!(s, "  {:lw$}  {:>w1$}", "", head[0]);
            }
        }
        for (i, (label, v)) in ng.iter().enumerate() {
            match &base {
                Some(b) => {
                    let _ = writeln!(s, "  {label:lw$}  {v:>w1$}  {:>w2$}", b[i].1);
                }
                None => {
                    let _ = writeln!(s, "  {label:lw$}  {v:>w1$}");
                }
            }
        }
        let missed = &self.noisegate.missed;
        if !missed.is_empty() {
            let _ = writeln!(
                s,
                "noisegate missed {} actionable incident(s) (all in the JSON's noisegate.missed):",
                missed.len()
            );
            let t = |t: Option<EventTime>| t.map_or("-".to_string(), |t| t.to_string());
            for m in missed.iter().take(MISSED_SHOWN) {
                let _ = writeln!(
                    s,
                    "  {}  first alert {}  first ack {}  {}  in {}",
                    m.incident_id,
                    t(m.first_alert),
                    t(m.first_ack),
                    m.paged_at
                        .map_or("never paged".to_string(), |p| format!("paged only at {p}")),
                    if m.clusters.is_empty() {
                        "no cluster (alerts unmatched)".to_string()
                    } else {
                        m.clusters.join(", ")
                    }
                );
            }
            if missed.len() > MISSED_SHOWN {
                let _ = writeln!(s, "  … and {} more", missed.len() - MISSED_SHOWN);
            }
        }
        match &self.baseline {
            Some(b) => {
                let p = &b.params;
                let _ = writeln!(
                    s,
                    "baseline: Alertmanager-style, group_by [{}], group_wait {}s, group_interval {}s, repeat_interval {}s; \
                     {} payloads ({} bad, skipped), {} group episodes, {} resolve notifications (not pages)",
                    p.group_by.join(", "),
                    p.group_wait_seconds,
                    p.group_interval_seconds,
                    p.repeat_interval_seconds,
                    b.input.payloads,
                    b.input.bad_lines,
                    b.sent.group_episodes,
                    b.sent.resolve_notifications
                );
            }
            None => {
                let _ = writeln!(
                    s,
                    "baseline: not computed; it needs the replayed stream (--input FILE)"
                );
            }
        }
        s
    }
}
