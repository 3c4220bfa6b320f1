//! Hand-written inline SVG charts for the HTML report: no scripts, no fonts or images to
//! fetch, so the report opens offline and prints. Each chart carries a `<title>` and a
//! `<desc>` summarising it (the HTML puts the full data table beside it). Drawing only: the
//! numbers come in as arguments.

use std::fmt::Write as _;

use super::html::esc;

pub const BUSINESS: &str = "#4c78a8";
pub const AFTER: &str = "#e45756";
pub const ACTIONED: &str = "#54a24b";
pub const NOISE: &str = "#e45756";

fn open(out: &mut String, id: &str, w: u32, h: u32, title: &str, desc: &str) {
    let _ = write!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {w} {h}" width="100%" aria-labelledby="{id}-t {id}-d" class="chart"><title id="{id}-t">{}</title><desc id="{id}-d">{}</desc>"#,
        esc(title),
        esc(desc)
    );
}

fn nice_max(v: u32) -> u32 {
    match v {
        0..=4 => 4,
        5..=10 => 10,
        _ => v.div_ceil(5) * 5,
    }
}

/// Stacked bars: one per day, business hours below after hours.
pub fn stacked_days(id: &str, days: &[(String, u32, u32)], desc: &str) -> String {
    let (w, h, left, bottom, top) = (640u32, 220u32, 36u32, 34u32, 24u32);
    let mut s = String::new();
    open(
        &mut s,
        id,
        w,
        h,
        "Pages per day, business hours and after hours",
        desc,
    );
    let max = nice_max(days.iter().map(|d| d.1 + d.2).max().unwrap_or(0));
    let plot_h = (h - bottom - top) as f64;
    let n = days.len().max(1) as f64;
    let slot = (w - left - 8) as f64 / n;
    let bw = (slot * 0.7).max(2.0);
    // Grid lines at 0, max/2, max.
    for k in 0..=2 {
        let v = max * k / 2;
        let y = top as f64 + plot_h - plot_h * f64::from(v) / f64::from(max);
        let _ = write!(
            s,
            r##"<line x1="{left}" x2="{}" y1="{y:.1}" y2="{y:.1}" stroke="#ccc"/><text x="{}" y="{:.1}" font-size="10" text-anchor="end">{v}</text>"##,
            w - 8,
            left - 4,
            y + 3.0
        );
    }
    for (i, (label, b, a)) in days.iter().enumerate() {
        let x = left as f64 + slot * i as f64 + (slot - bw) / 2.0;
        let hb = plot_h * f64::from(*b) / f64::from(max);
        let ha = plot_h * f64::from(*a) / f64::from(max);
        let base = top as f64 + plot_h;
        let _ = write!(
            s,
            r#"<rect x="{x:.1}" y="{:.1}" width="{bw:.1}" height="{hb:.1}" fill="{BUSINESS}"><title>{}: {b} in business hours</title></rect>"#,
            base - hb,
            esc(label)
        );
        let _ = write!(
            s,
            r#"<rect x="{x:.1}" y="{:.1}" width="{bw:.1}" height="{ha:.1}" fill="{AFTER}"><title>{}: {a} after hours</title></rect>"#,
            base - hb - ha,
            esc(label)
        );
        if days.len() <= 14 || i % (days.len() / 14 + 1) == 0 {
            let _ = write!(
                s,
                r#"<text x="{:.1}" y="{}" font-size="10" text-anchor="middle">{}</text>"#,
                x + bw / 2.0,
                h - bottom + 14,
                esc(label)
            );
        }
    }
    let _ = write!(
        s,
        r#"<rect x="{left}" y="4" width="10" height="10" fill="{BUSINESS}"/><text x="{}" y="13" font-size="11">business hours</text><rect x="{}" y="4" width="10" height="10" fill="{AFTER}"/><text x="{}" y="13" font-size="11">after hours</text></svg>"#,
        left + 14,
        left + 120,
        left + 134
    );
    s
}

/// 7 × 24 heatmap, Monday first.
pub fn heatmap(id: &str, grid: &[Vec<u32>], desc: &str) -> String {
    let (cw, ch, left, top) = (24u32, 20u32, 36u32, 18u32);
    let (w, h) = (left + 24 * cw + 4, top + 7 * ch + 4);
    let mut s = String::new();
    open(&mut s, id, w, h, "Pages by hour of week", desc);
    let max = grid.iter().flatten().copied().max().unwrap_or(0).max(1);
    for hr in (0..24).step_by(3) {
        let _ = write!(
            s,
            r#"<text x="{}" y="12" font-size="10" text-anchor="middle">{hr:02}</text>"#,
            left + hr * cw + cw / 2
        );
    }
    for (d, (name, row)) in ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
        .iter()
        .zip(grid)
        .enumerate()
    {
        let y = top + d as u32 * ch;
        let _ = write!(
            s,
            r#"<text x="0" y="{}" font-size="10">{name}</text>"#,
            y + 14
        );
        for (hr, &c) in row.iter().enumerate() {
            // White for none, then deeper red with more pages.
            let f = f64::from(c) / f64::from(max);
            let light = if c == 0 { 97.0 } else { 85.0 - 50.0 * f };
            let _ = write!(
                s,
                r##"<rect x="{}" y="{y}" width="{}" height="{}" fill="hsl(4, 70%, {light:.0}%)" stroke="#fff"><title>{name} {hr:02}:00: {c} pages</title></rect>"##,
                left + hr as u32 * cw,
                cw,
                ch
            );
        }
    }
    s.push_str("</svg>");
    s
}

/// Horizontal bars: actioned pages and noise per rule.
pub fn offenders(id: &str, rows: &[(String, u32, u32)], desc: &str) -> String {
    let (w, bar_h, left, top) = (640u32, 18u32, 260u32, 22u32);
    let h = top + rows.len().max(1) as u32 * (bar_h + 6) + 4;
    let mut s = String::new();
    open(&mut s, id, w, h, "Top offenders: pages nobody needed", desc);
    let max = nice_max(rows.iter().map(|r| r.1 + r.2).max().unwrap_or(0));
    let scale = (w - left - 40) as f64 / f64::from(max);
    let _ = write!(
        s,
        r#"<rect x="{left}" y="4" width="10" height="10" fill="{NOISE}"/><text x="{}" y="13" font-size="11">not actioned</text><rect x="{}" y="4" width="10" height="10" fill="{ACTIONED}"/><text x="{}" y="13" font-size="11">actioned</text>"#,
        left + 14,
        left + 110,
        left + 124
    );
    for (i, (label, noise, actioned)) in rows.iter().enumerate() {
        let y = top + i as u32 * (bar_h + 6);
        let short: String = if label.chars().count() > 40 {
            label.chars().take(39).collect::<String>() + "…"
        } else {
            label.clone()
        };
        let wn = f64::from(*noise) * scale;
        let wa = f64::from(*actioned) * scale;
        let _ = write!(
            s,
            r#"<text x="{}" y="{}" font-size="11" text-anchor="end">{}</text><rect x="{left}" y="{y}" width="{wn:.1}" height="{bar_h}" fill="{NOISE}"><title>{}: {noise} not actioned</title></rect><rect x="{:.1}" y="{y}" width="{wa:.1}" height="{bar_h}" fill="{ACTIONED}"><title>{}: {actioned} actioned</title></rect><text x="{:.1}" y="{}" font-size="11">{}</text>"#,
            left - 6,
            y + 13,
            esc(&short),
            esc(label),
            left as f64 + wn,
            esc(label),
            left as f64 + wn + wa + 4.0,
            y + 13,
            noise + actioned
        );
    }
    s.push_str("</svg>");
    s
}

/// Line of actionable rate (0–100 %) per period; periods without pages are gaps.
pub fn rate_trend(id: &str, points: &[(String, Option<f64>)], desc: &str) -> String {
    let (w, h, left, bottom, top) = (640u32, 200u32, 40u32, 30u32, 12u32);
    let mut s = String::new();
    open(&mut s, id, w, h, "Actionable rate by period", desc);
    let plot_h = (h - bottom - top) as f64;
    let n = points.len().max(1);
    let step = (w - left - 30) as f64 / (n.max(2) - 1) as f64;
    for pct in [0, 50, 100] {
        let y = top as f64 + plot_h - plot_h * f64::from(pct) / 100.0;
        let _ = write!(
            s,
            r##"<line x1="{left}" x2="{}" y1="{y:.1}" y2="{y:.1}" stroke="#ccc"/><text x="{}" y="{:.1}" font-size="10" text-anchor="end">{pct}%</text>"##,
            w - 10,
            left - 4,
            y + 3.0
        );
    }
    let xy = |i: usize, r: f64| {
        (
            left as f64
                + step * i as f64
                + if n == 1 {
                    (w - left) as f64 / 2.0 - 15.0
                } else {
                    0.0
                },
            top as f64 + plot_h - plot_h * r,
        )
    };
    let path: Vec<String> = points
        .iter()
        .enumerate()
        .filter_map(|(i, (_, r))| r.map(|r| xy(i, r)))
        .map(|(x, y)| format!("{x:.1},{y:.1}"))
        .collect();
    if path.len() > 1 {
        let _ = write!(
            s,
            r#"<polyline points="{}" fill="none" stroke="{ACTIONED}" stroke-width="2"/>"#,
            path.join(" ")
        );
    }
    for (i, (label, r)) in points.iter().enumerate() {
        let (x, _) = xy(i, 0.0);
        if let Some(r) = r {
            let (_, y) = xy(i, *r);
            let _ = write!(
                s,
                r#"<circle cx="{x:.1}" cy="{y:.1}" r="4" fill="{ACTIONED}"><title>{}: {:.0}%</title></circle>"#,
                esc(label),
                r * 100.0
            );
        }
        let _ = write!(
            s,
            r#"<text x="{x:.1}" y="{}" font-size="10" text-anchor="middle">{}</text>"#,
            h - bottom + 16,
            esc(label)
        );
    }
    s.push_str("</svg>");
    s
}
