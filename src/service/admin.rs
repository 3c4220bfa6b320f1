//! The service's own HTTP endpoints: `/metrics` (Prometheus text format), `/healthz` (the
//! process is alive) and `/readyz` (state restored and input partitions assigned). Owns the
//! routes and nothing else (binding, TLS and auth are `receivers::listen`'s); alert ingestion over HTTP belongs to `receivers/`.

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
    sec: &crate::receivers::listen::Security,
) -> std::io::Result<SocketAddr> {
    let state = AppState { prom, ready };
    // Probes carry no credentials; the numbers do need them when a token is set.
    let open = Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .with_state(state.clone());
    let guarded = crate::receivers::listen::protect(
        Router::new()
            .route("/metrics", get(metrics))
            .with_state(state),
        sec,
    );
    crate::receivers::listen::serve(addr, open.merge(guarded), sec, "admin").await
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
