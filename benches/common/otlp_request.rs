//! The OTLP logs request the benches send: shaped like the Collector's `otlp_proto` output for
//! an alerting pipeline (one resource with 8 attributes, records with 10 attributes each,
//! string bodies, trace ids on some). Included by `benches/otlp.rs` and
//! `benches/otlp_grpc_e2e.rs` with `#[path]`.
#![allow(dead_code)]

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{
    any_value::Value, AnyValue, InstrumentationScope, KeyValue,
};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::resource::v1::Resource;

pub fn kv(key: &str, v: Value) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(v) }),
        key_strindex: 0,
    }
}

pub fn s(v: impl Into<String>) -> Value {
    Value::StringValue(v.into())
}

/// `n` records; the same every time.
pub fn request(n: usize) -> ExportLogsServiceRequest {
    request_at(n, 0)
}

/// `n` records of batch `batch`: later batches are later in time and come from other
/// instances, so they are new alerts to the engine rather than repeats.
pub fn request_at(n: usize, batch: usize) -> ExportLogsServiceRequest {
    const RULES: [&str; 8] = [
        "HostHighCpuLoad",
        "KubePodCrashLooping",
        "PaymentsUpstreamTimeout",
        "KubeContainerOOMKilled",
        "HostOutOfDiskSpace",
        "TargetDown",
        "PaymentsErrorBudgetBurn",
        "KafkaConsumerLag",
    ];
    let resource = vec![
        kv("service.name", s("payments-api")),
        kv("service.namespace", s("payments")),
        kv("deployment.environment", s("prod-eu1")),
        kv("host.name", s("node-2")),
        kv("k8s.pod.name", s("payments-api-6d9c7b8f5-a1b2c")),
        kv("k8s.namespace.name", s("payments")),
        kv("telemetry.sdk.name", s("opentelemetry")),
        kv(
            "service.instance.id",
            s("dc62032e-0cfc-438e-8985-618595bdfbbb"),
        ),
    ];
    let t0: u64 = 1_795_929_852_633_567_488 + batch as u64 * 100_000_000;
    let records = (0..n)
        .map(|i| {
            let rule = RULES[i % RULES.len()];
            let firing = i % 5 != 0;
            LogRecord {
                time_unix_nano: t0 + i as u64 * 1_000_000,
                observed_time_unix_nano: t0 + i as u64 * 1_000_000 + 90_000,
                severity_number: if i % 3 == 0 { 17 } else { 13 },
                severity_text: if i % 3 == 0 { "ERROR" } else { "WARN" }.into(),
                body: Some(AnyValue {
                    value: Some(s(format!(
                        "{rule} {} on node-{}",
                        if firing { "firing" } else { "resolved" },
                        i % 12
                    ))),
                }),
                attributes: vec![
                    kv("alertname", s(rule)),
                    kv(
                        "severity",
                        s(if i % 3 == 0 { "critical" } else { "warning" }),
                    ),
                    kv(
                        "instance",
                        s(format!(
                            "10.{}.{}.{}:9100",
                            batch % 250,
                            i % 250,
                            (i * 13) % 250
                        )),
                    ),
                    kv(
                        "alert.status",
                        s(if firing { "firing" } else { "resolved" }),
                    ),
                    kv("job", s("node-exporter")),
                    kv("team", s("payments")),
                    kv("code.file.path", s("/srv/app/alerts.py")),
                    kv("code.line.number", Value::IntValue(40 + (i % 20) as i64)),
                    kv("retry.count", Value::IntValue((i % 4) as i64)),
                    kv("latency_ms", Value::DoubleValue(5012.5 + i as f64)),
                ],
                dropped_attributes_count: 0,
                flags: if i % 2 == 0 { 1 } else { 0 },
                trace_id: if i % 2 == 0 { vec![0x5b; 16] } else { vec![] },
                span_id: if i % 2 == 0 { vec![0xee; 8] } else { vec![] },
                event_name: String::new(),
            }
        })
        .collect();
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: Some(Resource {
                attributes: resource,
                dropped_attributes_count: 0,
                entity_refs: vec![],
            }),
            scope_logs: vec![ScopeLogs {
                scope: Some(InstrumentationScope {
                    name: "alert-lab".into(),
                    version: "1.0.0".into(),
                    attributes: vec![],
                    dropped_attributes_count: 0,
                }),
                log_records: records,
                schema_url: String::new(),
            }],
            schema_url: String::new(),
        }],
    }
}
