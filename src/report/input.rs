//! Reading cluster records for the report: `clusters.ndjson` files (plain or `.gz`), a
//! directory of them (what `replay --out DIR` writes), or the Kafka `clusters` topic read
//! from the beginning to its current end. The only I/O of the report; no computing here.
//!
//! A line that is not a cluster record is skipped and counted (the first few reasons are
//! kept), so one bad line does not cost the week's report; unreadable files are errors.

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::config::KafkaConfig;
use crate::event::{EventTime, Fingerprint, Labels, Severity};
use crate::record::{
    proto, AlertSummary, ChangeRef, ClusterId, ClusterRecord, Decision, Feature, Reason, ResolvedBy,
};

/// Where records come from: `FILE`, `DIR` or `kafka:TOPIC`.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    Path(PathBuf),
    Kafka(String),
}

impl Source {
    pub fn parse(s: &str) -> Source {
        match s.strip_prefix("kafka:") {
            Some(t) => Source::Kafka(t.to_string()),
            None => Source::Path(PathBuf::from(s)),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: no clusters*.ndjson files in this directory")]
    EmptyDir { path: String },
    #[error("kafka topic {topic}: {problem}")]
    Kafka { topic: String, problem: String },
}

/// Records read, and what was skipped.
#[derive(Debug, Default)]
pub struct Records {
    pub records: Vec<ClusterRecord>,
    pub skipped: u64,
    /// Up to 5 `where: why` lines for skipped input.
    pub skip_reasons: Vec<String>,
}

impl Records {
    fn skip(&mut self, at: String, why: String) {
        self.skipped += 1;
        if self.skip_reasons.len() < 5 {
            self.skip_reasons.push(format!("{at}: {why}"));
        }
    }

    fn push_json(&mut self, bytes: &[u8], at: impl FnOnce() -> String) {
        match serde_json::from_slice::<ClusterRecord>(bytes) {
            Ok(r) => self.records.push(r),
            Err(e) => self.skip(at(), e.to_string()),
        }
    }
}

/// Reads every source.
pub fn read(sources: &[Source], kafka: &KafkaConfig) -> Result<Records, InputError> {
    let mut out = Records::default();
    for s in sources {
        match s {
            Source::Path(p) if p.is_dir() => {
                let files = cluster_files(p)?;
                for f in files {
                    read_file(&f, &mut out)?;
                }
            }
            Source::Path(p) => read_file(p, &mut out)?,
            Source::Kafka(topic) => read_kafka(topic, kafka, &mut out)?,
        }
    }
    Ok(out)
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> InputError + '_ {
    move |source| InputError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// `clusters*.ndjson[.gz]` in a directory, sorted by name.
fn cluster_files(dir: &Path) -> Result<Vec<PathBuf>, InputError> {
    let mut v = Vec::new();
    for e in std::fs::read_dir(dir).map_err(io_err(dir))? {
        let p = e.map_err(io_err(dir))?.path();
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.starts_with("clusters")
            && (name.ends_with(".ndjson") || name.ends_with(".ndjson.gz"))
        {
            v.push(p);
        }
    }
    v.sort();
    if v.is_empty() {
        return Err(InputError::EmptyDir {
            path: dir.display().to_string(),
        });
    }
    Ok(v)
}

fn read_file(path: &Path, out: &mut Records) -> Result<(), InputError> {
    let f = std::fs::File::open(path).map_err(io_err(path))?;
    let mut r: Box<dyn BufRead> = if path.extension().is_some_and(|e| e == "gz") {
        Box::new(std::io::BufReader::with_capacity(
            1 << 16,
            flate2::read::MultiGzDecoder::new(std::io::BufReader::new(f)),
        ))
    } else {
        Box::new(std::io::BufReader::with_capacity(1 << 16, f))
    };
    let mut buf = Vec::with_capacity(4096);
    let mut line = 0u64;
    loop {
        buf.clear();
        if r.read_until(b'\n', &mut buf).map_err(io_err(path))? == 0 {
            return Ok(());
        }
        line += 1;
        if buf.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        out.push_json(&buf, || format!("{}:{line}", path.display()));
    }
}

fn ts(t: Option<prost_types::Timestamp>) -> Option<EventTime> {
    // Saturating: a hostile record must not overflow (and panic in a debug build).
    t.map(|t| {
        EventTime(
            t.seconds
                .saturating_mul(1000)
                .saturating_add(i64::from(t.nanos) / 1_000_000),
        )
    })
}

fn feature(s: &str) -> Option<Feature> {
    Some(match s {
        "severity" => Feature::Severity,
        "flapping" => Feature::Flapping,
        "transient" => Feature::Transient,
        "duplicate_rate" => Feature::DuplicateRate,
        "blast_radius" => Feature::BlastRadius,
        "after_hours" => Feature::AfterHours,
        "actionable_rate" => Feature::ActionableRate,
        _ => return None,
    })
}

/// The protobuf form (`clusters_encoding = "protobuf"`) back to a record. Unknown reason
/// features are dropped (a newer writer); a missing `opened_at` makes the record unusable.
pub fn from_proto(p: proto::ClusterRecord) -> Result<ClusterRecord, String> {
    let opened_at = ts(p.opened_at).ok_or("opened_at is missing")?;
    let decision = match proto::Decision::try_from(p.decision) {
        Ok(proto::Decision::Page) => Decision::Page,
        Ok(proto::Decision::Ticket) => Decision::Ticket,
        Ok(proto::Decision::Suppress) => Decision::Suppress,
        _ => return Err(format!("decision {} is unknown", p.decision)),
    };
    let severity = match proto::Severity::try_from(p.severity) {
        Ok(proto::Severity::Critical) => Severity::Critical,
        Ok(proto::Severity::Error) => Severity::Error,
        Ok(proto::Severity::Warning) => Severity::Warning,
        _ => Severity::Info,
    };
    let resolved_by = match proto::ResolvedBy::try_from(p.resolved_by) {
        Ok(proto::ResolvedBy::Human) => Some(ResolvedBy::Human),
        Ok(proto::ResolvedBy::Auto) => Some(ResolvedBy::Auto),
        _ => None,
    };
    let alerts = p
        .alerts
        .into_iter()
        .map(|a| {
            let first_seen = ts(a.first_seen).unwrap_or(opened_at);
            let labels = Labels::from_pairs(a.labels.iter().map(|(k, v)| (k.as_str(), v.as_str())));
            AlertSummary {
                fingerprint: Fingerprint::parse_hex(&a.fingerprint)
                    .unwrap_or_else(|| labels.fingerprint()),
                labels,
                alertname: a.alertname,

                first_seen,
                last_seen: ts(a.last_seen).unwrap_or(first_seen),
                events: a.events,
                flaps: a.flaps,
                source_id: a.source_id,
            }
        })
        .collect();
    Ok(ClusterRecord {
        cluster_id: ClusterId(p.cluster_id),
        opened_at,
        closed_at: ts(p.closed_at),
        decision,
        score: p.score,
        reasons: p
            .reasons
            .into_iter()
            .filter_map(|r| {
                Some(Reason {
                    feature: feature(&r.feature)?,
                    value: r.value,
                    contribution: r.contribution,
                })
            })
            .collect(),
        alerts,
        raw_events: p.raw_events,
        services: p.services,
        team: p.team,
        severity,
        paged_at: ts(p.paged_at),
        acked_at: ts(p.acked_at),
        resolved_at: ts(p.resolved_at),
        resolved_by,
        folded_pages: p.folded_pages,
        changes: p
            .changes
            .into_iter()
            .filter_map(|c| {
                Some(ChangeRef {
                    time: ts(c.time)?,
                    service: c.service,
                    team: c.team,
                    summary: c.summary,
                    source: c.source,
                    link: c.link,
                })
            })
            .collect(),
    })
}

/// Reads a topic from the beginning of every partition to the end it has now. Assigns the
/// partitions itself (no consumer group membership, no offsets committed), so running a
/// report never moves the service's offsets.
fn read_kafka(topic: &str, cfg: &KafkaConfig, out: &mut Records) -> Result<(), InputError> {
    use prost::Message as _;
    use rdkafka::consumer::{BaseConsumer, Consumer};
    use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};

    let err = |problem: String| InputError::Kafka {
        topic: topic.to_string(),
        problem,
    };
    let timeout = Duration::from_secs(10);
    let mut c = ClientConfig::new();
    for (k, v) in &cfg.client {
        c.set(k, v);
    }
    let consumer: BaseConsumer = c
        .set("bootstrap.servers", &cfg.brokers)
        .set("group.id", format!("{}-report", cfg.group_id))
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "false")
        .create()
        .map_err(|e| err(e.to_string()))?;
    let md = consumer
        .fetch_metadata(Some(topic), timeout)
        .map_err(|e| err(format!("metadata: {e}")))?;
    let parts: Vec<i32> = md
        .topics()
        .iter()
        .filter(|t| t.name() == topic)
        .flat_map(|t| t.partitions().iter().map(|p| p.id()))
        .collect();
    if parts.is_empty() {
        return Err(err("no such topic (or it has no partitions)".into()));
    }
    let mut tpl = TopicPartitionList::new();
    let mut remaining = std::collections::BTreeMap::new();
    for &p in &parts {
        let (low, high) = consumer
            .fetch_watermarks(topic, p, timeout)
            .map_err(|e| err(format!("partition {p} watermarks: {e}")))?;
        if high > low {
            remaining.insert(p, high);
            tpl.add_partition_offset(topic, p, Offset::Offset(low))
                .map_err(|e| err(e.to_string()))?;
        }
    }
    if remaining.is_empty() {
        return Ok(());
    }
    consumer.assign(&tpl).map_err(|e| err(e.to_string()))?;
    // Read until every partition has passed the high watermark seen at the start, then
    // drain until the topic is quiet for half a second: some Kafka-protocol brokers (tansu)
    // report a high watermark per record batch, not per record, so the watermark alone can
    // stop early.
    let mut idle = 0;
    loop {
        let wait = if remaining.is_empty() { 500 } else { 1000 };
        match consumer.poll(Duration::from_millis(wait)) {
            None if remaining.is_empty() => return Ok(()),
            None => {
                idle += 1;
                if idle > 30 {
                    return Err(err("no messages for 30 s before reaching the end".into()));
                }
            }
            Some(Err(e)) => return Err(err(e.to_string())),
            Some(Ok(m)) => {
                idle = 0;
                let (p, off) = (m.partition(), m.offset());
                if let Some(bytes) = m.payload() {
                    let at = || format!("{topic}/{p}@{off}");
                    if cfg.clusters_protobuf {
                        match proto::ClusterRecord::decode(bytes)
                            .map_err(|e| e.to_string())
                            .and_then(from_proto)
                        {
                            Ok(r) => out.records.push(r),
                            Err(e) => out.skip(at(), e),
                        }
                    } else {
                        out.push_json(bytes, at);
                    }
                }
                if remaining.get(&p).is_some_and(|&h| off + 1 >= h) {
                    remaining.remove(&p);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_parse() {
        assert_eq!(
            Source::parse("kafka:clusters"),
            Source::Kafka("clusters".into())
        );
        assert_eq!(Source::parse("out/"), Source::Path("out/".into()));
    }

    #[test]
    fn proto_round_trips_through_the_report_reader() {
        let line = r#"{"cluster_id":"ng-0000000000000001-1","opened_at":"2026-10-19T08:00:00.000Z","closed_at":null,"decision":"page","score":0.9,"reasons":[{"feature":"severity","value":1.0,"contribution":0.9}],"alerts":[{"fingerprint":"0000000000000001","alertname":"A","labels":{"alertname":"A","service":"api"},"first_seen":"2026-10-19T08:00:00.000Z","last_seen":"2026-10-19T08:02:00.000Z","events":2,"flaps":0}],"raw_events":2,"services":["api"],"team":"core","severity":"critical","paged_at":"2026-10-19T08:00:00.000Z","acked_at":null,"resolved_at":"2026-10-19T08:02:00.000Z","resolved_by":"auto","folded_pages":0}"#;
        let r: ClusterRecord = serde_json::from_str(line).expect("record");
        let back = from_proto(proto::ClusterRecord::from(&r)).expect("decodes");
        assert_eq!(back, r);
        // With changes, which the report counts.
        let mut r = r;
        r.changes.push(ChangeRef {
            time: EventTime(1_760_860_000_000),
            service: Some("api".into()),
            team: None,
            summary: "Deploy api".into(),
            source: None,
            link: Some("https://ci.example/1".into()),
        });
        let back = from_proto(proto::ClusterRecord::from(&r)).expect("decodes");
        assert_eq!(back, r);
    }

    #[test]
    fn timestamps_out_of_range_do_not_overflow() {
        let t = prost_types::Timestamp {
            seconds: i64::MAX,
            nanos: 999_999_999,
        };
        assert_eq!(ts(Some(t)), Some(EventTime(i64::MAX)));
    }
}
