//! How an input's bytes become payloads: NDJSON lines, pretty-printed JSON documents, and
//! JSON arrays of payloads.
//!
//! NDJSON (one payload per line) is what Kafka dumps, `jq -c` and our own outputs are, and
//! stays the fast path: a line is a payload. But the payloads people keep by hand are
//! pretty-printed, one per file as a webhook body was saved or as `jq .` prints a stream:
//! read line by line, every line of them would be dead-lettered. So an input whose first
//! non-blank line opens a JSON value it does not close (`{`, `[`, `{"receiver": "x",`) is
//! read as documents: each payload runs until its brackets balance (so is the rest of an
//! NDJSON input from a line that is a lone `{` or `[`). A top-level array,
//! in either framing, is a list of payloads (an export of webhook bodies, `jq -s`), each
//! element decoded and dead-lettered on its own.
//!
//! A document that never closes is cut where the next one evidently starts, at a line
//! beginning with `{` or `[` in column 0 (pretty printers indent everything nested), or at
//! the end of the input; what was cut is dead-lettered, so a broken document costs itself
//! and nothing after it. Owns framing and the line limit; decodes nothing. `eval` and `tune`
//! read their inputs through it too, so they see the payloads replay saw.

use std::io::{self, BufRead};

use serde_json::value::RawValue;

use super::{BATCH_LINES, OVERSIZE_PREFIX};

/// Payloads read but not yet decoded: one buffer, with each payload's span, from one input.
#[derive(Default)]
pub(crate) struct Chunk {
    pub(crate) bytes: Vec<u8>,
    pub(crate) lines: Vec<LineRef>,
}

/// One payload of a chunk (a line, a document, or an element of an array).
pub(crate) struct LineRef {
    start: usize,
    end: usize,
    /// The line it starts on, as an editor numbers them.
    pub(crate) line_no: u64,
    /// Full length of an oversize payload (only a prefix is kept).
    pub(crate) too_long: Option<usize>,
}

impl Chunk {
    pub(crate) fn line(&self, l: &LineRef) -> &[u8] {
        &self.bytes[l.start..l.end]
    }
}

/// A line read with a length limit.
enum Line {
    Ok,
    /// Longer than the limit: only a prefix is kept, `usize` is the full length.
    TooLong(usize),
    Eof,
}

/// Reads one `\n`-terminated line and appends it to `buf` (without the newline and a
/// trailing `\r`), keeping at most `limit + 1` bytes of it so one huge line cannot exhaust
/// memory; an oversize line keeps only its first [`OVERSIZE_PREFIX`] bytes. Appending
/// straight into a chunk's buffer saves a copy per line; `memchr` finds the newline.
fn read_line_bounded<R: BufRead + ?Sized>(
    r: &mut R,
    buf: &mut Vec<u8>,
    limit: usize,
) -> io::Result<Line> {
    let start = buf.len();
    let mut total = 0usize;
    let mut any = false;
    loop {
        let chunk = r.fill_buf()?;
        if chunk.is_empty() {
            break;
        }
        any = true;
        let (part, done) = match memchr::memchr(b'\n', chunk) {
            Some(i) => (&chunk[..i], Some(i + 1)),
            None => (chunk, None),
        };
        total += part.len();
        let kept = buf.len() - start;
        if kept <= limit {
            let room = limit + 1 - kept;
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
        buf.truncate(start + OVERSIZE_PREFIX.min(buf.len() - start));
        return Ok(Line::TooLong(total));
    }
    if buf.len() > start && buf.last() == Some(&b'\r') {
        buf.pop();
    }
    Ok(Line::Ok)
}

/// Bracket depth of JSON text read so far, outside strings.
#[derive(Default)]
struct Depth {
    open: u32,
    in_string: bool,
    escaped: bool,
}

impl Depth {
    fn feed(&mut self, line: &[u8]) {
        for &b in line {
            if self.in_string {
                match b {
                    _ if self.escaped => self.escaped = false,
                    b'\\' => self.escaped = true,
                    b'"' => self.in_string = false,
                    _ => {}
                }
                continue;
            }
            match b {
                b'"' => self.in_string = true,
                b'{' | b'[' => self.open += 1,
                b'}' | b']' => self.open = self.open.saturating_sub(1),
                _ => {}
            }
        }
        // JSON strings cannot hold a raw newline: one open at a line's end is a broken
        // payload, and must not turn the brackets of the lines after it into text.
        self.in_string = false;
        self.escaped = false;
    }
}

fn trimmed(line: &[u8]) -> &[u8] {
    line.trim_ascii()
}

/// Whether a first line opens a JSON value that continues on the next lines.
fn opens_document(line: &[u8]) -> bool {
    let t = trimmed(line);
    let (Some(first), Some(last)) = (t.first(), t.last()) else {
        return false;
    };
    if !matches!(first, b'{' | b'[') || !matches!(last, b'{' | b'[' | b',') {
        return false;
    }
    let mut d = Depth::default();
    d.feed(t);
    d.open > 0
}

/// Whether a line starts a new top-level value of a pretty-printed stream.
fn starts_top_level(line: &[u8]) -> bool {
    matches!(line.first(), Some(b'{' | b'['))
}

#[derive(Clone, Copy, PartialEq)]
enum Framing {
    /// Nothing but blank lines read yet.
    Undecided,
    /// One payload per line.
    Lines,
    /// Multi-line JSON values.
    Documents,
}

/// Splits one input into payloads, chunk by chunk.
pub(crate) struct Framer {
    framing: Framing,
    max_payload_bytes: usize,
    /// Lines read so far.
    pub(crate) line_no: u64,
    /// A line read while closing a document that starts the next one (resync).
    carry: Option<(Vec<u8>, u64)>,
}

impl Framer {
    pub(crate) fn new(max_payload_bytes: usize) -> Framer {
        Framer {
            framing: Framing::Undecided,
            max_payload_bytes,
            line_no: 0,
            carry: None,
        }
    }

    /// Reads payloads into `chunk` (appending) until it holds [`BATCH_LINES`] of them or the
    /// input ends; returns whether it ended. Blank lines are skipped; `line_no` counts every
    /// line, so dead letters name the line as an editor shows it.
    pub(crate) fn fill<R: BufRead + ?Sized>(
        &mut self,
        reader: &mut R,
        chunk: &mut Chunk,
    ) -> io::Result<bool> {
        while chunk.lines.len() < BATCH_LINES {
            let start = chunk.bytes.len();
            let line_no;
            let r = match self.carry.take() {
                Some((line, no)) => {
                    chunk.bytes.extend_from_slice(&line);
                    line_no = no;
                    Line::Ok
                }
                None => {
                    let r = read_line_bounded(reader, &mut chunk.bytes, self.max_payload_bytes)?;
                    self.line_no += 1;
                    line_no = self.line_no;
                    r
                }
            };
            let mut too_long = match r {
                Line::Eof => return Ok(true),
                Line::TooLong(size) => Some(size),
                Line::Ok => {
                    if chunk.bytes[start..].iter().all(|b| b.is_ascii_whitespace()) {
                        chunk.bytes.truncate(start);
                        continue;
                    }
                    None
                }
            };
            let line = &chunk.bytes[start..];
            self.framing = match self.framing {
                Framing::Undecided if too_long.is_none() && opens_document(line) => {
                    Framing::Documents
                }
                Framing::Undecided => Framing::Lines,
                // No payload is a lone bracket: that is a pretty-printed one starting.
                Framing::Lines if matches!(trimmed(line), b"{" | b"[") => Framing::Documents,
                f => f,
            };
            let mut eof = false;
            if self.framing == Framing::Documents && too_long.is_none() {
                (too_long, eof) = self.rest_of_document(reader, chunk, start)?;
            }
            match too_long {
                Some(size) => chunk.lines.push(LineRef {
                    start,
                    end: chunk.bytes.len(),
                    line_no,
                    too_long: Some(size),
                }),
                None => push_payloads(chunk, start, line_no),
            }
            if eof {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Reads the lines of the document whose first line is `chunk.bytes[start..]`, until its
    /// brackets balance, the next document evidently starts, or the input ends. Returns the
    /// full size when it is over the limit (only a prefix is kept), and whether the input
    /// ended.
    fn rest_of_document<R: BufRead + ?Sized>(
        &mut self,
        reader: &mut R,
        chunk: &mut Chunk,
        start: usize,
    ) -> io::Result<(Option<usize>, bool)> {
        let mut depth = Depth::default();
        depth.feed(&chunk.bytes[start..]);
        let mut size = chunk.bytes.len() - start;
        let mut line = Vec::new();
        while depth.open > 0 {
            line.clear();
            let r = read_line_bounded(reader, &mut line, self.max_payload_bytes)?;
            self.line_no += 1;
            match r {
                Line::Eof => return Ok((over(size, self.max_payload_bytes), true)),
                Line::TooLong(n) => {
                    // Its brackets cannot be followed through a cut line: end the document
                    // here; the lines after it are dead-lettered one by one.
                    return Ok((Some(size + 1 + n), false));
                }
                Line::Ok => {}
            }
            if starts_top_level(&line) {
                self.carry = Some((std::mem::take(&mut line), self.line_no));
                break;
            }
            depth.feed(&line);
            size += 1 + line.len();
            if size <= self.max_payload_bytes {
                chunk.bytes.push(b'\n');
                chunk.bytes.extend_from_slice(&line);
            }
        }
        let too_long = over(size, self.max_payload_bytes);
        if too_long.is_some() {
            chunk
                .bytes
                .truncate(start + OVERSIZE_PREFIX.min(chunk.bytes.len() - start));
        }
        Ok((too_long, false))
    }
}

fn over(size: usize, limit: usize) -> Option<usize> {
    (size > limit).then_some(size)
}

/// Pushes the payload at `chunk.bytes[start..]`: itself, or, when it is a JSON array, each
/// of its elements (numbered by the line each starts on). An array that does not parse is
/// one payload, for the decoder to dead-letter with its reason.
fn push_payloads(chunk: &mut Chunk, start: usize, line_no: u64) {
    let end = chunk.bytes.len();
    let text = &chunk.bytes[start..end];
    if text.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[') {
        if let Ok(items) = serde_json::from_slice::<Vec<&RawValue>>(text) {
            let base = text.as_ptr() as usize;
            let spans: Vec<(usize, usize)> = items
                .iter()
                .map(|v| {
                    let at = v.get().as_ptr() as usize - base;
                    (at, at + v.get().len())
                })
                .collect();
            let mut line = line_no;
            let mut seen = 0;
            for (at, to) in spans {
                line += memchr::memchr_iter(b'\n', &chunk.bytes[start + seen..start + at]).count()
                    as u64;
                seen = at;
                chunk.lines.push(LineRef {
                    start: start + at,
                    end: start + to,
                    line_no: line,
                    too_long: None,
                });
            }
            return;
        }
    }
    chunk.lines.push(LineRef {
        start,
        end,
        line_no,
        too_long: None,
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::BufReader;

    #[test]
    fn bounded_lines() {
        let data = b"short\r\n0123456789abcdef\nlast";
        let mut r = BufReader::with_capacity(4, &data[..]);
        // Lines are appended after what the buffer already holds.
        let mut buf = b"prev".to_vec();
        assert!(matches!(
            read_line_bounded(&mut r, &mut buf, 10).unwrap(),
            Line::Ok
        ));
        assert_eq!(buf, b"prevshort");
        buf.clear();
        assert!(matches!(
            read_line_bounded(&mut r, &mut buf, 10).unwrap(),
            Line::TooLong(16)
        ));
        assert_eq!(buf, b"0123456789a");
        buf.clear();
        assert!(matches!(
            read_line_bounded(&mut r, &mut buf, 10).unwrap(),
            Line::Ok
        ));
        assert_eq!(buf, b"last");
        buf.clear();
        assert!(matches!(
            read_line_bounded(&mut r, &mut buf, 10).unwrap(),
            Line::Eof
        ));
        assert!(buf.is_empty());
    }

    /// The payloads of `data` framed with `limit`, as (line, text, full size if cut).
    fn frame(data: &str, limit: usize) -> Vec<(u64, String, Option<usize>)> {
        let mut r = BufReader::with_capacity(7, data.as_bytes());
        let mut f = Framer::new(limit);
        let mut out = Vec::new();
        loop {
            let mut chunk = Chunk::default();
            let eof = f.fill(&mut r, &mut chunk).unwrap();
            for l in &chunk.lines {
                let text = String::from_utf8_lossy(chunk.line(l)).into_owned();
                out.push((l.line_no, text, l.too_long));
            }
            if eof {
                return out;
            }
        }
    }

    fn texts(framed: &[(u64, String, Option<usize>)]) -> Vec<(u64, &str)> {
        framed.iter().map(|(n, t, _)| (*n, t.as_str())).collect()
    }

    #[test]
    fn ndjson_is_one_payload_per_line() {
        let f = frame("{\"a\":1}\n\n{\"b\":\n[1]\n", 1 << 10);
        // The second line is broken, and stays a payload of its own, as does the third.
        assert_eq!(texts(&f), vec![(1, "{\"a\":1}"), (3, "{\"b\":"), (4, "1")]);
    }

    #[test]
    fn pretty_printed_documents_are_one_payload_each() {
        let data = "\n{\n  \"a\": \"x } ] \\\" {\",\n  \"b\": [\n    {\"c\": 1}\n  ]\n}\n{\n  \"d\": {}\n}\n";
        let f = frame(data, 1 << 10);
        assert_eq!(
            texts(&f),
            vec![
                (
                    2,
                    "{\n  \"a\": \"x } ] \\\" {\",\n  \"b\": [\n    {\"c\": 1}\n  ]\n}"
                ),
                (8, "{\n  \"d\": {}\n}"),
            ]
        );
        for (_, t, _) in &f {
            serde_json::from_str::<serde_json::Value>(t).unwrap();
        }
    }

    #[test]
    fn a_broken_document_costs_only_itself() {
        // The first document lost its closing brace; the next starts in column 0.
        let data = "{\n  \"a\": {\n    \"b\": 1\n{\n  \"c\": 2\n}\n{\n  \"d\": 3\n";
        let f = frame(data, 1 << 10);
        assert_eq!(
            texts(&f),
            vec![
                (1, "{\n  \"a\": {\n    \"b\": 1"),
                (4, "{\n  \"c\": 2\n}"),
                (7, "{\n  \"d\": 3"),
            ]
        );
    }

    #[test]
    fn an_array_is_a_list_of_payloads() {
        let pretty = "[\n  {\"a\": 1},\n  {\n    \"b\": 2\n  }\n]\n";
        assert_eq!(
            texts(&frame(pretty, 1 << 10)),
            vec![(2, "{\"a\": 1}"), (3, "{\n    \"b\": 2\n  }")]
        );
        let lines = "[{\"a\":1},{\"b\":2}]\n[]\n[{\"c\":\n";
        assert_eq!(
            texts(&frame(lines, 1 << 10)),
            // The empty array holds no payload; the broken one is a payload to dead-letter.
            vec![(1, "{\"a\":1}"), (1, "{\"b\":2}"), (3, "[{\"c\":")]
        );
    }

    #[test]
    fn an_oversize_document_keeps_a_prefix_and_the_next_one_still_frames() {
        let x = "x".repeat(30);
        let doc = format!("{{\n  \"a\": \"{x}\",\n  \"b\": \"{x}\",\n  \"c\": \"{x}\"\n}}");
        let f = frame(&format!("{doc}\n{{\n  \"d\": 1\n}}\n"), 64);
        assert_eq!(f.len(), 2);
        assert_eq!(f[0].2, Some(doc.len()));
        assert!(doc.starts_with(&f[0].1) && f[0].1.len() < 64);
        assert_eq!(
            (f[1].0, f[1].1.as_str(), f[1].2),
            (6, "{\n  \"d\": 1\n}", None)
        );
    }

    fn json_object() -> impl proptest::strategy::Strategy<Value = serde_json::Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<i32>().prop_map(serde_json::Value::from),
            "[a-z{}\\[\\]\"\\\\ ,:]{0,8}".prop_map(serde_json::Value::from),
        ];
        let value = leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
                proptest::collection::btree_map("[a-z{\\[]{1,4}", inner, 0..4)
                    .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
            ]
        });
        proptest::collection::btree_map("[a-z]{1,4}", value, 0..4)
            .prop_map(|m| serde_json::Value::Object(m.into_iter().collect()))
    }

    proptest::proptest! {
        #[test]
        // Whether the stream starts compact (NDJSON) or pretty, pretty objects after it frame.
        fn pretty_printed_objects_frame_back_into_themselves(
            docs in proptest::collection::vec(json_object(), 1..6),
            pretty_first in proptest::bool::ANY,
        ) {
            let text: Vec<String> = docs
                .iter()
                .enumerate()
                .map(|(i, d)| if i == 0 && !pretty_first {
                    serde_json::to_string(d).unwrap()
                } else {
                    serde_json::to_string_pretty(d).unwrap()
                })
                .collect();
            let framed = frame(&(text.join("\n") + "\n"), 1 << 20);
            let got: Vec<serde_json::Value> = framed
                .iter()
                .map(|(_, t, _)| serde_json::from_str(t).unwrap())
                .collect();
            proptest::prop_assert_eq!(got, docs);
        }

        #[test]
        fn any_bytes_frame_without_loss(data in "[{}\"\\\\a \n]{0,200}", limit in 8usize..64) {
            let framed = frame(&data, limit);
            let mut last = 0;
            let mut kept = String::new();
            for (line, text, cut) in &framed {
                proptest::prop_assert!(*line >= last, "line numbers go forward");
                last = *line;
                proptest::prop_assert!(!text.trim().is_empty());
                if cut.is_none() {
                    kept.push_str(text);
                }
            }
            if framed.iter().all(|(_, _, cut)| cut.is_none()) {
                let squash = |s: &str| s.split_ascii_whitespace().collect::<String>();
                proptest::prop_assert_eq!(squash(&kept), squash(&data), "every byte is in a payload");
            }
        }
    }
}
