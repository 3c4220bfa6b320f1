//! The weekly on-call health report (`noisegate report`): cluster records in, one report
//! out as HTML (inline SVG charts, self-contained), Markdown or JSON.
//!
//! Pipeline: [`input`] reads records (files, a directory, a Kafka topic) → [`compute`]
//! builds the [`Report`] (pure, deterministic; its serde form is the JSON format, see
//! `docs/report-schema.md`) with [`recommend`] supplying per-rule numbers and advice →
//! [`html`] / [`markdown`] render it. Rotations (shifts, sleep hours, budget) are
//! [`config`], the `[oncall]` section. Only `input` does I/O; nothing here reads the clock
//! (the CLI picks the default period).

pub mod compute;
pub mod config;
pub mod html;
pub mod input;
pub mod markdown;
pub mod recommend;
mod svg;
mod tables;

pub use compute::{compute, Period, Report, ReportOptions};

/// Output format of `noisegate report`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Html,
    Markdown,
    Json,
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "html" => Ok(Format::Html),
            "md" | "markdown" => Ok(Format::Markdown),
            "json" => Ok(Format::Json),
            other => Err(format!("{other:?} is not a format (html, md, json)")),
        }
    }
}

/// Renders a report in a format.
pub fn render(report: &Report, format: Format) -> String {
    match format {
        Format::Html => html::render(report),
        Format::Markdown => markdown::render(report),
        Format::Json => {
            // Serialising plain data (no maps with non-string keys) cannot fail.
            serde_json::to_string_pretty(report).expect("the report serialises") + "\n"
        }
    }
}

/// Seconds as a short human duration: `45s`, `3m10s`, `2h05m`, `3d04h`.
pub fn fmt_secs(s: u64) -> String {
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m{:02}s", s / 60, s % 60),
        3600..=86_399 => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
        _ => format!("{}d{:02}h", s / 86_400, (s % 86_400) / 3600),
    }
}

/// A rate in [0, 1] as a whole percentage, `–` when undefined.
pub fn fmt_pct(r: Option<f64>) -> String {
    r.map(|r| format!("{:.0}%", r * 100.0))
        .unwrap_or_else(|| "–".into())
}

/// A number with at most one decimal, `–` when undefined.
pub fn fmt_num(v: Option<f64>) -> String {
    match v {
        Some(v) if v.fract() == 0.0 => format!("{v:.0}"),
        Some(v) => format!("{v:.1}"),
        None => "–".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_a_clock() {
        assert_eq!(fmt_secs(45), "45s");
        assert_eq!(fmt_secs(190), "3m10s");
        assert_eq!(fmt_secs(7500), "2h05m");
        assert_eq!(fmt_secs(3 * 86_400 + 4 * 3600), "3d04h");
        assert_eq!(fmt_pct(Some(0.126)), "13%");
        assert_eq!(fmt_num(Some(2.0)), "2");
        assert_eq!(fmt_num(Some(2.25)), "2.2");
    }
}
