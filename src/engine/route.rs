//! Routing: a cluster's decision (page / ticket / suppress) with its reasons, and the
//! PagerDuty Events v2 page it produces. This first engine routes by severity alone; the
//! scoring engine replaces `decide` and keeps the rest.

use serde_json::json;

use super::cluster::ClusterState;
use crate::config::EngineConfig;
use crate::event::{AlertEvent, Severity};
use crate::record::{Decision, Feature, Page, PageAction, PagePayload, Reason};

/// PagerDuty rejects summaries over 1024 characters.
const MAX_SUMMARY_CHARS: usize = 1024;

fn severity_value(s: Severity) -> f64 {
    match s {
        Severity::Critical => 1.0,
        Severity::Error => 0.75,
        Severity::Warning => 0.5,
        Severity::Info => 0.25,
    }
}

/// Decision for a cluster of the given severity, with the one reason this engine has.
pub fn decide(cfg: &EngineConfig, severity: Severity) -> (Decision, f64, Vec<Reason>) {
    let decision = if cfg.page_severities.contains(&severity) {
        Decision::Page
    } else if cfg.ticket_severities.contains(&severity) {
        Decision::Ticket
    } else {
        Decision::Suppress
    };
    let v = severity_value(severity);
    let reasons = vec![Reason {
        feature: Feature::Severity,
        value: v,
        contribution: v,
    }];
    (decision, v, reasons)
}

/// The routing key for a cluster: its service's, else its team's, else the default.
pub fn routing_key<'a>(cfg: &'a EngineConfig, c: &ClusterState) -> &'a str {
    c.services
        .iter()
        .find_map(|s| cfg.service_routing_keys.get(s))
        .or_else(|| c.team.as_ref().and_then(|t| cfg.team_routing_keys.get(t)))
        .map(String::as_str)
        .unwrap_or(&cfg.default_routing_key)
}

fn truncate_chars(s: String, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => {
            let mut t = s[..i].to_string();
            t.pop();
            t.push('…');
            t
        }
        None => s,
    }
}

/// The trigger for a cluster, from the alert that made it page.
pub fn trigger(cfg: &EngineConfig, c: &ClusterState, ev: &AlertEvent) -> Page {
    let text = ev
        .annotations
        .summary
        .as_deref()
        .filter(|s| !s.is_empty())
        .unwrap_or("");
    let summary = if text.is_empty() {
        format!("[{}] {}", ev.severity, ev.alertname)
    } else {
        format!("[{}] {}: {}", ev.severity, ev.alertname, text)
    };
    let source = ev
        .service
        .as_deref()
        .or_else(|| ev.labels.get("instance"))
        .or_else(|| ev.labels.get("host"))
        .unwrap_or("noisegate")
        .to_string();
    Page {
        routing_key: routing_key(cfg, c).to_string(),
        event_action: PageAction::Trigger,
        dedup_key: c.id.clone(),
        payload: Some(PagePayload {
            summary: truncate_chars(summary, MAX_SUMMARY_CHARS),
            source,
            severity: c.severity,
            timestamp: ev.time,
            component: ev.service.as_ref().map(|s| s.to_string()),
            group: c.team.clone(),
            class: Some(ev.alertname.to_string()).filter(|s| !s.is_empty()),
            custom_details: json!({
                "cluster_id": c.id,
                "fingerprint": ev.fingerprint,
                "labels": ev.labels,
                "description": ev.annotations.description,
                "runbook_url": ev.annotations.runbook,
                "score": c.score,
                "reasons": c.reasons,
            }),
        }),
        client: cfg.client.clone(),
    }
}

/// The resolve sent when a paged cluster closes.
pub fn resolve(cfg: &EngineConfig, c: &ClusterState) -> Page {
    Page {
        routing_key: routing_key(cfg, c).to_string(),
        event_action: PageAction::Resolve,
        dedup_key: c.id.clone(),
        payload: None,
        client: cfg.client.clone(),
    }
}
