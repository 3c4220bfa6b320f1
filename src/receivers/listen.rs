//! What every HTTP listener of `noisegate run` shares: binding, optional TLS (rustls, via
//! axum-server, which handshakes each connection on its own task so a slow client cannot
//! stall the accept loop) and optional bearer-token authentication. Owns no routes: receivers
//! and the admin endpoint bring their own routers.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;

use crate::config::Secret;

/// TLS identity and bearer token for a listener (`[server]`).
#[derive(Clone, Default)]
pub struct Security {
    pub tls: Option<crate::tls::Identity>,
    pub bearer: Option<Arc<Secret>>,
}

impl Security {
    pub fn from_config(m: &crate::config::MetricsConfig) -> Security {
        Security {
            tls: m.tls.clone(),
            bearer: m.bearer_token.clone().map(Arc::new),
        }
    }

    /// `http` or `https`, for log lines.
    pub fn scheme(&self) -> &'static str {
        if self.tls.is_some() {
            "https"
        } else {
            "http"
        }
    }
}

/// Whether `Authorization: Bearer <token>` in `value` carries `token`. Compares SHA-256
/// digests in constant time, so neither the token's bytes nor its length leak through timing.
pub fn bearer_ok(token: &[u8], value: Option<&str>) -> bool {
    use sha2::Digest as _;
    use subtle::ConstantTimeEq as _;
    let Some(v) = value else { return false };
    let Some((scheme, given)) = v.trim().split_once(' ') else {
        return false;
    };
    if !scheme.eq_ignore_ascii_case("bearer") {
        return false;
    }
    let a = sha2::Sha256::digest(given.trim().as_bytes());
    let b = sha2::Sha256::digest(token);
    a.ct_eq(&b).into()
}

async fn require_bearer(State(token): State<Arc<Secret>>, req: Request, next: Next) -> Response {
    let v = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    if bearer_ok(&token.0, v) {
        return next.run(req).await;
    }
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, "Bearer")],
        axum::Json(serde_json::json!({
            "error": "missing or wrong bearer token (Authorization: Bearer <token>)",
            "reason": "unauthorized",
        })),
    )
        .into_response()
}

/// `router` behind the bearer token, when one is configured.
pub fn protect(router: Router, sec: &Security) -> Router {
    match &sec.bearer {
        Some(t) => router.layer(axum::middleware::from_fn_with_state(
            t.clone(),
            require_bearer,
        )),
        None => router,
    }
}

/// Binds `addr` and serves `router` (over TLS when configured) until the runtime ends.
/// Returns the bound address (port 0 picks one).
pub async fn serve(
    addr: SocketAddr,
    router: Router,
    sec: &Security,
    what: &'static str,
) -> std::io::Result<SocketAddr> {
    let listener = std::net::TcpListener::bind(addr)?;
    listener.set_nonblocking(true)?;
    let bound = listener.local_addr()?;
    let app = router.into_make_service();
    match &sec.tls {
        Some(id) => {
            let cfg = id
                .server_config(vec![b"h2".to_vec(), b"http/1.1".to_vec()])
                .map_err(std::io::Error::other)?;
            let server = axum_server::from_tcp_rustls(
                listener,
                axum_server::tls_rustls::RustlsConfig::from_config(cfg),
            )?;
            tokio::spawn(async move {
                if let Err(e) = server.serve(app).await {
                    tracing::error!(error = %e, "{what} HTTPS server stopped");
                }
            });
        }
        None => {
            let server = axum_server::from_tcp(listener)?;
            tokio::spawn(async move {
                if let Err(e) = server.serve(app).await {
                    tracing::error!(error = %e, "{what} HTTP server stopped");
                }
            });
        }
    }
    Ok(bound)
}

#[cfg(test)]
mod tests {
    use super::bearer_ok;

    #[test]
    fn bearer_tokens_match_exactly() {
        let t = b"s3cret-token";
        assert!(bearer_ok(t, Some("Bearer s3cret-token")));
        assert!(bearer_ok(t, Some("bearer  s3cret-token ")));
        assert!(!bearer_ok(t, Some("Bearer s3cret-token2")));
        assert!(!bearer_ok(t, Some("Bearer s3cret")));
        assert!(!bearer_ok(t, Some("Basic s3cret-token")));
        assert!(!bearer_ok(t, Some("s3cret-token")));
        assert!(!bearer_ok(t, None));
    }
}
