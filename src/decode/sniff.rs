//! Format sniffing: which JSON wire format is this payload?
//!
//! Looks only at the top-level keys (values are skipped, not built), so it costs one
//! validating scan. Owns the rules that tell formats apart; does not decode anything.
//!
//! | top-level keys | format |
//! |---|---|
//! | `resourceLogs` / `resource_logs` | OTLP/JSON logs |
//! | `alerts` + any of `orgId`, `title`, `state`, `message`, or `version: "1"` | Grafana |
//! | `alerts` | Alertmanager |
//! | `event_action`, `routing_key` or `service_key` | PagerDuty Events API (v2, or v1) |
//! | `event` | PagerDuty webhook v3 |
//! | `labels` (or a top-level array) | Prometheus alerts (`POST /api/v2/alerts`) |
//! | `messages` | PagerDuty legacy (v2) webhook |
//! | `ruleName`, `ruleId` or `evalMatches` | Grafana legacy (dashboard) alerting webhook |
//!
//! (A top-level array whose first element is a payload of another format is a forwarder's
//! batch of payloads: receivers split it first, see [`super::batch`].)
//!
//! Recognised but refused with a precise reason: OTLP traces and metrics.
//!
//! [`decode_fast`] is the one-pass path `decode_auto` tries first for the high-volume
//! formats (OTLP/JSON logs, Alertmanager, Grafana): the first top-level key picks a decoder,
//! which parses the payload once and applies the table above to the keys it met. It answers
//! only when the payload decodes and the table gives that decoder's format, so it gives
//! exactly what sniff-then-decode gives; anything else (other formats, every error) takes
//! the two-pass path, which owns the precise errors.

use std::fmt;

use serde::de::{IgnoredAny, MapAccess, Visitor};
use serde::Deserializer;

use super::{Ctx, DecodeError, Decoded, Format};
use crate::event::AlertEvent;

#[derive(Default)]
struct Keys {
    alerts: bool,
    grafana_only: bool,
    version_one: bool,
    pd_v2: bool,
    event: bool,
    otlp_logs: bool,
    pd_legacy: bool,
    grafana_legacy: bool,
    labels: bool,
    otlp_other: Option<&'static str>,
    others: Vec<String>,
}

struct KeysVisitor;

impl<'de> Visitor<'de> for KeysVisitor {
    type Value = Keys;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Keys, A::Error> {
        let mut k = Keys::default();
        while let Some(key) = m.next_key::<std::borrow::Cow<'de, str>>()? {
            match key.as_ref() {
                "version" => {
                    // Alertmanager and Grafana send a string; tolerate anything else.
                    let v: serde_json::Value = m.next_value()?;
                    k.version_one = v.as_str() == Some("1");
                    continue;
                }
                "alerts" => k.alerts = true,
                "orgId" | "title" | "state" | "message" => k.grafana_only = true,
                "event_action" | "routing_key" | "service_key" => k.pd_v2 = true,
                "event" => k.event = true,
                "resourceLogs" | "resource_logs" => k.otlp_logs = true,
                "messages" => k.pd_legacy = true,
                "ruleName" | "ruleId" | "evalMatches" => k.grafana_legacy = true,
                "labels" => k.labels = true,
                "resourceSpans" | "resource_spans" => k.otlp_other = Some("traces"),
                "resourceMetrics" | "resource_metrics" => k.otlp_other = Some("metrics"),
                other => {
                    if k.others.len() < 8 {
                        k.others.push(other.to_string());
                    }
                }
            }
            m.next_value::<IgnoredAny>()?;
        }
        Ok(k)
    }
}

/// The first top-level key of a JSON object, if it has no escapes: a cheap look that picks
/// which one-pass decoder to try. Not validation; the decoder's full parse is.
fn first_key(text: &str) -> Option<&str> {
    let rest = text.trim_start_matches([' ', '\t', '\n', '\r']);
    let rest = rest.strip_prefix('{')?;
    let rest = rest.trim_start_matches([' ', '\t', '\n', '\r']);
    let rest = rest.strip_prefix('"')?;
    let end = memchr::memchr2(b'"', b'\\', rest.as_bytes())?;
    (rest.as_bytes()[end] == b'"').then(|| &rest[..end])
}

/// One pass instead of two (sniff, then decode) for the formats most payloads are in:
/// `Some` only with exactly what [`sniff`] then [`super::decode`] would give, `None` to
/// say "take the two-pass path" (other formats, and every error, whose precise reason
/// that path gives). On `None`, `out` is left as it was.
///
/// Why it agrees: the payload is valid UTF-8 (checked once here, so serde_json need not
/// check each string again); the decoder's parse validates the whole payload (anything it
/// accepts, sniffing's skipping parse accepts); and the decoder notes the top-level keys
/// that decide the format ([`super::alertmanager`]'s and [`super::otlp`]'s `Sniffed`).
pub(crate) fn decode_fast(
    bytes: &[u8],
    ctx: &Ctx<'_>,
    out: &mut Vec<AlertEvent>,
) -> Option<(Format, Decoded)> {
    let text = std::str::from_utf8(bytes).ok()?;
    let mark = out.len();
    let r = match first_key(text)? {
        "resourceLogs" | "resource_logs" => {
            super::otlp::decode_json_sniffed(text, ctx, out).map(|d| (Format::OtlpJson, d))
        }
        // Alertmanager sends `receiver` first; hand-written bodies often start elsewhere.
        "receiver" | "status" | "alerts" | "version" | "groupKey" | "orgId" => {
            super::alertmanager::decode_sniffed(text, ctx, out)
        }
        _ => None,
    };
    if r.is_none() {
        out.truncate(mark);
    }
    r
}

/// Tells the format of a JSON payload. Invalid JSON gets the same precise error a decoder
/// would give; a valid object that matches no format gets `UnknownFormat` naming its keys.
pub fn sniff(bytes: &[u8]) -> Result<Format, DecodeError> {
    // Skipped values are not UTF-8 checked by the parser; one fast pass here gives invalid
    // text its own reason whatever format it claims to be.
    if let Err(u) = std::str::from_utf8(bytes) {
        return Err(DecodeError::InvalidUtf8 {
            offset: u.valid_up_to(),
        });
    }
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    match first {
        None => return Err(DecodeError::Empty),
        Some(b'{') => {}
        // Prometheus posts its alerts to Alertmanager as one array.
        Some(b'[') => return Ok(Format::Prometheus),
        Some(_) => {
            // Let the JSON parser say what is wrong (bad syntax, bare scalar, bad UTF-8).
            super::from_json::<serde_json::Value>(bytes)?;
            return Err(DecodeError::UnknownFormat {
                detail: "top-level JSON value is not an object".into(),
            });
        }
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let keys = match de
        .deserialize_map(KeysVisitor)
        .and_then(|k| de.end().map(|_| k))
    {
        Ok(k) => k,
        Err(_) => {
            // Re-parse for a precise, path-qualified reason.
            return Err(super::from_json::<serde_json::Value>(bytes)
                .err()
                .unwrap_or_else(|| DecodeError::InvalidJson {
                    detail: "not a single JSON object".into(),
                }));
        }
    };
    if keys.otlp_logs {
        return Ok(Format::OtlpJson);
    }
    if keys.alerts {
        return Ok(if keys.grafana_only || keys.version_one {
            Format::Grafana
        } else {
            Format::Alertmanager
        });
    }
    if keys.pd_v2 {
        return Ok(Format::PagerDutyV2);
    }
    if keys.event {
        return Ok(Format::PagerDutyV3);
    }
    if keys.labels {
        return Ok(Format::Prometheus);
    }
    if keys.pd_legacy {
        return Ok(Format::PagerDutyWebhookV2);
    }
    if keys.grafana_legacy {
        return Ok(Format::GrafanaLegacy);
    }
    let detail = if let Some(kind) = keys.otlp_other {
        format!("OTLP {kind}, not logs: only OTLP logs carry alert events")
    } else if keys.others.is_empty() {
        "empty JSON object".to_string()
    } else {
        format!(
            "no known format has top-level keys {:?} (expected alerts, event_action, service_key, event, messages, labels, ruleName or resourceLogs)",
            keys.others
        )
    };
    Err(DecodeError::UnknownFormat { detail })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fx(p: &str) -> Vec<u8> {
        let path = format!("{}/../shared/fixtures/{p}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    #[test]
    fn sniffs_every_fixture_family() {
        let cases = [
            ("zulip-webhook-fixtures/alertmanager/alert.json", Format::Alertmanager),
            ("prometheus-msteams/prom_post_request.json", Format::Alertmanager),
            ("zulip-webhook-fixtures/grafana/alert-9.json", Format::Grafana),
            ("zulip-webhook-fixtures/grafana/alert_v8.json", Format::Grafana),
            ("zulip-webhook-fixtures/pagerduty/acknowledged_v3.json", Format::PagerDutyV3),
            ("go-pagerduty/webhookv3_test_body.json", Format::PagerDutyV3),
            (
                "pagerduty-developer-docs/webhooks-v2-legacy/incident_trigger.json",
                Format::PagerDutyWebhookV2,
            ),
            ("pagerduty-api-schema/enqueue_example_event.json", Format::PagerDutyV2),
            (
                "pagerduty-developer-docs/events-api-v2/trigger_events_03_example_request_payloads_resolve.json",
                Format::PagerDutyV2,
            ),
            ("opentelemetry-proto/logs.json", Format::OtlpJson),
            ("opentelemetry-python-sdk-1.45.2-otlp-capture/otlp_http_json_logs.json", Format::OtlpJson),
        ];
        for (p, f) in cases {
            assert_eq!(sniff(&fx(p)), Ok(f), "{p}");
        }
        // Grafana's legacy webhook (no fixture is published; the shape of its docs' example).
        let legacy = br#"{"dashboardId":1,"evalMatches":[],"orgId":1,"ruleId":1,
            "ruleName":"Panel Title alert","state":"alerting","title":"[Alerting] x"}"#;
        assert_eq!(sniff(legacy), Ok(Format::GrafanaLegacy));
    }

    /// `decode_fast` answers exactly when sniff-then-decode succeeds on the formats it
    /// serves, with the same result; it leaves the rest (and every error) to that path.
    #[test]
    fn one_pass_agrees_with_two_passes() {
        let opts = super::super::DecodeOptions::default();
        let ctx = Ctx {
            opts: &opts,
            received_at: None,
        };
        let rec = r#"{"timeUnixNano":"1700000000000000000","attributes":[{"key":"alertname","value":{"stringValue":"A"}}]}"#;
        let logs = format!(r#"[{{"scopeLogs":[{{"logRecords":[{rec}]}}]}}]"#);
        let alerts =
            r#"[{"status":"firing","labels":{"alertname":"B"},"startsAt":"2026-01-01T00:00:00Z"}]"#;
        let cases: Vec<(Vec<u8>, Option<Format>)> = vec![
            (
                format!(r#"{{"resourceLogs":{logs}}}"#).into(),
                Some(Format::OtlpJson),
            ),
            (
                format!(r#" {{ "resource_logs" : {logs} , "x": [1, {{"y": null}}]}}"#).into(),
                Some(Format::OtlpJson),
            ),
            // OTLP wins over `alerts`, whichever comes first.
            (
                format!(r#"{{"resourceLogs":{logs},"alerts":{alerts}}}"#).into(),
                Some(Format::OtlpJson),
            ),
            (
                format!(r#"{{"receiver":"r","alerts":{alerts},"resourceLogs":{logs}}}"#).into(),
                None,
            ),
            (
                format!(r#"{{"receiver":"r","alerts":{alerts},"version":"4"}}"#).into(),
                Some(Format::Alertmanager),
            ),
            (
                format!(r#"{{"receiver":"r","alerts":{alerts},"version":"1"}}"#).into(),
                Some(Format::Grafana),
            ),
            (
                format!(r#"{{"receiver":"r","alerts":{alerts},"state":"alerting"}}"#).into(),
                Some(Format::Grafana),
            ),
            (
                format!(r#"{{"receiver":"r","alerts":{alerts},"version":"1","version":"4"}}"#)
                    .into(),
                Some(Format::Alertmanager),
            ),
            // Sniffing parses `version` as a value: these are errors there.
            (
                format!(r#"{{"resourceLogs":{logs},"version":1e400}}"#).into(),
                None,
            ),
            (
                format!(r#"{{"receiver":"r","alerts":{alerts},"version":"\ud800"}}"#).into(),
                None,
            ),
            // Duplicate fields, other signals, wrong shapes, trailing bytes.
            (
                format!(r#"{{"resourceLogs":{logs},"resource_logs":{logs}}}"#).into(),
                None,
            ),
            (
                format!(r#"{{"resourceLogs":{logs},"resourceSpans":[]}}"#).into(),
                None,
            ),
            (
                format!(r#"{{"receiver":"r","alerts":{alerts},"alerts":{alerts}}}"#).into(),
                None,
            ),
            (br#"{"receiver":"r"}"#.to_vec(), None),
            (format!(r#"{{"resourceLogs":{logs}}} x"#).into(), None),
            // A first key that picks no one-pass decoder: the two-pass path says Alertmanager.
            (
                format!(r#"{{"routing_key":"k","alerts":{alerts}}}"#).into(),
                None,
            ),
            (
                br#"{"routing_key":"k","event_action":"trigger"}"#.to_vec(),
                None,
            ),
            // Invalid UTF-8 in a value the decoder skips.
            (
                [
                    format!(r#"{{"resourceLogs":{logs},"x":""#).as_bytes(),
                    b"\xff\"}",
                ]
                .concat(),
                None,
            ),
        ];
        for (bytes, fast_format) in cases {
            let payload = String::from_utf8_lossy(&bytes);
            let mut fast = Vec::new();
            let got = decode_fast(&bytes, &ctx, &mut fast);
            let mut two = Vec::new();
            let want = sniff(&bytes)
                .and_then(|f| super::super::decode(f, &bytes, &ctx, &mut two).map(|d| (f, d)));
            match got {
                Some(g) => {
                    assert_eq!(Ok(g), want, "{payload}");
                    assert_eq!(fast, two, "{payload}");
                }
                None => assert!(fast.is_empty(), "{payload}"),
            }
            let mut auto = Vec::new();
            assert_eq!(
                super::super::decode_auto(&bytes, &ctx, &mut auto),
                want,
                "{payload}"
            );
            assert_eq!(auto, two, "{payload}");
            // ... and it does serve the formats it is meant to.
            assert_eq!(got.map(|(f, _)| f), fast_format, "{payload}");
        }
    }

    #[test]
    fn refuses_with_reasons() {
        let traces = sniff(&fx("opentelemetry-proto/trace.json"));
        assert!(
            matches!(traces, Err(DecodeError::UnknownFormat { ref detail }) if detail.contains("traces"))
        );
        assert!(
            matches!(sniff(br#"{"foo": 1}"#), Err(DecodeError::UnknownFormat { ref detail }) if detail.contains("foo"))
        );
        assert_eq!(sniff(b"").unwrap_err(), DecodeError::Empty);
        // A top-level array is Prometheus' alert list; its decoder says what is wrong.
        assert_eq!(sniff(b"[1]"), Ok(Format::Prometheus));
        assert_eq!(sniff(b"42").unwrap_err().reason(), "unknown_format");
        assert_eq!(
            sniff(br#"{"alerts": [1,"#).unwrap_err().reason(),
            "truncated_json"
        );
        assert_eq!(sniff(b"nope").unwrap_err().reason(), "invalid_json");
        assert_eq!(
            sniff(b"{\"a\":\"\xc3\x28\"}").unwrap_err().reason(),
            "invalid_utf8"
        );
        assert_eq!(
            sniff(br#"{"alerts": []} {"#).unwrap_err().reason(),
            "invalid_json"
        );
    }
}
