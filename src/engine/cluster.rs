//! Cluster state: the alerts a cluster holds, its lifecycle times, and turning it into the
//! public [`ClusterRecord`]. No decisions are made here (see `route.rs`) and no I/O.

use std::collections::BTreeSet;

use crate::event::{Actor, AlertEvent, EventTime, Fingerprint, Labels, Severity};
use crate::record::{AlertSummary, ClusterId, ClusterRecord, Decision, Reason, ResolvedBy};

/// Engine-internal handle of a cluster: a counter, so it is deterministic for a given input.
pub type ClusterKey = u64;

/// One alert (label set) inside a cluster.
#[derive(Debug, Clone)]
pub struct AlertState {
    pub fingerprint: Fingerprint,
    pub alertname: String,
    pub labels: Labels,
    pub first_seen: EventTime,
    pub last_seen: EventTime,
    pub events: u64,
    pub flaps: u32,
    /// `None` while firing.
    pub resolved_at: Option<EventTime>,
    /// When a firing alert resolves by itself unless sent again (see `AlertEvent::ends_at`).
    pub expires_at: Option<EventTime>,
}

impl AlertState {
    pub fn new(ev: &AlertEvent) -> Self {
        AlertState {
            fingerprint: ev.fingerprint,
            alertname: ev.alertname.to_string(),
            labels: ev.labels.clone(),
            first_seen: ev.time,
            last_seen: ev.time,
            events: 1,
            flaps: 0,
            resolved_at: None,
            expires_at: ev.ends_at,
        }
    }

    pub fn is_firing(&self) -> bool {
        self.resolved_at.is_none()
    }
}

/// One open cluster.
#[derive(Debug, Clone)]
pub struct ClusterState {
    pub id: ClusterId,
    pub opened_at: EventTime,
    pub alerts: Vec<AlertState>,
    pub raw_events: u64,
    pub severity: Severity,
    pub services: BTreeSet<String>,
    pub team: Option<String>,
    pub decision: Decision,
    pub score: f64,
    pub reasons: Vec<Reason>,
    pub paged_at: Option<EventTime>,
    pub acked_at: Option<EventTime>,
    pub resolved_at: Option<EventTime>,
    pub resolved_by: Option<ResolvedBy>,
    /// Newest event time that touched the cluster (for shedding the least recently seen).
    pub last_activity: EventTime,
    /// When the cluster closes if nothing fires again: set once every alert is resolved.
    pub close_at: Option<EventTime>,
}

impl ClusterState {
    pub fn open(ev: &AlertEvent) -> Self {
        ClusterState {
            id: ClusterId::derive(ev.fingerprint, ev.time),
            opened_at: ev.time,
            alerts: vec![AlertState::new(ev)],
            raw_events: 1,
            severity: ev.severity,
            services: ev.service.iter().map(|s| s.to_string()).collect(),
            team: ev.team.as_ref().map(|t| t.to_string()),
            decision: Decision::Suppress,
            score: 0.0,
            reasons: Vec::new(),
            paged_at: None,
            acked_at: None,
            resolved_at: None,
            resolved_by: None,
            last_activity: ev.time,
            close_at: None,
        }
    }

    pub fn alert_mut(&mut self, fp: Fingerprint) -> Option<&mut AlertState> {
        self.alerts.iter_mut().find(|a| a.fingerprint == fp)
    }

    pub fn all_resolved(&self) -> bool {
        self.alerts.iter().all(|a| !a.is_firing())
    }

    pub fn touch(&mut self, t: EventTime) {
        self.raw_events += 1;
        self.last_activity = self.last_activity.max(t);
    }

    /// Records a resolution of the incident (first one wins: that is when it ended).
    pub fn mark_resolved(&mut self, t: EventTime, by: Option<Actor>) {
        if self.resolved_at.is_none() {
            self.resolved_at = Some(t);
            self.resolved_by = by.map(ResolvedBy::from);
        }
    }

    pub fn to_record(&self, closed_at: Option<EventTime>) -> ClusterRecord {
        ClusterRecord {
            cluster_id: self.id.clone(),
            opened_at: self.opened_at,
            closed_at,
            decision: self.decision,
            score: self.score,
            reasons: self.reasons.clone(),
            alerts: self
                .alerts
                .iter()
                .map(|a| AlertSummary {
                    fingerprint: a.fingerprint,
                    alertname: a.alertname.clone(),
                    labels: a.labels.clone(),
                    first_seen: a.first_seen,
                    last_seen: a.last_seen,
                    events: a.events,
                    flaps: a.flaps,
                })
                .collect(),
            raw_events: self.raw_events,
            services: self.services.iter().cloned().collect(),
            team: self.team.clone(),
            severity: self.severity,
            paged_at: self.paged_at,
            acked_at: self.acked_at,
            resolved_at: self.resolved_at,
            resolved_by: self.resolved_by,
        }
    }
}
