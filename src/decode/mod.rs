//! Decoders: bytes of one wire-format message → [`AlertEvent`]s, or a typed [`DecodeError`].
//!
//! One file per format; [`sniff`] tells a JSON payload's format. Decoders are pure functions
//! of (bytes, [`DecodeOptions`]): no I/O, no clock, no state between messages. A message is
//! all-or-nothing: on error nothing is appended to the output vector, so a caller can
//! dead-letter the whole message without double counting.
//!
//! No decoder may panic on any input; `tests/decode_props.rs` and `fuzz/` hold them to it.

pub mod alertmanager;
pub mod batch;
pub mod grafana;
pub mod grafana_legacy;
pub mod otlp;
pub mod pagerduty_v2;
pub mod pagerduty_v3;
pub mod pagerduty_webhook_v2;
pub mod prometheus;
pub mod sniff;

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::event::{AlertEvent, EventTime, Labels, Severity, Str};

pub use sniff::sniff;

/// A wire format noisegate reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    /// Alertmanager webhook, version 4.
    Alertmanager,
    /// Grafana unified-alerting webhook.
    Grafana,
    /// PagerDuty Events API v2 event (`/v2/enqueue` body).
    #[serde(rename = "pagerduty-v2")]
    PagerDutyV2,
    /// PagerDuty webhook v3 (`{"event": {...}}`).
    #[serde(rename = "pagerduty-v3")]
    PagerDutyV3,
    /// PagerDuty legacy (v2) webhook (`{"messages": [...]}`), as archived history holds it.
    #[serde(rename = "pagerduty-webhook-v2")]
    PagerDutyWebhookV2,
    /// OTLP `ExportLogsServiceRequest`, protobuf encoding.
    OtlpProto,
    /// OTLP `ExportLogsServiceRequest`, OTLP/JSON encoding.
    OtlpJson,
    /// Prometheus' alerts as it posts them to Alertmanager (`POST /api/v2/alerts`).
    Prometheus,
    /// Grafana's legacy (dashboard) alerting webhook (`ruleName`, `state`, `evalMatches`).
    #[serde(rename = "grafana-legacy")]
    GrafanaLegacy,
}

impl Format {
    pub const ALL: [Format; 9] = [
        Format::Alertmanager,
        Format::Grafana,
        Format::PagerDutyV2,
        Format::PagerDutyV3,
        Format::PagerDutyWebhookV2,
        Format::OtlpProto,
        Format::OtlpJson,
        Format::Prometheus,
        Format::GrafanaLegacy,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Format::Alertmanager => "alertmanager",
            Format::Grafana => "grafana",
            Format::PagerDutyV2 => "pagerduty-v2",
            Format::PagerDutyV3 => "pagerduty-v3",
            Format::PagerDutyWebhookV2 => "pagerduty-webhook-v2",
            Format::OtlpProto => "otlp-proto",
            Format::OtlpJson => "otlp-json",
            Format::Prometheus => "prometheus",
            Format::GrafanaLegacy => "grafana-legacy",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a message could not be used. `Display` is the precise, human reason (what a dead
/// letter says); [`DecodeError::reason`] is a fixed, low-cardinality label for metrics.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("empty payload")]
    Empty,
    #[error("payload of {size} bytes exceeds the limit of {limit} bytes")]
    TooLarge { size: usize, limit: usize },
    #[error("invalid UTF-8 at byte {offset}")]
    InvalidUtf8 { offset: usize },
    #[error("truncated JSON: {detail}")]
    TruncatedJson { detail: String },
    #[error("invalid JSON: {detail}")]
    InvalidJson { detail: String },
    #[error("missing required field `{field}`")]
    MissingField { field: String },
    #[error("wrong type at `{path}`: {detail}")]
    WrongType { path: String, detail: String },
    #[error("invalid value for `{field}`: {detail}")]
    InvalidValue { field: String, detail: String },
    #[error("unknown format: {detail}")]
    UnknownFormat { detail: String },
    #[error("unsupported {format} payload: {detail}")]
    Unsupported { format: Format, detail: String },
    #[error("invalid protobuf: {detail}")]
    InvalidProtobuf { detail: String },
    /// One payload of a message that is an array of payloads ([`batch`]); the others were
    /// decoded, or refused, on their own.
    #[error("payload {index} of {of} in the array: {inner}")]
    InArray {
        /// 1-based, as a person counts them.
        index: usize,
        of: usize,
        inner: Box<DecodeError>,
    },
}

impl DecodeError {
    /// Fixed label for metrics and summaries.
    pub fn reason(&self) -> &'static str {
        match self {
            DecodeError::Empty => "empty",
            DecodeError::TooLarge { .. } => "too_large",
            DecodeError::InvalidUtf8 { .. } => "invalid_utf8",
            DecodeError::TruncatedJson { .. } => "truncated_json",
            DecodeError::InvalidJson { .. } => "invalid_json",
            DecodeError::MissingField { .. } => "missing_field",
            DecodeError::WrongType { .. } => "wrong_type",
            DecodeError::InvalidValue { .. } => "invalid_value",
            DecodeError::UnknownFormat { .. } => "unknown_format",
            DecodeError::Unsupported { .. } => "unsupported",
            DecodeError::InvalidProtobuf { .. } => "invalid_protobuf",
            DecodeError::InArray { inner, .. } => inner.reason(),
        }
    }

    pub fn missing(field: impl Into<String>) -> Self {
        DecodeError::MissingField {
            field: field.into(),
        }
    }

    pub fn invalid(field: impl Into<String>, detail: impl Into<String>) -> Self {
        DecodeError::InvalidValue {
            field: field.into(),
            detail: detail.into(),
        }
    }
}

/// A JSON string, borrowed from the input unless it contains escapes (serde borrows a
/// `Cow<str>` only through a `#[serde(borrow)]` field, hence the wrapper).
#[derive(Deserialize)]
#[serde(transparent)]
pub(crate) struct Text<'a>(#[serde(borrow)] pub std::borrow::Cow<'a, str>);

impl Text<'_> {
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }

    pub(crate) fn into_owned(self) -> String {
        self.0.into_owned()
    }
}

impl std::ops::Deref for Text<'_> {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

/// Parses JSON into `T`, borrowing from `bytes` where `T` does. The fast path is plain
/// serde_json; only on failure is the input parsed again with path tracking, so the error can
/// say exactly where (`alerts[3].labels.severity: invalid type ...`) at no cost to good input.
pub fn from_json<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> Result<T, DecodeError> {
    match serde_json::from_slice::<T>(bytes) {
        Ok(v) => Ok(v),
        Err(e) => Err(json_error::<T>(bytes, e)),
    }
}

fn json_error<'a, T: Deserialize<'a>>(bytes: &'a [u8], e: serde_json::Error) -> DecodeError {
    use serde_json::error::Category;
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return DecodeError::Empty;
    }
    if let Err(u) = std::str::from_utf8(bytes) {
        return DecodeError::InvalidUtf8 {
            offset: u.valid_up_to(),
        };
    }
    match e.classify() {
        Category::Eof => DecodeError::TruncatedJson {
            detail: e.to_string(),
        },
        Category::Syntax | Category::Io => DecodeError::InvalidJson {
            detail: e.to_string(),
        },
        Category::Data => {
            let mut de = serde_json::Deserializer::from_slice(bytes);
            let (path, msg) = match serde_path_to_error::deserialize::<_, T>(&mut de) {
                Err(pe) => (pe.path().to_string(), pe.inner().to_string()),
                Ok(_) => (String::from("."), e.to_string()),
            };
            if let Some(rest) = msg.strip_prefix("missing field `") {
                let field = rest.split('`').next().unwrap_or(rest);
                let full = if path == "." || path.is_empty() {
                    field.to_string()
                } else {
                    format!("{path}.{field}")
                };
                return DecodeError::MissingField { field: full };
            }
            DecodeError::WrongType { path, detail: msg }
        }
    }
}

/// Which attribute/label names pass into an event's labels. Patterns are exact names or a
/// prefix ending in `*` (`telemetry.sdk.*`). Deny wins over allow; an empty allow list allows all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NameFilter {
    pub allow: Vec<String>,
    pub deny: Vec<String>,
}

impl NameFilter {
    fn matches(pattern: &str, name: &str) -> bool {
        match pattern.strip_suffix('*') {
            Some(prefix) => name.starts_with(prefix),
            None => pattern == name,
        }
    }

    pub fn admits(&self, name: &str) -> bool {
        if self.deny.iter().any(|p| Self::matches(p, name)) {
            return false;
        }
        self.allow.is_empty() || self.allow.iter().any(|p| Self::matches(p, name))
    }
}

/// How an OTLP log record becomes an alert event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtlpMapping {
    /// Attributes tried in order for the rule name; the first present wins.
    pub alertname_attributes: Vec<String>,
    /// Attributes tried in order for the status (`firing` / `resolved` / ...).
    pub status_attributes: Vec<String>,
    /// Which resource and record attributes become labels.
    pub labels: NameFilter,
    /// A record without a status attribute is a point-in-time alert that counts as resolved
    /// this long after it was last sent (Alertmanager's `resolve_timeout`, same default);
    /// `None` keeps it firing until a resolve arrives.
    pub resolve_timeout_ms: Option<i64>,
}

impl Default for OtlpMapping {
    fn default() -> Self {
        OtlpMapping {
            alertname_attributes: vec!["alertname".into(), "event.name".into()],
            status_attributes: vec!["alert.status".into(), "status".into()],
            labels: NameFilter {
                allow: Vec::new(),
                deny: vec![
                    "telemetry.sdk.*".into(),
                    "telemetry.auto.*".into(),
                    "code.*".into(),
                    "service.instance.id".into(),
                    "process.*".into(),
                    "log.*".into(),
                    "exception.stacktrace".into(),
                ],
            },
            resolve_timeout_ms: Some(5 * 60 * 1000),
        }
    }
}

/// Everything a decoder needs from config, compiled once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeOptions {
    /// Label names tried in order for an event's service.
    pub service_labels: Vec<String>,
    /// Values of those labels that name the exporter a metric was scraped from rather than
    /// the service that is failing (kube-state-metrics' alerts are about other workloads):
    /// skipped, so the next label in `service_labels` (or none) is the service.
    pub service_ignore: Vec<String>,
    /// Label names tried in order for an event's team.
    pub team_labels: Vec<String>,
    /// Label names tried in order for severity (Alertmanager, Grafana, OTLP attributes).
    pub severity_labels: Vec<String>,
    /// Severity when nothing in the payload says.
    pub default_severity: Severity,
    pub otlp: OtlpMapping,
    /// What a PagerDuty routing key is configured to page ([`RoutingScope`]): a Change
    /// Event sent to the same integration is about that service or team.
    pub routing_scopes: Vec<RoutingScope>,
}

/// The service or team a PagerDuty routing key pages (`[pagerduty] service_routing_keys`,
/// `team_routing_keys`). The key is kept only as a hash ([`routing_key_hash`]): it is a
/// credential, and options are logged and compared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoutingScope {
    pub key_hash: u64,
    pub service: Option<Str>,
    pub team: Option<Str>,
}

/// The hash a routing key is matched by (FNV-1a, as fingerprints are).
pub fn routing_key_hash(key: &str) -> u64 {
    crate::event::Fingerprint::of_sorted([("routing_key", key.trim())]).0
}

impl Default for DecodeOptions {
    fn default() -> Self {
        DecodeOptions {
            service_labels: [
                "service",
                "service.name",
                "service_name",
                "app.kubernetes.io/name",
                "app_kubernetes_io_name",
                "app",
                "application",
                "job",
                "deployment",
                "statefulset",
                "daemonset",
                "container",
            ]
            .map(String::from)
            .to_vec(),
            service_ignore: [
                "kube-state-metrics",
                "node-exporter",
                "prometheus-node-exporter",
                "blackbox-exporter",
                "prometheus-blackbox-exporter",
                "node",
                "node_exporter",
                "blackbox",
                "kubernetes-pods",
                "kubernetes-service-endpoints",
                "kubelet",
                "POD",
                "kube-rbac-proxy",
                "kube-rbac-proxy-main",
                "kube-rbac-proxy-self",
            ]
            .map(String::from)
            .to_vec(),
            team_labels: vec!["team".into()],
            severity_labels: vec!["severity".into(), "priority".into(), "level".into()],
            default_severity: Severity::Error,
            otlp: OtlpMapping::default(),
            routing_scopes: Vec::new(),
        }
    }
}

/// The alert Grafana fires for a rule whose query failed ([`DecodeOptions::service_in`]).
const GRAFANA_DATASOURCE_ERROR: &str = "DatasourceError";

impl DecodeOptions {
    fn first_label(names: &[String], labels: &Labels) -> Option<Str> {
        names.iter().find_map(|n| labels.get(n)).map(Str::from)
    }

    /// The first of `service_labels` present with a value not in `service_ignore`.
    pub fn service_of(&self, labels: &Labels) -> Option<Str> {
        self.service_in(labels).map(Str::from)
    }

    /// [`Self::service_of`], borrowed from the labels.
    ///
    /// One exception comes first: Grafana's `DatasourceError`. When a Grafana-managed rule's
    /// query fails, Grafana fires an alert named `DatasourceError` instead of the rule's,
    /// with the rule's labels plus `rulename` and the failing `datasource_uid`. What is
    /// failing is that data source, not the service the rule watches: one data source down
    /// fires it for every rule that queries it, across every service. Taking the data source
    /// as the service groups them (`group_by` alertname and service) into the one incident
    /// they are, instead of one page per service. `DatasourceNoData` keeps the rule's
    /// service: a query that returns nothing is as often the watched service gone silent.
    pub fn service_in<'l>(&self, labels: &'l Labels) -> Option<&'l str> {
        if labels.get("alertname") == Some(GRAFANA_DATASOURCE_ERROR) {
            if let Some(ds) = labels.get("datasource_uid").filter(|v| !v.is_empty()) {
                return Some(ds);
            }
        }
        self.service_labels
            .iter()
            .filter_map(|n| labels.get(n))
            .find(|v| !v.is_empty() && !self.service_ignore.iter().any(|i| i == v))
    }

    pub fn team_of(&self, labels: &Labels) -> Option<Str> {
        Self::first_label(&self.team_labels, labels)
    }

    /// Severity from the configured labels, or `None` if no label says (or none parses).
    pub fn severity_label_of(&self, labels: &Labels) -> Option<Severity> {
        self.severity_labels
            .iter()
            .find_map(|n| labels.get(n))
            .and_then(Severity::parse_loose)
    }

    pub fn severity_of(&self, labels: &Labels) -> Severity {
        self.severity_label_of(labels)
            .unwrap_or(self.default_severity)
    }
}

/// What a decoder is given besides the bytes.
#[derive(Debug, Clone, Copy)]
pub struct Ctx<'a> {
    pub opts: &'a DecodeOptions,
    /// When the message arrived (Kafka timestamp, HTTP receive time, or in replay the latest
    /// event time seen so far): the event time of last resort for payloads that carry none.
    /// `None` means a payload without a time is an error.
    pub received_at: Option<EventTime>,
}

/// What a successful decode produced. `events + changes` events were appended.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Decoded {
    /// Alert and lifecycle events appended to the output.
    pub events: usize,
    /// Parts of the message that are valid but are not alerts (an OTLP log record without a
    /// rule name): skipped on purpose, counted so the loss is visible.
    pub ignored: usize,
    /// Alerts the sender says it left out (Alertmanager's and Grafana's `truncatedAlerts`,
    /// once a notification holds more than the receiver's `max_alerts`): never seen here,
    /// counted so the operator can raise the limit.
    pub truncated: usize,
    /// Change events appended to the output (PagerDuty Change Events): context, not
    /// alerts, so not counted in `events`.
    pub changes: usize,
}

/// Decodes one message of a known format, appending its events to `out`. On error `out` is
/// left as it was.
pub fn decode(
    format: Format,
    bytes: &[u8],
    ctx: &Ctx<'_>,
    out: &mut Vec<AlertEvent>,
) -> Result<Decoded, DecodeError> {
    let mark = out.len();
    let r = match format {
        Format::Alertmanager => alertmanager::decode(bytes, ctx, out),
        Format::Grafana => grafana::decode(bytes, ctx, out),
        Format::PagerDutyV2 => pagerduty_v2::decode(bytes, ctx, out),
        Format::PagerDutyV3 => pagerduty_v3::decode(bytes, ctx, out),
        Format::PagerDutyWebhookV2 => pagerduty_webhook_v2::decode(bytes, ctx, out),
        Format::OtlpProto => otlp::decode_proto(bytes, ctx, out),
        Format::OtlpJson => otlp::decode_json(bytes, ctx, out),
        Format::Prometheus => prometheus::decode(bytes, ctx, out),
        Format::GrafanaLegacy => grafana_legacy::decode(bytes, ctx, out),
    };
    if r.is_err() {
        out.truncate(mark);
    }
    r
}

/// Sniffs the format of a JSON payload, then decodes it. Returns the format it found.
/// (Payloads in the high-volume formats are decoded in one pass, with the same result:
/// see [`sniff::decode_fast`].)
pub fn decode_auto(
    bytes: &[u8],
    ctx: &Ctx<'_>,
    out: &mut Vec<AlertEvent>,
) -> Result<(Format, Decoded), DecodeError> {
    if let Some(found) = sniff::decode_fast(bytes, ctx, out) {
        return Ok(found);
    }
    let format = sniff(bytes)?;
    let d = decode(format, bytes, ctx, out)?;
    Ok((format, d))
}

/// Decodes one payload of `format` (any format when `None`, see [`decode_any`]) as a
/// stream processor must: a payload without its own time (a PagerDuty v2 ack) is decoded
/// again with `now` — the newest event time so far — as its receive time, so a stream gives
/// the same events however it is delivered. (Replay does the same in two passes, to decode
/// in parallel.)
pub fn decode_at(
    format: Option<Format>,
    bytes: &[u8],
    opts: &DecodeOptions,
    now: Option<EventTime>,
    out: &mut Vec<AlertEvent>,
) -> Result<(Format, Decoded), DecodeError> {
    let once = |received_at, out: &mut Vec<AlertEvent>| {
        let ctx = Ctx { opts, received_at };
        match format {
            Some(f) => decode(f, bytes, &ctx, out).map(|d| (f, d)),
            None => decode_any(bytes, &ctx, out),
        }
    };
    match (once(None, out), now) {
        (Err(DecodeError::MissingField { .. }), Some(now)) => once(Some(now), out),
        (r, _) => r,
    }
}

/// Any format, JSON or OTLP protobuf: a payload that does not start like JSON is tried as
/// an OTLP `ExportLogsServiceRequest` (Kafka topics fed by the Collector's `otlp_proto`).
pub fn decode_any(
    bytes: &[u8],
    ctx: &Ctx<'_>,
    out: &mut Vec<AlertEvent>,
) -> Result<(Format, Decoded), DecodeError> {
    match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
        None | Some(b'{') | Some(b'[') => decode_auto(bytes, ctx, out),
        Some(_) => decode(Format::OtlpProto, bytes, ctx, out)
            .map(|d| (Format::OtlpProto, d))
            .map_err(|e| DecodeError::UnknownFormat {
                detail: format!("not JSON, and not OTLP protobuf ({e})"),
            }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize, Debug, PartialEq)]
    #[allow(dead_code)]
    struct T {
        a: Vec<Inner>,
    }
    #[derive(Deserialize, Debug, PartialEq)]
    #[allow(dead_code)]
    struct Inner {
        b: String,
    }

    #[test]
    fn service_skips_exporters_and_falls_back_in_order() {
        let o = DecodeOptions::default();
        let of = |pairs: &[(&str, &str)]| {
            o.service_of(&crate::event::Labels::from_pairs(pairs.iter().copied()))
                .map(|s| s.to_string())
        };
        assert_eq!(
            of(&[("service", "checkout"), ("app", "web")]).as_deref(),
            Some("checkout")
        );
        // kube-state-metrics names the exporter; the workload's app label is the service.
        assert_eq!(
            of(&[
                ("service", "kube-state-metrics"),
                ("app.kubernetes.io/name", "refunds")
            ])
            .as_deref(),
            Some("refunds")
        );
        assert_eq!(
            of(&[("service", "node-exporter"), ("instance", "n1:9100")]),
            None
        );
        assert_eq!(of(&[("service_name", "cart")]).as_deref(), Some("cart"));
        // Grafana's alert for a failed query is about the data source it queried.
        assert_eq!(
            of(&[
                ("alertname", "DatasourceError"),
                ("datasource_uid", "P1809F7CD0C75ACF3"),
                ("rulename", "Checkout error rate"),
                ("service", "checkout"),
            ])
            .as_deref(),
            Some("P1809F7CD0C75ACF3")
        );
        // Without the data source (older Grafana), and for every other alert, the labels.
        assert_eq!(
            of(&[("alertname", "DatasourceError"), ("service", "checkout")]).as_deref(),
            Some("checkout")
        );
        assert_eq!(
            of(&[
                ("alertname", "DatasourceNoData"),
                ("datasource_uid", "P1809F7CD0C75ACF3"),
                ("service", "checkout"),
            ])
            .as_deref(),
            Some("checkout")
        );
        // Micrometer's common tag (Spring Boot's `spring.application.name`).
        assert_eq!(
            of(&[("application", "billing"), ("job", "spring-apps")]).as_deref(),
            Some("billing")
        );
        assert_eq!(
            of(&[("service", ""), ("app", "web")]).as_deref(),
            Some("web")
        );
        // A plain Prometheus target: the scrape job is the service, unless it names an
        // exporter; any label above it wins.
        assert_eq!(
            of(&[("job", "mysql"), ("instance", "db-1:9104")]).as_deref(),
            Some("mysql")
        );
        assert_eq!(of(&[("job", "node"), ("instance", "web-3:9100")]), None);
        assert_eq!(
            of(&[("job", "mysql-exporter"), ("service", "orders-db")]).as_deref(),
            Some("orders-db")
        );
    }

    #[test]
    fn severity_falls_back_to_priority_then_level() {
        let o = DecodeOptions::default();
        let of = |pairs: &[(&str, &str)]| {
            o.severity_of(&crate::event::Labels::from_pairs(pairs.iter().copied()))
        };
        assert_eq!(of(&[("priority", "P1")]), Severity::Critical);
        assert_eq!(of(&[("priority", "P2")]), Severity::Error);
        assert_eq!(
            of(&[("severity", "warning"), ("priority", "P1")]),
            Severity::Warning,
            "severity wins"
        );
        assert_eq!(of(&[]), o.default_severity);
        // Alerts built from log streams carry the stream's level.
        assert_eq!(of(&[("level", "error")]), Severity::Error);
        assert_eq!(
            of(&[("priority", "P1"), ("level", "info")]),
            Severity::Critical,
            "priority wins"
        );
    }

    #[test]
    fn json_errors_are_precise() {
        assert!(matches!(
            from_json::<T>(br#"{"a": [{"b": "x"}"#),
            Err(DecodeError::TruncatedJson { .. })
        ));
        assert!(matches!(
            from_json::<T>(br#"{"a": [}"#),
            Err(DecodeError::InvalidJson { .. })
        ));
        assert_eq!(
            from_json::<T>(br#"{"a": [{"c": 1}]}"#),
            Err(DecodeError::MissingField {
                field: "a[0].b".into()
            })
        );
        match from_json::<T>(br#"{"a": [{"b": 5}]}"#) {
            Err(DecodeError::WrongType { path, .. }) => assert_eq!(path, "a[0].b"),
            other => panic!("{other:?}"),
        }
        assert_eq!(from_json::<T>(b"  "), Err(DecodeError::Empty));
        assert!(matches!(
            from_json::<T>(b"{\"a\": [{\"b\": \"\xff\"}]}"),
            Err(DecodeError::InvalidUtf8 { offset: 14 })
        ));
    }

    #[test]
    fn name_filter() {
        let f = NameFilter {
            allow: vec![],
            deny: vec!["telemetry.*".into(), "x".into()],
        };
        assert!(f.admits("service.name"));
        assert!(!f.admits("telemetry.sdk.name"));
        assert!(!f.admits("x"));
        let f = NameFilter {
            allow: vec!["k8s.*".into()],
            deny: vec!["k8s.pod.uid".into()],
        };
        assert!(f.admits("k8s.pod.name"));
        assert!(!f.admits("k8s.pod.uid"));
        assert!(!f.admits("host.name"));
    }
}
