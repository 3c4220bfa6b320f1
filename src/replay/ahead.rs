//! Events stamped ahead of the rest of their input: a sender's clock was wrong.
//!
//! `noisegate run` checks each event against the wall clock when it arrives
//! (`service::skew`). A file has no arrival times, but it has order: an input is read in the
//! order its lines were written, and its clock is the newest event time so far. One event
//! stamped a day ahead (a host without NTP, a test notification from a box set to the wrong
//! year) would move the engine's clock a day on: every hold ends, every quiet period passes,
//! and the real traffic after it is a day late. On seed 3's `mixed` week, one such
//! notification cost 7 of its 34 incidents. With several inputs it would also hold its own
//! input back in the merge for that day.
//!
//! So an event more than `[input] max_clock_skew` ahead of its input's clock is checked
//! against the lines after it, which were sent later. Only events stamped about when they
//! were sent can tell (see [`sent_at`]): a resolve, an OTLP record, a PagerDuty event. A
//! firing Alertmanager or Grafana alert cannot: every re-send keeps the alert's `startsAt`,
//! so the standing alerts at the start of a capture arrive stamped hours or days apart in
//! any order, and the clock lags what was already known. Each line with such events is a
//! witness, by their median ([`witness`]). If most of the first [`WITNESSES`] (within
//! [`LOOKAHEAD_LINES`]) are still more than `max_clock_skew` before the event, the input had
//! not got that far, and the event is taken as of the input's clock, with its expiry. The
//! clock is the last time the input is sure of: a later one, even a witness's, could be
//! later than firing alerts delivered before that witness, and would make them late. If
//! most witnesses are not that far before, the jump was real: the first alert after a quiet
//! night is followed by events at its own time or later, and stays as it is.
//!
//! Who may not witness: the alerts seen ahead (the last [`SUSPECTS_REMEMBERED`] of them),
//! whose re-sends and resolves come from the same clock; and times more than
//! `max_clock_skew` before the input's clock, which were held up somewhere or are an old
//! capture pasted in. A majority, not the first witness, decides, because an alert from the
//! same wrong clock not yet seen may come first, and one event let through moves the clock
//! for good. A genuine event is moved back only when most lines after it were delivered
//! more than `max_clock_skew` after they were stamped (heavy disorder, or an Alertmanager
//! `group_interval` longer than that on a quiet stream), and then only to the clock.
//!
//! Owns only that judgement (the look-ahead is the merge's). Must not: judge an input's
//! first line (there is no clock yet), or see the engine.

use std::collections::VecDeque;

use rustc_hash::FxHashSet;

use crate::event::{AlertEvent, EventKind, EventTime, Fingerprint, Source};

/// Witnesses asked about an event that seems ahead; most decide.
pub const WITNESSES: usize = 5;

/// Lines after an event searched for witnesses. In a busy week one does every ten
/// lines or so, with gaps of a few hundred lines of Alertmanager re-sends; a sparse input
/// tells in its next lines. An event without a witness within the bound stays as it is.
pub const LOOKAHEAD_LINES: usize = 4096;

/// The event's time if it is about when the event was sent, so that a later line stamped
/// well before another event shows that event was stamped ahead. `None` for a firing alert
/// of Alertmanager or Grafana (a re-send keeps `startsAt`) and for Prometheus' alert lists
/// (a resolved alert is re-sent for 15 minutes with its `endsAt`), nor for Grafana's legacy
/// webhooks (stamped on arrival).
pub fn sent_at(ev: &AlertEvent) -> Option<i64> {
    let resent = match ev.source {
        Source::Alertmanager | Source::Grafana => ev.kind == EventKind::Firing,
        // Stamped on arrival, not by a sender's clock: it tells nothing of one.
        Source::Prometheus | Source::GrafanaLegacy => true,
        Source::Otlp | Source::PagerDutyV2 | Source::PagerDutyV3 => false,
    };
    (!resent).then_some(ev.time.as_millis())
}

/// Alerts seen stamped ahead: their later events (re-sends, the resolve) come from the same
/// clock and cannot witness for another alert's. Bounded: the oldest are forgotten first.
#[derive(Default)]
pub struct Suspects {
    order: VecDeque<Fingerprint>,
    set: FxHashSet<Fingerprint>,
}

/// Suspects remembered per input.
pub const SUSPECTS_REMEMBERED: usize = 4096;

impl Suspects {
    /// Remembers the alerts of `line` stamped after `limit`.
    pub fn note(&mut self, line: &[AlertEvent], limit: i64) {
        for e in line.iter().filter(|e| e.time.as_millis() > limit) {
            if self.set.insert(e.fingerprint) {
                self.order.push_back(e.fingerprint);
                if self.order.len() > SUSPECTS_REMEMBERED {
                    if let Some(old) = self.order.pop_front() {
                        self.set.remove(&old);
                    }
                }
            }
        }
    }

    pub fn contains(&self, fp: &Fingerprint) -> bool {
        self.set.contains(fp)
    }
}

/// What one line says about when it was sent: the lower median of its [`sent_at`] times
/// within `[from, upto]`, leaving out the `suspects` (alerts seen ahead, which cannot vouch
/// for themselves or for each other). The median, because a notification may carry alerts
/// from more than one Prometheus, and the wrong clock is the exception. Times before `from`
/// (the input's clock less `max_clock_skew`) are left out too: an event that old when the
/// line was sent was held up somewhere, or is an old capture pasted in, and says nothing
/// about the present.
pub fn witness(line: &[AlertEvent], suspects: &Suspects, from: i64, upto: i64) -> Option<i64> {
    let mut times: Vec<i64> = line
        .iter()
        .filter(|e| !suspects.contains(&e.fingerprint))
        .filter_map(sent_at)
        .filter(|&t| t >= from && t <= upto)
        .collect();
    if times.is_empty() {
        return None;
    }
    let mid = (times.len() - 1) / 2;
    Some(*times.select_nth_unstable(mid).1)
}

/// The latest time an event of an input at `clock` may carry unquestioned: `max_skew_ms`
/// after it. `None` when nothing is judged: the guard is off, or the input has no clock yet
/// (`i64::MIN`, before its first line).
pub fn limit(clock: i64, max_skew_ms: i64) -> Option<i64> {
    (max_skew_ms > 0 && clock != i64::MIN).then(|| clock.saturating_add(max_skew_ms))
}

/// Whether any event of `line` is stamped past [`limit`]: the cheap test that decides
/// whether [`restamp_ahead`] needs the lines after it.
pub fn any_ahead(line: &[AlertEvent], clock: i64, max_skew_ms: i64) -> bool {
    limit(clock, max_skew_ms).is_some_and(|l| line.iter().any(|e| e.time.as_millis() > l))
}

/// Restamps the events of `line` stamped past [`limit`] when the `witnesses` (one
/// [`witness`] from this line's other events, then one from each line after it) show the
/// input had not got that far: most of them are more than `max_skew_ms` before the event's
/// own, though they were sent after it. Each such event is taken as of `clock`. Returns how
/// many moved.
pub fn restamp_ahead(
    line: &mut [AlertEvent],
    clock: i64,
    max_skew_ms: i64,
    witnesses: &[i64],
) -> usize {
    let Some(limit) = limit(clock, max_skew_ms) else {
        return 0;
    };
    let mut moved = 0;
    for ev in line.iter_mut().filter(|e| e.time.as_millis() > limit) {
        let before = ev.time.as_millis().saturating_sub(max_skew_ms);
        let behind = witnesses.iter().filter(|&&w| w < before).count();
        if 2 * behind > witnesses.len() {
            ev.restamp(EventTime(clock));
            moved += 1;
        }
    }
    moved
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::{decode, Ctx, DecodeOptions, Format};

    const MIN: i64 = 60_000;
    const DAY: i64 = 24 * 60 * MIN;
    /// 2024-01-01T00:00:00Z.
    const T0: i64 = 1_704_067_200_000;

    /// One alert of an Alertmanager notification: firing since `start`, or resolved at `end`.
    fn am(name: &str, start: i64, end: Option<i64>) -> AlertEvent {
        let opts = DecodeOptions::default();
        let ctx = Ctx {
            opts: &opts,
            received_at: None,
        };
        let at = |ms: i64| EventTime(ms).to_rfc3339();
        let (status, ends) = match end {
            Some(e) => ("resolved", at(e)),
            None => ("firing", "0001-01-01T00:00:00Z".to_string()),
        };
        let body = format!(
            r#"{{"version":"4","status":"{status}","alerts":[{{"status":"{status}","labels":{{"alertname":"{name}"}},"startsAt":"{}","endsAt":"{ends}"}}]}}"#,
            at(start)
        );
        let mut out = Vec::new();
        decode(Format::Alertmanager, body.as_bytes(), &ctx, &mut out).unwrap();
        out.remove(0)
    }

    /// What the merge looks for, with each event a line of its own.
    fn witnesses(events: &[AlertEvent]) -> Vec<i64> {
        events
            .iter()
            .filter_map(|e| {
                witness(
                    std::slice::from_ref(e),
                    &Suspects::default(),
                    i64::MIN,
                    i64::MAX,
                )
            })
            .take(WITNESSES)
            .collect()
    }

    #[test]
    fn an_event_a_day_ahead_of_a_stream_that_goes_on_is_taken_as_of_the_inputs_clock() {
        let mut line = [am("Ahead", T0 + DAY, None)];
        // The stream goes on: resolves at 00:01 and 00:02 (a firing re-send in between
        // tells nothing). The notification was sent after 00:00, the input's clock, and
        // before 00:01.
        let later = [
            am("Old", T0 - DAY, None),
            am("A", T0 - 10 * MIN, Some(T0 + MIN)),
            am("B", T0 - 10 * MIN, Some(T0 + 2 * MIN)),
        ];
        assert_eq!(witnesses(&later), [T0 + MIN, T0 + 2 * MIN]);
        assert_eq!(restamp_ahead(&mut line, T0, 5 * MIN, &witnesses(&later)), 1);
        assert_eq!(line[0].time, EventTime(T0));
        // A resolve a day ahead is taken back the same way.
        let mut line = [am("Ahead", T0 + DAY - MIN, Some(T0 + DAY))];
        assert_eq!(restamp_ahead(&mut line, T0, 5 * MIN, &witnesses(&later)), 1);
        assert_eq!(line[0].time, EventTime(T0));
    }

    #[test]
    fn another_alert_from_the_same_wrong_clock_is_outvoted() {
        // A second alert a day ahead resolves first; the two after it are on time.
        let mut line = [am("Ahead", T0 + DAY, None)];
        let later = [
            am("AlsoAhead", T0 + DAY - MIN, Some(T0 + DAY + MIN)),
            am("A", T0 - 10 * MIN, Some(T0 + MIN)),
            am("B", T0 - 10 * MIN, Some(T0 + 2 * MIN)),
        ];
        assert_eq!(restamp_ahead(&mut line, T0, 5 * MIN, &witnesses(&later)), 1);
        // With only that one to ask, it would have been let through.
        let mut line = [am("Ahead", T0 + DAY, None)];
        assert_eq!(restamp_ahead(&mut line, T0, 5 * MIN, &[T0 + DAY + MIN]), 0);
    }

    #[test]
    fn a_witness_from_long_before_says_nothing() {
        // Resolves from an old capture pasted after the stream (stamped in 2020) were not
        // sent in the present: the line after a genuine jump that carries them is no witness.
        let old = [am("Old", T0 - 400 * DAY - MIN, Some(T0 - 400 * DAY))];
        let from = T0 - 5 * MIN;
        let none = Suspects::default();
        assert_eq!(witness(&old, &none, from, i64::MAX), None);
        // One stamped a minute before the clock is: a storm's resolves lag its newest alert.
        let recent = [am("Recent", T0 - 2 * MIN, Some(T0 - MIN))];
        assert_eq!(witness(&recent, &none, from, i64::MAX), Some(T0 - MIN));
    }

    #[test]
    fn an_alert_seen_ahead_before_cannot_witness_later() {
        // An alert from the wrong clock was seen ahead an hour ago; now another from the same
        // clock is ahead, and the first one's resolve comes next, a day ahead too.
        let mut suspects = Suspects::default();
        let earlier = am("Ahead1", T0 + DAY - 60 * MIN, None);
        suspects.note(std::slice::from_ref(&earlier), T0 - 55 * MIN);
        let resolve = [am("Ahead1", T0 + DAY - 60 * MIN, Some(T0 + DAY + MIN))];
        assert_eq!(witness(&resolve, &suspects, T0 - 5 * MIN, i64::MAX), None);
        assert_eq!(
            witness(&resolve, &Suspects::default(), T0 - 5 * MIN, i64::MAX),
            Some(T0 + DAY + MIN)
        );
        // Only alerts past the limit are noted, and only so many are kept.
        let mut s = Suspects::default();
        s.note(&[am("OnTime", T0, None)], T0 + 5 * MIN);
        assert!(!s.contains(&am("OnTime", T0, None).fingerprint));
        for i in 0..=SUSPECTS_REMEMBERED {
            s.note(&[am(&format!("A{i}"), T0 + DAY, None)], T0);
        }
        assert!(!s.contains(&am("A0", T0 + DAY, None).fingerprint));
        assert!(s.contains(&am("A1", T0 + DAY, None).fingerprint));
    }

    #[test]
    fn its_lease_moves_with_it() {
        let mut line = [am("Ahead", T0 + DAY, None)];
        line[0].ends_at = Some(EventTime(T0 + DAY + 4 * MIN));
        assert_eq!(restamp_ahead(&mut line, T0, 5 * MIN, &[T0 + MIN]), 1);
        assert_eq!(line[0].ends_at, Some(EventTime(T0 + 4 * MIN)));
    }

    #[test]
    fn a_real_jump_forward_stays() {
        // The first alert after a quiet night at 06:00, then resolves at 06:00 and later.
        let morning = T0 + 6 * 60 * MIN;
        let later = [
            am("Old", T0 - DAY, None),
            am("A", morning - MIN, Some(morning)),
            am("B", morning - MIN, Some(morning + 30_000)),
        ];
        let mut line = [am("Morning", morning, None)];
        assert_eq!(witnesses(&later), [morning, morning + 30_000]);
        assert_eq!(restamp_ahead(&mut line, T0, 5 * MIN, &witnesses(&later)), 0);
        assert_eq!(line[0].time, EventTime(morning));
        // Nothing after it that tells (the end of the input): it stays too.
        assert_eq!(restamp_ahead(&mut line, T0, 5 * MIN, &[]), 0);
        // A resolve stamped between, after two at its own time, is outvoted.
        let mut later = later.to_vec();
        later.push(am("Late", T0 - MIN, Some(T0 + MIN)));
        assert_eq!(witnesses(&later).len(), 3);
        assert_eq!(restamp_ahead(&mut line, T0, 5 * MIN, &witnesses(&later)), 0);
    }

    #[test]
    fn standing_alerts_at_the_start_of_a_capture_stay_as_stamped() {
        // A capture starts with re-sends of alerts that began before it, in any order: the
        // clock (08:16, the first line's) lags, and an alert that began at 20:42 is followed
        // by one that began at 11:20. Both were known when the capture started.
        let clock = T0 + (8 * 60 + 16) * MIN;
        let mut line = [am("Jvm", T0 + (20 * 60 + 42) * MIN, None)];
        let later = [am("Hpa", T0 + (11 * 60 + 20) * MIN, None)];
        assert!(witnesses(&later).is_empty());
        assert_eq!(
            restamp_ahead(&mut line, clock, 5 * MIN, &witnesses(&later)),
            0
        );
    }

    #[test]
    fn only_the_events_ahead_move_and_only_past_the_allowed_skew() {
        // One payload with an alert from a host a day ahead and a resolve on time: the
        // resolve shows the input had not got that far.
        let mut line = [
            am("Ahead", T0 + DAY, None),
            am("OnTime", T0, Some(T0 + MIN)),
        ];
        let mut suspects = Suspects::default();
        suspects.note(&line, T0 + 5 * MIN);
        let own: Vec<i64> = witness(&line, &suspects, T0 - 5 * MIN, T0 + 5 * MIN)
            .into_iter()
            .collect();
        assert_eq!(own, [T0 + MIN]);
        assert_eq!(restamp_ahead(&mut line, T0, 5 * MIN, &own), 1);
        assert_eq!(line[0].time, EventTime(T0));
        assert_eq!(line[1].time, EventTime(T0 + MIN));
        // Four minutes ahead is within the allowed skew; so is anything with the guard off,
        // or before the input has a clock.
        let mut line = [am("Close", T0 + 4 * MIN, None)];
        assert_eq!(restamp_ahead(&mut line, T0, 5 * MIN, &[T0 + MIN]), 0);
        let mut line = [am("Ahead", T0 + DAY, None)];
        assert_eq!(restamp_ahead(&mut line, T0, 0, &[T0 + MIN]), 0);
        assert_eq!(restamp_ahead(&mut line, i64::MIN, 5 * MIN, &[T0 + MIN]), 0);
        assert!(!any_ahead(&line, i64::MIN, 5 * MIN));
        assert!(any_ahead(&line, T0, 5 * MIN));
    }
}
