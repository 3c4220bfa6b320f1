//! Dedup: which open cluster, if any, already holds an alert, and what a new event for it is.
//!
//! Keyed by our label-set fingerprint, never by wall-clock windows: a repeat is a repeat
//! however long after the first it arrives, as long as the alert's cluster is open. Owns the
//! fingerprint → cluster index; does not own cluster contents (`cluster.rs`).

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use super::cluster::ClusterKey;
use crate::event::Fingerprint;

/// Index of the alerts in open clusters.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct AlertIndex {
    by_fingerprint: FxHashMap<Fingerprint, ClusterKey>,
}

impl AlertIndex {
    pub fn get(&self, fp: Fingerprint) -> Option<ClusterKey> {
        self.by_fingerprint.get(&fp).copied()
    }

    pub fn insert(&mut self, fp: Fingerprint, key: ClusterKey) {
        self.by_fingerprint.insert(fp, key);
    }

    pub fn remove(&mut self, fp: Fingerprint) {
        self.by_fingerprint.remove(&fp);
    }

    pub fn len(&self) -> usize {
        self.by_fingerprint.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_fingerprint.is_empty()
    }
}
