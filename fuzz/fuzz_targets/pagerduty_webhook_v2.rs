//! Fuzzes the pagerduty_webhook_v2 decoder: any bytes must give events or a DecodeError, never a panic, and an
//! error must leave nothing behind in the output.
#![no_main]

use libfuzzer_sys::fuzz_target;
use noisegate::decode::{decode, Ctx, DecodeOptions, Format};

fuzz_target!(|data: &[u8]| {
    let opts = DecodeOptions::default();
    let ctx = Ctx { opts: &opts, received_at: None };
    let mut out = Vec::new();
    if decode(Format::PagerDutyWebhookV2, data, &ctx, &mut out).is_err() {
        assert!(out.is_empty());
    }
});
