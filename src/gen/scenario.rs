//! What happens: the alert instances of the simulated day(s), each with the intervals during
//! which it fires. Conditions (a datastore is down, an error rate is high) become firing
//! intervals the way the producer would make them: Prometheus rules fire after their `for`
//! on their evaluation grid, Grafana on its own grid, apps log at once, the synthetics tool
//! alerts after two failed runs.
//!
//! Traffic kinds: background (Watchdog, long-running warnings), incidents (a root cause and
//! the storm of alerts across its dependents), flapping warnings, short-lived noise, isolated
//! problems, PagerDuty Events v2 producers (synthetics, cron monitor, certificate watcher)
//! and incidents opened by hand in PagerDuty.

use std::collections::BTreeMap;

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::rules::{self as r, Rule};
use super::world::{self, Kind, World, CHECKS, ENDPOINTS, SERVICES};

pub(crate) const SEC: i64 = 1_000;
pub(crate) const MIN: i64 = 60 * SEC;
pub(crate) const HOUR: i64 = 60 * MIN;
pub(crate) const DAY: i64 = 24 * HOUR;
/// End of an interval that does not end.
pub(crate) const NEVER: i64 = i64::MAX;

/// How an alert reaches noisegate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Chan {
    Am,
    Grafana,
    Otlp,
    PdV2,
}

/// One alert instance (one label set) and when it fires.
#[derive(Debug)]
pub(crate) struct Inst {
    pub id: u64,
    pub chan: Chan,
    pub rule: &'static Rule,
    pub cluster: usize,
    /// The label set, sorted by name (OTLP: the record's attributes, without the status).
    pub labels: Vec<(String, String)>,
    /// Template variables that are not labels.
    pub vars: Vec<(&'static str, String)>,
    /// Firing intervals `[start, end)`, sorted, disjoint; `end` may be [`NEVER`].
    pub ivs: Vec<(i64, i64)>,
    /// Notification group (Alertmanager / Grafana).
    pub group: String,
    /// OTLP: the emitting (service, pod).
    pub res: Option<(usize, usize)>,
    /// OTLP: a point event (one record, no status, never resolved).
    pub oneshot: bool,
    pub pd: Option<PdCheck>,
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
    /// Part of an incident storm (people work it: notes, priority).
    pub storm: bool,
}

/// An incident someone opened by hand in PagerDuty (no integration, no incident key).
#[derive(Debug)]
pub(crate) struct Foreign {
    pub at: i64,
    pub team: usize,
    pub title: &'static str,
    pub dur: i64,
}

pub(crate) struct Scenario {
    pub insts: Vec<Inst>,
    pub foreign: Vec<Foreign>,
}

/// What broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Root {
    /// A datastore (index into SERVICES).
    Store(usize),
    /// A bad deploy of an app.
    Deploy(usize),
    /// The external card processor (payments' upstream).
    Psp,
    /// A Kubernetes node died.
    Node(usize),
}

pub(crate) fn build(w: &World, rng: &mut ChaCha8Rng, t0: i64, end: i64) -> Scenario {
    let mut b = B {
        w,
        rng,
        t0,
        end,
        insts: Vec::new(),
        foreign: Vec::new(),
    };
    b.background();
    b.incidents();
    b.flappers();
    b.transients();
    b.isolated();
    b.pd_producers();
    b.manual_incidents();
    Scenario {
        insts: b.insts,
        foreign: b.foreign,
    }
}

/// 0..1 activity weight by time of day (UTC ~ company time) and weekday; the epoch is a
/// Monday 00:00.
fn diurnal(t0: i64, t: i64) -> f64 {
    let h = (t - t0).rem_euclid(DAY) / HOUR;
    let weekend = (t - t0).div_euclid(DAY).rem_euclid(7) >= 5;
    let base = match h {
        0..=6 => 0.35,
        7 => 0.6,
        8..=18 => 1.0,
        19..=21 => 0.65,
        _ => 0.45,
    };
    if weekend {
        base * 0.6
    } else {
        base
    }
}

/// Deploy hours: weekdays 09:00-17:00.
fn business(t0: i64, t: i64) -> f64 {
    let h = (t - t0).rem_euclid(DAY) / HOUR;
    let weekend = (t - t0).div_euclid(DAY).rem_euclid(7) >= 5;
    if !weekend && (9..17).contains(&h) {
        1.0
    } else {
        0.0
    }
}

fn always(_: i64, _: i64) -> f64 {
    1.0
}

/// A stable per-rule offset of its evaluation grid.
pub(crate) fn grid_offset(name: &str, grid: i64) -> i64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in name.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    (h % grid as u64) as i64
}

/// The first grid point at or after `t`.
pub(crate) fn grid_up(t: i64, grid: i64, off: i64) -> i64 {
    (t - off + grid - 1).div_euclid(grid) * grid + off
}

/// Condition intervals → firing intervals of a rule with `for_s`, evaluated on a grid.
fn fire(conds: &[(i64, i64)], for_s: i64, grid: i64, off: i64) -> Vec<(i64, i64)> {
    let mut out: Vec<(i64, i64)> = Vec::new();
    for &(cs, ce) in conds {
        let active = grid_up(cs, grid, off);
        let s = grid_up(active + for_s * SEC, grid, off);
        let e = if ce == NEVER {
            NEVER
        } else {
            grid_up(ce, grid, off)
        };
        if e <= s {
            continue;
        }
        match out.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => out.push((s, e)),
        }
    }
    out
}

type Pairs = Vec<(&'static str, String)>;

struct B<'a> {
    w: &'a World,
    rng: &'a mut ChaCha8Rng,
    t0: i64,
    end: i64,
    insts: Vec<Inst>,
    foreign: Vec<Foreign>,
}

impl B<'_> {
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
        self.rng.random_range(0..n)
    }

    fn exp(&mut self, mean: i64) -> i64 {
        let u: f64 = self.rng.random();
        ((-(1.0 - u).ln()) * mean as f64) as i64
    }

    /// A Poisson process with mean gap `mean_gap` at full weight, thinned by `weight`.
    fn arrivals(&mut self, from: i64, mean_gap: i64, weight: fn(i64, i64) -> f64) -> Vec<i64> {
        let mut out = Vec::new();
        let mut t = from;
        loop {
            t += self.exp(mean_gap).max(SEC);
            if t >= self.end {
                return out;
            }
            let u: f64 = self.rng.random();
            if u < weight(self.t0, t) {
                out.push(t);
            }
        }
    }

    /// One time in each of the given windows (offsets into the day) of every day.
    fn daily(&mut self, windows: &[(i64, i64)]) -> Vec<i64> {
        let mut out = Vec::new();
        let mut day = self.t0;
        while day < self.end {
            for &(a, b) in windows {
                let t = day + self.ms(a, b);
                if t < self.end {
                    out.push(t);
                }
            }
            day += DAY;
        }
        out
    }

    /// Minutes, log-uniform between `lo` and `hi`.
    fn log_minutes(&mut self, lo: f64, hi: f64) -> i64 {
        let u: f64 = self.rng.random();
        ((lo.ln() + u * (hi.ln() - lo.ln())).exp() * MIN as f64) as i64
    }

    fn cluster(&mut self) -> usize {
        if self.p(0.72) {
            0
        } else {
            1
        }
    }

    // --- instances ------------------------------------------------------------------------

    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        chan: Chan,
        rule: &'static Rule,
        cluster: usize,
        labels: BTreeMap<String, String>,
        vars: Pairs,
        ivs: Vec<(i64, i64)>,
        group: String,
        res: Option<(usize, usize)>,
        pd: Option<PdCheck>,
    ) {
        let (t0, end) = (self.t0, self.end);
        let ivs: Vec<(i64, i64)> = ivs
            .into_iter()
            .filter(|&(s, e)| s < end && e > t0 - 10 * MIN)
            .collect();
        if ivs.is_empty() {
            return;
        }
        let id = self.insts.len() as u64;
        self.insts.push(Inst {
            id,
            chan,
            rule,
            cluster,
            labels: labels.into_iter().collect(),
            vars,
            ivs,
            group,
            res,
            oneshot: false,
            pd,
        });
    }

    /// A Prometheus rule's alert, sent through Alertmanager.
    fn am(&mut self, rule: &'static Rule, c: usize, extra: Pairs, conds: &[(i64, i64)]) {
        let cname = self.w.clusters[c].name;
        let mut l = BTreeMap::new();
        l.insert("alertname".to_string(), rule.name.to_string());
        l.insert("severity".to_string(), rule.severity.to_string());
        l.insert("cluster".to_string(), cname.to_string());
        l.insert("prometheus".to_string(), "monitoring/k8s".to_string());
        for (k, v) in extra {
            l.insert(k.to_string(), v);
        }
        let ns = l.get("namespace").cloned().unwrap_or_default();
        let group = format!("{cname}|{ns}|{}", rule.name);
        let ivs = fire(
            conds,
            rule.for_s,
            30 * SEC,
            grid_offset(rule.name, 30 * SEC),
        );
        self.push(Chan::Am, rule, c, l, Vec::new(), ivs, group, None, None);
    }

    /// A Grafana-managed rule's alert about a service.
    fn grafana(
        &mut self,
        rule: &'static Rule,
        c: usize,
        s: usize,
        folder: &str,
        conds: &[(i64, i64)],
    ) {
        let def = &SERVICES[s];
        let mut l = BTreeMap::new();
        for (k, v) in [
            ("alertname", rule.name),
            ("grafana_folder", folder),
            ("severity", rule.severity),
            ("service", def.name),
            ("team", def.team),
            ("cluster", self.w.clusters[c].name),
        ] {
            l.insert(k.to_string(), v.to_string());
        }
        let group = format!("{}|{folder}", rule.name);
        let ivs = fire(conds, rule.for_s, MIN, grid_offset(rule.name, MIN));
        self.push(
            Chan::Grafana,
            rule,
            c,
            l,
            Vec::new(),
            ivs,
            group,
            None,
            None,
        );
    }

    /// An alert-ish log record stream from one pod.
    #[allow(clippy::too_many_arguments)]
    fn otlp(
        &mut self,
        rule: &'static Rule,
        c: usize,
        s: usize,
        p: usize,
        attrs: Pairs,
        vars: Pairs,
        conds: &[(i64, i64)],
    ) {
        let mut l = BTreeMap::new();
        l.insert("alertname".to_string(), rule.name.to_string());
        l.insert("severity".to_string(), rule.severity.to_string());
        for (k, v) in attrs {
            l.insert(k.to_string(), v);
        }
        let ivs = fire(conds, 0, 1, 0);
        self.push(
            Chan::Otlp,
            rule,
            c,
            l,
            vars,
            ivs,
            String::new(),
            Some((s, p)),
            None,
        );
    }

    /// A PagerDuty Events v2 check: alerts after two failed runs (runs every minute).
    fn pd(
        &mut self,
        rule: &'static Rule,
        c: usize,
        check: PdCheck,
        vars: Pairs,
        conds: &[(i64, i64)],
    ) {
        let off = grid_offset(&check.dedup_key, MIN);
        let ivs = fire(conds, 60, MIN, off);
        self.push(
            Chan::PdV2,
            rule,
            c,
            BTreeMap::new(),
            vars,
            ivs,
            String::new(),
            None,
            Some(check),
        );
    }

    // --- label sets -------------------------------------------------------------------------

    /// The company's service-level rules.
    fn l_app(&self, s: usize) -> Pairs {
        let d = &SERVICES[s];
        vec![
            ("namespace", d.ns.to_string()),
            ("service", d.name.to_string()),
            ("team", d.team.to_string()),
            ("job", d.name.to_string()),
        ]
    }

    /// `sum by (namespace, pod, cluster)` kube-state-metrics rules.
    fn l_pod(&self, s: usize, pod: &str) -> Pairs {
        vec![
            ("namespace", SERVICES[s].ns.to_string()),
            ("pod", pod.to_string()),
        ]
    }

    fn ksm(&self, c: usize) -> Pairs {
        vec![
            ("container", "kube-rbac-proxy-main".to_string()),
            ("instance", format!("{}:8443", self.w.clusters[c].ksm_ip)),
            ("job", "kube-state-metrics".to_string()),
        ]
    }

    /// Unaggregated kube-state-metrics series about a container.
    fn l_crash(&self, c: usize, s: usize, p: usize) -> Pairs {
        let pod = &self.w.clusters[c].pods[s][p];
        let mut v = self.ksm(c);
        v.retain(|(k, _)| *k != "container");
        v.extend([
            ("container", SERVICES[s].name.to_string()),
            ("namespace", SERVICES[s].ns.to_string()),
            ("pod", pod.name.clone()),
            ("reason", "CrashLoopBackOff".to_string()),
            ("uid", pod.uid.clone()),
        ]);
        v
    }

    fn l_deploy(&self, c: usize, s: usize) -> Pairs {
        let mut v = self.ksm(c);
        v.extend([
            ("deployment", SERVICES[s].name.to_string()),
            ("namespace", SERVICES[s].ns.to_string()),
        ]);
        v
    }

    /// A datastore exporter's series.
    fn l_store(&self, c: usize, s: usize, p: usize) -> Pairs {
        let d = &SERVICES[s];
        let pod = &self.w.clusters[c].pods[s][p.min(d.replicas - 1)];
        vec![
            ("instance", format!("{}:{}", pod.ip, d.port)),
            ("job", format!("{}-exporter", d.name)),
            ("namespace", d.ns.to_string()),
            ("pod", pod.name.clone()),
            ("service", d.name.to_string()),
            ("team", d.team.to_string()),
        ]
    }

    /// A node-exporter series.
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

    fn l_ksm_node(&self, c: usize, n: usize) -> Pairs {
        let mut v = self.ksm(c);
        v.push(("node", self.w.clusters[c].nodes[n].name.clone()));
        v
    }

    /// A kubelet series about a node.
    fn l_kubelet(&self, c: usize, n: usize) -> Pairs {
        let node = &self.w.clusters[c].nodes[n];
        vec![
            ("instance", format!("{}:10250", node.ip)),
            ("job", "kubelet".to_string()),
            ("metrics_path", "/metrics".to_string()),
            ("namespace", "kube-system".to_string()),
            ("node", node.name.clone()),
            ("service", "kubelet".to_string()),
        ]
    }

    fn l_probe(&self, c: usize, e: usize) -> Pairs {
        let (path, svcs) = ENDPOINTS[e];
        let owner = &SERVICES[world::svc(svcs[0])];
        vec![
            (
                "instance",
                format!("https://{}{path}", self.w.clusters[c].host),
            ),
            ("job", "blackbox-http".to_string()),
            ("module", "http_2xx".to_string()),
            ("namespace", "monitoring".to_string()),
            ("service", owner.name.to_string()),
            ("team", owner.team.to_string()),
        ]
    }

    fn l_ingress(&self, c: usize, i: usize) -> Pairs {
        let pod = &self.w.clusters[c].ingress[i];
        vec![
            ("instance", format!("{}:10254", pod.ip)),
            ("job", "ingress-nginx-controller-metrics".to_string()),
            ("namespace", "ingress-nginx".to_string()),
            ("pod", pod.name.clone()),
            ("service", "ingress-nginx-controller-metrics".to_string()),
            ("team", "platform".to_string()),
        ]
    }

    /// Resource-less attributes of an app's alert log record.
    fn peer_attrs(peer: &str) -> Pairs {
        if peer.is_empty() {
            Vec::new()
        } else {
            vec![("peer.service", peer.to_string())]
        }
    }

    // --- background -----------------------------------------------------------------------

    fn background(&mut self) {
        let t0 = self.t0;
        // Always firing; started with the cluster's Prometheus.
        self.am(&r::WATCHDOG, 0, Vec::new(), &[(t0 - 9 * DAY, NEVER)]);
        // Firing since before the window, until someone adds capacity / raises the quota.
        let until = t0 + self.ms(2 * HOUR, 7 * HOUR);
        self.am(
            &r::KUBE_CPU_OVERCOMMIT,
            1,
            Vec::new(),
            &[(t0 - 3 * DAY, until)],
        );
        let mut quota = self.ksm(0);
        quota.extend([
            ("namespace", "search".to_string()),
            ("resource", "requests.memory".to_string()),
            ("resourcequota", "search-quota".to_string()),
        ]);
        let until = t0 + self.ms(3 * HOUR, 10 * HOUR);
        self.am(
            &r::KUBE_QUOTA_ALMOST_FULL,
            0,
            quota,
            &[(t0 - 20 * HOUR, until)],
        );
        let n = self.pick(6);
        let mut fs = self.l_node(0, n);
        fs.extend([
            ("device", "/dev/nvme1n1".to_string()),
            ("fstype", "ext4".to_string()),
            ("mountpoint", "/var/lib/containerd".to_string()),
        ]);
        let until = t0 + self.ms(3 * HOUR, 10 * HOUR);
        self.am(&r::NODE_FS_FILLING_UP, 0, fs, &[(t0 - 3 * HOUR, until)]);
        let mut hpa = self.ksm(1);
        hpa.extend([
            ("horizontalpodautoscaler", "search".to_string()),
            ("namespace", "search".to_string()),
        ]);
        let until = t0 + self.ms(2 * HOUR, 6 * HOUR);
        self.am(&r::KUBE_HPA_MAXED_OUT, 1, hpa, &[(t0 - 5 * HOUR, until)]);

        // New long-running warnings, a couple a day.
        for t in self.daily(&[
            (HOUR, 7 * HOUR),
            (7 * HOUR, 14 * HOUR),
            (14 * HOUR, 21 * HOUR),
        ]) {
            let c = self.cluster();
            match self.pick(5) {
                0 => {
                    let s = self.app_service();
                    let p = self.pick(SERVICES[s].replicas);
                    let pod = self.w.clusters[c].pods[s][p].name.clone();
                    let mut l = self.l_pod(s, &pod);
                    l.push(("container", SERVICES[s].name.to_string()));
                    let d = self.ms(HOUR, 4 * HOUR);
                    self.am(&r::CPU_THROTTLING_HIGH, c, l, &[(t - 15 * MIN, t + d)]);
                }
                1 => {
                    let s = [
                        world::svc("api-gateway"),
                        world::svc("frontend"),
                        world::svc("search"),
                    ][self.pick(3)];
                    let mut l = self.ksm(c);
                    l.extend([
                        ("horizontalpodautoscaler", SERVICES[s].name.to_string()),
                        ("namespace", SERVICES[s].ns.to_string()),
                    ]);
                    let d = self.ms(HOUR, 4 * HOUR);
                    self.am(&r::KUBE_HPA_MAXED_OUT, c, l, &[(t - 15 * MIN, t + d)]);
                }
                2 => {
                    let pvc = [
                        "data-postgres-0",
                        "data-elasticsearch-master-1",
                        "data-kafka-2",
                    ][self.pick(3)];
                    let n = self.pick(6);
                    let mut l = self.l_kubelet(c, n);
                    l.retain(|(k, _)| *k != "namespace" && *k != "service");
                    l.extend([
                        ("namespace", "data".to_string()),
                        ("persistentvolumeclaim", pvc.to_string()),
                        ("service", "kubelet".to_string()),
                    ]);
                    let d = self.ms(2 * HOUR, 6 * HOUR);
                    self.am(&r::KUBE_PV_FILLING_UP_WARN, c, l, &[(t - HOUR, t + d)]);
                }
                3 => {
                    let n = self.pick(6);
                    let l = self.l_node(c, n);
                    let d = self.ms(HOUR, 3 * HOUR);
                    self.am(&r::NODE_MEMORY_HIGH, c, l, &[(t - 15 * MIN, t + d)]);
                }
                _ => {
                    let es = world::svc("elasticsearch");
                    let p = self.pick(3);
                    let l = self.l_store(c, es, p);
                    let d = self.ms(HOUR, 5 * HOUR);
                    self.am(
                        &r::ELASTICSEARCH_HEAP_USAGE_WARNING,
                        c,
                        l,
                        &[(t - 2 * MIN, t + d)],
                    );
                }
            }
        }

        // Nightly batch jobs that fail and stay failed until someone deletes the Job.
        let mut day = t0;
        while day < self.end {
            if self.p(0.35) {
                let (job, ns) = [
                    ("ledger-export", "payments"),
                    ("search-reindex", "search"),
                    ("orders-archive", "orders"),
                ][self.pick(3)];
                let fail = day + 2 * HOUR + self.ms(10 * MIN, 70 * MIN);
                let clean = day + 7 * HOUR + self.ms(0, 150 * MIN);
                let mut l = self.ksm(0);
                l.extend([
                    (
                        "job_name",
                        format!("{job}-{}", 29_413_000 + (day - t0) / MIN / 1440),
                    ),
                    ("namespace", ns.to_string()),
                ]);
                self.am(&r::KUBE_JOB_FAILED, 0, l, &[(fail, clean)]);
            }
            day += DAY;
        }
    }

    fn app_service(&mut self) -> usize {
        let apps: Vec<usize> = (0..SERVICES.len())
            .filter(|&i| SERVICES[i].kind == Kind::App)
            .collect();
        apps[self.pick(apps.len())]
    }

    // --- incidents --------------------------------------------------------------------------

    fn incidents(&mut self) {
        let t0 = self.t0;
        // Infrastructure failures happen at any hour: three a day (one short, one medium, one
        // long, in random order), sometimes one more.
        let mut starts: Vec<(i64, (f64, f64))> = Vec::new();
        let mut day = t0;
        while day < self.end {
            let mut strata = [(10.0, 22.0), (22.0, 45.0), (45.0, 90.0)];
            for i in (1..strata.len()).rev() {
                let j = self.pick(i + 1);
                strata.swap(i, j);
            }
            for (k, (a, b)) in [
                (HOUR, 8 * HOUR),
                (8 * HOUR, 16 * HOUR),
                (16 * HOUR, 23 * HOUR),
            ]
            .into_iter()
            .enumerate()
            {
                let t = day + self.ms(a, b);
                if t < self.end {
                    starts.push((t, strata[k]));
                }
            }
            day += DAY;
        }
        for t in self.arrivals(t0, 36 * HOUR, always) {
            starts.push((t, (10.0, 90.0)));
        }
        starts.sort_by_key(|(t, _)| *t);
        for (t, (lo, hi)) in starts {
            let x: f64 = self.rng.random();
            let root = if x < 0.25 {
                Root::Store(world::svc("postgres"))
            } else if x < 0.45 {
                Root::Store(world::svc("redis"))
            } else if x < 0.63 {
                Root::Store(world::svc("kafka"))
            } else if x < 0.78 {
                Root::Store(world::svc("elasticsearch"))
            } else if x < 0.89 {
                Root::Psp
            } else {
                Root::Node(self.pick(6))
            };
            let c = self.cluster();
            let dur = self.log_minutes(lo, hi);
            self.storm(root, c, t, dur);
        }
        // Bad deploys, in deploy hours.
        for t in self.arrivals(t0, 10 * HOUR, business) {
            let s = [
                "payments",
                "orders",
                "users",
                "inventory",
                "search",
                "api-gateway",
                "notifications",
            ][self.pick(7)];
            let c = self.cluster();
            let dur = self.log_minutes(10.0, 45.0);
            self.storm(Root::Deploy(world::svc(s)), c, t, dur);
        }
    }

    fn storm(&mut self, root: Root, c: usize, t0: i64, dur: i64) {
        let t1 = t0 + dur;
        let origin = match root {
            Root::Store(s) | Root::Deploy(s) => s,
            Root::Psp => world::svc("payments"),
            Root::Node(n) => return self.node_failure(c, n, t0, t1),
        };
        let mut affected: Vec<(usize, u32)> = Vec::new();
        if !matches!(root, Root::Store(_)) {
            affected.push((origin, 0));
        }
        affected.extend(world::dependents(origin));
        match root {
            Root::Store(s) => self.store_root(c, s, t0, t1),
            Root::Deploy(s) => self.deploy_root(c, s, t0, t1),
            _ => {}
        }
        let ids: Vec<usize> = affected.iter().map(|(s, _)| *s).chain([origin]).collect();
        for &(s, d) in &affected {
            self.app_symptoms(root, origin, &ids, c, s, d, t0, t1);
        }
        self.edge_symptoms(c, &ids, t0, t1);
    }

    fn store_root(&mut self, c: usize, s: usize, t0: i64, t1: i64) {
        match SERVICES[s].kind {
            Kind::Postgres => {
                let l = self.l_store(c, s, 0);
                self.am(&r::POSTGRESQL_DOWN, c, l.clone(), &[(t0, t1)]);
                if self.p(0.7) {
                    let a = t1 + self.ms(5 * SEC, 25 * SEC);
                    self.am(
                        &r::POSTGRESQL_RESTARTED,
                        c,
                        l.clone(),
                        &[(a, t1 + 60 * SEC)],
                    );
                }
                if self.p(0.5) {
                    let a = t1 + self.ms(10 * SEC, 40 * SEC);
                    let b = t1 + self.ms(3 * MIN, 9 * MIN);
                    self.am(&r::POSTGRESQL_TOO_MANY_CONNECTIONS, c, l, &[(a, b)]);
                }
                if self.p(0.4) {
                    let l = self.l_store(c, s, 1);
                    let a = t0 + self.ms(20 * SEC, 60 * SEC);
                    let b = t1 + self.ms(2 * MIN, 10 * MIN);
                    self.am(&r::POSTGRESQL_REPLICATION_LAG, c, l, &[(a, b)]);
                }
            }
            Kind::Redis => {
                let l = self.l_store(c, s, 0);
                self.am(&r::REDIS_DOWN, c, l, &[(t0, t1)]);
                for p in 1..3 {
                    if self.p(0.45) {
                        let l = self.l_store(c, s, p);
                        let a = t0 + self.ms(10 * SEC, 90 * SEC);
                        let b = t1 + self.ms(0, 3 * MIN);
                        self.am(&r::REDIS_REJECTED_CONNECTIONS, c, l, &[(a, b)]);
                    }
                }
                if self.p(0.4) {
                    let l = self.l_store(c, s, 0);
                    let a = t1 + self.ms(5 * SEC, 30 * SEC);
                    let b = t1 + self.ms(3 * MIN, 8 * MIN);
                    self.am(&r::REDIS_TOO_MANY_CONNECTIONS, c, l, &[(a, b)]);
                }
            }
            Kind::Kafka => {
                for topic in [
                    "orders.events",
                    "payments.events",
                    "notifications.outbox",
                    "search.product-updates",
                ] {
                    if self.p(0.8) {
                        let mut l = self.l_store(c, s, 0);
                        l.push(("topic", topic.to_string()));
                        let a = t0 + self.ms(0, 30 * SEC);
                        let b = t1 + self.ms(MIN, 6 * MIN);
                        self.am(&r::KAFKA_TOPICS_REPLICAS, c, l, &[(a, b)]);
                    }
                }
                for group in [
                    "orders-fulfilment",
                    "notifications-email",
                    "search-indexer",
                    "payments-ledger",
                ] {
                    if self.p(0.7) {
                        let mut l = self.l_store(c, s, 0);
                        l.push(("consumergroup", group.to_string()));
                        let a = t0 + self.ms(MIN, 4 * MIN);
                        let b = t1 + self.ms(3 * MIN, 15 * MIN);
                        self.am(&r::KAFKA_CONSUMER_GROUP_LAG, c, l, &[(a, b)]);
                    }
                }
            }
            Kind::Elasticsearch => {
                let l = self.l_store(c, s, 0);
                self.am(&r::ELASTICSEARCH_CLUSTER_RED, c, l.clone(), &[(t0, t1)]);
                if self.p(0.8) {
                    let b = t1 + self.ms(2 * MIN, 10 * MIN);
                    self.am(
                        &r::ELASTICSEARCH_UNASSIGNED_SHARDS,
                        c,
                        l.clone(),
                        &[(t0 + 10 * SEC, b)],
                    );
                }
                if self.p(0.5) {
                    let b = t1 + self.ms(3 * MIN, 12 * MIN);
                    self.am(&r::ELASTICSEARCH_RELOCATING_SHARDS, c, l, &[(t1, b)]);
                }
            }
            Kind::App => {}
        }
    }

    fn deploy_root(&mut self, c: usize, s: usize, t0: i64, t1: i64) {
        for p in 0..SERVICES[s].replicas {
            if self.p(0.9) {
                let l = self.l_crash(c, s, p);
                let a = t0 + self.ms(30 * SEC, 3 * MIN);
                let b = t1 + self.ms(MIN, 6 * MIN);
                self.am(&r::KUBE_POD_CRASHLOOPING, c, l, &[(a, b)]);
            }
        }
        if self.p(0.7) {
            let l = self.l_deploy(c, s);
            let a = t0 + self.ms(0, MIN);
            self.am(&r::KUBE_DEPLOYMENT_ROLLOUT_STUCK, c, l, &[(a, t1)]);
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn app_symptoms(
        &mut self,
        root: Root,
        origin: usize,
        ids: &[usize],
        c: usize,
        s: usize,
        d: u32,
        t0: i64,
        t1: i64,
    ) {
        let def = &SERVICES[s];
        if def.kind != Kind::App {
            return;
        }
        let di = d as i64;
        let cs = t0 + di * self.ms(15 * SEC, 75 * SEC) + self.ms(0, 45 * SEC);
        let ce = t1 + di * self.ms(10 * SEC, 40 * SEC) + self.ms(0, 90 * SEC);
        let kafka_root = root == Root::Store(world::svc("kafka"));
        let mut p_err = [0.95, 0.85, 0.7, 0.6][(d as usize).min(3)];
        if kafka_root {
            p_err *= 0.5;
        }
        if self.p(p_err) {
            let conds = self.dips(cs, ce, 0.3);
            let l = self.l_app(s);
            self.am(&r::SERVICE_HIGH_ERROR_RATE, c, l, &conds);
        }
        if self.p(0.45) {
            let l = self.l_app(s);
            let a = cs + self.ms(0, MIN);
            let b = ce + self.ms(0, 2 * MIN);
            self.am(&r::SERVICE_HIGH_LATENCY, c, l, &[(a, b)]);
        }

        // What the app's own logs say.
        let origin_name = SERVICES[origin].name;
        let (rule, peer): (&'static Rule, String) = match (root, d) {
            (Root::Store(st), 1) => match SERVICES[st].kind {
                Kind::Postgres if def.lang == "java" => {
                    (&r::O_DB_POOL_EXHAUSTED, "postgres".into())
                }
                Kind::Postgres => (&r::O_DATABASE_UNAVAILABLE, "postgres".into()),
                Kind::Redis => (&r::O_CACHE_UNAVAILABLE, "redis".into()),
                Kind::Kafka => (&r::O_KAFKA_PRODUCE_FAILED, "kafka".into()),
                _ => (&r::O_SEARCH_BACKEND_TIMEOUT, "elasticsearch".into()),
            },
            (Root::Deploy(_), 0) => (&r::O_UNHANDLED_EXCEPTIONS, String::new()),
            (Root::Psp, 0) => (&r::O_PAYMENTS_UPSTREAM_TIMEOUT, "card-processor".into()),
            _ => {
                let dep = def
                    .deps
                    .iter()
                    .find(|n| ids.contains(&world::svc(n)))
                    .copied()
                    .unwrap_or(origin_name);
                (&r::O_UPSTREAM_TIMEOUT, dep.to_string())
            }
        };
        let p_pod = if d <= 1 { 0.45 } else { 0.25 };
        let store_ip = match root {
            Root::Store(st) => self.w.clusters[c].pods[st][0].ip.clone(),
            _ => String::new(),
        };
        for p in 0..def.replicas {
            if self.p(p_pod) {
                let attrs = Self::peer_attrs(&peer);
                let vars = vec![
                    ("peer", peer.clone()),
                    ("dep_ip", store_ip.clone()),
                    ("topic", format!("{}.events", def.name)),
                    (
                        "exception",
                        ["NullPointerException", "KeyError: 'currency'", "TypeError: Cannot read properties of undefined (reading 'id')", "panic: runtime error: invalid memory address or nil pointer dereference"]
                            [match def.lang {
                                "java" => 0,
                                "python" => 1,
                                "nodejs" => 2,
                                _ => 3,
                            }]
                        .to_string(),
                    ),
                ];
                let a = cs + self.ms(0, 40 * SEC);
                let b = ce + self.ms(0, MIN);
                self.otlp(rule, c, s, p, attrs, vars, &[(a, b)]);
            }
            if d >= 1 && self.p(0.12) {
                let attrs = Self::peer_attrs(&peer);
                let vars = vec![("peer", peer.clone())];
                let a = cs + self.ms(30 * SEC, 2 * MIN);
                let b = ce + self.ms(0, MIN);
                self.otlp(&r::O_CIRCUIT_BREAKER_OPEN, c, s, p, attrs, vars, &[(a, b)]);
            }
        }

        // Pods failing readiness (or crash looping) while their database is gone.
        if matches!(root, Root::Store(_)) && d == 1 {
            for p in 0..def.replicas {
                if self.p(0.5) {
                    let pod = self.w.clusters[c].pods[s][p].name.clone();
                    let l = self.l_pod(s, &pod);
                    let a = cs + self.ms(0, 2 * MIN);
                    let b = ce + self.ms(0, 3 * MIN);
                    self.am(&r::KUBE_POD_NOT_READY, c, l, &[(a, b)]);
                }
                if self.p(0.25) {
                    let l = self.l_crash(c, s, p);
                    let a = cs + self.ms(MIN, 3 * MIN);
                    let b = ce + self.ms(MIN, 8 * MIN);
                    self.am(&r::KUBE_POD_CRASHLOOPING, c, l, &[(a, b)]);
                }
            }
            if self.p(0.45) {
                let l = self.l_deploy(c, s);
                let b = ce + self.ms(MIN, 4 * MIN);
                self.am(
                    &r::KUBE_DEPLOYMENT_REPLICAS_MISMATCH,
                    c,
                    l,
                    &[(cs + MIN, b)],
                );
            }
        }

        // The error tracker opens an issue for the new exception and pages through Events v2;
        // people resolve the issue in the tracker later.
        if d <= 1 && self.p(0.45) {
            let a = cs + self.ms(MIN, 4 * MIN);
            let b = ce + self.ms(15 * MIN, 3 * HOUR);
            self.sentry(c, s, &[(a, b)]);
        }

        if let Some(g) = r::grafana_slo(def.name) {
            if self.p(0.85) {
                let a = cs + self.ms(0, 90 * SEC);
                let b = ce + self.ms(30 * SEC, 3 * MIN);
                self.grafana(g, c, s, "SLOs", &[(a, b)]);
            }
        }
    }

    /// Failing probes, ingress 5xx and synthetic checks in front of the affected services.
    fn edge_symptoms(&mut self, c: usize, ids: &[usize], t0: i64, t1: i64) {
        let gw = world::svc("api-gateway");
        let hit = |names: &[&str]| names.iter().any(|n| ids.contains(&world::svc(n)));
        for (e, &(path, svcs)) in ENDPOINTS.iter().enumerate() {
            let p = if path == "/" {
                if ids.contains(&gw) {
                    0.35
                } else {
                    0.0
                }
            } else if hit(svcs) {
                0.85
            } else {
                0.0
            };
            if self.p(p) {
                let l = self.l_probe(c, e);
                let a = t0 + self.ms(40 * SEC, 150 * SEC);
                let b = t1 + self.ms(30 * SEC, 150 * SEC);
                self.am(&r::BLACKBOX_PROBE_HTTP_FAILURE, c, l, &[(a, b)]);
            }
        }
        if ids.contains(&gw) {
            for i in 0..self.w.clusters[c].ingress.len() {
                if self.p(0.8) {
                    let l = self.l_ingress(c, i);
                    let a = t0 + self.ms(30 * SEC, 2 * MIN);
                    let b = t1 + self.ms(20 * SEC, 2 * MIN);
                    self.am(&r::NGINX_HIGH_HTTP_5XX, c, l, &[(a, b)]);
                }
            }
        }
        for (k, check) in CHECKS.iter().enumerate() {
            if hit(check.1) && self.p(0.9) {
                let a = t0 + self.ms(30 * SEC, 150 * SEC);
                let b = t1 + self.ms(MIN, 4 * MIN);
                self.synthetic(c, k, true, &[(a, b)]);
            }
        }
    }

    fn node_failure(&mut self, c: usize, n: usize, t0: i64, t1: i64) {
        let l = self.l_ksm_node(c, n);
        self.am(&r::KUBE_NODE_NOT_READY, c, l, &[(t0, t1)]);
        if self.p(0.8) {
            let mut l = self.l_ksm_node(c, n);
            l.extend([
                ("effect", "NoSchedule".to_string()),
                ("key", "node.kubernetes.io/unreachable".to_string()),
            ]);
            self.am(&r::KUBE_NODE_UNREACHABLE, c, l, &[(t0 + 30 * SEC, t1)]);
        }
        let l = vec![
            ("job", "node-exporter".to_string()),
            ("namespace", "monitoring".to_string()),
            ("service", "node-exporter".to_string()),
        ];
        self.am(&r::TARGET_DOWN, c, l, &[(t0, t1)]);
        // Pods on the node are replaced after the eviction timeout; in a full cluster some
        // replacements stay Pending until the node is back.
        for (s, def) in SERVICES.iter().enumerate() {
            if def.kind != Kind::App {
                continue;
            }
            let on_node: Vec<usize> = (0..def.replicas)
                .filter(|&p| self.w.clusters[c].pods[s][p].node == n)
                .collect();
            if on_node.is_empty() {
                continue;
            }
            for _ in &on_node {
                if self.p(0.45) {
                    let name = self.w.clusters[c].pods[s][0]
                        .name
                        .rsplit_once('-')
                        .map(|(a, _)| a.to_string())
                        .unwrap_or_default();
                    let suffix = world::rand_str(self.rng, 5, b"bcdfghjklmnpqrstvwxz2456789");
                    let pod = format!("{name}-{suffix}");
                    let l = self.l_pod(s, &pod);
                    let a = t0 + 5 * MIN + self.ms(0, 40 * SEC);
                    let b = t1 + self.ms(MIN, 4 * MIN);
                    self.am(&r::KUBE_POD_NOT_READY, c, l, &[(a, b)]);
                }
            }
            if self.p(0.7) {
                let l = self.l_deploy(c, s);
                let a = t0 + self.ms(MIN, 2 * MIN);
                let b = t1 + self.ms(MIN, 3 * MIN);
                self.am(&r::KUBE_DEPLOYMENT_REPLICAS_MISMATCH, c, l, &[(a, b)]);
            }
            if self.p(0.3) {
                let l = self.l_app(s);
                let b = t0 + self.ms(8 * MIN, 14 * MIN);
                let a = t0 + self.ms(0, MIN);
                self.am(&r::SERVICE_HIGH_LATENCY, c, l, &[(a, b)]);
            }
        }
    }

    /// An error rate that dips under its threshold for a minute or two mid-incident.
    fn dips(&mut self, cs: i64, ce: i64, p: f64) -> Vec<(i64, i64)> {
        if ce - cs > 12 * MIN && self.p(p) {
            let m = cs + self.ms(4 * MIN, (ce - cs) - 6 * MIN);
            let g = self.ms(60 * SEC, 150 * SEC);
            vec![(cs, m), (m + g, ce)]
        } else {
            vec![(cs, ce)]
        }
    }

    // --- flapping, noise, isolated problems -----------------------------------------------

    fn flappers(&mut self) {
        let mut starts = self.daily(&[
            (0, 5 * HOUR),
            (5 * HOUR, 10 * HOUR),
            (10 * HOUR, 15 * HOUR),
            (15 * HOUR, 20 * HOUR),
        ]);
        let extra = self.arrivals(self.t0, 24 * HOUR, always);
        starts.extend(extra);
        starts.sort();
        for start in starts {
            if start >= self.end {
                continue;
            }
            let dur = self.ms(2 * HOUR, 5 * HOUR);
            let mut conds = Vec::new();
            let mut t = start;
            while t < start + dur {
                let on = self.ms(2 * MIN, 9 * MIN);
                conds.push((t, t + on));
                t += on + self.ms(2 * MIN, 10 * MIN);
            }
            let c = self.cluster();
            let n = self.pick(6);
            match self.pick(9) {
                8 => {
                    let s = world::svc("search");
                    self.grafana(&r::G_P95_LATENCY, c, s, "commerce", &conds);
                }
                0 => {
                    let p = self.pick(3);
                    let l = self.l_store(c, world::svc("redis"), p);
                    self.am(&r::REDIS_REJECTED_CONNECTIONS, c, l, &conds);
                }
                1 => {
                    let l = self.l_probe(c, 3);
                    self.am(&r::BLACKBOX_PROBE_SLOW_HTTP, c, l, &conds);
                }
                2 => {
                    let mut l = self.l_store(c, world::svc("kafka"), 0);
                    l.push(("consumergroup", "notifications-email".to_string()));
                    self.am(&r::KAFKA_CONSUMER_GROUP_LAG, c, l, &conds);
                }
                3 => {
                    let mut l = self.l_node(c, n);
                    l.push(("device", "eth1".to_string()));
                    self.am(&r::NODE_NETWORK_FLAPPING, c, l, &conds);
                }
                4 => {
                    let l = self.l_store(c, world::svc("postgres"), 1);
                    self.am(&r::POSTGRESQL_REPLICATION_LAG, c, l, &conds);
                }
                5 => {
                    let l = self.l_node(c, n);
                    self.am(&r::HOST_CPU_HIGH_IOWAIT, c, l, &conds);
                }
                6 => {
                    self.grafana(
                        &r::G_QUEUE_DEPTH,
                        c,
                        world::svc("notifications"),
                        "Platform",
                        &conds,
                    );
                }
                _ => {
                    let s = world::svc("api-gateway");
                    let p = self.pick(SERVICES[s].replicas);
                    let peer = ["search", "inventory", "users"][self.pick(3)];
                    let attrs = Self::peer_attrs(peer);
                    self.otlp(
                        &r::O_RETRY_BUDGET,
                        c,
                        s,
                        p,
                        attrs,
                        vec![("peer", peer.to_string())],
                        &conds,
                    );
                }
            }
        }
    }

    fn transients(&mut self) {
        for t in self.arrivals(self.t0, 3 * MIN, diurnal) {
            let c = self.cluster();
            let n = self.pick(6);
            let x: f64 = self.rng.random();
            if x < 0.58 {
                let (rule, l): (&'static Rule, Pairs) = match self.pick(10) {
                    0 => (&r::HOST_OOM_KILL_DETECTED, self.l_node(c, n)),
                    1 => {
                        let mut l = self.l_store(c, world::svc("postgres"), 0);
                        l.push((
                            "datname",
                            ["payments", "orders", "inventory"][self.pick(3)].to_string(),
                        ));
                        (&r::POSTGRESQL_DEAD_LOCKS, l)
                    }
                    2 => {
                        let mut l = self.l_store(c, world::svc("postgres"), 0);
                        l.push((
                            "datname",
                            ["payments", "orders", "users"][self.pick(3)].to_string(),
                        ));
                        (&r::POSTGRESQL_HIGH_ROLLBACK_RATE, l)
                    }
                    3 => (&r::HOST_CONTEXT_SWITCHING_HIGH, self.l_node(c, n)),
                    4 => {
                        let mut l = self.l_kubelet(c, n);
                        l.push((
                            "eviction_signal",
                            ["memory.available", "nodefs.available"][self.pick(2)].to_string(),
                        ));
                        (&r::KUBE_NODE_EVICTION, l)
                    }
                    5 => (
                        &r::ELASTICSEARCH_RELOCATING_SHARDS,
                        self.l_store(c, world::svc("elasticsearch"), 0),
                    ),
                    6 => {
                        let e = self.pick(ENDPOINTS.len());
                        (&r::BLACKBOX_PROBE_SLOW_HTTP, self.l_probe(c, e))
                    }
                    7 => {
                        let p = self.pick(3);
                        (
                            &r::REDIS_REJECTED_CONNECTIONS,
                            self.l_store(c, world::svc("redis"), p),
                        )
                    }
                    8 => (&r::HOST_CPU_HIGH_IOWAIT, self.l_node(c, n)),
                    _ => {
                        let p = self.pick(2);
                        (
                            &r::POSTGRESQL_CONFIGURATION_CHANGED,
                            self.l_store(c, world::svc("postgres"), p),
                        )
                    }
                };
                let len = rule.for_s * SEC + self.ms(30 * SEC, 150 * SEC);
                self.am(rule, c, l, &[(t, t + len)]);
            } else if x < 0.82 {
                let s = self.app_service();
                let folder = SERVICES[s].team;
                let rule = if self.p(0.6) {
                    &r::G_P95_LATENCY
                } else {
                    &r::G_ERROR_LOG_RATE
                };
                let len = rule.for_s * SEC + self.ms(40 * SEC, 150 * SEC);
                self.grafana(rule, c, s, folder, &[(t, t + len)]);
            } else {
                let s = self.app_service();
                let p = self.pick(SERVICES[s].replicas);
                let len = self.ms(20 * SEC, 150 * SEC);
                match self.pick(3) {
                    0 => {
                        let table = [
                            "orders",
                            "order_items",
                            "payments",
                            "stock_levels",
                            "sessions",
                        ][self.pick(5)];
                        let attrs = vec![("db.system", "postgresql".to_string())];
                        self.otlp(
                            &r::O_SLOW_QUERY,
                            c,
                            s,
                            p,
                            attrs,
                            vec![("table", table.to_string())],
                            &[(t, t + len)],
                        );
                    }
                    1 => {
                        let attrs = vec![
                            ("k8s.container.name", SERVICES[s].name.to_string()),
                            ("k8s.namespace.name", SERVICES[s].ns.to_string()),
                        ];
                        let vars = vec![("container", SERVICES[s].name.to_string())];
                        self.otlp(&r::O_CONTAINER_OOM, c, s, p, attrs, vars, &[(t, t + SEC)]);
                        if let Some(last) = self.insts.last_mut() {
                            if last.rule.name == r::O_CONTAINER_OOM.name {
                                last.oneshot = true;
                            }
                        }
                    }
                    _ => {
                        let s = [world::svc("payments"), world::svc("search")][self.pick(2)];
                        let p = self.pick(SERVICES[s].replicas);
                        let attrs = vec![("jvm.gc.name", "G1 Young Generation".to_string())];
                        self.otlp(&r::O_GC_PAUSE, c, s, p, attrs, Vec::new(), &[(t, t + len)]);
                    }
                }
            }
        }
    }

    /// Real but contained problems: one alert (or two), worked by someone, not a storm.
    fn isolated(&mut self) {
        for t in self.arrivals(self.t0, 5 * HOUR, always) {
            let c = self.cluster();
            match self.pick(5) {
                0 => {
                    let pvc = [
                        "data-kafka-1",
                        "data-postgres-1",
                        "data-elasticsearch-master-0",
                    ][self.pick(3)];
                    let n = self.pick(6);
                    let mut l = self.l_kubelet(c, n);
                    l.retain(|(k, _)| *k != "namespace");
                    l.extend([
                        ("namespace", "data".to_string()),
                        ("persistentvolumeclaim", pvc.to_string()),
                    ]);
                    let d = self.ms(20 * MIN, 70 * MIN);
                    self.am(&r::KUBE_PV_FILLING_UP_CRIT, c, l, &[(t, t + d)]);
                }
                1 => {
                    let s = self.app_service();
                    let p = self.pick(SERVICES[s].replicas);
                    let l = self.l_crash(c, s, p);
                    let d = self.ms(20 * MIN, 50 * MIN);
                    self.am(&r::KUBE_POD_CRASHLOOPING, c, l, &[(t - 14 * MIN, t + d)]);
                }
                2 => {
                    let l = self.l_store(c, world::svc("postgres"), 0);
                    let d = self.ms(5 * MIN, 20 * MIN);
                    self.am(&r::POSTGRESQL_TOO_MANY_CONNECTIONS, c, l, &[(t, t + d)]);
                }
                3 => {
                    let s = self.app_service();
                    let l = self.l_app(s);
                    let d = self.ms(8 * MIN, 25 * MIN);
                    self.am(&r::SERVICE_HIGH_LATENCY, c, l, &[(t, t + d)]);
                    if self.p(0.5) {
                        self.grafana(
                            &r::G_P95_LATENCY,
                            c,
                            s,
                            SERVICES[s].team,
                            &[(t + MIN, t + d)],
                        );
                    }
                }
                _ => {
                    let p = self.pick(3);
                    let l = self.l_store(c, world::svc("redis"), p);
                    let d = self.ms(4 * MIN, 15 * MIN);
                    self.am(&r::REDIS_TOO_MANY_CONNECTIONS, c, l, &[(t, t + d)]);
                }
            }
        }
    }

    // --- PagerDuty producers ------------------------------------------------------------------

    fn synthetic(&mut self, c: usize, k: usize, storm: bool, conds: &[(i64, i64)]) {
        let (check, svcs, sev, team) = CHECKS[k];
        let cl = &self.w.clusters[c];
        let step = match check {
            "checkout-flow" => "POST /api/v1/checkout",
            "login-flow" => "POST /api/v1/session",
            "search-flow" => "GET /api/v1/search?q=boots",
            _ => "GET /api/v1/products/8841",
        };
        let details = vec![
            ("check", check.to_string()),
            ("cluster", cl.name.to_string()),
            ("service", svcs[0].to_string()),
            ("team", team.to_string()),
            ("url", format!("https://{}/", cl.host)),
        ];
        let pc = PdCheck {
            tool: world::TOOL_SYNTHETICS,
            team: world::team_idx(team),
            dedup_key: format!("synthetics/{check}/{}", cl.name),
            source: format!("synthetics-runner.{}", cl.region),
            component: check.to_string(),
            group: cl.name.to_string(),
            details,
            renotify: 5 * MIN,
            storm,
        };
        let rule = if sev == "critical" {
            &r::PD_SYNTHETIC_CRITICAL
        } else {
            &r::PD_SYNTHETIC_ERROR
        };
        let vars = vec![
            ("check", check.to_string()),
            ("step", step.to_string()),
            ("region", cl.region.to_string()),
        ];
        self.pd(rule, c, pc, vars, conds);
    }

    fn sentry(&mut self, c: usize, s: usize, conds: &[(i64, i64)]) {
        let def = &SERVICES[s];
        let issue = self.ms(4_100_000_000, 4_199_999_999);
        let (exception, culprit) = match def.lang {
            "java" => (
                ["SQLTransientConnectionException: HikariPool-1 - Connection is not available", "SocketTimeoutException: Read timed out", "IllegalStateException: Circuit breaker is OPEN"][self.pick(3)],
                format!("com.shopwave.{}.api.{}Controller", def.name, capitalise(def.name)),
            ),
            "python" => (
                ["OperationalError: could not connect to server", "ReadTimeout: HTTPConnectionPool(host='payments.payments.svc', port=8080)", "KafkaTimeoutError: Failed to update metadata after 60.0 secs."][self.pick(3)],
                format!("shopwave.{}.handlers.create", def.name.replace('-', "_")),
            ),
            "nodejs" => (
                ["FetchError: request to http://api-gateway.edge.svc:8080/v1/cart failed, reason: socket hang up", "TypeError: Cannot read properties of undefined (reading 'items')"][self.pick(2)],
                "pages/checkout/index.tsx in getServerSideProps".to_string(),
            ),
            _ => (
                ["context deadline exceeded", "dial tcp: connect: connection refused", "redis: connection pool timeout"][self.pick(3)],
                format!("github.com/shopwave/{}/internal/server.(*Server).handle", def.name),
            ),
        };
        let cl = &self.w.clusters[c];
        let pc = PdCheck {
            tool: world::TOOL_SENTRY,
            team: world::team_idx(def.team),
            dedup_key: format!("sentry-{issue}"),
            source: format!("{}@{}", def.name, cl.versions[s]),
            component: def.name.to_string(),
            group: "production".to_string(),
            details: vec![
                ("project", def.name.to_string()),
                ("environment", "production".to_string()),
                ("cluster", cl.name.to_string()),
                ("level", "error".to_string()),
                ("culprit", culprit.clone()),
                (
                    "issue_url",
                    format!(
                        "https://sentry.shopwave.example/organizations/shopwave/issues/{issue}/"
                    ),
                ),
            ],
            renotify: 30 * MIN,
            storm: true,
        };
        let vars = vec![("exception", exception.to_string()), ("culprit", culprit)];
        self.pd(&r::PD_SENTRY_ISSUE, c, pc, vars, conds);
    }

    fn pd_producers(&mut self) {
        let t0 = self.t0;
        // A single location failing a run or three: blips nobody needs to see.
        for t in self.arrivals(t0, 12 * MIN, always) {
            let c = self.cluster();
            let k = self.pick(CHECKS.len());
            let len = self.ms(70 * SEC, 5 * MIN);
            self.synthetic(c, k, false, &[(t, t + len)]);
        }
        // Nightly cron jobs that miss their run; fixed by hand, the monitor resolves when the
        // rerun pings.
        let mut day = t0;
        while day < self.end {
            if self.p(0.4) {
                let (job, team) = [
                    ("nightly-ledger-export", "payments"),
                    ("postgres-basebackup", "platform"),
                    ("sitemap-generator", "web"),
                ][self.pick(3)];
                let expected = day + 2 * HOUR + 30 * MIN;
                let a = expected + 30 * MIN;
                let b = a + self.ms(50 * MIN, 5 * HOUR);
                let pc = PdCheck {
                    tool: world::TOOL_CRON,
                    team: world::team_idx(team),
                    dedup_key: format!("hc-{job}"),
                    source: "healthchecks".to_string(),
                    component: job.to_string(),
                    group: "cron".to_string(),
                    details: vec![
                        ("check", job.to_string()),
                        ("schedule", "30 2 * * *".to_string()),
                        ("grace", "30m".to_string()),
                        ("team", team.to_string()),
                    ],
                    renotify: 60 * MIN,
                    storm: false,
                };
                let vars = vec![
                    ("job", job.to_string()),
                    ("expected", super::json::ts_s(expected)),
                ];
                self.pd(&r::PD_MISSED_RUN, 0, pc, vars, &[(a - MIN, b)]);
            }
            day += DAY;
        }
        // A certificate nobody renewed yet: re-reported every morning.
        if self.p(0.7) {
            let host = [
                "api.shopwave.example",
                "checkout.shopwave.example",
                "assets.shopwave.example",
            ][self.pick(3)];
            let first = t0 - 2 * DAY + 9 * HOUR;
            let days_left = self.ms(12, 16);
            let pc = PdCheck {
                tool: world::TOOL_CERT,
                team: world::team_idx("platform"),
                dedup_key: format!("cert-expiry:{host}"),
                source: host.to_string(),
                component: "tls".to_string(),
                group: "certificates".to_string(),
                details: vec![
                    ("host", host.to_string()),
                    ("issuer", "R11".to_string()),
                    ("not_after", super::json::ts_s(first + days_left * DAY)),
                ],
                renotify: DAY,
                storm: false,
            };
            let vars = vec![("host", host.to_string()), ("days", days_left.to_string())];
            self.pd(&r::PD_CERT_EXPIRY, 0, pc, vars, &[(first - MIN, NEVER)]);
        }
    }

    fn manual_incidents(&mut self) {
        const TITLES: [(&str, usize); 5] = [
            ("Customers report failed card payments on iOS app", 1),
            ("Support: order confirmation emails not arriving", 0),
            ("Marketing campaign traffic spike expected 18:00", 3),
            ("Partner API (DHL) returning 429s", 2),
            ("Password reset links expired immediately", 3),
        ];
        let mut starts = Vec::new();
        for t in self.daily(&[(9 * HOUR, 19 * HOUR)]) {
            if self.p(0.7) {
                starts.push(t);
            }
        }
        for t in starts {
            let (title, team) = TITLES[self.pick(TITLES.len())];
            let dur = self.ms(20 * MIN, 100 * MIN);
            self.foreign.push(Foreign {
                at: t,
                team,
                title,
                dur,
            });
        }
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).filter(|c| *c != '-').collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn firing_respects_for_and_grid() {
        // 30 s grid at offset 0; a 2 m `for`.
        let f = fire(&[(10 * SEC, 10 * MIN)], 120, 30 * SEC, 0);
        assert_eq!(f, vec![(30 * SEC + 2 * MIN, 10 * MIN)]);
        // Shorter than `for`: never fires.
        assert!(fire(&[(0, 90 * SEC)], 120, 30 * SEC, 0).is_empty());
        // Overlapping conditions merge.
        let f = fire(&[(0, 5 * MIN), (5 * MIN, 9 * MIN)], 0, 30 * SEC, 0);
        assert_eq!(f, vec![(0, 9 * MIN)]);
    }
}
