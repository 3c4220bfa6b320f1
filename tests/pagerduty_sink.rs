//! The PagerDuty sink of `noisegate run` against a local stand-in for the Events API v2
//! (`POST /v2/enqueue`, answering 202 like PagerDuty), fed by a real Alertmanager and by
//! direct webhooks. No Kafka: every topic is off, which is how a team without Kafka runs it.
//!
//! The stand-in is scripted to misbehave (500s, a response slower than the client timeout,
//! 429 with `Retry-After`) and records every request with its arrival time, so the tests can
//! check what PagerDuty would have seen: each incident accepted exactly once, never more than
//! the configured events per window per routing key, `Retry-After` honoured.

mod support;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::*;

/// What the stand-in does with the n-th request (1-based).
#[derive(Clone, Copy)]
enum Answer {
    Accept,
    Status(u16, Option<u64>),
    /// Answer `status` only after `ms`: longer than the client's timeout, so the client has
    /// given up and PagerDuty "never answered".
    Slow(u64, u16),
}

#[derive(Debug, Clone)]
struct Seen {
    at: Instant,
    status: u16,
    retry_after: Option<u64>,
    body: Value,
}

struct StandIn {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
    _rt: tokio::runtime::Runtime,
}

impl StandIn {
    fn start(script: fn(usize) -> Answer) -> StandIn {
        use axum::routing::post;
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
        let s2 = seen.clone();
        let handler = move |body: axum::body::Bytes| {
            let seen = s2.clone();
            async move {
                let at = Instant::now();
                let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                let n = seen.lock().unwrap().len() + 1;
                let answer = script(n);
                let (status, retry_after) = match answer {
                    Answer::Accept => (202, None),
                    Answer::Status(s, r) => (s, r),
                    Answer::Slow(ms, s) => {
                        // Recorded now (arrival), answered late.
                        seen.lock().unwrap().push(Seen {
                            at,
                            status: 0,
                            retry_after: None,
                            body: body.clone(),
                        });
                        tokio::time::sleep(Duration::from_millis(ms)).await;
                        return axum::response::Response::builder()
                            .status(s)
                            .body(axum::body::Body::from("{\"status\":\"error\"}"))
                            .unwrap();
                    }
                };
                seen.lock().unwrap().push(Seen {
                    at,
                    status,
                    retry_after,
                    body: body.clone(),
                });
                let mut r = axum::response::Response::builder().status(status);
                if let Some(s) = retry_after {
                    r = r.header("retry-after", s.to_string());
                }
                let text = if status == 202 {
                    serde_json::json!({"status": "success", "message": "Event processed",
                                       "dedup_key": body["dedup_key"]})
                    .to_string()
                } else {
                    "{\"status\":\"error\"}".to_string()
                };
                r.body(axum::body::Body::from(text)).unwrap()
            }
        };
        let app = axum::Router::new().route("/v2/enqueue", post(handler));
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let addr = listener.local_addr().unwrap();
        rt.spawn(async move { axum::serve(listener, app).await });
        StandIn {
            addr,
            seen,
            _rt: rt,
        }
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    fn accepted(&self) -> Vec<Seen> {
        self.seen()
            .into_iter()
            .filter(|s| s.status == 202)
            .collect()
    }
}

/// Webhooks in, PagerDuty out, no Kafka.
fn config(
    dir: &std::path::Path,
    hook: &str,
    metrics: &str,
    pd: &StandIn,
    extra: &str,
) -> std::path::PathBuf {
    let p = dir.join("noisegate.toml");
    let text = format!(
        r#"[webhooks]
listen = "{hook}"

[metrics]
listen = "{metrics}"

[kafka]
# No broker: inputs are the webhooks, outputs go to PagerDuty only.
brokers = "127.0.0.1:9"
state_dir = "state"
checkpoint_interval = "200ms"
idle_advance_after = "0s"

[kafka.topics]
pages = ""
tickets = ""
clusters = ""
deadletter = ""

[pagerduty]
default_routing_key = "rk-default"
events_url = "http://{pd}/v2/enqueue"
{extra}
"#,
        pd = pd.addr
    );
    std::fs::write(&p, text).unwrap();
    p
}

/// Where [`OnWebhooks`] has the run write its summary, in its `dir`.
const SUMMARY: &str = "summary.json";

/// `noisegate run` on webhooks alone (metrics on too), paging `pd`, once it listens; its run
/// summary goes to [`SUMMARY`] once it stops.
struct OnWebhooks {
    dir: tempfile::TempDir,
    svc: Service,
    hook: String,
    metrics: String,
}

fn run_on_webhooks(pd: &StandIn) -> OnWebhooks {
    run_on_webhooks_with(pd, "")
}

/// Dead letters to a file (there is no Kafka topic for them here).
const DEADLETTER_FILE: &str = "[input]\ndeadletter_file = \"dl/deadletter.ndjson\"\n";

/// [`run_on_webhooks`] with `head` (TOML tables) put before the rest of the config.
fn run_on_webhooks_with(pd: &StandIn, head: &str) -> OnWebhooks {
    run_on_webhooks_amended(pd, |t| format!("{head}{t}"))
}

/// [`run_on_webhooks`] with its config text rewritten by `f` first.
fn run_on_webhooks_amended(pd: &StandIn, f: impl FnOnce(String) -> String) -> OnWebhooks {
    let dir = tempfile::tempdir().unwrap();
    let hook = format!("127.0.0.1:{}", free_port());
    let metrics = format!("127.0.0.1:{}", free_port());
    let cfg = config(dir.path(), &hook, &metrics, pd, "");
    amend(&cfg, f);
    let summary = dir.path().join(SUMMARY);
    let svc = Service::start(&cfg, &["--summary", summary.to_str().unwrap()]);
    wait_port(&hook, Duration::from_secs(30));
    OnWebhooks {
        dir,
        svc,
        hook,
        metrics,
    }
}

/// Config text with event time following the wall clock between events, as shipped
/// (`idle_advance_after = "30s"`): the tests' config keeps it off by default.
fn live_clock(t: String) -> String {
    t.replace(
        "idle_advance_after = \"0s\"",
        "idle_advance_after = \"30s\"",
    )
}

/// Rewrites the config file at `cfg` through `f`.
fn amend(cfg: &std::path::Path, f: impl FnOnce(String) -> String) {
    let text = std::fs::read_to_string(cfg).unwrap();
    std::fs::write(cfg, f(text)).unwrap();
}

fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// An Alertmanager v4 webhook body with these firing alerts (name, service, team).
fn am_webhook(alerts: &[(&str, &str, &str)]) -> String {
    let now = now_rfc3339();
    let alerts: Vec<Value> = alerts
        .iter()
        .map(|(name, svc, team)| {
            serde_json::json!({
                "status": "firing",
                "labels": {"alertname": name, "service": svc, "team": team, "severity": "critical"},
                "annotations": {"summary": format!("{name} on {svc}")},
                "startsAt": now,
                "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": "",
            })
        })
        .collect();
    serde_json::json!({
        "version": "4", "groupKey": "{}:{}", "status": "firing", "receiver": "noisegate",
        "groupLabels": {}, "commonLabels": {}, "commonAnnotations": {}, "externalURL": "",
        "alerts": alerts,
    })
    .to_string()
}

fn metric(text: &str, prefix: &str) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(prefix))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

fn wait_for(what: &str, within: Duration, svc: &Service, mut f: impl FnMut() -> bool) {
    let t0 = Instant::now();
    while !f() {
        assert!(
            t0.elapsed() < within,
            "{what} not within {within:?}:\n{}",
            svc.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn script_flaky(n: usize) -> Answer {
    match n {
        1 | 2 => Answer::Status(500, None),
        4 => Answer::Slow(1200, 500),
        n if n % 6 == 0 => Answer::Status(429, Some(1)),
        _ => Answer::Accept,
    }
}

#[test]
fn a_flaky_rate_limited_pagerduty_gets_every_page_once_within_the_limit() {
    let pd = StandIn::start(script_flaky);
    let dir = tempfile::tempdir().unwrap();
    let hook = format!("127.0.0.1:{}", free_port());
    let metrics = format!("127.0.0.1:{}", free_port());
    let cfg = config(
        dir.path(),
        &hook,
        &metrics,
        &pd,
        "rate_limit = 4\nrate_window = \"2s\"\ntimeout = \"500ms\"\nbackoff_base = \"100ms\"\n\
         backoff_max = \"1s\"\n[pagerduty.team_routing_keys]\nred = \"rk-red\"\nblue = \"rk-blue\"\n",
    );
    let summary = dir.path().join("summary.json");
    let mut svc = Service::start(&cfg, &["--summary", summary.to_str().unwrap()]);
    wait_port(&hook, Duration::from_secs(30));
    // Twelve unrelated critical incidents at once, half per team: a storm for PagerDuty at
    // 4 events per 2 s per routing key.
    let alerts = [
        ("DatabaseDown", "ledger", "red"),
        ("PaymentGatewayErrors", "checkout", "red"),
        ("SearchIndexStale", "search", "blue"),
        ("QueueBacklogGrowing", "shipping", "blue"),
        ("CertificateExpired", "auth", "red"),
        ("InventorySyncFailed", "inventory", "blue"),
        ("EmailBounceSpike", "email", "red"),
        ("ImageResizerCrash", "images", "blue"),
        ("GeoLookupTimeouts", "geo", "red"),
        ("ReportJobsStuck", "reports", "blue"),
        ("CatalogWritesRejected", "catalog", "red"),
        ("BillingExportMissing", "billing", "blue"),
    ];
    let (code, body) = post_am_webhook(&hook, &am_webhook(&alerts));
    assert_eq!(code, 200, "{body}");
    // The same notification again (Alertmanager re-sends): deduplicated, no new pages.
    let (code, _) = post_am_webhook(&hook, &am_webhook(&alerts));
    assert_eq!(code, 200);

    let queue_empty = || {
        let (c, m) = http_get(&metrics, "/metrics");
        c == 200
            && metric(&m, "noisegate_pages_total{") >= 1.0
            && metric(&m, "noisegate_pagerduty_queue_depth") == 0.0
            && metric(&m, "noisegate_pagerduty_events_total{result=\"delivered\"}")
                >= metric(&m, "noisegate_pages_total{")
    };
    wait_for(
        "every page delivered",
        Duration::from_secs(60),
        &svc,
        queue_empty,
    );
    let (_, m) = http_get(&metrics, "/metrics");
    svc.stop();
    let summary: Value = serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    let handed = summary["sent"]["pagerduty"].as_u64().unwrap();
    let seen = pd.seen();
    let accepted = pd.accepted();

    // Every page noisegate decided on reached PagerDuty exactly once (retries re-send only
    // what was not accepted), with a well-formed Events v2 body routed by team.
    let mut per_key: BTreeMap<String, usize> = BTreeMap::new();
    for s in &accepted {
        let b = &s.body;
        assert_eq!(b["event_action"], "trigger", "{b}");
        let team = b["payload"]["group"].as_str().unwrap_or_default();
        assert_eq!(b["routing_key"], format!("rk-{team}"), "{b}");
        assert!(!b["payload"]["summary"]
            .as_str()
            .unwrap_or_default()
            .is_empty());
        *per_key
            .entry(b["dedup_key"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    assert!(
        per_key.values().all(|n| *n == 1),
        "an incident accepted twice: {per_key:?}"
    );
    assert_eq!(
        per_key.len() as u64,
        handed,
        "pages handed to the sink vs accepted"
    );
    assert!(
        handed >= 8,
        "most of the 12 critical incidents page: {handed}\n{}",
        svc.log()
    );

    // Never more than 4 requests per routing key in any 2 s (arrival times, so 100 ms of
    // slack for scheduling between send and arrival).
    let mut by_rk: BTreeMap<String, Vec<&Seen>> = BTreeMap::new();
    for s in &seen {
        by_rk
            .entry(s.body["routing_key"].as_str().unwrap().to_string())
            .or_default()
            .push(s);
    }
    for (rk, v) in &by_rk {
        for (i, s) in v.iter().enumerate() {
            let n = v[i..]
                .iter()
                .take_while(|u| u.at < s.at + Duration::from_millis(1900))
                .count();
            assert!(n <= 4, "{rk}: {n} requests within 2 s");
        }
        // After a 429 with Retry-After: 1, that key waits at least that long.
        for w in v.windows(2) {
            if let (429, Some(secs)) = (w[0].status, w[0].retry_after) {
                let gap = w[1].at - w[0].at;
                let want = Duration::from_secs(secs) - Duration::from_millis(50);
                assert!(
                    gap >= want,
                    "{rk}: Retry-After {secs}s, retried after {gap:?}"
                );
            }
        }
    }
    // The failures happened and were retried: 2 × 500, one timeout, some 429s.
    let failed: Vec<&Seen> = seen.iter().filter(|s| s.status != 202).collect();
    assert!(failed.len() >= 4, "{failed:?}");
    for f in &failed {
        assert!(
            accepted
                .iter()
                .any(|a| a.body["dedup_key"] == f.body["dedup_key"] && a.at > f.at),
            "a failed request was never retried to success: {:?}",
            f.body["dedup_key"]
        );
    }
    // And the metrics say so.
    assert!(
        metric(&m, "noisegate_pagerduty_throttled_total") >= 1.0,
        "{m}"
    );
    assert!(
        metric(&m, "noisegate_pagerduty_retries_total") >= failed.len() as f64,
        "{m}"
    );
    assert!(
        metric(&m, "noisegate_pagerduty_delayed_events_total") >= 1.0,
        "{m}"
    );
    assert!(
        metric(&m, "noisegate_pagerduty_requests_total{status=\"5xx\"}") >= 2.0,
        "{m}"
    );
    assert!(
        metric(&m, "noisegate_pagerduty_requests_total{status=\"error\"}") >= 1.0,
        "{m}"
    );
}

#[test]
fn a_real_alertmanager_pages_pagerduty_once_through_noisegate() {
    let pd = StandIn::start(|_| Answer::Accept);
    let OnWebhooks {
        dir,
        mut svc,
        hook,
        metrics: _,
    } = run_on_webhooks(&pd);

    // Without Kafka there is no dead-letter topic: a refused body is answered with its
    // reason and logged with it.
    let (code, body) = post_am_webhook(&hook, "{\"alerts\": 5");
    assert_eq!(code, 400, "{body}");
    wait_for(
        "the dead letter in the log",
        Duration::from_secs(10),
        &svc,
        || {
            let log = svc.log();
            log.contains("dead letter (no deadletter topic configured)")
                && log.contains("wrong_type")
        },
    );

    // A real Alertmanager (Debian prometheus-alertmanager) with noisegate as its webhook.
    let (_am, am_addr) = start_alertmanager(dir.path(), &hook);
    let alerts = serde_json::json!([
        {"labels": {"alertname": "DatabaseDown", "service": "db", "team": "storage", "severity": "critical"},
         "annotations": {"summary": "db is down"}}
    ])
    .to_string();
    // Posted three times, as Prometheus re-sends a firing alert.
    post_to_alertmanager(&am_addr, &alerts, 3);
    wait_for(
        "a page at the stand-in",
        Duration::from_secs(60),
        &svc,
        || !pd.accepted().is_empty(),
    );
    // Alertmanager re-notifies every group_interval (1 s): give it time to do so.
    std::thread::sleep(Duration::from_secs(3));
    let got = pd.seen();
    assert_eq!(got.len(), 1, "one incident, one request: {got:?}");
    let b = &got[0].body;
    assert_eq!(b["event_action"], "trigger");
    assert_eq!(b["routing_key"], "rk-default");
    assert_eq!(b["payload"]["class"], "DatabaseDown");
    assert_eq!(b["payload"]["severity"], "critical");
    assert!(b["dedup_key"].as_str().unwrap().starts_with("ng-"), "{b}");
    assert!(
        svc.log().contains("sending pages to PagerDuty"),
        "{}",
        svc.log()
    );
    svc.stop();
}

#[test]
fn a_real_prometheus_pages_through_noisegate_without_an_alertmanager() {
    // Prometheus' own Alertmanager client (POST /api/v2/alerts, re-sending every
    // resend-delay) pointed straight at noisegate: one page, re-sends deduplicated.
    let pd = StandIn::start(|_| Answer::Accept);
    let OnWebhooks {
        dir,
        mut svc,
        hook,
        metrics,
    } = run_on_webhooks(&pd);

    std::fs::write(
        dir.path().join("rules.yml"),
        "groups:\n  - name: db\n    interval: 1s\n    rules:\n      - alert: DatabaseDown\n        \
         expr: vector(1)\n        labels:\n          service: db\n          team: storage\n          \
         severity: critical\n        annotations:\n          summary: db is down\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("prometheus.yml"),
        format!(
            "global:\n  evaluation_interval: 1s\nrule_files: [rules.yml]\nalerting:\n  \
             alertmanagers:\n    - api_version: v2\n      static_configs:\n        - targets: ['{hook}']\n"
        ),
    )
    .unwrap();
    let prom_addr = format!("127.0.0.1:{}", free_port());
    let prom = std::process::Command::new("prometheus")
        .arg(format!(
            "--config.file={}",
            dir.path().join("prometheus.yml").display()
        ))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.path().join("tsdb").display()
        ))
        .arg(format!("--web.listen-address={prom_addr}"))
        .arg("--rules.alert.resend-delay=1s")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("prometheus (Debian package; .ci/run installs it)");
    let _prom = KillOnDrop(prom);
    wait_for(
        "a page at the stand-in",
        Duration::from_secs(90),
        &svc,
        || !pd.accepted().is_empty(),
    );
    let received = || {
        let (_, m) = http_get(&metrics, "/metrics");
        m.lines()
            .filter(|l| l.starts_with("noisegate_events_received_total{"))
            .filter(|l| l.contains("format=\"prometheus\""))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum::<f64>()
    };
    let first = received();
    assert!(first >= 1.0, "the page came from Prometheus' posts");
    // Prometheus re-sends the firing alert every second: let it, several times.
    wait_for("re-sends", Duration::from_secs(30), &svc, || {
        received() >= first + 3.0
    });
    let got = pd.seen();
    assert_eq!(got.len(), 1, "one incident, one request: {got:?}");
    let b = &got[0].body;
    assert_eq!(b["event_action"], "trigger");
    assert_eq!(b["payload"]["class"], "DatabaseDown");
    assert_eq!(b["payload"]["severity"], "critical");
    assert_eq!(
        b["payload"]["summary"]
            .as_str()
            .map(|s| s.contains("db is down")),
        Some(true),
        "{b}"
    );
    svc.stop();
}

#[test]
fn a_pagerduty_rejection_is_logged_and_counted_not_retried_forever() {
    // 400: PagerDuty says the event is invalid (e.g. a wrong routing key). Retrying cannot
    // help, so it is counted and logged, and later pages still go out.
    let pd = StandIn::start(|n| {
        if n == 1 {
            Answer::Status(400, None)
        } else {
            Answer::Accept
        }
    });
    // The config and state live in `_dir`: kept until the end.
    let OnWebhooks {
        dir: _dir,
        mut svc,
        hook,
        metrics,
    } = run_on_webhooks(&pd);
    let (code, _) = post_am_webhook(&hook, &am_webhook(&[("DatabaseDown", "ledger", "red")]));
    assert_eq!(code, 200);
    wait_for("the rejection", Duration::from_secs(30), &svc, || {
        pd.seen().len() == 1
    });
    let (code, _) = post_am_webhook(
        &hook,
        &am_webhook(&[("CertificateExpired", "auth", "blue")]),
    );
    assert_eq!(code, 200);
    wait_for("the second page", Duration::from_secs(30), &svc, || {
        pd.accepted().len() == 1
    });
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(pd.seen().len(), 2, "the rejected event is not retried");
    let (_, m) = http_get(&metrics, "/metrics");
    assert_eq!(
        metric(&m, "noisegate_pagerduty_events_total{result=\"rejected\"}"),
        1.0,
        "{m}"
    );
    assert!(svc.log().contains("event rejected"), "{}", svc.log());
    svc.stop();
}

#[test]
fn ack_checkpointed_answers_once_pagerduty_has_the_page_and_the_state_is_on_disk() {
    let pd = StandIn::start(|_| Answer::Accept);
    let dir = tempfile::tempdir().unwrap();
    let hook = format!("127.0.0.1:{}", free_port());
    let cfg = config(dir.path(), &hook, "", &pd, "");
    amend(&cfg, |t| {
        t.replace("[webhooks]\n", "[webhooks]\nack = \"checkpointed\"\n")
    });
    let mut svc = Service::start(&cfg, &[]);
    wait_port(&hook, Duration::from_secs(30));
    let body = am_webhook(&[("DatabaseDown", "ledger", "red")]);
    let (code, answer) = post_am_webhook(&hook, &body);
    assert_eq!(code, 200, "{answer}");
    // By the time the sender hears 200, PagerDuty has the page...
    assert_eq!(
        pd.accepted().len(),
        1,
        "answered before the page was delivered"
    );
    // ...and the state is on disk: killed at once and restarted, the service knows the alert
    // is firing and its incident paged, so the same notification again pages nothing.
    let _ = svc.child.kill();
    let _ = svc.child.wait();
    let mut svc = Service::start(&cfg, &[]);
    wait_port(&hook, Duration::from_secs(30));
    let (code, _) = post_am_webhook(&hook, &body);
    assert_eq!(code, 200);
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(
        pd.seen().len(),
        1,
        "paged again after a restart:\n{}",
        svc.log()
    );
    assert!(svc.log().contains("restored checkpoint"), "{}", svc.log());
    svc.stop();
}

#[test]
fn without_kafka_refused_payloads_go_to_the_dead_letter_file() {
    let pd = StandIn::start(|_| Answer::Accept);
    let OnWebhooks {
        dir, mut svc, hook, ..
    } = run_on_webhooks_with(&pd, DEADLETTER_FILE);
    let bad = "{\"alerts\": 5";
    let (code, body) = post_am_webhook(&hook, bad);
    assert_eq!(code, 400, "{body}");
    // A good one after it still pages.
    let (code, _) = post_am_webhook(&hook, &am_webhook(&[("DatabaseDown", "ledger", "red")]));
    assert_eq!(code, 200);
    wait_for("the page", Duration::from_secs(30), &svc, || {
        pd.accepted().len() == 1
    });
    svc.stop();
    // Byte for byte, with the reason, where it came from and when.
    let text = std::fs::read_to_string(dir.path().join("dl/deadletter.ndjson")).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1, "{text}");
    assert_eq!(lines[0]["reason"], "wrong_type");
    assert_eq!(lines[0]["source"], "/api/v1/alertmanager");
    assert_eq!(lines[0]["raw"], bad);
    assert!(lines[0]["received_at"].as_str().unwrap().starts_with("20"));
    assert!(!lines[0]["error"].as_str().unwrap().is_empty());
}

/// Vector's `http` sink (JSON codec) and relay scripts post a batch of webhooks as one
/// array: each is taken on its own, and a bad one is dead-lettered alone.
#[test]
fn a_forwarders_array_of_webhooks_is_taken_payload_by_payload() {
    let pd = StandIn::start(|_| Answer::Accept);
    let OnWebhooks {
        dir,
        mut svc,
        hook,
        metrics,
    } = run_on_webhooks_with(&pd, DEADLETTER_FILE);
    let bad = r#"{"alerts": 5}"#;
    let batch = format!(
        "[{},\n{bad},\n{}]",
        am_webhook(&[("DatabaseDown", "ledger", "red")]),
        am_webhook(&[
            ("DiskFull", "search", "blue"),
            ("DiskFull", "search-2", "blue")
        ]),
    );
    let (code, body) = post_am_webhook(&hook, &batch);
    assert_eq!(code, 400, "{body}");
    assert!(body.contains("payload 2 of 3"), "{body}");
    wait_for("the page", Duration::from_secs(30), &svc, || {
        !pd.accepted().is_empty()
    });
    // All three alerts of the good payloads reached the engine.
    let (_, text) = http_get(&metrics, "/metrics");
    assert_eq!(metric(&text, "noisegate_alert_events_total"), 3.0, "{text}");
    assert_eq!(
        metric(
            &text,
            "noisegate_events_received_total{source=\"http\",format=\"alertmanager\"}"
        ),
        2.0,
        "{text}"
    );
    svc.stop();
    let text = std::fs::read_to_string(dir.path().join("dl/deadletter.ndjson")).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1, "{text}");
    assert_eq!(lines[0]["reason"], "wrong_type");
    assert_eq!(lines[0]["raw"], bad);
    let error = lines[0]["error"].as_str().unwrap();
    assert!(
        error.starts_with("payload 2 of 3 in the array: "),
        "{error}"
    );
}

/// A real Alertmanager whose webhook is capped at `max_alerts` sends the rest only as a
/// count: noisegate cannot see those alerts, so it says how many it missed.
#[test]
fn alerts_a_real_alertmanager_left_out_over_max_alerts_are_counted() {
    let pd = StandIn::start(|_| Answer::Accept);
    let OnWebhooks {
        dir,
        mut svc,
        hook,
        metrics,
    } = run_on_webhooks(&pd);
    let (_am, am_addr) = start_alertmanager_with(dir.path(), &hook, "        max_alerts: 1\n");
    // One group (grouped by alertname) of three alerts: one is sent, two are counted.
    let alerts = serde_json::json!([
        {"labels": {"alertname": "DiskFull", "service": "db", "instance": "a", "severity": "critical"}},
        {"labels": {"alertname": "DiskFull", "service": "db", "instance": "b", "severity": "critical"}},
        {"labels": {"alertname": "DiskFull", "service": "db", "instance": "c", "severity": "critical"}}
    ])
    .to_string();
    post_to_alertmanager(&am_addr, &alerts, 1);
    wait_for(
        "alerts counted as left out",
        Duration::from_secs(60),
        &svc,
        || {
            let (_, m) = http_get(&metrics, "/metrics");
            metric(&m, "noisegate_alerts_truncated_total") >= 2.0
        },
    );
    let (_, m) = http_get(&metrics, "/metrics");
    // Each notification holds one alert and counts the other two.
    let notifications = metric(
        &m,
        "noisegate_events_received_total{source=\"http\",format=\"alertmanager\"}",
    );
    assert!(notifications >= 1.0, "{m}");
    assert_eq!(
        metric(&m, "noisegate_alerts_truncated_total"),
        2.0 * notifications,
        "{m}"
    );
    assert!(
        svc.log().contains("raise the sender's max_alerts"),
        "{}",
        svc.log()
    );
    svc.stop();
}

/// A critical `DiskFull` alert as posted to Alertmanager's API, with `extra` JSON fields
/// (", \"endsAt\": ...").
fn disk_full(extra: &str) -> String {
    format!(
        r#"[{{"labels": {{"alertname": "DiskFull", "service": "db", "severity": "critical"}}{extra}}}]"#
    )
}

/// Whether PagerDuty was sent a resolve for `key`.
fn resolve_sent(pd: &StandIn, key: &Value) -> bool {
    pd.accepted()
        .iter()
        .any(|a| a.body["event_action"] == "resolve" && &a.body["dedup_key"] == key)
}

/// A real Alertmanager whose receiver has `send_resolved: false` never says an alert
/// resolved. When the alert comes back as a new episode (a later `startsAt`), the first
/// episode is over: its cluster closes and its PagerDuty incident is resolved, instead of
/// the first page staying open for good and taking in every later episode.
#[test]
fn an_alert_back_anew_from_an_alertmanager_without_send_resolved_ends_its_first_incident() {
    let pd = StandIn::start(|_| Answer::Accept);
    let OnWebhooks {
        dir,
        mut svc,
        hook,
        metrics,
    } = run_on_webhooks_with(
        &pd,
        "[engine]\nmax_resend_interval = \"2s\"\nclose_quiet = \"1s\"\n",
    );
    let (_am, am_addr) =
        start_alertmanager_with(dir.path(), &hook, "        send_resolved: false\n");
    let alert = disk_full;
    post_to_alertmanager(&am_addr, &alert(""), 1);
    wait_for("the first page", Duration::from_secs(30), &svc, || {
        !pd.accepted().is_empty()
    });
    let first = pd.accepted()[0].body["dedup_key"].clone();
    // Resolved at Alertmanager, which tells nobody (send_resolved: false) ...
    let resolved = format!(r#", "endsAt": "{}""#, now_rfc3339());
    post_to_alertmanager(&am_addr, &alert(&resolved), 1);
    std::thread::sleep(Duration::from_secs(4));
    // ... then firing again: a new alert to Alertmanager, with a new startsAt.
    post_to_alertmanager(&am_addr, &alert(""), 1);
    wait_for(
        "the first incident resolved",
        Duration::from_secs(60),
        &svc,
        || resolve_sent(&pd, &first),
    );
    let (_, m) = http_get(&metrics, "/metrics");
    assert_eq!(
        metric(&m, "noisegate_unreported_resolves_total"),
        1.0,
        "{m}"
    );
    svc.stop();
}

/// noisegate on webhooks with the live clock and `engine.max_resend_interval = resend`,
/// clusters closing a second after their alerts.
fn on_webhooks_judging_silence(pd: &StandIn, resend: &str) -> OnWebhooks {
    run_on_webhooks_amended(pd, |t| {
        // Webhook input is live, so event time follows the wall clock between webhooks (the
        // shipped setting): re-sends carry their alert's start, so nothing else would move
        // it while Alertmanager re-sends.
        let t = live_clock(t);
        format!("[engine]\nmax_resend_interval = \"{resend}\"\nclose_quiet = \"1s\"\nallowed_lateness = \"1s\"\n{t}")
    })
}

/// noisegate on webhooks with the live clock and `engine.max_resend_interval = resend`
/// (clusters closing a second after their alerts), behind a real Alertmanager repeating
/// every `repeat` (`receiver` lines added to its webhook receiver), once `DiskFull`, posted
/// to it, has paged. Returns the PagerDuty stand-in, the service, Alertmanager, its address
/// and the page's `dedup_key`.
fn paged_behind_repeating_alertmanager(
    resend: &str,
    repeat: &str,
    receiver: &str,
) -> (StandIn, OnWebhooks, KillOnDrop, String, Value) {
    let pd = StandIn::start(|_| Answer::Accept);
    let on = on_webhooks_judging_silence(&pd, resend);
    let (am, am_addr) = start_alertmanager_repeating(on.dir.path(), &on.hook, repeat, receiver);
    post_to_alertmanager(&am_addr, &disk_full(""), 1);
    wait_for("the first page", Duration::from_secs(30), &on.svc, || {
        !pd.accepted().is_empty()
    });
    let key = pd.accepted()[0].body["dedup_key"].clone();
    (pd, on, am, am_addr, key)
}

/// The same Alertmanager, but the alert never comes back: resolved there, it is simply not
/// sent again. While it fired, Alertmanager re-sent it every `repeat_interval` (2 s here),
/// and noisegate kept its incident open; once it has gone unheard for
/// `engine.max_resend_interval`, the incident is resolved in PagerDuty.
#[test]
fn an_alert_an_alertmanager_without_send_resolved_stops_sending_has_its_incident_resolved() {
    let (
        pd,
        OnWebhooks {
            dir: _dir,
            mut svc,
            metrics,
            ..
        },
        _am,
        am_addr,
        key,
    ) = paged_behind_repeating_alertmanager("8s", "2s", "        send_resolved: false\n");
    let resolved = || resolve_sent(&pd, &key);
    // Twice the resend interval while it still fires: re-sent, it stays open.
    std::thread::sleep(Duration::from_secs(16));
    let (_, m) = http_get(&metrics, "/metrics");
    assert!(
        !resolved(),
        "resolved while still sent: {:?}",
        pd.accepted()
    );
    assert_eq!(
        metric(&m, "noisegate_unreported_resolves_total"),
        0.0,
        "{m}"
    );
    // Resolved at Alertmanager, which tells nobody (send_resolved: false) and stops sending.
    let ended = format!(r#", "endsAt": "{}""#, now_rfc3339());
    post_to_alertmanager(&am_addr, &disk_full(&ended), 1);
    wait_for(
        "the incident resolved",
        Duration::from_secs(60),
        &svc,
        resolved,
    );
    let (_, m) = http_get(&metrics, "/metrics");
    assert_eq!(
        metric(&m, "noisegate_unreported_resolves_total"),
        1.0,
        "{m}"
    );
    assert_eq!(
        pd.accepted()
            .iter()
            .filter(|a| a.body["event_action"] == "trigger")
            .count(),
        1,
        "one incident: {:?}",
        pd.accepted()
    );
    svc.stop();
}

/// A Grafana still on legacy (dashboard) alerting posts its flat body to the same webhook
/// URL as a unified one: it pages, a reminder is a repeat, and `ok` resolves the page.
#[test]
fn a_legacy_grafana_alert_pages_once_and_ok_resolves_it() {
    let pd = StandIn::start(|_| Answer::Accept);
    let on = on_webhooks_judging_silence(&pd, "1h");
    let body = |state: &str| {
        format!(
            r#"{{"dashboardId":1,"evalMatches":[{{"value":1,"metric":"Count","tags":{{}}}}],
            "message":"Checkout is failing","orgId":1,"panelId":2,"ruleId":7,
            "ruleName":"Checkout errors","ruleUrl":"http://grafana:3000/d/x","state":"{state}",
            "tags":{{"service":"checkout"}},"title":"[Alerting] Checkout errors"}}"#
        )
    };
    let post = |state: &str| {
        let (code, text) = http_post(
            &on.hook,
            "/api/v1/grafana",
            "application/json",
            &body(state),
        );
        assert_eq!(code, 200, "{state}: {text}");
    };
    post("alerting");
    wait_for("the page", Duration::from_secs(30), &on.svc, || {
        !pd.accepted().is_empty()
    });
    let key = pd.accepted()[0].body["dedup_key"].clone();
    post("alerting");
    post("ok");
    wait_for(
        "the page resolved",
        Duration::from_secs(30),
        &on.svc,
        || resolve_sent(&pd, &key),
    );
    let triggers = pd
        .accepted()
        .iter()
        .filter(|a| a.body["event_action"] == "trigger")
        .count();
    assert_eq!(triggers, 1, "{:?}", pd.accepted());
    let (_, m) = http_get(&on.metrics, "/metrics");
    assert_eq!(
        metric(
            &m,
            "noisegate_events_received_total{source=\"http\",format=\"grafana-legacy\"}"
        ),
        3.0,
        "{m}"
    );
    let mut svc = on.svc;
    svc.stop();
}

/// A real Alertmanager with `send_resolved: false` and two alerts in one group: when one
/// resolves there, the group's next notification lists only the other. noisegate takes the
/// one left out as over then, not after `engine.max_resend_interval` (an hour here) of
/// silence; the other fires on, and the incident stays open for it.
#[test]
fn an_alert_its_alertmanager_group_leaves_out_without_send_resolved_is_over_at_once() {
    let pd = StandIn::start(|_| Answer::Accept);
    let on = on_webhooks_judging_silence(&pd, "1h");
    let (_am, am_addr) = start_alertmanager_repeating(
        on.dir.path(),
        &on.hook,
        "2s",
        "        send_resolved: false\n",
    );
    let disk = |instance: &str, extra: &str| {
        format!(
            r#"{{"labels": {{"alertname": "DiskFull", "service": "db", "severity": "critical", "instance": "{instance}"}}{extra}}}"#
        )
    };
    post_to_alertmanager(
        &am_addr,
        &format!("[{},{}]", disk("a", ""), disk("b", "")),
        1,
    );
    wait_for("the page", Duration::from_secs(30), &on.svc, || {
        !pd.accepted().is_empty()
    });
    let key = pd.accepted()[0].body["dedup_key"].clone();
    let left_out = || {
        let (_, m) = http_get(&on.metrics, "/metrics");
        metric(&m, "noisegate_left_out_resolves_total")
    };
    // Both re-sent every 2 s: nothing is left out while both fire.
    std::thread::sleep(Duration::from_secs(6));
    assert_eq!(left_out(), 0.0);
    let ended = format!(r#", "endsAt": "{}""#, now_rfc3339());
    post_to_alertmanager(&am_addr, &format!("[{}]", disk("a", &ended)), 1);
    wait_for("a taken as over", Duration::from_secs(30), &on.svc, || {
        left_out() == 1.0
    });
    std::thread::sleep(Duration::from_secs(4));
    let (_, m) = http_get(&on.metrics, "/metrics");
    assert_eq!(
        metric(&m, "noisegate_unreported_resolves_total"),
        1.0,
        "{m}"
    );
    assert_eq!(metric(&m, "noisegate_group_rosters"), 1.0, "{m}");
    assert!(
        !resolve_sent(&pd, &key),
        "b still fires: {:?}",
        pd.accepted()
    );
    let mut svc = on.svc;
    svc.stop();
}

/// A real Alertmanager that repeats less often than `engine.max_resend_interval` assumes
/// (kube-prometheus repeats every 12 h against the 4 h 5 min shipped; here 10 s against 4 s):
/// a standing alert is judged over before its re-send comes. The re-send, with the alert's
/// own start, shows it never stopped: noisegate learns the longer gap from it, so the
/// mistake is made once, not once per repeat.
#[test]
fn an_alertmanager_that_repeats_less_often_than_assumed_is_learned_from_its_first_re_send() {
    let (
        _pd,
        OnWebhooks {
            dir: _dir,
            mut svc,
            metrics,
            ..
        },
        _am,
        _,
        _,
    ) = paged_behind_repeating_alertmanager("4s", "10s", "");
    let scrape = || http_get(&metrics, "/metrics").1;
    assert_eq!(metric(&scrape(), "noisegate_resend_interval_seconds"), 4.0);
    // Judged over after 4 s of silence (the mistake), then re-sent at 10 s: still firing.
    wait_for(
        "the re-send's gap learned",
        Duration::from_secs(40),
        &svc,
        || metric(&scrape(), "noisegate_resend_interval_seconds") >= 9.0,
    );
    let m = scrape();
    assert_eq!(
        metric(&m, "noisegate_unreported_resolves_total"),
        1.0,
        "{m}"
    );
    assert!(
        metric(&m, "noisegate_active_alerts") >= 1.0,
        "firing again: {m}"
    );
    // Three more repeats while it fires: no gap is taken for its end again.
    std::thread::sleep(Duration::from_secs(32));
    let m = scrape();
    assert_eq!(
        metric(&m, "noisegate_unreported_resolves_total"),
        1.0,
        "{m}\n{}",
        svc.log()
    );
    assert!(metric(&m, "noisegate_active_alerts") >= 1.0, "{m}");
    svc.stop();
}

/// The same Alertmanager, repeating every 10 s against the 4 s assumed, but its receiver has
/// been heard sending a resolve (`send_resolved: true`, the default): it reports every end,
/// so its silence is no news. A standing alert is not judged over between its re-sends, not
/// even before the first re-send has shown how long they take, and its incident stays open.
#[test]
fn an_alertmanager_heard_sending_resolves_keeps_a_standing_alert_open_from_the_first_repeat() {
    let pd = StandIn::start(|_| Answer::Accept);
    let OnWebhooks {
        dir,
        mut svc,
        hook,
        metrics,
    } = on_webhooks_judging_silence(&pd, "4s");
    let (_am, am_addr) = start_alertmanager_repeating(dir.path(), &hook, "10s", "");
    let scrape = || http_get(&metrics, "/metrics").1;
    // A warning that fires and clears shows that this receiver sends resolves.
    let blip = |extra: &str| {
        format!(
            r#"[{{"labels": {{"alertname": "Blip", "service": "db", "severity": "warning"}}{extra}}}]"#
        )
    };
    post_to_alertmanager(&am_addr, &blip(""), 1);
    wait_for("the blip heard", Duration::from_secs(30), &svc, || {
        metric(&scrape(), "noisegate_alert_events_total") >= 1.0
    });
    assert_eq!(metric(&scrape(), "noisegate_resolving_senders"), 0.0);
    let ended = format!(r#", "endsAt": "{}""#, now_rfc3339());
    post_to_alertmanager(&am_addr, &blip(&ended), 1);
    wait_for(
        "the receiver known to send resolves",
        Duration::from_secs(30),
        &svc,
        || metric(&scrape(), "noisegate_resolving_senders") == 1.0,
    );
    post_to_alertmanager(&am_addr, &disk_full(""), 1);
    wait_for("the page", Duration::from_secs(30), &svc, || {
        pd.accepted()
            .iter()
            .any(|a| a.body["event_action"] == "trigger")
    });
    let key = pd.accepted()[0].body["dedup_key"].clone();
    // Three repeats, 10 s apart, each gap longer than the 4 s assumed: nothing ends.
    std::thread::sleep(Duration::from_secs(32));
    let m = scrape();
    assert_eq!(
        metric(&m, "noisegate_unreported_resolves_total"),
        0.0,
        "{m}\n{}",
        svc.log()
    );
    assert!(!resolve_sent(&pd, &key), "resolved: {:?}", pd.accepted());
    assert!(metric(&m, "noisegate_active_alerts") >= 1.0, "{m}");
    // The gaps it did see are learned all the same, for receivers not known to resolve.
    assert!(
        metric(&m, "noisegate_resend_interval_seconds") >= 9.0,
        "{m}"
    );
    svc.stop();
}

/// noisegate on webhooks with the live clock as shipped and critical alerts held `hold`,
/// behind a real Alertmanager that re-sends its firing groups every second; returns the
/// PagerDuty stand-in, the service, Alertmanager and its address.
fn held_behind_alertmanager(hold: &str) -> (StandIn, OnWebhooks, KillOnDrop, String) {
    let pd = StandIn::start(|_| Answer::Accept);
    let on = run_on_webhooks_amended(&pd, |t| {
        format!("[hold]\ncritical = \"{hold}\"\n{}", live_clock(t))
    });
    let (am, am_addr) = start_alertmanager_repeating(on.dir.path(), &on.hook, "1s", "");
    (pd, on, am, am_addr)
}

/// A real Alertmanager re-sending its firing group every second: the webhooks never go
/// quiet for `idle_advance_after` (the shipped 30 s) and carry only the alert's start, so
/// nothing in them moves event time on. Webhook input is live, so event time runs at wall
/// speed between them, and the 3 s hold ends on time: the page comes while Alertmanager is
/// still sending, not only once it stops.
#[test]
fn a_hold_ends_on_time_while_alertmanager_keeps_re_sending() {
    let (pd, on, _am, am_addr) = held_behind_alertmanager("3s");
    let OnWebhooks {
        mut svc, metrics, ..
    } = on;
    let t0 = Instant::now();
    let posted = unix_now();
    post_to_alertmanager(&am_addr, &disk_full(""), 1);
    wait_for("the page", Duration::from_secs(20), &svc, || {
        !pd.accepted().is_empty()
    });
    let waited = t0.elapsed();
    let page = &pd.accepted()[0].body;
    assert_eq!(page["event_action"], "trigger", "{page}");
    assert!(
        waited >= Duration::from_secs(3),
        "paged within its 3 s hold, after {waited:?}"
    );
    // Alertmanager was re-sending all along: by the page, its first notification and a
    // re-send had arrived.
    let (_, m) = http_get(&metrics, "/metrics");
    assert!(
        metric(&m, "noisegate_alert_events_total") >= 2.0,
        "re-sends before the page: {m}"
    );
    // Event time ran on past the alert's start (Alertmanager's clock: when it was posted)
    // by the hold, and not past the wall clock.
    let event_time = metric(&m, "noisegate_event_time_seconds");
    assert!(
        event_time >= posted + 2.5 && event_time <= unix_now() + 0.5,
        "event time {event_time}, posted at {posted}"
    );
    svc.stop();
}

/// Time passes while noisegate is down. A critical alert held 20 s arrives and is
/// checkpointed; noisegate stops and stays down past the hold while Alertmanager keeps
/// trying. Restarted on the same state, it pages at once: event time resumes from the
/// checkpoint plus the time since, not from the checkpoint (which would hold the page for
/// the rest of the hold again, as only re-sends arrive).
#[test]
fn a_hold_that_ended_while_noisegate_was_down_pages_at_restart() {
    let (pd, on, _am, am_addr) = held_behind_alertmanager("20s");
    let OnWebhooks {
        dir,
        mut svc,
        metrics,
        ..
    } = on;
    post_to_alertmanager(&am_addr, &disk_full(""), 1);
    wait_for("the alert", Duration::from_secs(20), &svc, || {
        let (_, m) = http_get(&metrics, "/metrics");
        metric(&m, "noisegate_alert_events_total") >= 1.0
    });
    // SIGTERM: a final checkpoint with the alert in its hold.
    svc.stop();
    assert!(pd.accepted().is_empty(), "paged within its hold");
    std::thread::sleep(Duration::from_secs(22));
    let mut svc = Service::start(&dir.path().join("noisegate.toml"), &[]);
    let t0 = Instant::now();
    wait_for(
        "the page after the restart",
        Duration::from_secs(8),
        &svc,
        || !pd.accepted().is_empty(),
    );
    assert!(svc.log().contains("event time resumes"), "{}", svc.log());
    assert_eq!(pd.accepted()[0].body["event_action"], "trigger");
    assert!(t0.elapsed() < Duration::from_secs(8));
    svc.stop();
}

/// A sender whose clock runs a day ahead: its alert is taken as of when it arrived, so the
/// page is dated today and event time does not jump a day on (which would end every hold
/// and quiet period at once).
#[test]
fn an_alert_stamped_a_day_ahead_is_taken_as_of_its_arrival() {
    let pd = StandIn::start(|_| Answer::Accept);
    let OnWebhooks {
        dir: _dir,
        mut svc,
        hook,
        metrics,
    } = run_on_webhooks(&pd);
    let tomorrow = (chrono::Utc::now() + chrono::Duration::days(1))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let mut body: Value =
        serde_json::from_str(&am_webhook(&[("DatabaseDown", "ledger", "red")])).unwrap();
    body["alerts"][0]["startsAt"] = tomorrow.into();
    let body = body.to_string();
    let sent = chrono::Utc::now();
    let (code, _) = post_am_webhook(&hook, &body);
    assert_eq!(code, 200);
    wait_for("the page", Duration::from_secs(30), &svc, || {
        !pd.accepted().is_empty()
    });
    let page = &pd.accepted()[0].body;
    let at = chrono::DateTime::parse_from_rfc3339(page["payload"]["timestamp"].as_str().unwrap())
        .unwrap()
        .with_timezone(&chrono::Utc);
    assert!(
        (at - sent).num_seconds().abs() < 60,
        "dated {at}, sent {sent}: {page}"
    );
    let (_, m) = http_get(&metrics, "/metrics");
    assert_eq!(
        metric(&m, "noisegate_events_clock_skewed_total"),
        1.0,
        "{m}"
    );
    assert!(svc.log().contains("max_clock_skew"), "{}", svc.log());
    svc.stop();
}

/// A deploy sent as a PagerDuty Change Event shows on the page of the outage that follows
/// it on the same service.
#[test]
fn a_page_shows_the_deploy_that_preceded_it() {
    let pd = StandIn::start(|_| Answer::Accept);
    let OnWebhooks {
        dir: _dir,
        mut svc,
        hook,
        metrics,
    } = run_on_webhooks(&pd);
    let deploy = serde_json::json!({
        "routing_key": "R-ledger",
        "payload": {
            "summary": "Deploy ledger v4.2.0",
            "timestamp": now_rfc3339(),
            "source": "argo-cd",
            "custom_details": {"service": "ledger", "revision": "4f2a9c1"}
        },
        "links": [{"href": "https://argo.example/ledger/42", "text": "rollout"}]
    })
    .to_string();
    let (code, body) = http_post(
        &hook,
        "/api/v1/pagerduty/events",
        "application/json",
        &deploy,
    );
    assert_eq!(code, 200, "{body}");
    let (code, _) = post_am_webhook(&hook, &am_webhook(&[("DatabaseDown", "ledger", "red")]));
    assert_eq!(code, 200);
    wait_for("the page", Duration::from_secs(30), &svc, || {
        !pd.accepted().is_empty()
    });
    let page = &pd.accepted()[0].body;
    let changes = &page["payload"]["custom_details"]["recent_changes"];
    assert_eq!(changes[0]["summary"], "Deploy ledger v4.2.0", "{page}");
    assert_eq!(changes[0]["service"], "ledger");
    assert_eq!(changes[0]["source"], "argo-cd");
    assert_eq!(changes[0]["link"], "https://argo.example/ledger/42");
    let (_, m) = http_get(&metrics, "/metrics");
    assert_eq!(
        metric(&m, "noisegate_change_events_total{result=\"logged\"}"),
        1.0,
        "{m}"
    );
    assert_eq!(metric(&m, "noisegate_alert_events_total"), 1.0, "{m}");
    svc.stop();
}

/// The least-effort way in for a team that already pages through Alertmanager's PagerDuty
/// receiver: point its `url` at noisegate's Events API endpoint. Alertmanager then sends one
/// Events API v2 event per group (its `dedup_key` the group's), re-triggered as alerts join
/// (`[FIRING:1]`, then `[FIRING:2]`) and resolved when the group is. noisegate must take that
/// as one alert: one page, resolved once the group is.
#[test]
fn an_alertmanager_pagerduty_receiver_pointed_at_noisegate_pages_once_and_resolves() {
    let pd = StandIn::start(|_| Answer::Accept);
    let on = run_on_webhooks_amended(&pd, |t| {
        let t = live_clock(t);
        format!("[engine]\nclose_quiet = \"1s\"\nallowed_lateness = \"1s\"\n{t}")
    });
    let (_am, am_addr) = start_alertmanager_receiving(
        on.dir.path(),
        "1h",
        &format!(
            "    pagerduty_configs:\n      - routing_key: rk-alertmanager\n        \
             url: http://{}/api/v1/pagerduty/events\n        send_resolved: true\n",
            on.hook
        ),
    );
    let down = |instance: &str, extra: &str| {
        format!(
            r#"{{"labels": {{"alertname": "DatabaseDown", "instance": "{instance}", "service": "db", "severity": "critical"}}{extra}}}"#
        )
    };
    post_to_alertmanager(&am_addr, &format!("[{}]", down("db-1", "")), 1);
    wait_for("the page", Duration::from_secs(30), &on.svc, || {
        !pd.accepted().is_empty()
    });
    // A second instance joins the group: Alertmanager triggers the group's key again.
    post_to_alertmanager(
        &am_addr,
        &format!("[{},{}]", down("db-1", ""), down("db-2", "")),
        1,
    );
    std::thread::sleep(Duration::from_secs(3));
    let (_, m) = http_get(&on.metrics, "/metrics");
    let received: f64 = m
        .lines()
        .filter(|l| {
            l.starts_with("noisegate_events_received_total")
                && l.contains(r#"format="pagerduty-v2""#)
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum();
    assert!(received >= 2.0, "both notifications arrived: {m}");
    let triggers = |pd: &StandIn| {
        pd.accepted()
            .iter()
            .filter(|a| a.body["event_action"] == "trigger")
            .count()
    };
    assert_eq!(triggers(&pd), 1, "one group, one page: {:?}", pd.accepted());
    let key = pd.accepted()[0].body["dedup_key"].clone();
    // Both resolved at Alertmanager: it resolves the group's key, and the page follows.
    let ended = format!(r#", "endsAt": "{}""#, now_rfc3339());
    post_to_alertmanager(
        &am_addr,
        &format!("[{},{}]", down("db-1", &ended), down("db-2", &ended)),
        1,
    );
    wait_for(
        "the page resolved",
        Duration::from_secs(60),
        &on.svc,
        || resolve_sent(&pd, &key),
    );
    assert_eq!(triggers(&pd), 1, "{:?}", pd.accepted());
    // Tools still on the Events API v1 (Alertmanager itself, with a `service_key`, posts
    // only to PagerDuty) post the same endpoint.
    let v1 = r#"{"service_key":"sk-nagios","event_type":"trigger","incident_key":"web-3/disk",
        "description":"CRITICAL: disk /var 97% on web-3","client":"Nagios",
        "details":{"host":"web-3","service":"web"}}"#;
    let (code, body) = http_post(&on.hook, "/api/v1/pagerduty/events", "application/json", v1);
    assert_eq!(code, 200, "{body}");
    assert!(body.contains(r#""alert_events":1"#), "{body}");
    let mut svc = on.svc;
    svc.stop();
}

/// noisegate trialled beside an Alertmanager that still pages PagerDuty itself: one
/// receiver with both a webhook to noisegate and its PagerDuty integration (the usual way to
/// try noisegate). PagerDuty's incident is keyed by Alertmanager's group; when someone
/// acknowledges it, PagerDuty's webhook names that key, and it must find the alerts
/// noisegate has from the same notification, or the trial learns nothing from the people
/// working the incidents.
#[test]
fn an_incident_alertmanager_opened_itself_links_its_acknowledgement_to_the_alerts() {
    let pd = StandIn::start(|_| Answer::Accept);
    let OnWebhooks {
        dir,
        mut svc,
        hook,
        metrics,
    } = run_on_webhooks(&pd);
    let summary = dir.path().join(SUMMARY);
    let (_am, am_addr) = start_alertmanager_receiving(
        dir.path(),
        "1h",
        &format!(
            "    webhook_configs:\n      - url: http://{hook}/api/v1/alertmanager\n        \
             send_resolved: true\n    pagerduty_configs:\n      - routing_key: rk-alertmanager\n        \
             url: http://{}/v2/enqueue\n        send_resolved: true\n",
            pd.addr
        ),
    );
    let alert =
        r#"[{"labels": {"alertname": "DiskFull", "service": "db", "severity": "warning"}}]"#;
    post_to_alertmanager(&am_addr, alert, 1);
    let from_am = |pd: &StandIn| {
        pd.accepted()
            .into_iter()
            .find(|a| a.body["routing_key"] == "rk-alertmanager")
    };
    wait_for(
        "Alertmanager's own page",
        Duration::from_secs(30),
        &svc,
        || from_am(&pd).is_some(),
    );
    let key = from_am(&pd).unwrap().body["dedup_key"].clone();
    // PagerDuty's v3 webhook for the acknowledgement of the incident that page opened.
    let ack = serde_json::json!({"event": {
        "id": "01ACK", "event_type": "incident.acknowledged", "resource_type": "incident",
        "occurred_at": now_rfc3339(),
        "agent": {"id": "PUSER01", "type": "user_reference", "summary": "On-call"},
        "data": {"id": "Q1ABCDEF", "type": "incident", "title": "[FIRING:1] DiskFull",
                 "incident_key": key, "urgency": "high", "status": "acknowledged",
                 "service": {"id": "PSVC01", "type": "service_reference", "summary": "db"}}}});
    let (code, body) = post_pd_webhook(&hook, &ack.to_string());
    assert_eq!(code, 200, "{body}");
    let linked = |result: &str| {
        let (_, m) = http_get(&metrics, "/metrics");
        metric(
            &m,
            &format!("noisegate_lifecycle_events_total{{result=\"{result}\"}}"),
        )
    };
    wait_for("the link counted", Duration::from_secs(10), &svc, || {
        linked("linked") == 1.0
    });
    assert_eq!(linked("unlinked"), 0.0);
    svc.stop();
    let s: Value = serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    assert_eq!(s["engine"]["lifecycle_linked"], 1, "{s}");
    assert_eq!(s["engine"]["lifecycle_unlinked"], 0, "{s}");
}
