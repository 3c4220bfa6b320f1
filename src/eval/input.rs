//! File reading shared by `eval` and `tune`: plain or `.gz` files, `-` for stdin, one
//! callback per payload (framed as `replay` frames them) with the line it starts on.

use std::path::Path;

use anyhow::Context as _;

use crate::replay::framing::{Chunk, Framer};
use crate::replay::open_input;

/// Calls `f(line_number, bytes, cut)` for every payload, framed as `replay` frames its
/// inputs (NDJSON lines, pretty-printed documents, arrays of payloads: `replay::framing`),
/// with the line it starts on; `cut` says it was longer than `limit` and only a prefix is
/// given. I/O errors name the file; `f`'s errors are passed through unchanged.
pub(crate) fn for_each_payload(
    path: &Path,
    limit: usize,
    mut f: impl FnMut(u64, &[u8], bool) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let name = path.display();
    let mut r = open_input(path).with_context(|| format!("opening {name}"))?;
    let mut framer = Framer::new(limit);
    loop {
        let mut chunk = Chunk::default();
        let eof = framer
            .fill(&mut r, &mut chunk)
            .with_context(|| format!("reading {name} after line {}", framer.line_no))?;
        for l in &chunk.lines {
            f(l.line_no, chunk.line(l), l.too_long.is_some())?;
        }
        if eof {
            return Ok(());
        }
    }
}

/// [`for_each_payload`] without a size limit: our own records and the truth, where a
/// cluster of ten thousand alerts is one long line and not an error.
pub(crate) fn for_each_record(
    path: &Path,
    mut f: impl FnMut(u64, &[u8]) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    for_each_payload(path, usize::MAX / 2, |line_no, bytes, _| f(line_no, bytes))
}
