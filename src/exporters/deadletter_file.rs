//! Dead letters to a local NDJSON file (`[input] deadletter_file`): where refused payloads
//! are kept when there is no Kafka dead-letter topic (webhooks and OTLP straight in). Owns the
//! file, its line format and its size-based rotation; decides nothing about what is refused.
//!
//! One line per payload: `received_at` (RFC 3339, wall clock), `source` (topic or HTTP path),
//! `partition`/`offset` (Kafka only), `reason`, `error`, `raw` (text, invalid UTF-8
//! replaced), `raw_base64` (the exact bytes, when they are not UTF-8) and `raw_truncated_from`
//! (when only the first 900 KiB are kept). Past the size cap the file becomes `<file>.1`
//! (replacing the previous one), so at most twice the cap is on disk.

use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde::Serialize;

use crate::decode::DecodeError;

use super::DEADLETTER_KEEP as KEEP;

#[derive(Serialize)]
struct Line<'a> {
    received_at: String,
    source: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    partition: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    offset: Option<i64>,
    reason: &'static str,
    error: String,
    raw: std::borrow::Cow<'a, str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    raw_base64: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    raw_truncated_from: Option<usize>,
}

pub struct DeadLetterFile {
    path: PathBuf,
    file: File,
    size: u64,
    max: u64,
    buf: Vec<u8>,
}

fn open(path: &Path) -> std::io::Result<(File, u64)> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let file = OpenOptions::new().create(true).append(true).open(path)?;
    let size = file.metadata()?.len();
    Ok((file, size))
}

impl DeadLetterFile {
    pub fn open(path: &Path, max: u64) -> std::io::Result<DeadLetterFile> {
        let (file, size) = open(path)?;
        Ok(DeadLetterFile {
            path: path.to_path_buf(),
            file,
            size,
            max,
            buf: Vec::with_capacity(4096),
        })
    }

    /// Appends one dead letter (one `write` call, so a line is never interleaved or split
    /// by a crash between two writes of ours).
    pub fn write(
        &mut self,
        source: &str,
        kafka: Option<(i32, i64)>,
        err: &DecodeError,
        raw: &[u8],
    ) -> std::io::Result<()> {
        let kept = &raw[..raw.len().min(KEEP)];
        let text = String::from_utf8_lossy(kept);
        let exact = matches!(text, std::borrow::Cow::Borrowed(_));
        let line = Line {
            received_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            source,
            partition: kafka.map(|k| k.0),
            offset: kafka.map(|k| k.1),
            reason: err.reason(),
            error: err.to_string(),
            raw_base64: (!exact).then(|| base64::engine::general_purpose::STANDARD.encode(kept)),
            raw: text,
            raw_truncated_from: (raw.len() > KEEP).then_some(raw.len()),
        };
        self.buf.clear();
        serde_json::to_writer(&mut self.buf, &line).map_err(std::io::Error::other)?;
        self.buf.push(b'\n');
        if self.size > 0 && self.size + self.buf.len() as u64 > self.max {
            let mut old = self.path.clone().into_os_string();
            old.push(".1");
            std::fs::rename(&self.path, &old)?;
            let (file, size) = open(&self.path)?;
            self.file = file;
            self.size = size;
        }
        self.file.write_all(&self.buf)?;
        self.size += self.buf.len() as u64;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_keep_the_bytes_and_the_file_rotates_at_its_cap() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("dl/deadletter.ndjson");
        let mut f = DeadLetterFile::open(&p, 4096).expect("open");
        let err = DecodeError::UnknownFormat {
            detail: "not JSON".into(),
        };
        f.write("/api/v1/alertmanager", None, &err, b"{\"alerts\": 5")
            .expect("write");
        f.write("alerts.otlp", Some((3, 42)), &err, &[0xff, 0x00, 0x41])
            .expect("write");
        let text = std::fs::read_to_string(&p).expect("read");
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).expect("json line"))
            .collect();
        assert_eq!(lines[0]["raw"], "{\"alerts\": 5");
        assert_eq!(lines[0]["source"], "/api/v1/alertmanager");
        assert!(lines[0].get("raw_base64").is_none());
        assert_eq!(lines[1]["partition"], 3);
        assert_eq!(lines[1]["offset"], 42);
        assert_eq!(lines[1]["raw_base64"], "/wBB");
        for _ in 0..40 {
            f.write("x", None, &err, &[b'a'; 200]).expect("write");
        }
        let rotated = dir.path().join("dl/deadletter.ndjson.1");
        assert!(rotated.exists());
        assert!(std::fs::metadata(&p).expect("meta").len() <= 4096);
        assert!(std::fs::metadata(&rotated).expect("meta").len() <= 4096);
    }
}
