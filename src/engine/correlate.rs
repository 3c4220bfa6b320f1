//! Correlation: which open clusters a new alert belongs with.
//!
//! An alert links to a cluster that still takes in alerts (its last join is within
//! `correlation.window` of the alert) and has room, when any of:
//! (a) the alert's `group_by` label values equal those of an alert in the cluster;
//! (b) its service is, or is within `topology_depth` dependency hops of, a service in the
//!     cluster, and the link is causal:
//!     - a service with an error or critical alert still firing explains symptoms (of any
//!       severity from warning up) on itself and on what depends on it, for as long as it
//!       fails — one down for twenty minutes explains the crash loops its dependents start
//!       now — but never on what it depends on (a failing caller does not explain its
//!       database's warnings);
//!     - a new error or critical alert links to a related service (either direction) that
//!       started an alert within the window and still has one firing (its cause, or its
//!       symptom).
//!     Only alerts that are firing and not flapping anchor these links: a blip that already
//!     resolved, or an alert flapping on its own, explains nothing that starts now. Two
//!     warnings on neighbours do not make an incident (those still group by (a) or (c)), and
//!     informational alerts never link this way: they carry no failure signal. Without these
//!     conditions, routine noise snowballs through a dense topology. Alerts on the *same*
//!     service that start within `onset_window` of each other link whatever their severity
//!     (a pod crash-looping and not ready from the same minute is one problem);
//!     An alert that names the service it was calling (`peer_labels`, OpenTelemetry's
//!     `peer.service`) adds that edge for this test, whether or not the topology has it;
//! (c) its text — name, summary, label values, lower-cased, with every token holding a digit
//!     (numbers, ids, hex, pod hashes) dropped — has a 64-bit SimHash within
//!     `text_similarity` of one in the cluster.
//! When nothing links it, an alert on a service whose error/critical alert is still firing in
//! a cluster past its window joins that cluster as a late symptom (up to
//! `late_symptom_window`), without reopening its window ([`late_symptom`]).
//! Every "still firing" above is judged at the new alert's event time, not at its arrival:
//! notifications arrive minutes after their alert started (Alertmanager's group_interval).
//! Owns the alert signature and the link test; decides nothing about merging or paging.

use serde::{Deserialize, Serialize};

use super::cluster::ClusterState;
use crate::config::CorrelationConfig;
use crate::event::{fnv1a64 as fnv, AlertEvent, EventTime, Fingerprint};

/// What correlation needs to know about an alert, computed once when it first appears.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertSig {
    /// Hash of the `group_by` label values; `None` when any of them is missing.
    pub group_key: Option<u64>,
    /// SimHash of the normalised text; `None` when text links are off or there is no text.
    pub simhash: Option<u64>,
    /// Hash of the service it names as the one its service was calling (`peer_labels`).
    #[serde(default)]
    pub peer: Option<u64>,
}

pub fn signature(ev: &AlertEvent, cfg: &CorrelationConfig) -> AlertSig {
    let mut pairs: Vec<(&str, &str)> = Vec::with_capacity(cfg.group_by.len());
    let mut complete = true;
    for name in &cfg.group_by {
        // `service` is the alert's service as `[labels] service` resolves it, so OTLP's
        // `service.name` groups, and an exporter's name (kube-state-metrics) does not group a
        // whole fleet's pods together.
        let value = if name == "service" {
            ev.service.as_deref()
        } else {
            ev.labels.get(name)
        };
        match value {
            Some(v) if !v.is_empty() => pairs.push((name.as_str(), v)),
            _ => {
                complete = false;
                break;
            }
        }
    }
    let group_key = complete.then(|| {
        pairs.sort_unstable();
        Fingerprint::of_sorted(pairs).0
    });
    let simhash = (cfg.text_similarity < 1.0).then(|| simhash(ev)).flatten();
    let peer = cfg
        .peer_labels
        .iter()
        .find_map(|k| ev.labels.get(k).filter(|v| !v.is_empty()))
        .filter(|p| Some(*p) != ev.service.as_deref())
        .map(|p| fnv(p.as_bytes()));
    AlertSig {
        group_key,
        simhash,
        peer,
    }
}

/// Feeds the hashes of an alert's text tokens to `f`: alphanumeric runs, lower-cased,
/// without any run that holds a digit; CamelCase rule names split into words so
/// "KubePodCrashLooping" shares words with "pod crash". No allocation per token.
fn for_each_token(ev: &AlertEvent, mut f: impl FnMut(u64)) {
    let mut buf = String::with_capacity(32);
    let flush = |buf: &mut String, f: &mut dyn FnMut(u64)| {
        if buf.len() >= 2 && !buf.bytes().any(|b| b.is_ascii_digit()) {
            f(fnv(buf.as_bytes()));
        }
        buf.clear();
    };
    let mut scan = |s: &str, camel: bool, f: &mut dyn FnMut(u64)| {
        let mut prev_lower = false;
        for ch in s.chars() {
            if !ch.is_alphanumeric() {
                flush(&mut buf, f);
                prev_lower = false;
                continue;
            }
            if camel && ch.is_uppercase() && prev_lower {
                flush(&mut buf, f);
            }
            prev_lower = ch.is_lowercase();
            for l in ch.to_lowercase() {
                buf.push(l);
            }
        }
        flush(&mut buf, f);
    };
    scan(&ev.alertname, true, &mut f);
    if let Some(s) = &ev.annotations.summary {
        scan(s, false, &mut f);
    }
    for (k, v) in ev.labels.iter() {
        if k == "alertname" || k == "severity" {
            continue;
        }
        scan(v, false, &mut f);
    }
}

/// 64-bit SimHash over unigram and bigram shingles of the tokens.
pub fn simhash(ev: &AlertEvent) -> Option<u64> {
    let mut acc = [0i32; 64];
    let mut add = |h: u64| {
        for (i, a) in acc.iter_mut().enumerate() {
            *a += if h >> i & 1 == 1 { 1 } else { -1 };
        }
    };
    let mut prev: Option<u64> = None;
    let mut any = false;
    for_each_token(ev, |h| {
        any = true;
        add(h);
        if let Some(p) = prev {
            add(p ^ h.rotate_left(17));
        }
        prev = Some(h);
    });
    if !any {
        return None;
    }
    let mut out = 0u64;
    for (i, a) in acc.iter().enumerate() {
        if *a > 0 {
            out |= 1 << i;
        }
    }
    Some(out)
}

pub fn similarity(a: u64, b: u64) -> f64 {
    1.0 - (a ^ b).count_ones() as f64 / 64.0
}

/// Whether a new alert links to an open cluster (ignoring the window and size cap, which the
/// caller checks).
pub fn links(
    c: &ClusterState,
    sig: &AlertSig,
    alert: &AlertEvent,
    cfg: &CorrelationConfig,
) -> bool {
    let service = alert.service.as_deref();
    let at = alert.time;
    let loud = alert.severity >= crate::event::Severity::Error;
    if let Some(k) = sig.group_key {
        if c.group_keys.contains(&k) {
            return true;
        }
    }
    if let Some(s) = service.filter(|_| alert.severity >= crate::event::Severity::Warning) {
        let recent = |t: EventTime| at.as_millis() - t.as_millis() <= cfg.window_ms;
        // Hashed only when the cluster has observed call edges to look up.
        let s_hash = (!c.calls.is_empty()).then(|| fnv(s.as_bytes()));
        for (cs, act) in &c.activity {
            let same = s == cs;
            let cs_hash = || fnv(cs.as_bytes());
            // `cs` is `s` or what it depends on: trouble there explains symptoms on `s`. An
            // alert naming its peer (`peer.service`) shows an edge the topology may lack.
            let below =
                same || cfg.topology.depends(s, cs) || sig.peer.is_some_and(|p| p == cs_hash());
            // `s` is what `cs` depends on: a failure of `s` explains symptoms on `cs`.
            let above = !below
                && (cfg.topology.depends(cs, s)
                    || s_hash.is_some_and(|sh| c.calls.contains(&(cs_hash(), sh))));
            if !below && !above {
                continue;
            }
            // Only what is still firing explains anything: a blip that already resolved is
            // not the cause of what starts now (nor a symptom of it).
            let failing = act.loud_at(at);
            let linked =
                (below && failing) || (loud && act.firing_at(at) && recent(act.last_start));
            if linked {
                return true;
            }
            // Same service, (nearly) the same onset: one cause, several symptoms.
            if same
                && cfg.onset_window_ms > 0
                && (at.as_millis() - act.last_start.as_millis()).abs() <= cfg.onset_window_ms
            {
                return true;
            }
        }
    }
    if let Some(h) = sig.simhash {
        if c.simhashes
            .iter()
            .any(|&ch| similarity(h, ch) >= cfg.text_similarity)
        {
            return true;
        }
    }
    false
}

/// Whether a new alert is a late symptom of a failure still going on in a cluster whose join
/// window has passed: an error or critical alert of its own service is still firing there
/// (a crash loop that fires only after its rule's 15-minute `for`, on a service whose errors
/// started the incident), up to `late_symptom_window` after the join window passed. Such an
/// alert joins that cluster without reopening its window, so nothing chains through it.
pub fn late_symptom(c: &ClusterState, alert: &AlertEvent, cfg: &CorrelationConfig) -> bool {
    let since_join = alert.time.as_millis() - c.last_join.as_millis();
    if since_join > cfg.window_ms.saturating_add(cfg.late_symptom_window_ms) {
        return false;
    }
    alert
        .service
        .as_deref()
        .filter(|_| alert.severity >= crate::event::Severity::Warning)
        .and_then(|s| c.activity.get(s))
        .is_some_and(|act| act.loud_at(alert.time))
}

/// Whether a cluster is still taking in new alerts at `t` (its last join within the window).
pub fn in_window(c: &ClusterState, t: EventTime, cfg: &CorrelationConfig) -> bool {
    t.as_millis() - c.last_join.as_millis() <= cfg.window_ms
}

pub fn has_room(c: &ClusterState, cfg: &CorrelationConfig) -> bool {
    c.alerts.len() < cfg.max_alerts_per_cluster
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Annotations, EventKind, Labels, Severity, Source};

    fn ev(name: &str, summary: &str, labels: &[(&str, &str)]) -> AlertEvent {
        let mut l: Vec<(&str, &str)> = labels.to_vec();
        l.push(("alertname", name));
        let labels = Labels::from_pairs(l);
        let service = crate::decode::DecodeOptions::default().service_of(&labels);
        AlertEvent {
            source: Source::Alertmanager,
            kind: EventKind::Firing,
            time: EventTime(0),
            fingerprint: labels.fingerprint(),
            source_id: None,
            dedup_key: None,
            alertname: name.into(),
            labels,
            annotations: Annotations {
                summary: Some(summary.into()),
                ..Default::default()
            },
            severity: Severity::Error,
            service,
            team: None,
            actor: None,
            ends_at: None,
            sender: None,
            group: None,
            listed: None,
        }
    }

    #[test]
    fn numbers_and_ids_do_not_change_the_text_signature() {
        let a = ev(
            "KubePodCrashLooping",
            "Pod payments/api-6d9c7b8f5-x1 restarted 7 times",
            &[("pod", "api-6d9c7b8f5-x1"), ("namespace", "payments")],
        );
        let b = ev(
            "KubePodCrashLooping",
            "Pod payments/api-7f00aa12c-q9 restarted 12 times",
            &[("pod", "api-7f00aa12c-q9"), ("namespace", "payments")],
        );
        assert_eq!(simhash(&a), simhash(&b));
        let c = ev(
            "PostgresqlDown",
            "Postgresql instance is down",
            &[("namespace", "data")],
        );
        let (ha, hc) = (simhash(&a).unwrap(), simhash(&c).unwrap());
        assert!(similarity(ha, hc) < 0.9, "{}", similarity(ha, hc));
    }

    #[test]
    fn group_key_needs_every_label() {
        let cfg = crate::config::Config::default().engine.correlation;
        let a = ev("A", "", &[("service", "api")]);
        let b = ev("A", "", &[("service", "api"), ("pod", "x")]);
        let c = ev("A", "", &[("pod", "x")]);
        assert!(signature(&a, &cfg).group_key.is_some());
        assert_eq!(signature(&a, &cfg).group_key, signature(&b, &cfg).group_key);
        assert_eq!(signature(&c, &cfg).group_key, None);
        // `service` is the resolved service: OTLP's `service.name` groups like `service`,
        // and an exporter's name is no service at all.
        let otlp = ev("A", "", &[("service.name", "api")]);
        assert_eq!(
            signature(&otlp, &cfg).group_key,
            signature(&a, &cfg).group_key
        );
        let ksm = ev("A", "", &[("service", "kube-state-metrics"), ("pod", "x")]);
        assert_eq!(signature(&ksm, &cfg).group_key, None);
    }
}
