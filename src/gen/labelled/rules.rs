//! Rules the labelled scenarios use beyond the example generator's (`gen/rules.rs`, reused):
//! more of awesome-prometheus-alerts (`_data/rules.yml`, CC BY 4.0: name, severity, `for`,
//! description) and kube-prometheus, the company's per-pod and upstream rules, and the alert
//! log records its apps emit over OTLP. Templates as in `gen/rules.rs`.

use crate::gen::rules::{Fmt, Rule};

#[allow(clippy::too_many_arguments)]
const fn r(
    name: &'static str,
    severity: &'static str,
    for_s: i64,
    summary: &'static str,
    description: &'static str,
    runbook: &'static str,
    expr: &'static str,
    lo: f64,
    hi: f64,
    fmt: Fmt,
) -> Rule {
    Rule {
        name,
        severity,
        for_s,
        summary,
        description,
        runbook,
        expr,
        lo,
        hi,
        fmt,
    }
}

// ---------------------------------------------------------------------------------------------
// The company's own rules (per pod, per upstream).

pub(crate) const POD_HIGH_ERROR_RATE: Rule = r(
    "PodHighErrorRate",
    "warning",
    60,
    "{service}: {value} of requests to {pod} failing",
    "{value} of HTTP requests served by pod {pod} ({service}, {namespace}) returned 5xx over the last 2m (threshold 10%).",
    "https://runbooks.northwind.example/services/pod-error-rate",
    "sum by (cluster, namespace, service, pod, instance) (rate(http_server_requests_seconds_count{status=~\"5..\"}[2m])) / sum by (cluster, namespace, service, pod, instance) (rate(http_server_requests_seconds_count[2m])) > 0.1",
    0.11,
    0.97,
    Fmt::Pct,
);

pub(crate) const POD_HIGH_LATENCY: Rule = r(
    "PodHighLatencyP99",
    "warning",
    120,
    "{service}: p99 latency of {pod} is {value}s",
    "p99 latency of pod {pod} ({service}, {namespace}) has been {value}s over the last 5m (threshold 2s).",
    "https://runbooks.northwind.example/services/pod-latency",
    "histogram_quantile(0.99, sum by (cluster, namespace, service, pod, instance, le) (rate(http_server_requests_seconds_bucket[5m]))) > 2",
    2.04,
    29.5,
    Fmt::F2,
);

pub(crate) const UPSTREAM_ERRORS: Rule = r(
    "UpstreamErrorRateHigh",
    "error",
    120,
    "{service} → {upstream}: {value} of calls failing",
    "{value} of calls from {service} to {upstream} failed (5xx, reset or timeout) over the last 5m (threshold 5%).",
    "https://runbooks.northwind.example/services/upstream-errors",
    "sum by (cluster, namespace, service, upstream) (rate(client_requests_total{outcome!=\"success\"}[5m])) / sum by (cluster, namespace, service, upstream) (rate(client_requests_total[5m])) > 0.05",
    0.052,
    0.99,
    Fmt::Pct,
);

// ---------------------------------------------------------------------------------------------
// awesome-prometheus-alerts: JVM, datastores, queues, blackbox.

pub(crate) const JVM_THREADS_BLOCKED: Rule = r(
    "JvmThreadsBlocked",
    "warning",
    300,
    "JVM threads BLOCKED (instance {instance})",
    "JVM has high number of BLOCKED threads, indicating lock contention\n  VALUE = {raw}\n  LABELS = {labels}",
    "",
    "jvm_threads_state{state=\"BLOCKED\"} > 50",
    51.0,
    380.0,
    Fmt::Int,
);

pub(crate) const JVM_MEMORY_FILLING_UP: Rule = r(
    "JvmMemoryFillingUp",
    "warning",
    120,
    "JVM memory filling up (instance {instance})",
    "JVM memory is filling up (> 80%)\n  VALUE = {raw}\n  LABELS = {labels}",
    "",
    "(sum by (instance)(jvm_memory_used_bytes{area=\"heap\"}) / sum by (instance)(jvm_memory_max_bytes{area=\"heap\"})) * 100 > 80 and sum by (instance)(jvm_memory_max_bytes{area=\"heap\"}) > 0",
    80.2,
    96.4,
    Fmt::Raw,
);

pub(crate) const JVM_GC_TIME_TOO_HIGH: Rule = r(
    "JvmGcTimeTooHigh",
    "warning",
    300,
    "JVM GC time too high (instance {instance})",
    "JVM is spending too much time in garbage collection (> 5% of wall clock time)\n  VALUE = {raw}\n  LABELS = {labels}",
    "",
    "sum by (instance)(rate(jvm_gc_collection_seconds_sum[5m])) > 0.05",
    0.051,
    0.31,
    Fmt::Raw,
);

pub(crate) const MONGODB_DOWN: Rule = r(
    "MongodbDown",
    "critical",
    60,
    "MongoDB Down (instance {instance})",
    "MongoDB instance is down\n  VALUE = {raw}\n  LABELS = {labels}",
    "",
    "mongodb_up == 0",
    0.0,
    0.0,
    Fmt::Int,
);

pub(crate) const MONGODB_REPLICATION_LAG: Rule = r(
    "MongodbReplicationLag",
    "warning",
    0,
    "MongoDB replication lag (instance {instance})",
    "Mongodb replication lag is more than 30s\n  VALUE = {raw}\n  LABELS = {labels}",
    "",
    "(mongodb_rs_members_optimeDate{member_state=\"PRIMARY\"} - on (set) group_right mongodb_rs_members_optimeDate{member_state=\"SECONDARY\"}) / 1000 > 30",
    31.0,
    240.0,
    Fmt::Int,
);

pub(crate) const RABBITMQ_NODE_DOWN: Rule = r(
    "RabbitmqNodeDown",
    "critical",
    60,
    "RabbitMQ node down (instance {instance})",
    "Less than 3 nodes running in RabbitMQ cluster\n  VALUE = {raw}\n  LABELS = {labels}",
    "",
    "sum(rabbitmq_build_info) < 3",
    1.0,
    2.0,
    Fmt::Int,
);

pub(crate) const RABBITMQ_MEMORY_HIGH: Rule = r(
    "RabbitmqMemoryHigh",
    "warning",
    120,
    "RabbitMQ memory high (instance {instance})",
    "A node use more than 90% of allocated RAM\n  VALUE = {raw}\n  LABELS = {labels}",
    "",
    "rabbitmq_process_resident_memory_bytes / rabbitmq_resident_memory_limit_bytes * 100 > 90 and rabbitmq_resident_memory_limit_bytes > 0",
    90.1,
    98.9,
    Fmt::Raw,
);

pub(crate) const MEMCACHED_DOWN: Rule = r(
    "MemcachedDown",
    "critical",
    0,
    "Memcached down (instance {instance})",
    "Memcached instance is down\n  VALUE = {raw}\n  LABELS = {labels}",
    "",
    "memcached_up == 0",
    0.0,
    0.0,
    Fmt::Int,
);

pub(crate) const MINIO_NODE_DISK_OFFLINE: Rule = r(
    "MinioNodeDiskOffline",
    "critical",
    0,
    "Minio node disk offline (instance {instance})",
    "Minio cluster node is offline\n  VALUE = {raw}\n  LABELS = {labels}",
    "",
    "minio_cluster_nodes_offline_total > 0",
    1.0,
    2.0,
    Fmt::Int,
);

pub(crate) const CASSANDRA_NODE_UNAVAILABLE: Rule = r(
    "CassandraNodeIsUnavailable",
    "critical",
    60,
    "Cassandra Node is unavailable (instance {instance})",
    "Cassandra Node is unavailable - {cassandra_cluster} {instance}\n  VALUE = {raw}\n  LABELS = {labels}",
    "",
    "cassandra_endpoint_active < 1",
    0.0,
    0.0,
    Fmt::Int,
);

pub(crate) const CASSANDRA_WRITE_FAILURES: Rule = r(
    "CassandraClientRequestWriteFailure",
    "critical",
    120,
    "Cassandra client request write failure (instance {instance})",
    "Write failures have occurred, ensure there are not too many unavailable nodes - {cassandra_cluster}\n  VALUE = {raw}\n  LABELS = {labels}",
    "",
    "increase(cassandra_client_request_failures_total{operation=\"write\"}[1m]) > 5",
    6.0,
    480.0,
    Fmt::Int,
);

pub(crate) const ZOOKEEPER_DOWN: Rule = r(
    "ZookeeperDown",
    "critical",
    60,
    "Zookeeper Down (instance {instance})",
    "Zookeeper down on instance {instance}\n  VALUE = {raw}\n  LABELS = {labels}",
    "",
    "zk_up == 0",
    0.0,
    0.0,
    Fmt::Int,
);

pub(crate) const REDIS_OUT_OF_MAXMEMORY: Rule = r(
    "RedisOutOfConfiguredMaxmemory",
    "warning",
    120,
    "Redis out of configured maxmemory (instance {instance})",
    "Redis is running out of configured maxmemory (> 90%)\n  VALUE = {raw}\n  LABELS = {labels}",
    "",
    "redis_memory_used_bytes / redis_memory_max_bytes * 100 > 90 and on(instance) redis_memory_max_bytes > 0",
    90.3,
    99.8,
    Fmt::Raw,
);

pub(crate) const BLACKBOX_SSL_EXPIRY: Rule = r(
    "BlackboxSslCertificateWillExpireSoon",
    "warning",
    0,
    "Blackbox SSL certificate will expire soon (instance {instance})",
    "SSL certificate expires in less than 20 days\n  VALUE = {raw}\n  LABELS = {labels}",
    "",
    "3 <= round((last_over_time(probe_ssl_earliest_cert_expiry[10m]) - time()) / 86400, 0.1) < 20",
    12.0,
    19.0,
    Fmt::Int,
);

// ---------------------------------------------------------------------------------------------
// kube-prometheus rules the example generator does not use.

pub(crate) const KUBE_CONTAINER_WAITING: Rule = r(
    "KubeContainerWaiting",
    "warning",
    3600,
    "Pod container waiting longer than 1 hour",
    "pod/{pod} in namespace {namespace} on container {container} has been in waiting state for longer than 1 hour. (reason: \"{reason}\") on cluster {cluster}.",
    "https://runbooks.prometheus-operator.dev/runbooks/kubernetes/kubecontainerwaiting",
    "kube_pod_container_status_waiting_reason{reason!=\"CrashLoopBackOff\", job=\"kube-state-metrics\"} > 0",
    1.0,
    1.0,
    Fmt::Int,
);

pub(crate) const NODE_FS_ALMOST_OUT_OF_SPACE: Rule = r(
    "NodeFilesystemAlmostOutOfSpace",
    "warning",
    1800,
    "Filesystem has less than 5% space left.",
    "Filesystem on {device}, mounted on {mountpoint}, at {instance} has only {value}% available space left.",
    "https://runbooks.prometheus-operator.dev/runbooks/node/nodefilesystemalmostoutofspace",
    "(node_filesystem_avail_bytes{job=\"node-exporter\",fstype!=\"\",mountpoint!=\"\"} / node_filesystem_size_bytes{job=\"node-exporter\",fstype!=\"\",mountpoint!=\"\"} * 100 < 5 and node_filesystem_readonly{job=\"node-exporter\",fstype!=\"\",mountpoint!=\"\"} == 0)",
    2.1,
    4.9,
    Fmt::F2,
);

// ---------------------------------------------------------------------------------------------
// Alert log records the apps emit over OTLP (rule = the `alertname` attribute; the summary
// template is the record body).

pub(crate) const O_DATABASE_UNAVAILABLE: Rule = r(
    "DatabaseUnavailable",
    "critical",
    0,
    "could not connect to {peer}.data.svc:5432: connection refused ({n} failed attempts in the last minute)",
    "",
    "https://runbooks.northwind.example/apps/database-unavailable",
    "",
    0.0,
    0.0,
    Fmt::Int,
);

pub(crate) const O_DB_POOL_EXHAUSTED: Rule = r(
    "DBConnectionPoolExhausted",
    "error",
    0,
    "HikariPool-1 - Connection is not available, request timed out after 30000ms (total=20, active=20, idle=0, waiting={n})",
    "",
    "https://runbooks.northwind.example/apps/db-connection-pool",
    "",
    0.0,
    0.0,
    Fmt::Int,
);

pub(crate) const O_CACHE_UNAVAILABLE: Rule = r(
    "CacheUnavailable",
    "error",
    0,
    "cannot connect to {peer} at {peer}.data.svc:6379: connection refused ({n} errors/min, serving from origin)",
    "",
    "https://runbooks.northwind.example/apps/cache-unavailable",
    "",
    0.0,
    0.0,
    Fmt::Int,
);

pub(crate) const O_BROKER_UNAVAILABLE: Rule = r(
    "MessageBrokerUnavailable",
    "error",
    0,
    "failed to publish to {peer}: broker not available ({n} messages in retry buffer)",
    "",
    "https://runbooks.northwind.example/apps/broker-unavailable",
    "",
    0.0,
    0.0,
    Fmt::Int,
);

pub(crate) const O_STORE_TIMEOUT: Rule = r(
    "DatastoreTimeout",
    "error",
    0,
    "{peer} request timed out after {ms}ms ({n} timeouts/min)",
    "",
    "https://runbooks.northwind.example/apps/datastore-timeout",
    "",
    0.0,
    0.0,
    Fmt::Int,
);

pub(crate) const O_UPSTREAM_TIMEOUT: Rule = r(
    "UpstreamTimeout",
    "error",
    0,
    "upstream {peer} timed out after {ms}ms ({n} timeouts in the last minute)",
    "",
    "https://runbooks.northwind.example/apps/upstream-timeout",
    "",
    0.0,
    0.0,
    Fmt::Int,
);

pub(crate) const O_CIRCUIT_BREAKER_OPEN: Rule = r(
    "CircuitBreakerOpen",
    "critical",
    0,
    "circuit breaker for {peer} is OPEN: {n} of last 100 calls failed",
    "",
    "https://runbooks.northwind.example/apps/circuit-breaker",
    "",
    0.0,
    0.0,
    Fmt::Int,
);

pub(crate) const O_UNHANDLED_EXCEPTIONS: Rule = r(
    "UnhandledExceptionSpike",
    "error",
    0,
    "{n} unhandled exceptions in the last minute (top: {exception})",
    "",
    "https://runbooks.northwind.example/apps/unhandled-exceptions",
    "",
    0.0,
    0.0,
    Fmt::Int,
);

pub(crate) const O_PSP_TIMEOUT: Rule = r(
    "PaymentProviderTimeout",
    "critical",
    0,
    "upstream timeout calling card processor after {ms}ms ({n} in the last minute)",
    "",
    "https://runbooks.northwind.example/payments/card-processor",
    "",
    0.0,
    0.0,
    Fmt::Int,
);

pub(crate) const O_SLOW_QUERY: Rule = r(
    "SlowQueryDetected",
    "warning",
    0,
    "slow query on {table}: {ms}ms (threshold 2000ms)",
    "",
    "",
    "",
    0.0,
    0.0,
    Fmt::Int,
);

pub(crate) const O_GC_PAUSE: Rule = r(
    "GCPauseLong",
    "warning",
    0,
    "G1 Evacuation Pause took {ms}ms",
    "",
    "",
    "",
    0.0,
    0.0,
    Fmt::Int,
);

pub(crate) const O_RETRY_BUDGET: Rule = r(
    "RetryBudgetExhausted",
    "warning",
    0,
    "retry budget for {peer} exhausted ({n} retries dropped)",
    "",
    "https://runbooks.northwind.example/apps/retry-budget",
    "",
    0.0,
    0.0,
    Fmt::Int,
);

pub(crate) const O_FX_STALE: Rule = r(
    "ExchangeRatesStale",
    "warning",
    0,
    "exchange rates from provider are {n} minutes old (refresh failing: HTTP 503)",
    "",
    "https://runbooks.northwind.example/payments/fx-rates",
    "",
    0.0,
    0.0,
    Fmt::Int,
);

// ---------------------------------------------------------------------------------------------
// The example generator's rules with this company's runbook links.

pub(crate) const SERVICE_HIGH_ERROR_RATE: Rule = Rule {
    runbook: "https://runbooks.northwind.example/services/high-error-rate",
    ..crate::gen::rules::SERVICE_HIGH_ERROR_RATE
};

pub(crate) const SERVICE_HIGH_LATENCY: Rule = Rule {
    runbook: "https://runbooks.northwind.example/services/high-latency",
    ..crate::gen::rules::SERVICE_HIGH_LATENCY
};

pub(crate) const PD_SYNTHETIC_CRITICAL: Rule = Rule {
    runbook: "https://runbooks.northwind.example/synthetics/{check}",
    ..crate::gen::rules::PD_SYNTHETIC_CRITICAL
};

pub(crate) const PD_SYNTHETIC_ERROR: Rule = Rule {
    runbook: "https://runbooks.northwind.example/synthetics/{check}",
    ..crate::gen::rules::PD_SYNTHETIC_ERROR
};

/// The cron monitor's alert: a late run is a warning until the job pings.
pub(crate) const PD_CRON_LATE: Rule = Rule {
    severity: "warning",
    runbook: "https://runbooks.northwind.example/cron/{job}",
    ..crate::gen::rules::PD_MISSED_RUN
};

pub(crate) const PD_CERT_EXPIRY: Rule = Rule {
    runbook: "https://runbooks.northwind.example/tls/renew",
    ..crate::gen::rules::PD_CERT_EXPIRY
};
