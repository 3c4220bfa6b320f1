//! Receivers: adapters that bring alert traffic in (Kafka, HTTP webhooks). Each owns its client and
//! its wire concerns and hands raw payloads to the service; none decodes or decides.

pub mod http;
pub mod kafka;
pub mod listen;
pub mod otlp_grpc;
