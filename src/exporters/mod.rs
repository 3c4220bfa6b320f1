//! Exporters: adapters that carry engine outputs out (Kafka topics, the PagerDuty Events API). Each owns its client and
//! the encoding of what it sends; none decides what is sent.

/// Bytes of a refused payload a dead letter keeps (the rest stays at its source: the input
/// topic at the partition and offset the dead letter names, or the sender).
pub const DEADLETTER_KEEP: usize = 900 * 1024;

pub mod deadletter_file;
pub mod kafka;
pub mod pagerduty;
