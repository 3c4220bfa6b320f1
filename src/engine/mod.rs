//! The engine: a pure, deterministic, event-time state machine from [`AlertEvent`]s to
//! pages and cluster records. No I/O, no wall clock, no randomness: time comes only from
//! event timestamps and what the caller passes to [`Engine::handle_watermark`], so live mode
//! and replay run the same code and a replay is exact.
//!
//! Call order (sans-I/O, as in quinn-proto):
//! 1. [`Engine::handle_event`] / [`Engine::handle_events`] for each decoded event. The
//!    engine's clock (`now`) is the newest event time seen; each event first advances it,
//!    so decisions depend on event times only, never on how input was batched.
//! 2. [`Engine::handle_watermark`] when the caller knows time has moved on without events (an
//!    idle input in live mode, from the wall clock; end of input in replay: `EventTime::MAX`).
//!    Time never goes back; handling the same time twice does nothing.
//! 3. [`Engine::poll_output`] until `None`, publishing each [`Output`].
//! 4. At end of input (replay only), [`Engine::finish`], then drain outputs again.
//!
//! Two clocks follow from `now`: holds and expiries fire at `now`; clusters close only once
//! `now − allowed_lateness` (the watermark) has passed their quiet period, so a late resolve
//! or re-fire within the allowed lateness still lands in its cluster. A third, observed time,
//! counts each advance of `now` up to 5 minutes: an alert whose sender re-sends it while it
//! fires is taken as over once it has gone unheard for `max_resend_interval` of it (see
//! `OBSERVED_STEP_MS`).
//!
//! Stages, each in its own file: dedup (`dedup.rs`) → flapping (`flap.rs`) → correlation
//! (`correlate.rs`) → cluster lifecycle (`cluster.rs`) → score (`score.rs`) → route
//! (`route.rs`); lifecycle linking of acks/resolves in `link.rs`; learned rule statistics in
//! `rules.rs`; changes (deploys) shown as context in `changes.rs`; how long senders go
//! between re-sends, and which receivers report ends, in `resend.rs`; what each notification
//! group last listed, so an alert a later notification leaves out is over, in `roster.rs`.
//! Every state map is capped, shedding the oldest (`cap.rs`). All state is one serialisable
//! value ([`Engine::snapshot`] / [`Engine::restore`]).

pub mod cap;
pub mod changes;
pub mod cluster;
pub mod correlate;
pub mod dedup;
pub mod flap;
pub mod late;
pub mod link;
pub mod resend;
pub mod roster;
pub mod route;
pub mod rules;
pub mod score;

use std::collections::{BTreeSet, VecDeque};
use std::sync::Arc;

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use crate::config::EngineConfig;
use crate::event::{
    Actor, AlertEvent, DedupKey, EventKind, EventTime, Fingerprint, Listing, Severity, Source,
};
use crate::record::{ClusterId, ClusterRecord, Decision, Page, ResolvedBy};
use cluster::{ClusterKey, ClusterState};
use correlate::AlertSig;
use dedup::AlertIndex;
use flap::FlapTracker;
use link::LinkIndex;
use rules::{PairKey, RuleBook, RuleKey};

/// What the engine asks its adapter to do.
#[must_use = "outputs must be published"]
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// Send to PagerDuty (or the pages topic). Publish it before committing the input that
    /// produced it; re-sending after a crash is safe (same `dedup_key`).
    Page(Page),
    /// A cluster closed (or was still open at end of input: `closed_at` is null): write its
    /// record. Publish before committing the input that closed it.
    Record(ClusterRecord),
}

/// Counters the engine keeps; adapters publish them (metrics, summary). Plain numbers, no
/// metrics library in the engine.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EngineStats {
    /// Every event handled.
    pub events: u64,
    /// Firing/resolved events about an alert (not lifecycle).
    pub alert_events: u64,
    /// Firing repeats of an alert already firing: absorbed, nothing emitted.
    pub deduplicated: u64,
    /// Alerts that fired again while their cluster was still open.
    pub refires: u64,
    /// Point-in-time alerts resolved because they were not sent again before `ends_at`.
    pub expired: u64,
    /// Alert events older than their alert's current episode, delivered out of order (a
    /// resolve of an earlier episode, a firing of one already resolved): ignored.
    #[serde(default)]
    pub stale_events: u64,
    /// Episodes whose resolve never arrived, resolved as of when their alert was last heard
    /// firing: it was not sent again within `max_resend_interval` of observed time, or was
    /// sent again with a later start after longer than that.
    #[serde(default)]
    pub unreported_resolves: u64,
    /// Events older than the watermark when they arrived (still handled), repeats excepted.
    pub late: u64,
    /// Ack/resolve/lifecycle events linked to a cluster.
    pub lifecycle_linked: u64,
    /// Ack/resolve/lifecycle events naming nothing open (late, or another system's incident).
    pub lifecycle_unlinked: u64,
    /// New alerts that joined an existing cluster.
    pub correlated: u64,
    /// Clusters merged into another because one alert linked them.
    pub merges: u64,
    /// Alert state changes that happened while the alert was flapping.
    pub flapping_transitions: u64,
    /// Alerts that resolved within their hold, before they could page.
    pub resolved_in_hold: u64,
    /// Clusters closed without an acknowledgement that taught nothing, because none had
    /// been heard within `score.feedback_window` (see `Heard`).
    #[serde(default)]
    pub outcomes_unheard: u64,
    pub clusters_opened: u64,
    pub clusters_closed: u64,
    /// Clusters closed early because `engine.max_active_alerts` was reached.
    pub clusters_shed: u64,
    pub pages_triggered: u64,
    pub pages_resolved: u64,
    /// Pages resolved because their cluster merged into another that had paged first.
    pub pages_folded: u64,
    /// Change events (deploys: PagerDuty Change Events) handled.
    #[serde(default)]
    pub changes: u64,
    /// Change events that named no service or team noisegate knows: counted, shown nowhere.
    #[serde(default)]
    pub changes_unscoped: u64,
    /// Services or teams whose changes were forgotten to stay within the log's cap.
    #[serde(default)]
    pub change_scopes_shed: u64,
    /// "Not actioned" lessons reversed by a person's acknowledgement that arrived after the
    /// cluster closed but happened before it resolved (see `late.rs`).
    #[serde(default)]
    pub late_acks_corrected: u64,
    /// Such lessons forgotten to stay within their cap before the feedback window passed.
    #[serde(default)]
    pub late_lessons_shed: u64,
    /// Alerts sent again, with their episode's start, after silence had ended that episode:
    /// still firing, revived, and the silence judged by raised to the gap (`resend.rs`).
    #[serde(default)]
    pub resent_after_unheard: u64,
    /// Episodes ended by silence forgotten to stay within `engine.max_active_alerts`.
    #[serde(default)]
    pub unheard_episodes_shed: u64,
    /// Receivers known to send resolves forgotten to stay within their cap.
    #[serde(default)]
    pub resolving_senders_shed: u64,
    /// Firing alerts taken as over because a later notification of their group left them
    /// out (`roster.rs`); also counted in `unreported_resolves`.
    #[serde(default)]
    pub left_out: u64,
    /// Groups whose last listing was forgotten to stay within their cap.
    #[serde(default)]
    pub rosters_shed: u64,
}

/// What a timer does when the clock passes it. Timers are data: one ordered index; a popped
/// timer that no longer matches its target's state is stale and skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
enum Timer {
    /// A held alert's hold is over: its cluster may page now.
    Hold(Fingerprint),
    /// Resolve a point-in-time alert that was not sent again.
    Expire(Fingerprint),
    /// Close a cluster whose alerts are all resolved and whose quiet period has passed.
    Close(ClusterKey),
    /// Judge whether a firing alert whose sender re-sends it has gone unheard for
    /// `max_resend_interval` of observed time (see [`OBSERVED_STEP_MS`]).
    Unheard(Fingerprint),
}

/// The most one advance of the clock counts towards the observed time that silence is
/// judged by. Alertmanager's re-sends carry their alert's start, not when they were sent, so
/// they do not move the clock: a capture of standing alerts re-sent all night, with nothing
/// new, holds the clock still and then jumps it to the morning's first new alert. Those
/// hours were not observed (the re-sends in them were heard at the old clock), so they count
/// as no more than Alertmanager's `group_interval` (5 min). Live mode advances the clock
/// from the wall clock when input is idle, in small steps, so there observed time is time.
const OBSERVED_STEP_MS: i64 = 5 * 60_000;

/// All engine state: one serialisable value.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct State {
    clusters: FxHashMap<ClusterKey, ClusterState>,
    alerts: AlertIndex,
    links: LinkIndex,
    flaps: FlapTracker,
    rules: RuleBook,
    /// (fires at `now` ≥ this, what).
    timers: BTreeSet<(EventTime, Timer)>,
    /// Clusters that may still take in new alerts, oldest first (pruned lazily).
    joinable: Vec<ClusterKey>,
    next_key: ClusterKey,
    now: EventTime,
    stats: EngineStats,
    #[serde(default)]
    heard: Heard,
    #[serde(default)]
    changes: changes::ChangeLog,
    #[serde(default)]
    late: late::LateLessons,
    /// Observed time (ms): the clock's advances, each counted up to [`OBSERVED_STEP_MS`].
    #[serde(default)]
    observed: i64,
    /// Episodes silence ended, the re-send interval learned, and the receivers heard
    /// sending resolves.
    #[serde(default)]
    resend: resend::ResendInterval,
    /// What each notification group last listed.
    #[serde(default)]
    rosters: roster::Rosters,
}

/// When people were last heard acknowledging anything (event time): a dead man's switch on
/// the feedback the learning depends on. Silence teaches "nobody acts on this" only while
/// acknowledgements arrive at all: a deployment whose PagerDuty webhook is not wired up (or
/// broke) must not go on learning to suppress its critical alerts, and where
/// acknowledgements arrive only through noisegate's own pages, a cluster that did not page
/// could not have been acknowledged, so its silence says nothing. The engine starts out
/// presuming feedback works (a fresh deployment, or a replay whose first acknowledgement
/// comes hours in, learns from the start) and stops learning from silence once
/// `score.feedback_window` has passed without one.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
struct Heard {
    /// When the first outcome was judged: the switch's start.
    since: Option<EventTime>,
    /// Any human acknowledgement.
    any: Option<EventTime>,
    /// One that named an alert or another tool's incident, not a noisegate page: people see
    /// alerts by some other route too (Alertmanager's own receivers, a shadow rollout).
    direct: Option<EventTime>,
}

impl Heard {
    /// Whether silence at `at` teaches: an acknowledgement of the kind that matters
    /// (`any` for a cluster that paged, else `direct`) was heard within `window` before it
    /// (the start counts as heard).
    fn teaches(&mut self, paged: bool, at: EventTime, window: i64) -> bool {
        let since = *self.since.get_or_insert(at);
        let last = if paged { self.any } else { self.direct };
        let reference = last.map_or(since, |t| t.max(since));
        window == 0 || at.as_millis() - reference.as_millis() <= window
    }
}

/// The engine. See the module doc for the call order.
pub struct Engine {
    cfg: Arc<EngineConfig>,
    st: State,
    outputs: VecDeque<Output>,
}

/// Snapshot/restore failures.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("outputs not drained: poll_output() until None before taking a snapshot")]
    OutputsPending,
    #[error("engine state does not decode: {0}")]
    Decode(#[from] serde_json::Error),
}

impl Engine {
    /// A fresh engine: no alerts, no clusters, and the rule statistics of
    /// `cfg.initial_rules` (learned from past traffic) or none.
    pub fn new(cfg: Arc<EngineConfig>) -> Self {
        let mut rules = cfg.initial_rules.as_deref().cloned().unwrap_or_default();
        rules.enforce_cap(cfg.max_rules);
        Engine {
            cfg,
            st: State {
                now: EventTime::MIN,
                rules,
                ..State::default()
            },
            outputs: VecDeque::new(),
        }
    }

    /// The learned rule statistics as bytes (what `engine.learned_rules` reads): actionable
    /// rates and episode histories, keyed by rule hash. No alerts or clusters.
    pub fn rules_json(&self) -> Result<Vec<u8>, SnapshotError> {
        Ok(serde_json::to_vec(&self.st.rules)?)
    }

    /// The whole engine state as bytes. Drain outputs first: what was already handed out is
    /// not part of the state.
    pub fn snapshot(&self) -> Result<Vec<u8>, SnapshotError> {
        if !self.outputs.is_empty() {
            return Err(SnapshotError::OutputsPending);
        }
        Ok(serde_json::to_vec(&self.st)?)
    }

    /// An engine that continues exactly as the one the snapshot was taken from.
    pub fn restore(cfg: Arc<EngineConfig>, bytes: &[u8]) -> Result<Self, SnapshotError> {
        let mut st: State = serde_json::from_slice(bytes)?;
        for c in st.clusters.values_mut() {
            c.reindex();
        }
        Ok(Engine {
            cfg,
            st,
            outputs: VecDeque::new(),
        })
    }

    /// The silence after which a firing alert its sender re-sends is taken as over:
    /// `engine.max_resend_interval`, or longer once a sender was heard re-sending an alert
    /// after that (see `resend.rs`). 0: never.
    pub fn resend_interval_ms(&self) -> i64 {
        self.st.resend.silence_ms(self.cfg.max_resend_interval_ms)
    }

    /// How many receivers were heard sending a resolve: their alerts are not taken as over
    /// for silence within the interval above, only for silence past the longest any sender
    /// keeps (see `resend.rs`).
    pub fn resolving_senders(&self) -> usize {
        self.st.resend.resolving_senders()
    }

    pub fn stats(&self) -> &EngineStats {
        &self.st.stats
    }

    /// Alerts currently tracked in open clusters.
    pub fn active_alerts(&self) -> usize {
        self.st.alerts.len()
    }

    pub fn open_clusters(&self) -> usize {
        self.st.clusters.len()
    }

    /// Rules with learned statistics.
    pub fn known_rules(&self) -> usize {
        self.st.rules.len()
    }

    /// The engine's clock: the newest event time seen (or passed to `handle_watermark`).
    pub fn now(&self) -> EventTime {
        self.st.now
    }

    /// `now` minus the allowed lateness: clusters close only behind it.
    pub fn watermark(&self) -> EventTime {
        EventTime(
            self.st
                .now
                .as_millis()
                .saturating_sub(self.cfg.allowed_lateness_ms),
        )
    }

    pub fn handle_events(&mut self, evs: &[AlertEvent]) {
        for ev in evs {
            self.handle_event(ev);
        }
    }

    pub fn handle_event(&mut self, ev: &AlertEvent) {
        self.st.stats.events += 1;
        if matches!(ev.kind, EventKind::Change) {
            // Context, not an alert: it does not move the clock (a deploy tool's clock is
            // not the alerts' and must not close clusters or end holds).
            self.on_change(ev);
            return;
        }
        let late = ev.time < self.watermark();
        let repeats = self.st.stats.deduplicated;
        if ev.time > self.st.now {
            self.handle_watermark(ev.time);
        }
        match ev.kind {
            EventKind::Firing => self.on_firing(ev),
            EventKind::Resolved => {
                // PagerDuty resolves name an incident; they resolve an alert only when their
                // identity (dedup key) is one we track as an alert.
                let pd = matches!(ev.source, Source::PagerDutyV2 | Source::PagerDutyV3);
                if pd && self.st.alerts.get(ev.fingerprint).is_none() {
                    self.on_incident(ev);
                } else {
                    self.on_alert_resolved(ev);
                }
            }
            EventKind::Acknowledged | EventKind::Lifecycle(_) => self.on_incident(ev),
            EventKind::Change => {}
        }
        if let Some(listed) = &ev.listed {
            self.on_listing(ev, listed);
        }
        // A repeat carries its alert's start time (Alertmanager re-sends keep `startsAt`), so
        // it is "late" by design; only events that changed something count.
        if late && self.st.stats.deduplicated == repeats {
            self.st.stats.late += 1;
        }
    }

    /// Advances the clock to `now`, firing every timer that is due.
    pub fn handle_watermark(&mut self, now: EventTime) {
        if now <= self.st.now {
            return;
        }
        if self.st.now > EventTime::MIN {
            let step = now.as_millis().saturating_sub(self.st.now.as_millis());
            self.st.observed = self.st.observed.saturating_add(step.min(OBSERVED_STEP_MS));
        }
        self.st.now = now;
        while let Some(&(due, timer)) = self.st.timers.first() {
            if due > now {
                break;
            }
            self.st.timers.pop_first();
            match timer {
                Timer::Hold(fp) => {
                    if let Some(key) = self.st.alerts.get(fp) {
                        self.evaluate(key, due);
                    }
                }
                Timer::Expire(fp) => self.expire(fp, due),
                Timer::Unheard(fp) => self.unheard(fp, due),
                Timer::Close(key) => {
                    let close_at = due.saturating_add_ms(-self.cfg.allowed_lateness_ms);
                    let still_due = self
                        .st
                        .clusters
                        .get(&key)
                        .is_some_and(|c| c.close_at == Some(close_at));
                    if still_due {
                        self.close(key, close_at, true);
                    }
                }
            }
        }
        self.st
            .flaps
            .prune(now, &self.cfg.flap, self.cfg.max_active_alerts);
        let (alerts, clusters) = (&self.st.alerts, &self.st.clusters);
        self.st.rosters.prune(self.st.observed, |fp| {
            alerts
                .get(fp)
                .and_then(|k| clusters.get(&k))
                .and_then(|c| c.alert(fp))
                .is_some_and(|a| a.is_firing())
        });
    }

    /// How many notification groups' last listings are kept (see `roster.rs`).
    pub fn group_rosters(&self) -> usize {
        self.st.rosters.len()
    }

    /// The next clock time at which a timer is due, if any.
    pub fn poll_timeout(&self) -> Option<EventTime> {
        self.st.timers.first().map(|&(t, _)| t)
    }

    pub fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// End of input: emits a record for every cluster still open (with `closed_at` null),
    /// oldest first. No resolves are sent for them: their alerts have not resolved.
    pub fn finish(&mut self) {
        let mut open: Vec<(EventTime, ClusterKey)> = self
            .st
            .clusters
            .iter()
            .map(|(k, c)| (c.opened_at, *k))
            .collect();
        open.sort_unstable();
        for (_, key) in open {
            if let Some(mut c) = self.st.clusters.remove(&key) {
                self.forget(key, &c);
                let decision = self.final_decision(&mut c);
                self.outputs
                    .push_back(Output::Record(c.to_record(None, decision)));
            }
        }
        self.st.timers.clear();
        self.st.joinable.clear();
    }

    // ---- event handlers ------------------------------------------------------------------

    fn on_firing(&mut self, ev: &AlertEvent) {
        self.st.stats.alert_events += 1;
        // At most twice: once more after ending an episode that ended unreported.
        while !self.fire(ev) {}
    }

    /// Handles a firing event; `false` when it only ended the alert's previous episode (its
    /// resolve never arrived) and must be handled again.
    fn fire(&mut self, ev: &AlertEvent) -> bool {
        // Sent again after silence ended this very episode: its sender re-sends less often
        // than judged, and it never stopped firing. Not stale, whatever came after.
        let revived = ev.ends_at.is_none()
            && dedup::starts_name_episodes(ev.source)
            && self
                .st
                .resend
                .resent(ev.fingerprint, ev.time, self.st.observed);
        if revived {
            self.st.stats.resent_after_unheard += 1;
        }
        let silence = self.resend_interval_ms();
        let Some(key) = self.st.alerts.get(ev.fingerprint) else {
            if !revived
                && ev.ends_at.is_none()
                && self.st.flaps.resolved_after(ev.fingerprint, ev.time)
            {
                // Delivered after its resolve and after its cluster closed: as stale as
                // below, and it would open a cluster that nothing ever resolves.
                self.st.stats.stale_events += 1;
                return true;
            }
            // A revived alert's first cluster had this episode's id; its new one is named
            // by when it was revived, so no two records share an id.
            let id_at = if revived { self.st.now } else { ev.time };
            self.new_alert_named(ev, true, id_at);
            return true;
        };
        let Some(c) = self.st.clusters.get_mut(&key) else {
            return true;
        };
        // One lookup of the alert for all three judgements: this is every repeat's path.
        let Some(a) = c.alert_mut(ev.fingerprint) else {
            return true;
        };
        if !revived && dedup::is_stale_firing(a, ev) {
            a.saw(ev.time);
            c.touch(ev.time);
            self.st.stats.stale_events += 1;
            return true;
        }
        let unreported_end = dedup::unreported_end(a, ev, silence);
        let outlived_quiet = a
            .resolved_at
            .is_some_and(|r| ev.time.as_millis() - r.as_millis() > self.cfg.close_quiet_ms);
        if let Some(due) = c.close_at.filter(|&due| due <= ev.time) {
            // Its cluster was due to close before this event happened (closing lags by the
            // allowed lateness): close it as of then; this is a new episode.
            self.close(key, due, true);
            self.new_alert(ev, true);
            return true;
        }
        if let Some(end) = unreported_end {
            // How long it lasted is unknown: the end teaches no hold.
            self.st.stats.unreported_resolves += 1;
            self.resolve_alert(key, ev.fingerprint, end, None, false);
            return false;
        }
        if outlived_quiet
            && !self
                .st
                .flaps
                .is_flapping(ev.fingerprint, ev.time, &self.cfg.flap)
        {
            // Back after longer than the quiet period while its cluster stayed open for other
            // alerts: a new episode, correlated afresh. The old entry stays on the old
            // cluster's record; the alert now lives wherever it joins.
            self.new_alert(ev, true);
            return true;
        }
        c.touch(ev.time);
        let acked = c.acked_by_human;
        let Some(a) = c.alert_mut(ev.fingerprint) else {
            return true;
        };
        a.saw(ev.time);
        if ev.time >= a.episode_start {
            if ev.time == a.episode_start && a.is_firing() && dedup::starts_name_episodes(ev.source)
            {
                // A re-send of a standing alert after a longer gap than the silence judged
                // by: its sender repeats less often (learned before anything is ended, as
                // for a receiver that reports ends nothing is).
                let gap = self.st.observed.saturating_sub(a.heard_observed);
                self.st
                    .resend
                    .heard_after(gap, self.cfg.max_resend_interval_ms);
            }
            // (A delayed copy of an earlier episode's notification is no news of this one.)
            a.heard = self.st.now;
            a.heard_observed = self.st.observed;
            if ev.sender.is_some() {
                a.sender = ev.sender;
            }
        }
        a.expires_at = match (a.expires_at, ev.ends_at) {
            // Prometheus re-sends an alert with the end it means now: further ahead while it
            // fires, the resolve time once it has resolved (an earlier end, which must win).
            (Some(_), Some(new)) if ev.source == Source::Prometheus => Some(new),
            // Log records of one alert may arrive out of order: the latest end counts.
            (Some(old), Some(new)) => Some(old.max(new)),
            (_, new) => new,
        };
        let rearm = a.expires_at.is_some() && a.expires_at == ev.ends_at;
        if a.is_firing() {
            self.st.stats.deduplicated += 1;
            // (Unarmed while firing only in state restored from an older build.)
            let unarmed = a.unheard_due == EventTime::MIN;
            if rearm {
                self.schedule_expiry(ev);
            }
            if unarmed {
                self.schedule_unheard(key, ev);
            }
            return true;
        }
        // Fired again while its cluster is open: the same incident, not a new one.
        // Back after longer than the close quiet period, it is only here because flapping held
        // the cluster open; without that the episode that just ended would have closed a
        // cluster of its own and taught its rule its outcome. It still does, so that holding
        // the cluster open changes the grouping, not what is learned: it resolved without
        // anyone acknowledging it.
        let held_episode = (outlived_quiet && !acked).then_some((a.rule, a.pair));
        a.resolved_at = None;
        if !revived {
            // (Revived, it never stopped: the same episode goes on, no flap.)
            a.flaps += 1;
            a.episode_start = ev.time;
            a.hold_until = ev
                .time
                .saturating_add_ms(hold_ms(&self.cfg, &self.st.rules, ev));
            let flapping = self
                .st
                .flaps
                .change(ev.fingerprint, ev.time, &self.cfg.flap);
            a.flapping |= flapping;
            if flapping {
                self.st.stats.flapping_transitions += 1;
            }
            self.st.stats.refires += 1;
        }
        c.sync_anchor(ev.fingerprint);
        c.close_at = None;
        if c.resolved_by == Some(ResolvedBy::Auto) {
            c.resolved_at = None;
            c.resolved_by = None;
        }
        let paged = c.paged_at.is_some();
        if rearm {
            self.schedule_expiry(ev);
        }
        self.schedule_unheard(key, ev);
        if let Some((rule, pair)) = held_episode {
            self.learn_unacknowledged_episode(rule, pair, paged, ev.time);
        }
        self.evaluate(key, self.st.now);
        true
    }

    /// One episode of a flapping alert ended by itself, unacknowledged, while flapping held
    /// its cluster open (see `on_firing`): its rule learns "not actioned", as it would have
    /// from a cluster of its own, when silence teaches at all.
    fn learn_unacknowledged_episode(
        &mut self,
        rule: RuleKey,
        pair: Option<PairKey>,
        paged: bool,
        at: EventTime,
    ) {
        if !self
            .st
            .heard
            .teaches(paged, at, self.cfg.score.feedback_window_ms)
        {
            self.st.stats.outcomes_unheard += 1;
            return;
        }
        self.st.rules.outcome(rule, false, 1.0, at);
        if let Some(p) = pair {
            self.st.rules.pair_outcome(p, false, 1.0, at);
        }
        self.st.rules.enforce_cap(self.cfg.max_rules);
    }

    fn on_alert_resolved(&mut self, ev: &AlertEvent) {
        self.st.stats.alert_events += 1;
        // Its sender says it is over: a firing of the episode silence ended, delivered after
        // this, is a stale copy, not a re-send.
        self.st.resend.resolved(ev.fingerprint, ev.time);
        if let Some(sender) = ev.sender {
            // A receiver that sends resolves: its silence is no news (`resend.rs`).
            self.st.stats.resolving_senders_shed +=
                self.st.resend.sender_resolved(sender, self.st.observed);
        }
        let Some(key) = self.st.alerts.get(ev.fingerprint) else {
            // Resolved before we saw it fire (e.g. it started before noisegate did): it still
            // goes on the record, already resolved, and never pages.
            self.new_alert(ev, false);
            return;
        };
        let Some(c) = self.st.clusters.get_mut(&key) else {
            return;
        };
        c.touch(ev.time);
        let Some(a) = c.alert_mut(ev.fingerprint) else {
            return;
        };
        a.saw(ev.time);
        if !a.is_firing() {
            self.st.stats.deduplicated += 1;
            return;
        }
        if dedup::is_stale_resolve(a, ev) {
            self.st.stats.stale_events += 1;
            return;
        }
        self.resolve_alert(key, ev.fingerprint, ev.time, ev.actor, true);
    }

    /// An alert's episode ended at `t`. `end_known`: `t` is when it ended, not only a bound
    /// (an inferred end teaches no episode length: the hold learned from it would be wrong).
    fn resolve_alert(
        &mut self,
        key: ClusterKey,
        fp: Fingerprint,
        t: EventTime,
        by: Option<Actor>,
        end_known: bool,
    ) {
        let cfg = &self.cfg;
        let Some(c) = self.st.clusters.get_mut(&key) else {
            return;
        };
        let paged = c.paged_at.is_some();
        let Some(a) = c.alert_mut(fp) else {
            return;
        };
        a.resolved_at = Some(t);
        a.expires_at = None;
        if a.unheard_due != EventTime::MIN {
            // Resolved: nothing to judge (a re-fire arms it again). Removed rather than left
            // to lapse, so that a busy week does not carry a timer per alert it has seen.
            self.st.timers.remove(&(a.unheard_due, Timer::Unheard(fp)));
            a.unheard_due = EventTime::MIN;
        }
        let duration = t.as_millis() - a.episode_start.as_millis();
        if end_known && duration <= cfg.hold.max_ms {
            a.transient = true;
        }
        if !paged && t < a.hold_until {
            self.st.stats.resolved_in_hold += 1;
        }
        let flapping = self.st.flaps.resolved(fp, t, &cfg.flap);
        a.flapping |= flapping;
        if flapping {
            self.st.stats.flapping_transitions += 1;
        }
        if end_known {
            self.st.rules.episode(a.rule, duration, t, cfg.hold.max_ms);
        }
        c.sync_anchor(fp);
        self.schedule_close_if_resolved(key, t, by);
    }

    fn expire(&mut self, fp: Fingerprint, due: EventTime) {
        let Some(key) = self.st.alerts.get(fp) else {
            return;
        };
        let still_due = self
            .st
            .clusters
            .get_mut(&key)
            .and_then(|c| c.alert_mut(fp))
            .is_some_and(|a| a.is_firing() && a.expires_at == Some(due));
        if still_due {
            self.st.stats.expired += 1;
            self.resolve_alert(key, fp, due, Some(Actor::Automation), true);
        }
    }

    /// Arms the silence judgement of a firing alert whose sender re-sends it while it fires
    /// (Alertmanager, Grafana, Prometheus without `endsAt`), unless one is armed already.
    fn schedule_unheard(&mut self, key: ClusterKey, ev: &AlertEvent) {
        let silence = self
            .st
            .resend
            .silence_for(ev.sender, self.cfg.max_resend_interval_ms);
        if silence <= 0 || ev.ends_at.is_some() || !dedup::starts_name_episodes(ev.source) {
            return;
        }
        let due = self.st.now.saturating_add_ms(silence);
        let Some(a) = self
            .st
            .clusters
            .get_mut(&key)
            .and_then(|c| c.alert_mut(ev.fingerprint))
        else {
            return;
        };
        if a.unheard_due == EventTime::MIN && a.is_firing() {
            a.unheard_due = due;
            self.st.timers.insert((due, Timer::Unheard(ev.fingerprint)));
        }
    }

    /// A firing alert that its sender would have sent again by now if it still fired: not
    /// sent for `max_resend_interval` of observed time, it is over, as of when it was last
    /// heard (its resolve never reached us: a receiver with `send_resolved: false`, a lost
    /// notification, a rule deleted while firing). Without this its cluster would never
    /// close: no record in live mode, nothing learned, its memory held. Heard since, the
    /// judgement waits for the rest of the interval.
    fn unheard(&mut self, fp: Fingerprint, due: EventTime) {
        let (now, observed) = (self.st.now, self.st.observed);
        let Some(key) = self.st.alerts.get(fp) else {
            return;
        };
        let Some(a) = self.st.clusters.get_mut(&key).and_then(|c| c.alert_mut(fp)) else {
            return;
        };
        if a.unheard_due != due {
            return;
        }
        a.unheard_due = EventTime::MIN;
        if !a.is_firing() {
            return;
        }
        let silence = self
            .st
            .resend
            .silence_for(a.sender, self.cfg.max_resend_interval_ms);
        let unheard_for = observed.saturating_sub(a.heard_observed);
        if unheard_for < silence {
            let due = now.saturating_add_ms(silence - unheard_for);
            // (At the end of time, as replay's end of input is, there is nothing to wait for.)
            if due > now {
                a.unheard_due = due;
                self.st.timers.insert((due, Timer::Unheard(fp)));
            }
            return;
        }
        self.end_unreported(key, fp, false);
    }

    /// Ends the current episode of the firing alert `fp` (in cluster `key`), whose resolve
    /// never arrived, as of when it was last heard: for silence, or (`left_out`) because its
    /// group's next notification left it out. Remembered, so that a re-send of the episode
    /// revives it.
    fn end_unreported(&mut self, key: ClusterKey, fp: Fingerprint, left_out: bool) {
        let Some(a) = self.st.clusters.get(&key).and_then(|c| c.alert(fp)) else {
            return;
        };
        let (end, start, heard) = (
            a.heard.max(a.episode_start),
            a.episode_start,
            a.heard_observed,
        );
        self.st.stats.unreported_resolves += 1;
        self.st.stats.left_out += u64::from(left_out);
        self.st.stats.unheard_episodes_shed += self.st.resend.ended(
            fp,
            start,
            heard,
            self.st.observed,
            self.cfg.max_active_alerts,
            left_out,
        );
        // How long it lasted is unknown: the end teaches no hold.
        self.resolve_alert(key, fp, end, None, false);
    }

    /// A complete notification of a group listed `listed`: the firing alerts the group's
    /// previous notification listed and this one leaves out are over, as of when they were
    /// last heard (see `roster.rs`). Only alerts last sent by this receiver: one another
    /// receiver sends is that receiver's to judge. As for silence, how long they lasted is
    /// unknown, and a re-send of the episode revives it.
    fn on_listing(&mut self, ev: &AlertEvent, listed: &Listing) {
        let (Some(sender), Some(group)) = (ev.sender, ev.group) else {
            return;
        };
        let observed = self.st.observed;
        let (left, shed) =
            self.st
                .rosters
                .listed(sender, group, listed, observed, roster::MAX_ROSTERS);
        self.st.stats.rosters_shed += shed;
        for fp in left {
            let Some(key) = self.st.alerts.get(fp) else {
                continue;
            };
            let firing_from_here = self
                .st
                .clusters
                .get(&key)
                .and_then(|c| c.alert(fp))
                .is_some_and(|a| a.is_firing() && a.sender == Some(sender));
            if firing_from_here {
                self.end_unreported(key, fp, true);
            }
        }
    }

    fn schedule_expiry(&mut self, ev: &AlertEvent) {
        if let Some(t) = ev.ends_at {
            self.st.timers.insert((t, Timer::Expire(ev.fingerprint)));
        }
    }

    fn schedule_close_if_resolved(&mut self, key: ClusterKey, t: EventTime, by: Option<Actor>) {
        let Some(c) = self.st.clusters.get_mut(&key) else {
            return;
        };
        if !c.all_resolved() || c.close_at.is_some() {
            return;
        }
        c.mark_resolved(t, Some(by.unwrap_or(Actor::Automation)));
        // A flapping alert is one problem until it has been quiet for the flap quiet period:
        // a cluster of flapping alerts stays open that long, so the next episode re-joins it
        // as a flap instead of opening (and recording, and maybe paging) a cluster of its
        // own. Only when every alert in it is flapping: one flapping alert must not hold open
        // an incident whose other alerts are over (its page, and what its outcome teaches,
        // would wait hours on an unrelated flap).
        let cfg = &self.cfg;
        let flaps = &mut self.st.flaps;
        let flapping = c
            .alerts
            .iter()
            .all(|a| flaps.is_flapping(a.fingerprint, t, &cfg.flap));
        let quiet = if flapping {
            cfg.close_quiet_ms.max(cfg.flap.quiet_ms)
        } else {
            cfg.close_quiet_ms
        };
        let due = t.saturating_add_ms(quiet);
        c.close_at = Some(due);
        let fire = due.saturating_add_ms(self.cfg.allowed_lateness_ms);
        self.st.timers.insert((fire, Timer::Close(key)));
    }

    fn on_incident(&mut self, ev: &AlertEvent) {
        let open = self
            .st
            .links
            .find(ev, &self.st.alerts)
            .filter(|k| self.st.clusters.contains_key(k));
        let Some(key) = open else {
            self.st.stats.lifecycle_unlinked += 1;
            // A person's acknowledgement of a cluster that has closed may still correct
            // what its close taught.
            if ev.kind == EventKind::Acknowledged
                && ev.actor != Some(Actor::Automation)
                && !self.st.late.is_empty()
            {
                let window = self.cfg.score.feedback_window_ms;
                self.st.late.expire(self.st.now.saturating_add_ms(-window));
                if self.st.late.correct(ev, &mut self.st.rules) {
                    self.st.stats.late_acks_corrected += 1;
                }
            }
            return;
        };
        self.st.stats.lifecycle_linked += 1;
        if ev.source == Source::PagerDutyV3 {
            if let Some(id) = &ev.source_id {
                self.st.links.add_source_key(key, &DedupKey(id.clone()));
            }
        }
        // The alert the event names, if it names one of this cluster's by fingerprint (ours,
        // or the one its sender gave it).
        let alerts = &self.st.alerts;
        let Some(c) = self.st.clusters.get_mut(&key) else {
            return;
        };
        let named = ev
            .dedup_key
            .as_ref()
            .and_then(|dk| {
                Fingerprint::parse_hex(dk.as_str())
                    .filter(|&fp| alerts.get(fp) == Some(key))
                    .or_else(|| {
                        c.alerts
                            .iter()
                            .find(|a| a.source_id.as_deref() == Some(dk.as_str()))
                            .map(|a| a.fingerprint)
                    })
            })
            .or_else(|| (alerts.get(ev.fingerprint) == Some(key)).then_some(ev.fingerprint));
        match ev.kind {
            EventKind::Acknowledged => {
                c.acked_at = Some(c.acked_at.map_or(ev.time, |t| t.min(ev.time)));
                let human = ev.actor != Some(Actor::Automation);
                if human {
                    let heard = &mut self.st.heard;
                    heard.any = heard.any.max(Some(ev.time));
                    let via_page = ev
                        .dedup_key
                        .as_ref()
                        .is_some_and(|k| ClusterId::looks_like(k.as_str()));
                    if !via_page {
                        heard.direct = heard.direct.max(Some(ev.time));
                    }
                }
                if human && !c.acked_by_human {
                    c.acked_alert = named;
                }
                c.acked_by_human |= human;
            }
            EventKind::Resolved => c.mark_resolved(ev.time, ev.actor),
            EventKind::Firing | EventKind::Lifecycle(_) | EventKind::Change => {}
        }
    }

    /// A change: logged under its service and team, and shown on the open clusters about
    /// them (see `changes.rs`).
    fn on_change(&mut self, ev: &AlertEvent) {
        self.st.stats.changes += 1;
        if ev.service.is_none() && ev.team.is_none() {
            self.st.stats.changes_unscoped += 1;
            return;
        }
        let c = changes::to_ref(ev);
        let lookback = self.cfg.change_lookback_ms;
        let keep_from = self.st.now.saturating_add_ms(-lookback);
        self.st.stats.change_scopes_shed += self.st.changes.insert(&c, keep_from);
        for cl in self.st.clusters.values_mut() {
            let about = (c.team.is_some() && cl.team == c.team)
                || c.service
                    .as_deref()
                    .is_some_and(|s| cl.services().any(|x| x == s));
            if about && c.time >= cl.opened_at.saturating_add_ms(-lookback) {
                changes::add_to(&mut cl.changes, &c);
            }
        }
    }

    /// A new alert in cluster `key`: the cluster shows the logged changes to the alert's
    /// service and team since `change_lookback` before it opened.
    fn attach_changes(&mut self, key: ClusterKey, ev: &AlertEvent) {
        if self.st.changes.is_empty() {
            return;
        }
        let Some(c) = self.st.clusters.get_mut(&key) else {
            return;
        };
        let from = c.opened_at.saturating_add_ms(-self.cfg.change_lookback_ms);
        for ch in self
            .st
            .changes
            .since(ev.service.as_deref(), ev.team.as_deref(), from)
        {
            changes::add_to(&mut c.changes, ch);
        }
    }

    // ---- correlation -----------------------------------------------------------------------

    /// An alert not in any open cluster: correlate it into one (merging the clusters it
    /// links), or open a new cluster.
    fn new_alert(&mut self, ev: &AlertEvent, firing: bool) {
        self.new_alert_named(ev, firing, ev.time);
    }

    /// [`Self::new_alert`]; a cluster it opens has its id derived from `id_at`.
    fn new_alert_named(&mut self, ev: &AlertEvent, firing: bool, id_at: EventTime) {
        let cfg = Arc::clone(&self.cfg);
        let sig = correlate::signature(ev, &cfg.correlation);
        let hold = hold_ms(&cfg, &self.st.rules, ev);
        // A known alert coming back after its cluster closed is a state change.
        let flapping = firing
            && self
                .st
                .flaps
                .is_flapping(ev.fingerprint, ev.time, &cfg.flap)
                | self
                    .st
                    .flaps
                    .change_if_known(ev.fingerprint, ev.time, &cfg.flap);
        if flapping {
            self.st.stats.flapping_transitions += 1;
        }
        let (mut candidates, full_paged) = self.candidates(ev, &sig);
        // No open cluster links it: a late symptom of a failure still going on joins the
        // failing cluster (the one that paged first, else the oldest) without reopening it.
        let mut late = false;
        if candidates.is_empty() {
            candidates = self.late_candidates(ev);
            late = !candidates.is_empty();
        }
        let key = match self.choose_survivor(&candidates) {
            None => {
                let key = self.open_cluster(ev, &sig, hold, id_at);
                if full_paged {
                    if let Some(c) = self.st.clusters.get_mut(&key) {
                        c.folded = true;
                    }
                }
                key
            }
            Some(survivor) => {
                for &other in &candidates {
                    if other != survivor {
                        self.merge(survivor, other);
                    }
                }
                if let Some(c) = self.st.clusters.get_mut(&survivor) {
                    let last_join = c.last_join;
                    c.add_alert(ev, &sig, hold);
                    if late {
                        c.last_join = last_join;
                    }
                }
                self.st.stats.correlated += 1;
                survivor
            }
        };
        self.st.alerts.insert(ev.fingerprint, key);
        if let Some(dk) = &ev.dedup_key {
            self.st.links.add_source_key(key, dk);
        }
        if let Some(g) = ev.group {
            self.st.links.add_group(key, g);
        }
        // The sender's own fingerprint, when it is not ours (Grafana's, over labels its
        // webhook does not show): history exported from that tool names the alert by it.
        if let Some(id) = ev.source_id.as_deref() {
            if Fingerprint::parse_hex(id).is_some_and(|f| f != ev.fingerprint) {
                self.st.links.add_source_key(key, &DedupKey(id.into()));
            }
        }
        let (now, observed) = (self.st.now, self.st.observed);
        if let Some(a) = self
            .st
            .clusters
            .get_mut(&key)
            .and_then(|c| c.alert_mut(ev.fingerprint))
        {
            a.flapping = flapping;
            a.heard = now;
            a.heard_observed = observed;
        }
        if let Some(c) = self.st.clusters.get_mut(&key) {
            c.sync_anchor(ev.fingerprint);
        }
        self.attach_changes(key, ev);
        if firing {
            self.schedule_expiry(ev);
            self.schedule_unheard(key, ev);
            self.evaluate(key, self.st.now);
        } else {
            self.resolve_alert(key, ev.fingerprint, ev.time, ev.actor, true);
        }
        if self.st.alerts.len() > self.cfg.max_active_alerts {
            self.shed();
        }
    }

    /// Open clusters the alert links to, in opening order. Prunes clusters that no longer
    /// take in alerts from the joinable list as it goes.
    fn candidates(&mut self, ev: &AlertEvent, sig: &AlertSig) -> (Vec<ClusterKey>, bool) {
        let cfg = &self.cfg.correlation;
        let clusters = &self.st.clusters;
        let t = ev.time;
        // Keep clusters whose window has not passed at the engine's clock (a late event may
        // still be within an older cluster's window even if `now` is past it), and clusters
        // failing now or until recently (their late symptoms, which may arrive a while after
        // they started, may join them).
        let now = self.st.now;
        self.st.joinable.retain(|k| {
            clusters.get(k).is_some_and(|c| {
                let age = now.as_millis() - c.last_join.as_millis();
                age <= cfg.window_ms.saturating_add(self.cfg.allowed_lateness_ms)
                    || (age
                        <= cfg
                            .window_ms
                            .saturating_add(cfg.late_symptom_window_ms)
                            .saturating_add(self.cfg.allowed_lateness_ms)
                        && c.failing_within(now, cfg.window_ms))
            })
        });
        let mut full_paged = false;
        let found = self
            .st
            .joinable
            .iter()
            .copied()
            .filter(|k| {
                clusters.get(k).is_some_and(|c| {
                    if !correlate::in_window(c, t, cfg) || !correlate::links(c, sig, ev, cfg) {
                        return false;
                    }
                    if correlate::has_room(c, cfg) {
                        return true;
                    }
                    full_paged |= c.paged_at.is_some();
                    false
                })
            })
            .collect();
        (found, full_paged)
    }

    /// Clusters past their join window that the alert is a late symptom of (see
    /// [`correlate::late_symptom`]): only the one to join first, since a late symptom merges
    /// nothing.
    fn late_candidates(&self, ev: &AlertEvent) -> Vec<ClusterKey> {
        let clusters = &self.st.clusters;
        let cfg = &self.cfg.correlation;
        let late: Vec<ClusterKey> = self
            .st
            .joinable
            .iter()
            .copied()
            .filter(|k| {
                clusters.get(k).is_some_and(|c| {
                    !correlate::in_window(c, ev.time, cfg)
                        && correlate::has_room(c, cfg)
                        && correlate::late_symptom(c, ev, cfg)
                })
            })
            .collect();
        self.choose_survivor(&late).into_iter().collect()
    }

    /// The cluster that takes the alert: the one that paged first if any (its incident is
    /// open in PagerDuty), else the oldest.
    fn choose_survivor(&self, candidates: &[ClusterKey]) -> Option<ClusterKey> {
        let c = &self.st.clusters;
        candidates.iter().copied().min_by_key(|k| {
            let s = &c[k];
            (s.paged_at.is_none(), s.paged_at, s.opened_at, *k)
        })
    }

    /// Merges `other` into `survivor` unless the result would exceed the size cap. When both
    /// paged, they merge only while `other`'s page is fresh (within the correlation window)
    /// and nobody has acknowledged it: then its PagerDuty incident is resolved as folded
    /// into the survivor's (the first seconds of a cascade often page twice before the link
    /// between two symptoms shows). An incident someone is working on is never merged away.
    fn merge(&mut self, survivor: ClusterKey, other: ClusterKey) {
        let (Some(s), Some(o)) = (
            self.st.clusters.get(&survivor),
            self.st.clusters.get(&other),
        ) else {
            return;
        };
        if s.alerts.len() + o.alerts.len() > self.cfg.correlation.max_alerts_per_cluster {
            return;
        }
        if let (Some(_), Some(p)) = (s.paged_at, o.paged_at) {
            let fresh = self.st.now.as_millis() - p.as_millis() <= self.cfg.correlation.window_ms;
            if !fresh || o.acked_at.is_some() {
                return;
            }
            let resolve = route::resolve(&self.cfg, o);
            self.outputs.push_back(Output::Page(resolve));
            self.st.stats.pages_resolved += 1;
            self.st.stats.pages_folded += 1;
        }
        let Some(o) = self.st.clusters.remove(&other) else {
            return;
        };
        for a in &o.alerts {
            if self.st.alerts.get(a.fingerprint) == Some(other) {
                self.st.alerts.insert(a.fingerprint, survivor);
            }
        }
        self.st.links.reassign(other, &o.id, survivor);
        self.st.joinable.retain(|&k| k != other);
        if let Some(s) = self.st.clusters.get_mut(&survivor) {
            s.absorb(o);
        }
        self.st.stats.merges += 1;
    }

    fn open_cluster(
        &mut self,
        ev: &AlertEvent,
        sig: &AlertSig,
        hold: i64,
        id_at: EventTime,
    ) -> ClusterKey {
        let key = self.st.next_key;
        self.st.next_key += 1;
        let c = ClusterState::open(ClusterId::derive(ev.fingerprint, id_at), ev, sig, hold);
        self.st.links.add_cluster(key, &c.id);
        self.st.clusters.insert(key, c);
        self.st.joinable.push(key);
        self.st.stats.clusters_opened += 1;
        key
    }

    // ---- decisions -------------------------------------------------------------------------

    /// Pages the cluster if its score says so and an alert's hold is over; otherwise, if
    /// only a hold stands in the way, sets a timer for it. Never waits for outcomes.
    fn evaluate(&mut self, key: ClusterKey, now: EventTime) {
        let cfg = Arc::clone(&self.cfg);
        let Some(c) = self.st.clusters.get_mut(&key) else {
            return;
        };
        if c.paged_at.is_some() || c.folded {
            return;
        }
        let s = score::rescore(c, &self.st.rules, &cfg, now);
        if s < cfg.score.page_threshold {
            // The score rises as its alerts outlive their rules' usual quick resolutions:
            // look again when the soonest of those expectations runs out.
            let rules = &self.st.rules;
            let next = c
                .alerts
                .iter()
                .filter(|a| {
                    a.is_firing() && !a.transient && score::expects_transience(&cfg, a.severity)
                })
                .filter_map(|a| {
                    let h = rules.get(a.rule)?.transient_horizon_ms(cfg.hold.max_ms)?;
                    let t = a.episode_start.saturating_add_ms(h);
                    (t > now).then_some((t, a.fingerprint))
                })
                .min();
            if let Some(timer) = next {
                self.st.timers.insert((timer.0, Timer::Hold(timer.1)));
            }
            return;
        }
        // The alert to page on: the worst one whose hold is over, earliest first.
        let ready = c
            .alerts
            .iter()
            .enumerate()
            .filter(|(_, a)| a.is_firing() && a.hold_until <= now)
            .max_by_key(|(_, a)| (a.severity, std::cmp::Reverse(a.first_seen)))
            .map(|(i, _)| i);
        match ready {
            Some(i) => {
                c.paged_at = Some(now);
                let page = route::trigger(&cfg, c, &c.alerts[i], now);
                for a in &mut c.alerts {
                    a.summary = None;
                }
                self.outputs.push_back(Output::Page(page));
                self.st.stats.pages_triggered += 1;
            }
            None => {
                let next = c
                    .alerts
                    .iter()
                    .filter(|a| a.is_firing())
                    .map(|a| (a.hold_until, a.fingerprint))
                    .min();
                if let Some((t, fp)) = next {
                    self.st.timers.insert((t, Timer::Hold(fp)));
                }
            }
        }
    }

    /// The decision a closing (or end-of-input) cluster is recorded with.
    fn final_decision(&self, c: &mut ClusterState) -> Decision {
        if c.paged_at.is_some() {
            return Decision::Page;
        }
        let s = score::rescore(c, &self.st.rules, &self.cfg, self.st.now);
        score::unpaged_decision(s, &self.cfg)
    }

    /// Removes a cluster's index entries.
    fn forget(&mut self, key: ClusterKey, c: &ClusterState) {
        for a in &c.alerts {
            if self.st.alerts.get(a.fingerprint) == Some(key) {
                self.st.alerts.remove(a.fingerprint);
            }
            if a.unheard_due != EventTime::MIN {
                self.st
                    .timers
                    .remove(&(a.unheard_due, Timer::Unheard(a.fingerprint)));
            }
        }
        self.st.links.remove_cluster(key, &c.id);
        self.st.joinable.retain(|&k| k != key);
    }

    fn close(&mut self, key: ClusterKey, at: EventTime, send_resolve: bool) {
        let Some(mut c) = self.st.clusters.remove(&key) else {
            return;
        };
        // Learn from the outcome: acknowledged by a person before it resolved = actioned;
        // resolved without that = not. Shed clusters (not resolved) teach nothing.
        let actioned = c.acked_by_human
            && c.acked_at
                .is_some_and(|a| c.resolved_at.is_none_or(|r| a <= r));
        // A "not actioned" lesson is kept under every key that names the cluster, its
        // senders' among them (gone from the link index once it is forgotten).
        let sender_keys: Vec<String> = if actioned || c.resolved_at.is_none() {
            Vec::new()
        } else {
            let keys = self.st.links.source_keys_of(key);
            keys.iter().map(|k| k.as_str().to_string()).collect()
        };
        self.forget(key, &c);
        let decision = self.final_decision(&mut c);
        let heard =
            self.st
                .heard
                .teaches(c.paged_at.is_some(), at, self.cfg.score.feedback_window_ms);
        if !actioned && c.resolved_at.is_some() && !heard {
            self.st.stats.outcomes_unheard += 1;
        }
        if actioned || (c.resolved_at.is_some() && heard) {
            // The rule of the alert a person acknowledged gets the whole outcome: it is the
            // one they acted on. The others share it.
            let acked = c
                .acked_alert
                .filter(|_| actioned)
                .and_then(|fp| c.alerts.iter().find(|a| a.fingerprint == fp))
                .map(|a| (a.rule, a.pair));
            let mut rules: Vec<RuleKey> = c.alerts.iter().map(|a| a.rule).collect();
            rules.sort_unstable();
            rules.dedup();
            let w = 1.0 / rules.len().max(1) as f64;
            let rules: Vec<(RuleKey, f64)> = rules
                .into_iter()
                .map(|r| {
                    let own = acked.is_some_and(|(ar, _)| ar == r);
                    (r, if own { 1.0 } else { w })
                })
                .collect();
            for &(r, w) in &rules {
                self.st.rules.outcome(r, actioned, w, at);
            }
            let mut pairs: Vec<PairKey> = c.alerts.iter().filter_map(|a| a.pair).collect();
            pairs.sort_unstable();
            pairs.dedup();
            let w = 1.0 / pairs.len().max(1) as f64;
            let pairs: Vec<(PairKey, f64)> = pairs
                .into_iter()
                .map(|p| {
                    let own = acked.is_some_and(|(_, ap)| ap == Some(p));
                    (p, if own { 1.0 } else { w })
                })
                .collect();
            for &(p, w) in &pairs {
                self.st.rules.pair_outcome(p, actioned, w, at);
            }
            self.st.rules.enforce_cap(self.cfg.max_rules);
            if let (false, Some(resolved_at)) = (actioned, c.resolved_at) {
                // Kept so an acknowledgement that arrives late can still correct it.
                let mut keys = vec![c.id.0.clone()];
                keys.extend(sender_keys);
                for a in c.alerts.iter().take(late::MAX_KEYS) {
                    keys.push(a.fingerprint.to_string());
                    keys.extend(a.source_id.iter().map(|s| s.to_string()));
                }
                let horizon = at.saturating_add_ms(-self.cfg.score.feedback_window_ms);
                self.st.late.expire(horizon);
                self.st.stats.late_lessons_shed +=
                    self.st.late.record(at, resolved_at, rules, pairs, keys);
            }
        }
        if send_resolve && c.paged_at.is_some() {
            self.outputs
                .push_back(Output::Page(route::resolve(&self.cfg, &c)));
            self.st.stats.pages_resolved += 1;
        }
        self.st.stats.clusters_closed += 1;
        self.outputs
            .push_back(Output::Record(c.to_record(Some(at), decision)));
    }

    /// Over the alert cap: close the least recently active 1 % of clusters (at least one) at
    /// the watermark. Records are still written; no resolve is sent, since their alerts may
    /// still be firing. Batching keeps the cost amortised O(1) per alert.
    fn shed(&mut self) {
        let mut by_age: Vec<(EventTime, ClusterKey)> = self
            .st
            .clusters
            .iter()
            .map(|(k, c)| (c.last_activity, *k))
            .collect();
        let n = (by_age.len() / 100).max(1).min(by_age.len());
        if n < by_age.len() {
            by_age.select_nth_unstable(n);
        }
        let mut victims: Vec<_> = by_age[..n].to_vec();
        victims.sort_unstable();
        let at = self.watermark().max(EventTime(0));
        for (_, key) in victims {
            self.close(key, at, false);
            self.st.stats.clusters_shed += 1;
        }
    }
}

/// How long a new episode of this alert is held before it may page: learned from the rule's
/// history when there is enough (non-critical only), else the severity's default.
fn hold_ms(cfg: &EngineConfig, rules: &RuleBook, ev: &AlertEvent) -> i64 {
    let default = cfg.hold.by_severity_ms[ev.severity as usize];
    if ev.severity == Severity::Critical || !cfg.hold.learn {
        return default;
    }
    rules
        .get(RuleKey::of(&ev.alertname, ev.severity))
        .and_then(|r| r.learned_hold(&cfg.hold))
        .unwrap_or(default)
}

#[cfg(test)]
mod tests;
