//! `noisegate run`: the long-running Kafka service around the engine. Owns the loop that
//! moves batches from the consumer through decode and the engine to the producer, the
//! checkpoint barrier, backpressure, the idle clock and shutdown. Decides nothing about
//! alerts (the engine does) and knows no wire details (receivers/exporters do).
//!
//! Restart safety, step by step:
//! 1. Every output carries the sequence number of the batch that produced it.
//! 2. Every `checkpoint_interval`, after a batch, the engine state and the next input offsets
//!    are snapshotted in memory: a barrier at that batch.
//! 3. Once every output of batches up to the barrier is acknowledged by the broker
//!    (`acks=all`), the snapshot is written (atomic rename) and only then are its offsets
//!    committed to Kafka.
//! 4. On start the checkpoint is restored and each partition it covers resumes at its
//!    offset. Input after the checkpoint is processed again; the engine is deterministic, so
//!    it re-emits the same outputs (same `dedup_key`s), and nothing before it is lost.
//!
//! Time: the engine runs on event time. Between events, event time runs on with the wall
//! clock from the newest event ([`clock::LiveClock`]) while input is live (receivers always;
//! Kafka once every partition is read to its high watermark and the last batch emptied the
//! queue) or has idled for `idle_advance_after`. So holds fire and clusters close on a
//! quiet night and while only re-sends arrive; a backlog replays exactly as
//! `noisegate replay` would. After a restart the live clock resumes from the checkpoint's
//! event time plus the wall time since it was written: time passed while the service was
//! down, as it would have with the service up and its input quiet.

pub mod admin;
pub mod checkpoint;
pub mod clock;
pub mod skew;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use futures::StreamExt as _;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::{CommitMode, Consumer};
use rdkafka::message::Message;
use serde::Serialize;

use crate::config::Config;
use crate::decode::{self, DecodeError};
use crate::engine::{Engine, EngineStats, Output};
use crate::event::{AlertEvent, EventKind, EventTime};
use crate::exporters::kafka::{KafkaOutput, Origin, Sent, Tag};
use crate::metrics::Metrics;
use crate::receivers::kafka as input;
use checkpoint::Offsets;

/// Command-line switches of `noisegate run`.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Set an unreadable checkpoint aside and start with empty state.
    pub reset_state: bool,
    /// Backfill mode: once no input has arrived for this long and every partition is read to
    /// its end, end the input as replay does (every open cluster gets its record), flush,
    /// checkpoint, commit and exit 0. If the broker cannot confirm the end for as long again:
    /// checkpoint without ending the input and return an error.
    pub exit_when_idle: Option<Duration>,
    /// Write the run summary here on exit.
    pub summary_out: Option<PathBuf>,
}

/// What the run did; written to `--summary` and logged on exit.
#[derive(Debug, Default, Serialize)]
pub struct RunSummary {
    pub messages: u64,
    pub deadletters: u64,
    pub alert_events: u64,
    pub records_ignored: u64,
    /// Alerts senders said they left out (`truncatedAlerts`).
    pub alerts_truncated: u64,
    /// Events stamped too far ahead of their arrival, taken as of it (`[input]
    /// max_clock_skew`).
    pub clock_skewed: u64,
    pub invalid_by_reason: BTreeMap<String, u64>,
    pub checkpoints: u64,
    pub restored: bool,
    pub sent: Sent,
    pub pauses: u64,
    pub elapsed_seconds: f64,
    /// From the first input message to the last one handled: the busy part of the run.
    pub busy_seconds: f64,
    /// `messages / busy_seconds`; 0 when there was no busy span to divide by.
    pub messages_per_second: f64,
    /// Input message Kafka timestamp → the page it caused acknowledged by the broker.
    pub page_latency_ms: Latency,
    pub engine: EngineStats,
}

#[derive(Debug, Default, Serialize)]
pub struct Latency {
    pub count: u64,
    pub p50: u64,
    pub p99: u64,
    pub max: u64,
}

/// rdkafka's log lines, at a matching level.
pub fn log_rdkafka(client: &str, level: RDKafkaLogLevel, fac: &str, msg: &str) {
    match level {
        RDKafkaLogLevel::Emerg
        | RDKafkaLogLevel::Alert
        | RDKafkaLogLevel::Critical
        | RDKafkaLogLevel::Error => tracing::error!(client, fac, "librdkafka: {msg}"),
        RDKafkaLogLevel::Warning => tracing::warn!(client, fac, "librdkafka: {msg}"),
        RDKafkaLogLevel::Notice | RDKafkaLogLevel::Info => {
            tracing::info!(client, fac, "librdkafka: {msg}")
        }
        RDKafkaLogLevel::Debug => tracing::debug!(client, fac, "librdkafka: {msg}"),
    }
}

type Reply = tokio::sync::oneshot::Sender<Result<usize, DecodeError>>;

/// A snapshot waiting for its outputs to be acknowledged.
struct Barrier {
    seq: u64,
    offsets: Offsets,
    engine: Vec<u8>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    Signal,
    Idle,
    /// Backfill: idle, but whether the input was read to its end could not be learnt from
    /// the broker for as long as the idle limit. Not the end of the input: exit with an error.
    Unconfirmed,
}

struct Loop {
    cfg: Config,
    engine: Engine,
    out: KafkaOutput,
    /// Pages straight to PagerDuty (`[pagerduty] events_url`); its deliveries join `out`'s.
    pd: Option<crate::exporters::pagerduty::PagerDutySink>,
    offsets: Offsets,
    /// Batch sequence number; outputs carry the one that produced them.
    seq: u64,
    events: Vec<AlertEvent>,
    barrier: Option<Barrier>,
    last_checkpoint: Instant,
    /// Event time between the events that move it (live and idle input).
    clock: clock::LiveClock,
    /// The last Kafka batch emptied the consumer's queue (fewer than `max_batch` messages):
    /// with the consumer's lag at zero, Kafka input is live, not a backlog.
    drained: bool,
    last_input: Instant,
    paused: bool,
    /// Engine state changed since the last barrier.
    dirty: bool,
    /// Last consume error logged, when, and how many like it were not logged since.
    last_error: Option<(String, Instant, u64)>,
    latency: hdrhistogram::Histogram<u64>,
    /// Receiver answers held until a checkpoint covers their batch (`webhooks.ack =
    /// "checkpointed"`): (batch seq, reply, alert events).
    held: Vec<(u64, Reply, usize)>,
    /// Dead letters logged without a topic: when last, and how many since went unlogged.
    last_deadletter_log: Option<Instant>,
    last_truncated_log: Option<Instant>,
    last_skew_log: Option<Instant>,
    /// `[input] deadletter_file`.
    dlfile: Option<crate::exporters::deadletter_file::DeadLetterFile>,
    deadletters_unlogged: u64,
    metrics: Metrics,
    s: RunSummary,
}

/// Runs the service until a signal (or idleness, with `exit_when_idle`).
pub async fn run(cfg: Config, opts: RunOptions) -> anyhow::Result<RunSummary> {
    let k = cfg.kafka.clone();
    let receivers = cfg.metrics.webhooks.is_some()
        || cfg.metrics.otlp_http.is_some()
        || cfg.metrics.otlp_grpc.is_some();
    if k.inputs.is_empty() && !receivers {
        bail!(
            "no input: add [[kafka.inputs]] (a topic and its format), or turn on a receiver \
             ([webhooks] listen, [otlp] http_listen or grpc_listen)"
        );
    }
    let ecfg = Arc::new(cfg.engine.clone());
    let loaded = match checkpoint::load(&k.state_dir) {
        Ok(c) => c,
        Err(e) if opts.reset_state => {
            let moved = checkpoint::set_aside(&k.state_dir)?;
            tracing::warn!(error = %e, moved = ?moved, "--reset-state: starting with empty state");
            None
        }
        Err(e) => {
            return Err(e).context(
                "refusing to start: the checkpoint cannot be used (pass --reset-state to set it aside and start fresh)",
            )
        }
    };
    // The wall clock's time when the restored checkpoint was written: the time since then
    // passed while the service was down.
    let written_at_ms = loaded.as_ref().map(|c| c.written_at_ms);
    let (engine, offsets, restored) = match loaded {
        Some(c) => match Engine::restore(ecfg.clone(), &c.engine) {
            Ok(e) => (e, c.offsets, true),
            Err(err) if opts.reset_state => {
                let moved = checkpoint::set_aside(&k.state_dir)?;
                tracing::warn!(error = %err, moved = ?moved, "--reset-state: starting with empty state");
                (Engine::new(ecfg.clone()), Offsets::new(), false)
            }
            Err(err) => {
                return Err(err).context(format!(
                    "refusing to start: the engine state in {} cannot be restored \
                     (pass --reset-state to set it aside and start fresh)",
                    k.state_dir.join("checkpoint").display()
                ))
            }
        },
        None => {
            if opts.reset_state {
                checkpoint::set_aside(&k.state_dir)?;
            }
            (Engine::new(ecfg.clone()), Offsets::new(), false)
        }
    };
    if restored {
        tracing::info!(
            partitions = offsets.len(),
            open_clusters = engine.open_clusters(),
            "restored checkpoint from {}",
            k.state_dir.display()
        );
    }
    let ready = Arc::new(admin::Readiness::default());
    let sec = crate::receivers::listen::Security::from_config(&cfg.metrics);
    let scheme = sec.scheme();
    if sec.bearer.is_some() {
        tracing::info!(
            "listeners require a bearer token (server.bearer_token); /healthz and /readyz do not"
        );
    }
    if let Some(addr) = cfg.metrics.listen {
        let prom = crate::metrics::install().context("installing the metrics recorder")?;
        let bound = admin::serve(addr, prom, ready.clone(), &sec)
            .await
            .with_context(|| format!("metrics.listen: cannot listen on {addr}"))?;
        tracing::info!("serving /metrics, /healthz, /readyz on {scheme}://{bound}");
    }
    ready
        .restored
        .store(true, std::sync::atomic::Ordering::Release);
    let mut webhooks = None;
    if cfg.metrics.webhooks.is_some()
        || cfg.metrics.otlp_http.is_some()
        || cfg.metrics.otlp_grpc.is_some()
    {
        let (tx, rx) = crate::receivers::http::queue(cfg.metrics.webhook_queue);
        if let Some(addr) = cfg.metrics.webhooks {
            if cfg.metrics.pagerduty_secret.is_none() {
                tracing::warn!(
                    "webhooks.pagerduty_secret is not set: /api/v1/pagerduty/webhook accepts unsigned requests"
                );
            }
            let bound = crate::receivers::http::serve(
                addr,
                cfg.max_payload_bytes,
                tx.clone(),
                cfg.metrics.pagerduty_secret.clone(),
                &sec,
            )
            .await
            .with_context(|| format!("webhooks.listen: cannot listen on {addr}"))?;
            tracing::info!(
                "accepting webhooks on {scheme}://{bound}/api/v1/{{alertmanager,grafana,pagerduty/events,pagerduty/webhook}}"
            );
        }
        if let Some(addr) = cfg.metrics.otlp_grpc {
            let bound =
                crate::receivers::otlp_grpc::serve(addr, cfg.max_payload_bytes, tx.clone(), &sec)
                    .await
                    .with_context(|| format!("otlp.grpc_listen: cannot listen on {addr}"))?;
            tracing::info!("accepting OTLP/gRPC logs on {bound}");
        }
        if let Some(addr) = cfg.metrics.otlp_http {
            let bound = crate::receivers::http::serve_otlp(addr, cfg.max_payload_bytes, tx, &sec)
                .await
                .with_context(|| format!("otlp.http_listen: cannot listen on {addr}"))?;
            tracing::info!("accepting OTLP/HTTP logs on {scheme}://{bound}/v1/logs");
        }
        webhooks = Some(rx);
    }
    let mut ingests = Vec::with_capacity(k.max_batch);
    // No input topics: receivers only, and no consumer at all (an idle client would still
    // connect to the brokers and log every failure of a cluster that may not exist).
    let consumer = if k.inputs.is_empty() {
        None
    } else {
        Some(input::consumer(&k, &offsets).context("creating the Kafka consumer")?)
    };
    let consumer = consumer.as_ref();
    let out = KafkaOutput::new(&k).context("creating the Kafka producer")?;
    let pd = match &cfg.pagerduty_sink {
        Some(s) => {
            tracing::info!(
                url = %s.url,
                rate_limit = s.shaper.limit,
                rate_window = ?s.shaper.per,
                "sending pages to PagerDuty"
            );
            Some(crate::exporters::pagerduty::PagerDutySink::start(
                s.clone(),
            )?)
        }
        None => None,
    };
    let now = Instant::now();
    // Event time ran on while the service was down, as it would have had it been up and
    // its input quiet: the live clock resumes that much later (never earlier, if the wall
    // clock was set back). Applied only once input is live, so a Kafka backlog built up in
    // the meantime still moves event time by its own events first.
    let down_ms = match written_at_ms {
        Some(w) if restored && engine.now() > EventTime::MIN => {
            (chrono::Utc::now().timestamp_millis() - w).max(0)
        }
        _ => 0,
    };
    if down_ms > 0 {
        tracing::info!(
            down_seconds = down_ms / 1000,
            "restored checkpoint: event time resumes from when it was written, plus the time since"
        );
    }
    let mut l = Loop {
        clock: clock::LiveClock::new(engine.now().saturating_add_ms(down_ms), now),
        drained: false,
        engine,
        out,
        pd,
        offsets,
        seq: 0,
        events: Vec::with_capacity(1024),
        barrier: None,
        last_checkpoint: now,
        last_input: now,
        paused: false,
        dirty: false,
        last_error: None,
        latency: hdrhistogram::Histogram::new(3).context("latency histogram")?,
        held: Vec::new(),
        last_deadletter_log: None,
        last_truncated_log: None,
        last_skew_log: None,
        dlfile: match &cfg.deadletter_file {
            Some((p, max)) => Some(
                crate::exporters::deadletter_file::DeadLetterFile::open(p, *max).with_context(
                    || format!("input.deadletter_file: cannot open {}", p.display()),
                )?,
            ),
            None => None,
        },
        deadletters_unlogged: 0,
        metrics: Metrics::new(cfg.metrics.max_label_values),
        s: RunSummary {
            restored,
            ..RunSummary::default()
        },
        cfg,
    };
    let started = Instant::now();
    if consumer.is_some() {
        tracing::info!(
            brokers = %k.brokers,
            group = %k.group_id,
            topics = ?k.inputs.iter().map(|(t, _)| t.as_str()).collect::<Vec<_>>(),
            "noisegate run: consuming"
        );
    } else {
        tracing::info!("noisegate run: no Kafka input; receivers only");
    }
    if k.pages_topic.is_none() && l.pd.is_none() {
        tracing::warn!(
            "pages go nowhere: kafka.topics.pages is off and pagerduty.events_url is not set"
        );
    }

    use tokio::signal::unix::{signal, SignalKind};
    let mut sigterm = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
    let mut sigint = signal(SignalKind::interrupt()).context("installing the SIGINT handler")?;
    let mut batches = match consumer {
        Some(c) => c.stream().ready_chunks(k.max_batch).left_stream(),
        None => futures::stream::pending().right_stream(),
    };
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // Backfill: since when the broker has not said whether the input was read to its end.
    let mut unconfirmed: Option<Instant> = None;

    // Without Kafka inputs there is nothing to be assigned: ready at once.
    let mut assigned = k.inputs.is_empty();
    if assigned {
        ready
            .assigned
            .store(true, std::sync::atomic::Ordering::Release);
    }
    let mut first_message: Option<Instant> = None;
    let stop = loop {
        if consumer.is_some_and(|c| c.context().take_assigned()) {
            // Idle time counts from the latest assignment: a slow group join is not a quiet
            // input.
            assigned = true;
            ready
                .assigned
                .store(true, std::sync::atomic::Ordering::Release);
            l.last_input = Instant::now();
            if l.paused {
                pause(consumer, true);
            }
        }
        tokio::select! {
            biased;
            _ = sigint.recv() => break Stop::Signal,
            _ = sigterm.recv() => break Stop::Signal,
            Some((tag, r)) = l.out.deliveries.next(), if !l.out.deliveries.is_empty() => {
                l.acknowledged(tag, r)?;
                l.after_ack(consumer)?;
            }
            // Paused (outputs not acknowledged), requests wait in the bounded queue, and once
            // it is full senders get 503 + Retry-After.
            n = recv_webhooks(&mut webhooks, &mut ingests, k.max_batch), if !l.paused => {
                if n == 0 {
                    webhooks = None;
                    continue;
                }
                l.seq += 1;
                let t0 = Instant::now();
                for ing in ingests.drain(..) {
                    l.webhook(ing).await?;
                }
                l.after_batch(t0, consumer)?;
            }
            batch = batches.next() => {
                let Some(batch) = batch else { bail!("the Kafka consumer stream ended") };
                if batch.iter().all(|m| m.is_err()) {
                    // Errors only (broker away, rebalance): nothing was read, so the input is
                    // no less idle than before.
                    for e in batch.into_iter().filter_map(Result::err) {
                        l.consume_error(e);
                    }
                    continue;
                }
                l.drained = batch.len() < k.max_batch;
                l.seq += 1;
                let t0 = Instant::now();
                first_message.get_or_insert_with(Instant::now);
                for m in batch {
                    match m {
                        Ok(m) => l.message(&m).await?,
                        // Consumer errors are transient (broker away, rebalance); librdkafka
                        // retries with backoff. Log and go on, once per kind per 10 s.
                        Err(e) => l.consume_error(e),
                    }
                }
                // A partition re-assigned in a later rebalance must go on from what the
                // engine has seen, not from the last checkpoint (that would replay into live
                // state and count alerts twice).
                if let Some(c) = consumer {
                    c.context().set_resume(&l.offsets);
                }
                l.after_batch(t0, consumer)?;
            }
            _ = tick.tick() => {
                let idle = l.last_input.elapsed();
                if let Some(after) = k.idle_advance_after {
                    // Paused input is held back, not quiet: time does not move on then. A
                    // backlog is not live: it moves event time by its own events alone.
                    let live = consumer.is_none_or(|c| l.drained && c.context().caught_up());
                    if !l.paused && (live || idle >= after) {
                        let t = l.clock.at(Instant::now());
                        if t > l.engine.now() {
                            l.seq += 1;
                            l.engine.handle_watermark(t);
                            l.dirty = true;
                            l.drain(None).await?;
                            // What the clock moving did (holds ended, alerts unheard, clusters
                            // closed) shows now, not only after the next input.
                            l.engine_metrics();
                        }
                    }
                }
                l.maybe_checkpoint();
                l.after_ack(consumer)?;
                l.metrics.flow(l.out.deliveries.len(), l.paused);
                if let Some(limit) = opts.exit_when_idle {
                    if !assigned || idle < limit {
                        // Each idle spell gets its own full wait for the broker.
                        unconfirmed = None;
                    } else {
                        let read = consumer.map_or(Some(true), |c| {
                            tokio::task::block_in_place(|| backfill_read(c, &l.offsets))
                        });
                        // Outputs still in flight are waited for while the broker answers
                        // (a slow sink is not an outage); with the broker away they may
                        // never be confirmed, so they wait no longer than an unconfirmed
                        // read does.
                        let in_flight = !l.out.deliveries.is_empty();
                        match read {
                            Some(true) if !in_flight => break Stop::Idle,
                            Some(_) => unconfirmed = None,
                            None => {
                                let since = *unconfirmed.get_or_insert_with(Instant::now);
                                if since.elapsed() >= limit {
                                    break Stop::Unconfirmed;
                                }
                            }
                        }
                    }
                }
            }
        }
    };

    // Shutdown: no more input. Finish (backfill mode only), flush, checkpoint, commit.
    drop(batches);
    let deadline = Instant::now() + k.shutdown_timeout;
    match stop {
        Stop::Signal => tracing::info!("signal received: shutting down"),
        Stop::Unconfirmed => tracing::error!(
            "input idle, but the broker cannot say whether every partition was read to its \
             end: not ending the input; checkpointing what was read and exiting with an error"
        ),
        Stop::Idle => {
            tracing::info!("input idle: ending the input and exiting");
            l.seq += 1;
            l.engine.handle_watermark(EventTime(i64::MAX));
            l.engine.finish();
            l.drain(None).await?;
        }
    }
    while !l.out.deliveries.is_empty() {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, l.out.deliveries.next()).await {
            Ok(Some((tag, r))) => l.acknowledged(tag, r)?,
            Ok(None) => break,
            Err(_) if stop == Stop::Unconfirmed => bail!(
                "backfill incomplete: input idle for {:?}, but the broker could not say whether \
                 every input partition was read to its end (unreachable?), and {} outputs were \
                 still unacknowledged after {:?}; not checkpointing (the last checkpoint \
                 stands: a run with the same config goes on from it and re-sends them)",
                opts.exit_when_idle.unwrap_or_default(),
                l.out.deliveries.len(),
                k.shutdown_timeout
            ),
            Err(_) => bail!(
                "shutdown timed out after {:?} with {} outputs unacknowledged; \
                 not checkpointing (the last checkpoint stands, a restart re-sends)",
                k.shutdown_timeout,
                l.out.deliveries.len()
            ),
        }
    }
    let left = deadline.saturating_duration_since(Instant::now());
    l.out.flush(left).context("flushing the producer")?;
    let engine_bytes = l.engine.snapshot().context("engine snapshot")?;
    checkpoint::store(&k.state_dir, &l.offsets, &engine_bytes)?;
    l.s.checkpoints += 1;
    l.release(u64::MAX);
    if let (Some(consumer), false) = (consumer, l.offsets.is_empty()) {
        if let Err(e) = consumer.commit(&input::to_tpl(&l.offsets), CommitMode::Sync) {
            // The checkpoint on disk is what a restart uses; a failed commit only matters
            // to tools reading the group's lag.
            tracing::warn!(error = %e, "final offset commit failed");
        }
    }
    l.s.elapsed_seconds = started.elapsed().as_secs_f64();
    l.s.busy_seconds = first_message.map_or(0.0, |f| {
        l.last_input.saturating_duration_since(f).as_secs_f64()
    });
    // No busy span (one message, or input only from the receivers): no rate to report.
    l.s.messages_per_second = if l.s.busy_seconds > 0.0 {
        (l.s.messages as f64 / l.s.busy_seconds).round()
    } else {
        0.0
    };
    l.s.sent = l.out.sent.clone();
    l.s.engine = l.engine.stats().clone();
    l.s.page_latency_ms = Latency {
        count: l.latency.len(),
        p50: l.latency.value_at_quantile(0.5),
        p99: l.latency.value_at_quantile(0.99),
        max: l.latency.max(),
    };
    tracing::info!(
        messages = l.s.messages,
        pages = l.s.sent.page_triggers,
        pagerduty_events = l.s.sent.pagerduty,
        clusters = l.s.sent.clusters,
        deadletters = l.s.deadletters,
        "{}",
        if stop == Stop::Unconfirmed {
            "stopped; checkpoint written"
        } else {
            "stopped cleanly; checkpoint written"
        }
    );
    if let Some(p) = &opts.summary_out {
        std::fs::write(p, serde_json::to_string_pretty(&l.s)? + "\n")
            .with_context(|| format!("writing {}", p.display()))?;
    }
    if stop == Stop::Unconfirmed {
        bail!(
            "backfill incomplete: input idle for {:?}, but for as long again the broker could \
             not say whether every input partition was read to its end (unreachable?); the \
             checkpoint covers what was read, and a run with the same config goes on from it",
            opts.exit_when_idle.unwrap_or_default()
        );
    }
    Ok(l.s)
}

/// Whether every assigned partition has been read to its high watermark (backfill done);
/// `None` when the broker cannot say (unreachable), or the partitions were taken away (a
/// broker away longer than the session timeout revokes them): a backfill must not take
/// that for done. A position not known yet counts as caught up (nothing was read from the
/// partition, as with `start_from = "latest"`): idleness then decides alone.
fn backfill_read(consumer: &input::Input, offsets: &Offsets) -> Option<bool> {
    let assignment = consumer.assignment().ok()?;
    if assignment.count() == 0 {
        return None;
    }
    let position = consumer.position().ok();
    let mut all = true;
    for e in assignment.elements() {
        let (t, p) = (e.topic(), e.partition());
        let next = offsets.get(&(t.to_string(), p)).copied().or_else(|| {
            position
                .as_ref()
                .and_then(|pos| pos.find_partition(t, p))
                .and_then(|x| x.offset().to_raw())
                .filter(|o| *o >= 0)
        });
        match (
            next,
            consumer.fetch_watermarks(t, p, Duration::from_secs(1)),
        ) {
            (_, Err(_)) => return None,
            (Some(n), Ok((_, high))) => all &= n >= high,
            (None, Ok(_)) => {}
        }
    }
    Some(all)
}

/// The next webhook requests, or never when webhooks are off.
async fn recv_webhooks(
    rx: &mut Option<tokio::sync::mpsc::Receiver<crate::receivers::http::Ingest>>,
    buf: &mut Vec<crate::receivers::http::Ingest>,
    max: usize,
) -> usize {
    match rx {
        Some(r) => r.recv_many(buf, max).await,
        None => std::future::pending().await,
    }
}

fn pause(consumer: Option<&input::Input>, on: bool) {
    let Some(consumer) = consumer else { return };
    let assignment = match consumer.assignment() {
        Ok(a) => a,
        Err(e) => {
            tracing::warn!(error = %e, "kafka: cannot read the assignment");
            return;
        }
    };
    let r = if on {
        consumer.pause(&assignment)
    } else {
        consumer.resume(&assignment)
    };
    if let Err(e) = r {
        tracing::warn!(error = %e, pause = on, "kafka: pause/resume failed");
    }
}

/// Whether a warning rate-limited to once a minute may be logged now (and notes that it is).
fn once_a_minute(last: &mut Option<Instant>) -> bool {
    let now = Instant::now();
    if last.is_some_and(|t| now.duration_since(t) < Duration::from_secs(60)) {
        return false;
    }
    *last = Some(now);
    true
}

impl Loop {
    /// One webhook request: decode, engine, outputs, then the HTTP answer.
    async fn webhook(&mut self, ing: crate::receivers::http::Ingest) -> anyhow::Result<()> {
        let origin = Origin {
            topic: ing.path,
            partition: -1,
            offset: -1,
            key: None,
        };
        let now_ms = chrono::Utc::now().timestamp_millis();
        let answer = self
            .ingest("http", Some(ing.format), &ing.body, &origin, Some(now_ms))
            .await?;
        match answer {
            Ok(n) if self.cfg.metrics.ack_checkpointed => self.held.push((self.seq, ing.reply, n)),
            // The client may have gone away; nothing to do about that.
            a => {
                let _ = ing.reply.send(a);
            }
        }
        Ok(())
    }

    /// Answers the held receiver requests of batches up to `seq` (a checkpoint covers them).
    fn release(&mut self, seq: u64) {
        let (done, keep): (Vec<_>, Vec<_>) = self.held.drain(..).partition(|h| h.0 <= seq);
        self.held = keep;
        for (_, reply, n) in done {
            let _ = reply.send(Ok(n));
        }
    }

    /// One message from any source: decode; events to the engine and its outputs out, or
    /// the payload to the dead letters. A message that is a JSON array of payloads (a
    /// forwarder's batch, see [`decode::batch`]) is each of its payloads in turn. Returns
    /// what the sender is told.
    async fn ingest(
        &mut self,
        source: &'static str,
        format: Option<decode::Format>,
        raw: &[u8],
        origin: &Origin<'_>,
        cause_ms: Option<i64>,
    ) -> anyhow::Result<Result<usize, DecodeError>> {
        self.s.messages += 1;
        self.dirty = true;
        let Some(parts) = decode::batch::payloads(format, raw) else {
            return self
                .ingest_payload(source, format, raw, origin, cause_ms, None)
                .await;
        };
        // A forwarder's batch: each payload is taken or dead-lettered on its own, and the
        // sender hears of the first refused one.
        let of = parts.len();
        let (mut events, mut refused) = (0, None);
        for (i, part) in parts.into_iter().enumerate() {
            let at = Some((i + 1, of));
            match self
                .ingest_payload(source, format, part, origin, cause_ms, at)
                .await?
            {
                Ok(n) => events += n,
                Err(e) => {
                    refused.get_or_insert(e);
                }
            }
        }
        Ok(refused.map_or(Ok(events), Err))
    }

    /// [`Self::ingest`] for one payload; `at` is its place (1-based, of how many) when the
    /// message was an array of payloads.
    async fn ingest_payload(
        &mut self,
        source: &'static str,
        format: Option<decode::Format>,
        raw: &[u8],
        origin: &Origin<'_>,
        cause_ms: Option<i64>,
        at: Option<(usize, usize)>,
    ) -> anyhow::Result<Result<usize, DecodeError>> {
        self.events.clear();
        let decoded = self.decode(format, raw, cause_ms).map_err(|e| match at {
            Some((index, of)) => DecodeError::InArray {
                index,
                of,
                inner: Box::new(e),
            },
            None => e,
        });
        match decoded {
            Ok((f, d)) => {
                self.s.alert_events += d.events as u64;
                self.s.records_ignored += d.ignored as u64;
                self.metrics.received(source, f.as_str(), 1);
                if d.truncated > 0 {
                    self.truncated(origin, d.truncated);
                }
                if self.cfg.max_clock_skew_ms > 0 {
                    let arrived = chrono::Utc::now().timestamp_millis();
                    let moved =
                        skew::clamp_future(&mut self.events, arrived, self.cfg.max_clock_skew_ms);
                    if moved > 0 {
                        self.clock_skewed(origin, moved);
                    }
                }
                for ev in self.events.iter().filter(|e| e.kind != EventKind::Change) {
                    self.metrics.rule_events(&ev.alertname, 1);
                }
                let evs = std::mem::take(&mut self.events);
                self.engine.handle_events(&evs);
                self.events = evs;
                self.drain(cause_ms).await?;
                Ok(Ok(d.events))
            }
            Err(e) => {
                self.s.deadletters += 1;
                self.metrics.invalid(source, e.reason());
                *self
                    .s
                    .invalid_by_reason
                    .entry(e.reason().into())
                    .or_default() += 1;
                if let Some(f) = &mut self.dlfile {
                    let kafka =
                        (origin.partition >= 0).then_some((origin.partition, origin.offset));
                    if let Err(err) = f.write(origin.topic, kafka, &e, raw) {
                        // The topic (if any) and the counters still have it; the disk is an
                        // operator's problem to see, not a reason to stop taking alerts.
                        tracing::error!(error = %err, "cannot write input.deadletter_file");
                    }
                }
                if self.cfg.kafka.deadletter_topic.is_none() && self.dlfile.is_none() {
                    // No dead-letter topic: the log is the only record beside the counter (and
                    // the sender's 4xx), so say what was refused — at most once a second.
                    let now = Instant::now();
                    if self
                        .last_deadletter_log
                        .is_none_or(|t| now.duration_since(t) >= Duration::from_secs(1))
                    {
                        let head = String::from_utf8_lossy(&raw[..raw.len().min(200)]);
                        tracing::warn!(
                            source = origin.topic,
                            reason = e.reason(),
                            error = %e,
                            bytes = raw.len(),
                            head = %head,
                            suppressed = self.deadletters_unlogged,
                            "dead letter (no deadletter topic configured)"
                        );
                        self.last_deadletter_log = Some(now);
                        self.deadletters_unlogged = 0;
                    } else {
                        self.deadletters_unlogged += 1;
                    }
                }
                self.out
                    .send_deadletter(origin, &e, raw, self.seq)
                    .await
                    .context("queueing a dead letter")?;
                Ok(Err(e))
            }
        }
    }

    /// Events taken as of their arrival (stamped too far ahead of it): counted, and said in
    /// the log (once a minute at most), since only the sender's clock can be fixed.
    fn clock_skewed(&mut self, origin: &Origin<'_>, n: usize) {
        self.s.clock_skewed += n as u64;
        self.metrics.clock_skewed(n as u64);
        if once_a_minute(&mut self.last_skew_log) {
            tracing::warn!(
                source = origin.topic,
                events = n,
                total = self.s.clock_skewed,
                "events stamped ahead of the wall clock by more than input.max_clock_skew were \
                 taken as of their arrival: is a sender's clock wrong?"
            );
        }
    }

    /// A notification that says the sender left alerts out: counted, and said in the log
    /// (once a minute at most), since only the sender's `max_alerts` can bring them back.
    fn truncated(&mut self, origin: &Origin<'_>, n: usize) {
        self.s.alerts_truncated += n as u64;
        self.metrics.truncated(n as u64);
        if once_a_minute(&mut self.last_truncated_log) {
            tracing::warn!(
                source = origin.topic,
                left_out = n,
                total = self.s.alerts_truncated,
                "a notification left alerts out (truncatedAlerts): raise the sender's max_alerts"
            );
        }
    }

    fn consume_error(&mut self, e: rdkafka::error::KafkaError) {
        let text = e.to_string();
        match &mut self.last_error {
            Some((last, at, suppressed))
                if *last == text && at.elapsed() < Duration::from_secs(10) =>
            {
                *suppressed += 1;
            }
            _ => {
                let suppressed = self.last_error.as_ref().map_or(0, |l| l.2);
                tracing::warn!(error = %text, suppressed, "kafka: consume error (librdkafka retries)");
                self.last_error = Some((text, Instant::now(), 0));
            }
        }
    }

    /// One input message: decode, engine, outputs.
    async fn message<M: Message>(&mut self, m: &M) -> anyhow::Result<()> {
        let topic = m.topic();
        let format = self
            .cfg
            .kafka
            .inputs
            .iter()
            .find(|(t, _)| t == topic)
            .and_then(|(_, f)| *f);
        let origin = Origin {
            topic,
            partition: m.partition(),
            offset: m.offset(),
            key: m.key(),
        };
        let raw = m.payload().unwrap_or(&[]);
        let ts = m.timestamp().to_millis();
        // A Kafka message has no one to answer: its dead letter (if any) is the answer.
        let _answer = self.ingest("kafka", format, raw, &origin, ts).await?;
        let (partition, offset) = (m.partition(), m.offset());
        // A few partitions: a scan finds the entry without allocating a key per message.
        let known = self
            .offsets
            .iter_mut()
            .find(|((t, p), _)| t == topic && *p == partition);
        match known {
            Some((_, next)) => {
                // A rewind means input the engine already saw is coming again; a gap is
                // retention or compaction outrunning us. Both are worth a line in the log.
                if offset != *next {
                    tracing::warn!(
                        topic,
                        partition,
                        expected = *next,
                        got = offset,
                        "input offset jumped"
                    );
                }
                *next = offset + 1;
            }
            None => {
                self.offsets
                    .insert((topic.to_string(), partition), offset + 1);
            }
        }
        Ok(())
    }

    /// Decodes as replay does: a payload without its own time (a PagerDuty v2 ack) takes the
    /// engine's clock, so both modes give the same events. Before the engine has a clock
    /// (the first payload of a run without a checkpoint) it takes its arrival, `arrived_ms`
    /// (the HTTP request's, or the Kafka message's timestamp), where replay, which has no
    /// arrival, can only refuse it.
    fn decode(
        &mut self,
        format: Option<decode::Format>,
        raw: &[u8],
        arrived_ms: Option<i64>,
    ) -> Result<(decode::Format, decode::Decoded), DecodeError> {
        if raw.len() > self.cfg.max_payload_bytes {
            return Err(DecodeError::TooLarge {
                size: raw.len(),
                limit: self.cfg.max_payload_bytes,
            });
        }
        let now = self.engine.now();
        let now = (now > EventTime::MIN)
            .then_some(now)
            .or(arrived_ms.map(EventTime));
        decode::decode_at(format, raw, &self.cfg.decode, now, &mut self.events)
    }

    /// Sends every pending engine output.
    async fn drain(&mut self, cause_ms: Option<i64>) -> anyhow::Result<()> {
        while let Some(o) = self.engine.poll_output() {
            let tag = Tag {
                seq: self.seq,
                page_cause_ms: matches!(o, Output::Page(_)).then_some(cause_ms).flatten(),
            };
            match &o {
                Output::Page(p) => {
                    self.metrics.page(p);
                    if let Some(pd) = &self.pd {
                        self.out.deliveries.push(tag, pd.send(p, tag));
                        self.out.sent.pagerduty += 1;
                    }
                }
                Output::Record(r) => self.metrics.closed(r),
            }
            // With a PagerDuty sink, event-to-page latency ends at PagerDuty's answer, not at
            // the Kafka copy's.
            let tag = match self.pd {
                Some(_) => Tag {
                    page_cause_ms: None,
                    ..tag
                },
                None => tag,
            };
            self.out
                .send_output(&o, tag)
                .await
                .context("queueing an output")?;
        }
        Ok(())
    }

    fn acknowledged(&mut self, tag: Tag, r: Result<(), String>) -> anyhow::Result<()> {
        if let Err(e) = r {
            bail!("an output could not be delivered: {e}; exiting without checkpointing (a restart re-sends from the last checkpoint)");
        }
        if let Some(t) = tag.page_cause_ms {
            let now = chrono::Utc::now().timestamp_millis();
            let ms = now.saturating_sub(t).max(0);
            let _ = self.latency.record(ms as u64);
            self.metrics.event_to_page(ms as f64 / 1000.0);
        }
        Ok(())
    }

    /// After acknowledgements: write a barrier whose outputs are all in, resume input.
    fn after_ack(&mut self, consumer: Option<&input::Input>) -> anyhow::Result<()> {
        if let Some(b) = &self.barrier {
            if self.out.deliveries.done_through(b.seq) {
                let b = self.barrier.take().context("barrier")?;
                let t0 = Instant::now();
                checkpoint::store(&self.cfg.kafka.state_dir, &b.offsets, &b.engine)?;
                self.metrics.checkpoint(t0.elapsed());
                self.release(b.seq);
                self.s.checkpoints += 1;
                if let (Some(consumer), false) = (consumer, b.offsets.is_empty()) {
                    if let Err(e) = consumer.commit(&input::to_tpl(&b.offsets), CommitMode::Async) {
                        tracing::warn!(error = %e, "kafka: offset commit failed");
                    }
                }
                tracing::info!(
                    checkpoint = self.s.checkpoints,
                    messages = self.s.messages,
                    open_clusters = self.engine.open_clusters(),
                    "checkpoint written"
                );
            }
        }
        if self.paused && self.out.deliveries.len() <= self.cfg.kafka.max_in_flight / 2 {
            tracing::info!("outputs acknowledged again: resuming input");
            pause(consumer, false);
            self.paused = false;
            // Paused time is not idle input, and event time stood while it lasted.
            self.last_input = Instant::now();
            self.clock.start(self.last_input);
        }
        Ok(())
    }

    /// Bookkeeping after any input batch (Kafka or receivers): metrics, the idle clock's
    /// anchor, a checkpoint barrier when due.
    fn after_batch(
        &mut self,
        started: Instant,
        consumer: Option<&input::Input>,
    ) -> anyhow::Result<()> {
        self.metrics.batch_duration(started.elapsed());
        self.engine_metrics();
        self.last_input = Instant::now();
        self.clock.saw(self.engine.now(), self.last_input);
        self.maybe_checkpoint();
        self.after_ack(consumer)?;
        if !self.paused && self.out.deliveries.len() >= self.cfg.kafka.max_in_flight {
            tracing::warn!(
                in_flight = self.out.deliveries.len(),
                "outputs are not being acknowledged: pausing input"
            );
            pause(consumer, true);
            self.paused = true;
            self.clock.stop(Instant::now());
            self.s.pauses += 1;
        }
        Ok(())
    }

    fn engine_metrics(&mut self) {
        self.metrics.engine(&self.engine);
    }

    /// Takes a barrier when one is due and none is waiting.
    fn maybe_checkpoint(&mut self) {
        // Held answers make a checkpoint due at once: senders are waiting on it, and one
        // checkpoint answers every request held so far (group commit).
        if self.barrier.is_some()
            || (self.last_checkpoint.elapsed() < self.cfg.kafka.checkpoint_interval
                && self.held.is_empty())
            || !self.dirty
        {
            return;
        }
        match self.engine.snapshot() {
            Ok(engine) => {
                self.barrier = Some(Barrier {
                    seq: self.seq,
                    offsets: self.offsets.clone(),
                    engine,
                });
                self.last_checkpoint = Instant::now();
                self.dirty = false;
            }
            Err(e) => tracing::error!(error = %e, "engine snapshot failed; will retry"),
        }
    }
}
