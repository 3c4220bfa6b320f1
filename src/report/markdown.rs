//! The report as Markdown: headings, pipe tables and a numbered list of recommendations, no
//! HTML, so it pastes into Slack, Confluence or a GitHub issue. Formatting only; the
//! numbers and cells come from `compute` and `tables`.

use std::fmt::Write as _;

use super::compute::Report;
use super::recommend::rule_label;
use super::tables::{self, fmt_local, Table};

fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

fn table(out: &mut String, t: &Table) {
    let _ = writeln!(out, "\n**{}**\n", t.caption);
    if t.rows.is_empty() {
        out.push_str("_None._\n");
        return;
    }
    let _ = writeln!(
        out,
        "| {} |",
        t.headers
            .iter()
            .map(|h| cell(h))
            .collect::<Vec<_>>()
            .join(" | ")
    );
    let _ = writeln!(
        out,
        "|{}",
        (0..t.headers.len())
            .map(|i| if t.is_text_col(i) { "---|" } else { "---:|" })
            .collect::<String>()
    );
    for r in &t.rows {
        let _ = writeln!(
            out,
            "| {} |",
            r.iter().map(|c| cell(c)).collect::<Vec<_>>().join(" | ")
        );
    }
}

pub fn render(r: &Report) -> String {
    let mut out = String::new();
    let tz: chrono_tz::Tz = r.period.timezone.parse().unwrap_or(chrono_tz::UTC);
    let _ = writeln!(
        out,
        "# On-call health report {}{}",
        r.period.label,
        r.team_filter
            .as_deref()
            .map(|t| format!(" — team {t}"))
            .unwrap_or_default()
    );
    let _ = writeln!(
        out,
        "\n{} to {} ({}, {} days). {} cluster records in the period.",
        fmt_local(tz, r.period.from),
        fmt_local(tz, r.period.to),
        r.period.timezone,
        r.period.days,
        r.records_in_period
    );
    if r.records_skipped > 0 {
        let _ = writeln!(
            out,
            "\n{} input lines were not cluster records and were skipped.",
            r.records_skipped
        );
    }
    if r.empty {
        let _ = writeln!(out, "\n**{}**", tables::empty_message(r));
        return out;
    }
    out.push_str("\n## Headline\n");
    table(&mut out, &tables::headline(r));
    out.push_str("\n## Load\n");
    table(&mut out, &tables::load(r));
    table(&mut out, &tables::pages_per_day(&r.org));
    table(&mut out, &tables::over_budget_shifts(r));
    out.push_str("\n## Sleep cost\n");
    table(&mut out, &tables::sleep(r));
    out.push_str("\n## Quality\n");
    table(&mut out, &tables::quality(r));
    table(&mut out, &tables::decisions(r));
    out.push_str("\n## Noise leaders\n");
    table(&mut out, &tables::noise_leaders(r));
    table(&mut out, &tables::volume_leaders(r));
    out.push_str("\n## What to change\n\n");
    if r.recommendations.is_empty() {
        out.push_str("_No rule crosses a threshold for advice this period._\n");
    }
    for (i, x) in r.recommendations.iter().enumerate() {
        let _ = writeln!(
            out,
            "{}. **`{}`**: {}. Evidence: {}.",
            i + 1,
            rule_label(&x.alertname, x.service.as_deref()),
            x.change,
            x.evidence
        );
    }
    out.push_str("\n## Flapping and transient rules\n");
    table(&mut out, &tables::flapping(r));
    table(&mut out, &tables::transient(r));
    out.push_str("\n## Trend\n");
    table(&mut out, &tables::history(r));
    out
}
