//! Lifecycle linking: which open cluster an acknowledge / resolve / lifecycle event is about.
//!
//! A key may name (checked in this order): a cluster id noisegate issued (the `dedup_key` of
//! its own pages, echoed back by PagerDuty), a source's own key for an alert (an earlier
//! PagerDuty v2 trigger's `dedup_key`, or the fingerprint its sender gave it where that is
//! not ours: Grafana's), or our alert fingerprint (16 hex digits: how history exported from
//! other tools refers to alerts). Last, the event's own fingerprint (an OTLP record whose
//! status says `acknowledged`). Owns the key indexes; decides nothing.
//!
//! A source key may also be a notification group's (see [`GroupKey`]): an alert sent in an
//! Alertmanager or Grafana group makes the group's key name its cluster, so an incident
//! their own PagerDuty integration opened for the group links when it is acknowledged. Of
//! a group whose alerts fall in several clusters, the key names the first of them while it
//! is open: the incident was opened by the group's first notification, and PagerDuty folds
//! the group's later ones into it while it is open. Once that cluster closes, the group's
//! next alert names its own.
//!
//! PagerDuty v3 sub-resource events (annotated, responder.*, status updates) carry only the
//! incident id, not the incident key; once any event of an incident has linked by its key,
//! the incident id (the event's `source_id`) is indexed too, so its later events link.

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use super::cluster::ClusterKey;
use super::dedup::AlertIndex;
use crate::event::{AlertEvent, DedupKey, Fingerprint, GroupKey};
use crate::record::ClusterId;

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct LinkIndex {
    cluster_ids: FxHashMap<String, ClusterKey>,
    source_keys: FxHashMap<DedupKey, ClusterKey>,
    /// Reverse index so closing a cluster removes its source keys.
    keys_of: FxHashMap<ClusterKey, Vec<DedupKey>>,
    /// Notification groups (see [`GroupKey`]) and, reversed, the groups naming a cluster.
    #[serde(default)]
    groups: FxHashMap<GroupKey, ClusterKey>,
    #[serde(default)]
    groups_of: FxHashMap<ClusterKey, Vec<GroupKey>>,
}

impl LinkIndex {
    pub fn add_cluster(&mut self, key: ClusterKey, id: &ClusterId) {
        self.cluster_ids.insert(id.0.clone(), key);
    }

    pub fn add_source_key(&mut self, key: ClusterKey, dk: &DedupKey) {
        self.source_keys.insert(dk.clone(), key);
        self.keys_of.entry(key).or_default().push(dk.clone());
    }

    /// Notification group `g` names cluster `key` (see the module doc).
    pub fn add_group(&mut self, key: ClusterKey, g: GroupKey) {
        if let std::collections::hash_map::Entry::Vacant(v) = self.groups.entry(g) {
            v.insert(key);
            self.groups_of.entry(key).or_default().push(g);
        }
    }

    /// The senders' keys that name cluster `key`.
    pub fn source_keys_of(&self, key: ClusterKey) -> &[DedupKey] {
        self.keys_of.get(&key).map_or(&[], Vec::as_slice)
    }

    pub fn remove_cluster(&mut self, key: ClusterKey, id: &ClusterId) {
        if self.cluster_ids.get(&id.0) == Some(&key) {
            self.cluster_ids.remove(&id.0);
        }
        for dk in self.keys_of.remove(&key).unwrap_or_default() {
            if self.source_keys.get(&dk) == Some(&key) {
                self.source_keys.remove(&dk);
            }
        }
        for g in self.groups_of.remove(&key).unwrap_or_default() {
            if self.groups.get(&g) == Some(&key) {
                self.groups.remove(&g);
            }
        }
    }

    /// Cluster `from` (id `from_id`) was merged into `to`: everything naming it now names `to`.
    pub fn reassign(&mut self, from: ClusterKey, from_id: &ClusterId, to: ClusterKey) {
        if let Some(k) = self.cluster_ids.get_mut(&from_id.0) {
            *k = to;
        }
        for dk in self.keys_of.remove(&from).unwrap_or_default() {
            if let Some(k) = self.source_keys.get_mut(&dk) {
                if *k == from {
                    *k = to;
                }
            }
            self.keys_of.entry(to).or_default().push(dk);
        }
        for g in self.groups_of.remove(&from).unwrap_or_default() {
            if let Some(k) = self.groups.get_mut(&g) {
                if *k == from {
                    *k = to;
                }
            }
            self.groups_of.entry(to).or_default().push(g);
        }
    }

    pub fn find(&self, ev: &AlertEvent, alerts: &AlertIndex) -> Option<ClusterKey> {
        if let Some(dk) = &ev.dedup_key {
            let k = dk.as_str();
            if let Some(&c) = self.cluster_ids.get(k) {
                return Some(c);
            }
            if let Some(&c) = self.source_keys.get(dk) {
                return Some(c);
            }
            if let Some(c) = Fingerprint::parse_hex(k).and_then(|fp| alerts.get(fp)) {
                return Some(c);
            }
            if let Some(&c) = GroupKey::from_pagerduty_key(k).and_then(|g| self.groups.get(&g)) {
                return Some(c);
            }
        }
        if let Some(id) = &ev.source_id {
            if let Some(&c) = self.source_keys.get(&DedupKey(id.clone())) {
                return Some(c);
            }
        }
        alerts.get(ev.fingerprint)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{EventKind, EventTime, Labels, Severity, Source};

    /// An acknowledgement naming `key`, as PagerDuty's webhook carries it.
    fn ack(key: &str) -> AlertEvent {
        AlertEvent {
            source: Source::PagerDutyV3,
            kind: EventKind::Acknowledged,
            time: EventTime(0),
            fingerprint: Fingerprint(1),
            source_id: None,
            dedup_key: Some(DedupKey(key.into())),
            alertname: Default::default(),
            labels: Labels::new(),
            annotations: Default::default(),
            severity: Severity::Warning,
            service: None,
            team: None,
            actor: None,
            ends_at: None,
            sender: None,
            group: None,
            listed: None,
        }
    }

    #[test]
    fn a_group_names_its_first_open_cluster_then_follows_merges_and_closes() {
        // sha256(`{}:{alertname="DiskFull"}`), as Alertmanager sends it to PagerDuty.
        let pd_key = "17c4e445d234645c9e547ff6d32a864af0ebdadcd1902771c24c8d366637ff41";
        let g = GroupKey::of(r#"{}:{alertname="DiskFull"}"#);
        let (none, mut l) = (AlertIndex::default(), LinkIndex::default());
        let id = |n: u64| ClusterId(format!("ng-{n}"));
        l.add_group(1, g);
        l.add_group(2, g);
        l.add_group(1, g);
        assert_eq!(
            l.find(&ack(pd_key), &none),
            Some(1),
            "the first cluster keeps it"
        );
        assert_eq!(l.groups_of.get(&1).map(Vec::len), Some(1), "listed once");
        l.reassign(1, &id(1), 3);
        assert_eq!(l.find(&ack(pd_key), &none), Some(3), "merged into 3");
        l.remove_cluster(3, &id(3));
        assert_eq!(l.find(&ack(pd_key), &none), None, "closed with its cluster");
        l.add_group(2, g);
        assert_eq!(
            l.find(&ack(pd_key), &none),
            Some(2),
            "the group's next alert names 2"
        );
        assert!(!l.groups_of.contains_key(&1) && !l.groups_of.contains_key(&3));
    }
}
