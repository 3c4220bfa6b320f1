//! The seeded part of the labelled scenarios' world: three Kubernetes clusters (one per
//! region) with their nodes and the pods of every service, the PagerDuty services, on-call
//! people and integration keys. The services and who calls whom are static (`topo.rs`).

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::topo::{Kind, SERVICES, TEAMS};
use crate::gen::world::{hex, pd_id, rand_str, uuid};

pub(crate) const DOMAIN: &str = "northwind.example";

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
}

#[derive(Debug)]
pub(crate) struct Cluster {
    pub name: &'static str,
    pub region: &'static str,
    /// Public hostname of the shop in this region.
    pub host: &'static str,
    pub nodes: Vec<Node>,
    /// Pods per service (index as in `SERVICES`).
    pub pods: Vec<Vec<Pod>>,
    pub ksm_ip: String,
    /// Running build of each service (OTLP `service.version`).
    pub versions: Vec<String>,
}

#[derive(Debug)]
pub(crate) struct Person {
    pub id: String,
    pub name: &'static str,
}

/// One PagerDuty service per team, with its escalation policy, rota and integration keys.
#[derive(Debug)]
pub(crate) struct PdService {
    pub id: String,
    pub name: &'static str,
    pub team_id: String,
    pub team_name: &'static str,
    pub ep_id: String,
    pub ep_name: &'static str,
    pub people: Vec<Person>,
    /// Events API v2 routing keys, one per tool in [`TOOLS`].
    pub routing_keys: Vec<String>,
}

/// Events API v2 clients: (client, client_url). Index 0 is noisegate's own integration (the
/// one the chat bot acknowledges through); the others send their own triggers.
pub(crate) const TOOLS: [(&str, &str); 4] = [
    ("noisegate", "https://noisegate.northwind.example"),
    (
        "Northwind Synthetics",
        "https://synthetics.northwind.example",
    ),
    ("Healthchecks", "https://healthchecks.northwind.example"),
    ("cert-watch", "https://certwatch.northwind.example"),
];
pub(crate) const TOOL_NOISEGATE: usize = 0;
pub(crate) const TOOL_SYNTHETICS: usize = 1;
pub(crate) const TOOL_CRON: usize = 2;
pub(crate) const TOOL_CERT: usize = 3;

#[derive(Debug)]
pub(crate) struct World {
    pub clusters: Vec<Cluster>,
    /// Per team (index as in `TEAMS`).
    pub pd: Vec<PdService>,
}

const HASH_CHARS: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

const PEOPLE: [[&str; 3]; 5] = [
    ["Amira Haddad", "Jonas Becker", "Priya Raman"],
    ["Tomás Ortega", "Mei Chen", "Lukas Novak"],
    ["Sofia Rossi", "Daniel Okafor", "Hannah Kim"],
    ["Ravi Iyer", "Elena Petrova", "Sam Whitfield"],
    ["Noah Fischer", "Aiko Tanaka", "Grace Mensah"],
];

/// (cluster, region, public host, second octet, nodes, replica scale in percent)
const CLUSTERS: [(&str, &str, &str, u8, usize, usize); 3] = [
    (
        "prod-eu-west-1",
        "eu-west-1",
        "www.northwind.example",
        20,
        36,
        100,
    ),
    (
        "prod-us-east-1",
        "us-east-1",
        "us.northwind.example",
        30,
        32,
        100,
    ),
    (
        "prod-ap-southeast-1",
        "ap-southeast-1",
        "ap.northwind.example",
        40,
        16,
        75,
    ),
];

/// Replicas of a service in a cluster with the given scale.
pub(crate) fn replicas(s: usize, scale_pct: usize) -> usize {
    let d = &SERVICES[s];
    if d.kind.is_app() || d.kind == Kind::Ingress {
        (d.replicas * scale_pct).div_ceil(100).max(2)
    } else {
        d.replicas
    }
}

impl World {
    pub(crate) fn new(rng: &mut ChaCha8Rng) -> World {
        let mut clusters = Vec::new();
        for (name, region, host, net, n_nodes, scale) in CLUSTERS {
            let nodes: Vec<Node> = (0..n_nodes)
                .map(|_| {
                    let (a, b) = (rng.random_range(1..64u8), rng.random_range(2..250u8));
                    Node {
                        name: format!("ip-10-{net}-{a}-{b}.{region}.compute.internal"),
                        ip: format!("10.{net}.{a}.{b}"),
                        exporter_pod: format!("node-exporter-{}", rand_str(rng, 5, HASH_CHARS)),
                    }
                })
                .collect();
            let mut pods = Vec::new();
            for (i, d) in SERVICES.iter().enumerate() {
                let hash = rand_str(rng, 10, HASH_CHARS);
                let n = replicas(i, scale);
                let mut v = Vec::with_capacity(n);
                for k in 0..n {
                    let pname = match d.kind {
                        Kind::Ingress => format!(
                            "ingress-nginx-controller-{}-{}",
                            &hash[..9],
                            rand_str(rng, 5, HASH_CHARS)
                        ),
                        k2 if k2.is_app() => {
                            format!("{}-{hash}-{}", d.name, rand_str(rng, 5, HASH_CHARS))
                        }
                        Kind::Elastic => format!("elasticsearch-master-{k}"),
                        _ => format!("{}-{k}", d.name),
                    };
                    v.push(Pod {
                        name: pname,
                        ip: format!(
                            "10.{net}.{}.{}",
                            rng.random_range(64..128u8),
                            rng.random_range(2..250u8)
                        ),
                        node: rng.random_range(0..nodes.len()),
                        uid: uuid(rng),
                    });
                }
                pods.push(v);
            }
            let ksm_ip = format!(
                "10.{net}.{}.{}",
                rng.random_range(64..128u8),
                rng.random_range(2..250u8)
            );
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
                ksm_ip,
                versions,
            });
        }
        let names = [
            ("Web & Identity", "Web", "Web on-call"),
            ("Commerce", "Commerce", "Commerce on-call"),
            ("Payments", "Payments", "Payments on-call"),
            ("Logistics", "Logistics", "Logistics on-call"),
            ("Platform Infrastructure", "Platform", "Platform on-call"),
        ];
        let pd = names
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
        debug_assert_eq!(TEAMS.len(), PEOPLE.len());
        World { clusters, pd }
    }
}

pub(crate) fn team_idx(team: &str) -> usize {
    TEAMS
        .iter()
        .position(|t| *t == team)
        .unwrap_or(TEAMS.len() - 1)
}
