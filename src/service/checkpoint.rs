//! Checkpoints: engine state plus the input offsets it covers, in one file, written
//! atomically (temp file, fsync, rename, fsync of the directory) and verified by a CRC-32 on
//! load. Owns the file format and nothing else: when to checkpoint is the service's call.
//!
//! Layout: `NGCKPT01` magic, CRC-32 of the body (u32 LE), body length (u64 LE), body. The body
//! is one JSON line of [`Meta`] (offsets, when written) followed by the engine snapshot.
//! A checkpoint either loads whole and verified or is refused with the reason: a half-written
//! or bit-flipped file must never be mistaken for an empty state.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

const MAGIC: &[u8; 8] = b"NGCKPT01";
const FILE: &str = "checkpoint";
const TMP: &str = "checkpoint.tmp";

/// Next offset to read, per input topic and partition.
pub type Offsets = BTreeMap<(String, i32), i64>;

/// The checkpoint's header line.
#[derive(Debug, Serialize, Deserialize)]
struct Meta {
    /// `[topic, partition, next offset]`.
    offsets: Vec<(String, i32, i64)>,
    /// Wall-clock time of writing (ms since the epoch): how long the service was down, for
    /// the live clock on restart, and for people reading the file.
    written_at_ms: i64,
}

/// A loaded checkpoint.
#[derive(Debug)]
pub struct Checkpoint {
    pub offsets: Offsets,
    pub engine: Vec<u8>,
    /// Wall-clock time it was written, ms since the epoch.
    pub written_at_ms: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    #[error("checkpoint {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("checkpoint {path} is corrupt: {problem}")]
    Corrupt { path: PathBuf, problem: String },
}

/// Reads the checkpoint in `dir`; `Ok(None)` when there is none (first start).
pub fn load(dir: &Path) -> Result<Option<Checkpoint>, CheckpointError> {
    let path = dir.join(FILE);
    let bytes = match fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(CheckpointError::Io { path, source }),
    };
    decode(&bytes)
        .map(Some)
        .map_err(|problem| CheckpointError::Corrupt { path, problem })
}

fn decode(bytes: &[u8]) -> Result<Checkpoint, String> {
    if bytes.len() < 20 || &bytes[..8] != MAGIC {
        return Err("not a noisegate checkpoint (bad magic or too short)".into());
    }
    let crc = u32::from_le_bytes(bytes[8..12].try_into().map_err(|_| "short header")?);
    let len = u64::from_le_bytes(bytes[12..20].try_into().map_err(|_| "short header")?);
    let body = &bytes[20..];
    if body.len() as u64 != len {
        return Err(format!(
            "body is {} bytes, header says {len} (truncated write?)",
            body.len()
        ));
    }
    let actual = crc32fast::hash(body);
    if actual != crc {
        return Err(format!(
            "checksum mismatch: stored {crc:08x}, computed {actual:08x}"
        ));
    }
    let nl = body
        .iter()
        .position(|&b| b == b'\n')
        .ok_or("no header line")?;
    let meta: Meta =
        serde_json::from_slice(&body[..nl]).map_err(|e| format!("bad header line: {e}"))?;
    Ok(Checkpoint {
        offsets: meta
            .offsets
            .into_iter()
            .map(|(t, p, o)| ((t, p), o))
            .collect(),
        engine: body[nl + 1..].to_vec(),
        written_at_ms: meta.written_at_ms,
    })
}

/// Atomically replaces the checkpoint in `dir` (creating `dir` if needed).
pub fn store(dir: &Path, offsets: &Offsets, engine: &[u8]) -> Result<(), CheckpointError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| CheckpointError::Io { path, source }
    };
    fs::create_dir_all(dir).map_err(io(dir))?;
    let meta = Meta {
        offsets: offsets
            .iter()
            .map(|((t, p), o)| (t.clone(), *p, *o))
            .collect(),
        written_at_ms: chrono::Utc::now().timestamp_millis(),
    };
    let mut body = serde_json::to_vec(&meta).map_err(|e| CheckpointError::Corrupt {
        path: dir.join(FILE),
        problem: format!("cannot encode header: {e}"),
    })?;
    body.push(b'\n');
    body.extend_from_slice(engine);
    let tmp = dir.join(TMP);
    let mut f = File::create(&tmp).map_err(io(&tmp))?;
    f.write_all(MAGIC).map_err(io(&tmp))?;
    f.write_all(&crc32fast::hash(&body).to_le_bytes())
        .map_err(io(&tmp))?;
    f.write_all(&(body.len() as u64).to_le_bytes())
        .map_err(io(&tmp))?;
    f.write_all(&body).map_err(io(&tmp))?;
    f.sync_all().map_err(io(&tmp))?;
    drop(f);
    let dst = dir.join(FILE);
    fs::rename(&tmp, &dst).map_err(io(&dst))?;
    // The rename is durable only once the directory entry is.
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io(dir))?;
    Ok(())
}

/// Moves an unusable checkpoint aside (`--reset-state`), so starting fresh never destroys
/// the evidence. Returns where it went.
pub fn set_aside(dir: &Path) -> Result<Option<PathBuf>, CheckpointError> {
    let src = dir.join(FILE);
    if !src.exists() {
        return Ok(None);
    }
    let dst = dir.join(format!(
        "checkpoint.reset-{}",
        chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ")
    ));
    fs::rename(&src, &dst).map_err(|source| CheckpointError::Io {
        path: src.clone(),
        source,
    })?;
    Ok(Some(dst))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offsets() -> Offsets {
        [
            (("alerts".to_string(), 0), 42),
            (("alerts".to_string(), 3), 7),
        ]
        .into_iter()
        .collect()
    }

    #[test]
    fn round_trips() {
        let d = tempfile::tempdir().unwrap();
        assert!(load(d.path()).unwrap().is_none());
        store(d.path(), &offsets(), b"{\"engine\":1}").unwrap();
        let c = load(d.path()).unwrap().unwrap();
        assert_eq!(c.offsets, offsets());
        assert_eq!(c.engine, b"{\"engine\":1}");
        assert!(!d.path().join(TMP).exists());
    }

    #[test]
    fn every_flipped_bit_and_truncation_is_refused() {
        let d = tempfile::tempdir().unwrap();
        store(d.path(), &offsets(), b"{\"state\":[1,2,3]}").unwrap();
        let good = fs::read(d.path().join(FILE)).unwrap();
        for i in 0..good.len() {
            for bit in 0..8 {
                let mut b = good.clone();
                b[i] ^= 1 << bit;
                assert!(
                    decode(&b).is_err(),
                    "flip of bit {bit} in byte {i} accepted"
                );
            }
        }
        for n in 0..good.len() {
            assert!(decode(&good[..n]).is_err(), "truncation to {n} accepted");
        }
        fs::write(d.path().join(FILE), &good[..good.len() - 3]).unwrap();
        let e = load(d.path()).unwrap_err().to_string();
        assert!(e.contains("corrupt") && e.contains("truncated"), "{e}");
    }

    #[test]
    fn set_aside_keeps_the_old_file() {
        let d = tempfile::tempdir().unwrap();
        assert!(set_aside(d.path()).unwrap().is_none());
        fs::write(d.path().join(FILE), b"garbage").unwrap();
        let moved = set_aside(d.path()).unwrap().unwrap();
        assert_eq!(fs::read(moved).unwrap(), b"garbage");
        assert!(load(d.path()).unwrap().is_none());
    }
}
