//! noisegate: bytes in → [`event::AlertEvent`] → engine (dedup → correlate → score) → records, pages.
//!
//! Layout: `event` (the one data model), `decode/` (one file per wire format), `engine/`
//! (pure, event-time state machine: no I/O, no clock), `record` (the public cluster record and
//! page schemas), `config` (typed, validated config), `replay` (the file-driven shell around
//! the engine), `gen` (traffic generators), `eval` and `tune` (measuring and fitting).
//!
//! The whole path in a few lines:
//!
//! ```
//! use std::sync::Arc;
//! use noisegate::{config::Config, decode, engine::{Engine, Output}};
//!
//! let cfg = Config::default();
//! let body = br#"{"version":"4","status":"firing","alerts":[{"status":"firing",
//!   "labels":{"alertname":"PostgresDown","severity":"critical","service":"postgres"},
//!   "annotations":{"summary":"postgres is down"},
//!   "startsAt":"2026-11-02T03:00:00Z","endsAt":"0001-01-01T00:00:00Z"}]}"#;
//! let mut events = Vec::new();
//! let ctx = decode::Ctx { opts: &cfg.decode, received_at: None };
//! decode::decode_auto(body, &ctx, &mut events).expect("a valid Alertmanager webhook");
//!
//! let mut engine = Engine::new(Arc::new(cfg.engine.clone()));
//! engine.handle_events(&events);
//! let page = match engine.poll_output() {
//!     Some(Output::Page(p)) => p,
//!     other => panic!("a critical alert pages at once, got {other:?}"),
//! };
//! // The PagerDuty dedup_key is the cluster id: derived from the first alert, never random.
//! assert!(page.dedup_key.as_str().starts_with(&format!("ng-{}-", events[0].fingerprint)));
//! ```

pub mod config;
pub mod decode;
pub mod engine;
pub mod eval;
pub mod event;
pub mod exporters;
pub mod gen;
pub mod metrics;
pub mod receivers;
pub mod record;
pub mod replay;
pub mod report;
pub mod service;
pub mod tls;
pub mod tune;
