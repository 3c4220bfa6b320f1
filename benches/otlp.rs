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
#[path = "common/otlp_request.rs"]
mod otlp_request;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use otlp_request::request;
use prost::Message;

const RECORDS: usize = 100;

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
