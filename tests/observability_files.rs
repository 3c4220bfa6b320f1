//! Static checks of the observability files: the Grafana dashboard
//! (`config/grafana/noisegate-dashboard.json`), the alert rules about noisegate itself
//! (`config/prometheus/noisegate-rules.yml`) and the Prometheus config that loads them.
//!
//! Every `noisegate_*` metric a dashboard panel or an alert rule uses must be one noisegate
//! serves on `/metrics` (the list below). The rules, the Prometheus config and the
//! dashboard's PromQL are checked with `promtool`, and the alerts are run against synthetic
//! series with `promtool test rules`. promtool comes with the Debian package `prometheus`;
//! those tests fail (they do not skip) when it is missing. `PROMTOOL` overrides the binary.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value as Json;
use serde_norway::Value as Yaml;

/// Every metric `noisegate run` serves on `/metrics`.
const METRICS: &[&str] = &[
    "noisegate_events_received_total",
    "noisegate_events_invalid_total",
    "noisegate_alert_events_total",
    "noisegate_alerts_truncated_total",
    "noisegate_change_events_total",
    "noisegate_change_scopes_shed_total",
    "noisegate_late_acks_total",
    "noisegate_lifecycle_events_total",
    "noisegate_events_deduplicated_total",
    "noisegate_stale_alert_events_total",
    "noisegate_unreported_resolves_total",
    "noisegate_events_clock_skewed_total",
    "noisegate_active_alerts",
    "noisegate_open_clusters",
    "noisegate_event_time_seconds",
    "noisegate_resend_interval_seconds",
    "noisegate_resolving_senders",
    "noisegate_resolving_senders_shed_total",
    "noisegate_left_out_resolves_total",
    "noisegate_group_rosters",
    "noisegate_group_rosters_shed_total",
    "noisegate_unheard_episodes_shed_total",
    "noisegate_clusters_closed_total",
    "noisegate_pages_total",
    "noisegate_page_resolves_total",
    "noisegate_flapping_transitions_total",
    "noisegate_held_resolved_total",
    "noisegate_outcomes_unheard_total",
    "noisegate_rule_alert_events_total",
    "noisegate_noise_ratio",
    "noisegate_actionable_ratio",
    "noisegate_batch_duration_seconds",
    "noisegate_event_to_page_seconds",
    "noisegate_kafka_consumer_lag",
    "noisegate_checkpoint_duration_seconds",
    "noisegate_last_checkpoint_timestamp_seconds",
    "noisegate_outputs_in_flight",
    "noisegate_input_paused",
    "noisegate_deadletters_total",
    "noisegate_pagerduty_events_total",
    "noisegate_pagerduty_requests_total",
    "noisegate_pagerduty_retries_total",
    "noisegate_pagerduty_throttled_total",
    "noisegate_pagerduty_delayed_events_total",
    "noisegate_pagerduty_queue_depth",
    "noisegate_pagerduty_oldest_queued_seconds",
];

/// The histograms among [`METRICS`]: PromQL uses them as `_bucket`, `_sum` and `_count`.
const HISTOGRAMS: &[&str] = &[
    "noisegate_batch_duration_seconds",
    "noisegate_event_to_page_seconds",
    "noisegate_checkpoint_duration_seconds",
];

/// The alerts the rules file must define.
const ALERTS: &[&str] = &[
    "NoisegateConsumerLagGrowing",
    "NoisegateDeadLettersRising",
    "NoisegateCheckpointStale",
    "NoisegateInputPaused",
    "NoisegateDown",
    "NoisegatePagerDutySinkFailing",
    "NoisegateNotHearingAcknowledgements",
    "NoisegateAlertsTruncatedBySender",
    "NoisegateSenderClockAhead",
    "NoisegateResolvesNotSent",
];

/// Where docker-compose.yml mounts the rules file in the Prometheus container.
const RULES_IN_CONTAINER: &str = "/etc/prometheus/noisegate-rules.yml";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn dashboard_path() -> PathBuf {
    root().join("config/grafana/noisegate-dashboard.json")
}

fn rules_path() -> PathBuf {
    root().join("config/prometheus/noisegate-rules.yml")
}

fn prometheus_path() -> PathBuf {
    root().join("config/prometheus/prometheus.yml")
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn yaml(p: &Path) -> Yaml {
    serde_norway::from_str(&read(p)).unwrap_or_else(|e| panic!("{}: not YAML: {e}", p.display()))
}

fn dashboard() -> Json {
    let p = dashboard_path();
    serde_json::from_str(&read(&p)).unwrap_or_else(|e| panic!("{}: not JSON: {e}", p.display()))
}

/// The `noisegate_*` metric names in a PromQL expression (whole identifiers, so a longer
/// unknown name is reported as itself rather than matching a known prefix).
fn metric_tokens(expr: &str) -> Vec<String> {
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == ':';
    let mut out = Vec::new();
    let mut rest = expr;
    // After the first round, `rest` starts just past a whole identifier.
    while let Some(at) = rest.find("noisegate_") {
        let prev = rest[..at].chars().next_back();
        let tail = &rest[at..];
        let len = tail.find(|c: char| !ident(c)).unwrap_or(tail.len());
        if !prev.is_some_and(ident) {
            out.push(tail[..len].to_string());
        }
        rest = &tail[len..];
    }
    out
}

/// The served metric a name refers to, if any (histogram series map to their histogram).
fn served(name: &str) -> Option<&'static str> {
    if let Some(m) = METRICS.iter().find(|m| **m == name) {
        return Some(m);
    }
    ["_bucket", "_sum", "_count"].iter().find_map(|suffix| {
        let base = name.strip_suffix(suffix)?;
        HISTOGRAMS.iter().find(|h| **h == base).copied()
    })
}

/// Asserts every metric in `exprs` (where, expression) is served; returns the set used.
fn check_metrics<'a>(
    what: &str,
    exprs: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> BTreeSet<&'static str> {
    let mut used = BTreeSet::new();
    let mut unknown = Vec::new();
    for (place, expr) in exprs {
        for tok in metric_tokens(expr) {
            match served(&tok) {
                Some(m) => {
                    used.insert(m);
                }
                None => unknown.push(format!("{place}: {tok}")),
            }
        }
    }
    assert!(
        unknown.is_empty(),
        "{what}: metrics noisegate does not serve:\n  {}",
        unknown.join("\n  ")
    );
    used
}

// ------------------------------------------------------------------------------------------
// promtool

fn promtool_bin() -> std::ffi::OsString {
    std::env::var_os("PROMTOOL").unwrap_or_else(|| "promtool".into())
}

/// Runs promtool and asserts it succeeded; returns its stdout and stderr.
fn promtool<S: AsRef<OsStr>>(args: &[S]) -> String {
    let bin = promtool_bin();
    let shown: Vec<_> = args.iter().map(|a| a.as_ref().to_string_lossy()).collect();
    let out = match Command::new(&bin).args(args).output() {
        Ok(out) => out,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
            "promtool not found ({}): these checks need it. Install the Debian package \
             `prometheus` (`apt-get install prometheus`, which ships /usr/bin/promtool), \
             or set PROMTOOL to a promtool binary",
            bin.to_string_lossy()
        ),
        Err(e) => panic!("running {}: {e}", bin.to_string_lossy()),
    };
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "`promtool {}` failed ({}):\n{text}",
        shown.join(" "),
        out.status
    );
    text
}

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temporary directory")
}

fn write(p: &Path, text: &str) {
    std::fs::write(p, text).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
}

// ------------------------------------------------------------------------------------------
// Dashboard

/// Every panel, including those nested in (collapsed) rows.
fn panels(d: &Json) -> Vec<&Json> {
    fn walk<'a>(v: &'a Json, out: &mut Vec<&'a Json>) {
        for p in v
            .get("panels")
            .and_then(Json::as_array)
            .into_iter()
            .flatten()
        {
            out.push(p);
            walk(p, out);
        }
    }
    let mut out = Vec::new();
    walk(d, &mut out);
    out
}

fn title(p: &Json) -> &str {
    p.get("title")
        .and_then(Json::as_str)
        .unwrap_or("(untitled)")
}

/// Every `expr` anywhere in the dashboard, with where it is.
fn dashboard_exprs(d: &Json) -> Vec<(String, String)> {
    fn walk(v: &Json, place: &str, out: &mut Vec<(String, String)>) {
        match v {
            Json::Object(m) => {
                let place = match m.get("title").and_then(Json::as_str) {
                    Some(t) => format!("panel {t:?}"),
                    None => place.to_string(),
                };
                for (k, v) in m {
                    match (k.as_str(), v) {
                        ("expr", Json::String(e)) => out.push((place.clone(), e.clone())),
                        ("expr", other) => panic!("{place}: expr {other} is not a string"),
                        _ => walk(v, &place, out),
                    }
                }
            }
            Json::Array(a) => a.iter().for_each(|v| walk(v, place, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(d, "dashboard", &mut out);
    out
}

#[test]
fn dashboard_parses_and_uses_only_served_metrics() {
    let d = dashboard();
    assert!(
        d.get("panels")
            .and_then(Json::as_array)
            .is_some_and(|p| !p.is_empty()),
        "the dashboard has no panels"
    );
    let exprs = dashboard_exprs(&d);
    assert!(!exprs.is_empty(), "the dashboard has no PromQL expressions");
    let used = check_metrics(
        "the dashboard",
        exprs.iter().map(|(p, e)| (p.as_str(), e.as_str())),
    );
    let unused: Vec<_> = METRICS.iter().filter(|m| !used.contains(*m)).collect();
    assert!(
        unused.is_empty(),
        "served metrics no dashboard panel shows: {unused:?}"
    );
}

#[test]
fn dashboard_shape() {
    let d = dashboard();
    assert_eq!(d["uid"], "noisegate");
    let schema = d["schemaVersion"].as_u64().expect("schemaVersion");
    assert!(schema >= 39, "schemaVersion {schema} < 39");

    // The datasource variable panels refer to, defaulting to the provisioned datasource.
    let vars = d["templating"]["list"].as_array().expect("templating.list");
    let ds = vars
        .iter()
        .find(|v| v["name"] == "DS_PROMETHEUS")
        .expect("a DS_PROMETHEUS templating variable");
    assert_eq!(ds["type"], "datasource");
    assert_eq!(ds["query"], "prometheus");
    assert_eq!(ds["current"]["value"], "prometheus");

    let mut ids = BTreeSet::new();
    for p in panels(&d) {
        let t = title(p);
        let id = p["id"]
            .as_u64()
            .unwrap_or_else(|| panic!("panel {t:?} has no id"));
        assert!(ids.insert(id), "panel id {id} is used twice");
        let g = &p["gridPos"];
        let (x, w) = (g["x"].as_u64(), g["w"].as_u64());
        assert!(
            matches!((x, w), (Some(x), Some(w)) if w > 0 && x + w <= 24),
            "panel {t:?}: gridPos {g} is not within the 24-column grid"
        );
        if p["type"] == "row" {
            continue;
        }
        let uid = p["datasource"]["uid"].as_str().unwrap_or_default();
        assert!(
            uid == "${DS_PROMETHEUS}" || uid == "prometheus",
            "panel {t:?}: datasource uid {uid:?} is neither ${{DS_PROMETHEUS}} nor prometheus"
        );
        let targets = p["targets"]
            .as_array()
            .filter(|t| !t.is_empty())
            .unwrap_or_else(|| panic!("panel {t:?} has no targets"));
        let mut refs = BTreeSet::new();
        for tg in targets {
            let expr = tg["expr"].as_str().unwrap_or_default();
            assert!(!expr.trim().is_empty(), "panel {t:?}: a target has no expr");
            let r = tg["refId"].as_str().unwrap_or_default();
            assert!(refs.insert(r), "panel {t:?}: refId {r:?} is used twice");
        }
    }

    // The views the dashboard exists for.
    let all: Vec<String> = dashboard_exprs(&d).into_iter().map(|(_, e)| e).collect();
    let has = |what: &str, f: &dyn Fn(&str) -> bool| {
        assert!(all.iter().any(|e| f(e)), "no panel shows {what}");
    };
    has("pages by team", &|e| {
        e.contains("noisegate_pages_total") && e.contains("by (team)")
    });
    has("pages by severity", &|e| {
        e.contains("noisegate_pages_total") && e.contains("by (severity)")
    });
    has("the after-hours share of pages", &|e| {
        e.contains("after_hours=\"true\"") && e.contains('/')
    });
    has("top noisy rules", &|e| {
        e.contains("topk(") && e.contains("rate(noisegate_rule_alert_events_total")
    });
    for q in ["0.5", "0.99"] {
        has(&format!("event-to-page latency quantile {q}"), &|e| {
            e.contains(&format!("histogram_quantile({q},"))
                && e.contains("noisegate_event_to_page_seconds_bucket")
        });
    }
    has("batch latency", &|e| {
        e.contains("histogram_quantile(") && e.contains("noisegate_batch_duration_seconds_bucket")
    });
    has("consumer lag by partition", &|e| {
        e.contains("noisegate_kafka_consumer_lag") && e.contains("partition")
    });
    has("dead letters by reason", &|e| {
        e.contains("noisegate_deadletters_total") && e.contains("by (reason)")
    });
    has("checkpoint age", &|e| {
        e.contains("time() - noisegate_last_checkpoint_timestamp_seconds")
    });
}

/// Each panel expression, with Grafana's interval variables filled in, must parse as PromQL:
/// they go into a throwaway recording-rules file for `promtool check rules`.
#[test]
fn dashboard_promql_parses() {
    let d = dashboard();
    let rules: Vec<Json> = dashboard_exprs(&d)
        .into_iter()
        .enumerate()
        .map(|(i, (place, expr))| {
            let filled = expr
                .replace("$__rate_interval", "5m")
                .replace("$__interval", "1m")
                .replace("$__range", "1h");
            assert!(
                !filled.contains('$'),
                "{place}: {expr:?} uses a dashboard variable this test does not fill in"
            );
            serde_json::json!({ "record": format!("dashboard:expr_{i}"), "expr": filled })
        })
        .collect();
    let doc = serde_json::json!({ "groups": [{ "name": "dashboard", "rules": rules }] });
    let dir = tempdir();
    let p = dir.path().join("dashboard-exprs.yml");
    // JSON is YAML.
    write(&p, &doc.to_string());
    promtool(&[OsStr::new("check"), OsStr::new("rules"), p.as_os_str()]);
}

#[test]
fn grafana_provisioning_matches_dashboard() {
    let dir = root().join("config/grafana/provisioning");
    let ds = yaml(&dir.join("datasources/prometheus.yml"));
    let list = ds["datasources"].as_sequence().expect("datasources list");
    assert!(
        list.iter()
            .any(|d| d["uid"].as_str() == Some("prometheus")
                && d["type"].as_str() == Some("prometheus")),
        "no provisioned Prometheus datasource with uid \"prometheus\" (the dashboard's default)"
    );
    let dash = yaml(&dir.join("dashboards/noisegate.yml"));
    let providers = dash["providers"].as_sequence().expect("providers list");
    assert!(
        providers
            .iter()
            .any(|p| p["type"].as_str() == Some("file") && p["options"]["path"].is_string()),
        "no file dashboard provider"
    );
}

// ------------------------------------------------------------------------------------------
// Alert rules

fn rules() -> Vec<Yaml> {
    let doc = yaml(&rules_path());
    let groups = doc["groups"].as_sequence().expect("`groups` list");
    let g = groups
        .iter()
        .find(|g| g["name"].as_str() == Some("noisegate"))
        .expect("a rule group named `noisegate`");
    g["rules"]
        .as_sequence()
        .expect("group `noisegate` has rules")
        .clone()
}

fn expr(r: &Yaml) -> &str {
    r["expr"].as_str().expect("every rule has a string expr")
}

#[test]
fn rules_use_only_served_metrics() {
    let rules = rules();
    let exprs: Vec<(String, &str)> = rules
        .iter()
        .map(|r| {
            let name = r["alert"].as_str().or(r["record"].as_str()).unwrap_or("?");
            (format!("rule {name}"), expr(r))
        })
        .collect();
    check_metrics(
        "the alert rules",
        exprs.iter().map(|(p, e)| (p.as_str(), *e)),
    );
}

#[test]
fn rules_shape() {
    let rules = rules();
    let by_name: BTreeMap<&str, &Yaml> = rules
        .iter()
        .map(|r| (r["alert"].as_str().expect("only alerting rules"), r))
        .collect();
    for a in ALERTS {
        assert!(by_name.contains_key(a), "no alert {a}");
    }
    for (name, r) in &by_name {
        let sev = r["labels"]["severity"].as_str().unwrap_or_default();
        assert!(
            ["critical", "warning", "info"].contains(&sev),
            "{name}: severity label {sev:?}"
        );
        for a in ["summary", "description"] {
            assert!(
                r["annotations"][a]
                    .as_str()
                    .is_some_and(|s| !s.trim().is_empty()),
                "{name}: no {a} annotation"
            );
        }
    }
    // NoisegateDown watches the scrape job prometheus.yml defines.
    let job = noisegate_scrape_job();
    assert!(
        expr(by_name["NoisegateDown"])
            .contains(&format!("job=\"{}\"", job["job_name"].as_str().unwrap())),
        "NoisegateDown does not watch the noisegate scrape job"
    );
}

#[test]
fn rules_pass_promtool_check() {
    let out = promtool(&[
        OsStr::new("check"),
        OsStr::new("rules"),
        rules_path().as_os_str(),
    ]);
    assert!(
        out.contains(&format!("{} rules found", ALERTS.len())),
        "promtool did not find the {} rules:\n{out}",
        ALERTS.len()
    );
}

/// The rules file with annotations removed: `promtool test rules` compares annotations
/// exactly, and these tests are about when alerts fire and with which labels.
fn rules_without_annotations() -> String {
    let mut doc = yaml(&rules_path());
    for g in doc["groups"].as_sequence_mut().expect("groups") {
        for r in g["rules"].as_sequence_mut().expect("rules") {
            r.as_mapping_mut()
                .expect("rule mapping")
                .remove("annotations");
        }
    }
    serde_norway::to_string(&doc).expect("serialize rules")
}

/// Synthetic series for each alert: it fires when it should, and not before or otherwise.
const RULE_TESTS: &str = r#"
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      # Growing past 1000: true from 6m, fires after 10m more.
      - series: 'noisegate_kafka_consumer_lag{job="noisegate",instance="ng:9464",topic="alerts.otlp",partition="0"}'
        values: '0+200x30'
      # High but flat, and high but being worked off: never fire.
      - series: 'noisegate_kafka_consumer_lag{job="noisegate",instance="ng:9464",topic="alerts.otlp",partition="1"}'
        values: '5000x30'
      - series: 'noisegate_kafka_consumer_lag{job="noisegate",instance="ng:9464",topic="alerts.otlp",partition="2"}'
        values: '20000-100x30'
    alert_rule_test:
      - eval_time: 15m
        alertname: NoisegateConsumerLagGrowing
        exp_alerts: []
      - eval_time: 17m
        alertname: NoisegateConsumerLagGrowing
        exp_alerts:
          - exp_labels: {severity: warning, component: noisegate, job: noisegate, instance: "ng:9464", topic: alerts.otlp, partition: "0"}

  - interval: 1m
    input_series:
      # 1 dead letter/s from 1m: fires at 11m.
      - series: 'noisegate_deadletters_total{job="noisegate",instance="ng:9464",reason="decode"}'
        values: '0+60x30'
    alert_rule_test:
      - eval_time: 10m
        alertname: NoisegateDeadLettersRising
        exp_alerts: []
      - eval_time: 12m
        alertname: NoisegateDeadLettersRising
        exp_alerts:
          - exp_labels: {severity: warning, component: noisegate, job: noisegate, instance: "ng:9464"}

  - interval: 1m
    input_series:
      # Dead letters at 0.05/s (below the threshold) but invalid payloads at 0.5/s.
      - series: 'noisegate_deadletters_total{job="noisegate",instance="ng:9464",reason="decode"}'
        values: '0+3x30'
      - series: 'noisegate_events_invalid_total{job="noisegate",instance="ng:9464",source="kafka",reason="json"}'
        values: '0+30x30'
    alert_rule_test:
      - eval_time: 12m
        alertname: NoisegateDeadLettersRising
        exp_alerts:
          - exp_labels: {severity: warning, component: noisegate, job: noisegate, instance: "ng:9464"}

  - interval: 1m
    input_series:
      # Dead letters at 0.05/s only: below the threshold.
      - series: 'noisegate_deadletters_total{job="noisegate",instance="ng:9464",reason="decode"}'
        values: '0+3x30'
    alert_rule_test:
      - eval_time: 20m
        alertname: NoisegateDeadLettersRising
        exp_alerts: []

  - interval: 1m
    input_series:
      # Checkpoints keep up until 5m (the timestamp is the evaluation time), then stop:
      # older than 5 minutes from 11m on.
      - series: 'noisegate_last_checkpoint_timestamp_seconds{job="noisegate",instance="ng:9464"}'
        values: '0+60x5 300x20'
      # Never checkpointed (nothing consumed yet): not alerted on.
      - series: 'noisegate_last_checkpoint_timestamp_seconds{job="noisegate",instance="idle:9464"}'
        values: '0x25'
    alert_rule_test:
      - eval_time: 10m
        alertname: NoisegateCheckpointStale
        exp_alerts: []
      - eval_time: 11m
        alertname: NoisegateCheckpointStale
        exp_alerts:
          - exp_labels: {severity: warning, component: noisegate, job: noisegate, instance: "ng:9464"}

  - interval: 1m
    input_series:
      # Paused from 2m: fires at 7m. A 2-minute pause never fires.
      - series: 'noisegate_input_paused{job="noisegate",instance="ng:9464"}'
        values: '0 0 1x20'
      - series: 'noisegate_input_paused{job="noisegate",instance="brief:9464"}'
        values: '0 1 1 0x20'
    alert_rule_test:
      - eval_time: 6m
        alertname: NoisegateInputPaused
        exp_alerts: []
      - eval_time: 7m
        alertname: NoisegateInputPaused
        exp_alerts:
          - exp_labels: {severity: critical, component: noisegate, job: noisegate, instance: "ng:9464"}

  - interval: 1m
    input_series:
      # Down from 1m: fires at 3m. Another job being down is not noisegate.
      - series: 'up{job="noisegate",instance="noisegate:9464"}'
        values: '1 0x10'
      - series: 'up{job="prometheus",instance="localhost:9090"}'
        values: '0x10'
    alert_rule_test:
      - eval_time: 2m
        alertname: NoisegateDown
        exp_alerts: []
      - eval_time: 3m
        alertname: NoisegateDown
        exp_alerts:
          - exp_labels: {severity: critical, component: noisegate, job: noisegate, instance: "noisegate:9464"}

  - interval: 1m
    input_series:
      # Stuck: the oldest queued page ages from 1m on, past 300 s at 6m: fires at 11m.
      # A rate-limit backlog that clears within 2 minutes never fires.
      - series: 'noisegate_pagerduty_oldest_queued_seconds{job="noisegate",instance="ng:9464"}'
        values: '0 0+60x20'
      - series: 'noisegate_pagerduty_oldest_queued_seconds{job="noisegate",instance="burst:9464"}'
        values: '0 60 120 0x20'
    alert_rule_test:
      - eval_time: 10m
        alertname: NoisegatePagerDutySinkFailing
        exp_alerts: []
      - eval_time: 12m
        alertname: NoisegatePagerDutySinkFailing
        exp_alerts:
          - exp_labels: {severity: critical, component: noisegate, job: noisegate, instance: "ng:9464"}

  - interval: 1m
    input_series:
      # One rejected event at 3m: fires from 8m while it is within the 15-minute window.
      - series: 'noisegate_pagerduty_events_total{job="noisegate",instance="ng:9464",result="rejected"}'
        values: '0 0 0 1x30'
      - series: 'noisegate_pagerduty_events_total{job="noisegate",instance="ng:9464",result="delivered"}'
        values: '0+10x30'
    alert_rule_test:
      - eval_time: 7m
        alertname: NoisegatePagerDutySinkFailing
        exp_alerts: []
      - eval_time: 9m
        alertname: NoisegatePagerDutySinkFailing
        exp_alerts:
          - exp_labels: {severity: critical, component: noisegate, job: noisegate, instance: "ng:9464"}

  - interval: 10m
    input_series:
      # Unheard outcomes from 2h on: fires an hour later. An instance whose count stopped
      # growing (acknowledgements heard again) does not fire.
      - series: 'noisegate_outcomes_unheard_total{job="noisegate",instance="ng:9464"}'
        values: '0x12 0+1x20'
      - series: 'noisegate_outcomes_unheard_total{job="noisegate",instance="ok:9464"}'
        values: '7x32'
    alert_rule_test:
      - eval_time: 2h
        alertname: NoisegateNotHearingAcknowledgements
        exp_alerts: []
      - eval_time: 4h
        alertname: NoisegateNotHearingAcknowledgements
        exp_alerts:
          - exp_labels: {severity: warning, component: noisegate, job: noisegate, instance: "ng:9464"}

  - interval: 1m
    input_series:
      # Three alerts left out at 5m: fires at once, and clears once 15 minutes have passed.
      # An instance that never had any does not fire.
      - series: 'noisegate_alerts_truncated_total{job="noisegate",instance="ng:9464"}'
        values: '0x4 3x30'
      - series: 'noisegate_alerts_truncated_total{job="noisegate",instance="ok:9464"}'
        values: '0x34'
    alert_rule_test:
      - eval_time: 4m
        alertname: NoisegateAlertsTruncatedBySender
        exp_alerts: []
      - eval_time: 6m
        alertname: NoisegateAlertsTruncatedBySender
        exp_alerts:
          - exp_labels: {severity: warning, component: noisegate, job: noisegate, instance: "ng:9464"}
      - eval_time: 25m
        alertname: NoisegateAlertsTruncatedBySender
        exp_alerts: []

  - interval: 1m
    input_series:
      # One event from a clock ahead at 5m: fires at once, clears after 15 minutes.
      - series: 'noisegate_events_clock_skewed_total{job="noisegate",instance="ng:9464"}'
        values: '0x4 1x30'
      - series: 'noisegate_events_clock_skewed_total{job="noisegate",instance="ok:9464"}'
        values: '0x34'
    alert_rule_test:
      - eval_time: 4m
        alertname: NoisegateSenderClockAhead
        exp_alerts: []
      - eval_time: 6m
        alertname: NoisegateSenderClockAhead
        exp_alerts:
          - exp_labels: {severity: warning, component: noisegate, job: noisegate, instance: "ng:9464"}
      - eval_time: 25m
        alertname: NoisegateSenderClockAhead
        exp_alerts: []

  - interval: 10m
    input_series:
      # One lost resolve an hour does not fire; six within an hour on the other instance do.
      - series: 'noisegate_unreported_resolves_total{job="noisegate",instance="lossy:9464"}'
        values: '0+0.1x60'
      - series: 'noisegate_unreported_resolves_total{job="noisegate",instance="ng:9464"}'
        values: '0x5 1 2 3 4 5 6 6x20'
    alert_rule_test:
      - eval_time: 50m
        alertname: NoisegateResolvesNotSent
        exp_alerts: []
      - eval_time: 2h
        alertname: NoisegateResolvesNotSent
        exp_alerts:
          - exp_labels: {severity: warning, component: noisegate, job: noisegate, instance: "ng:9464"}
      - eval_time: 9h
        alertname: NoisegateResolvesNotSent
        exp_alerts: []
"#;

#[test]
fn rules_fire_as_intended() {
    let dir = tempdir();
    let rules = dir.path().join("noisegate-rules.yml");
    write(&rules, &rules_without_annotations());
    let mut doc: Yaml = serde_norway::from_str(RULE_TESTS).expect("RULE_TESTS is YAML");
    doc.as_mapping_mut().unwrap().insert(
        "rule_files".into(),
        Yaml::Sequence(vec![rules.to_str().expect("UTF-8 temp path").into()]),
    );
    let tests = dir.path().join("noisegate-rules.test.yml");
    write(&tests, &serde_norway::to_string(&doc).unwrap());
    promtool(&[OsStr::new("test"), OsStr::new("rules"), tests.as_os_str()]);
}

// ------------------------------------------------------------------------------------------
// Prometheus config

fn noisegate_scrape_job() -> Yaml {
    let doc = yaml(&prometheus_path());
    let jobs = doc["scrape_configs"].as_sequence().expect("scrape_configs");
    jobs.iter()
        .find(|j| j["job_name"].as_str() == Some("noisegate"))
        .expect("a scrape job named `noisegate`")
        .clone()
}

#[test]
fn prometheus_config_scrapes_noisegate_and_loads_rules() {
    let doc = yaml(&prometheus_path());
    let files = doc["rule_files"].as_sequence().expect("rule_files list");
    assert!(
        files.iter().any(|f| f.as_str() == Some(RULES_IN_CONTAINER)),
        "rule_files does not list {RULES_IN_CONTAINER}"
    );
    let job = noisegate_scrape_job();
    let targets: Vec<&str> = job["static_configs"]
        .as_sequence()
        .expect("static_configs")
        .iter()
        .flat_map(|c| c["targets"].as_sequence().into_iter().flatten())
        .filter_map(Yaml::as_str)
        .collect();
    assert_eq!(targets, ["noisegate:9464"]);
    // What was there before is kept.
    let jobs = doc["scrape_configs"].as_sequence().unwrap();
    assert!(jobs
        .iter()
        .any(|j| j["job_name"].as_str() == Some("prometheus")));
    assert!(doc["alerting"]["alertmanagers"].is_sequence());
}

/// `promtool check config` also checks the rule files it lists, which live at container
/// paths; the config is checked from a temporary copy with those paths pointing at copies of
/// the rule files.
#[test]
fn prometheus_config_passes_promtool_check() {
    let dir = tempdir();
    let mut doc = yaml(&prometheus_path());
    let mut rewritten = 0;
    for f in doc["rule_files"]
        .as_sequence_mut()
        .expect("rule_files list")
    {
        let path = f.as_str().expect("rule file path").to_string();
        let Some(name) = path.strip_prefix("/etc/prometheus/") else {
            continue;
        };
        let src = root().join("config/prometheus").join(name);
        let dst = dir.path().join(name);
        std::fs::copy(&src, &dst).unwrap_or_else(|e| panic!("{}: {e}", src.display()));
        *f = dst.to_str().expect("UTF-8 temp path").into();
        rewritten += 1;
    }
    assert!(
        rewritten > 0,
        "no rule file under /etc/prometheus/ to check"
    );
    let cfg = dir.path().join("prometheus.yml");
    write(&cfg, &serde_norway::to_string(&doc).unwrap());
    let out = promtool(&[OsStr::new("check"), OsStr::new("config"), cfg.as_os_str()]);
    let checked = dir.path().join("noisegate-rules.yml");
    assert!(
        out.contains(&*checked.to_string_lossy()),
        "promtool check config did not check the rules file:\n{out}"
    );
}

#[test]
fn metric_tokens_are_whole_names() {
    assert_eq!(
        metric_tokens(
            r#"sum(rate(noisegate_x_bucket[5m])) / up{job="noisegate"} + foo_noisegate_y + noisegate_z"#
        ),
        ["noisegate_x_bucket", "noisegate_z"]
    );
    assert_eq!(
        served("noisegate_batch_duration_seconds_bucket"),
        Some("noisegate_batch_duration_seconds")
    );
    assert_eq!(served("noisegate_pages_total_count"), None);
    assert_eq!(served("noisegate_pages"), None);
}

/// The shipped Alertmanager config (Alertmanager → noisegate, noisegate's own alerts straight
/// to PagerDuty) is one a real Alertmanager accepts: `amtool check-config`, from Debian's
/// `prometheus-alertmanager` (installed by `.ci/run`).
#[test]
fn alertmanager_config_passes_amtool() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/alertmanager/alertmanager.yml");
    let out = Command::new("amtool")
        .arg("check-config")
        .arg(&path)
        .output()
        .expect("amtool not found: install Debian's `prometheus-alertmanager` (.ci/run does)");
    assert!(
        out.status.success(),
        "amtool check-config failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
