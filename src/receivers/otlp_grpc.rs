//! OTLP/gRPC receiver: `opentelemetry.proto.collector.logs.v1.LogsService/Export` (tonic).
//! Owns the gRPC listener and status codes; each request goes into the same bounded queue as
//! the HTTP receivers, re-encoded as protobuf so one decoder (the zero-copy walker) serves
//! every OTLP path. Full queue → `UNAVAILABLE` (retryable for OTLP exporters); unusable
//! payload → `INVALID_ARGUMENT` (and a dead letter).

use std::net::SocketAddr;

use opentelemetry_proto::tonic::collector::logs::v1::logs_service_server::{
    LogsService, LogsServiceServer,
};
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use prost::Message as _;
use tokio::sync::mpsc;
use tonic::{Request, Response, Status};

use crate::decode::Format;
use crate::receivers::http::{submit, Ingest, Submitted};

struct Logs {
    tx: mpsc::Sender<Ingest>,
}

#[tonic::async_trait]
impl LogsService for Logs {
    async fn export(
        &self,
        request: Request<ExportLogsServiceRequest>,
    ) -> Result<Response<ExportLogsServiceResponse>, Status> {
        let body = request.into_inner().encode_to_vec();
        match submit(
            &self.tx,
            Format::OtlpProto,
            "grpc:LogsService/Export",
            body.into(),
        )
        .await
        {
            Submitted::Done(Ok(_)) => Ok(Response::new(ExportLogsServiceResponse {
                partial_success: None,
            })),
            Submitted::Done(Err(e)) => {
                Err(Status::invalid_argument(format!("{} ({})", e, e.reason())))
            }
            Submitted::Busy => Err(Status::unavailable(
                "noisegate is busy (input queue full); retry",
            )),
            Submitted::Closed => Err(Status::unavailable("noisegate is shutting down")),
        }
    }
}

/// Binds `addr` and serves OTLP/gRPC (over TLS and behind the bearer token when configured);
/// returns the bound address.
pub async fn serve(
    addr: SocketAddr,
    max_body: usize,
    tx: mpsc::Sender<Ingest>,
    sec: &super::listen::Security,
) -> std::io::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    let token = sec.bearer.clone();
    // The interceptor sees only metadata, before the body is decoded: an unauthenticated
    // request costs no decoding.
    let svc = tonic::service::interceptor::InterceptedService::new(
        // The Collector's otlp exporter compresses with gzip by default.
        LogsServiceServer::new(Logs { tx })
            .max_decoding_message_size(max_body)
            .accept_compressed(tonic::codec::CompressionEncoding::Gzip),
        move |req: Request<()>| match &token {
            None => Ok(req),
            Some(t) => {
                let v = req
                    .metadata()
                    .get("authorization")
                    .and_then(|v| v.to_str().ok());
                if super::listen::bearer_ok(&t.0, v) {
                    Ok(req)
                } else {
                    Err(Status::unauthenticated(
                        "missing or wrong bearer token (authorization: Bearer <token>)",
                    ))
                }
            }
        },
    );
    let mut builder = tonic::transport::Server::builder();
    if let Some(id) = &sec.tls {
        crate::tls::install_crypto_provider();
        let tls = tonic::transport::ServerTlsConfig::new().identity(
            tonic::transport::Identity::from_pem(&id.cert_pem, &id.key_pem.0),
        );
        builder = builder.tls_config(tls).map_err(std::io::Error::other)?;
    }
    tokio::spawn(async move {
        let incoming = tokio_stream_from(listener);
        if let Err(e) = builder.add_service(svc).serve_with_incoming(incoming).await {
            tracing::error!(error = %e, "OTLP/gRPC server stopped");
        }
    });
    Ok(bound)
}

/// Accepted connections as the stream tonic serves.
fn tokio_stream_from(
    listener: tokio::net::TcpListener,
) -> impl futures::Stream<Item = std::io::Result<tokio::net::TcpStream>> {
    futures::stream::unfold(listener, |l| async move {
        let r = l.accept().await.map(|(s, _)| s);
        Some((r, l))
    })
}
