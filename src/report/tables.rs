//! The report's tables as plain text cells, shared by the HTML and Markdown renderers so
//! both show the same numbers with the same formatting. Knows what each table holds; does
//! not know about HTML, Markdown or charts.

use super::compute::{Headline, Report, RuleStats, Summary};
use super::recommend::rule_label;
use super::{fmt_num, fmt_pct, fmt_secs};
use crate::event::EventTime;

/// One table: a caption, headers, rows of cells.
pub struct Table {
    /// Stable id (HTML anchors, tests).
    pub id: String,
    pub caption: String,
    pub headers: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl Table {
    /// Whether column `i` holds text (left-aligned) rather than numbers: any cell that does
    /// not start like a number, a duration, a change or "–".
    pub fn is_text_col(&self, i: usize) -> bool {
        self.rows.iter().any(|r| {
            r.get(i)
                .and_then(|c| c.chars().next())
                .is_some_and(|ch| !(ch.is_ascii_digit() || matches!(ch, '–' | '+' | '-' | '−')))
        })
    }

    fn new(id: &str, caption: impl Into<String>, headers: &[&str]) -> Table {
        Table {
            id: id.to_string(),
            caption: caption.into(),
            headers: headers.iter().map(|h| h.to_string()).collect(),
            rows: Vec::new(),
        }
    }
}

/// `2026-10-19 08:00` in a zone.
pub fn fmt_local(tz: chrono_tz::Tz, t: EventTime) -> String {
    use chrono::TimeZone;
    let utc = chrono::DateTime::from_timestamp_millis(t.0).unwrap_or_default();
    tz.from_utc_datetime(&utc.naive_utc())
        .format("%a %Y-%m-%d %H:%M")
        .to_string()
}

fn secs(v: Option<u64>) -> String {
    v.map(fmt_secs).unwrap_or_else(|| "–".into())
}

fn signed(v: Option<f64>, h: Headline) -> String {
    match (v, h) {
        (None, _) => "–".into(),
        (Some(d), Headline::ActionableRate) => format!("{:+.0} pts", d * 100.0),
        (Some(d), Headline::MttaP50S | Headline::MttrP50S) => {
            let s = if d < 0.0 { "-" } else { "+" };
            format!("{s}{}", fmt_secs(d.abs() as u64))
        }
        (Some(d), _) => {
            if d.fract() == 0.0 {
                format!("{d:+.0}")
            } else {
                format!("{d:+.1}")
            }
        }
    }
}

fn value(v: Option<f64>, h: Headline) -> String {
    match h {
        Headline::ActionableRate => fmt_pct(v),
        Headline::MttaP50S | Headline::MttrP50S => secs(v.map(|x| x as u64)),
        _ => fmt_num(v.map(|x| (x * 10.0).round() / 10.0)),
    }
}

/// The headline numbers (org), with the previous period when the input has it.
pub fn headline(r: &Report) -> Table {
    let mut t = Table::new(
        "headline",
        "Headline numbers",
        &["Metric", "This period", "Previous", "Change"],
    );
    for h in Headline::ALL {
        let row = r
            .trend
            .as_ref()
            .and_then(|rows| rows.iter().find(|x| x.metric == h));
        t.rows.push(vec![
            h.label().to_string(),
            value(h.of(&r.org), h),
            row.map(|x| value(x.previous, h))
                .unwrap_or_else(|| "–".into()),
            row.map(|x| signed(x.delta, h))
                .unwrap_or_else(|| "–".into()),
        ]);
    }
    t
}

fn all(r: &Report) -> impl Iterator<Item = &Summary> {
    // With one team selected the org row is that team; don't print it twice.
    let org = (r.teams.len() != 1).then_some(&r.org);
    org.into_iter().chain(&r.teams)
}

pub fn load(r: &Report) -> Table {
    let mut t = Table::new(
        "load",
        "Load: pages per shift and compression",
        &[
            "Team",
            "Pages",
            "Shifts",
            "Pages / shift mean",
            "p90",
            "max",
            "Over budget",
            "Raw events",
            "Clusters",
            "Events / cluster",
            "Clusters / page",
        ],
    );
    for s in all(r) {
        let l = &s.load;
        let ps = &l.pages_per_shift;
        t.rows.push(vec![
            s.team.clone(),
            l.pages.to_string(),
            ps.shifts.to_string(),
            fmt_num(ps.mean.map(|m| (m * 10.0).round() / 10.0)),
            ps.p90.map(|v| v.to_string()).unwrap_or_else(|| "–".into()),
            ps.max.map(|v| v.to_string()).unwrap_or_else(|| "–".into()),
            ps.over_budget.to_string(),
            l.raw_events.to_string(),
            l.clusters.to_string(),
            fmt_num(l.events_per_cluster),
            fmt_num(l.clusters_per_page),
        ]);
    }
    t
}

pub fn pages_per_day(s: &Summary) -> Table {
    let mut t = Table::new(
        "pages-per-day",
        format!("Pages per day ({})", s.timezone),
        &["Date", "Business hours", "After hours", "Total"],
    );
    for d in &s.pages_per_day {
        t.rows.push(vec![
            d.date.format("%a %Y-%m-%d").to_string(),
            d.business_hours_pages.to_string(),
            d.after_hours_pages.to_string(),
            (d.business_hours_pages + d.after_hours_pages).to_string(),
        ]);
    }
    t
}

pub fn sleep(r: &Report) -> Table {
    let mut t = Table::new(
        "sleep",
        "Sleep cost",
        &[
            "Team",
            "After-hours pages",
            "Sleep-hour pages",
            "Nights woken",
            "Nights with ≥2 wake-ups",
        ],
    );
    for s in all(r) {
        t.rows.push(vec![
            s.team.clone(),
            s.sleep.after_hours_pages.to_string(),
            s.sleep.sleep_pages.to_string(),
            s.sleep.nights_with_wakeups.to_string(),
            s.sleep.nights_with_2plus_wakeups.to_string(),
        ]);
    }
    t
}

pub fn quality(r: &Report) -> Table {
    let mut t = Table::new(
        "quality",
        "Quality: actionable pages and response times",
        &[
            "Team",
            "Pages",
            "Actionable",
            "Actionable rate",
            "Auto-resolved before ack",
            "After a change",
            "MTTA p50",
            "MTTA p90",
            "MTTR p50",
            "MTTR p90",
        ],
    );
    for s in all(r) {
        let q = &s.quality;
        t.rows.push(vec![
            s.team.clone(),
            s.load.pages.to_string(),
            q.actionable_pages.to_string(),
            fmt_pct(q.actionable_rate),
            q.auto_resolved_before_ack.to_string(),
            q.pages_after_change.to_string(),
            secs(q.mtta.p50_s),
            secs(q.mtta.p90_s),
            secs(q.mttr.p50_s),
            secs(q.mttr.p90_s),
        ]);
    }
    t
}

pub fn decisions(r: &Report) -> Table {
    let mut t = Table::new(
        "decisions",
        "Decisions and their top reasons",
        &["Decision", "Clusters", "Top reasons (clusters)"],
    );
    for d in &r.org.quality.decisions {
        let reasons: Vec<String> = d
            .top_reasons
            .iter()
            .map(|x| format!("{} ({})", x.feature.as_str(), x.clusters))
            .collect();
        t.rows.push(vec![
            d.decision.as_str().to_string(),
            d.clusters.to_string(),
            if reasons.is_empty() {
                "–".into()
            } else {
                reasons.join(", ")
            },
        ]);
    }
    t
}

fn rule(x: &RuleStats) -> String {
    rule_label(&x.alertname, x.service.as_deref())
}

pub fn noise_leaders(r: &Report) -> Table {
    let mut t = Table::new(
        "noise-leaders",
        "Noise leaders: pages × (1 − actionable rate)",
        &[
            "#",
            "Rule",
            "Team",
            "Pages",
            "Actioned",
            "Noise",
            "After hours",
            "Median firing",
            "Raw events",
        ],
    );
    for (i, x) in r.noise_leaders.by_noise.iter().enumerate() {
        t.rows.push(vec![
            (i + 1).to_string(),
            rule(x),
            x.team.clone().unwrap_or_else(|| "–".into()),
            x.pages.to_string(),
            x.actionable_pages.to_string(),
            x.noise.to_string(),
            x.after_hours_pages.to_string(),
            secs(x.firing_p50_s),
            x.raw_events.to_string(),
        ]);
    }
    t
}

pub fn volume_leaders(r: &Report) -> Table {
    let mut t = Table::new(
        "volume-leaders",
        "Noise leaders: raw alert volume",
        &[
            "#",
            "Rule",
            "Raw events",
            "Clusters",
            "Pages",
            "Tickets",
            "Suppressed",
        ],
    );
    for (i, x) in r.noise_leaders.by_volume.iter().enumerate() {
        t.rows.push(vec![
            (i + 1).to_string(),
            rule(x),
            x.raw_events.to_string(),
            x.clusters.to_string(),
            x.pages.to_string(),
            x.tickets.to_string(),
            x.suppressed.to_string(),
        ]);
    }
    t
}

pub fn flapping(r: &Report) -> Table {
    let mut t = Table::new(
        "flapping",
        "Flapping rules",
        &["Rule", "Flaps", "Flaps per firing hour", "Firings", "Pages"],
    );
    for x in &r.flapping {
        t.rows.push(vec![
            rule(x),
            x.flaps.to_string(),
            fmt_num(x.flaps_per_hour.map(|v| (v * 10.0).round() / 10.0)),
            x.firings.to_string(),
            x.pages.to_string(),
        ]);
    }
    t
}

pub fn transient(r: &Report) -> Table {
    let mut t = Table::new(
        "transient",
        "Transient rules (firings under 5 min)",
        &[
            "Rule",
            "Firings under 5 min",
            "Firings",
            "Median firing",
            "Pages",
            "Transient pages",
        ],
    );
    for x in &r.transient {
        t.rows.push(vec![
            rule(x),
            x.short_firings.to_string(),
            x.firings.to_string(),
            secs(x.firing_p50_s),
            x.pages.to_string(),
            x.transient_pages.to_string(),
        ]);
    }
    t
}

pub fn history(r: &Report) -> Table {
    let mut t = Table::new(
        "history",
        "Actionable rate by period",
        &["Period", "Pages", "Actionable", "Actionable rate"],
    );
    for h in &r.history {
        t.rows.push(vec![
            h.label.clone(),
            h.pages.to_string(),
            h.actionable_pages.to_string(),
            fmt_pct(h.actionable_rate),
        ]);
    }
    t
}

/// Pages by weekday × hour (local to each page's team).
pub fn hour_of_week(s: &Summary) -> Table {
    let mut headers = vec!["Day".to_string()];
    headers.extend((0..24).map(|h| format!("{h:02}")));
    let mut t = Table {
        id: "hour-of-week".into(),
        caption: "Pages by hour of week (team-local time)".into(),
        headers,
        rows: Vec::new(),
    };
    for (d, row) in ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
        .iter()
        .zip(&s.hour_of_week)
    {
        let mut cells = vec![d.to_string()];
        cells.extend(row.iter().map(|c| c.to_string()));
        t.rows.push(cells);
    }
    t
}

/// Shifts over budget, every team.
pub fn over_budget_shifts(r: &Report) -> Table {
    let mut t = Table::new(
        "over-budget",
        "Shifts over the page budget",
        &[
            "Team",
            "Shift start (local)",
            "Shift end (local)",
            "Hours",
            "Pages",
            "Budget",
        ],
    );
    for s in &r.teams {
        let tz: chrono_tz::Tz = s.timezone.parse().unwrap_or(chrono_tz::UTC);
        for sh in s.shifts.iter().filter(|x| x.over_budget) {
            t.rows.push(vec![
                s.team.clone(),
                fmt_local(tz, sh.start),
                fmt_local(tz, sh.end),
                fmt_num(Some((sh.hours * 10.0).round() / 10.0)),
                sh.pages.to_string(),
                fmt_num(Some((sh.budget * 10.0).round() / 10.0)),
            ]);
        }
    }
    t
}

/// The sentence an empty period gets, in every format.
pub fn empty_message(r: &Report) -> String {
    format!(
        "No cluster records in {} ({} records read in all): nothing was paged, ticketed or \
         suppressed in this period, so there is nothing to report. Check the period (--week, \
         --from/--to) and the input.",
        r.period.label, r.records_read
    )
}
