//! On-call rotations for the weekly report: the `[oncall]` config section as written
//! ([`RawOncall`]) and compiled ([`Oncall`], one [`Rotation`] per team).
//!
//! Owns: hand-off times and the shifts they make, sleep hours, the page budget, top-N.
//! Working hours are not repeated here: a team's working hours are its `[business_hours]`
//! ([`crate::config::Hours`]), so the engine's after-hours feature and the report agree.
//! Does not read files (`crate::config` does) and does not compute anything about records.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate, NaiveTime, TimeZone, Weekday};
use serde::Deserialize;

use crate::config::{BusinessHours, ConfigError, Hours};
use crate::event::EventTime;

/// `[oncall]` as written. Every key is optional; `[oncall.teams.NAME]` takes the same keys
/// and falls back to `[oncall]`, which falls back to the built-in defaults.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct RawOncall {
    #[serde(flatten)]
    pub default: RawRotation,
    /// How many noise leaders the report lists. Default 10.
    pub top_n: Option<usize>,
    /// Per-team rotations: `[oncall.teams.payments]`.
    pub teams: BTreeMap<String, RawRotation>,
}

/// One rotation as written.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct RawRotation {
    /// IANA time zone of the rotation. Default: the team's `[business_hours]` zone.
    pub timezone: Option<String>,
    /// Local hand-off times "HH:MM"; each starts a shift. Default ["08:00", "20:00"] (two
    /// 12 h shifts a day). With `handoff_day`, exactly one time (weekly rotation).
    pub handoffs: Option<Vec<String>>,
    /// Weekly rotation: the day of the hand-off (mon..sun). Default: none (daily hand-offs).
    pub handoff_day: Option<String>,
    /// Sleep hours, local "HH:MM"; may wrap midnight. Default 22:00–07:00.
    pub sleep_start: Option<String>,
    pub sleep_end: Option<String>,
    /// Pages one person can take per 12 h on call; scaled to each shift's length.
    /// Default 2.
    pub page_budget_per_12h: Option<f64>,
}

/// When shifts start.
#[derive(Debug, Clone, PartialEq)]
pub enum Handoffs {
    /// Every day at these local times (minutes after midnight, sorted, unique).
    Daily(Vec<u32>),
    /// Once a week on this day at this local time.
    Weekly { day: Weekday, minute: u32 },
}

/// One team's compiled rotation.
#[derive(Debug, Clone)]
pub struct Rotation {
    pub tz: chrono_tz::Tz,
    pub handoffs: Handoffs,
    /// Working hours and days (the team's `[business_hours]`), in `tz`'s sense of local.
    pub work: Hours,
    /// Sleep window, minutes after local midnight; `start > end` wraps midnight.
    pub sleep_start_min: u32,
    pub sleep_end_min: u32,
    pub page_budget_per_12h: f64,
}

/// `[oncall]`, compiled.
#[derive(Debug, Clone)]
pub struct Oncall {
    /// Rotation for teams without their own, and the zone the report's period is cut in.
    pub default: Rotation,
    pub teams: BTreeMap<String, Rotation>,
    pub top_n: usize,
}

impl Default for Oncall {
    fn default() -> Self {
        crate::config::Config::default().oncall
    }
}

impl Oncall {
    /// The rotation of a team (`None`: records without a team).
    pub fn for_team(&self, team: Option<&str>) -> &Rotation {
        team.and_then(|t| self.teams.get(t))
            .unwrap_or(&self.default)
    }

    /// Validates `[oncall]`; `hours` is the compiled `[business_hours]` (working hours).
    pub fn compile(
        raw: &RawOncall,
        hours: &BusinessHours,
        path: &str,
    ) -> Result<Oncall, ConfigError> {
        let default = compile_rotation(path, "oncall.", &raw.default, None, &hours.default)?;
        let mut teams = BTreeMap::new();
        for (name, r) in &raw.teams {
            let rot = compile_rotation(
                path,
                &format!("oncall.teams.{name}."),
                r,
                Some(&raw.default),
                hours.for_team(Some(name)),
            )?;
            teams.insert(name.clone(), rot);
        }
        // Teams with business hours of their own but no rotation still get their hours.
        for (name, h) in &hours.teams {
            if !teams.contains_key(name) {
                let rot = compile_rotation(path, "oncall.", &raw.default, None, h)?;
                teams.insert(name.clone(), rot);
            }
        }
        let top_n = raw.top_n.unwrap_or(10);
        if top_n == 0 {
            return Err(ConfigError::Invalid {
                path: path.into(),
                key: "oncall.top_n".into(),
                problem: "must be at least 1".into(),
            });
        }
        Ok(Oncall {
            default,
            teams,
            top_n,
        })
    }
}

fn parse_hhmm(s: &str) -> Option<u32> {
    let (h, m) = s.split_once(':')?;
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    (h < 24 && m < 60).then_some(h * 60 + m)
}

fn parse_day(s: &str) -> Option<Weekday> {
    let i = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        .iter()
        .position(|d| d.eq_ignore_ascii_case(s))?;
    Some(Weekday::try_from(i as u8).unwrap_or(Weekday::Mon))
}

fn compile_rotation(
    path: &str,
    prefix: &str,
    r: &RawRotation,
    fallback: Option<&RawRotation>,
    work: &Hours,
) -> Result<Rotation, ConfigError> {
    let inv = |k: &str, problem: String| ConfigError::Invalid {
        path: path.into(),
        key: format!("{prefix}{k}"),
        problem,
    };
    // A key set on the team wins; otherwise `[oncall]`'s; otherwise the default. Errors
    // name where the value came from, so a bad `[oncall]` value is reported once as such.
    macro_rules! pick {
        ($f:ident) => {
            match (&r.$f, fallback.and_then(|f| f.$f.as_ref())) {
                (Some(v), _) => (Some(v), prefix.to_string()),
                (None, Some(v)) => (Some(v), "oncall.".to_string()),
                (None, None) => (None, prefix.to_string()),
            }
        };
    }
    let (tz_raw, tz_at) = pick!(timezone);
    let tz = match tz_raw {
        Some(name) => name
            .parse::<chrono_tz::Tz>()
            .map_err(|_| ConfigError::Invalid {
                path: path.into(),
                key: format!("{tz_at}timezone"),
                problem: format!("{name:?} is not an IANA time zone (e.g. \"Europe/Berlin\")"),
            })?,
        None => work.tz,
    };
    let (h_raw, h_at) = pick!(handoffs);
    let default_handoffs = vec!["08:00".to_string(), "20:00".to_string()];
    let h_list = h_raw.unwrap_or(&default_handoffs);
    let at = |k: &str, at: &str, problem: String| ConfigError::Invalid {
        path: path.into(),
        key: format!("{at}{k}"),
        problem,
    };
    let mut mins = Vec::with_capacity(h_list.len());
    for (i, s) in h_list.iter().enumerate() {
        let m = parse_hhmm(s).ok_or_else(|| {
            at(
                &format!("handoffs[{i}]"),
                &h_at,
                format!("{s:?} is not a time HH:MM"),
            )
        })?;
        mins.push(m);
    }
    mins.sort_unstable();
    mins.dedup();
    if mins.is_empty() {
        return Err(at(
            "handoffs",
            &h_at,
            "needs at least one hand-off time".into(),
        ));
    }
    let (day_raw, day_at) = pick!(handoff_day);
    let handoffs = match day_raw {
        None => Handoffs::Daily(mins),
        Some(d) => {
            let day = parse_day(d).ok_or_else(|| {
                at(
                    "handoff_day",
                    &day_at,
                    format!("{d:?} is not a day (mon..sun)"),
                )
            })?;
            if mins.len() != 1 {
                return Err(at(
                    "handoffs",
                    &h_at,
                    "a weekly rotation (handoff_day) has exactly one hand-off time".into(),
                ));
            }
            Handoffs::Weekly {
                day,
                minute: mins[0],
            }
        }
    };
    let (ss, ss_at) = pick!(sleep_start);
    let sleep_start_min = match ss {
        Some(s) => parse_hhmm(s)
            .ok_or_else(|| at("sleep_start", &ss_at, format!("{s:?} is not a time HH:MM")))?,
        None => 22 * 60,
    };
    let (se, se_at) = pick!(sleep_end);
    let sleep_end_min = match se {
        Some(s) => parse_hhmm(s)
            .ok_or_else(|| at("sleep_end", &se_at, format!("{s:?} is not a time HH:MM")))?,
        None => 7 * 60,
    };
    if sleep_start_min == sleep_end_min {
        return Err(inv(
            "sleep_end",
            "sleep hours are empty (sleep_end equals sleep_start)".into(),
        ));
    }
    let (b, b_at) = pick!(page_budget_per_12h);
    let page_budget_per_12h = b.copied().unwrap_or(2.0);
    if !(page_budget_per_12h.is_finite() && page_budget_per_12h > 0.0) {
        return Err(at(
            "page_budget_per_12h",
            &b_at,
            format!("{page_budget_per_12h} is not a positive number"),
        ));
    }
    let mut work = work.clone();
    // Working hours are read in the rotation's zone: one zone per team, whatever
    // `[business_hours]` said, so a day's business/after-hours split matches its shifts.
    work.tz = tz;
    Ok(Rotation {
        tz,
        handoffs,
        work,
        sleep_start_min,
        sleep_end_min,
        page_budget_per_12h,
    })
}

/// Local wall-clock time to UTC milliseconds. In a spring-forward gap the wall time does not
/// exist; it is taken as the first instant after the gap (what a clock-driven hand-off does).
/// In a fall-back overlap, the earlier of the two instants.
pub(crate) fn local_to_ms(tz: chrono_tz::Tz, date: NaiveDate, minute: u32) -> i64 {
    let time = NaiveTime::from_hms_opt(minute / 60, minute % 60, 0).unwrap_or(NaiveTime::MIN);
    let naive = date.and_time(time);
    if let Some(t) = tz.from_local_datetime(&naive).earliest() {
        return t.timestamp_millis();
    }
    // Gaps are at most a few hours; step forward a minute at a time to the first valid time.
    (1..=240)
        .find_map(|m| {
            tz.from_local_datetime(&(naive + chrono::Duration::minutes(m)))
                .earliest()
        })
        .map(|t| t.timestamp_millis())
        .unwrap_or_else(|| naive.and_utc().timestamp_millis())
}

/// The local date and minute-of-day of an instant.
pub(crate) fn local_parts(tz: chrono_tz::Tz, t: EventTime) -> (NaiveDate, u32, Weekday) {
    use chrono::Timelike;
    let utc = chrono::DateTime::from_timestamp_millis(t.as_millis()).unwrap_or_default();
    let local = tz.from_utc_datetime(&utc.naive_utc());
    (
        local.date_naive(),
        local.hour() * 60 + local.minute(),
        local.weekday(),
    )
}

impl Rotation {
    /// Shift start instants (UTC ms), sorted, covering `[from, to)` with one start at or
    /// before `from` and one at or after `to`.
    pub fn shift_starts(&self, from: EventTime, to: EventTime) -> Vec<i64> {
        let (d0, _, _) = local_parts(self.tz, from);
        let (d1, _, _) = local_parts(self.tz, to);
        let first = d0 - chrono::Duration::days(8);
        let last = d1 + chrono::Duration::days(8);
        let mut out = Vec::new();
        let mut d = first;
        while d <= last {
            match &self.handoffs {
                Handoffs::Daily(mins) => {
                    out.extend(mins.iter().map(|&m| local_to_ms(self.tz, d, m)))
                }
                Handoffs::Weekly { day, minute } => {
                    if d.weekday() == *day {
                        out.push(local_to_ms(self.tz, d, *minute));
                    }
                }
            }
            d += chrono::Duration::days(1);
        }
        out.sort_unstable();
        out.dedup();
        let lo = out
            .iter()
            .rposition(|&s| s <= from.as_millis())
            .unwrap_or(0);
        let hi = out
            .iter()
            .position(|&s| s >= to.as_millis())
            .unwrap_or(out.len().saturating_sub(1));
        out[lo..=hi.max(lo)].to_vec()
    }

    /// Whether `t` is in the team's sleep hours (local).
    pub fn is_sleep(&self, t: EventTime) -> bool {
        let (_, m, _) = local_parts(self.tz, t);
        self.in_sleep_minute(m)
    }

    fn in_sleep_minute(&self, m: u32) -> bool {
        if self.sleep_start_min < self.sleep_end_min {
            m >= self.sleep_start_min && m < self.sleep_end_min
        } else {
            m >= self.sleep_start_min || m < self.sleep_end_min
        }
    }

    /// The night a sleep-hour instant belongs to, named by the local date the night starts
    /// on (a page at 02:00 on Tuesday belongs to Monday's night). `None` outside sleep hours.
    pub fn night_of(&self, t: EventTime) -> Option<NaiveDate> {
        let (d, m, _) = local_parts(self.tz, t);
        if !self.in_sleep_minute(m) {
            return None;
        }
        let wraps = self.sleep_start_min > self.sleep_end_min;
        if wraps && m < self.sleep_end_min {
            d.pred_opt()
        } else {
            Some(d)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compile(text: &str) -> Result<Oncall, ConfigError> {
        #[derive(Deserialize)]
        struct W {
            #[serde(default)]
            oncall: RawOncall,
        }
        let w: W = toml::from_str(text).expect("toml");
        let bh = crate::config::Config::default().engine.hours;
        Oncall::compile(&w.oncall, &bh, "t.toml")
    }

    fn ms(s: &str) -> EventTime {
        EventTime::parse_rfc3339(s).expect("time")
    }

    #[test]
    fn shipped_config_shows_the_defaults() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/config/noisegate.toml");
        let c = crate::config::Config::load(std::path::Path::new(path)).expect("valid");
        let (s, d) = (&c.oncall, &Oncall::default());
        assert_eq!(s.top_n, d.top_n);
        assert_eq!(s.default.tz, d.default.tz);
        assert_eq!(s.default.handoffs, d.default.handoffs);
        assert_eq!(
            (s.default.sleep_start_min, s.default.sleep_end_min),
            (d.default.sleep_start_min, d.default.sleep_end_min)
        );
        assert_eq!(s.default.page_budget_per_12h, d.default.page_budget_per_12h);
    }

    #[test]
    fn unknown_timezone_names_the_key() {
        let e = compile("[oncall.teams.payments]\ntimezone = \"Europe/Berlinn\"\n")
            .expect_err("bad zone")
            .to_string();
        assert!(
            e.contains("oncall.teams.payments.timezone") && e.contains("Europe/Berlinn"),
            "{e}"
        );
        let e = compile("[oncall]\ntimezone = \"Mars/Olympus\"\n")
            .expect_err("bad zone")
            .to_string();
        assert!(e.contains("`oncall.timezone`"), "{e}");
    }

    #[test]
    fn bad_values_name_their_key() {
        let e = compile("[oncall]\nhandoffs = [\"08:00\", \"25:00\"]\n")
            .expect_err("bad")
            .to_string();
        assert!(e.contains("oncall.handoffs[1]"), "{e}");
        // The two default hand-offs with a weekly day: the error names the team's key.
        let e = compile("[oncall.teams.a]\nhandoff_day = \"mon\"\n")
            .expect_err("two hand-offs weekly")
            .to_string();
        assert!(e.contains("oncall.teams.a.handoffs"), "{e}");
        let e = compile("[oncall]\npage_budget_per_12h = 0\n")
            .expect_err("bad")
            .to_string();
        assert!(e.contains("page_budget_per_12h"), "{e}");
    }

    #[test]
    fn team_inherits_then_overrides() {
        let o = compile(
            "[oncall]\ntimezone = \"Europe/Berlin\"\nsleep_start = \"23:00\"\n\
             [oncall.teams.a]\nhandoffs = [\"09:00\"]\nhandoff_day = \"mon\"\n",
        )
        .expect("valid");
        let a = o.for_team(Some("a"));
        assert_eq!(a.tz, chrono_tz::Europe::Berlin);
        assert_eq!(a.sleep_start_min, 23 * 60);
        assert_eq!(
            a.handoffs,
            Handoffs::Weekly {
                day: Weekday::Mon,
                minute: 540
            }
        );
        assert_eq!(
            o.for_team(Some("zzz")).handoffs,
            Handoffs::Daily(vec![480, 1200])
        );
    }

    #[test]
    fn shifts_follow_local_handoffs_across_dst_end() {
        let o = compile("[oncall]\ntimezone = \"Europe/Berlin\"\n").expect("valid");
        let r = &o.default;
        // 2026-10-25 03:00 CEST → 02:00 CET. Hand-offs 08:00/20:00 local.
        let s = r.shift_starts(ms("2026-10-24T12:00:00Z"), ms("2026-10-25T12:00:00Z"));
        let got: Vec<String> = s.iter().map(|&m| EventTime(m).to_rfc3339()).collect();
        assert_eq!(
            got,
            [
                "2026-10-24T06:00:00.000Z", // Sat 08:00 CEST
                "2026-10-24T18:00:00.000Z", // Sat 20:00 CEST
                "2026-10-25T07:00:00.000Z", // Sun 08:00 CET: a 13 h night shift
                "2026-10-25T19:00:00.000Z",
            ]
        );
    }

    #[test]
    fn nights_are_named_by_their_evening() {
        let o = compile("[oncall]\ntimezone = \"Europe/Berlin\"\n").expect("valid");
        let r = &o.default;
        // 01:30 local Tuesday → Monday's night; 22:30 Monday → Monday's night; 12:00 none.
        let mon = NaiveDate::from_ymd_opt(2026, 10, 19).expect("date");
        assert_eq!(r.night_of(ms("2026-10-19T20:30:00Z")), Some(mon));
        assert_eq!(r.night_of(ms("2026-10-19T23:30:00Z")), Some(mon));
        assert_eq!(r.night_of(ms("2026-10-19T10:00:00Z")), None);
        assert!(r.is_sleep(ms("2026-10-20T04:59:00Z")));
        assert!(!r.is_sleep(ms("2026-10-20T05:00:00Z")));
    }
}
