//! A checkpoint restored at any message boundary continues exactly as the engine it was
//! taken from: the basis of live mode's restart safety (same pages, same dedup keys, same
//! records after any crash). Runs the generated mixed scenario through the engine twice,
//! once straight and once restored from a snapshot every few messages.

use std::sync::Arc;

use noisegate::config::Config;
use noisegate::decode;
use noisegate::engine::{Engine, Output};
use noisegate::event::{AlertEvent, EventTime};

mod support;

fn run(cfg: &Config, lines: &[&str], restore_every: Option<usize>) -> Vec<String> {
    let ecfg = Arc::new(cfg.engine.clone());
    let mut e = Engine::new(ecfg.clone());
    let mut out = Vec::new();
    let mut evs: Vec<AlertEvent> = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        evs.clear();
        let now = e.now();
        // Unusable lines are dead letters in the service: nothing reaches the engine.
        let _ = decode::decode_at(
            None,
            l.as_bytes(),
            &cfg.decode,
            (now > EventTime::MIN).then_some(now),
            &mut evs,
        );
        e.handle_events(&evs);
        while let Some(o) = e.poll_output() {
            out.push(match o {
                Output::Page(p) => serde_json::to_string(&p).unwrap(),
                Output::Record(r) => serde_json::to_string(&r).unwrap(),
            });
        }
        if restore_every.is_some_and(|k| i % k == k - 1) {
            let snap = e.snapshot().unwrap();
            e = Engine::restore(ecfg.clone(), &snap).unwrap();
        }
    }
    e.handle_watermark(EventTime(i64::MAX));
    e.finish();
    while let Some(o) = e.poll_output() {
        out.push(match o {
            Output::Page(p) => serde_json::to_string(&p).unwrap(),
            Output::Record(r) => serde_json::to_string(&r).unwrap(),
        });
    }
    out
}

#[test]
fn restoring_a_snapshot_anywhere_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let input = support::gen_mixed(&dir.path().join("in.ndjson"), 3, 6);
    let text = std::fs::read_to_string(&input).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let cfg = Config::default();
    let straight = run(&cfg, &lines, None);
    assert!(straight.len() > 100);
    for k in [5, 97, 1000] {
        let restored = run(&cfg, &lines, Some(k));
        let first_diff = straight
            .iter()
            .zip(&restored)
            .position(|(a, b)| a != b)
            .map(|i| (i, &straight[i], &restored[i]));
        assert_eq!(
            straight.len(),
            restored.len(),
            "restore every {k}: output count differs; first difference {first_diff:?}"
        );
        assert!(first_diff.is_none(), "restore every {k}: {first_diff:?}");
    }
}
