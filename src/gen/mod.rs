//! Example traffic generator: realistic, deterministic alert traffic for a small company, as
//! NDJSON (one compact JSON payload per line, in send order).
//!
//! The simulated company ("Shopwave", see `world.rs`) runs 12 services owned by 4 teams in
//! two Kubernetes clusters: frontend → api-gateway → payments / orders / users / inventory /
//! search / notifications → postgres / redis / kafka / elasticsearch. Its alerts reach
//! noisegate the way they would in production (see `render.rs`): Alertmanager webhooks
//! (~55 % of lines), Grafana unified-alerting webhooks (~15 %), PagerDuty Events v2 from a
//! synthetics tool, a cron monitor and a certificate watcher (~10 %), OTLP/JSON log exports
//! from the apps (~10 %) and PagerDuty v3 webhooks about the incidents those Events v2
//! triggers opened (~10 %).
//!
//! What happens (see `scenario.rs`): incidents with a root cause (a datastore down, a bad
//! deploy, the card processor failing, a node dying) and the storm of alerts across their
//! dependents, acknowledged by the on-call some minutes later and resolved when the cause
//! clears; warnings that flap for hours; short-lived noise that resolves by itself; standing
//! warnings; isolated problems; PagerDuty incidents opened by hand. Producers retry now and
//! then (a few payloads arrive twice), and about 0.2 % of lines are broken on purpose
//! (truncated JSON, a wrong-typed field, an unknown object, an empty object) so a replay
//! shows dead letters.
//!
//! Determinism: everything follows from the seed (ChaCha8), no clock; the window starts at
//! [`EPOCH`] (Monday 2026-11-02T00:00:00Z). Same options, byte-identical output.
//!
//! [`write_scenario`] (`gen --scenario`, see `labelled/`) is the other generator: labelled
//! scenarios from a 50-service system (its topology is `config/topology.toml`) with a ground
//! truth of which alert episode belongs to which incident, streamed for week-long runs.

#[macro_use]
mod json;
mod labelled;
mod render;
mod rules;
mod scenario;
mod world;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Start of the generated window: Monday 2026-11-02T00:00:00Z.
pub const EPOCH: &str = "2026-11-02T00:00:00Z";

/// Generator settings.
#[derive(Debug, Clone)]
pub struct GenOptions {
    pub seed: u64,
    pub hours: u32,
}

/// NDJSON traffic for `o.hours` hours from [`EPOCH`], deterministic in `o.seed`.
pub fn generate(o: &GenOptions) -> String {
    generate_with_report(o).text
}

/// The generated text plus which lines (0-based) are broken on purpose.
pub(crate) struct Generated {
    pub text: String,
    #[cfg_attr(not(test), allow(dead_code))]
    pub bad_lines: Vec<usize>,
}

fn epoch_ms() -> i64 {
    chrono::DateTime::parse_from_rfc3339(EPOCH)
        .map(|t| t.timestamp_millis())
        .unwrap_or(0)
}

pub(crate) fn generate_with_report(o: &GenOptions) -> Generated {
    let t0 = epoch_ms();
    let end = t0 + o.hours as i64 * scenario::HOUR;
    let mut rng = ChaCha8Rng::seed_from_u64(o.seed);
    let w = world::World::new(&mut rng);
    let sc = scenario::build(&w, &mut rng, t0, end);
    let mut lines = {
        let mut r = render::Renderer::new(&w, &sc, o.seed, &mut rng, t0, end);
        r.render();
        std::mem::take(&mut r.out.lines)
    };
    lines.sort_by_key(|l| (l.0, l.1));
    let good: Vec<(i64, String)> = lines.into_iter().map(|(t, _, l)| (t, l)).collect();
    let (all, bad_lines) = add_bad_lines(good, &mut rng);
    let mut text = String::with_capacity(all.iter().map(|l| l.len() + 1).sum());
    for l in &all {
        text.push_str(l);
        text.push('\n');
    }
    Generated { text, bad_lines }
}

/// Mixes in about 0.2 % (at least one) broken lines of four kinds, next to the traffic they
/// came with. Returns the lines and the indices of the broken ones.
fn add_bad_lines(good: Vec<(i64, String)>, rng: &mut ChaCha8Rng) -> (Vec<String>, Vec<usize>) {
    if good.is_empty() {
        return (Vec::new(), Vec::new());
    }
    let n_bad = ((good.len() as f64) * 0.002).round().max(1.0) as usize;
    // (insert before good line index, text)
    let mut inserts: Vec<(usize, String)> = Vec::new();
    let first_kind = rng.random_range(0..4usize);
    for k in 0..n_bad {
        let pos = rng.random_range(0..good.len());
        match (first_kind + k) % 4 {
            0 => {
                // A proxy cut the body short; the producer's retry follows.
                let line = &good[pos].1;
                let lo = line.len() * 3 / 10;
                let hi = line.len() * 9 / 10;
                let mut cut = rng.random_range(lo..=hi.max(lo));
                while cut > 0 && !line.is_char_boundary(cut) {
                    cut -= 1;
                }
                inserts.push((pos, line[..cut.max(1)].to_string()));
            }
            1 => {
                // A hand-rolled producer that sends labels as a number.
                let found = (pos..good.len()).chain(0..pos).find(|&i| {
                    good[i].1.starts_with("{\"receiver\"") && !good[i].1.contains("\"orgId\"")
                });
                let Some(i) = found else {
                    inserts.push((pos, "{}".to_string()));
                    continue;
                };
                let line = &good[i].1;
                let broken = line.find("\"labels\":{").and_then(|a| {
                    let close = a + line[a..].find('}')?;
                    Some(format!(
                        "{}\"labels\":{}{}",
                        &line[..a],
                        rng.random_range(1..65_536),
                        &line[close + 1..]
                    ))
                });
                inserts.push((i + 1, broken.unwrap_or_else(|| "{}".to_string())));
            }
            2 => {
                // Something else posted to the alert endpoint.
                let t = json::ts_s(good[pos].0);
                let other = match rng.random_range(0..3) {
                    0 => obj! {
                        "kind" => "Event",
                        "apiVersion" => "v1",
                        "metadata" => obj! { "name" => "payments-6c9f7d8b54-x2k4q.1872f3a0c1d9e2b4", "namespace" => "payments" },
                        "reason" => "BackOff",
                        "message" => "Back-off restarting failed container payments in pod payments-6c9f7d8b54-x2k4q_payments",
                        "type" => "Warning",
                        "count" => 14i64,
                        "lastTimestamp" => t,
                    },
                    1 => obj! {
                        "text" => ":rotating_light: [FIRING:1] ServiceHighErrorRate payments",
                        "channel" => "#alerts-prod",
                        "username" => "Alertmanager",
                    },
                    _ => obj! { "ok" => false, "error" => "invalid_auth", "ts" => t },
                };
                inserts.push((pos, other.line()));
            }
            _ => inserts.push((pos, "{}".to_string())),
        }
    }
    inserts.sort_by_key(|(p, _)| *p);
    let mut out = Vec::with_capacity(good.len() + inserts.len());
    let mut bad = Vec::new();
    let mut ins = inserts.into_iter().peekable();
    for (i, (_, line)) in good.into_iter().enumerate() {
        while ins.peek().is_some_and(|(p, _)| *p == i) {
            if let Some((_, b)) = ins.next() {
                bad.push(out.len());
                out.push(b);
            }
        }
        out.push(line);
    }
    for (_, b) in ins {
        bad.push(out.len());
        out.push(b);
    }
    (out, bad)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::{decode_auto, sniff, Ctx, DecodeOptions, Format};
    use crate::event::{EventTime, Labels};
    use std::collections::BTreeMap;
    use std::sync::OnceLock;

    fn day(seed: u64) -> &'static Generated {
        static A: OnceLock<Generated> = OnceLock::new();
        static B: OnceLock<Generated> = OnceLock::new();
        let cell = if seed == 7 { &A } else { &B };
        cell.get_or_init(|| generate_with_report(&GenOptions { seed, hours: 24 }))
    }

    #[test]
    fn same_seed_same_bytes_other_seed_other_bytes() {
        let a = generate(&GenOptions { seed: 11, hours: 6 });
        let b = generate(&GenOptions { seed: 11, hours: 6 });
        assert_eq!(a, b);
        let c = generate(&GenOptions { seed: 12, hours: 6 });
        assert_ne!(a, c);
        assert_eq!(day(7).text, generate(&GenOptions { seed: 7, hours: 24 }));
        assert_ne!(day(7).text, day(8).text);
    }

    #[test]
    fn zero_hours_is_empty() {
        assert_eq!(generate(&GenOptions { seed: 1, hours: 0 }), "");
    }

    #[test]
    fn size_and_order() {
        for seed in [7, 8] {
            let g = day(seed);
            let n = g.text.lines().count();
            assert!((2_000..=8_000).contains(&n), "seed {seed}: {n} lines");
            // The committed example is seed 7.
            if seed == 7 {
                assert!(g.text.len() < 5 * 1024 * 1024, "{} bytes", g.text.len());
            }
            let times: Vec<i64> = g
                .text
                .lines()
                .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
                .filter_map(|v| v["event"]["occurred_at"].as_str().map(String::from))
                .filter_map(|t| EventTime::parse_rfc3339(&t).map(|t| t.as_millis()))
                .collect();
            assert!(times.len() > 50);
            // Lines are in send order: webhook times only step back by delivery jitter / retries.
            let t0 = EventTime::parse_rfc3339(EPOCH).unwrap().as_millis();
            assert!(times[0] >= t0 && times[times.len() - 1] < t0 + 24 * 3_600_000);
            let mut newest = times[0];
            for t in &times {
                assert!(*t >= newest - 65_000, "{t} after {newest}");
                newest = newest.max(*t);
            }
        }
    }

    #[test]
    fn every_good_line_decodes_and_bad_ones_do_not() {
        for seed in [7, 8] {
            let g = day(seed);
            let opts = DecodeOptions::default();
            let mut received = EventTime::parse_rfc3339(EPOCH).unwrap();
            let mut failed = Vec::new();
            let mut events = Vec::new();
            for (i, line) in g.text.lines().enumerate() {
                let ctx = Ctx {
                    opts: &opts,
                    received_at: Some(received),
                };
                let mark = events.len();
                match decode_auto(line.as_bytes(), &ctx, &mut events) {
                    Ok(_) => {
                        for e in &events[mark..] {
                            received = received.max(e.time);
                        }
                    }
                    Err(e) => failed.push((i, e.reason())),
                }
            }
            let failed_idx: Vec<usize> = failed.iter().map(|(i, _)| *i).collect();
            assert_eq!(failed_idx, g.bad_lines, "seed {seed}: {failed:?}");
            let n = g.text.lines().count();
            let frac = g.bad_lines.len() as f64 / n as f64;
            assert!(frac > 0.0 && frac < 0.005, "seed {seed}: {frac}");
            let reasons: std::collections::BTreeSet<_> = failed.iter().map(|(_, r)| *r).collect();
            assert!(reasons.len() >= 3, "seed {seed}: {reasons:?}");
            assert!(events.len() > n, "seed {seed}: {} events", events.len());
        }
    }

    #[test]
    fn alertmanager_fingerprints_are_label_fingerprints() {
        let mut checked = 0;
        let g = day(7);
        for (i, line) in g.text.lines().enumerate() {
            if g.bad_lines.contains(&i) || sniff(line.as_bytes()) != Ok(Format::Alertmanager) {
                continue;
            }
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            for a in v["alerts"].as_array().unwrap() {
                let labels = a["labels"].as_object().unwrap();
                let fp = Labels::from_pairs(
                    labels
                        .iter()
                        .map(|(k, v)| (k.as_str(), v.as_str().unwrap())),
                )
                .fingerprint()
                .to_string();
                assert_eq!(a["fingerprint"].as_str(), Some(fp.as_str()), "{line}");
                checked += 1;
            }
        }
        assert!(checked > 1000, "{checked}");
    }

    #[test]
    fn format_mix() {
        for seed in [7, 8] {
            let g = day(seed);
            let mut by: BTreeMap<&str, usize> = BTreeMap::new();
            let mut total = 0;
            for line in g.text.lines() {
                if let Ok(f) = sniff(line.as_bytes()) {
                    *by.entry(f.as_str()).or_default() += 1;
                    total += 1;
                }
            }
            for f in [
                Format::Alertmanager,
                Format::Grafana,
                Format::PagerDutyV2,
                Format::PagerDutyV3,
                Format::OtlpJson,
            ] {
                let share = by.get(f.as_str()).copied().unwrap_or(0) as f64 / total as f64;
                let (lo, hi) = if f == Format::Alertmanager {
                    (0.40, 0.70)
                } else {
                    (0.04, 0.25)
                };
                assert!(
                    (lo..=hi).contains(&share),
                    "seed {seed}: {f} {share:.3} {by:?}"
                );
            }
        }
    }

    #[test]
    fn resends_keep_starts_at_and_acks_name_triggered_keys() {
        let g = day(7);
        // Alertmanager: one fingerprint keeps its startsAt across re-sends of one episode.
        let mut seen: BTreeMap<String, (String, usize)> = BTreeMap::new();
        let mut v2_keys = std::collections::BTreeSet::new();
        let mut v3_keys = Vec::new();
        let mut human_acks = 0;
        for line in g.text.lines() {
            let Ok(f) = sniff(line.as_bytes()) else {
                continue;
            };
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            match f {
                Format::Alertmanager => {
                    for a in v["alerts"].as_array().unwrap() {
                        if a["status"] == "firing" {
                            let e = seen
                                .entry(a["fingerprint"].as_str().unwrap().to_string())
                                .or_insert((a["startsAt"].as_str().unwrap().to_string(), 0));
                            if e.0 == a["startsAt"].as_str().unwrap() {
                                e.1 += 1;
                            } else {
                                e.0 = a["startsAt"].as_str().unwrap().to_string();
                            }
                        }
                    }
                }
                Format::PagerDutyV2 if v["event_action"] == "trigger" => {
                    v2_keys.insert(v["dedup_key"].as_str().unwrap().to_string());
                }
                Format::PagerDutyV3 => {
                    let ev = &v["event"];
                    if let Some(k) = ev["data"]["incident_key"].as_str() {
                        v3_keys.push(k.to_string());
                    }
                    if ev["event_type"] == "incident.acknowledged"
                        && ev["agent"]["type"] == "user_reference"
                    {
                        human_acks += 1;
                    }
                }
                _ => {}
            }
        }
        assert!(seen.values().filter(|(_, n)| *n >= 3).count() > 20);
        assert!(!v3_keys.is_empty());
        assert!(v3_keys.iter().all(|k| v2_keys.contains(k)), "{v3_keys:?}");
        assert!(human_acks >= 3, "{human_acks}");
    }
}

/// A labelled scenario (see `gen --scenario` and `labelled/`): alert traffic from a
/// 50-service system plus the ground truth of which alerts belong to which incident.
///
/// * `steady` (168 h): a normal week of routine noise and 2-5 real incidents a day.
/// * `storm` (6 h): a shared database fails and thousands of alerts cascade in minutes.
/// * `flapping` (24 h): warnings flapping for hours, plus one real incident that flaps.
/// * `transient` (24 h): many alerts that clear within minutes, plus a few real incidents.
/// * `mixed` (168 h): all of them interleaved over a week (over a million alert events).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    Steady,
    Storm,
    Flapping,
    Transient,
    Mixed,
}

impl std::str::FromStr for Scenario {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "steady" => Scenario::Steady,
            "storm" => Scenario::Storm,
            "flapping" => Scenario::Flapping,
            "transient" => Scenario::Transient,
            "mixed" => Scenario::Mixed,
            _ => {
                return Err(format!(
                    "unknown scenario {s:?}: expected steady, storm, flapping, transient or mixed"
                ))
            }
        })
    }
}

/// Options for [`write_scenario`].
#[derive(Debug, Clone)]
pub struct ScenarioOptions {
    pub scenario: Scenario,
    pub seed: u64,
    /// Length in hours; `None` takes the scenario's default.
    pub hours: Option<u32>,
}

/// What a scenario run wrote.
#[derive(Debug, Clone, Default)]
pub struct ScenarioStats {
    /// Payload lines in the stream.
    pub lines: u64,
    /// One per alert per payload (an Alertmanager notification with 30 alerts is 30).
    pub alert_events: u64,
    /// Incidents in the ground truth.
    pub incidents: u64,
    pub actionable_incidents: u64,
    /// Incidents with a human acknowledgement in the stream.
    pub acked_incidents: u64,
    /// `alert` lines in the ground truth (alert episodes noisegate receives).
    pub alert_episodes: u64,
    /// Bytes written to the stream.
    pub bytes: u64,
}

impl std::fmt::Display for ScenarioStats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} lines, {} alert events, {} incidents ({} actionable, {} acked), {} alert episodes, {} bytes",
            self.lines,
            self.alert_events,
            self.incidents,
            self.actionable_incidents,
            self.acked_incidents,
            self.alert_episodes,
            self.bytes
        )
    }
}

/// Writes a labelled scenario stream to `out` (NDJSON, one payload per line in send order,
/// streamed) and its ground truth to `truth` (NDJSON `incident` and `alert` lines).
/// Deterministic in `o.seed`; the window starts at [`EPOCH`].
pub fn write_scenario(
    o: &ScenarioOptions,
    out: &mut dyn std::io::Write,
    truth: &mut dyn std::io::Write,
) -> std::io::Result<ScenarioStats> {
    labelled::write(o, out, truth)
}
