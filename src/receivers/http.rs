//! HTTP receivers: webhooks — `POST /api/v1/alertmanager` (Alertmanager webhook v4),
//! `/api/v1/grafana`, `/api/v1/pagerduty/events` (Events API v2 and v1 bodies) and
//! `/api/v1/pagerduty/webhook` (v3 webhooks, HMAC-SHA256 signature checked, and legacy v2
//! ones) — and OTLP/HTTP
//! `POST /v1/logs` (protobuf or JSON, optionally gzip) on its own listener. Owns the listeners,
//! body and content-type limits, and the HTTP answers; hands each accepted body to the
//! service through a bounded queue and answers with what the service says.
//!
//! Answers: 200 `{"status":"ok","alert_events":N}`; 400 with `{"error","reason"}` for a body
//! that cannot be used (it is also dead-lettered); 413 over the size limit; 415 for a
//! non-JSON content type; 503 with `Retry-After` when the queue is full (the sender retries;
//! memory stays bounded).
//!
//! Durability is the service's choice (`[webhooks] ack`): the answer comes when the service
//! sends it — once the engine has the body ("received"), or once a checkpoint covers it and
//! its outputs are delivered ("checkpointed").

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use tokio::sync::{mpsc, oneshot};

use crate::decode::{DecodeError, Format};

/// One accepted request, waiting for the engine.
pub struct Ingest {
    pub format: Format,
    pub path: &'static str,
    pub body: Bytes,
    pub reply: oneshot::Sender<Result<usize, DecodeError>>,
}

#[derive(Clone)]
struct AppState {
    tx: mpsc::Sender<Ingest>,
    /// PagerDuty v3 webhook signing secret; `None` accepts unsigned requests.
    pd_secret: Option<std::sync::Arc<crate::config::Secret>>,
}

/// The queue both HTTP receivers feed.
pub fn queue(len: usize) -> (mpsc::Sender<Ingest>, mpsc::Receiver<Ingest>) {
    mpsc::channel(len.max(1))
}

/// Binds `addr` and serves the webhook paths; returns the bound address.
pub async fn serve(
    addr: SocketAddr,
    max_body: usize,
    tx: mpsc::Sender<Ingest>,
    pd_secret: Option<crate::config::Secret>,
    sec: &super::listen::Security,
) -> std::io::Result<SocketAddr> {
    let app = Router::new()
        .route("/api/v1/pagerduty/webhook", post(pagerduty_webhook))
        .route(
            "/api/v1/alertmanager",
            post(|s, h, b| handle(s, h, b, Format::Alertmanager, "/api/v1/alertmanager")),
        )
        .route("/api/v1/grafana", post(grafana))
        // Prometheus' own Alertmanager client posts here: `alerting.alertmanagers` can
        // point at noisegate directly.
        .route(
            "/api/v2/alerts",
            post(|s, h, b| handle(s, h, b, Format::Prometheus, "/api/v2/alerts")),
        )
        .route(
            "/api/v1/pagerduty/events",
            post(|s, h, b| handle(s, h, b, Format::PagerDutyV2, "/api/v1/pagerduty/events")),
        )
        .layer(DefaultBodyLimit::max(max_body))
        .with_state(AppState {
            tx,
            pd_secret: pd_secret.map(std::sync::Arc::new),
        });
    super::listen::serve(addr, super::listen::protect(app, sec), sec, "webhook").await
}

/// Binds `addr` and serves OTLP/HTTP `POST /v1/logs`; returns the bound address.
pub async fn serve_otlp(
    addr: SocketAddr,
    max_body: usize,
    tx: mpsc::Sender<Ingest>,
    sec: &super::listen::Security,
) -> std::io::Result<SocketAddr> {
    let app = Router::new()
        .route("/v1/logs", post(otlp_logs))
        .layer(DefaultBodyLimit::max(max_body))
        .with_state(AppState {
            tx,
            pd_secret: None,
        });
    super::listen::serve(addr, super::listen::protect(app, sec), sec, "OTLP/HTTP").await
}

/// Whether `X-PagerDuty-Signature` (`v1=<hex HMAC-SHA256 of the body>`, several
/// comma-separated during a secret rotation) carries a valid signature of `body`.
pub fn pagerduty_signature_ok(secret: &[u8], header: &str, body: &[u8]) -> bool {
    use hmac::{Hmac, Mac};
    header.split(',').any(|sig| {
        let Some(hex) = sig.trim().strip_prefix("v1=") else {
            return false;
        };
        let Ok(want) = hex::decode(hex) else {
            return false;
        };
        let Ok(mut mac) = Hmac::<sha2::Sha256>::new_from_slice(secret) else {
            return false;
        };
        mac.update(body);
        // Constant-time comparison.
        mac.verify_slice(&want).is_ok()
    })
}

/// PagerDuty webhooks, v3 or legacy v2: signature first (401 when it does not verify; v2
/// webhooks were never signed, so an endpoint with a secret takes only v3), then as any
/// other webhook.
async fn pagerduty_webhook(State(s): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    if let Some(secret) = &s.pd_secret {
        let sig = headers
            .get("x-pagerduty-signature")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !pagerduty_signature_ok(&secret.0, sig, &body) {
            return error(
                StatusCode::UNAUTHORIZED,
                "bad_signature",
                "X-PagerDuty-Signature is missing or does not match the configured secret".into(),
            );
        }
    }
    // A legacy (v2) webhook posts `{"messages": [...]}` to the same kind of URL; an
    // account still sending them, or a script re-posting their archive, should not need
    // another endpoint.
    let format = match crate::decode::sniff(&body) {
        Ok(Format::PagerDutyWebhookV2) => Format::PagerDutyWebhookV2,
        _ => Format::PagerDutyV3,
    };
    handle(State(s), headers, body, format, "/api/v1/pagerduty/webhook").await
}

/// Grafana's webhook, unified alerting or legacy (dashboard) alerting: a Grafana still on
/// legacy alerting posts its flat body to the same kind of URL.
async fn grafana(State(s): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let format = match crate::decode::sniff(&body) {
        Ok(Format::GrafanaLegacy) => Format::GrafanaLegacy,
        _ => Format::Grafana,
    };
    handle(State(s), headers, body, format, "/api/v1/grafana").await
}

/// OTLP/HTTP: the content type picks the encoding; the answer is an empty
/// `ExportLogsServiceResponse` in the same encoding (full success).
async fn otlp_logs(State(s): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let (format, proto) = if ct.starts_with("application/x-protobuf") {
        (Format::OtlpProto, true)
    } else if ct.starts_with("application/json") {
        (Format::OtlpJson, false)
    } else {
        return error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "content_type",
            format!("content-type {ct:?} is neither application/x-protobuf nor application/json"),
        );
    };
    let gzip = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("gzip"));
    let body = if gzip {
        use std::io::Read as _;
        let mut out = Vec::new();
        // The decompressed size is bounded like the body (a zip bomb stops at the limit).
        let limit = 64 * 1024 * 1024;
        let r = flate2::read::GzDecoder::new(&body[..])
            .take(limit + 1)
            .read_to_end(&mut out);
        match r {
            Ok(n) if (n as u64) <= limit => Bytes::from(out),
            Ok(_) => {
                return error(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "too_large",
                    "gzip body inflates beyond 64 MiB".into(),
                )
            }
            Err(e) => return error(StatusCode::BAD_REQUEST, "bad_gzip", format!("gzip: {e}")),
        }
    } else {
        body
    };
    let r = handle(State(s), HeaderMap::new(), body, format, "/v1/logs").await;
    if r.status() != StatusCode::OK {
        return r;
    }
    if proto {
        (
            [(header::CONTENT_TYPE, "application/x-protobuf")],
            Vec::<u8>::new(),
        )
            .into_response()
    } else {
        ([(header::CONTENT_TYPE, "application/json")], "{}").into_response()
    }
}

fn error(status: StatusCode, reason: &str, error: String) -> Response {
    (
        status,
        Json(serde_json::json!({"error": error, "reason": reason})),
    )
        .into_response()
}

async fn handle(
    State(s): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
    format: Format,
    path: &'static str,
) -> Response {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !ct.is_empty() && !ct.starts_with("application/json") {
        return error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "content_type",
            format!("content-type {ct:?} is not application/json"),
        );
    }
    match submit(&s.tx, format, path, body).await {
        Submitted::Done(Ok(n)) => {
            Json(serde_json::json!({"status": "ok", "alert_events": n})).into_response()
        }
        Submitted::Done(Err(e)) => error(StatusCode::BAD_REQUEST, e.reason(), e.to_string()),
        Submitted::Busy => {
            let mut r = error(
                StatusCode::SERVICE_UNAVAILABLE,
                "busy",
                "noisegate is busy (input queue full); retry".into(),
            );
            r.headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
            r
        }
        Submitted::Closed => error(
            StatusCode::SERVICE_UNAVAILABLE,
            "shutting_down",
            "noisegate is shutting down".into(),
        ),
    }
}

/// What became of a submitted body.
pub enum Submitted {
    /// The engine took it: alert events decoded, or why it could not be used.
    Done(Result<usize, DecodeError>),
    /// The queue is full: the sender should retry.
    Busy,
    /// The service is stopping.
    Closed,
}

/// Queues one body for the engine and waits for its verdict (shared by HTTP and gRPC).
pub async fn submit(
    tx: &mpsc::Sender<Ingest>,
    format: Format,
    path: &'static str,
    body: Bytes,
) -> Submitted {
    let (reply, rx) = oneshot::channel();
    let ingest = Ingest {
        format,
        path,
        body,
        reply,
    };
    match tx.try_send(ingest) {
        Ok(()) => {}
        Err(mpsc::error::TrySendError::Full(_)) => return Submitted::Busy,
        Err(mpsc::error::TrySendError::Closed(_)) => return Submitted::Closed,
    }
    match rx.await {
        Ok(r) => Submitted::Done(r),
        Err(_) => Submitted::Closed,
    }
}

#[cfg(test)]
mod tests {
    use super::pagerduty_signature_ok;

    #[test]
    fn signatures_verify_and_forgeries_do_not() {
        // HMAC-SHA256("secret", "hello"), as `openssl dgst -sha256 -hmac secret` gives it.
        let good = "v1=88aab3ede8d3adf94d26ab90d3bafd4a2083070c3bcce9c014ee04a443847c0b";
        assert!(pagerduty_signature_ok(b"secret", good, b"hello"));
        assert!(pagerduty_signature_ok(
            b"secret",
            &format!("v1=00, {good}"),
            b"hello"
        ));
        assert!(!pagerduty_signature_ok(b"secret", good, b"hello!"));
        assert!(!pagerduty_signature_ok(b"other", good, b"hello"));
        assert!(!pagerduty_signature_ok(b"secret", "", b"hello"));
        assert!(!pagerduty_signature_ok(b"secret", "v1=zz", b"hello"));
    }
}
