//! OTLP/gRPC ingest end to end: log records per second that `noisegate run` takes in over
//! `LogsService/Export` (decode, engine, answer), against the transport ceiling of the same
//! client on the same machine — a tonic `LogsService` that answers every request at once and
//! does nothing — alternating in one run.
//!
//! Load: CONNS concurrent clients (one HTTP/2 connection each), each sending requests of 100
//! alert records back to back for SECS seconds; a pool of 1000 distinct requests (later
//! batches are later in time and from other instances) so the engine sees new alerts, not
//! only repeats. noisegate runs with every output off (no Kafka, no PagerDuty): this measures
//! the receiver and the engine.
//!
//! usage: cargo bench --bench otlp_grpc_e2e [-- SECS ROUNDS CONNS]   (defaults 5 3 16)

#[path = "common/otlp_request.rs"]
mod otlp_request;

use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::logs::v1::logs_service_client::LogsServiceClient;
use opentelemetry_proto::tonic::collector::logs::v1::logs_service_server::{
    LogsService, LogsServiceServer,
};
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsServiceRequest, ExportLogsServiceResponse,
};

const BIN: &str = env!("CARGO_BIN_EXE_noisegate");
const RECORDS: usize = 100;

struct NoOp;

#[tonic::async_trait]
impl LogsService for NoOp {
    async fn export(
        &self,
        _r: tonic::Request<ExportLogsServiceRequest>,
    ) -> Result<tonic::Response<ExportLogsServiceResponse>, tonic::Status> {
        Ok(tonic::Response::new(ExportLogsServiceResponse {
            partial_success: None,
        }))
    }
}

fn free_addr() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

/// Requests acknowledged by `addr` in `secs`, with `conns` clients.
async fn load(
    addr: SocketAddr,
    secs: u64,
    conns: usize,
    pool: Arc<Vec<ExportLogsServiceRequest>>,
) -> (u64, u64) {
    let ok = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let until = Instant::now() + Duration::from_secs(secs);
    let mut tasks = Vec::new();
    for c in 0..conns {
        let (ok, failed, pool) = (ok.clone(), failed.clone(), pool.clone());
        tasks.push(tokio::spawn(async move {
            let mut client = loop {
                match LogsServiceClient::connect(format!("http://{addr}")).await {
                    Ok(c) => break c.max_encoding_message_size(64 << 20),
                    Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
                }
            };
            let mut i = c * 997;
            while Instant::now() < until {
                let req = pool[i % pool.len()].clone();
                i += 1;
                match client.export(req).await {
                    Ok(_) => ok.fetch_add(1, Ordering::Relaxed),
                    Err(_) => failed.fetch_add(1, Ordering::Relaxed),
                };
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    (ok.load(Ordering::Relaxed), failed.load(Ordering::Relaxed))
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let secs: u64 = args.first().and_then(|s| s.parse().ok()).unwrap_or(5);
    let rounds: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(3);
    let conns: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(16);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let pool = Arc::new(
        (0..1000)
            .map(|b| otlp_request::request_at(RECORDS, b))
            .collect::<Vec<_>>(),
    );

    // The ceiling: a no-op LogsService in this process.
    let noop = free_addr();
    rt.spawn(
        tonic::transport::Server::builder()
            .add_service(LogsServiceServer::new(NoOp).max_decoding_message_size(64 << 20))
            .serve(noop),
    );

    // noisegate run: OTLP/gRPC in, every output off.
    let dir = tempfile::tempdir().unwrap();
    let grpc = free_addr();
    let cfg = dir.path().join("noisegate.toml");
    std::fs::write(
        &cfg,
        format!(
            "[otlp]\ngrpc_listen = \"{grpc}\"\n[webhooks]\nqueue = 4096\n[metrics]\nlisten = \"\"\n\
             [kafka]\nbrokers = \"127.0.0.1:9\"\nstate_dir = \"state\"\ncheckpoint_interval = \"5s\"\n\
             [kafka.topics]\npages = \"\"\ntickets = \"\"\nclusters = \"\"\ndeadletter = \"\"\n"
        ),
    )
    .unwrap();
    let summary = dir.path().join("summary.json");
    let mut child = Command::new(BIN)
        .args(["run", "--config"])
        .arg(&cfg)
        .arg("--summary")
        .arg(&summary)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    while std::net::TcpStream::connect(grpc).is_err() {
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "noisegate did not listen"
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    println!(
        "machine: {} cores; {secs} s per round, {rounds} rounds, {conns} connections, {RECORDS} records per request",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let mut ceiling = Vec::new();
    let mut ng = Vec::new();
    for r in 0..rounds {
        let (ok, failed) = rt.block_on(load(noop, secs, conns, pool.clone()));
        let c = ok as f64 * RECORDS as f64 / secs as f64;
        let (ok2, failed2) = rt.block_on(load(grpc, secs, conns, pool.clone()));
        let n = ok2 as f64 * RECORDS as f64 / secs as f64;
        println!(
            "round {r}: no-op server {c:>10.0} records/s ({failed} failed) | noisegate {n:>10.0} records/s ({failed2} failed, busy answers included) | ratio {:.2}",
            n / c
        );
        ceiling.push(c);
        ng.push(n);
    }
    let med = |v: &mut Vec<f64>| {
        v.sort_by(|a, b| a.total_cmp(b));
        v[v.len() / 2]
    };
    let (c, n) = (med(&mut ceiling), med(&mut ng));
    println!(
        "median: no-op {c:.0} records/s, noisegate {n:.0} records/s ({:.0} requests/s), ratio {:.2}",
        n / RECORDS as f64,
        n / c
    );
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
    if let Ok(s) = std::fs::read_to_string(&summary) {
        let v: serde_json::Value = serde_json::from_str(&s).unwrap_or_default();
        println!(
            "noisegate summary: {} requests, {} alert events, {} dead letters",
            v["messages"], v["alert_events"], v["deadletters"]
        );
    }
}
