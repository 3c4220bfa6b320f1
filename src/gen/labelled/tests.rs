//! Tests of the labelled scenarios: determinism, every line decodes, the ground truth covers
//! every alert event, no truth leaks, acknowledgements name alerts, and each scenario has the
//! shape it promises.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::OnceLock;

use super::topo::topology_toml;
use super::*;
use crate::decode::{decode_auto, Ctx, DecodeOptions, Format};
use crate::event::{Actor, AlertEvent, EventKind, EventTime};
use crate::gen::scenario::MIN;

struct Run {
    text: String,
    truth: String,
    stats: ScenarioStats,
}

fn run(scenario: Scenario, seed: u64, hours: Option<u32>) -> Run {
    let mut out = Vec::new();
    let mut truth = Vec::new();
    let stats = crate::gen::write_scenario(
        &ScenarioOptions {
            scenario,
            seed,
            hours,
        },
        &mut out,
        &mut truth,
    )
    .expect("writes");
    Run {
        text: String::from_utf8(out).expect("utf-8"),
        truth: String::from_utf8(truth).expect("utf-8"),
        stats,
    }
}

/// A run, its parsed truth and its decoded lines, made once and shared by the tests.
struct Checked {
    run: Run,
    truth: Truth,
    decoded: Vec<(Format, Vec<AlertEvent>)>,
}

/// Test lengths: long enough for each scenario's shape, short enough for a debug build.
fn hours_of(scenario: Scenario) -> u32 {
    match scenario {
        Scenario::Steady => 48,
        Scenario::Storm => 1,
        Scenario::Flapping | Scenario::Transient => 24,
        Scenario::Mixed => 20,
    }
}

fn cached(scenario: Scenario) -> &'static Checked {
    static CELLS: [OnceLock<Checked>; 5] = [
        OnceLock::new(),
        OnceLock::new(),
        OnceLock::new(),
        OnceLock::new(),
        OnceLock::new(),
    ];
    let k = ALL.iter().position(|s| *s == scenario).expect("scenario");
    CELLS[k].get_or_init(|| {
        let run = run(scenario, 1, Some(hours_of(scenario)));
        let truth = parse_truth(&run.truth);
        let decoded = decode_all(&run.text);
        Checked {
            run,
            truth,
            decoded,
        }
    })
}

const ALL: [Scenario; 5] = [
    Scenario::Steady,
    Scenario::Storm,
    Scenario::Flapping,
    Scenario::Transient,
    Scenario::Mixed,
];

#[derive(Debug, Clone)]
struct TruthIncident {
    actionable: bool,
    started_at: i64,
    first_ack_at: Option<i64>,
    scenario: String,
    root_service: String,
}

#[derive(Debug, Clone)]
struct TruthAlert {
    fingerprint: String,
    incident: String,
    starts_at: i64,
    ends_at: Option<i64>,
}

struct Truth {
    incidents: BTreeMap<String, TruthIncident>,
    alerts: Vec<TruthAlert>,
    /// fingerprint → indexes into `alerts`
    by_fp: HashMap<String, Vec<usize>>,
}

fn ms(v: &serde_json::Value) -> Option<i64> {
    v.as_str()
        .map(|s| EventTime::parse_rfc3339(s).expect("RFC 3339").as_millis())
}

fn parse_truth(text: &str) -> Truth {
    let mut incidents = BTreeMap::new();
    let mut alerts = Vec::new();
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("truth line is JSON");
        match v["kind"].as_str() {
            Some("incident") => {
                let id = v["incident_id"].as_str().expect("id").to_string();
                assert!(id.starts_with("inc-") && id.len() == 10, "{id}");
                for k in ["started_at", "root_service", "scenario"] {
                    assert!(v[k].is_string(), "{line}");
                }
                assert!(v["first_ack_at"].is_string() || v["first_ack_at"].is_null());
                let prev = incidents.insert(
                    id,
                    TruthIncident {
                        actionable: v["actionable"].as_bool().expect("actionable"),
                        started_at: ms(&v["started_at"]).expect("started_at"),
                        first_ack_at: ms(&v["first_ack_at"]),
                        scenario: v["scenario"].as_str().unwrap_or_default().to_string(),
                        root_service: v["root_service"].as_str().unwrap_or_default().to_string(),
                    },
                );
                assert!(prev.is_none(), "duplicate incident: {line}");
            }
            Some("alert") => {
                let fp = v["fingerprint"].as_str().expect("fingerprint").to_string();
                assert_eq!(fp.len(), 16, "{line}");
                assert!(fp.bytes().all(|b| b.is_ascii_hexdigit()), "{line}");
                assert!(v["ends_at"].is_string() || v["ends_at"].is_null());
                alerts.push(TruthAlert {
                    fingerprint: fp,
                    incident: v["incident_id"].as_str().expect("incident").to_string(),
                    starts_at: ms(&v["starts_at"]).expect("starts_at"),
                    ends_at: ms(&v["ends_at"]),
                });
            }
            other => panic!("unknown kind {other:?}: {line}"),
        }
    }
    let mut by_fp: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, a) in alerts.iter().enumerate() {
        by_fp.entry(a.fingerprint.clone()).or_default().push(i);
    }
    Truth {
        incidents,
        alerts,
        by_fp,
    }
}

/// Decodes every line the way replay does (received_at = newest event time so far); panics
/// on a line that does not decode. Returns (format, events) per line.
fn decode_all(text: &str) -> Vec<(Format, Vec<AlertEvent>)> {
    let opts = DecodeOptions::default();
    let mut received = EventTime::parse_rfc3339(crate::gen::EPOCH).expect("epoch");
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let ctx = Ctx {
            opts: &opts,
            received_at: Some(received),
        };
        let mut events = Vec::new();
        let (f, _) = decode_auto(line.as_bytes(), &ctx, &mut events)
            .unwrap_or_else(|e| panic!("line {i} does not decode ({e}): {line:.300}"));
        for e in &events {
            received = received.max(e.time);
        }
        out.push((f, events));
    }
    out
}

fn epoch() -> i64 {
    EventTime::parse_rfc3339(crate::gen::EPOCH)
        .expect("epoch")
        .as_millis()
}

#[test]
fn same_seed_same_bytes_other_seed_other_bytes() {
    for sc in ALL {
        let a = run(sc, 5, Some(1));
        let b = run(sc, 5, Some(1));
        assert!(a.text == b.text && a.truth == b.truth, "{sc:?}");
        assert!(!a.text.is_empty(), "{sc:?}");
        let c = run(sc, 6, Some(1));
        assert_ne!(a.text, c.text, "{sc:?}");
    }
    assert_eq!(run(Scenario::Steady, 1, Some(0)).text, "");
}

#[test]
fn every_line_decodes_and_every_alert_event_is_in_the_truth() {
    for sc in ALL {
        let c = cached(sc);
        let r = &c.run;
        let truth = &c.truth;
        let decoded = &c.decoded;
        assert_eq!(decoded.len() as u64, r.stats.lines, "{sc:?}");
        let mut alert_events = 0u64;
        let mut firing = 0u64;
        for (f, events) in decoded.iter() {
            for e in events {
                let alert = matches!(e.kind, EventKind::Firing | EventKind::Resolved)
                    && *f != Format::PagerDutyV3;
                if !alert {
                    continue;
                }
                alert_events += 1;
                let fp = e.fingerprint.to_string();
                if e.kind == EventKind::Resolved && *f == Format::PagerDutyV2 {
                    // A resolve's time is when it arrived; only its identity is checked.
                    assert!(
                        truth.by_fp.contains_key(&fp),
                        "{sc:?}: unknown resolve {fp}"
                    );
                    continue;
                }
                // Node alerts name only their exporter (`service="node-exporter"`), which the
                // default `labels.service_ignore` skips.
                let exporter = e.labels.get("service").is_some_and(|s| {
                    DecodeOptions::default()
                        .service_ignore
                        .iter()
                        .any(|i| i == s)
                });
                assert!(
                    e.service.is_some() || exporter,
                    "{sc:?}: alert without a service: {:?}",
                    e.labels
                );
                let t = e.time.as_millis();
                let eps = truth.by_fp.get(&fp).unwrap_or_else(|| {
                    panic!("{sc:?}: {f} event {fp} {:?} not in the truth", e.labels)
                });
                let covered = eps.iter().any(|&i| {
                    let a = &truth.alerts[i];
                    if e.kind == EventKind::Firing {
                        a.starts_at <= t && a.ends_at.is_none_or(|end| t <= end)
                    } else {
                        a.ends_at == Some(t)
                    }
                });
                assert!(
                    covered,
                    "{sc:?}: {f} {:?} {fp} at {} not covered by {:?}",
                    e.kind,
                    e.time,
                    eps.iter().map(|&i| &truth.alerts[i]).collect::<Vec<_>>()
                );
                if e.kind == EventKind::Firing {
                    firing += 1;
                }
            }
        }
        assert_eq!(alert_events, r.stats.alert_events, "{sc:?}");
        assert!(firing > 0, "{sc:?}");
        // Every alert line's incident is in the truth and every incident has an alert.
        let mut with_alerts = BTreeSet::new();
        for a in &truth.alerts {
            assert!(truth.incidents.contains_key(&a.incident), "{sc:?}: {a:?}");
            if let Some(end) = a.ends_at {
                assert!(end > a.starts_at, "{sc:?}: {a:?}");
            }
            with_alerts.insert(a.incident.clone());
        }
        assert_eq!(with_alerts.len(), truth.incidents.len(), "{sc:?}");
        assert_eq!(truth.incidents.len() as u64, r.stats.incidents);
        // Episodes of one fingerprint never overlap.
        for eps in truth.by_fp.values() {
            let mut v: Vec<&TruthAlert> = eps.iter().map(|&i| &truth.alerts[i]).collect();
            v.sort_by_key(|a| a.starts_at);
            for w in v.windows(2) {
                assert!(
                    w[0].ends_at.is_some_and(|e| e < w[1].starts_at),
                    "{sc:?}: {w:?}"
                );
            }
        }
    }
}

#[test]
fn no_truth_in_the_payloads() {
    for sc in ALL {
        let c = cached(sc);
        let r = &c.run;
        let truth = &c.truth;
        // Incident ids look like `inc-000123`: none anywhere in the payloads.
        assert!(!r.text.contains("inc-0"), "{sc:?}");
        for word in ["actionable", "incident_id\":\"inc", "ground truth"] {
            assert!(!r.text.contains(word), "{sc:?}: {word}");
        }
        for (_, events) in &c.decoded {
            for e in events {
                for (_, v) in e.labels.iter() {
                    assert!(!truth.incidents.contains_key(v), "{sc:?}: {v}");
                }
            }
        }
    }
}

#[test]
fn acks_name_an_alert_of_an_actionable_incident_within_the_hour() {
    for sc in ALL {
        let c = cached(sc);
        let truth = &c.truth;
        // dedup keys of the tools' triggers → fingerprints.
        let mut tool_keys: HashMap<String, String> = HashMap::new();
        let mut known: BTreeSet<String> = BTreeSet::new();
        let mut acks = 0;
        for (f, events) in &c.decoded {
            let f = *f;
            for e in events {
                match e.kind {
                    EventKind::Firing => {
                        known.insert(e.fingerprint.to_string());
                        if let (Format::PagerDutyV2, Some(k)) = (f, &e.dedup_key) {
                            tool_keys.insert(k.to_string(), e.fingerprint.to_string());
                        }
                    }
                    EventKind::Acknowledged => {
                        acks += 1;
                        let key = e.dedup_key.as_ref().expect("ack names a key").to_string();
                        let fp = tool_keys.get(&key).cloned().unwrap_or(key.clone());
                        assert!(known.contains(&fp), "{sc:?}: ack of unseen {key}");
                        if f == Format::PagerDutyV3 {
                            assert_eq!(e.actor, Some(Actor::Human), "{sc:?}");
                        }
                        // The alert it names belongs to an actionable incident firing then.
                        let t = e.time.as_millis();
                        let ok = truth.by_fp.get(&fp).is_some_and(|eps| {
                            eps.iter().any(|&i| {
                                let a = &truth.alerts[i];
                                truth.incidents[&a.incident].actionable
                                    && a.starts_at <= t
                                    && a.ends_at.is_none_or(|end| t <= end + 10_000)
                            })
                        });
                        assert!(
                            ok,
                            "{sc:?}: ack of {key} at {} matches no firing actionable alert",
                            e.time
                        );
                    }
                    _ => {}
                }
            }
        }
        let actionable: Vec<&TruthIncident> =
            truth.incidents.values().filter(|i| i.actionable).collect();
        assert!(!actionable.is_empty(), "{sc:?}");
        let acked = actionable
            .iter()
            .filter(|i| i.first_ack_at.is_some())
            .count();
        assert!(acks >= acked, "{sc:?}");
        assert!(
            acked * 10 >= actionable.len() * 7,
            "{sc:?}: {acked} of {} actionable acked",
            actionable.len()
        );
        for i in truth.incidents.values() {
            if let Some(a) = i.first_ack_at {
                assert!(i.actionable, "{sc:?}: noise acked: {i:?}");
                let d = a - i.started_at;
                assert!(
                    (MIN..=61 * MIN).contains(&d),
                    "{sc:?}: ack {d} ms after start: {i:?}"
                );
            }
        }
    }
}

#[test]
fn steady_has_a_normal_week_shape() {
    let c = cached(Scenario::Steady);
    let truth = &c.truth;
    let days = 4.0;
    let actionable = truth.incidents.values().filter(|i| i.actionable).count() as f64;
    assert!(
        (2.0 * days..=5.5 * days).contains(&actionable),
        "{actionable}"
    );
    let noise = truth.incidents.len() as f64 - actionable;
    assert!(noise > 10.0 * actionable, "{noise} vs {actionable}");
    // Standing warnings already firing when the window opens.
    let t0 = epoch();
    let standing = truth
        .incidents
        .values()
        .filter(|i| !i.actionable && i.started_at < t0)
        .count();
    assert!(standing >= 10, "{standing}");
    // Alerts of a real incident span more than one service.
    let mut services: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for (_, events) in &c.decoded {
        for e in events {
            if e.kind != EventKind::Firing {
                continue;
            }
            let fp = e.fingerprint.to_string();
            if let Some(eps) = truth.by_fp.get(&fp) {
                for &i in eps {
                    let inc = truth.alerts[i].incident.as_str();
                    if truth.incidents[inc].actionable {
                        if let Some(s) = &e.service {
                            services.entry(inc).or_default().insert(s.to_string());
                        }
                    }
                }
            }
        }
    }
    let multi = services.values().filter(|s| s.len() >= 2).count();
    assert!(
        multi * 5 >= services.len() * 2,
        "{multi} of {}",
        services.len()
    );
    assert!(truth.incidents.values().all(|i| i.scenario == "steady"));
}

#[test]
fn storm_has_a_thousand_alerts_in_its_first_fifteen_minutes() {
    let c = cached(Scenario::Storm);
    let r = &c.run;
    let truth = &c.truth;
    let t0 = epoch();
    let mut fps = BTreeSet::new();
    for (_, events) in &c.decoded {
        for e in events {
            let t = e.time.as_millis();
            if e.kind == EventKind::Firing && (t0..t0 + 15 * MIN).contains(&t) {
                fps.insert(e.fingerprint);
            }
        }
    }
    assert!(fps.len() >= 1000, "{} distinct alerts", fps.len());
    // One actionable incident owns most of them, acked within minutes.
    let mut per_inc: BTreeMap<&str, usize> = BTreeMap::new();
    for a in &truth.alerts {
        *per_inc.entry(a.incident.as_str()).or_default() += 1;
    }
    let (big, n) = per_inc.iter().max_by_key(|(_, n)| **n).expect("incidents");
    let inc = &truth.incidents[*big];
    assert!(inc.actionable && *n >= 1000, "{inc:?} {n}");
    assert_eq!(inc.root_service, "postgres-main");
    let ack = inc.first_ack_at.expect("acked") - inc.started_at;
    assert!((MIN..=15 * MIN).contains(&ack), "{ack}");
    // Alertmanager re-sends: one fingerprint in many notifications with one startsAt.
    assert!(
        r.stats.alert_events > 5 * per_inc[*big] as u64,
        "{:?}",
        r.stats
    );
}

#[test]
fn flapping_alerts_flap_for_hours_and_nobody_acks_them() {
    let c = cached(Scenario::Flapping);
    let truth = &c.truth;
    let mut eps: BTreeMap<&str, Vec<&TruthAlert>> = BTreeMap::new();
    for a in &truth.alerts {
        eps.entry(a.incident.as_str()).or_default().push(a);
    }
    let flappers: Vec<&str> = eps
        .iter()
        .filter(|(id, v)| {
            let inc = &truth.incidents[**id];
            let fps: BTreeSet<&str> = v.iter().map(|a| a.fingerprint.as_str()).collect();
            let span = v.iter().filter_map(|a| a.ends_at).max().unwrap_or(0)
                - v.iter().map(|a| a.starts_at).min().unwrap_or(0);
            !inc.actionable && fps.len() == 1 && v.len() >= 8 && span >= 2 * 3_600_000
        })
        .map(|(id, _)| *id)
        .collect();
    assert!(flappers.len() >= 5, "{} flappers", flappers.len());
    for id in &flappers {
        assert!(truth.incidents[*id].first_ack_at.is_none());
    }
    // The real incident flaps too and is acked.
    let real: Vec<(&String, &TruthIncident)> = truth
        .incidents
        .iter()
        .filter(|(_, i)| i.actionable)
        .collect();
    assert_eq!(real.len(), 1, "{real:?}");
    let (id, inc) = real[0];
    assert!(inc.first_ack_at.is_some());
    let v = &eps[id.as_str()];
    let mut per_fp: BTreeMap<&str, usize> = BTreeMap::new();
    for a in v {
        *per_fp.entry(a.fingerprint.as_str()).or_default() += 1;
    }
    assert!(per_fp.values().any(|n| *n >= 3), "{per_fp:?}");
}

#[test]
fn transient_blips_clear_within_minutes_real_incidents_last() {
    let c = cached(Scenario::Transient);
    let truth = &c.truth;
    let t0 = epoch();
    let mut short = 0;
    let mut by_inc: BTreeMap<&str, Vec<&TruthAlert>> = BTreeMap::new();
    for a in &truth.alerts {
        by_inc.entry(a.incident.as_str()).or_default().push(a);
    }
    for (id, v) in &by_inc {
        let inc = &truth.incidents[*id];
        if !inc.actionable && v.len() == 1 && inc.started_at >= t0 {
            if let Some(end) = v[0].ends_at {
                let d = end - v[0].starts_at;
                if (30_000..=4 * MIN).contains(&d) {
                    short += 1;
                }
            }
        }
    }
    assert!(short >= 300, "{short} blips");
    let real: Vec<&TruthIncident> = truth.incidents.values().filter(|i| i.actionable).collect();
    assert!((2..=6).contains(&real.len()), "{}", real.len());
    assert!(real.iter().all(|i| i.first_ack_at.is_some()), "{real:?}");
}

#[test]
fn mixed_interleaves_every_kind() {
    let c = cached(Scenario::Mixed);
    let truth = &c.truth;
    let kinds: BTreeSet<&str> = truth
        .incidents
        .values()
        .map(|i| i.scenario.as_str())
        .collect();
    // The first 20 hours: the steady background, a flapping block and a transient block
    // (the storms come later in the week; `storm` and the ignored full-week test see them).
    for k in ["steady", "flapping", "transient"] {
        assert!(kinds.contains(k), "{kinds:?}");
    }
    let real: BTreeSet<&str> = truth
        .incidents
        .values()
        .filter(|i| i.actionable)
        .map(|i| i.scenario.as_str())
        .collect();
    assert!(real.len() >= 2, "{real:?}");
}

#[test]
fn formats_and_sources() {
    let c = cached(Scenario::Steady);
    let r = &c.run;
    let mut by: BTreeMap<&str, usize> = BTreeMap::new();
    let mut v2_acks = 0;
    let mut v3_acks = 0;
    for (f, events) in &c.decoded {
        let f = *f;
        *by.entry(f.as_str()).or_default() += 1;
        for e in events {
            if e.kind == EventKind::Acknowledged {
                if f == Format::PagerDutyV2 {
                    v2_acks += 1;
                } else {
                    v3_acks += 1;
                }
            }
        }
    }
    for f in [
        Format::Alertmanager,
        Format::OtlpJson,
        Format::PagerDutyV2,
        Format::PagerDutyV3,
    ] {
        assert!(by.get(f.as_str()).copied().unwrap_or(0) > 0, "{f}: {by:?}");
    }
    assert!(v3_acks > 0, "{v3_acks}");
    let _ = v2_acks;
    // Alertmanager groups by alertname, cluster and service.
    for line in r
        .text
        .lines()
        .filter(|l| l.starts_with("{\"receiver\""))
        .take(500)
    {
        let v: serde_json::Value = serde_json::from_str(line).expect("json");
        let g = v["groupLabels"].as_object().expect("groupLabels");
        let keys: Vec<&str> = g.keys().map(String::as_str).collect();
        assert_eq!(keys, ["alertname", "cluster", "service"], "{line:.200}");
        for a in v["alerts"].as_array().expect("alerts") {
            assert_eq!(a["labels"]["service"], v["groupLabels"]["service"]);
        }
    }
}

#[test]
fn default_lengths() {
    assert_eq!(default_hours(Scenario::Steady), 168);
    assert_eq!(default_hours(Scenario::Storm), 6);
    assert_eq!(default_hours(Scenario::Flapping), 24);
    assert_eq!(default_hours(Scenario::Transient), 24);
    assert_eq!(default_hours(Scenario::Mixed), 168);
}

#[test]
#[ignore = "writes config/topology.toml from the table; run by hand after changing topo.rs"]
fn regenerate_topology_toml() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/config/topology.toml");
    std::fs::write(path, topology_toml()).expect("writes");
}

/// Decodes a stream as it is written, keeping only what the coverage check needs:
/// (fingerprint, event time, firing?) of every alert event.
struct LineChecker {
    partial: Vec<u8>,
    opts: DecodeOptions,
    received: EventTime,
    events: Vec<(u64, i64, bool)>,
    lines: u64,
}

impl std::io::Write for LineChecker {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.partial.extend_from_slice(buf);
        let mut start = 0;
        let mut decoded = Vec::new();
        while let Some(n) = self.partial[start..].iter().position(|b| *b == b'\n') {
            let line = &self.partial[start..start + n];
            let ctx = Ctx {
                opts: &self.opts,
                received_at: Some(self.received),
            };
            decoded.clear();
            let (f, _) = decode_auto(line, &ctx, &mut decoded).unwrap_or_else(|e| {
                panic!("line {} does not decode: {e}", self.lines);
            });
            for e in &decoded {
                self.received = self.received.max(e.time);
                let alert = matches!(e.kind, EventKind::Firing | EventKind::Resolved)
                    && f != Format::PagerDutyV3
                    && !(f == Format::PagerDutyV2 && e.kind == EventKind::Resolved);
                if alert {
                    self.events.push((
                        e.fingerprint.0,
                        e.time.as_millis(),
                        e.kind == EventKind::Firing,
                    ));
                }
            }
            self.lines += 1;
            start += n + 1;
        }
        self.partial.drain(..start);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
#[ignore = "a full week of mixed traffic (about 2 GB, decoded as written); run with --release --ignored"]
fn mixed_week_has_a_million_alert_events_all_in_the_truth() {
    let mut out = LineChecker {
        partial: Vec::new(),
        opts: DecodeOptions::default(),
        received: EventTime::from_millis(epoch()),
        events: Vec::new(),
        lines: 0,
    };
    let mut truth = Vec::new();
    let stats = crate::gen::write_scenario(
        &ScenarioOptions {
            scenario: Scenario::Mixed,
            seed: 1,
            hours: None,
        },
        &mut out,
        &mut truth,
    )
    .expect("writes");
    assert!(stats.alert_events >= 1_000_000, "{stats}");
    assert!(out.partial.is_empty());
    assert_eq!(out.lines, stats.lines);
    let truth = parse_truth(&String::from_utf8(truth).expect("utf-8"));
    for (fp, t, firing) in &out.events {
        let fp = format!("{fp:016x}");
        let eps = truth
            .by_fp
            .get(&fp)
            .unwrap_or_else(|| panic!("{fp} not in the truth"));
        let covered = eps.iter().any(|&i| {
            let a = &truth.alerts[i];
            if *firing {
                a.starts_at <= *t && a.ends_at.is_none_or(|end| *t <= end)
            } else {
                a.ends_at == Some(*t)
            }
        });
        assert!(covered, "{fp} at {t} ({firing}) not covered");
    }
    let kinds: BTreeSet<&str> = truth
        .incidents
        .values()
        .map(|i| i.scenario.as_str())
        .collect();
    assert_eq!(
        kinds,
        BTreeSet::from(["flapping", "steady", "storm", "transient"])
    );
    let storms = truth
        .incidents
        .values()
        .filter(|i| i.scenario == "storm" && i.actionable)
        .count();
    assert!(storms >= 4, "{storms}");
}
