//! Routing: the PagerDuty Events v2 bodies a paging cluster produces (trigger, resolve) and
//! which routing key they go to. Decides nothing about whether to page (`score.rs`).

use serde_json::json;

use super::cluster::{AlertState, ClusterState};
use crate::config::EngineConfig;
use crate::event::EventTime;
use crate::record::{Page, PageAction, PagePayload};

/// PagerDuty rejects summaries over 1024 characters.
const MAX_SUMMARY_CHARS: usize = 1024;

/// The routing key for a cluster: its service's, else its team's, else the default.
pub fn routing_key<'a>(cfg: &'a EngineConfig, c: &ClusterState) -> &'a str {
    c.services()
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

/// The trigger for a cluster, naming the alert that made it page.
pub fn trigger(cfg: &EngineConfig, c: &ClusterState, a: &AlertState, at: EventTime) -> Page {
    let text = a.summary.as_deref().filter(|s| !s.is_empty()).unwrap_or("");
    let others = c.alerts.len().saturating_sub(1);
    let mut summary = if text.is_empty() {
        format!("[{}] {}", c.severity, a.alertname())
    } else {
        format!("[{}] {}: {}", c.severity, a.alertname(), text)
    };
    if others > 0 {
        summary.push_str(&format!(" (+{others} related alerts)"));
    }
    let source = a
        .service
        .as_deref()
        .or_else(|| a.labels.get("instance"))
        .or_else(|| a.labels.get("host"))
        .unwrap_or("noisegate")
        .to_string();
    let mut custom_details = json!({
        "cluster_id": c.id,
        "fingerprint": a.fingerprint,
        "labels": a.labels,
        "alerts_in_cluster": c.alerts.len(),
        "services": c.services().collect::<Vec<_>>(),
        "score": c.score,
        "reasons": c.reasons,
    });
    // What changed on its services or team shortly before: the first question on a page.
    if !c.changes.is_empty() {
        custom_details["recent_changes"] = json!(c.changes);
    }
    Page {
        routing_key: routing_key(cfg, c).to_string(),
        event_action: PageAction::Trigger,
        dedup_key: c.id.clone(),
        payload: Some(PagePayload {
            summary: truncate_chars(summary, MAX_SUMMARY_CHARS),
            source,
            severity: c.severity,
            timestamp: at,
            component: a.service.clone(),
            group: c.team.clone(),
            class: Some(a.alertname().to_string()).filter(|s| !s.is_empty()),
            custom_details,
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
