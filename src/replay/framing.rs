//! How an input's bytes become payloads: NDJSON lines, pretty-printed JSON documents, and
//! JSON arrays of payloads.
//!
//! NDJSON (one payload per line) is what Kafka dumps, `jq -c` and our own outputs are, and
//! stays the fast path: a line is a payload, found with `memchr`. But payloads kept by hand
//! are pretty-printed, one per file as a webhook body was saved or as `jq .` prints a
//! stream, and exports are often one JSON array (`jq -s`, `json.dump(list)`, an API's
//! list), sometimes a single line of gigabytes. Read line by line, the first would be
//! dead-lettered line by line and the second as one oversize line. So an input that starts
//! with `[`, or whose first line opens a value it does not close (`{`, `{"receiver": "x",`),
//! or that reaches a line holding only `{` or `[`, is from there on framed byte by byte by
//! its brackets (outside strings): each top-level object is a payload, and each element of
//! a top-level array is one, with the payload limit applying to each element, never to the
//! array. So is an NDJSON input from a line that is an array.
//!
//! A value that never closes is cut where the next one evidently starts, at a `{` or `[` in
//! column 0 (pretty printers indent everything nested), or at the end of the input; what
//! was cut is dead-lettered, so a broken document costs itself and nothing after it. Each
//! payload is numbered by the line it starts on. Owns framing and the payload limit;
//! decodes nothing. `eval` and `tune` read their inputs through it too, so they see the
//! payloads replay saw.

use std::io::{self, BufRead};

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

/// Whether a first line opens a JSON value that continues on the next lines: it starts
/// with a bracket, ends with an opening bracket or a comma, and leaves a bracket open.
fn opens_document(line: &[u8]) -> bool {
    let t = line.trim_ascii();
    let (Some(first), Some(last)) = (t.first(), t.last()) else {
        return false;
    };
    if !matches!(first, b'{' | b'[') || !matches!(last, b'{' | b'[' | b',') {
        return false;
    }
    let mut s = Scan::default();
    let mut sink = Chunk::default();
    t.iter().for_each(|&b| {
        s.step(b, &mut sink, usize::MAX);
    });
    s.cur.is_some() || s.in_array
}

#[derive(Clone, Copy, PartialEq)]
enum Framing {
    /// Nothing but blank lines read yet.
    Undecided,
    /// One payload per line.
    Lines,
    /// JSON values framed by their brackets, byte by byte.
    Values,
}

/// The payload being read in [`Framing::Values`].
struct Cur {
    start: usize,
    line_no: u64,
    /// Bytes so far (only those up to the limit are kept).
    size: usize,
    /// Bracket depth it started at: 0 for a top-level value, 1 for an array's element.
    base: u32,
}

/// Byte-level state of [`Framing::Values`]: JSON brackets outside strings, and the payload
/// being read.
#[derive(Default)]
struct Scan {
    depth: u32,
    in_string: bool,
    escaped: bool,
    /// The top-level value is an array: its elements are the payloads.
    in_array: bool,
    cur: Option<Cur>,
    /// Newlines seen: the next byte is on line `newlines + 1`.
    newlines: u64,
    /// The next byte starts a line.
    line_start: bool,
}

impl Scan {
    /// Takes one byte; returns whether a payload was completed (pushed to `chunk`).
    fn step(&mut self, b: u8, chunk: &mut Chunk, limit: usize) -> bool {
        let col0 = std::mem::replace(&mut self.line_start, b == b'\n');
        let line = self.newlines + 1;
        if b == b'\n' {
            self.newlines += 1;
        }
        let mut done = false;
        if let Some(cur) = &self.cur {
            // Pretty printers indent everything nested: a bracket in column 0 inside an
            // unfinished value is the next value starting, and the broken one is cut here.
            if col0 && matches!(b, b'{' | b'[') && self.depth > cur.base {
                self.depth = cur.base;
                self.in_string = false;
                self.finish(chunk, limit);
                done = true;
            }
        }
        if self.cur.is_none() {
            if b.is_ascii_whitespace() {
                return done;
            }
            if self.in_array && self.depth == 1 {
                match b {
                    b',' => return done,
                    b']' => {
                        self.in_array = false;
                        self.depth = 0;
                        return done;
                    }
                    _ => {}
                }
            } else if self.depth == 0 && b == b'[' {
                self.in_array = true;
                self.depth = 1;
                return done;
            }
            self.cur = Some(Cur {
                start: chunk.bytes.len(),
                line_no: line,
                size: 0,
                base: self.depth,
            });
        }
        let Some(cur) = self.cur.as_mut() else {
            return done;
        };
        let base = cur.base;
        let mut end_before = false;
        let mut end_after = false;
        if self.in_string {
            match b {
                _ if self.escaped => self.escaped = false,
                b'\\' => self.escaped = true,
                b'"' => self.in_string = false,
                // JSON strings hold no raw newline: a broken payload, whose brackets must not
                // turn into text.
                b'\n' => self.in_string = false,
                _ => {}
            }
        } else {
            match b {
                b'"' => self.in_string = true,
                b'{' | b'[' => self.depth += 1,
                b'}' | b']' if self.depth > base => {
                    self.depth -= 1;
                    end_after = self.depth == base;
                }
                // A scalar (or junk) ends where its array goes on or ends, or at its line's end.
                b',' | b']' | b'}' if self.in_array && self.depth == 1 => end_before = true,
                b'\n' if self.depth == base => end_before = true,
                _ => {}
            }
        }
        if !end_before {
            cur.size += 1;
            if cur.size <= limit {
                chunk.bytes.push(b);
            }
        }
        if end_before || end_after {
            self.finish(chunk, limit);
            done = true;
            if end_before && self.in_array && b == b']' {
                self.in_array = false;
                self.depth = 0;
            }
        }
        done
    }

    /// Takes the run of bytes at the start of `buf` that cannot end, cut or change the
    /// nesting of the payload being read (text inside a string, indentation, numbers), in
    /// one copy; returns its length (0: let [`Self::step`] take the next byte).
    fn run(&mut self, buf: &[u8], chunk: &mut Chunk, limit: usize) -> usize {
        let Some(cur) = self.cur.as_mut() else {
            return 0;
        };
        if self.escaped {
            return 0;
        }
        let n = if self.in_string {
            memchr::memchr3(b'"', b'\\', b'\n', buf).unwrap_or(buf.len())
        } else {
            buf.iter()
                .position(|&b| matches!(b, b'"' | b'{' | b'}' | b'[' | b']' | b',' | b'\n'))
                .unwrap_or(buf.len())
        };
        if n > 0 {
            let room = limit.saturating_sub(cur.size).min(n);
            chunk.bytes.extend_from_slice(&buf[..room]);
            cur.size += n;
            self.line_start = false;
        }
        n
    }

    /// Ends the payload being read (if any) and pushes it.
    fn finish(&mut self, chunk: &mut Chunk, limit: usize) {
        let Some(cur) = self.cur.take() else {
            return;
        };
        let mut end = chunk.bytes.len();
        while end > cur.start && chunk.bytes[end - 1].is_ascii_whitespace() {
            end -= 1;
        }
        chunk.bytes.truncate(end);
        let too_long = (cur.size > limit).then_some(cur.size);
        if too_long.is_some() {
            chunk
                .bytes
                .truncate(cur.start + OVERSIZE_PREFIX.min(end - cur.start));
        }
        if chunk.bytes.len() > cur.start {
            chunk.lines.push(LineRef {
                start: cur.start,
                end: chunk.bytes.len(),
                line_no: cur.line_no,
                too_long,
            });
        }
        self.escaped = false;
    }
}

/// Splits one input into payloads, chunk by chunk.
pub(crate) struct Framer {
    framing: Framing,
    max_payload_bytes: usize,
    /// Lines read so far.
    pub(crate) line_no: u64,
    scan: Scan,
}

impl Framer {
    pub(crate) fn new(max_payload_bytes: usize) -> Framer {
        Framer {
            framing: Framing::Undecided,
            max_payload_bytes,
            line_no: 0,
            scan: Scan::default(),
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
        if self.framing == Framing::Undecided && self.starts_with_array(reader)? {
            self.switch_to_values(chunk, chunk.bytes.len());
        }
        while chunk.lines.len() < BATCH_LINES {
            if self.framing == Framing::Values {
                return self.fill_values(reader, chunk);
            }
            let start = chunk.bytes.len();
            let r = read_line_bounded(reader, &mut chunk.bytes, self.max_payload_bytes)?;
            self.line_no += 1;
            let too_long = match r {
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
            let opens = too_long.is_none()
                && match self.framing {
                    Framing::Undecided => opens_document(line),
                    // No payload is a lone bracket: that is a pretty-printed one starting.
                    // An array is a list of payloads, split by the same scanner.
                    _ => {
                        matches!(line.trim_ascii(), b"{" | b"[")
                            || line.trim_ascii_start().first() == Some(&b'[')
                    }
                };
            self.framing = Framing::Lines;
            if opens {
                self.switch_to_values(chunk, start);
                continue;
            }
            chunk.lines.push(LineRef {
                start,
                end: chunk.bytes.len(),
                line_no: self.line_no,
                too_long,
            });
        }
        Ok(false)
    }

    /// Whether the input's first non-blank byte opens an array (skipping the blank lines
    /// before it). An array of payloads may be one line of gigabytes: it is framed byte by
    /// byte, never read as a line.
    fn starts_with_array<R: BufRead + ?Sized>(&mut self, reader: &mut R) -> io::Result<bool> {
        // Windows editors save JSON with a UTF-8 byte order mark, which no JSON parser
        // takes: it says nothing but the encoding, which is UTF-8 anyway.
        if self.line_no == 0 && reader.fill_buf()?.starts_with(b"\xef\xbb\xbf") {
            reader.consume(3);
        }
        loop {
            let buf = reader.fill_buf()?;
            let Some(i) = buf.iter().position(|b| !b.is_ascii_whitespace()) else {
                if buf.is_empty() {
                    return Ok(false);
                }
                let (n, len) = (memchr::memchr_iter(b'\n', buf).count(), buf.len());
                self.line_no += n as u64;
                reader.consume(len);
                continue;
            };
            // Whitespace before it on its own line stays, so the line is read whole.
            let skip = buf[..i]
                .iter()
                .rposition(|&b| b == b'\n')
                .map_or(0, |p| p + 1);
            let n = memchr::memchr_iter(b'\n', &buf[..skip]).count();
            let first = buf[i];
            self.line_no += n as u64;
            reader.consume(skip);
            return Ok(first == b'[');
        }
    }

    /// Switches to [`Framing::Values`], re-reading the line at `chunk.bytes[start..]` (the
    /// last one read, if any) as its first bytes.
    fn switch_to_values(&mut self, chunk: &mut Chunk, start: usize) {
        let line = chunk.bytes.split_off(start);
        let had_line = !line.is_empty();
        if had_line {
            self.line_no -= 1;
        }
        self.framing = Framing::Values;
        self.scan.newlines = self.line_no;
        self.scan.line_start = true;
        for &b in line.iter().chain(had_line.then_some(&b'\n')) {
            self.scan.step(b, chunk, self.max_payload_bytes);
        }
        self.line_no = self.scan.newlines;
    }

    /// [`Framing::Values`]: bytes through the scanner until the chunk is full or the input
    /// ends.
    fn fill_values<R: BufRead + ?Sized>(
        &mut self,
        reader: &mut R,
        chunk: &mut Chunk,
    ) -> io::Result<bool> {
        let limit = self.max_payload_bytes;
        loop {
            let buf = reader.fill_buf()?;
            if buf.is_empty() {
                self.scan.finish(chunk, limit);
                self.line_no = self.scan.newlines;
                return Ok(true);
            }
            let mut used = 0;
            while used < buf.len() {
                let n = self.scan.run(&buf[used..], chunk, limit);
                if n > 0 {
                    used += n;
                    continue;
                }
                used += 1;
                if self.scan.step(buf[used - 1], chunk, limit) && chunk.lines.len() >= BATCH_LINES {
                    break;
                }
            }
            reader.consume(used);
            self.line_no = self.scan.newlines;
            if chunk.lines.len() >= BATCH_LINES {
                return Ok(false);
            }
        }
    }
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
            // The empty array holds no payload; the broken one's element is a payload to
            // dead-letter.
            vec![(1, "{\"a\":1}"), (1, "{\"b\":2}"), (3, "{\"c\":")]
        );
    }

    #[test]
    fn an_oversize_document_keeps_a_prefix_and_the_next_one_still_frames() {
        let x = "x".repeat(30);
        let doc = format!("{{\n  \"a\": \"{x}\",\n  \"b\": \"{x}\",\n  \"c\": \"{x}\"\n}}");
        let f = frame(&format!("{doc}\n{{\n  \"d\": 1\n}}\n"), 64);
        assert_eq!(f.len(), 2);
        assert_eq!(f[0].2, Some(doc.len()));
        assert!(doc.starts_with(&f[0].1) && f[0].1.len() <= 64);
        assert_eq!(
            (f[1].0, f[1].1.as_str(), f[1].2),
            (6, "{\n  \"d\": 1\n}", None)
        );
    }

    #[test]
    fn a_byte_order_mark_and_windows_line_ends_are_not_part_of_a_payload() {
        let f = frame("\u{feff}{\r\n  \"a\": 1\r\n}\r\n{\"b\":2}\r\n", 1 << 10);
        let parsed: Vec<(u64, serde_json::Value)> = f
            .iter()
            .map(|(n, t, _)| (*n, serde_json::from_str(t).unwrap()))
            .collect();
        assert_eq!(
            parsed,
            vec![
                (1, serde_json::json!({"a": 1})),
                (4, serde_json::json!({"b": 2}))
            ]
        );
        let f = frame("\u{feff}{\"a\":1}\r\n", 1 << 10);
        assert_eq!(texts(&f), vec![(1, "{\"a\":1}")]);
    }

    #[test]
    fn a_one_line_array_larger_than_the_limit_frames_its_elements() {
        // json.dump(list) writes a week as one line; only each payload has a limit.
        let items: Vec<String> = (0..100).map(|i| format!("{{\"n\":{i}}}")).collect();
        let f = frame(&format!("  [{}]", items.join(",")), 64);
        assert_eq!(f.len(), 100);
        assert!(f.iter().all(|(line, _, cut)| *line == 1 && cut.is_none()));
        assert_eq!(f[99].1, "{\"n\":99}");
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
        // Objects frame back into themselves however they are laid out: a stream starting
        // compact (NDJSON) or pretty, or one array, pretty, on one line, or one per line.
        fn objects_frame_back_into_themselves(
            docs in proptest::collection::vec(json_object(), 1..6),
            layout in 0..5u8,
        ) {
            let compact = |d: &serde_json::Value| serde_json::to_string(d).unwrap();
            let pretty = |d: &serde_json::Value| serde_json::to_string_pretty(d).unwrap();
            let all = serde_json::Value::from(docs.clone());
            let text = match layout {
                0 | 1 => docs
                    .iter()
                    .enumerate()
                    .map(|(i, d)| if i == 0 && layout == 0 { compact(d) } else { pretty(d) })
                    .collect::<Vec<_>>()
                    .join("\n"),
                2 => pretty(&all),
                3 => compact(&all),
                _ => format!("[\n{}\n]", docs.iter().map(compact).collect::<Vec<_>>().join(",\n")),
            };
            let framed = frame(&(text + "\n"), 1 << 20);
            let got: Vec<serde_json::Value> = framed
                .iter()
                .map(|(_, t, _)| serde_json::from_str(t).unwrap())
                .collect();
            proptest::prop_assert_eq!(got, docs);
        }

        #[test]
        fn any_bytes_with_arrays_frame_in_order(data in "[\\[\\]{},\"\\\\a1 \n]{0,200}", limit in 8usize..64) {
            let framed = frame(&data, limit);
            let mut last = 0;
            for (line, text, cut) in &framed {
                proptest::prop_assert!(*line >= last, "line numbers go forward");
                last = *line;
                proptest::prop_assert!(!text.trim().is_empty());
                proptest::prop_assert!(cut.is_some() || text.len() <= limit);
            }
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
