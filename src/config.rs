//! Configuration in two phases: [`RawConfig`] is the TOML file as written (every field has a
//! default, unknown keys are errors), [`Config::compile`] validates it into the immutable
//! values the decoders and engine use. Every error names the dotted key and says what is
//! wrong. No other module reads config files.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;

use crate::decode::{DecodeOptions, NameFilter, OtlpMapping};
use crate::event::Severity;

/// A config problem, always naming the key.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: `{key}`: {problem}")]
    Parse {
        path: String,
        key: String,
        problem: String,
    },
    #[error("{path}: `{key}`: {problem}")]
    Invalid {
        path: String,
        key: String,
        problem: String,
    },
}

/// The file as written. Field docs give unit, default and why; `config/noisegate.toml` shows
/// every key with its default.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct RawConfig {
    pub labels: RawLabels,
    pub input: RawInput,
    pub otlp: RawOtlp,
    pub engine: RawEngine,
    pub flapping: RawFlapping,
    pub hold: RawHold,
    pub correlation: RawCorrelation,
    pub score: RawScore,
    pub business_hours: RawBusinessHours,
    /// On-call rotations for the weekly report (`noisegate report`).
    pub oncall: crate::report::config::RawOncall,
    pub pagerduty: RawPagerDuty,
    pub kafka: RawKafka,
    pub metrics: RawMetrics,
    pub webhooks: RawWebhooks,
    pub server: RawServer,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawLabels {
    /// Label names tried in order for an alert's service.
    pub service: Vec<String>,
    /// Values of the service labels that are skipped (an exporter, not the failing service).
    pub service_ignore: Vec<String>,
    /// Label names tried in order for an alert's team.
    pub team: Vec<String>,
    /// Label names tried in order for an alert's severity.
    pub severity: Vec<String>,
    /// Severity of an alert whose payload says none: `error`, as Alertmanager's PagerDuty
    /// receiver would send it (see `config/noisegate.toml`).
    pub default_severity: String,
}

impl Default for RawLabels {
    fn default() -> Self {
        let d = DecodeOptions::default();
        RawLabels {
            service: d.service_labels,
            service_ignore: d.service_ignore,
            team: d.team_labels,
            severity: d.severity_labels,
            default_severity: d.default_severity.as_str().into(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawInput {
    /// Largest accepted payload (one NDJSON line, document or array element in replay; one
    /// Kafka message or HTTP body), in bytes.
    pub max_payload_bytes: usize,
    /// `noisegate run` appends every dead letter here as one NDJSON line (beside the Kafka
    /// deadletter topic, if any): the store for deployments without Kafka. "" (default): off.
    /// Relative to the config file.
    pub deadletter_file: PathBuf,
    /// Past this size the file is renamed to `<file>.1` (replacing an older one) and a new
    /// one started: at most twice this on disk.
    pub deadletter_file_max_bytes: u64,
    /// `noisegate run`: an event stamped further ahead of the wall clock when it arrives
    /// than this is taken as of its arrival, and counted. One sender with its clock a day
    /// ahead would otherwise move event time a day on, ending every hold and quiet period
    /// at once. 0 turns it off. `replay` has no arrival time: it judges such an event by
    /// the first later event of its input stamped as sent (`replay::ahead`).
    #[serde(with = "humantime_serde")]
    pub max_clock_skew: Duration,
}

impl Default for RawInput {
    fn default() -> Self {
        RawInput {
            max_payload_bytes: 1 << 20,
            deadletter_file: PathBuf::new(),
            deadletter_file_max_bytes: 100 << 20,
            max_clock_skew: Duration::from_secs(300),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawOtlp {
    pub alertname_attributes: Vec<String>,
    pub status_attributes: Vec<String>,
    pub label_allow: Vec<String>,
    pub label_deny: Vec<String>,
    /// A record without a status attribute resolves this long after it was last sent;
    /// "0s" keeps it firing until a resolve arrives.
    #[serde(with = "humantime_serde")]
    pub resolve_timeout: Duration,
    /// `noisegate run` accepts OTLP/HTTP `POST /v1/logs` here (the standard port is 4318);
    /// "" (default) turns it off.
    pub http_listen: String,
    /// OTLP/gRPC `LogsService/Export` here (the standard port is 4317); "" turns it off.
    pub grpc_listen: String,
}

impl Default for RawOtlp {
    fn default() -> Self {
        let d = OtlpMapping::default();
        RawOtlp {
            alertname_attributes: d.alertname_attributes,
            status_attributes: d.status_attributes,
            label_allow: d.labels.allow,
            label_deny: d.labels.deny,
            resolve_timeout: Duration::from_millis(d.resolve_timeout_ms.unwrap_or(0) as u64),
            http_listen: String::new(),
            grpc_listen: String::new(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawEngine {
    /// How far behind the newest event time an event may arrive and still be handled in
    /// order; the watermark is the newest event time minus this.
    #[serde(with = "humantime_serde")]
    pub allowed_lateness: Duration,
    /// How long a cluster whose alerts are all resolved stays open; an alert that fires again
    /// within it re-joins the cluster (counted as a flap) instead of paging again.
    #[serde(with = "humantime_serde")]
    pub close_quiet: Duration,
    /// Most alerts tracked at once; beyond it the least recently seen cluster is closed
    /// early (its record is still written) and counted.
    pub max_active_alerts: usize,
    /// Most rules with learned statistics; beyond it the least recently seen are forgotten.
    pub max_rules: usize,
    /// Rule statistics to start from when the engine starts without state (no checkpoint,
    /// or `--reset-state`): a `rules.json` that `noisegate replay` wrote after replaying past
    /// traffic with its acknowledgements. Relative to this file. "" starts from the priors.
    pub learned_rules: String,
    /// Changes (PagerDuty Change Events) to a cluster's services or team from this long
    /// before it opened show on its page and record.
    #[serde(with = "humantime_serde")]
    pub change_lookback: Duration,
    /// The longest a sender may go without sending a firing alert again: Alertmanager's
    /// `repeat_interval` plus `group_interval` (4h + 5m by default). An Alertmanager, Grafana
    /// or Prometheus alert that comes back with a later `startsAt` after longer than this
    /// unheard had its earlier episode end unreported (a receiver with `send_resolved:
    /// false`, a lost notification): that episode is taken as over when last heard. So is
    /// one not sent again at all for this long (of observed time: see `Engine::unheard`).
    /// Zero: neither.
    #[serde(with = "humantime_serde")]
    pub max_resend_interval: Duration,
}

impl Default for RawEngine {
    fn default() -> Self {
        RawEngine {
            allowed_lateness: Duration::from_secs(60),
            close_quiet: Duration::from_secs(300),
            max_active_alerts: 1_000_000,
            max_rules: 100_000,
            learned_rules: String::new(),
            change_lookback: Duration::from_secs(3600),
            max_resend_interval: Duration::from_secs(4 * 3600 + 300),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawFlapping {
    /// An alert is flapping after more than this many state changes (fire↔resolve)...
    pub max_transitions: u32,
    /// ...within this window.
    #[serde(with = "humantime_serde")]
    pub window: Duration,
    /// It stops flapping after this long without a state change.
    #[serde(with = "humantime_serde")]
    pub quiet: Duration,
}

impl Default for RawFlapping {
    fn default() -> Self {
        RawFlapping {
            max_transitions: 4,
            window: Duration::from_secs(3600),
            quiet: Duration::from_secs(1800),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawHold {
    /// How long a new alert of each severity waits before it may page, until its rule has
    /// `min_history` episodes. Resolved within it, it never pages (it is still recorded).
    #[serde(with = "humantime_serde")]
    pub critical: Duration,
    #[serde(with = "humantime_serde")]
    pub error: Duration,
    #[serde(with = "humantime_serde")]
    pub warning: Duration,
    #[serde(with = "humantime_serde")]
    pub info: Duration,
    /// Learn each rule's hold from its history (non-critical rules only): a rule that usually
    /// resolves by itself within `max` is held long enough to cover that; a rule that
    /// usually does not is not held at all.
    pub learn: bool,
    /// Cap on any learned hold.
    #[serde(with = "humantime_serde")]
    pub max: Duration,
    /// Episodes of a rule seen before its history overrides the severity default.
    pub min_history: u32,
    /// Critical alerts page at once. When true, a critical alert whose rule's history says
    /// its episodes nearly always clear by themselves within `max` is scored like any other
    /// alert still firing (its `transient` feature is that expectation), so it may page only
    /// once it outlives those quick resolutions.
    pub critical_may_wait: bool,
}

impl Default for RawHold {
    fn default() -> Self {
        RawHold {
            critical: Duration::ZERO,
            error: Duration::ZERO,
            warning: Duration::from_secs(120),
            info: Duration::from_secs(120),
            learn: true,
            max: Duration::from_secs(300),
            min_history: 8,
            critical_may_wait: false,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawCorrelation {
    /// A cluster takes in new alerts until this long after the last alert joined it.
    #[serde(with = "humantime_serde")]
    pub window: Duration,
    /// Alerts with the same values of all these labels join the same cluster.
    pub group_by: Vec<String>,
    /// Dependency topology file (relative to this config file): `[services] name = [deps]`.
    /// Empty: no topology links.
    pub topology: String,
    /// Services this many dependency hops apart (either direction) are neighbours; an alert
    /// joins a cluster holding a neighbour of its service. 0: same service only.
    pub topology_depth: u32,
    /// Text similarity (0..1, SimHash over the alert's normalised name, summary and label
    /// values: numbers, ids and hex stripped) at or above which an alert joins a cluster.
    /// 1.0 disables text links.
    pub text_similarity: f64,
    /// Most alerts one cluster may absorb, so one label match cannot swallow a fleet.
    pub max_alerts_per_cluster: usize,
    /// Alerts about the same service that start within this of each other link whatever
    /// their severity (one cause, several symptoms of it). "0s" turns this link off.
    #[serde(with = "humantime_serde")]
    pub onset_window: Duration,
    /// How long after a cluster's join window has passed a late symptom of a failure still
    /// firing there (an alert on the failing service itself) may still join it. "0s": never.
    #[serde(with = "humantime_serde")]
    pub late_symptom_window: Duration,
    /// Labels naming the service an alert's service was calling when it failed (OpenTelemetry
    /// `peer.service`, newer `service.peer.name`): an observed dependency edge, used like one
    /// from the topology. Empty: none.
    pub peer_labels: Vec<String>,
}

impl Default for RawCorrelation {
    fn default() -> Self {
        RawCorrelation {
            window: Duration::from_secs(600),
            group_by: vec!["alertname".into(), "service".into()],
            topology: String::new(),
            topology_depth: 1,
            text_similarity: 0.9,
            max_alerts_per_cluster: 5000,
            onset_window: Duration::from_secs(60),
            late_symptom_window: Duration::from_secs(1800),
            peer_labels: vec!["peer.service".into(), "service.peer.name".into()],
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawWeights {
    pub severity: f64,
    pub flapping: f64,
    pub transient: f64,
    pub duplicate_rate: f64,
    pub blast_radius: f64,
    pub after_hours: f64,
    pub actionable_rate: f64,
}

impl Default for RawWeights {
    fn default() -> Self {
        RawWeights {
            severity: 4.0,
            flapping: -3.0,
            transient: -3.0,
            duplicate_rate: 0.0,
            blast_radius: 1.5,
            after_hours: -0.5,
            actionable_rate: 6.0,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawScore {
    /// score = sigmoid(bias + Σ weight × feature value); `noisegate tune` fits these.
    pub bias: f64,
    pub weights: RawWeights,
    /// Score at or above which a cluster pages.
    pub page_threshold: f64,
    /// Score at or above which a non-paging cluster becomes a ticket (else suppressed).
    pub ticket_threshold: f64,
    /// Actionable rate of a rule never seen (the top of the learning's back-off).
    pub prior_actionable_rate: f64,
    /// Pseudo-outcomes each learning level (rule, rule on a service) starts with at its
    /// parent's rate. 1 (Jeffreys' prior) by default: shared evidence from outages must be
    /// able to outweigh it (QUALITY.md).
    pub prior_strength: f64,
    /// A cluster nobody acknowledged teaches "not actioned" only if acknowledgements have
    /// been heard within this before it closed (any, for a cluster that paged; one that did
    /// not come through a noisegate page, for one that did not), counting from the first
    /// outcome. 0: always.
    #[serde(with = "humantime_serde")]
    pub feedback_window: Duration,
    /// Distinct rules on one service corroborate each other (noisy-OR of their rates).
    pub corroborate: bool,
}

impl Default for RawScore {
    fn default() -> Self {
        RawScore {
            bias: -5.0,
            weights: RawWeights::default(),
            page_threshold: 0.6,
            ticket_threshold: 0.3,
            prior_actionable_rate: 0.5,
            prior_strength: 1.0,
            feedback_window: Duration::from_secs(3 * 24 * 3600),
            corroborate: true,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawHours {
    /// IANA time zone, e.g. "Europe/Berlin".
    pub timezone: String,
    /// Business hours, local time "HH:MM".
    pub start: String,
    pub end: String,
    /// Business days: mon, tue, wed, thu, fri, sat, sun.
    pub days: Vec<String>,
}

impl Default for RawHours {
    fn default() -> Self {
        RawHours {
            timezone: "UTC".into(),
            start: "09:00".into(),
            end: "18:00".into(),
            days: ["mon", "tue", "wed", "thu", "fri"]
                .map(String::from)
                .to_vec(),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct RawBusinessHours {
    #[serde(flatten)]
    pub default: RawHours,
    /// Per-team overrides: `[business_hours.teams.payments]` with the same keys.
    pub teams: std::collections::BTreeMap<String, RawHours>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawPagerDuty {
    /// Routing key for pages whose team and service have none of their own.
    pub default_routing_key: String,
    /// Routing key per team (`team = "key"`).
    pub team_routing_keys: std::collections::BTreeMap<String, String>,
    /// Routing key per service, which wins over the team's.
    pub service_routing_keys: std::collections::BTreeMap<String, String>,
    /// `client` field of every event sent.
    pub client: String,
    /// `noisegate run` sends pages to this Events API v2 URL
    /// (`https://events.pagerduty.com/v2/enqueue`); "" (default) sends none (pages then go
    /// only to the Kafka `pages` topic).
    pub events_url: String,
    /// At most this many events per routing key within `rate_window` (PagerDuty documents
    /// about 120 a minute per integration key; 100 leaves room for retries elsewhere).
    pub rate_limit: u32,
    #[serde(with = "humantime_serde")]
    pub rate_window: Duration,
    /// Per-request timeout; a timeout is retried.
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
    /// First retry delay (doubled per failure, jittered, capped at `backoff_max`).
    #[serde(with = "humantime_serde")]
    pub backoff_base: Duration,
    #[serde(with = "humantime_serde")]
    pub backoff_max: Duration,
}

impl Default for RawPagerDuty {
    fn default() -> Self {
        RawPagerDuty {
            default_routing_key: "noisegate-default-routing-key".into(),
            team_routing_keys: Default::default(),
            service_routing_keys: Default::default(),
            client: "noisegate".into(),
            events_url: String::new(),
            rate_limit: 100,
            rate_window: Duration::from_secs(60),
            timeout: Duration::from_secs(10),
            backoff_base: Duration::from_secs(1),
            backoff_max: Duration::from_secs(60),
        }
    }
}

/// `[server]`: TLS and authentication for every listener `noisegate run` opens (webhooks,
/// OTLP/HTTP, OTLP/gRPC and the metrics endpoint).
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct RawServer {
    /// PEM certificate chain; with `tls_key_file`, every listener speaks TLS only.
    pub tls_cert_file: String,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1).
    pub tls_key_file: String,
    /// Where the bearer token is: "env:VAR" or "file:PATH". Set, every request must carry
    /// `Authorization: Bearer <token>` (401 otherwise; gRPC: UNAUTHENTICATED), except
    /// `/healthz` and `/readyz`, which probes reach without credentials.
    pub bearer_token: String,
}

/// `[kafka]`: live mode (`noisegate run`). Only `run` reads it; replay ignores it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawKafka {
    /// `bootstrap.servers`.
    pub brokers: String,
    /// Consumer group. One active instance per group: correlation needs all the traffic, so a
    /// second instance is a standby that takes over partitions when the first dies.
    pub group_id: String,
    /// Input topics, each with its format.
    pub inputs: Vec<RawKafkaInput>,
    /// Where a partition the group has never committed starts: "latest" (default: a new
    /// deployment must not page for last week's alerts) or "earliest" (backfills, tests).
    pub start_from: String,
    pub topics: RawKafkaTopics,
    /// Encoding of the `clusters` topic: "json" or "protobuf" (`noisegate.v1.ClusterRecord`).
    pub clusters_encoding: String,
    /// Where checkpoints live. Relative paths are relative to the config file.
    pub state_dir: PathBuf,
    /// How often engine state and input offsets are checkpointed (and offsets committed).
    #[serde(with = "humantime_serde")]
    pub checkpoint_interval: Duration,
    /// Event time runs on with the wall clock between events while input is live (webhooks
    /// and OTLP receivers, or Kafka read to its high watermark) or after this long without
    /// input, so holds and closes fire even when only re-sends arrive. "0s": never; time
    /// moves only with events.
    #[serde(with = "humantime_serde")]
    pub idle_advance_after: Duration,
    /// Most messages handed to the engine at once.
    pub max_batch: usize,
    /// Output messages not yet acknowledged by the broker before input is paused.
    pub max_in_flight: usize,
    /// Graceful shutdown (SIGTERM/SIGINT) must finish within this: flush, checkpoint, commit.
    #[serde(with = "humantime_serde")]
    pub shutdown_timeout: Duration,
    /// Extra librdkafka properties for both clients (e.g. `"security.protocol" = "SSL"`).
    pub client: std::collections::BTreeMap<String, String>,
}

impl Default for RawKafka {
    fn default() -> Self {
        RawKafka {
            brokers: "127.0.0.1:9092".into(),
            group_id: "noisegate".into(),
            inputs: Vec::new(),
            start_from: "latest".into(),
            topics: RawKafkaTopics::default(),
            clusters_encoding: "json".into(),
            state_dir: PathBuf::from("noisegate-state"),
            checkpoint_interval: Duration::from_secs(5),
            idle_advance_after: Duration::from_secs(30),
            max_batch: 1024,
            max_in_flight: 20_000,
            shutdown_timeout: Duration::from_secs(30),
            client: Default::default(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawKafkaInput {
    pub topic: String,
    /// alertmanager, grafana, pagerduty-v2, pagerduty-v3, pagerduty-webhook-v2,
    /// grafana-legacy, otlp-proto, otlp-json, prometheus or auto.
    #[serde(default = "auto")]
    pub format: String,
}

fn auto() -> String {
    "auto".into()
}

/// Output topics. An empty name turns that output off.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawKafkaTopics {
    /// PagerDuty Events v2 JSON, keyed by `dedup_key`.
    pub pages: String,
    /// Records of clusters decided `ticket`, keyed by cluster id.
    pub tickets: String,
    /// Every closed cluster record, keyed by cluster id.
    pub clusters: String,
    /// Unusable input messages, raw, with reason headers.
    pub deadletter: String,
}

impl Default for RawKafkaTopics {
    fn default() -> Self {
        RawKafkaTopics {
            pages: "noisegate.pages".into(),
            tickets: "noisegate.tickets".into(),
            clusters: "noisegate.clusters".into(),
            deadletter: "noisegate.deadletter".into(),
        }
    }
}

/// `[metrics]`: the service's HTTP endpoint for `/metrics`, `/healthz` and `/readyz`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawMetrics {
    /// Address to listen on; "" turns the endpoint off.
    pub listen: String,
    /// Distinct team, service and rule label values exported before the rest are counted
    /// under "other" (bounded series count, whatever the traffic).
    pub max_label_values: usize,
}

impl Default for RawMetrics {
    fn default() -> Self {
        RawMetrics {
            listen: "0.0.0.0:9464".into(),
            max_label_values: 100,
        }
    }
}

/// `[webhooks]`: HTTP endpoints that take alert webhooks straight in (`noisegate run`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawWebhooks {
    /// Address to listen on, e.g. "0.0.0.0:8080"; "" (default) turns webhooks off.
    pub listen: String,
    /// Requests waiting for the engine before new ones get 503 + Retry-After.
    pub queue: usize,
    /// Where the PagerDuty v3 webhook signing secret is: "env:VAR" or "file:PATH" (never the
    /// secret itself). Set, `/api/v1/pagerduty/webhook` answers 401 to a request without a
    /// valid `X-PagerDuty-Signature`; "" accepts unsigned requests (and says so at start).
    pub pagerduty_secret: String,
    /// When a webhook (or OTLP request) is answered 200: "received" (default) once the engine
    /// has it, or "checkpointed" once its effects are delivered (pages accepted, outputs
    /// acknowledged) and the checkpoint holding it is on disk: a crash then loses nothing
    /// the sender was told is safe, at the cost of ~100 ms–1 s per answer.
    pub ack: String,
}

impl Default for RawWebhooks {
    fn default() -> Self {
        RawWebhooks {
            ack: "received".into(),
            pagerduty_secret: String::new(),
            listen: String::new(),
            queue: 1024,
        }
    }
}

/// A secret value: `Debug` never shows it.
#[derive(Clone)]
pub struct Secret(pub Vec<u8>);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

/// `[metrics]`, validated.
#[derive(Debug, Clone)]
pub struct MetricsConfig {
    pub listen: Option<std::net::SocketAddr>,
    pub max_label_values: usize,
    /// `[webhooks] listen`.
    pub webhooks: Option<std::net::SocketAddr>,
    pub webhook_queue: usize,
    /// `[webhooks] ack = "checkpointed"`: answer receivers only after the checkpoint.
    pub ack_checkpointed: bool,
    /// The PagerDuty v3 webhook signing secret, read from where `[webhooks]
    /// pagerduty_secret` points. Not printed by `Debug`.
    pub pagerduty_secret: Option<Secret>,
    /// `[otlp] http_listen`.
    pub otlp_http: Option<std::net::SocketAddr>,
    /// `[otlp] grpc_listen`.
    pub otlp_grpc: Option<std::net::SocketAddr>,
    /// `[server] tls_*`: every listener serves TLS with this identity.
    pub tls: Option<crate::tls::Identity>,
    /// `[server] bearer_token`.
    pub bearer_token: Option<Secret>,
}

/// `[kafka]`, validated.
#[derive(Debug, Clone)]
pub struct KafkaConfig {
    pub brokers: String,
    pub group_id: String,
    /// (topic, format); `None` is auto-detect.
    pub inputs: Vec<(String, Option<crate::decode::Format>)>,
    /// "earliest" or "latest".
    pub start_from: String,
    pub pages_topic: Option<String>,
    pub tickets_topic: Option<String>,
    pub clusters_topic: Option<String>,
    pub deadletter_topic: Option<String>,
    pub clusters_protobuf: bool,
    pub state_dir: PathBuf,
    pub checkpoint_interval: Duration,
    pub idle_advance_after: Option<Duration>,
    pub max_batch: usize,
    pub max_in_flight: usize,
    pub shutdown_timeout: Duration,
    pub client: std::collections::BTreeMap<String, String>,
}

/// The validated, compiled configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub decode: DecodeOptions,
    pub max_payload_bytes: usize,
    /// `[input] max_clock_skew` in ms; 0: off.
    pub max_clock_skew_ms: i64,
    /// `[input] deadletter_file` (resolved against the config file's folder) and its size cap.
    pub deadletter_file: Option<(PathBuf, u64)>,
    pub engine: EngineConfig,
    /// `[oncall]`: rotations for the weekly report.
    pub oncall: crate::report::config::Oncall,
    pub kafka: KafkaConfig,
    pub metrics: MetricsConfig,
    /// `[pagerduty] events_url` and its shaping; `None` sends no pages over HTTP.
    pub pagerduty_sink: Option<crate::exporters::pagerduty::SinkConfig>,
}

/// What the engine needs, validated.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    pub allowed_lateness_ms: i64,
    /// How long before a cluster opened a change to its services still shows on it.
    pub change_lookback_ms: i64,
    pub close_quiet_ms: i64,
    /// See `RawEngine::max_resend_interval`.
    pub max_resend_interval_ms: i64,
    pub max_active_alerts: usize,
    pub max_rules: usize,
    pub flap: FlapConfig,
    pub hold: HoldConfig,
    pub correlation: CorrelationConfig,
    pub score: ScoreConfig,
    pub hours: BusinessHours,
    pub default_routing_key: String,
    pub team_routing_keys: std::collections::BTreeMap<String, String>,
    pub service_routing_keys: std::collections::BTreeMap<String, String>,
    pub client: String,
    /// What a fresh engine starts from (`engine.learned_rules`); a restored one keeps its
    /// own.
    pub initial_rules: Option<Arc<crate::engine::rules::RuleBook>>,
}

#[derive(Debug, Clone)]
pub struct FlapConfig {
    pub max_transitions: u32,
    pub window_ms: i64,
    pub quiet_ms: i64,
}

#[derive(Debug, Clone)]
pub struct HoldConfig {
    /// Indexed by `Severity as usize` (info, warning, error, critical).
    pub by_severity_ms: [i64; 4],
    pub learn: bool,
    pub max_ms: i64,
    pub min_history: u32,
    pub critical_may_wait: bool,
}

#[derive(Debug, Clone)]
pub struct CorrelationConfig {
    pub window_ms: i64,
    pub group_by: Vec<String>,
    pub topology: Topology,
    pub text_similarity: f64,
    pub max_alerts_per_cluster: usize,
    pub onset_window_ms: i64,
    pub late_symptom_window_ms: i64,
    pub peer_labels: Vec<String>,
}

/// Service dependency topology, compiled to neighbour sets within the configured depth.
#[derive(Debug, Clone, Default)]
pub struct Topology {
    neighbours: std::collections::HashMap<String, std::collections::HashSet<String>>,
    /// Per service, what it depends on within the depth (following dependency edges only).
    depends_on: std::collections::HashMap<String, std::collections::HashSet<String>>,
}

impl Topology {
    /// Builds neighbour sets (undirected, up to `depth` hops) from `service → dependencies`.
    pub fn build(deps: &std::collections::BTreeMap<String, Vec<String>>, depth: u32) -> Topology {
        use std::collections::{HashMap, HashSet};
        let mut adj: HashMap<&str, HashSet<&str>> = HashMap::new();
        for (s, ds) in deps {
            adj.entry(s.as_str()).or_default();
            for d in ds {
                adj.entry(s.as_str()).or_default().insert(d.as_str());
                adj.entry(d.as_str()).or_default().insert(s.as_str());
            }
        }
        let mut down: HashMap<&str, HashSet<&str>> = HashMap::new();
        for (s, ds) in deps {
            down.entry(s.as_str())
                .or_default()
                .extend(ds.iter().map(String::as_str));
        }
        let within = |adj: &HashMap<&str, HashSet<&str>>| {
            let mut out: std::collections::HashMap<String, HashSet<String>> = HashMap::new();
            for &start in adj.keys() {
                let mut seen: HashSet<&str> = HashSet::from([start]);
                let mut frontier = vec![start];
                for _ in 0..depth {
                    let mut next = Vec::new();
                    for n in frontier {
                        for &m in adj.get(n).into_iter().flatten() {
                            if seen.insert(m) {
                                next.push(m);
                            }
                        }
                    }
                    frontier = next;
                }
                seen.remove(start);
                out.insert(
                    start.to_string(),
                    seen.into_iter().map(String::from).collect(),
                );
            }
            out
        };
        Topology {
            neighbours: within(&adj),
            depends_on: within(&down),
        }
    }

    /// Whether `a` depends on `b` (directly or within the depth): `b` failing explains
    /// symptoms on `a`.
    pub fn depends(&self, a: &str, b: &str) -> bool {
        self.depends_on.get(a).is_some_and(|d| d.contains(b))
    }

    /// Whether two services are the same or neighbours.
    pub fn related(&self, a: &str, b: &str) -> bool {
        a == b || self.neighbours.get(a).is_some_and(|n| n.contains(b))
    }

    pub fn is_empty(&self) -> bool {
        self.neighbours.is_empty()
    }
}

/// The weights of the score's features.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Weights {
    pub severity: f64,
    pub flapping: f64,
    pub transient: f64,
    pub duplicate_rate: f64,
    pub blast_radius: f64,
    pub after_hours: f64,
    pub actionable_rate: f64,
}

#[derive(Debug, Clone)]
pub struct ScoreConfig {
    pub bias: f64,
    pub weights: Weights,
    pub page_threshold: f64,
    pub ticket_threshold: f64,
    /// Where learning of actionable rates starts (see `engine::rules`).
    pub prior: crate::engine::rules::Prior,
    /// `score.feedback_window` in ms; 0: silence always teaches.
    pub feedback_window_ms: i64,
    /// `score.corroborate`: a service's distinct rules combine (noisy-OR).
    pub corroborate: bool,
}

/// Business hours of one team, in its own time zone.
#[derive(Debug, Clone)]
pub struct Hours {
    pub tz: chrono_tz::Tz,
    /// Minutes after local midnight.
    pub start_min: u32,
    pub end_min: u32,
    /// Monday first.
    pub days: [bool; 7],
}

impl Hours {
    /// Whether `t` falls outside business hours (DST-correct, via the zone's rules).
    pub fn is_after_hours(&self, t: crate::event::EventTime) -> bool {
        use chrono::{Datelike, TimeZone, Timelike};
        let Some(utc) = chrono::DateTime::from_timestamp_millis(t.as_millis()) else {
            return false;
        };
        let local = self.tz.from_utc_datetime(&utc.naive_utc());
        let day = local.weekday().num_days_from_monday() as usize;
        let min = local.hour() * 60 + local.minute();
        !(self.days[day] && min >= self.start_min && min < self.end_min)
    }
}

#[derive(Debug, Clone)]
pub struct BusinessHours {
    pub default: Hours,
    pub teams: std::collections::BTreeMap<String, Hours>,
}

impl BusinessHours {
    pub fn for_team(&self, team: Option<&str>) -> &Hours {
        team.and_then(|t| self.teams.get(t))
            .unwrap_or(&self.default)
    }
}

fn parse_hhmm(s: &str) -> Option<u32> {
    let (h, m) = s.split_once(':')?;
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    (h <= 24 && m < 60 && h * 60 + m <= 24 * 60).then_some(h * 60 + m)
}

fn compile_hours(path: &str, key: &str, r: &RawHours) -> Result<Hours, ConfigError> {
    let inv = |k: &str, problem: String| ConfigError::Invalid {
        path: path.into(),
        key: format!("{key}{k}"),
        problem,
    };
    let tz: chrono_tz::Tz = r.timezone.parse().map_err(|_| {
        inv(
            "timezone",
            format!(
                "{:?} is not an IANA time zone (e.g. \"Europe/Berlin\")",
                r.timezone
            ),
        )
    })?;
    let start = parse_hhmm(&r.start)
        .ok_or_else(|| inv("start", format!("{:?} is not a time HH:MM", r.start)))?;
    let end =
        parse_hhmm(&r.end).ok_or_else(|| inv("end", format!("{:?} is not a time HH:MM", r.end)))?;
    if end <= start {
        return Err(inv(
            "end",
            format!("{} is not after start {}", r.end, r.start),
        ));
    }
    let mut days = [false; 7];
    for (i, d) in r.days.iter().enumerate() {
        let idx = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
            .iter()
            .position(|x| x.eq_ignore_ascii_case(d))
            .ok_or_else(|| {
                inv(
                    &format!("days[{i}]"),
                    format!("{d:?} is not a day (mon..sun)"),
                )
            })?;
        days[idx] = true;
    }
    Ok(Hours {
        tz,
        start_min: start,
        end_min: end,
        days,
    })
}

fn duration_ms(path: &str, key: &str, d: Duration) -> Result<i64, ConfigError> {
    i64::try_from(d.as_millis()).map_err(|_| ConfigError::Invalid {
        path: path.into(),
        key: key.into(),
        problem: "too large".into(),
    })
}

impl Default for Config {
    fn default() -> Self {
        Config::compile(RawConfig::default(), "<defaults>").expect("defaults are valid")
    }
}

/// A path the config file names, relative to the directory the config file is in (an
/// absolute one stays as it is).
fn beside(config_path: &str, p: impl AsRef<Path>) -> PathBuf {
    Path::new(config_path)
        .parent()
        .unwrap_or(Path::new("."))
        .join(p)
}

fn non_empty(path: &str, key: &str, v: &[String]) -> Result<(), ConfigError> {
    if let Some(i) = v.iter().position(|s| s.trim().is_empty()) {
        return Err(ConfigError::Invalid {
            path: path.into(),
            key: format!("{key}[{i}]"),
            problem: "must not be empty".into(),
        });
    }
    Ok(())
}

impl Config {
    /// Reads and validates a config file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let p = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            path: p.clone(),
            source,
        })?;
        Self::parse(&text, &p)
    }

    /// Parses and validates config text; `path` is only used in messages.
    pub fn parse(text: &str, path: &str) -> Result<Config, ConfigError> {
        let de = toml::Deserializer::parse(text).map_err(|e| ConfigError::Parse {
            path: path.into(),
            key: String::from("(file)"),
            problem: e.to_string().trim().to_string(),
        })?;
        let raw: RawConfig = serde_path_to_error::deserialize(de).map_err(|e| {
            let key = e.path().to_string();
            let inner = e.into_inner();
            // toml's message carries the line and a caret; keep its last line, the problem.
            let msg = inner.message().to_string();
            let line = inner.span().map(|s| {
                text.as_bytes()[..s.start.min(text.len())]
                    .iter()
                    .filter(|&&b| b == b'\n')
                    .count()
                    + 1
            });
            ConfigError::Parse {
                path: path.into(),
                key: if key == "." {
                    "(top level)".into()
                } else {
                    key
                },
                problem: match line {
                    Some(l) => format!("{msg} (line {l})"),
                    None => msg,
                },
            }
        })?;
        Self::compile(raw, path)
    }

    /// Second phase: validates values and builds the compiled config.
    pub fn compile(raw: RawConfig, path: &str) -> Result<Config, ConfigError> {
        let inv = |key: &str, problem: String| ConfigError::Invalid {
            path: path.into(),
            key: key.into(),
            problem,
        };
        let default_severity =
            Severity::parse_loose(&raw.labels.default_severity).ok_or_else(|| {
                inv(
                    "labels.default_severity",
                    format!(
                        "{:?} is not a severity (critical, error, warning, info)",
                        raw.labels.default_severity
                    ),
                )
            })?;
        for (key, v) in [
            ("labels.service", &raw.labels.service),
            ("labels.team", &raw.labels.team),
            ("labels.severity", &raw.labels.severity),
            ("otlp.alertname_attributes", &raw.otlp.alertname_attributes),
            ("otlp.status_attributes", &raw.otlp.status_attributes),
            ("otlp.label_allow", &raw.otlp.label_allow),
            ("otlp.label_deny", &raw.otlp.label_deny),
        ] {
            non_empty(path, key, v)?;
        }
        if raw.otlp.alertname_attributes.is_empty() {
            return Err(inv(
                "otlp.alertname_attributes",
                "needs at least one attribute name, or no log record can become an alert".into(),
            ));
        }
        if raw.input.max_payload_bytes < 1024 {
            return Err(inv(
                "input.max_payload_bytes",
                format!(
                    "{} is too small; at least 1024 bytes",
                    raw.input.max_payload_bytes
                ),
            ));
        }
        if raw.engine.max_active_alerts == 0 {
            return Err(inv("engine.max_active_alerts", "must be at least 1".into()));
        }
        if raw.pagerduty.default_routing_key.trim().is_empty() {
            return Err(inv(
                "pagerduty.default_routing_key",
                "must not be empty".into(),
            ));
        }
        for (table, m) in [
            (
                "pagerduty.team_routing_keys",
                &raw.pagerduty.team_routing_keys,
            ),
            (
                "pagerduty.service_routing_keys",
                &raw.pagerduty.service_routing_keys,
            ),
        ] {
            if let Some((k, _)) = m.iter().find(|(_, v)| v.trim().is_empty()) {
                return Err(inv(
                    &format!("{table}.{k}"),
                    "routing key must not be empty".into(),
                ));
            }
        }
        let ms = |key: &str, d: Duration| duration_ms(path, key, d);
        let lateness = ms("engine.allowed_lateness", raw.engine.allowed_lateness)?;
        let resolve_timeout = ms("otlp.resolve_timeout", raw.otlp.resolve_timeout)?;
        let close_quiet = ms("engine.close_quiet", raw.engine.close_quiet)?;
        let skew = ms("input.max_clock_skew", raw.input.max_clock_skew)?;
        let change_lookback = ms("engine.change_lookback", raw.engine.change_lookback)?;
        let max_resend = ms("engine.max_resend_interval", raw.engine.max_resend_interval)?;
        if raw.engine.max_rules == 0 {
            return Err(inv("engine.max_rules", "must be at least 1".into()));
        }

        let f = &raw.flapping;
        if f.max_transitions == 0 {
            return Err(inv("flapping.max_transitions", "must be at least 1".into()));
        }
        let flap = FlapConfig {
            max_transitions: f.max_transitions,
            window_ms: ms("flapping.window", f.window)?,
            quiet_ms: ms("flapping.quiet", f.quiet)?,
        };
        if flap.window_ms <= 0 {
            return Err(inv("flapping.window", "must be longer than 0s".into()));
        }

        let h = &raw.hold;
        let hold = HoldConfig {
            by_severity_ms: [
                ms("hold.info", h.info)?,
                ms("hold.warning", h.warning)?,
                ms("hold.error", h.error)?,
                ms("hold.critical", h.critical)?,
            ],
            learn: h.learn,
            max_ms: ms("hold.max", h.max)?,
            min_history: h.min_history,
            critical_may_wait: h.critical_may_wait,
        };

        let c = &raw.correlation;
        non_empty(path, "correlation.group_by", &c.group_by)?;
        if !(0.0..=1.0).contains(&c.text_similarity) || c.text_similarity.is_nan() {
            return Err(inv(
                "correlation.text_similarity",
                format!("{} is not between 0 and 1", c.text_similarity),
            ));
        }
        if c.max_alerts_per_cluster == 0 {
            return Err(inv(
                "correlation.max_alerts_per_cluster",
                "must be at least 1".into(),
            ));
        }
        let initial_rules = if raw.engine.learned_rules.trim().is_empty() {
            None
        } else {
            let rp = beside(path, &raw.engine.learned_rules);
            let bytes = std::fs::read(&rp).map_err(|e| {
                inv(
                    "engine.learned_rules",
                    format!("cannot read {}: {e}", rp.display()),
                )
            })?;
            let book: crate::engine::rules::RuleBook =
                serde_json::from_slice(&bytes).map_err(|e| {
                    inv(
                        "engine.learned_rules",
                        format!(
                            "{} is not a rules.json written by `noisegate replay`: {e}",
                            rp.display()
                        ),
                    )
                })?;
            Some(Arc::new(book))
        };
        let topology = if c.topology.trim().is_empty() {
            Topology::default()
        } else {
            let tp = beside(path, &c.topology);
            let text = std::fs::read_to_string(&tp).map_err(|e| {
                inv(
                    "correlation.topology",
                    format!("cannot read {}: {e}", tp.display()),
                )
            })?;
            #[derive(Deserialize)]
            #[serde(deny_unknown_fields)]
            struct TopologyFile {
                services: std::collections::BTreeMap<String, Vec<String>>,
            }
            let t: TopologyFile = toml::from_str(&text).map_err(|e| {
                inv(
                    "correlation.topology",
                    format!("{}: {}", tp.display(), e.message()),
                )
            })?;
            Topology::build(&t.services, c.topology_depth)
        };
        let correlation = CorrelationConfig {
            window_ms: ms("correlation.window", c.window)?,
            group_by: c.group_by.clone(),
            topology,
            text_similarity: c.text_similarity,
            max_alerts_per_cluster: c.max_alerts_per_cluster,
            onset_window_ms: ms("correlation.onset_window", c.onset_window)?,
            late_symptom_window_ms: ms("correlation.late_symptom_window", c.late_symptom_window)?,
            peer_labels: c.peer_labels.clone(),
        };

        let sc = &raw.score;
        let w = &sc.weights;
        for (key, v) in [
            ("score.bias", sc.bias),
            ("score.weights.severity", w.severity),
            ("score.weights.flapping", w.flapping),
            ("score.weights.transient", w.transient),
            ("score.weights.duplicate_rate", w.duplicate_rate),
            ("score.weights.blast_radius", w.blast_radius),
            ("score.weights.after_hours", w.after_hours),
            ("score.weights.actionable_rate", w.actionable_rate),
        ] {
            if !v.is_finite() {
                return Err(inv(key, format!("{v} is not a finite number")));
            }
        }
        for (key, v) in [
            ("score.page_threshold", sc.page_threshold),
            ("score.ticket_threshold", sc.ticket_threshold),
            ("score.prior_actionable_rate", sc.prior_actionable_rate),
        ] {
            if !(0.0..=1.0).contains(&v) {
                return Err(inv(key, format!("{v} is not between 0 and 1")));
            }
        }
        if !(sc.prior_strength.is_finite() && sc.prior_strength > 0.0) {
            return Err(inv(
                "score.prior_strength",
                format!("{} is not a positive number", sc.prior_strength),
            ));
        }
        if sc.ticket_threshold > sc.page_threshold {
            return Err(inv(
                "score.ticket_threshold",
                format!(
                    "{} is above score.page_threshold {}",
                    sc.ticket_threshold, sc.page_threshold
                ),
            ));
        }
        let score = ScoreConfig {
            bias: sc.bias,
            weights: Weights {
                severity: w.severity,
                flapping: w.flapping,
                transient: w.transient,
                duplicate_rate: w.duplicate_rate,
                blast_radius: w.blast_radius,
                after_hours: w.after_hours,
                actionable_rate: w.actionable_rate,
            },
            page_threshold: sc.page_threshold,
            ticket_threshold: sc.ticket_threshold,
            prior: crate::engine::rules::Prior {
                rate: sc.prior_actionable_rate,
                strength: sc.prior_strength,
            },
            feedback_window_ms: duration_ms(path, "score.feedback_window", sc.feedback_window)?,
            corroborate: sc.corroborate,
        };

        let bh = &raw.business_hours;
        let mut teams = std::collections::BTreeMap::new();
        for (team, hrs) in &bh.teams {
            teams.insert(
                team.clone(),
                compile_hours(path, &format!("business_hours.teams.{team}."), hrs)?,
            );
        }
        let hours = BusinessHours {
            default: compile_hours(path, "business_hours.", &bh.default)?,
            teams,
        };
        let oncall = crate::report::config::Oncall::compile(&raw.oncall, &hours, path)?;

        let kafka = compile_kafka(raw.kafka, path)?;
        // An optional listener: "" is off, anything else must be an address.
        let listen = |key: &str, v: &str, example: &str| {
            if v.trim().is_empty() {
                return Ok(None);
            }
            v.parse().map(Some).map_err(|_| {
                inv(
                    key,
                    format!("{v:?} is not an address like \"{example}\" (or \"\" for off)"),
                )
            })
        };
        let metrics = MetricsConfig {
            listen: listen("metrics.listen", &raw.metrics.listen, "0.0.0.0:9464")?,
            max_label_values: raw.metrics.max_label_values.max(1),
            webhooks: listen("webhooks.listen", &raw.webhooks.listen, "0.0.0.0:8080")?,
            webhook_queue: raw.webhooks.queue.max(1),
            ack_checkpointed: match raw.webhooks.ack.trim() {
                "received" => false,
                "checkpointed" => true,
                other => {
                    return Err(inv(
                        "webhooks.ack",
                        format!("{other:?} is not \"received\" or \"checkpointed\""),
                    ))
                }
            },
            pagerduty_secret: read_secret(&raw.webhooks.pagerduty_secret)
                .map_err(|p| inv("webhooks.pagerduty_secret", p))?,
            otlp_http: listen("otlp.http_listen", &raw.otlp.http_listen, "0.0.0.0:4318")?,
            otlp_grpc: listen("otlp.grpc_listen", &raw.otlp.grpc_listen, "0.0.0.0:4317")?,
            tls: compile_tls(&raw.server, path)?,
            bearer_token: {
                let t = read_secret(&raw.server.bearer_token)
                    .map_err(|p| inv("server.bearer_token", p))?;
                if t.as_ref().is_some_and(|t| t.0.is_empty()) {
                    return Err(inv("server.bearer_token", "the token is empty".into()));
                }
                t
            },
        };
        let pd = &raw.pagerduty;
        let pagerduty_sink = if pd.events_url.trim().is_empty() {
            None
        } else {
            let url = pd.events_url.trim();
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                return Err(inv(
                    "pagerduty.events_url",
                    format!("{url:?} is not an http(s) URL"),
                ));
            }
            if pd.rate_limit == 0 {
                return Err(inv(
                    "pagerduty.rate_limit",
                    "must be at least 1 event per window".into(),
                ));
            }
            if pd.rate_window.is_zero() {
                return Err(inv(
                    "pagerduty.rate_window",
                    "must be longer than 0s".into(),
                ));
            }
            if pd.backoff_base.is_zero() || pd.backoff_max < pd.backoff_base {
                return Err(inv(
                    "pagerduty.backoff_max",
                    "backoff_base must be > 0s and backoff_max at least backoff_base".into(),
                ));
            }
            Some(crate::exporters::pagerduty::SinkConfig {
                url: url.to_string(),
                shaper: crate::exporters::pagerduty::shaper::ShaperConfig {
                    limit: pd.rate_limit,
                    per: pd.rate_window,
                    backoff_base: pd.backoff_base,
                    backoff_max: pd.backoff_max,
                },
                timeout: pd.timeout.max(Duration::from_millis(100)),
            })
        };
        Ok(Config {
            decode: DecodeOptions {
                service_labels: raw.labels.service,
                service_ignore: raw.labels.service_ignore,
                team_labels: raw.labels.team,
                severity_labels: raw.labels.severity,
                default_severity,
                otlp: OtlpMapping {
                    alertname_attributes: raw.otlp.alertname_attributes,
                    status_attributes: raw.otlp.status_attributes,
                    labels: NameFilter {
                        allow: raw.otlp.label_allow,
                        deny: raw.otlp.label_deny,
                    },
                    resolve_timeout_ms: (resolve_timeout > 0).then_some(resolve_timeout),
                },
                routing_scopes: routing_scopes(
                    &raw.pagerduty.service_routing_keys,
                    &raw.pagerduty.team_routing_keys,
                ),
            },
            max_payload_bytes: raw.input.max_payload_bytes,
            max_clock_skew_ms: skew,
            deadletter_file: if raw.input.deadletter_file.as_os_str().is_empty() {
                None
            } else if raw.input.deadletter_file_max_bytes < 4096 {
                return Err(inv(
                    "input.deadletter_file_max_bytes",
                    "must be at least 4096 bytes".into(),
                ));
            } else {
                Some((
                    beside(path, &raw.input.deadletter_file),
                    raw.input.deadletter_file_max_bytes,
                ))
            },
            engine: EngineConfig {
                allowed_lateness_ms: lateness,
                change_lookback_ms: change_lookback,
                close_quiet_ms: close_quiet,
                max_resend_interval_ms: max_resend,
                max_active_alerts: raw.engine.max_active_alerts,
                max_rules: raw.engine.max_rules,
                flap,
                hold,
                correlation,
                score,
                hours,
                default_routing_key: raw.pagerduty.default_routing_key,
                team_routing_keys: raw.pagerduty.team_routing_keys,
                service_routing_keys: raw.pagerduty.service_routing_keys,
                client: raw.pagerduty.client,
                initial_rules,
            },
            oncall,
            kafka,
            metrics,
            pagerduty_sink,
        })
    }
}

/// Which service or team each configured routing key pages, for Change Events sent to it.
/// A key shared by several services names none of them (it still names its team).
fn routing_scopes(
    services: &std::collections::BTreeMap<String, String>,
    teams: &std::collections::BTreeMap<String, String>,
) -> Vec<crate::decode::RoutingScope> {
    use crate::decode::{routing_key_hash, RoutingScope};
    use std::collections::{BTreeMap, BTreeSet};
    // Per key: every service and every team it pages.
    let mut by_key: BTreeMap<u64, (BTreeSet<&str>, BTreeSet<&str>)> = BTreeMap::new();
    for (service, key) in services {
        by_key
            .entry(routing_key_hash(key))
            .or_default()
            .0
            .insert(service);
    }
    for (team, key) in teams {
        by_key
            .entry(routing_key_hash(key))
            .or_default()
            .1
            .insert(team);
    }
    let only = |names: &BTreeSet<&str>| match names.len() {
        1 => names.first().map(|n| (*n).into()),
        _ => None,
    };
    by_key
        .into_iter()
        .map(|(key_hash, (services, teams))| RoutingScope {
            key_hash,
            service: only(&services),
            team: only(&teams),
        })
        .collect()
}

/// A secret from where `v` points ("env:VAR" or "file:PATH"); "" is none. The error is the
/// problem, for the caller to put under its key.
fn read_secret(v: &str) -> Result<Option<Secret>, String> {
    let v = v.trim();
    if v.is_empty() {
        Ok(None)
    } else if let Some(var) = v.strip_prefix("env:") {
        let s = std::env::var(var).map_err(|_| format!("environment variable {var} is not set"))?;
        Ok(Some(Secret(s.trim().as_bytes().to_vec())))
    } else if let Some(file) = v.strip_prefix("file:") {
        let s = std::fs::read_to_string(file).map_err(|e| format!("cannot read {file}: {e}"))?;
        Ok(Some(Secret(s.trim().as_bytes().to_vec())))
    } else {
        Err("must be \"env:VAR\" or \"file:PATH\": secrets do not belong in the config file".into())
    }
}

fn compile_tls(s: &RawServer, path: &str) -> Result<Option<crate::tls::Identity>, ConfigError> {
    let inv = |key: &str, problem: String| ConfigError::Invalid {
        path: path.into(),
        key: key.into(),
        problem,
    };
    let (cert, key) = (s.tls_cert_file.trim(), s.tls_key_file.trim());
    match (cert.is_empty(), key.is_empty()) {
        (true, true) => return Ok(None),
        (false, true) => {
            return Err(inv(
                "server.tls_key_file",
                "is required with tls_cert_file".into(),
            ))
        }
        (true, false) => {
            return Err(inv(
                "server.tls_cert_file",
                "is required with tls_key_file".into(),
            ))
        }
        (false, false) => {}
    }
    let cert_pem = std::fs::read(cert)
        .map_err(|e| inv("server.tls_cert_file", format!("cannot read {cert}: {e}")))?;
    let key_pem = std::fs::read(key)
        .map_err(|e| inv("server.tls_key_file", format!("cannot read {key}: {e}")))?;
    crate::tls::Identity::new(cert_pem, key_pem)
        .map(Some)
        .map_err(|p| {
            let k = if p.starts_with("private key") {
                "server.tls_key_file"
            } else {
                "server.tls_cert_file"
            };
            inv(k, p)
        })
}

fn compile_kafka(k: RawKafka, path: &str) -> Result<KafkaConfig, ConfigError> {
    let inv = |key: &str, problem: String| ConfigError::Invalid {
        path: path.into(),
        key: key.into(),
        problem,
    };
    if k.brokers.trim().is_empty() {
        return Err(inv("kafka.brokers", "must not be empty".into()));
    }
    if k.group_id.trim().is_empty() {
        return Err(inv("kafka.group_id", "must not be empty".into()));
    }
    let mut inputs = Vec::with_capacity(k.inputs.len());
    for (i, input) in k.inputs.iter().enumerate() {
        if input.topic.trim().is_empty() {
            return Err(inv(
                &format!("kafka.inputs[{i}].topic"),
                "must not be empty".into(),
            ));
        }
        let format = if input.format == "auto" {
            None
        } else {
            Some(
                crate::decode::Format::ALL
                    .into_iter()
                    .find(|f| f.as_str() == input.format)
                    .ok_or_else(|| {
                        inv(
                            &format!("kafka.inputs[{i}].format"),
                            format!(
                                "{:?} is not a format ({}, auto)",
                                input.format,
                                crate::decode::Format::ALL.map(|f| f.as_str()).join(", ")
                            ),
                        )
                    })?,
            )
        };
        if inputs.iter().any(|(t, _)| t == &input.topic) {
            return Err(inv(
                &format!("kafka.inputs[{i}].topic"),
                format!("{:?} is listed twice", input.topic),
            ));
        }
        inputs.push((input.topic.clone(), format));
    }
    let t = &k.topics;
    let named = |s: &str| (!s.trim().is_empty()).then(|| s.to_string());
    for (key, topic) in [
        ("kafka.topics.pages", &t.pages),
        ("kafka.topics.tickets", &t.tickets),
        ("kafka.topics.clusters", &t.clusters),
        ("kafka.topics.deadletter", &t.deadletter),
    ] {
        if inputs.iter().any(|(i, _)| i == topic) {
            return Err(inv(
                key,
                format!("{topic:?} is also an input topic; outputs would feed back in"),
            ));
        }
    }
    if !matches!(k.start_from.as_str(), "earliest" | "latest") {
        return Err(inv(
            "kafka.start_from",
            format!("{:?} is not earliest or latest", k.start_from),
        ));
    }
    let clusters_protobuf = match k.clusters_encoding.as_str() {
        "json" => false,
        "protobuf" => true,
        other => {
            return Err(inv(
                "kafka.clusters_encoding",
                format!("{other:?} is not an encoding (json, protobuf)"),
            ))
        }
    };
    if k.checkpoint_interval < Duration::from_millis(10) {
        return Err(inv(
            "kafka.checkpoint_interval",
            "must be at least 10ms".into(),
        ));
    }
    if k.max_batch == 0 {
        return Err(inv("kafka.max_batch", "must be at least 1".into()));
    }
    if k.max_in_flight < 2 {
        return Err(inv("kafka.max_in_flight", "must be at least 2".into()));
    }
    let state_dir = beside(path, &k.state_dir);
    Ok(KafkaConfig {
        brokers: k.brokers,
        group_id: k.group_id,
        inputs,
        start_from: k.start_from,
        pages_topic: named(&t.pages),
        tickets_topic: named(&t.tickets),
        clusters_topic: named(&t.clusters),
        deadletter_topic: named(&t.deadletter),
        clusters_protobuf,
        state_dir,
        checkpoint_interval: k.checkpoint_interval,
        idle_advance_after: (!k.idle_advance_after.is_zero()).then_some(k.idle_advance_after),
        max_batch: k.max_batch,
        max_in_flight: k.max_in_flight,
        shutdown_timeout: k.shutdown_timeout,
        client: k.client,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        Config::parse(text, "t.toml").unwrap_err().to_string()
    }

    #[test]
    fn shipped_example_config_is_valid_and_matches_defaults() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/config/noisegate.toml");
        let c = Config::load(Path::new(path)).unwrap();
        let d = Config::default();
        assert_eq!(
            c.decode, d.decode,
            "config/noisegate.toml must show the defaults"
        );
        assert_eq!(c.max_payload_bytes, d.max_payload_bytes);
        assert_eq!(c.max_clock_skew_ms, d.max_clock_skew_ms);
        assert_eq!(c.engine.allowed_lateness_ms, d.engine.allowed_lateness_ms);
        assert_eq!(c.engine.close_quiet_ms, d.engine.close_quiet_ms);
        assert_eq!(c.engine.max_active_alerts, d.engine.max_active_alerts);
        assert_eq!(c.engine.max_rules, d.engine.max_rules);
        assert_eq!(c.engine.change_lookback_ms, d.engine.change_lookback_ms);
        assert_eq!(
            c.engine.max_resend_interval_ms,
            d.engine.max_resend_interval_ms
        );
        assert_eq!(c.engine.hold.by_severity_ms, d.engine.hold.by_severity_ms);
        assert_eq!(c.engine.score.weights, d.engine.score.weights);
        assert_eq!(c.engine.score.bias, d.engine.score.bias);
        assert_eq!(
            c.engine.correlation.window_ms,
            d.engine.correlation.window_ms
        );
        assert_eq!(c.engine.correlation.group_by, d.engine.correlation.group_by);
        assert_eq!(c.engine.flap.max_transitions, d.engine.flap.max_transitions);
        // The one key the shipped file sets beyond the defaults: the example topology.
        assert!(!c.engine.correlation.topology.is_empty());
        assert!(d.engine.correlation.topology.is_empty());
    }

    #[test]
    fn secrets_come_from_env_or_file_never_inline() {
        let e = err("[webhooks]\npagerduty_secret = \"hunter2\"\n");
        assert!(
            e.contains("webhooks.pagerduty_secret") && !e.contains("hunter2"),
            "{e}"
        );
        let e = err("[webhooks]\npagerduty_secret = \"env:NOISEGATE_TEST_UNSET_VAR\"\n");
        assert!(e.contains("NOISEGATE_TEST_UNSET_VAR"), "{e}");
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("s");
        std::fs::write(&f, "s3cret\n").unwrap();
        let c = Config::parse(
            &format!("[webhooks]\npagerduty_secret = \"file:{}\"\n", f.display()),
            "t.toml",
        )
        .unwrap();
        let s = c.metrics.pagerduty_secret.unwrap();
        assert_eq!(s.0, b"s3cret");
        assert!(!format!("{s:?}").contains("s3cret"));
    }

    #[test]
    fn listener_errors_name_the_key() {
        let e = err("[otlp]\ngrpc_listen = \"4317\"\n");
        assert!(
            e.contains("otlp.grpc_listen") && e.contains("0.0.0.0:4317"),
            "{e}"
        );
        let e = err("[webhooks]\nlisten = \"localhost\"\n");
        assert!(e.contains("webhooks.listen"), "{e}");
        let c = Config::parse("[metrics]\nlisten = \"\"\n", "t.toml").unwrap();
        assert!(c.metrics.listen.is_none());
    }

    #[test]
    fn kafka_errors_name_the_key() {
        let e = err("[[kafka.inputs]]\ntopic = \"a\"\nformat = \"xml\"\n");
        assert!(
            e.contains("kafka.inputs[0].format") && e.contains("xml"),
            "{e}"
        );
        let e = err("[kafka]\nclusters_encoding = \"avro\"\n");
        assert!(e.contains("kafka.clusters_encoding"), "{e}");
        let e = err("[[kafka.inputs]]\ntopic = \"noisegate.pages\"\n");
        assert!(e.contains("kafka.topics.pages"), "{e}");
        let c = Config::parse(
            "[kafka]\nstate_dir = \"st\"\n[[kafka.inputs]]\ntopic = \"am\"\nformat = \"alertmanager\"\n",
            "/etc/ng/x.toml",
        )
        .unwrap();
        assert_eq!(c.kafka.state_dir, Path::new("/etc/ng/st"));
        assert_eq!(
            c.kafka.inputs,
            vec![("am".to_string(), Some(crate::decode::Format::Alertmanager))]
        );
    }

    #[test]
    fn learned_rules_errors_name_the_key() {
        let e = err("[engine]\nlearned_rules = \"/nonexistent/rules.json\"\n");
        assert!(
            e.contains("engine.learned_rules") && e.contains("cannot read"),
            "{e}"
        );
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("rules.json"), "{\"clusters\": []}").unwrap();
        let cfg = dir.path().join("n.toml");
        let e = Config::parse(
            "[engine]\nlearned_rules = \"rules.json\"\n",
            cfg.to_str().unwrap(),
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("engine.learned_rules") && e.contains("not a rules.json"),
            "{e}"
        );
    }

    #[test]
    fn change_events_find_their_scope_by_the_routing_key_they_were_sent_to() {
        let c = Config::parse(
            "[engine]\nchange_lookback = \"30m\"\n\
             [pagerduty.service_routing_keys]\ncheckout = \"K1\"\nsearch = \"K2\"\nsearch-api = \"K2\"\nsearch-ui = \"K2\"\n\
             [pagerduty.team_routing_keys]\npayments = \"K1\"\n",
            "t.toml",
        )
        .unwrap();
        assert_eq!(c.engine.change_lookback_ms, 30 * 60_000);
        let scope = |k: &str| {
            c.decode
                .routing_scopes
                .iter()
                .find(|s| s.key_hash == crate::decode::routing_key_hash(k))
                .map(|s| (s.service.as_deref(), s.team.as_deref()))
        };
        assert_eq!(scope("K1"), Some((Some("checkout"), Some("payments"))));
        // Shared by several services: it names none of them.
        assert_eq!(scope("K2"), Some((None, None)));
        assert_eq!(scope("K3"), None);
        // The keys themselves are not kept.
        assert!(!format!("{:?}", c.decode).contains("K1"));
        let e = err("[engine]\nchange_lookback = \"a while\"\n");
        assert!(e.contains("engine.change_lookback"), "{e}");
        let e = err("[engine]\nmax_resend_interval = \"4 hours or so\"\n");
        assert!(e.contains("engine.max_resend_interval"), "{e}");
    }

    #[test]
    fn unknown_keys_are_named() {
        let e = err("[engine]\nallowed_latenes = \"1m\"\n");
        assert!(e.contains("engine"), "{e}");
        assert!(e.contains("allowed_latenes"), "{e}");
        assert!(e.contains("line 2"), "{e}");
        let e = err("bogus = 1\n");
        assert!(e.contains("bogus"), "{e}");
    }

    #[test]
    fn bad_values_are_named() {
        let e = err("[labels]\ndefault_severity = \"loud\"\n");
        assert!(
            e.contains("labels.default_severity") && e.contains("loud"),
            "{e}"
        );
        let e = err("[score]\npage_threshold = 1.5\n");
        assert!(e.contains("score.page_threshold"), "{e}");
        let e = err("[score]\nprior_actionable_rate = 2.0\n");
        assert!(e.contains("score.prior_actionable_rate"), "{e}");
        let e = err("[score]\nprior_strength = 0.0\n");
        assert!(e.contains("score.prior_strength"), "{e}");
        let e = err("[correlation]\nonset_window = \"soon\"\n");
        assert!(e.contains("correlation.onset_window"), "{e}");
        let e = err("[correlation]\nlate_symptom_window = \"later\"\n");
        assert!(e.contains("correlation.late_symptom_window"), "{e}");
        let e = err("[business_hours]\ntimezone = \"Mars/Olympus\"\n");
        assert!(
            e.contains("business_hours.timezone") && e.contains("Mars/Olympus"),
            "{e}"
        );
        let e = err("[business_hours.teams.payments]\ndays = [\"mon\", \"funday\"]\n");
        assert!(e.contains("business_hours.teams.payments.days[1]"), "{e}");
        let e = err("[correlation]\ntopology = \"nope.toml\"\n");
        assert!(
            e.contains("correlation.topology") && e.contains("nope.toml"),
            "{e}"
        );
        let e = err("[engine]\nallowed_lateness = \"soon\"\n");
        assert!(e.contains("engine.allowed_lateness"), "{e}");
        let e = err("[engine]\nmax_active_alerts = -1\n");
        assert!(e.contains("engine.max_active_alerts"), "{e}");
        let e = err("[input]\nmax_payload_bytes = \"big\"\n");
        assert!(e.contains("input.max_payload_bytes"), "{e}");
        let e = err("[input]\nmax_clock_skew = \"-5m\"\n");
        assert!(e.contains("input.max_clock_skew"), "{e}");
        let e = err("[pagerduty.team_routing_keys]\npayments = \"\"\n");
        assert!(e.contains("pagerduty.team_routing_keys.payments"), "{e}");
        let e = err("[labels\n");
        assert!(e.contains("t.toml"), "{e}");
    }
}
