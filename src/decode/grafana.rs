//! Grafana unified-alerting webhook decoder.
//!
//! Grafana's webhook is Alertmanager's body (`alerts[]` with labels, annotations, startsAt,
//! endsAt, fingerprint) plus extra fields (`orgId`, `title`, `state`, `message`, per-alert
//! `values`, `valueString`, `dashboardURL`, `panelURL`, `silenceURL`) and `version: "1"`.
//! The shared shape is parsed by `alertmanager::decode_webhook`; this file owns only what
//! differs: the source tag and the fingerprint rule below.
//!
//! Grafana computes its `fingerprint` over labels its webhook does not show (internal
//! `__alert_rule_uid__`-style labels), so ours, computed over the labels given, differs from
//! it by design; Grafana's value is kept as the event's `source_id`.

use super::{Ctx, DecodeError, Decoded};
use crate::event::{AlertEvent, Source};

pub fn decode(
    bytes: &[u8],
    ctx: &Ctx<'_>,
    out: &mut Vec<AlertEvent>,
) -> Result<Decoded, DecodeError> {
    super::alertmanager::decode_webhook(bytes, ctx, out, Source::Grafana)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::DecodeOptions;
    use crate::event::EventKind;

    fn run(p: &str) -> Vec<AlertEvent> {
        let path = format!("{}/../shared/fixtures/{p}", env!("CARGO_MANIFEST_DIR"));
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let opts = DecodeOptions::default();
        let ctx = Ctx {
            opts: &opts,
            received_at: None,
        };
        let mut out = Vec::new();
        decode(&bytes, &ctx, &mut out).unwrap_or_else(|e| panic!("{p}: {e}"));
        out
    }

    #[test]
    fn mixed_notification_keeps_per_alert_status() {
        let ev = run("zulip-webhook-fixtures/grafana/alert-9-mixed.json");
        assert_eq!(ev.len(), 3);
        assert!(ev.iter().any(|e| e.kind == EventKind::Resolved));
        assert!(ev.iter().any(|e| e.kind == EventKind::Firing));
        for e in &ev {
            assert_eq!(e.source, Source::Grafana);
            // Grafana's own fingerprint is kept, ours is over the visible labels.
            assert!(e.source_id.is_some());
            assert_eq!(e.fingerprint, e.labels.fingerprint());
        }
    }

    #[test]
    fn every_grafana_fixture_decodes() {
        for f in [
            "alert_v8.json",
            "alert-9.json",
            "alert-9-resolved.json",
            "alert_multiple_v8.json",
            "alert_values_v11.json",
            "alert-9-mixed.json",
        ] {
            let ev = run(&format!("zulip-webhook-fixtures/grafana/{f}"));
            assert!(!ev.is_empty(), "{f}");
            assert!(ev.iter().all(|e| !e.alertname.is_empty()), "{f}");
        }
        let ev = run("zulip-webhook-fixtures/grafana/alert-9.json");
        assert_eq!(
            ev[0].annotations.runbook.as_deref(),
            Some("https://runbook.example.com/")
        );
    }
}
