//! Kafka input: the consumer-group client and its rebalance hook. Owns client settings and
//! where each assigned partition starts reading; decoding and the engine are not its business.
//!
//! Offsets: noisegate's checkpoint, not Kafka's committed offset, says where to resume,
//! because only the checkpoint is consistent with the engine state restored beside it. So on
//! every assignment the partitions the checkpoint knows start at its offsets; others start at
//! the group's committed offset, or at `start_from` for a new group. Auto-commit is off;
//! offsets are committed only after a checkpoint covering them is on disk.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use rdkafka::client::ClientContext;
use rdkafka::config::{ClientConfig, RDKafkaLogLevel};
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext, StreamConsumer};
use rdkafka::error::{KafkaError, KafkaResult};
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};
use rdkafka::types::RDKafkaRespErr;

use crate::config::KafkaConfig;
use crate::service::checkpoint::Offsets;

/// Rebalance hook and log bridge.
pub struct InputContext {
    resume: Mutex<HashMap<(String, i32), i64>>,
    /// Set on every non-empty assignment, so a paused service can pause the new partitions
    /// too and idleness counts from when there is something to read.
    assigned: AtomicBool,
    /// librdkafka's last statistics found every assigned partition read to its high
    /// watermark: the input is live, not a backlog. False until the first statistics.
    caught_up: AtomicBool,
}

impl InputContext {
    pub fn new(resume: &Offsets) -> Self {
        InputContext {
            resume: Mutex::new(resume.iter().map(|(k, v)| (k.clone(), *v)).collect()),
            assigned: AtomicBool::new(false),
            caught_up: AtomicBool::new(false),
        }
    }

    /// Whether every assigned partition had been read to its high watermark at the last
    /// statistics (at most `statistics.interval.ms` ago).
    pub fn caught_up(&self) -> bool {
        self.caught_up.load(Ordering::Acquire)
    }

    /// Whether partitions were assigned since the last call.
    pub fn take_assigned(&self) -> bool {
        self.assigned.swap(false, Ordering::AcqRel)
    }

    /// Where later assignments start: the next offsets the live engine state has not seen.
    pub fn set_resume(&self, offsets: &Offsets) {
        if let Ok(mut m) = self.resume.lock() {
            for (k, v) in offsets {
                m.insert(k.clone(), *v);
            }
        }
    }
}

impl ClientContext for InputContext {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, log_message: &str) {
        crate::service::log_rdkafka("consumer", level, fac, log_message);
    }

    fn error(&self, error: KafkaError, reason: &str) {
        tracing::warn!(client = "consumer", %error, "kafka: {reason}");
    }

    fn stats(&self, statistics: rdkafka::Statistics) {
        crate::metrics::kafka_lag(&statistics);
        let parts = statistics.topics.values().flat_map(|t| {
            t.partitions
                .iter()
                .filter(|(p, part)| **p >= 0 && part.desired)
                .map(|(_, part)| Position {
                    app_offset: part.app_offset,
                    next_offset: part.next_offset,
                    hi_offset: part.hi_offset,
                })
        });
        let now = read_to_end(parts);
        if self.caught_up.swap(now, Ordering::AcqRel) != now {
            if now {
                tracing::info!(
                    "kafka: input read to its end: event time follows the wall clock between events"
                );
            } else {
                tracing::info!(
                    "kafka: input behind (a backlog, or nothing assigned): event time moves with its events alone"
                );
            }
        }
    }
}

impl ConsumerContext for InputContext {
    fn rebalance(
        &self,
        base_consumer: &BaseConsumer<Self>,
        err: RDKafkaRespErr,
        tpl: &mut TopicPartitionList,
    ) {
        match err {
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS => {
                let resume = self.resume.lock().map(|m| m.clone()).unwrap_or_default();
                let parts: Vec<(String, i32)> = tpl
                    .elements()
                    .iter()
                    .map(|e| (e.topic().to_string(), e.partition()))
                    .collect();
                let mut from_checkpoint = 0;
                for (t, p) in &parts {
                    if let Some(&o) = resume.get(&(t.clone(), *p)) {
                        if tpl.set_partition_offset(t, *p, Offset::Offset(o)).is_ok() {
                            from_checkpoint += 1;
                        }
                    }
                }
                tracing::info!(
                    partitions = parts.len(),
                    from_checkpoint,
                    "kafka: partitions assigned: {}",
                    parts
                        .iter()
                        .map(|(t, p)| format!("{t}/{p}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                );
                if let Err(e) = base_consumer.assign(tpl) {
                    tracing::error!(error = %e, "kafka: assign failed");
                }
                if !parts.is_empty() {
                    self.assigned.store(true, Ordering::Release);
                }
            }
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS => {
                tracing::info!(partitions = tpl.count(), "kafka: partitions revoked");
                if let Err(e) = base_consumer.unassign() {
                    tracing::error!(error = %e, "kafka: unassign failed");
                }
            }
            other => {
                tracing::error!(error = ?other, "kafka: rebalance error");
                let _ = base_consumer.unassign();
            }
        }
    }

    fn commit_callback(&self, result: KafkaResult<()>, offsets: &TopicPartitionList) {
        match result {
            Ok(()) => tracing::debug!(partitions = offsets.count(), "kafka: offsets committed"),
            // Not fatal: the checkpoint holds the offsets; the next commit carries them again.
            Err(e) => tracing::warn!(error = %e, "kafka: offset commit failed"),
        }
    }
}

pub type Input = StreamConsumer<InputContext>;

/// Where one assigned partition's reading stands, from librdkafka's statistics (negative:
/// not known yet).
#[derive(Debug, Clone, Copy)]
pub struct Position {
    /// The offset after the last message handed to noisegate.
    pub app_offset: i64,
    /// The next offset to fetch: where reading starts before any message was handed over.
    pub next_offset: i64,
    /// The partition's high watermark on the broker.
    pub hi_offset: i64,
}

/// Whether there are partitions and every one has been read to its high watermark. A
/// partition whose position or watermark is not known yet is not: a backlog must never be
/// taken for live input.
pub fn read_to_end(parts: impl IntoIterator<Item = Position>) -> bool {
    let mut any = false;
    for p in parts {
        let at = if p.app_offset >= 0 {
            p.app_offset
        } else {
            p.next_offset
        };
        if at < 0 || p.hi_offset < 0 || at < p.hi_offset {
            return false;
        }
        any = true;
    }
    any
}

/// The consumer, subscribed to every input topic.
pub fn consumer(cfg: &KafkaConfig, resume: &Offsets) -> KafkaResult<Input> {
    let mut c = ClientConfig::new();
    // A restarted instance cannot join until the broker expires its dead predecessor, so
    // the session timeout is the restart's stall: the broker-side minimum by default
    // (`kafka.client` may override it).
    c.set("session.timeout.ms", "6000")
        .set("heartbeat.interval.ms", "2000")
        // A page waits for the fetch that carries its alert: a short long-poll keeps that
        // wait small on brokers that hold a fetch until it expires.
        .set("fetch.wait.max.ms", "100")
        // Consumer lag per partition for the metrics, and whether input is live (caught up)
        // for the live clock: a second is how late live input may be taken for a backlog.
        .set("statistics.interval.ms", "1000");
    for (k, v) in &cfg.client {
        c.set(k, v);
    }
    c.set("bootstrap.servers", &cfg.brokers)
        .set("group.id", &cfg.group_id)
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("enable.partition.eof", "false")
        .set("auto.offset.reset", cfg.start_from.as_str())
        // Eager assignment: the hook sets start offsets on whole assignments.
        .set("partition.assignment.strategy", "range,roundrobin")
        .set_log_level(RDKafkaLogLevel::Info);
    let consumer: Input = c.create_with_context(InputContext::new(resume))?;
    let topics: Vec<&str> = cfg.inputs.iter().map(|(t, _)| t.as_str()).collect();
    // No topics: receivers only (the group is never joined).
    if !topics.is_empty() {
        consumer.subscribe(&topics)?;
    }
    Ok(consumer)
}

/// Offsets as a list to commit.
pub fn to_tpl(offsets: &Offsets) -> TopicPartitionList {
    let mut tpl = TopicPartitionList::with_capacity(offsets.len());
    for ((t, p), o) in offsets {
        // Cannot fail for a fresh list and a concrete offset.
        let _ = tpl.add_partition_offset(t, *p, Offset::Offset(*o));
    }
    tpl
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(app_offset: i64, next_offset: i64, hi_offset: i64) -> Position {
        Position {
            app_offset,
            next_offset,
            hi_offset,
        }
    }

    #[test]
    fn only_partitions_read_to_their_high_watermark_are_caught_up() {
        // Nothing assigned: nothing is live.
        assert!(!read_to_end([]));
        // Read to the end; the last message handed over is what counts, not the prefetch.
        assert!(read_to_end([at(120, 120, 120), at(7, 7, 7)]));
        assert!(
            !read_to_end([at(120, 120, 120), at(5, 7, 7)]),
            "prefetched, not read"
        );
        assert!(!read_to_end([at(100, 2000, 5000)]), "a backlog");
        // Nothing handed over yet: where fetching starts (a new group at "latest").
        assert!(read_to_end([at(-1001, 40, 40)]));
        assert!(
            !read_to_end([at(-1001, 0, 40)]),
            "a new group at \"earliest\""
        );
        // Not known yet.
        assert!(!read_to_end([at(-1001, -1001, 40)]));
        assert!(!read_to_end([at(3, 3, -1001)]));
    }
}
