//! PagerDuty sink: sends pages straight to a PagerDuty Events API v2 endpoint
//! (`https://events.pagerduty.com/v2/enqueue`, or any URL — tests point it at a local
//! stand-in). Owns the HTTP client, the sending task and the sink's metrics; what goes out
//! next and when is decided by the sans-I/O [`shaper`], and what is a page by the engine.
//!
//! Each page handed to [`PagerDutySink::send`] comes back to the service as a delivery (like a
//! Kafka output) once PagerDuty accepted it (2xx), rejected it for good (4xx: logged and
//! counted, never retried — a malformed event would otherwise block its lane forever) or
//! coalesced it into a queued event of the same `dedup_key`. So checkpoints wait for
//! PagerDuty too: after a crash, pages not yet accepted are sent again (same `dedup_key`,
//! which PagerDuty deduplicates), and input pauses while too many are outstanding — the
//! queue is bounded by `kafka.max_in_flight`, never by dropping.

pub mod shaper;

use std::time::{Duration, Instant};

use futures::stream::{FuturesUnordered, StreamExt as _};
use metrics::{counter, gauge, Counter};
use tokio::sync::{mpsc, oneshot};

use crate::exporters::kafka::{Pending, Tag};
use crate::record::Page;
use shaper::{Attempt, Outcome, Shaper, ShaperConfig};

/// Longest `Retry-After` honoured: a proxy answering "come back tomorrow" must not silence
/// paging for a day; past this, normal backoff resumes.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(600);

/// `[pagerduty]` sink settings, validated.
#[derive(Debug, Clone)]
pub struct SinkConfig {
    /// Events API v2 enqueue URL.
    pub url: String,
    pub shaper: ShaperConfig,
    /// Per-request timeout (a timeout is retried).
    pub timeout: Duration,
}

struct Msg {
    routing_key: String,
    dedup_key: String,
    action: crate::record::PageAction,
    body: Vec<u8>,
    done: oneshot::Sender<Result<(), String>>,
}

/// Handle to the sending task.
pub struct PagerDutySink {
    tx: mpsc::UnboundedSender<Msg>,
}

impl PagerDutySink {
    /// Starts the sending task on the current runtime.
    pub fn start(cfg: SinkConfig) -> anyhow::Result<PagerDutySink> {
        crate::tls::install_crypto_provider();
        let client = reqwest::Client::builder()
            .user_agent(concat!("noisegate/", env!("CARGO_PKG_VERSION")))
            .timeout(cfg.timeout)
            .build()
            .map_err(|e| anyhow::anyhow!("pagerduty: cannot build the HTTP client: {e}"))?;
        // The channel is unbounded on purpose: its length is bounded by the service, which
        // counts these as in-flight outputs and pauses input at `kafka.max_in_flight`.
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(run(cfg, client, rx));
        Ok(PagerDutySink { tx })
    }

    /// Queues one page; the returned future resolves when it has ended (see module docs).
    pub fn send(&self, page: &Page, tag: Tag) -> Pending {
        let (done, rx) = oneshot::channel();
        let body = match serde_json::to_vec(page) {
            Ok(b) => b,
            Err(e) => return Box::pin(async move { (tag, Err(format!("encoding a page: {e}"))) }),
        };
        let msg = Msg {
            routing_key: page.routing_key.clone(),
            dedup_key: page.dedup_key.as_str().to_string(),
            action: page.event_action,
            body,
            done,
        };
        if self.tx.send(msg).is_err() {
            return Box::pin(async move { (tag, Err("the PagerDuty sink has stopped".into())) });
        }
        Box::pin(async move {
            let r = rx
                .await
                .unwrap_or_else(|_| Err("the PagerDuty sink has stopped".into()));
            (tag, r)
        })
    }
}

struct Handles {
    delivered: Counter,
    rejected: Counter,
    coalesced: Counter,
    retries: Counter,
    throttled: Counter,
    delayed: Counter,
    status: [Counter; 5],
}

impl Handles {
    fn new() -> Handles {
        let ev = |r: &'static str| counter!(crate::metrics::PD_EVENTS, "result" => r);
        let st = |r: &'static str| counter!(crate::metrics::PD_REQUESTS, "status" => r);
        Handles {
            delivered: ev("delivered"),
            rejected: ev("rejected"),
            coalesced: ev("coalesced"),
            retries: counter!(crate::metrics::PD_RETRIES),
            throttled: counter!(crate::metrics::PD_THROTTLED),
            delayed: counter!(crate::metrics::PD_DELAYED),
            status: [st("2xx"), st("4xx"), st("429"), st("5xx"), st("error")],
        }
    }

    fn update(&self, s: &shaper::ShaperStats) {
        self.delivered.absolute(s.delivered);
        self.rejected.absolute(s.rejected);
        self.coalesced.absolute(s.coalesced);
        self.retries.absolute(s.retries);
        self.throttled.absolute(s.throttled);
        self.delayed.absolute(s.delayed);
    }
}

type Waiter = oneshot::Sender<Result<(), String>>;

async fn run(cfg: SinkConfig, client: reqwest::Client, mut rx: mpsc::UnboundedReceiver<Msg>) {
    let seed = std::process::id() as u64 ^ (chrono::Utc::now().timestamp_micros() as u64);
    let mut shaper: Shaper<Waiter> = Shaper::new(cfg.shaper.clone(), seed);
    let mut inflight = FuturesUnordered::new();
    let h = Handles::new();
    let queue = gauge!(crate::metrics::PD_QUEUE);
    let oldest = gauge!(crate::metrics::PD_OLDEST);
    let mut open = true;
    loop {
        let now = Instant::now();
        while let Some(a) = shaper.poll_send(now) {
            inflight.push(request(&client, &cfg.url, a));
        }
        h.update(shaper.stats());
        queue.set(shaper.queued() as f64);
        oldest.set(
            shaper
                .oldest()
                .map_or(0.0, |t| now.duration_since(t).as_secs_f64()),
        );
        if !open && inflight.is_empty() && shaper.queued() == 0 {
            return;
        }
        let wake = shaper.next_wakeup(now);
        tokio::select! {
            m = rx.recv(), if open => match m {
                Some(m) => {
                    shaper.enqueue(&m.routing_key, &m.dedup_key, m.action, m.body, m.done, Instant::now());
                    // Take whatever else is waiting before sending: one poll per burst.
                    while let Ok(m) = rx.try_recv() {
                        shaper.enqueue(&m.routing_key, &m.dedup_key, m.action, m.body, m.done, Instant::now());
                    }
                }
                None => open = false,
            },
            Some((a, outcome, class)) = inflight.next(), if !inflight.is_empty() => {
                h.status[class].increment(1);
                if let Some((_, waiters)) = shaper.on_result(a, outcome, Instant::now()) {
                    for w in waiters {
                        // The service may have stopped waiting; nothing to do then.
                        let _ = w.send(Ok(()));
                    }
                }
            }
            _ = sleep_until(wake), if wake.is_some() => {}
        }
    }
}

async fn sleep_until(t: Option<Instant>) {
    match t {
        Some(t) => tokio::time::sleep_until(t.into()).await,
        None => std::future::pending().await,
    }
}

/// Index into `Handles::status`.
const C2XX: usize = 0;
const C4XX: usize = 1;
const C429: usize = 2;
const C5XX: usize = 3;
const CERR: usize = 4;

async fn request(
    client: &reqwest::Client,
    url: &str,
    a: Attempt<Waiter>,
) -> (Attempt<Waiter>, Outcome, usize) {
    let sent = client
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(a.item.body.clone())
        .send()
        .await;
    let resp = match sent {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(
                dedup_key = %a.item.dedup_key,
                attempt = a.item.attempts,
                error = %e,
                "pagerduty: request failed; will retry"
            );
            let o = Outcome::Retry {
                retry_after: None,
                throttled: false,
            };
            return (a, o, CERR);
        }
    };
    let status = resp.status();
    let retry_after = resp
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(parse_retry_after)
        .map(|d| d.min(MAX_RETRY_AFTER));
    if status.is_success() {
        return (a, Outcome::Delivered, C2XX);
    }
    let throttled = status == reqwest::StatusCode::TOO_MANY_REQUESTS;
    if throttled || status.is_server_error() || status == reqwest::StatusCode::REQUEST_TIMEOUT {
        tracing::warn!(
            dedup_key = %a.item.dedup_key,
            attempt = a.item.attempts,
            %status,
            retry_after = ?retry_after,
            "pagerduty: not accepted; will retry"
        );
        let class = if throttled {
            C429
        } else if status.is_server_error() {
            C5XX
        } else {
            C4XX
        };
        return (
            a,
            Outcome::Retry {
                retry_after,
                throttled,
            },
            class,
        );
    }
    // PagerDuty explains a 400 in the body ("Event object is invalid", with errors); it is
    // short, and the operator needs it to fix the routing key or the event.
    let text = resp.text().await.unwrap_or_default();
    let text: String = text.chars().take(512).collect();
    tracing::error!(
        dedup_key = %a.item.dedup_key,
        routing_key_len = a.routing_key.len(),
        %status,
        body = %text,
        "pagerduty: event rejected; not retrying"
    );
    (a, Outcome::Rejected, C4XX)
}

/// `Retry-After`: delay-seconds or an HTTP-date (RFC 9110 §10.2.3).
pub fn parse_retry_after(v: &str) -> Option<Duration> {
    let v = v.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = chrono::DateTime::parse_from_rfc2822(v).ok()?;
    let ms = at.timestamp_millis() - chrono::Utc::now().timestamp_millis();
    Some(Duration::from_millis(ms.max(0) as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_takes_seconds_and_dates() {
        assert_eq!(parse_retry_after("30"), Some(Duration::from_secs(30)));
        assert_eq!(parse_retry_after(" 0 "), Some(Duration::ZERO));
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(Duration::ZERO),
            "a date in the past means now"
        );
        let later = (chrono::Utc::now() + chrono::Duration::seconds(120))
            .format("%a, %d %b %Y %H:%M:%S GMT")
            .to_string();
        let d = parse_retry_after(&later).expect("a date parses");
        assert!(
            d > Duration::from_secs(100) && d <= Duration::from_secs(120),
            "{d:?}"
        );
        assert_eq!(parse_retry_after("soon"), None);
        assert_eq!(parse_retry_after("-5"), None);
    }
}
