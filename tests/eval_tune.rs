//! `noisegate tune` end to end on cluster-record files.

use std::path::{Path, PathBuf};

use noisegate::config::Config;
use noisegate::event::EventTime;
use noisegate::tune;

const T0: i64 = 1_704_067_200_000;

fn ts(ms: i64) -> String {
    format!("\"{}\"", EventTime(T0 + ms).to_rfc3339())
}

/// A cluster record; `acked`/`resolved` are offsets in ms, `by` is `resolved_by`.
fn record(
    id: &str,
    feats: &[(&str, f64)],
    acked: Option<i64>,
    resolved: Option<i64>,
    by: Option<&str>,
) -> String {
    let reasons: Vec<String> = feats
        .iter()
        .map(|(f, v)| format!(r#"{{"feature":"{f}","value":{v},"contribution":0.0}}"#))
        .collect();
    let opt = |v: Option<i64>| v.map_or("null".to_string(), ts);
    format!(
        r#"{{"cluster_id":"{id}","opened_at":{},"closed_at":null,"decision":"ticket","score":0.5,"reasons":[{}],"alerts":[],"raw_events":1,"services":[],"team":null,"severity":"warning","paged_at":null,"acked_at":{},"resolved_at":{},"resolved_by":{}}}"#,
        ts(0),
        reasons.join(","),
        opt(acked),
        opt(resolved),
        by.map_or("null".to_string(), |b| format!("\"{b}\"")),
    )
}

fn write(dir: &Path, name: &str, lines: &[String]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, lines.join("\n") + "\n").unwrap();
    p
}

/// A small deterministic generator (the test needs no RNG crate).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[test]
fn severity_only_outcomes_give_a_severity_weight() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Lcg(42);
    let names = [
        "severity",
        "flapping",
        "transient",
        "duplicate_rate",
        "blast_radius",
        "after_hours",
        "actionable_rate",
    ];
    let mut lines = Vec::new();
    for i in 0..6000 {
        let feats: Vec<(&str, f64)> = names.iter().map(|&n| (n, rng.next())).collect();
        let p = 1.0 / (1.0 + (-(-3.0 + 6.0 * feats[0].1)).exp());
        let y = rng.next() < p;
        let (acked, resolved, by) = if y {
            (Some(60_000), Some(600_000), Some("human"))
        } else {
            (None, Some(300_000), Some("auto"))
        };
        // Half the records omit features whose value is 0: missing means 0.
        let feats = if i % 2 == 0 { feats } else { vec![feats[0]] };
        lines.push(record(&format!("ng-{i}"), &feats, acked, resolved, by));
    }
    // Still open: skipped.
    for i in 0..25 {
        lines.push(record(
            &format!("open-{i}"),
            &[("severity", 1.0)],
            None,
            None,
            None,
        ));
    }
    let path = write(dir.path(), "clusters.ndjson", &lines);
    let r = tune::run(&[path], &Config::default()).unwrap();
    assert_eq!(r.skipped_no_outcome, 25);
    assert_eq!(r.records, 6025);
    assert_eq!(r.train_records + r.holdout_records, 6000);
    let hold = r.holdout_records as f64 / 6000.0;
    assert!((0.15..0.25).contains(&hold), "holdout share {hold}");
    let w = |name: &str| r.weights.iter().find(|(n, _)| n == name).unwrap().1;
    assert!(w("severity") > 4.0, "{:?}", r.weights);
    for n in &names[1..] {
        // Those features are 0 in half the records and uniform in the rest: no signal.
        assert!(w(n).abs() < 0.5, "{n}: {:?}", r.weights);
    }
    assert!(r.holdout.precision.unwrap() > 0.6, "{:?}", r.holdout);
    // The rendered snippet is valid config.
    let text = r.render();
    assert!(text.contains("[score.weights]"), "{text}");
    assert!(text.contains("# fitted, holdout:"), "{text}");
    let cfg = Config::parse(&text, "tuned.toml").unwrap();
    assert!((cfg.engine.score.weights.severity - w("severity")).abs() < 1e-3);
    assert!((cfg.engine.score.bias - r.bias).abs() < 1e-3);
}

#[test]
fn outcomes_duplicates_and_counts() {
    let dir = tempfile::tempdir().unwrap();
    let sev = |v: f64| vec![("severity", v)];
    let a = write(
        dir.path(),
        "a.ndjson",
        &[
            // acked before resolved: actionable
            record("c1", &sev(1.0), Some(10), Some(20), Some("human")),
            // acked, still open: actionable
            record("c2", &sev(0.9), Some(10), None, None),
            // resolved by itself: not actionable
            record("c3", &sev(0.1), None, Some(20), Some("auto")),
            // resolved by a human without an ack: not actionable
            record("c4", &sev(0.2), None, Some(20), Some("human")),
            // open, never acked: skipped
            record("c5", &sev(1.0), None, None, None),
        ],
    );
    let b = write(
        dir.path(),
        "b.ndjson",
        &[
            // c5 again, now resolved after an ack: the later record wins.
            record("c5", &sev(0.8), Some(5), Some(50), Some("auto")),
            // a feature the config does not know is fitted and shown commented out.
            record(
                "c6",
                &[("severity", 0.0), ("mystery", 1.0)],
                None,
                Some(1),
                Some("auto"),
            ),
        ],
    );
    let r = tune::run(&[a, b], &Config::default()).unwrap();
    assert_eq!(r.records, 6);
    assert_eq!(r.duplicates, 1);
    assert_eq!(r.skipped_no_outcome, 0);
    assert_eq!((r.actionable, r.not_actionable), (3, 3));
    assert_eq!(r.weights.len(), 8);
    assert_eq!(r.weights[7].0, "mystery");
    let text = r.render();
    assert!(text.contains("# mystery = "), "{text}");
    Config::parse(&text, "tuned.toml").unwrap();
}

#[test]
fn one_outcome_only_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "a.ndjson",
        &[record("c1", &[("severity", 1.0)], None, None, None)],
    );
    let e = tune::run(&[p], &Config::default()).unwrap_err().to_string();
    assert!(e.contains("both outcomes"), "{e}");
    let p = write(dir.path(), "b.ndjson", &["{not json".to_string()]);
    let e = tune::run(&[p], &Config::default()).unwrap_err().to_string();
    assert!(e.contains("b.ndjson:1"), "{e}");
}
