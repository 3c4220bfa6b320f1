//! The report as one self-contained HTML file: inline CSS and SVG, no scripts, and a
//! Content-Security-Policy that forbids every fetch, so it opens offline, cannot leak, and
//! prints on A4. Every chart is a `<figure class="chart">` holding the SVG (with title and
//! description) and the table of its numbers. Layout only; numbers come from `tables`.

use std::fmt::Write as _;

use super::compute::Report;
use super::recommend::rule_label;
use super::tables::{self, fmt_local, Table};
use super::{fmt_pct, svg};

/// Escapes text for HTML and SVG content and attributes.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

/// Escapes text and turns Markdown `code` spans (used in recommendation texts) into
/// `<code>`.
fn esc_code(s: &str) -> String {
    s.split('`')
        .enumerate()
        .map(|(i, part)| {
            if i % 2 == 1 {
                format!("<code>{}</code>", esc(part))
            } else {
                esc(part)
            }
        })
        .collect()
}

const CSS: &str = r#"
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#222;margin:0 auto;max-width:1100px;padding:16px 24px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
.sub{color:#555;margin:0 0 16px}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(150px,1fr));gap:10px}
.card{border:1px solid #ddd;border-radius:6px;padding:8px 10px}
.card .v{font-size:24px;font-weight:600}.card .l{color:#555;font-size:12px}.card .d{color:#555;font-size:12px}
table{border-collapse:collapse;margin:6px 0 12px;font-size:12px}
th,td{border:1px solid #ddd;padding:3px 6px;text-align:right;vertical-align:top}
th:first-child,td:first-child{text-align:left}
td.text,th.text{text-align:left}
caption{text-align:left;font-weight:600;padding:4px 0}
figure.chart{margin:12px 0 20px;break-inside:avoid}
figure.chart svg{max-width:660px;display:block}
figure.chart figcaption{font-size:12px;color:#555}
.wide{overflow-x:auto}
ol.recs li{margin-bottom:6px}
.empty{border:2px solid #e45756;padding:12px;border-radius:6px;font-size:16px}
@media (max-width:900px){table{font-size:11px}th,td{padding:2px 4px}}
@media print{body{max-width:none;padding:0;font-size:11px}h2{break-after:avoid}table{font-size:10px}.wide{overflow:visible}}
@page{size:A4;margin:12mm}
"#;

fn table_html(out: &mut String, t: &Table) {
    let _ = write!(
        out,
        r#"<div class="wide"><table id="t-{}"><caption>{}</caption><thead><tr>"#,
        esc(&t.id),
        esc(&t.caption)
    );
    for (i, h) in t.headers.iter().enumerate() {
        let class = if i > 0 && t.is_text_col(i) {
            r#" class="text""#
        } else {
            ""
        };
        let _ = write!(out, r#"<th scope="col"{class}>{}</th>"#, esc(h));
    }
    out.push_str("</tr></thead><tbody>");
    if t.rows.is_empty() {
        let _ = write!(
            out,
            r#"<tr><td colspan="{}">None.</td></tr>"#,
            t.headers.len()
        );
    }
    for r in &t.rows {
        out.push_str("<tr>");
        for (i, c) in r.iter().enumerate() {
            if i == 0 {
                let _ = write!(out, r#"<th scope="row">{}</th>"#, esc(c));
            } else if t.is_text_col(i) {
                let _ = write!(out, r#"<td class="text">{}</td>"#, esc(c));
            } else {
                let _ = write!(out, "<td>{}</td>", esc(c));
            }
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table></div>");
}

fn figure(out: &mut String, id: &str, svg: &str, caption: &str, t: &Table) {
    let _ = write!(
        out,
        r#"<figure class="chart" id="{id}">{svg}<figcaption>{}</figcaption>"#,
        esc(caption)
    );
    table_html(out, t);
    out.push_str("</figure>");
}

fn card(out: &mut String, metric: &str, label: &str, value: &str, delta: Option<String>) {
    let _ = write!(
        out,
        r#"<div class="card" data-metric="{metric}"><div class="v">{}</div><div class="l">{}</div>"#,
        esc(value),
        esc(label)
    );
    if let Some(d) = delta {
        let _ = write!(out, r#"<div class="d">{} vs previous</div>"#, esc(&d));
    }
    out.push_str("</div>");
}

pub fn render(r: &Report) -> String {
    let tz: chrono_tz::Tz = r.period.timezone.parse().unwrap_or(chrono_tz::UTC);
    let title = format!(
        "On-call health report {}{}",
        r.period.label,
        r.team_filter
            .as_deref()
            .map(|t| format!(" — team {t}"))
            .unwrap_or_default()
    );
    let mut o = String::with_capacity(64 * 1024);
    let _ = write!(
        o,
        r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:"><meta name="viewport" content="width=device-width, initial-scale=1"><title>{}</title><style>{CSS}</style></head><body><header><h1>{}</h1><p class="sub">{} to {} ({}, {} days) · {} cluster records in the period</p></header><main>"#,
        esc(&title),
        esc(&title),
        esc(&fmt_local(tz, r.period.from)),
        esc(&fmt_local(tz, r.period.to)),
        esc(&r.period.timezone),
        r.period.days,
        r.records_in_period
    );
    if r.records_skipped > 0 {
        let _ = write!(
            o,
            r#"<p class="sub" id="skipped">{} input lines were not cluster records and were skipped.</p>"#,
            r.records_skipped
        );
    }
    if r.empty {
        let _ = write!(
            o,
            r#"<p class="empty" id="empty">{}</p></main></body></html>"#,
            esc(&tables::empty_message(r))
        );
        return o;
    }

    // Headline cards: the numbers an on-call lead looks for first.
    o.push_str(r#"<section id="headline"><h2>Headline</h2><div class="cards">"#);
    let head = tables::headline(r);
    let keys = [
        "pages",
        "pages_per_shift_mean",
        "shifts_over_budget",
        "after_hours_pages",
        "sleep_pages",
        "nights_with_2plus_wakeups",
        "actionable_rate",
        "mtta_p50_s",
        "mttr_p50_s",
    ];
    for (row, key) in head.rows.iter().zip(keys) {
        let delta = r.trend.as_ref().map(|_| row[3].clone());
        card(&mut o, key, &row[0], &row[1], delta);
    }
    o.push_str("</div>");
    table_html(&mut o, &head);
    o.push_str("</section>");

    o.push_str(r#"<section id="load"><h2>Load</h2>"#);
    table_html(&mut o, &tables::load(r));
    let days: Vec<(String, u32, u32)> = r
        .org
        .pages_per_day
        .iter()
        .map(|d| {
            (
                d.date.format("%a %d").to_string(),
                d.business_hours_pages,
                d.after_hours_pages,
            )
        })
        .collect();
    let (b, a): (u32, u32) = days.iter().fold((0, 0), |(x, y), d| (x + d.1, y + d.2));
    let desc = format!(
        "{} pages over {} days: {b} in business hours, {a} after hours.",
        b + a,
        days.len()
    );
    figure(
        &mut o,
        "chart-pages-per-day",
        &svg::stacked_days("ppd", &days, &desc),
        &desc,
        &tables::pages_per_day(&r.org),
    );
    table_html(&mut o, &tables::over_budget_shifts(r));
    o.push_str("</section>");

    o.push_str(r#"<section id="sleep"><h2>Sleep cost</h2>"#);
    table_html(&mut o, &tables::sleep(r));
    let busiest = r
        .org
        .hour_of_week
        .iter()
        .enumerate()
        .flat_map(|(d, row)| row.iter().enumerate().map(move |(h, &c)| (c, d, h)))
        .max_by(|x, y| x.0.cmp(&y.0).then(y.1.cmp(&x.1)).then(y.2.cmp(&x.2)));
    let desc = match busiest {
        Some((c, d, h)) if c > 0 => format!(
            "Busiest hour: {} {h:02}:00 with {c} pages (team-local time).",
            [
                "Monday",
                "Tuesday",
                "Wednesday",
                "Thursday",
                "Friday",
                "Saturday",
                "Sunday"
            ][d]
        ),
        _ => "No pages.".to_string(),
    };
    figure(
        &mut o,
        "chart-hour-of-week",
        &svg::heatmap("how", &r.org.hour_of_week, &desc),
        &desc,
        &tables::hour_of_week(&r.org),
    );
    o.push_str("</section>");

    o.push_str(r#"<section id="quality"><h2>Quality</h2>"#);
    table_html(&mut o, &tables::quality(r));
    table_html(&mut o, &tables::decisions(r));
    o.push_str("</section>");

    o.push_str(r#"<section id="noise"><h2>Noise leaders</h2>"#);
    let bars: Vec<(String, u32, u32)> = r
        .noise_leaders
        .by_noise
        .iter()
        .map(|x| {
            (
                rule_label(&x.alertname, x.service.as_deref()),
                x.noise,
                x.actionable_pages,
            )
        })
        .collect();
    let desc = match r.noise_leaders.by_noise.first() {
        Some(x) => format!(
            "{} rules; the noisiest, {}, paged {} times with {} actioned.",
            bars.len(),
            rule_label(&x.alertname, x.service.as_deref()),
            x.pages,
            x.actionable_pages
        ),
        None => "No rule paged.".into(),
    };
    figure(
        &mut o,
        "chart-offenders",
        &svg::offenders("off", &bars, &desc),
        &desc,
        &tables::noise_leaders(r),
    );
    table_html(&mut o, &tables::volume_leaders(r));
    o.push_str(r#"<h2 id="recommendations">What to change</h2>"#);
    if r.recommendations.is_empty() {
        o.push_str("<p>No rule crosses a threshold for advice this period.</p>");
    } else {
        o.push_str(r#"<ol class="recs">"#);
        for x in &r.recommendations {
            let _ = write!(
                o,
                "<li><strong><code>{}</code></strong>: {}.<br><small>Evidence: {}.</small></li>",
                esc(&rule_label(&x.alertname, x.service.as_deref())),
                esc_code(&x.change),
                esc_code(&x.evidence)
            );
        }
        o.push_str("</ol>");
    }
    o.push_str("</section>");

    o.push_str(r#"<section id="flapping"><h2>Flapping and transient rules</h2>"#);
    table_html(&mut o, &tables::flapping(r));
    table_html(&mut o, &tables::transient(r));
    o.push_str("</section>");

    o.push_str(r#"<section id="trend"><h2>Trend</h2>"#);
    let pts: Vec<(String, Option<f64>)> = r
        .history
        .iter()
        .map(|h| (h.label.clone(), h.actionable_rate))
        .collect();
    let desc = match r.history.last() {
        Some(h) => format!(
            "Actionable rate over {} periods; this period {} of {} pages.",
            r.history.len(),
            fmt_pct(h.actionable_rate),
            h.pages
        ),
        None => "No history.".into(),
    };
    figure(
        &mut o,
        "chart-actionable-trend",
        &svg::rate_trend("trend", &pts, &desc),
        &desc,
        &tables::history(r),
    );
    o.push_str("</section>");

    let _ = write!(
        o,
        r#"</main><footer><p class="sub">noisegate report · schema v{} · MTTA = ack − page, MTTR = resolve − page; percentiles from hdrhistogram; definitions in docs/report-schema.md</p></footer></body></html>"#,
        r.schema_version
    );
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_spans_and_escaping() {
        assert_eq!(
            esc_code("add `for: 5m` to <rule> & go"),
            "add <code>for: 5m</code> to &lt;rule&gt; &amp; go"
        );
        assert_eq!(esc_code("`<b>`"), "<code>&lt;b&gt;</code>");
    }
}
