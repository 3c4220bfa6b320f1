//! Cluster state: the alerts a cluster holds, what correlation needs to know about it, its
//! lifecycle times, and turning it into the public [`ClusterRecord`]. No decisions here
//! (`score.rs`, `mod.rs`) and no I/O.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::correlate::AlertSig;
use super::rules::{PairKey, RuleKey};
use crate::event::{Actor, AlertEvent, EventTime, Fingerprint, Labels, SenderId, Severity};
use crate::record::{AlertSummary, ClusterId, ClusterRecord, Decision, Reason, ResolvedBy};

/// Engine-internal handle of a cluster: a counter, so it is deterministic for a given input.
pub type ClusterKey = u64;

/// Most distinct text signatures a cluster keeps for similarity links (enough to describe
/// the kinds of alert in it; more would only cost time).
const MAX_SIMHASHES: usize = 32;

fn unknown() -> EventTime {
    EventTime::MAX
}

/// One alert (label set) inside a cluster.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AlertState {
    pub fingerprint: Fingerprint,
    /// The rule's name, only when it is not the `alertname` label (every decoder sets that
    /// label to it): a million active alerts need not carry their rule's name twice. Read
    /// it with [`AlertState::alertname`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    alertname: Option<Box<str>>,
    pub labels: Labels,
    pub severity: Severity,
    pub first_seen: EventTime,
    pub last_seen: EventTime,
    pub events: u64,
    pub flaps: u32,
    /// Start of the current firing episode.
    pub episode_start: EventTime,
    /// The engine's clock when it was last reported firing (its events carry their start,
    /// not when they were sent). `EventTime::MAX`: unknown (state from an older build).
    #[serde(default = "unknown")]
    pub heard: EventTime,
    /// The engine's observed time when it was last reported firing (see `Engine::unheard`).
    #[serde(default)]
    pub heard_observed: i64,
    /// When its pending silence judgement is due; `EventTime::MIN`: none pending.
    #[serde(default = "never")]
    pub unheard_due: EventTime,
    /// `None` while firing.
    pub resolved_at: Option<EventTime>,
    /// When a firing alert resolves by itself unless sent again (see `AlertEvent::ends_at`).
    pub expires_at: Option<EventTime>,
    /// Until when this episode is held before it may page.
    pub hold_until: EventTime,
    /// Whether any episode resolved within its hold (or the transient limit).
    pub transient: bool,
    /// Whether the alert was flapping when it last changed state.
    pub flapping: bool,
    /// The event it was first seen with, kept only until the cluster pages (for the page's
    /// summary, source and links); `None` afterwards.
    pub summary: Option<String>,
    pub service: Option<String>,
    /// Its rule (name and severity) and the rule on its service: what it learns under.
    pub rule: RuleKey,
    pub pair: Option<PairKey>,
    /// Whether it counts in its service's [`ServiceActivity`] as firing (firing and not
    /// flapping: a flapping alert's state is no evidence of a failure).
    #[serde(default)]
    pub anchoring: bool,
    /// The sender's own id for the alert when it is not our fingerprint (see
    /// [`AlertSummary::source_id`]); `None` for most alerts, so it costs a pointer's width.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_id: Option<Box<str>>,
    /// The receiver it was last sent by, when its sender names one: whether its silence can
    /// mean "over" depends on whether that receiver reports ends (`resend.rs`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sender: Option<SenderId>,
}

impl AlertState {
    pub fn new(ev: &AlertEvent, hold_ms: i64) -> Self {
        let rule = RuleKey::of(&ev.alertname, ev.severity);
        AlertState {
            fingerprint: ev.fingerprint,
            alertname: (ev.labels.get("alertname").unwrap_or_default() != &*ev.alertname)
                .then(|| Box::from(&*ev.alertname)),
            labels: ev.labels.clone(),
            severity: ev.severity,
            first_seen: ev.time,
            last_seen: ev.time,
            events: 1,
            flaps: 0,
            episode_start: ev.time,
            // Its start until `Engine::new_alert` sets the engine's clock, which may be later.
            heard: ev.time,
            heard_observed: 0,
            unheard_due: EventTime::MIN,
            resolved_at: None,
            expires_at: ev.ends_at,
            hold_until: ev.time.saturating_add_ms(hold_ms),
            transient: false,
            flapping: false,
            summary: ev.annotations.summary.clone(),
            service: ev.service.as_ref().map(|s| s.to_string()),
            rule,
            pair: rule.on(ev.service.as_deref()),
            anchoring: false,
            source_id: ev.sender_id().map(Box::from),
            sender: ev.sender,
        }
    }

    pub fn is_firing(&self) -> bool {
        self.resolved_at.is_none()
    }

    /// Its rule's name.
    pub fn alertname(&self) -> &str {
        self.alertname
            .as_deref()
            .or_else(|| self.labels.get("alertname"))
            .unwrap_or_default()
    }

    /// Counts one more event about this alert.
    pub fn saw(&mut self, t: EventTime) {
        self.events += 1;
        self.last_seen = self.last_seen.max(t);
    }
}

/// Recent activity of one service inside a cluster. Kept to 32 bytes: a storm's cluster has
/// one per service, and a fleet-wide one thousands.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct ServiceActivity {
    pub last_start: EventTime,
    /// Error/critical alerts of this service in the cluster that are firing now (and not
    /// flapping): a service still failing explains its dependents' new symptoms however long
    /// ago it started.
    #[serde(default)]
    pub loud_firing: u32,
    /// Alerts of this service in the cluster that are firing now, any severity (and not
    /// flapping).
    #[serde(default)]
    pub firing: u32,
    /// When its last anchoring alert (error/critical; any severity) stopped firing;
    /// `EventTime::MIN`: none has. Links are judged at the new alert's event time, and alerts
    /// arrive late: Alertmanager sends a new alert up to a `group_interval` after it started,
    /// by which time the failure that explains it may have just resolved.
    #[serde(default = "never")]
    pub loud_until: EventTime,
    #[serde(default = "never")]
    pub until: EventTime,
}

fn never() -> EventTime {
    EventTime::MIN
}

impl Default for ServiceActivity {
    fn default() -> Self {
        ServiceActivity {
            last_start: EventTime::default(),
            loud_firing: 0,
            firing: 0,
            loud_until: never(),
            until: never(),
        }
    }
}

impl ServiceActivity {
    fn anchor(&mut self, loud: bool) {
        self.firing += 1;
        self.loud_firing += u32::from(loud);
    }

    fn unanchor(&mut self, loud: bool, t: EventTime) {
        self.firing = self.firing.saturating_sub(1);
        self.until = self.until.max(t);
        if loud {
            self.loud_firing = self.loud_firing.saturating_sub(1);
            self.loud_until = self.loud_until.max(t);
        }
    }

    /// Whether an error/critical alert of the service was firing (and not flapping) at `t`.
    pub fn loud_at(&self, t: EventTime) -> bool {
        self.loud_firing > 0 || self.loud_until >= t
    }

    /// Whether any alert of the service was firing (and not flapping) at `t`.
    pub fn firing_at(&self, t: EventTime) -> bool {
        self.firing > 0 || self.until >= t
    }
}

/// One open cluster.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClusterState {
    pub id: ClusterId,
    pub opened_at: EventTime,
    pub alerts: Vec<AlertState>,
    pub raw_events: u64,
    pub severity: Severity,
    /// Per service (the cluster's services are its keys): when its newest alert started, and
    /// what of it is firing or stopped when (what topology links look at).
    pub activity: std::collections::BTreeMap<String, ServiceActivity>,
    pub team: Option<String>,
    pub paged_at: Option<EventTime>,
    /// Score and reasons: frozen when the cluster pages, else recomputed at close.
    pub score: f64,
    pub reasons: Vec<Reason>,
    pub acked_at: Option<EventTime>,
    /// Whether an acknowledgement came from a person (or an unknown actor, which in practice
    /// is a person acting through a tool), which is what "actioned" means for learning.
    pub acked_by_human: bool,
    /// The alert a person's first acknowledgement named, when it named one of this
    /// cluster's alerts (by fingerprint): the one they acted on.
    #[serde(default)]
    pub acked_alert: Option<Fingerprint>,
    pub resolved_at: Option<EventTime>,
    pub resolved_by: Option<ResolvedBy>,
    /// Pages of clusters merged into this one after they had paged.
    pub folded_pages: u32,
    /// Newest event time that touched the cluster (for shedding the least recently seen).
    pub last_activity: EventTime,
    /// When the last new alert joined: the cluster takes in new alerts until
    /// `correlation.window` after this.
    pub last_join: EventTime,
    /// When the cluster closes if nothing fires again: set once every alert is resolved.
    pub close_at: Option<EventTime>,
    /// Opened only because a linked cluster that already paged was full: its alerts are the
    /// same incident's overflow, so it never pages again.
    pub folded: bool,
    /// Correlation signatures of its alerts.
    pub group_keys: BTreeSet<u64>,
    pub simhashes: Vec<u64>,
    /// Position in `alerts` of each alert's current entry (its latest episode): every event
    /// about an alert finds it without scanning a storm's thousands. Derived from `alerts`:
    /// not serialised, rebuilt by [`ClusterState::reindex`] after a restore.
    #[serde(skip)]
    index: rustc_hash::FxHashMap<Fingerprint, u32>,
    /// Error/critical alerts firing (and not flapping) over all its services: whether it is
    /// failing, without walking its services.
    #[serde(default)]
    pub loud_firing: u32,
    /// When its last error/critical alert stopped firing (see [`ServiceActivity::loud_until`]).
    #[serde(default)]
    pub loud_until: Option<EventTime>,
    /// (caller, peer) service-name hashes its alerts reported (`correlation.peer_labels`):
    /// dependency edges observed in the alerts themselves. At most [`MAX_CALLS`].
    #[serde(default)]
    pub calls: BTreeSet<(u64, u64)>,
    /// Changes to its services or team (see `changes.rs`), oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<crate::record::ChangeRef>,
}

/// Observed call edges a cluster keeps: enough for an incident's neighbourhood, bounded so a
/// storm over a mesh cannot grow it without limit.
const MAX_CALLS: usize = 64;

impl ClusterState {
    pub fn open(id: ClusterId, ev: &AlertEvent, sig: &AlertSig, hold_ms: i64) -> Self {
        let mut c = ClusterState {
            id,
            opened_at: ev.time,
            alerts: Vec::new(),
            raw_events: 0,
            severity: ev.severity,
            activity: Default::default(),
            folded: false,
            team: ev.team.as_ref().map(|t| t.to_string()),
            paged_at: None,
            score: 0.0,
            reasons: Vec::new(),
            acked_at: None,
            acked_by_human: false,
            acked_alert: None,
            resolved_at: None,
            resolved_by: None,
            folded_pages: 0,
            last_activity: ev.time,
            last_join: ev.time,
            close_at: None,
            group_keys: BTreeSet::new(),
            simhashes: Vec::new(),
            index: Default::default(),
            loud_firing: 0,
            loud_until: None,
            calls: BTreeSet::new(),
            changes: Vec::new(),
        };
        c.add_alert(ev, sig, hold_ms);
        c
    }

    /// Adds a new alert (its first event) to the cluster.
    pub fn add_alert(&mut self, ev: &AlertEvent, sig: &AlertSig, hold_ms: i64) {
        self.alerts.push(AlertState::new(ev, hold_ms));
        self.note_entry(self.alerts.len() - 1);
        self.raw_events += 1;
        self.severity = self.severity.max(ev.severity);
        if let Some(s) = &ev.service {
            let act = self.activity.entry(s.to_string()).or_default();
            act.last_start = act.last_start.max(ev.time);
        }
        self.sync_anchor(ev.fingerprint);
        if self.team.is_none() {
            self.team = ev.team.as_ref().map(|t| t.to_string());
        }
        self.last_activity = self.last_activity.max(ev.time);
        self.last_join = self.last_join.max(ev.time);
        self.close_at = None;
        if let Some(k) = sig.group_key {
            self.group_keys.insert(k);
        }
        if let Some(h) = sig.simhash {
            if self.simhashes.len() < MAX_SIMHASHES && !self.simhashes.contains(&h) {
                self.simhashes.push(h);
            }
        }
        if let (Some(p), Some(s)) = (sig.peer, &ev.service) {
            if self.calls.len() < MAX_CALLS {
                self.calls.insert((crate::event::fnv1a64(s.as_bytes()), p));
            }
        }
    }

    /// Takes in every alert of `other` (a merge). `self` keeps its id and page.
    pub fn absorb(&mut self, other: ClusterState) {
        self.opened_at = self.opened_at.min(other.opened_at);
        self.raw_events += other.raw_events;
        self.severity = self.severity.max(other.severity);
        for (s, a) in other.activity {
            let mine = self.activity.entry(s).or_default();
            mine.last_start = mine.last_start.max(a.last_start);
            mine.loud_firing += a.loud_firing;
            mine.firing += a.firing;
            mine.loud_until = mine.loud_until.max(a.loud_until);
            mine.until = mine.until.max(a.until);
        }
        // `None` orders before any time, so `max` keeps the later stop.
        self.loud_until = self.loud_until.max(other.loud_until);
        for e in other.calls {
            if self.calls.len() >= MAX_CALLS {
                break;
            }
            self.calls.insert(e);
        }
        for ch in &other.changes {
            super::changes::add_to(&mut self.changes, ch);
        }
        self.folded &= other.folded;
        if self.team.is_none() {
            self.team = other.team;
        }
        self.acked_at = match (self.acked_at, other.acked_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.acked_by_human |= other.acked_by_human;
        self.acked_alert = self.acked_alert.or(other.acked_alert);
        self.loud_firing += other.loud_firing;
        self.folded_pages += other.folded_pages + u32::from(other.paged_at.is_some());
        self.last_activity = self.last_activity.max(other.last_activity);
        self.last_join = self.last_join.max(other.last_join);
        self.group_keys.extend(other.group_keys);
        for h in other.simhashes {
            if self.simhashes.len() < MAX_SIMHASHES && !self.simhashes.contains(&h) {
                self.simhashes.push(h);
            }
        }
        let base = self.alerts.len();
        self.alerts.extend(other.alerts);
        for i in base..self.alerts.len() {
            self.note_entry(i);
        }
        if !self.all_resolved() {
            self.close_at = None;
            if self.resolved_by == Some(ResolvedBy::Auto) {
                self.resolved_at = None;
                self.resolved_by = None;
            }
        }
    }

    /// The services its alerts are about, in name order.
    pub fn services(&self) -> impl Iterator<Item = &str> + '_ {
        self.activity.keys().map(String::as_str)
    }

    /// The alert's current entry. A cluster can hold an old, resolved entry of the same
    /// alert besides its current one (after a merge), so the latest episode wins.
    pub fn alert_mut(&mut self, fp: Fingerprint) -> Option<&mut AlertState> {
        let i = *self.index.get(&fp)? as usize;
        self.alerts.get_mut(i)
    }

    pub fn alert(&self, fp: Fingerprint) -> Option<&AlertState> {
        let i = *self.index.get(&fp)? as usize;
        self.alerts.get(i)
    }

    /// Indexes the entry at `i` if it is its alert's latest episode (ties: the later entry,
    /// as a scan keeping the last maximum would).
    fn note_entry(&mut self, i: usize) {
        let a = &self.alerts[i];
        let newer = match self.index.get(&a.fingerprint) {
            Some(&j) => a.episode_start >= self.alerts[j as usize].episode_start,
            None => true,
        };
        if newer {
            self.index.insert(a.fingerprint, i as u32);
        }
    }

    /// Rebuilds the entry index (after a restore, which does not carry it).
    pub fn reindex(&mut self) {
        self.index.clear();
        for i in 0..self.alerts.len() {
            self.note_entry(i);
        }
    }

    /// Brings the alert `fp`'s (current entry's) part in its service's activity in line with
    /// its state: it anchors topology links while it is firing and not flapping. Call after
    /// any change of its firing or flapping state.
    pub fn sync_anchor(&mut self, fp: Fingerprint) {
        let Some(&i) = self.index.get(&fp) else {
            return;
        };
        let Some(a) = self.alerts.get_mut(i as usize) else {
            return;
        };
        let should = a.is_firing() && !a.flapping;
        if should == a.anchoring {
            return;
        }
        let Some(act) = a.service.as_deref().and_then(|s| self.activity.get_mut(s)) else {
            return;
        };
        a.anchoring = should;
        let loud = a.severity >= Severity::Error;
        if should {
            act.anchor(loud);
            self.loud_firing += u32::from(loud);
        } else {
            // Resolved: when it resolved; turned flapping: its latest event.
            let t = a.resolved_at.unwrap_or(a.last_seen);
            act.unanchor(loud, t);
            if loud {
                self.loud_firing = self.loud_firing.saturating_sub(1);
                self.loud_until = self.loud_until.max(Some(t));
            }
        }
    }

    /// Whether an error or critical alert of it is firing (and not flapping).
    pub fn failing(&self) -> bool {
        self.loud_firing > 0
    }

    /// Whether it is failing, or stopped failing no longer than `ms` before `t`: a late
    /// arrival that started while it failed may still be its symptom.
    pub fn failing_within(&self, t: EventTime, ms: i64) -> bool {
        self.failing()
            || self
                .loud_until
                .is_some_and(|u| t.as_millis() - u.as_millis() <= ms)
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

    pub fn to_record(&self, closed_at: Option<EventTime>, decision: Decision) -> ClusterRecord {
        ClusterRecord {
            cluster_id: self.id.clone(),
            opened_at: self.opened_at,
            closed_at,
            decision,
            score: self.score,
            reasons: self.reasons.clone(),
            alerts: self
                .alerts
                .iter()
                .map(|a| AlertSummary {
                    fingerprint: a.fingerprint,
                    alertname: a.alertname().to_string(),
                    labels: a.labels.clone(),
                    first_seen: a.first_seen,
                    last_seen: a.last_seen,
                    events: a.events,
                    flaps: a.flaps,
                    source_id: a.source_id.as_deref().map(String::from),
                })
                .collect(),
            raw_events: self.raw_events,
            services: self.services().map(String::from).collect(),
            team: self.team.clone(),
            severity: self.severity,
            paged_at: self.paged_at,
            acked_at: self.acked_at,
            resolved_at: self.resolved_at,
            resolved_by: self.resolved_by,
            folded_pages: self.folded_pages,
            changes: self.changes.clone(),
        }
    }
}
