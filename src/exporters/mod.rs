//! Exporters: adapters that carry engine outputs out (Kafka topics, the PagerDuty Events API). Each owns its client and
//! the encoding of what it sends; none decides what is sent.

pub mod deadletter_file;
pub mod kafka;
pub mod pagerduty;
