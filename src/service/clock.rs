//! The live clock: where event time stands in live mode, between the events that move it.
//!
//! The engine's clock is the newest event time it has seen, and re-sends do not move it:
//! they carry their alert's start. So live traffic of nothing but re-sends (a busy
//! Alertmanager re-notifying its firing groups every few seconds) would hold event time
//! still while it lasts: no hold would end, no quiet period pass, no cluster close. In live
//! mode, event time therefore runs on at wall-clock speed from an anchor: the newest event
//! time and the instant it was reached. A newer event re-anchors it; a re-send does not.
//!
//! When the service may apply this clock is its own rule (input live or idle, not paused);
//! a backlog must not follow it, so that it is processed as `replay` would process it.
//!
//! Owns the anchor. Must not: read the clock itself (callers pass instants), or move the
//! engine (the service does).

use std::time::Instant;

use crate::event::EventTime;

/// Event time at wall-clock speed from the newest event time reached.
#[derive(Debug, Clone, Copy)]
pub struct LiveClock {
    /// An event time, and the instant it held.
    anchor: (EventTime, Instant),
    /// Input is held back (backpressure): event time does not run on while nothing is read.
    stopped: bool,
}

impl LiveClock {
    pub fn new(now: EventTime, at: Instant) -> Self {
        LiveClock {
            anchor: (now, at),
            stopped: false,
        }
    }

    /// Event time at instant `at` (never before the anchor).
    pub fn at(&self, at: Instant) -> EventTime {
        if self.stopped || self.anchor.0 == EventTime::MIN {
            return self.anchor.0;
        }
        let ran = at.saturating_duration_since(self.anchor.1).as_millis();
        self.anchor
            .0
            .saturating_add_ms(i64::try_from(ran).unwrap_or(i64::MAX))
    }

    /// The engine's clock after a batch, at instant `at`: a clock ahead of this one
    /// re-anchors it. One behind it (the batch held only re-sends or late events) does not
    /// pull it back: the time since the anchor has passed all the same.
    pub fn saw(&mut self, engine_now: EventTime, at: Instant) {
        if engine_now > self.at(at) {
            self.anchor = (engine_now, at);
        }
    }

    /// Input paused at `at`: event time stands until [`Self::start`].
    pub fn stop(&mut self, at: Instant) {
        if !self.stopped {
            self.anchor = (self.at(at), at);
            self.stopped = true;
        }
    }

    /// Input resumed at `at`: event time runs on from where it stood.
    pub fn start(&mut self, at: Instant) {
        if self.stopped {
            self.anchor.1 = at;
            self.stopped = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const T: EventTime = EventTime(1_700_000_000_000);

    #[test]
    fn runs_at_wall_speed_from_the_newest_event_and_re_sends_do_not_hold_it() {
        let i0 = Instant::now();
        let s = |n: u64| i0 + Duration::from_secs(n);
        let mut c = LiveClock::new(T, i0);
        assert_eq!(c.at(s(10)), T.saturating_add_ms(10_000));
        // A batch of re-sends at 10 s: the engine's clock is still T. The live clock is not
        // pulled back to it.
        c.saw(T, s(10));
        assert_eq!(c.at(s(20)), T.saturating_add_ms(20_000));
        // A new alert stamped 5 s behind the live clock (Alertmanager's group_wait): late,
        // no re-anchor.
        c.saw(T.saturating_add_ms(15_000), s(20));
        assert_eq!(c.at(s(20)), T.saturating_add_ms(20_000));
        // One ahead of it re-anchors.
        c.saw(T.saturating_add_ms(60_000), s(30));
        assert_eq!(c.at(s(30)), T.saturating_add_ms(60_000));
        assert_eq!(c.at(s(31)), T.saturating_add_ms(61_000));
    }

    #[test]
    fn stands_while_input_is_paused() {
        let i0 = Instant::now();
        let s = |n: u64| i0 + Duration::from_secs(n);
        let mut c = LiveClock::new(T, i0);
        c.stop(s(5));
        c.stop(s(6));
        assert_eq!(c.at(s(100)), T.saturating_add_ms(5_000));
        c.start(s(100));
        assert_eq!(c.at(s(101)), T.saturating_add_ms(6_000));
    }

    #[test]
    fn no_event_yet_means_no_time() {
        let i0 = Instant::now();
        let c = LiveClock::new(EventTime::MIN, i0);
        assert_eq!(c.at(i0 + Duration::from_secs(3600)), EventTime::MIN);
    }
}
