//! The report model and its computation: cluster records + rotations + a period →
//! [`Report`], which serialises as the JSON format (`docs/report-schema.md` defines every
//! field). Pure and deterministic: no I/O, no clock; the same input gives the same bytes.
//! Rendering lives in `html`/`markdown`; recommendations in `recommend`.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use serde::Serialize;

use super::config::{local_parts, local_to_ms, Oncall, Rotation};
use super::recommend::{self, Recommendation};
use crate::event::EventTime;
use crate::record::{ClusterRecord, Decision, Feature, ResolvedBy};

/// Version of the JSON format; bumped on any incompatible change.
pub const SCHEMA_VERSION: u32 = 1;

/// Name used for records without a team.
pub const NO_TEAM: &str = "(no team)";

/// A firing shorter than this that resolves by itself counts as transient.
pub const TRANSIENT_MS: i64 = 5 * 60 * 1000;

/// The reporting period: whole local days `[start, end)` in the report's zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Period {
    pub start: NaiveDate,
    /// Exclusive.
    pub end: NaiveDate,
    pub tz: chrono_tz::Tz,
}

impl Period {
    /// ISO week `year`-W`week`, Monday 00:00 to the next Monday 00:00 local.
    pub fn iso_week(year: i32, week: u32, tz: chrono_tz::Tz) -> Option<Period> {
        let start = NaiveDate::from_isoywd_opt(year, week, chrono::Weekday::Mon)?;
        Some(Period {
            start,
            end: start + chrono::Duration::days(7),
            tz,
        })
    }

    /// Parses `2026-W47`.
    pub fn parse_iso_week(s: &str, tz: chrono_tz::Tz) -> Option<Period> {
        let (y, w) = s.split_once("-W").or_else(|| s.split_once("-w"))?;
        Period::iso_week(y.parse().ok()?, w.parse().ok()?, tz)
    }

    /// The last ISO week that has fully ended at `now`.
    pub fn last_complete_week(now: EventTime, tz: chrono_tz::Tz) -> Period {
        let (today, _, wd) = local_parts(tz, now);
        let this_monday = today - chrono::Duration::days(wd.num_days_from_monday() as i64);
        Period {
            start: this_monday - chrono::Duration::days(7),
            end: this_monday,
            tz,
        }
    }

    pub fn from(&self) -> EventTime {
        EventTime(local_to_ms(self.tz, self.start, 0))
    }

    pub fn to(&self) -> EventTime {
        EventTime(local_to_ms(self.tz, self.end, 0))
    }

    pub fn days(&self) -> i64 {
        (self.end - self.start).num_days()
    }

    /// The period of the same length just before this one.
    pub fn previous(&self) -> Period {
        let len = chrono::Duration::days(self.days());
        Period {
            start: self.start - len,
            end: self.start,
            tz: self.tz,
        }
    }

    /// `2026-W43` for an ISO week, else `2026-10-19..2026-10-25` (inclusive).
    pub fn label(&self) -> String {
        let iso = self.start.iso_week();
        if self.days() == 7 && self.start.weekday() == chrono::Weekday::Mon {
            format!("{}-W{:02}", iso.year(), iso.week())
        } else {
            format!("{}..{}", self.start, self.end - chrono::Duration::days(1))
        }
    }

    /// `from()..to()`, computed once: the zone lookups are not free in per-record loops.
    pub fn range(&self) -> std::ops::Range<EventTime> {
        self.from()..self.to()
    }
}

/// What to report on.
#[derive(Debug, Clone)]
pub struct ReportOptions {
    pub period: Period,
    /// Only this team's records (`None`: every team, plus the org total).
    pub team: Option<String>,
    /// How an alert's labels name its service (`[labels]`), for the per-rule tables.
    pub decode: crate::decode::DecodeOptions,
}

/// The whole report; its serde form is the JSON format.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub schema_version: u32,
    pub period: PeriodOut,
    pub team_filter: Option<String>,
    /// No cluster opened and nothing paged in the period.
    pub empty: bool,
    /// Records given to the report (all periods), and those in this period.
    pub records_read: u64,
    pub records_in_period: u64,
    /// Input lines that were not cluster records (set by the caller that read them).
    pub records_skipped: u64,
    pub org: Summary,
    pub teams: Vec<Summary>,
    pub noise_leaders: NoiseLeaders,
    pub recommendations: Vec<Recommendation>,
    pub flapping: Vec<RuleStats>,
    pub transient: Vec<RuleStats>,
    /// Headline numbers against the previous period; `None` when the input has nothing in
    /// the previous period.
    pub trend: Option<Vec<TrendRow>>,
    /// Pages and actionable rate per period, oldest first, up to 8 periods ending with this
    /// one (periods without pages are left out, except this one).
    pub history: Vec<HistoryPoint>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PeriodOut {
    pub label: String,
    pub from: EventTime,
    pub to: EventTime,
    pub timezone: String,
    pub days: i64,
}

/// The numbers of one team, or of the whole org (`team` = "all").
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub team: String,
    pub timezone: String,
    pub load: Load,
    pub sleep: Sleep,
    pub quality: Quality,
    pub pages_per_day: Vec<DayLoad>,
    /// Pages by local weekday (Monday first) × hour.
    pub hour_of_week: Vec<Vec<u32>>,
    /// The team's shifts overlapping the period (empty for the org).
    pub shifts: Vec<ShiftLoad>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Load {
    pub raw_events: u64,
    pub clusters: u64,
    pub pages: u64,
    /// Pages of clusters that were folded into another cluster's page (extra PagerDuty
    /// triggers, already resolved by noisegate).
    pub folded_pages: u64,
    pub tickets: u64,
    pub suppressed: u64,
    /// raw_events / clusters and clusters / pages; `None` when the divisor is 0.
    pub events_per_cluster: Option<f64>,
    pub clusters_per_page: Option<f64>,
    pub pages_per_shift: ShiftStats,
}

#[derive(Debug, Clone, Serialize)]
pub struct ShiftStats {
    pub shifts: u64,
    pub mean: Option<f64>,
    pub p90: Option<u32>,
    pub max: Option<u32>,
    pub over_budget: u64,
    pub budget_per_12h: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct ShiftLoad {
    pub start: EventTime,
    pub end: EventTime,
    pub hours: f64,
    pub pages: u32,
    pub budget: f64,
    pub over_budget: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Sleep {
    pub after_hours_pages: u64,
    pub sleep_pages: u64,
    /// Nights (per team, per local night) with at least one / at least two sleep-hour pages.
    pub nights_with_wakeups: u64,
    pub nights_with_2plus_wakeups: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Quality {
    pub actionable_pages: u64,
    pub actionable_rate: Option<f64>,
    pub auto_resolved_before_ack: u64,
    /// Pages whose cluster shows a change (a deploy: PagerDuty Change Events) made before
    /// it paged, within `engine.change_lookback`: how much paging follows changes.
    pub pages_after_change: u64,
    pub unresolved_pages: u64,
    pub mtta: DurationStats,
    pub mttr: DurationStats,
    pub decisions: Vec<DecisionStats>,
}

/// Percentiles of durations in whole seconds: hdrhistogram with 3 significant digits,
/// nearest rank (the value at rank ⌈q·n⌉), reported as its bucket's lowest value — exact
/// below 2048 s, at most 0.1 % low above.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DurationStats {
    pub count: u64,
    pub p50_s: Option<u64>,
    pub p90_s: Option<u64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DecisionStats {
    pub decision: Decision,
    pub clusters: u64,
    /// Features that contributed most to the score, by how many clusters they topped.
    pub top_reasons: Vec<ReasonCount>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReasonCount {
    pub feature: Feature,
    pub clusters: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct DayLoad {
    pub date: NaiveDate,
    pub business_hours_pages: u32,
    pub after_hours_pages: u32,
}

/// One alert rule's numbers. A rule is an alertname in one service.
#[derive(Debug, Clone, Serialize, Default)]
pub struct RuleStats {
    pub alertname: String,
    pub service: Option<String>,
    pub team: Option<String>,
    /// Pages whose cluster this rule opened (its alert fired first).
    pub pages: u32,
    pub actionable_pages: u32,
    pub actionable_rate: Option<f64>,
    /// pages × (1 − actionable rate): pages nobody needed.
    pub noise: u32,
    pub auto_resolved_pages: u32,
    /// Pages that auto-resolved and whose alert of this rule fired under 5 minutes.
    pub transient_pages: u32,
    pub after_hours_pages: u32,
    pub sleep_pages: u32,
    pub raw_events: u64,
    /// Firings (alerts) of the rule in any cluster, and those that lasted under 5 minutes.
    pub firings: u32,
    pub short_firings: u32,
    pub firing_p50_s: Option<u64>,
    pub firing_p90_s: Option<u64>,
    /// Clusters the rule appears in (any decision); tickets and suppressions among them.
    pub clusters: u32,
    pub tickets: u32,
    pub suppressed: u32,
    pub flaps: u32,
    /// Resolve→fire transitions per hour the rule's alerts were active.
    pub flaps_per_hour: Option<f64>,
    /// The rule that appears in most of this rule's clusters, if any.
    pub co_fires_with: Option<CoFire>,
    /// Clusters of the last 30 days (to the period end) containing the rule, of them acked
    /// by a human; `None` when the input does not reach 30 days back.
    pub clusters_30d: Option<u32>,
    pub human_acks_30d: Option<u32>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CoFire {
    pub alertname: String,
    pub service: Option<String>,
    pub clusters: u32,
}

#[derive(Debug, Clone, Serialize)]
pub struct NoiseLeaders {
    /// Top N by `noise`, then pages.
    pub by_noise: Vec<RuleStats>,
    /// Top N by raw events.
    pub by_volume: Vec<RuleStats>,
}

/// The headline numbers compared week over week.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Headline {
    Pages,
    PagesPerShiftMean,
    ShiftsOverBudget,
    AfterHoursPages,
    SleepPages,
    #[serde(rename = "nights_with_2plus_wakeups")]
    NightsWith2PlusWakeups,
    ActionableRate,
    MttaP50S,
    MttrP50S,
}

impl Headline {
    pub const ALL: [Headline; 9] = [
        Headline::Pages,
        Headline::PagesPerShiftMean,
        Headline::ShiftsOverBudget,
        Headline::AfterHoursPages,
        Headline::SleepPages,
        Headline::NightsWith2PlusWakeups,
        Headline::ActionableRate,
        Headline::MttaP50S,
        Headline::MttrP50S,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Headline::Pages => "Pages",
            Headline::PagesPerShiftMean => "Pages per shift (mean)",
            Headline::ShiftsOverBudget => "Shifts over budget",
            Headline::AfterHoursPages => "After-hours pages",
            Headline::SleepPages => "Sleep-hour pages",
            Headline::NightsWith2PlusWakeups => "Nights with ≥2 wake-ups",
            Headline::ActionableRate => "Actionable rate",
            Headline::MttaP50S => "MTTA p50",
            Headline::MttrP50S => "MTTR p50",
        }
    }

    pub fn of(self, s: &Summary) -> Option<f64> {
        match self {
            Headline::Pages => Some(s.load.pages as f64),
            Headline::PagesPerShiftMean => s.load.pages_per_shift.mean,
            Headline::ShiftsOverBudget => Some(s.load.pages_per_shift.over_budget as f64),
            Headline::AfterHoursPages => Some(s.sleep.after_hours_pages as f64),
            Headline::SleepPages => Some(s.sleep.sleep_pages as f64),
            Headline::NightsWith2PlusWakeups => Some(s.sleep.nights_with_2plus_wakeups as f64),
            Headline::ActionableRate => s.quality.actionable_rate,
            Headline::MttaP50S => s.quality.mtta.p50_s.map(|v| v as f64),
            Headline::MttrP50S => s.quality.mttr.p50_s.map(|v| v as f64),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct TrendRow {
    pub metric: Headline,
    pub current: Option<f64>,
    pub previous: Option<f64>,
    pub delta: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct HistoryPoint {
    pub label: String,
    pub pages: u64,
    pub actionable_pages: u64,
    pub actionable_rate: Option<f64>,
}

/// Whether a page was actionable: a human acknowledged it before it resolved.
pub fn is_actionable(r: &ClusterRecord) -> bool {
    match (r.paged_at, r.acked_at) {
        (Some(_), Some(ack)) => r.resolved_at.is_none_or(|res| ack <= res),
        _ => false,
    }
}

/// Whether a page resolved by itself before anyone acknowledged it.
pub fn auto_resolved_before_ack(r: &ClusterRecord) -> bool {
    r.paged_at.is_some()
        && r.resolved_by == Some(ResolvedBy::Auto)
        && match (r.resolved_at, r.acked_at) {
            (Some(res), Some(ack)) => res < ack,
            (_, None) => true,
            (None, Some(_)) => false,
        }
}

fn team_name(r: &ClusterRecord) -> &str {
    r.team.as_deref().unwrap_or(NO_TEAM)
}

/// Nearest-rank percentile of a sorted slice: the value at rank ⌈q·n⌉.
pub(crate) fn nearest_rank(sorted: &[u32], q: f64) -> Option<u32> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    Some(sorted[rank - 1])
}

/// Durations in whole seconds, summarised with hdrhistogram.
pub(crate) struct Durations(hdrhistogram::Histogram<u32>);

impl Durations {
    pub(crate) fn new() -> Self {
        // Up to 400 days, 3 significant digits: valid bounds, so this cannot fail. (An
        // auto-resizing histogram would make `saturating_record` clamp to its current top.)
        Durations(
            hdrhistogram::Histogram::new_with_bounds(1, 400 * 86_400, 3)
                .expect("bounds 1..400 days with 3 digits are valid"),
        )
    }

    pub(crate) fn record_ms(&mut self, ms: i64) {
        let s = (ms.max(0) / 1000) as u64;
        self.0.saturating_record(s);
    }

    fn quantile(&self, q: f64) -> Option<u64> {
        // The bucket's lowest value: exact for any recorded value that is a multiple of the
        // bucket width (every value below 2048 s), never above the true value.
        (!self.0.is_empty()).then(|| self.0.lowest_equivalent(self.0.value_at_quantile(q)))
    }

    pub(crate) fn stats(&self) -> DurationStats {
        DurationStats {
            count: self.0.len(),
            p50_s: self.quantile(0.5),
            p90_s: self.quantile(0.9),
        }
    }
}

/// Accumulates one summary while records stream past.
struct Acc {
    raw_events: u64,
    clusters: u64,
    pages: u64,
    folded: u64,
    decisions: [(u64, BTreeMap<u8, u64>); 3],
    days: BTreeMap<NaiveDate, (u32, u32)>,
    how: [[u32; 24]; 7],
    after_hours: u64,
    sleep: u64,
    nights: BTreeMap<(usize, NaiveDate), u32>,
    actionable: u64,
    auto_before_ack: u64,
    after_change: u64,
    unresolved: u64,
    mtta: Durations,
    mttr: Durations,
    shift_pages: Vec<u32>,
}

impl Acc {
    fn new() -> Self {
        Acc {
            raw_events: 0,
            clusters: 0,
            pages: 0,
            folded: 0,
            decisions: Default::default(),
            days: BTreeMap::new(),
            how: [[0; 24]; 7],
            after_hours: 0,
            sleep: 0,
            nights: BTreeMap::new(),
            actionable: 0,
            auto_before_ack: 0,
            after_change: 0,
            unresolved: 0,
            mtta: Durations::new(),
            mttr: Durations::new(),
            shift_pages: Vec::new(),
        }
    }

    /// A cluster opened in the period.
    fn add_cluster(&mut self, r: &ClusterRecord) {
        self.raw_events += r.raw_events;
        self.clusters += 1;
        let d = &mut self.decisions[decision_index(r.decision)];
        d.0 += 1;
        if let Some(f) = top_feature(r) {
            *d.1.entry(f as u8).or_default() += 1;
        }
    }

    /// A page sent in the period. `team_idx` names the night's team; `day_tz` is the zone
    /// the page's day is counted in.
    fn add_page(
        &mut self,
        r: &ClusterRecord,
        at: EventTime,
        rot: &Rotation,
        team_idx: usize,
        day_tz: chrono_tz::Tz,
    ) {
        self.pages += 1;
        self.folded += u64::from(r.folded_pages);
        let after = rot.work.is_after_hours(at);
        let (day, _, _) = local_parts(day_tz, at);
        let e = self.days.entry(day).or_default();
        if after {
            e.1 += 1;
            self.after_hours += 1;
        } else {
            e.0 += 1;
        }
        let (_, min, wd) = local_parts(rot.tz, at);
        self.how[wd.num_days_from_monday() as usize][(min / 60) as usize] += 1;
        if let Some(night) = rot.night_of(at) {
            self.sleep += 1;
            *self.nights.entry((team_idx, night)).or_default() += 1;
        }
        if is_actionable(r) {
            self.actionable += 1;
        }
        if auto_resolved_before_ack(r) {
            self.auto_before_ack += 1;
        }
        if r.changes.iter().any(|c| c.time <= at) {
            self.after_change += 1;
        }
        if let Some(ack) = r.acked_at {
            self.mtta.record_ms(ack.0 - at.0);
        }
        match r.resolved_at {
            Some(res) => self.mttr.record_ms(res.0 - at.0),
            None => self.unresolved += 1,
        }
    }

    fn finish(
        self,
        team: String,
        tz: chrono_tz::Tz,
        period: &Period,
        shifts: Vec<ShiftLoad>,
        budget: f64,
    ) -> Summary {
        let mut sorted = self.shift_pages.clone();
        sorted.sort_unstable();
        let n = sorted.len() as u64;
        let over = if shifts.is_empty() {
            // The org: over-budget counts come from the team summaries (set by the caller).
            0
        } else {
            shifts.iter().filter(|s| s.over_budget).count() as u64
        };
        let ratio = |a: u64, b: u64| (b > 0).then(|| a as f64 / b as f64);
        let mut decisions = Vec::new();
        for (i, (count, feats)) in self.decisions.iter().enumerate() {
            let mut top: Vec<(u8, u64)> = feats.iter().map(|(&f, &c)| (f, c)).collect();
            top.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            decisions.push(DecisionStats {
                decision: [Decision::Page, Decision::Ticket, Decision::Suppress][i],
                clusters: *count,
                top_reasons: top
                    .into_iter()
                    .take(3)
                    .map(|(f, c)| ReasonCount {
                        feature: FEATURES[f as usize],
                        clusters: c,
                    })
                    .collect(),
            });
        }
        // Every day of the period appears, so charts have no holes.
        let mut pages_per_day = Vec::new();
        let mut d = period.start;
        while d < period.end {
            let (b, a) = self.days.get(&d).copied().unwrap_or((0, 0));
            pages_per_day.push(DayLoad {
                date: d,
                business_hours_pages: b,
                after_hours_pages: a,
            });
            d += chrono::Duration::days(1);
        }
        let [_, ticket, suppress] = &self.decisions;
        Summary {
            team,
            timezone: tz.name().to_string(),
            load: Load {
                raw_events: self.raw_events,
                clusters: self.clusters,
                pages: self.pages,
                folded_pages: self.folded,
                tickets: ticket.0,
                suppressed: suppress.0,
                events_per_cluster: ratio(self.raw_events, self.clusters),
                clusters_per_page: ratio(self.clusters, self.pages),
                pages_per_shift: ShiftStats {
                    shifts: n,
                    mean: ratio(sorted.iter().map(|&x| u64::from(x)).sum(), n),
                    p90: nearest_rank(&sorted, 0.9),
                    max: sorted.last().copied(),
                    over_budget: over,
                    budget_per_12h: budget,
                },
            },
            sleep: Sleep {
                after_hours_pages: self.after_hours,
                sleep_pages: self.sleep,
                nights_with_wakeups: self.nights.len() as u64,
                nights_with_2plus_wakeups: self.nights.values().filter(|&&c| c >= 2).count() as u64,
            },
            quality: Quality {
                actionable_pages: self.actionable,
                actionable_rate: ratio(self.actionable, self.pages),
                auto_resolved_before_ack: self.auto_before_ack,
                pages_after_change: self.after_change,
                unresolved_pages: self.unresolved,
                mtta: self.mtta.stats(),
                mttr: self.mttr.stats(),
                decisions,
            },
            pages_per_day,
            hour_of_week: self.how.iter().map(|r| r.to_vec()).collect(),
            shifts,
        }
    }
}

const FEATURES: [Feature; 7] = [
    Feature::Severity,
    Feature::Flapping,
    Feature::Transient,
    Feature::DuplicateRate,
    Feature::BlastRadius,
    Feature::AfterHours,
    Feature::ActionableRate,
];

fn decision_index(d: Decision) -> usize {
    match d {
        Decision::Page => 0,
        Decision::Ticket => 1,
        Decision::Suppress => 2,
    }
}

/// The feature with the largest contribution towards this record's decision: the largest
/// positive one for pages, the most negative one otherwise (what held it back).
fn top_feature(r: &ClusterRecord) -> Option<usize> {
    let key = |c: f64| if r.decision == Decision::Page { c } else { -c };
    r.reasons
        .iter()
        .filter(|x| x.contribution.is_finite())
        .max_by(|a, b| key(a.contribution).total_cmp(&key(b.contribution)))
        .and_then(|x| FEATURES.iter().position(|f| *f == x.feature))
}

/// Shifts of one rotation overlapping the period, clipped to it.
fn shifts_for(rot: &Rotation, period: &Period) -> Vec<(i64, i64)> {
    let (from, to) = (period.from().0, period.to().0);
    let starts = rot.shift_starts(period.from(), period.to());
    starts
        .windows(2)
        .map(|w| (w[0].max(from), w[1].min(to)))
        .filter(|(a, b)| a < b)
        .collect()
}

/// Org and per-team summaries of one period (no rule statistics): used for this period,
/// the previous one (trend) and the history.
fn summarise(
    records: &[ClusterRecord],
    oncall: &Oncall,
    opts: &ReportOptions,
    period: &Period,
) -> (Summary, Vec<Summary>) {
    let in_team = |r: &ClusterRecord| {
        opts.team
            .as_deref()
            .is_none_or(|t| r.team.as_deref() == Some(t))
    };
    // Teams: configured ones (when not filtered) and any seen in the period.
    let mut names: Vec<String> = match &opts.team {
        Some(t) => vec![t.clone()],
        None => oncall.teams.keys().cloned().collect(),
    };
    let (from, to) = (period.from(), period.to());
    for r in records.iter().filter(|r| in_team(r)) {
        let touches = (r.opened_at >= from && r.opened_at < to)
            || r.paged_at.is_some_and(|p| p >= from && p < to);
        if touches && !names.iter().any(|n| n == team_name(r)) {
            names.push(team_name(r).to_string());
        }
    }
    names.sort();
    let index: BTreeMap<&str, usize> = names
        .iter()
        .enumerate()
        .map(|(i, n)| (n.as_str(), i))
        .collect();
    let rots: Vec<&Rotation> = names
        .iter()
        .map(|n| oncall.for_team((n != NO_TEAM).then_some(n.as_str())))
        .collect();
    let shift_bounds: Vec<Vec<(i64, i64)>> = rots.iter().map(|r| shifts_for(r, period)).collect();
    let mut shift_pages: Vec<Vec<u32>> = shift_bounds.iter().map(|s| vec![0; s.len()]).collect();
    let mut teams: Vec<Acc> = names.iter().map(|_| Acc::new()).collect();
    let mut org = Acc::new();
    let range = period.range();
    for r in records.iter().filter(|r| in_team(r)) {
        let Some(&ti) = index.get(team_name(r)) else {
            continue;
        };
        if range.contains(&r.opened_at) {
            teams[ti].add_cluster(r);
            org.add_cluster(r);
        }
        if let Some(at) = r.paged_at.filter(|p| range.contains(p)) {
            let rot = rots[ti];
            teams[ti].add_page(r, at, rot, ti, rot.tz);
            org.add_page(r, at, rot, ti, period.tz);
            // The shift containing paged_at: the last one starting at or before it.
            let b = &shift_bounds[ti];
            let k = b.partition_point(|s| s.0 <= at.0);
            if k > 0 {
                shift_pages[ti][k - 1] += 1;
            }
        }
    }
    let mut out = Vec::new();
    let mut org_over = 0;
    for (ti, acc) in teams.into_iter().enumerate() {
        let rot = rots[ti];
        let shifts: Vec<ShiftLoad> = shift_bounds[ti]
            .iter()
            .zip(&shift_pages[ti])
            .map(|(&(a, b), &pages)| {
                let hours = (b - a) as f64 / 3_600_000.0;
                let budget = rot.page_budget_per_12h * hours / 12.0;
                ShiftLoad {
                    start: EventTime(a),
                    end: EventTime(b),
                    hours,
                    pages,
                    budget,
                    over_budget: f64::from(pages) > budget + 1e-9,
                }
            })
            .collect();
        let mut acc = acc;
        acc.shift_pages = shift_pages[ti].clone();
        org.shift_pages.extend(&shift_pages[ti]);
        let s = acc.finish(
            names[ti].clone(),
            rot.tz,
            period,
            shifts,
            rot.page_budget_per_12h,
        );
        org_over += s.load.pages_per_shift.over_budget;
        out.push(s);
    }
    let mut org_s = org.finish(
        opts.team.clone().unwrap_or_else(|| "all".into()),
        period.tz,
        period,
        Vec::new(),
        oncall.default.page_budget_per_12h,
    );
    org_s.load.pages_per_shift.over_budget = org_over;
    (org_s, out)
}

/// Builds the report. `records` may span more than the period: the previous period feeds
/// the trend, up to 8 periods the history, and 30 days the "no action in 30 days" check.
pub fn compute(records: &[ClusterRecord], oncall: &Oncall, opts: &ReportOptions) -> Report {
    let period = &opts.period;
    let (org, teams) = summarise(records, oncall, opts, period);
    let in_team = |r: &&ClusterRecord| {
        opts.team
            .as_deref()
            .is_none_or(|t| r.team.as_deref() == Some(t))
    };
    let range = period.range();
    let records_in_period = records
        .iter()
        .filter(in_team)
        .filter(|r| range.contains(&r.opened_at) || r.paged_at.is_some_and(|p| range.contains(&p)))
        .count() as u64;

    let prev = period.previous();
    let prev_range = prev.range();
    let has_prev = records.iter().filter(in_team).any(|r| {
        prev_range.contains(&r.opened_at) || r.paged_at.is_some_and(|p| prev_range.contains(&p))
    });
    let trend = has_prev.then(|| {
        let (p, _) = summarise(records, oncall, opts, &prev);
        Headline::ALL
            .iter()
            .map(|&h| {
                let (c, q) = (h.of(&org), h.of(&p));
                TrendRow {
                    metric: h,
                    current: c,
                    previous: q,
                    delta: c.zip(q).map(|(a, b)| a - b),
                }
            })
            .collect()
    });

    let mut history = Vec::new();
    let mut p = period.clone();
    for k in 0..8 {
        let range = p.range();
        let (mut pages, mut act) = (0u64, 0u64);
        for r in records.iter().filter(in_team) {
            if r.paged_at.is_some_and(|t| range.contains(&t)) {
                pages += 1;
                act += u64::from(is_actionable(r));
            }
        }
        if k == 0 || pages > 0 {
            history.push(HistoryPoint {
                label: p.label(),
                pages,
                actionable_pages: act,
                actionable_rate: (pages > 0).then(|| act as f64 / pages as f64),
            });
        }
        p = p.previous();
    }
    history.reverse();

    let rules = recommend::rule_stats(records, oncall, opts);
    let leaders = recommend::leaders(&rules, oncall.top_n);
    let recommendations = recommend::recommend(&leaders);
    let flapping = recommend::flapping(&rules, oncall.top_n);
    let transient = recommend::transient(&rules, oncall.top_n);

    Report {
        schema_version: SCHEMA_VERSION,
        period: PeriodOut {
            label: period.label(),
            from: period.from(),
            to: period.to(),
            timezone: period.tz.name().to_string(),
            days: period.days(),
        },
        team_filter: opts.team.clone(),
        empty: org.load.clusters == 0 && org.load.pages == 0,
        records_read: records.len() as u64,
        records_in_period,
        records_skipped: 0,
        org,
        teams,
        noise_leaders: leaders,
        recommendations,
        flapping,
        transient,
        trend,
        history,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_weeks_and_labels() {
        let tz = chrono_tz::Europe::Berlin;
        let p = Period::parse_iso_week("2026-W43", tz).expect("week");
        assert_eq!(p.start, NaiveDate::from_ymd_opt(2026, 10, 19).expect("d"));
        assert_eq!(p.label(), "2026-W43");
        // The week of the DST end is 169 hours long.
        assert_eq!(p.to().0 - p.from().0, 169 * 3_600_000);
        assert_eq!(p.previous().label(), "2026-W42");
        let now = EventTime::parse_rfc3339("2026-11-29T11:00:00Z").expect("t");
        assert_eq!(Period::last_complete_week(now, tz).label(), "2026-W47");
        assert!(Period::parse_iso_week("2026-W54", tz).is_none());
        assert!(Period::parse_iso_week("2026-47", tz).is_none());
    }

    #[test]
    fn nearest_rank_percentiles() {
        assert_eq!(nearest_rank(&[], 0.9), None);
        assert_eq!(nearest_rank(&[0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 0.9), Some(8));
        assert_eq!(nearest_rank(&[5], 0.9), Some(5));
    }

    #[test]
    fn hdr_percentiles_are_exact_below_2048s() {
        let mut d = Durations::new();
        for s in [60, 120, 180, 240] {
            d.record_ms(s * 1000);
        }
        let st = d.stats();
        assert_eq!((st.count, st.p50_s, st.p90_s), (4, Some(120), Some(240)));
        // Nearest rank: 5 values, p50 is the 3rd, p90 the 5th; 4800 s is a bucket edge.
        let mut d = Durations::new();
        for s in [120, 300, 600, 600, 4800] {
            d.record_ms(s * 1000 + 999);
        }
        let st = d.stats();
        assert_eq!((st.p50_s, st.p90_s), (Some(600), Some(4800)));
    }
}
