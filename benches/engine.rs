//! Engine throughput on pre-decoded events: a week of generated mixed traffic (all formats,
//! incident storms, flapping, re-sends) decoded once, then fed through a fresh engine.
//!
//! Run: `cargo bench --bench engine`. Numbers go in BENCHMARKS.md.

use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use noisegate::config::Config;
use noisegate::decode::{decode_auto, Ctx};
use noisegate::engine::Engine;
use noisegate::event::{AlertEvent, EventTime};

// The allocator the `noisegate` binary ships with (src/main.rs).
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn events() -> Vec<AlertEvent> {
    let text = noisegate::gen::generate(&noisegate::gen::GenOptions {
        seed: 7,
        hours: 168,
    });
    decode_all(&text)
}

/// The labelled `storm` scenario (6 h: a cascade of thousands of alerts, re-sent every
/// 5 minutes, over background noise) — the shape that dominates `mixed`.
fn storm_events() -> Vec<AlertEvent> {
    let mut out = Vec::new();
    let mut truth = Vec::new();
    noisegate::gen::write_scenario(
        &noisegate::gen::ScenarioOptions {
            scenario: noisegate::gen::Scenario::Storm,
            seed: 4,
            hours: None,
        },
        &mut out,
        &mut truth,
    )
    .expect("generates");
    decode_all(&String::from_utf8(out).expect("utf-8"))
}

fn decode_all(text: &str) -> Vec<AlertEvent> {
    let cfg = Config::default();
    let mut out = Vec::new();
    let mut max: Option<EventTime> = None;
    for line in text.lines() {
        let ctx = Ctx {
            opts: &cfg.decode,
            received_at: max,
        };
        let mark = out.len();
        if decode_auto(line.as_bytes(), &ctx, &mut out).is_ok() {
            for e in &out[mark..] {
                max = Some(max.map_or(e.time, |m| m.max(e.time)));
            }
        }
    }
    out
}

fn bench_engine(c: &mut Criterion) {
    run(c, "example_week", events());
    run(c, "storm_scenario", storm_events());
}

fn run(c: &mut Criterion, name: &str, evs: Vec<AlertEvent>) {
    let cfg = Arc::new(Config::default().engine);
    let mut g = c.benchmark_group(format!("engine_{name}_{}events", evs.len()));
    g.throughput(Throughput::Elements(evs.len() as u64));
    g.sample_size(20);
    g.bench_function("handle_events_and_drain", |b| {
        b.iter(|| {
            let mut e = Engine::new(Arc::clone(&cfg));
            let mut n = 0usize;
            for chunk in evs.chunks(1024) {
                e.handle_events(chunk);
                while let Some(o) = e.poll_output() {
                    std::hint::black_box(&o);
                    n += 1;
                }
            }
            e.handle_watermark(EventTime(i64::MAX));
            e.finish();
            while e.poll_output().is_some() {
                n += 1;
            }
            std::hint::black_box(n)
        })
    });
    g.finish();
}

criterion_group!(benches, bench_engine);
criterion_main!(benches);
