//! Kafka output: pages, tickets, cluster records and dead letters, through one idempotent
//! producer (`enable.idempotence`, `acks=all`, no delivery timeout, one request in flight).
//! Owns the encoding of each output message and the set of deliveries not yet acknowledged;
//! it never decides what to send (the engine does) nor when input may be committed (the
//! service does, from [`Deliveries`]).
//!
//! Message keys: pages by `dedup_key`, records by cluster id (so a compacted topic keeps the
//! latest record per cluster and a re-sent one replaces its twin), dead letters by the input
//! key. A delivery error that librdkafka's own retries did not fix is fatal for the service:
//! it exits without checkpointing, and a restart re-sends from the last checkpoint.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use futures::stream::{FuturesUnordered, StreamExt};
use rdkafka::client::ClientContext;
use rdkafka::config::{ClientConfig, RDKafkaLogLevel};
use rdkafka::error::{KafkaError, KafkaResult, RDKafkaErrorCode};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use rdkafka::util::Timeout;

use crate::config::KafkaConfig;
use crate::decode::DecodeError;
use crate::engine::Output;
use crate::record::{Decision, PageAction};

pub struct OutputContext;

impl ClientContext for OutputContext {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, log_message: &str) {
        crate::service::log_rdkafka("producer", level, fac, log_message);
    }

    fn error(&self, error: KafkaError, reason: &str) {
        tracing::warn!(client = "producer", %error, "kafka: {reason}");
    }
}

/// What each acknowledged delivery reports back.
#[derive(Debug, Clone, Copy)]
pub struct Tag {
    /// The batch that produced the output (checkpoint barriers compare against it).
    pub seq: u64,
    /// Kafka timestamp (ms) of the input message that caused a page; pages only.
    pub page_cause_ms: Option<i64>,
}

pub type Pending = Pin<Box<dyn Future<Output = (Tag, Result<(), String>)> + Send>>;

/// Deliveries not yet acknowledged, and how many of them belong to each batch.
#[derive(Default)]
pub struct Deliveries {
    futs: FuturesUnordered<Pending>,
    by_seq: BTreeMap<u64, usize>,
}

impl Deliveries {
    pub fn len(&self) -> usize {
        self.futs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.futs.is_empty()
    }

    /// Whether every output of batches up to `seq` is acknowledged.
    pub fn done_through(&self, seq: u64) -> bool {
        self.by_seq.range(..=seq).next().is_none()
    }

    /// The next acknowledgement (pending forever when there is none: use in `select!` with
    /// an `is_empty` guard).
    pub async fn next(&mut self) -> Option<(Tag, Result<(), String>)> {
        let r = self.futs.next().await;
        if let Some((tag, _)) = &r {
            if let Some(n) = self.by_seq.get_mut(&tag.seq) {
                *n -= 1;
                if *n == 0 {
                    self.by_seq.remove(&tag.seq);
                }
            }
        }
        r
    }

    pub fn push(&mut self, tag: Tag, f: Pending) {
        *self.by_seq.entry(tag.seq).or_default() += 1;
        self.futs.push(f);
    }
}

/// Counters of what was sent.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct Sent {
    pub page_triggers: u64,
    pub page_resolves: u64,
    pub tickets: u64,
    pub clusters: u64,
    pub deadletters: u64,
    /// Pages handed to the PagerDuty sink (`[pagerduty] events_url`).
    pub pagerduty: u64,
}

pub struct KafkaOutput {
    /// `None` when every output topic is off: no client, no broker connections.
    producer: Option<FutureProducer<OutputContext>>,
    // Arc: a topic name is cloned per output (to release the borrow of `self` for `send`);
    // that should cost a count, not an allocation.
    pages: Option<Arc<str>>,
    tickets: Option<Arc<str>>,
    clusters: Option<Arc<str>>,
    deadletter: Option<Arc<str>>,
    clusters_protobuf: bool,
    pub deliveries: Deliveries,
    pub sent: Sent,
    buf: Vec<u8>,
}

/// Where a dead letter came from.
pub struct Origin<'a> {
    pub topic: &'a str,
    pub partition: i32,
    pub offset: i64,
    pub key: Option<&'a [u8]>,
}

impl KafkaOutput {
    pub fn new(cfg: &KafkaConfig) -> KafkaResult<Self> {
        let mut c = ClientConfig::new();
        // One produce request in flight (a [kafka.client] entry may raise it). Outputs are
        // a few messages per cluster, so this costs nothing that matters, and it keeps
        // delivery exact on brokers whose idempotence bookkeeping is not Kafka's own: on
        // librdkafka's mock cluster, with the default five in flight, injected produce
        // errors under load lost the first outputs of a run while every delivery reported
        // success (tests/kafka_live.rs `mock`: about half of our runs on a loaded machine;
        // none of twelve with one in flight).
        c.set("max.in.flight.requests.per.connection", "1");
        for (k, v) in &cfg.client {
            c.set(k, v);
        }
        c.set("bootstrap.servers", &cfg.brokers)
            .set("enable.idempotence", "true")
            .set("acks", "all")
            // Never give up on a delivery: when the broker is away, outputs wait (and input
            // pauses once `max_in_flight` is reached) instead of being dropped.
            .set("message.timeout.ms", "0")
            .set("linger.ms", "5")
            .set_log_level(RDKafkaLogLevel::Info);
        let any_topic = cfg.pages_topic.is_some()
            || cfg.tickets_topic.is_some()
            || cfg.clusters_topic.is_some()
            || cfg.deadletter_topic.is_some();
        Ok(KafkaOutput {
            producer: if any_topic {
                Some(c.create_with_context(OutputContext)?)
            } else {
                None
            },
            pages: cfg.pages_topic.as_deref().map(Arc::from),
            tickets: cfg.tickets_topic.as_deref().map(Arc::from),
            clusters: cfg.clusters_topic.as_deref().map(Arc::from),
            deadletter: cfg.deadletter_topic.as_deref().map(Arc::from),
            clusters_protobuf: cfg.clusters_protobuf,
            deliveries: Deliveries::default(),
            sent: Sent::default(),
            buf: Vec::with_capacity(4096),
        })
    }

    /// Queues one engine output. Err only for a local queue that stays full (the caller
    /// then waits on deliveries and tries again) or an unusable record.
    pub async fn send_output(&mut self, o: &Output, tag: Tag) -> Result<(), KafkaError> {
        match o {
            Output::Page(p) => {
                let Some(topic) = self.pages.clone() else {
                    return Ok(());
                };
                self.buf.clear();
                serde_json::to_writer(&mut self.buf, p).map_err(encode_err)?;
                let payload = std::mem::take(&mut self.buf);
                let r = self
                    .send(&topic, p.dedup_key.as_str().as_bytes(), &payload, None, tag)
                    .await;
                self.buf = payload;
                r?;
                match p.event_action {
                    PageAction::Trigger => self.sent.page_triggers += 1,
                    PageAction::Resolve => self.sent.page_resolves += 1,
                }
            }
            Output::Record(r) => {
                let key = r.cluster_id.as_str().as_bytes().to_vec();
                let json = serde_json::to_vec(r).map_err(encode_err)?;
                let tag = Tag {
                    page_cause_ms: None,
                    ..tag
                };
                if let Some(topic) = self.clusters.clone() {
                    let payload: std::borrow::Cow<[u8]> = if self.clusters_protobuf {
                        use prost::Message as _;
                        crate::record::proto::ClusterRecord::from(r)
                            .encode_to_vec()
                            .into()
                    } else {
                        json.as_slice().into()
                    };
                    self.send(&topic, &key, &payload, None, tag).await?;
                    self.sent.clusters += 1;
                }
                if r.decision == Decision::Ticket {
                    if let Some(topic) = self.tickets.clone() {
                        self.send(&topic, &key, &json, None, tag).await?;
                        self.sent.tickets += 1;
                    }
                }
            }
        }
        Ok(())
    }

    /// Queues a dead letter: the raw input with headers saying why and where from.
    pub async fn send_deadletter(
        &mut self,
        origin: &Origin<'_>,
        err: &DecodeError,
        raw: &[u8],
        seq: u64,
    ) -> Result<(), KafkaError> {
        let Some(topic) = self.deadletter.clone() else {
            return Ok(());
        };
        let partition = origin.partition.to_string();
        let offset = origin.offset.to_string();
        let error = err.to_string();
        let size = raw.len().to_string();
        let mut h = OwnedHeaders::new_with_capacity(6)
            .insert(Header {
                key: "noisegate.reason",
                value: Some(err.reason()),
            })
            .insert(Header {
                key: "noisegate.error",
                value: Some(&error),
            })
            .insert(Header {
                key: "noisegate.source_topic",
                value: Some(origin.topic),
            })
            .insert(Header {
                key: "noisegate.source_partition",
                value: Some(&partition),
            })
            .insert(Header {
                key: "noisegate.source_offset",
                value: Some(&offset),
            });
        if raw.len() > super::DEADLETTER_KEEP {
            h = h.insert(Header {
                key: "noisegate.truncated_from",
                value: Some(&size),
            });
        }
        let body = &raw[..raw.len().min(super::DEADLETTER_KEEP)];
        let tag = Tag {
            seq,
            page_cause_ms: None,
        };
        self.send(&topic, origin.key.unwrap_or(&[]), body, Some(h), tag)
            .await?;
        self.sent.deadletters += 1;
        Ok(())
    }

    async fn send(
        &mut self,
        topic: &str,
        key: &[u8],
        payload: &[u8],
        headers: Option<OwnedHeaders>,
        tag: Tag,
    ) -> Result<(), KafkaError> {
        // Topics are only set with a producer; without one there is nowhere to send.
        let Some(producer) = self.producer.clone() else {
            return Ok(());
        };
        loop {
            let mut rec = FutureRecord::to(topic).key(key).payload(payload);
            if let Some(h) = &headers {
                rec = rec.headers(h.clone());
            }
            match producer.send_result(rec) {
                Ok(fut) => {
                    let f: Pending = Box::pin(async move {
                        let r = match fut.await {
                            Ok(Ok(_)) => Ok(()),
                            Ok(Err((e, _))) => Err(e.to_string()),
                            Err(_) => Err("producer dropped the delivery".into()),
                        };
                        (tag, r)
                    });
                    self.deliveries.push(tag, f);
                    return Ok(());
                }
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => {
                    // librdkafka's queue is full: wait for one acknowledgement (or a moment,
                    // when all of ours are acknowledged and the queue is someone else's).
                    if self.deliveries.is_empty() {
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    } else if let Some((_, Err(e))) = self.deliveries.next().await {
                        return Err(KafkaError::MessageProduction(RDKafkaErrorCode::Fail))
                            .inspect_err(|_| tracing::error!("kafka: delivery failed: {e}"));
                    }
                }
                Err((e, _)) => return Err(e),
            }
        }
    }

    /// Waits for librdkafka to hand every queued message to the broker (shutdown).
    pub fn flush(&self, timeout: Duration) -> KafkaResult<()> {
        match &self.producer {
            Some(p) => p.flush(Timeout::After(timeout)),
            None => Ok(()),
        }
    }
}

fn encode_err(e: serde_json::Error) -> KafkaError {
    tracing::error!("cannot encode an output: {e}");
    KafkaError::MessageProduction(RDKafkaErrorCode::InvalidMessage)
}
