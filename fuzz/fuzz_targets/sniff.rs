//! Fuzzes format sniffing followed by the sniffed decoder (what `replay` does per line).
#![no_main]

use libfuzzer_sys::fuzz_target;
use noisegate::decode::{decode_auto, Ctx, DecodeOptions};

fuzz_target!(|data: &[u8]| {
    let opts = DecodeOptions::default();
    let ctx = Ctx { opts: &opts, received_at: None };
    let mut out = Vec::new();
    let _ = decode_auto(data, &ctx, &mut out);
});
