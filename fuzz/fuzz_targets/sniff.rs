//! Fuzzes format sniffing followed by the sniffed decoder (what `replay` does per line), and
//! the receivers' split of a forwarder's batch into its payloads.
#![no_main]

use libfuzzer_sys::fuzz_target;
use noisegate::decode::{batch, decode_auto, Ctx, DecodeOptions};

fuzz_target!(|data: &[u8]| {
    let opts = DecodeOptions::default();
    let ctx = Ctx { opts: &opts, received_at: None };
    let mut out = Vec::new();
    let _ = decode_auto(data, &ctx, &mut out);
    for part in batch::payloads(None, data).unwrap_or_default() {
        let _ = decode_auto(part, &ctx, &mut out);
    }
});
