//! Line-oriented file reading shared by `eval` and `tune`: plain or `.gz` files, `-` for
//! stdin, one callback per non-blank line with its 1-based line number.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;

use anyhow::Context as _;

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

/// Calls `f(line_number, bytes)` for every line that is not blank (without the newline and
/// a trailing `\r`). I/O errors name the file; `f`'s errors are passed through unchanged.
pub(crate) fn for_each_line(
    path: &Path,
    mut f: impl FnMut(u64, &[u8]) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let name = path.display();
    let mut r = open(path).with_context(|| format!("opening {name}"))?;
    let mut buf = Vec::with_capacity(4096);
    let mut line_no = 0u64;
    loop {
        buf.clear();
        let n = r
            .read_until(b'\n', &mut buf)
            .with_context(|| format!("reading {name} after line {line_no}"))?;
        if n == 0 {
            return Ok(());
        }
        line_no += 1;
        if buf.last() == Some(&b'\n') {
            buf.pop();
        }
        if buf.last() == Some(&b'\r') {
            buf.pop();
        }
        if buf.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        f(line_no, &buf)?;
    }
}
