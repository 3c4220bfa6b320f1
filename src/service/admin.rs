//! The service's own HTTP endpoints: `/metrics` (Prometheus text format), `/healthz` (the
//! process is alive) and `/readyz` (state restored and input partitions assigned). Owns the
//! listener and nothing else; alert ingestion over HTTP belongs to `receivers/`.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use metrics_exporter_prometheus::PrometheusHandle;

/// What `/readyz` reports.
#[derive(Default)]
pub struct Readiness {
    pub restored: AtomicBool,
    pub assigned: AtomicBool,
}

#[derive(Clone)]
struct AppState {
    prom: PrometheusHandle,
    ready: Arc<Readiness>,
}

/// Binds `addr` and serves until the runtime ends. Returns the bound address (port 0 picks
/// one).
pub async fn serve(
    addr: SocketAddr,
    prom: PrometheusHandle,
    ready: Arc<Readiness>,
) -> std::io::Result<SocketAddr> {
    let app = Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .with_state(AppState { prom, ready });
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "admin HTTP server stopped");
        }
    });
    Ok(bound)
}

async fn metrics(State(s): State<AppState>) -> ([(&'static str, &'static str); 1], String) {
    (
        [("content-type", "text/plain; version=0.0.4; charset=utf-8")],
        s.prom.render(),
    )
}

async fn readyz(State(s): State<AppState>) -> (StatusCode, &'static str) {
    let r = &s.ready;
    match (
        r.restored.load(Ordering::Acquire),
        r.assigned.load(Ordering::Acquire),
    ) {
        (true, true) => (StatusCode::OK, "ready\n"),
        (false, _) => (StatusCode::SERVICE_UNAVAILABLE, "state not restored yet\n"),
        (true, false) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "no input partitions assigned yet\n",
        ),
    }
}
