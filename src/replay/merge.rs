//! The inputs replayed as one stream in event time (one input is the simple case).
//!
//! History usually comes in more than one file: last week's Alertmanager notifications from
//! one place, the PagerDuty webhooks with the acknowledgements from another. Read one after
//! the other, every acknowledgement would reach the engine after the week it belongs to had
//! closed, and nothing would be learned while it mattered. So each input is read by a thread
//! of its own, its chunks are decoded by one pool of workers, and the main thread takes the
//! next line from the input that is furthest behind in event time. Each input holds a few
//! chunks ahead of the merge, so memory grows with the number of inputs: hundreds of files
//! of one source are better concatenated first.
//!
//! An input's clock is the newest event time of its lines so far, and a line sorts at that
//! clock once it is read: an Alertmanager re-send keeps its alert's `startsAt`, so its own
//! time would pull it back before everything sent since; a line without a time (a dead
//! letter, a PagerDuty v2 acknowledgement) stays where it is in its file. Ties go to the input
//! named first. Each input is taken to be in its own order, as an export or a log is; the
//! engine's allowed lateness absorbs the rest. The result depends only on the inputs, never
//! on thread timing.
//!
//! Owns the merge order; decoding, the engine and the outputs are `replay`'s.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::path::PathBuf;
use std::sync::mpsc;

use anyhow::Context as _;

use super::{
    decode_worker, decode_workers, framing::Framer, open_input, Chunk, Config, Job, Part, Sink,
    BATCH_LINES, CHUNKS_AHEAD_PER_WORKER,
};

/// Chunks of one input read ahead of the merge (decoded or with the workers).
const CHUNKS_AHEAD: usize = 2;

/// Where one chunk's decoded form will arrive, or why the input stopped.
type Pending = anyhow::Result<mpsc::Receiver<(Chunk, Part)>>;

/// One input as the merge sees it: the decoded chunk it is in and the next line there.
struct Input {
    rx: mpsc::Receiver<Pending>,
    head: (Chunk, Part),
    next: usize,
    /// Newest event time of the lines taken so far, in ms.
    clock: i64,
}

impl Input {
    /// Waits for the input's next decoded chunk; `None` once it has ended.
    fn advance(rx: mpsc::Receiver<Pending>, clock: i64) -> anyhow::Result<Option<Input>> {
        match rx.recv() {
            Ok(Ok(done)) => {
                let head = done
                    .recv()
                    .map_err(|_| anyhow::anyhow!("a decode worker stopped"))?;
                Ok(Some(Input {
                    rx,
                    head,
                    next: 0,
                    clock,
                }))
            }
            Ok(Err(e)) => Err(e),
            // The reader has sent everything and hung up.
            Err(mpsc::RecvError) => Ok(None),
        }
    }

    /// Where the next line sorts: the input's clock once that line has been read.
    fn key(&self) -> i64 {
        let (_, part) = &self.head;
        let (_, range) = &part.results[self.next];
        part.events[range.clone()]
            .iter()
            .map(|e| e.time.as_millis())
            .fold(self.clock, i64::max)
    }
}

/// Reads one input chunk by chunk and hands each chunk to the decode workers, telling the
/// merge where its result will arrive; until the input ends or the merge stops listening.
fn read_input(
    cfg: &Config,
    path: &std::path::Path,
    name: &str,
    jobs: mpsc::SyncSender<Job>,
    tx: mpsc::SyncSender<Pending>,
) {
    let mut reader = match open_input(path).with_context(|| format!("opening input {name}")) {
        Ok(r) => r,
        Err(e) => {
            let _ = tx.send(Err(e));
            return;
        }
    };
    let mut framer = Framer::new(cfg.max_payload_bytes);
    loop {
        let mut chunk = Chunk::default();
        let eof = match framer
            .fill(&mut reader, &mut chunk)
            .with_context(|| format!("reading {name} after line {}", framer.line_no))
        {
            Ok(eof) => eof,
            Err(e) => {
                let _ = tx.send(Err(e));
                return;
            }
        };
        if !chunk.lines.is_empty() {
            let (done_tx, done_rx) = mpsc::sync_channel(1);
            // Closed channels mean the merge stopped early (an error elsewhere).
            if jobs.send((chunk, Part::default(), done_tx)).is_err()
                || tx.send(Ok(done_rx)).is_err()
            {
                return;
            }
        }
        if eof {
            return;
        }
    }
}

/// Feeds every line of every input to `sink`, merged in event time (see the module doc).
pub(super) fn run(
    cfg: &Config,
    inputs: &[PathBuf],
    names: &[String],
    sink: &mut Sink<'_>,
    bar: Option<&indicatif::ProgressBar>,
) -> anyhow::Result<()> {
    let workers = decode_workers();
    let (job_tx, job_rx) = mpsc::sync_channel::<Job>(workers * CHUNKS_AHEAD_PER_WORKER);
    let job_rx = std::sync::Mutex::new(job_rx);
    std::thread::scope(|scope| -> anyhow::Result<()> {
        for _ in 0..workers {
            scope.spawn(|| decode_worker(cfg, &job_rx));
        }
        let mut open: Vec<Option<Input>> = Vec::with_capacity(inputs.len());
        // Min-heap of (key, input index): one entry per input that has a line to give.
        let mut heap = BinaryHeap::with_capacity(inputs.len());
        for (file, path) in inputs.iter().enumerate() {
            let (tx, rx) = mpsc::sync_channel(CHUNKS_AHEAD);
            let name = &names[file];
            let jobs = job_tx.clone();
            scope.spawn(move || read_input(cfg, path, name, jobs, tx));
            let input = Input::advance(rx, i64::MIN)?;
            if let Some(i) = &input {
                heap.push(Reverse((i.key(), file)));
            }
            open.push(input);
        }
        let mut since_drain = 0usize;
        while let Some(Reverse((key, file))) = heap.pop() {
            let Some(input) = open[file].as_mut() else {
                continue;
            };
            sink.consume_line(&names[file], &input.head.0, &input.head.1, input.next)?;
            input.clock = key;
            input.next += 1;
            if input.next == input.head.0.lines.len() {
                if let Some(done) = open[file].take() {
                    open[file] = Input::advance(done.rx, key)?;
                }
            }
            if let Some(i) = &open[file] {
                heap.push(Reverse((i.key(), file)));
            }
            since_drain += 1;
            if since_drain >= BATCH_LINES {
                since_drain = 0;
                sink.drain()?;
                if let Some(b) = bar {
                    b.set_position(sink.s.events_in);
                    b.set_message(names[file].clone());
                }
            }
        }
        // Returning drops every receiver, so a reader still sending stops, and the last
        // sender of jobs, so the workers stop; the scope joins them all (a panic in one is
        // re-raised there).
        drop(job_tx);
        sink.drain()
    })
}
