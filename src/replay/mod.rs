//! `noisegate replay`: the file-driven shell around the engine.
//!
//! Reads NDJSON payloads (files, `.gz` files, or `-` for stdin), decodes each line (format
//! sniffed, by a pool of workers), feeds the engine in event time (several inputs merged:
//! `merge`), and writes `clusters.ndjson`, `pages.ndjson`, `deadletter.ndjson`,
//! `rules.json` (what it learned, for `engine.learned_rules`) and `summary.json`. Owns file I/O, line limits, dead
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
use std::sync::{mpsc, Arc, Mutex};
use std::time::Instant;

use base64::Engine as _;
use serde::Serialize;

use crate::config::Config;
use crate::decode::{self, Ctx, DecodeError, Format};
use crate::engine::{Engine, EngineStats, Output};
use crate::event::{AlertEvent, EventTime};
use crate::record::Decision;

mod ahead;
pub(crate) mod framing;
mod merge;

use framing::Chunk;

/// Lines per chunk: the unit of work of a decode worker, and the engine's batch.
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
    /// Alerts senders said they left out of their notifications (Alertmanager's and
    /// Grafana's `truncatedAlerts`, over a receiver's `max_alerts`): never in the input.
    pub alerts_truncated: u64,
    /// Change events (PagerDuty Change Events) decoded: context for clusters, not alerts.
    pub change_events: u64,
    /// Alert events stamped more than `[input] max_clock_skew` ahead of their input, as the
    /// lines after them witnessed, taken as of the input's newest time before them
    /// (`ahead`): a sender's clock was wrong.
    pub clock_skewed: u64,
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
    /// Payloads (input lines) per second, end to end. The name is kept for existing readers;
    /// `alert_events_per_second` counts what the speed target counts.
    pub events_per_second: f64,
    /// Alert events (one payload may carry many) per second, end to end.
    pub alert_events_per_second: f64,
    pub invalid_by_reason: BTreeMap<String, u64>,
    pub events_by_format: BTreeMap<String, u64>,
    pub engine: EngineStats,
    /// The silence after which a firing alert its sender re-sends was taken as over at the
    /// end: `engine.max_resend_interval`, or longer if a sender re-sent an alert after that.
    pub resend_interval_seconds: f64,
    /// Receivers heard sending a resolve: silence from them was not taken as an end within
    /// that interval (see `engine::resend`).
    pub resolving_senders: usize,
    /// Notification groups whose last listing the engine kept at the end (see
    /// `engine::roster`).
    pub group_rosters: usize,
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

/// Opens an input for reading: a file (`.gz` decompressed), or stdin for `-`.
pub(crate) fn open_input(path: &Path) -> io::Result<Box<dyn BufRead + Send>> {
    if path.as_os_str() == "-" {
        return Ok(Box::new(BufReader::with_capacity(1 << 16, io::stdin())));
    }
    let f = File::open(path)?;
    let gz = path.extension().is_some_and(|e| e == "gz");
    let inner: Box<dyn Read + Send> = if gz {
        Box::new(flate2::read::MultiGzDecoder::new(BufReader::new(f)))
    } else {
        Box::new(f)
    };
    Ok(Box::new(BufReader::with_capacity(1 << 16, inner)))
}

type LineResult = Result<(Format, decode::Decoded), DecodeError>;

/// A decoded chunk: its events in line order, and each line's result with the range of its
/// events.
#[derive(Default)]
struct Part {
    events: Vec<AlertEvent>,
    results: Vec<(LineResult, std::ops::Range<usize>)>,
}

/// Decodes every line of a chunk, without a receive time; the few lines that need one are
/// decoded again by the caller, in order.
fn decode_chunk(cfg: &Config, chunk: &Chunk, part: &mut Part) {
    let ctx = Ctx {
        opts: &cfg.decode,
        received_at: None,
    };
    part.events.clear();
    part.results.clear();
    for l in &chunk.lines {
        let mark = part.events.len();
        let result = match l.too_long {
            Some(size) => Err(DecodeError::TooLarge {
                size,
                limit: cfg.max_payload_bytes,
            }),
            None => decode::decode_auto(chunk.line(l), &ctx, &mut part.events),
        };
        part.results.push((result, mark..part.events.len()));
    }
}

/// A chunk handed to a decode worker, and where its result goes.
type Job = (Chunk, Part, mpsc::SyncSender<(Chunk, Part)>);

/// How many decode workers a replay runs: one per core, up to 8.
fn decode_workers() -> usize {
    std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 8)
}

/// Decode worker: takes chunks off the shared queue until it closes.
fn decode_worker(cfg: &Config, jobs: &Mutex<mpsc::Receiver<Job>>) {
    loop {
        // A poisoned lock means another worker panicked; its panic is reported by the join.
        let job = match jobs.lock() {
            Ok(rx) => rx.recv(),
            Err(_) => return,
        };
        let Ok((chunk, mut part, done)) = job else {
            return;
        };
        decode_chunk(cfg, &chunk, &mut part);
        // The receiver is gone only when the main thread stopped early (an error); drop.
        let _ = done.send((chunk, part));
    }
}

struct Writers {
    clusters: BufWriter<File>,
    pages: BufWriter<File>,
    deadletter: BufWriter<File>,
}

/// Chunks decoded or being decoded ahead of the engine, per decode worker. Enough to keep
/// the workers busy while the main thread reads and runs the engine; small enough to bound
/// memory (a chunk is `BATCH_LINES` lines).
const CHUNKS_AHEAD_PER_WORKER: usize = 2;

/// The main thread's side of a replay: runs the engine over decoded lines, in the order
/// `merge` gives them, and writes what comes out.
struct Sink<'a> {
    cfg: &'a Config,
    engine: Engine,
    w: Writers,
    s: Summary,
    max_time: Option<EventTime>,
    redo: Vec<AlertEvent>,
}

impl Sink<'_> {
    /// Line `i` of a decoded chunk: its events to the engine, its payload counted or
    /// dead-lettered. The engine's outputs wait for [`Self::drain`].
    fn consume_line(
        &mut self,
        name: &str,
        chunk: &Chunk,
        part: &Part,
        i: usize,
    ) -> anyhow::Result<()> {
        let cfg = self.cfg;
        let s = &mut self.s;
        let l = &chunk.lines[i];
        let (first_try, range) = &part.results[i];
        s.events_in += 1;
        // A payload without its own time (a PagerDuty v2 ack/resolve) takes the newest
        // event time before it; decoded again here, in order, so the result is exactly
        // what one thread would give.
        let retried;
        let (result, events) = match first_try {
            Err(DecodeError::MissingField { .. }) if self.max_time.is_some() => {
                self.redo.clear();
                let ctx = Ctx {
                    opts: &cfg.decode,
                    received_at: self.max_time,
                };
                retried = decode::decode_auto(chunk.line(l), &ctx, &mut self.redo);
                (&retried, &self.redo[..])
            }
            _ => (first_try, &part.events[range.clone()]),
        };
        for ev in events {
            self.max_time = Some(self.max_time.map_or(ev.time, |m| m.max(ev.time)));
        }
        self.engine.handle_events(events);
        match result {
            Ok((format, d)) => {
                s.alert_events += d.events as u64;
                s.records_ignored += d.ignored as u64;
                s.alerts_truncated += d.truncated as u64;
                s.change_events += d.changes as u64;
                // No `entry(String)`: that would allocate a key per payload.
                match s.events_by_format.get_mut(format.as_str()) {
                    Some(n) => *n += 1,
                    None => {
                        s.events_by_format.insert(format.as_str().into(), 1);
                    }
                }
            }
            Err(e) => {
                s.events_invalid += 1;
                *s.invalid_by_reason.entry(e.reason().into()).or_default() += 1;
                write_dead_letter(&mut self.w.deadletter, name, l.line_no, e, chunk.line(l))?;
            }
        }
        Ok(())
    }

    fn drain(&mut self) -> anyhow::Result<()> {
        drain(&mut self.engine, &mut self.w, &mut self.s)
    }
}

/// Runs a replay. Returns the summary (also written to `out_dir/summary.json`).
///
/// Threads: a reader per input reads lines into chunks and hands each chunk to one of
/// `available_parallelism` decode workers; the calling thread runs the engine over the
/// decoded lines in event time (see `merge`) while the workers decode the next ones. The
/// result is exactly what one thread decoding line by line would give.
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
    let w = Writers {
        clusters: create("clusters.ndjson")?,
        pages: create("pages.ndjson")?,
        deadletter: create("deadletter.ndjson")?,
    };
    let started = Instant::now();
    let mut sink = Sink {
        cfg,
        engine: Engine::new(Arc::new(cfg.engine.clone())),
        w,
        s: Summary::default(),
        max_time: None,
        redo: Vec::new(),
    };

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

    let names: Vec<String> = inputs.iter().map(|p| p.display().to_string()).collect();
    merge::run(cfg, inputs, &names, &mut sink, bar.as_ref())?;

    let Sink {
        mut engine,
        mut w,
        mut s,
        ..
    } = sink;
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
    s.resend_interval_seconds = engine.resend_interval_ms() as f64 / 1000.0;
    s.resolving_senders = engine.resolving_senders();
    s.group_rosters = engine.group_rosters();
    s.elapsed_seconds = started.elapsed().as_secs_f64();
    let per_second = |n: u64| {
        if s.elapsed_seconds > 0.0 {
            (n as f64 / s.elapsed_seconds).round()
        } else {
            0.0
        }
    };
    s.events_per_second = per_second(s.events_in);
    s.alert_events_per_second = per_second(s.alert_events);
    // What this traffic taught the engine, for `engine.learned_rules` of a later replay or
    // of live mode (a warm start instead of every rule at the prior).
    let rp = out_dir.join("rules.json");
    std::fs::write(&rp, engine.rules_json()?)
        .with_context(|| format!("writing {}", rp.display()))?;
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
        "  elapsed            {:>9.3}s   {} payloads/s, {} alert events/s",
        s.elapsed_seconds, s.events_per_second, s.alert_events_per_second
    );
    if !s.invalid_by_reason.is_empty() {
        let _ = writeln!(t, "  invalid by reason  {:?}", s.invalid_by_reason);
    }
    // Most lifecycle events naming nothing open means they came after the clusters they
    // belong to had closed: typically an export of acknowledgements concatenated after the
    // alerts' (or replayed after them), so nothing was learned from them in time.
    let (linked, unlinked) = (s.engine.lifecycle_linked, s.engine.lifecycle_unlinked);
    if unlinked >= 10 && unlinked > linked {
        let _ = writeln!(
            t,
            "  warning: {unlinked} of {} lifecycle events (acknowledgements, resolves) named no open cluster \
             (they arrived after theirs had closed, so nothing was learned from them). If \
             they are a separate export appended to the alerts, replay them as an input of \
             their own: inputs are merged in event time.",
            linked + unlinked
        );
    }
    if s.change_events > 0 {
        let _ = writeln!(
            t,
            "  change events      {:>10}   ({} named no service or team: shown nowhere)",
            s.change_events, s.engine.changes_unscoped
        );
    }
    if s.engine.stale_events > 0 {
        let _ = writeln!(
            t,
            "  out of order       {:>10}   (alert events older than their alert's state: ignored)",
            s.engine.stale_events
        );
    }
    if s.clock_skewed > 0 {
        let _ = writeln!(
            t,
            "  clock ahead        {:>10}   (stamped over input.max_clock_skew ahead of the lines \
             around them: taken as of the lines before; a sender's clock is wrong)",
            s.clock_skewed
        );
    }
    if s.engine.unreported_resolves > 0 {
        let _ = writeln!(
            t,
            "  unreported resolves{:>10}   (not sent again within engine.max_resend_interval, or \
             back with a later startsAt: does the receiver have send_resolved: false?)",
            s.engine.unreported_resolves
        );
    }
    if s.engine.left_out > 0 {
        let _ = writeln!(
            t,
            "    of which left out{:>10}   (firing in a group's notification, missing from its \
             next one: resolved under send_resolved: false, or silenced)",
            s.engine.left_out
        );
    }
    if s.engine.resent_after_unheard > 0 {
        let _ = writeln!(
            t,
            "  sent after judged over{:>7}   (re-sent with their start after engine.max_resend_interval \
             unheard: still firing; judged after {:.0} s from then on: set it to the sender's \
             repeat_interval + group_interval)",
            s.engine.resent_after_unheard, s.resend_interval_seconds
        );
    }
    if s.alerts_truncated > 0 {
        let _ = writeln!(
            t,
            "  left out by sender {:>10}   (truncatedAlerts: raise the receiver's max_alerts)",
            s.alerts_truncated
        );
    }
    t
}
