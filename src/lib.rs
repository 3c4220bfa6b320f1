//! noisegate: bytes in → [`event::AlertEvent`] → engine (dedup → correlate → score) → records, pages.
//!
//! Layout: `event` (the one data model), `decode/` (one file per wire format), `engine/`
//! (pure, event-time state machine: no I/O, no clock), `record` (the public cluster record and
//! page schemas), `config` (typed, validated config), `replay` (the file-driven shell around
//! the engine), `gen` (the example traffic generator).

pub mod config;
pub mod decode;
pub mod engine;
pub mod eval;
pub mod event;
pub mod gen;
pub mod record;
pub mod replay;
pub mod tune;
