//! The transport ceiling for the webhook benchmark: an HTTP server on noisegate's own stack
//! (axum on axum-server/hyper, multi-threaded tokio) that reads each request body and answers
//! 200 with a small JSON body, doing nothing else. `scripts/bench-webhooks.sh` loads it with
//! the same wrk settings as noisegate and Alertmanager, so "how far is noisegate from what
//! this machine can serve at all" is measured in the same run.
//!
//! usage: cargo bench --bench http_ceiling -- ADDR   (serves until killed; without ADDR it
//! prints this and exits, so a plain `cargo bench` does not hang)

use axum::routing::post;

fn main() {
    let Some(addr) = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with("--"))
        .and_then(|a| a.parse::<std::net::SocketAddr>().ok())
    else {
        println!("http_ceiling: pass ADDR (e.g. 127.0.0.1:18282) to serve; used by scripts/bench-webhooks.sh");
        return;
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    rt.block_on(async move {
        let app = axum::Router::new().fallback(post(|body: axum::body::Bytes| async move {
            std::hint::black_box(&body);
            (
                [("content-type", "application/json")],
                "{\"status\":\"ok\"}",
            )
        }));
        axum_server::bind(addr)
            .serve(app.into_make_service())
            .await
            .expect("serve");
    });
}
