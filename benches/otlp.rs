//! OTLP logs decoder throughput (records/s): `decode_proto` (zero-copy walker + mapping to
//! events) against plain prost decoding of the same bytes, and `decode_json` against
//! parsing the same OTLP/JSON into a `serde_json::Value`.
//!
//! The request is shaped like the Collector's Kafka `otlp_proto` output for an alerting
//! pipeline: one resource with 8 attributes (k8s and SDK ones), 100 records per request with
//! 10 attributes each (alert name, severity, status, instance, code location, a few typed
//! values), string bodies, trace ids on some records.
//!
//! Run: `cargo bench --bench otlp -- --warm-up-time 1 --measurement-time 3`.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use noisegate::decode::{otlp, Ctx, DecodeOptions};
use noisegate::event::AlertEvent;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{
    any_value::Value, AnyValue, InstrumentationScope, KeyValue,
};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::resource::v1::Resource;
use prost::Message;

const RECORDS: usize = 100;

fn kv(key: &str, v: Value) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(v) }),
        key_strindex: 0,
    }
}

fn s(v: impl Into<String>) -> Value {
    Value::StringValue(v.into())
}

fn request(n: usize) -> ExportLogsServiceRequest {
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
    let t0: u64 = 1_795_929_852_633_567_488;
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
                        s(format!("10.2.{}.{}:9100", i % 250, (i * 13) % 250)),
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

fn bench_otlp(c: &mut Criterion) {
    let req = request(RECORDS);
    let pb = req.encode_to_vec();
    let json = serde_json::to_vec(&req).unwrap();
    let opts = DecodeOptions::default();
    let ctx = Ctx {
        opts: &opts,
        received_at: None,
    };
    let mut out: Vec<AlertEvent> = Vec::with_capacity(RECORDS);
    // Sanity: every record is an alert.
    assert_eq!(
        otlp::decode_proto(&pb, &ctx, &mut out).unwrap().events,
        RECORDS
    );
    out.clear();
    assert_eq!(
        otlp::decode_json(&json, &ctx, &mut out).unwrap().events,
        RECORDS
    );

    let mut g = c.benchmark_group(format!(
        "otlp_{RECORDS}rec_pb{}B_json{}B",
        pb.len(),
        json.len()
    ));
    g.throughput(Throughput::Elements(RECORDS as u64));
    g.bench_function(BenchmarkId::new("a_noisegate_decode_proto", RECORDS), |b| {
        b.iter(|| {
            out.clear();
            otlp::decode_proto(std::hint::black_box(&pb), &ctx, &mut out).unwrap();
            std::hint::black_box(&out);
        })
    });
    g.bench_function(BenchmarkId::new("b_baseline_prost_decode", RECORDS), |b| {
        b.iter(|| {
            let r = ExportLogsServiceRequest::decode(std::hint::black_box(&pb[..])).unwrap();
            std::hint::black_box(r);
        })
    });
    g.bench_function(BenchmarkId::new("c_noisegate_decode_json", RECORDS), |b| {
        b.iter(|| {
            out.clear();
            otlp::decode_json(std::hint::black_box(&json), &ctx, &mut out).unwrap();
            std::hint::black_box(&out);
        })
    });
    g.bench_function(
        BenchmarkId::new("d_baseline_serde_json_value", RECORDS),
        |b| {
            b.iter(|| {
                let v: serde_json::Value =
                    serde_json::from_slice(std::hint::black_box(&json)).unwrap();
                std::hint::black_box(v);
            })
        },
    );
    g.finish();
}

criterion_group!(benches, bench_otlp);
criterion_main!(benches);
