//! End-to-end live-mode benchmark against a real broker: `noisegate run` from input topic to
//! output topics, against the raw consume ceiling of the same broker (rdkafka `BaseConsumer`,
//! same client settings, messages discarded) on the same topic, alternating in one run.
//! Then a paced run for latency: a producer sends at a fixed rate while noisegate runs, and
//! the service reports p50/p99 from each input message's Kafka timestamp to the broker's
//! acknowledgement of the page it caused.
//!
//! usage: NOISEGATE_BENCH_KAFKA=127.0.0.1:9092 cargo bench --bench kafka_e2e [-- HOURS ROUNDS RATE]
//! (defaults 720 hours of generated example traffic, 3 rounds, 2000 msgs/s for the paced run).
//! Without NOISEGATE_BENCH_KAFKA it prints how to run and exits 0, so `cargo bench` works
//! without a broker.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::ClientConfig;
use rdkafka::Message;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_noisegate");

fn create_topics(b: &str, names: &[String]) {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", b)
        .create()
        .expect("admin client");
    let topics: Vec<NewTopic> = names
        .iter()
        .map(|n| NewTopic::new(n, 1, TopicReplication::Fixed(1)))
        .collect();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let r = rt
        .block_on(admin.create_topics(&topics, &AdminOptions::new()))
        .expect("create topics");
    for x in r {
        if let Err((t, e)) = x {
            panic!("creating {t}: {e}");
        }
    }
}

fn produce(b: &str, topic: &str, lines: &[&str], rate: Option<u32>) {
    let p: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", b)
        .set("enable.idempotence", "true")
        .set("linger.ms", if rate.is_some() { "0" } else { "20" })
        .set("queue.buffering.max.messages", "1000000")
        .set("message.max.bytes", "10000000")
        .create()
        .expect("producer");
    let start = Instant::now();
    for (i, l) in lines.iter().enumerate() {
        if let Some(r) = rate {
            let due = start + Duration::from_secs_f64(i as f64 / r as f64);
            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
        }
        loop {
            match p.send(BaseRecord::<(), str>::to(topic).payload(*l)) {
                Ok(()) => break,
                Err(_) => {
                    p.poll(Duration::from_millis(10));
                }
            }
        }
        p.poll(Duration::ZERO);
    }
    p.flush(Duration::from_secs(120)).expect("flush");
}

/// Reads `n` messages of `topic` from the start and discards them: the consume ceiling.
fn plain_consume(b: &str, topic: &str, n: usize) -> f64 {
    plain_consume_lat(b, topic, n).0
}

/// Also returns the histogram of (receipt − Kafka timestamp) in ms.
fn plain_consume_lat(b: &str, topic: &str, n: usize) -> (f64, hdrhistogram::Histogram<u64>) {
    let mut lat = hdrhistogram::Histogram::<u64>::new(3).unwrap();
    let c: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", b)
        .set("group.id", format!("plain-{}", nanos()))
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("enable.partition.eof", "false")
        .set("auto.offset.reset", "earliest")
        .set("session.timeout.ms", "6000")
        .set("heartbeat.interval.ms", "2000")
        .set("fetch.wait.max.ms", "100")
        .create()
        .expect("consumer");
    c.subscribe(&[topic]).expect("subscribe");
    let mut got = 0usize;
    let mut first: Option<Instant> = None;
    let mut bytes = 0usize;
    let deadline = Instant::now() + Duration::from_secs(600);
    while got < n && Instant::now() < deadline {
        if let Some(Ok(m)) = c.poll(Duration::from_millis(100)) {
            first.get_or_insert_with(Instant::now);
            bytes += m.payload().map_or(0, |p| p.len());
            if let Some(ts) = m.timestamp().to_millis() {
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_millis() as i64;
                let _ = lat.record((now - ts).max(0) as u64);
            }
            got += 1;
        }
    }
    assert_eq!(got, n, "plain consumer read {got} of {n}");
    let secs = first.map_or(0.0, |f| f.elapsed().as_secs_f64());
    std::hint::black_box(bytes);
    (n as f64 / secs, lat)
}

fn nanos() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

fn noisegate(dir: &Path, b: &str, input: &str, tag: &str, idle: &str) -> Value {
    let d = dir.join(tag);
    std::fs::create_dir_all(&d).unwrap();
    let out = |kind: &str| format!("{input}.{tag}.{kind}");
    create_topics(
        b,
        &[out("pages"), out("tickets"), out("clusters"), out("dl")],
    );
    let cfg = d.join("ng.toml");
    std::fs::write(
        &cfg,
        format!(
            "[kafka]\nbrokers = {b:?}\ngroup_id = \"ng-{tag}-{n}\"\nstart_from = \"earliest\"\n\
             state_dir = \"state\"\nidle_advance_after = \"0s\"\n\
             [[kafka.inputs]]\ntopic = {input:?}\nformat = \"auto\"\n\
             [kafka.topics]\npages = {p:?}\ntickets = {t:?}\nclusters = {c:?}\ndeadletter = {dl:?}\n",
            n = nanos(),
            p = out("pages"),
            t = out("tickets"),
            c = out("clusters"),
            dl = out("dl"),
        ),
    )
    .unwrap();
    let summary = d.join("summary.json");
    let st = Command::new(BIN)
        .args(["run", "--config"])
        .arg(&cfg)
        .args(["--exit-when-idle", idle, "--summary"])
        .arg(&summary)
        .env("RUST_LOG", "warn")
        .status()
        .expect("noisegate runs");
    assert!(st.success(), "noisegate run failed");
    serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap()
}

fn main() {
    let Ok(b) = std::env::var("NOISEGATE_BENCH_KAFKA") else {
        eprintln!("kafka_e2e: set NOISEGATE_BENCH_KAFKA=host:port (a broker on loopback) to run");
        return;
    };
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let hours: u32 = args.first().and_then(|s| s.parse().ok()).unwrap_or(720);
    let rounds: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(3);
    let rate: u32 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(2000);
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("input.ndjson");
    let st = Command::new(BIN)
        .args(["gen", "--seed", "7", "--hours", &hours.to_string(), "--out"])
        .arg(&input)
        .status()
        .unwrap();
    assert!(st.success());
    let text = std::fs::read_to_string(&input).unwrap();
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let avg = text.len() / lines.len().max(1);
    let topic = format!("bench-{}", nanos());
    create_topics(&b, std::slice::from_ref(&topic));
    produce(&b, &topic, &lines, None);
    println!(
        "input: {} messages, {avg} B average, {hours} h of `gen --seed 7`, topic {topic} (1 partition)",
        lines.len()
    );
    let mut ratios = Vec::new();
    for r in 1..=rounds {
        let ceiling = plain_consume(&b, &topic, lines.len());
        let s = noisegate(dir.path(), &b, &topic, &format!("r{r}"), "2s");
        let ng = s["messages_per_second"].as_f64().unwrap();
        assert_eq!(s["messages"].as_u64(), Some(lines.len() as u64));
        let ratio = ng / ceiling;
        ratios.push(ratio);
        println!(
            "round {r}: plain BaseConsumer {ceiling:.0} msgs/s; noisegate run {ng:.0} msgs/s \
             ({} alert events, {} pages, {} records); ratio {ratio:.2}",
            s["alert_events"], s["sent"]["page_triggers"], s["sent"]["clusters"]
        );
    }
    ratios.sort_by(f64::total_cmp);
    println!(
        "median ratio noisegate / ceiling: {:.2}",
        ratios[ratios.len() / 2]
    );

    // Latency: paced input while the service runs.
    let paced = format!("paced-{}", nanos());
    create_topics(&b, std::slice::from_ref(&paced));
    let n = (rate as usize * 20).min(lines.len());
    let dirp = dir.path().to_path_buf();
    let bb = b.clone();
    let pc = paced.clone();
    let svc = std::thread::spawn(move || noisegate(&dirp, &bb, &pc, "paced", "15s"));
    let (bb, pc) = (b.clone(), paced.clone());
    let plain = std::thread::spawn(move || plain_consume_lat(&bb, &pc, n).1);
    std::thread::sleep(Duration::from_secs(8)); // group joins
    produce(&b, &paced, &lines[..n], Some(rate));
    let s = svc.join().unwrap();
    let plain = plain.join().unwrap();
    println!(
        "paced {rate} msgs/s: plain BaseConsumer receive latency (Kafka timestamp -> poll) \
         p50 {} ms, p99 {} ms",
        plain.value_at_quantile(0.5),
        plain.value_at_quantile(0.99)
    );
    println!(
        "paced {rate} msgs/s, {n} messages: page latency (Kafka timestamp -> page acked) \
         p50 {} ms, p99 {} ms, max {} ms over {} pages",
        s["page_latency_ms"]["p50"],
        s["page_latency_ms"]["p99"],
        s["page_latency_ms"]["max"],
        s["page_latency_ms"]["count"]
    );
}
