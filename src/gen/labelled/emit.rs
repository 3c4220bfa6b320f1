//! Plan → wire payloads in send order, streamed to the output, and the ground truth.
//!
//! * Alertmanager (webhook v4): one aggregation group per (alertname, cluster, service), as the
//!   route to noisegate groups them: the first notification `group_wait` (30 s) after the
//!   group's first alert, then one every `group_interval` (5 m; the route's `repeat_interval`
//!   is 5 m too, noisegate wants the current state) while anything in it fires, carrying every
//!   firing alert (same `startsAt`) and, with `send_resolved`, the alerts resolved since the
//!   last one. An alert that resolves and fires again between two notifications shows only
//!   its new episode; one that fires and clears between two notifications is never sent.
//! * Apps log alert records over OTLP/HTTP JSON, batched per pod every 5 s, repeating a
//!   firing record every few minutes and logging the resolve.
//! * PagerDuty Events v2 tools send `trigger` when a check fails, re-send it while it fails
//!   and `resolve` when it recovers.
//! * People acknowledge real incidents (PagerDuty v3 `incident.acknowledged` by a user, or the
//!   chat bot's Events v2 `acknowledge`), naming one of the incident's alerts by its
//!   fingerprint (or a tool's trigger by its dedup key).
//!
//! Only the plan (episodes) and per-message indexes are held in memory; each line is
//! rendered into one reused buffer and written.

use std::collections::BTreeMap;
use std::io::Write;

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::plan::{otlp_resource, Chan, Episode, Plan};
use super::topo::SERVICES;
use super::world::{Person, World, DOMAIN, TOOLS, TOOL_NOISEGATE};
use crate::event::EventTime;
use crate::gen::json::{ts_ms, ts_ns, ts_pd, ts_s, J};
use crate::gen::render::{fill, fmt_raw, fmt_value, fnv, go_map, mix, query_escape};
use crate::gen::rules::Fmt;
use crate::gen::scenario::{DAY, HOUR, MIN, NEVER, SEC};
use crate::gen::world::upper_alnum;

const GROUP_WAIT: i64 = 30 * SEC;
const GROUP_INTERVAL: i64 = 5 * MIN;
/// Apps report their active alert conditions over OTLP this often.
const REPORT_TICK: i64 = MIN;
/// Share of payloads a producer delivers twice (a retry after a lost response).
const P_DUP: f64 = 0.002;

/// OTLP records per (cluster, service, pod, 5 s window): (time, episode, kind).
type OtlpBatches = BTreeMap<(usize, usize, usize, i64), Vec<(i64, u32, u8)>>;

/// OTLP record kinds.
const FIRING: u8 = 0;
const RESOLVED: u8 = 1;
const HEALTH: u8 = 2;

#[derive(Debug, Clone, Copy)]
enum MsgKind {
    Am(u32),
    Otlp(u32),
    PdTrigger(u32, i64),
    PdResolve(u32),
    Ack(u32),
    Note(u32),
}

#[derive(Debug, Clone, Copy)]
struct Msg {
    t: i64,
    seq: u32,
    kind: MsgKind,
}

struct AmNote {
    t: i64,
    entries: (u32, u32),
}

struct Batch {
    cluster: usize,
    svc: usize,
    pod: usize,
    recs: (u32, u32),
}

/// A human acknowledgement.
struct Ack {
    inc: u32,
    /// The episode whose alert it names.
    ep: u32,
    at: i64,
    via_v2: bool,
    team: usize,
    pd_id: String,
    number: u64,
    created: i64,
}

/// Per Alertmanager alert, rendered once.
struct Pre {
    labels_json: String,
    go_labels: String,
    gen_url: String,
    fp: String,
}

/// What was written.
#[derive(Debug, Default, Clone)]
pub(crate) struct Written {
    pub lines: u64,
    pub alert_events: u64,
    pub incidents: u64,
    pub actionable: u64,
    pub acked: u64,
    pub alert_lines: u64,
    pub bytes: u64,
}

pub(crate) struct Emitter<'a> {
    w: &'a World,
    plan: &'a Plan,
    seed: u64,
    rng: &'a mut ChaCha8Rng,
    t0: i64,
    end: i64,
    msgs: Vec<Msg>,
    notes: Vec<AmNote>,
    entries: Vec<(u32, bool)>,
    batches: Vec<Batch>,
    recs: Vec<(i64, u32, u8)>,
    acks: Vec<Ack>,
    /// Per episode: when noisegate first receives it firing (`i64::MAX`: never).
    first_seen: Vec<i64>,
    pre: Vec<Option<Pre>>,
}

/// Severity rank for choosing what a responder was paged about.
fn sev_rank(s: &str) -> u8 {
    match s {
        "critical" => 3,
        "error" => 2,
        "warning" => 1,
        _ => 0,
    }
}

/// Appends `s` JSON-escaped (no quotes).
fn esc(o: &mut String, s: &str) {
    for ch in s.chars() {
        match ch {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            '\r' => o.push_str("\\r"),
            '\t' => o.push_str("\\t"),
            c if (c as u32) < 0x20 => o.push_str(&format!("\\u{:04x}", c as u32)),
            c => o.push(c),
        }
    }
}

fn push_map(o: &mut String, pairs: &[(String, String)]) {
    o.push('{');
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            o.push(',');
        }
        o.push('"');
        esc(o, k);
        o.push_str("\":\"");
        esc(o, v);
        o.push('"');
    }
    o.push('}');
}

impl<'a> Emitter<'a> {
    pub(crate) fn new(
        w: &'a World,
        plan: &'a Plan,
        seed: u64,
        rng: &'a mut ChaCha8Rng,
        t0: i64,
        end: i64,
    ) -> Emitter<'a> {
        Emitter {
            w,
            plan,
            seed,
            rng,
            t0,
            end,
            msgs: Vec::new(),
            notes: Vec::new(),
            entries: Vec::new(),
            batches: Vec::new(),
            recs: Vec::new(),
            acks: Vec::new(),
            first_seen: vec![i64::MAX; plan.eps.len()],
            pre: Vec::new(),
        }
    }

    fn h(&self, a: u64, b: i64) -> u64 {
        mix(self.seed ^ mix(a.wrapping_mul(0x2545_F491_4F6C_DD1D) ^ mix(b as u64)))
    }

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

    fn push(&mut self, t: i64, kind: MsgKind) {
        if t < self.t0 || t >= self.end {
            return;
        }
        let seq = self.msgs.len() as u32;
        self.msgs.push(Msg { t, seq, kind });
        if self.rng.random_bool(P_DUP) && !matches!(kind, MsgKind::Ack(_) | MsgKind::Note(_)) {
            let d = self.ms(SEC, 20 * SEC);
            if t + d < self.end {
                let seq = self.msgs.len() as u32;
                self.msgs.push(Msg {
                    t: t + d,
                    seq,
                    kind,
                });
            }
        }
    }

    fn seen(&mut self, ep: u32, t: i64) {
        let f = &mut self.first_seen[ep as usize];
        *f = (*f).min(t);
    }

    // --- scheduling ------------------------------------------------------------------------------

    pub(crate) fn schedule(&mut self) {
        self.alertmanager();
        self.otlp();
        self.pagerduty();
        self.acks();
        self.msgs.sort_unstable_by_key(|m| (m.t, m.seq));
    }

    fn alertmanager(&mut self) {
        let plan: &'a Plan = self.plan;
        let mut groups: BTreeMap<(&'a str, usize, &'a str), Vec<u32>> = BTreeMap::new();
        for a in plan.alerts.iter() {
            if a.chan == Chan::Am && !a.eps.is_empty() {
                groups
                    .entry((a.rule.name, a.cluster, a.service.as_str()))
                    .or_default()
                    .extend(a.eps.iter().copied());
            }
        }
        for (gi, (_, mut eps)) in groups.into_iter().enumerate() {
            eps.sort_unstable_by_key(|&e| (plan.eps[e as usize].start, e));
            self.am_group(gi as u64, &eps);
        }
    }

    /// Alertmanager's aggregation group over its episodes (sorted by start).
    fn am_group(&mut self, g: u64, eps: &[u32]) {
        let plan: &'a Plan = self.plan;
        let ep = |e: u32| -> &Episode { &plan.eps[e as usize] };
        let n = eps.len();
        let mut idx = 0;
        let mut members: Vec<(u32, bool)> = Vec::new();
        let mut t = i64::MIN;
        loop {
            if members.is_empty() {
                if idx >= n {
                    break;
                }
                t = ep(eps[idx]).start + GROUP_WAIT;
            }
            if t >= self.end {
                break;
            }
            while idx < n && ep(eps[idx]).start <= t {
                let e = eps[idx];
                let a = ep(e).alert;
                // A new episode of the same alert supersedes the old one (its resolve, if
                // not sent yet, is never sent).
                members.retain(|(m, _)| ep(*m).alert != a);
                members.push((e, false));
                idx += 1;
            }
            let mark = self.entries.len();
            for (m, notified) in members.iter_mut() {
                if ep(*m).end > t {
                    self.entries.push((*m, true));
                    *notified = true;
                } else if *notified {
                    self.entries.push((*m, false));
                }
            }
            members.retain(|(m, _)| ep(*m).end > t);
            let len = self.entries.len() - mark;
            if len > 0 && t >= self.t0 {
                let send = t + (self.h(g, t) % 900) as i64;
                for k in mark..self.entries.len() {
                    let (e, firing) = self.entries[k];
                    if firing {
                        self.seen(e, send);
                    }
                }
                let id = self.notes.len() as u32;
                self.notes.push(AmNote {
                    t,
                    entries: (mark as u32, len as u32),
                });
                self.push(send, MsgKind::Am(id));
            } else {
                self.entries.truncate(mark);
            }
            t += GROUP_INTERVAL;
        }
    }

    fn otlp(&mut self) {
        let plan: &'a Plan = self.plan;
        let mut by: OtlpBatches = BTreeMap::new();
        for a in plan.alerts.iter() {
            if a.chan != Chan::Otlp {
                continue;
            }
            // The app's alert reporter logs a condition when it starts, then every active
            // condition of the pod on its one-minute tick, and the resolve.
            let phase = (self.h(((a.cluster * 64 + a.svc) * 64 + a.pod) as u64 ^ 0x3, 0)
                % REPORT_TICK as u64) as i64;
            for &e in &a.eps {
                let x = plan.eps[e as usize];
                let mut add = |t: i64, k: u8| {
                    if t >= self.t0 && t < self.end {
                        by.entry((a.cluster, a.svc, a.pod, t.div_euclid(5 * SEC)))
                            .or_default()
                            .push((t, e, k));
                    }
                };
                add(x.start, FIRING);
                let mut t = x.start + (phase - x.start).rem_euclid(REPORT_TICK);
                if t - x.start < 5 * SEC {
                    t += REPORT_TICK;
                }
                while t < x.end.min(self.end) {
                    add(t, FIRING);
                    t += REPORT_TICK;
                }
                if x.end < self.end {
                    add(x.end, RESOLVED);
                }
            }
        }
        for ((c, s, p, w), mut recs) in by {
            recs.sort_unstable();
            // Ordinary log lines share the batch now and then.
            if self.u(w as u64 ^ 0xb0b, (c * 1000 + s * 10 + p) as i64) < 0.3 {
                recs.insert(0, (recs[0].0 - 3, u32::MAX, HEALTH));
            }
            let send = (w + 1) * 5 * SEC + (self.h(w as u64, (s * 16 + p) as i64) % 1500) as i64;
            for &(_, e, k) in &recs {
                if k == FIRING {
                    self.seen(e, send);
                }
            }
            let mark = self.recs.len() as u32;
            self.recs.extend(recs);
            let id = self.batches.len() as u32;
            self.batches.push(Batch {
                cluster: c,
                svc: s,
                pod: p,
                recs: (mark, self.recs.len() as u32 - mark),
            });
            self.push(send, MsgKind::Otlp(id));
        }
    }

    fn pagerduty(&mut self) {
        let plan: &'a Plan = self.plan;
        for a in plan.alerts.iter() {
            let Some(chk) = &a.pd else { continue };
            for &e in &a.eps {
                let x = plan.eps[e as usize];
                let mut t = x.start;
                if t < self.t0 {
                    t += (self.t0 - t + chk.renotify - 1) / chk.renotify * chk.renotify;
                }
                while t < x.end && t < self.end {
                    let d = self.ms(150, 2500);
                    if t + d < self.end {
                        self.seen(e, t + d);
                        self.push(t + d, MsgKind::PdTrigger(e, t));
                    }
                    t += chk.renotify;
                }
                if x.end < self.end {
                    let d = self.ms(150, 2500);
                    self.push(x.end + d, MsgKind::PdResolve(e));
                }
            }
        }
    }

    /// The on-call person for a team at `t` (the rota hands over daily at 09:00).
    fn oncall(&self, team: usize, t: i64) -> &'a Person {
        let w: &'a World = self.w;
        let rot = ((t - self.t0 - 9 * HOUR).div_euclid(DAY)).rem_euclid(3) as usize;
        &w.pd[team].people[rot]
    }

    fn acks(&mut self) {
        let plan: &'a Plan = self.plan;
        let mut by_inc: Vec<Vec<u32>> = vec![Vec::new(); plan.incidents.len()];
        for (e, x) in plan.eps.iter().enumerate() {
            if self.first_seen[e] != i64::MAX {
                by_inc[x.incident as usize].push(e as u32);
            }
        }
        let mut number = 8_100u64;
        for (i, inc) in plan.incidents.iter().enumerate() {
            let Some(ack) = inc.ack else { continue };
            let eps = &by_inc[i];
            if eps.is_empty() {
                continue;
            }
            let fs = |e: u32| self.first_seen[e as usize];
            let sev = |e: u32| {
                sev_rank(
                    plan.alerts[plan.eps[e as usize].alert as usize]
                        .rule
                        .severity,
                )
            };
            // Paged by the first alert of the incident's worst severity that reached noisegate.
            let worst = eps.iter().map(|&e| sev(e)).max().unwrap_or(0);
            let page_t = eps
                .iter()
                .filter(|&&e| sev(e) == worst)
                .map(|&e| fs(e))
                .min()
                .unwrap_or(i64::MAX);
            let started = eps
                .iter()
                .map(|&e| plan.eps[e as usize].start)
                .min()
                .unwrap_or(page_t);
            // Even the slowest response comes within the hour.
            let mut at = page_t
                .saturating_add(ack.mtta)
                .min(started.max(self.t0) + 55 * MIN);
            let last_end = eps
                .iter()
                .map(|&e| plan.eps[e as usize].end)
                .max()
                .unwrap_or(NEVER);
            if at >= last_end || at >= self.end {
                // Cleared before anyone got to it.
                continue;
            }
            // The alert the responder looks at: the worst one still firing, known by then.
            let target = eps
                .iter()
                .copied()
                .filter(|&e| fs(e) + 10 * SEC <= at && plan.eps[e as usize].end > at)
                .max_by_key(|&e| (sev(e), std::cmp::Reverse((fs(e), e))))
                .or_else(|| eps.iter().copied().min_by_key(|&e| (fs(e), e)));
            let Some(target) = target else { continue };
            at = at.max(fs(target) + 30 * SEC);
            if at >= self.end {
                continue;
            }
            number += 1;
            let pd_id = format!("Q{}", upper_alnum(self.rng, 13));
            let created = page_t + self.ms(800, 3000);
            let id = self.acks.len() as u32;
            self.acks.push(Ack {
                inc: i as u32,
                ep: target,
                at,
                via_v2: ack.via_v2,
                team: inc.team,
                pd_id,
                number,
                created,
            });
            if ack.via_v2 {
                self.push(at, MsgKind::Ack(id));
            } else {
                let d = self.ms(300, 3000);
                self.push(at + d, MsgKind::Ack(id));
            }
            if ack.note {
                let t = at + self.ms(2 * MIN, 12 * MIN);
                self.push(t, MsgKind::Note(id));
            }
        }
    }

    // --- rendering ---------------------------------------------------------------------------------

    fn value(&self, a: u32, t: i64) -> f64 {
        let r = self.plan.alerts[a as usize].rule;
        let v = r.lo + (r.hi - r.lo) * self.u(a as u64, t);
        if r.fmt == Fmt::Int {
            v.round()
        } else {
            v
        }
    }

    /// Fills one of an alert's templates at time `t`.
    fn text(&self, a: u32, tpl: &str, t: i64) -> String {
        if !tpl.contains('{') {
            return tpl.to_string();
        }
        let x = &self.plan.alerts[a as usize];
        let v = self.value(a, t);
        let r = x.rule;
        let u1 = self.u(a as u64 ^ 0x51, t);
        let u2 = self.u(a as u64 ^ 0xa7, t);
        let pre = self.pre.get(a as usize).and_then(|p| p.as_ref());
        let look = |k: &str| -> Option<String> {
            Some(match k {
                "value" => fmt_value(r.fmt, v),
                "raw" => fmt_raw(r.fmt, v),
                "labels" => pre.map_or_else(|| go_map(&x.labels), |p| p.go_labels.clone()),
                "n" => format!("{}", 3 + (u1 * 240.0) as i64),
                "ms" => format!("{}", 1200 + (u2 * 28_800.0) as i64),
                "failed" => format!("{}", 1 + (u1 * 3.0) as i64),
                "code" => ["HTTP 500", "HTTP 502", "HTTP 503", "HTTP 504", "a timeout"]
                    [(u2 * 5.0) as usize % 5]
                    .to_string(),
                _ => {
                    return x
                        .labels
                        .iter()
                        .find(|(n, _)| n == k)
                        .map(|(_, v)| v.clone())
                        .or_else(|| x.vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone()))
                }
            })
        };
        fill(tpl, &look)
    }

    fn annotations(&self, a: u32, t: i64) -> Vec<(String, String)> {
        let r = self.plan.alerts[a as usize].rule;
        let mut v = Vec::with_capacity(3);
        if !r.description.is_empty() {
            v.push(("description".to_string(), self.text(a, r.description, t)));
        }
        if !r.runbook.is_empty() {
            v.push(("runbook_url".to_string(), self.text(a, r.runbook, t)));
        }
        v.push(("summary".to_string(), self.text(a, r.summary, t)));
        v
    }

    fn sub(&self, e: u32, t: i64) -> u64 {
        self.h(e as u64 ^ 0x77, t) % 1_000_000
    }

    fn prepare(&mut self) {
        let plan: &'a Plan = self.plan;
        self.pre = plan
            .alerts
            .iter()
            .map(|x| {
                if x.chan != Chan::Am || x.eps.is_empty() {
                    return None;
                }
                let mut labels_json = String::with_capacity(256);
                push_map(&mut labels_json, &x.labels);
                let cname = self.w.clusters[x.cluster].name;
                let mut gen_url = String::new();
                esc(
                    &mut gen_url,
                    &format!(
                        "https://prometheus.{cname}.{DOMAIN}/graph?g0.expr={}&g0.tab=1",
                        query_escape(x.rule.expr)
                    ),
                );
                Some(Pre {
                    labels_json,
                    go_labels: go_map(&x.labels),
                    gen_url,
                    fp: x.fp.to_string(),
                })
            })
            .collect();
    }

    fn am_line(&self, o: &mut String, note: &AmNote) -> u64 {
        let plan = self.plan;
        let (s, n) = note.entries;
        let mut entries: Vec<(u32, bool)> = self.entries[s as usize..(s + n) as usize].to_vec();
        let alert_of = |e: u32| plan.eps[e as usize].alert;
        entries.sort_by(|a, b| {
            plan.alerts[alert_of(a.0) as usize]
                .labels
                .cmp(&plan.alerts[alert_of(b.0) as usize].labels)
        });
        let first = &plan.alerts[alert_of(entries[0].0) as usize];
        let cname = self.w.clusters[first.cluster].name;
        let any_firing = entries.iter().any(|e| e.1);
        o.push_str("{\"receiver\":\"noisegate\",\"status\":\"");
        o.push_str(if any_firing { "firing" } else { "resolved" });
        o.push_str("\",\"alerts\":[");
        let mut anns: Vec<Vec<(String, String)>> = Vec::with_capacity(entries.len());
        for (i, &(e, firing)) in entries.iter().enumerate() {
            let x = plan.eps[e as usize];
            let a = x.alert;
            let pre = self.pre[a as usize].as_ref().expect("prepared");
            if i > 0 {
                o.push(',');
            }
            let at = if firing { note.t } else { x.end };
            let ann = self.annotations(a, at);
            o.push_str("{\"status\":\"");
            o.push_str(if firing { "firing" } else { "resolved" });
            o.push_str("\",\"labels\":");
            o.push_str(&pre.labels_json);
            o.push_str(",\"annotations\":");
            push_map(o, &ann);
            o.push_str(",\"startsAt\":\"");
            o.push_str(&ts_ns(x.start, self.sub(e, x.start)));
            o.push_str("\",\"endsAt\":\"");
            if firing {
                o.push_str("0001-01-01T00:00:00Z");
            } else {
                o.push_str(&ts_ns(x.end, self.sub(e, x.end)));
            }
            o.push_str("\",\"generatorURL\":\"");
            o.push_str(&pre.gen_url);
            o.push_str("\",\"fingerprint\":\"");
            o.push_str(&pre.fp);
            o.push_str("\"}");
            anns.push(ann);
        }
        let labels_of = |k: usize| &plan.alerts[alert_of(entries[k].0) as usize].labels;
        let common_l: Vec<(String, String)> = first
            .labels
            .iter()
            .filter(|kv| (1..entries.len()).all(|k| labels_of(k).contains(kv)))
            .cloned()
            .collect();
        let common_a: Vec<(String, String)> = anns[0]
            .iter()
            .filter(|kv| anns.iter().all(|a| a.contains(kv)))
            .cloned()
            .collect();
        let group: Vec<(String, String)> = first
            .labels
            .iter()
            .filter(|(k, _)| matches!(k.as_str(), "alertname" | "cluster" | "service"))
            .cloned()
            .collect();
        o.push_str("],\"groupLabels\":");
        push_map(o, &group);
        o.push_str(",\"commonLabels\":");
        push_map(o, &common_l);
        o.push_str(",\"commonAnnotations\":");
        push_map(o, &common_a);
        o.push_str(",\"externalURL\":\"https://alertmanager.");
        o.push_str(cname);
        o.push('.');
        o.push_str(DOMAIN);
        o.push_str("\",\"version\":\"4\",\"groupKey\":\"");
        let gk: Vec<String> = group.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
        esc(o, &format!("{{}}/{{team=~\".*\"}}:{{{}}}", gk.join(", ")));
        o.push_str("\",\"truncatedAlerts\":0}");
        entries.len() as u64
    }

    fn otlp_line(&self, b: &Batch) -> (String, u64) {
        let plan = self.plan;
        let d = &SERVICES[b.svc];
        let sv = |k: &str, v: &str| obj! { "key" => k, "value" => obj! { "stringValue" => v } };
        let iv =
            |k: &str, v: i64| obj! { "key" => k, "value" => obj! { "intValue" => v.to_string() } };
        let res: Vec<J> = otlp_resource(self.w, b.cluster, b.svc, b.pod)
            .iter()
            .map(|(k, v)| sv(k, v))
            .collect();
        let (scope, file) = match d.kind.sdk().0 {
            "java" => ("com.northwind.alerting", "AlertReporter.java"),
            "python" => ("northwind.alerting", "/app/northwind/alerting.py"),
            "nodejs" => ("@northwind/alerting", "/app/dist/alerting.js"),
            _ => (
                "github.com/northwind/platform/alerting",
                "/src/alerting/report.go",
            ),
        };
        let mut records = Vec::new();
        let mut events = 0;
        let (s, n) = b.recs;
        for &(t, e, k) in &self.recs[s as usize..(s + n) as usize] {
            let sub = self.h(e as u64 ^ 0x5, t) % 1_000_000;
            let ns = t as u128 * 1_000_000 + sub as u128;
            let observed = ns + 20_000 + (self.h(e as u64 ^ 0x6, t) % 400_000) as u128;
            if k == HEALTH {
                records.push(obj! {
                    "timeUnixNano" => ns.to_string(),
                    "observedTimeUnixNano" => observed.to_string(),
                    "severityNumber" => 9i64,
                    "severityText" => "INFO",
                    "body" => obj! { "stringValue" => "GET /healthz 200" },
                    "attributes" => vec![
                        sv("http.route", "/healthz"),
                        iv("http.response.status_code", 200),
                        sv("code.file.path", file),
                        iv("code.line.number", 41),
                    ],
                });
                continue;
            }
            events += 1;
            let a = plan.eps[e as usize].alert;
            let x = &plan.alerts[a as usize];
            let (num, text) = match x.rule.severity {
                "critical" => (21i64, "FATAL"),
                "error" => (17, "ERROR"),
                "warning" => (13, "WARN"),
                _ => (9, "INFO"),
            };
            let body = if k == RESOLVED {
                format!("{} resolved", x.rule.name)
            } else {
                self.text(a, x.rule.summary, t)
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
            attrs.push(sv(
                "alert.status",
                if k == RESOLVED { "resolved" } else { "firing" },
            ));
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
                    self.h(e as u64 ^ 0x7, t),
                    self.h(e as u64 ^ 0x8, t)
                );
                let sid = format!("{:016x}", self.h(e as u64 ^ 0x9, t));
                if let J::O(v) = &mut rec {
                    v.push(("flags".into(), J::I(1)));
                    v.push(("traceId".into(), J::S(tid)));
                    v.push(("spanId".into(), J::S(sid)));
                }
            }
            records.push(rec);
        }
        let line = obj! {
            "resourceLogs" => vec![obj! {
                "resource" => obj! { "attributes" => res },
                "scopeLogs" => vec![obj! {
                    "scope" => obj! { "name" => scope, "version" => "2.3.0" },
                    "logRecords" => records,
                }],
            }],
        }
        .line();
        (line, events)
    }

    fn trigger_line(&self, e: u32, t: i64) -> String {
        let plan = self.plan;
        let a = plan.eps[e as usize].alert;
        let x = &plan.alerts[a as usize];
        let Some(chk) = &x.pd else {
            return String::new();
        };
        let routing_key = &self.w.pd[chk.team].routing_keys[chk.tool];
        let summary = self.text(a, x.rule.summary, t);
        let (client, client_url) = TOOLS[chk.tool];
        let mut details: Vec<(String, J)> = chk
            .details
            .iter()
            .map(|(k, v)| (k.to_string(), J::S(v.clone())))
            .collect();
        let mut links = Vec::new();
        let timestamp = if chk.tool == super::world::TOOL_SYNTHETICS {
            let run = self.h(a as u64 ^ 0x11, t) % 9_000_000 + 1_000_000;
            let u = self.u(a as u64 ^ 0xa7, t);
            details.push((
                "response_time_ms".into(),
                J::I(1200 + (u * 28_800.0) as i64),
            ));
            details.push((
                "failed_locations".into(),
                J::S(format!(
                    "{}/3",
                    1 + (self.u(a as u64 ^ 0x51, t) * 3.0) as i64
                )),
            ));
            details.push(("run_id".into(), J::I(run as i64)));
            links.push(obj! {
                "href" => format!("{client_url}/checks/{}/runs/{run}", chk.component),
                "text" => "View check run",
            });
            ts_ms(t)
        } else {
            ts_pd(t)
        };
        if !x.rule.runbook.is_empty() {
            links.push(obj! { "href" => self.text(a, x.rule.runbook, t), "text" => "Runbook" });
        }
        obj! {
            "payload" => obj! {
                "summary" => summary,
                "timestamp" => timestamp,
                "severity" => x.rule.severity,
                "source" => chk.source.as_str(),
                "component" => chk.component.as_str(),
                "group" => chk.group.as_str(),
                "class" => x.rule.name,
                "custom_details" => J::O(details),
            },
            "routing_key" => routing_key.as_str(),
            "dedup_key" => chk.dedup_key.as_str(),
            "event_action" => "trigger",
            "client" => client,
            "client_url" => client_url,
            "links" => links,
        }
        .line()
    }

    fn resolve_line(&self, e: u32) -> String {
        let plan = self.plan;
        let x = &plan.alerts[plan.eps[e as usize].alert as usize];
        let Some(chk) = &x.pd else {
            return String::new();
        };
        obj! {
            "routing_key" => self.w.pd[chk.team].routing_keys[chk.tool].as_str(),
            "dedup_key" => chk.dedup_key.as_str(),
            "event_action" => "resolve",
        }
        .line()
    }

    /// The key an acknowledgement names: a tool's dedup key, else the alert's fingerprint.
    fn ack_key(&self, ack: &Ack) -> (String, String) {
        let plan = self.plan;
        let x = &plan.alerts[plan.eps[ack.ep as usize].alert as usize];
        match &x.pd {
            Some(chk) => (
                chk.dedup_key.clone(),
                self.w.pd[chk.team].routing_keys[chk.tool].clone(),
            ),
            None => (
                x.fp.to_string(),
                self.w.pd[ack.team].routing_keys[TOOL_NOISEGATE].clone(),
            ),
        }
    }

    fn user_ref(&self, p: &Person) -> J {
        obj! {
            "html_url" => format!("https://northwind.pagerduty.com/users/{}", p.id),
            "id" => p.id.as_str(),
            "self" => format!("https://api.pagerduty.com/users/{}", p.id),
            "summary" => p.name,
            "type" => "user_reference",
        }
    }

    fn ulid(&self, t: i64, salt: u64) -> String {
        const C: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
        let mut s = String::with_capacity(26);
        let ms = t.max(0) as u64;
        for i in (0..10).rev() {
            s.push(C[((ms >> (i * 5)) & 31) as usize] as char);
        }
        let mut h = self.h(salt, t);
        for k in 0..16 {
            if k == 12 {
                h = mix(h);
            }
            s.push(C[(h & 31) as usize] as char);
            h >>= 5;
        }
        s
    }

    fn ack_line(&self, ack: &Ack) -> String {
        let (key, routing_key) = self.ack_key(ack);
        if ack.via_v2 {
            return obj! {
                "routing_key" => routing_key,
                "dedup_key" => key,
                "event_action" => "acknowledge",
            }
            .line();
        }
        let plan = self.plan;
        let x = &plan.alerts[plan.eps[ack.ep as usize].alert as usize];
        let person = self.oncall(ack.team, ack.at);
        let svc = &self.w.pd[ack.team];
        let title = match &x.pd {
            Some(_) => self.text(plan.eps[ack.ep as usize].alert, x.rule.summary, ack.created),
            None => format!(
                "[{}] {}: {}",
                x.rule.severity.to_uppercase(),
                x.rule.name,
                x.service
            ),
        };
        let urgency = if sev_rank(x.rule.severity) >= 2 {
            "high"
        } else {
            "low"
        };
        let data = obj! {
            "id" => ack.pd_id.as_str(),
            "type" => "incident",
            "self" => format!("https://api.pagerduty.com/incidents/{}", ack.pd_id),
            "html_url" => format!("https://northwind.pagerduty.com/incidents/{}", ack.pd_id),
            "number" => ack.number as i64,
            "status" => "acknowledged",
            "incident_key" => key,
            "created_at" => ts_s(ack.created),
            "title" => title,
            "service" => obj! {
                "html_url" => format!("https://northwind.pagerduty.com/services/{}", svc.id),
                "id" => svc.id.as_str(),
                "self" => format!("https://api.pagerduty.com/services/{}", svc.id),
                "summary" => svc.name,
                "type" => "service_reference",
            },
            "assignees" => vec![self.user_ref(person)],
            "escalation_policy" => obj! {
                "html_url" => format!("https://northwind.pagerduty.com/escalation_policies/{}", svc.ep_id),
                "id" => svc.ep_id.as_str(),
                "self" => format!("https://api.pagerduty.com/escalation_policies/{}", svc.ep_id),
                "summary" => svc.ep_name,
                "type" => "escalation_policy_reference",
            },
            "teams" => vec![obj! {
                "html_url" => format!("https://northwind.pagerduty.com/teams/{}", svc.team_id),
                "id" => svc.team_id.as_str(),
                "self" => format!("https://api.pagerduty.com/teams/{}", svc.team_id),
                "summary" => svc.team_name,
                "type" => "team_reference",
            }],
            "priority" => J::Null,
            "urgency" => urgency,
            "conference_bridge" => J::Null,
            "resolve_reason" => J::Null,
        };
        obj! {
            "event" => obj! {
                "id" => self.ulid(ack.at, ack.number),
                "event_type" => "incident.acknowledged",
                "resource_type" => "incident",
                "occurred_at" => ts_ms(ack.at),
                "agent" => self.user_ref(person),
                "client" => J::Null,
                "data" => data,
            },
        }
        .line()
    }

    fn note_line(&self, ack: &Ack, t: i64) -> String {
        const NOTES: [&str; 6] = [
            "Looking into it.",
            "Seeing errors across several services, checking the datastores first.",
            "Failing over / restarting, will update in 10 min.",
            "Root cause identified, mitigation in progress.",
            "Rolled back the last deploy, watching error rates.",
            "Customer impact confirmed, status page updated.",
        ];
        let person = self.oncall(ack.team, ack.at);
        let content = NOTES[(self.h(ack.number, t) % NOTES.len() as u64) as usize];
        let data = obj! {
            "incident" => obj! {
                "html_url" => format!("https://northwind.pagerduty.com/incidents/{}", ack.pd_id),
                "id" => ack.pd_id.as_str(),
                "self" => format!("https://api.pagerduty.com/incidents/{}", ack.pd_id),
                "summary" => format!("#{}", ack.number),
                "type" => "incident_reference",
            },
            "id" => format!("P{:06X}", self.h(ack.number ^ 0x4e, t) & 0xFF_FFFF),
            "content" => content,
            "trimmed" => false,
            "type" => "incident_note",
        };
        obj! {
            "event" => obj! {
                "id" => self.ulid(t, ack.number ^ 0x99),
                "event_type" => "incident.annotated",
                "resource_type" => "incident",
                "occurred_at" => ts_ms(t),
                "agent" => self.user_ref(person),
                "client" => J::Null,
                "data" => data,
            },
        }
        .line()
    }

    /// Renders every message in send order into `out`.
    pub(crate) fn write(&mut self, out: &mut dyn Write) -> std::io::Result<Written> {
        self.prepare();
        let mut wr = Written::default();
        let mut buf = String::with_capacity(1 << 16);
        let mut pending = Vec::<u8>::with_capacity(1 << 20);
        for k in 0..self.msgs.len() {
            let m = self.msgs[k];
            buf.clear();
            match m.kind {
                MsgKind::Am(i) => {
                    let note = &self.notes[i as usize];
                    wr.alert_events += self.am_line(&mut buf, note);
                }
                MsgKind::Otlp(i) => {
                    let (line, n) = self.otlp_line(&self.batches[i as usize]);
                    buf.push_str(&line);
                    wr.alert_events += n;
                }
                MsgKind::PdTrigger(e, t) => {
                    buf.push_str(&self.trigger_line(e, t));
                    wr.alert_events += 1;
                }
                MsgKind::PdResolve(e) => {
                    buf.push_str(&self.resolve_line(e));
                    wr.alert_events += 1;
                }
                MsgKind::Ack(i) => buf.push_str(&self.ack_line(&self.acks[i as usize])),
                MsgKind::Note(i) => buf.push_str(&self.note_line(&self.acks[i as usize], m.t)),
            }
            buf.push('\n');
            pending.extend_from_slice(buf.as_bytes());
            wr.lines += 1;
            if pending.len() >= 1 << 20 {
                out.write_all(&pending)?;
                wr.bytes += pending.len() as u64;
                pending.clear();
            }
        }
        out.write_all(&pending)?;
        wr.bytes += pending.len() as u64;
        Ok(wr)
    }

    /// The ground truth: incidents with at least one episode noisegate saw, then one line per
    /// seen episode.
    pub(crate) fn truth(&self, out: &mut dyn Write, wr: &mut Written) -> std::io::Result<()> {
        let plan = self.plan;
        let n = plan.incidents.len();
        let mut started = vec![i64::MAX; n];
        for (e, x) in plan.eps.iter().enumerate() {
            if self.first_seen[e] != i64::MAX {
                let s = &mut started[x.incident as usize];
                *s = (*s).min(x.start);
            }
        }
        let mut first_ack = vec![i64::MAX; n];
        for a in &self.acks {
            let f = &mut first_ack[a.inc as usize];
            *f = (*f).min(a.at);
        }
        // Ids in order of start.
        let mut order: Vec<usize> = (0..n).filter(|&i| started[i] != i64::MAX).collect();
        order.sort_by_key(|&i| (started[i], i));
        let mut id = vec![0usize; n];
        for (k, &i) in order.iter().enumerate() {
            id[i] = k + 1;
        }
        let t = |ms: i64| EventTime::from_millis(ms).to_rfc3339();
        let mut o = String::with_capacity(1 << 16);
        for &i in &order {
            let inc = &plan.incidents[i];
            let ack = (first_ack[i] != i64::MAX).then(|| t(first_ack[i]));
            let v = obj! {
                "kind" => "incident",
                "incident_id" => format!("inc-{:06}", id[i]),
                "actionable" => inc.actionable,
                "started_at" => t(started[i]),
                "first_ack_at" => ack,
                "root_service" => inc.root_service.as_str(),
                "scenario" => inc.scenario,
            };
            o.push_str(&v.line());
            o.push('\n');
            wr.incidents += 1;
            if inc.actionable {
                wr.actionable += 1;
            }
            if first_ack[i] != i64::MAX {
                wr.acked += 1;
            }
        }
        out.write_all(o.as_bytes())?;
        o.clear();
        let mut eps: Vec<usize> = (0..plan.eps.len())
            .filter(|&e| self.first_seen[e] != i64::MAX)
            .collect();
        eps.sort_by_key(|&e| (plan.eps[e].start, e));
        for e in eps {
            let x = plan.eps[e];
            let fp = &plan.alerts[x.alert as usize].fp;
            let ends = (x.end < self.end).then(|| t(x.end));
            let v = obj! {
                "kind" => "alert",
                "fingerprint" => fp.to_string(),
                "incident_id" => format!("inc-{:06}", id[x.incident as usize]),
                "starts_at" => t(x.start),
                "ends_at" => ends,
            };
            o.push_str(&v.line());
            o.push('\n');
            wr.alert_lines += 1;
            if o.len() >= 1 << 20 {
                out.write_all(o.as_bytes())?;
                o.clear();
            }
        }
        out.write_all(o.as_bytes())?;
        Ok(())
    }
}
