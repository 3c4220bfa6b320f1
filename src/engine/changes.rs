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

/// What a change is about: `service:NAME` or `team:NAME` (a string, so the log serialises
/// as a JSON object in a snapshot).
pub type Scope = String;

/// The scopes of a change event, or of an alert: its service and its team.
pub fn scopes(service: Option<&str>, team: Option<&str>) -> impl Iterator<Item = Scope> {
    service
        .map(|s| format!("service:{s}"))
        .into_iter()
        .chain(team.map(|t| format!("team:{t}")))
}

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

/// Recent changes per scope, oldest first.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ChangeLog {
    by_scope: BTreeMap<Scope, VecDeque<ChangeRef>>,
}

impl ChangeLog {
    pub fn is_empty(&self) -> bool {
        self.by_scope.is_empty()
    }

    /// Logs `c` under each of its scopes, forgetting what is older than `keep_from`.
    /// Returns how many scopes were shed to stay within [`MAX_SCOPES`]; a change seen
    /// before (a retried send) is not logged twice.
    pub fn insert(&mut self, c: &ChangeRef, keep_from: EventTime) -> u64 {
        let mut shed = 0;
        for scope in scopes(c.service.as_deref(), c.team.as_deref()) {
            if !self.by_scope.contains_key(&scope) && self.by_scope.len() >= MAX_SCOPES {
                // The scope whose newest change is the oldest.
                let stale = self
                    .by_scope
                    .iter()
                    .min_by_key(|(s, q)| (q.back().map(|c| c.time), *s))
                    .map(|(s, _)| s.clone());
                if let Some(s) = stale {
                    self.by_scope.remove(&s);
                    shed += 1;
                }
            }
            let q = self.by_scope.entry(scope).or_default();
            if q.contains(c) {
                continue;
            }
            let at = q.partition_point(|x| x.time <= c.time);
            q.insert(at, c.clone());
            while q.front().is_some_and(|x| x.time < keep_from) || q.len() > MAX_PER_SCOPE {
                q.pop_front();
            }
        }
        self.by_scope.retain(|_, q| !q.is_empty());
        shed
    }

    /// The logged changes to these scopes at or after `from`.
    pub fn since<'a>(
        &'a self,
        service: Option<&str>,
        team: Option<&str>,
        from: EventTime,
    ) -> impl Iterator<Item = &'a ChangeRef> {
        scopes(service, team)
            .filter_map(|s| self.by_scope.get(&s))
            .flat_map(move |q| q.iter().filter(move |c| c.time >= from))
            .collect::<Vec<_>>()
            .into_iter()
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
