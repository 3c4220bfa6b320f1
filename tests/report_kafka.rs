//! `noisegate report --clusters kafka:TOPIC` reads the clusters topic to its end and gives
//! the same report as the file it was produced from.
//!
//! Broker: `NOISEGATE_TEST_KAFKA=host:port` (CI: the tansu `.ci/run` starts), else a `tansu`
//! from the PATH started here; with neither the test fails, like the live tests. Records are
//! produced by PyPI `confluent-kafka` (`tests/kafka/kafka_tool.py`) into three partitions in
//! multi-message batches.

mod support;
use support::*;

use std::path::Path;

fn report(config: &Path, clusters: &str) -> serde_json::Value {
    let out = noisegate_ok(|c| {
        c.args(["report", "--week", "2026-W43", "--format", "json"])
            .args(["--clusters", clusters])
            .arg("--config")
            .arg(config)
    });
    serde_json::from_slice(&out.stdout).expect("json")
}

#[test]
fn kafka_topic_reports_like_the_file() {
    let b = broker();
    let fx = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/report");
    let week = fx.join("week.ndjson");
    let topic = format!(
        "report-{}-{}.clusters",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_micros())
            .unwrap_or(0)
    );
    tool(&[
        "create",
        "--bootstrap",
        &b.addr,
        "--topic",
        &topic,
        "--partitions",
        "3",
    ]);
    tool(&[
        "produce",
        "--bootstrap",
        &b.addr,
        "--topic",
        &topic,
        "--file",
        week.to_str().expect("utf-8"),
        "--batch",
        "20",
    ]);
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = dir.path().join("k.toml");
    let mut text = std::fs::read_to_string(fx.join("oncall.toml")).expect("config");
    text.push_str(&format!("\n[kafka]\nbrokers = \"{}\"\n", b.addr));
    std::fs::write(&cfg, text).expect("write config");

    let from_kafka = report(&cfg, &format!("kafka:{topic}"));
    let from_file = report(&cfg, week.to_str().expect("utf-8"));
    assert_eq!(from_kafka["records_read"], 18);
    assert_eq!(from_kafka, from_file);
}
