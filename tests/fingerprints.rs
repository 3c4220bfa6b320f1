//! Our label-set fingerprint equals Alertmanager's for every Alertmanager payload in
//! `../shared/fixtures/` that carries one, and equals Prometheus' own test vectors.

use std::path::{Path, PathBuf};

use noisegate::decode::{self, Ctx, DecodeOptions, Format};
use noisegate::event::{EventTime, Labels};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures")
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            walk(&p, out);
        } else if p.extension().is_some_and(|x| x == "json") {
            out.push(p);
        }
    }
}

/// Fixtures whose upstream SOURCES.md documents that labels were edited after capture, so
/// the fingerprint in them is not the fingerprint of the labels shown. For these we check the
/// opposite: that noisegate does not trust the supplied value.
fn edited(path: &Path, alert_index: usize) -> bool {
    let s = path.to_string_lossy();
    (s.ends_with("zulip-webhook-fixtures/alertmanager/alert.json") && alert_index == 1)
        || s.ends_with("prometheus-msteams/card-grafana-inspired-payload.json")
}

#[test]
fn prometheus_vectors() {
    let text =
        std::fs::read_to_string(fixtures().join("prometheus-common/fingerprint_test_vectors.json"))
            .unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let vectors = v["vectors"].as_array().unwrap();
    assert!(!vectors.is_empty());
    for t in vectors {
        let labels = Labels::from_pairs(
            t["labels"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str().unwrap())),
        );
        assert_eq!(
            labels.fingerprint().to_string(),
            t["fingerprint_hex"].as_str().unwrap()
        );
        assert_eq!(
            labels.fingerprint().0,
            t["fingerprint_uint64"].as_u64().unwrap()
        );
    }
}

#[test]
fn equals_alertmanager_on_every_fixture() {
    let mut files = Vec::new();
    walk(&fixtures(), &mut files);
    files.sort();
    let opts = DecodeOptions::default();
    let ctx = Ctx {
        opts: &opts,
        received_at: Some(EventTime(0)),
    };
    let (mut checked, mut distrusted) = (0, 0);
    for f in &files {
        let bytes = std::fs::read(f).unwrap();
        if decode::sniff(&bytes) != Ok(Format::Alertmanager) {
            continue;
        }
        let mut out = Vec::new();
        decode::decode(Format::Alertmanager, &bytes, &ctx, &mut out)
            .unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        for (i, ev) in out.iter().enumerate() {
            let Some(theirs) = &ev.source_id else {
                continue;
            };
            assert_eq!(ev.fingerprint, ev.labels.fingerprint());
            if edited(f, i) {
                assert_ne!(
                    ev.fingerprint.to_string(),
                    theirs.as_str(),
                    "{} alert {i}",
                    f.display()
                );
                distrusted += 1;
            } else {
                assert_eq!(
                    ev.fingerprint.to_string(),
                    theirs.as_str(),
                    "{} alert {i}",
                    f.display()
                );
                checked += 1;
            }
        }
    }
    // alert.json (1), single_alert.json, single_alert_no_url.json: the genuine ones.
    assert!(checked >= 3, "checked only {checked}");
    assert_eq!(distrusted, 4, "the four documented edited alerts");
}

#[test]
fn grafana_keeps_its_own_id_and_uses_ours() {
    let bytes =
        std::fs::read(fixtures().join("zulip-webhook-fixtures/grafana/alert-9.json")).unwrap();
    let opts = DecodeOptions::default();
    let ctx = Ctx {
        opts: &opts,
        received_at: None,
    };
    let mut out = Vec::new();
    decode::decode_auto(&bytes, &ctx, &mut out).unwrap();
    assert_eq!(out[0].source_id.as_deref(), Some("d8a21484c9c25a60"));
    assert_eq!(out[0].fingerprint.to_string(), "7778b1dc6f14daf0");
}
