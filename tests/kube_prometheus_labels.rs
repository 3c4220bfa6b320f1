//! Alerts shaped exactly as kube-prometheus sends them (labels from the rule files in
//! `../shared/fixtures/kube-prometheus`, plus the target labels a ServiceMonitor adds), through
//! the shipped config: the `service` label of a kube-state-metrics alert names the exporter,
//! not the failing workload, and must not make one incident of unrelated pods.

use serde_json::{json, Value};

mod support;
use support::{am_firing_line, ndjson, noisegate_ok, replay_lines, shipped_config};

/// One Alertmanager webhook line with one firing `KubePodCrashLooping` alert as
/// kube-state-metrics' ServiceMonitor labels it.
fn crash_loop(namespace: &str, pod: &str, container: &str, fp: &str, at: &str) -> String {
    let labels = json!({
        "alertname": "KubePodCrashLooping",
        "container": container,
        "endpoint": "http",
        "instance": "10.2.1.7:8080",
        "job": "kube-state-metrics",
        "namespace": namespace,
        "pod": pod,
        "prometheus": "monitoring/k8s",
        "reason": "CrashLoopBackOff",
        "service": "kube-state-metrics",
        "severity": "warning",
    });
    am_firing_line(
        labels,
        json!({
            "description": format!("Pod {namespace}/{pod} ({container}) is in waiting state (reason: \"CrashLoopBackOff\")."),
            "runbook_url": "https://runbooks.prometheus-operator.dev/runbooks/kubernetes/kubepodcrashlooping",
            "summary": "Pod is crash looping.",
        }),
        at,
        Some(fp),
    )
}

#[test]
fn an_exporters_service_label_does_not_group_a_fleet() {
    let lines = [
        crash_loop(
            "payments",
            "refunds-7d9f-abcde",
            "refunds",
            "1111111111111111",
            "2026-03-02T10:00:00Z",
        ),
        crash_loop(
            "search",
            "indexer-5c4b-fghij",
            "indexer",
            "2222222222222222",
            "2026-03-02T10:00:30Z",
        ),
    ];
    let (_dir, out) = replay_lines(&shipped_config(), &lines);
    let clusters = ndjson(&out.join("clusters.ndjson"));
    let services: Vec<&Value> = clusters.iter().map(|c| &c["services"]).collect();
    assert_eq!(
        clusters.len(),
        2,
        "two pods in two namespaces are two problems, not one 'kube-state-metrics' incident: {services:?}"
    );
    for c in &clusters {
        assert!(
            !c["services"]
                .as_array()
                .unwrap()
                .iter()
                .any(|s| s == "kube-state-metrics"),
            "the exporter is not the failing service: {}",
            c["services"]
        );
    }

    // The weekly report's rule tables name the rule's service the same way.
    let report = noisegate_ok(|c| {
        c.args([
            "report", "--week", "2026-W10", "--format", "json", "--config",
        ])
        .arg(shipped_config())
        .arg("--clusters")
        .arg(&out)
    });
    let rep: Value = serde_json::from_slice(&report.stdout).unwrap();
    let rows = rep["noise_leaders"]["by_volume"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["alertname"], "KubePodCrashLooping");
    assert_eq!(rows[0]["clusters"], 2);
    assert!(rows[0]["service"].is_null(), "{}", rows[0]["service"]);
}
