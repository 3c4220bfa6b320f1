//! The simulated company ("Shopwave"): services and their dependency topology, teams, two
//! Kubernetes clusters with nodes and pods, PagerDuty services and on-call people. Built once
//! from the seed; everything else refers to it by index.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// What a service is; datastores are the usual root causes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    App,
    Postgres,
    Redis,
    Kafka,
    Elasticsearch,
}

#[derive(Debug)]
pub(crate) struct SvcDef {
    pub name: &'static str,
    pub team: &'static str,
    pub ns: &'static str,
    pub kind: Kind,
    /// Services this one calls.
    pub deps: &'static [&'static str],
    pub replicas: usize,
    /// OpenTelemetry SDK language and version (apps only).
    pub lang: &'static str,
    pub sdk: &'static str,
    /// App HTTP port, or the metrics exporter's port for datastores.
    pub port: u16,
}

#[allow(clippy::too_many_arguments)]
const fn app(
    name: &'static str,
    team: &'static str,
    ns: &'static str,
    deps: &'static [&'static str],
    replicas: usize,
    lang: &'static str,
    sdk: &'static str,
    port: u16,
) -> SvcDef {
    SvcDef {
        name,
        team,
        ns,
        kind: Kind::App,
        deps,
        replicas,
        lang,
        sdk,
        port,
    }
}

const fn store(name: &'static str, kind: Kind, replicas: usize, port: u16) -> SvcDef {
    SvcDef {
        name,
        team: "platform",
        ns: "data",
        kind,
        deps: &[],
        replicas,
        lang: "",
        sdk: "",
        port,
    }
}

/// frontend → api-gateway → payments/orders/users/inventory/search → postgres/redis/kafka/elasticsearch.
pub(crate) const SERVICES: [SvcDef; 12] = [
    app(
        "frontend",
        "web",
        "web",
        &["api-gateway"],
        3,
        "nodejs",
        "1.30.1",
        3000,
    ),
    app(
        "api-gateway",
        "platform",
        "edge",
        &["payments", "orders", "users", "search", "inventory"],
        3,
        "go",
        "1.37.0",
        8080,
    ),
    app(
        "payments",
        "payments",
        "payments",
        &["postgres", "redis", "kafka"],
        3,
        "java",
        "1.44.1",
        8080,
    ),
    app(
        "orders",
        "commerce",
        "orders",
        &["postgres", "kafka", "payments", "inventory"],
        3,
        "python",
        "1.45.2",
        8000,
    ),
    app(
        "inventory",
        "commerce",
        "inventory",
        &["postgres", "redis"],
        2,
        "go",
        "1.37.0",
        8080,
    ),
    app(
        "search",
        "commerce",
        "search",
        &["elasticsearch", "kafka"],
        2,
        "java",
        "1.44.1",
        8080,
    ),
    app(
        "users",
        "web",
        "users",
        &["postgres", "redis"],
        2,
        "go",
        "1.37.0",
        8080,
    ),
    app(
        "notifications",
        "platform",
        "notifications",
        &["kafka", "users"],
        2,
        "python",
        "1.45.2",
        8000,
    ),
    store("postgres", Kind::Postgres, 2, 9187),
    store("redis", Kind::Redis, 3, 9121),
    store("kafka", Kind::Kafka, 3, 9308),
    store("elasticsearch", Kind::Elasticsearch, 3, 9114),
];

pub(crate) const TEAMS: [&str; 4] = ["platform", "payments", "commerce", "web"];

/// Index of a service by name (panics on a typo: the table is static).
pub(crate) fn svc(name: &str) -> usize {
    SERVICES
        .iter()
        .position(|s| s.name == name)
        .unwrap_or_else(|| panic!("unknown service {name}"))
}

pub(crate) fn team_idx(team: &str) -> usize {
    TEAMS.iter().position(|t| *t == team).unwrap_or(0)
}

/// Every service that (transitively) calls `root`, with its distance from it, nearest first.
pub(crate) fn dependents(root: usize) -> Vec<(usize, u32)> {
    let mut out: Vec<(usize, u32)> = Vec::new();
    let mut frontier = vec![root];
    let mut depth = 0;
    while !frontier.is_empty() {
        depth += 1;
        let mut next = Vec::new();
        for (i, s) in SERVICES.iter().enumerate() {
            if i == root || out.iter().any(|(j, _)| *j == i) {
                continue;
            }
            if s.deps.iter().any(|d| frontier.contains(&svc(d))) {
                out.push((i, depth));
                next.push(i);
            }
        }
        frontier = next;
    }
    out
}

/// Blackbox-probed URLs (path part) and the services whose failure breaks them.
pub(crate) const ENDPOINTS: [(&str, &[&str]); 5] = [
    ("/", &["frontend", "api-gateway"]),
    ("/checkout", &["orders", "payments"]),
    ("/account/login", &["users"]),
    ("/api/v1/search?q=boots", &["search"]),
    ("/api/v1/products/8841", &["inventory"]),
];

/// Synthetic browser checks run by the synthetics tool (PagerDuty Events v2 producer):
/// (check, services it exercises besides frontend/api-gateway, severity, owning team).
pub(crate) const CHECKS: [(&str, &[&str], &str, &str); 4] = [
    (
        "checkout-flow",
        &["orders", "payments"],
        "critical",
        "commerce",
    ),
    ("login-flow", &["users"], "critical", "web"),
    ("search-flow", &["search"], "error", "commerce"),
    ("product-page", &["inventory"], "error", "commerce"),
];

#[derive(Debug)]
pub(crate) struct Node {
    pub name: String,
    pub ip: String,
    /// The node-exporter pod on it.
    pub exporter_pod: String,
}

#[derive(Debug)]
pub(crate) struct Pod {
    pub name: String,
    pub ip: String,
    pub node: usize,
    pub uid: String,
    /// OpenTelemetry `service.instance.id`.
    pub instance_id: String,
}

#[derive(Debug)]
pub(crate) struct Cluster {
    pub name: &'static str,
    pub region: &'static str,
    /// Public hostname of the shop in this region.
    pub host: &'static str,
    pub nodes: Vec<Node>,
    /// Pods per service (index as in [`SERVICES`]).
    pub pods: Vec<Vec<Pod>>,
    pub ingress: Vec<Pod>,
    pub ksm_ip: String,
    /// Which build of each app service is running (OTLP `service.version`).
    pub versions: Vec<String>,
}

#[derive(Debug)]
pub(crate) struct Person {
    pub id: String,
    pub name: &'static str,
}

/// A PagerDuty service (one per team) with its escalation policy and on-call rota.
#[derive(Debug)]
pub(crate) struct PdService {
    pub id: String,
    pub name: &'static str,
    pub team_id: String,
    pub team_name: &'static str,
    pub ep_id: String,
    pub ep_name: &'static str,
    pub people: Vec<Person>,
    /// Integration routing keys per tool (see [`TOOLS`]).
    pub routing_keys: Vec<String>,
}

/// Events API v2 producers: (client, client_url).
pub(crate) const TOOLS: [(&str, &str); 4] = [
    ("Shopwave Synthetics", "https://synthetics.shopwave.example"),
    ("Healthchecks", "https://healthchecks.shopwave.example"),
    ("cert-watch", "https://certwatch.shopwave.example"),
    ("Sentry", "https://sentry.shopwave.example"),
];
pub(crate) const TOOL_SYNTHETICS: usize = 0;
pub(crate) const TOOL_CRON: usize = 1;
pub(crate) const TOOL_CERT: usize = 2;
pub(crate) const TOOL_SENTRY: usize = 3;

#[derive(Debug)]
pub(crate) struct World {
    pub clusters: Vec<Cluster>,
    pub pd: Vec<PdService>,
    pub pd_subdomain: &'static str,
}

const HASH_CHARS: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
const UPPER_ALNUM: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const HEX: &[u8] = b"0123456789abcdef";

pub(crate) fn rand_str(rng: &mut ChaCha8Rng, n: usize, chars: &[u8]) -> String {
    (0..n)
        .map(|_| chars[rng.random_range(0..chars.len())] as char)
        .collect()
}

pub(crate) fn hex(rng: &mut ChaCha8Rng, n: usize) -> String {
    rand_str(rng, n, HEX)
}

pub(crate) fn pd_id(rng: &mut ChaCha8Rng) -> String {
    format!("P{}", rand_str(rng, 6, UPPER_ALNUM))
}

pub(crate) fn upper_alnum(rng: &mut ChaCha8Rng, n: usize) -> String {
    rand_str(rng, n, UPPER_ALNUM)
}

pub(crate) fn uuid(rng: &mut ChaCha8Rng) -> String {
    let h = hex(rng, 32);
    format!(
        "{}-{}-4{}-{}{}-{}",
        &h[0..8],
        &h[8..12],
        &h[13..16],
        ["8", "9", "a", "b"][rng.random_range(0..4)],
        &h[17..20],
        &h[20..32]
    )
}

fn k8s_suffix(rng: &mut ChaCha8Rng) -> String {
    rand_str(rng, 5, HASH_CHARS)
}

const PEOPLE: [[&str; 3]; 4] = [
    ["Amira Haddad", "Jonas Becker", "Priya Raman"],
    ["Tomás Ortega", "Mei Chen", "Lukas Novak"],
    ["Sofia Rossi", "Daniel Okafor", "Hannah Kim"],
    ["Ravi Iyer", "Elena Petrova", "Sam Whitfield"],
];

impl World {
    pub(crate) fn new(rng: &mut ChaCha8Rng) -> World {
        let defs: [(&str, &str, &str, u8); 2] = [
            ("prod-eu1", "eu-west-1", "shop.shopwave.example", 20),
            ("prod-us1", "us-east-1", "us.shop.shopwave.example", 30),
        ];
        let mut clusters = Vec::new();
        for (name, region, host, net) in defs {
            let nodes: Vec<Node> = (0..6)
                .map(|_| {
                    let (a, b) = (rng.random_range(1..64u8), rng.random_range(2..250u8));
                    Node {
                        name: format!("ip-10-{net}-{a}-{b}.{region}.compute.internal"),
                        ip: format!("10.{net}.{a}.{b}"),
                        exporter_pod: format!("node-exporter-{}", k8s_suffix(rng)),
                    }
                })
                .collect();
            let pod_ip = |rng: &mut ChaCha8Rng| {
                format!(
                    "10.{net}.{}.{}",
                    rng.random_range(64..128u8),
                    rng.random_range(2..250u8)
                )
            };
            let mut pods = Vec::new();
            for s in SERVICES.iter() {
                let hash = rand_str(rng, 10, HASH_CHARS);
                let mut v = Vec::new();
                for i in 0..s.replicas {
                    let pname = match s.kind {
                        Kind::App => format!("{}-{hash}-{}", s.name, k8s_suffix(rng)),
                        Kind::Elasticsearch => format!("elasticsearch-master-{i}"),
                        _ => format!("{}-{i}", s.name),
                    };
                    v.push(Pod {
                        name: pname,
                        ip: pod_ip(rng),
                        node: rng.random_range(0..nodes.len()),
                        uid: uuid(rng),
                        instance_id: uuid(rng),
                    });
                }
                pods.push(v);
            }
            let ihash = rand_str(rng, 10, HASH_CHARS);
            let ingress = (0..2)
                .map(|_| Pod {
                    name: format!("ingress-nginx-controller-{ihash}-{}", k8s_suffix(rng)),
                    ip: pod_ip(rng),
                    node: rng.random_range(0..nodes.len()),
                    uid: uuid(rng),
                    instance_id: uuid(rng),
                })
                .collect();
            let ksm_ip = pod_ip(rng);
            let versions = SERVICES
                .iter()
                .map(|_| format!("2026.10.{}-{}", rng.random_range(12..31), hex(rng, 7)))
                .collect();
            clusters.push(Cluster {
                name,
                region,
                host,
                nodes,
                pods,
                ingress,
                ksm_ip,
                versions,
            });
        }
        let pd_names = [
            ("Platform Infrastructure", "Platform", "Platform on-call"),
            ("Payments", "Payments", "Payments on-call"),
            ("Commerce", "Commerce", "Commerce on-call"),
            ("Web & Identity", "Web", "Web on-call"),
        ];
        let pd = pd_names
            .iter()
            .enumerate()
            .map(|(t, (name, team_name, ep_name))| PdService {
                id: pd_id(rng),
                name,
                team_id: pd_id(rng),
                team_name,
                ep_id: pd_id(rng),
                ep_name,
                people: PEOPLE[t]
                    .iter()
                    .map(|n| Person {
                        id: pd_id(rng),
                        name: n,
                    })
                    .collect(),
                routing_keys: TOOLS.iter().map(|_| hex(rng, 32)).collect(),
            })
            .collect();
        World {
            clusters,
            pd,
            pd_subdomain: "shopwave",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topology() {
        let d = dependents(svc("postgres"));
        let names: Vec<_> = d.iter().map(|(i, n)| (SERVICES[*i].name, *n)).collect();
        assert!(names.contains(&("payments", 1)));
        assert!(names.contains(&("api-gateway", 2)));
        assert!(names.contains(&("frontend", 3)));
        assert!(!names.iter().any(|(n, _)| *n == "search"));
        for s in SERVICES.iter() {
            for dep in s.deps {
                svc(dep);
            }
        }
    }
}
