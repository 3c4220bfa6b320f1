//! Decoder throughput: Alertmanager webhook decode + fingerprint, against what a user could
//! write in a few lines (`serde_json::Value`, and owned `HashMap`-per-alert structs).
//!
//! Run: `cargo bench --bench decode`. Numbers go in BENCHMARKS.md.

use std::collections::HashMap;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use noisegate::decode::{self, Ctx, DecodeOptions, Format};
use noisegate::event::{AlertEvent, Labels};

/// One Alertmanager notification with `n` alerts of about 1 KB each (labels and annotations
/// shaped like kube-prometheus alerts).
fn notification(n: usize) -> Vec<u8> {
    let alerts: Vec<serde_json::Value> = (0..n)
        .map(|i| {
            serde_json::json!({
                "status": if i % 5 == 0 { "resolved" } else { "firing" },
                "labels": {
                    "alertname": "KubePodCrashLooping",
                    "severity": "warning",
                    "namespace": format!("team-{}", i % 7),
                    "pod": format!("payments-api-6d9c7b8f5-{:05x}", i * 7919),
                    "container": "payments-api",
                    "job": "kube-state-metrics",
                    "instance": format!("10.2.{}.{}:8080", i % 250, (i * 13) % 250),
                    "cluster": "prod-eu1",
                    "service": "payments-api",
                    "team": "payments",
                    "prometheus": "monitoring/k8s",
                },
                "annotations": {
                    "summary": "Pod is crash looping.",
                    "description": format!("Pod team-{}/payments-api-6d9c7b8f5-{:05x} (payments-api) is in waiting state (reason: \"CrashLoopBackOff\") for the last {} minutes; restarts in the last hour: {}.", i % 7, i * 7919, 15 + i % 30, i % 11),
                    "runbook_url": "https://runbooks.prometheus-operator.dev/runbooks/kubernetes/kubepodcrashlooping",
                },
                "startsAt": "2026-11-02T03:14:15.926535897Z",
                "endsAt": if i % 5 == 0 { "2026-11-02T03:44:15.926535897Z" } else { "0001-01-01T00:00:00Z" },
                "generatorURL": "http://prometheus-k8s-0:9090/graph?g0.expr=max_over_time%28kube_pod_container_status_waiting_reason%7Breason%3D%22CrashLoopBackOff%22%7D%5B5m%5D%29+%3E%3D+1&g0.tab=1",
                "fingerprint": "0000000000000000",
            })
        })
        .collect();
    serde_json::to_vec(&serde_json::json!({
        "receiver": "noisegate",
        "status": "firing",
        "alerts": alerts,
        "groupLabels": {"alertname": "KubePodCrashLooping"},
        "commonLabels": {"alertname": "KubePodCrashLooping", "severity": "warning"},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093",
        "version": "4",
        "groupKey": "{}:{alertname=\"KubePodCrashLooping\"}",
        "truncatedAlerts": 0
    }))
    .unwrap()
}

/// The owned, map-per-alert parse a user would write first.
#[derive(serde::Deserialize)]
#[allow(dead_code)]
struct OwnedAlert {
    status: String,
    labels: HashMap<String, String>,
    annotations: HashMap<String, String>,
    #[serde(rename = "startsAt")]
    starts_at: String,
    #[serde(rename = "endsAt")]
    ends_at: String,
    fingerprint: String,
}

#[derive(serde::Deserialize)]
struct OwnedNotification {
    alerts: Vec<OwnedAlert>,
}

fn bench_alertmanager(c: &mut Criterion) {
    let n = 20;
    let body = notification(n);
    let per_alert = body.len() / n;
    let opts = DecodeOptions::default();
    let ctx = Ctx {
        opts: &opts,
        received_at: None,
    };
    let mut g = c.benchmark_group(format!("alertmanager_{n}x{per_alert}B"));
    g.throughput(Throughput::Elements(n as u64));
    let mut out: Vec<AlertEvent> = Vec::with_capacity(n);
    g.bench_function(BenchmarkId::new("noisegate_decode_fingerprint", n), |b| {
        b.iter(|| {
            out.clear();
            decode::decode(Format::Alertmanager, &body, &ctx, &mut out).unwrap();
            std::hint::black_box(&out);
        })
    });
    g.bench_function(BenchmarkId::new("noisegate_sniff_decode", n), |b| {
        b.iter(|| {
            out.clear();
            decode::decode_auto(&body, &ctx, &mut out).unwrap();
            std::hint::black_box(&out);
        })
    });
    g.bench_function(BenchmarkId::new("baseline_serde_json_value", n), |b| {
        b.iter(|| {
            let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
            std::hint::black_box(v);
        })
    });
    g.bench_function(BenchmarkId::new("owned_hashmap_fingerprint", n), |b| {
        b.iter(|| {
            let v: OwnedNotification = serde_json::from_slice(&body).unwrap();
            let mut fps = 0u64;
            for a in &v.alerts {
                fps ^= Labels::from_pairs(a.labels.iter().map(|(k, v)| (k.as_str(), v.as_str())))
                    .fingerprint()
                    .0;
            }
            std::hint::black_box(fps);
        })
    });
    g.finish();
}

criterion_group!(benches, bench_alertmanager);
criterion_main!(benches);
