//! Black-box tests of the `noisegate` binary: replay over real fixtures and bad input,
//! `.gz` and stdin inputs, and `check-config`.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

mod support;
use support::{ndjson, replay, replay_lines, shipped_config};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_noisegate"))
}

/// The `summary.json` a replay wrote into `out`.
fn read_summary(out: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap()
}

fn fixture_line(rel: &str) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/fixtures")
        .join(rel);
    let v: Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
    serde_json::to_string(&v).unwrap()
}

const GOOD: [&str; 5] = [
    "zulip-webhook-fixtures/alertmanager/alert.json",
    "zulip-webhook-fixtures/grafana/alert-9-mixed.json",
    "pagerduty-api-schema/enqueue_example_event.json",
    "opentelemetry-python-sdk-1.45.2-otlp-capture/otlp_http_json_logs.json",
    "zulip-webhook-fixtures/pagerduty/acknowledged_v3.json",
];

/// Bad lines and the reason each must be dead-lettered with.
fn bad_lines() -> Vec<(Vec<u8>, &'static str)> {
    vec![
        (br#"{"version":"4","alerts":[{"status":"firing","labels":{"a"#.to_vec(), "truncated_json"),
        (br#"{"version":"4","alerts":[{"status":"firing","labels":7,"startsAt":"2024-01-01T00:00:00Z"}]}"#.to_vec(), "wrong_type"),
        (br#"{"version":"4","alerts":[{"status":"firing","startsAt":"2024-01-01T00:00:00Z"}]}"#.to_vec(), "missing_field"),
        (br#"{"hello":"world"}"#.to_vec(), "unknown_format"),
        (b"{\"alerts\":[{\"labels\":{\"x\":\"\xff\"}}]}".to_vec(), "invalid_utf8"),
        (br#"{"routing_key":"k","event_action":"explode","dedup_key":"d"}"#.to_vec(), "invalid_value"),
        (br#"this is not json"#.to_vec(), "invalid_json"),
        (format!(r#"{{"alerts":[],"pad":"{}"}}"#, "x".repeat(10_000)).into_bytes(), "too_large"),
    ]
}

fn write_input(dir: &Path) -> (PathBuf, usize) {
    let p = dir.join("in.ndjson");
    let mut f = std::fs::File::create(&p).unwrap();
    for (i, g) in GOOD.iter().enumerate() {
        writeln!(f, "{}", fixture_line(g)).unwrap();
        if i == 1 {
            // Bad lines in the middle: nothing after them may be lost.
            for (b, _) in bad_lines() {
                f.write_all(&b).unwrap();
                f.write_all(b"\n").unwrap();
            }
            writeln!(f).unwrap(); // blank lines are not payloads
        }
    }
    (p, GOOD.len() + bad_lines().len())
}

fn small_limit_config(dir: &Path) -> PathBuf {
    let p = dir.join("cfg.toml");
    std::fs::write(&p, "[input]\nmax_payload_bytes = 8192\n").unwrap();
    p
}

#[test]
fn replay_dead_letters_bad_lines_and_loses_nothing_valid() {
    let dir = tempfile::tempdir().unwrap();
    let (input, lines) = write_input(dir.path());
    let out = dir.path().join("out");
    let cfg = small_limit_config(dir.path());
    let o = replay(&cfg, &input, &out);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("clusters"), "{stdout}");

    let s = read_summary(&out);
    assert_eq!(s["events_in"], lines as u64);
    assert_eq!(s["events_invalid"], bad_lines().len() as u64);
    for k in [
        "alerts",
        "clusters",
        "pages",
        "tickets",
        "suppressed",
        "elapsed_seconds",
        "events_per_second",
        "alert_events_per_second",
    ] {
        assert!(s.get(k).is_some(), "summary lacks {k}");
    }

    // Every bad line is a dead letter with file, line number, reason and the raw line.
    let dl = ndjson(&out.join("deadletter.ndjson"));
    let mut got: Vec<&str> = dl.iter().map(|d| d["reason"].as_str().unwrap()).collect();
    let mut want: Vec<&str> = bad_lines().iter().map(|(_, r)| *r).collect();
    got.sort();
    want.sort();
    assert_eq!(got, want);
    for d in &dl {
        assert_eq!(d["file"].as_str().unwrap(), input.to_str().unwrap());
        assert!(d["line"].as_u64().unwrap() >= 3);
        assert!(!d["error"].as_str().unwrap().is_empty());
        assert!(d.get("raw").is_some());
    }
    let utf8 = dl.iter().find(|d| d["reason"] == "invalid_utf8").unwrap();
    assert!(utf8["raw_base64"].is_string());
    let big = dl.iter().find(|d| d["reason"] == "too_large").unwrap();
    assert!(big["error"].as_str().unwrap().contains("8192"));

    // No valid alert is lost: every alert fingerprint of the valid input is in exactly one
    // cluster record.
    let clusters = ndjson(&out.join("clusters.ndjson"));
    let mut seen: HashMap<String, usize> = HashMap::new();
    for c in &clusters {
        for a in c["alerts"].as_array().unwrap() {
            *seen
                .entry(a["fingerprint"].as_str().unwrap().to_string())
                .or_default() += 1;
        }
        for k in [
            "cluster_id",
            "opened_at",
            "decision",
            "score",
            "reasons",
            "raw_events",
            "services",
            "severity",
            "resolved_by",
        ] {
            assert!(c.get(k).is_some(), "record lacks {k}");
        }
    }
    let am = fixture_line(GOOD[0]);
    let am: Value = serde_json::from_str(&am).unwrap();
    // alert.json's first alert carries its genuine fingerprint.
    let fp = am["alerts"][0]["fingerprint"].as_str().unwrap();
    assert_eq!(seen.get(fp), Some(&1), "{fp} not in exactly one record");
    assert!(
        seen.values().all(|&n| n == 1),
        "an alert in two records: {seen:?}"
    );

    // Pages are PagerDuty Events v2 bodies keyed by cluster id.
    let pages = ndjson(&out.join("pages.ndjson"));
    assert!(!pages.is_empty());
    let ids: Vec<&str> = clusters
        .iter()
        .map(|c| c["cluster_id"].as_str().unwrap())
        .collect();
    for p in &pages {
        assert!(ids.contains(&p["dedup_key"].as_str().unwrap()));
        assert!(["trigger", "resolve"].contains(&p["event_action"].as_str().unwrap()));
        if p["event_action"] == "trigger" {
            assert!(p["payload"]["summary"].is_string());
            assert!(["critical", "error", "warning", "info"]
                .contains(&p["payload"]["severity"].as_str().unwrap()));
        }
    }
}

#[test]
fn replay_is_byte_identical_across_runs_and_reads_gz_and_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let (input, _) = write_input(dir.path());
    let run = |args: &[&str], stdin: Option<Vec<u8>>, out: &Path| {
        let mut c = bin();
        c.args(["replay", "--quiet", "--out"]).arg(out).args(args);
        c.stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        });
        c.stdout(Stdio::piped());
        let mut child = c.spawn().unwrap();
        if let Some(b) = stdin {
            child.stdin.take().unwrap().write_all(&b).unwrap();
        }
        assert!(child.wait_with_output().unwrap().status.success());
        (
            std::fs::read(out.join("clusters.ndjson")).unwrap(),
            std::fs::read(out.join("pages.ndjson")).unwrap(),
        )
    };
    let a = run(&[input.to_str().unwrap()], None, &dir.path().join("a"));
    let b = run(&[input.to_str().unwrap()], None, &dir.path().join("b"));
    assert_eq!(a, b, "replay must be deterministic");
    assert!(!a.0.is_empty());

    let gz = dir.path().join("in.ndjson.gz");
    let mut enc = flate2::write::GzEncoder::new(
        std::fs::File::create(&gz).unwrap(),
        flate2::Compression::fast(),
    );
    enc.write_all(&std::fs::read(&input).unwrap()).unwrap();
    enc.finish().unwrap();
    let c = run(&[gz.to_str().unwrap()], None, &dir.path().join("c"));
    assert_eq!(a, c, ".gz input gives the same result");

    let d = run(
        &["-"],
        Some(std::fs::read(&input).unwrap()),
        &dir.path().join("d"),
    );
    assert_eq!(a, d, "stdin gives the same result");
}

#[test]
fn payloads_saved_pretty_printed_or_as_an_array_replay_as_their_ndjson_does() {
    // A webhook body saved to a file, a vendor's documented example, or `jq .` over a stream
    // is pretty-printed; an export is often one JSON array. Each must replay as the payloads
    // it holds, not as one dead letter per line.
    let dir = tempfile::tempdir().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures");
    let files: Vec<Vec<u8>> = GOOD
        .iter()
        .map(|g| std::fs::read(root.join(g)).unwrap())
        .collect();
    assert!(
        files.iter().filter(|f| f.starts_with(b"{\n")).count() >= 3,
        "the fixtures are pretty-printed as published"
    );
    let pretty = dir.path().join("pretty.json");
    std::fs::write(&pretty, files.join(&b"\n"[..])).unwrap();
    let compact = dir.path().join("compact.ndjson");
    std::fs::write(&compact, GOOD.map(fixture_line).join("\n") + "\n").unwrap();
    let array = dir.path().join("array.json");
    let values: Vec<Value> = files
        .iter()
        .map(|f| serde_json::from_slice(f).unwrap())
        .collect();
    std::fs::write(&array, serde_json::to_string_pretty(&values).unwrap()).unwrap();
    // As `json.dump(list)` writes it: one line, longer than the payload limit, which
    // applies to each of its payloads and not to the array.
    let one_line = dir.path().join("one-line.json");
    std::fs::write(&one_line, serde_json::to_string(&values).unwrap()).unwrap();
    let limit = values
        .iter()
        .map(|v| serde_json::to_string(v).unwrap().len())
        .max()
        .unwrap()
        .max(1024)
        + 1;
    let whole = std::fs::metadata(&one_line).unwrap().len() as usize;
    assert!(
        whole > limit,
        "the one-line array is over the payload limit"
    );
    let tight = dir.path().join("tight.toml");
    std::fs::write(&tight, format!("[input]\nmax_payload_bytes = {limit}\n")).unwrap();

    let run = |input: &Path, out: &str| {
        let out = dir.path().join(out);
        support::noisegate_ok(|c| {
            c.args(["replay", "--quiet", "--out"]).arg(&out).arg(input);
            if input == one_line {
                c.arg("--config").arg(&tight);
            }
            c
        });
        let summary = read_summary(&out);
        let clusters = std::fs::read(out.join("clusters.ndjson")).unwrap();
        let dead = std::fs::read_to_string(out.join("deadletter.ndjson")).unwrap();
        (summary, clusters, dead)
    };
    let (want, want_clusters, dead) = run(&compact, "compact");
    assert_eq!(want["events_in"], GOOD.len());
    assert_eq!(want["events_invalid"], 0, "{dead}");
    assert!(!want_clusters.is_empty());
    for (input, name) in [
        (&pretty, "pretty"),
        (&array, "array"),
        (&one_line, "one line"),
    ] {
        let (got, clusters, dead) = run(input, name);
        assert_eq!(got["events_invalid"], 0, "{name}: {dead}");
        for key in [
            "events_in",
            "alert_events",
            "events_by_format",
            "clusters",
            "pages",
        ] {
            assert_eq!(got[key], want[key], "{name}: {key}");
        }
        assert_eq!(clusters, want_clusters, "{name}: the same records");
    }
}

#[test]
fn an_alertmanager_api_snapshot_replays_with_alertmanagers_fingerprints() {
    // `curl alertmanager:9093/api/v2/alerts > snapshot.json` against a real Alertmanager
    // (Debian prometheus-alertmanager): the alerts firing there become noisegate's alerts,
    // each under Alertmanager's own fingerprint.
    let dir = tempfile::tempdir().unwrap();
    // Its webhook goes nowhere: only its API is used.
    let nowhere = format!("127.0.0.1:{}", support::free_port());
    let (_am, am) = support::start_alertmanager(dir.path(), &nowhere);
    let started = chrono::Utc::now() - chrono::Duration::minutes(3);
    let alerts = serde_json::json!([
        {"labels": {"alertname": "DatabaseDown", "service": "db", "severity": "critical"},
         "annotations": {"summary": "db is down"}, "startsAt": started.to_rfc3339()},
        {"labels": {"alertname": "ReplicationLag", "service": "db", "severity": "warning"},
         "annotations": {"summary": "replica 2 is 40 s behind"}, "startsAt": started.to_rfc3339()}
    ]);
    support::post_to_alertmanager(&am, &alerts.to_string(), 1);
    let (code, snapshot) = support::http_get(&am, "/api/v2/alerts");
    assert_eq!(code, 200, "{snapshot}");
    let listed: Vec<Value> = serde_json::from_str(&snapshot).unwrap();
    assert_eq!(listed.len(), 2, "{snapshot}");
    let input = dir.path().join("snapshot.json");
    std::fs::write(&input, &snapshot).unwrap();

    let out = dir.path().join("out");
    support::noisegate_ok(|c| c.args(["replay", "--quiet", "--out"]).arg(&out).arg(&input));
    let summary = read_summary(&out);
    assert_eq!(summary["events_invalid"], 0, "{summary}");
    assert_eq!(summary["events_by_format"]["prometheus"], 2, "{summary}");
    let mut got: Vec<(String, String)> = ndjson(&out.join("clusters.ndjson"))
        .iter()
        .flat_map(|c| c["alerts"].as_array().unwrap().clone())
        .map(|a| {
            // A differing sender fingerprint would be shown as `source_id`.
            assert!(a.get("source_id").is_none_or(Value::is_null), "{a}");
            (
                a["alertname"].as_str().unwrap().to_string(),
                a["fingerprint"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    got.sort();
    let mut want: Vec<(String, String)> = listed
        .iter()
        .map(|a| {
            (
                a["labels"]["alertname"].as_str().unwrap().to_string(),
                a["fingerprint"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    want.sort();
    assert_eq!(got, want);
}

#[test]
fn alerts_a_sender_left_out_are_counted_in_the_summary() {
    // Grafana's published v8 example says it left one alert out (`truncatedAlerts: 1`).
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("grafana.json");
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../shared/fixtures/zulip-webhook-fixtures/grafana/alert_v8.json"),
        &input,
    )
    .unwrap();
    let out = dir.path().join("out");
    let o = replay(&small_limit_config(dir.path()), &input, &out);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("left out by sender"), "{stdout}");
    let s = read_summary(&out);
    assert_eq!(s["alerts_truncated"], 1, "{s}");
    assert_eq!(s["events_invalid"], 0, "{s}");
}

#[test]
fn grafana_alerts_that_name_no_severity_page_at_once_as_grafana_would_page_them() {
    // Grafana's published v8 example: two alerts of a team, with no `severity` label, as
    // Grafana-managed rules usually are. Grafana's own PagerDuty contact point sends them as
    // `critical` (Alertmanager's as `error`): today they page. Under the shipped
    // `default_severity` they still page, at once, instead of waiting a warning's hold and
    // then being suppressed until their rules have history.
    let line = fixture_line("zulip-webhook-fixtures/grafana/alert_multiple_v8.json");
    let (_dir, out) = replay_lines(&shipped_config(), &[line]);
    let records = ndjson(&out.join("clusters.ndjson"));
    assert!(!records.is_empty());
    let mut paged = 0;
    for r in &records {
        assert_eq!(r["severity"], "error", "{r}");
        if r["decision"] == "page" {
            paged += 1;
            assert_eq!(r["paged_at"], r["opened_at"], "paged without a hold: {r}");
        }
    }
    assert!(paged >= 1, "{records:?}");
    let pages = ndjson(&out.join("pages.ndjson"));
    assert!(
        pages.iter().any(|p| p["event_action"] == "trigger"),
        "{pages:?}"
    );
}

#[test]
fn a_data_source_down_is_one_incident_not_one_page_per_service() {
    // What Grafana sends when one Prometheus data source stops answering: every rule that
    // queries it fires `DatasourceError`, with its own labels (here four services' critical
    // rules) plus `rulename` and the data source's uid, over a few evaluation intervals.
    let services = ["checkout", "payments", "search", "inventory"];
    let lines: Vec<String> = services
        .iter()
        .enumerate()
        .map(|(i, svc)| {
            serde_json::json!({
                "receiver": "noisegate", "status": "firing", "orgId": 1, "version": "1",
                "groupKey": format!("{{}}:{{alertname=\"DatasourceError\", service=\"{svc}\"}}"),
                "truncatedAlerts": 0, "groupLabels": {"alertname": "DatasourceError"},
                "commonLabels": {}, "commonAnnotations": {}, "externalURL": "http://grafana:3000/",
                "alerts": [{
                    "status": "firing",
                    "labels": {
                        "alertname": "DatasourceError", "datasource_uid": "P1809F7CD0C75ACF3",
                        "ref_id": "A", "rulename": format!("{svc} error rate"),
                        "service": svc, "severity": "critical", "grafana_folder": svc,
                    },
                    "annotations": {"Error": "[sse.dataQueryError] failed to execute query [A]: Post \"http://prometheus:9090/api/v1/query_range\": dial tcp 10.0.0.7:9090: connect: connection refused"},
                    "startsAt": format!("2026-11-03T10:00:{:02}Z", i * 10),
                    "endsAt": "0001-01-01T00:00:00Z",
                    "fingerprint": format!("{:016x}", i + 1),
                }],
            })
            .to_string()
        })
        .collect();
    let (_dir, out) = replay_lines(&shipped_config(), &lines);
    let records = ndjson(&out.join("clusters.ndjson"));
    assert_eq!(records.len(), 1, "one incident: {records:?}");
    assert_eq!(
        records[0]["alerts"].as_array().map(Vec::len),
        Some(services.len())
    );
    let s = read_summary(&out);
    assert_eq!(s["pages"], 1, "{s}");
}

/// Alertmanager's published notification: one critical alert, sent twice, from 00:17:58.
const AM_ALERT: &str = "zulip-webhook-fixtures/alertmanager/alert.json";

/// The notification Alertmanager sends when the first alert of [`AM_ALERT`] resolves at
/// `ends_at`.
fn am_alert_resolved(ends_at: &str) -> String {
    let mut resolved: Value = serde_json::from_str(&fixture_line(AM_ALERT)).unwrap();
    resolved["status"] = "resolved".into();
    let alerts = resolved["alerts"].as_array_mut().unwrap();
    alerts.truncate(1);
    alerts[0]["status"] = "resolved".into();
    alerts[0]["endsAt"] = ends_at.into();
    resolved.to_string()
}

#[test]
fn a_notification_delivered_after_its_resolve_neither_pages_nor_reopens() {
    // Alertmanager's published notification (the same critical alert twice) and the resolve
    // of that alert five minutes later, delivered resolve first: from two inputs or
    // partitions out of step, or a retried firing notification.
    let firing = fixture_line(AM_ALERT);
    let resolved = am_alert_resolved("2020-02-06T00:22:58.432911368Z");
    let (_dir, out) = replay_lines(&shipped_config(), &[resolved.clone(), firing.clone()]);
    let s = read_summary(&out);
    assert_eq!(s["engine"]["stale_events"], 2, "{s}");
    assert_eq!(
        s["pages"], 0,
        "an alert known to be over does not page: {s}"
    );
    let records = ndjson(&out.join("clusters.ndjson"));
    assert_eq!(records.len(), 1, "{records:?}");
    assert!(!records[0]["closed_at"].is_null(), "{}", records[0]);
    // In order, the same two payloads page and resolve the page.
    let (_dir2, out2) = replay_lines(&shipped_config(), &[firing, resolved]);
    let s = read_summary(&out2);
    assert_eq!(s["engine"]["stale_events"], 0, "{s}");
    assert_eq!(
        (s["pages"].as_u64(), s["page_resolves"].as_u64()),
        (Some(1), Some(1)),
        "{s}"
    );
    let records = ndjson(&out2.join("clusters.ndjson"));
    assert!(!records[0]["closed_at"].is_null(), "{}", records[0]);
}

#[test]
fn a_notification_stamped_a_day_ahead_is_taken_as_of_the_stream_before_it() {
    // Alertmanager's published notification (a critical alert at 00:17:58), one from a
    // Prometheus whose clock runs a day ahead, the first alert's resolve five minutes later,
    // and a new critical alert half an hour on.
    let first = fixture_line(AM_ALERT);
    let mut ahead: Value = serde_json::from_str(&first).unwrap();
    for a in ahead["alerts"].as_array_mut().unwrap() {
        a["labels"]["alertname"] = "Disk Filling".into();
        a["startsAt"] = "2020-02-07T00:18:30Z".into();
        a.as_object_mut().unwrap().remove("fingerprint");
    }
    let resolved = am_alert_resolved("2020-02-06T00:22:58Z");
    let next = support::am_firing_line(
        serde_json::json!({"alertname": "Queue Stuck", "queue": "billing", "severity": "critical"}),
        serde_json::json!({"summary": "billing queue stuck"}),
        "2020-02-06T00:50:00Z",
        None,
    );
    let lines = [first, ahead.to_string(), resolved, next];

    let (dir, out) = replay_lines(&shipped_config(), &lines);
    let s = read_summary(&out);
    assert_eq!(s["clock_skewed"], 2, "{s}");
    let pages = ndjson(&out.join("pages.ndjson"));
    let queue = pages
        .iter()
        .find(|p| {
            p["payload"]["summary"]
                .as_str()
                .is_some_and(|t| t.contains("Queue"))
        })
        .unwrap_or_else(|| panic!("the queue alert pages: {pages:?}"));
    assert_eq!(
        queue["payload"]["timestamp"], "2020-02-06T00:50:00.000Z",
        "the page is dated in the stream's time: {queue}"
    );
    // The day-ahead alerts are taken as of the newest time before them (the first line's):
    // the resolve after them shows the stream had not got that far.
    let records = ndjson(&out.join("clusters.ndjson"));
    let disk = records
        .iter()
        .find(|r| r["alerts"][0]["alertname"] == "Disk Filling")
        .unwrap_or_else(|| panic!("{records:?}"));
    assert_eq!(disk["opened_at"], "2020-02-06T00:17:58.432Z", "{disk}");
    let stdout = String::from_utf8_lossy(
        &replay(
            &shipped_config(),
            &dir.path().join("in.ndjson"),
            &dir.path().join("again"),
        )
        .stdout,
    )
    .to_string();
    assert!(stdout.contains("clock ahead"), "{stdout}");

    // With the guard off, the day-ahead stamp is the engine's clock from then on: the page
    // for the next incident is dated a day late.
    let off = support::shipped_config_with(
        &dir.path().join("off"),
        "\nmax_clock_skew = \"5m\"\n",
        "\nmax_clock_skew = \"0s\"\n",
    );
    let (_dir2, out2) = replay_lines(&off, &lines);
    assert_eq!(read_summary(&out2)["clock_skewed"], 0);
    let late = ndjson(&out2.join("pages.ndjson"));
    assert!(
        late.iter()
            .any(|p| p["payload"]["timestamp"] == "2020-02-07T00:18:30.000Z"),
        "{late:?}"
    );
}

#[test]
fn change_events_replay_as_context_on_the_clusters_they_precede() {
    // PagerDuty's published change events name no service: counted, shown nowhere. One
    // that names `api` shows on the record of the outage on `api` ten minutes later.
    let mut lines: Vec<String> = [
        "pagerduty-developer-docs/events-api-v2/change_events_01_example_request_payload.json",
        "pagerduty-api-schema/change_enqueue_example_build-change-event.json",
        "pagerduty-api-schema/change_enqueue_example_git-change-event.json",
    ]
    .map(fixture_line)
    .to_vec();
    lines.push(
        serde_json::json!({
            "routing_key": "R-api",
            "payload": {"summary": "Deploy api v7", "timestamp": "2026-12-07T09:50:00Z",
                        "source": "ci", "custom_details": {"service": "api"}}
        })
        .to_string(),
    );
    lines.push(
        serde_json::json!({
            "version": "4", "status": "firing", "receiver": "r", "groupKey": "g",
            "alerts": [{"status": "firing", "startsAt": "2026-12-07T10:00:00Z",
                        "endsAt": "0001-01-01T00:00:00Z",
                        "labels": {"alertname": "ApiDown", "service": "api", "severity": "critical"},
                        "annotations": {"summary": "api is down"}}]
        })
        .to_string(),
    );
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.ndjson");
    std::fs::write(&input, lines.join("\n") + "\n").unwrap();
    let out = dir.path().join("out");
    let o = replay(&small_limit_config(dir.path()), &input, &out);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("change events"), "{stdout}");
    let s = read_summary(&out);
    assert_eq!(s["events_invalid"], 0, "{s}");
    assert_eq!(s["change_events"], 4, "{s}");
    assert_eq!(s["alert_events"], 1, "{s}");
    assert_eq!(s["engine"]["changes_unscoped"], 3, "{s}");
    let recs = ndjson(&out.join("clusters.ndjson"));
    assert_eq!(recs.len(), 1);
    assert_eq!(
        recs[0]["changes"][0]["summary"], "Deploy api v7",
        "{}",
        recs[0]
    );
    assert_eq!(recs[0]["changes"].as_array().unwrap().len(), 1);
    let pages = ndjson(&out.join("pages.ndjson"));
    assert_eq!(
        pages[0]["payload"]["custom_details"]["recent_changes"][0]["summary"],
        "Deploy api v7"
    );
}

#[test]
fn acknowledgements_appended_after_the_alerts_are_called_out() {
    // Twelve incidents half an hour apart, each acknowledged a minute after it fired (by
    // its PagerDuty dedup_key) and resolved by its monitor. Acknowledgements exported
    // separately and appended after the alerts arrive once every cluster has closed.
    let t0 = 1_796_000_000i64; // 2026-11-29
    let at = |s: i64| {
        chrono::DateTime::from_timestamp(s, 0)
            .unwrap()
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    };
    let trigger = |i: i64| {
        serde_json::json!({"routing_key": "rk", "event_action": "trigger", "dedup_key": format!("inc-{i}"),
            "payload": {"summary": format!("db-{i} down"), "source": format!("db-{i}"), "severity": "critical",
                        "timestamp": at(t0 + i * 1800), "custom_details": {"service": format!("db-{i}")}}})
        .to_string()
    };
    let v2 = |action: &str, i: i64| {
        serde_json::json!({"routing_key": "rk", "event_action": action, "dedup_key": format!("inc-{i}")})
            .to_string()
    };
    let (mut alerts, mut acks, mut interleaved) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..12 {
        alerts.push(trigger(i));
        interleaved.push(trigger(i));
        acks.push(v2("acknowledge", i));
        interleaved.push(v2("acknowledge", i));
        if i > 0 {
            alerts.push(v2("resolve", i - 1));
            interleaved.push(v2("resolve", i - 1));
        }
    }
    alerts.push(v2("resolve", 11));
    interleaved.push(v2("resolve", 11));
    let dir = tempfile::tempdir().unwrap();
    let run = |name: &str, lines: Vec<String>| {
        let input = dir.path().join(format!("{name}.ndjson"));
        std::fs::write(&input, lines.join("\n") + "\n").unwrap();
        let o = replay(
            &small_limit_config(dir.path()),
            &input,
            &dir.path().join(name),
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    let appended = run("appended", [alerts, acks].concat());
    // (The last clusters are still open when the acknowledgements come.)
    assert!(
        appended.contains("of 12 lifecycle events (acknowledgements, resolves) named no open"),
        "{appended}"
    );
    assert!(
        appended.contains("replay them as an input of their own"),
        "{appended}"
    );
    let in_time = run("in-time", interleaved);
    assert!(!in_time.contains("warning:"), "{in_time}");
}

#[test]
fn check_config_names_the_key() {
    let shipped = support::shipped_config();
    let o = bin().arg("check-config").arg(&shipped).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[engine]\nclose_quiet = \"5 parsecs\"\n").unwrap();
    let o = bin().arg("check-config").arg(&bad).output().unwrap();
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("engine.close_quiet"), "{err}");

    std::fs::write(
        &bad,
        "[score]\npage_threshold = 0.4\nticket_threshold = 0.5\n",
    )
    .unwrap();
    let o = bin().arg("check-config").arg(&bad).output().unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("score.ticket_threshold"));

    let o = bin()
        .args(["replay", "--out"])
        .arg(dir.path())
        .arg(dir.path().join("missing.ndjson"))
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("missing.ndjson"));
}

#[test]
fn a_replays_rules_json_warm_starts_the_next() {
    let dir = tempfile::tempdir().unwrap();
    let (week_a, week_b) = (dir.path().join("a.ndjson"), dir.path().join("b.ndjson"));
    support::gen_mixed(&week_a, 1, 12);
    support::gen_mixed(&week_b, 2, 12);
    let clusters_of = |config: &Path, input: &Path, out: &Path| {
        replay(config, input, out);
        ndjson(&out.join("clusters.ndjson"))
    };
    let shipped = support::shipped_config();
    clusters_of(&shipped, &week_a, &dir.path().join("out-a"));
    assert!(dir.path().join("out-a/rules.json").is_file());

    // The shipped config, pointed at what the first replay learned.
    let warm_cfg = support::shipped_config_with(
        &dir.path().join("cfg"),
        "\nlearned_rules = \"\"\n",
        "\nlearned_rules = \"../out-a/rules.json\"\n",
    );

    let cold = clusters_of(&shipped, &week_b, &dir.path().join("cold"));
    let warm = clusters_of(&warm_cfg, &week_b, &dir.path().join("warm"));
    // The first cluster of the second period: cold, its rules sit at the prior (0.5);
    // warm, they carry what the first period taught.
    let rate = |c: &Value| {
        c["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["feature"] == "actionable_rate")
            .unwrap()["value"]
            .as_f64()
            .unwrap()
    };
    let first = |v: &[Value]| {
        v.iter()
            .min_by_key(|c| c["opened_at"].as_str().unwrap().to_string())
            .unwrap()
            .clone()
    };
    assert_eq!(rate(&first(&cold)), 0.5);
    assert_ne!(rate(&first(&warm)), 0.5);
    // Same traffic, same clusters: only what is learned differs.
    assert_eq!(cold.len(), warm.len());
}

#[test]
fn several_inputs_are_replayed_as_one_stream_in_event_time() {
    // History exported from two places: the alerts, and the PagerDuty webhooks that carry
    // the acknowledgements. Replayed together they must give what the interleaved stream
    // gives, whichever file is named first; one after the other, every acknowledgement
    // would arrive after the clusters it names had closed.
    let dir = tempfile::tempdir().unwrap();
    let whole = support::gen_mixed(&dir.path().join("whole.ndjson"), 2, 12);
    let text = std::fs::read_to_string(&whole).unwrap();
    let (mut alerts, mut webhooks) = (String::new(), String::new());
    for line in text.lines() {
        let to = if line.starts_with(r#"{"event":"#) {
            &mut webhooks
        } else {
            &mut alerts
        };
        to.push_str(line);
        to.push('\n');
    }
    assert!(webhooks.lines().count() >= 3, "the stream has webhooks");
    let (a, w) = (
        dir.path().join("alerts.ndjson"),
        dir.path().join("pd.ndjson"),
    );
    std::fs::write(&a, alerts).unwrap();
    std::fs::write(&w, webhooks).unwrap();

    let shipped = support::shipped_config();
    let outputs = |inputs: &[&Path], out: &Path| {
        support::noisegate_ok(|c| {
            c.args(["replay", "--quiet", "--config"])
                .arg(&shipped)
                .arg("--out")
                .arg(out)
                .args(inputs)
        });
        ["clusters.ndjson", "pages.ndjson", "rules.json"]
            .map(|f| std::fs::read_to_string(out.join(f)).unwrap_or_else(|e| panic!("{f}: {e}")))
    };
    let one = outputs(&[&whole], &dir.path().join("one"));
    let acked = one[0]
        .lines()
        .filter(|l| !l.contains(r#""acked_at":null"#))
        .count();
    assert!(acked > 0, "some cluster was acknowledged");
    for (name, inputs) in [("webhooks first", [&w, &a]), ("alerts first", [&a, &w])] {
        let merged = outputs(&[inputs[0], inputs[1]], &dir.path().join(name));
        for (f, (x, y)) in ["clusters", "pages", "rules"]
            .iter()
            .zip(one.iter().zip(&merged))
        {
            assert!(x == y, "{name}: {f} differ from the interleaved stream's");
        }
    }
}

/// The Alertmanager, Grafana and PagerDuty v2 fixtures replayed together, and the ids each
/// sender gives its alerts.
struct SenderFixtures {
    _dir: tempfile::TempDir,
    input: PathBuf,
    out: PathBuf,
    /// Alertmanager's fingerprints, in payload order. The fixture's second alert is a
    /// hand-edited copy of the first (same labels, another fingerprint): one alert to us,
    /// known by the fingerprint Alertmanager computed.
    am: Vec<String>,
    grafana: Vec<String>,
    pd_dedup_key: String,
}

fn replay_sender_fixtures() -> SenderFixtures {
    let dir = tempfile::tempdir().unwrap();
    let (am, grafana, pd) = (
        "zulip-webhook-fixtures/alertmanager/alert.json",
        "zulip-webhook-fixtures/grafana/alert-9-mixed.json",
        "pagerduty-api-schema/enqueue_example_event.json",
    );
    let input = dir.path().join("in.ndjson");
    std::fs::write(
        &input,
        [am, grafana, pd].map(fixture_line).join("\n") + "\n",
    )
    .unwrap();
    let out = dir.path().join("out");
    support::noisegate_ok(|c| c.args(["replay", "--quiet", "--out"]).arg(&out).arg(&input));
    let payload = |rel: &str| -> Value { serde_json::from_str(&fixture_line(rel)).unwrap() };
    let sender_ids = |rel: &str| -> Vec<String> {
        payload(rel)["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["fingerprint"].as_str().unwrap().to_string())
            .collect()
    };
    SenderFixtures {
        input,
        out,
        am: sender_ids(am),
        grafana: sender_ids(grafana),
        pd_dedup_key: payload(pd)["dedup_key"].as_str().unwrap().to_string(),
        _dir: dir,
    }
}

#[test]
fn records_name_each_alert_as_its_sender_does() {
    // A record must lead back to the alert in the tool it came from: PagerDuty knows a
    // trigger by its dedup_key, Grafana by its own fingerprint (over labels its webhook does
    // not show). Alertmanager's fingerprint is ours, so it is not repeated.
    let f = replay_sender_fixtures();
    let mut ids: HashMap<String, Option<String>> = HashMap::new();
    for r in ndjson(&f.out.join("clusters.ndjson")) {
        for a in r["alerts"].as_array().unwrap() {
            ids.insert(
                a["fingerprint"].as_str().unwrap().to_string(),
                a.get("source_id").map(|s| s.as_str().unwrap().to_string()),
            );
        }
    }
    assert_eq!(
        ids.get(&f.am[0]),
        Some(&None),
        "Alertmanager's fingerprint is ours"
    );
    let found: Vec<&String> = ids.values().flatten().collect();
    for g in &f.grafana {
        assert!(
            !ids.contains_key(g),
            "Grafana's fingerprint {g} is not ours"
        );
        assert!(
            found.contains(&g),
            "Grafana alert {g} is in a record: {ids:?}"
        );
    }
    let key = &f.pd_dedup_key;
    assert!(found.contains(&key), "PagerDuty dedup_key {key}: {ids:?}");
    assert_eq!(found.len(), 3 + 1, "only those carry a source_id: {ids:?}");
}

#[test]
fn eval_matches_truth_that_names_alerts_as_their_senders_do() {
    // Truth labelled from another tool's history names each alert the way that tool does:
    // Alertmanager's fingerprint, Grafana's, a PagerDuty dedup_key. Both noisegate's records
    // and the baseline must find every one of them; an id nobody sent stays unmatched.
    let f = replay_sender_fixtures();
    let (dir, input, out) = (f.out.parent().unwrap(), &f.input, &f.out);
    let mut ids = vec![f.am[0].clone()];
    ids.extend(f.grafana.iter().cloned());
    ids.push(f.pd_dedup_key.clone());
    // When each alert was first seen, by whichever id the record knows it.
    let mut seen: HashMap<String, String> = HashMap::new();
    for r in ndjson(&out.join("clusters.ndjson")) {
        for a in r["alerts"].as_array().unwrap() {
            let t = a["first_seen"].as_str().unwrap().to_string();
            seen.insert(a["fingerprint"].as_str().unwrap().to_string(), t.clone());
            if let Some(s) = a.get("source_id") {
                seen.insert(s.as_str().unwrap().to_string(), t);
            }
        }
    }
    let mut truth = vec![r#"{"kind":"incident","incident_id":"I","actionable":true}"#.to_string()];
    for id in &ids {
        let t = seen.get(id).unwrap_or_else(|| panic!("{id} in no record"));
        truth.push(format!(
            r#"{{"kind":"alert","fingerprint":"{id}","incident_id":"I","starts_at":"{t}"}}"#
        ));
    }
    truth.push(format!(
        r#"{{"kind":"alert","fingerprint":"nobody-sent-this","incident_id":"I","starts_at":"{}"}}"#,
        seen[&ids[0]]
    ));
    let truth_file = dir.join("truth.ndjson");
    std::fs::write(&truth_file, truth.join("\n") + "\n").unwrap();
    let report = dir.join("eval.json");
    support::noisegate_ok(|c| {
        c.args(["eval", "--truth"])
            .arg(&truth_file)
            .arg("--clusters")
            .arg(out.join("clusters.ndjson"))
            .arg("--input")
            .arg(input)
            .arg("--out")
            .arg(&report)
    });
    let r: Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    for (system, m) in [
        ("noisegate", &r["noisegate"]["matching"]),
        ("baseline", &r["baseline"]["metrics"]["matching"]),
    ] {
        assert_eq!(m["episodes"], ids.len() + 1, "{system}: {m}");
        assert_eq!(m["matched_episodes"], ids.len(), "{system}: {m}");
        assert_eq!(m["unmatched_episodes"], 1, "{system}: {m}");
        assert_eq!(m["unmatched_alerts"], 0, "{system}: {m}");
        assert!(
            m["unmatched_episode_examples"][0]
                .as_str()
                .unwrap()
                .contains("nobody-sent-this"),
            "{system} names the id as written: {m}"
        );
    }
}

/// A PagerDuty v3 webhook delivery as a legacy v2 webhook would have delivered the same
/// step: `{"messages": [...]}` with the incident object, the v2 event name and the log
/// entry of whoever acted.
fn as_legacy_webhook(v3: &Value) -> Value {
    let ev = &v3["event"];
    let step = ev["event_type"].as_str().unwrap();
    let v2_step = match step.strip_prefix("incident.").unwrap() {
        "acknowledged" => "acknowledge",
        "resolved" => "resolve",
        "triggered" => "trigger",
        "unacknowledged" => "unacknowledge",
        "annotated" => "annotate",
        "escalated" => "escalate",
        "delegated" => "delegate",
        "reassigned" => "assign",
        other => panic!("no v2 webhook for {other}"),
    };
    let data = &ev["data"];
    let incident = if data["type"] == "incident" {
        serde_json::json!({"id": data["id"], "type": "incident", "incident_key": data["incident_key"],
            "title": data["title"], "status": data["status"], "urgency": data["urgency"],
            "priority": data["priority"], "teams": data["teams"],
            "service": {"id": data["service"]["id"], "type": "service", "name": data["service"]["summary"]}})
    } else {
        // A note, a responder request: v3 names only the incident.
        let r = &data["incident"];
        serde_json::json!({"id": r["id"], "type": "incident", "incident_key": r["incident_key"],
            "title": r["summary"]})
    };
    serde_json::json!({"messages": [{
        "id": ev["id"], "event": format!("incident.{v2_step}"), "created_on": ev["occurred_at"],
        "incident": incident,
        "log_entries": [{"type": format!("{v2_step}_log_entry"), "created_at": ev["occurred_at"],
                         "agent": ev["agent"]}],
        "webhook": {"type": "webhook", "name": "archived v2 webhook"}}]})
}

#[test]
fn history_of_legacy_v2_webhooks_teaches_what_v3_webhooks_teach() {
    // A team's archive from before its move to v3 webhooks: the same acknowledgements,
    // delivered as v2 `messages`. They must link to the same pages and teach the rules the
    // same outcomes, so the replayed records are the same.
    let dir = tempfile::tempdir().unwrap();
    let v3 = support::gen_mixed(&dir.path().join("v3.ndjson"), 2, 12);
    let mut converted = 0;
    let v2: String = std::fs::read_to_string(&v3)
        .unwrap()
        .lines()
        .map(|line| {
            let line = if line.starts_with(r#"{"event":"#) {
                converted += 1;
                as_legacy_webhook(&serde_json::from_str(line).unwrap()).to_string()
            } else {
                line.to_string()
            };
            line + "\n"
        })
        .collect();
    assert!(converted >= 3, "the stream has webhooks: {converted}");
    let v2_path = dir.path().join("v2.ndjson");
    std::fs::write(&v2_path, v2).unwrap();

    let shipped = support::shipped_config();
    let outputs = |input: &Path, out: &Path| {
        support::noisegate_ok(|c| {
            c.args(["replay", "--quiet", "--config"])
                .arg(&shipped)
                .arg("--out")
                .arg(out)
                .arg(input)
        });
        let summary = read_summary(out);
        let files = ["clusters.ndjson", "pages.ndjson", "rules.json"]
            .map(|f| std::fs::read_to_string(out.join(f)).unwrap_or_else(|e| panic!("{f}: {e}")));
        (summary, files)
    };
    let (s3, from_v3) = outputs(&v3, &dir.path().join("v3"));
    let (s2, from_v2) = outputs(&v2_path, &dir.path().join("v2"));
    assert_eq!(s2["events_invalid"], 0, "{s2}");
    assert_eq!(
        s2["events_by_format"]["pagerduty-webhook-v2"], converted,
        "{s2}"
    );
    let linked = &s2["engine"]["lifecycle_linked"];
    assert_eq!(linked, &s3["engine"]["lifecycle_linked"], "{s2}");
    assert_eq!(linked, converted, "every step found its incident: {s2}");
    let acked = from_v2[0]
        .lines()
        .filter(|l| !l.contains(r#""acked_at":null"#))
        .count();
    assert!(
        acked > 0,
        "some cluster was acknowledged through a v2 webhook"
    );
    for (f, (x, y)) in ["clusters", "pages", "rules"]
        .iter()
        .zip(from_v3.iter().zip(&from_v2))
    {
        assert!(x == y, "{f} differ between the v3 and the v2 history");
    }
}
