//! `noisegate eval` on hand-built truth, cluster records and input streams, every number
//! computed by hand.

use std::path::{Path, PathBuf};

use noisegate::config::Config;
use noisegate::eval;
use noisegate::event::{EventTime, Labels};

const MIN: i64 = 60_000;
const HOUR: i64 = 60 * MIN;
/// 2024-01-01T00:00:00Z: a shift boundary.
const T0: i64 = 1_704_067_200_000;

fn ts(offset: i64) -> String {
    EventTime(T0 + offset).to_rfc3339()
}

fn fp(n: u64) -> String {
    format!("{n:016x}")
}

fn incident(id: &str, actionable: bool, ack: Option<i64>, scenario: &str) -> String {
    format!(
        r#"{{"kind":"incident","incident_id":"{id}","actionable":{actionable},"started_at":"{}","first_ack_at":{},"root_service":"db","scenario":"{scenario}","future_field":[1,2]}}"#,
        ts(0),
        ack.map_or("null".to_string(), |a| format!("\"{}\"", ts(a))),
    )
}

fn episode(fingerprint: &str, id: &str, start: i64, end: Option<i64>) -> String {
    format!(
        r#"{{"kind":"alert","fingerprint":"{fingerprint}","incident_id":"{id}","starts_at":"{}","ends_at":{}}}"#,
        ts(start),
        end.map_or("null".to_string(), |e| format!("\"{}\"", ts(e))),
    )
}

/// A cluster record in the public schema; `alerts` are (fingerprint, first_seen, last_seen).
fn record(id: &str, alerts: &[(&str, i64, i64)], raw: u64, paged: Option<i64>) -> String {
    let alerts: Vec<String> = alerts
        .iter()
        .map(|(f, a, b)| {
            format!(
                r#"{{"fingerprint":"{f}","alertname":"X","labels":{{"alertname":"X"}},"first_seen":"{}","last_seen":"{}","events":1,"flaps":0}}"#,
                ts(*a),
                ts(*b)
            )
        })
        .collect();
    format!(
        r#"{{"cluster_id":"{id}","opened_at":"{}","closed_at":null,"decision":"page","score":0.9,"reasons":[],"alerts":[{}],"raw_events":{raw},"services":[],"team":null,"severity":"critical","paged_at":{},"acked_at":null,"resolved_at":null,"resolved_by":null}}"#,
        ts(0),
        alerts.join(","),
        paged.map_or("null".to_string(), |p| format!("\"{}\"", ts(p))),
    )
}

fn write(dir: &Path, name: &str, lines: &[String]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, lines.join("\n") + "\n").unwrap();
    p
}

/// `eval` of these truth and cluster-record lines, without an input stream (no baseline).
fn eval_lines(truth: &[String], clusters: &[String]) -> eval::EvalReport {
    let dir = tempfile::tempdir().unwrap();
    let truth = write(dir.path(), "truth.ndjson", truth);
    let clusters = write(dir.path(), "clusters.ndjson", clusters);
    eval::run(&truth, &clusters, &[], &Config::default()).unwrap()
}

fn close(a: Option<f64>, b: f64) -> bool {
    a.is_some_and(|a| (a - b).abs() < 1e-9)
}

/// Four incidents:
/// - A (actionable, storm, acked at +20m): fp1 [0,30m), fp2 [2m,30m), fp3 [3m,30m),
///   fp8 [5m,30m) (never seen by noisegate);
/// - B (actionable, acked at +70m): fp4 [60m,90m), fp5 [62m,90m);
/// - C (not actionable): fp6 [120m,125m), fp1 again [13h,13h10m);
/// - D (actionable, never acked): fp9 [26h,26h30m).
///
/// Five clusters:
/// - K1 {fp1, fp2} raw 10, paged +1m           → A, A
/// - K2 {fp3} raw 4, not paged                  → A (A is split)
/// - K3 {fp4, fp5} raw 6, paged +75m (after B's ack)
/// - K4 {fp6, fp1@13h, fp7 (no truth)} raw 8, paged 13h01m → C, C
/// - K5 {fp9} raw 2, paged 26h05m               → D
#[test]
fn metrics_by_hand() {
    let truth = [
        incident("A", true, Some(20 * MIN), "storm"),
        episode(&fp(1), "A", 0, Some(30 * MIN)),
        episode(&fp(2), "A", 2 * MIN, Some(30 * MIN)),
        episode(&fp(3), "A", 3 * MIN, Some(30 * MIN)),
        episode(&fp(8), "A", 5 * MIN, Some(30 * MIN)),
        incident("B", true, Some(70 * MIN), "mixed"),
        episode(&fp(4), "B", 60 * MIN, Some(90 * MIN)),
        episode(&fp(5), "B", 62 * MIN, Some(90 * MIN)),
        // C's episodes come before its incident line: allowed.
        episode(&fp(6), "C", 120 * MIN, Some(125 * MIN)),
        episode(&fp(1), "C", 13 * HOUR, Some(13 * HOUR + 10 * MIN)),
        incident("C", false, None, "flapping"),
        incident("D", true, None, "mixed"),
        episode(&fp(9), "D", 26 * HOUR, None),
    ];
    let clusters = [
        record(
            "K1",
            &[(&fp(1), 0, 30 * MIN), (&fp(2), 2 * MIN, 30 * MIN)],
            10,
            Some(MIN),
        ),
        record("K2", &[(&fp(3), 3 * MIN, 30 * MIN)], 4, None),
        record(
            "K3",
            &[(&fp(4), 60 * MIN, 90 * MIN), (&fp(5), 62 * MIN, 90 * MIN)],
            6,
            Some(75 * MIN),
        ),
        record(
            "K4",
            &[
                (&fp(6), 120 * MIN, 125 * MIN),
                (&fp(1), 13 * HOUR + 20_000, 13 * HOUR + 10 * MIN),
                (&fp(7), 130 * MIN, 131 * MIN),
            ],
            8,
            Some(13 * HOUR + MIN),
        ),
        record(
            "K5",
            &[(&fp(9), 26 * HOUR, 26 * HOUR + 30 * MIN)],
            2,
            Some(26 * HOUR + 5 * MIN),
        ),
    ];
    let r = eval_lines(&truth, &clusters);
    assert_eq!(r.truth.incidents, 4);
    assert_eq!(r.truth.actionable_incidents, 3);
    assert_eq!(r.truth.storm_incidents, 1);
    assert_eq!(r.truth.episodes, 9);
    let m = &r.noisegate;
    assert_eq!((m.clusters, m.pages, m.paged_clusters), (5, 4, 4));
    assert_eq!(m.raw_alert_events, 30);
    assert!(close(m.compression, 1.0 - 4.0 / 30.0));
    // Storm: clusters holding an episode of A = K1, K2: 1 page, 14 events.
    let s = m.storm.as_ref().unwrap();
    assert_eq!((s.clusters, s.pages, s.raw_alert_events), (2, 1, 14));
    assert!(close(s.compression, 13.0 / 14.0));
    // Recall: A (paged +1m < ack +20m) and D (no ack); B's only page came after its ack.
    assert_eq!((m.recall.num, m.recall.den), (2, 3));
    assert_eq!(m.paged_after_ack, 1);
    // The miss is listed with what a team would look at: B, first alert 60 m, acknowledged
    // 10 m later, paged 5 m after that, in K3.
    assert_eq!(m.missed.len(), 1);
    let b = &m.missed[0];
    assert_eq!(b.incident_id, "B");
    let (alert, ack, page) = (
        b.first_alert.unwrap().as_millis(),
        b.first_ack.unwrap().as_millis(),
        b.paged_at.unwrap().as_millis(),
    );
    assert_eq!((ack - alert, page - ack), (10 * MIN, 5 * MIN));
    assert_eq!(b.clusters, vec!["K3".to_string()]);
    // Precision: K1 (A), K3 (B), K5 (D) hold actionable episodes, K4 (C) does not.
    assert_eq!((m.page_precision.num, m.page_precision.den), (3, 4));
    // Grouping over 8 matched episodes: (K1,A)=2 (K2,A)=1 (K3,B)=2 (K4,C)=2 (K5,D)=1.
    let g = &m.grouping;
    assert_eq!(g.episodes, 8);
    assert_eq!(
        (g.pairs_same_cluster, g.pairs_same_incident, g.pairs_both),
        (3, 5, 3)
    );
    assert!(close(g.pairwise_precision, 1.0));
    assert!(close(g.pairwise_recall, 0.6));
    assert!(close(g.pairwise_f1, 0.75));
    // B-cubed recall: (4/3 + 1/3 + 2 + 2 + 1) / 8 = 5/6; precision 1; F1 = 10/11.
    assert!(close(g.bcubed_precision, 1.0));
    assert!(close(g.bcubed_recall, 5.0 / 6.0));
    assert!(close(g.bcubed_f1, 10.0 / 11.0));
    // Shifts: [0,12h) has K1, K3; [12h,24h) K4; [24h,36h) K5.
    assert_eq!(r.shifts.count, 3);
    assert_eq!(
        r.shifts.first_starts_at.as_deref(),
        Some("2024-01-01T00:00:00.000Z")
    );
    assert_eq!(m.pages_per_shift.shifts, 3);
    assert!(close(m.pages_per_shift.mean, 4.0 / 3.0));
    assert_eq!(m.pages_per_shift.max, 2);
    // Time to page: A 60 s, D 300 s; nearest rank p50 = 60, p99 = 300.
    assert_eq!(m.time_to_page.incidents, 2);
    assert_eq!(m.time_to_page.paged_before_first_alert, 0);
    assert!(close(m.time_to_page.p50_seconds, 60.0));
    assert!(close(m.time_to_page.p99_seconds, 300.0));
    // Matching: 9 record alerts, fp7 unmatched; 9 episodes, fp8 unmatched.
    let mm = &m.matching;
    assert_eq!((mm.alerts, mm.unmatched_alerts), (9, 1));
    assert_eq!((mm.matched_episodes, mm.unmatched_episodes), (8, 1));
    assert_eq!(mm.episodes_in_several_clusters, 0);
    assert!(mm.unmatched_alert_examples[0].contains(&fp(7)));
    assert!(mm.unmatched_episode_examples[0].contains(&fp(8)));

    assert!(r.baseline.is_none());
    let table = r.table();
    assert!(table.contains("--input"), "{table}");
    assert!(table.contains("86.7%"), "{table}");
    assert!(table.contains("66.7% (2/3)"), "{table}");
    assert!(table.contains("missed 1 actionable incident"), "{table}");
    assert!(
        table
            .lines()
            .any(|l| l.contains("  B  ") && l.contains("paged only at") && l.ends_with("in K3")),
        "{table}"
    );
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["noisegate"]["recall"]["num"], 2);
    assert_eq!(json["noisegate"]["missed"][0]["incident_id"], "B");
    assert!(json["baseline"].is_null());
}

#[test]
fn a_split_episode_counts_in_its_first_cluster() {
    // One incident, two episodes; noisegate opened a second cluster for the same episode.
    let truth = [
        incident("A", true, None, "steady"),
        episode(&fp(1), "A", 0, Some(60 * MIN)),
        episode(&fp(2), "A", 0, Some(60 * MIN)),
    ];
    let clusters = [
        record("K2", &[(&fp(1), 30 * MIN, 60 * MIN)], 2, Some(31 * MIN)),
        record(
            "K1",
            &[(&fp(1), 0, 20 * MIN), (&fp(2), 0, 60 * MIN)],
            3,
            None,
        ),
    ];
    let r = eval_lines(&truth, &clusters);
    let m = &r.noisegate;
    assert_eq!(m.matching.episodes_in_several_clusters, 1);
    // Both episodes are placed in K1 (where fp1 was seen first): one pair, correct.
    assert_eq!(m.grouping.episodes, 2);
    assert!(close(m.grouping.pairwise_f1, 1.0));
    // Recall still sees K2's page: the incident is paged at +31m.
    assert_eq!((m.recall.num, m.recall.den), (1, 1));
    assert!(close(m.time_to_page.p50_seconds, 31.0 * 60.0));
    assert!(m.storm.is_none(), "no storm incidents in the truth");
}

fn am(status: &str, alerts: &[(&Labels, i64, Option<i64>)]) -> String {
    let alerts: Vec<String> = alerts
        .iter()
        .map(|(l, start, end)| {
            format!(
                r#"{{"status":"{status}","labels":{},"annotations":{{}},"startsAt":"{}","endsAt":"{}"}}"#,
                serde_json::to_string(l).unwrap(),
                ts(*start),
                end.map_or("0001-01-01T00:00:00Z".to_string(), ts),
            )
        })
        .collect();
    format!(
        r#"{{"receiver":"r","status":"{status}","alerts":[{}],"groupLabels":{{}},"commonLabels":{{}},"commonAnnotations":{{}},"version":"4"}}"#,
        alerts.join(",")
    )
}

#[test]
fn baseline_side_by_side() {
    let dir = tempfile::tempdir().unwrap();
    let a = Labels::from_pairs([("alertname", "Down"), ("cluster", "c1"), ("instance", "a")]);
    let b = Labels::from_pairs([("alertname", "Down"), ("cluster", "c1"), ("instance", "b")]);
    // Another group (other cluster label): noise, not in the truth.
    let n = Labels::from_pairs([("alertname", "Down"), ("cluster", "c2"), ("instance", "z")]);
    let fa = a.fingerprint().to_string();
    let fb = b.fingerprint().to_string();
    let truth = write(
        dir.path(),
        "t.ndjson",
        &[
            incident("X", true, Some(10 * MIN), "storm"),
            episode(&fa, "X", 0, Some(5 * HOUR)),
            episode(&fb, "X", 2 * MIN, Some(5 * HOUR)),
        ],
    );
    let input = write(
        dir.path(),
        "in.ndjson",
        &[
            am("firing", &[(&a, 0, None)]),
            "this line is not json".to_string(),
            am("firing", &[(&a, 0, None), (&b, 2 * MIN, None)]),
            am("firing", &[(&n, 3 * MIN, None)]),
            am(
                "resolved",
                &[(&a, 0, Some(5 * HOUR)), (&b, 2 * MIN, Some(5 * HOUR))],
            ),
            am("resolved", &[(&n, 3 * MIN, Some(4 * MIN))]),
        ],
    );
    let clusters = write(
        dir.path(),
        "c.ndjson",
        &[record(
            "K1",
            &[(&fa, 0, 5 * HOUR), (&fb, 2 * MIN, 5 * HOUR)],
            5,
            Some(MIN),
        )],
    );
    let r = eval::run(&truth, &clusters, &[input], &Config::default()).unwrap();
    let b = r.baseline.as_ref().expect("baseline");
    assert_eq!(b.input.payloads, 6);
    assert_eq!(b.input.bad_lines, 1);
    assert_eq!(b.input.alert_events, 7);
    // Group c1: +30s, +5m30s (b joined), +4h05m30s (repeat); its resolve at +5h05m30s is
    // not a page. Group c2: +3m30s, then its resolve notification.
    assert_eq!(b.sent.group_episodes, 2);
    assert_eq!(b.sent.pages, 4);
    assert_eq!(b.sent.resolve_notifications, 2);
    let m = &b.metrics;
    assert_eq!((m.clusters, m.pages, m.paged_clusters), (2, 4, 2));
    assert!(close(m.compression, 1.0 - 4.0 / 7.0));
    let s = m.storm.as_ref().unwrap();
    assert_eq!((s.clusters, s.pages, s.raw_alert_events), (1, 3, 5));
    assert_eq!((m.recall.num, m.recall.den), (1, 1));
    assert!(close(m.time_to_page.p50_seconds, 30.0));
    assert_eq!((m.page_precision.num, m.page_precision.den), (1, 2));
    assert!(close(m.grouping.pairwise_f1, 1.0));
    assert_eq!(m.matching.unmatched_alerts, 1, "the c2 noise alert");
    // noisegate beside it.
    assert!(close(r.noisegate.compression, 0.8));
    assert!(close(r.noisegate.time_to_page.p50_seconds, 60.0));
    let table = r.table();
    assert!(table.contains("baseline"), "{table}");
    assert!(table.contains("42.9%"), "{table}");
}

#[test]
fn bad_cluster_record_names_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let truth = write(dir.path(), "t.ndjson", &[incident("A", true, None, "x")]);
    let clusters = write(
        dir.path(),
        "c.ndjson",
        &[record("K1", &[], 1, None), "{\"cluster_id\": 5}".into()],
    );
    let e = eval::run(&truth, &clusters, &[], &Config::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("c.ndjson:2"), "{e}");
}

#[test]
fn an_incident_never_paged_is_listed_with_the_clusters_that_held_it() {
    let truth = [
        incident("A", true, Some(10 * MIN), "steady"),
        episode(&fp(2), "A", MIN, Some(20 * MIN)),
        episode(&fp(1), "A", 0, Some(20 * MIN)),
        incident("N", false, None, "steady"),
        episode(&fp(3), "N", 0, Some(5 * MIN)),
    ];
    let clusters = [
        record("K2", &[(&fp(2), MIN, 20 * MIN)], 2, None),
        record("K1", &[(&fp(1), 0, 20 * MIN)], 2, None),
        record("K3", &[(&fp(3), 0, 5 * MIN)], 1, Some(0)),
    ];
    let r = eval_lines(&truth, &clusters);
    let m = &r.noisegate;
    assert_eq!((m.recall.num, m.recall.den), (0, 1));
    assert_eq!(m.paged_after_ack, 0);
    assert_eq!(m.missed.len(), 1);
    assert_eq!(m.missed[0].incident_id, "A");
    assert_eq!(m.missed[0].paged_at, None);
    // In the order its alerts reached them; the noise cluster that paged is not named.
    assert_eq!(m.missed[0].clusters, vec!["K1", "K2"]);
    let table = r.table();
    assert!(
        table
            .lines()
            .any(|l| l.contains("  A  ") && l.contains("never paged") && l.ends_with("in K1, K2")),
        "{table}"
    );
}

#[test]
fn a_truth_of_alert_lines_alone_is_enough() {
    // The simplest truth a team can export: each alert, its incident, whether that incident
    // was acted on. No `kind`, no incident lines, no times.
    let line = |f: u64, inc: &str, actionable: bool| {
        format!(
            r#"{{"fingerprint":"{}","incident_id":"{inc}","actionable":{actionable}}}"#,
            fp(f)
        )
    };
    let truth = [
        line(1, "A", true),
        line(2, "A", true),
        line(3, "B", false),
        // An incident may still come on a line of its own, also without `kind`.
        format!(
            r#"{{"incident_id":"C","actionable":true,"first_ack_at":"{}"}}"#,
            ts(60 * HOUR)
        ),
        r#"{"exported_by":"some tool","version":2}"#.to_string(),
        format!(r#"{{"fingerprint":"{}","incident_id":"C"}}"#, fp(4)),
    ];
    let clusters = [
        record(
            "K1",
            &[(&fp(1), 0, 20 * MIN), (&fp(2), MIN, 30 * MIN)],
            4,
            Some(2 * MIN),
        ),
        record("K2", &[(&fp(3), 40 * HOUR, 41 * HOUR)], 2, Some(40 * HOUR)),
        record("K3", &[(&fp(4), 50 * HOUR, 51 * HOUR)], 2, None),
    ];
    let r = eval_lines(&truth, &clusters);
    assert_eq!(r.truth.incidents, 3);
    assert_eq!(r.truth.actionable_incidents, 2);
    let m = &r.noisegate;
    assert_eq!(m.matching.matched_episodes, 4, "{:?}", m.matching);
    assert_eq!(m.matching.unmatched_alerts, 0);
    // A paged (no ack known, so any page counts); C was never paged.
    assert_eq!((m.recall.num, m.recall.den), (1, 2));
    assert_eq!(m.missed.len(), 1);
    assert_eq!(m.missed[0].incident_id, "C");
    assert_eq!((m.page_precision.num, m.page_precision.den), (1, 2));
    // The only same-incident pair (fp1, fp2) shares a cluster; no other pair does.
    assert!(close(m.grouping.pairwise_precision, 1.0));
    assert!(close(m.grouping.pairwise_recall, 1.0));
}

#[test]
fn alert_lines_that_disagree_about_their_incident_are_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let truth = write(
        dir.path(),
        "t.ndjson",
        &[
            format!(
                r#"{{"fingerprint":"{}","incident_id":"A","actionable":true}}"#,
                fp(1)
            ),
            format!(
                r#"{{"fingerprint":"{}","incident_id":"A","actionable":false}}"#,
                fp(2)
            ),
        ],
    );
    let clusters = write(dir.path(), "c.ndjson", &[record("K1", &[], 1, None)]);
    let e = eval::run(&truth, &clusters, &[], &Config::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("t.ndjson:2") && e.contains("\"A\""), "{e}");
    // Without `actionable` and without an incident line the incident is unknown: the
    // error says what to add.
    let truth = write(
        dir.path(),
        "t2.ndjson",
        &[format!(
            r#"{{"fingerprint":"{}","incident_id":"Z"}}"#,
            fp(1)
        )],
    );
    let e = eval::run(&truth, &clusters, &[], &Config::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("t2.ndjson:1") && e.contains("actionable"), "{e}");
}
