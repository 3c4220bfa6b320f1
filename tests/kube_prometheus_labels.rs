//! Alerts shaped exactly as kube-prometheus sends them (labels from the rule files in
//! `../shared/fixtures/kube-prometheus`, plus the target labels a ServiceMonitor adds), through
//! the shipped config: the `service` label of a kube-state-metrics alert names the exporter,
//! not the failing workload, and must not make one incident of unrelated pods; the workload
//! labels (`deployment`, `container`, …) name the service instead.

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
    // The exporter is not the failing service; the pod's container (its workload) is.
    let mut services: Vec<String> = clusters.iter().map(|c| c["services"].to_string()).collect();
    services.sort();
    assert_eq!(services, [r#"["indexer"]"#, r#"["refunds"]"#]);

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
    let mut got: Vec<(String, String, u64)> = rows
        .iter()
        .map(|r| {
            (
                r["alertname"].as_str().unwrap().to_string(),
                r["service"].as_str().unwrap_or("-").to_string(),
                r["clusters"].as_u64().unwrap(),
            )
        })
        .collect();
    got.sort();
    assert_eq!(
        got,
        [
            ("KubePodCrashLooping".to_string(), "indexer".to_string(), 1),
            ("KubePodCrashLooping".to_string(), "refunds".to_string(), 1)
        ],
        "{rows:?}"
    );
}

/// kube-prometheus' other workload alerts: a kube-state-metrics one names its deployment,
/// a cAdvisor one (scraped through the kubelet) its container; neither is the exporter's.
#[test]
fn workload_alerts_name_their_workload_not_the_exporter() {
    let ksm = am_firing_line(
        json!({
            "alertname": "KubeDeploymentReplicasMismatch",
            "container": "kube-rbac-proxy-main",
            "deployment": "checkout",
            "endpoint": "https-main",
            "instance": "10.2.1.7:8443",
            "job": "kube-state-metrics",
            "namespace": "shop",
            "prometheus": "monitoring/k8s",
            "service": "kube-state-metrics",
            "severity": "warning",
        }),
        json!({"summary": "Deployment has not matched the expected number of replicas."}),
        "2026-03-02T10:00:00Z",
        Some("3333333333333333"),
    );
    let cadvisor = am_firing_line(
        json!({
            "alertname": "CPUThrottlingHigh",
            "container": "search-api",
            "endpoint": "https-metrics",
            "instance": "10.30.58.40:10250",
            "job": "kubelet",
            "metrics_path": "/metrics/cadvisor",
            "namespace": "search",
            "pod": "search-api-6f7c9d-x2x9z",
            "prometheus": "monitoring/k8s",
            "service": "kubelet",
            "severity": "info",
        }),
        json!({"summary": "Processes experience elevated CPU throttling."}),
        "2026-03-02T12:00:00Z",
        Some("4444444444444444"),
    );
    // About a pod, with no container of its own: the container label is kube-state-metrics'
    // own proxy's (a ServiceMonitor target label), which names nothing that is failing.
    let not_ready = |ns: &str, pod: &str, fp: &str, at: &str| {
        am_firing_line(
            json!({
                "alertname": "KubePodNotReady",
                "container": "kube-rbac-proxy-main",
                "endpoint": "https-main",
                "instance": "10.2.1.7:8443",
                "job": "kube-state-metrics",
                "namespace": ns,
                "pod": pod,
                "prometheus": "monitoring/k8s",
                "service": "kube-state-metrics",
                "severity": "warning",
            }),
            json!({"summary": "Pod has been in a non-ready state for more than 15 minutes."}),
            at,
            Some(fp),
        )
    };
    let lines = [
        ksm,
        cadvisor,
        not_ready("shop", "cart-1", "5555555555555555", "2026-03-02T14:00:00Z"),
        not_ready(
            "search",
            "ranker-0",
            "6666666666666666",
            "2026-03-02T14:00:20Z",
        ),
    ];
    let (_dir, out) = replay_lines(&shipped_config(), &lines);
    let clusters = ndjson(&out.join("clusters.ndjson"));
    let services: Vec<String> = clusters.iter().map(|c| c["services"].to_string()).collect();
    // The deployment wins over the proxy container kube-state-metrics is scraped through;
    // two pods not ready in two namespaces are two problems, neither of them the proxy's.
    assert_eq!(
        services,
        [r#"["checkout"]"#, r#"["search-api"]"#, "[]", "[]"]
    );
}
