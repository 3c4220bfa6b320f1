//! Changes as context: deploys and rollouts (PagerDuty Change Events) shown on the clusters
//! of the service or team they are about.
//!
//! "What changed?" is the first question on a page, and the answer is usually a deploy of
//! the failing service minutes before. So the engine keeps each scope's (service's, team's)
//! recent changes, and a cluster carries the changes to its services and team from
//! `engine.change_lookback` before it opened until it closes: those already logged when an
//! alert of a scope joins it, and those that arrive while it is open. Its page and record
//! show them.
//!
//! Owns the log and which changes a cluster shows. Must not decide anything: a change never
//! opens, joins, merges, scores or pages a cluster (how much a recent change should weigh
//! needs outcomes to learn from, which the generated weeks do not have; `tune` can fit it
//! once a feature exists). Bounded: at most [`MAX_PER_SCOPE`] changes per scope within the
//! lookback, [`MAX_SCOPES`] scopes (the least recently changed is shed and counted), and
//! [`MAX_PER_CLUSTER`] changes per cluster (the newest kept).

use std::collections::{BTreeMap, VecDeque};

use serde::{Deserialize, Serialize};

use crate::event::{AlertEvent, EventTime};
use crate::record::ChangeRef;

/// Changes kept per service or team (the newest).
pub const MAX_PER_SCOPE: usize = 8;
/// Services and teams with changes kept.
pub const MAX_SCOPES: usize = 10_000;
/// Changes a cluster shows (the newest).
pub const MAX_PER_CLUSTER: usize = 8;

/// A change event as records show it.
pub fn to_ref(ev: &AlertEvent) -> ChangeRef {
    ChangeRef {
        time: ev.time,
        service: ev.service.as_deref().map(String::from),
        team: ev.team.as_deref().map(String::from),
        summary: ev.annotations.summary.clone().unwrap_or_default(),
        source: ev.labels.get("source").map(String::from),
        link: ev.annotations.runbook.clone(),
    }
}

type Queue = VecDeque<ChangeRef>;

/// Recent changes per service and per team (the scopes), oldest first. Looked up by the
/// borrowed name, so a new alert's lookup allocates nothing.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ChangeLog {
    #[serde(default)]
    by_service: BTreeMap<String, Queue>,
    #[serde(default)]
    by_team: BTreeMap<String, Queue>,
}

impl ChangeLog {
    pub fn is_empty(&self) -> bool {
        self.by_service.is_empty() && self.by_team.is_empty()
    }

    /// Logs `c` under each of its scopes, forgetting what is older than `keep_from`.
    /// Returns how many scopes were shed to stay within [`MAX_SCOPES`]; a change seen
    /// before (a retried send) is not logged twice.
    pub fn insert(&mut self, c: &ChangeRef, keep_from: EventTime) -> u64 {
        let mut shed = 0;
        for team in [false, true] {
            let name = if team { &c.team } else { &c.service };
            let Some(name) = name else { continue };
            let known = if team {
                self.by_team.contains_key(name)
            } else {
                self.by_service.contains_key(name)
            };
            if !known && self.by_service.len() + self.by_team.len() >= MAX_SCOPES {
                shed += u64::from(self.shed_stalest());
            }
            let map = if team {
                &mut self.by_team
            } else {
                &mut self.by_service
            };
            let q = map.entry(name.clone()).or_default();
            if !q.contains(c) {
                let at = q.partition_point(|x| x.time <= c.time);
                q.insert(at, c.clone());
                while q.front().is_some_and(|x| x.time < keep_from) || q.len() > MAX_PER_SCOPE {
                    q.pop_front();
                }
            }
            if q.is_empty() {
                map.remove(name);
            }
        }
        shed
    }

    /// Forgets the scope whose newest change is the oldest.
    fn shed_stalest(&mut self) -> bool {
        let newest = |m: &BTreeMap<String, Queue>| {
            m.iter()
                .min_by_key(|(n, q)| (q.back().map(|c| c.time), *n))
                .map(|(n, q)| (q.back().map(|c| c.time), n.clone()))
        };
        match (newest(&self.by_service), newest(&self.by_team)) {
            (Some(s), Some(t)) if t < s => self.by_team.remove(&t.1).is_some(),
            (Some(s), _) => self.by_service.remove(&s.1).is_some(),
            (None, Some(t)) => self.by_team.remove(&t.1).is_some(),
            (None, None) => false,
        }
    }

    /// The logged changes to this service and team at or after `from`.
    pub fn since<'a>(
        &'a self,
        service: Option<&str>,
        team: Option<&str>,
        from: EventTime,
    ) -> impl Iterator<Item = &'a ChangeRef> + 'a {
        let by_service = service.and_then(|s| self.by_service.get(s));
        let by_team = team.and_then(|t| self.by_team.get(t));
        by_service
            .into_iter()
            .chain(by_team)
            .flat_map(move |q| q.iter().filter(move |c| c.time >= from))
    }
}

/// Adds `c` to a cluster's changes: once, in time order, the newest [`MAX_PER_CLUSTER`].
pub fn add_to(list: &mut Vec<ChangeRef>, c: &ChangeRef) {
    if list.contains(c) {
        return;
    }
    let at = list.partition_point(|x| x.time <= c.time);
    list.insert(at, c.clone());
    if list.len() > MAX_PER_CLUSTER {
        list.remove(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(t: i64, service: Option<&str>, team: Option<&str>, what: &str) -> ChangeRef {
        ChangeRef {
            time: EventTime(t),
            service: service.map(String::from),
            team: team.map(String::from),
            summary: what.into(),
            source: None,
            link: None,
        }
    }

    #[test]
    fn changes_are_found_by_service_or_team_within_the_lookback() {
        let mut log = ChangeLog::default();
        let a = change(
            1_000,
            Some("checkout"),
            Some("payments"),
            "deploy checkout v2",
        );
        let b = change(2_000, None, Some("payments"), "flag rollout");
        let c = change(3_000, Some("search"), None, "deploy search");
        for x in [&a, &b, &c] {
            assert_eq!(log.insert(x, EventTime(0)), 0);
        }
        // Retried sends are one change.
        log.insert(&a, EventTime(0));
        let got: Vec<_> = log
            .since(Some("checkout"), Some("payments"), EventTime(0))
            .collect();
        assert_eq!(got, vec![&a, &a, &b], "under both scopes it names");
        let got: Vec<_> = log
            .since(Some("checkout"), None, EventTime(1_500))
            .collect();
        assert!(got.is_empty());
        let got: Vec<_> = log
            .since(Some("search"), Some("other"), EventTime(0))
            .collect();
        assert_eq!(got, vec![&c]);
        // Older than the lookback is forgotten on the next insert.
        log.insert(&change(9_000, Some("search"), None, "x"), EventTime(5_000));
        assert_eq!(log.since(Some("search"), None, EventTime(0)).count(), 1);
    }

    #[test]
    fn the_log_and_a_clusters_list_stay_bounded() {
        let mut log = ChangeLog::default();
        for i in 0..(MAX_PER_SCOPE as i64 + 5) {
            log.insert(&change(i, Some("s"), None, &format!("{i}")), EventTime(0));
        }
        let kept: Vec<_> = log.since(Some("s"), None, EventTime(0)).collect();
        assert_eq!(kept.len(), MAX_PER_SCOPE);
        assert_eq!(kept[0].summary, "5", "the newest are kept");
        let mut shed = 0;
        for i in 0..(MAX_SCOPES as i64 + 3) {
            shed += log.insert(
                &change(100 + i, Some(&format!("svc{i}")), None, "d"),
                EventTime(0),
            );
        }
        assert_eq!(shed, 4, "the least recently changed scopes go first");
        assert_eq!(log.since(Some("s"), None, EventTime(0)).count(), 0);
        let mut list = Vec::new();
        for i in (0..20).rev() {
            add_to(&mut list, &change(i, Some("s"), None, &format!("{i}")));
        }
        add_to(&mut list, &change(19, Some("s"), None, "19"));
        assert_eq!(list.len(), MAX_PER_CLUSTER);
        assert!(list.windows(2).all(|w| w[0].time <= w[1].time));
    }
}
