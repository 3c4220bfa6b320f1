//! Helpers shared by the integration tests that run the `noisegate` binary: free ports, the
//! service process (start, log, SIGTERM, wait) and a raw HTTP/1.0 client with no library in
//! the way. Each test file includes it with `mod support;`.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_noisegate");
pub const TOOL: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/kafka/kafka_tool.py");

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn wait_port(addr: &str, within: Duration) {
    let t = Instant::now();
    while std::net::TcpStream::connect(addr).is_err() {
        assert!(t.elapsed() < within, "nothing listens on {addr}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A running `noisegate run` whose stderr is collected (and counted for checkpoints).
pub struct Service {
    pub child: Child,
    pub log: Arc<Mutex<String>>,
    pub checkpoints: Arc<AtomicUsize>,
}

impl Service {
    pub fn start(cfg: &Path, args: &[&str]) -> Service {
        let mut child = Command::new(BIN)
            .arg("run")
            .arg("--config")
            .arg(cfg)
            .args(args)
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let checkpoints = Arc::new(AtomicUsize::new(0));
        let err = child.stderr.take().unwrap();
        let (l, c) = (log.clone(), checkpoints.clone());
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                if line.contains("checkpoint written") {
                    c.fetch_add(1, Ordering::SeqCst);
                }
                let mut g = l.lock().unwrap();
                g.push_str(&line);
                g.push('\n');
            }
        });
        Service {
            child,
            log,
            checkpoints,
        }
    }

    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Waits for the process to exit; panics with its log after `within`.
    pub fn wait(&mut self, within: Duration) -> std::process::ExitStatus {
        let t = Instant::now();
        loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                std::thread::sleep(Duration::from_millis(100)); // let the log thread finish
                return st;
            }
            if t.elapsed() > within {
                let _ = self.child.kill();
                panic!(
                    "noisegate run did not exit within {within:?}:\n{}",
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGTERM, then a clean exit within 30 s.
    pub fn stop(&mut self) {
        let st = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(st.success());
        self.wait_ok(Duration::from_secs(30));
    }

    pub fn wait_ok(&mut self, within: Duration) {
        let st = self.wait(within);
        assert!(st.success(), "noisegate run failed ({st}):\n{}", self.log());
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn http_get(addr: &str, path: &str) -> (u16, String) {
    http(addr, "GET", path, None, "")
}

/// One HTTP/1.0 exchange on a raw socket (no client library in the way): status and body.
pub fn http(
    addr: &str,
    method: &str,
    path: &str,
    content_type: Option<&str>,
    body: &str,
) -> (u16, String) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    let ct = content_type.map_or(String::new(), |c| format!("Content-Type: {c}\r\n"));
    write!(
        s,
        "{method} {path} HTTP/1.0\r\nHost: {addr}\r\n{ct}Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut buf = String::new();
    s.read_to_string(&mut buf).unwrap();
    let status = buf
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = buf.split_once("\r\n\r\n").map_or("", |x| x.1).to_string();
    (status, body)
}

pub fn http_post(addr: &str, path: &str, content_type: &str, body: &str) -> (u16, String) {
    http(addr, "POST", path, Some(content_type), body)
}

/// POSTs an Alertmanager webhook body to noisegate's webhook receiver at `addr`.
pub fn post_am_webhook(addr: &str, body: &str) -> (u16, String) {
    http_post(addr, "/api/v1/alertmanager", "application/json", body)
}

/// POSTs a PagerDuty webhook body (v3, or legacy v2) to noisegate's webhook receiver at
/// `addr`, unsigned.
pub fn post_pd_webhook(addr: &str, body: &str) -> (u16, String) {
    http_post(addr, "/api/v1/pagerduty/webhook", "application/json", body)
}

/// A child process killed (and reaped) when dropped: peers a test starts must not outlive it.
pub struct KillOnDrop(pub Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Posts `alerts` (an `/api/v2/alerts` JSON list) to Alertmanager `times` times, 300 ms
/// apart, as Prometheus re-sends a firing alert.
pub fn post_to_alertmanager(am_addr: &str, alerts: &str, times: usize) {
    for _ in 0..times {
        let (code, body) = http_post(am_addr, "/api/v2/alerts", "application/json", alerts);
        assert_eq!(code, 200, "alertmanager refused: {body}");
        std::thread::sleep(Duration::from_millis(300));
    }
}

/// A real Alertmanager (Debian `prometheus-alertmanager`) whose only receiver is a webhook to
/// `http://{hook}/api/v1/alertmanager`, grouping by alertname with 1 s waits; returns it and
/// its API address once it listens.
pub fn start_alertmanager(dir: &Path, hook: &str) -> (KillOnDrop, String) {
    start_alertmanager_with(dir, hook, "")
}

/// [`start_alertmanager`] with `webhook_extra` (YAML lines at the webhook config's indent,
/// each ending in a newline) added to the webhook config; a `send_resolved` line there
/// replaces the default (`true`).
pub fn start_alertmanager_with(
    dir: &Path,
    hook: &str,
    webhook_extra: &str,
) -> (KillOnDrop, String) {
    start_alertmanager_repeating(dir, hook, "1h", webhook_extra)
}

/// [`start_alertmanager_with`] whose route sends a notification of firing alerts again every
/// `repeat_interval` (a duration in Alertmanager's syntax) even when nothing changed.
pub fn start_alertmanager_repeating(
    dir: &Path,
    hook: &str,
    repeat_interval: &str,
    webhook_extra: &str,
) -> (KillOnDrop, String) {
    let send_resolved = if webhook_extra.contains("send_resolved:") {
        ""
    } else {
        "        send_resolved: true\n"
    };
    start_alertmanager_receiving(
        dir,
        repeat_interval,
        &format!(
            "    webhook_configs:\n      - url: http://{hook}/api/v1/alertmanager\n\
             {send_resolved}{webhook_extra}"
        ),
    )
}

/// A real Alertmanager grouping by alertname with 1 s waits, repeating every
/// `repeat_interval`, whose one receiver `noisegate` is configured by `receiver` (YAML lines
/// at a receiver's indent: `    webhook_configs:` and the rest); returns it and its address.
pub fn start_alertmanager_receiving(
    dir: &Path,
    repeat_interval: &str,
    receiver: &str,
) -> (KillOnDrop, String) {
    let am_addr = format!("127.0.0.1:{}", free_port());
    let am_cfg = dir.join("alertmanager.yml");
    std::fs::write(
        &am_cfg,
        format!(
            "route:\n  receiver: noisegate\n  group_by: [alertname]\n  group_wait: 1s\n  \
             group_interval: 1s\n  repeat_interval: {repeat_interval}\nreceivers:\n  - name: noisegate\n\
             {receiver}"
        ),
    )
    .unwrap();
    let am = Command::new("prometheus-alertmanager")
        .arg(format!("--config.file={}", am_cfg.display()))
        .arg(format!("--storage.path={}", dir.join("am-data").display()))
        .arg(format!("--web.listen-address={am_addr}"))
        .arg("--cluster.listen-address=")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("prometheus-alertmanager (Debian package; .ci/run installs it)");
    let am = KillOnDrop(am);
    wait_port(&am_addr, Duration::from_secs(30));
    (am, am_addr)
}

/// A Kafka-protocol broker: the one `NOISEGATE_TEST_KAFKA` names (CI: the tansu `.ci/run`
/// starts), else a `tansu` from the PATH started for this test and killed with it. With
/// neither, the test fails (never skips).
pub struct Broker {
    pub addr: String,
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

pub fn broker() -> Broker {
    if let Ok(addr) = std::env::var("NOISEGATE_TEST_KAFKA") {
        return Broker { addr, child: None };
    }
    let port = free_port();
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
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect(
            "no Kafka broker: set NOISEGATE_TEST_KAFKA=host:port or put `tansu` on the PATH \
             (`.ci/run` installs and starts one)",
        );
    let addr = format!("127.0.0.1:{port}");
    wait_port(&addr, Duration::from_secs(20));
    Broker {
        addr,
        child: Some(child),
    }
}

/// Runs `tests/kafka/kafka_tool.py` (PyPI confluent-kafka: an external librdkafka client)
/// and returns its stdout; panics with its stderr when it fails.
pub fn tool(args: &[&str]) -> String {
    let out = Command::new("python3")
        .arg(TOOL)
        .args(args)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "kafka_tool {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs `noisegate` with the arguments `args` adds, which must succeed (the failure shows
/// its stderr); returns its output.
pub fn noisegate_ok(args: impl FnOnce(&mut Command) -> &mut Command) -> std::process::Output {
    let o = args(&mut Command::new(BIN)).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    o
}

/// Writes `noisegate gen --scenario mixed` for `hours` at `out` (its ground truth beside it,
/// `.truth`) and returns `out`.
pub fn gen_mixed(out: &Path, seed: u64, hours: u32) -> std::path::PathBuf {
    noisegate_ok(|c| {
        c.args(["gen", "--scenario", "mixed", "--seed", &seed.to_string()])
            .args(["--hours", &hours.to_string()])
            .arg("--out")
            .arg(out)
            .arg("--truth-out")
            .arg(out.with_extension("truth"))
    });
    out.to_path_buf()
}

/// The records of an NDJSON file.
pub fn ndjson(p: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(p)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Runs `noisegate replay --quiet --config CONFIG --out OUT INPUT`, which must succeed.
pub fn replay(config: &Path, input: &Path, out: &Path) -> std::process::Output {
    noisegate_ok(|c| {
        c.args(["replay", "--quiet", "--config"])
            .arg(config)
            .arg("--out")
            .arg(out)
            .arg(input)
    })
}

/// One Alertmanager webhook (v4) line notifying one firing alert with these labels (which
/// must hold `alertname`) and annotations, grouped by `alertname`. `fingerprint` is the one
/// Alertmanager would add, if the test wants it in the payload.
pub fn am_firing_line(
    labels: serde_json::Value,
    annotations: serde_json::Value,
    at: &str,
    fingerprint: Option<&str>,
) -> String {
    let name = labels["alertname"].as_str().expect("labels hold alertname");
    let mut alert = serde_json::json!({
        "status": "firing",
        "labels": labels,
        "annotations": annotations,
        "startsAt": at,
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus:9090/graph",
    });
    if let Some(fp) = fingerprint {
        alert["fingerprint"] = fp.into();
    }
    serde_json::json!({
        "version": "4",
        "status": "firing",
        "receiver": "noisegate",
        "groupKey": format!("{{}}:{{alertname=\"{name}\"}}"),
        "groupLabels": {"alertname": name},
        "commonLabels": labels,
        "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093",
        "alerts": [alert],
    })
    .to_string()
}

/// The shipped `config/noisegate.toml`.
pub fn shipped_config() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("config/noisegate.toml")
}

/// The shipped config with one line changed (`from` must be in it), written with the
/// topology file beside it into `dir`.
pub fn shipped_config_with(dir: &Path, from: &str, to: &str) -> std::path::PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("config/topology.toml"),
        dir.join("topology.toml"),
    )
    .unwrap();
    let text = std::fs::read_to_string(shipped_config()).unwrap();
    assert!(text.contains(from), "the shipped config has no {from:?}");
    let path = dir.join("noisegate.toml");
    std::fs::write(&path, text.replace(from, to)).unwrap();
    path
}

/// Replays these NDJSON lines with `config` into a fresh directory; returns it (keep it
/// alive) and the output directory.
pub fn replay_lines(config: &Path, lines: &[String]) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.ndjson");
    std::fs::write(&input, lines.join("\n") + "\n").unwrap();
    let out = dir.path().join("out");
    replay(config, &input, &out);
    (dir, out)
}
