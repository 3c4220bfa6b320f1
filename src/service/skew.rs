//! The arrival-time guard for live input: no event is later than when it arrived.
//!
//! The engine runs on event time, and its clock is the newest event time it has seen. A
//! sender whose clock runs a day ahead (a host without NTP, a test box) would move that
//! clock a day on in one event: every hold would end, every quiet period pass and every
//! timer fire at once, and the real traffic after it would all be a day late. Live input
//! has a clock to check against, the wall clock when a payload arrives; an event stamped
//! more than `[input] max_clock_skew` after that is taken as of its arrival.
//!
//! Owns only that rule. Must not: read the clock itself (the caller passes the arrival
//! time, once per payload), or touch events that are late (lateness is the engine's).

use crate::event::{AlertEvent, EventTime};

/// Moves the events of one payload stamped more than `max_skew_ms` after `arrived_ms` back
/// to `arrived_ms`, with their expiry (reckoned from the same wrong clock). Returns how many
/// moved. `max_skew_ms <= 0`: none.
pub fn clamp_future(events: &mut [AlertEvent], arrived_ms: i64, max_skew_ms: i64) -> usize {
    if max_skew_ms <= 0 {
        return 0;
    }
    let limit = arrived_ms.saturating_add(max_skew_ms);
    let mut moved = 0;
    for ev in events.iter_mut().filter(|e| e.time.as_millis() > limit) {
        ev.restamp(EventTime(arrived_ms));
        moved += 1;
    }
    moved
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::{decode, Ctx, DecodeOptions, Format};

    const MIN: i64 = 60_000;

    fn events(body: &str) -> Vec<AlertEvent> {
        let opts = DecodeOptions::default();
        let mut out = Vec::new();
        let ctx = Ctx {
            opts: &opts,
            received_at: None,
        };
        decode(Format::Prometheus, body.as_bytes(), &ctx, &mut out).unwrap();
        out
    }

    #[test]
    fn only_events_too_far_ahead_of_their_arrival_move_and_keep_their_lease() {
        // 2024-01-01T00:00:00Z, and two alerts from Prometheus: one on time, one from a host
        // a day ahead (its endsAt, a few evaluation intervals on, is a day ahead too).
        let arrived = 1_704_067_200_000;
        let mut evs = events(
            r#"[{"labels":{"alertname":"OnTime"},"startsAt":"2023-12-31T23:58:00Z","endsAt":"2024-01-01T00:04:00Z"},
                {"labels":{"alertname":"Ahead"},"startsAt":"2024-01-02T00:00:00Z","endsAt":"2024-01-02T00:04:00Z"}]"#,
        );
        let before = evs[0].clone();
        assert_eq!(clamp_future(&mut evs, arrived, 5 * MIN), 1);
        assert_eq!(evs[0].time, before.time, "on time: untouched");
        assert_eq!(evs[0].ends_at, before.ends_at);
        assert_eq!(evs[1].time, EventTime(arrived));
        assert_eq!(evs[1].ends_at, Some(EventTime(arrived + 4 * MIN)));
        // Within the allowed skew, or with the guard off: as stamped.
        let mut evs = events(
            r#"[{"labels":{"alertname":"Ahead"},"startsAt":"2024-01-02T00:00:00Z","endsAt":"2024-01-02T00:04:00Z"}]"#,
        );
        assert_eq!(clamp_future(&mut evs, arrived, 0), 0);
        assert_eq!(clamp_future(&mut evs, arrived, 24 * 60 * MIN), 0);
        assert_eq!(clamp_future(&mut evs, i64::MAX, 5 * MIN), 0);
    }
}
