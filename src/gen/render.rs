//! Alert instances → wire payloads, each the way its producer sends it:
//!
//! * Alertmanager (webhook v4) and Grafana (unified alerting webhook) batch alerts into
//!   notification groups: the first notification `group_wait` (30 s) after a group's first
//!   alert, then one every `group_interval` (5 m) while anything in it fires, carrying every
//!   firing alert (same `startsAt`) and the alerts resolved since the last one.
//! * Apps log alert records over OTLP/HTTP JSON, batched per pod every 5 s, repeating a
//!   firing record every few minutes and logging the resolve.
//! * The PagerDuty Events v2 producers send `trigger` on failure, re-send it while failing
//!   and `resolve` on recovery; PagerDuty opens one incident per dedup key episode and its v3
//!   webhooks report what people (and PagerDuty) did with it.
//!
//! Numbers in summaries and descriptions come from a hash of (seed, alert, time), so they
//! vary between re-sends but not between runs.

use std::collections::BTreeMap;

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::json::{ts_ms, ts_ns, ts_pd, ts_s, J};
use super::rules::Fmt;
use super::scenario::{Chan, Foreign, Inst, Scenario, DAY, HOUR, MIN, NEVER, SEC};
use super::world::{self, PdService, Person, World, SERVICES, TOOLS};
use crate::event::Labels;

/// Output lines: (send time, sequence, text).
pub(crate) struct Out {
    pub lines: Vec<(i64, u64, String)>,
    seq: u64,
    t0: i64,
    end: i64,
}

impl Out {
    pub(crate) fn new(t0: i64, end: i64) -> Out {
        Out {
            lines: Vec::new(),
            seq: 0,
            t0,
            end,
        }
    }

    fn push(&mut self, t: i64, line: String) {
        if t >= self.t0 && t < self.end {
            self.lines.push((t, self.seq, line));
            self.seq += 1;
        }
    }
}

/// splitmix64.
pub(crate) fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

pub(crate) fn fnv(s: &str) -> u64 {
    crate::event::fnv1a64(s.as_bytes())
}

/// Go's `url.QueryEscape`.
pub(crate) fn query_escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len() * 2);
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                o.push(b as char)
            }
            b' ' => o.push('+'),
            _ => o.push_str(&format!("%{b:02X}")),
        }
    }
    o
}

/// `%.4g`-like: 4 significant digits, trailing zeros trimmed.
fn g4(x: f64) -> String {
    if x == 0.0 || !x.is_finite() {
        return "0".to_string();
    }
    let mag = x.abs().log10().floor() as i32;
    let decimals = (3 - mag).max(0) as usize;
    let mut s = format!("{x:.decimals$}");
    if s.contains('.') {
        while s.ends_with('0') {
            s.pop();
        }
        if s.ends_with('.') {
            s.pop();
        }
    }
    s
}

pub(crate) fn fmt_value(f: Fmt, v: f64) -> String {
    match f {
        Fmt::Raw => format!("{v}"),
        Fmt::Int => format!("{v:.0}"),
        Fmt::Pct => format!("{}%", g4(v * 100.0)),
        Fmt::F2 => format!("{v:.2}"),
    }
}

pub(crate) fn fmt_raw(f: Fmt, v: f64) -> String {
    match f {
        Fmt::Int => format!("{v:.0}"),
        _ => format!("{v}"),
    }
}

/// Go's `%v` of a label map, as `{{ $labels }}` prints it.
pub(crate) fn go_map(labels: &[(String, String)]) -> String {
    let inner: Vec<String> = labels
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "alertname" | "severity" | "team" | "prometheus"))
        .map(|(k, v)| format!("{k}:{v}"))
        .collect();
    format!("map[{}]", inner.join(" "))
}

/// Replaces `{name}` by `look(name)`; unknown names and non-identifiers stay as they are.
pub(crate) fn fill(tpl: &str, look: &dyn Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(tpl.len() + 32);
    let mut rest = tpl;
    while let Some(i) = rest.find('{') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(j) = after.find('}') {
            let key = &after[..j];
            let ident = !key.is_empty()
                && key
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.');
            if ident {
                if let Some(v) = look(key) {
                    out.push_str(&v);
                    rest = &after[j + 1..];
                    continue;
                }
            }
        }
        out.push('{');
        rest = after;
    }
    out.push_str(rest);
    out
}

/// One alert in one notification.
#[derive(Debug, Clone, Copy)]
struct Entry {
    inst: usize,
    start: i64,
    end: i64,
    firing: bool,
}

/// Alertmanager's aggregation-group timing for one group: (flush time, alerts in it).
fn group_sim(
    insts: &[Inst],
    members: &[usize],
    t0: i64,
    end: i64,
    wait: i64,
    interval: i64,
) -> Vec<(i64, Vec<Entry>)> {
    let mut flat: Vec<(i64, i64, usize)> = members
        .iter()
        .flat_map(|&m| insts[m].ivs.iter().map(move |&(s, e)| (s, e, m)))
        .collect();
    flat.sort();
    let n = flat.len();
    let mut notified = vec![false; n];
    let mut resolved_sent = vec![false; n];
    let mut out = Vec::new();
    let mut last_t = i64::MIN;
    let mut i = 0;
    loop {
        while i < n && flat[i].0 <= last_t {
            i += 1;
        }
        if i >= n {
            return out;
        }
        let mut t = flat[i].0 + wait;
        if t < t0 {
            // Already active when the window opens: keep the group's phase.
            t += (t0 - t + interval - 1) / interval * interval;
        }
        loop {
            if t >= end {
                return out;
            }
            let mut entries: Vec<(usize, Entry)> = Vec::new();
            for k in 0..n {
                let (s, e, m) = flat[k];
                if s > t {
                    break;
                }
                let cand = if e > t {
                    Some(Entry {
                        inst: m,
                        start: s,
                        end: e,
                        firing: true,
                    })
                } else if notified[k] && !resolved_sent[k] {
                    Some(Entry {
                        inst: m,
                        start: s,
                        end: e,
                        firing: false,
                    })
                } else {
                    None
                };
                let Some(c) = cand else { continue };
                match entries.iter_mut().find(|(_, x)| x.inst == m) {
                    None => entries.push((k, c)),
                    Some(slot) => {
                        // A firing interval wins over a resolved one; the latest wins otherwise.
                        if c.firing || !slot.1.firing {
                            *slot = (k, c);
                        }
                    }
                }
            }
            if entries.is_empty() {
                last_t = t;
                break;
            }
            for (k, e) in &entries {
                if e.firing {
                    notified[*k] = true;
                }
            }
            for k in 0..n {
                if flat[k].0 > t {
                    break;
                }
                if notified[k] && flat[k].1 <= t {
                    resolved_sent[k] = true;
                }
            }
            let any_firing = entries.iter().any(|(_, e)| e.firing);
            out.push((t, entries.into_iter().map(|(_, e)| e).collect()));
            if !any_firing {
                last_t = t;
                break;
            }
            t += interval;
        }
    }
}

/// OTLP records per (cluster, service, pod, 5 s window): (time, instance, kind).
type Batches = BTreeMap<(usize, usize, usize, i64), Vec<(i64, usize, u8)>>;

/// OTLP record kinds.
const FIRING: u8 = 0;
const RESOLVED: u8 = 1;
const POINT: u8 = 2;
const NOISE: u8 = 3;

/// A PagerDuty incident as its webhooks show it.
struct Incident {
    id: String,
    number: u64,
    title: String,
    key: Option<String>,
    team: usize,
    urgency: &'static str,
    created: i64,
    priority: Option<&'static str>,
}

pub(crate) struct Renderer<'a> {
    w: &'a World,
    sc: &'a Scenario,
    seed: u64,
    rng: &'a mut ChaCha8Rng,
    t0: i64,
    end: i64,
    pub out: Out,
    incident_no: u64,
}

impl<'a> Renderer<'a> {
    pub(crate) fn new(
        w: &'a World,
        sc: &'a Scenario,
        seed: u64,
        rng: &'a mut ChaCha8Rng,
        t0: i64,
        end: i64,
    ) -> Renderer<'a> {
        Renderer {
            w,
            sc,
            seed,
            rng,
            t0,
            end,
            out: Out::new(t0, end),
            incident_no: 4211,
        }
    }

    pub(crate) fn render(&mut self) {
        self.alertmanager();
        self.grafana();
        self.otlp();
        self.pagerduty();
        self.manual_incidents();
    }

    // --- helpers ------------------------------------------------------------------------------

    fn h(&self, a: u64, b: i64) -> u64 {
        mix(self.seed ^ mix(a.wrapping_mul(0x2545_F491_4F6C_DD1D) ^ mix(b as u64)))
    }

    /// 0..1, a function of (seed, a, b).
    fn u(&self, a: u64, b: i64) -> f64 {
        (self.h(a, b) >> 11) as f64 / (1u64 << 53) as f64
    }

    fn ms(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            lo
        } else {
            self.rng.random_range(lo..=hi)
        }
    }

    fn p(&mut self, p: f64) -> bool {
        self.rng.random_bool(p.clamp(0.0, 1.0))
    }

    fn value(&self, inst: &Inst, t: i64) -> f64 {
        let r = inst.rule;
        let v = r.lo + (r.hi - r.lo) * self.u(inst.id, t);
        if r.fmt == Fmt::Int {
            v.round()
        } else {
            v
        }
    }

    /// Fills an alert's template at time `t`.
    fn text(&self, inst: &Inst, tpl: &str, t: i64) -> String {
        let v = self.value(inst, t);
        let r = inst.rule;
        let u1 = self.u(inst.id ^ 0x51, t);
        let u2 = self.u(inst.id ^ 0xa7, t);
        let look = |k: &str| -> Option<String> {
            Some(match k {
                "value" => fmt_value(r.fmt, v),
                "raw" => fmt_raw(r.fmt, v),
                "labels" => go_map(&inst.labels),
                "n" => format!("{}", 3 + (u1 * 240.0) as i64),
                "ms" => format!("{}", 1200 + (u2 * 28_800.0) as i64),
                "failed" => format!("{}", 1 + (u1 * 3.0) as i64),
                "code" => ["HTTP 500", "HTTP 502", "HTTP 503", "HTTP 504", "a timeout"]
                    [(u2 * 5.0) as usize % 5]
                    .to_string(),
                _ => {
                    return inst
                        .labels
                        .iter()
                        .find(|(n, _)| n == k)
                        .map(|(_, v)| v.clone())
                        .or_else(|| {
                            inst.vars
                                .iter()
                                .find(|(n, _)| *n == k)
                                .map(|(_, v)| v.clone())
                        })
                }
            })
        };
        fill(tpl, &look)
    }

    fn annotations(&self, inst: &Inst, t: i64) -> Vec<(String, String)> {
        let r = inst.rule;
        let mut a = Vec::new();
        if !r.description.is_empty() {
            a.push(("description".to_string(), self.text(inst, r.description, t)));
        }
        if !r.runbook.is_empty() {
            a.push(("runbook_url".to_string(), self.text(inst, r.runbook, t)));
        }
        a.push(("summary".to_string(), self.text(inst, r.summary, t)));
        a
    }

    /// Sub-millisecond digits for a time, stable per alert.
    fn sub(&self, inst: &Inst, t: i64) -> u64 {
        self.h(inst.id ^ 0x77, t) % 1_000_000
    }

    fn push_dup(&mut self, t: i64, line: String, p_dup: f64, dup_lo: i64, dup_hi: i64) {
        if self.p(p_dup) {
            let d = self.ms(dup_lo, dup_hi);
            self.out.push(t + d, line.clone());
        }
        self.out.push(t, line);
    }

    fn groups(&self, chan: Chan) -> BTreeMap<&'a str, Vec<usize>> {
        let sc: &'a Scenario = self.sc;
        let mut g: BTreeMap<&'a str, Vec<usize>> = BTreeMap::new();
        for (i, x) in sc.insts.iter().enumerate() {
            if x.chan == chan {
                g.entry(x.group.as_str()).or_default().push(i);
            }
        }
        g
    }

    // --- Alertmanager ---------------------------------------------------------------------------

    fn alertmanager(&mut self) {
        let sc: &'a Scenario = self.sc;
        for (_, members) in self.groups(Chan::Am) {
            // Watchdog has its own route that repeats hourly (a dead man's switch downstream
            // expects it); everything else re-sends every group_interval while firing.
            let interval = if sc.insts[members[0]].rule.name == "Watchdog" {
                HOUR
            } else {
                5 * MIN
            };
            let notes = group_sim(&sc.insts, &members, self.t0, self.end, 30 * SEC, interval);
            for (t, entries) in notes {
                let line = self.am_line(t, &entries);
                let send = t + (self.h(members[0] as u64, t) % 900) as i64;
                self.push_dup(send, line, 0.012, SEC, 20 * SEC);
            }
        }
    }

    /// Sorts a notification's alerts by label set and returns their common labels.
    fn alert_common(&self, entries: &mut [Entry]) -> Vec<(String, String)> {
        let insts = &self.sc.insts;
        entries.sort_by(|a, b| insts[a.inst].labels.cmp(&insts[b.inst].labels));
        let first = &insts[entries[0].inst].labels;
        first
            .iter()
            .filter(|kv| entries.iter().all(|e| insts[e.inst].labels.contains(kv)))
            .cloned()
            .collect()
    }

    fn am_line(&self, t: i64, entries: &[Entry]) -> String {
        let insts = &self.sc.insts;
        let mut entries = entries.to_vec();
        let common_l = self.alert_common(&mut entries);
        let first = &insts[entries[0].inst];
        let cname = self.w.clusters[first.cluster].name;
        let mut anns: Vec<Vec<(String, String)>> = Vec::new();
        let mut alerts = Vec::new();
        for e in &entries {
            let x = &insts[e.inst];
            let at = if e.firing { t } else { e.end };
            let ann = self.annotations(x, at);
            let fp = Labels::from_pairs(x.labels.iter().map(|(k, v)| (k.as_str(), v.as_str())))
                .fingerprint()
                .to_string();
            alerts.push(obj! {
                "status" => if e.firing { "firing" } else { "resolved" },
                "labels" => J::map(&x.labels),
                "annotations" => J::map(&ann),
                "startsAt" => ts_ns(e.start, self.sub(x, e.start)),
                "endsAt" => if e.firing { "0001-01-01T00:00:00Z".to_string() } else { ts_ns(e.end, self.sub(x, e.end)) },
                "generatorURL" => format!(
                    "https://prometheus.{cname}.shopwave.example/graph?g0.expr={}&g0.tab=1",
                    query_escape(x.rule.expr)
                ),
                "fingerprint" => fp,
            });
            anns.push(ann);
        }
        let common_a: Vec<(String, String)> = anns[0]
            .iter()
            .filter(|kv| anns.iter().all(|a| a.contains(kv)))
            .cloned()
            .collect();
        let group_labels: Vec<(String, String)> = first
            .labels
            .iter()
            .filter(|(k, _)| matches!(k.as_str(), "alertname" | "cluster" | "namespace"))
            .cloned()
            .collect();
        let gk: Vec<String> = group_labels
            .iter()
            .map(|(k, v)| format!("{k}={v:?}"))
            .collect();
        let route = if first.rule.name == "Watchdog" {
            "{}/{alertname=\"Watchdog\"}"
        } else {
            "{}"
        };
        let status = if entries.iter().any(|e| e.firing) {
            "firing"
        } else {
            "resolved"
        };
        obj! {
            "receiver" => "noisegate",
            "status" => status,
            "alerts" => alerts,
            "groupLabels" => J::map(&group_labels),
            "commonLabels" => J::map(&common_l),
            "commonAnnotations" => J::map(&common_a),
            "externalURL" => format!("https://alertmanager.{cname}.shopwave.example"),
            "version" => "4",
            "groupKey" => format!("{route}:{{{}}}", gk.join(", ")),
            "truncatedAlerts" => 0i64,
        }
        .line()
    }

    // --- Grafana --------------------------------------------------------------------------------

    fn grafana(&mut self) {
        let sc: &'a Scenario = self.sc;
        for (_, members) in self.groups(Chan::Grafana) {
            let notes = group_sim(&sc.insts, &members, self.t0, self.end, 30 * SEC, 5 * MIN);
            for (t, entries) in notes {
                let line = self.grafana_line(t, &entries);
                let send = t + (self.h(members[0] as u64 ^ 0x9, t) % 1500) as i64;
                self.push_dup(send, line, 0.012, SEC, 30 * SEC);
            }
        }
    }

    /// A Grafana rule UID: 9-14 characters of [A-Za-z0-9_-], stable per rule.
    fn rule_uid(name: &str) -> String {
        const C: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";
        let mut h = fnv(name);
        let n = 9 + (h % 6) as usize;
        (0..n)
            .map(|_| {
                h = mix(h);
                C[(h % C.len() as u64) as usize] as char
            })
            .collect()
    }

    fn grafana_line(&self, t: i64, entries: &[Entry]) -> String {
        const BASE: &str = "https://grafana.shopwave.example";
        let insts = &self.sc.insts;
        let mut entries = entries.to_vec();
        let common_l = self.alert_common(&mut entries);
        let first = &insts[entries[0].inst];
        let mut anns: Vec<Vec<(String, String)>> = Vec::new();
        let mut alerts = Vec::new();
        let mut firing_msg = String::new();
        let mut resolved_msg = String::new();
        let (mut n_firing, mut n_resolved) = (0, 0);
        for e in &entries {
            let x = &insts[e.inst];
            let at = if e.firing { t } else { e.end };
            let ann = self.annotations(x, at);
            let uid = Self::rule_uid(x.rule.name);
            let label_text: String = x
                .labels
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("");
            let gfp = format!("{:016x}", mix(fnv(&uid) ^ fnv(&label_text)));
            let series: Vec<String> = x
                .labels
                .iter()
                .filter(|(k, _)| matches!(k.as_str(), "cluster" | "service"))
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            let series = series.join(", ");
            let v = self.value(x, at);
            let c = if e.firing { 1 } else { 0 };
            let value_string = format!(
                "[ var='B' labels={{{series}}} value={} ], [ var='C' labels={{{series}}} value={c} ]",
                fmt_raw(x.rule.fmt, v)
            );
            let matchers: String = x
                .labels
                .iter()
                .map(|(k, v)| format!("&matcher={}", query_escape(&format!("{k}={v}"))))
                .collect();
            let dash = format!("{:08x}", fnv(x.rule.name) as u32);
            let panel = 2 + fnv(x.rule.name) % 20;
            let generator = format!("{BASE}/alerting/grafana/{uid}/view?orgId=1");
            let silence =
                format!("{BASE}/alerting/silence/new?alertmanager=grafana{matchers}&orgId=1");
            // Only the SLO rules are linked to a dashboard panel.
            let slo = x
                .labels
                .iter()
                .any(|(k, v)| k == "grafana_folder" && v == "SLOs");
            let (dashboard, panel_url) = if slo {
                (
                    format!("{BASE}/d/{dash}?orgId=1"),
                    format!("{BASE}/d/{dash}?orgId=1&viewPanel={panel}"),
                )
            } else {
                (String::new(), String::new())
            };
            let mut msg = format!("Value: B={}, C={c}\nLabels:\n", fmt_raw(x.rule.fmt, v));
            for (k, v) in &x.labels {
                msg.push_str(&format!(" - {k} = {v}\n"));
            }
            msg.push_str("Annotations:\n");
            for (k, v) in &ann {
                msg.push_str(&format!(" - {k} = {v}\n"));
            }
            msg.push_str(&format!("Source: {generator}\nSilence: {silence}\n"));
            if slo {
                msg.push_str(&format!("Dashboard: {dashboard}\nPanel: {panel_url}\n"));
            }
            msg.push('\n');
            if e.firing {
                n_firing += 1;
                firing_msg.push_str(&msg);
            } else {
                n_resolved += 1;
                resolved_msg.push_str(&msg);
            }
            alerts.push(obj! {
                "status" => if e.firing { "firing" } else { "resolved" },
                "labels" => J::map(&x.labels),
                "annotations" => J::map(&ann),
                "startsAt" => ts_ns(e.start, self.sub(x, e.start)),
                "endsAt" => if e.firing { "0001-01-01T00:00:00Z".to_string() } else { ts_ns(e.end, self.sub(x, e.end)) },
                "generatorURL" => generator,
                "fingerprint" => gfp,
                "silenceURL" => silence,
                "dashboardURL" => dashboard,
                "panelURL" => panel_url,
                "values" => obj! { "B" => (v * 10_000.0).round() / 10_000.0, "C" => c as i64 },
                "valueString" => value_string,
            });
            anns.push(ann);
        }
        let common_a: Vec<(String, String)> = anns[0]
            .iter()
            .filter(|kv| anns.iter().all(|a| a.contains(kv)))
            .cloned()
            .collect();
        let group_labels: Vec<(String, String)> = first
            .labels
            .iter()
            .filter(|(k, _)| matches!(k.as_str(), "alertname" | "grafana_folder"))
            .cloned()
            .collect();
        let gk: Vec<String> = group_labels
            .iter()
            .map(|(k, v)| format!("{k}={v:?}"))
            .collect();
        let status = if n_firing > 0 { "firing" } else { "resolved" };
        let head = if n_firing > 0 {
            if n_resolved > 0 {
                format!("[FIRING:{n_firing}, RESOLVED:{n_resolved}]")
            } else {
                format!("[FIRING:{n_firing}]")
            }
        } else {
            "[RESOLVED]".to_string()
        };
        let gvals: Vec<&str> = group_labels.iter().map(|(_, v)| v.as_str()).collect();
        let rest: Vec<&str> = common_l
            .iter()
            .filter(|(k, _)| !group_labels.iter().any(|(g, _)| g == k))
            .map(|(_, v)| v.as_str())
            .collect();
        let mut title = format!("{head} {}", gvals.join(" "));
        if !rest.is_empty() {
            title.push_str(&format!(" ({})", rest.join(" ")));
        }
        let mut message = String::new();
        if n_firing > 0 {
            message.push_str("**Firing**\n\n");
            message.push_str(&firing_msg);
        }
        if n_resolved > 0 {
            message.push_str("**Resolved**\n\n");
            message.push_str(&resolved_msg);
        }
        obj! {
            "receiver" => "noisegate",
            "status" => status,
            "alerts" => alerts,
            "groupLabels" => J::map(&group_labels),
            "commonLabels" => J::map(&common_l),
            "commonAnnotations" => J::map(&common_a),
            "externalURL" => format!("{BASE}/"),
            "version" => "1",
            "groupKey" => format!("{{}}/{{__grafana_autogenerated__=\"true\"}}/{{__grafana_receiver__=\"noisegate\"}}:{{{}}}", gk.join(", ")),
            "truncatedAlerts" => 0i64,
            "orgId" => 1i64,
            "title" => title,
            "state" => if n_firing > 0 { "alerting" } else { "ok" },
            "message" => message,
        }
        .line()
    }

    // --- OTLP -----------------------------------------------------------------------------------

    fn otlp(&mut self) {
        let sc: &'a Scenario = self.sc;
        // (cluster, service, pod, 5 s window) → records (time, inst, kind)
        let mut batches: Batches = BTreeMap::new();
        for (i, x) in sc.insts.iter().enumerate() {
            if x.chan != Chan::Otlp {
                continue;
            }
            let Some((s, p)) = x.res else { continue };
            let mut add = |t: i64, k: u8| {
                batches
                    .entry((x.cluster, s, p, t.div_euclid(5 * SEC)))
                    .or_default()
                    .push((t, i, k));
            };
            // Apps re-log a standing condition every few minutes.
            let repeat = 6 * MIN + (self.h(x.id ^ 0x3, 0) % 240_000) as i64;
            for &(a, b) in &x.ivs {
                if x.oneshot {
                    add(a, POINT);
                    continue;
                }
                add(a, FIRING);
                let mut t = a + repeat;
                while t < b.min(self.end) {
                    add(t, FIRING);
                    t += repeat;
                }
                if b < self.end {
                    add(b, RESOLVED);
                }
            }
        }
        for ((c, s, p, w), mut recs) in batches {
            recs.sort();
            if self.u(w as u64 ^ 0xb0b, (c * 100 + s * 10 + p) as i64) < 0.3 {
                recs.insert(0, (recs[0].0 - 3, usize::MAX, NOISE));
            }
            let line = self.otlp_line(c, s, p, &recs);
            let send = (w + 1) * 5 * SEC + (self.h(w as u64, (s * 10 + p) as i64) % 1500) as i64;
            self.push_dup(send, line, 0.005, 2 * SEC, 10 * SEC);
        }
    }

    fn otlp_line(&self, c: usize, s: usize, p: usize, recs: &[(i64, usize, u8)]) -> String {
        let def = &SERVICES[s];
        let cl = &self.w.clusters[c];
        let pod = &cl.pods[s][p];
        let sv = |k: &str, v: &str| obj! { "key" => k, "value" => obj! { "stringValue" => v } };
        let iv =
            |k: &str, v: i64| obj! { "key" => k, "value" => obj! { "intValue" => v.to_string() } };
        let mut res = vec![
            sv("telemetry.sdk.language", def.lang),
            sv("telemetry.sdk.name", "opentelemetry"),
            sv("telemetry.sdk.version", def.sdk),
            sv("service.name", def.name),
            sv("service.namespace", def.ns),
            sv("service.version", &cl.versions[s]),
            sv("service.instance.id", &pod.instance_id),
            sv("deployment.environment.name", "production"),
            sv("k8s.cluster.name", cl.name),
            sv("k8s.namespace.name", def.ns),
            sv("k8s.pod.name", &pod.name),
            sv("host.name", &cl.nodes[pod.node].name),
        ];
        if matches!(def.name, "payments" | "users") {
            res.push(sv("team", def.team));
        }
        let (scope, file) = match def.lang {
            "java" => ("com.shopwave.alerting", "AlertReporter.java"),
            "python" => ("shopwave.alerting", "/app/shopwave/alerting.py"),
            "nodejs" => ("@shopwave/alerting", "/app/dist/alerting.js"),
            _ => (
                "github.com/shopwave/platform/alerting",
                "/src/alerting/report.go",
            ),
        };
        let mut records = Vec::new();
        for &(t, i, k) in recs {
            let sub = self.h(i as u64 ^ 0x5, t) % 1_000_000;
            let ns = t as u128 * 1_000_000 + sub as u128;
            let observed = ns + 20_000 + (self.h(i as u64 ^ 0x6, t) % 400_000) as u128;
            if k == NOISE {
                let code = 200i64;
                records.push(obj! {
                    "timeUnixNano" => ns.to_string(),
                    "observedTimeUnixNano" => observed.to_string(),
                    "severityNumber" => 9i64,
                    "severityText" => "INFO",
                    "body" => obj! { "stringValue" => "GET /healthz 200" },
                    "attributes" => vec![
                        sv("http.route", "/healthz"),
                        iv("http.response.status_code", code),
                        sv("code.file.path", file),
                        iv("code.line.number", 41),
                    ],
                });
                continue;
            }
            let x = &self.sc.insts[i];
            let (num, text) = match x.rule.severity {
                "critical" => (21i64, "FATAL"),
                "error" => (17, "ERROR"),
                "warning" => (13, "WARN"),
                _ => (9, "INFO"),
            };
            let body = if k == RESOLVED {
                format!("{} resolved", x.rule.name)
            } else {
                self.text(x, x.rule.summary, t)
            };
            let mut attrs = Vec::new();
            for key in ["alertname", "severity"] {
                if let Some((_, v)) = x.labels.iter().find(|(n, _)| n == key) {
                    attrs.push(sv(key, v));
                }
            }
            for (key, v) in &x.labels {
                if key != "alertname" && key != "severity" {
                    attrs.push(sv(key, v));
                }
            }
            if k != POINT {
                attrs.push(sv(
                    "alert.status",
                    if k == RESOLVED { "resolved" } else { "firing" },
                ));
            }
            if !x.rule.runbook.is_empty() {
                attrs.push(sv("runbook_url", x.rule.runbook));
            }
            attrs.push(sv("code.file.path", file));
            attrs.push(iv("code.line.number", 20 + (fnv(x.rule.name) % 400) as i64));
            let mut rec = obj! {
                "timeUnixNano" => ns.to_string(),
                "observedTimeUnixNano" => observed.to_string(),
                "severityNumber" => num,
                "severityText" => text,
                "body" => obj! { "stringValue" => body },
                "attributes" => attrs,
            };
            if num >= 17 && k != RESOLVED {
                let tid = format!(
                    "{:016x}{:016x}",
                    self.h(i as u64 ^ 0x7, t),
                    self.h(i as u64 ^ 0x8, t)
                );
                let sid = format!("{:016x}", self.h(i as u64 ^ 0x9, t));
                if let J::O(v) = &mut rec {
                    v.push(("flags".into(), J::I(1)));
                    v.push(("traceId".into(), J::S(tid)));
                    v.push(("spanId".into(), J::S(sid)));
                }
            }
            records.push(rec);
        }
        obj! {
            "resourceLogs" => vec![obj! {
                "resource" => obj! { "attributes" => res },
                "scopeLogs" => vec![obj! {
                    "scope" => obj! { "name" => scope, "version" => "2.3.0" },
                    "logRecords" => records,
                }],
            }],
        }
        .line()
    }

    // --- PagerDuty ------------------------------------------------------------------------------

    fn pagerduty(&mut self) {
        let sc: &'a Scenario = self.sc;
        for (i, x) in sc.insts.iter().enumerate() {
            if x.chan != Chan::PdV2 {
                continue;
            }
            let Some(chk) = &x.pd else { continue };
            let routing_key = self.w.pd[chk.team].routing_keys[chk.tool].clone();
            for &(s, e) in &x.ivs {
                let mut t = s;
                let mut title = None;
                while t < e && t < self.end {
                    let (line, summary) = self.trigger_line(i, x, t, &routing_key);
                    title.get_or_insert(summary);
                    let d = self.ms(150, 2500);
                    self.out.push(t + d, line);
                    t += chk.renotify;
                }
                // The trigger that opened the incident may predate the window (a daily
                // re-report of a standing problem): PagerDuty's incident is older still.
                let title = title.unwrap_or_default();
                if s >= self.t0 - MIN {
                    self.incident_flow(x, &routing_key, s, e, title);
                } else if e == NEVER && self.p(0.5) {
                    // Someone finally acknowledges the standing incident.
                    let first_seen = s + ((self.t0 - s) / chk.renotify + 1) * chk.renotify;
                    let inc = self.new_incident(
                        title,
                        Some(chk.dedup_key.clone()),
                        chk.team,
                        "low",
                        s + 2 * SEC,
                    );
                    let at = first_seen + self.ms(20 * MIN, 3 * HOUR);
                    let person = self.oncall(chk.team, at, false);
                    let agent = self.user_ref(person);
                    self.v3(
                        &inc,
                        at,
                        "incident.acknowledged",
                        agent,
                        "acknowledged",
                        person,
                    );
                }
                if e < self.end {
                    let body = obj! {
                        "routing_key" => routing_key.as_str(),
                        "dedup_key" => chk.dedup_key.as_str(),
                        "event_action" => "resolve",
                    }
                    .line();
                    let d = self.ms(150, 2500);
                    self.out.push(e + d, body);
                }
            }
        }
    }

    fn trigger_line(&self, i: usize, x: &Inst, t: i64, routing_key: &str) -> (String, String) {
        let Some(chk) = &x.pd else {
            return (String::new(), String::new());
        };
        let summary = self.text(x, x.rule.summary, t);
        let (client, client_url) = TOOLS[chk.tool];
        let mut details: Vec<(String, J)> = chk
            .details
            .iter()
            .map(|(k, v)| (k.to_string(), J::S(v.clone())))
            .collect();
        let run = self.h(i as u64 ^ 0x11, t) % 9_000_000 + 1_000_000;
        let mut links = Vec::new();
        let timestamp;
        if chk.tool == world::TOOL_SYNTHETICS {
            let u = self.u(i as u64 ^ 0xa7, t);
            details.push((
                "response_time_ms".into(),
                J::I(1200 + (u * 28_800.0) as i64),
            ));
            details.push((
                "failed_locations".into(),
                J::S(format!(
                    "{}/3",
                    1 + (self.u(i as u64 ^ 0x51, t) * 3.0) as i64
                )),
            ));
            details.push(("run_id".into(), J::I(run as i64)));
            links.push(obj! {
                "href" => format!("{client_url}/checks/{}/runs/{run}", chk.component),
                "text" => "View check run",
            });
            timestamp = ts_ms(t);
        } else if chk.tool == world::TOOL_SENTRY {
            let first = x.ivs.first().map_or(t, |iv| iv.0);
            let seen = 100 + (t - first) / SEC * (2 + (self.h(i as u64, 0) % 9) as i64) / 7;
            details.push(("times_seen".into(), J::I(seen)));
            details.push(("users_affected".into(), J::I(seen / 3 + 1)));
            timestamp = ts_ms(t);
        } else {
            timestamp = ts_pd(t);
        }
        if !x.rule.runbook.is_empty() {
            links.push(obj! { "href" => self.text(x, x.rule.runbook, t), "text" => "Runbook" });
        }
        let body = obj! {
            "payload" => obj! {
                "summary" => summary.as_str(),
                "timestamp" => timestamp,
                "severity" => x.rule.severity,
                "source" => chk.source.as_str(),
                "component" => chk.component.as_str(),
                "group" => chk.group.as_str(),
                "class" => x.rule.name,
                "custom_details" => J::O(details),
            },
            "routing_key" => routing_key,
            "dedup_key" => chk.dedup_key.as_str(),
            "event_action" => "trigger",
            "client" => client,
            "client_url" => client_url,
            "links" => links,
        };
        (body.line(), summary)
    }

    fn new_incident(
        &mut self,
        title: String,
        key: Option<String>,
        team: usize,
        urgency: &'static str,
        created: i64,
    ) -> Incident {
        self.incident_no += 1;
        Incident {
            id: format!("Q{}", world::upper_alnum(self.rng, 13)),
            number: self.incident_no,
            title,
            key,
            team,
            urgency,
            created,
            priority: None,
        }
    }

    /// The on-call person for a team at `t` (rota hands over daily at 09:00).
    fn oncall(&self, team: usize, t: i64, secondary: bool) -> &'a Person {
        let w: &'a World = self.w;
        let rot = ((t - self.t0 - 9 * HOUR).div_euclid(DAY)).rem_euclid(2) as usize;
        let idx = if secondary { 1 - rot } else { rot };
        &w.pd[team].people[idx]
    }

    fn user_ref(&self, p: &Person) -> J {
        let sub = self.w.pd_subdomain;
        obj! {
            "html_url" => format!("https://{sub}.pagerduty.com/users/{}", p.id),
            "id" => p.id.as_str(),
            "self" => format!("https://api.pagerduty.com/users/{}", p.id),
            "summary" => p.name,
            "type" => "user_reference",
        }
    }

    fn service_ref(&self, s: &PdService) -> J {
        let sub = self.w.pd_subdomain;
        obj! {
            "html_url" => format!("https://{sub}.pagerduty.com/services/{}", s.id),
            "id" => s.id.as_str(),
            "self" => format!("https://api.pagerduty.com/services/{}", s.id),
            "summary" => s.name,
            "type" => "service_reference",
        }
    }

    /// A ULID for `t` (PagerDuty's webhook event ids look like these).
    fn ulid(&mut self, t: i64) -> String {
        const C: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
        let mut s = String::with_capacity(26);
        let ms = t.max(0) as u64;
        for i in (0..10).rev() {
            s.push(C[((ms >> (i * 5)) & 31) as usize] as char);
        }
        for _ in 0..16 {
            s.push(C[self.rng.random_range(0..32)] as char);
        }
        s
    }

    fn incident_data(&self, inc: &Incident, status: &str, assignee: &Person) -> J {
        let sub = self.w.pd_subdomain;
        let svc = &self.w.pd[inc.team];
        let priority = match inc.priority {
            None => J::Null,
            Some(p) => obj! {
                "html_url" => format!("https://{sub}.pagerduty.com/account/settings/incidents"),
                "id" => format!("P{:06X}", fnv(p) as u32 & 0xFF_FFFF),
                "self" => format!("https://api.pagerduty.com/priorities/P{:06X}", fnv(p) as u32 & 0xFF_FFFF),
                "summary" => p,
                "type" => "priority_reference",
            },
        };
        let assignees = if status == "resolved" {
            Vec::new()
        } else {
            vec![self.user_ref(assignee)]
        };
        obj! {
            "id" => inc.id.as_str(),
            "type" => "incident",
            "self" => format!("https://api.pagerduty.com/incidents/{}", inc.id),
            "html_url" => format!("https://{sub}.pagerduty.com/incidents/{}", inc.id),
            "number" => inc.number as i64,
            "status" => status,
            "incident_key" => inc.key.clone(),
            "created_at" => ts_s(inc.created),
            "title" => inc.title.as_str(),
            "service" => self.service_ref(svc),
            "assignees" => assignees,
            "escalation_policy" => obj! {
                "html_url" => format!("https://{sub}.pagerduty.com/escalation_policies/{}", svc.ep_id),
                "id" => svc.ep_id.as_str(),
                "self" => format!("https://api.pagerduty.com/escalation_policies/{}", svc.ep_id),
                "summary" => svc.ep_name,
                "type" => "escalation_policy_reference",
            },
            "teams" => vec![obj! {
                "html_url" => format!("https://{sub}.pagerduty.com/teams/{}", svc.team_id),
                "id" => svc.team_id.as_str(),
                "self" => format!("https://api.pagerduty.com/teams/{}", svc.team_id),
                "summary" => svc.team_name,
                "type" => "team_reference",
            }],
            "priority" => priority,
            "urgency" => inc.urgency,
            "conference_bridge" => J::Null,
            "resolve_reason" => J::Null,
        }
    }

    /// One v3 webhook delivery about the incident (retried now and then).
    fn v3(
        &mut self,
        inc: &Incident,
        t: i64,
        event_type: &str,
        agent: J,
        status: &str,
        assignee: &Person,
    ) {
        let data = self.incident_data(inc, status, assignee);
        self.v3_raw(t, event_type, agent, data);
    }

    fn v3_raw(&mut self, t: i64, event_type: &str, agent: J, data: J) {
        let id = self.ulid(t);
        let line = obj! {
            "event" => obj! {
                "id" => id,
                "event_type" => event_type,
                "resource_type" => "incident",
                "occurred_at" => ts_ms(t),
                "agent" => agent,
                "client" => J::Null,
                "data" => data,
            },
        }
        .line();
        // Delivered a moment after it happened.
        let d = self.ms(300, 3000);
        self.push_dup(t + d, line, 0.01, 5 * SEC, 60 * SEC);
    }

    fn note(&mut self, inc: &Incident, t: i64, person: &Person, content: &str) {
        let sub = self.w.pd_subdomain;
        let data = obj! {
            "incident" => obj! {
                "html_url" => format!("https://{sub}.pagerduty.com/incidents/{}", inc.id),
                "id" => inc.id.as_str(),
                "self" => format!("https://api.pagerduty.com/incidents/{}", inc.id),
                "summary" => inc.title.as_str(),
                "type" => "incident_reference",
            },
            "id" => world::pd_id(self.rng),
            "content" => content,
            "trimmed" => false,
            "type" => "incident_note",
        };
        let agent = self.user_ref(person);
        self.v3_raw(t, "incident.annotated", agent, data);
    }

    /// PagerDuty's side of one trigger episode `[s, e)` of an Events v2 check: the incident
    /// opens, maybe escalates, someone acknowledges (in the app, or through the chat bot that
    /// calls the Events API), works it, and it resolves when the producer says so.
    fn incident_flow(&mut self, x: &Inst, routing_key: &str, s: i64, e: i64, title: String) {
        let Some(chk) = &x.pd else { return };
        let created = s + self.ms(800, 3000);
        if created >= self.end {
            return;
        }
        let urgency = if matches!(x.rule.severity, "critical" | "error") {
            "high"
        } else {
            "low"
        };
        let mut inc = self.new_incident(
            title,
            Some(chk.dedup_key.clone()),
            chk.team,
            urgency,
            created,
        );
        let w: &'a World = self.w;
        let svc = &w.pd[chk.team];
        let primary = self.oncall(chk.team, created, false);
        let secondary = self.oncall(chk.team, created, true);
        self.v3(
            &inc,
            created,
            "incident.triggered",
            self.service_ref(svc),
            "triggered",
            primary,
        );

        let long = e == NEVER || e - s >= 4 * MIN;
        let p_ack = match (urgency, long) {
            ("high", true) => 0.93,
            ("high", false) => 0.1,
            _ => 0.45,
        };
        let night = diurnal_hour(self.t0, created) < 7;
        let delay = if night {
            self.ms(3 * MIN, 16 * MIN)
        } else if self.p(0.8) {
            self.ms(45 * SEC, 4 * MIN)
        } else {
            self.ms(4 * MIN, 14 * MIN)
        };
        let ack_at = created + delay;
        let mut acker = primary;
        let mut acked = false;
        if self.p(p_ack) && ack_at < e {
            if urgency == "high" && delay > 5 * MIN {
                self.v3(
                    &inc,
                    created + 5 * MIN,
                    "incident.escalated",
                    J::Null,
                    "triggered",
                    secondary,
                );
                acker = secondary;
            }
            if self.p(0.2) {
                // `/pd ack` in Slack: the bot acknowledges through the Events API.
                let body = obj! {
                    "routing_key" => routing_key,
                    "dedup_key" => chk.dedup_key.as_str(),
                    "event_action" => "acknowledge",
                }
                .line();
                self.out.push(ack_at, body);
                let at = ack_at + self.ms(400, 2500);
                self.v3(
                    &inc,
                    at,
                    "incident.acknowledged",
                    self.service_ref(svc),
                    "acknowledged",
                    acker,
                );
            } else {
                let agent = self.user_ref(acker);
                self.v3(
                    &inc,
                    ack_at,
                    "incident.acknowledged",
                    agent,
                    "acknowledged",
                    acker,
                );
            }
            acked = true;
            // The service's acknowledgement timeout re-opens an incident acked long ago.
            if e != NEVER && e - ack_at > 35 * MIN && self.p(0.6) {
                let at = ack_at + 30 * MIN;
                self.v3(
                    &inc,
                    at,
                    "incident.unacknowledged",
                    J::Null,
                    "triggered",
                    acker,
                );
                let again = at + self.ms(MIN, 6 * MIN);
                if again < e {
                    let agent = self.user_ref(acker);
                    self.v3(
                        &inc,
                        again,
                        "incident.acknowledged",
                        agent,
                        "acknowledged",
                        acker,
                    );
                }
            }
            if chk.storm && self.p(0.25) {
                let at = ack_at + self.ms(MIN, 6 * MIN);
                if at < e {
                    inc.priority = Some(if self.p(0.6) { "P1" } else { "P2" });
                    let agent = self.user_ref(acker);
                    self.v3(
                        &inc,
                        at,
                        "incident.priority_updated",
                        agent,
                        "acknowledged",
                        acker,
                    );
                }
            }
            let p_note = if chk.storm { 0.45 } else { 0.2 };
            if self.p(p_note) {
                let at = ack_at + self.ms(2 * MIN, 15 * MIN);
                if at < e {
                    const NOTES: [&str; 6] = [
                        "Looking into it.",
                        "Seeing errors across several services, checking the datastores first.",
                        "Failing over / restarting, will update in 10 min.",
                        "Root cause looks upstream of this check; following the main incident channel.",
                        "Rerunning the job by hand.",
                        "Customer impact confirmed, status page updated.",
                    ];
                    let n = NOTES[self.rng.random_range(0..NOTES.len())];
                    self.note(&inc, at, acker, n);
                }
            }
        }
        if e >= self.end {
            return;
        }
        if acked && chk.storm && self.p(0.15) {
            // Resolved by hand just before the producer's own resolve arrives.
            let at = e - self.ms(0, 90 * SEC);
            let agent = self.user_ref(acker);
            self.v3(
                &inc,
                at.max(ack_at + SEC),
                "incident.resolved",
                agent,
                "resolved",
                acker,
            );
        } else {
            let at = e + self.ms(1500, 4000);
            self.v3(
                &inc,
                at,
                "incident.resolved",
                self.service_ref(svc),
                "resolved",
                acker,
            );
        }
    }

    /// Incidents opened by hand: no incident key, people do everything.
    fn manual_incidents(&mut self) {
        let sc: &'a Scenario = self.sc;
        for f in &sc.foreign {
            let Foreign {
                at,
                team,
                title,
                dur,
            } = *f;
            let opener = self.oncall(team, at, true);
            let inc = self.new_incident(title.to_string(), None, team, "high", at);
            let agent = self.user_ref(opener);
            let primary = self.oncall(team, at, false);
            self.v3(&inc, at, "incident.triggered", agent, "triggered", primary);
            let ack = at + self.ms(MIN, 6 * MIN);
            let agent = self.user_ref(primary);
            self.v3(
                &inc,
                ack,
                "incident.acknowledged",
                agent,
                "acknowledged",
                primary,
            );
            if self.p(0.6) {
                let t = ack + self.ms(3 * MIN, dur.max(4 * MIN) - MIN);
                self.note(
                    &inc,
                    t,
                    primary,
                    "Investigating with support; no matching alerts so far.",
                );
            }
            let agent = self.user_ref(primary);
            self.v3(
                &inc,
                at + dur,
                "incident.resolved",
                agent,
                "resolved",
                primary,
            );
        }
    }
}

fn diurnal_hour(t0: i64, t: i64) -> i64 {
    (t - t0).rem_euclid(DAY) / HOUR
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formatting_helpers() {
        assert_eq!(g4(37.523), "37.52");
        assert_eq!(g4(5.0), "5");
        assert_eq!(g4(100.0), "100");
        assert_eq!(fmt_value(Fmt::Pct, 0.0523), "5.23%");
        assert_eq!(query_escape("pg_up == 0"), "pg_up+%3D%3D+0");
        let l = vec![
            ("alertname".to_string(), "X".to_string()),
            ("instance".to_string(), "a:1".to_string()),
            ("job".to_string(), "j".to_string()),
        ];
        assert_eq!(go_map(&l), "map[instance:a:1 job:j]");
        let f = fill("a {x} {y} {{ $v }} {", &|k| {
            (k == "x").then(|| "1".to_string())
        });
        assert_eq!(f, "a 1 {y} {{ $v }} {");
    }
}
