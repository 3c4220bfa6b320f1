//! The alert rules the simulated company runs. Prometheus rules are copied (name, severity,
//! `for`, summary/description templates, runbook) from the public rule sets the fixtures hold:
//! samber/awesome-prometheus-alerts (`_data/rules.yml`, CC BY 4.0) and kube-prometheus
//! (`manifests/*-prometheusRule.yaml`, Apache-2.0). The rest are the company's own: service
//! SLO rules in Prometheus and Grafana, and alert-ish log records its apps emit over OTLP.
//!
//! Templates use `{label}` for a label or variable, `{value}` for the value formatted as the
//! rule's template does, `{raw}` for Go's `%v` of it and `{labels}` for `{{ $labels }}`.

/// How a rule's template prints `{value}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fmt {
    /// `{{ $value }}` (Go's %v of a float64).
    Raw,
    /// Whole numbers (counts).
    Int,
    /// `{{ $value | humanizePercentage }}` of a 0..1 ratio.
    Pct,
    /// `{{ printf "%.2f" $value }}`.
    F2,
}

#[derive(Debug)]
pub(crate) struct Rule {
    pub name: &'static str,
    pub severity: &'static str,
    pub for_s: i64,
    pub summary: &'static str,
    pub description: &'static str,
    pub runbook: &'static str,
    pub expr: &'static str,
    pub lo: f64,
    pub hi: f64,
    pub fmt: Fmt,
}

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
// kube-prometheus (kubernetes-mixin, node-mixin, general).

pub(crate) const WATCHDOG: Rule = r(
    "Watchdog",
    "none",
    0,
    "An alert that should always be firing to certify that Alertmanager is working properly.",
    "This is an alert meant to ensure that the entire alerting pipeline is functional.\nThis alert is always firing, therefore it should always be firing in Alertmanager\nand always fire against a receiver. There are integrations with various notification\nmechanisms that send a notification when this alert is not firing. For example the\n\"DeadMansSnitch\" integration in PagerDuty.\n",
    "https://runbooks.prometheus-operator.dev/runbooks/general/watchdog",
    "vector(1)",
    1.0,
    1.0,
    Fmt::Int,
);

pub(crate) const TARGET_DOWN: Rule = r(
    "TargetDown",
    "warning",
    600,
    "One or more targets are unreachable.",
    "{value}% of the {job}/{service} targets in {namespace} namespace are down.",
    "https://runbooks.prometheus-operator.dev/runbooks/general/targetdown",
    "100 * (count(up == 0) BY (cluster, job, namespace, service) / count(up) BY (cluster, job, namespace, service)) > 10",
    16.67,
    16.67,
    Fmt::F2,
);

pub(crate) const KUBE_POD_CRASHLOOPING: Rule = r(
    "KubePodCrashLooping",
    "warning",
    900,
    "Pod is crash looping.",
    "Pod {namespace}/{pod} ({container}) is in waiting state (reason: \"CrashLoopBackOff\") on cluster {cluster}.",
    "https://runbooks.prometheus-operator.dev/runbooks/kubernetes/kubepodcrashlooping",
    "max_over_time(kube_pod_container_status_waiting_reason{reason=\"CrashLoopBackOff\", job=\"kube-state-metrics\"}[5m]) >= 1",
    1.0,
    1.0,
    Fmt::Int,
);

pub(crate) const KUBE_POD_NOT_READY: Rule = r(
    "KubePodNotReady",
    "warning",
    900,
    "Pod has been in a non-ready state for more than 15 minutes.",
    "Pod {namespace}/{pod} has been in a non-ready state for longer than 15 minutes on cluster {cluster}.",
    "https://runbooks.prometheus-operator.dev/runbooks/kubernetes/kubepodnotready",
    "sum by (namespace, pod, cluster) (max by (namespace, pod, cluster) (kube_pod_status_phase{job=\"kube-state-metrics\", phase=~\"Pending|Unknown|Failed\"}) * on (namespace, pod, cluster) group_left(owner_kind) topk by (namespace, pod, cluster) (1, max by (namespace, pod, owner_kind, cluster) (kube_pod_owner{owner_kind!=\"Job\"}))) > 0",
    1.0,
    1.0,
    Fmt::Int,
);

pub(crate) const KUBE_DEPLOYMENT_REPLICAS_MISMATCH: Rule = r(
    "KubeDeploymentReplicasMismatch",
    "warning",
    900,
    "Deployment has not matched the expected number of replicas.",
    "Deployment {namespace}/{deployment} has not matched the expected number of replicas for longer than 15 minutes on cluster {cluster}.",
    "https://runbooks.prometheus-operator.dev/runbooks/kubernetes/kubedeploymentreplicasmismatch",
    "(kube_deployment_spec_replicas{job=\"kube-state-metrics\"} > kube_deployment_status_replicas_available{job=\"kube-state-metrics\"}) and (changes(kube_deployment_status_replicas_updated{job=\"kube-state-metrics\"}[10m]) == 0)",
    1.0,
    2.0,
    Fmt::Int,
);

pub(crate) const KUBE_DEPLOYMENT_ROLLOUT_STUCK: Rule = r(
    "KubeDeploymentRolloutStuck",
    "warning",
    900,
    "Deployment rollout is not progressing.",
    "Rollout of deployment {namespace}/{deployment} is not progressing for longer than 15 minutes on cluster {cluster}.",
    "https://runbooks.prometheus-operator.dev/runbooks/kubernetes/kubedeploymentrolloutstuck",
    "kube_deployment_status_condition{condition=\"Progressing\", status=\"false\",job=\"kube-state-metrics\"} != 0",
    1.0,
    1.0,
    Fmt::Int,
);

pub(crate) const KUBE_NODE_NOT_READY: Rule = r(
    "KubeNodeNotReady",
    "warning",
    900,
    "Node is not ready.",
    "{node} has been unready for more than 15 minutes on cluster {cluster}.",
    "https://runbooks.prometheus-operator.dev/runbooks/kubernetes/kubenodenotready",
    "kube_node_status_condition{job=\"kube-state-metrics\",condition=\"Ready\",status=\"true\"} == 0 and on (cluster, node) kube_node_spec_unschedulable{job=\"kube-state-metrics\"} == 0",
    0.0,
    0.0,
    Fmt::Int,
);

pub(crate) const KUBE_NODE_UNREACHABLE: Rule = r(
    "KubeNodeUnreachable",
    "warning",
    900,
    "Node is unreachable.",
    "{node} is unreachable and some workloads may be rescheduled on cluster {cluster}.",
    "https://runbooks.prometheus-operator.dev/runbooks/kubernetes/kubenodeunreachable",
    "(kube_node_spec_taint{job=\"kube-state-metrics\",key=\"node.kubernetes.io/unreachable\",effect=\"NoSchedule\"} unless ignoring(key,value) kube_node_spec_taint{job=\"kube-state-metrics\",key=~\"ToBeDeletedByClusterAutoscaler|cloud.google.com/impending-node-termination|aws-node-termination-handler/spot-itn\"}) == 1",
    1.0,
    1.0,
    Fmt::Int,
);

pub(crate) const KUBE_NODE_EVICTION: Rule = r(
    "KubeNodeEviction",
    "info",
    0,
    "Node is evicting pods.",
    "Node {node} on {cluster} is evicting Pods due to {eviction_signal}.  Eviction occurs when eviction thresholds are crossed, typically caused by Pods exceeding RAM/ephemeral-storage limits.",
    "https://runbooks.prometheus-operator.dev/runbooks/kubernetes/kubenodeeviction",
    "sum(rate(kubelet_evictions{job=\"kubelet\", metrics_path=\"/metrics\"}[15m])) by (cluster, eviction_signal, instance) * on (cluster, instance) group_left(node) max by (cluster, instance, node) (kubelet_node_name{job=\"kubelet\", metrics_path=\"/metrics\"}) > 0",
    0.002,
    0.02,
    Fmt::Raw,
);

pub(crate) const CPU_THROTTLING_HIGH: Rule = r(
    "CPUThrottlingHigh",
    "info",
    900,
    "Processes experience elevated CPU throttling.",
    "{value} throttling of CPU in namespace {namespace} for container {container} in pod {pod} on cluster {cluster}.",
    "https://runbooks.prometheus-operator.dev/runbooks/kubernetes/cputhrottlinghigh",
    "sum(increase(container_cpu_cfs_throttled_periods_total{container!=\"\", job=\"kubelet\", metrics_path=\"/metrics/cadvisor\", }[5m])) without (id, metrics_path, name, image, endpoint, job, node) / on (cluster, namespace, pod, container, instance) group_left sum(increase(container_cpu_cfs_periods_total{job=\"kubelet\", metrics_path=\"/metrics/cadvisor\", }[5m])) without (id, metrics_path, name, image, endpoint, job, node) > ( 25 / 100 )",
    0.26,
    0.71,
    Fmt::Pct,
);

pub(crate) const KUBE_CPU_OVERCOMMIT: Rule = r(
    "KubeCPUOvercommit",
    "warning",
    600,
    "Cluster has overcommitted CPU resource requests.",
    "Cluster {cluster} has overcommitted CPU resource requests for Pods by {value} CPU shares and cannot tolerate node failure.",
    "https://runbooks.prometheus-operator.dev/runbooks/kubernetes/kubecpuovercommit",
    "sum(namespace_cpu:kube_pod_container_resource_requests:sum{}) by (cluster) - (sum(kube_node_status_allocatable{job=\"kube-state-metrics\",resource=\"cpu\"}) by (cluster) - max(kube_node_status_allocatable{job=\"kube-state-metrics\",resource=\"cpu\"}) by (cluster)) > 0 and (sum(kube_node_status_allocatable{job=\"kube-state-metrics\",resource=\"cpu\"}) by (cluster) - max(kube_node_status_allocatable{job=\"kube-state-metrics\",resource=\"cpu\"}) by (cluster)) > 0",
    0.4,
    2.9,
    Fmt::F2,
);

pub(crate) const KUBE_QUOTA_ALMOST_FULL: Rule = r(
    "KubeQuotaAlmostFull",
    "info",
    900,
    "Namespace quota is going to be full.",
    "Namespace {namespace} is using {value} of its {resource} quota on cluster {cluster}.",
    "https://runbooks.prometheus-operator.dev/runbooks/kubernetes/kubequotaalmostfull",
    "kube_resourcequota{job=\"kube-state-metrics\", type=\"used\"} / ignoring(instance, job, type) (kube_resourcequota{job=\"kube-state-metrics\", type=\"hard\"} > 0) > 0.9 < 1",
    0.9,
    0.99,
    Fmt::Pct,
);

pub(crate) const KUBE_HPA_MAXED_OUT: Rule = r(
    "KubeHpaMaxedOut",
    "warning",
    900,
    "HPA is running at max replicas",
    "HPA {namespace}/{horizontalpodautoscaler} has been running at max replicas for longer than 15 minutes on cluster {cluster}.",
    "https://runbooks.prometheus-operator.dev/runbooks/kubernetes/kubehpamaxedout",
    "kube_horizontalpodautoscaler_status_current_replicas{job=\"kube-state-metrics\"} == kube_horizontalpodautoscaler_spec_max_replicas{job=\"kube-state-metrics\"}",
    6.0,
    6.0,
    Fmt::Int,
);

pub(crate) const KUBE_JOB_FAILED: Rule = r(
    "KubeJobFailed",
    "warning",
    900,
    "Job failed to complete.",
    "Job {namespace}/{job_name} failed to complete. Removing failed job after investigation should clear this alert on cluster {cluster}.",
    "https://runbooks.prometheus-operator.dev/runbooks/kubernetes/kubejobfailed",
    "kube_job_failed{job=\"kube-state-metrics\"}  > 0",
    1.0,
    1.0,
    Fmt::Int,
);

pub(crate) const KUBE_PV_FILLING_UP_CRIT: Rule = r(
    "KubePersistentVolumeFillingUp",
    "critical",
    60,
    "PersistentVolume is filling up.",
    "The PersistentVolume claimed by {persistentvolumeclaim} in Namespace {namespace} on Cluster {cluster} is only {value} free.",
    "https://runbooks.prometheus-operator.dev/runbooks/kubernetes/kubepersistentvolumefillingup",
    "(kubelet_volume_stats_available_bytes{job=\"kubelet\", metrics_path=\"/metrics\"} / kubelet_volume_stats_capacity_bytes{job=\"kubelet\", metrics_path=\"/metrics\"}) < 0.03 and kubelet_volume_stats_used_bytes{job=\"kubelet\", metrics_path=\"/metrics\"} > 0",
    0.011,
    0.029,
    Fmt::Pct,
);

pub(crate) const KUBE_PV_FILLING_UP_WARN: Rule = r(
    "KubePersistentVolumeFillingUp",
    "warning",
    3600,
    "PersistentVolume is filling up.",
    "Based on recent sampling, the PersistentVolume claimed by {persistentvolumeclaim} in Namespace {namespace} on Cluster {cluster} is expected to fill up within four days. Currently {value} is available.",
    "https://runbooks.prometheus-operator.dev/runbooks/kubernetes/kubepersistentvolumefillingup",
    "(kubelet_volume_stats_available_bytes{job=\"kubelet\", metrics_path=\"/metrics\"} / kubelet_volume_stats_capacity_bytes{job=\"kubelet\", metrics_path=\"/metrics\"}) < 0.15 and predict_linear(kubelet_volume_stats_available_bytes{job=\"kubelet\", metrics_path=\"/metrics\"}[6h], 4 * 24 * 3600) < 0",
    0.09,
    0.149,
    Fmt::Pct,
);

pub(crate) const NODE_FS_FILLING_UP: Rule = r(
    "NodeFilesystemSpaceFillingUp",
    "warning",
    3600,
    "Filesystem is predicted to run out of space within the next 24 hours.",
    "Filesystem on {device}, mounted on {mountpoint}, at {instance} has only {value}% available space left and is filling up.",
    "https://runbooks.prometheus-operator.dev/runbooks/node/nodefilesystemspacefillingup",
    "(node_filesystem_avail_bytes{job=\"node-exporter\",fstype!=\"\",mountpoint!=\"\"} / node_filesystem_size_bytes{job=\"node-exporter\",fstype!=\"\",mountpoint!=\"\"} * 100 < 15 and predict_linear(node_filesystem_avail_bytes{job=\"node-exporter\",fstype!=\"\",mountpoint!=\"\"}[6h], 24*60*60) < 0 and node_filesystem_readonly{job=\"node-exporter\",fstype!=\"\",mountpoint!=\"\"} == 0)",
    7.5,
    14.9,
    Fmt::F2,
);

pub(crate) const NODE_MEMORY_HIGH: Rule = r(
    "NodeMemoryHighUtilization",
    "warning",
    900,
    "Host is running out of memory.",
    "Memory is filling up at {instance}, has been above 90% for the last 15 minutes, is currently at {value}%.",
    "https://runbooks.prometheus-operator.dev/runbooks/node/nodememoryhighutilization",
    "100 - (node_memory_MemAvailable_bytes{job=\"node-exporter\"} / node_memory_MemTotal_bytes{job=\"node-exporter\"} * 100) > 90",
    90.1,
    97.8,
    Fmt::F2,
);

pub(crate) const NODE_NETWORK_FLAPPING: Rule = r(
    "NodeNetworkInterfaceFlapping",
    "warning",
    120,
    "Network interface is often changing its status",
    "Network interface \"{device}\" changing its up status often on node-exporter {namespace}/{pod}",
    "https://runbooks.prometheus-operator.dev/runbooks/general/nodenetworkinterfaceflapping",
    "changes(node_network_up{job=\"node-exporter\",device!~\"veth.+\"}[2m]) > 2",
    3.0,
    9.0,
    Fmt::Int,
);

// ---------------------------------------------------------------------------------------------
// awesome-prometheus-alerts.

pub(crate) const POSTGRESQL_DOWN: Rule = r(
    "PostgresqlDown",
    "critical",
    60,
    "Postgresql down (instance {instance})",
    "Postgresql instance is down\n  VALUE = {raw}\n  LABELS = {labels}",
    "",
    "pg_up == 0",
    0.0,
    0.0,
    Fmt::Int,
);

pub(crate) const POSTGRESQL_RESTARTED: Rule = r(
    "PostgresqlRestarted",
    "critical",
    0,
    "Postgresql restarted (instance {instance})",
    "Postgresql restarted\n  VALUE = {raw}\n  LABELS = {labels}",
    "",
    "time() - pg_postmaster_start_time_seconds < 60",
    4.0,
    58.0,
    Fmt::Raw,
);

pub(crate) const POSTGRESQL_TOO_MANY_CONNECTIONS: Rule = r(
    "PostgresqlTooManyConnections",
    "warning",
    120,
    "Postgresql too many connections (instance {instance})",
    "PostgreSQL instance has too many connections (> 80%).\n  VALUE = {raw}\n  LABELS = {labels}",
    "",
    "sum by (instance, job, server) (pg_stat_activity_count) > min by (instance, job, server) (pg_settings_max_connections * 0.8)",
    161.0,
    199.0,
    Fmt::Int,
);

pub(crate) const POSTGRESQL_DEAD_LOCKS: Rule = r(
    "PostgresqlDeadLocks",
    "warning",
    0,
    "Postgresql dead locks (instance {instance})",
    "PostgreSQL has dead-locks ({raw} in the last minute)\n  VALUE = {raw}\n  LABELS = {labels}",
    "",
    "increase(pg_stat_database_deadlocks{datname!~\"template.*|postgres\",datid!=\"0\"}[1m]) > 5",
    6.0,
    19.0,
    Fmt::Int,
);

pub(crate) const POSTGRESQL_HIGH_ROLLBACK_RATE: Rule = r(
    "PostgresqlHighRollbackRate",
    "warning",
    0,
    "Postgresql high rollback rate (instance {instance})",
    "Ratio of transactions being aborted compared to committed is > 2 %\n  VALUE = {raw}\n  LABELS = {labels}",
    "",
    "sum by (namespace,datname,instance) (rate(pg_stat_database_xact_rollback{datname!~\"template.*|postgres\",datid!=\"0\"}[3m])) / (sum by (namespace,datname,instance) (rate(pg_stat_database_xact_rollback{datname!~\"template.*|postgres\",datid!=\"0\"}[3m])) + sum by (namespace,datname,instance) (rate(pg_stat_database_xact_commit{datname!~\"template.*|postgres\",datid!=\"0\"}[3m]))) > 0.02",
    0.021,
    0.094,
    Fmt::Raw,
);

pub(crate) const POSTGRESQL_REPLICATION_LAG: Rule = r(
    "PostgresqlReplicationLag",
    "warning",
    30,
    "Postgresql replication lag (instance {instance})",
    "The PostgreSQL replication lag is high (> 5s)\n  VALUE = {raw}\n  LABELS = {labels}",
    "",
    "pg_replication_lag_seconds > 5",
    5.2,
    47.0,
    Fmt::Raw,
);

pub(crate) const POSTGRESQL_CONFIGURATION_CHANGED: Rule = r(
    "PostgresqlConfigurationChanged",
    "info",
    0,
    "Postgresql configuration changed (instance {instance})",
    "Postgres Database configuration change has occurred\n  VALUE = {raw}\n  LABELS = {labels}",
    "",
    "{__name__=~\"pg_settings_.*\",__name__!=\"pg_settings_transaction_read_only\"} != ON(__name__, instance) {__name__=~\"pg_settings_.*\",__name__!=\"pg_settings_transaction_read_only\"} OFFSET 5m",
    0.0,
    1.0,
    Fmt::Int,
);

pub(crate) const REDIS_DOWN: Rule = r(
    "RedisDown",
    "critical",
    60,
    "Redis down (instance {instance})",
    "Redis instance is down\n  VALUE = {raw}\n  LABELS = {labels}",
    "",
    "redis_up == 0",
    0.0,
    0.0,
    Fmt::Int,
);

pub(crate) const REDIS_REJECTED_CONNECTIONS: Rule = r(
    "RedisRejectedConnections",
    "warning",
    0,
    "Redis rejected connections (instance {instance})",
    "Some connections to Redis has been rejected\n  VALUE = {raw}\n  LABELS = {labels}",
    "",
    "increase(redis_rejected_connections_total[1m]) > 5",
    6.0,
    41.0,
    Fmt::Int,
);

pub(crate) const REDIS_TOO_MANY_CONNECTIONS: Rule = r(
    "RedisTooManyConnections",
    "warning",
    120,
    "Redis too many connections (instance {instance})",
    "Redis is running out of connections (> 90% used)\n  VALUE = {raw}\n  LABELS = {labels}",
    "",
    "redis_connected_clients / redis_config_maxclients * 100 > 90 and redis_config_maxclients > 0",
    90.2,
    99.6,
    Fmt::Raw,
);

pub(crate) const KAFKA_TOPICS_REPLICAS: Rule = r(
    "KafkaTopicsReplicas",
    "critical",
    0,
    "Kafka topics replicas (instance {instance})",
    "Kafka topic {topic} has fewer than 3 in-sync replicas ({raw}), data durability is at risk.\n  VALUE = {raw}\n  LABELS = {labels}",
    "",
    "min(kafka_topic_partition_in_sync_replica) by (topic) < 3",
    1.0,
    2.0,
    Fmt::Int,
);

pub(crate) const KAFKA_CONSUMER_GROUP_LAG: Rule = r(
    "KafkaConsumerGroupLag",
    "warning",
    60,
    "Kafka consumer group lag (instance {instance})",
    "Kafka consumer group {consumergroup} is lagging behind ({raw} messages)\n  VALUE = {raw}\n  LABELS = {labels}",
    "",
    "sum(kafka_consumergroup_lag) by (consumergroup) > 10000",
    10400.0,
    96000.0,
    Fmt::Int,
);

pub(crate) const ELASTICSEARCH_CLUSTER_RED: Rule = r(
    "ElasticsearchClusterRed",
    "critical",
    0,
    "Elasticsearch Cluster Red (instance {instance})",
    "Elastic Cluster Red status\n  VALUE = {raw}\n  LABELS = {labels}",
    "",
    "elasticsearch_cluster_health_status{color=\"red\"} == 1",
    1.0,
    1.0,
    Fmt::Int,
);

pub(crate) const ELASTICSEARCH_UNASSIGNED_SHARDS: Rule = r(
    "ElasticsearchUnassignedShards",
    "critical",
    120,
    "Elasticsearch unassigned shards (instance {instance})",
    "Elasticsearch has unassigned shards\n  VALUE = {raw}\n  LABELS = {labels}",
    "",
    "elasticsearch_cluster_health_unassigned_shards > 0",
    3.0,
    48.0,
    Fmt::Int,
);

pub(crate) const ELASTICSEARCH_RELOCATING_SHARDS: Rule = r(
    "ElasticsearchRelocatingShards",
    "info",
    0,
    "Elasticsearch relocating shards (instance {instance})",
    "Elasticsearch is relocating shards\n  VALUE = {raw}\n  LABELS = {labels}",
    "",
    "elasticsearch_cluster_health_relocating_shards > 0",
    1.0,
    6.0,
    Fmt::Int,
);

pub(crate) const ELASTICSEARCH_HEAP_USAGE_WARNING: Rule = r(
    "ElasticsearchHeapUsageWarning",
    "warning",
    120,
    "Elasticsearch Heap Usage warning (instance {instance})",
    "The heap usage is over 80%\n  VALUE = {raw}\n  LABELS = {labels}",
    "",
    "(elasticsearch_jvm_memory_used_bytes{area=\"heap\"} / elasticsearch_jvm_memory_max_bytes{area=\"heap\"}) * 100 > 80 and elasticsearch_jvm_memory_max_bytes{area=\"heap\"} > 0",
    80.3,
    89.7,
    Fmt::Raw,
);

pub(crate) const NGINX_HIGH_HTTP_5XX: Rule = r(
    "NginxHighHttp5xxErrorRate",
    "critical",
    60,
    "Nginx high HTTP 5xx error rate (instance {instance})",
    "Too many HTTP requests with status 5xx (> 5%)\n  VALUE = {raw}\n  LABELS = {labels}",
    "",
    "sum(rate(nginx_http_requests_total{status=~\"^5..\"}[1m])) / sum(rate(nginx_http_requests_total[1m])) * 100 > 5 and sum(rate(nginx_http_requests_total[1m])) > 0",
    5.4,
    63.0,
    Fmt::Raw,
);

pub(crate) const BLACKBOX_PROBE_HTTP_FAILURE: Rule = r(
    "BlackboxProbeHttpFailure",
    "critical",
    60,
    "Blackbox probe HTTP failure (instance {instance})",
    "HTTP status code is not 200-399\n  VALUE = {raw}\n  LABELS = {labels}",
    "",
    "probe_http_status_code <= 199 OR probe_http_status_code >= 400",
    502.0,
    504.0,
    Fmt::Int,
);

pub(crate) const BLACKBOX_PROBE_SLOW_HTTP: Rule = r(
    "BlackboxProbeSlowHttp",
    "warning",
    60,
    "Blackbox probe slow HTTP (instance {instance})",
    "HTTP request took more than 1s\n  VALUE = {raw}\n  LABELS = {labels}",
    "",
    "probe_http_duration_seconds > 1",
    1.02,
    3.9,
    Fmt::Raw,
);

pub(crate) const HOST_OOM_KILL_DETECTED: Rule = r(
    "HostOomKillDetected",
    "warning",
    0,
    "Host OOM kill detected (instance {instance})",
    "OOM kill detected\n  VALUE = {raw}\n  LABELS = {labels}",
    "",
    "(delta(node_vmstat_oom_kill[30m]) > 0)",
    1.0,
    3.0,
    Fmt::Int,
);

pub(crate) const HOST_CPU_HIGH_IOWAIT: Rule = r(
    "HostCpuHighIowait",
    "warning",
    0,
    "Host CPU high iowait (instance {instance})",
    "CPU iowait > 10%. Your CPU is idling waiting for storage to respond.\n  VALUE = {raw}\n  LABELS = {labels}",
    "",
    "avg without (cpu) (rate(node_cpu_seconds_total{mode=\"iowait\"}[5m])) > .10",
    0.101,
    0.27,
    Fmt::Raw,
);

pub(crate) const HOST_CONTEXT_SWITCHING_HIGH: Rule = r(
    "HostContextSwitchingHigh",
    "warning",
    0,
    "Host context switching high (instance {instance})",
    "Context switching is growing on the node (twice the daily average during the last 15m)\n  VALUE = {raw}\n  LABELS = {labels}",
    "",
    "(rate(node_context_switches_total[15m])/count without(mode,cpu) (node_cpu_seconds_total{mode=\"idle\"})) / (rate(node_context_switches_total[1d])/count without(mode,cpu) (node_cpu_seconds_total{mode=\"idle\"})) > 2",
    2.01,
    3.4,
    Fmt::Raw,
);

// ---------------------------------------------------------------------------------------------
// The company's own Prometheus rules (service SLOs).

pub(crate) const SERVICE_HIGH_ERROR_RATE: Rule = r(
    "ServiceHighErrorRate",
    "critical",
    120,
    "{service}: {value} of requests failing with 5xx",
    "{value} of requests to {service} in {namespace} failed with a 5xx over the last 5m (threshold 5%).",
    "https://runbooks.shopwave.example/services/high-error-rate",
    "sum by (cluster, namespace, service) (rate(http_server_requests_seconds_count{status=~\"5..\"}[5m])) / sum by (cluster, namespace, service) (rate(http_server_requests_seconds_count[5m])) > 0.05",
    0.052,
    0.61,
    Fmt::Pct,
);

pub(crate) const SERVICE_HIGH_LATENCY: Rule = r(
    "ServiceHighLatencyP99",
    "error",
    300,
    "{service}: p99 latency is {value}s",
    "p99 latency of {service} in {namespace} has been {value}s over the last 5m (SLO 1.2s).",
    "https://runbooks.shopwave.example/services/high-latency",
    "histogram_quantile(0.99, sum by (cluster, namespace, service, le) (rate(http_server_requests_seconds_bucket[5m]))) > 1.2",
    1.21,
    11.8,
    Fmt::F2,
);

// ---------------------------------------------------------------------------------------------
// Grafana-managed rules (folder, rule). `{value}` is the B query's value.

pub(crate) const G_CHECKOUT_SLO: Rule = r(
    "Checkout success rate below SLO",
    "critical",
    120,
    "Checkout success rate is {value} (SLO 99.5%)",
    "Share of checkouts completing without error over the last 10m in {cluster}.",
    "https://runbooks.shopwave.example/slo/checkout",
    "sum(rate(checkout_completed_total[10m])) / sum(rate(checkout_started_total[10m]))",
    0.41,
    0.989,
    Fmt::Pct,
);

pub(crate) const G_PAYMENT_AUTH: Rule = r(
    "Payment authorization success rate",
    "critical",
    120,
    "Card authorizations succeeding: {value} (SLO 98%)",
    "Authorization success rate for card payments over the last 5m in {cluster}.",
    "https://runbooks.shopwave.example/slo/payment-authorization",
    "sum(rate(payments_authorizations_total{result=\"approved\"}[5m])) / sum(rate(payments_authorizations_total[5m]))",
    0.37,
    0.975,
    Fmt::Pct,
);

pub(crate) const G_LOGIN_SLO: Rule = r(
    "Login success rate below SLO",
    "critical",
    120,
    "Login success rate is {value} (SLO 99.9%)",
    "Share of successful logins over the last 10m in {cluster}.",
    "https://runbooks.shopwave.example/slo/login",
    "sum(rate(auth_login_total{outcome=\"success\"}[10m])) / sum(rate(auth_login_total{outcome!=\"bad_credentials\"}[10m]))",
    0.52,
    0.998,
    Fmt::Pct,
);

pub(crate) const G_API_AVAILABILITY: Rule = r(
    "API availability error budget burn",
    "critical",
    60,
    "API error budget burning {value}x faster than allowed",
    "1h burn rate of the 99.9% availability SLO for the public API in {cluster}.",
    "https://runbooks.shopwave.example/slo/api-availability",
    "(1 - sum(rate(gateway_requests_total{code!~\"5..\"}[1h])) / sum(rate(gateway_requests_total[1h]))) / 0.001",
    14.4,
    120.0,
    Fmt::F2,
);

pub(crate) const G_FRONTEND_APDEX: Rule = r(
    "Frontend Apdex degraded",
    "error",
    180,
    "Frontend Apdex is {value}",
    "Apdex (T=500ms) of page loads measured by RUM in {cluster} over the last 10m.",
    "https://runbooks.shopwave.example/slo/frontend-apdex",
    "apdex_score{app=\"storefront\"}",
    0.41,
    0.79,
    Fmt::F2,
);

pub(crate) const G_SEARCH_LATENCY: Rule = r(
    "Search p95 latency high",
    "warning",
    120,
    "Search p95 latency {value}s",
    "p95 of /v1/search over the last 5m in {cluster} (threshold 0.8s).",
    "https://runbooks.shopwave.example/slo/search-latency",
    "histogram_quantile(0.95, sum by (le) (rate(search_request_duration_seconds_bucket[5m])))",
    0.81,
    4.2,
    Fmt::F2,
);

pub(crate) const G_NOTIFICATION_DELAY: Rule = r(
    "Notification delivery delayed",
    "warning",
    60,
    "Oldest undelivered notification is {value}s old",
    "Age of the oldest message in the notifications outbox in {cluster}.",
    "https://runbooks.shopwave.example/notifications/outbox-delay",
    "max(notifications_outbox_oldest_age_seconds)",
    120.0,
    1900.0,
    Fmt::Int,
);

pub(crate) const G_QUEUE_DEPTH: Rule = r(
    "Queue depth high",
    "warning",
    60,
    "{value} messages waiting in the email queue",
    "Depth of the email delivery queue in {cluster} (threshold 5000).",
    "https://runbooks.shopwave.example/notifications/queue-depth",
    "sum(notifications_queue_depth{queue=\"email\"})",
    5010.0,
    14200.0,
    Fmt::Int,
);

pub(crate) const G_P95_LATENCY: Rule = r(
    "High p95 latency",
    "warning",
    60,
    "{service} p95 latency {value}s",
    "p95 request latency of {service} in {cluster} over the last 5m (threshold 0.75s).",
    "",
    "histogram_quantile(0.95, sum by (le) (rate(http_server_requests_seconds_bucket{service=\"$service\"}[5m])))",
    0.76,
    2.9,
    Fmt::F2,
);

pub(crate) const G_ERROR_LOG_RATE: Rule = r(
    "Error log rate elevated",
    "info",
    0,
    "{service}: {value} error logs/min",
    "Rate of ERROR log lines from {service} in {cluster} (Loki).",
    "",
    "sum(count_over_time({namespace=\"$namespace\"} |= \"ERROR\" [1m]))",
    40.0,
    380.0,
    Fmt::Int,
);

// ---------------------------------------------------------------------------------------------
// Alert-ish log records the apps emit over OTLP (rule = the `alertname` attribute; the
// summary template is the record body).

pub(crate) const O_DB_POOL_EXHAUSTED: Rule = r(
    "DBConnectionPoolExhausted",
    "error",
    0,
    "HikariPool-1 - Connection is not available, request timed out after 30000ms (total={value}, active={value}, idle=0, waiting={n})",
    "",
    "https://runbooks.shopwave.example/apps/db-connection-pool",
    "",
    20.0,
    20.0,
    Fmt::Int,
);

pub(crate) const O_DATABASE_UNAVAILABLE: Rule = r(
    "DatabaseUnavailable",
    "critical",
    0,
    "could not connect to postgres-primary.data.svc:5432: connection refused ({n} failed attempts in the last minute)",
    "",
    "https://runbooks.shopwave.example/apps/database-unavailable",
    "",
    0.0,
    0.0,
    Fmt::Int,
);

pub(crate) const O_CACHE_UNAVAILABLE: Rule = r(
    "CacheUnavailable",
    "error",
    0,
    "cannot connect to redis at {dep_ip}:6379: connection refused ({n} errors/min, serving from origin)",
    "",
    "https://runbooks.shopwave.example/apps/cache-unavailable",
    "",
    0.0,
    0.0,
    Fmt::Int,
);

pub(crate) const O_KAFKA_PRODUCE_FAILED: Rule = r(
    "KafkaProduceFailed",
    "error",
    0,
    "Failed to produce to topic {topic}: Broker: Not enough in-sync replicas ({n} records in retry buffer)",
    "",
    "https://runbooks.shopwave.example/apps/kafka-produce",
    "",
    0.0,
    0.0,
    Fmt::Int,
);

pub(crate) const O_SEARCH_BACKEND_TIMEOUT: Rule = r(
    "SearchBackendTimeout",
    "error",
    0,
    "Elasticsearch query timed out after {ms}ms on index products-v7 ({n} timeouts/min)",
    "",
    "https://runbooks.shopwave.example/apps/search-backend",
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
    "https://runbooks.shopwave.example/apps/upstream-timeout",
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
    "https://runbooks.shopwave.example/apps/circuit-breaker",
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
    "https://runbooks.shopwave.example/apps/unhandled-exceptions",
    "",
    0.0,
    0.0,
    Fmt::Int,
);

pub(crate) const O_PAYMENTS_UPSTREAM_TIMEOUT: Rule = r(
    "PaymentsUpstreamTimeout",
    "critical",
    0,
    "upstream timeout calling card processor after {ms}ms ({n} in the last minute)",
    "",
    "https://runbooks.shopwave.example/payments/card-processor",
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

pub(crate) const O_CONTAINER_OOM: Rule = r(
    "KubeContainerOOMKilled",
    "critical",
    0,
    "OOMKilled container {container}",
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
    "https://runbooks.shopwave.example/apps/retry-budget",
    "",
    0.0,
    0.0,
    Fmt::Int,
);

/// The Grafana SLO rule watching a service, if any.
pub(crate) fn grafana_slo(service: &str) -> Option<&'static Rule> {
    Some(match service {
        "frontend" => &G_FRONTEND_APDEX,
        "api-gateway" => &G_API_AVAILABILITY,
        "payments" => &G_PAYMENT_AUTH,
        "orders" => &G_CHECKOUT_SLO,
        "users" => &G_LOGIN_SLO,
        "search" => &G_SEARCH_LATENCY,
        "notifications" => &G_NOTIFICATION_DELAY,
        _ => return None,
    })
}

// ---------------------------------------------------------------------------------------------
// PagerDuty Events API v2 producers (rule name = `payload.class`; summary = `payload.summary`).

pub(crate) const PD_SYNTHETIC_CRITICAL: Rule = r(
    "synthetic-check",
    "critical",
    0,
    "{check} failed from {failed}/3 locations: {step} returned {code} after {ms}ms",
    "",
    "https://runbooks.shopwave.example/synthetics/{check}",
    "",
    0.0,
    0.0,
    Fmt::Int,
);

pub(crate) const PD_SYNTHETIC_ERROR: Rule = r(
    "synthetic-check",
    "error",
    0,
    "{check} failed from {failed}/3 locations: {step} returned {code} after {ms}ms",
    "",
    "https://runbooks.shopwave.example/synthetics/{check}",
    "",
    0.0,
    0.0,
    Fmt::Int,
);

pub(crate) const PD_MISSED_RUN: Rule = r(
    "missed-run",
    "error",
    0,
    "Cron job {job} is DOWN: no success ping since {expected} (grace 30m)",
    "",
    "https://runbooks.shopwave.example/cron/{job}",
    "",
    0.0,
    0.0,
    Fmt::Int,
);

pub(crate) const PD_CERT_EXPIRY: Rule = r(
    "tls-certificate-expiry",
    "warning",
    0,
    "TLS certificate for {host} expires in {days} days",
    "",
    "https://runbooks.shopwave.example/tls/renew",
    "",
    0.0,
    0.0,
    Fmt::Int,
);

pub(crate) const PD_SENTRY_ISSUE: Rule = r(
    "sentry-issue",
    "error",
    0,
    "{exception} in {culprit}",
    "",
    "",
    "",
    0.0,
    0.0,
    Fmt::Int,
);
