//! No decoder panics on any input: arbitrary bytes and mutated real fixtures go through
//! every decoder and the sniffer. Errors must carry a reason; successes must be sane; and
//! `decode_auto`'s one-pass path agrees with sniff-then-decode.

use std::path::{Path, PathBuf};

use noisegate::decode::{self, Ctx, DecodeOptions, Format};
use noisegate::event::EventTime;
use proptest::prelude::*;

fn fixture_files() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(rd) = std::fs::read_dir(dir) else {
            return;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else if matches!(p.extension().and_then(|x| x.to_str()), Some("json" | "pb")) {
                out.push(p);
            }
        }
    }
    let mut v = Vec::new();
    walk(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures"),
        &mut v,
    );
    v.sort();
    assert!(v.len() > 20, "fixtures not found");
    v
}

fn corpus() -> &'static [Vec<u8>] {
    static C: std::sync::OnceLock<Vec<Vec<u8>>> = std::sync::OnceLock::new();
    C.get_or_init(|| {
        fixture_files()
            .iter()
            .map(|p| std::fs::read(p).unwrap())
            .collect()
    })
}

fn check_all(bytes: &[u8]) {
    let opts = DecodeOptions::default();
    for received_at in [None, Some(EventTime(1_700_000_000_000))] {
        let ctx = Ctx {
            opts: &opts,
            received_at,
        };
        for f in Format::ALL {
            let mut out = Vec::new();
            match decode::decode(f, bytes, &ctx, &mut out) {
                Ok(d) => {
                    assert_eq!(d.events + d.changes, out.len());
                    for ev in &out {
                        assert_eq!(ev.fingerprint.to_string().len(), 16);
                    }
                }
                Err(e) => {
                    assert!(out.is_empty(), "{f}: partial output left after error");
                    assert!(!e.reason().is_empty());
                    assert!(!e.to_string().is_empty());
                }
            }
        }
        // `decode_auto` (one pass for the high-volume formats) gives exactly what sniffing
        // then decoding gives, events and errors alike.
        let mut out = Vec::new();
        let auto = decode::decode_auto(bytes, &ctx, &mut out);
        let mut two_pass = Vec::new();
        let sniffed = decode::sniff(bytes)
            .and_then(|f| decode::decode(f, bytes, &ctx, &mut two_pass).map(|d| (f, d)));
        assert_eq!(auto, sniffed);
        assert_eq!(out, two_pass);
    }
    // A forwarder's batch splits into spans of the input, in order, or is left whole.
    for f in std::iter::once(None).chain(Format::ALL.map(Some)) {
        if let Some(parts) = decode::batch::payloads(f, bytes) {
            assert!(!parts.is_empty());
            let mut at = 0;
            for p in parts {
                let off = p.as_ptr() as usize - bytes.as_ptr() as usize;
                assert!(off >= at && off + p.len() <= bytes.len());
                at = off + p.len();
            }
        }
    }
}

#[derive(Debug, Clone)]
enum Mutation {
    Truncate(usize),
    Flip(usize, u8),
    Insert(usize, Vec<u8>),
    Delete(usize, usize),
    Splice(usize, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Flip(i, b)),
        (
            any::<usize>(),
            prop::sample::select(vec![
                b"\"".to_vec(),
                b"{".to_vec(),
                b"]".to_vec(),
                b"null".to_vec(),
                b"1e999".to_vec(),
                b"\\u0000".to_vec(),
                b"\xff".to_vec(),
                b"-1".to_vec(),
                b"\"0001-01-01T00:00:00Z\"".to_vec(),
                b"[[[[[[[[[[".to_vec(),
            ])
        )
            .prop_map(|(i, s)| Mutation::Insert(i, s)),
        (any::<usize>(), 1usize..64).prop_map(|(i, n)| Mutation::Delete(i, n)),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::Splice(a, b)),
    ]
}

fn apply(mut b: Vec<u8>, m: &Mutation, other: &[u8]) -> Vec<u8> {
    let n = b.len().max(1);
    match m {
        Mutation::Truncate(i) => b.truncate(i % n),
        Mutation::Flip(i, x) => {
            if !b.is_empty() {
                b[i % n] ^= x | 1;
            }
        }
        Mutation::Insert(i, s) => {
            let at = i % (b.len() + 1);
            b.splice(at..at, s.iter().copied());
        }
        Mutation::Delete(i, len) => {
            let at = i % (b.len() + 1);
            let end = (at + len).min(b.len());
            b.drain(at..end);
        }
        Mutation::Splice(i, j) => {
            let at = i % (b.len() + 1);
            let from = j % (other.len() + 1);
            b.truncate(at);
            b.extend_from_slice(&other[from..]);
        }
    }
    b
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        check_all(&bytes);
    }

    #[test]
    fn mutated_fixtures_never_panic(
        idx in any::<prop::sample::Index>(),
        other in any::<prop::sample::Index>(),
        muts in prop::collection::vec(mutation(), 1..4),
    ) {
        let c = corpus();
        let mut b = idx.get(c).clone();
        let o = other.get(c);
        for m in &muts {
            b = apply(b, m, o);
        }
        check_all(&b);
    }
}

#[test]
fn every_fixture_goes_through_every_decoder() {
    for b in corpus() {
        check_all(b);
    }
}
