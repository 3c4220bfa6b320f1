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
//! a group whose alerts fall in several clusters, the key names the cluster of its newest
//! alert, as PagerDuty's key names the newest incident.
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
        let dk = DedupKey(g.to_hex().into());
        if self.source_keys.get(&dk) != Some(&key) {
            self.add_source_key(key, &dk);
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
        }
        if let Some(id) = &ev.source_id {
            if let Some(&c) = self.source_keys.get(&DedupKey(id.clone())) {
                return Some(c);
            }
        }
        alerts.get(ev.fingerprint)
    }
}
