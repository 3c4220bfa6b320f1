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
//! engine's allowed lateness absorbs the rest. A line stamped well ahead of its input's
//! clock is first settled by the lines after it (`ahead`): one wrong clock must not move
//! the input's, and with it hold the input back. That look-ahead may read up to
//! `ahead::LOOKAHEAD_LINES` lines of chunks early. The result depends only on the inputs, never
//! on thread timing.
//!
//! Owns the merge order; decoding, the engine and the outputs are `replay`'s.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::path::PathBuf;
use std::sync::mpsc;

use anyhow::Context as _;

use super::{
    ahead, decode_worker, decode_workers, framing::Framer, open_input, Chunk, Config, Job, Part,
    Sink, BATCH_LINES, CHUNKS_AHEAD_PER_WORKER,
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
    /// The chunks after `head` that the look-ahead of `settle` needed early.
    peeked: VecDeque<(Chunk, Part)>,
    /// Alerts of this input seen stamped ahead of it.
    suspects: ahead::Suspects,
}

/// Waits for an input's next decoded chunk; `None` once it has ended.
fn recv_chunk(rx: &mpsc::Receiver<Pending>) -> anyhow::Result<Option<(Chunk, Part)>> {
    match rx.recv() {
        Ok(Ok(done)) => done
            .recv()
            .map(Some)
            .map_err(|_| anyhow::anyhow!("a decode worker stopped")),
        Ok(Err(e)) => Err(e),
        // The reader has sent everything and hung up.
        Err(mpsc::RecvError) => Ok(None),
    }
}

impl Input {
    /// The input at its first chunk; `None` if it is empty.
    fn open(rx: mpsc::Receiver<Pending>) -> anyhow::Result<Option<Input>> {
        Ok(recv_chunk(&rx)?.map(|head| Input {
            rx,
            head,
            next: 0,
            clock: i64::MIN,
            peeked: VecDeque::new(),
            suspects: ahead::Suspects::default(),
        }))
    }

    /// Moves to the next line; `false` once the input has ended.
    fn step(&mut self) -> anyhow::Result<bool> {
        self.next += 1;
        if self.next < self.head.0.lines.len() {
            return Ok(true);
        }
        let chunk = match self.peeked.pop_front() {
            Some(c) => Some(c),
            None => recv_chunk(&self.rx)?,
        };
        match chunk {
            Some(c) => {
                self.head = c;
                self.next = 0;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// Restamps the next line's events that its sender stamped ahead of the input, as the
    /// lines after it witness (see `ahead`); returns how many moved.
    fn settle(&mut self, max_skew_ms: i64) -> anyhow::Result<usize> {
        let clock = self.clock;
        let range = self.head.1.results[self.next].1.clone();
        let line = &self.head.1.events[range.clone()];
        let Some(limit) = ahead::limit(clock, max_skew_ms) else {
            return Ok(0);
        };
        if !ahead::any_ahead(line, clock, max_skew_ms) {
            return Ok(0);
        }
        // Rare (a wrong clock, or a jump forward), so the look-ahead may wait for chunks and
        // allocate. The alerts ahead cannot vouch for themselves: their later events (a
        // re-send, the resolve) are stamped by the same clock.
        self.suspects.note(line, limit);
        let suspects = &self.suspects;
        // Its own line's events that are not ahead themselves, then the lines after it.
        let oldest = clock.saturating_sub(max_skew_ms);
        let mut witnesses: Vec<i64> = ahead::witness(line, suspects, oldest, limit)
            .into_iter()
            .collect();
        let mut lines = 0;
        let mut chunk = 0;
        let mut from = self.next + 1;
        'look: while witnesses.len() < ahead::WITNESSES && lines < ahead::LOOKAHEAD_LINES {
            let part = if chunk == 0 {
                &self.head.1
            } else {
                if self.peeked.len() < chunk {
                    match recv_chunk(&self.rx)? {
                        Some(c) => self.peeked.push_back(c),
                        None => break,
                    }
                }
                &self.peeked[chunk - 1].1
            };
            for (_, r) in part.results.iter().skip(from) {
                witnesses.extend(ahead::witness(
                    &part.events[r.clone()],
                    suspects,
                    oldest,
                    i64::MAX,
                ));
                lines += 1;
                if witnesses.len() == ahead::WITNESSES || lines == ahead::LOOKAHEAD_LINES {
                    break 'look;
                }
            }
            chunk += 1;
            from = 0;
        }
        Ok(ahead::restamp_ahead(
            &mut self.head.1.events[range],
            clock,
            max_skew_ms,
            &witnesses,
        ))
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
        let skew = cfg.max_clock_skew_ms;
        let mut open: Vec<Option<Input>> = Vec::with_capacity(inputs.len());
        // Min-heap of (key, input index): one entry per input that has a line to give.
        let mut heap = BinaryHeap::with_capacity(inputs.len());
        for (file, path) in inputs.iter().enumerate() {
            let (tx, rx) = mpsc::sync_channel(CHUNKS_AHEAD);
            let name = &names[file];
            let jobs = job_tx.clone();
            scope.spawn(move || read_input(cfg, path, name, jobs, tx));
            let input = Input::open(rx)?;
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
            if input.step()? {
                sink.s.clock_skewed += input.settle(skew)? as u64;
                heap.push(Reverse((input.key(), file)));
            } else {
                open[file] = None;
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
