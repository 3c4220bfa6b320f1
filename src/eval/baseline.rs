//! An Alertmanager-style baseline on the same input stream: what a stock Alertmanager route
//! (`group_by: [alertname, cluster]`, `group_wait: 30s`, `group_interval: 5m`,
//! `repeat_interval: 4h`, PagerDuty receiver with `send_resolved: true`) would have sent.
//!
//! The simulation runs in event time over the decoded events sorted by time (stable, so
//! equal times keep stream order). It follows Alertmanager's dispatcher and dedup stage:
//! - an alert for a group key with no live group creates an aggregation group; its first
//!   flush is `group_wait` after that alert, then one every `group_interval`;
//! - at a flush the group notifies if it never notified before and has firing alerts; or a
//!   firing alert is not in the last notification's firing set; or nothing fires any more
//!   and the last notification had firing alerts (the resolve notification); or an alert
//!   resolved that the last notification did not list as resolved; or else `repeat_interval`
//!   has passed since the last notification and something fires;
//! - after every flush its resolved alerts are removed; a group left empty is deleted, and
//!   the next alert for its key starts a new group (a new group episode).
//!
//! A notification with firing alerts is a page (a PagerDuty trigger); the notification sent
//! when every alert has resolved is a PagerDuty resolve and is counted apart. One group
//! episode is one cluster. Events at time `t` are applied before flushes due at `t`. After
//! the last event, flushes run for one more `group_interval` (so pending first
//! notifications go out), then the simulation stops.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::path::PathBuf;

use rustc_hash::{FxHashMap, FxHashSet};
use serde::Serialize;

use super::metrics::{ClusterIn, Span, SystemIn};
use super::truth::NEVER;
use crate::config::Config;
use crate::decode::{self, Ctx};
use crate::event::{AlertEvent, EventKind, EventTime, Source, Str};

/// The Alertmanager route simulated.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Params {
    pub group_by: Vec<String>,
    pub group_wait_seconds: f64,
    pub group_interval_seconds: f64,
    pub repeat_interval_seconds: f64,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            group_by: vec!["alertname".into(), "cluster".into()],
            group_wait_seconds: 30.0,
            group_interval_seconds: 300.0,
            repeat_interval_seconds: 4.0 * 3600.0,
        }
    }
}

/// What reading the input stream found.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct InputStats {
    /// Non-blank lines read.
    pub payloads: u64,
    /// Lines skipped: undecodable or over `input.max_payload_bytes`.
    pub bad_lines: u64,
    /// Firing/resolved events used by the simulation (its raw alert events).
    pub alert_events: u64,
    /// Events not about an alert's state: acks and lifecycle, PagerDuty webhook v3 events,
    /// and PagerDuty Events v2 resolves for a key that is not a live alert.
    pub other_events: u64,
}

/// What the simulation sent.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct SimStats {
    pub group_episodes: u64,
    /// Notifications with firing alerts (pages).
    pub pages: u64,
    /// Notifications sent when every alert of the group had resolved.
    pub resolve_notifications: u64,
}

/// A decoded event, reduced to what the simulation needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ev {
    pub time: i64,
    pub firing: bool,
    /// From PagerDuty Events v2: a resolve for an unknown key names an incident, not an alert.
    pub pd: bool,
    pub fp: u64,
    /// The sender's id for the alert as a truth key, when it is not our fingerprint.
    pub sender: Option<u64>,
    /// Interned group key.
    pub group: u32,
    /// Point-in-time alerts: resolved at this time unless sent again ([`NEVER`] if not).
    pub ends_at: i64,
}

/// Group keys interned to small integers.
#[derive(Debug, Default)]
pub struct Keys {
    map: FxHashMap<(Str, Str), u32>,
}

impl Keys {
    pub fn intern(&mut self, alertname: &str, cluster: &str) -> u32 {
        let n = self.map.len() as u32;
        *self
            .map
            .entry((Str::from(alertname), Str::from(cluster)))
            .or_insert(n)
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

fn reduce(ev: &AlertEvent, keys: &mut Keys) -> Option<Ev> {
    let firing = match ev.kind {
        EventKind::Firing => true,
        EventKind::Resolved => false,
        EventKind::Acknowledged | EventKind::Lifecycle(_) | EventKind::Change => return None,
    };
    if ev.source == Source::PagerDutyV3 {
        return None;
    }
    Some(Ev {
        time: ev.time.as_millis(),
        firing,
        pd: ev.source == Source::PagerDutyV2,
        fp: ev.fingerprint.0,
        sender: ev.sender_id().map(super::truth::key_of),
        group: keys.intern(&ev.alertname, ev.labels.get("cluster").unwrap_or("")),
        ends_at: ev.ends_at.map_or(NEVER, EventTime::as_millis),
    })
}

/// Decodes the input stream(s) the way `replay` does (framed and format-sniffed alike, the event
/// time of last resort is the newest event time so far), skipping bad lines.
pub fn read_inputs(
    inputs: &[PathBuf],
    cfg: &Config,
) -> anyhow::Result<(Vec<Ev>, Keys, InputStats)> {
    let mut evs = Vec::new();
    let mut keys = Keys::default();
    let mut stats = InputStats::default();
    let mut max_time: Option<EventTime> = None;
    let mut buf: Vec<AlertEvent> = Vec::new();
    for path in inputs {
        super::input::for_each_payload(path, cfg.max_payload_bytes, |_, line, cut| {
            stats.payloads += 1;
            if cut {
                stats.bad_lines += 1;
                return Ok(());
            }
            buf.clear();
            let ctx = Ctx {
                opts: &cfg.decode,
                received_at: max_time,
            };
            if decode::decode_auto(line, &ctx, &mut buf).is_err() {
                stats.bad_lines += 1;
                return Ok(());
            }
            for ev in &buf {
                max_time = Some(max_time.map_or(ev.time, |m| m.max(ev.time)));
                match reduce(ev, &mut keys) {
                    Some(e) => evs.push(e),
                    None => stats.other_events += 1,
                }
            }
            Ok(())
        })?;
    }
    Ok((evs, keys, stats))
}

#[derive(Debug, Clone, Copy)]
struct Slot {
    fp: u64,
    sender: Option<u64>,
    firing: bool,
    expires_at: i64,
    /// Index into the spans: the alert's current (or last) firing interval.
    span: u32,
}

#[derive(Debug)]
struct Group {
    key: u32,
    alerts: Vec<Slot>,
    firing: u32,
    /// The alert set changed (an alert started firing or resolved) since the last flush.
    changed: bool,
    /// Earliest `expires_at` of a firing alert (a lower bound).
    min_expiry: i64,
}

/// The last notification of a group key (Alertmanager's notification log entry).
#[derive(Debug, Default)]
struct Entry {
    last: Option<i64>,
    firing: FxHashSet<u64>,
    resolved: FxHashSet<u64>,
}

struct Sim {
    gw: i64,
    gi: i64,
    ri: i64,
    groups: Vec<Group>,
    live: Vec<Option<u32>>,
    entries: Vec<Entry>,
    index: FxHashMap<u64, (u32, u32)>,
    timers: BinaryHeap<Reverse<(i64, u32)>>,
    out: SystemIn,
    stats: SimStats,
    ignored: u64,
}

impl Sim {
    fn group_for(&mut self, key: u32, t: i64) -> u32 {
        if let Some(g) = self.live[key as usize] {
            return g;
        }
        let g = self.groups.len() as u32;
        self.groups.push(Group {
            key,
            alerts: Vec::new(),
            firing: 0,
            changed: false,
            min_expiry: NEVER,
        });
        self.out.clusters.push(ClusterIn {
            name: format!("am-group-{key}-{}", EventTime(t)),
            ..ClusterIn::default()
        });
        self.live[key as usize] = Some(g);
        self.timers.push(Reverse((t.saturating_add(self.gw), g)));
        self.stats.group_episodes += 1;
        g
    }

    fn new_span(&mut self, g: u32, fp: u64, sender: Option<u64>, t: i64) -> u32 {
        self.out.spans.push(Span {
            cluster: g,
            fp,
            sender,
            first: t,
            last: t,
        });
        (self.out.spans.len() - 1) as u32
    }

    fn apply(&mut self, ev: &Ev) {
        let t = ev.time;
        if let Some(&(g, s)) = self.index.get(&ev.fp) {
            let grp = &mut self.groups[g as usize];
            let slot = &mut grp.alerts[s as usize];
            if slot.firing && slot.expires_at <= t {
                slot.firing = false;
                self.out.spans[slot.span as usize].last = slot.expires_at;
                grp.firing -= 1;
                grp.changed = true;
            }
            self.out.clusters[g as usize].raw_events += 1;
            if ev.firing {
                if slot.firing {
                    let sp = &mut self.out.spans[slot.span as usize];
                    sp.last = sp.last.max(t);
                    slot.expires_at = match (slot.expires_at, ev.ends_at) {
                        (NEVER, e) | (_, e @ NEVER) => e,
                        (a, b) => a.max(b),
                    };
                } else {
                    slot.firing = true;
                    slot.expires_at = ev.ends_at;
                    grp.firing += 1;
                    grp.changed = true;
                    let (fp, sender) = (slot.fp, slot.sender);
                    let span = self.new_span(g, fp, sender, t);
                    let grp = &mut self.groups[g as usize];
                    grp.alerts[s as usize].span = span;
                }
                let grp = &mut self.groups[g as usize];
                grp.min_expiry = grp.min_expiry.min(grp.alerts[s as usize].expires_at);
            } else if slot.firing {
                slot.firing = false;
                self.out.spans[slot.span as usize].last = t;
                grp.firing -= 1;
                grp.changed = true;
            } else {
                let sp = &mut self.out.spans[slot.span as usize];
                sp.last = sp.last.max(t);
            }
            return;
        }
        if !ev.firing && ev.pd {
            self.ignored += 1;
            return;
        }
        let g = self.group_for(ev.group, t);
        let span = self.new_span(g, ev.fp, ev.sender, t);
        let grp = &mut self.groups[g as usize];
        self.index.insert(ev.fp, (g, grp.alerts.len() as u32));
        grp.alerts.push(Slot {
            fp: ev.fp,
            sender: ev.sender,
            firing: ev.firing,
            expires_at: if ev.firing { ev.ends_at } else { NEVER },
            span,
        });
        grp.changed = true;
        if ev.firing {
            grp.firing += 1;
            grp.min_expiry = grp.min_expiry.min(ev.ends_at);
        }
        self.out.clusters[g as usize].raw_events += 1;
    }

    fn flush(&mut self, g: u32, now: i64) {
        let grp = &mut self.groups[g as usize];
        if grp.min_expiry <= now {
            let mut min = NEVER;
            for slot in grp.alerts.iter_mut().filter(|s| s.firing) {
                if slot.expires_at <= now {
                    slot.firing = false;
                    self.out.spans[slot.span as usize].last = slot.expires_at;
                    grp.firing -= 1;
                    grp.changed = true;
                } else {
                    min = min.min(slot.expires_at);
                }
            }
            grp.min_expiry = min;
        }
        let entry = &mut self.entries[grp.key as usize];
        let notify = match entry.last {
            None => grp.firing > 0,
            Some(last) if !grp.changed => grp.firing > 0 && now - last >= self.ri,
            Some(last) => {
                if grp
                    .alerts
                    .iter()
                    .any(|s| s.firing && !entry.firing.contains(&s.fp))
                {
                    true
                } else if grp.firing == 0 {
                    !entry.firing.is_empty()
                } else if grp
                    .alerts
                    .iter()
                    .any(|s| !s.firing && !entry.resolved.contains(&s.fp))
                {
                    true
                } else {
                    now - last >= self.ri
                }
            }
        };
        if notify {
            entry.last = Some(now);
            entry.firing.clear();
            entry.resolved.clear();
            for s in &grp.alerts {
                if s.firing {
                    entry.firing.insert(s.fp);
                } else {
                    entry.resolved.insert(s.fp);
                }
            }
            if grp.firing > 0 {
                self.stats.pages += 1;
                self.out.page_times.push(now);
                let c = &mut self.out.clusters[g as usize];
                c.pages += 1;
                c.first_page.get_or_insert(now);
            } else {
                self.stats.resolve_notifications += 1;
            }
        }
        grp.changed = false;
        if (grp.firing as usize) < grp.alerts.len() {
            for s in grp.alerts.iter().filter(|s| !s.firing) {
                self.index.remove(&s.fp);
            }
            grp.alerts.retain(|s| s.firing);
            for (i, s) in grp.alerts.iter().enumerate() {
                self.index.insert(s.fp, (g, i as u32));
            }
        }
        if grp.alerts.is_empty() {
            self.live[grp.key as usize] = None;
        } else {
            self.timers.push(Reverse((now.saturating_add(self.gi), g)));
        }
    }

    fn flush_until(&mut self, t: i64, inclusive: bool) {
        while let Some(&Reverse((due, g))) = self.timers.peek() {
            if due > t || (due == t && !inclusive) {
                break;
            }
            self.timers.pop();
            self.flush(g, due);
        }
    }
}

/// Runs the simulation over events (sorted here by time, stably). `n_keys` is the number of
/// interned group keys. Returns the clusters (group episodes) and what was sent.
pub fn simulate(mut evs: Vec<Ev>, n_keys: usize, p: &Params) -> (SystemIn, SimStats, u64) {
    evs.sort_by_key(|e| e.time);
    let ms = |s: f64| (s * 1000.0).round() as i64;
    let mut sim = Sim {
        gw: ms(p.group_wait_seconds),
        gi: ms(p.group_interval_seconds).max(1),
        ri: ms(p.repeat_interval_seconds),
        groups: Vec::new(),
        live: vec![None; n_keys],
        entries: (0..n_keys).map(|_| Entry::default()).collect(),
        index: FxHashMap::default(),
        timers: BinaryHeap::new(),
        out: SystemIn::default(),
        stats: SimStats::default(),
        ignored: 0,
    };
    for ev in &evs {
        sim.flush_until(ev.time, false);
        sim.apply(ev);
    }
    if let Some(last) = evs.last() {
        let end = last.time.saturating_add(sim.gi);
        sim.flush_until(end, true);
    }
    (sim.out, sim.stats, sim.ignored)
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = 1000;
    const M: i64 = 60 * S;
    const H: i64 = 60 * M;

    fn fire(t: i64, fp: u64) -> Ev {
        Ev {
            time: t,
            firing: true,
            pd: false,
            fp,
            sender: None,
            group: 0,
            ends_at: NEVER,
        }
    }

    fn resolve(t: i64, fp: u64) -> Ev {
        Ev {
            firing: false,
            ..fire(t, fp)
        }
    }

    #[test]
    fn one_alert_firing_five_hours_pages_twice() {
        // Alertmanager re-sends every minute while firing; then resolves at +5 h.
        let t0 = 1_700_000_000_000;
        let mut evs: Vec<Ev> = (0..300).map(|m| fire(t0 + m * M, 1)).collect();
        evs.push(resolve(t0 + 5 * H, 1));
        let (out, st, _) = simulate(evs, 1, &Params::default());
        assert_eq!(out.page_times, vec![t0 + 30 * S, t0 + 4 * H + 30 * S]);
        assert_eq!(st.pages, 2);
        assert_eq!(st.resolve_notifications, 1, "the all-resolved notification");
        assert_eq!(st.group_episodes, 1);
        assert_eq!(out.clusters[0].raw_events, 301);
        assert_eq!(out.spans.len(), 1);
        assert_eq!((out.spans[0].first, out.spans[0].last), (t0, t0 + 5 * H));
    }

    #[test]
    fn second_alert_pages_at_next_group_interval() {
        let t0 = 1_700_000_000_000;
        let evs = vec![
            fire(t0, 1),
            fire(t0 + 2 * M, 2),
            resolve(t0 + 20 * M, 1),
            resolve(t0 + 21 * M, 2),
        ];
        let (out, st, _) = simulate(evs, 1, &Params::default());
        // +30 s first notification; +5m30s the new alert; +20m30s: alert 1 resolved (a
        // trigger listing it resolved, alert 2 still firing); +25m30s: all resolved.
        assert_eq!(
            out.page_times,
            vec![t0 + 30 * S, t0 + 5 * M + 30 * S, t0 + 20 * M + 30 * S]
        );
        assert_eq!(st.resolve_notifications, 1);
        // A new alert after the group was deleted starts a new group episode.
        let evs = vec![fire(t0, 1), resolve(t0 + M, 1), fire(t0 + 10 * M, 2)];
        let (out, st, _) = simulate(evs, 1, &Params::default());
        assert_eq!(st.group_episodes, 2);
        assert_eq!(out.page_times, vec![t0 + 30 * S, t0 + 10 * M + 30 * S]);
        assert_eq!(out.clusters[1].first_page, Some(t0 + 10 * M + 30 * S));
    }

    #[test]
    fn quick_flap_within_group_wait_never_pages() {
        let t0 = 1_700_000_000_000;
        let evs = vec![fire(t0, 1), resolve(t0 + 10 * S, 1)];
        let (out, st, _) = simulate(evs, 1, &Params::default());
        assert!(out.page_times.is_empty());
        assert_eq!(st.resolve_notifications, 0);
        assert_eq!(st.group_episodes, 1);
    }

    #[test]
    fn point_in_time_alert_expires() {
        let t0 = 1_700_000_000_000;
        let mut e = fire(t0, 1);
        e.ends_at = t0 + 5 * M;
        let (out, st, _) = simulate(vec![e, fire(t0 + 6 * H, 9)], 1, &Params::default());
        // Pages at +30 s; resolved by expiry at +5 min (notified at +5m30s); no repeat.
        assert_eq!(out.page_times[0], t0 + 30 * S);
        assert_eq!(out.spans[0].last, t0 + 5 * M);
        assert_eq!(st.resolve_notifications, 1);
        assert_eq!(st.group_episodes, 2);
    }
}
