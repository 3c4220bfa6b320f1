//! What happens in a labelled scenario: alert instances (label sets), their firing episodes,
//! and the incident (ground truth) every episode belongs to. Conditions become firing
//! intervals the way their producer makes them: Prometheus rules fire after their `for` on a
//! 30 s evaluation grid, apps log at once, the synthetics tool alerts after two failed runs.
//!
//! Building blocks (each makes one incident):
//!
//! * [`P::failure`]: a real, actionable incident: a root cause (a datastore down, a bad
//!   deploy, an overload, an external provider failing, a disk filling up, a stuck pod) and
//!   its symptoms across the dependency neighbourhood, in one or more clusters. `big` makes it
//!   a storm: every dependent, every pod, several rules per pod.
//! * [`P::standing`]: a warning that stays for hours or days (CPU throttling on a
//!   deployment's pods, a PV filling up, a lagging consumer group, an expiring certificate, ...).
//! * [`P::transient`]: one alert that fires and resolves on its own within 30 s - 4 min.
//! * [`P::flapper`]: one alert that fires and resolves every few minutes for hours.
//! * cron and certificate watchers over PagerDuty Events v2.
//!
//! Scenarios compose these (see [`build`]).

use std::collections::HashMap;

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::rules as lr;
use super::topo::{dependents, svc, Kind, Tier, SERVICES};
use super::world::{team_idx, World, TOOL_CERT, TOOL_CRON, TOOL_SYNTHETICS};
use crate::decode::DecodeOptions;
use crate::event::{Fingerprint, Labels};
use crate::gen::rules::{self as r, Rule};
use crate::gen::scenario::{grid_offset, grid_up, DAY, HOUR, MIN, NEVER, SEC};
use crate::gen::Scenario;

/// How an alert reaches noisegate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Chan {
    /// Prometheus → Alertmanager webhook.
    Am,
    /// An app's alert log records over OTLP/JSON.
    Otlp,
    /// A tool's PagerDuty Events v2 triggers.
    Pd,
}

/// A PagerDuty Events v2 producer's view of one check.
#[derive(Debug)]
pub(crate) struct PdCheck {
    pub tool: usize,
    pub team: usize,
    pub dedup_key: String,
    pub source: String,
    pub component: String,
    pub group: String,
    /// Custom details that do not change between sends.
    pub details: Vec<(&'static str, String)>,
    /// How often the producer re-sends a trigger while the check fails.
    pub renotify: i64,
}

/// One alert instance: one label set.
#[derive(Debug)]
pub(crate) struct Alert {
    pub chan: Chan,
    pub rule: &'static Rule,
    pub cluster: usize,
    /// Sorted by name. Alertmanager: the labels; OTLP: the record's attributes (without the
    /// status); PagerDuty: empty.
    pub labels: Vec<(String, String)>,
    /// Template variables that are not labels.
    pub vars: Vec<(&'static str, String)>,
    /// OTLP: the emitting service and pod.
    pub svc: usize,
    pub pod: usize,
    pub pd: Option<Box<PdCheck>>,
    /// The `service` the alert is about (Alertmanager grouping, noise incidents' root).
    pub service: String,
    /// Our fingerprint of the label set as noisegate decodes it.
    pub fp: Fingerprint,
    pub eps: Vec<u32>,
}

/// One firing episode of an alert: `[start, end)`, `end` may be [`NEVER`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Episode {
    pub alert: u32,
    pub start: i64,
    pub end: i64,
    pub incident: u32,
}

/// When and how a human acknowledges an actionable incident.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AckPlan {
    /// Time from the first page-worthy alert reaching noisegate to the ack.
    pub mtta: i64,
    /// Through the chat bot (PagerDuty Events v2 `acknowledge`) instead of the web/app (v3).
    pub via_v2: bool,
    /// The responder leaves a note a few minutes later.
    pub note: bool,
}

#[derive(Debug)]
pub(crate) struct Incident {
    pub actionable: bool,
    pub root_service: String,
    pub scenario: &'static str,
    pub team: usize,
    pub ack: Option<AckPlan>,
}

#[derive(Debug, Default)]
pub(crate) struct Plan {
    pub alerts: Vec<Alert>,
    pub eps: Vec<Episode>,
    pub incidents: Vec<Incident>,
}

type Pairs = Vec<(&'static str, String)>;

/// What broke, for [`P::failure`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// A datastore, queue or cache is down.
    StoreDown,
    /// A bad deploy of an app: pods crash, errors spike.
    Deploy,
    /// An app is overloaded: latency, HPA at max.
    Overload,
    /// The external provider behind an app fails (card processor, FX rates).
    External,
    /// A datastore's volume fills up.
    DiskFull,
    /// One pod stuck crash-looping.
    PodStuck,
}

/// Who acknowledges an actionable incident.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum AckSpec {
    /// Most are acked after a lognormal MTTA, some late, a few never.
    Usual,
    /// Always acked, within `lo..hi` ms.
    Within(i64, i64),
}

/// Public URLs the blackbox exporter probes in every region, and the service owning each.
pub(crate) const ENDPOINTS: [(&str, &str); 9] = [
    ("/", "web-frontend"),
    ("/api/v1/catalog/products/8841", "catalog"),
    ("/api/v1/search?q=boots", "search"),
    ("/api/v1/cart", "cart"),
    ("/checkout", "checkout"),
    ("/account/login", "auth"),
    ("/api/v1/orders/health", "orders"),
    ("/partner/v2/health", "partner-api"),
    ("/api/v1/tracking/health", "tracking"),
];

/// Synthetic browser checks (PagerDuty Events v2): (check, service, severity, first step).
pub(crate) const CHECKS: [(&str, &str, &str, &str); 6] = [
    (
        "checkout-flow",
        "checkout",
        "critical",
        "POST /api/v1/checkout",
    ),
    ("login-flow", "auth", "critical", "POST /api/v1/session"),
    (
        "search-flow",
        "search",
        "error",
        "GET /api/v1/search?q=boots",
    ),
    (
        "product-page",
        "catalog",
        "error",
        "GET /api/v1/catalog/products/8841",
    ),
    (
        "order-tracking",
        "tracking",
        "error",
        "GET /api/v1/tracking/NW8841203",
    ),
    (
        "partner-orders",
        "partner-api",
        "error",
        "POST /partner/v2/orders",
    ),
];

/// Nightly jobs the cron monitor watches: (check, service, schedule hour).
const CRONS: [(&str, &str); 6] = [
    ("nightly-ledger-export", "ledger"),
    ("postgres-main-basebackup", "postgres-main"),
    ("sitemap-generator", "catalog"),
    ("search-reindex", "search-indexer"),
    ("invoice-run", "billing"),
    ("warehouse-stock-sync", "warehouse"),
];

/// Certificates the certificate watcher checks: (host, service).
const CERTS: [(&str, &str); 4] = [
    ("api.northwind.example", "api-gateway"),
    ("partner.northwind.example", "partner-api"),
    ("admin.northwind.example", "admin-portal"),
    ("media.northwind.example", "media-service"),
];

/// OTLP resource attributes of a pod's log exporter (all of them; the decoder's default
/// deny list drops some).
pub(crate) fn otlp_resource(
    w: &World,
    c: usize,
    s: usize,
    p: usize,
) -> Vec<(&'static str, String)> {
    let d = &SERVICES[s];
    let cl = &w.clusters[c];
    let pod = &cl.pods[s][p];
    let (lang, sdk) = d.kind.sdk();
    let mut v = vec![
        ("telemetry.sdk.language", lang.to_string()),
        ("telemetry.sdk.name", "opentelemetry".to_string()),
        ("telemetry.sdk.version", sdk.to_string()),
        ("service.name", d.name.to_string()),
        ("service.namespace", d.ns.to_string()),
        ("service.version", cl.versions[s].clone()),
        ("service.instance.id", pod.uid.clone()),
        ("deployment.environment.name", "production".to_string()),
        ("k8s.cluster.name", cl.name.to_string()),
        ("k8s.namespace.name", d.ns.to_string()),
        ("k8s.deployment.name", d.name.to_string()),
        ("k8s.pod.name", pod.name.clone()),
        ("host.name", cl.nodes[pod.node].name.clone()),
    ];
    // Only some teams set a team resource attribute in their SDK setup.
    if matches!(d.team, "payments" | "web") {
        v.push(("team", d.team.to_string()));
    }
    v
}

/// The fingerprint noisegate computes for an OTLP record with these resource and record
/// attributes (default decode options).
fn otlp_fingerprint(res: &[(&str, String)], rec: &[(String, String)], rule: &str) -> Fingerprint {
    let o = DecodeOptions::default();
    let keep = |k: &str| {
        o.otlp.labels.admits(k)
            && !o.otlp.status_attributes.iter().any(|s| s == k)
            && !matches!(k, "summary" | "description" | "runbook_url" | "runbook")
    };
    let mut pairs: Vec<(String, String)> = res
        .iter()
        .filter(|(k, _)| keep(k))
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    pairs.extend(rec.iter().filter(|(k, _)| keep(k)).cloned());
    pairs.push(("alertname".to_string(), rule.to_string()));
    Labels::from_pairs(pairs).fingerprint()
}

pub(crate) fn pd_fingerprint(dedup_key: &str, routing_key: &str) -> Fingerprint {
    Fingerprint::of_sorted([("dedup_key", dedup_key), ("routing_key", routing_key)])
}

/// The builder.
pub(crate) struct P<'a> {
    pub w: &'a World,
    pub rng: &'a mut ChaCha8Rng,
    pub t0: i64,
    pub end: i64,
    pub plan: Plan,
    by_fp: HashMap<u64, u32>,
}

/// 0..1 activity by time of day (UTC ~ company time) and weekday; `t0` is a Monday 00:00.
fn diurnal(t0: i64, t: i64) -> f64 {
    let h = (t - t0).rem_euclid(DAY) / HOUR;
    let weekend = (t - t0).div_euclid(DAY).rem_euclid(7) >= 5;
    let base = match h {
        0..=6 => 0.4,
        7 => 0.65,
        8..=18 => 1.0,
        19..=21 => 0.7,
        _ => 0.5,
    };
    if weekend {
        base * 0.7
    } else {
        base
    }
}

impl<'a> P<'a> {
    pub(crate) fn new(w: &'a World, rng: &'a mut ChaCha8Rng, t0: i64, end: i64) -> P<'a> {
        P {
            w,
            rng,
            t0,
            end,
            plan: Plan::default(),
            by_fp: HashMap::new(),
        }
    }

    // --- randomness -----------------------------------------------------------------------

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

    fn pick(&mut self, n: usize) -> usize {
        self.rng.random_range(0..n.max(1))
    }

    fn pick_of<T: Copy>(&mut self, v: &[T]) -> T {
        v[self.pick(v.len())]
    }

    fn exp(&mut self, mean: f64) -> f64 {
        let u: f64 = self.rng.random();
        -(1.0 - u).ln() * mean
    }

    /// Log-uniform between `lo` and `hi` ms.
    fn log_ms(&mut self, lo: i64, hi: i64) -> i64 {
        let u: f64 = self.rng.random();
        let (a, b) = ((lo as f64).ln(), (hi as f64).ln());
        (a + u * (b - a)).exp() as i64
    }

    /// Standard normal (Box-Muller).
    fn normal(&mut self) -> f64 {
        let u1: f64 = self.rng.random::<f64>().max(1e-12);
        let u2: f64 = self.rng.random();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }

    /// Arrivals of a Poisson process with `per_hour` events per hour at full weight.
    fn arrivals(&mut self, from: i64, to: i64, per_hour: f64, diurnal_weight: bool) -> Vec<i64> {
        let mut out = Vec::new();
        if per_hour <= 0.0 {
            return out;
        }
        let mean = HOUR as f64 / per_hour;
        let mut t = from;
        loop {
            t += (self.exp(mean) as i64).max(SEC);
            if t >= to {
                return out;
            }
            let u: f64 = self.rng.random();
            if !diurnal_weight || u < diurnal(self.t0, t) {
                out.push(t);
            }
        }
    }

    fn cluster(&mut self) -> usize {
        let x: f64 = self.rng.random();
        if x < 0.45 {
            0
        } else if x < 0.82 {
            1
        } else {
            2
        }
    }

    fn apps(kinds: impl Fn(Kind) -> bool) -> Vec<usize> {
        (0..SERVICES.len())
            .filter(|&i| SERVICES[i].kind.is_app() && kinds(SERVICES[i].kind))
            .collect()
    }

    fn pods(&self, c: usize, s: usize) -> usize {
        self.w.clusters[c].pods[s].len()
    }

    // --- incidents, alerts, episodes ----------------------------------------------------------

    pub(crate) fn incident(
        &mut self,
        actionable: bool,
        root: &str,
        scenario: &'static str,
        team: usize,
        ack: Option<AckPlan>,
    ) -> u32 {
        self.plan.incidents.push(Incident {
            actionable,
            root_service: root.to_string(),
            scenario,
            team,
            ack,
        });
        (self.plan.incidents.len() - 1) as u32
    }

    fn ack_plan(&mut self, spec: AckSpec) -> Option<AckPlan> {
        let mtta = match spec {
            AckSpec::Within(lo, hi) => self.ms(lo, hi),
            AckSpec::Usual => {
                let x: f64 = self.rng.random();
                if x < 0.08 {
                    // Nobody saw it.
                    return None;
                } else if x < 0.2 {
                    // Seen only after it had been firing for a while.
                    self.ms(18 * MIN, 50 * MIN)
                } else {
                    // Lognormal around 5 minutes.
                    let m = (5.0 * MIN as f64) * (0.45 * self.normal()).exp();
                    (m as i64).clamp(2 * MIN, 15 * MIN)
                }
            }
        };
        let via_v2 = self.p(0.15);
        let note = self.p(0.4);
        Some(AckPlan { mtta, via_v2, note })
    }

    fn insert_alert(&mut self, a: Alert) -> u32 {
        if let Some(&i) = self.by_fp.get(&a.fp.0) {
            return i;
        }
        let i = self.plan.alerts.len() as u32;
        self.by_fp.insert(a.fp.0, i);
        self.plan.alerts.push(a);
        i
    }

    /// A Prometheus alert (through Alertmanager) with the common labels plus `extra`.
    fn am(&mut self, rule: &'static Rule, c: usize, extra: Pairs) -> u32 {
        let mut l: Vec<(String, String)> = vec![
            ("alertname".into(), rule.name.into()),
            ("severity".into(), rule.severity.into()),
            ("cluster".into(), self.w.clusters[c].name.into()),
            ("prometheus".into(), "monitoring/k8s".into()),
        ];
        for (k, v) in extra {
            l.retain(|(n, _)| n != k);
            l.push((k.to_string(), v));
        }
        l.sort();
        let labels = Labels::from_pairs(l.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        let service = labels.get("service").unwrap_or_default().to_string();
        let fp = labels.fingerprint();
        self.insert_alert(Alert {
            chan: Chan::Am,
            rule,
            cluster: c,
            labels: l,
            vars: Vec::new(),
            svc: usize::MAX,
            pod: 0,
            pd: None,
            service,
            fp,
            eps: Vec::new(),
        })
    }

    /// An alert log record stream from pod `p` of service `s`.
    fn otlp(
        &mut self,
        rule: &'static Rule,
        c: usize,
        s: usize,
        p: usize,
        attrs: Pairs,
        vars: Pairs,
    ) -> u32 {
        let mut l: Vec<(String, String)> = vec![
            ("alertname".into(), rule.name.into()),
            ("severity".into(), rule.severity.into()),
        ];
        for (k, v) in attrs {
            l.push((k.to_string(), v));
        }
        l.sort();
        let res = otlp_resource(self.w, c, s, p);
        let fp = otlp_fingerprint(&res, &l, rule.name);
        self.insert_alert(Alert {
            chan: Chan::Otlp,
            rule,
            cluster: c,
            labels: l,
            vars,
            svc: s,
            pod: p,
            pd: None,
            service: SERVICES[s].name.to_string(),
            fp,
            eps: Vec::new(),
        })
    }

    fn pd(
        &mut self,
        rule: &'static Rule,
        c: usize,
        check: PdCheck,
        service: &str,
        vars: Pairs,
    ) -> u32 {
        let rk = &self.w.pd[check.team].routing_keys[check.tool];
        let fp = pd_fingerprint(&check.dedup_key, rk);
        self.insert_alert(Alert {
            chan: Chan::Pd,
            rule,
            cluster: c,
            labels: Vec::new(),
            vars,
            svc: usize::MAX,
            pod: 0,
            pd: Some(Box::new(check)),
            service: service.to_string(),
            fp,
            eps: Vec::new(),
        })
    }

    /// Adds the firing episode `[s, e)` unless it is outside the window or the same label set
    /// is already firing then (a series cannot fire twice).
    fn ep(&mut self, a: u32, s: i64, e: i64, inc: u32) {
        if e <= s || e <= self.t0 || s >= self.end {
            return;
        }
        let alert = &self.plan.alerts[a as usize];
        for &j in &alert.eps {
            let o = self.plan.eps[j as usize];
            // Touching counts as overlapping: the evaluation would have seen one episode.
            if s <= o.end && e >= o.start {
                return;
            }
        }
        let id = self.plan.eps.len() as u32;
        self.plan.eps.push(Episode {
            alert: a,
            start: s,
            end: e,
            incident: inc,
        });
        self.plan.alerts[a as usize].eps.push(id);
    }

    /// Condition intervals → firing episodes, the way the alert's producer fires.
    fn fire(&mut self, a: u32, conds: &[(i64, i64)], inc: u32) {
        let (chan, rule) = {
            let x = &self.plan.alerts[a as usize];
            (x.chan, x.rule)
        };
        let (grid, for_ms, off) = match chan {
            Chan::Am => (30 * SEC, rule.for_s * SEC, grid_offset(rule.name, 30 * SEC)),
            // Two failed one-minute runs.
            Chan::Pd => {
                let key = self.plan.alerts[a as usize]
                    .pd
                    .as_ref()
                    .map_or(0, |p| grid_offset(&p.dedup_key, MIN));
                (MIN, MIN, key)
            }
            Chan::Otlp => (1, 0, 0),
        };
        let mut ivs: Vec<(i64, i64)> = Vec::new();
        for &(cs, ce) in conds {
            let s = grid_up(grid_up(cs, grid, off) + for_ms, grid, off);
            let e = if ce == NEVER {
                NEVER
            } else {
                grid_up(ce, grid, off)
            };
            if e <= s {
                continue;
            }
            match ivs.last_mut() {
                Some(last) if s <= last.1 => last.1 = last.1.max(e),
                _ => ivs.push((s, e)),
            }
        }
        for (s, e) in ivs {
            self.ep(a, s, e, inc);
        }
    }

    fn fire1(&mut self, a: u32, cs: i64, ce: i64, inc: u32) {
        self.fire(a, &[(cs, ce)], inc);
    }

    // --- label sets (this company's Prometheus conventions) ---------------------------------

    /// Service-level app rules (`sum by (cluster, namespace, service)`), team from the
    /// ServiceMonitor's pod label.
    fn l_svc(&self, s: usize) -> Pairs {
        let d = &SERVICES[s];
        vec![
            ("namespace", d.ns.to_string()),
            ("service", d.name.to_string()),
            ("team", d.team.to_string()),
            ("job", d.name.to_string()),
        ]
    }

    /// Per-pod app rules.
    fn l_pod(&self, c: usize, s: usize, p: usize) -> Pairs {
        let d = &SERVICES[s];
        let pod = &self.w.clusters[c].pods[s][p];
        let mut v = self.l_svc(s);
        v.extend([
            ("container", d.name.to_string()),
            ("endpoint", "http".to_string()),
            ("instance", format!("{}:{}", pod.ip, d.kind.port())),
            ("pod", pod.name.clone()),
        ]);
        v
    }

    fn ksm(&self, c: usize) -> Pairs {
        vec![
            ("instance", format!("{}:8443", self.w.clusters[c].ksm_ip)),
            ("job", "kube-state-metrics".to_string()),
        ]
    }

    /// kube-state-metrics rules aggregated by (namespace, pod); the workload's `service` is
    /// joined in from `kube_pod_labels`. No team.
    fn l_ksm_pod(&self, c: usize, s: usize, p: usize) -> Pairs {
        let d = &SERVICES[s];
        vec![
            ("namespace", d.ns.to_string()),
            ("pod", self.w.clusters[c].pods[s][p].name.clone()),
            ("service", d.name.to_string()),
        ]
    }

    /// Unaggregated kube-state-metrics container series.
    fn l_ksm_container(&self, c: usize, s: usize, p: usize, reason: &str) -> Pairs {
        let d = &SERVICES[s];
        let pod = &self.w.clusters[c].pods[s][p];
        let mut v = self.ksm(c);
        v.extend([
            ("container", d.name.to_string()),
            ("namespace", d.ns.to_string()),
            ("pod", pod.name.clone()),
            ("reason", reason.to_string()),
            ("service", d.name.to_string()),
            ("uid", pod.uid.clone()),
        ]);
        v
    }

    fn l_ksm_deploy(&self, c: usize, s: usize) -> Pairs {
        let d = &SERVICES[s];
        let mut v = self.ksm(c);
        v.extend([
            ("deployment", d.name.to_string()),
            ("namespace", d.ns.to_string()),
            ("service", d.name.to_string()),
        ]);
        v
    }

    /// A datastore exporter's series.
    fn l_store(&self, c: usize, s: usize, p: usize) -> Pairs {
        let d = &SERVICES[s];
        let pods = &self.w.clusters[c].pods[s];
        let pod = &pods[p.min(pods.len() - 1)];
        vec![
            ("instance", format!("{}:{}", pod.ip, d.kind.port())),
            ("job", format!("{}-exporter", d.name)),
            ("namespace", d.ns.to_string()),
            ("pod", pod.name.clone()),
            ("service", d.name.to_string()),
            ("team", d.team.to_string()),
        ]
    }

    /// A node-exporter series (`service` is the exporter's, as kube-prometheus has it).
    fn l_node(&self, c: usize, n: usize) -> Pairs {
        let node = &self.w.clusters[c].nodes[n];
        vec![
            ("container", "node-exporter".to_string()),
            ("endpoint", "https".to_string()),
            ("instance", format!("{}:9100", node.ip)),
            ("job", "node-exporter".to_string()),
            ("namespace", "monitoring".to_string()),
            ("pod", node.exporter_pod.clone()),
            ("service", "node-exporter".to_string()),
        ]
    }

    /// A kubelet series about a pod's container (CPU throttling, volumes).
    fn l_kubelet(&self, c: usize, s: usize, p: usize) -> Pairs {
        let d = &SERVICES[s];
        let pod = &self.w.clusters[c].pods[s][p];
        let node = &self.w.clusters[c].nodes[pod.node];
        vec![
            ("container", d.name.to_string()),
            ("instance", format!("{}:10250", node.ip)),
            ("namespace", d.ns.to_string()),
            ("pod", pod.name.clone()),
            ("service", d.name.to_string()),
        ]
    }

    fn l_pvc(&self, c: usize, s: usize, p: usize) -> Pairs {
        let d = &SERVICES[s];
        let pod = &self.w.clusters[c].pods[s][p];
        let node = &self.w.clusters[c].nodes[pod.node];
        vec![
            ("instance", format!("{}:10250", node.ip)),
            ("job", "kubelet".to_string()),
            ("metrics_path", "/metrics".to_string()),
            ("namespace", d.ns.to_string()),
            ("node", node.name.clone()),
            ("persistentvolumeclaim", format!("data-{}", pod.name)),
            ("service", d.name.to_string()),
        ]
    }

    fn l_probe(&self, c: usize, e: usize) -> Pairs {
        let (path, owner) = ENDPOINTS[e];
        let d = &SERVICES[svc(owner)];
        vec![
            (
                "instance",
                format!("https://{}{path}", self.w.clusters[c].host),
            ),
            ("job", "blackbox-http".to_string()),
            ("module", "http_2xx".to_string()),
            ("namespace", "monitoring".to_string()),
            ("service", d.name.to_string()),
            ("team", d.team.to_string()),
        ]
    }

    // --- PagerDuty producers -------------------------------------------------------------------

    fn synthetic(&mut self, c: usize, k: usize) -> u32 {
        let (check, service, sev, step) = CHECKS[k];
        let d = &SERVICES[svc(service)];
        let cl = &self.w.clusters[c];
        let pc = PdCheck {
            tool: TOOL_SYNTHETICS,
            team: team_idx(d.team),
            dedup_key: format!("synthetics/{check}/{}", cl.region),
            source: format!("synthetics-runner.{}", cl.region),
            component: check.to_string(),
            group: cl.name.to_string(),
            details: vec![
                ("check", check.to_string()),
                ("cluster", cl.name.to_string()),
                ("region", cl.region.to_string()),
                ("service", service.to_string()),
                ("team", d.team.to_string()),
                ("url", format!("https://{}/", cl.host)),
            ],
            renotify: 5 * MIN,
        };
        let rule = if sev == "critical" {
            &lr::PD_SYNTHETIC_CRITICAL
        } else {
            &lr::PD_SYNTHETIC_ERROR
        };
        let vars = vec![
            ("check", check.to_string()),
            ("step", step.to_string()),
            ("region", cl.region.to_string()),
        ];
        self.pd(rule, c, pc, service, vars)
    }

    // --- actionable incidents -------------------------------------------------------------------

    /// A real incident: `root` fails in `clusters` during `[t0, t0 + dur)`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn failure(
        &mut self,
        root: usize,
        mode: Mode,
        clusters: &[usize],
        t0: i64,
        dur: i64,
        big: bool,
        flappy: bool,
        scenario: &'static str,
        ack: AckSpec,
    ) -> u32 {
        let d = &SERVICES[root];
        let plan = self.ack_plan(ack);
        let inc = self.incident(true, d.name, scenario, team_idx(d.team), plan);
        let t1 = t0 + dur;
        for (k, &c) in clusters.iter().enumerate() {
            // A global datastore has one primary (in the first cluster listed).
            let primary = k == 0;
            match mode {
                Mode::StoreDown => self.store_root(c, root, t0, t1, primary || !big, inc),
                Mode::Deploy => self.deploy_root(c, root, t0, t1, big, inc),
                Mode::Overload => self.overload_root(c, root, t0, t1, inc),
                Mode::External => self.external_root(c, root, t0, t1, inc),
                Mode::DiskFull => {
                    let p = self.pick(self.pods(c, root));
                    let l = self.l_pvc(c, root, p);
                    let a = self.am(&r::KUBE_PV_FILLING_UP_CRIT, c, l);
                    self.fire1(a, t0, t1, inc);
                    if d.kind == Kind::Postgres && self.p(0.6) {
                        let l = self.l_store(c, root, p);
                        let a = self.am(&r::POSTGRESQL_TOO_MANY_CONNECTIONS, c, l);
                        let s = t0 + self.ms(5 * MIN, dur / 2 + 5 * MIN);
                        self.fire1(a, s, t1, inc);
                    }
                }
                Mode::PodStuck => {
                    let p = self.pick(self.pods(c, root));
                    let l = self.l_ksm_container(c, root, p, "CrashLoopBackOff");
                    let a = self.am(&r::KUBE_POD_CRASHLOOPING, c, l);
                    self.fire1(a, t0 - 14 * MIN, t1, inc);
                    if self.p(0.5) {
                        let l = self.l_ksm_pod(c, root, p);
                        let a = self.am(&r::KUBE_POD_NOT_READY, c, l);
                        self.fire1(a, t0 - 14 * MIN, t1, inc);
                    }
                }
            }
        }
        if matches!(mode, Mode::DiskFull | Mode::PodStuck) {
            return inc;
        }
        // Who feels it.
        let mut affected: Vec<(usize, u32)> = Vec::new();
        if d.kind.is_app() {
            affected.push((root, 0));
        }
        affected.extend(dependents(root));
        for &c in clusters {
            let mut hit: Vec<(usize, u32)> = Vec::new();
            let cap = if big { usize::MAX } else { 2 + self.pick(5) };
            for &(s, depth) in &affected {
                let p = if depth == 0 {
                    1.0
                } else if big {
                    [1.0, 0.97, 0.9, 0.8, 0.7][(depth as usize - 1).min(4)]
                } else {
                    [0.7, 0.3, 0.12, 0.05, 0.02][(depth as usize - 1).min(4)]
                };
                if hit.len() < cap && self.p(p) {
                    hit.push((s, depth));
                }
            }
            let ids: Vec<usize> = hit.iter().map(|(s, _)| *s).chain([root]).collect();
            for &(s, depth) in &hit {
                self.symptoms(mode, root, &ids, c, s, depth, t0, t1, big, flappy, inc);
            }
            self.edge(c, &ids, t0, t1, big, inc);
        }
        inc
    }

    fn store_root(&mut self, c: usize, s: usize, t0: i64, t1: i64, primary: bool, inc: u32) {
        let kind = SERVICES[s].kind;
        let n = self.pods(c, s);
        match kind {
            Kind::Postgres => {
                let l = self.l_store(c, s, 0);
                if primary {
                    let a = self.am(&r::POSTGRESQL_DOWN, c, l.clone());
                    self.fire1(a, t0, t1, inc);
                    if self.p(0.6) {
                        let a = self.am(&r::POSTGRESQL_RESTARTED, c, l.clone());
                        let x = t1 + self.ms(5 * SEC, 25 * SEC);
                        self.fire1(a, x, t1 + 60 * SEC, inc);
                    }
                    if self.p(0.5) {
                        let a = self.am(&r::POSTGRESQL_TOO_MANY_CONNECTIONS, c, l);
                        let x = t1 + self.ms(10 * SEC, 40 * SEC);
                        let y = t1 + self.ms(3 * MIN, 9 * MIN);
                        self.fire1(a, x, y, inc);
                    }
                    if self.p(0.4) {
                        let l = self.l_ksm_pod(c, s, 0);
                        let a = self.am(&r::KUBE_POD_NOT_READY, c, l);
                        self.fire1(a, t0, t1, inc);
                    }
                }
                for p in 1..n {
                    if self.p(if primary { 0.45 } else { 0.9 }) {
                        let l = self.l_store(c, s, p);
                        let a = self.am(&r::POSTGRESQL_REPLICATION_LAG, c, l);
                        let x = t0 + self.ms(20 * SEC, 60 * SEC);
                        let y = t1 + self.ms(2 * MIN, 10 * MIN);
                        self.fire1(a, x, y, inc);
                    }
                }
            }
            Kind::Redis => {
                let l = self.l_store(c, s, 0);
                let a = self.am(&r::REDIS_DOWN, c, l);
                self.fire1(a, t0, t1, inc);
                for p in 1..n {
                    if self.p(0.6) {
                        let l = self.l_store(c, s, p);
                        let a = self.am(&r::REDIS_REJECTED_CONNECTIONS, c, l);
                        let x = t0 + self.ms(10 * SEC, 90 * SEC);
                        let y = t1 + self.ms(0, 3 * MIN);
                        self.fire1(a, x, y, inc);
                    }
                    if self.p(0.3) {
                        let l = self.l_store(c, s, p);
                        let a = self.am(&lr::REDIS_OUT_OF_MAXMEMORY, c, l);
                        let x = t0 + self.ms(MIN, 4 * MIN);
                        self.fire1(a, x, t1, inc);
                    }
                }
            }
            Kind::Kafka => self.kafka_symptoms(c, s, t0, t1, 1.0, inc),
            Kind::Zookeeper => {
                let p = self.pick(n);
                let l = self.l_store(c, s, p);
                let a = self.am(&lr::ZOOKEEPER_DOWN, c, l);
                self.fire1(a, t0, t1, inc);
            }
            Kind::Rabbit => {
                let p = self.pick(n);
                let l = self.l_store(c, s, p);
                let a = self.am(&lr::RABBITMQ_NODE_DOWN, c, l);
                self.fire1(a, t0, t1, inc);
                for q in 0..n {
                    if q != p && self.p(0.5) {
                        let l = self.l_store(c, s, q);
                        let a = self.am(&lr::RABBITMQ_MEMORY_HIGH, c, l);
                        let x = t0 + self.ms(MIN, 5 * MIN);
                        let (fs_, fe_) = (x, t1 + self.ms(MIN, 6 * MIN));
                        self.fire1(a, fs_, fe_, inc);
                    }
                }
            }
            Kind::Elastic => {
                let l = self.l_store(c, s, 0);
                let a = self.am(&r::ELASTICSEARCH_CLUSTER_RED, c, l.clone());
                self.fire1(a, t0, t1, inc);
                if self.p(0.8) {
                    let a = self.am(&r::ELASTICSEARCH_UNASSIGNED_SHARDS, c, l.clone());
                    let y = t1 + self.ms(2 * MIN, 10 * MIN);
                    self.fire1(a, t0 + 10 * SEC, y, inc);
                }
                if self.p(0.5) {
                    let a = self.am(&r::ELASTICSEARCH_RELOCATING_SHARDS, c, l);
                    let y = t1 + self.ms(3 * MIN, 12 * MIN);
                    self.fire1(a, t1, y, inc);
                }
            }
            Kind::Mongo => {
                let l = self.l_store(c, s, 0);
                let a = self.am(&lr::MONGODB_DOWN, c, l);
                self.fire1(a, t0, t1, inc);
                for p in 1..n {
                    if self.p(0.6) {
                        let l = self.l_store(c, s, p);
                        let a = self.am(&lr::MONGODB_REPLICATION_LAG, c, l);
                        let x = t0 + self.ms(30 * SEC, 2 * MIN);
                        let (fs_, fe_) = (x, t1 + self.ms(MIN, 5 * MIN));
                        self.fire1(a, fs_, fe_, inc);
                    }
                }
            }
            Kind::Memcached => {
                for p in 0..n {
                    if p == 0 || self.p(0.5) {
                        let l = self.l_store(c, s, p);
                        let a = self.am(&lr::MEMCACHED_DOWN, c, l);
                        let (fs_, fe_) = (t0 + self.ms(0, 30 * SEC), t1);
                        self.fire1(a, fs_, fe_, inc);
                    }
                }
            }
            Kind::Minio => {
                let p = self.pick(n);
                let l = self.l_store(c, s, p);
                let a = self.am(&lr::MINIO_NODE_DISK_OFFLINE, c, l);
                self.fire1(a, t0, t1, inc);
            }
            Kind::Cassandra => {
                let p = self.pick(n);
                let mut l = self.l_store(c, s, p);
                l.push(("cassandra_cluster", "tracking".to_string()));
                let a = self.am(&lr::CASSANDRA_NODE_UNAVAILABLE, c, l);
                self.fire1(a, t0, t1, inc);
                for q in 0..n {
                    if q != p && self.p(0.6) {
                        let mut l = self.l_store(c, s, q);
                        l.push(("cassandra_cluster", "tracking".to_string()));
                        let a = self.am(&lr::CASSANDRA_WRITE_FAILURES, c, l);
                        let x = t0 + self.ms(20 * SEC, 90 * SEC);
                        self.fire1(a, x, t1, inc);
                    }
                }
            }
            _ => {}
        }
    }

    fn kafka_symptoms(&mut self, c: usize, s: usize, t0: i64, t1: i64, p_each: f64, inc: u32) {
        for topic in [
            "orders.events",
            "payments.events",
            "inventory.changes",
            "tracking.scans",
            "audit.events",
        ] {
            if self.p(0.8 * p_each) {
                let mut l = self.l_store(c, s, 0);
                l.push(("topic", topic.to_string()));
                let a = self.am(&r::KAFKA_TOPICS_REPLICAS, c, l);
                let x = t0 + self.ms(0, 30 * SEC);
                let y = t1 + self.ms(MIN, 6 * MIN);
                self.fire1(a, x, y, inc);
            }
        }
        for group in [
            "search-indexer",
            "notifications-email",
            "ledger-postings",
            "shipping-labels",
        ] {
            if self.p(0.6 * p_each) {
                let mut l = self.l_store(c, s, 0);
                l.push(("consumergroup", group.to_string()));
                let a = self.am(&r::KAFKA_CONSUMER_GROUP_LAG, c, l);
                let x = t0 + self.ms(MIN, 4 * MIN);
                let y = t1 + self.ms(3 * MIN, 15 * MIN);
                self.fire1(a, x, y, inc);
            }
        }
    }

    fn deploy_root(&mut self, c: usize, s: usize, t0: i64, t1: i64, big: bool, inc: u32) {
        let n = self.pods(c, s);
        for p in 0..n {
            if self.p(0.85) {
                let l = self.l_ksm_container(c, s, p, "CrashLoopBackOff");
                let a = self.am(&r::KUBE_POD_CRASHLOOPING, c, l);
                let x = t0 + self.ms(30 * SEC, 3 * MIN);
                let y = t1 + self.ms(MIN, 6 * MIN);
                self.fire1(a, x, y, inc);
            }
            if big && self.p(0.7) {
                let l = self.l_ksm_pod(c, s, p);
                let a = self.am(&r::KUBE_POD_NOT_READY, c, l);
                let y = t1 + self.ms(MIN, 4 * MIN);
                let (fs_, fe_) = (t0 + self.ms(0, MIN), y);
                self.fire1(a, fs_, fe_, inc);
            }
        }
        if self.p(0.7) {
            let l = self.l_ksm_deploy(c, s);
            let a = self.am(&r::KUBE_DEPLOYMENT_ROLLOUT_STUCK, c, l);
            let (fs_, fe_) = (t0 + self.ms(0, MIN), t1);
            self.fire1(a, fs_, fe_, inc);
        }
    }

    fn overload_root(&mut self, c: usize, s: usize, t0: i64, t1: i64, inc: u32) {
        let mut l = self.ksm(c);
        l.extend([
            ("horizontalpodautoscaler", SERVICES[s].name.to_string()),
            ("namespace", SERVICES[s].ns.to_string()),
            ("service", SERVICES[s].name.to_string()),
        ]);
        let a = self.am(&r::KUBE_HPA_MAXED_OUT, c, l);
        let (fs_, fe_) = (t0 - 10 * MIN, t1 + self.ms(0, 10 * MIN));
        self.fire1(a, fs_, fe_, inc);
        for p in 0..self.pods(c, s) {
            if self.p(0.5) {
                let l = self.l_kubelet(c, s, p);
                let a = self.am(&r::CPU_THROTTLING_HIGH, c, l);
                self.fire1(a, t0 - 12 * MIN, t1, inc);
            }
        }
    }

    fn external_root(&mut self, c: usize, s: usize, t0: i64, t1: i64, inc: u32) {
        let (rule, peer) = if SERVICES[s].name == "payments" {
            (&lr::O_PSP_TIMEOUT, "card-processor")
        } else {
            (&lr::O_FX_STALE, "fx-provider")
        };
        for p in 0..self.pods(c, s) {
            if self.p(0.8) {
                let attrs = vec![("peer.service", peer.to_string())];
                let a = self.otlp(rule, c, s, p, attrs, Vec::new());
                let x = t0 + self.ms(0, 40 * SEC);
                let (fs_, fe_) = (x, t1 + self.ms(0, MIN));
                self.fire1(a, fs_, fe_, inc);
            }
        }
        let mut l = self.l_svc(s);
        l.push(("upstream", peer.to_string()));
        let a = self.am(&lr::UPSTREAM_ERRORS, c, l);
        self.fire1(a, t0, t1, inc);
    }

    /// An error rate that oscillates around its threshold (flappy) or dips once mid-incident.
    fn dips(&mut self, cs: i64, ce: i64, flappy: bool) -> Vec<(i64, i64)> {
        if flappy {
            let mut v = Vec::new();
            let mut t = cs;
            while t < ce {
                let on = self.ms(4 * MIN, 14 * MIN);
                v.push((t, (t + on).min(ce)));
                t += on + self.ms(40 * SEC, 4 * MIN);
            }
            v
        } else if ce - cs > 14 * MIN && self.p(0.25) {
            let m = cs + self.ms(4 * MIN, (ce - cs) - 6 * MIN);
            let g = self.ms(60 * SEC, 150 * SEC);
            vec![(cs, m), (m + g, ce)]
        } else {
            vec![(cs, ce)]
        }
    }

    /// What one affected service shows in cluster `c`.
    #[allow(clippy::too_many_arguments)]
    fn symptoms(
        &mut self,
        mode: Mode,
        root: usize,
        ids: &[usize],
        c: usize,
        s: usize,
        depth: u32,
        t0: i64,
        t1: i64,
        big: bool,
        flappy: bool,
        inc: u32,
    ) {
        let d = &SERVICES[s];
        let di = depth as i64;
        let cs = t0 + di * self.ms(10 * SEC, 50 * SEC) + self.ms(0, 30 * SEC);
        let mut ce = t1 + di * self.ms(10 * SEC, 40 * SEC) + self.ms(0, 90 * SEC);
        if big {
            // After a big outage services recover one by one: pools reconnect, caches warm,
            // retry queues drain.
            ce += self.log_ms(30 * SEC, 25 * MIN);
        }
        if d.kind == Kind::Kafka {
            return self.kafka_symptoms(c, s, cs, ce, 0.6, inc);
        }
        if !d.kind.is_app() && d.kind != Kind::Ingress {
            return;
        }
        let root_def = &SERVICES[root];
        // The dependencies this service's calls fail against; the first is on the path to
        // the root.
        let failing: Vec<&'static str> = if depth == 0 {
            Vec::new()
        } else {
            d.deps
                .iter()
                .copied()
                .filter(|n| ids.contains(&svc(n)) || *n == root_def.name)
                .collect()
        };
        let via = if depth == 0 {
            match mode {
                Mode::External if root_def.name == "payments" => "card-processor",
                Mode::External => "fx-provider",
                _ => "",
            }
        } else {
            failing.first().copied().unwrap_or(root_def.name)
        };
        let p_err = if big { 0.95 } else { 0.8 };
        if self.p(p_err) {
            let conds = self.dips(cs, ce, flappy);
            let l = self.l_svc(s);
            let a = self.am(&lr::SERVICE_HIGH_ERROR_RATE, c, l);
            self.fire(a, &conds, inc);
        }
        if self.p(if big { 0.6 } else { 0.4 }) {
            let l = self.l_svc(s);
            let a = self.am(&lr::SERVICE_HIGH_LATENCY, c, l);
            let x = cs + self.ms(0, MIN);
            let y = ce + self.ms(0, 2 * MIN);
            self.fire1(a, x, y, inc);
        }
        if depth > 0 {
            let ups: Vec<&str> = if failing.is_empty() {
                vec![via]
            } else {
                failing.clone()
            };
            for (k, up) in ups.into_iter().enumerate() {
                let p = match (big, k) {
                    (true, 0) => 0.8,
                    (true, _) => 0.6,
                    (false, 0) => 0.55,
                    (false, _) => 0.15,
                };
                if self.p(p) {
                    let mut l = self.l_svc(s);
                    l.push(("upstream", up.to_string()));
                    let a = self.am(&lr::UPSTREAM_ERRORS, c, l);
                    let x = cs + self.ms(0, 40 * SEC);
                    self.fire1(a, x, ce, inc);
                }
            }
        }
        // Per pod.
        let root_kind = root_def.kind;
        let store_root = mode == Mode::StoreDown && !root_kind.is_app();
        let p_pod = match (big, depth) {
            (true, 0..=2) => 0.95,
            (true, _) => 0.85,
            (false, 0) => 0.5,
            (false, 1) => 0.3,
            (false, _) => 0.08,
        };
        let (log_rule, peer): (&'static Rule, &str) = match (store_root, depth) {
            (true, 1) => match root_kind {
                Kind::Postgres if d.kind == Kind::Java => (&lr::O_DB_POOL_EXHAUSTED, root_def.name),
                Kind::Postgres => (&lr::O_DATABASE_UNAVAILABLE, root_def.name),
                Kind::Redis | Kind::Memcached => (&lr::O_CACHE_UNAVAILABLE, root_def.name),
                Kind::Kafka | Kind::Rabbit => (&lr::O_BROKER_UNAVAILABLE, root_def.name),
                _ => (&lr::O_STORE_TIMEOUT, root_def.name),
            },
            _ if depth == 0 && mode == Mode::Deploy => (&lr::O_UNHANDLED_EXCEPTIONS, ""),
            _ if depth == 0 => (&lr::O_UPSTREAM_TIMEOUT, via),
            _ => (&lr::O_UPSTREAM_TIMEOUT, via),
        };
        let n = self.pods(c, s);
        for p in 0..n {
            if !self.p(p_pod) {
                continue;
            }
            if d.kind.is_app() {
                let pc = cs + self.ms(0, 40 * SEC);
                let pe = ce + self.ms(0, 90 * SEC);
                if self.p(0.9) {
                    let conds = if flappy {
                        self.dips(pc, pe, true)
                    } else {
                        vec![(pc, pe)]
                    };
                    let l = self.l_pod(c, s, p);
                    let a = self.am(&lr::POD_HIGH_ERROR_RATE, c, l);
                    self.fire(a, &conds, inc);
                }
                if self.p(if big { 0.55 } else { 0.3 }) {
                    let l = self.l_pod(c, s, p);
                    let a = self.am(&lr::POD_HIGH_LATENCY, c, l);
                    let (fs_, fe_) = (pc + self.ms(0, MIN), pe);
                    self.fire1(a, fs_, fe_, inc);
                }
                if d.kind == Kind::Java && store_root && self.p(0.6) {
                    let l = self.l_pod(c, s, p);
                    let a = self.am(&lr::JVM_THREADS_BLOCKED, c, l);
                    self.fire1(a, pc, pe, inc);
                }
                if self.p(if big { 0.8 } else { 0.6 }) {
                    let attrs = if peer.is_empty() {
                        Vec::new()
                    } else {
                        vec![("peer.service", peer.to_string())]
                    };
                    let exception = match d.kind {
                        Kind::Java => "NullPointerException",
                        Kind::Python => "KeyError: 'currency'",
                        Kind::Node => "TypeError: Cannot read properties of undefined (reading 'id')",
                        _ => "panic: runtime error: invalid memory address or nil pointer dereference",
                    };
                    let vars = vec![
                        ("peer", peer.to_string()),
                        ("exception", exception.to_string()),
                    ];
                    let a = self.otlp(log_rule, c, s, p, attrs, vars);
                    let (fs_, fe_) = (cs + self.ms(0, 30 * SEC), ce + self.ms(0, MIN));
                    self.fire1(a, fs_, fe_, inc);
                }
                // Calls to the other failing dependencies time out too.
                if big {
                    for &other in &failing {
                        if other != peer && self.p(0.45) {
                            let attrs = vec![("peer.service", other.to_string())];
                            let vars = vec![("peer", other.to_string())];
                            let a = self.otlp(&lr::O_UPSTREAM_TIMEOUT, c, s, p, attrs, vars);
                            let x = cs + self.ms(10 * SEC, 90 * SEC);
                            let (fs_, fe_) = (x, ce + self.ms(0, MIN));
                            self.fire1(a, fs_, fe_, inc);
                        }
                    }
                }
                if depth >= 1 && !peer.is_empty() && self.p(0.15) {
                    let attrs = vec![("peer.service", peer.to_string())];
                    let vars = vec![("peer", peer.to_string())];
                    let a = self.otlp(&lr::O_CIRCUIT_BREAKER_OPEN, c, s, p, attrs, vars);
                    let x = cs + self.ms(30 * SEC, 2 * MIN);
                    let (fs_, fe_) = (x, ce + self.ms(0, MIN));
                    self.fire1(a, fs_, fe_, inc);
                }
            }
            // Readiness probes that check the database fail; liveness restarts some pods.
            if store_root && depth == 1 {
                if self.p(if big { 0.6 } else { 0.4 }) {
                    let l = self.l_ksm_pod(c, s, p);
                    let a = self.am(&r::KUBE_POD_NOT_READY, c, l);
                    let (fs_, fe_) = (cs + self.ms(0, 2 * MIN), ce + self.ms(0, 3 * MIN));
                    self.fire1(a, fs_, fe_, inc);
                }
                if self.p(0.2) {
                    let l = self.l_ksm_container(c, s, p, "CrashLoopBackOff");
                    let a = self.am(&r::KUBE_POD_CRASHLOOPING, c, l);
                    let x = cs + self.ms(MIN, 3 * MIN);
                    let (fs_, fe_) = (x, ce + self.ms(MIN, 8 * MIN));
                    self.fire1(a, fs_, fe_, inc);
                }
            }
        }
        if store_root && depth == 1 && self.p(0.4) {
            let l = self.l_ksm_deploy(c, s);
            let a = self.am(&r::KUBE_DEPLOYMENT_REPLICAS_MISMATCH, c, l);
            let (fs_, fe_) = (cs + MIN, ce + self.ms(MIN, 4 * MIN));
            self.fire1(a, fs_, fe_, inc);
        }
    }

    /// Failing probes, ingress 5xx and synthetic checks in front of affected services.
    fn edge(&mut self, c: usize, ids: &[usize], t0: i64, t1: i64, big: bool, inc: u32) {
        for (e, &(_, owner)) in ENDPOINTS.iter().enumerate() {
            if ids.contains(&svc(owner)) && self.p(if big { 0.95 } else { 0.7 }) {
                let l = self.l_probe(c, e);
                let a = self.am(&r::BLACKBOX_PROBE_HTTP_FAILURE, c, l);
                let x = t0 + self.ms(40 * SEC, 150 * SEC);
                let y = t1 + self.ms(30 * SEC, 150 * SEC);
                self.fire1(a, x, y, inc);
            }
        }
        let front = [svc("api-gateway"), svc("web-frontend")];
        if ids.iter().any(|s| front.contains(s)) {
            let ing = svc("ingress-nginx");
            for p in 0..self.pods(c, ing) {
                if self.p(if big { 0.9 } else { 0.5 }) {
                    let l = self.l_store(c, ing, p);
                    let l: Pairs = l
                        .into_iter()
                        .map(|(k, v)| {
                            if k == "job" {
                                (k, "ingress-nginx-controller-metrics".to_string())
                            } else {
                                (k, v)
                            }
                        })
                        .collect();
                    let a = self.am(&r::NGINX_HIGH_HTTP_5XX, c, l);
                    let x = t0 + self.ms(30 * SEC, 2 * MIN);
                    let y = t1 + self.ms(20 * SEC, 2 * MIN);
                    self.fire1(a, x, y, inc);
                }
            }
        }
        for (k, check) in CHECKS.iter().enumerate() {
            if ids.contains(&svc(check.1)) && self.p(if big { 0.95 } else { 0.75 }) {
                let a = self.synthetic(c, k);
                let x = t0 + self.ms(30 * SEC, 150 * SEC);
                let y = t1 + self.ms(MIN, 4 * MIN);
                self.fire1(a, x, y, inc);
            }
        }
    }

    /// A random real incident of everyday size, starting at `t`.
    pub(crate) fn everyday_incident(&mut self, t: i64, scenario: &'static str, long: bool) {
        let c = self.cluster();
        let x: f64 = self.rng.random();
        let stores: Vec<usize> = (0..SERVICES.len())
            .filter(|&i| SERVICES[i].tier == Tier::Store)
            .collect();
        let apps = Self::apps(|_| true);
        let (root, mode) = if x < 0.38 {
            (self.pick_of(&stores), Mode::StoreDown)
        } else if x < 0.63 {
            (self.pick_of(&apps), Mode::Deploy)
        } else if x < 0.73 {
            (self.pick_of(&apps), Mode::Overload)
        } else if x < 0.82 {
            let s = if self.p(0.7) {
                "payments"
            } else {
                "currency-rates"
            };
            (svc(s), Mode::External)
        } else if x < 0.91 {
            let s = self.pick_of(&[
                "postgres-main",
                "postgres-orders",
                "postgres-ledger",
                "elasticsearch",
                "kafka",
                "mongodb",
                "cassandra",
            ]);
            (svc(s), Mode::DiskFull)
        } else {
            (self.pick_of(&apps), Mode::PodStuck)
        };
        let dur = if long {
            self.log_ms(25 * MIN, 100 * MIN)
        } else {
            self.log_ms(10 * MIN, 90 * MIN)
        };
        self.failure(
            root,
            mode,
            &[c],
            t,
            dur,
            false,
            false,
            scenario,
            AckSpec::Usual,
        );
    }

    // --- noise -------------------------------------------------------------------------------

    /// A standing condition from `s` to `e` (one non-actionable incident, one or more alerts).
    pub(crate) fn standing(&mut self, s: i64, e: i64, scenario: &'static str) {
        let c = self.cluster();
        // CPU throttling is the most common standing alert there is.
        let x = match self.pick(16) {
            13..=15 => 0,
            k => k,
        };
        let mut alerts: Vec<u32> = Vec::new();
        match x {
            0 | 1 => {
                // CPU limit too low for a deployment: most of its pods throttled.
                let apps = Self::apps(|_| true);
                let sv = self.pick_of(&apps);
                let n = self.pods(c, sv);
                let k = n.div_ceil(3) + self.pick(n - n.div_ceil(3) + 1);
                for p in 0..k {
                    let l = self.l_kubelet(c, sv, p);
                    alerts.push(self.am(&r::CPU_THROTTLING_HIGH, c, l));
                }
            }
            2 => {
                let apps = Self::apps(|k| k == Kind::Java);
                let sv = self.pick_of(&apps);
                let n = self.pods(c, sv);
                let k = 1 + self.pick(n);
                for p in 0..k {
                    let l = self.l_pod(c, sv, p);
                    alerts.push(self.am(&lr::JVM_MEMORY_FILLING_UP, c, l));
                }
            }
            3 => {
                let sv = svc(self.pick_of(&[
                    "api-gateway",
                    "web-frontend",
                    "search",
                    "catalog",
                    "cart",
                    "recommendations",
                ]));
                let mut l = self.ksm(c);
                l.extend([
                    ("horizontalpodautoscaler", SERVICES[sv].name.to_string()),
                    ("namespace", SERVICES[sv].ns.to_string()),
                    ("service", SERVICES[sv].name.to_string()),
                ]);
                alerts.push(self.am(&r::KUBE_HPA_MAXED_OUT, c, l));
            }
            4 => {
                let sv = svc(self.pick_of(&[
                    "postgres-main",
                    "postgres-orders",
                    "elasticsearch",
                    "kafka",
                    "mongodb",
                    "cassandra",
                    "minio",
                    "rabbitmq",
                ]));
                let p = self.pick(self.pods(c, sv));
                let l = self.l_pvc(c, sv, p);
                alerts.push(self.am(&r::KUBE_PV_FILLING_UP_WARN, c, l));
            }
            5 => {
                let n = self.pick(self.w.clusters[c].nodes.len());
                let l = self.l_node(c, n);
                alerts.push(self.am(&r::NODE_MEMORY_HIGH, c, l));
            }
            6 => {
                let n = self.pick(self.w.clusters[c].nodes.len());
                let mut l = self.l_node(c, n);
                l.extend([
                    ("device", "/dev/nvme1n1".to_string()),
                    ("fstype", "ext4".to_string()),
                    ("mountpoint", "/var/lib/containerd".to_string()),
                ]);
                let rule = if self.p(0.6) {
                    &r::NODE_FS_FILLING_UP
                } else {
                    &lr::NODE_FS_ALMOST_OUT_OF_SPACE
                };
                alerts.push(self.am(rule, c, l));
            }
            7 => {
                let es = svc("elasticsearch");
                let p = self.pick(self.pods(c, es));
                let l = self.l_store(c, es, p);
                alerts.push(self.am(&r::ELASTICSEARCH_HEAP_USAGE_WARNING, c, l));
            }
            8 => {
                let mut l = self.l_store(c, svc("kafka"), 0);
                l.push((
                    "consumergroup",
                    self.pick_of(&["analytics-export", "data-lake-sink", "recs-training"])
                        .to_string(),
                ));
                alerts.push(self.am(&r::KAFKA_CONSUMER_GROUP_LAG, c, l));
            }
            9 => {
                let apps = Self::apps(|_| true);
                let sv = self.pick_of(&apps);
                let p = self.pick(self.pods(c, sv));
                let reason = self.pick_of(&[
                    "ImagePullBackOff",
                    "ContainerCreating",
                    "CreateContainerConfigError",
                ]);
                let l = self.l_ksm_container(c, sv, p, reason);
                alerts.push(self.am(&lr::KUBE_CONTAINER_WAITING, c, l));
            }
            10 => {
                let sv =
                    svc(self.pick_of(&["search", "recommendations", "media-service", "reviews"]));
                let mut l = self.ksm(c);
                l.extend([
                    ("namespace", SERVICES[sv].ns.to_string()),
                    ("resource", "requests.memory".to_string()),
                    ("resourcequota", format!("{}-quota", SERVICES[sv].ns)),
                    ("service", SERVICES[sv].name.to_string()),
                ]);
                alerts.push(self.am(&r::KUBE_QUOTA_ALMOST_FULL, c, l));
            }
            11 => {
                let e = self.pick(ENDPOINTS.len());
                let mut l = self.l_probe(c, e);
                l.retain(|(k, _)| *k != "module");
                l.push(("module", "tls_connect".to_string()));
                alerts.push(self.am(&lr::BLACKBOX_SSL_EXPIRY, c, l));
            }
            _ => {
                let rb = svc("rabbitmq");
                let p = self.pick(self.pods(c, rb));
                let l = self.l_store(c, rb, p);
                alerts.push(self.am(&lr::RABBITMQ_MEMORY_HIGH, c, l));
            }
        }
        self.noise_incident(
            &alerts,
            |pp, _| {
                let d = pp.ms(0, 10 * MIN);
                vec![(s + d, e)]
            },
            scenario,
        );
    }

    /// One non-actionable incident for `alerts`, each firing on the intervals `ivs` gives it.
    fn noise_incident(
        &mut self,
        alerts: &[u32],
        mut ivs: impl FnMut(&mut Self, u32) -> Vec<(i64, i64)>,
        scenario: &'static str,
    ) {
        let Some(&first) = alerts.first() else { return };
        let root = self.plan.alerts[first as usize].service.clone();
        let inc = self.incident(false, &root, scenario, 0, None);
        for &a in alerts {
            let v = ivs(self, a);
            for (s, e) in v {
                self.ep(a, s, e, inc);
            }
        }
    }

    /// One alert that fires and resolves by itself within 30 s - 4 min.
    pub(crate) fn transient(&mut self, t: i64, scenario: &'static str) {
        let c = self.cluster();
        let x: f64 = self.rng.random();
        let a = if x < 0.62 {
            let n = self.pick(self.w.clusters[c].nodes.len());
            let (rule, l): (&'static Rule, Pairs) = match self.pick(12) {
                0 => (&r::HOST_OOM_KILL_DETECTED, self.l_node(c, n)),
                1 => {
                    let mut l = self.l_store(c, svc("postgres-main"), 0);
                    l.push((
                        "datname",
                        self.pick_of(&["catalog", "inventory", "shipping", "auth"])
                            .to_string(),
                    ));
                    (&r::POSTGRESQL_DEAD_LOCKS, l)
                }
                2 => (&r::HOST_CONTEXT_SWITCHING_HIGH, self.l_node(c, n)),
                3 => {
                    let node = &self.w.clusters[c].nodes[n];
                    let l = vec![
                        (
                            "eviction_signal",
                            self.pick_of(&["memory.available", "nodefs.available"])
                                .to_string(),
                        ),
                        ("instance", format!("{}:10250", node.ip)),
                        ("job", "kubelet".to_string()),
                        ("metrics_path", "/metrics".to_string()),
                        ("namespace", "kube-system".to_string()),
                        ("node", node.name.clone()),
                        ("service", "kubelet".to_string()),
                    ];
                    (&r::KUBE_NODE_EVICTION, l)
                }
                4 => {
                    let es = svc("elasticsearch");
                    let p = self.pick(self.pods(c, es));
                    (&r::ELASTICSEARCH_RELOCATING_SHARDS, self.l_store(c, es, p))
                }
                5 => {
                    let e = self.pick(ENDPOINTS.len());
                    (&r::BLACKBOX_PROBE_SLOW_HTTP, self.l_probe(c, e))
                }
                6 => {
                    let rs = svc(self.pick_of(&["redis-cache", "redis-sessions"]));
                    let p = self.pick(3);
                    (&r::REDIS_REJECTED_CONNECTIONS, self.l_store(c, rs, p))
                }
                7 => (&r::HOST_CPU_HIGH_IOWAIT, self.l_node(c, n)),
                8 | 9 => {
                    let apps = Self::apps(|_| true);
                    let sv = self.pick_of(&apps);
                    let p = self.pick(self.pods(c, sv));
                    let rule = if self.p(0.5) {
                        &lr::POD_HIGH_LATENCY
                    } else {
                        &lr::POD_HIGH_ERROR_RATE
                    };
                    (rule, self.l_pod(c, sv, p))
                }
                10 => {
                    let apps = Self::apps(|k| k == Kind::Java);
                    let sv = self.pick_of(&apps);
                    let p = self.pick(self.pods(c, sv));
                    (&lr::JVM_GC_TIME_TOO_HIGH, self.l_pod(c, sv, p))
                }
                _ => {
                    let pg = svc(self.pick_of(&["postgres-main", "postgres-orders"]));
                    let mut l = self.l_store(c, pg, 0);
                    l.push(("datname", "orders".to_string()));
                    (&r::POSTGRESQL_HIGH_ROLLBACK_RATE, l)
                }
            };
            self.am(rule, c, l)
        } else if x < 0.86 {
            let apps = Self::apps(|_| true);
            let sv = self.pick_of(&apps);
            let p = self.pick(self.pods(c, sv));
            match self.pick(4) {
                0 => {
                    let table = self.pick_of(&[
                        "orders",
                        "order_items",
                        "stock_levels",
                        "sessions",
                        "products",
                    ]);
                    let attrs = vec![("db.system", "postgresql".to_string())];
                    self.otlp(
                        &lr::O_SLOW_QUERY,
                        c,
                        sv,
                        p,
                        attrs,
                        vec![("table", table.to_string())],
                    )
                }
                1 => {
                    let apps = Self::apps(|k| k == Kind::Java);
                    let sv = self.pick_of(&apps);
                    let p = self.pick(self.pods(c, sv));
                    let attrs = vec![("jvm.gc.name", "G1 Young Generation".to_string())];
                    self.otlp(&lr::O_GC_PAUSE, c, sv, p, attrs, Vec::new())
                }
                _ => {
                    let d = &SERVICES[sv];
                    let peer = if d.deps.is_empty() {
                        "postgres-main"
                    } else {
                        d.deps[self.pick(d.deps.len())]
                    };
                    let attrs = vec![("peer.service", peer.to_string())];
                    self.otlp(
                        &lr::O_UPSTREAM_TIMEOUT,
                        c,
                        sv,
                        p,
                        attrs,
                        vec![("peer", peer.to_string())],
                    )
                }
            }
        } else {
            let k = self.pick(CHECKS.len());
            self.synthetic(c, k)
        };
        let chan = self.plan.alerts[a as usize].chan;
        // The firing interval itself: evaluation grid for Prometheus, run grid for checks.
        let (start, len) = match chan {
            Chan::Am => {
                let rule = self.plan.alerts[a as usize].rule;
                let g = grid_up(t, 30 * SEC, grid_offset(rule.name, 30 * SEC));
                (g, 30 * SEC * self.ms(1, 8))
            }
            Chan::Pd => (grid_up(t, MIN, 0) + self.ms(0, 2000), MIN * self.ms(1, 3)),
            Chan::Otlp => (t, self.ms(30 * SEC, 4 * MIN)),
        };
        self.noise_incident(&[a], |_, _| vec![(start, start + len)], "");
        self.set_last_scenario(scenario);
    }

    fn set_last_scenario(&mut self, scenario: &'static str) {
        if let Some(i) = self.plan.incidents.last_mut() {
            i.scenario = scenario;
        }
    }

    /// One alert that fires and resolves every few minutes for `dur`.
    pub(crate) fn flapper(&mut self, t: i64, dur: i64, scenario: &'static str) {
        let c = self.cluster();
        let n = self.pick(self.w.clusters[c].nodes.len());
        let x: f64 = self.rng.random();
        let a = if x < 0.65 {
            let (rule, l): (&'static Rule, Pairs) = match self.pick(9) {
                0 => {
                    let mut l = self.l_node(c, n);
                    l.push(("device", "eth1".to_string()));
                    (&r::NODE_NETWORK_FLAPPING, l)
                }
                1 => {
                    let mut l = self.l_store(c, svc("kafka"), 0);
                    l.push((
                        "consumergroup",
                        self.pick_of(&["notifications-email", "search-indexer", "shipping-labels"])
                            .to_string(),
                    ));
                    (&r::KAFKA_CONSUMER_GROUP_LAG, l)
                }
                2 => {
                    let pg =
                        svc(self.pick_of(&["postgres-main", "postgres-orders", "postgres-ledger"]));
                    (&r::POSTGRESQL_REPLICATION_LAG, self.l_store(c, pg, 1))
                }
                3 => {
                    let p = 1 + self.pick(2);
                    (
                        &lr::MONGODB_REPLICATION_LAG,
                        self.l_store(c, svc("mongodb"), p),
                    )
                }
                4 => {
                    let rs = svc(self.pick_of(&["redis-cache", "redis-sessions"]));
                    let p = self.pick(3);
                    (&r::REDIS_REJECTED_CONNECTIONS, self.l_store(c, rs, p))
                }
                5 => {
                    let e = self.pick(ENDPOINTS.len());
                    (&r::BLACKBOX_PROBE_SLOW_HTTP, self.l_probe(c, e))
                }
                6 => (&r::HOST_CPU_HIGH_IOWAIT, self.l_node(c, n)),
                7 => {
                    let apps = Self::apps(|_| true);
                    let sv = self.pick_of(&apps);
                    let p = self.pick(self.pods(c, sv));
                    (&lr::POD_HIGH_LATENCY, self.l_pod(c, sv, p))
                }
                _ => {
                    let sv =
                        svc(self.pick_of(&["search", "recommendations", "reviews", "tracking"]));
                    (&lr::SERVICE_HIGH_LATENCY, self.l_svc(sv))
                }
            };
            self.am(rule, c, l)
        } else if x < 0.88 {
            let sv = svc(self.pick_of(&["api-gateway", "mobile-bff", "checkout", "cart"]));
            let p = self.pick(self.pods(c, sv));
            let d = &SERVICES[sv];
            let peer = d.deps[self.pick(d.deps.len())];
            let rule = if self.p(0.6) {
                &lr::O_RETRY_BUDGET
            } else {
                &lr::O_UPSTREAM_TIMEOUT
            };
            let attrs = vec![("peer.service", peer.to_string())];
            self.otlp(rule, c, sv, p, attrs, vec![("peer", peer.to_string())])
        } else {
            let k = self.pick_of(&[2usize, 3, 4]);
            self.synthetic(c, k)
        };
        let chan = self.plan.alerts[a as usize].chan;
        let rule = self.plan.alerts[a as usize].rule;
        let (grid, off) = match chan {
            Chan::Am => (30 * SEC, grid_offset(rule.name, 30 * SEC)),
            Chan::Pd => (MIN, 0),
            Chan::Otlp => (1, 0),
        };
        let mut ivs = Vec::new();
        let mut s = grid_up(t, grid, off);
        while s < t + dur {
            let on = grid_up(self.ms(MIN, 8 * MIN), grid, 0).max(grid);
            let off_len = grid_up(self.ms(MIN, 9 * MIN), grid, 0).max(grid);
            ivs.push((s, s + on));
            s += on + off_len;
        }
        self.noise_incident(&[a], |_, _| ivs.clone(), scenario);
    }

    /// The cron monitor: a nightly job misses its run on some nights and pings late.
    pub(crate) fn crons(&mut self, from: i64, to: i64, p_night: f64, scenario: &'static str) {
        let mut day = from - (from - self.t0).rem_euclid(DAY);
        while day < to {
            for (k, (job, service)) in CRONS.iter().enumerate() {
                if !self.p(p_night) {
                    continue;
                }
                let d = &SERVICES[svc(service)];
                let expected = day + (1 + k as i64) * 30 * MIN;
                let a_t = expected + 30 * MIN;
                let b_t = a_t + self.log_ms(20 * MIN, 4 * HOUR);
                let pc = PdCheck {
                    tool: TOOL_CRON,
                    team: team_idx(d.team),
                    dedup_key: format!("hc-{job}"),
                    source: "healthchecks".to_string(),
                    component: job.to_string(),
                    group: "cron".to_string(),
                    details: vec![
                        ("check", job.to_string()),
                        (
                            "schedule",
                            format!("{} {} * * *", (k * 30) % 60, 1 + (k * 30 + 30) / 60),
                        ),
                        ("grace", "30m".to_string()),
                        ("service", service.to_string()),
                        ("team", d.team.to_string()),
                    ],
                    renotify: HOUR,
                };
                let vars = vec![
                    ("job", job.to_string()),
                    ("expected", crate::gen::json::ts_s(expected)),
                ];
                let a = self.pd(&lr::PD_CRON_LATE, 0, pc, service, vars);
                let s = grid_up(a_t, MIN, 0) + self.ms(0, 3000);
                if s >= from && s < to {
                    self.noise_incident(&[a], |_, _| vec![(s, b_t)], scenario);
                }
            }
            day += DAY;
        }
    }

    /// The certificate watcher: a certificate nobody renewed yet, re-reported daily.
    pub(crate) fn cert(&mut self, scenario: &'static str) {
        let (host, service) = CERTS[self.pick(CERTS.len())];
        let d = &SERVICES[svc(service)];
        let first = self.t0 - self.ms(1, 4) * DAY + 9 * HOUR;
        let days_left = self.ms(12, 20);
        let pc = PdCheck {
            tool: TOOL_CERT,
            team: team_idx(d.team),
            dedup_key: format!("cert-expiry:{host}"),
            source: host.to_string(),
            component: "tls".to_string(),
            group: "certificates".to_string(),
            details: vec![
                ("host", host.to_string()),
                ("issuer", "R11".to_string()),
                ("not_after", crate::gen::json::ts_s(first + days_left * DAY)),
                ("service", service.to_string()),
                ("team", d.team.to_string()),
            ],
            renotify: DAY,
        };
        let vars = vec![("host", host.to_string()), ("days", days_left.to_string())];
        let a = self.pd(&lr::PD_CERT_EXPIRY, 0, pc, service, vars);
        // Renewed some day next week, or not within the window.
        let renewed = self.t0 + self.ms(3 * DAY, 12 * DAY) + 11 * HOUR;
        self.noise_incident(&[a], |_, _| vec![(first, renewed)], scenario);
    }

    /// Routine noise over `[from, to)`: standing warnings (some already firing at `from`),
    /// short-lived alerts, flapping warnings, cron and certificate watchers.
    pub(crate) fn noise(&mut self, from: i64, to: i64, level: Noise, scenario: &'static str) {
        // Standing warnings already firing when the window opens.
        if from == self.t0 {
            for _ in 0..level.standing_at_start {
                let age = self.log_ms(HOUR, 12 * DAY);
                let s = from - age;
                let e = if self.p(0.45) {
                    NEVER
                } else {
                    from + self.log_ms(30 * MIN, 6 * DAY)
                };
                self.standing(s, e, scenario);
            }
            if self.p(0.8) {
                self.cert(scenario);
            }
        }
        for t in self.arrivals(from, to, level.standing_per_hour, false) {
            let e = t + self.log_ms(HOUR, 4 * DAY);
            self.standing(t, e, scenario);
        }
        for t in self.arrivals(from, to, level.transients_per_hour, true) {
            self.transient(t, scenario);
        }
        for t in self.arrivals(from, to, level.flappers_per_day / 24.0, false) {
            let dur = self.log_ms(2 * HOUR, 8 * HOUR);
            self.flapper(t, dur, scenario);
        }
        if level.crons {
            self.crons(from, to, 0.12, scenario);
        }
    }

    /// 2-5 real incidents a day (more on weekdays).
    pub(crate) fn daily_incidents(&mut self, from: i64, to: i64, scenario: &'static str) {
        let mut day = from - (from - self.t0).rem_euclid(DAY);
        while day < to {
            let n = 2 + self.pick(4);
            for _ in 0..n {
                let t = day + self.ms(0, DAY - 1);
                if t >= from && t < to - 15 * MIN {
                    self.everyday_incident(t, scenario, false);
                }
            }
            day += DAY;
        }
    }
}

/// How much routine noise.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Noise {
    pub standing_at_start: usize,
    pub standing_per_hour: f64,
    pub transients_per_hour: f64,
    pub flappers_per_day: f64,
    pub crons: bool,
}

impl Noise {
    pub(crate) const NORMAL: Noise = Noise {
        standing_at_start: 140,
        standing_per_hour: 1.2,
        transients_per_hour: 7.0,
        flappers_per_day: 2.0,
        crons: true,
    };
    pub(crate) const LIGHT: Noise = Noise {
        standing_at_start: 20,
        standing_per_hour: 0.25,
        transients_per_hour: 2.0,
        flappers_per_day: 0.0,
        crons: true,
    };
}

/// The scenario's plan for `[t0, end)`.
pub(crate) fn build(w: &World, rng: &mut ChaCha8Rng, sc: Scenario, t0: i64, end: i64) -> Plan {
    let mut b = P::new(w, rng, t0, end);
    match sc {
        Scenario::Steady => {
            b.noise(t0, end, Noise::NORMAL, "steady");
            b.daily_incidents(t0, end, "steady");
        }
        Scenario::Storm => {
            b.noise(t0, end, Noise::NORMAL, "storm");
            let t = t0 + b.ms(60 * SEC, 150 * SEC);
            let dur = b.ms(80 * MIN, 150 * MIN);
            storm(&mut b, t, dur, 0, "storm");
        }
        Scenario::Flapping => {
            b.noise(t0, end, Noise::LIGHT, "flapping");
            flapping_block(&mut b, t0, end, "flapping");
        }
        Scenario::Transient => {
            b.noise(t0, end, Noise::LIGHT, "transient");
            transient_block(&mut b, t0, end, "transient");
        }
        Scenario::Mixed => {
            b.noise(t0, end, Noise::NORMAL, "steady");
            b.daily_incidents(t0, end, "steady");
            // Storms: the shared database, the cache, the event bus, a bad auth release, the
            // session store.
            for (k, day, hour) in [
                (0usize, 1i64, 10i64),
                (1, 2, 20),
                (2, 4, 3),
                (3, 5, 15),
                (4, 6, 18),
            ] {
                let t = t0 + day * DAY + hour * HOUR + b.ms(0, 50 * MIN);
                let dur = b.ms(180 * MIN, 330 * MIN);
                if t + 20 * MIN < end {
                    storm(&mut b, t, dur, k, "storm");
                }
            }
            for (day, hour) in [(0i64, 4i64), (4, 14)] {
                let s = t0 + day * DAY + hour * HOUR;
                flapping_block(&mut b, s.min(end), (s + 16 * HOUR).min(end), "flapping");
            }
            for (day, hour) in [(0i64, 10i64), (3, 8)] {
                let s = t0 + day * DAY + hour * HOUR;
                transient_block(&mut b, s.min(end), (s + 10 * HOUR).min(end), "transient");
            }
        }
    }
    b.plan
}

/// A storm: one root cause cascading through the topology in many clusters.
fn storm(b: &mut P<'_>, t: i64, dur: i64, which: usize, scenario: &'static str) {
    let ack = AckSpec::Within(2 * MIN, 8 * MIN);
    match which % 5 {
        0 => {
            // The shared database's primary (eu-west-1) fails; every region writes to it.
            let root = svc("postgres-main");
            b.failure(
                root,
                Mode::StoreDown,
                &[0, 1, 2],
                t,
                dur,
                true,
                false,
                scenario,
                ack,
            );
        }
        1 => {
            // A bad Redis operator upgrade, rolled out everywhere, takes the cache down.
            let root = svc("redis-cache");
            b.failure(
                root,
                Mode::StoreDown,
                &[1, 0, 2],
                t,
                dur,
                true,
                false,
                scenario,
                ack,
            );
        }
        2 => {
            // The event bus loses its in-sync replicas in every region.
            let root = svc("kafka");
            b.failure(
                root,
                Mode::StoreDown,
                &[1, 0, 2],
                t,
                dur,
                true,
                false,
                scenario,
                ack,
            );
        }
        3 => {
            // A bad release of auth rolled out everywhere at once.
            let root = svc("auth");
            b.failure(
                root,
                Mode::Deploy,
                &[0, 1, 2],
                t,
                dur,
                true,
                false,
                scenario,
                ack,
            );
        }
        _ => {
            // The session store's cluster fails over badly in every region.
            let root = svc("redis-sessions");
            b.failure(
                root,
                Mode::StoreDown,
                &[0, 1, 2],
                t,
                dur,
                true,
                false,
                scenario,
                ack,
            );
        }
    }
}

/// Several warnings flapping for hours, plus one real incident whose alerts flap too.
fn flapping_block(b: &mut P<'_>, from: i64, to: i64, scenario: &'static str) {
    if to - from < HOUR {
        return;
    }
    let n = 8 + b.pick(5);
    for _ in 0..n {
        let t = from + b.ms(0, ((to - from) / 3).max(MIN));
        let dur = b.log_ms(3 * HOUR, 14 * HOUR).min(to - t);
        b.flapper(t, dur, scenario);
    }
    let t = from + b.ms(2 * HOUR, ((to - from) * 2 / 3).max(2 * HOUR + MIN));
    let dur = b.ms(60 * MIN, 140 * MIN);
    if t + 30 * MIN < to {
        let c = b.cluster();
        let root = svc(b.pick_of(&[
            "postgres-orders",
            "redis-sessions",
            "elasticsearch",
            "mongodb",
        ]));
        b.failure(
            root,
            Mode::StoreDown,
            &[c],
            t,
            dur,
            false,
            true,
            scenario,
            AckSpec::Within(3 * MIN, 14 * MIN),
        );
    }
}

/// Many alerts that fire and clear within minutes, plus a few long real incidents.
fn transient_block(b: &mut P<'_>, from: i64, to: i64, scenario: &'static str) {
    if to - from < HOUR {
        return;
    }
    for t in b.arrivals(from, to, 45.0, true) {
        b.transient(t, scenario);
    }
    let hours = ((to - from) / HOUR).max(1);
    let n = (2 + hours / 8).min(5);
    for _ in 0..n {
        let t = from + b.ms(0, (to - from - 40 * MIN).max(MIN));
        b.everyday_incident(t, scenario, true);
        // These are seen: whoever is on call is watching the flood.
        if let Some(i) = b.plan.incidents.last_mut() {
            if i.ack.is_none() {
                i.ack = Some(AckPlan {
                    mtta: 6 * MIN,
                    via_v2: false,
                    note: false,
                });
            }
        }
    }
}
