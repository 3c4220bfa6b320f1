//! Memory per active alert: feeds N distinct firing alerts (kube-prometheus-shaped labels,
//! spread over many services so clusters stay realistic in size) and reports the growth of
//! peak RSS per alert. Not a criterion bench: run `cargo bench --bench memory [-- N]`.
//!
//! Each alert comes from one Alertmanager receiver, in a notification group per rule and
//! service (`group_by: [alertname, service]`); with the argument `group-per-alert`, in a
//! group of its own (`group_by: ['...']`), the most the link index can hold per alert.

use std::sync::Arc;

use noisegate::config::Config;
use noisegate::engine::Engine;
use noisegate::event::{
    AlertEvent, Annotations, EventKind, EventTime, GroupKey, Labels, SenderId, Severity, Source,
};

// The allocator the `noisegate` binary ships with, so the figure is what a deployment sees.
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn rss_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn main() {
    let n: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let group_per_alert = std::env::args().any(|a| a == "group-per-alert");
    let sender = SenderId::of(
        Source::Alertmanager,
        "pagerduty",
        "http://alertmanager:9093",
    );
    let cfg = Arc::new(Config::default().engine);
    let mut e = Engine::new(cfg);
    let rules = [
        "KubePodCrashLooping",
        "KubePodNotReady",
        "TargetDown",
        "NodeFilesystemAlmostFull",
        "HighErrorRate",
    ];
    let before = rss_kib("VmRSS:");
    for i in 0..n {
        let service = format!("svc-{}", i % 5000);
        let pod = format!("{service}-6d9c7b8f5-{:05x}", i);
        let rule = rules[i % rules.len()];
        let group = if group_per_alert {
            GroupKey::of(&format!("{{}}:{{pod=\"{pod}\"}}"))
        } else {
            GroupKey::of(&format!(
                "{{}}:{{alertname=\"{rule}\", service=\"{service}\"}}"
            ))
        };
        let labels = Labels::from_pairs([
            ("alertname", rule),
            ("severity", "warning"),
            ("service", service.as_str()),
            ("namespace", "prod"),
            ("pod", pod.as_str()),
            ("instance", "10.2.3.4:8080"),
            ("job", "kube-state-metrics"),
            ("cluster", "prod-eu1"),
        ]);
        let ev = AlertEvent {
            source: Source::Alertmanager,
            kind: EventKind::Firing,
            time: EventTime(1_700_000_000_000 + (i as i64) * 10),
            fingerprint: labels.fingerprint(),
            source_id: None,
            dedup_key: None,
            alertname: rule.into(),
            severity: Severity::Warning,
            service: Some(service.as_str().into()),
            team: Some("payments".into()),
            annotations: Annotations {
                summary: Some(format!("Pod {pod} is crash looping")),
                ..Default::default()
            },
            labels,
            actor: None,
            ends_at: None,
            sender: Some(sender),
            group: Some(group),
        };
        e.handle_event(&ev);
        while e.poll_output().is_some() {}
    }
    let peak = rss_kib("VmHWM:");
    println!(
        "{n} active alerts in {} clusters: peak RSS {:.1} MiB (baseline {:.1} MiB) = {:.0} bytes per active alert",
        e.open_clusters(),
        peak as f64 / 1024.0,
        before as f64 / 1024.0,
        (peak.saturating_sub(before) as f64 * 1024.0) / n as f64
    );
    assert_eq!(e.active_alerts(), n);
}
