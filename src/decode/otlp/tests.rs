use std::io::Read;

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{
    any_value::Value, AnyValue, ArrayValue, EntityRef, InstrumentationScope, KeyValue, KeyValueList,
};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::resource::v1::Resource;
use proptest::prelude::*;
use prost::Message;

use super::*;
use crate::decode::DecodeOptions;
use crate::event::{Annotations, DedupKey, EventKind, EventTime, Labels, Severity, Source};

const CAPTURE: &str = "opentelemetry-python-sdk-1.45.2-otlp-capture";
/// 2024-05-01T12:00:00Z
const T0: u64 = 1_714_564_800_000_000_000;

fn fixture(rel: &str) -> Vec<u8> {
    let p = format!("{}/../shared/fixtures/{rel}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&p).unwrap_or_else(|e| panic!("{p}: {e}"))
}

/// An event already in the output vector, which a failed decode must leave alone.
fn sentinel() -> Vec<AlertEvent> {
    vec![AlertEvent {
        source: Source::Otlp,
        kind: EventKind::Firing,
        time: EventTime(0),
        fingerprint: Labels::new().fingerprint(),
        source_id: None,
        dedup_key: None,
        alertname: "S".into(),
        labels: Labels::new(),
        annotations: Annotations::default(),
        severity: Severity::Info,
        service: None,
        team: None,
        actor: None,
        ends_at: None,
        sender: None,
        group: None,
        listed: None,
    }]
}

fn ctx(opts: &DecodeOptions) -> Ctx<'_> {
    Ctx {
        opts,
        received_at: None,
    }
}

fn proto(bytes: &[u8], ctx: &Ctx<'_>) -> (Result<Decoded, DecodeError>, Vec<AlertEvent>) {
    let mut out = Vec::new();
    let r = decode_proto(bytes, ctx, &mut out);
    (r, out)
}

fn json(bytes: &[u8], ctx: &Ctx<'_>) -> (Result<Decoded, DecodeError>, Vec<AlertEvent>) {
    let mut out = Vec::new();
    let r = decode_json(bytes, ctx, &mut out);
    (r, out)
}

/// The walker against prost + mapping, on any bytes: a message is valid for one iff for the
/// other, and then the events are the same; a mapping error stands only on valid bytes.
fn check_walker(bytes: &[u8], ctx: &Ctx<'_>) -> Result<(), TestCaseError> {
    let mut want = Vec::new();
    let want_r = reference::decode(bytes, ctx, &mut want);
    let mut got = Vec::new();
    match wire::decode(bytes, ctx, &mut got) {
        Ok(d) => {
            prop_assert_eq!(Ok(d), want_r);
            prop_assert_eq!(got, want);
        }
        Err(wire::WalkError::Malformed) => {
            prop_assert!(
                ExportLogsServiceRequest::decode(bytes).is_err(),
                "walker refused bytes prost accepts"
            );
        }
        Err(wire::WalkError::Map(e)) => {
            if ExportLogsServiceRequest::decode(bytes).is_ok() {
                prop_assert_eq!(Err::<Decoded, _>(e), want_r);
            }
        }
    }
    // And the public entry point: same result, nothing left behind on error.
    let sentinel = sentinel();
    let mut out = sentinel.clone();
    let r = decode_proto(bytes, ctx, &mut out);
    let want_r2 = reference::decode(bytes, ctx, &mut Vec::new());
    prop_assert_eq!(&r, &want_r2);
    if r.is_err() {
        prop_assert_eq!(out, sentinel);
    }
    Ok(())
}

/// Decodes a request three ways (walker, prost reference, OTLP/JSON as the opentelemetry-proto
/// serde writes it), asserts they agree, and returns the result.
fn decode_all(
    req: &ExportLogsServiceRequest,
    ctx: &Ctx<'_>,
) -> (Result<Decoded, DecodeError>, Vec<AlertEvent>) {
    let bytes = req.encode_to_vec();
    if let Err(e) = check_walker(&bytes, ctx) {
        panic!("walker disagrees with prost: {e}");
    }
    let (r, events) = proto(&bytes, ctx);
    let text = serde_json::to_vec(req).expect("serialize OTLP/JSON");
    let (jr, jevents) = json(&text, ctx);
    assert_eq!(
        jr,
        r,
        "JSON result differs for {}",
        String::from_utf8_lossy(&text)
    );
    assert_eq!(jevents, events, "JSON events differ");
    (r, events)
}

fn one(req: &ExportLogsServiceRequest, opts: &DecodeOptions) -> AlertEvent {
    let (r, mut events) = decode_all(req, &ctx(opts));
    assert_eq!(
        r,
        Ok(Decoded {
            events: 1,
            ignored: 0,
            truncated: 0,
            changes: 0
        })
    );
    events.remove(0)
}

fn av(v: Value) -> Option<AnyValue> {
    Some(AnyValue { value: Some(v) })
}

fn s(v: &str) -> Option<AnyValue> {
    av(Value::StringValue(v.into()))
}

fn kv(k: &str, value: Option<AnyValue>) -> KeyValue {
    KeyValue {
        key: k.into(),
        value,
        key_strindex: 0,
    }
}

fn kvs(pairs: &[(&str, &str)]) -> Vec<KeyValue> {
    pairs.iter().map(|(k, v)| kv(k, s(v))).collect()
}

fn record(attrs: Vec<KeyValue>) -> LogRecord {
    LogRecord {
        time_unix_nano: T0,
        attributes: attrs,
        ..Default::default()
    }
}

fn request(resource: Vec<KeyValue>, records: Vec<LogRecord>) -> ExportLogsServiceRequest {
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: Some(Resource {
                attributes: resource,
                ..Default::default()
            }),
            scope_logs: vec![ScopeLogs {
                log_records: records,
                ..Default::default()
            }],
            schema_url: String::new(),
        }],
    }
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .expect("gunzip");
    out
}

/// Strips a gRPC length-prefixed frame (flag byte + 4-byte big-endian length) if present.
fn strip_grpc_frame(bytes: &[u8]) -> (&[u8], bool) {
    if let [0, a, b, c, d, rest @ ..] = bytes {
        if u32::from_be_bytes([*a, *b, *c, *d]) as usize == rest.len() {
            return (rest, true);
        }
    }
    (bytes, false)
}

/// What a user checks about the six records the Python SDK capture holds.
fn check_python_capture(r: Result<Decoded, DecodeError>, events: &[AlertEvent]) {
    assert_eq!(
        r,
        Ok(Decoded {
            events: 4,
            ignored: 2,
            truncated: 0,
            changes: 0
        }),
        "health check and exception are not alerts"
    );
    let names: Vec<&str> = events.iter().map(|e| e.alertname.as_str()).collect();
    assert_eq!(
        names,
        [
            "HostHighCpuLoad",
            "PaymentsUpstreamTimeout",
            "KubeContainerOOMKilled",
            "HostHighCpuLoad"
        ]
    );
    let kinds: Vec<EventKind> = events.iter().map(|e| e.kind.clone()).collect();
    assert_eq!(
        kinds,
        [
            EventKind::Firing,
            EventKind::Firing,
            EventKind::Firing,
            EventKind::Resolved
        ]
    );
    // severityNumber wins: 13 → warning, 17 → error (although its `severity` attribute says
    // critical), 21 → critical.
    let sev: Vec<Severity> = events.iter().map(|e| e.severity).collect();
    assert_eq!(
        sev,
        [
            Severity::Warning,
            Severity::Error,
            Severity::Critical,
            Severity::Warning
        ]
    );
    for e in events {
        assert_eq!(e.source, Source::Otlp);
        assert_eq!(e.service.as_deref(), Some("payments-api"));
        assert_eq!(e.team, None);
        assert_eq!(e.labels.get("alertname"), Some(e.alertname.as_str()));
        assert_eq!(e.labels.get("service.name"), Some("payments-api"));
        assert_eq!(e.labels.get("deployment.environment"), Some("prod-eu1"));
        assert_eq!(
            e.labels.get("k8s.pod.name"),
            Some("payments-api-6d9c7b8f5-a1b2c")
        );
        for denied in [
            "telemetry.sdk.name",
            "telemetry.sdk.language",
            "telemetry.sdk.version",
            "service.instance.id",
            "code.file.path",
            "code.function.name",
            "code.line.number",
            "alert.status",
        ] {
            assert_eq!(e.labels.get(denied), None, "{denied} must not be a label");
        }
        assert_eq!(e.fingerprint, e.labels.fingerprint());
        assert_eq!(e.actor, None);
        assert_eq!(e.source_id, None);
        assert_eq!(e.dedup_key, None);
        assert!(e.time.as_millis() > 1_790_000_000_000, "{}", e.time);
    }
    let cpu = &events[0];
    assert_eq!(cpu.labels.get("instance"), Some("node-2:9100"));
    assert_eq!(cpu.labels.get("severity"), Some("warning"));
    assert_eq!(
        cpu.annotations.summary.as_deref(),
        Some("HostHighCpuLoad firing")
    );
    assert_eq!(
        events[3].annotations.summary.as_deref(),
        Some("HostHighCpuLoad resolved")
    );
    // Firing and resolved are the same alert instance.
    assert_eq!(events[0].fingerprint, events[3].fingerprint);
    assert_eq!(events[0].labels, events[3].labels);
    assert!(events[0].time <= events[3].time);
    let timeout = &events[1];
    assert_eq!(timeout.labels.get("severity"), Some("critical"));
    assert_eq!(timeout.labels.get("retry.count"), Some("3"));
    assert_eq!(timeout.labels.get("latency_ms"), Some("5012.5"));
    assert_eq!(timeout.labels.get("idempotent"), Some("true"));
    let oom = &events[2];
    assert_eq!(oom.labels.get("k8s.container.name"), Some("api"));
    assert_eq!(oom.labels.get("k8s.namespace.name"), Some("payments"));
}

#[test]
fn python_sdk_http_protobuf_capture() {
    let opts = DecodeOptions::default();
    let bytes = fixture(&format!("{CAPTURE}/otlp_http_protobuf_logs.pb"));
    let (r, events) = proto(&bytes, &ctx(&opts));
    check_python_capture(r, &events);
    // The first record's own timeUnixNano, in milliseconds.
    let req = ExportLogsServiceRequest::decode(&bytes[..]).unwrap();
    let t = req.resource_logs[0].scope_logs[0].log_records[1].time_unix_nano;
    assert_eq!(events[0].time, EventTime::from_unix_nanos(t));
    check_walker(&bytes, &ctx(&opts)).unwrap();
}

#[test]
fn python_sdk_gzip_and_grpc_captures_match_http() {
    let opts = DecodeOptions::default();
    let (_, http) = proto(
        &fixture(&format!("{CAPTURE}/otlp_http_protobuf_logs.pb")),
        &ctx(&opts),
    );

    let gz = gunzip(&fixture(&format!(
        "{CAPTURE}/otlp_http_protobuf_gzip_logs.pb.gz"
    )));
    let grpc_file = fixture(&format!("{CAPTURE}/otlp_grpc_ExportLogsServiceRequest.pb"));
    let (grpc, framed) = strip_grpc_frame(&grpc_file);
    // SOURCES.md says the gRPC capture is the bare message; make sure (a framed one would
    // start with a 0 flag byte, which no protobuf message can).
    assert!(!framed, "gRPC capture unexpectedly carries a frame prefix");
    for bytes in [&gz[..], grpc] {
        let (r, events) = proto(bytes, &ctx(&opts));
        check_python_capture(r, &events);
        check_walker(bytes, &ctx(&opts)).unwrap();
        // Other runs, other timestamps and instance ids: the same alerts all the same.
        for (a, b) in events.iter().zip(&http) {
            assert_eq!(a.fingerprint, b.fingerprint, "{}", a.alertname);
            assert_eq!(a.labels, b.labels);
            assert_eq!((&a.kind, a.severity), (&b.kind, b.severity));
        }
    }
}

#[test]
fn python_sdk_json_capture_matches_protobuf() {
    let opts = DecodeOptions::default();
    let (_, pb) = proto(
        &fixture(&format!("{CAPTURE}/otlp_http_protobuf_logs.pb")),
        &ctx(&opts),
    );
    let bytes = fixture(&format!("{CAPTURE}/otlp_http_json_logs.json"));
    let (r, events) = json(&bytes, &ctx(&opts));
    check_python_capture(r, &events);
    // Same alerts, same fingerprints, although the JSON run's `code.file.path` and
    // `service.instance.id` differ (both denied by the default filter).
    for (a, b) in events.iter().zip(&pb) {
        assert_eq!(a.fingerprint, b.fingerprint, "{}", a.alertname);
        assert_eq!(a.labels, b.labels);
        assert_eq!((&a.kind, a.severity), (&b.kind, b.severity));
        assert_eq!(a.annotations, b.annotations);
    }
    assert_eq!(events[0].time.to_rfc3339(), "2026-11-29T05:24:12.633Z");
}

#[test]
fn official_logs_example_is_not_an_alert_until_configured() {
    let bytes = fixture("opentelemetry-proto/logs.json");
    let opts = DecodeOptions::default();
    assert_eq!(
        json(&bytes, &ctx(&opts)),
        (
            Ok(Decoded {
                events: 0,
                ignored: 1,
                truncated: 0,
                changes: 0
            }),
            vec![]
        )
    );

    // Name a rule attribute and every AnyValue kind shows up as label text.
    let mut opts = DecodeOptions::default();
    opts.otlp.alertname_attributes = vec!["string.attribute".into()];
    let (r, events) = json(&bytes, &ctx(&opts));
    assert_eq!(
        r,
        Ok(Decoded {
            events: 1,
            ignored: 0,
            truncated: 0,
            changes: 0
        })
    );
    let e = &events[0];
    assert_eq!(e.alertname, "some string");
    let l = &e.labels;
    assert_eq!(l.get("boolean.attribute"), Some("true"));
    assert_eq!(l.get("int.attribute"), Some("10"));
    assert_eq!(l.get("double.attribute"), Some("637.704"));
    assert_eq!(l.get("array.attribute"), Some(r#"["many","values"]"#));
    assert_eq!(
        l.get("map.attribute"),
        Some(r#"{"some.map.key":"some value"}"#)
    );
    assert_eq!(l.get("service.name"), Some("my.service"));
    assert_eq!(
        l.get("my.scope.attribute"),
        None,
        "scope attributes are not labels"
    );
    assert_eq!(e.service.as_deref(), Some("my.service"));
    assert_eq!(e.severity, Severity::Info, "severityNumber 10");
    assert_eq!(e.time.to_rfc3339(), "2018-12-13T14:51:00.300Z");
    assert_eq!(e.annotations.summary.as_deref(), Some("Example log record"));
}

#[test]
fn official_events_example_uses_event_name() {
    let opts = DecodeOptions::default();
    let (r, events) = json(&fixture("opentelemetry-proto/events.json"), &ctx(&opts));
    assert_eq!(
        r,
        Ok(Decoded {
            events: 1,
            ignored: 0,
            truncated: 0,
            changes: 0
        })
    );
    let e = &events[0];
    assert_eq!(e.alertname, "browser.page_view");
    assert_eq!(e.labels.get("alertname"), Some("browser.page_view"));
    assert_eq!(
        e.labels.get("event.attribute"),
        Some("some event attribute")
    );
    assert_eq!(e.severity, Severity::Info);
    // The body is a kvlist, not a string: no summary.
    assert_eq!(e.annotations.summary, None);
}

#[test]
fn other_otlp_signals_are_refused() {
    let opts = DecodeOptions::default();
    for (file, kind) in [("metrics.json", "metrics"), ("trace.json", "traces")] {
        let (r, _) = json(
            &fixture(&format!("opentelemetry-proto/{file}")),
            &ctx(&opts),
        );
        match r {
            Err(DecodeError::Unsupported {
                format: Format::OtlpJson,
                detail,
            }) => {
                assert!(detail.contains(kind), "{detail}")
            }
            other => panic!("{file}: {other:?}"),
        }
    }
}

#[test]
fn status_synonyms_case_and_unknown() {
    let opts = DecodeOptions::default();
    let cases = [
        ("FIRING", EventKind::Firing),
        ("Alerting", EventKind::Firing),
        ("problem", EventKind::Firing),
        ("Resolved", EventKind::Resolved),
        ("OK", EventKind::Resolved),
        ("recovered", EventKind::Resolved),
        ("ack", EventKind::Acknowledged),
        ("Acknowledged", EventKind::Acknowledged),
        ("", EventKind::Firing),
    ];
    let mut fps = Vec::new();
    for (status, kind) in cases {
        let e = one(
            &request(
                vec![],
                vec![record(kvs(&[("alertname", "A"), ("status", status)]))],
            ),
            &opts,
        );
        assert_eq!(e.kind, kind, "{status}");
        assert_eq!(e.labels.get("status"), None);
        fps.push(e.fingerprint);
    }
    let absent = one(
        &request(vec![], vec![record(kvs(&[("alertname", "A")]))]),
        &opts,
    );
    assert_eq!(absent.kind, EventKind::Firing);
    assert!(
        fps.iter().all(|f| *f == absent.fingerprint),
        "status must not change the fingerprint"
    );

    // `alert.status` is tried before `status`.
    let e = one(
        &request(
            vec![],
            vec![record(kvs(&[
                ("alertname", "A"),
                ("status", "firing"),
                ("alert.status", "resolved"),
            ]))],
        ),
        &opts,
    );
    assert_eq!(e.kind, EventKind::Resolved);

    // Unknown: the whole message is refused, naming the attribute and the value.
    let req = request(
        vec![],
        vec![
            record(kvs(&[("alertname", "A")])),
            record(kvs(&[("alertname", "B"), ("alert.status", "Paused")])),
        ],
    );
    let (r, events) = decode_all(&req, &ctx(&opts));
    assert!(events.is_empty());
    match r {
        Err(DecodeError::InvalidValue { field, detail }) => {
            assert_eq!(
                field,
                "resourceLogs[0].scopeLogs[0].logRecords[1].attributes[alert.status]"
            );
            assert!(detail.contains("\"Paused\""), "{detail}");
        }
        other => panic!("{other:?}"),
    }
    // ...but not when the record is not an alert at all.
    let req = request(vec![], vec![record(kvs(&[("alert.status", "Paused")]))]);
    assert_eq!(
        decode_all(&req, &ctx(&opts)).0,
        Ok(Decoded {
            events: 0,
            ignored: 1,
            truncated: 0,
            changes: 0
        })
    );
}

#[test]
fn unknown_status_in_json_capture_is_refused() {
    let text = String::from_utf8(fixture(&format!("{CAPTURE}/otlp_http_json_logs.json"))).unwrap();
    let text = text.replacen("\"resolved\"", "\"snoozed\"", 1);
    let opts = DecodeOptions::default();
    let mut out = sentinel();
    let before = out.clone();
    let r = decode_json(text.as_bytes(), &ctx(&opts), &mut out);
    assert!(
        matches!(&r, Err(DecodeError::InvalidValue { field, detail })
            if field.ends_with("logRecords[5].attributes[alert.status]") && detail.contains("snoozed")),
        "{r:?}"
    );
    assert_eq!(out, before, "nothing appended on error");
}

#[test]
fn rule_name_lookup_order() {
    let opts = DecodeOptions::default();
    // `alertname` before `event.name` within the record.
    let e = one(
        &request(
            vec![],
            vec![record(kvs(&[("event.name", "E"), ("alertname", "A")]))],
        ),
        &opts,
    );
    assert_eq!(e.alertname, "A");
    assert_eq!(e.labels.get("event.name"), Some("E"));
    // The record before the resource, whatever the name order.
    let e = one(
        &request(
            kvs(&[("alertname", "R")]),
            vec![record(kvs(&[("event.name", "E")]))],
        ),
        &opts,
    );
    assert_eq!(e.alertname, "E");
    assert_eq!(
        e.labels.get("alertname"),
        Some("E"),
        "the rule name overrides the label"
    );
    // The resource names the rule of records that do not.
    let e = one(
        &request(kvs(&[("alertname", "R")]), vec![record(vec![])]),
        &opts,
    );
    assert_eq!(e.alertname, "R");
    // LogRecord.event_name is the last resort; an empty alertname counts as absent.
    let mut r = record(kvs(&[("alertname", "")]));
    r.event_name = "ev".into();
    let e = one(&request(vec![], vec![r]), &opts);
    assert_eq!(e.alertname, "ev");
    // A non-string rule name is rendered.
    let e = one(
        &request(
            vec![],
            vec![record(vec![kv("alertname", av(Value::IntValue(42)))])],
        ),
        &opts,
    );
    assert_eq!(e.alertname, "42");
    // No rule name: ignored, not an error.
    let req = request(
        kvs(&[("service.name", "x")]),
        vec![
            record(kvs(&[("msg", "hello")])),
            record(kvs(&[("alertname", "A")])),
            record(vec![]),
        ],
    );
    assert_eq!(
        decode_all(&req, &ctx(&opts)).0,
        Ok(Decoded {
            events: 1,
            ignored: 2,
            truncated: 0,
            changes: 0
        })
    );
}

#[test]
fn labels_merge_filter_and_exclusions() {
    let opts = DecodeOptions::default();
    let e = one(
        &request(
            kvs(&[
                ("env", "prod"),
                ("host.name", "h1"),
                ("telemetry.sdk.name", "otel"),
                ("process.pid", "7"),
            ]),
            vec![record(kvs(&[
                ("alertname", "A"),
                ("host.name", "h2"),
                ("summary", "s"),
                ("description", "d"),
                ("runbook_url", "u"),
                ("log.file.name", "x"),
                ("exception.stacktrace", "trace"),
                ("exception.type", "E"),
                ("team", "core"),
                ("service", "svc"),
            ]))],
        ),
        &opts,
    );
    let names: Vec<&str> = e.labels.iter().map(|(k, _)| k).collect();
    assert_eq!(
        names,
        [
            "alertname",
            "env",
            "exception.type",
            "host.name",
            "service",
            "team"
        ]
    );
    assert_eq!(
        e.labels.get("host.name"),
        Some("h2"),
        "record wins over resource"
    );
    assert_eq!(
        e.service.as_deref(),
        Some("svc"),
        "`service` before `service.name`"
    );
    assert_eq!(e.team.as_deref(), Some("core"));

    // An allow list, and a repeated key (the last one wins).
    let mut opts = DecodeOptions::default();
    opts.otlp.labels.allow = vec!["k8s.*".into()];
    let e = one(
        &request(
            kvs(&[("k8s.pod.name", "p"), ("service.name", "s")]),
            vec![record(kvs(&[
                ("alertname", "A"),
                ("k8s.node", "n1"),
                ("k8s.node", "n2"),
            ]))],
        ),
        &opts,
    );
    let pairs: Vec<(&str, &str)> = e.labels.iter().collect();
    assert_eq!(
        pairs,
        [
            ("alertname", "A"),
            ("k8s.node", "n2"),
            ("k8s.pod.name", "p")
        ]
    );
    assert_eq!(e.service, None, "service.name was filtered out");
}

#[test]
fn annotations_source_id_and_dedup_key() {
    let opts = DecodeOptions::default();
    let mut r = record(kvs(&[
        ("alertname", "A"),
        ("summary", "from attribute"),
        ("description", "long text"),
        ("runbook", "plain"),
        ("runbook_url", "https://runbooks/a"),
        ("fingerprint", "f2"),
        ("alert.fingerprint", "f1"),
        ("dedup_key", "dk-1"),
    ]));
    r.body = s("from body");
    let e = one(&request(vec![], vec![r]), &opts);
    assert_eq!(e.annotations.summary.as_deref(), Some("from attribute"));
    assert_eq!(e.annotations.description.as_deref(), Some("long text"));
    assert_eq!(e.annotations.runbook.as_deref(), Some("https://runbooks/a"));
    assert_eq!(e.source_id.as_deref(), Some("f1"));
    assert_eq!(e.dedup_key, Some(DedupKey("dk-1".into())));
    // Ids are kept as labels too (they do not flip between firing and resolved).
    assert_eq!(e.labels.get("dedup_key"), Some("dk-1"));

    // Resource-level fallbacks; a non-string body is no summary.
    let mut r = record(kvs(&[("alertname", "A"), ("runbook", "rec")]));
    r.body = av(Value::IntValue(5));
    let e = one(
        &request(
            kvs(&[
                ("runbook_url", "res"),
                ("fingerprint", "rf"),
                ("description", "rd"),
            ]),
            vec![r],
        ),
        &opts,
    );
    assert_eq!(
        e.annotations.runbook.as_deref(),
        Some("rec"),
        "the record before the resource"
    );
    assert_eq!(e.annotations.description.as_deref(), Some("rd"));
    assert_eq!(e.annotations.summary, None);
    assert_eq!(e.source_id.as_deref(), Some("rf"));
}

#[test]
fn severity_fallbacks() {
    let opts = DecodeOptions::default();
    let sev = |number: i32, text: &str, label: Option<&str>| {
        let mut attrs = kvs(&[("alertname", "A")]);
        if let Some(l) = label {
            attrs.push(kv("severity", s(l)));
        }
        let mut r = record(attrs);
        r.severity_number = number;
        r.severity_text = text.into();
        one(&request(vec![], vec![r]), &opts).severity
    };
    assert_eq!(
        sev(21, "info", Some("info")),
        Severity::Critical,
        "number first"
    );
    assert_eq!(
        sev(0, "ERROR", Some("info")),
        Severity::Error,
        "then the text"
    );
    assert_eq!(
        sev(99, "", Some("P1")),
        Severity::Critical,
        "then the severity label"
    );
    assert_eq!(
        sev(0, "whatever", Some("bogus")),
        opts.default_severity,
        "then the default"
    );
    assert_eq!(sev(0, "", None), opts.default_severity);
}

#[test]
fn event_time_fallbacks() {
    let opts = DecodeOptions::default();
    let mut r = record(kvs(&[("alertname", "A")]));
    r.time_unix_nano = 0;
    r.observed_time_unix_nano = T0 + 5_000_000;
    assert_eq!(
        one(&request(vec![], vec![r.clone()]), &opts)
            .time
            .as_millis(),
        1_714_564_800_005
    );

    r.observed_time_unix_nano = 0;
    let req = request(vec![], vec![r]);
    let late = Ctx {
        opts: &opts,
        received_at: Some(EventTime::from_millis(42)),
    };
    let (res, events) = decode_all(&req, &late);
    assert_eq!(
        res,
        Ok(Decoded {
            events: 1,
            ignored: 0,
            truncated: 0,
            changes: 0
        })
    );
    assert_eq!(events[0].time, EventTime::from_millis(42));

    let (res, events) = decode_all(&req, &ctx(&opts));
    assert_eq!(
        res,
        Err(DecodeError::missing(
            "resourceLogs[0].scopeLogs[0].logRecords[0].timeUnixNano"
        ))
    );
    assert!(events.is_empty());
}

#[test]
fn attribute_values_as_label_text() {
    let opts = DecodeOptions::default();
    let arr = |vals: Vec<Option<AnyValue>>| {
        av(Value::ArrayValue(ArrayValue {
            values: vals.into_iter().map(|v| v.unwrap_or_default()).collect(),
        }))
    };
    let e = one(
        &request(
            vec![],
            vec![record(vec![
                kv("alertname", s("A")),
                kv("neg", av(Value::IntValue(-7))),
                kv("big", av(Value::IntValue(i64::MAX))),
                kv("d1", av(Value::DoubleValue(3.0))),
                kv("d2", av(Value::DoubleValue(-0.25))),
                kv("d3", av(Value::DoubleValue(1e21))),
                kv("d4", av(Value::DoubleValue(1e-7))),
                kv("f", av(Value::BoolValue(false))),
                kv("bytes", av(Value::BytesValue(vec![0xde, 0xad, 0x0b]))),
                kv("empty", s("")),
                kv("none", None),
                kv("unset", Some(AnyValue { value: None })),
                kv(
                    "nested",
                    arr(vec![
                        s("q\"\\\n\u{1}"),
                        av(Value::IntValue(1)),
                        av(Value::DoubleValue(2.5)),
                        av(Value::BytesValue(vec![1])),
                        None,
                        arr(vec![]),
                        av(Value::KvlistValue(KeyValueList {
                            values: vec![kv("k", av(Value::BoolValue(true))), kv("n", None)],
                        })),
                    ]),
                ),
            ])],
        ),
        &opts,
    );
    let l = &e.labels;
    assert_eq!(l.get("neg"), Some("-7"));
    assert_eq!(l.get("big"), Some("9223372036854775807"));
    assert_eq!(l.get("d1"), Some("3"));
    assert_eq!(l.get("d2"), Some("-0.25"));
    assert_eq!(l.get("d3"), Some("1000000000000000000000"));
    assert_eq!(l.get("d4"), Some("0.0000001"));
    assert_eq!(l.get("f"), Some("false"));
    assert_eq!(l.get("bytes"), Some("dead0b"));
    assert_eq!(l.get("empty"), Some(""));
    assert_eq!(l.get("none"), None);
    assert_eq!(l.get("unset"), None);
    assert_eq!(
        l.get("nested"),
        Some(r#"["q\"\\\n\u0001",1,2.5,"01",null,[],{"k":true,"n":null}]"#)
    );
}

#[test]
fn non_finite_doubles() {
    // serde_json cannot write NaN, so these go through protobuf and hand-written JSON.
    let opts = DecodeOptions::default();
    let req = request(
        vec![],
        vec![record(vec![
            kv("alertname", s("A")),
            kv("nan", av(Value::DoubleValue(f64::NAN))),
            kv("ninf", av(Value::DoubleValue(f64::NEG_INFINITY))),
            kv(
                "arr",
                av(Value::ArrayValue(ArrayValue {
                    values: vec![AnyValue {
                        value: Some(Value::DoubleValue(f64::INFINITY)),
                    }],
                })),
            ),
        ])],
    );
    let bytes = req.encode_to_vec();
    check_walker(&bytes, &ctx(&opts)).unwrap();
    let (_, events) = proto(&bytes, &ctx(&opts));
    assert_eq!(events[0].labels.get("nan"), Some("NaN"));
    assert_eq!(events[0].labels.get("ninf"), Some("-Inf"));
    assert_eq!(events[0].labels.get("arr"), Some(r#"["+Inf"]"#));
    let text = br#"{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"timeUnixNano":"1","attributes":[
        {"key":"alertname","value":{"stringValue":"A"}},
        {"key":"nan","value":{"doubleValue":"NaN"}},
        {"key":"ninf","value":{"doubleValue":"-Infinity"}},
        {"key":"arr","value":{"arrayValue":{"values":[{"doubleValue":"Infinity"}]}}}]}]}]}]}"#;
    let (_, jevents) = json(text, &ctx(&opts));
    assert_eq!(jevents[0].labels, events[0].labels);
}

/// serde_json's default float parser can be one ulp off; label text (and so the fingerprint)
/// must not depend on whether the alert came as JSON or protobuf. Found by
/// `prop_json_equals_prost_reference`.
#[test]
fn json_doubles_are_read_exactly() {
    let opts = DecodeOptions::default();
    for d in [
        9.693821956144608e-216,
        5012.5,
        0.1 + 0.2,
        1.7976931348623157e308,
        5e-324,
    ] {
        let req = request(
            vec![],
            vec![record(vec![kv("alertname", av(Value::DoubleValue(d)))])],
        );
        let e = one(&req, &opts);
        assert_eq!(e.alertname.parse::<f64>().ok(), Some(d));
    }
}

#[test]
fn json_accepts_proto_names_numbers_and_nulls() {
    let opts = DecodeOptions::default();
    let camel = br#"{"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"svc"}}]},
        "scopeLogs":[{"scope":{"name":"x"},"logRecords":[{"timeUnixNano":"1714564800000000000","severityNumber":17,
        "traceId":"5B8EFFF798038103D269B633813FC60C","spanId":"zz-not-hex","flags":1,
        "attributes":[{"key":"alertname","value":{"stringValue":"A"}},{"key":"n","value":{"intValue":"12"}},
        {"key":"b","value":{"bytesValue":"3q0L"}}]}]}]}]}"#;
    let snake = br#"{"resource_logs":[{"resource":{"attributes":[{"key":"service.name","value":{"string_value":"svc"}}]},
        "scope_logs":[{"log_records":[{"time_unix_nano":1714564800000000000,"severity_number":"SEVERITY_NUMBER_ERROR",
        "body":null,"event_name":null,"severity_text":null,"observed_time_unix_nano":null,
        "attributes":[{"key":"alertname","value":{"string_value":"A"}},{"key":"n","value":{"int_value":12}},
        {"key":"b","value":{"bytes_value":"3q0L"}},{"key":"gone","value":null},{"key":"x","value":{"stringValue":null}}]}]}]}]}"#;
    let (r1, e1) = json(camel, &ctx(&opts));
    let (r2, e2) = json(snake, &ctx(&opts));
    assert_eq!(
        r1,
        Ok(Decoded {
            events: 1,
            ignored: 0,
            truncated: 0,
            changes: 0
        })
    );
    assert_eq!((r1, &e1), (r2, &e2));
    let e = &e1[0];
    assert_eq!(e.time.to_rfc3339(), "2024-05-01T12:00:00.000Z");
    assert_eq!(e.severity, Severity::Error);
    assert_eq!(e.labels.get("n"), Some("12"));
    assert_eq!(
        e.labels.get("b"),
        Some("dead0b"),
        "base64 in JSON, hex in labels"
    );
    assert_eq!(e.service.as_deref(), Some("svc"));
    // Empty request objects are fine.
    assert_eq!(json(b"{}", &ctx(&opts)).0, Ok(Decoded::default()));
    assert_eq!(
        json(br#"{"resourceLogs":null}"#, &ctx(&opts)).0,
        Ok(Decoded::default())
    );
}

#[test]
fn json_errors_name_the_path() {
    let opts = DecodeOptions::default();
    let wrong_type = |text: &str, want_path: &str| {
        let mut out = sentinel();
        match decode_json(text.as_bytes(), &ctx(&opts), &mut out) {
            Err(DecodeError::WrongType { path, .. }) => assert_eq!(path, want_path, "{text}"),
            other => panic!("{text}: {other:?}"),
        }
        assert_eq!(out.len(), 1);
    };
    wrong_type(
        r#"{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"timeUnixNano":true}]}]}]}"#,
        "resourceLogs[0].scopeLogs[0].logRecords[0].timeUnixNano",
    );
    wrong_type(
        r#"{"resourceLogs":[{"scopeLogs":[{"logRecords":[{},{"timeUnixNano":"soon"}]}]}]}"#,
        "resourceLogs[0].scopeLogs[0].logRecords[1].timeUnixNano",
    );
    wrong_type(
        r#"{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"attributes":{"alertname":"A"}}]}]}]}"#,
        "resourceLogs[0].scopeLogs[0].logRecords[0].attributes",
    );
    wrong_type(
        r#"{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"attributes":[{"key":"a","value":"A"}]}]}]}]}"#,
        "resourceLogs[0].scopeLogs[0].logRecords[0].attributes[0].value",
    );
    wrong_type(
        r#"{"resourceLogs":[{"resource":{"attributes":[{"key":"a","value":{"intValue":"1.5"}}]}}]}"#,
        "resourceLogs[0].resource.attributes[0].value.intValue",
    );
    wrong_type(
        r#"{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"severityNumber":"loud"}]}]}]}"#,
        "resourceLogs[0].scopeLogs[0].logRecords[0].severityNumber",
    );
    wrong_type(
        r#"{"resourceLogs":[{"resource":{"attributes":[{"key":"a","value":{"doubleValue":true}}]}}]}"#,
        "resourceLogs[0].resource.attributes[0].value.doubleValue",
    );
    wrong_type(
        r#"{"resourceLogs":[{"resource":{"attributes":[{"key":"a","value":{"bytesValue":"!!"}}]}}]}"#,
        "resourceLogs[0].resource.attributes[0].value.bytesValue",
    );
    wrong_type(r#"{"resourceLogs":{"a":1}}"#, "resourceLogs");
    assert!(matches!(
        json(br#"{"resourceLogs":[{"scopeLogs":["#, &ctx(&opts)).0,
        Err(DecodeError::TruncatedJson { .. })
    ));
    assert_eq!(json(b" ", &ctx(&opts)).0, Err(DecodeError::Empty));
}

#[test]
fn truncated_protobuf_is_refused_with_prosts_reason() {
    let opts = DecodeOptions::default();
    let bytes = fixture(&format!("{CAPTURE}/otlp_http_protobuf_logs.pb"));
    let sentinel = sentinel();
    let mut refused = 0;
    for n in 0..bytes.len() {
        let cut = &bytes[..n];
        check_walker(cut, &ctx(&opts)).unwrap();
        let mut out = sentinel.clone();
        match decode_proto(cut, &ctx(&opts), &mut out) {
            Ok(_) => {}
            Err(e) => {
                refused += 1;
                let prost = ExportLogsServiceRequest::decode(cut)
                    .unwrap_err()
                    .to_string();
                assert_eq!(e, DecodeError::InvalidProtobuf { detail: prost });
                assert_eq!(out, sentinel, "nothing appended on error");
            }
        }
    }
    // Only a cut at the very start (the empty request) is a whole message.
    assert_eq!(refused, bytes.len() - 1);
    assert_eq!(proto(b"", &ctx(&opts)), (Ok(Decoded::default()), vec![]));
}

#[test]
fn garbage_and_grpc_framed_protobuf() {
    let opts = DecodeOptions::default();
    for garbage in [
        &b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"[..],
        b"{\"resourceLogs\": []}",
        b"\x0a\x05\x12\x03\x0a",
        b"\x0c",
        b"\x00",
    ] {
        match proto(garbage, &ctx(&opts)) {
            (Err(DecodeError::InvalidProtobuf { detail }), events) => {
                assert!(!detail.is_empty());
                assert!(events.is_empty());
            }
            other => panic!("{garbage:?}: {other:?}"),
        }
    }
    // A gRPC frame (what a raw HTTP/2 body holds) gets a hint.
    let msg = fixture(&format!("{CAPTURE}/otlp_grpc_ExportLogsServiceRequest.pb"));
    let mut framed = vec![0];
    framed.extend_from_slice(&(msg.len() as u32).to_be_bytes());
    framed.extend_from_slice(&msg);
    match proto(&framed, &ctx(&opts)).0 {
        Err(DecodeError::InvalidProtobuf { detail }) => {
            assert!(detail.contains("gRPC"), "{detail}")
        }
        other => panic!("{other:?}"),
    }
}

/// Encodings prost never writes but must read: fields out of order, a message in parts,
/// a oneof sent twice, unknown fields and groups, the recursion limit.
#[test]
fn non_canonical_encodings_read_like_prost() {
    use prost::encoding::{encode_key, encode_varint, WireType};
    let opts = DecodeOptions::default();
    let field = |tag: u32, body: &[u8]| {
        let mut b = Vec::new();
        encode_key(tag, WireType::LengthDelimited, &mut b);
        encode_varint(body.len() as u64, &mut b);
        b.extend_from_slice(body);
        b
    };
    let kv_bytes = |k: &str, v: &str| kv(k, s(v)).encode_to_vec();
    let rec = record(kvs(&[("alertname", "A"), ("x", "1")])).encode_to_vec();
    let scope_logs = field(2, &rec);
    let res1 = field(1, &kv_bytes("env", "prod"));
    let res2 = field(1, &kv_bytes("region", "eu"));
    // ResourceLogs: scope_logs first, then the resource in two parts, an unknown varint
    // field and an unknown group.
    let mut rl = field(2, &scope_logs);
    rl.extend(field(1, &res1));
    rl.extend(field(1, &res2));
    rl.extend([0x78, 0x05]); // field 15, varint
    rl.extend([0x83, 0x01, 0x08, 0x01, 0x84, 0x01]); // group 16 { field 1 varint } end
    let bytes = field(1, &rl);
    check_walker(&bytes, &ctx(&opts)).unwrap();
    let (r, events) = proto(&bytes, &ctx(&opts));
    assert_eq!(
        r,
        Ok(Decoded {
            events: 1,
            ignored: 0,
            truncated: 0,
            changes: 0
        })
    );
    assert_eq!(events[0].labels.get("env"), Some("prod"));
    assert_eq!(events[0].labels.get("region"), Some("eu"));

    // KeyValue.value twice: a later member replaces, a later array extends.
    let one_val = |v: Value| AnyValue { value: Some(v) }.encode_to_vec();
    let arr = |xs: &[&str]| {
        one_val(Value::ArrayValue(ArrayValue {
            values: xs.iter().map(|x| s(x).unwrap()).collect(),
        }))
    };
    let mut kv1 = field(1, b"k1");
    kv1.extend(field(2, &arr(&["a"])));
    kv1.extend(field(2, &arr(&["b", "c"])));
    let mut kv2 = field(1, b"k2");
    kv2.extend(field(2, &arr(&["a"])));
    kv2.extend(field(2, &one_val(Value::IntValue(3))));
    kv2.extend(field(2, &[])); // an empty AnyValue merges as nothing
    let mut lr = field(6, &kv_bytes("alertname", "A"));
    lr.extend(field(6, &kv1));
    lr.extend(field(6, &kv2));
    lr.extend([0x09]);
    lr.extend(T0.to_le_bytes());
    let bytes = field(1, &field(2, &field(2, &lr)));
    check_walker(&bytes, &ctx(&opts)).unwrap();
    let (_, events) = proto(&bytes, &ctx(&opts));
    assert_eq!(events[0].labels.get("k1"), Some(r#"["a","b","c"]"#));
    assert_eq!(events[0].labels.get("k2"), Some("3"));

    // Nested arrays around prost's recursion limit of 100.
    for depth in 40..52 {
        let mut v = AnyValue {
            value: Some(Value::StringValue("leaf".into())),
        };
        for _ in 0..depth {
            v = AnyValue {
                value: Some(Value::ArrayValue(ArrayValue { values: vec![v] })),
            };
        }
        let req = request(
            vec![],
            vec![record(vec![kv("alertname", s("A")), kv("deep", Some(v))])],
        );
        let bytes = req.encode_to_vec();
        check_walker(&bytes, &ctx(&opts)).unwrap();
        let ok = ExportLogsServiceRequest::decode(&bytes[..]).is_ok();
        assert_eq!(proto(&bytes, &ctx(&opts)).0.is_ok(), ok, "depth {depth}");
    }
}

// ---- property tests ----

fn arb_string() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => prop::sample::select(vec![
            "", "firing", "RESOLVED", "ack", "Open", "HostDown", "critical", "warn", "P2",
            "payments-api", "x", "a\"b\\c\n\u{7}", "ünïcödé ✓",
            "a-label-value-longer-than-twenty-four-bytes",
        ])
        .prop_map(String::from),
        1 => Just("paused".to_string()),
        2 => "[a-z.]{0,30}",
    ]
}

fn arb_key() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => prop::sample::select(vec![
            "alertname", "event.name", "alert.status", "status", "severity", "summary",
            "description", "runbook_url", "runbook", "alert.fingerprint", "fingerprint",
            "dedup_key", "service.name", "service", "team", "instance", "host.name",
            "telemetry.sdk.name", "code.line.number", "process.pid", "k", "", "ключ",
        ])
        .prop_map(String::from),
        1 => "[a-z._]{1,12}",
    ]
}

fn arb_double(finite: bool) -> BoxedStrategy<f64> {
    let special = prop::sample::select(if finite {
        vec![
            0.0,
            -0.0,
            1.5,
            3.0,
            1e21,
            1e-7,
            5012.5,
            f64::MAX,
            f64::MIN_POSITIVE,
        ]
    } else {
        vec![
            0.0,
            -0.0,
            1.5,
            1e21,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ]
    });
    if finite {
        prop_oneof![
            special,
            any::<f64>().prop_filter("finite", |d| d.is_finite())
        ]
        .boxed()
    } else {
        prop_oneof![special, any::<f64>()].boxed()
    }
}

fn arb_value(finite: bool) -> impl Strategy<Value = AnyValue> {
    let leaf = prop_oneof![
        1 => Just(None),
        6 => arb_string().prop_map(|s| Some(Value::StringValue(s))),
        1 => any::<bool>().prop_map(|b| Some(Value::BoolValue(b))),
        2 => any::<i64>().prop_map(|i| Some(Value::IntValue(i))),
        2 => arb_double(finite).prop_map(|d| Some(Value::DoubleValue(d))),
        1 => prop::collection::vec(any::<u8>(), 0..6).prop_map(|b| Some(Value::BytesValue(b))),
        1 => any::<i32>().prop_map(|i| Some(Value::StringValueStrindex(i))),
    ]
    .prop_map(|value| AnyValue { value });
    leaf.prop_recursive(3, 12, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(|values| AnyValue {
                value: Some(Value::ArrayValue(ArrayValue { values }))
            }),
            prop::collection::vec((arb_key(), prop::option::of(inner)), 0..4).prop_map(|kvs| {
                AnyValue {
                    value: Some(Value::KvlistValue(KeyValueList {
                        values: kvs.into_iter().map(|(k, v)| kv(&k, v)).collect(),
                    })),
                }
            }),
        ]
    })
}

fn arb_kv(finite: bool) -> impl Strategy<Value = KeyValue> {
    (
        arb_key(),
        prop::option::weighted(0.9, arb_value(finite)),
        any::<bool>(),
    )
        .prop_map(|(k, v, idx)| KeyValue {
            key: k,
            value: v,
            key_strindex: if idx { 0 } else { 3 },
        })
}

fn arb_attrs(finite: bool, max: usize) -> impl Strategy<Value = Vec<KeyValue>> {
    prop::collection::vec(arb_kv(finite), 0..max)
}

fn arb_record(finite: bool) -> impl Strategy<Value = LogRecord> {
    let time = prop_oneof![Just(0u64), Just(T0), any::<u64>()];
    (
        (
            time.clone(),
            time,
            prop::sample::select(vec![-1, 0, 5, 9, 13, 17, 21, 24, 25, i32::MIN]),
        ),
        (
            prop::sample::select(vec!["", "WARN", "p1", "bogus", "Information"]),
            prop::option::of(arb_value(finite)),
            arb_attrs(finite, 8),
        ),
        (
            prop::sample::select(vec!["", "", "my.event"]),
            any::<u32>(),
            prop::collection::vec(any::<u8>(), 0..3),
        ),
    )
        .prop_map(
            |((t, o, sn), (st, body, attributes), (ev, flags, id))| LogRecord {
                time_unix_nano: t,
                observed_time_unix_nano: o,
                severity_number: sn,
                severity_text: st.into(),
                body,
                attributes,
                dropped_attributes_count: flags % 3,
                flags,
                trace_id: id.clone(),
                span_id: id,
                event_name: ev.into(),
            },
        )
}

fn arb_request(finite: bool) -> impl Strategy<Value = ExportLogsServiceRequest> {
    let scope =
        (
            prop::option::of((arb_string(), arb_attrs(finite, 2)).prop_map(
                |(name, attributes)| InstrumentationScope {
                    name,
                    version: "1.0".into(),
                    attributes,
                    dropped_attributes_count: 0,
                },
            )),
            prop::collection::vec(arb_record(finite), 0..4),
            arb_string(),
        )
            .prop_map(|(scope, log_records, schema_url)| ScopeLogs {
                scope,
                log_records,
                schema_url,
            });
    let resource =
        (arb_attrs(finite, 6), any::<bool>()).prop_map(|(attributes, entity)| Resource {
            attributes,
            dropped_attributes_count: 1,
            entity_refs: if entity {
                vec![EntityRef {
                    schema_url: String::new(),
                    r#type: "service".into(),
                    id_keys: vec!["service.name".into()],
                    description_keys: vec![],
                }]
            } else {
                vec![]
            },
        });
    prop::collection::vec(
        (
            prop::option::of(resource),
            prop::collection::vec(scope, 0..3),
            arb_string(),
        )
            .prop_map(|(resource, scope_logs, schema_url)| ResourceLogs {
                resource,
                scope_logs,
                schema_url,
            }),
        0..3,
    )
    .prop_map(|resource_logs| ExportLogsServiceRequest { resource_logs })
}

fn arb_received_at() -> impl Strategy<Value = Option<EventTime>> {
    prop::option::of(Just(EventTime::from_millis(1_714_564_800_000)))
}

/// Damages an encoding: flips, inserts, deletes a byte, or cuts it short.
fn mutate(mut bytes: Vec<u8>, ops: &[(u8, usize, u8)]) -> Vec<u8> {
    for &(op, at, b) in ops {
        if bytes.is_empty() {
            bytes.push(b);
            continue;
        }
        let at = at % bytes.len();
        match op % 4 {
            0 => bytes[at] ^= b | 1,
            1 => bytes.insert(at, b),
            2 => {
                bytes.remove(at);
            }
            _ => bytes.truncate(at),
        }
    }
    bytes
}

proptest! {
    // No regression files: a failing case is turned into a named test instead.
    #![proptest_config(ProptestConfig {
        cases: 512,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn prop_walker_equals_prost_reference(req in arb_request(false), received_at in arb_received_at()) {
        let opts = DecodeOptions::default();
        let ctx = Ctx { opts: &opts, received_at };
        check_walker(&req.encode_to_vec(), &ctx)?;
    }

    #[test]
    fn prop_json_equals_prost_reference(req in arb_request(true), received_at in arb_received_at()) {
        let opts = DecodeOptions::default();
        let ctx = Ctx { opts: &opts, received_at };
        let bytes = req.encode_to_vec();
        let mut want = Vec::new();
        let want_r = reference::decode(&bytes, &ctx, &mut want);
        let text = serde_json::to_vec(&req).unwrap();
        let (r, events) = json(&text, &ctx);
        prop_assert_eq!(r, want_r);
        prop_assert_eq!(events, want);
    }

    #[test]
    fn prop_damaged_protobuf_agrees_with_prost(
        req in arb_request(false),
        ops in prop::collection::vec((any::<u8>(), any::<usize>(), any::<u8>()), 1..4),
    ) {
        let opts = DecodeOptions::default();
        let ctx = Ctx { opts: &opts, received_at: None };
        check_walker(&mutate(req.encode_to_vec(), &ops), &ctx)?;
    }

    #[test]
    fn prop_arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        let opts = DecodeOptions::default();
        let ctx = Ctx { opts: &opts, received_at: None };
        check_walker(&bytes, &ctx)?;
        let _ = json(&bytes, &ctx);
    }

    #[test]
    fn prop_damaged_json_never_panics(
        req in arb_request(true),
        ops in prop::collection::vec((any::<u8>(), any::<usize>(), any::<u8>()), 1..4),
    ) {
        let opts = DecodeOptions::default();
        let ctx = Ctx { opts: &opts, received_at: None };
        let bytes = mutate(serde_json::to_vec(&req).unwrap(), &ops);
        let sentinel = sentinel();
        let mut out = sentinel.clone();
        if decode_json(&bytes, &ctx, &mut out).is_err() {
            prop_assert_eq!(out, sentinel);
        }
    }
}
