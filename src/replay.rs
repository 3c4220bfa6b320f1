//! `noisegate replay`: the file-driven shell around the engine.
//!
//! Reads NDJSON payloads (files, `.gz` files, or `-` for stdin), decodes each line (format
//! sniffed), feeds the engine in batches in event time, and writes `clusters.ndjson`,
//! `pages.ndjson`, `deadletter.ndjson` and `summary.json`. Owns file I/O, line limits, dead
//! letters and the summary; decides nothing about alerts (that is the engine's job).
//!
//! Time: the engine's clock is the newest event time seen (see `engine`). End of input is an
//! infinite watermark (as in Flink): every pending timer fires, so clusters whose alerts all
//! resolved close at their due time; the clusters still firing are written with
//! `closed_at: null`.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use base64::Engine as _;
use serde::Serialize;

use crate::config::Config;
use crate::decode::{self, Ctx, DecodeError, Format};
use crate::engine::{Engine, EngineStats, Output};
use crate::event::{AlertEvent, EventTime};
use crate::record::Decision;

/// Lines decoded before the engine gets a batch.
const BATCH_LINES: usize = 1024;
/// How much of an oversize line a dead letter keeps.
const OVERSIZE_PREFIX: usize = 4096;

/// What `summary.json` holds.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Summary {
    /// Payloads read (non-blank lines).
    pub events_in: u64,
    /// Payloads that could not be used (each is in deadletter.ndjson).
    pub events_invalid: u64,
    /// Alert events decoded from the valid payloads (an Alertmanager notification holds several).
    pub alert_events: u64,
    /// Valid parts of payloads that are not alerts (OTLP log records without a rule name).
    pub records_ignored: u64,
    /// Distinct alerts (label sets per episode) across all cluster records.
    pub alerts: u64,
    pub clusters: u64,
    /// PagerDuty triggers sent.
    pub pages: u64,
    /// PagerDuty resolves sent.
    pub page_resolves: u64,
    /// Clusters decided `ticket`.
    pub tickets: u64,
    /// Clusters decided `suppress`.
    pub suppressed: u64,
    /// Clusters decided `page`.
    pub paged_clusters: u64,
    pub elapsed_seconds: f64,
    /// Payloads per second, end to end.
    pub events_per_second: f64,
    pub invalid_by_reason: BTreeMap<String, u64>,
    pub events_by_format: BTreeMap<String, u64>,
    pub engine: EngineStats,
}

/// One line of `deadletter.ndjson`.
#[derive(Debug, Serialize)]
struct DeadLetter<'a> {
    file: &'a str,
    line: u64,
    reason: &'static str,
    error: String,
    /// The line as text (invalid UTF-8 replaced; see `raw_base64`).
    raw: String,
    /// The exact bytes, when they are not valid UTF-8.
    #[serde(skip_serializing_if = "Option::is_none")]
    raw_base64: Option<String>,
    /// Set when only a prefix of the line is kept (oversize lines).
    #[serde(skip_serializing_if = "Option::is_none")]
    raw_truncated_from: Option<usize>,
}

/// A line read with a length limit.
enum Line {
    Ok,
    /// Longer than the limit: `buf` holds a prefix, `usize` is the full length.
    TooLong(usize),
    Eof,
}

/// Reads one `\n`-terminated line into `buf` (without the newline and a trailing `\r`),
/// keeping at most `limit + 1` bytes so one huge line cannot exhaust memory.
fn read_line_bounded<R: BufRead>(r: &mut R, buf: &mut Vec<u8>, limit: usize) -> io::Result<Line> {
    buf.clear();
    let mut total = 0usize;
    let mut any = false;
    loop {
        let chunk = r.fill_buf()?;
        if chunk.is_empty() {
            break;
        }
        any = true;
        let (part, done) = match memchr_newline(chunk) {
            Some(i) => (&chunk[..i], Some(i + 1)),
            None => (chunk, None),
        };
        total += part.len();
        if buf.len() <= limit {
            let room = limit + 1 - buf.len();
            buf.extend_from_slice(&part[..part.len().min(room)]);
        }
        let used = done.unwrap_or(chunk.len());
        r.consume(used);
        if done.is_some() {
            break;
        }
    }
    if !any {
        return Ok(Line::Eof);
    }
    if total > limit {
        buf.truncate(OVERSIZE_PREFIX.min(buf.len()));
        return Ok(Line::TooLong(total));
    }
    if buf.last() == Some(&b'\r') {
        buf.pop();
    }
    Ok(Line::Ok)
}

fn memchr_newline(b: &[u8]) -> Option<usize> {
    b.iter().position(|&c| c == b'\n')
}

fn open_input(path: &Path) -> io::Result<Box<dyn BufRead>> {
    if path.as_os_str() == "-" {
        return Ok(Box::new(BufReader::with_capacity(1 << 16, io::stdin())));
    }
    let f = File::open(path)?;
    let gz = path.extension().is_some_and(|e| e == "gz");
    let inner: Box<dyn Read> = if gz {
        Box::new(flate2::read::MultiGzDecoder::new(BufReader::new(f)))
    } else {
        Box::new(f)
    };
    Ok(Box::new(BufReader::with_capacity(1 << 16, inner)))
}

/// Lines read but not yet decoded: one buffer, with each line's span.
#[derive(Default)]
struct Chunk {
    bytes: Vec<u8>,
    lines: Vec<LineRef>,
}

struct LineRef {
    start: usize,
    end: usize,
    line_no: u64,
    /// Full length of an oversize line (only a prefix is kept).
    too_long: Option<usize>,
}

impl Chunk {
    fn push(&mut self, line: &[u8], line_no: u64, too_long: Option<usize>) {
        let start = self.bytes.len();
        self.bytes.extend_from_slice(line);
        self.lines.push(LineRef {
            start,
            end: self.bytes.len(),
            line_no,
            too_long,
        });
    }

    fn clear(&mut self) {
        self.bytes.clear();
        self.lines.clear();
    }
}

type LineResult = Result<(Format, decode::Decoded), DecodeError>;

/// One worker's share of a chunk: its events in line order, and each line's result with the
/// range of its events.
struct Part {
    events: Vec<AlertEvent>,
    results: Vec<(usize, LineResult, std::ops::Range<usize>)>,
}

/// Decodes a chunk on up to `workers` threads, each taking a contiguous run of lines, so the
/// parts concatenated in order are exactly what one thread would produce. Lines are decoded
/// without a receive time; the few that need one are decoded again by the caller, in order.
fn decode_chunk(cfg: &Config, chunk: &Chunk, workers: usize) -> Vec<Part> {
    let ctx = Ctx {
        opts: &cfg.decode,
        received_at: None,
    };
    let decode_run = |lines: &[LineRef], first: usize| -> Part {
        let mut part = Part {
            events: Vec::with_capacity(lines.len() * 2),
            results: Vec::with_capacity(lines.len()),
        };
        for (j, l) in lines.iter().enumerate() {
            let mark = part.events.len();
            let result = match l.too_long {
                Some(size) => Err(DecodeError::TooLarge {
                    size,
                    limit: cfg.max_payload_bytes,
                }),
                None => decode::decode_auto(&chunk.bytes[l.start..l.end], &ctx, &mut part.events),
            };
            part.results
                .push((first + j, result, mark..part.events.len()));
        }
        part
    };
    let n = chunk.lines.len();
    if workers <= 1 || n < 64 {
        return vec![decode_run(&chunk.lines, 0)];
    }
    let per = n.div_ceil(workers);
    std::thread::scope(|scope| {
        let handles: Vec<_> = chunk
            .lines
            .chunks(per)
            .enumerate()
            .map(|(k, lines)| scope.spawn(move || decode_run(lines, k * per)))
            .collect();
        handles
            .into_iter()
            .map(|h| match h.join() {
                Ok(p) => p,
                // Decoders do not panic (fuzzed); if one ever did, fail loudly rather than
                // lose lines silently.
                Err(e) => std::panic::resume_unwind(e),
            })
            .collect()
    })
}

struct Writers {
    clusters: BufWriter<File>,
    pages: BufWriter<File>,
    deadletter: BufWriter<File>,
}

/// Runs a replay. Returns the summary (also written to `out_dir/summary.json`).
pub fn run(
    cfg: &Config,
    inputs: &[PathBuf],
    out_dir: &Path,
    progress: bool,
) -> anyhow::Result<Summary> {
    use anyhow::Context as _;
    std::fs::create_dir_all(out_dir).with_context(|| format!("creating {}", out_dir.display()))?;
    let create = |name: &str| -> anyhow::Result<BufWriter<File>> {
        let p = out_dir.join(name);
        Ok(BufWriter::with_capacity(
            1 << 16,
            File::create(&p).with_context(|| format!("creating {}", p.display()))?,
        ))
    };
    let mut w = Writers {
        clusters: create("clusters.ndjson")?,
        pages: create("pages.ndjson")?,
        deadletter: create("deadletter.ndjson")?,
    };
    let started = Instant::now();
    let mut engine = Engine::new(Arc::new(cfg.engine.clone()));
    let mut s = Summary::default();
    let mut max_time: Option<EventTime> = None;

    // A spinner with counts, not a byte bar: gzip inputs have no known uncompressed size.
    let bar = (progress && io::stderr().is_terminal()).then(|| {
        let b = indicatif::ProgressBar::new_spinner();
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} replay: {human_pos} payloads ({per_sec}) {msg}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
        );
        b
    });

    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 8);
    let mut line = Vec::with_capacity(4096);
    let mut chunk = Chunk::default();
    for path in inputs {
        let name = path.display().to_string();
        let mut reader = open_input(path).with_context(|| format!("opening input {name}"))?;
        let mut line_no = 0u64;
        loop {
            let r = read_line_bounded(&mut reader, &mut line, cfg.max_payload_bytes)
                .with_context(|| format!("reading {name} after line {line_no}"))?;
            line_no += 1;
            let eof = matches!(r, Line::Eof);
            match r {
                Line::Eof => {}
                Line::TooLong(size) => chunk.push(&line, line_no, Some(size)),
                Line::Ok => {
                    if !line.iter().all(|b| b.is_ascii_whitespace()) {
                        chunk.push(&line, line_no, None);
                    }
                }
            }
            if chunk.lines.len() >= BATCH_LINES || (eof && !chunk.lines.is_empty()) {
                let parts = decode_chunk(cfg, &chunk, workers);
                let mut redo: Vec<AlertEvent> = Vec::new();
                for part in &parts {
                    for (i, first_try, range) in &part.results {
                        let l = &chunk.lines[*i];
                        s.events_in += 1;
                        // A payload without its own time (a PagerDuty v2 ack/resolve) takes
                        // the newest event time before it; decoded again here, in order, so
                        // the result is exactly what one thread would give.
                        let retried;
                        let (result, events) = match first_try {
                            Err(DecodeError::MissingField { .. }) if max_time.is_some() => {
                                redo.clear();
                                let ctx = Ctx {
                                    opts: &cfg.decode,
                                    received_at: max_time,
                                };
                                retried = decode::decode_auto(
                                    &chunk.bytes[l.start..l.end],
                                    &ctx,
                                    &mut redo,
                                );
                                (&retried, &redo[..])
                            }
                            _ => (first_try, &part.events[range.clone()]),
                        };
                        for ev in events {
                            max_time = Some(max_time.map_or(ev.time, |m| m.max(ev.time)));
                        }
                        engine.handle_events(events);
                        match result {
                            Ok((format, d)) => {
                                s.alert_events += d.events as u64;
                                s.records_ignored += d.ignored as u64;
                                *s.events_by_format
                                    .entry(format.as_str().into())
                                    .or_default() += 1;
                            }
                            Err(e) => {
                                s.events_invalid += 1;
                                *s.invalid_by_reason.entry(e.reason().into()).or_default() += 1;
                                write_dead_letter(
                                    &mut w.deadletter,
                                    &name,
                                    l.line_no,
                                    e,
                                    &chunk.bytes[l.start..l.end],
                                )?;
                            }
                        }
                    }
                    drain(&mut engine, &mut w, &mut s)?;
                }
                chunk.clear();
                if let Some(b) = &bar {
                    b.set_position(s.events_in);
                    b.set_message(name.clone());
                }
            }
            if eof {
                break;
            }
        }
    }
    engine.handle_watermark(EventTime(i64::MAX));
    drain(&mut engine, &mut w, &mut s)?;
    engine.finish();
    drain(&mut engine, &mut w, &mut s)?;
    for f in [&mut w.clusters, &mut w.pages, &mut w.deadletter] {
        f.flush().context("flushing output")?;
    }
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    s.engine = engine.stats().clone();
    s.elapsed_seconds = started.elapsed().as_secs_f64();
    s.events_per_second = if s.elapsed_seconds > 0.0 {
        (s.events_in as f64 / s.elapsed_seconds).round()
    } else {
        0.0
    };
    let sp = out_dir.join("summary.json");
    std::fs::write(&sp, serde_json::to_string_pretty(&s)? + "\n")
        .with_context(|| format!("writing {}", sp.display()))?;
    Ok(s)
}

fn drain(engine: &mut Engine, w: &mut Writers, s: &mut Summary) -> anyhow::Result<()> {
    while let Some(o) = engine.poll_output() {
        match o {
            Output::Page(p) => {
                match p.event_action {
                    crate::record::PageAction::Trigger => s.pages += 1,
                    crate::record::PageAction::Resolve => s.page_resolves += 1,
                }
                serde_json::to_writer(&mut w.pages, &p)?;
                w.pages.write_all(b"\n")?;
            }
            Output::Record(r) => {
                s.clusters += 1;
                s.alerts += r.alerts.len() as u64;
                match r.decision {
                    Decision::Page => s.paged_clusters += 1,
                    Decision::Ticket => s.tickets += 1,
                    Decision::Suppress => s.suppressed += 1,
                }
                serde_json::to_writer(&mut w.clusters, &r)?;
                w.clusters.write_all(b"\n")?;
            }
        }
    }
    Ok(())
}

fn write_dead_letter(
    w: &mut impl Write,
    file: &str,
    line: u64,
    e: &DecodeError,
    raw: &[u8],
) -> anyhow::Result<()> {
    let utf8 = std::str::from_utf8(raw).is_ok();
    let dl = DeadLetter {
        file,
        line,
        reason: e.reason(),
        error: e.to_string(),
        raw: String::from_utf8_lossy(raw).into_owned(),
        raw_base64: (!utf8).then(|| base64::engine::general_purpose::STANDARD.encode(raw)),
        raw_truncated_from: match e {
            DecodeError::TooLarge { size, .. } => Some(*size),
            _ => None,
        },
    };
    serde_json::to_writer(&mut *w, &dl)?;
    w.write_all(b"\n")?;
    Ok(())
}

/// Formats the summary the way `replay` prints it.
pub fn print_summary(s: &Summary, out_dir: &Path) -> String {
    let mut t = String::new();
    use std::fmt::Write as _;
    let _ = writeln!(t, "noisegate replay summary ({})", out_dir.display());
    let _ = writeln!(
        t,
        "  payloads in        {:>10}   invalid (dead-lettered) {}",
        s.events_in, s.events_invalid
    );
    let _ = writeln!(
        t,
        "  alert events       {:>10}   deduplicated {}",
        s.alert_events, s.engine.deduplicated
    );
    let _ = writeln!(t, "  alerts             {:>10}", s.alerts);
    let _ = writeln!(
        t,
        "  clusters           {:>10}   page {} / ticket {} / suppress {}",
        s.clusters, s.paged_clusters, s.tickets, s.suppressed
    );
    let _ = writeln!(
        t,
        "  pages sent         {:>10}   (+{} resolves)",
        s.pages, s.page_resolves
    );
    if s.alert_events > 0 {
        let _ = writeln!(
            t,
            "  compression        {:>9.1}%   (1 - pages / alert events)",
            100.0 * (1.0 - s.pages as f64 / s.alert_events as f64)
        );
    }
    let _ = writeln!(
        t,
        "  elapsed            {:>9.3}s   {} payloads/s",
        s.elapsed_seconds, s.events_per_second
    );
    if !s.invalid_by_reason.is_empty() {
        let _ = writeln!(t, "  invalid by reason  {:?}", s.invalid_by_reason);
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_lines() {
        let data = b"short\r\n0123456789abcdef\nlast";
        let mut r = BufReader::with_capacity(4, &data[..]);
        let mut buf = Vec::new();
        assert!(matches!(
            read_line_bounded(&mut r, &mut buf, 10).unwrap(),
            Line::Ok
        ));
        assert_eq!(buf, b"short");
        assert!(matches!(
            read_line_bounded(&mut r, &mut buf, 10).unwrap(),
            Line::TooLong(16)
        ));
        assert!(matches!(
            read_line_bounded(&mut r, &mut buf, 10).unwrap(),
            Line::Ok
        ));
        assert_eq!(buf, b"last");
        assert!(matches!(
            read_line_bounded(&mut r, &mut buf, 10).unwrap(),
            Line::Eof
        ));
    }
}
