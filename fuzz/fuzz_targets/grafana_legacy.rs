//! Fuzzes the grafana_legacy decoder: any bytes must give events or a DecodeError, never a panic, and an
//! error must leave nothing behind in the output.
#![no_main]

use libfuzzer_sys::fuzz_target;
use noisegate::decode::{decode, Ctx, DecodeOptions, Format};

fuzz_target!(|data: &[u8]| {
    let opts = DecodeOptions::default();
    let ctx = Ctx { opts: &opts, received_at: Some(noisegate::event::EventTime(0)) };
    let mut out = Vec::new();
    if decode(Format::GrafanaLegacy, data, &ctx, &mut out).is_err() {
        assert!(out.is_empty());
    }
});
