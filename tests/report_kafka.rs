//! `noisegate report --clusters kafka:TOPIC` reads the clusters topic to its end and gives
//! the same report as the file it was produced from.
//!
//! Broker: `NOISEGATE_TEST_KAFKA=host:port` (CI: the tansu `.ci/run` starts), else a `tansu`
//! from the PATH started here; with neither the test fails, like the live tests. Records are
//! produced by PyPI `confluent-kafka` (`tests/kafka/kafka_tool.py`) into three partitions in
//! multi-message batches.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

struct Broker {
    addr: String,
    child: Option<Child>,
}

impl Drop for Broker {
    fn drop(&mut self) {
        if let Some(c) = &mut self.child {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn broker() -> Broker {
    if let Ok(addr) = std::env::var("NOISEGATE_TEST_KAFKA") {
        return Broker { addr, child: None };
    }
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let url = format!("tcp://127.0.0.1:{port}");
    let child = Command::new("tansu")
        .args([
            "broker",
            "--listener-url",
            &url,
            "--advertised-listener-url",
            &url,
        ])
        .args(["--storage-engine", "memory://tansu/"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect(
            "no Kafka broker: set NOISEGATE_TEST_KAFKA=host:port or put `tansu` on the PATH \
             (`.ci/run` installs and starts one)",
        );
    let addr = format!("127.0.0.1:{port}");
    let t = Instant::now();
    while std::net::TcpStream::connect(&addr).is_err() {
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "tansu did not listen on {addr}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    Broker {
        addr,
        child: Some(child),
    }
}

fn tool(args: &[&str]) {
    let tool = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/kafka/kafka_tool.py");
    let out = Command::new("python3")
        .arg(tool)
        .args(args)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "kafka_tool {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn report(config: &Path, clusters: &str) -> serde_json::Value {
    let out = Command::new(env!("CARGO_BIN_EXE_noisegate"))
        .args([
            "report",
            "--week",
            "2026-W43",
            "--format",
            "json",
            "--clusters",
            clusters,
        ])
        .arg("--config")
        .arg(config)
        .output()
        .expect("run noisegate report");
    assert!(
        out.status.success(),
        "report failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
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
