//! Memory per active alert: feeds N distinct firing alerts (kube-prometheus-shaped labels,
//! spread over many services so clusters stay realistic in size) and reports the growth of
//! peak RSS per alert. Not a criterion bench: run `cargo bench --bench memory [-- N]`.
//!
//! Each alert comes from one Alertmanager receiver, in a notification group per rule and
//! service (`group_by: [alertname, service]`). With the argument `group-per-alert`, in a
//! group of its own (`group_by: ['...']`), the most the link index can hold per alert; with
//! `group-by-pod` (`group_by: [pod]`), likewise, and a roster per alert too. Each group's
//! last alert comes with the group's listing, as the decoder hands over the last alert of a
//! whole notification (not for `...`, whose groups can never hold another alert), so the
//! engine keeps a roster per group.

use std::sync::Arc;

use noisegate::config::Config;
use noisegate::engine::Engine;
use noisegate::event::{
    AlertEvent, Annotations, EventKind, EventTime, Fingerprint, GroupKey, Labels, Listing,
    SenderId, Severity, Source,
};

/// Services the alerts are spread over; with five rules, also the number of groups by rule
/// and service (`i % SERVICES` fixes both).
const SERVICES: usize = 5000;

const RULES: [&str; 5] = [
    "KubePodCrashLooping",
    "KubePodNotReady",
    "TargetDown",
    "NodeFilesystemAlmostFull",
    "HighErrorRate",
];

/// Alert `i`: its rule, service, pod and labels.
fn alert(i: usize) -> (&'static str, String, String, Labels) {
    let service = format!("svc-{}", i % SERVICES);
    let pod = format!("{service}-6d9c7b8f5-{:05x}", i);
    let rule = RULES[i % RULES.len()];
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
    (rule, service, pod, labels)
}

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
    let every_label = std::env::args().any(|a| a == "group-per-alert");
    let by_pod = std::env::args().any(|a| a == "group-by-pod");
    let group_per_alert = every_label || by_pod;
    let sender = SenderId::of(
        Source::Alertmanager,
        "pagerduty",
        "http://alertmanager:9093",
    );
    let cfg = Arc::new(Config::default().engine);
    let mut e = Engine::new(cfg);
    let before = rss_kib("VmRSS:");
    for i in 0..n {
        let (rule, service, pod, labels) = alert(i);
        let group = if group_per_alert {
            GroupKey::of(&format!("{{}}:{{pod=\"{pod}\"}}"))
        } else {
            GroupKey::of(&format!(
                "{{}}:{{alertname=\"{rule}\", service=\"{service}\"}}"
            ))
        };
        let listed = if every_label {
            None
        } else if by_pod {
            Some(Listing::new(vec![labels.fingerprint()]))
        } else if i + SERVICES >= n {
            // The group's last alert: its notification lists the whole group.
            let members: Vec<Fingerprint> = (i % SERVICES..=i)
                .step_by(SERVICES)
                .map(|j| alert(j).3.fingerprint())
                .collect();
            Some(Listing::new(members))
        } else {
            None
        };
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
            listed,
        };
        e.handle_event(&ev);
        while e.poll_output().is_some() {}
    }
    let peak = rss_kib("VmHWM:");
    println!(
        "{n} active alerts in {} clusters, {} group rosters: peak RSS {:.1} MiB (baseline {:.1} MiB) = {:.0} bytes per active alert",
        e.open_clusters(),
        e.group_rosters(),
        peak as f64 / 1024.0,
        before as f64 / 1024.0,
        (peak.saturating_sub(before) as f64 * 1024.0) / n as f64
    );
    assert_eq!(e.active_alerts(), n);
}
