//! File reading shared by `eval` and `tune`: plain or `.gz` files, `-` for stdin, one
//! callback per payload (framed as `replay` frames them) with the line it starts on.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;

use anyhow::Context as _;

use crate::replay::framing::{Chunk, Framer};

/// Opens a file for reading (`.gz` decompressed, `-` is stdin).
pub(crate) fn open(path: &Path) -> io::Result<Box<dyn BufRead>> {
    if path.as_os_str() == "-" {
        return Ok(Box::new(BufReader::with_capacity(1 << 16, io::stdin())));
    }
    let f = File::open(path)?;
    let inner: Box<dyn Read> = if path.extension().is_some_and(|e| e == "gz") {
        Box::new(flate2::read::MultiGzDecoder::new(BufReader::new(f)))
    } else {
        Box::new(f)
    };
    Ok(Box::new(BufReader::with_capacity(1 << 16, inner)))
}

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
    let mut r = open(path).with_context(|| format!("opening {name}"))?;
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
