//! Every Prometheus metric noisegate exports, named in one place, with pre-registered handles
//! so the hot path only bumps atomics (once per batch where it can). Owns names, labels and
//! the cardinality caps (team, service and rule values beyond `max_label_values` are counted
//! under `other`); it decides nothing and knows no I/O beyond rendering the text format.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use metrics::{
    counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram, Counter,
    Gauge, Histogram, Unit,
};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use rustc_hash::FxHashMap;

use crate::engine::{Engine, EngineStats};
use crate::event::EventTime;
use crate::record::{ClusterRecord, Decision, Page, PageAction};

pub const EVENTS_RECEIVED: &str = "noisegate_events_received_total";
pub const EVENTS_INVALID: &str = "noisegate_events_invalid_total";
pub const ALERT_EVENTS: &str = "noisegate_alert_events_total";
pub const ALERTS_TRUNCATED: &str = "noisegate_alerts_truncated_total";
pub const CHANGE_EVENTS: &str = "noisegate_change_events_total";
pub const CHANGE_SCOPES_SHED: &str = "noisegate_change_scopes_shed_total";
pub const UNHEARD_EPISODES_SHED: &str = "noisegate_unheard_episodes_shed_total";
pub const LATE_ACKS: &str = "noisegate_late_acks_total";
pub const LIFECYCLE_EVENTS: &str = "noisegate_lifecycle_events_total";
pub const DEDUPLICATED: &str = "noisegate_events_deduplicated_total";
pub const CLOCK_SKEWED: &str = "noisegate_events_clock_skewed_total";
pub const STALE_EVENTS: &str = "noisegate_stale_alert_events_total";
pub const UNREPORTED_RESOLVES: &str = "noisegate_unreported_resolves_total";
pub const ACTIVE_ALERTS: &str = "noisegate_active_alerts";
pub const OPEN_CLUSTERS: &str = "noisegate_open_clusters";
pub const EVENT_TIME: &str = "noisegate_event_time_seconds";
pub const RESEND_INTERVAL: &str = "noisegate_resend_interval_seconds";
pub const RESOLVING_SENDERS: &str = "noisegate_resolving_senders";
pub const RESOLVING_SENDERS_SHED: &str = "noisegate_resolving_senders_shed_total";
pub const LEFT_OUT: &str = "noisegate_left_out_resolves_total";
pub const GROUP_ROSTERS: &str = "noisegate_group_rosters";
pub const GROUP_ROSTERS_SHED: &str = "noisegate_group_rosters_shed_total";
pub const CLUSTERS_CLOSED: &str = "noisegate_clusters_closed_total";
pub const PAGES: &str = "noisegate_pages_total";
pub const PAGE_RESOLVES: &str = "noisegate_page_resolves_total";
pub const FLAPPING: &str = "noisegate_flapping_transitions_total";
pub const HELD_RESOLVED: &str = "noisegate_held_resolved_total";
pub const OUTCOMES_UNHEARD: &str = "noisegate_outcomes_unheard_total";
pub const RULE_ALERT_EVENTS: &str = "noisegate_rule_alert_events_total";
pub const NOISE_RATIO: &str = "noisegate_noise_ratio";
pub const ACTIONABLE_RATIO: &str = "noisegate_actionable_ratio";
pub const BATCH_DURATION: &str = "noisegate_batch_duration_seconds";
pub const EVENT_TO_PAGE: &str = "noisegate_event_to_page_seconds";
pub const KAFKA_LAG: &str = "noisegate_kafka_consumer_lag";
pub const CHECKPOINT_DURATION: &str = "noisegate_checkpoint_duration_seconds";
pub const LAST_CHECKPOINT: &str = "noisegate_last_checkpoint_timestamp_seconds";
pub const IN_FLIGHT: &str = "noisegate_outputs_in_flight";
pub const INPUT_PAUSED: &str = "noisegate_input_paused";
pub const DEADLETTERS: &str = "noisegate_deadletters_total";
pub const PD_EVENTS: &str = "noisegate_pagerduty_events_total";
pub const PD_REQUESTS: &str = "noisegate_pagerduty_requests_total";
pub const PD_RETRIES: &str = "noisegate_pagerduty_retries_total";
pub const PD_THROTTLED: &str = "noisegate_pagerduty_throttled_total";
pub const PD_DELAYED: &str = "noisegate_pagerduty_delayed_events_total";
pub const PD_QUEUE: &str = "noisegate_pagerduty_queue_depth";
pub const PD_OLDEST: &str = "noisegate_pagerduty_oldest_queued_seconds";

const OTHER: &str = "other";

/// Installs the global Prometheus recorder and returns the handle `/metrics` renders.
pub fn install() -> Result<PrometheusHandle, metrics_exporter_prometheus::BuildError> {
    let secs = [
        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
        60.0,
    ];
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &secs)?
        .install_recorder()?;
    describe();
    Ok(handle)
}

/// HELP texts: what each series means, for whoever reads `/metrics` or builds a panel.
fn describe() {
    describe_counter!(
        EVENTS_RECEIVED,
        "Input payloads decoded, by source and format."
    );
    describe_counter!(
        ALERTS_TRUNCATED,
        "Alerts senders left out of their notifications (Alertmanager's and Grafana's truncatedAlerts, over a receiver's max_alerts): never received. Raise max_alerts."
    );
    describe_counter!(
        CHANGE_EVENTS,
        "Change events (PagerDuty Change Events: deploys, rollouts) handled, by result: logged (shown on the clusters of the service or team it names) or unscoped (it names none noisegate knows; shown nowhere)."
    );
    describe_counter!(
        CHANGE_SCOPES_SHED,
        "Services or teams whose recent changes were forgotten to keep the change log within its cap."
    );
    describe_counter!(
        LIFECYCLE_EVENTS,
        "Acknowledgements, resolves and other incident steps from PagerDuty and other tools, by result: linked (to the open cluster its key names: a noisegate page, an alert, a PagerDuty dedup key, an Alertmanager group) or unlinked (its key names nothing open). Only linked ones teach the engine which rules people act on."
    );
    describe_counter!(
        LATE_ACKS,
        "Acknowledgements that arrived after their cluster closed: corrected (it happened before the cluster resolved, so the 'not actioned' its close taught was reversed), or lessons_shed (such lessons forgotten to stay within their cap)."
    );
    describe_counter!(
        EVENTS_INVALID,
        "Input payloads that could not be used (dead-lettered), by source and reason."
    );
    describe_counter!(
        ALERT_EVENTS,
        "Alert events (firing/resolved) handed to the engine."
    );
    describe_counter!(
        DEDUPLICATED,
        "Firing repeats of an alert already firing, absorbed by dedup."
    );
    describe_counter!(
        CLOCK_SKEWED,
        "Events stamped further ahead of the wall clock when they arrived than input.max_clock_skew, taken as of their arrival: a sender's clock is wrong."
    );
    describe_counter!(
        STALE_EVENTS,
        "Alert events delivered after a later state of their alert (the resolve of an earlier episode, a firing of an episode already resolved), ignored: out-of-order delivery across inputs or partitions."
    );
    describe_counter!(
        UNREPORTED_RESOLVES,
        "Alert episodes whose resolve never arrived (a receiver with send_resolved: false?): the alert was not sent again for engine.max_resend_interval of observed time, or came back with a later startsAt after longer than that unheard, or its group's next notification left it out (noisegate_left_out_resolves_total). The episode is taken as over when last heard."
    );
    describe_counter!(
        LEFT_OUT,
        "Firing alerts taken as over because a later notification of their Alertmanager or Grafana group, from the same receiver and not truncated, left them out: resolved under send_resolved: false, or silenced or inhibited. Also counted in noisegate_unreported_resolves_total."
    );
    describe_gauge!(
        GROUP_ROSTERS,
        "Notification groups (receiver and groupKey) whose last listing of alerts is kept, to tell which alerts their next notification leaves out."
    );
    describe_counter!(
        GROUP_ROSTERS_SHED,
        "Notification groups whose last listing was forgotten to stay within the cap (65536), the group listed longest ago first: their alerts' ends are judged by silence again."
    );
    describe_gauge!(ACTIVE_ALERTS, "Alerts tracked in open clusters.");
    describe_counter!(
        UNHEARD_EPISODES_SHED,
        "Episodes that silence ended, kept to recognise a later re-send of them, forgotten to stay within engine.max_active_alerts (the oldest first)."
    );
    describe_gauge!(
        RESEND_INTERVAL,
        "The silence after which a firing alert its sender re-sends is taken as over: engine.max_resend_interval, or longer once a sender re-sent an alert after that (its repeat_interval is longer: set the config to it)."
    );
    describe_gauge!(
        RESOLVING_SENDERS,
        "Receivers (Alertmanager or Grafana receiver and external URL) heard sending a resolve, so send_resolved is on: their alerts are not taken as over for silence within engine.max_resend_interval, only after 120h5m unheard (a lost notification)."
    );
    describe_counter!(
        RESOLVING_SENDERS_SHED,
        "Receivers known to send resolves forgotten to stay within their cap (4096), the one heard resolving longest ago first."
    );
    describe_gauge!(
        EVENT_TIME,
        "The engine's clock (event time) as Unix time: time() minus this is how far event time is behind the wall clock (a backlog, or input that has not moved it)."
    );
    describe_gauge!(
        OPEN_CLUSTERS,
        "Clusters (probable incidents) currently open."
    );
    describe_counter!(
        CLUSTERS_CLOSED,
        "Clusters closed, by decision (page, ticket, suppress)."
    );
    describe_counter!(
        PAGES,
        "PagerDuty triggers, by team, service, severity and whether after hours."
    );
    describe_counter!(PAGE_RESOLVES, "PagerDuty resolves sent.");
    describe_counter!(
        FLAPPING,
        "Alert state changes that happened while the alert was flapping."
    );
    describe_counter!(
        HELD_RESOLVED,
        "Alerts that resolved during their transient hold, before they could page."
    );
    describe_counter!(
        OUTCOMES_UNHEARD,
        "Clusters closed unacknowledged that taught nothing: no acknowledgement had been heard within score.feedback_window."
    );
    describe_counter!(
        RULE_ALERT_EVENTS,
        "Alert events by rule (alertname); overflow beyond the label cap is 'other'."
    );
    describe_gauge!(NOISE_RATIO, "1 - pages / alert events over the last hour.");
    describe_gauge!(
        ACTIONABLE_RATIO,
        "Share of clusters closed in the last 24 hours that a person acknowledged."
    );
    describe_histogram!(
        BATCH_DURATION,
        Unit::Seconds,
        "Time to decode and run one input batch through the engine."
    );
    describe_histogram!(EVENT_TO_PAGE, Unit::Seconds, "Kafka timestamp of the message that caused a page to the broker's acknowledgement of the page.");
    describe_gauge!(
        KAFKA_LAG,
        "Consumer lag in messages, by topic and partition (librdkafka statistics)."
    );
    describe_histogram!(
        CHECKPOINT_DURATION,
        Unit::Seconds,
        "Time to write one checkpoint (fsync and rename included)."
    );
    describe_gauge!(LAST_CHECKPOINT, "Unix time of the last checkpoint written.");
    describe_gauge!(
        IN_FLIGHT,
        "Output messages not yet acknowledged by the broker."
    );
    describe_gauge!(
        INPUT_PAUSED,
        "1 while input is paused because outputs are not being acknowledged."
    );
    describe_counter!(DEADLETTERS, "Dead letters written, by reason.");
    describe_counter!(
        PD_EVENTS,
        "PagerDuty sink events ended, by result: delivered, rejected (4xx, not retried) or coalesced into a queued event of the same dedup_key."
    );
    describe_counter!(
        PD_REQUESTS,
        "PagerDuty sink HTTP requests, by status class (2xx, 4xx, 429, 5xx, error)."
    );
    describe_counter!(
        PD_RETRIES,
        "PagerDuty sink requests that will be retried (429, 5xx, 408, transport errors)."
    );
    describe_counter!(
        PD_THROTTLED,
        "PagerDuty sink requests answered 429 Too Many Requests."
    );
    describe_counter!(
        PD_DELAYED,
        "PagerDuty sink events that waited for the per-routing-key rate limit or a backoff."
    );
    describe_gauge!(PD_QUEUE, "PagerDuty sink events queued, not yet sent.");
    describe_gauge!(
        PD_OLDEST,
        "Age of the oldest event queued in the PagerDuty sink (0 when empty)."
    );
}

/// A label value from an open set, capped: the first `cap` values get their own series.
struct Capped<K> {
    cap: usize,
    seen: FxHashMap<K, Counter>,
    other: Option<Counter>,
}

impl<K: std::hash::Hash + Eq> Capped<K> {
    fn new(cap: usize) -> Self {
        Capped {
            cap,
            seen: FxHashMap::default(),
            other: None,
        }
    }

    /// The counter for `key`; the key is copied only when a new series is created, so a hit
    /// (the common case, per event) allocates nothing.
    fn get<Q>(&mut self, key: &Q, make: impl FnOnce(Option<&Q>) -> Counter) -> &Counter
    where
        K: std::borrow::Borrow<Q>,
        Q: std::hash::Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        if !self.seen.contains_key(key) {
            if self.seen.len() >= self.cap {
                return self.other.get_or_insert_with(|| make(None));
            }
            let c = make(Some(key));
            self.seen.insert(key.to_owned(), c);
        }
        match self.seen.get(key) {
            Some(c) => c,
            None => self.other.get_or_insert_with(Counter::noop),
        }
    }
}

/// Counts in time buckets for the sliding-window ratios.
struct Window {
    bucket: Duration,
    keep: usize,
    buckets: VecDeque<(Instant, u64, u64)>,
}

impl Window {
    fn new(bucket: Duration, keep: usize) -> Self {
        Window {
            bucket,
            keep,
            buckets: VecDeque::new(),
        }
    }

    fn add(&mut self, now: Instant, a: u64, b: u64) {
        match self.buckets.back_mut() {
            Some(last) if now.duration_since(last.0) < self.bucket => {
                last.1 += a;
                last.2 += b;
            }
            _ => self.buckets.push_back((now, a, b)),
        }
        let horizon = self.bucket * self.keep as u32;
        while self
            .buckets
            .front()
            .is_some_and(|f| now.duration_since(f.0) > horizon)
        {
            self.buckets.pop_front();
        }
    }

    fn sums(&self) -> (u64, u64) {
        self.buckets
            .iter()
            .fold((0, 0), |(a, b), x| (a + x.1, b + x.2))
    }
}

/// The service's handles.
pub struct Metrics {
    alert_events: Counter,
    truncated: Counter,
    /// Change events: logged, unscoped.
    changes: [Counter; 2],
    change_scopes_shed: Counter,
    unheard_episodes_shed: Counter,
    resolving_senders_shed: Counter,
    left_out: Counter,
    group_rosters_shed: Counter,
    /// Late acknowledgements: corrected, lessons shed.
    late_acks: [Counter; 2],
    lifecycle: [Counter; 2],
    deduplicated: Counter,
    stale_events: Counter,
    unreported_resolves: Counter,
    clock_skewed: Counter,
    active_alerts: Gauge,
    event_time: Gauge,
    resend_interval: Gauge,
    resolving_senders: Gauge,
    group_rosters: Gauge,
    open_clusters: Gauge,
    page_resolves: Counter,
    flapping: Counter,
    held_resolved: Counter,
    outcomes_unheard: Counter,
    noise_ratio: Gauge,
    actionable_ratio: Gauge,
    batch_duration: Histogram,
    event_to_page: Histogram,
    checkpoint_duration: Histogram,
    last_checkpoint: Gauge,
    in_flight: Gauge,
    input_paused: Gauge,
    closed: [Counter; 3],
    received: FxHashMap<(&'static str, &'static str), Counter>,
    invalid: FxHashMap<(&'static str, &'static str), Counter>,
    deadletters: FxHashMap<&'static str, Counter>,
    pages: Capped<(Option<String>, Option<String>, &'static str, bool)>,
    rules: Capped<String>,
    last: EngineStats,
    noise: Window,
    actionable: Window,
}

impl Metrics {
    /// Registers every series that exists from the start (so dashboards show zeros, not
    /// gaps). `max_label_values` caps team/service/rule label values.
    pub fn new(max_label_values: usize) -> Metrics {
        let m = Metrics {
            alert_events: counter!(ALERT_EVENTS),
            truncated: counter!(ALERTS_TRUNCATED),
            changes: [
                counter!(CHANGE_EVENTS, "result" => "logged"),
                counter!(CHANGE_EVENTS, "result" => "unscoped"),
            ],
            change_scopes_shed: counter!(CHANGE_SCOPES_SHED),
            unheard_episodes_shed: counter!(UNHEARD_EPISODES_SHED),
            resolving_senders_shed: counter!(RESOLVING_SENDERS_SHED),
            left_out: counter!(LEFT_OUT),
            group_rosters_shed: counter!(GROUP_ROSTERS_SHED),
            late_acks: [
                counter!(LATE_ACKS, "result" => "corrected"),
                counter!(LATE_ACKS, "result" => "lessons_shed"),
            ],
            lifecycle: [
                counter!(LIFECYCLE_EVENTS, "result" => "linked"),
                counter!(LIFECYCLE_EVENTS, "result" => "unlinked"),
            ],
            deduplicated: counter!(DEDUPLICATED),
            stale_events: counter!(STALE_EVENTS),
            unreported_resolves: counter!(UNREPORTED_RESOLVES),
            clock_skewed: counter!(CLOCK_SKEWED),
            active_alerts: gauge!(ACTIVE_ALERTS),
            event_time: gauge!(EVENT_TIME),
            resend_interval: gauge!(RESEND_INTERVAL),
            resolving_senders: gauge!(RESOLVING_SENDERS),
            group_rosters: gauge!(GROUP_ROSTERS),
            open_clusters: gauge!(OPEN_CLUSTERS),
            page_resolves: counter!(PAGE_RESOLVES),
            flapping: counter!(FLAPPING),
            held_resolved: counter!(HELD_RESOLVED),
            outcomes_unheard: counter!(OUTCOMES_UNHEARD),
            noise_ratio: gauge!(NOISE_RATIO),
            actionable_ratio: gauge!(ACTIONABLE_RATIO),
            batch_duration: histogram!(BATCH_DURATION),
            event_to_page: histogram!(EVENT_TO_PAGE),
            checkpoint_duration: histogram!(CHECKPOINT_DURATION),
            last_checkpoint: gauge!(LAST_CHECKPOINT),
            in_flight: gauge!(IN_FLIGHT),
            input_paused: gauge!(INPUT_PAUSED),
            closed: [
                counter!(CLUSTERS_CLOSED, "decision" => "page"),
                counter!(CLUSTERS_CLOSED, "decision" => "ticket"),
                counter!(CLUSTERS_CLOSED, "decision" => "suppress"),
            ],
            received: FxHashMap::default(),
            invalid: FxHashMap::default(),
            deadletters: FxHashMap::default(),
            pages: Capped::new(max_label_values),
            rules: Capped::new(max_label_values),
            last: EngineStats::default(),
            noise: Window::new(Duration::from_secs(60), 60),
            actionable: Window::new(Duration::from_secs(3600), 24),
        };
        m.input_paused.set(0.0);
        m
    }

    /// Input payloads of one source ("kafka", "http") and format (`auto`-detected ones
    /// under their detected format).
    pub fn received(&mut self, source: &'static str, format: &'static str, n: u64) {
        self.received
            .entry((source, format))
            .or_insert_with(|| counter!(EVENTS_RECEIVED, "source" => source, "format" => format))
            .increment(n);
    }

    /// Events taken as of their arrival: stamped too far ahead of it.
    pub fn clock_skewed(&mut self, n: u64) {
        self.clock_skewed.increment(n);
    }

    /// Alerts a sender said it left out of a notification.
    pub fn truncated(&mut self, n: u64) {
        self.truncated.increment(n);
    }

    /// A dead-lettered payload.
    pub fn invalid(&mut self, source: &'static str, reason: &'static str) {
        self.invalid
            .entry((source, reason))
            .or_insert_with(|| counter!(EVENTS_INVALID, "source" => source, "reason" => reason))
            .increment(1);
        self.deadletters
            .entry(reason)
            .or_insert_with(|| counter!(DEADLETTERS, "reason" => reason))
            .increment(1);
    }

    /// Alert events of one rule (for "top noisy rules").
    pub fn rule_events(&mut self, alertname: &str, n: u64) {
        self.rules
            .get(alertname, |k| {
                let v = k.map_or(OTHER, |k| k).to_string();
                counter!(RULE_ALERT_EVENTS, "alertname" => v)
            })
            .increment(n);
    }

    /// Engine counters and gauges after a batch or a clock advance (engine stats are
    /// cumulative, so each counter moves by the difference since the last call).
    pub fn engine(&mut self, e: &Engine) {
        let s = e.stats();
        let (active_alerts, open_clusters, now) = (e.active_alerts(), e.open_clusters(), e.now());
        let (resend_interval_ms, resolving_senders, group_rosters) = (
            e.resend_interval_ms(),
            e.resolving_senders(),
            e.group_rosters(),
        );
        let d = |now: u64, then: u64| now.saturating_sub(then);
        let alert_events = d(s.alert_events, self.last.alert_events);
        let pages = d(s.pages_triggered, self.last.pages_triggered);
        self.alert_events.increment(alert_events);
        self.deduplicated
            .increment(d(s.deduplicated, self.last.deduplicated));
        self.stale_events
            .increment(d(s.stale_events, self.last.stale_events));
        self.unreported_resolves
            .increment(d(s.unreported_resolves, self.last.unreported_resolves));
        self.flapping
            .increment(d(s.flapping_transitions, self.last.flapping_transitions));
        self.held_resolved
            .increment(d(s.resolved_in_hold, self.last.resolved_in_hold));
        self.outcomes_unheard
            .increment(d(s.outcomes_unheard, self.last.outcomes_unheard));
        let unscoped = d(s.changes_unscoped, self.last.changes_unscoped);
        self.changes[0].increment(d(s.changes, self.last.changes).saturating_sub(unscoped));
        self.changes[1].increment(unscoped);
        self.change_scopes_shed
            .increment(d(s.change_scopes_shed, self.last.change_scopes_shed));
        self.unheard_episodes_shed
            .increment(d(s.unheard_episodes_shed, self.last.unheard_episodes_shed));
        self.late_acks[0].increment(d(s.late_acks_corrected, self.last.late_acks_corrected));
        self.late_acks[1].increment(d(s.late_lessons_shed, self.last.late_lessons_shed));
        self.lifecycle[0].increment(d(s.lifecycle_linked, self.last.lifecycle_linked));
        self.lifecycle[1].increment(d(s.lifecycle_unlinked, self.last.lifecycle_unlinked));
        self.active_alerts.set(active_alerts as f64);
        self.open_clusters.set(open_clusters as f64);
        self.resend_interval.set(resend_interval_ms as f64 / 1000.0);
        self.resolving_senders.set(resolving_senders as f64);
        self.resolving_senders_shed.increment(d(
            s.resolving_senders_shed,
            self.last.resolving_senders_shed,
        ));
        self.left_out.increment(d(s.left_out, self.last.left_out));
        self.group_rosters.set(group_rosters as f64);
        self.group_rosters_shed
            .increment(d(s.rosters_shed, self.last.rosters_shed));
        if now > EventTime::MIN {
            self.event_time.set(now.as_millis() as f64 / 1000.0);
        }
        let now = Instant::now();
        self.noise.add(now, alert_events, pages);
        let (ev, pg) = self.noise.sums();
        if ev > 0 {
            self.noise_ratio.set(1.0 - pg as f64 / ev as f64);
        }
        self.last = s.clone();
    }

    pub fn page(&mut self, p: &Page) {
        match p.event_action {
            PageAction::Resolve => self.page_resolves.increment(1),
            PageAction::Trigger => {
                let Some(pl) = &p.payload else { return };
                let after_hours = pl.custom_details["reasons"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|r| r["feature"] == "after_hours" && r["value"].as_f64() > Some(0.0));
                let key = (
                    pl.group.clone(),
                    pl.component.clone(),
                    pl.severity.as_str(),
                    after_hours,
                );
                self.pages
                    .get(&key, |k| {
                        let (team, service, severity, ah) = match k {
                            Some((t, s, sev, ah)) => (
                                t.clone().unwrap_or_default(),
                                s.clone().unwrap_or_default(),
                                *sev,
                                *ah,
                            ),
                            None => (OTHER.into(), OTHER.into(), OTHER, false),
                        };
                        counter!(PAGES, "team" => team, "service" => service,
                            "severity" => severity, "after_hours" => if ah { "true" } else { "false" })
                    })
                    .increment(1);
            }
        }
    }

    pub fn closed(&mut self, r: &ClusterRecord) {
        let i = match r.decision {
            Decision::Page => 0,
            Decision::Ticket => 1,
            Decision::Suppress => 2,
        };
        self.closed[i].increment(1);
        self.actionable
            .add(Instant::now(), 1, u64::from(r.acked_at.is_some()));
        let (closed, acked) = self.actionable.sums();
        if closed > 0 {
            self.actionable_ratio.set(acked as f64 / closed as f64);
        }
    }

    pub fn batch_duration(&self, d: Duration) {
        self.batch_duration.record(d.as_secs_f64());
    }

    pub fn event_to_page(&self, secs: f64) {
        self.event_to_page.record(secs);
    }

    pub fn checkpoint(&self, took: Duration) {
        self.checkpoint_duration.record(took.as_secs_f64());
        self.last_checkpoint
            .set(chrono::Utc::now().timestamp_millis() as f64 / 1000.0);
    }

    pub fn flow(&self, in_flight: usize, paused: bool) {
        self.in_flight.set(in_flight as f64);
        self.input_paused.set(if paused { 1.0 } else { 0.0 });
    }
}

/// Consumer lag per partition, from librdkafka's statistics.
pub fn kafka_lag(stats: &rdkafka::Statistics) {
    for (topic, t) in &stats.topics {
        for (p, part) in &t.partitions {
            if *p < 0 || part.consumer_lag < 0 {
                continue;
            }
            gauge!(KAFKA_LAG, "topic" => topic.clone(), "partition" => p.to_string())
                .set(part.consumer_lag as f64);
        }
    }
}
