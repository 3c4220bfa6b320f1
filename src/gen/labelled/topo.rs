//! The 50-service system of the labelled scenarios ("Northwind", an online marketplace): what
//! runs, who owns it and what calls what. Static, so `config/topology.toml` (which the engine
//! reads) can be checked against it; everything seeded (pods, IPs, people) is in `world.rs`.
//!
//! Layers: the ingress and five edge services → 21 application services → 10 shared platform
//! services → 13 datastores, queues and caches. Five teams: web, commerce, payments,
//! logistics, platform (which also owns the datastores).

/// Which layer a service is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tier {
    Edge,
    App,
    Platform,
    Store,
}

/// What runs: an app in some language, or a datastore/queue/cache of some kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Java,
    Go,
    Python,
    Node,
    Ingress,
    Postgres,
    Redis,
    Kafka,
    Zookeeper,
    Rabbit,
    Elastic,
    Mongo,
    Memcached,
    Minio,
    Cassandra,
}

impl Kind {
    pub(crate) fn is_app(self) -> bool {
        matches!(self, Kind::Java | Kind::Go | Kind::Python | Kind::Node)
    }

    /// OpenTelemetry `telemetry.sdk.language` and SDK version.
    pub(crate) fn sdk(self) -> (&'static str, &'static str) {
        match self {
            Kind::Java => ("java", "1.44.1"),
            Kind::Go => ("go", "1.37.0"),
            Kind::Python => ("python", "1.45.2"),
            Kind::Node => ("nodejs", "1.30.1"),
            _ => ("", ""),
        }
    }

    /// The port Prometheus scrapes (the app, or the datastore's exporter sidecar).
    pub(crate) fn port(self) -> u16 {
        match self {
            Kind::Java | Kind::Go => 8080,
            Kind::Python => 8000,
            Kind::Node => 3000,
            Kind::Ingress => 10254,
            Kind::Postgres => 9187,
            Kind::Redis => 9121,
            Kind::Kafka => 9308,
            Kind::Zookeeper => 9141,
            Kind::Rabbit => 15692,
            Kind::Elastic => 9114,
            Kind::Mongo => 9216,
            Kind::Memcached => 9150,
            Kind::Minio => 9000,
            Kind::Cassandra => 8080,
        }
    }
}

#[derive(Debug)]
pub(crate) struct Svc {
    pub name: &'static str,
    pub team: &'static str,
    pub ns: &'static str,
    pub tier: Tier,
    pub kind: Kind,
    /// Services this one calls.
    pub deps: &'static [&'static str],
    /// Replicas in the large clusters.
    pub replicas: usize,
}

const fn s(
    name: &'static str,
    team: &'static str,
    ns: &'static str,
    tier: Tier,
    kind: Kind,
    replicas: usize,
    deps: &'static [&'static str],
) -> Svc {
    Svc {
        name,
        team,
        ns,
        tier,
        kind,
        deps,
        replicas,
    }
}

const fn store(
    name: &'static str,
    kind: Kind,
    replicas: usize,
    deps: &'static [&'static str],
) -> Svc {
    s(name, "platform", "data", Tier::Store, kind, replicas, deps)
}

use Kind::*;
use Tier::*;

pub(crate) const TEAMS: [&str; 5] = ["web", "commerce", "payments", "logistics", "platform"];

pub(crate) const SERVICES: [Svc; 50] = [
    // Edge.
    s(
        "ingress-nginx",
        "platform",
        "ingress-nginx",
        Edge,
        Ingress,
        4,
        &[
            "web-frontend",
            "mobile-bff",
            "api-gateway",
            "partner-api",
            "admin-portal",
        ],
    ),
    s(
        "web-frontend",
        "web",
        "web",
        Edge,
        Node,
        12,
        &["api-gateway", "auth", "feature-flags"],
    ),
    s(
        "mobile-bff",
        "web",
        "web",
        Edge,
        Go,
        8,
        &["api-gateway", "auth", "feature-flags"],
    ),
    s(
        "api-gateway",
        "platform",
        "edge",
        Edge,
        Go,
        16,
        &[
            "auth",
            "rate-limiter",
            "catalog",
            "search",
            "recommendations",
            "reviews",
            "cart",
            "checkout",
            "orders",
            "customer-profile",
            "tracking",
            "returns",
        ],
    ),
    s(
        "partner-api",
        "logistics",
        "logistics",
        Edge,
        Java,
        4,
        &[
            "auth",
            "rate-limiter",
            "orders",
            "shipping",
            "tracking",
            "inventory",
        ],
    ),
    s(
        "admin-portal",
        "commerce",
        "commerce",
        Edge,
        Python,
        2,
        &[
            "auth",
            "catalog",
            "orders",
            "refunds",
            "customer-profile",
            "audit-log",
        ],
    ),
    // Applications.
    s(
        "catalog",
        "commerce",
        "commerce",
        App,
        Java,
        12,
        &["postgres-main", "redis-cache", "media-service"],
    ),
    s(
        "search",
        "commerce",
        "commerce",
        App,
        Java,
        8,
        &["elasticsearch", "catalog", "redis-cache"],
    ),
    s(
        "search-indexer",
        "commerce",
        "commerce",
        App,
        Java,
        3,
        &["kafka", "elasticsearch", "catalog"],
    ),
    s(
        "recommendations",
        "web",
        "web",
        App,
        Python,
        6,
        &["mongodb", "catalog", "redis-cache"],
    ),
    s(
        "reviews",
        "web",
        "web",
        App,
        Node,
        4,
        &["mongodb", "customer-profile"],
    ),
    s(
        "cart",
        "commerce",
        "commerce",
        App,
        Go,
        10,
        &["redis-sessions", "catalog", "pricing", "inventory"],
    ),
    s(
        "checkout",
        "commerce",
        "commerce",
        App,
        Java,
        10,
        &[
            "cart",
            "pricing",
            "promotions",
            "inventory",
            "payments",
            "orders",
            "fraud-detection",
            "shipping",
        ],
    ),
    s(
        "orders",
        "commerce",
        "commerce",
        App,
        Java,
        10,
        &["postgres-orders", "kafka", "inventory", "customer-profile"],
    ),
    s(
        "pricing",
        "commerce",
        "commerce",
        App,
        Go,
        8,
        &[
            "postgres-main",
            "redis-cache",
            "currency-rates",
            "promotions",
        ],
    ),
    s(
        "promotions",
        "commerce",
        "commerce",
        App,
        Python,
        4,
        &["postgres-main", "redis-cache", "feature-flags"],
    ),
    s(
        "inventory",
        "logistics",
        "logistics",
        App,
        Go,
        8,
        &["postgres-main", "kafka", "redis-cache"],
    ),
    s(
        "payments",
        "payments",
        "payments",
        App,
        Java,
        10,
        &[
            "postgres-ledger",
            "kafka",
            "fraud-detection",
            "currency-rates",
            "audit-log",
        ],
    ),
    s(
        "billing",
        "payments",
        "payments",
        App,
        Python,
        3,
        &["postgres-ledger", "ledger", "minio", "email-sender"],
    ),
    s(
        "fraud-detection",
        "payments",
        "payments",
        App,
        Python,
        6,
        &["redis-cache", "customer-profile", "kafka"],
    ),
    s(
        "ledger",
        "payments",
        "payments",
        App,
        Java,
        4,
        &["postgres-ledger", "kafka"],
    ),
    s(
        "refunds",
        "payments",
        "payments",
        App,
        Java,
        3,
        &["payments", "orders", "ledger"],
    ),
    s(
        "shipping",
        "logistics",
        "logistics",
        App,
        Go,
        6,
        &["postgres-main", "warehouse", "kafka"],
    ),
    s(
        "warehouse",
        "logistics",
        "logistics",
        App,
        Java,
        4,
        &["postgres-main", "inventory", "rabbitmq"],
    ),
    s(
        "tracking",
        "logistics",
        "logistics",
        App,
        Go,
        8,
        &["cassandra", "kafka"],
    ),
    s(
        "returns",
        "logistics",
        "logistics",
        App,
        Python,
        3,
        &["orders", "refunds", "shipping", "minio"],
    ),
    s(
        "customer-profile",
        "web",
        "web",
        App,
        Go,
        8,
        &["postgres-main", "redis-cache"],
    ),
    // Shared platform services.
    s(
        "auth",
        "web",
        "web",
        Platform,
        Go,
        10,
        &["postgres-main", "redis-sessions"],
    ),
    s(
        "notifications",
        "platform",
        "platform",
        Platform,
        Python,
        4,
        &["kafka", "rabbitmq", "email-sender", "customer-profile"],
    ),
    s(
        "email-sender",
        "platform",
        "platform",
        Platform,
        Go,
        4,
        &["rabbitmq"],
    ),
    s(
        "feature-flags",
        "platform",
        "platform",
        Platform,
        Go,
        4,
        &["postgres-main", "redis-cache"],
    ),
    s(
        "config-service",
        "platform",
        "platform",
        Platform,
        Go,
        3,
        &["postgres-main"],
    ),
    s(
        "media-service",
        "platform",
        "platform",
        Platform,
        Go,
        6,
        &["minio", "memcached"],
    ),
    s(
        "audit-log",
        "platform",
        "platform",
        Platform,
        Java,
        3,
        &["kafka", "elasticsearch"],
    ),
    s(
        "job-scheduler",
        "platform",
        "platform",
        Platform,
        Python,
        2,
        &["rabbitmq", "postgres-main"],
    ),
    s(
        "rate-limiter",
        "platform",
        "platform",
        Platform,
        Go,
        4,
        &["redis-cache", "config-service"],
    ),
    s(
        "currency-rates",
        "payments",
        "payments",
        Platform,
        Python,
        2,
        &["redis-cache"],
    ),
    // Datastores, queues, caches.
    store("postgres-main", Postgres, 3, &[]),
    store("postgres-orders", Postgres, 2, &[]),
    store("postgres-ledger", Postgres, 2, &[]),
    store("redis-cache", Redis, 3, &[]),
    store("redis-sessions", Redis, 3, &[]),
    store("kafka", Kafka, 3, &["zookeeper"]),
    store("zookeeper", Zookeeper, 3, &[]),
    store("rabbitmq", Rabbit, 3, &[]),
    store("elasticsearch", Elastic, 3, &[]),
    store("mongodb", Mongo, 3, &[]),
    store("memcached", Memcached, 2, &[]),
    store("minio", Minio, 4, &[]),
    store("cassandra", Cassandra, 3, &[]),
];

/// Index of a service by name (panics on a typo: the table is static).
pub(crate) fn svc(name: &str) -> usize {
    SERVICES
        .iter()
        .position(|s| s.name == name)
        .unwrap_or_else(|| panic!("unknown service {name}"))
}

/// Every service that (transitively) calls `root`, with its distance from it, nearest first
/// (ties in table order).
pub(crate) fn dependents(root: usize) -> Vec<(usize, u32)> {
    let n = SERVICES.len();
    let mut dist = vec![u32::MAX; n];
    dist[root] = 0;
    let mut frontier = vec![root];
    let mut out = Vec::new();
    let mut depth = 0;
    while !frontier.is_empty() {
        depth += 1;
        let mut next = Vec::new();
        for (i, s) in SERVICES.iter().enumerate() {
            if dist[i] != u32::MAX {
                continue;
            }
            if s.deps.iter().any(|d| frontier.contains(&svc(d))) {
                dist[i] = depth;
                out.push((i, depth));
                next.push(i);
            }
        }
        frontier = next;
    }
    out
}

/// The `config/topology.toml` text: every service and the services it calls.
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) fn topology_toml() -> String {
    let mut o = String::from(
        "# Service dependency topology of the 50-service system that `noisegate gen --scenario`\n\
         # simulates (src/gen/labelled/topo.rs is the source; a test keeps the two equal).\n\
         # service = [services it depends on]\n\
         [services]\n",
    );
    for s in SERVICES.iter() {
        let deps: Vec<String> = s.deps.iter().map(|d| format!("\"{d}\"")).collect();
        o.push_str(&format!("{} = [{}]\n", s.name, deps.join(", ")));
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_consistent_and_acyclic() {
        let mut names: Vec<&str> = SERVICES.iter().map(|s| s.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), 50);
        for s in SERVICES.iter() {
            assert!(TEAMS.contains(&s.team), "{}", s.name);
            for d in s.deps {
                assert_ne!(svc(d), svc(s.name));
            }
        }
        // Acyclic: a service is never among its own dependents.
        for i in 0..SERVICES.len() {
            assert!(!dependents(i).iter().any(|(j, _)| *j == i));
        }
        let d = dependents(svc("postgres-main"));
        assert!(d.len() > 25, "{}", d.len());
        assert!(d.contains(&(svc("catalog"), 1)));
        assert_eq!(SERVICES.iter().filter(|s| s.tier == Tier::App).count(), 21);
    }

    #[test]
    fn config_topology_file_matches_the_table() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/config/topology.toml");
        let text = std::fs::read_to_string(path).expect("config/topology.toml");
        assert_eq!(text, topology_toml());
        let v: toml::Value = toml::from_str(&text).expect("valid TOML");
        let services = v["services"].as_table().expect("[services]");
        assert_eq!(services.len(), 50);
        assert_eq!(
            services["api-gateway"].as_array().map(|a| a.len()),
            Some(SERVICES[svc("api-gateway")].deps.len())
        );
    }
}
