//! `noisegate report` on a hand-built week whose numbers were worked out by hand.
//!
//! Input: `tests/fixtures/report/week.ndjson` (written by `make_week.py` beside it, each
//! record commented there) with the rotations of `oncall.toml`:
//! - org and team `core`: Europe/Berlin, hand-offs 08:00 and 20:00, business hours
//!   Mon–Fri 09:00–17:00, sleep 22:00–07:00, budget 2 pages per 12 h;
//! - team `payments`: America/New_York, weekly hand-off Monday 09:00.
//!
//! Period 2026-W43 in Berlin: Mon 2026-10-19 00:00 CEST (2026-10-18T22:00Z) to Mon
//! 2026-10-26 00:00 CET (2026-10-25T23:00Z): 169 hours, because DST ends on Sunday
//! 2026-10-25 at 03:00 CEST → 02:00 CET.

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/report")
        .join(name)
}

fn report(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_noisegate"))
        .arg("report")
        .args(args)
        .output()
        .expect("run noisegate report")
}

fn week(format: &str, extra: &[&str]) -> String {
    let config = fixture("oncall.toml");
    let clusters = fixture("week.ndjson");
    let mut args = vec![
        "--config",
        config.to_str().expect("utf-8 path"),
        "--clusters",
        clusters.to_str().expect("utf-8 path"),
        "--format",
        format,
    ];
    args.extend_from_slice(extra);
    let out = report(&args);
    assert!(
        out.status.success(),
        "report failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

fn json(extra: &[&str]) -> Value {
    serde_json::from_str(&week("json", extra)).expect("the JSON format parses")
}

fn team<'a>(r: &'a Value, name: &str) -> &'a Value {
    r["teams"]
        .as_array()
        .expect("teams")
        .iter()
        .find(|t| t["team"] == name)
        .unwrap_or_else(|| panic!("team {name} missing"))
}

#[test]
fn period_is_the_berlin_iso_week_with_the_dst_hour() {
    let r = json(&["--week", "2026-W43"]);
    assert_eq!(r["schema_version"], 1);
    assert_eq!(r["period"]["from"], "2026-10-18T22:00:00.000Z");
    assert_eq!(r["period"]["to"], "2026-10-25T23:00:00.000Z");
    assert_eq!(r["empty"], false);
    // 18 records: R0 is in W42 and R15 in W44, the other 16 in W43.
    assert_eq!(r["records_read"], 18);
    assert_eq!(r["records_in_period"], 16);
}

#[test]
fn load_per_shift_with_clipped_and_dst_shifts() {
    let r = json(&["--week", "2026-W43"]);
    let core = team(&r, "core");
    // core's shifts: Sun 20:00→Mon 08:00 clipped to 8 h (budget 2·8/12 = 1.33), twelve 12 h
    // shifts, Sat 20:00 CEST → Sun 08:00 CET of 13 h (budget 2.17), Sun 08–20, and Sun
    // 20:00 → Mon 08:00 clipped to 4 h: 15 shifts.
    let shifts = core["shifts"].as_array().expect("shifts");
    assert_eq!(shifts.len(), 15);
    let hours: Vec<f64> = shifts
        .iter()
        .map(|s| s["hours"].as_f64().expect("h"))
        .collect();
    assert_eq!(hours[0], 8.0);
    assert_eq!(hours[12], 13.0);
    assert_eq!(hours[14], 4.0);
    assert_eq!(hours.iter().sum::<f64>(), 169.0);
    // Pages per shift: R1+R2 in the first shift (2 > 1.33: over budget), R3 Tue day, R4 Wed
    // night, R5 Thu day, R6 Fri day (paged 19:50, before the 20:00 hand-off, though acked
    // after it), R14 Sat day, R7+R8 in the 13 h DST night (2 ≤ 2.17: within budget).
    let pages: Vec<u64> = shifts
        .iter()
        .map(|s| s["pages"].as_u64().expect("p"))
        .collect();
    assert_eq!(pages, [2, 0, 0, 1, 0, 0, 1, 1, 0, 1, 0, 1, 2, 0, 0]);
    assert_eq!(shifts[0]["over_budget"], true);
    assert_eq!(shifts[12]["over_budget"], false);
    assert_eq!(shifts[9]["start"], "2026-10-23T06:00:00.000Z"); // Fri 08:00 CEST
    assert_eq!(shifts[9]["end"], "2026-10-23T18:00:00.000Z"); // Fri 20:00 CEST
    let ps = &core["load"]["pages_per_shift"];
    // 9 pages / 15 shifts = 0.6; sorted counts have 2 at rank ⌈0.9·15⌉ = 14.
    assert_eq!(ps["shifts"], 15);
    assert_eq!(ps["mean"], 0.6);
    assert_eq!(ps["p90"], 2);
    assert_eq!(ps["max"], 2);
    assert_eq!(ps["over_budget"], 1);

    // payments (New York, weekly Mon 09:00 EDT = 13:00Z): 15 h before the hand-off, then
    // 154 h to the period end; both pages in the second (budget 2·154/12 = 25.7).
    let pay = team(&r, "payments");
    let p: Vec<(f64, u64)> = pay["shifts"]
        .as_array()
        .expect("shifts")
        .iter()
        .map(|s| {
            (
                s["hours"].as_f64().expect("h"),
                s["pages"].as_u64().expect("p"),
            )
        })
        .collect();
    assert_eq!(p, [(15.0, 0), (154.0, 2)]);

    // Org: core 15 + payments 2 + "(no team)" 15 (default rotation) = 32 shifts, 11 pages:
    // mean 0.34375; sorted counts: 25 zeros, 4 ones, 3 twos → rank ⌈28.8⌉ = 29 is a 1.
    let org = &r["org"]["load"];
    assert_eq!(org["pages"], 11);
    assert_eq!(org["pages_per_shift"]["shifts"], 32);
    assert_eq!(org["pages_per_shift"]["mean"], 0.34375);
    assert_eq!(org["pages_per_shift"]["p90"], 1);
    assert_eq!(org["pages_per_shift"]["over_budget"], 1);
    // Compression: 136 raw events → 16 clusters → 11 pages.
    assert_eq!(org["raw_events"], 136);
    assert_eq!(org["clusters"], 16);
    assert_eq!(org["tickets"], 3);
    assert_eq!(org["suppressed"], 2);
    assert_eq!(org["events_per_cluster"], 8.5);
}

#[test]
fn sleep_cost_in_each_teams_local_time() {
    let r = json(&["--week", "2026-W43"]);
    // core after hours: R1 03:00, R2 05:30, R4 23:30, R6 Fri 19:50, R14 Sat, R7/R8 Sun = 7;
    // sleep hours (22–07): R1, R2, R4, R7 (02:30 CET), R8 (06:00 CET) = 5; nights: Sun 18th
    // (R1, R2), Wed 21st (R4), Sat 24th (R7, R8) = 3, two of them with ≥ 2 wake-ups.
    let core = &team(&r, "core")["sleep"];
    assert_eq!(core["after_hours_pages"], 7);
    assert_eq!(core["sleep_pages"], 5);
    assert_eq!(core["nights_with_wakeups"], 3);
    assert_eq!(core["nights_with_2plus_wakeups"], 2);
    // payments: R11 at 03:00 New York time is a sleep page; R12 at 10:00 is business hours
    // (in Berlin it would be 16:00 — still business — but R11 at 09:00 Berlin would not be
    // after hours at all: the team's zone decides).
    let pay = &team(&r, "payments")["sleep"];
    assert_eq!(pay["after_hours_pages"], 1);
    assert_eq!(pay["sleep_pages"], 1);
    assert_eq!(pay["nights_with_2plus_wakeups"], 0);
    let org = &r["org"]["sleep"];
    assert_eq!(org["after_hours_pages"], 8);
    assert_eq!(org["sleep_pages"], 6);
    assert_eq!(org["nights_with_wakeups"], 4);
    assert_eq!(org["nights_with_2plus_wakeups"], 2);
    // Pages per Berlin day, split by each page's team hours: Thu has R5 and R12 in business
    // hours and R11 (09:00 Berlin, 03:00 New York) after hours.
    let days = r["org"]["pages_per_day"].as_array().expect("days");
    assert_eq!(days.len(), 7);
    let split: Vec<(u64, u64)> = days
        .iter()
        .map(|d| {
            (
                d["business_hours_pages"].as_u64().expect("b"),
                d["after_hours_pages"].as_u64().expect("a"),
            )
        })
        .collect();
    assert_eq!(
        split,
        [(0, 2), (1, 0), (0, 1), (2, 1), (0, 1), (0, 1), (0, 2)]
    );
    // Hour of week (team-local): R7 is Sunday 02:00 CET, not 03:00 CEST.
    assert_eq!(r["org"]["hour_of_week"][6][2], 1);
    assert_eq!(r["org"]["hour_of_week"][3][10], 2); // R5 Berlin 10:00 and R12 New York 10:00
}

#[test]
fn quality_actionable_rate_mtta_mttr() {
    let r = json(&["--week", "2026-W43"]);
    let core = &team(&r, "core")["quality"];
    // Actionable (acked before resolve): R1, R2, R6, R7 of 9. Auto-resolved before ack: R3,
    // R4, R5, R8. R14 is still open.
    assert_eq!(core["actionable_pages"], 4);
    assert_eq!(core["auto_resolved_before_ack"], 4);
    // R6 followed a deploy of api; R3's change (a rollback) came after its page.
    assert_eq!(core["pages_after_change"], 1);
    assert_eq!(r["org"]["quality"]["pages_after_change"], 1);
    assert_eq!(team(&r, "payments")["quality"]["pages_after_change"], 0);
    assert_eq!(core["unresolved_pages"], 1);
    // MTTA (ack − page): 300, 120, 900 (R6, acked by the next shift), 600 → sorted [120, 300,
    // 600, 900]: p50 = rank 2 = 300, p90 = rank 4 = 900.
    assert_eq!(core["mtta"]["count"], 4);
    assert_eq!(core["mtta"]["p50_s"], 300);
    assert_eq!(core["mtta"]["p90_s"], 900);
    // MTTR (resolve − page): [120, 180, 240, 1200, 1800, 1800, 2400, 4800]: p50 = rank 4 =
    // 1200, p90 = rank 8 = 4800 (R6 across the hand-off).
    assert_eq!(core["mttr"]["count"], 8);
    assert_eq!(core["mttr"]["p50_s"], 1200);
    assert_eq!(core["mttr"]["p90_s"], 4800);
    let org = &r["org"]["quality"];
    assert_eq!(org["actionable_pages"], 5);
    assert!((org["actionable_rate"].as_f64().expect("rate") - 5.0 / 11.0).abs() < 1e-12);
    // Org MTTA [120, 300, 600, 600, 900]: p50 rank 3 = 600, p90 rank 5 = 900. MTTR adds
    // payments' 1800 and 1200: p50 rank 5 = 1200, p90 rank 9 = 2400.
    assert_eq!(org["mtta"]["p50_s"], 600);
    assert_eq!(org["mtta"]["p90_s"], 900);
    assert_eq!(org["mttr"]["p50_s"], 1200);
    assert_eq!(org["mttr"]["p90_s"], 2400);
    let d = &org["decisions"];
    assert_eq!(
        (d[0]["decision"].as_str(), d[0]["clusters"].as_u64()),
        (Some("page"), Some(11))
    );
    assert_eq!(d[0]["top_reasons"][0]["feature"], "severity");
}

#[test]
fn noise_leaders_and_recommendations_with_evidence() {
    let r = json(&["--week", "2026-W43"]);
    let names = |k: &str| -> Vec<String> {
        r["noise_leaders"][k]
            .as_array()
            .expect("leaders")
            .iter()
            .map(|x| x["alertname"].as_str().expect("name").to_string())
            .collect()
    };
    // Noise = pages not actioned: CpuHigh 3; DiskFull 1 of 4 pages (R14), PaymentGatewayDown
    // 1 of 2, MemLeak 1 of 1; ApiLatency 0.
    assert_eq!(
        names("by_noise"),
        [
            "CpuHigh",
            "DiskFull",
            "PaymentGatewayDown",
            "MemLeak",
            "ApiLatency"
        ]
    );
    // Raw events: QueueSlow 50, DiskFull 10+4+5+2 = 21, ApiLatency 12+3+3 = 18, CpuHigh
    // 3+2+3+6 = 14, ApiErrors 12 (tied with PaymentGatewayDown; name order).
    assert_eq!(
        names("by_volume"),
        [
            "QueueSlow",
            "DiskFull",
            "ApiLatency",
            "CpuHigh",
            "ApiErrors"
        ]
    );
    let cpu = &r["noise_leaders"]["by_noise"][0];
    assert_eq!(cpu["pages"], 3);
    assert_eq!(cpu["transient_pages"], 3);
    assert_eq!(cpu["firing_p50_s"], 120); // [120, 120, 180, 240]
    let recs = r["recommendations"].as_array().expect("recs");
    assert_eq!(recs.len(), 3, "{recs:#?}");
    assert_eq!(recs[0]["alertname"], "CpuHigh");
    assert_eq!(recs[0]["action"]["kind"], "add_for");
    // p90 firing 240 s → 4 min, +1.
    assert_eq!(recs[0]["action"]["minutes"], 5);
    assert_eq!(
        recs[0]["evidence"],
        "3 pages, 0 actioned (0%), 3 auto-resolved before ack; 3/3 pages fired under 5 min and \
         resolved by themselves; median firing 2m00s; 4/4 firings under 5 min"
    );
    assert_eq!(recs[1]["alertname"], "ApiLatency");
    assert_eq!(recs[1]["action"]["kind"], "merge_with");
    assert_eq!(recs[1]["action"]["alertname"], "ApiErrors");
    assert_eq!(
        recs[1]["evidence"],
        "3/3 of its clusters also contain `ApiErrors (svc api)`"
    );
    assert_eq!(r["flapping"][0]["alertname"], "CpuHigh");
    assert_eq!(r["flapping"][0]["flaps"], 2);
    assert_eq!(r["transient"][0]["short_firings"], 4);
}

#[test]
fn trend_against_the_previous_week() {
    let r = json(&["--week", "2026-W43"]);
    let row = |m: &str| -> Value {
        r["trend"]
            .as_array()
            .expect("trend: W42 is in the input")
            .iter()
            .find(|x| x["metric"] == m)
            .unwrap_or_else(|| panic!("{m}"))
            .clone()
    };
    // W42 holds R0 only: 1 page, actioned, in business hours, MTTR 1800.
    assert_eq!(row("pages")["previous"], 1.0);
    assert_eq!(row("pages")["delta"], 10.0);
    assert_eq!(row("after_hours_pages")["delta"], 8.0);
    assert_eq!(row("nights_with_2plus_wakeups")["current"], 2.0);
    assert_eq!(row("actionable_rate")["previous"], 1.0);
    assert_eq!(row("mttr_p50_s")["delta"], -600.0);
    let h: Vec<(String, u64)> = r["history"]
        .as_array()
        .expect("history")
        .iter()
        .map(|x| {
            (
                x["label"].as_str().expect("l").to_string(),
                x["pages"].as_u64().expect("p"),
            )
        })
        .collect();
    assert_eq!(
        h,
        [("2026-W42".to_string(), 1), ("2026-W43".to_string(), 11)]
    );
    // W42 has no W41 in the input: no trend.
    let r = json(&["--week", "2026-W42"]);
    assert!(r["trend"].is_null());
}

#[test]
fn one_team_only() {
    let r = json(&["--week", "2026-W43", "--team", "payments"]);
    assert_eq!(r["team_filter"], "payments");
    assert_eq!(r["teams"].as_array().expect("teams").len(), 1);
    assert_eq!(r["org"]["load"]["pages"], 2);
    assert_eq!(r["org"]["quality"]["actionable_pages"], 1);
}

#[test]
fn dates_select_the_same_week() {
    let a = json(&["--week", "2026-W43"]);
    let b = json(&["--from", "2026-10-19", "--to", "2026-10-25"]);
    assert_eq!(a["org"]["load"], b["org"]["load"]);
    assert_eq!(b["period"]["label"], "2026-W43");
}

#[test]
fn markdown_matches_the_golden_file() {
    let md = week("md", &["--week", "2026-W43"]);
    let golden_path = fixture("week.md");
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&golden_path, &md).expect("write golden");
    }
    let golden = std::fs::read_to_string(&golden_path).expect("tests/fixtures/report/week.md");
    assert_eq!(
        md, golden,
        "Markdown changed; review and rerun with UPDATE_GOLDEN=1"
    );
    // The lines a reader checks, spelled out (the golden file could be regenerated blindly).
    for line in [
        "| Pages | 11 | 1 | +10 |",
        "| Actionable rate | 45% | 100% | -55 pts |",
        "| core | 9 | 15 | 0.6 | 2 | 2 | 1 | 121 | 13 | 9.3 | 1.4 |",
        "| core | 7 | 5 | 3 | 2 |",
        "| core | 9 | 4 | 44% | 4 | 1 | 5m00s | 15m00s | 20m00s | 1h20m |",
        "| core | Mon 2026-10-19 00:00 | Mon 2026-10-19 08:00 | 8 | 2 | 1.3 |",
        "1. **`CpuHigh (svc api)`**: add or extend `for: 5m`.",
    ] {
        assert!(md.contains(line), "missing line {line:?} in:\n{md}");
    }
    assert!(!md.contains('<'), "Markdown must not contain HTML");
}

#[test]
fn an_empty_week_says_so() {
    for format in ["md", "html", "json"] {
        let out = week(format, &["--week", "2026-W30"]);
        if format == "json" {
            let r: Value = serde_json::from_str(&out).expect("json");
            assert_eq!(r["empty"], true);
            assert_eq!(r["org"]["load"]["pages"], 0);
        } else {
            assert!(
                out.contains("No cluster records in 2026-W30"),
                "{format}: {out}"
            );
        }
    }
}

#[test]
fn records_missing_optional_fields_still_report() {
    // R13 has only the required fields and R14 lacks ack/resolve; both are in the week.
    let r = json(&["--week", "2026-W43"]);
    let none = team(&r, "(no team)");
    assert_eq!(none["load"]["clusters"], 1);
    assert_eq!(none["load"]["suppressed"], 1);
    // A line that is not a record is skipped with a warning, not fatal.
    let dir = tempfile::tempdir().expect("tempdir");
    let f = dir.path().join("clusters.ndjson");
    let mut text = std::fs::read_to_string(fixture("week.ndjson")).expect("fixture");
    text.push_str("{\"not\": \"a record\"}\n");
    std::fs::write(&f, text).expect("write");
    let out = report(&[
        "--clusters",
        dir.path().to_str().expect("utf-8"),
        "--week",
        "2026-W43",
        "--format",
        "json",
    ]);
    assert!(out.status.success());
    let r: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(r["records_skipped"], 1);
    // Without the Berlin config the week is cut in UTC: R15 (2026-10-25T23:30Z) is in it.
    assert_eq!(r["org"]["load"]["pages"], 12);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("skipped 1 input lines") && err.contains("clusters.ndjson:19"),
        "{err}"
    );
}

#[test]
fn an_unknown_timezone_is_a_config_error_naming_the_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = dir.path().join("bad.toml");
    std::fs::write(
        &cfg,
        "[oncall.teams.payments]\ntimezone = \"America/New_Yrok\"\n",
    )
    .expect("write");
    let out = report(&[
        "--config",
        cfg.to_str().expect("utf-8"),
        "--clusters",
        fixture("week.ndjson").to_str().expect("utf-8"),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("oncall.teams.payments.timezone")
            && err.contains("America/New_Yrok")
            && err.contains("not an IANA time zone"),
        "{err}"
    );
}
