//! Configuration in two phases: [`RawConfig`] is the TOML file as written (every field has a
//! default, unknown keys are errors), [`Config::compile`] validates it into the immutable
//! values the decoders and engine use. Every error names the dotted key and says what is
//! wrong. No other module reads config files.

use std::path::Path;
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
    pub routing: RawRouting,
    pub pagerduty: RawPagerDuty,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawLabels {
    /// Label names tried in order for an alert's service.
    pub service: Vec<String>,
    /// Label names tried in order for an alert's team.
    pub team: Vec<String>,
    /// Label names tried in order for an alert's severity.
    pub severity: Vec<String>,
    /// Severity of an alert whose payload says none.
    pub default_severity: String,
}

impl Default for RawLabels {
    fn default() -> Self {
        let d = DecodeOptions::default();
        RawLabels {
            service: d.service_labels,
            team: d.team_labels,
            severity: d.severity_labels,
            default_severity: d.default_severity.as_str().into(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawInput {
    /// Largest accepted payload (one NDJSON line, one Kafka message), in bytes.
    pub max_payload_bytes: usize,
}

impl Default for RawInput {
    fn default() -> Self {
        RawInput {
            max_payload_bytes: 1 << 20,
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
}

impl Default for RawEngine {
    fn default() -> Self {
        RawEngine {
            allowed_lateness: Duration::from_secs(60),
            close_quiet: Duration::from_secs(300),
            max_active_alerts: 1_000_000,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawRouting {
    /// Severities whose clusters page.
    pub page_severities: Vec<String>,
    /// Severities whose clusters become tickets; the rest are suppressed.
    pub ticket_severities: Vec<String>,
}

impl Default for RawRouting {
    fn default() -> Self {
        RawRouting {
            page_severities: vec!["critical".into(), "error".into()],
            ticket_severities: vec!["warning".into()],
        }
    }
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
}

impl Default for RawPagerDuty {
    fn default() -> Self {
        RawPagerDuty {
            default_routing_key: "noisegate-default-routing-key".into(),
            team_routing_keys: Default::default(),
            service_routing_keys: Default::default(),
            client: "noisegate".into(),
        }
    }
}

/// The validated, compiled configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub decode: DecodeOptions,
    pub max_payload_bytes: usize,
    pub engine: EngineConfig,
}

/// What the engine needs, validated.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    pub allowed_lateness_ms: i64,
    pub close_quiet_ms: i64,
    pub max_active_alerts: usize,
    pub page_severities: Vec<Severity>,
    pub ticket_severities: Vec<Severity>,
    pub default_routing_key: String,
    pub team_routing_keys: std::collections::BTreeMap<String, String>,
    pub service_routing_keys: std::collections::BTreeMap<String, String>,
    pub client: String,
}

impl Default for Config {
    fn default() -> Self {
        Config::compile(RawConfig::default(), "<defaults>").expect("defaults are valid")
    }
}

fn severity_list(path: &str, key: &str, v: &[String]) -> Result<Vec<Severity>, ConfigError> {
    v.iter()
        .enumerate()
        .map(|(i, s)| {
            Severity::parse_loose(s).ok_or_else(|| ConfigError::Invalid {
                path: path.into(),
                key: format!("{key}[{i}]"),
                problem: format!("{s:?} is not a severity (critical, error, warning, info)"),
            })
        })
        .collect()
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
        let page = severity_list(
            path,
            "routing.page_severities",
            &raw.routing.page_severities,
        )?;
        let ticket = severity_list(
            path,
            "routing.ticket_severities",
            &raw.routing.ticket_severities,
        )?;
        if let Some(s) = page.iter().find(|s| ticket.contains(s)) {
            return Err(inv(
                "routing.ticket_severities",
                format!("{s} is also in routing.page_severities; a severity has one route"),
            ));
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
        let lateness = i64::try_from(raw.engine.allowed_lateness.as_millis())
            .map_err(|_| inv("engine.allowed_lateness", "too large".into()))?;
        let resolve_timeout = i64::try_from(raw.otlp.resolve_timeout.as_millis())
            .map_err(|_| inv("otlp.resolve_timeout", "too large".into()))?;
        let close_quiet = i64::try_from(raw.engine.close_quiet.as_millis())
            .map_err(|_| inv("engine.close_quiet", "too large".into()))?;
        Ok(Config {
            decode: DecodeOptions {
                service_labels: raw.labels.service,
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
            },
            max_payload_bytes: raw.input.max_payload_bytes,
            engine: EngineConfig {
                allowed_lateness_ms: lateness,
                close_quiet_ms: close_quiet,
                max_active_alerts: raw.engine.max_active_alerts,
                page_severities: page,
                ticket_severities: ticket,
                default_routing_key: raw.pagerduty.default_routing_key,
                team_routing_keys: raw.pagerduty.team_routing_keys,
                service_routing_keys: raw.pagerduty.service_routing_keys,
                client: raw.pagerduty.client,
            },
        })
    }
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
        assert_eq!(c.engine.allowed_lateness_ms, d.engine.allowed_lateness_ms);
        assert_eq!(c.engine.close_quiet_ms, d.engine.close_quiet_ms);
        assert_eq!(c.engine.max_active_alerts, d.engine.max_active_alerts);
        assert_eq!(c.engine.page_severities, d.engine.page_severities);
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
        let e = err("[routing]\npage_severities = [\"critical\", \"sev9\"]\n");
        assert!(e.contains("routing.page_severities[1]"), "{e}");
        let e = err("[engine]\nallowed_lateness = \"soon\"\n");
        assert!(e.contains("engine.allowed_lateness"), "{e}");
        let e = err("[engine]\nmax_active_alerts = -1\n");
        assert!(e.contains("engine.max_active_alerts"), "{e}");
        let e = err("[input]\nmax_payload_bytes = \"big\"\n");
        assert!(e.contains("input.max_payload_bytes"), "{e}");
        let e = err("[pagerduty.team_routing_keys]\npayments = \"\"\n");
        assert!(e.contains("pagerduty.team_routing_keys.payments"), "{e}");
        let e = err("[labels\n");
        assert!(e.contains("t.toml"), "{e}");
    }
}
