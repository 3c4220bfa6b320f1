//! `[server]` TLS and bearer-token auth on every listener of `noisegate run`: webhooks,
//! OTLP/HTTP, OTLP/gRPC and the metrics endpoint. Clients are real and independent of the
//! server code: reqwest (rustls) trusting the test CA for HTTPS, and the PyPI OpenTelemetry
//! exporter (grpcio and requests underneath) for OTLP over TLS. No Kafka needed.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use support::*;

const TOKEN: &str = "t0ken-for-tests";

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/tls")
        .join(name)
}

struct Addrs {
    hook: String,
    otlp_http: String,
    otlp_grpc: String,
    metrics: String,
}

fn start(dir: &Path, token: bool) -> (Service, Addrs) {
    let a = Addrs {
        hook: format!("127.0.0.1:{}", free_port()),
        otlp_http: format!("127.0.0.1:{}", free_port()),
        otlp_grpc: format!("127.0.0.1:{}", free_port()),
        metrics: format!("127.0.0.1:{}", free_port()),
    };
    let token_file = dir.join("token");
    std::fs::write(&token_file, format!("{TOKEN}\n")).unwrap();
    let bearer = if token {
        format!("bearer_token = \"file:{}\"", token_file.display())
    } else {
        String::new()
    };
    let cfg = dir.join("noisegate.toml");
    std::fs::write(
        &cfg,
        format!(
            r#"[server]
tls_cert_file = "{cert}"
tls_key_file = "{key}"
{bearer}

[webhooks]
listen = "{hook}"

[otlp]
http_listen = "{otlp_http}"
grpc_listen = "{otlp_grpc}"

[metrics]
listen = "{metrics}"

[kafka]
brokers = "127.0.0.1:9"
state_dir = "state"
idle_advance_after = "0s"

[kafka.topics]
pages = ""
tickets = ""
clusters = ""
deadletter = ""
"#,
            cert = fixture("cert.pem").display(),
            key = fixture("key.pem").display(),
            hook = a.hook,
            otlp_http = a.otlp_http,
            otlp_grpc = a.otlp_grpc,
            metrics = a.metrics,
        ),
    )
    .unwrap();
    let svc = Service::start(&cfg, &[]);
    for addr in [&a.hook, &a.otlp_http, &a.otlp_grpc, &a.metrics] {
        wait_port(addr, Duration::from_secs(30));
    }
    (svc, a)
}

fn client() -> reqwest::Client {
    noisegate::tls::install_crypto_provider();
    let ca = reqwest::Certificate::from_pem(&std::fs::read(fixture("ca.pem")).unwrap()).unwrap();
    reqwest::Client::builder()
        .tls_certs_only([ca])
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

/// Status and body of one request; `Err` when no HTTP exchange happened (e.g. handshake).
fn call(method: &str, url: &str, token: Option<&str>, body: &str) -> Result<(u16, String), String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let c = client();
        let mut r = match method {
            "GET" => c.get(url),
            _ => c
                .post(url)
                .header("content-type", "application/json")
                .body(body.to_string()),
        };
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        let resp = r.send().await.map_err(|e| format!("{e:?}"))?;
        let status = resp.status().as_u16();
        Ok((status, resp.text().await.unwrap_or_default()))
    })
}

const AM: &str = r#"{"version":"4","status":"firing","alerts":[{"status":"firing","labels":{"alertname":"DatabaseDown","service":"db","severity":"critical"},"annotations":{},"startsAt":"2026-11-29T10:00:00Z","endsAt":"0001-01-01T00:00:00Z"}]}"#;

fn otlp_send(endpoint: &str, extra: &[&str]) -> (bool, String) {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/otlp/otlp_send.py");
    let out = Command::new("python3")
        .arg(script)
        .arg(endpoint)
        .arg("--cafile")
        .arg(fixture("ca.pem"))
        .args(["--timeout", "5"])
        .args(extra)
        // requests lets these override the exporter's `certificate_file` (its session-level
        // `verify` loses to the environment: psf/requests#3829), so the CA would be ignored.
        .env_remove("REQUESTS_CA_BUNDLE")
        .env_remove("CURL_CA_BUNDLE")
        .output()
        .expect("python3 with opentelemetry-sdk (.ci/run installs it)");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn every_listener_speaks_tls_and_wants_the_bearer_token() {
    let dir = tempfile::tempdir().unwrap();
    let (mut svc, a) = start(dir.path(), true);
    let hook = format!("https://localhost:{}/api/v1/alertmanager", port(&a.hook));

    // Webhooks: no token or a wrong one → 401 with a JSON reason; the right one → 200.
    let (code, body) = call("POST", &hook, None, AM).unwrap();
    assert_eq!(code, 401, "{body}");
    assert!(body.contains("\"reason\":\"unauthorized\""), "{body}");
    let (code, _) = call("POST", &hook, Some("wrong"), AM).unwrap();
    assert_eq!(code, 401);
    let (code, body) = call("POST", &hook, Some(TOKEN), AM).unwrap();
    assert_eq!(code, 200, "{body}");
    assert!(body.contains("\"alert_events\":1"), "{body}");

    // Plain HTTP to a TLS listener gets no HTTP answer at all.
    let plain = std::panic::catch_unwind(|| post_am_webhook(&a.hook, AM));
    assert!(
        !matches!(plain, Ok((200, _))),
        "plain HTTP must not be served on a TLS listener: {plain:?}"
    );

    // Metrics: probes open, numbers behind the token.
    let m = format!("https://localhost:{}", port(&a.metrics));
    assert_eq!(
        call("GET", &format!("{m}/healthz"), None, "").unwrap().0,
        200
    );
    assert_eq!(
        call("GET", &format!("{m}/readyz"), None, "").unwrap().0,
        200
    );
    assert_eq!(
        call("GET", &format!("{m}/metrics"), None, "").unwrap().0,
        401
    );
    let (code, text) = call("GET", &format!("{m}/metrics"), Some(TOKEN), "").unwrap();
    assert_eq!(code, 200);
    assert!(text.contains("noisegate_events_received_total"), "{text}");

    // OTLP/HTTP and OTLP/gRPC through the real exporter, over TLS.
    let otlp = format!("https://localhost:{}/v1/logs", port(&a.otlp_http));
    let grpc = format!("localhost:{}", port(&a.otlp_grpc));
    let (ok, out) = otlp_send(&otlp, &["--token", TOKEN]);
    assert!(ok, "OTLP/HTTP with the token: {out}");
    let (ok, out) = otlp_send(&otlp, &["--token", "wrong"]);
    assert!(!ok, "OTLP/HTTP with a wrong token must fail: {out}");
    let (ok, out) = otlp_send(&grpc, &["--grpc", "--token", TOKEN]);
    assert!(ok, "OTLP/gRPC with the token: {out}");
    let (ok, out) = otlp_send(&grpc, &["--grpc"]);
    assert!(!ok, "OTLP/gRPC without a token must fail: {out}");
    assert!(out.contains("UNAUTHENTICATED"), "{out}");

    // What got in: the webhook's alert and, from each accepted export (two requests: the
    // alert record and a plain log line), one alert; the refused exports brought nothing.
    let (_, text) = call("GET", &format!("{m}/metrics"), Some(TOKEN), "").unwrap();
    let sum = |prefix: &str| -> f64 {
        text.lines()
            .filter(|l| l.starts_with(prefix))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    };
    assert_eq!(sum("noisegate_events_received_total{"), 5.0, "{text}");
    assert_eq!(sum("noisegate_alert_events_total"), 3.0, "{text}");
    // The token never shows up in the log.
    assert!(!svc.log().contains(TOKEN), "{}", svc.log());
    svc.stop();
}

#[test]
fn tls_without_a_token_serves_anyone_who_trusts_the_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let (mut svc, a) = start(dir.path(), false);
    let hook = format!("https://localhost:{}/api/v1/alertmanager", port(&a.hook));
    let (code, body) = call("POST", &hook, None, AM).unwrap();
    assert_eq!(code, 200, "{body}");
    let grpc = format!("localhost:{}", port(&a.otlp_grpc));
    let (ok, out) = otlp_send(&grpc, &["--grpc"]);
    assert!(ok, "{out}");
    // A client that does not trust the certificate fails the handshake.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let untrusted = rt.block_on(async {
        noisegate::tls::install_crypto_provider();
        reqwest::Client::builder()
            .build()
            .unwrap()
            .post(&hook)
            .body(AM)
            .send()
            .await
    });
    assert!(untrusted.is_err(), "{untrusted:?}");
    svc.stop();
}

#[test]
fn bad_tls_and_token_settings_are_config_errors_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let run = |text: &str| {
        let cfg = dir.path().join("bad.toml");
        std::fs::write(&cfg, text).unwrap();
        let out = Command::new(BIN)
            .args(["run", "--config"])
            .arg(&cfg)
            .output()
            .unwrap();
        assert!(!out.status.success());
        String::from_utf8_lossy(&out.stderr).to_string()
    };
    let e = run(&format!(
        "[server]\ntls_cert_file = \"{}\"\n",
        fixture("cert.pem").display()
    ));
    assert!(
        e.contains("server.tls_key_file") && e.contains("required"),
        "{e}"
    );
    let e = run(&format!(
        "[server]\ntls_cert_file = \"{}\"\ntls_key_file = \"{}\"\n",
        fixture("key.pem").display(),
        fixture("key.pem").display()
    ));
    assert!(e.contains("server.tls_cert_file"), "{e}");
    let e = run("[server]\nbearer_token = \"hunter2\"\n");
    assert!(
        e.contains("server.bearer_token") && e.contains("env:VAR"),
        "{e}"
    );
    let e = run("[server]\nbearer_token = \"env:NOISEGATE_SURELY_UNSET_VAR\"\n");
    assert!(e.contains("NOISEGATE_SURELY_UNSET_VAR is not set"), "{e}");
}

fn port(addr: &str) -> &str {
    addr.rsplit(':').next().unwrap()
}

/// `GET` on a plain-HTTP address, as JSON.
fn get_json(addr: &str, path_and_query: &str) -> serde_json::Value {
    let (code, body) = http_get(addr, path_and_query);
    assert_eq!(code, 200, "{path_and_query}: {body}");
    serde_json::from_str(&body).unwrap_or_default()
}

#[test]
fn a_real_prometheus_scrapes_over_tls_with_the_token_and_loads_the_shipped_rules() {
    let dir = tempfile::tempdir().unwrap();
    let (mut svc, a) = start(dir.path(), true);
    let hook = format!("https://localhost:{}/api/v1/alertmanager", port(&a.hook));
    assert_eq!(call("POST", &hook, Some(TOKEN), AM).unwrap().0, 200);

    let wrong = dir.path().join("wrong-token");
    std::fs::write(&wrong, "not-the-token\n").unwrap();
    let prom_addr = format!("127.0.0.1:{}", free_port());
    let prom_cfg = dir.path().join("prometheus.yml");
    let rules = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/prometheus/noisegate-rules.yml");
    let job = |name: &str, token: &Path| {
        format!(
            "  - job_name: {name}\n    scheme: https\n    metrics_path: /metrics\n    \
             tls_config:\n      ca_file: {ca}\n      server_name: localhost\n    \
             authorization:\n      credentials_file: {token}\n    \
             static_configs:\n      - targets: [\"{target}\"]\n",
            ca = fixture("ca.pem").display(),
            token = token.display(),
            target = a.metrics,
        )
    };
    std::fs::write(
        &prom_cfg,
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files:\n  - {}\n\
             scrape_configs:\n{}{}",
            rules.display(),
            job("noisegate", &dir.path().join("token")),
            job("wrong-token", &wrong),
        ),
    )
    .unwrap();
    let prom = Command::new("prometheus")
        .arg(format!("--config.file={}", prom_cfg.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.path().join("tsdb").display()
        ))
        .arg(format!("--web.listen-address={prom_addr}"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("prometheus (Debian package `prometheus`; .ci/run installs it)");
    let _prom = KillOnDrop(prom);
    wait_port(&prom_addr, Duration::from_secs(30));
    // Prometheus listens before its storage is ready and answers 503 until then.
    let t0 = std::time::Instant::now();
    while http_get(&prom_addr, "/-/ready").0 != 200 {
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "prometheus never ready"
        );
        std::thread::sleep(Duration::from_millis(200));
    }

    let value = |q: &str| -> Option<f64> {
        let v = get_json(&prom_addr, &format!("/api/v1/query?query={q}"));
        v["data"]["result"][0]["value"][1].as_str()?.parse().ok()
    };
    let t0 = std::time::Instant::now();
    loop {
        let up = value("up%7Bjob%3D%22noisegate%22%7D");
        let events = value("noisegate_alert_events_total");
        if up == Some(1.0) && events == Some(1.0) {
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "prometheus did not scrape noisegate: up={up:?} events={events:?}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    // The scrape with the wrong token is refused, and Prometheus says why.
    let bad = loop {
        let targets = get_json(&prom_addr, "/api/v1/targets");
        let bad = targets["data"]["activeTargets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["labels"]["job"] == "wrong-token")
            .cloned()
            .unwrap_or_default();
        if bad["health"] != "unknown" || t0.elapsed() > Duration::from_secs(60) {
            break bad;
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    assert_eq!(bad["health"], "down", "{bad}");
    assert!(
        bad["lastError"]
            .as_str()
            .unwrap_or_default()
            .contains("401"),
        "{bad}"
    );
    // The shipped rules load and name every alert about noisegate.
    let rules = get_json(&prom_addr, "/api/v1/rules").to_string();
    for alert in [
        "NoisegateDown",
        "NoisegatePagerDutySinkFailing",
        "NoisegateInputPaused",
    ] {
        assert!(rules.contains(alert), "{alert} not loaded: {rules}");
    }
    svc.stop();
}
