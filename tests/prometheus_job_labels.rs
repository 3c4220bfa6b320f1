//! Alerts labelled as a plain Prometheus setup labels them: the rule sets only `severity`
//! (as every rule in awesome-prometheus-alerts does), the target adds `instance` and `job`,
//! and nothing says `service`. The scrape job is then the service, through the shipped
//! config, except where the job names an exporter (the node exporter's `node`).

use serde_json::{json, Value};

mod support;
use support::{am_firing_line, ndjson, replay_lines, shipped_config};

/// One Alertmanager webhook line with one firing alert of an awesome-prometheus-alerts rule.
fn alert(name: &str, summary: &str, job: &str, instance: &str, at: &str) -> String {
    let labels = json!({
        "alertname": name,
        "instance": instance,
        "job": job,
        "severity": "warning",
    });
    am_firing_line(
        labels,
        json!({
            "summary": format!("{summary} (instance {instance})"),
            "description": format!("{summary} on {instance}\n  VALUE = 93\n  LABELS = map[instance:{instance} job:{job}]"),
        }),
        at,
        None,
    )
}

#[test]
fn the_scrape_job_names_the_service_when_nothing_else_does() {
    let lines = [
        alert(
            "MysqlTooManyConnections(>80%)",
            "MySQL too many connections (> 80%)",
            "mysql",
            "db-1:9104",
            "2026-03-02T10:00:00Z",
        ),
        alert(
            "HostOutOfMemory",
            "Host out of memory",
            "node",
            "web-3:9100",
            "2026-03-02T10:00:20Z",
        ),
        alert(
            "MysqlHighThreadsRunning",
            "MySQL high threads running",
            "mysql",
            "db-1:9104",
            "2026-03-02T10:00:30Z",
        ),
    ];
    let (_dir, out) = replay_lines(&shipped_config(), &lines);
    let clusters = ndjson(&out.join("clusters.ndjson"));
    let summary: Vec<(Vec<&str>, &Value)> = clusters
        .iter()
        .map(|c| {
            let names = c["alerts"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a["alertname"].as_str().unwrap())
                .collect();
            (names, &c["services"])
        })
        .collect();
    assert_eq!(clusters.len(), 2, "{summary:?}");
    let mysql = summary
        .iter()
        .find(|(names, _)| names.contains(&"MysqlHighThreadsRunning"))
        .unwrap();
    assert_eq!(
        mysql.0.len(),
        2,
        "two rules of one database starting together are one problem: {summary:?}"
    );
    assert_eq!(mysql.1, &json!(["mysql"]), "{summary:?}");
    let host = summary
        .iter()
        .find(|(names, _)| names.contains(&"HostOutOfMemory"))
        .unwrap();
    assert_eq!(
        host.1,
        &json!([]),
        "`node` is the exporter's job, not a failing service: {summary:?}"
    );
}
